// Tests for main.cf $name expansion (man 5 postconf: $name, ${name}, $(name), ${name?value},
// ${name:value}, ${name?{a}:{b}}, $$) and for master.cf-style overrides via WithOverrides.
using Postfix.Core.Config;
using Xunit;

namespace Postfix.Tests.Config;

public sealed class MainCfExpansionTests
{
    [Fact]
    public void AllReferenceFormsExpandRecursively()
    {
        var main = MainCf.Parse(
            "myhostname = mx.example.net\n" +
            "smtpd_banner = $myhostname|${myhostname}|$(myhostname)|$mail_name\n" +
            "mail_name = ${syslog_name}-mta\n");
        Assert.Equal("mx.example.net|mx.example.net|mx.example.net|postfix-mta", main.Get("smtpd_banner"));
        Assert.Equal("$myhostname|${myhostname}|$(myhostname)|$mail_name", main.GetRaw("smtpd_banner"));
    }

    [Fact]
    public void ConditionalExpansionForms()
    {
        var main = MainCf.Parse(
            "relayhost = smarthost\n" +
            "recipient_delimiter =\n" +
            "smtpd_banner = [${relayhost?set}][${recipient_delimiter?set}][${relayhost:empty}][${recipient_delimiter:empty}]\n" +
            "mail_name = ${relayhost?{ via $relayhost }:{direct}}/${recipient_delimiter?{x}:{ direct }}/$(relayhost?paren)\n" +
            "syslog_name = ${recipient_delimiter:{ fallback }}x\n");
        Assert.Equal("[set][][][empty]", main.Get("smtpd_banner"));
        Assert.Equal("via smarthost/direct/paren", main.Get("mail_name"));
        Assert.Equal("fallbackx", main.Get("syslog_name"));
    }

    [Fact]
    public void ConditionalValueOnlyExpandsChosenBranch()
    {
        var main = MainCf.Parse("relayhost =\nsmtpd_banner = ok${relayhost?$smtpd_banner}\n");
        Assert.Equal("ok", main.Get("smtpd_banner"));
    }

    [Fact]
    public void DoubleDollarIsALiteralDollar()
    {
        var main = MainCf.Parse("smtpd_banner = cost $$5 and $$mail_name, lone $ stays\n");
        Assert.Equal("cost $5 and $mail_name, lone $ stays", main.Get("smtpd_banner"));
    }

    [Fact]
    public void UndefinedNameExpandsToEmpty()
    {
        var main = MainCf.Parse("smtpd_banner = [$not_defined_anywhere][${also_not}]\n");
        Assert.Equal("[][]", main.Get("smtpd_banner"));
    }

    [Fact]
    public void RecursiveExpansionIsAnError()
    {
        var ex = Assert.Throws<ConfigException>(() => MainCf.Parse("relayhost = x\nmail_name = $relayhost $mail_name\n", "m.cf"));
        Assert.Equal("m.cf:2: recursive expansion of $mail_name", ex.Message);

        var mutual = Assert.Throws<ConfigException>(() => MainCf.Parse("syslog_name = $mail_name\nmail_name = $syslog_name\n", "m.cf"));
        Assert.Contains("recursive expansion of $", mutual.Message);
        Assert.Equal("m.cf", mutual.File);
        Assert.True(mutual.Line is 1 or 2);
    }

    [Fact]
    public void DeepButFiniteChainIsAllowedUpToTheLimit()
    {
        var text = new System.Text.StringBuilder("mail_name = $p1\n");
        for (int i = 1; i < 50; i++)
        {
            text.Append($"p{i} = $p{i + 1}\n");
        }

        text.Append("p50 = bottom\n");
        Assert.Equal("bottom", MainCf.Parse(text.ToString()).Get("mail_name"));

        var tooDeep = new System.Text.StringBuilder("mail_name = $p1\n");
        for (int i = 1; i < 150; i++)
        {
            tooDeep.Append($"p{i} = $p{i + 1}\n");
        }

        tooDeep.Append("p150 = bottom\n");
        var ex = Assert.Throws<ConfigException>(() => MainCf.Parse(tooDeep.ToString()));
        Assert.Contains("recursive expansion of $", ex.Message);
    }

    [Theory]
    [InlineData("smtpd_banner = ${myhostname\n", "missing '}'")]
    [InlineData("smtpd_banner = ${{$compatibility_level} < {2} ? {a} : {b}}\n", "relational expressions are not supported")]
    [InlineData("smtpd_banner = ${myhostname!x}\n", "bad parameter name")]
    public void BadExpansionSyntaxNamesParameterAndLine(string text, string fragment)
    {
        var ex = Assert.Throws<ConfigException>(() => MainCf.Parse("# c\n" + text, "main.cf"));
        Assert.Equal(2, ex.Line);
        Assert.Contains("smtpd_banner", ex.Message);
        Assert.Contains(fragment, ex.Message);
    }

    [Fact]
    public void WithOverridesAppliesAndKeepsOriginalUnchanged()
    {
        var main = MainCf.Parse("smtpd_client_restrictions = permit\n");
        var over = main.WithOverrides(new Dictionary<string, string>
        {
            ["smtpd_client_restrictions"] = "reject",
            ["syslog_name"] = "postfix/submission",
            ["smtpd_banner"] = "$syslog_name ready",
        });
        Assert.Equal("reject", over.Get("smtpd_client_restrictions"));
        Assert.Equal("postfix/submission ready", over.Get("smtpd_banner"));
        Assert.Equal("permit", main.Get("smtpd_client_restrictions"));
        Assert.Equal("postfix", main.Get("syslog_name"));
        Assert.Contains(("syslog_name", "postfix/submission"), over.NonDefault);
    }

    [Fact]
    public void UnknownOverrideIsAnErrorNamingItsSource()
    {
        var main = MainCf.Load(null);
        var ex = Assert.Throws<ConfigException>(() => main.WithOverrides(
            new Dictionary<string, string> { ["smtpd_no_such_thing"] = "1" }, "/etc/postfix/master.cf", 17));
        Assert.Equal("/etc/postfix/master.cf:17: unknown parameter \"smtpd_no_such_thing\"", ex.Message);
    }

    [Fact]
    public void OverrideMayDefineAndUseUserParameter()
    {
        var over = MainCf.Load(null).WithOverrides(new Dictionary<string, string>
        {
            ["my_rules"] = "reject_unauth_destination",
            ["smtpd_recipient_restrictions"] = "permit_mynetworks, $my_rules",
        });
        Assert.Equal(["permit_mynetworks", "reject_unauth_destination"], over.GetList("smtpd_recipient_restrictions"));
    }
}

// Tests for main.cf file syntax (man 5 postconf "general format"): comments, continuation
// lines, overriding assignments, malformed lines and unknown parameters, with file:line errors.
using Postfix.Core.Config;
using Xunit;

namespace Postfix.Tests.Config;

public sealed class MainCfSyntaxTests
{
    [Fact]
    public void ContinuationLineJoinsPreviousValue()
    {
        var main = MainCf.Parse("mydestination = a.example,\n    b.example\n\tc.example\nrelayhost = r\n");
        Assert.Equal("a.example, b.example c.example", main.GetRaw("mydestination"));
        Assert.Equal(["a.example", "b.example", "c.example"], main.GetList("mydestination"));
        Assert.Equal("r", main.Get("relayhost"));
    }

    [Fact]
    public void CommentLinesInsideContinuationAreSkipped()
    {
        var main = MainCf.Parse("mynetworks = 10.0.0.0/8\n# a comment\n   # indented comment\n\n  192.168.0.0/16\n");
        Assert.Equal("10.0.0.0/8 192.168.0.0/16", main.GetRaw("mynetworks"));
    }

    [Fact]
    public void HashIsLiteralWhenNotFirstNonBlank()
    {
        var main = MainCf.Parse("smtpd_banner = $myhostname # not a comment\n");
        Assert.Equal("$myhostname # not a comment", main.GetRaw("smtpd_banner"));
    }

    [Fact]
    public void WhitespaceAroundEqualsAndAtEndIsIgnored()
    {
        var main = MainCf.Parse("relayhost=[mx.example]:587   \r\nmail_name   =   Test Mailer\t\n");
        Assert.Equal("[mx.example]:587", main.Get("relayhost"));
        Assert.Equal("Test Mailer", main.Get("mail_name"));
    }

    [Fact]
    public void LaterAssignmentOverridesEarlier()
    {
        var main = MainCf.Parse("relayhost = first\nrelayhost = second\n", "main.cf");
        Assert.Equal("second", main.Get("relayhost"));
        Assert.Equal(("main.cf", 2), main.SourceOf("relayhost"));
    }

    [Fact]
    public void UnknownParameterFailsWithFileAndLine()
    {
        using var dir = new TempConfigDir().WithMainCf("# comment\nrelayhost =\n\nfoo_bar = 1\n");
        var ex = Assert.Throws<ConfigException>(() => MainCf.Load(dir.Path));
        Assert.Equal(dir.MainCfPath, ex.File);
        Assert.Equal(4, ex.Line);
        Assert.Equal($"{dir.MainCfPath}:4: unknown parameter \"foo_bar\"", ex.Message);
    }

    [Fact]
    public void UserDefinedParameterReferencedByAnotherValueIsAccepted()
    {
        var main = MainCf.Parse("my_nets = 10.0.0.0/8\nmynetworks = 127.0.0.0/8 $my_nets\n");
        Assert.Equal("127.0.0.0/8 10.0.0.0/8", main.Get("mynetworks"));
        Assert.Equal("10.0.0.0/8", main.Get("my_nets"));
    }

    [Fact]
    public void SelfReferenceDoesNotMakeAParameterKnown()
    {
        var ex = Assert.Throws<ConfigException>(() => MainCf.Parse("x_y = $x_y\n", "main.cf"));
        Assert.Equal("main.cf:1: unknown parameter \"x_y\"", ex.Message);
    }

    [Fact]
    public void ParameterReferencedOnlyFromMasterCfIsAccepted()
    {
        using var dir = new TempConfigDir()
            .WithMainCf("mua_client_restrictions = permit_sasl_authenticated, reject\n")
            .WithMasterCf("submission inet n - n - - smtpd\n  -o smtpd_client_restrictions=$mua_client_restrictions\n");
        var main = MainCf.Load(dir.Path);
        var service = Assert.Single(MasterCf.Load(dir.Path).InetServices);
        var effective = main.WithOverrides(service.Overrides);
        Assert.Equal("permit_sasl_authenticated, reject", effective.Get("smtpd_client_restrictions"));
    }

    [Theory]
    [InlineData("relayhost\n", 1, "missing '='")]
    [InlineData("# ok\nbad-name = 1\n", 2, "bad parameter name \"bad-name\"")]
    [InlineData("# c\n= value\n", 2, "bad parameter name \"\"")]
    [InlineData("   relayhost = x\n", 1, "continuation line")]
    public void MalformedLineFailsWithLine(string text, int line, string fragment)
    {
        var ex = Assert.Throws<ConfigException>(() => MainCf.Parse(text, "/etc/x/main.cf"));
        Assert.Equal("/etc/x/main.cf", ex.File);
        Assert.Equal(line, ex.Line);
        Assert.StartsWith($"/etc/x/main.cf:{line}: ", ex.Message);
        Assert.Contains(fragment, ex.Message);
    }

    [Fact]
    public void MissingMainCfUsesDefaults()
    {
        using var dir = new TempConfigDir();
        var main = MainCf.Load(dir.Path);
        Assert.Null(main.MainCfPath);
        Assert.Equal(dir.Path, main.ConfigDirectory);
        Assert.Equal(dir.Path, main.Get("config_directory"));
        Assert.Equal(dir.Path, main.Get("meta_directory"));
        Assert.Empty(main.NonDefault);
    }

    [Fact]
    public void EmbeddedConfigurationHasNoDirectory()
    {
        var main = MainCf.Load(null);
        Assert.Null(main.ConfigDirectory);
        Assert.Equal("(embedded)", main.Get("config_directory"));
    }

    [Fact]
    public void NonexistentConfigDirectoryIsAnError()
    {
        string missing = Path.Combine(Path.GetTempPath(), "no-such-postfix-dir-" + Guid.NewGuid().ToString("N"));
        var ex = Assert.Throws<ConfigException>(() => MainCf.Load(missing));
        Assert.Equal(missing, ex.File);
    }

    [Fact]
    public void NonDefaultListsOnlyFileSettingsWithRawValues()
    {
        using var dir = new TempConfigDir().WithMainCf("relayhost = $mydomain\nmail_name = X\n");
        var main = MainCf.Load(dir.Path);
        Assert.Equal(dir.MainCfPath, main.MainCfPath);
        Assert.Equal([("mail_name", "X"), ("relayhost", "$mydomain")], main.NonDefault.ToList());
    }

    [Fact]
    public void AllIsSortedAndExpanded()
    {
        var main = MainCf.Parse("myhostname = mx.example.org\n");
        var all = main.All.ToList();
        Assert.Equal(all.Select(p => p.Name).Order(StringComparer.Ordinal), all.Select(p => p.Name));
        Assert.Contains(("smtpd_banner", "mx.example.org ESMTP Postfix"), all);
        Assert.DoesNotContain(all, p => p.Value.Contains("$myhostname"));
    }

    [Fact]
    public void DefaultsAreRawAndIncludeOurLoopbackListener()
    {
        var defaults = MainCf.Load(null).Defaults.ToDictionary(p => p.Name, p => p.Value);
        Assert.Equal("$myhostname ESMTP $mail_name", defaults["smtpd_banner"]);
        Assert.Equal("127.0.0.1", defaults["inet_interfaces"]);
        Assert.Equal("127.0.0.0/8 [::1]/128", defaults["mynetworks"]);
        Assert.Equal("10240000", defaults["message_size_limit"]);
        Assert.Equal("", defaults["smtpd_forbid_bare_newline_exclusions"]);
    }

    [Fact]
    public void DefaultHostnameHasADot()
    {
        var main = MainCf.Load(null);
        string host = main.Get("myhostname");
        Assert.Contains('.', host);
        Assert.Equal(ParameterDefaults.DomainOf(host), main.Get("mydomain"));
        Assert.Equal($"{host}, localhost.{main.Get("mydomain")}, localhost", main.Get("mydestination"));
    }

    [Fact]
    public void MydomainIsDerivedFromConfiguredMyhostname()
    {
        var main = MainCf.Parse("myhostname = mail.example.com\n");
        Assert.Equal("example.com", main.Get("mydomain"));
        Assert.Equal(["mail.example.com", "localhost.example.com", "localhost"], main.GetList("mydestination"));
        Assert.False(main.IsExplicit("mydomain"));

        var single = MainCf.Parse("myhostname = mailhost\n");
        Assert.Equal("localdomain", single.Get("mydomain"));
    }

    [Fact]
    public void GetOfUndefinedParameterThrowsKeyNotFound()
    {
        var main = MainCf.Load(null);
        Assert.Throws<KeyNotFoundException>(() => main.Get("no_such_parameter"));
        Assert.Throws<KeyNotFoundException>(() => main.GetRaw("no_such_parameter"));
        Assert.False(main.TryGet("no_such_parameter", out _));
        Assert.True(main.TryGet("mail_name", out var name));
        Assert.Equal("Postfix", name);
    }
}

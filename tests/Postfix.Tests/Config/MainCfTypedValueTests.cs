// Tests for MainCf typed accessors: Postfix booleans, integers, time values with s/m/h/d/w
// units (man 5 postconf "time units") and lists; errors name the parameter and file:line.
using Postfix.Core.Config;
using Xunit;

namespace Postfix.Tests.Config;

public sealed class MainCfTypedValueTests
{
    [Theory]
    [InlineData("yes", true)]
    [InlineData("YES", true)]
    [InlineData("True", true)]
    [InlineData("no", false)]
    [InlineData("false", false)]
    [InlineData("No", false)]
    public void BooleansAcceptYesNoTrueFalseInAnyCase(string value, bool expected)
    {
        var main = MainCf.Parse($"disable_vrfy_command = {value}\n");
        Assert.Equal(expected, main.GetBool("disable_vrfy_command"));
    }

    [Fact]
    public void BadBooleanNamesParameterAndLine()
    {
        var main = MainCf.Parse("\n\ndisable_vrfy_command = maybe\n", "/cfg/main.cf");
        var ex = Assert.Throws<ConfigException>(() => main.GetBool("disable_vrfy_command"));
        Assert.Equal("/cfg/main.cf", ex.File);
        Assert.Equal(3, ex.Line);
        Assert.Contains("\"disable_vrfy_command\"", ex.Message);
        Assert.Contains("maybe", ex.Message);
    }

    [Theory]
    [InlineData("300", 300)]
    [InlineData("300s", 300)]
    [InlineData("5m", 300)]
    [InlineData("2h", 7200)]
    [InlineData("5d", 432000)]
    [InlineData("1w", 604800)]
    [InlineData("0h", 0)]
    [InlineData(" 7s ", 7)]
    public void TimeValuesUsePostfixUnits(string value, int seconds)
    {
        var main = MainCf.Parse($"smtpd_timeout = {value}\n");
        Assert.Equal(TimeSpan.FromSeconds(seconds), main.GetTime("smtpd_timeout"));
    }

    [Fact]
    public void BareNumberUsesRequestedDefaultUnit()
    {
        var main = MainCf.Parse("delay_warning_time = 4\n");
        Assert.Equal(TimeSpan.FromHours(4), main.GetTime("delay_warning_time", 'h'));
        Assert.Equal(TimeSpan.FromSeconds(4), main.GetTime("delay_warning_time"));
    }

    [Theory]
    [InlineData("10x")]
    [InlineData("10 s")]
    [InlineData("-5s")]
    [InlineData("s")]
    [InlineData("1.5h")]
    [InlineData("10S")]
    public void BadTimeUnitNamesParameterAndLine(string value)
    {
        using var dir = new TempConfigDir().WithMainCf($"# timeouts\nsmtpd_timeout = {value}\n");
        var main = MainCf.Load(dir.Path);
        var ex = Assert.Throws<ConfigException>(() => main.GetTime("smtpd_timeout"));
        Assert.Equal(dir.MainCfPath, ex.File);
        Assert.Equal(2, ex.Line);
        Assert.StartsWith($"{dir.MainCfPath}:2: parameter \"smtpd_timeout\": bad time value", ex.Message);
    }

    [Fact]
    public void BadDefaultValueErrorHasNoFile()
    {
        var main = MainCf.Parse("smtpd_banner = x\n").WithOverrides(new Dictionary<string, string> { ["hopcount_limit"] = "many" });
        var ex = Assert.Throws<ConfigException>(() => main.GetInt("hopcount_limit"));
        Assert.Null(ex.File);
        Assert.Equal(0, ex.Line);
        Assert.Contains("hopcount_limit", ex.Message);
    }

    [Fact]
    public void IntegersParseAndOverflowIsReported()
    {
        var main = MainCf.Parse("message_size_limit = 52428800\nhopcount_limit = 99999999999\n", "main.cf");
        Assert.Equal(52428800L, main.GetLong("message_size_limit"));
        Assert.Equal(99999999999L, main.GetLong("hopcount_limit"));
        var ex = Assert.Throws<ConfigException>(() => main.GetInt("hopcount_limit"));
        Assert.Equal(2, ex.Line);
    }

    [Fact]
    public void NonNumericIntegerNamesParameterAndLine()
    {
        var main = MainCf.Parse("message_size_limit = 10MB\n", "main.cf");
        var ex = Assert.Throws<ConfigException>(() => main.GetLong("message_size_limit"));
        Assert.Equal("main.cf:1: parameter \"message_size_limit\": bad numerical value \"10MB\"", ex.Message);
    }

    [Fact]
    public void ListsSplitOnCommasAndWhitespace()
    {
        var main = MainCf.Parse("relay_domains = a.example,b.example , ,\tc.example\n  d.example\n");
        Assert.Equal(["a.example", "b.example", "c.example", "d.example"], main.GetList("relay_domains"));
        Assert.Empty(main.GetList("transport_maps"));
    }
}

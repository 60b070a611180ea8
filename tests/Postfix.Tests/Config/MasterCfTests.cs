// Tests for master.cf parsing (man 5 master): the embedded default service table, the eight
// columns, -o overrides in short and long form, { } argument grouping, and inet service names.
using Postfix.Core.Config;
using Xunit;

namespace Postfix.Tests.Config;

public sealed class MasterCfTests
{
    private static readonly int DefaultMasterCfServiceCount = MasterCf.Parse(DefaultMasterCf.Text).Services.Count;

    [Fact]
    public void EmbeddedDefaultsListenOnLoopback2525()
    {
        var master = MasterCf.Load(null);
        Assert.Null(master.MasterCfPath);
        var smtpd = Assert.Single(master.InetServices);
        Assert.Equal("2525", smtpd.Name);
        Assert.Equal("smtpd", smtpd.Command);
        Assert.False(smtpd.Private);
        Assert.True(MasterCf.TryParseInetListen(smtpd.Name, out var host, out var port));
        Assert.Null(host);
        Assert.Equal(2525, port);

        var settings = MailSettings.From(MainCf.Load(null));
        Assert.Equal(["127.0.0.1"], settings.InetInterfaces);

        string[] expected = ["2525", "pickup", "cleanup", "qmgr", "smtp", "relay", "lmtp", "local", "virtual", "bounce", "error", "retry"];
        Assert.Equal(expected, master.Services.Select(s => s.Name));
    }

    [Fact]
    public void EmbeddedColumnsFollowPostfixDefaults()
    {
        var master = MasterCf.Load(null);
        var pickup = master.Find("pickup", MasterServiceType.Unix)!;
        Assert.Equal(60, pickup.Wakeup);
        Assert.Equal(1, pickup.MaxProc);
        Assert.False(pickup.Private);
        Assert.True(pickup.Unprivileged);
        Assert.False(pickup.Chroot);

        var smtp = master.Find("smtp", MasterServiceType.Unix)!;
        Assert.True(smtp.Private);
        Assert.Null(smtp.MaxProc);
        Assert.Equal(0, smtp.Wakeup);
        Assert.Equal(0, master.Find("cleanup", MasterServiceType.Unix)!.MaxProc);
        Assert.Null(master.Find("smtp", MasterServiceType.Inet));
    }

    [Fact]
    public void MasterCfOverridesParsed()
    {
        using var dir = new TempConfigDir().WithMasterCf(
            "# submission\n" +
            "127.0.0.1:submission inet n - n - - smtpd -v\n" +
            "  -o syslog_name=postfix/submission\n" +
            "  -o { smtpd_banner = $myhostname  submission ready }\n" +
            "  -osmtpd_timeout=60s\n" +
            "  { arg with spaces } -o smtpd_timeout=30s\n");
        var master = MasterCf.Load(dir.Path);
        Assert.Equal(dir.MasterCfPath, master.MasterCfPath);
        var s = Assert.Single(master.Services);
        Assert.Equal(2, s.LineNumber);
        Assert.Equal(["-v", "arg with spaces"], s.Args);
        Assert.Equal("postfix/submission", s.Overrides["syslog_name"]);
        Assert.Equal("$myhostname  submission ready", s.Overrides["smtpd_banner"]);
        Assert.Equal("30s", s.Overrides["smtpd_timeout"]);

        var main = MainCf.Parse("myhostname = mx.example\n").WithOverrides(s.Overrides, master.MasterCfPath, s.LineNumber);
        Assert.Equal("mx.example  submission ready", main.Get("smtpd_banner"));
        Assert.Equal(TimeSpan.FromSeconds(30), main.GetTime("smtpd_timeout"));
    }

    [Fact]
    public void MasterCfFileReplacesEmbeddedEntirely()
    {
        using var dir = new TempConfigDir().WithMasterCf("smtp inet n - n - 10 smtpd\n");
        var master = MasterCf.Load(dir.Path);
        var only = Assert.Single(master.Services);
        Assert.Equal(10, only.MaxProc);
        Assert.True(MasterCf.TryParseInetListen(only.Name, out _, out int port));
        Assert.Equal(25, port);
    }

    [Fact]
    public void MissingMasterCfFallsBackToEmbedded()
    {
        using var dir = new TempConfigDir();
        Assert.Equal(DefaultMasterCfServiceCount, MasterCf.Load(dir.Path).Services.Count);
    }

    [Theory]
    [InlineData("smtp inet n - n - smtpd\n", 1, "expected 8 fields")]
    [InlineData("# x\nsmtp tcp n - n - - smtpd\n", 2, "bad service type \"tcp\"")]
    [InlineData("smtp inet yes - n - - smtpd\n", 1, "bad private field")]
    [InlineData("pickup unix n - n 6x 1 pickup\n", 1, "bad wakeup field")]
    [InlineData("pickup unix n - n 60 one pickup\n", 1, "bad maxproc field")]
    [InlineData("host:port:x inet n - n - - smtpd\n", 1, "bad inet service name")]
    [InlineData("smtp inet n - n - - smtpd -o\n", 1, "missing name=value after -o")]
    [InlineData("smtp inet n - n - - smtpd\n -o novalue\n", 1, "bad -o override")]
    [InlineData("smtp inet n - n - - smtpd { unterminated\n", 1, "missing '}'")]
    [InlineData("\n  smtp inet n - n - - smtpd\n", 2, "continuation line")]
    public void MalformedMasterCfFailsWithFileAndLine(string text, int line, string fragment)
    {
        var ex = Assert.Throws<ConfigException>(() => MasterCf.Parse(text, "/etc/postfix/master.cf"));
        Assert.Equal("/etc/postfix/master.cf", ex.File);
        Assert.Equal(line, ex.Line);
        Assert.StartsWith($"/etc/postfix/master.cf:{line}: ", ex.Message);
        Assert.Contains(fragment, ex.Message);
    }

    [Fact]
    public void DuplicateServiceLastEntryWins()
    {
        var master = MasterCf.Parse(
            "smtp inet n - n - 5 smtpd\npickup unix n - n 60? 1 pickup\nsmtp inet n - n - 7 smtpd\nsmtp unix - - n - - smtp\n");
        Assert.Equal(3, master.Services.Count);
        var inet = master.Find("smtp", MasterServiceType.Inet)!;
        Assert.Equal(7, inet.MaxProc);
        Assert.Equal(3, inet.LineNumber);
        Assert.Equal("smtp", master.Services[0].Name);
        var pickup = master.Find("pickup", MasterServiceType.Unix)!;
        Assert.Equal(60, pickup.Wakeup);
        Assert.True(pickup.WakeupOnlyIfUsed);
    }

    [Theory]
    [InlineData("25", null, 25)]
    [InlineData("2525", null, 2525)]
    [InlineData("smtp", null, 25)]
    [InlineData("submission", null, 587)]
    [InlineData("smtps", null, 465)]
    [InlineData("submissions", null, 465)]
    [InlineData("qmqp", null, 628)]
    [InlineData("lmtp", null, 24)]
    [InlineData("127.0.0.1:10025", "127.0.0.1", 10025)]
    [InlineData("mail.example.com:smtp", "mail.example.com", 25)]
    [InlineData("[::1]:587", "::1", 587)]
    [InlineData("::1:smtp", "::1", 25)]
    public void InetListenNamesParse(string name, string? host, int port)
    {
        Assert.True(MasterCf.TryParseInetListen(name, out var h, out var p));
        Assert.Equal(host, h);
        Assert.Equal(port, p);
    }

    [Theory]
    [InlineData("")]
    [InlineData("0")]
    [InlineData("65536")]
    [InlineData("imap")]
    [InlineData(":25")]
    [InlineData("[::1]")]
    [InlineData("[::1]25")]
    [InlineData("host:")]
    [InlineData("-25")]
    public void BadInetListenNamesAreRejected(string name)
    {
        Assert.False(MasterCf.TryParseInetListen(name, out var host, out var port));
        Assert.Null(host);
        Assert.Equal(0, port);
    }
}

// Tests for MailSettings: the typed view of main.cf (man 5 postconf) with our embedded defaults,
// queue_directory resolution, mynetworks parsing, and validation errors located at file:line.
using System.Net;
using Postfix.Core.Config;
using Xunit;

namespace Postfix.Tests.Config;

public sealed class MailSettingsTests
{
    [Fact]
    public void EmbeddedDefaultsGiveTypedValues()
    {
        var s = MailSettings.From(MainCf.Load(null));
        Assert.Equal($"{s.MyHostname} ESMTP Postfix", s.SmtpdBanner);
        Assert.Equal(s.MyHostname, s.MyOrigin);
        Assert.Equal(s.MyHostname, s.SmtpHeloName);
        Assert.Equal(10240000L, s.MessageSizeLimit);
        Assert.Equal(1000, s.SmtpdRecipientLimit);
        Assert.Equal(2048, s.LineLengthLimit);
        Assert.Equal(TimeSpan.FromSeconds(300), s.SmtpdTimeout);
        Assert.Equal(TimeSpan.FromSeconds(1), s.SmtpdErrorSleepTime);
        Assert.Equal(20, s.SmtpdHardErrorLimit);
        Assert.Equal(10, s.SmtpdSoftErrorLimit);
        Assert.True(s.SmtpdForbidBareNewline);
        Assert.True(s.DisableVrfyCommand);
        Assert.Equal(TimeSpan.FromDays(5), s.MaximalQueueLifetime);
        Assert.Equal(TimeSpan.FromSeconds(4000), s.MaximalBackoffTime);
        Assert.Equal(TimeSpan.Zero, s.DelayWarningTime);
        Assert.Equal(TimeSpan.FromSeconds(600), s.SmtpDataDoneTimeout);
        Assert.Equal("smtp", s.DefaultTransport);
        Assert.Equal("postmaster", s.DoubleBounceNoticeRecipient);
        Assert.Equal("", s.MaillogFile);
        Assert.Equal(["all"], s.InetProtocols);
        Assert.Equal(3, s.MyDestination.Count);
        Assert.Equal(["127.0.0.0/8", "[::1]/128"], s.MyNetworks.Select(c => c.ToString()));
        Assert.Equal(s.MyNetworks, s.SmtpdClientEventLimitExceptions);
        Assert.Empty(s.RelayDomains);
        Assert.True(s.SmtpConnectionCacheOnDemand);
        Assert.False(s.AlwaysAddMissingHeaders);
    }

    [Fact]
    public void RelativeQueueDirectoryIsUnderConfigDirectory()
    {
        using var dir = new TempConfigDir();
        Assert.Equal(Path.Combine(dir.Path, "var"), MailSettings.From(MainCf.Load(dir.Path)).QueueDirectory);

        dir.WithMainCf("queue_directory = spool/../queue\n");
        Assert.Equal(Path.Combine(dir.Path, "queue"), MailSettings.From(MainCf.Load(dir.Path)).QueueDirectory);
    }

    [Fact]
    public void AbsoluteQueueDirectoryIsKept()
    {
        using var dir = new TempConfigDir().WithMainCf("queue_directory = /var/spool/postfix\n");
        Assert.Equal("/var/spool/postfix", MailSettings.From(MainCf.Load(dir.Path)).QueueDirectory);
    }

    [Fact]
    public void QueueDirectoryWithoutConfigDirectoryIsUnderWorkingDirectory()
    {
        var s = MailSettings.From(MainCf.Load(null));
        Assert.Equal(Path.Combine(Directory.GetCurrentDirectory(), "var"), s.QueueDirectory);
    }

    [Fact]
    public void FileSettingsReachTypedProperties()
    {
        using var dir = new TempConfigDir().WithMainCf(
            "myhostname = mx1.example.org\n" +
            "mynetworks = 10.0.0.0/8, [2001:db8::]/32\n" +
            "inet_interfaces = all\n" +
            "message_size_limit = 0\n" +
            "smtpd_forbid_bare_newline = normalize\n" +
            "transport_maps = hash:/etc/postfix/transport\n" +
            "defer_transports = smtp, relay\n");
        var s = MailSettings.From(MainCf.Load(dir.Path));
        Assert.Equal("mx1.example.org", s.MyHostname);
        Assert.Equal("example.org", s.MyDomain);
        Assert.Equal(["all"], s.InetInterfaces);
        Assert.Equal(0L, s.MessageSizeLimit);
        Assert.True(s.SmtpdForbidBareNewline);
        Assert.Equal(["hash:/etc/postfix/transport"], s.TransportMaps);
        Assert.Equal(["smtp", "relay"], s.DeferTransports);
        Assert.Contains(s.MyNetworks, n => n.Contains(IPAddress.Parse("::ffff:10.9.8.7")));
        Assert.Equal(2, s.SmtpdClientEventLimitExceptions.Count);
        Assert.Equal(dir.Path, s.Source.ConfigDirectory);
    }

    [Theory]
    [InlineData("smtpd_recipient_limit = -1", "smtpd_recipient_limit", "too small")]
    [InlineData("message_size_limit = -5", "message_size_limit", "too small")]
    [InlineData("smtpd_timeout = 0s", "smtpd_timeout", "too small")]
    [InlineData("mynetworks = 127.0.0.0/8 10.0.0.1/8", "mynetworks", "non-null host address bits")]
    [InlineData("mynetworks = hash:/etc/postfix/network_table", "mynetworks", "lookup table")]
    [InlineData("mynetworks = !10.0.0.0/8", "mynetworks", "negated")]
    [InlineData("smtpd_client_event_limit_exceptions = .example.com", "smtpd_client_event_limit_exceptions", "hostname")]
    [InlineData("inet_protocols = ipx", "inet_protocols", "unknown protocol")]
    [InlineData("myhostname = bad host!", "myhostname", "bad hostname")]
    [InlineData("smtpd_banner =", "smtpd_banner", "must not be empty")]
    [InlineData("minimal_backoff_time = 5000s", "minimal_backoff_time", "maximal_backoff_time")]
    [InlineData("disable_vrfy_command = sometimes", "disable_vrfy_command", "bad boolean")]
    public void InvalidSettingNamesParameterAndLine(string line, string parameter, string fragment)
    {
        using var dir = new TempConfigDir().WithMainCf("# header\nrelayhost =\n" + line + "\n");
        var main = MainCf.Load(dir.Path);
        var ex = Assert.Throws<ConfigException>(() => MailSettings.From(main));
        Assert.Equal(dir.MainCfPath, ex.File);
        Assert.Equal(3, ex.Line);
        Assert.Contains($"\"{parameter}\"", ex.Message);
        Assert.Contains(fragment, ex.Message);
    }

    [Fact]
    public void MynetworksFileIsRead()
    {
        using var dir = new TempConfigDir();
        string file = dir.WriteFile("trusted", "# trusted nets\n192.0.2.0/24\n\n[2001:db8::]/48 198.51.100.7\n");
        dir.WithMainCf($"mynetworks = 127.0.0.0/8 {file}\n");
        var s = MailSettings.From(MainCf.Load(dir.Path));
        Assert.Equal(["127.0.0.0/8", "192.0.2.0/24", "[2001:db8::]/48", "198.51.100.7/32"], s.MyNetworks.Select(c => c.ToString()));
    }

    [Fact]
    public void BadEntryInMynetworksFileNamesThatFileAndLine()
    {
        using var dir = new TempConfigDir();
        string file = dir.WriteFile("trusted", "192.0.2.0/24\nnot-an-address\n");
        dir.WithMainCf($"mynetworks = {file}\n");
        var ex = Assert.Throws<ConfigException>(() => MailSettings.From(MainCf.Load(dir.Path)));
        Assert.Equal(file, ex.File);
        Assert.Equal(2, ex.Line);
        Assert.Contains("mynetworks", ex.Message);
    }

    [Fact]
    public void MissingMynetworksFileIsAnError()
    {
        using var dir = new TempConfigDir().WithMainCf("mynetworks = /nonexistent/postfix/nets\n");
        var ex = Assert.Throws<ConfigException>(() => MailSettings.From(MainCf.Load(dir.Path)));
        Assert.Equal(1, ex.Line);
        Assert.Contains("/nonexistent/postfix/nets", ex.Message);
    }

    [Fact]
    public void MasterCfOverrideReachesSettings()
    {
        var master = MasterCf.Parse("2525 inet n - n - - smtpd -o smtpd_timeout=10s -o smtpd_recipient_limit=0\n", "master.cf");
        var service = master.Services[0];
        var main = MainCf.Load(null).WithOverrides(service.Overrides, master.MasterCfPath, service.LineNumber);
        var ex = Assert.Throws<ConfigException>(() => MailSettings.From(main));
        Assert.Equal("master.cf:1: parameter \"smtpd_recipient_limit\": value 0 is too small (minimum 1)", ex.Message);
    }
}

// Tests for BounceSettings: Postfix's bounce(8) parameter names and defaults (man 5 postconf)
// read from main.cf through MailSettings.
using Postfix.Core.Bounce;
using Postfix.Core.Config;
using Xunit;

namespace Postfix.Tests.Bounce;

public sealed class BounceSettingsTests
{
    [Fact]
    public void DefaultsAreFromPostconf()
    {
        var s = BounceSettings.From(MailSettings.From(MainCf.Parse("myhostname = mx.example.org\n")));

        Assert.Equal("mx.example.org", s.MyHostname);
        Assert.Equal("Postfix", s.MailName);
        Assert.Equal(50000, s.BounceSizeLimit);
        Assert.Equal("postmaster", s.DoubleBounceRecipient);
        Assert.Equal("double-bounce", s.DoubleBounceSender);
        Assert.Equal(["resource", "software"], s.NotifyClasses);
        Assert.Equal(TimeSpan.FromDays(5), s.MaximalQueueLifetime);
    }

    [Fact]
    public void MainCfOverridesAreRead()
    {
        var s = BounceSettings.From(MailSettings.From(MainCf.Parse(
            "myhostname = mx.example.org\nbounce_size_limit = 1234\nnotify_classes = 2bounce, resource\n" +
            "2bounce_notice_recipient = hostmaster\nmail_name = Mailer\ndelay_warning_time = 3h\n")));

        Assert.Equal(1234, s.BounceSizeLimit);
        Assert.Equal(["2bounce", "resource"], s.NotifyClasses);
        Assert.Equal("hostmaster", s.DoubleBounceRecipient);
        Assert.Equal("Mailer", s.MailName);
        Assert.Equal(TimeSpan.FromHours(3), s.DelayWarningTime);
    }
}

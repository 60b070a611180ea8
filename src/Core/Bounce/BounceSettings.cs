// The main.cf parameters bounce(8) reads (man 5 postconf), with Postfix's names
// and defaults. Immutable; built from MailSettings on (re)load. Trusted config.
using Postfix.Core.Config;

namespace Postfix.Core.Bounce;

public sealed class BounceSettings
{
    /// <summary>myhostname: Reporting-MTA, the MIME boundary, Message-Id and the notice text.</summary>
    public string MyHostname { get; init; } = "localhost";

    /// <summary>myorigin: qualifies MAILER-DAEMON, postmaster and double-bounce; null means MyHostname.</summary>
    public string? MyOrigin { get; init; }

    /// <summary>mail_name: names the X-Postfix-* DSN fields and the X-Postfix diagnostic type.</summary>
    public string MailName { get; init; } = "Postfix";

    /// <summary>bounce_size_limit: a larger original is returned as headers only (0: no limit).</summary>
    public int BounceSizeLimit { get; init; } = 50000;

    /// <summary>2bounce_notice_recipient: where undeliverable null-sender mail is reported.</summary>
    public string DoubleBounceRecipient { get; init; } = "postmaster";

    /// <summary>double_bounce_sender: envelope sender of postmaster notices; mail from it is never bounced.</summary>
    public string DoubleBounceSender { get; init; } = "double-bounce";

    /// <summary>The address the notice text tells the sender to write to (Postfix: MAIL_ADDR_POSTMASTER).</summary>
    public string Postmaster { get; init; } = "postmaster";

    /// <summary>notify_classes: double bounces are sent only when it names "bounce" or "2bounce".</summary>
    public IReadOnlyList<string> NotifyClasses { get; init; } = ["resource", "software"];

    /// <summary>delay_warning_time: quoted in the delay notice text.</summary>
    public TimeSpan DelayWarningTime { get; init; } = TimeSpan.Zero;

    /// <summary>maximal_queue_lifetime: Will-Retry-Until and the delay notice text.</summary>
    public TimeSpan MaximalQueueLifetime { get; init; } = TimeSpan.FromDays(5);

    internal string Origin => string.IsNullOrEmpty(MyOrigin) ? MyHostname : MyOrigin;

    internal bool NotifiesDoubleBounce
    {
        get
        {
            foreach (var c in NotifyClasses)
            {
                if (c.Equals("bounce", StringComparison.OrdinalIgnoreCase)
                    || c.Equals("2bounce", StringComparison.OrdinalIgnoreCase))
                {
                    return true;
                }
            }

            return false;
        }
    }

    /// <summary>Appends @myorigin to an unqualified address, as cleanup's rewriting would.</summary>
    internal string Qualify(string address) =>
        address.Length == 0 || address.Contains('@') ? address : address + "@" + Origin;

    public static BounceSettings From(MailSettings s) => new()
    {
        MyHostname = s.MyHostname,
        MyOrigin = s.MyOrigin,
        MailName = s.MailName,
        BounceSizeLimit = s.Source.IsDefined("bounce_size_limit") ? s.Source.GetInt("bounce_size_limit") : 50000,
        DoubleBounceRecipient = s.DoubleBounceNoticeRecipient,
        DoubleBounceSender = s.Source.TryGet("double_bounce_sender", out var dbs) && dbs.Length > 0 ? dbs : "double-bounce",
        NotifyClasses = s.Source.IsDefined("notify_classes") ? s.Source.GetList("notify_classes") : ["resource", "software"],
        DelayWarningTime = s.DelayWarningTime,
        MaximalQueueLifetime = s.MaximalQueueLifetime,
    };
}

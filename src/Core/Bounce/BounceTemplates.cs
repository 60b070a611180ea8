// Postfix's built-in notice texts (bounce/bounce_templates.c): the From and
// Subject headers and the human-readable boiler-plate for failure, delay and
// success notices, and the subject of a postmaster copy (double bounce).
// bounce_template_file overrides are not supported.
namespace Postfix.Core.Bounce;

internal static class BounceTemplates
{
    public const string FromComment = " (Mail Delivery System)";
    public const string MailerDaemon = "MAILER-DAEMON";

    public static string Subject(BounceKind kind, bool postmasterCopy) => kind switch
    {
        BounceKind.Failure => postmasterCopy ? "Postmaster Copy: Undelivered Mail" : "Undelivered Mail Returned to Sender",
        BounceKind.Delay => postmasterCopy ? "Postmaster Warning: Delayed Mail" : "Delayed Mail (still being retried)",
        _ => "Successful Mail Delivery Report",
    };

    public static string Action(BounceKind kind) => kind switch
    {
        BounceKind.Failure => "failed",
        BounceKind.Delay => "delayed",
        _ => "delivered",
    };

    /// <summary>The boiler-plate, $myhostname and friends expanded; a postmaster copy has none.</summary>
    public static void WriteBody(BounceWriter w, BounceKind kind, BounceSettings s)
    {
        w.Line($"This is the mail system at host {s.MyHostname}.");
        w.Line();
        switch (kind)
        {
            case BounceKind.Failure:
                w.Line("I'm sorry to have to inform you that your message could not");
                w.Line("be delivered to one or more recipients. It's attached below.");
                break;
            case BounceKind.Delay:
                w.Line("####################################################################");
                w.Line("# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #");
                w.Line("####################################################################");
                w.Line();
                w.Line($"Your message could not be delivered for more than {(long)s.DelayWarningTime.TotalHours} hour(s).");
                w.Line($"It will be retried until it is {(long)s.MaximalQueueLifetime.TotalDays} day(s) old.");
                break;
            default:
                w.Line("Your message was successfully delivered to the destination(s)");
                w.Line("listed below. If the message was delivered to mailbox you will");
                w.Line("receive no further notifications. Otherwise you may still receive");
                w.Line("notifications of mail delivery errors from other systems.");
                break;
        }

        if (kind != BounceKind.Success)
        {
            w.Line();
            w.Line($"For further assistance, please send mail to <{s.Postmaster}>");
            w.Line();
            w.Line("If you do so, please include this problem report. You can");
            w.Line("delete your own text from the attached returned message.");
        }

        w.Line();
        w.Line("                   The mail system");
    }
}

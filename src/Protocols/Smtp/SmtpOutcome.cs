// What happened to one recipient: Postfix's (status, dsn, reason) triple, with
// the delivery status following the RFC 3463 class as smtp_trouble.c decides
// it (2 sent, 4 deferred, 5 bounced).
using Postfix.Core.Delivery;

namespace Postfix.Protocols.Smtp;

internal readonly record struct SmtpOutcome(DeliveryStatus Status, string Dsn, string Diagnostic)
{
    public bool IsSoft => Status == DeliveryStatus.Deferred;

    /// <summary>Builds an outcome from an RFC 3463 status; a status that is not 4.x.x/5.x.x for a
    /// failure becomes "Protocol error: ..." 5.5.0, as smtp_trouble.c's vsmtp_fill_dsn does.</summary>
    public static SmtpOutcome Failure(string dsn, string diagnostic)
    {
        if (dsn.Length == 0 || (dsn[0] != '4' && dsn[0] != '5'))
            return new SmtpOutcome(DeliveryStatus.Bounced, "5.5.0", "Protocol error: " + diagnostic);
        return new SmtpOutcome(dsn[0] == '4' ? DeliveryStatus.Deferred : DeliveryStatus.Bounced, dsn, diagnostic);
    }

    public static SmtpOutcome Sent(string dsn, string diagnostic) => new(DeliveryStatus.Sent, dsn, diagnostic);

    /// <summary>"host h[ip] said: 550 5.1.1 ... (in reply to RCPT TO command)".</summary>
    public static SmtpOutcome FromReply(SmtpConnection connection, SmtpReply reply, string command) =>
        Failure(reply.Dsn, $"host {connection.NamAddr} said: {reply.Text} (in reply to {command})");
}

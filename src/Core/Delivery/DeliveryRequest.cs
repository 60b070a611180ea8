// The contract between qmgr(8) and its delivery agents (smtp, lmtp, local,
// virtual): one message, one destination (transport:nexthop), a batch of its
// recipients; the agent answers per recipient. Agents never touch the queue:
// qmgr records the outcome, logs it and decides on defer/bounce.
using Postfix.Core.Queue;

namespace Postfix.Core.Delivery;

public enum DeliveryStatus : byte
{
    Sent,
    Deferred,
    Bounced,
}

/// <param name="Dsn">RFC 3463 status, e.g. "2.0.0", "4.4.1", "5.1.1".</param>
/// <param name="Diagnostic">Postfix's parenthesised reason, e.g. "250 2.0.0 Ok: queued as X" or
/// "connect to host[1.2.3.4]:25: Connection refused" or "host h[ip] said: 550 5.1.1 ... (in reply to RCPT TO command)".</param>
public sealed record RecipientResult(QueuedRecipient Recipient, DeliveryStatus Status, string Dsn, string Diagnostic);

public sealed record DeliveryRequest(
    QueuedMessage Message,
    string Transport,
    string Nexthop,
    IReadOnlyList<QueuedRecipient> Recipients);

/// <param name="Relay">"host[ip]:port" of the server that answered, or "none".</param>
/// <param name="ConnectTime">Postfix delays "c": connection setup incl. DNS, HELO, TLS.</param>
/// <param name="TransmitTime">Postfix delays "d": message transmission.</param>
public sealed record DeliveryReport(
    IReadOnlyList<RecipientResult> Results,
    string Relay,
    TimeSpan ConnectTime,
    TimeSpan TransmitTime);

public interface IDeliveryAgent
{
    /// <summary>Delivers; never throws for delivery failures (they are results), only for cancellation.</summary>
    ValueTask<DeliveryReport> DeliverAsync(DeliveryRequest request, CancellationToken cancellationToken);

    /// <summary>True when a delivery never blocks its thread (only awaits sockets and timers, looks
    /// no table up): qmgr may then start it on the socket event thread where the previous delivery
    /// ended. Agents that write files, fsync or look tables up keep the default.</summary>
    bool NeverBlocks => false;
}

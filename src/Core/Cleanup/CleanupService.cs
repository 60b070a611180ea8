// cleanup(8)'s hand-off: every message source (smtpd, qmqpd, pickup) ends its
// transaction here, so every path gets the same header fixes and, with the
// tables issue, the same canonical / virtual alias / bcc rewriting (Postfix's
// trap of local mail skipping rewrites cannot happen: there is one path).
// The message content is untrusted; the queue commit is durable before this
// returns, so the caller may acknowledge (250, QMQP "K", pickup unlink).
// Counts each committed message for the metrics, tagged with the daemon that
// received it (service="smtpd", "qmqpd", "pickup").
using Postfix.Core.Diagnostics;
using Postfix.Core.Logging;
using Postfix.Core.Queue;

namespace Postfix.Core.Cleanup;

/// <param name="service">The receiving daemon ("smtpd", "qmqpd", "pickup"): the metrics' service tag.</param>
public sealed class CleanupService(IQueueWriter queue, Maillog log, string service)
{
    private readonly KeyValuePair<string, object?> _serviceTag = MailMetrics.RegisterService(service);

    public IQueueWriter Queue { get; } = queue;

    /// <summary>
    /// Fixes headers (local submission: adds a missing Message-Id/Date/From after
    /// the first <paramref name="receivedLength"/> bytes), logs Postfix's
    /// "cleanup[pid]: ID: message-id=..." line and commits durably.
    /// Throws <see cref="QueueWriteException"/> when the queue cannot commit
    /// (the caller answers with a temporary failure).
    /// </summary>
    public async ValueTask CommitAsync(MessageBuilder message, int pid, bool localSubmission, int receivedLength,
        string myHostname, CancellationToken cancellationToken = default)
    {
        var now = DateTimeOffset.UtcNow;
        message.ArrivalUnixMs = now.ToUnixTimeMilliseconds();
        string messageId = localSubmission
            ? CleanupHeaders.AddMissing(message, receivedLength, myHostname, now)
            : CleanupHeaders.MessageIdOf(message.Content.Span);
        log.Info("cleanup", pid, $"{message.QueueId}: message-id={messageId}");
        await Queue.CommitAsync(message, cancellationToken).ConfigureAwait(false);
        MailMetrics.MessageAccepted(_serviceTag);
    }
}

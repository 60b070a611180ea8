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
using Postfix.Core.Tables;

namespace Postfix.Core.Cleanup;

public sealed class CleanupService
{
    /// <summary>What every source's view shares: the address maps, swapped on postfix reload.</summary>
    private sealed class SharedMaps { public CleanupMaps? Maps; }

    private readonly Maillog _log;
    private readonly SharedMaps _shared;
    private readonly KeyValuePair<string, object?> _serviceTag;

    /// <param name="service">The receiving daemon ("smtpd", "qmqpd", "pickup"): the metrics' service tag.</param>
    public CleanupService(IQueueWriter queue, Maillog log, string service) : this(queue, log, service, new SharedMaps()) { }

    private CleanupService(IQueueWriter queue, Maillog log, string service, SharedMaps shared)
    {
        Queue = queue;
        _log = log;
        _shared = shared;
        _serviceTag = MailMetrics.RegisterService(service);
    }

    /// <summary>The same cleanup (queue, log, maps) as seen by another receiving daemon.</summary>
    public CleanupService For(string service) => new(Queue, _log, service, _shared);

    public IQueueWriter Queue { get; }

    /// <summary>The address maps (canonical, virtual alias, bcc), shared by every source; null: none configured.</summary>
    public CleanupMaps? Maps
    {
        get => Volatile.Read(ref _shared.Maps);
        set => Volatile.Write(ref _shared.Maps, value);
    }

    /// <summary>
    /// Fixes headers (local submission: adds a missing Message-Id/Date/From after
    /// the first <paramref name="receivedLength"/> bytes), logs Postfix's
    /// "cleanup[pid]: ID: message-id=..." line and commits durably.
    /// Throws <see cref="QueueWriteException"/> when the queue cannot commit or an address
    /// map cannot answer (the caller answers with a temporary failure).
    /// </summary>
    public async ValueTask CommitAsync(MessageBuilder message, int pid, bool localSubmission, int receivedLength,
        string myHostname, CancellationToken cancellationToken = default)
    {
        var now = DateTimeOffset.UtcNow;
        message.ArrivalUnixMs = now.ToUnixTimeMilliseconds();
        string messageId = localSubmission
            ? CleanupHeaders.AddMissing(message, receivedLength, myHostname, now)
            : CleanupHeaders.MessageIdOf(message.Content.Span);
        _log.Info("cleanup", pid, $"{message.QueueId}: message-id={messageId}");
        if (Maps is { } maps)
        {
            try
            {
                // Postfix rewrites header addresses only for local submissions (local_header_rewrite_clients).
                if (localSubmission && maps.RewritesHeaders) maps.RewriteHeaders(message);
                foreach (var w in maps.Rewrite(message)) _log.Warning("cleanup", $"{message.QueueId}: {w}");
            }
            catch (TableLookupException e)
            {
                // Postfix's cleanup sets CLEANUP_STAT_WRITE on a map lookup error: every source then
                // answers its temporary "queue file write error" (smtpd 451 4.3.0) and keeps nothing.
                throw new QueueWriteException(e.Message, e);
            }
        }
        await Queue.CommitAsync(message, cancellationToken).ConfigureAwait(false);
        MailMetrics.MessageAccepted(_serviceTag);
    }
}

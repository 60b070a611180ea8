// cleanup(8)'s hand-off: every message source (smtpd, qmqpd, pickup) ends its
// transaction here, so every path gets the same header fixes and, with the
// tables issue, the same canonical / virtual alias / bcc rewriting (Postfix's
// trap of local mail skipping rewrites cannot happen: there is one path).
// The message content is untrusted; the queue commit is durable before this
// returns, so the caller may acknowledge (250, QMQP "K", pickup unlink).
using Postfix.Core.Logging;
using Postfix.Core.Queue;

namespace Postfix.Core.Cleanup;

public sealed class CleanupService(IQueueWriter queue, Maillog log)
{
    private CleanupMaps? _maps;

    public IQueueWriter Queue { get; } = queue;

    /// <summary>The address maps (canonical, virtual alias, bcc); swapped on postfix reload. Null: none configured.</summary>
    public CleanupMaps? Maps
    {
        get => Volatile.Read(ref _maps);
        set => Volatile.Write(ref _maps, value);
    }

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
        if (Maps is { } maps)
            foreach (var w in maps.Rewrite(message)) log.Warning("cleanup", $"{message.QueueId}: {w}");
        await Queue.CommitAsync(message, cancellationToken).ConfigureAwait(false);
    }
}

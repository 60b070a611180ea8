// bounce(8) as qmgr sees it: builds the RFC 3464 notice for recipients that
// failed and commits it to the queue like any other message (null sender, so
// it is never bounced again), returning its queue ID for the log.
using Postfix.Core.Bounce;
using Postfix.Core.Cleanup;
using Postfix.Core.Delivery;
using Postfix.Core.Queue;
using Postfix.Queue.Store;

namespace Postfix.Host.Master;

public sealed class BounceService(QueueStore store, BounceSettings settings, long messageSizeLimit)
{
    public async ValueTask<QueueId?> SendAsync(QueuedMessage original, IReadOnlyList<RecipientResult> results, BounceKind kind, CancellationToken ct)
    {
        using var m = new MessageBuilder(Math.Max(messageSizeLimit, 0) + settings.BounceSizeLimit + 65536);
        if (!BounceMessage.TryBuild(original, results, kind, settings, DateTimeOffset.UtcNow, m, out _))
            return null;
        m.QueueId = store.NewQueueId();
        m.Protocol = "local";
        m.ClientName = "localhost";
        m.ClientAddress = "127.0.0.1";
        m.Helo = settings.MyHostname;
        m.ArrivalUnixMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        await store.CommitAsync(m, ct).ConfigureAwait(false);
        return m.QueueId;
    }
}

// postfix drain's hand-over (our extension): moves every deferred message of this node to a
// peer node over SMTP, through the smtp(8) delivery agent (SmtpDeliveryAgent with next hop
// [peer]:port), so the envelope travels as it would to any next hop: sender, each recipient
// still to deliver, and DSN ENVID/RET/NOTIFY/ORCPT when the peer offers DSN. A recipient is
// marked done only on the peer's 250 (which our smtpd sends after its durable commit); the
// message is removed only when every recipient was accepted, and the removal is committed
// before the drain reports the queue empty. A message the peer refuses (4xx or 5xx, or no
// connection) stays deferred here and is offered to the next peer on the next round: a drain
// never bounces mail. Held messages are left alone (the hold is the operator's) and reported.
// Log lines are Postfix's: "ID: to=<...>, relay=..., ..., status=sent (handed to peer
// NAME: 250 ...)", then "ID: removed". Peers come from a delegate (the store's live nodes,
// or cluster_drain_peers); every round and every wait is bounded.
using Postfix.Core.Delivery;
using Postfix.Core.Logging;
using Postfix.Core.Queue;
using Postfix.Queue.Store;

namespace Postfix.Cluster;

/// <param name="Name">The peer's node name (or its host:port from cluster_drain_peers).</param>
/// <param name="Nexthop">smtp(8) next hop, "[host]:port" (no MX lookup).</param>
public sealed record DrainPeer(string Name, string Nexthop)
{
    /// <summary>"host:port", "[host]:port" or "[v6]:port" as a next hop without MX lookup.</summary>
    public static DrainPeer FromEndpoint(string name, string hostPort)
    {
        hostPort = hostPort.Trim();
        if (hostPort.StartsWith('[')) return new DrainPeer(name, hostPort);
        int colon = hostPort.LastIndexOf(':');
        return colon > 0
            ? new DrainPeer(name, $"[{hostPort[..colon]}]{hostPort[colon..]}")
            : new DrainPeer(name, $"[{hostPort}]");
    }
}

public sealed class ClusterDrain(QueueStore queue, Maillog log, IDeliveryAgent smtp,
    Func<CancellationToken, Task<IReadOnlyList<DrainPeer>>> peers, int concurrency)
{
    /// <summary>Deferred messages taken per round (the peers are looked up once per round).</summary>
    public const int RoundSize = 1000;
    private static readonly TimeSpan IdleWait = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan FailedRoundWait = TimeSpan.FromSeconds(1);

    private long _handed, _refused;
    private int _next;

    public long Handed => Interlocked.Read(ref _handed);
    public long Refused => Interlocked.Read(ref _refused);
    /// <summary>The peers of the latest round (empty: no peer to hand mail to).</summary>
    public IReadOnlyList<DrainPeer> Peers { get; private set; } = [];
    /// <summary>True once a round looked for peers (Peers is meaningful).</summary>
    public bool PeersKnown { get; private set; }

    /// <summary>
    /// Hands over deferred mail until <paramref name="mayFinish"/> says nothing new can arrive
    /// (listeners and pickup closed) and the queue holds nothing but held mail, committed.
    /// </summary>
    public async Task RunAsync(Func<bool> mayFinish, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            var round = new List<QueueEntry>(Math.Min(RoundSize, 64));
            foreach (var e in queue.Entries)
            {
                if (e.State != QueueState.Deferred) continue;
                round.Add(e);
                if (round.Count >= RoundSize) break;
            }
            if (round.Count == 0)
            {
                if (mayFinish() && queue.TotalCount == queue.Count(QueueState.Hold))
                {
                    await queue.FlushAsync(ct).ConfigureAwait(false);
                    if (queue.TotalCount == queue.Count(QueueState.Hold)) return;
                }
                await Task.Delay(IdleWait, ct).ConfigureAwait(false);
                continue;
            }
            IReadOnlyList<DrainPeer> list;
            try { list = await peers(ct).ConfigureAwait(false); }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                log.Warning("master", $"drain: cannot list peers: {e.Message}");
                list = [];
            }
            Peers = list;
            PeersKnown = true;
            if (list.Count == 0)
            {
                await Task.Delay(FailedRoundWait, ct).ConfigureAwait(false);
                continue;
            }
            long before = Handed;
            await Parallel.ForEachAsync(round, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, concurrency), CancellationToken = ct },
                async (e, token) => await HandOverAsync(e, list[(int)((uint)Interlocked.Increment(ref _next) % (uint)list.Count)], token).ConfigureAwait(false))
                .ConfigureAwait(false);
            if (Handed == before) await Task.Delay(FailedRoundWait, ct).ConfigureAwait(false);
        }
        ct.ThrowIfCancellationRequested();
    }

    private async Task HandOverAsync(QueueEntry e, DrainPeer peer, CancellationToken ct)
    {
        // Claim it: qmgr (a flush, a backoff that passed) and postsuper move messages too.
        if (!queue.TryMove(e, QueueState.Deferred, QueueState.Active)) return;
        QueuedMessage? m;
        try { m = await queue.ReadAsync(e, ct).ConfigureAwait(false); }
        catch (Exception ex) when (ex is not OperationCanceledException) { m = null; }
        if (m is null)
        {
            log.Warning("master", $"{e.Id}: drain: cannot read queue file; left deferred");
            queue.SetState(e, QueueState.Deferred, NowMs());
            return;
        }
        var rcpts = m.Recipients.Where(r => !e.IsRecipientDone(r.Index)).ToList();
        long start = NowMs();
        DeliveryReport report;
        try
        {
            report = rcpts.Count == 0 ? new DeliveryReport([], "none", TimeSpan.Zero, TimeSpan.Zero)
                : await smtp.DeliverAsync(new DeliveryRequest(m, "smtp", peer.Nexthop, rcpts), ct).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            queue.SetState(e, QueueState.Deferred, NowMs());
            if (ex is OperationCanceledException) throw;
            log.Warning("master", $"{m.Id}: drain: hand-over to peer {peer.Name} failed: {ex.Message}");
            Interlocked.Increment(ref _refused);
            return;
        }
        long now = NowMs();
        double total = (now - m.ArrivalUnixMs) / 1000.0, wait = (start - m.ArrivalUnixMs) / 1000.0;
        foreach (var r in report.Results)
        {
            bool ok = r.Status == DeliveryStatus.Sent;
            log.Info("smtp", $"{m.Id}: to=<{r.Recipient.Address}>, relay={report.Relay}, delay={F(total)}, delays={F(wait)}/0/{F(report.ConnectTime.TotalSeconds)}/{F(report.TransmitTime.TotalSeconds)}, dsn={(ok || !r.Dsn.StartsWith('5') ? r.Dsn : "4" + r.Dsn[1..])}, status={(ok ? "sent" : "deferred")} ({(ok ? "handed to" : "not accepted by")} peer {peer.Name}: {r.Diagnostic})");
            if (!ok) continue;
            queue.MarkRecipientDone(e, r.Recipient.Index);
        }
        if (rcpts.All(r => e.IsRecipientDone(r.Index)))
        {
            queue.Remove(e);
            log.Info("qmgr", $"{m.Id}: removed");
            Interlocked.Increment(ref _handed);
        }
        else
        {
            queue.SetState(e, QueueState.Deferred, now);
            Interlocked.Increment(ref _refused);
        }
    }

    private static long NowMs() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    private static string F(double seconds) => Maillog.FormatDelay(seconds);
}

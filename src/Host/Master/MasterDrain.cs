// postfix drain inside the master (our extension; Postfix has no such verb): on the showq
// request "drain" the node (a) publishes state "draining" (peers stop choosing it), closes
// its smtpd and qmqpd listeners (new connections are refused; live sessions may finish,
// bounded by smtpd_timeout) and stops pickup; (b) flushes the deferred queue, as postqueue -f;
// (c) hands every message still deferred to a peer (ClusterDrain): the live, non-draining
// nodes the store lists, or cluster_drain_peers (host:port list) when set; (d) once nothing
// can arrive any more and the queue is empty (committed), stops the master, which exits 0.
// Held mail is not handed over; while any is left the master keeps running and "drain-status"
// says so. The "drain-status" request answers one line of key=value pairs for the drain
// command's progress (DrainCommand). Requests come from the local showq socket.
using Postfix.Cluster;
using Postfix.Core.Logging;
using Postfix.Core.Queue;
using Postfix.Protocols.Smtp;
using Postfix.Queue.Qmgr;
using Postfix.Queue.Store;

namespace Postfix.Host.Master;

public sealed class MasterDrain(MasterConfig cfg, QueueStore store, Qmgr qmgr, Maillog log,
    ClusterStore? cluster, ClusterPublisher? publisher,
    Func<CancellationToken, Task> closeListeners, Func<ValueTask> stopPickup, Action stopMaster) : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly object _gate = new();
    private Task? _run;
    private ClusterDrain? _drain;
    private SmtpDeliveryAgent? _agent;
    private volatile string _phase = "running";
    private volatile bool _closed;

    public bool Started => _run is not null;

    /// <summary>True once the listeners and pickup are closed by the drain (the master's stop skips them).</summary>

    /// <summary>Starts the drain (idempotent); the answer line for the showq client.</summary>
    public string Begin()
    {
        lock (_gate)
        {
            if (_run is null)
            {
                _phase = "closing";
                _run = Task.Run(RunAsync);
            }
        }
        return "ok draining";
    }

    /// <summary>"status PHASE key=value ..." for postfix drain's progress.</summary>
    public string Status()
    {
        var d = _drain;
        var peers = d is { PeersKnown: true } ? (d.Peers.Count == 0 ? "none" : string.Join(',', d.Peers.Select(p => p.Name))) : "unknown";
        bool peerSource = cluster is not null || cfg.Main.GetList("cluster_drain_peers").Count > 0;
        return $"status {_phase} total={store.TotalCount} incoming={store.Count(QueueState.Incoming)} active={store.Count(QueueState.Active)}"
            + $" deferred={store.Count(QueueState.Deferred)} hold={store.Count(QueueState.Hold)} handed={d?.Handed ?? 0}"
            + $" refused={d?.Refused ?? 0} listeners={(_closed ? "closed" : "open")} peers={peers} peer_source={(peerSource ? "yes" : "no")}";
    }

    private async Task RunAsync()
    {
        var ct = _stop.Token;
        try
        {
            if (publisher is not null)
            {
                publisher.State = ClusterQueueSummary.Draining;
                await publisher.PublishAsync(ct);
            }
            log.Info("master", "drain: closing the smtpd and qmqpd listeners and stopping pickup; new connections are refused");
            _phase = "draining";
            // Live sessions may finish (bounded by smtpd_timeout) while mail is already handed over.
            var closing = CloseAsync();
            await qmgr.FlushAsync();
            _agent = new SmtpDeliveryAgent(DeliveryAgents.ClientSettings(cfg.Settings, cfg.Main, lmtp: false, log));
            var concurrency = Math.Max(1, cfg.Main.GetInt("cluster_drain_concurrency"));
            _drain = new ClusterDrain(store, log, _agent, PeersAsync, concurrency);
            await _drain.RunAsync(() => closing.IsCompleted && store.Count(QueueState.Incoming) == 0 && store.Count(QueueState.Active) == 0, ct);
            if (store.TotalCount > 0)
            {
                // Only held mail is left: it stays (the hold is the operator's). Released or
                // deleted with postsuper, the drain goes on and ends.
                _phase = "held";
                log.Warning("master", $"drain: {store.Count(QueueState.Hold)} held messages left in the queue (postsuper -H to release them for hand-over, or -d to delete them)");
                while (store.TotalCount > 0)
                {
                    await Task.Delay(1000, ct);
                    _phase = store.TotalCount == store.Count(QueueState.Hold) ? "held" : "draining";
                    await _drain.RunAsync(() => true, ct);
                }
            }
            _phase = "done";
            log.Info("master", $"drain: the queue is empty ({_drain.Handed} messages handed to peers); stopping");
            stopMaster();
        }
        catch (OperationCanceledException) { }
        catch (Exception e)
        {
            _phase = "failed";
            log.Warning("master", $"drain: {e.Message}");
        }
    }

    private async Task CloseAsync()
    {
        using (var grace = new CancellationTokenSource(cfg.Settings.SmtpdTimeout))
        {
            try { await closeListeners(grace.Token); }
            catch (OperationCanceledException) { }
        }
        await stopPickup();
        _closed = true;
        log.Info("master", "drain: listeners closed, sessions finished, pickup stopped");
    }

    /// <summary>cluster_drain_peers when set, else the store's live nodes other than this one, not draining.</summary>
    private async Task<IReadOnlyList<DrainPeer>> PeersAsync(CancellationToken ct)
    {
        var configured = cfg.Main.GetList("cluster_drain_peers");
        if (configured.Count > 0) return configured.Select(p => DrainPeer.FromEndpoint(p, p)).ToList();
        if (cluster is null) return [];
        var nodes = await ClusterNodes.ReadAsync(cluster);
        return nodes.Where(n => n.Status == ClusterQueueSummary.Running && n.Name != cluster.NodeName && n.Summary!.Smtp.Length > 0)
            .Select(n => DrainPeer.FromEndpoint(n.Name, n.Summary!.Smtp[0])).ToList();
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        if (_run is not null) try { await _run; } catch (OperationCanceledException) { }
        if (_agent is not null) await _agent.DisposeAsync();
    }
}

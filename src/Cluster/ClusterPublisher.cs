// The master's queue-summary publisher (our extension): every cluster_publish_interval it
// writes this node's ClusterQueueSummary to the store with a TTL of three intervals, and
// adds the node's name to the node set. Counts come from the queue's per-state counters and
// the shape from ClusterShapeBuilder (the in-memory index, no queue scan per publish).
// The store is never on the mail path: a failed publish is logged once per outage
// ("warning: cluster_store ...: cannot publish the queue summary: ..."), the recovery once,
// and mail flow never waits for it. On stop it publishes state "stopped" (best effort).
using Postfix.Core.Logging;
using Postfix.Core.Queue;
using Postfix.Queue.Store;
using StackExchange.Redis;

namespace Postfix.Cluster;

public sealed class ClusterPublisher(ClusterStore store, QueueStore queue, Maillog log, TimeSpan interval,
    IReadOnlyList<string> smtp, ClusterShapeBuilder shape) : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _one = new(1, 1);
    private Task _loop = Task.CompletedTask;
    private volatile string _state = ClusterQueueSummary.Running;
    private bool _down;

    /// <summary>running or draining; published from the next publish on.</summary>
    public string State { get => _state; set => _state = value; }

    /// <summary>The summary key of a node.</summary>
    public static RedisKey SummaryKey(ClusterStore store, string node) => store.Key("queue", node);

    /// <summary>The set of node names that ever published.</summary>
    public static RedisKey NodesKey(ClusterStore store) => store.Key("queue-nodes");

    public void Start() => _loop = Task.Run(LoopAsync);

    private async Task LoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            await PublishAsync(_stop.Token).ConfigureAwait(false);
            try { await Task.Delay(interval, _stop.Token).ConfigureAwait(false); }
            catch (OperationCanceledException) { return; }
        }
    }

    /// <summary>Publishes now (state changes); never throws for store failures.</summary>
    public async Task PublishAsync(CancellationToken ct = default, string? state = null)
    {
        try { await _one.WaitAsync(ct).ConfigureAwait(false); }
        catch (OperationCanceledException) { return; }
        try
        {
            long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            var summary = new ClusterQueueSummary
            {
                Node = store.NodeName,
                Smtp = [.. smtp],
                State = state ?? _state,
                Time = now,
                Interval = interval.TotalSeconds,
                Incoming = queue.Count(QueueState.Incoming),
                Active = queue.Count(QueueState.Active),
                Deferred = queue.Count(QueueState.Deferred),
                Hold = queue.Count(QueueState.Hold),
                Shape = state == ClusterQueueSummary.Stopped ? [] : await shape.BuildAsync(now, ct).ConfigureAwait(false),
            };
            var db = store.Database;
            var ttl = interval * 3;
            var set = db.StringSetAsync(SummaryKey(store, store.NodeName), summary.ToJson(), ttl);
            var add = db.SetAddAsync(NodesKey(store), store.NodeName);
            await Task.WhenAll(set, add).ConfigureAwait(false);
            if (_down)
            {
                _down = false;
                log.Info("master", $"cluster_store {store.Endpoints}: queue summary published again");
            }
        }
        catch (OperationCanceledException) { }
        catch (Exception e)
        {
            if (!_down)
            {
                _down = true;
                log.Warning("master", $"cluster_store {store.Endpoints}: cannot publish the queue summary: {e.Message}");
            }
        }
        finally
        {
            _one.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        try { await _loop.ConfigureAwait(false); } catch (OperationCanceledException) { }
        // The node says it stopped; the key still expires after three intervals.
        using var bound = new CancellationTokenSource(store.Timeout * 4);
        await PublishAsync(bound.Token, ClusterQueueSummary.Stopped).ConfigureAwait(false);
    }
}

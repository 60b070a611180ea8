// Cluster-wide per-destination delivery limits (our extension; Postfix's limits are per node):
// at most N concurrent deliveries and/or M deliveries per cluster_rate_time_unit to one
// destination (qmgr's transport:nexthop, the same name on every node), counted in the shared
// store by ClusterLimits. qmgr asks the destination's gate (ClusterDestinationGate) before each
// delivery; a refusal keeps the mail in the active queue and retries shortly.
//
// main.cf (OUR parameters; Postfix-style per-transport overrides):
//   default_destination_cluster_concurrency_limit = 0     0 = no cluster-wide limit
//   default_destination_cluster_rate_limit = 0            deliveries per cluster_rate_time_unit
//   cluster_rate_time_unit = 60s
//   transport_destination_cluster_concurrency_limit = $default_destination_cluster_concurrency_limit
//   transport_destination_cluster_rate_limit = $default_destination_cluster_rate_limit
//   cluster_destination_limit_maps = type:table           "transport:nexthop" then "nexthop"
//       -> "concurrency=N rate=M" (either may be left out, 0 = none): one big receiver only;
//       a table hit replaces the transport's limits for that destination.
// With no cluster_store the limits apply to this node alone. When the store does not answer,
// for a second (FallbackGrace; until then a delivery just waits), each node falls back to its
// share: ceil(limit / live nodes), the live nodes counted by a
// heartbeat every node keeps in the store (a node that never reached the store uses the whole
// limit: mail keeps flowing, and the maillog says why). StoreHealth logs each transition once.
// Nothing of this runs when no limit is configured: FromMainCf returns null and qmgr pays nothing.
// Input: main.cf and the table (trusted); destination names come from trivial-rewrite.
using System.Collections.Concurrent;
using Postfix.Core.Config;
using Postfix.Core.Logging;
using Postfix.Core.Tables;
using Postfix.Queue.Qmgr;
using StackExchange.Redis;

namespace Postfix.Cluster;

public sealed class ClusterDestinationLimits : IQmgrDestinationGates, IAsyncDisposable
{
    /// <summary>How often a node says it is alive; a node silent for 3 beats is not counted.</summary>
    internal static readonly TimeSpan HeartbeatInterval = TimeSpan.FromSeconds(5);

    // KEYS[1] = set of nodes; ARGV = node, max age (ms). Returns the live nodes.
    private const string HeartbeatScript = """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        redis.call('ZADD', KEYS[1], now, ARGV[1])
        redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
        redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 2)
        return redis.call('ZCARD', KEYS[1])
        """;

    private readonly MainCf _main;
    private readonly LookupTableList? _map;
    private readonly ConcurrentDictionary<string, ClusterDestinationGate> _gates = new(StringComparer.Ordinal);
    private readonly Maillog _log;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _heartbeat = Task.CompletedTask;
    private int _liveNodes;
    private long _troubleSinceTicks;

    /// <summary>How long the store may fail to answer before the nodes use their shares: a single
    /// slow answer (a busy node) only delays the delivery, it does not loosen the limit.</summary>
    internal static readonly TimeSpan FallbackGrace = TimeSpan.FromSeconds(1);

    /// <summary>The shared counters, or null on a single node (limits are then this node's).</summary>
    internal ClusterLimits? Limits { get; }

    /// <summary>cluster_rate_time_unit.</summary>
    public TimeSpan RateTimeUnit { get; }

    /// <summary>How long a slot outlives its holder's silence (a crashed node's slots lapse after it);
    /// renewed every third of it while the delivery runs.</summary>
    public TimeSpan Lease { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Live nodes seen at the last heartbeat, 0 = never known.</summary>
    public int LiveNodes => Volatile.Read(ref _liveNodes);

    private ClusterDestinationLimits(MainCf main, LookupTableList? map, ClusterStore? store, Maillog log)
    {
        _main = main;
        _map = map;
        _log = log;
        RateTimeUnit = main.GetTime("cluster_rate_time_unit");
        if (RateTimeUnit <= TimeSpan.Zero) throw main.ErrorFor("cluster_rate_time_unit", "must be positive");
        if (store is not null)
        {
            // StoreHealth's lines already say "warning: " when it is one.
            Limits = new ClusterLimits(store, text => log.Info("qmgr", text));
            _heartbeat = HeartbeatLoopAsync(store);
        }
    }

    /// <summary>The limits when any is configured (default, per transport or table), else null.
    /// <paramref name="store"/> is ClusterStore.FromMainCf's (null on a single node).</summary>
    public static ClusterDestinationLimits? FromMainCf(MainCf main, ClusterStore? store, Maillog log)
    {
        var (map, any) = Read(main);
        return any ? new ClusterDestinationLimits(main, map.Count > 0 ? map : null, store, log) : null;
    }

    /// <summary>postfix check / start / reload: every value parses and the table opens, whether a
    /// limit is configured or not (the store is not contacted).</summary>
    public static void Check(MainCf main)
    {
        _ = Read(main);
        if (main.GetTime("cluster_rate_time_unit") <= TimeSpan.Zero) throw main.ErrorFor("cluster_rate_time_unit", "must be positive");
    }

    // Opens the table and checks every limit parameter; Any = some limit is configured.
    private static (LookupTableList Map, bool Any) Read(MainCf main)
    {
        var map = LookupTables.OpenTables(main.Get("cluster_destination_limit_maps"), main.ConfigDirectory, TableOptions.FromMainCf(main));
        bool any = map.Count > 0;
        if (NonNegative(main, "default" + ParameterDefaults.ClusterConcurrencySuffix) > 0) any = true;
        if (NonNegative(main, "default" + ParameterDefaults.ClusterRateSuffix) > 0) any = true;
        foreach (var (name, _) in main.NonDefault)
            if (ParameterDefaults.IsPerTransport(name) && NonNegative(main, name) > 0) any = true;
        return (map, any);
    }

    /// <summary>The limits of transport:nexthop: the table's entry, else the transport's parameters.</summary>
    public (int Concurrency, int Rate) LimitsOf(string transport, string nexthop)
    {
        if (_map is not null)
        {
            var value = _map.Lookup($"{transport}:{nexthop}") ?? _map.Lookup(nexthop);
            if (value is not null)
            {
                if (TryParseLimits(value, out int c, out int r)) return (c, r);
                _log.Warning("qmgr", $"cluster_destination_limit_maps: {transport}:{nexthop}: bad value \"{value}\" (expected concurrency=N rate=M); using the transport's limits");
            }
        }
        return (PerTransport(transport, ParameterDefaults.ClusterConcurrencySuffix), PerTransport(transport, ParameterDefaults.ClusterRateSuffix));
    }

    public IQmgrDestinationGate? For(string transport, string nexthop)
    {
        int c, r;
        try { (c, r) = LimitsOf(transport, nexthop); }
        catch (TableLookupException e)
        {
            // A table that cannot answer (a redis: table while the store is down) is never "no
            // limit": the destination's deliveries wait until it answers (ClusterPendingLimitsGate).
            _log.Warning("qmgr", $"cluster_destination_limit_maps: {transport}:{nexthop}: {e.Message}; deliveries wait until the table answers");
            return new ClusterPendingLimitsGate(this, transport, nexthop);
        }
        return GateOf(transport, nexthop, c, r);
    }

    /// <summary>The gate of limits already looked up, or null when there are none.</summary>
    internal IQmgrDestinationGate? GateOf(string transport, string nexthop, int concurrency, int rate) =>
        concurrency <= 0 && rate <= 0 ? null
            : _gates.GetOrAdd($"{transport}:{nexthop}", n => new ClusterDestinationGate(this, n, concurrency, rate));

    /// <summary>This node's share of <paramref name="limit"/> while the store does not answer.</summary>
    internal int Share(int limit)
    {
        int nodes = Limits is null ? 1 : LiveNodes;
        return nodes <= 1 ? limit : Math.Max(1, (limit + nodes - 1) / nodes);
    }

    /// <summary>The store answered: the cluster-wide counts apply.</summary>
    internal void StoreAnswered()
    {
        if (Interlocked.Read(ref _troubleSinceTicks) != 0) Interlocked.Exchange(ref _troubleSinceTicks, 0);
    }

    /// <summary>The store did not answer: true once it has not for <see cref="FallbackGrace"/>
    /// (use the per-node share), false before (refuse, ask again shortly).</summary>
    internal bool StoreGone()
    {
        long now = Environment.TickCount64;
        long since = Interlocked.CompareExchange(ref _troubleSinceTicks, now, 0);
        return since != 0 && now - since >= (long)FallbackGrace.TotalMilliseconds;
    }

    /// <summary>"concurrency=N rate=M", either part optional, separated by white space or commas.</summary>
    public static bool TryParseLimits(string value, out int concurrency, out int rate)
    {
        concurrency = rate = 0;
        bool any = false;
        foreach (var item in value.Split([' ', '\t', ','], StringSplitOptions.RemoveEmptyEntries))
        {
            int eq = item.IndexOf('=');
            if (eq <= 0 || !int.TryParse(item.AsSpan(eq + 1), out int n) || n < 0) return false;
            switch (item[..eq].ToLowerInvariant())
            {
                case "concurrency": concurrency = n; break;
                case "rate": rate = n; break;
                default: return false;
            }
            any = true;
        }
        return any;
    }

    private int PerTransport(string transport, string suffix)
    {
        var name = transport + suffix;
        return _main.IsDefined(name) ? NonNegative(_main, name) : NonNegative(_main, "default" + suffix);
    }

    private static int NonNegative(MainCf main, string name)
    {
        int n = main.GetInt(name);
        return n >= 0 ? n : throw main.ErrorFor(name, "must be 0 (no limit) or more");
    }

    private async Task HeartbeatLoopAsync(ClusterStore store)
    {
        var key = store.Key("nodes", "qmgr");
        long maxAgeMs = (long)(3 * HeartbeatInterval.TotalMilliseconds);
        // The client connects in the background: give it a moment before the first beat, so a
        // node starting next to a healthy store does not log it unreachable (bounded: 2 s).
        for (int i = 0; i < 20 && !store.IsConnected && !_stop.IsCancellationRequested; i++)
        {
            try { await Task.Delay(100, _stop.Token).ConfigureAwait(false); }
            catch (OperationCanceledException) { return; }
        }
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                var n = (long)await store.Database.ScriptEvaluateAsync(HeartbeatScript, [key], [store.NodeName, maxAgeMs]).ConfigureAwait(false);
                Volatile.Write(ref _liveNodes, (int)Math.Clamp(n, 1, int.MaxValue));
                StoreAnswered();
                Limits!.Health.Up();
            }
            catch (Exception e) when (e is RedisException or TimeoutException) { _ = StoreGone(); Limits!.Health.Down(e); }
            try { await Task.Delay(HeartbeatInterval, _stop.Token).ConfigureAwait(false); }
            catch (OperationCanceledException) { break; }
        }
        // A node that stops is no longer counted (best effort).
        try { await store.Database.SortedSetRemoveAsync(key, store.NodeName).ConfigureAwait(false); }
        catch (Exception e) when (e is RedisException or TimeoutException) { }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        await _heartbeat.ConfigureAwait(false);
        _stop.Dispose();
    }
}

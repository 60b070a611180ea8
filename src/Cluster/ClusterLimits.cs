// Cluster-wide limits counted in the shared store (our extension), the two primitives the
// nodes' limits are built on:
//  - a sliding-window rate: at most `limit` events per `window` per key, across all nodes
//    (anvil(8)'s client rates, per-destination message rates). The store keeps one sorted
//    set per key holding the accepted events of the last window (score = the store's clock
//    in microseconds, so the nodes' clocks never matter); an event over the limit is refused
//    and not recorded, so the set never holds more than `limit` members.
//  - a counting semaphore with leases: at most `limit` holders of a key at once across all
//    nodes (concurrent connections to one destination). A holder's slot expires after its
//    lease unless renewed, so a node that crashes mid-delivery frees its slots by itself.
// Each operation is one Lua script, atomic in the store, one round trip. When the store
// cannot answer (down, timeout) the result is null and the caller falls back to its per-node
// limit; StoreHealth logs each transition once. Keys: prefix + "rate:" / "sem:" + name.
// Input: names built by the callers from client addresses and destinations (untrusted text,
// used only as key material, never interpreted).
using StackExchange.Redis;

namespace Postfix.Cluster;

public sealed class ClusterLimits(ClusterStore store, Action<string>? warn = null)
{
    // KEYS[1] = set; ARGV = limit, window (us), member. Returns the count including this
    // event when accepted, or limit + 1 when refused.
    private const string RateScript = """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
        local limit = tonumber(ARGV[1])
        local window = tonumber(ARGV[2])
        redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
        local n = redis.call('ZCARD', KEYS[1])
        if n >= limit then return limit + 1 end
        redis.call('ZADD', KEYS[1], now, ARGV[3])
        redis.call('PEXPIRE', KEYS[1], math.ceil(window / 1000) + 1000)
        return n + 1
        """;

    // KEYS[1] = set; ARGV = limit, lease (us), holder. 1 = acquired (or renewed), 0 = full.
    private const string AcquireScript = """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
        local lease = tonumber(ARGV[2])
        redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
        if redis.call('ZSCORE', KEYS[1], ARGV[3]) == false and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
        redis.call('ZADD', KEYS[1], now + lease, ARGV[3])
        redis.call('PEXPIRE', KEYS[1], math.ceil(lease / 1000) + 1000)
        return 1
        """;

    private long _sequence;

    /// <summary>Transitions between reachable and unreachable, logged once each.</summary>
    public StoreHealth Health { get; } = new(store, warn);

    /// <summary>Counts one event under <paramref name="name"/>: the number of events in the last
    /// <paramref name="window"/> including this one when accepted, <paramref name="limit"/> + 1 when
    /// the limit was reached (the event is then not counted), or null when the store did not answer.</summary>
    public async ValueTask<long?> HitAsync(string name, int limit, TimeSpan window)
    {
        var member = $"{store.NodeName}:{Interlocked.Increment(ref _sequence)}";
        long epoch = Health.Epoch;
        try
        {
            var r = await store.Database.ScriptEvaluateAsync(RateScript, [store.Key("rate", name)],
                [limit, (long)(window.TotalMilliseconds * 1000), member]).ConfigureAwait(false);
            Health.Up(epoch);
            return (long)r;
        }
        catch (Exception e) when (e is RedisException or TimeoutException) { Health.Down(e); return null; }
    }

    /// <summary>Takes (or renews) <paramref name="holder"/>'s slot of <paramref name="name"/>:
    /// true when held, false when all <paramref name="limit"/> slots are taken, null when the store
    /// did not answer. The slot lapses after <paramref name="lease"/> unless renewed.</summary>
    public async ValueTask<bool?> TryAcquireAsync(string name, int limit, string holder, TimeSpan lease)
    {
        long epoch = Health.Epoch;
        try
        {
            var r = await store.Database.ScriptEvaluateAsync(AcquireScript, [store.Key("sem", name)],
                [limit, (long)(lease.TotalMilliseconds * 1000), holder]).ConfigureAwait(false);
            Health.Up(epoch);
            return (long)r == 1;
        }
        catch (Exception e) when (e is RedisException or TimeoutException) { Health.Down(e); return null; }
    }

    /// <summary>Gives <paramref name="holder"/>'s slot back (best effort: an unreachable store lets it lapse).</summary>
    public async ValueTask ReleaseAsync(string name, string holder)
    {
        long epoch = Health.Epoch;
        try
        {
            await store.Database.SortedSetRemoveAsync(store.Key("sem", name), holder).ConfigureAwait(false);
            Health.Up(epoch);
        }
        catch (Exception e) when (e is RedisException or TimeoutException) { Health.Down(e); }
    }

    /// <summary>A holder name unique in the cluster: node name + a per-process sequence.</summary>
    public string NewHolder() => $"{store.NodeName}:{Environment.ProcessId}:{Interlocked.Increment(ref _sequence)}";
}

/// <summary>Whether the store answered last time; logs "unreachable" and "reachable again" once per transition.
/// An answer counts as "up" only for an operation that started after the last "down": a reply that
/// was on its way when the store died (its continuation running late) must not flap the state.</summary>
public sealed class StoreHealth(ClusterStore store, Action<string>? warn)
{
    private int _down;
    private long _epoch;

    public bool IsDown => Volatile.Read(ref _down) == 1;

    /// <summary>Read before an operation starts; passed to <see cref="Up(long)"/> when it succeeds.</summary>
    public long Epoch => Volatile.Read(ref _epoch);

    public void Up() => Up(Epoch);

    public void Up(long startedInEpoch)
    {
        if (Volatile.Read(ref _down) == 1 && startedInEpoch == Volatile.Read(ref _epoch) && Interlocked.Exchange(ref _down, 0) == 1)
            warn?.Invoke($"cluster store {store.Endpoints}: reachable again; cluster-wide limits apply");
    }

    public void Down(Exception e)
    {
        Interlocked.Increment(ref _epoch);
        if (Interlocked.Exchange(ref _down, 1) == 0)
            warn?.Invoke($"warning: cluster store {store.Endpoints} unreachable ({e.GetType().Name}: {e.Message}); using per-node limits");
    }
}

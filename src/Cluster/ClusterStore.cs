// The store the nodes of a cluster share (our extension; Postfix has no cluster mode): a
// Redis-protocol server (Debian's redis-server, or Microsoft Garnet) reached through
// StackExchange.Redis. Each node keeps its own durable FASTER queue; the store holds only
// what must be shared: lookup tables (redis:), cluster-wide rate and destination limits,
// and each node's queue summary. The store is never on the durability path: when it is
// unreachable, lookups that need it are temporary failures (4xx) and limits fall back to
// per-node counting, so no mail is lost or wrongly bounced.
//
// main.cf: cluster_store = host:port[, host:port] (empty: this node is alone),
// cluster_node_name (unique per node, default $myhostname), cluster_key_prefix (default
// "postfix:"), cluster_store_timeout (connect and command limit, e.g. 250ms or 1s).
// Input: main.cf (trusted).
using Postfix.Core.Config;
using StackExchange.Redis;

namespace Postfix.Cluster;

public sealed class ClusterStore : IAsyncDisposable, IDisposable
{
    private readonly ConnectionMultiplexer _mux;

    /// <summary>This node's name in the store (cluster_node_name).</summary>
    public string NodeName { get; }

    /// <summary>Prefix of every key this cluster keeps (cluster_key_prefix).</summary>
    public string Prefix { get; }

    /// <summary>Connect and command time limit (cluster_store_timeout).</summary>
    public TimeSpan Timeout { get; }

    /// <summary>The endpoints as configured, for log lines.</summary>
    public string Endpoints { get; }

    private ClusterStore(ConnectionMultiplexer mux, string nodeName, string prefix, TimeSpan timeout, string endpoints)
    {
        _mux = mux;
        NodeName = nodeName;
        Prefix = prefix;
        Timeout = timeout;
        Endpoints = endpoints;
    }

    /// <summary>The store named by cluster_store, or null when it is empty (a single node).
    /// Does not wait for the store: a node starts even while the store is down.</summary>
    public static ClusterStore? FromMainCf(MainCf main)
    {
        var endpoints = main.GetList("cluster_store");
        if (endpoints.Count == 0) return null;
        var timeout = ParseTimeout(main);
        var name = main.Get("cluster_node_name").Trim();
        if (name.Length == 0) throw main.ErrorFor("cluster_node_name", "empty node name");
        return Connect(endpoints, name, main.Get("cluster_key_prefix"), timeout);
    }

    /// <summary>Connects to <paramref name="endpoints"/> (host:port) without waiting for them to answer.</summary>
    public static ClusterStore Connect(IReadOnlyList<string> endpoints, string nodeName, string prefix, TimeSpan timeout)
    {
        var options = Options(endpoints, timeout);
        var mux = ConnectionMultiplexer.Connect(options);
        return new ClusterStore(mux, nodeName, prefix, timeout, string.Join(", ", endpoints));
    }

    /// <summary>Client options shared by every store connection: never block start-up on the store,
    /// fail commands at once while it is unreachable (no backlog that would hold sessions), and
    /// reconnect in the background.</summary>
    public static ConfigurationOptions Options(IEnumerable<string> endpoints, TimeSpan timeout)
    {
        int ms = (int)Math.Clamp(timeout.TotalMilliseconds, 1, int.MaxValue);
        var options = new ConfigurationOptions
        {
            AbortOnConnectFail = false,
            ConnectTimeout = ms,
            SyncTimeout = ms,
            AsyncTimeout = ms,
            ConnectRetry = 1,
            BacklogPolicy = BacklogPolicy.FailFast,
            ReconnectRetryPolicy = new LinearRetry(500),
            KeepAlive = 5,
            ClientName = "postfix-cs",
        };
        foreach (var e in endpoints) options.EndPoints.Add(e);
        return options;
    }

    /// <summary>cluster_store_timeout: "250ms" or a Postfix time value ("1s", "2").</summary>
    public static TimeSpan ParseTimeout(MainCf main)
    {
        var v = main.Get("cluster_store_timeout").Trim();
        if (v.EndsWith("ms", StringComparison.Ordinal) && int.TryParse(v[..^2], out int ms) && ms > 0)
            return TimeSpan.FromMilliseconds(ms);
        var t = main.GetTime("cluster_store_timeout");
        return t > TimeSpan.Zero ? t : throw main.ErrorFor("cluster_store_timeout", "must be positive");
    }

    public IDatabase Database => _mux.GetDatabase();

    /// <summary>True while at least one endpoint is connected.</summary>
    public bool IsConnected => _mux.IsConnected;

    public ConnectionMultiplexer Multiplexer => _mux;

    /// <summary>A key in this cluster's namespace: prefix + parts joined with ':'.</summary>
    public RedisKey Key(params string[] parts) => Prefix + string.Join(':', parts);

    public void Dispose() => _mux.Dispose();

    public async ValueTask DisposeAsync() => await _mux.DisposeAsync();
}

// redis:/path/file.cf — a lookup table kept in the cluster's Redis-protocol store, so that every
// node of a cluster answers from the same data and a change made once in the store (redis-cli SET)
// reaches all nodes within cache_ttl, without postmap or reload. Our extension: Postfix has no
// redis: type; the file follows mysql_table(5) / ldap_table(5) (one "name = value" per line):
//
//   hosts = 127.0.0.1:6379          store endpoints, host:port[, host:port]; default: main.cf's
//                                   cluster_store
//   key_format = valias:%s          the store key: %s the lookup key, %u its local part (the whole
//                                   key without '@'), %d its domain (keys without '@' or with an
//                                   empty part the format needs are not looked up), %% a '%';
//                                   default %s
//   query_type = get                get: GET key; hget: HGET hash_name key; sismember:
//                                   SISMEMBER set_name key, answering result_format for members
//   hash_name = ...                 the hash (query_type = hget)
//   set_name = ...                  the set (query_type = sismember)
//   result_format = OK              what a member answers (query_type = sismember); default OK
//   cache_ttl = 5s                  answers (found and not found) are reused this long; 0 = ask
//                                   the store every time; also 500ms, 1m
//   cache_size = 10000              at most this many keys cached per table
//   timeout = 1s                    connect and command limit; default main.cf's
//                                   cluster_store_timeout
//
// A relative file name is taken from the config directory (from the current directory for
// postmap, as with other tables). Keys are folded to lowercase as the table's options say (not
// with postmap -f), before key_format expands them; values come back as stored. Tables with the
// same hosts and timeout share one connection (StackExchange.Redis multiplexer, created with
// ClusterStore.Options: it never blocks start-up and fails commands at once while the store is
// unreachable). When the store cannot answer (down, timed out, an error reply such as WRONGTYPE)
// and no fresh cached answer exists, a lookup throws TableLookupException, Postfix's
// DICT_ERR_RETRY: callers defer (451 4.3.0), never take it as "not found"; its message names the
// table and the store, never the key. A table whose connection has never been up (just opened,
// store down at start) waits up to the timeout for it before failing. Lookups are synchronous, as
// in Postfix's dict interface: a store that is slow (not down) holds the caller up to the timeout.
// The answer of a lookup is valid until the next lookup on this thread (Postfix's dict rule);
// cached answers allocate nothing.
//
// postmap -q KEY redis:FILE queries the store; postmap FILE refuses (the data lives in the store:
// change it with redis-cli SET / HSET / SADD). The host registers the type at start-up
// (Register), with main.cf's cluster_store and cluster_store_timeout as defaults.
//
// Trust: the configuration file is the admin's (trusted, parsed strictly). Lookup keys come from
// mail (untrusted): they are copied into the store key as bytes, never interpreted. The store's
// content is trusted as much as any table file: whoever can write to the store decides where mail
// goes, so keep it on a trusted network (bind, protected-mode, requirepass/ACLs).
using System.Collections.Concurrent;
using Postfix.Core.Config;
using Postfix.Core.Tables;
using StackExchange.Redis;

namespace Postfix.Cluster;

public sealed class RedisTable : ILookupTable
{
    private static readonly ConcurrentDictionary<string, Lazy<ConnectionMultiplexer>> Connections = new(StringComparer.Ordinal);

    private readonly RedisTableConfig _config;
    private readonly RedisTableCache _cache;
    private readonly ConnectionMultiplexer _mux;
    private readonly KeyFoldMode _fold;
    private readonly RedisKey _container;
    private readonly string _store;
    private volatile bool _connectedOnce;

    private RedisTable(RedisTableConfig config, ConnectionMultiplexer mux, KeyFoldMode fold)
    {
        _config = config;
        _mux = mux;
        _fold = fold;
        _cache = new RedisTableCache(config.CacheTtl, config.CacheSize);
        _container = config.Container;
        _store = string.Join(", ", config.Hosts);
        Name = "redis:" + config.Path;
    }

    public string Name { get; }

    internal RedisTableConfig Config => _config;

    /// <summary>Keys cached now (for tests).</summary>
    internal int CachedKeys => _cache.Count;

    /// <summary>Registers "redis:" with LookupTables; the defaults come from <paramref name="configDir"/>'s
    /// main.cf, read when a table is opened (so "postfix reload" sees a changed cluster_store).</summary>
    public static void Register(string? configDir) =>
        LookupTables.Register("redis", (name, baseDirectory, options) =>
            Open(name, baseDirectory, options, () => RedisTableDefaults.FromMainCf(MainCf.Load(configDir))));

    /// <summary>Opens redis:<paramref name="name"/>; <paramref name="defaults"/> is asked only when the
    /// file leaves hosts or timeout unset.</summary>
    public static RedisTable Open(string name, string? baseDirectory, TableOptions options, Func<RedisTableDefaults> defaults)
    {
        if (name.Length == 0 || name.StartsWith('{'))
            throw new ConfigException($"table \"redis:{name}\": expected redis:/path/to/file.cf");
        var path = baseDirectory is null || Path.IsPathRooted(name) ? name : Path.Combine(baseDirectory, name);
        var config = RedisTableConfig.Load(path, defaults);
        EnsureThreadHeadroom();
        return new RedisTable(config, Connect(config), options.Fold);
    }

    /// <summary>Minimum worker threads for the thread pool, once a redis: table exists.</summary>
    internal const int MinWorkerThreads = 64;

    // Lookups block their thread for one round trip (tables are synchronous), and the client
    // completes replies on thread-pool threads. A cold-started node hit by 20 sessions at once
    // had every pool thread waiting for a reply that needed one more pool thread, which the
    // pool adds only every half second: lookups ran past cluster_store_timeout (1 s) and mail
    // got 451s (seen in bench/cluster.sh). Enough threads up front keeps replies flowing;
    // they cost nothing until used.
    private static void EnsureThreadHeadroom()
    {
        ThreadPool.GetMinThreads(out int workers, out int io);
        if (workers < MinWorkerThreads) ThreadPool.SetMinThreads(MinWorkerThreads, Math.Max(io, MinWorkerThreads));
    }

    private static ConnectionMultiplexer Connect(RedisTableConfig config)
    {
        var id = string.Join(",", config.Hosts) + "|" + (long)config.Timeout.TotalMilliseconds;
        var lazy = Connections.GetOrAdd(id, _ => new Lazy<ConnectionMultiplexer>(() =>
        {
            var options = ClusterStore.Options(config.Hosts, config.Timeout);
            options.IncludeDetailInExceptions = false; // exception texts would carry keys (mail addresses)
            return ConnectionMultiplexer.Connect(options);
        }));
        try { return lazy.Value; }
        catch (Exception e) when (e is RedisException or ArgumentException)
        {
            Connections.TryRemove(id, out _);
            throw new ConfigException($"redis:{config.Path}: hosts {string.Join(", ", config.Hosts)}: {e.Message}");
        }
    }

    public string? Lookup(string key) => ILookupTable.LookupString(this, key);

    public bool TryLookup(scoped ReadOnlySpan<byte> key, out ReadOnlySpan<byte> value)
    {
        if (_fold == KeyFoldMode.None || TableKeyFold.IsFolded(_fold, key)) return Find(key, out value);
        byte[]? rented = null;
        int max = TableKeyFold.MaxFoldedLength(key.Length);
        Span<byte> folded = max <= 512 ? stackalloc byte[512] : (rented = System.Buffers.ArrayPool<byte>.Shared.Rent(max));
        try
        {
            int n = TableKeyFold.Fold(_fold, key, folded);
            value = default;
            return n >= 0 && Find(folded[..n], out value);
        }
        finally
        {
            if (rented is not null) System.Buffers.ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private bool Find(scoped ReadOnlySpan<byte> key, out ReadOnlySpan<byte> value)
    {
        if (_cache.Find(key) is { } hit)
        {
            value = hit.Value;
            return hit.Value is not null;
        }
        var storeKey = _config.KeyFormat.Expand(key);
        if (storeKey is null)
        {
            value = default;
            return false;
        }
        var answer = Query(storeKey);
        _cache.Add(key, answer);
        value = answer;
        return answer is not null;
    }

    // One synchronous round trip: lookups are synchronous in Postfix's dict interface and in ours.
    // The multiplexer bounds it by the timeout and fails at once while disconnected.
    private byte[]? Query(byte[] storeKey)
    {
        try
        {
            // The multiplexer connects in the background: until it has been connected once (start-up,
            // a table just opened), give it up to the timeout; afterwards an outage fails at once.
            if (!_connectedOnce)
            {
                if (!_mux.IsConnected) SpinWait.SpinUntil(() => _mux.IsConnected, _config.Timeout);
                _connectedOnce = _mux.IsConnected;
            }
            var db = _mux.GetDatabase();
            return _config.QueryType switch
            {
                RedisQueryType.Get => (byte[]?)db.StringGet(storeKey),
                RedisQueryType.HGet => (byte[]?)db.HashGet(_container, storeKey),
                _ => db.SetContains(_container, storeKey) ? _config.Result : null,
            };
        }
        catch (RedisServerException e)
        {
            // The reply's error code only (WRONGTYPE, NOAUTH, ...): the rest may quote the command.
            var code = e.Message.Split(' ', 2)[0];
            throw new TableLookupException($"{Name}: store {_store} answered an error ({code})");
        }
        catch (RedisTimeoutException)
        {
            throw new TableLookupException($"{Name}: store {_store}: no answer within {(long)_config.Timeout.TotalMilliseconds}ms");
        }
        catch (Exception e) when (e is RedisException or TimeoutException or ObjectDisposedException)
        {
            throw new TableLookupException($"{Name}: store {_store} is unreachable");
        }
    }
}

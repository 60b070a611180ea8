// redis: tables against a real redis-server on loopback, data written with redis-cli as an
// operator would: the three query types, key_format expansions, key folding, the cache (hits and
// misses, TTL, size bound, no allocation on a hit), the store going away (TableLookupException
// naming the table, never the key) and coming back, and configuration errors.
using Postfix.Cluster;
using Postfix.Core.Config;
using Postfix.Core.Tables;
using Postfix.Tests.Infrastructure;
using Xunit;

namespace Postfix.Tests.Cluster;

public sealed class RedisTableTests(RedisTableTests.Store store) : IClassFixture<RedisTableTests.Store>, IDisposable
{
    public sealed class Store : IAsyncLifetime
    {
        public RedisServer Redis { get; private set; } = null!;
        public async Task InitializeAsync() => Redis = await RedisServer.StartAsync();
        public async Task DisposeAsync() => await Redis.DisposeAsync();
    }

    private readonly string _dir = Directory.CreateTempSubdirectory("redis-table-").FullName;
    private readonly string _ns = "t" + Guid.NewGuid().ToString("N")[..8] + ":";
    private int _files;

    public void Dispose() => Directory.Delete(_dir, true);

    private RedisServer Redis => store.Redis;

    private string WriteCf(string text)
    {
        var path = Path.Combine(_dir, $"table{++_files}.cf");
        File.WriteAllText(path, text);
        return path;
    }

    private RedisTable Open(string cf, TableOptions? options = null, RedisServer? server = null) =>
        RedisTable.Open(WriteCf(cf), null, options ?? TableOptions.Default,
            () => new RedisTableDefaults([(server ?? Redis).Endpoint], TimeSpan.FromSeconds(3))); // generous: the test machine is shared

    [Fact]
    public async Task GetAnswersTheStoredValueAndMissesOtherKeys()
    {
        await Redis.CliAsync("set", $"{_ns}valias:bob@example.com", "alice@example.net");
        var table = Open($"key_format = {_ns}valias:%s\n");
        Assert.Equal("alice@example.net", table.Lookup("bob@example.com"));
        Assert.Null(table.Lookup("carol@example.com"));
        Assert.Equal($"redis:{table.Config.Path}", table.Name);
    }

    [Fact]
    public void OpeningATableLeavesThreadPoolHeadroomForBlockingLookups()
    {
        // Lookups block a pool thread while the reply needs another one: without headroom a burst
        // of sessions on a cold node timed out every lookup (bench/cluster.sh, 451s at start).
        Open("key_format = %s\n");
        ThreadPool.GetMinThreads(out int workers, out _);
        Assert.True(workers >= RedisTable.MinWorkerThreads, $"min worker threads {workers}");
    }

    [Fact]
    public async Task HgetAnswersAFieldOfTheHash()
    {
        await Redis.CliAsync("hset", $"{_ns}transport", "example.com", "smtp:[mx.example.net]");
        var table = Open($"query_type = hget\nhash_name = {_ns}transport\n");
        Assert.Equal("smtp:[mx.example.net]", table.Lookup("example.com"));
        Assert.Null(table.Lookup("example.org"));
    }

    [Fact]
    public async Task SismemberAnswersResultFormatForMembers()
    {
        await Redis.CliAsync("sadd", $"{_ns}relay", "example.com", "example.org");
        var ok = Open($"query_type = sismember\nset_name = {_ns}relay\n");
        Assert.Equal("OK", ok.Lookup("example.org"));
        Assert.Null(ok.Lookup("example.net"));
        var custom = Open($"query_type = sismember\nset_name = {_ns}relay\nresult_format = REJECT listed\n");
        Assert.Equal("REJECT listed", custom.Lookup("example.com"));
    }

    [Fact]
    public async Task KeyFormatExpandsLocalPartDomainAndPercent()
    {
        await Redis.CliAsync("set", $"{_ns}u:bob", "local part");
        await Redis.CliAsync("set", $"{_ns}d:example.com", "domain part");
        await Redis.CliAsync("set", $"{_ns}100%:bob@example.com", "percent");
        await Redis.CliAsync("set", $"{_ns}u:", "must not be asked");
        await Redis.CliAsync("set", $"{_ns}d:", "must not be asked");
        var local = Open($"key_format = {_ns}u:%u\n");
        var domain = Open($"key_format = {_ns}d:%d\n");
        var percent = Open($"key_format = {_ns}100%%:%s\n");
        Assert.Equal("local part", local.Lookup("bob@example.com"));
        Assert.Equal("local part", local.Lookup("bob"));              // no '@': %u is the whole key
        Assert.Null(local.Lookup("@example.com"));                     // empty local part: no query
        Assert.Equal("domain part", domain.Lookup("carol@example.com"));
        Assert.Null(domain.Lookup("example.com"));                     // no '@': %d cannot expand, no query
        Assert.Null(domain.Lookup("carol@"));
        Assert.Equal("percent", percent.Lookup("bob@example.com"));
    }

    [Fact]
    public async Task KeysAreFoldedUnlessTheTableIsOpenedWithoutFolding()
    {
        await Redis.CliAsync("set", $"{_ns}bob@example.com", "folded");
        await Redis.CliAsync("set", $"{_ns}Bob@Example.COM", "as given");
        var folding = Open($"key_format = {_ns}%s\n");
        var exact = Open($"key_format = {_ns}%s\n", TableOptions.Default with { FoldCase = false });
        Assert.Equal("folded", folding.Lookup("BOB@EXAMPLE.COM"));
        Assert.Equal("folded", folding.Lookup("Bob@Example.COM"));
        Assert.Equal("as given", exact.Lookup("Bob@Example.COM"));
        Assert.Null(exact.Lookup("BOB@EXAMPLE.COM"));
    }

    [Fact]
    public async Task CacheKeepsHitsAndMissesForCacheTtl()
    {
        await Redis.CliAsync("set", $"{_ns}hit", "old");
        var table = Open($"key_format = {_ns}%s\ncache_ttl = 1h\n");
        Assert.Equal("old", table.Lookup("hit"));
        Assert.Null(table.Lookup("miss"));
        await Redis.CliAsync("set", $"{_ns}hit", "new");
        await Redis.CliAsync("set", $"{_ns}miss", "now there");
        Assert.Equal("old", table.Lookup("hit"));   // cached hit
        Assert.Null(table.Lookup("miss"));          // cached miss
        Assert.Equal("new", Open($"key_format = {_ns}%s\n").Lookup("hit"));

        var shortTtl = Open($"key_format = {_ns}%s\ncache_ttl = 200ms\n");
        Assert.Equal("new", shortTtl.Lookup("hit"));
        await Redis.CliAsync("set", $"{_ns}hit", "newer");
        Assert.True(await Repo.WaitUntilAsync(() => shortTtl.Lookup("hit") == "newer", TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task CachedHitsAllocateNothing()
    {
        await Redis.CliAsync("set", $"{_ns}alloc@example.com", "target@example.net");
        var table = Open($"key_format = {_ns}%s\ncache_ttl = 1h\n");
        var key = "Alloc@Example.com"u8.ToArray();
        var miss = "nobody@example.com"u8.ToArray();
        Assert.True(table.TryLookup(key, out _));
        Assert.False(table.TryLookup(miss, out _));
        long before = GC.GetAllocatedBytesForCurrentThread();
        int found = 0;
        for (int i = 0; i < 1000; i++)
        {
            if (table.TryLookup(key, out var v) && v.Length == "target@example.net".Length) found++;
            if (table.TryLookup(miss, out _)) found = -1;
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(1000, found);
        Assert.Equal(0, allocated);
    }

    [Fact]
    public void CacheSizeBoundsTheCachedKeys()
    {
        var table = Open($"key_format = {_ns}%s\ncache_size = 3\n");
        for (int i = 0; i < 20; i++) Assert.Null(table.Lookup($"key{i}"));
        Assert.InRange(table.CachedKeys, 1, 3);
    }

    [Fact]
    public async Task StoreDownIsATemporaryFailureNamingTheTableThenTheStoreComesBack()
    {
        await using var redis = await RedisServer.StartAsync();
        await redis.CliAsync("set", "valias:bob@example.com", "alice@example.net");
        var uncached = Open("key_format = valias:%s\ncache_ttl = 0\n", server: redis);
        var cached = Open("key_format = valias:%s\ncache_ttl = 1h\n", server: redis);
        Assert.Equal("alice@example.net", uncached.Lookup("bob@example.com"));
        Assert.Equal("alice@example.net", cached.Lookup("bob@example.com"));

        await redis.StopAsync();
        var e = Assert.Throws<TableLookupException>(() => uncached.Lookup("bob@example.com"));
        Assert.Contains(uncached.Name, e.Message);
        Assert.DoesNotContain("bob", e.Message);
        Assert.Throws<TableLookupException>(() => uncached.Lookup("never-seen@example.com"));
        Assert.Throws<TableLookupException>(() => cached.Lookup("never-seen@example.com"));
        Assert.Equal("alice@example.net", cached.Lookup("bob@example.com")); // a fresh cached answer still serves

        await redis.RestartAsync();
        await redis.CliAsync("set", "valias:bob@example.com", "carol@example.net");
        Assert.True(await Repo.WaitUntilAsync(() =>
        {
            try { return uncached.Lookup("bob@example.com") == "carol@example.net"; }
            catch (TableLookupException) { return false; }
        }, TimeSpan.FromSeconds(30), 200));
        Assert.Null(uncached.Lookup("never-seen@example.com"));
    }

    [Fact]
    public async Task WrongTypeIsATemporaryFailureNotAMiss()
    {
        await Redis.CliAsync("hset", $"{_ns}h", "f", "v");
        var table = Open($"key_format = {_ns}%s\n");
        var e = Assert.Throws<TableLookupException>(() => table.Lookup("h"));
        Assert.True(e.Message.Contains("WRONGTYPE"), e.Message);
    }

    [Theory]
    [InlineData("key_format = a:%s\nquery_typ = get\n", "table1.cf:2: unknown parameter \"query_typ\"")]
    [InlineData("query_type = scan\n", "query_type = scan: expected get, hget or sismember")]
    [InlineData("query_type = hget\n", "query_type = hget needs hash_name")]
    [InlineData("query_type = sismember\n", "query_type = sismember needs set_name")]
    [InlineData("result_format = yes\n", "applies to query_type = sismember only")]
    [InlineData("key_format = a:%x\n", "unknown expansion %x")]
    [InlineData("key_format = constant\n", "key_format has no %s, %u or %d")]
    [InlineData("cache_ttl = soon\n", "cache_ttl = soon: expected a time")]
    [InlineData("timeout = 0\n", "timeout = 0: expected a positive time")]
    [InlineData("cache_size = -1\n", "cache_size = -1: expected a number")]
    [InlineData("hosts =\n", "hosts = : no host:port given")]
    [InlineData("just words\n", "missing '=' after \"just words\"")]
    public void BadConfigurationIsAConfigError(string cf, string expected)
    {
        var e = Assert.Throws<ConfigException>(() => Open(cf));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void MissingFileAndNoHostsAreConfigErrors()
    {
        var missing = Path.Combine(_dir, "nope.cf");
        var e = Assert.Throws<ConfigException>(() => RedisTable.Open(missing, null, TableOptions.Default, () => new([Redis.Endpoint], TimeSpan.FromSeconds(1))));
        Assert.Contains($"open {missing}: No such file or directory", e.Message);
        var cf = WriteCf("key_format = %s\n");
        e = Assert.Throws<ConfigException>(() => RedisTable.Open(cf, null, TableOptions.Default, () => RedisTableDefaults.FromMainCf(MainCf.Parse(""))));
        Assert.Contains("main.cf's cluster_store is empty", e.Message);
    }

    [Fact]
    public async Task RegisteredTypeOpensRelativeToTheConfigDirectoryWithClusterStoreAsHosts()
    {
        File.WriteAllText(Path.Combine(_dir, "main.cf"), $"cluster_store = {Redis.Endpoint}\ncluster_store_timeout = 400ms\n");
        File.WriteAllText(Path.Combine(_dir, "virtual.cf"), $"key_format = {_ns}v:%s\n");
        await Redis.CliAsync("set", $"{_ns}v:a@example.com", "b@example.com");
        RedisTable.Register(_dir);
        Assert.Contains("redis", LookupTables.SupportedTypes);
        var table = Assert.IsType<RedisTable>(LookupTables.Open("redis:virtual.cf", _dir));
        Assert.Equal([Redis.Endpoint], table.Config.Hosts);
        Assert.Equal(TimeSpan.FromMilliseconds(400), table.Config.Timeout);
        Assert.Equal("b@example.com", table.Lookup("a@example.com"));
    }
}

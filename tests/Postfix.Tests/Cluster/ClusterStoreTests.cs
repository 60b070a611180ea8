// ClusterStore against a real redis-server on loopback: configuration from main.cf, a round
// trip, and the store going away and coming back without the client blocking.
using Postfix.Cluster;
using Postfix.Core.Config;
using Postfix.Tests.Infrastructure;
using StackExchange.Redis;
using Xunit;

namespace Postfix.Tests.Cluster;

public sealed class ClusterStoreTests
{
    [Fact]
    public void EmptyClusterStoreMeansOneNode()
    {
        Assert.Null(ClusterStore.FromMainCf(MainCf.Parse("")));
    }

    [Theory]
    [InlineData("250ms", 250)]
    [InlineData("2s", 2000)]
    [InlineData("1", 1000)]
    public void TimeoutAcceptsMillisecondsAndPostfixTimes(string value, int ms)
    {
        Assert.Equal(TimeSpan.FromMilliseconds(ms), ClusterStore.ParseTimeout(MainCf.Parse($"cluster_store_timeout = {value}")));
    }

    [Fact]
    public void BadTimeoutIsAConfigError()
    {
        Assert.Throws<ConfigException>(() => ClusterStore.ParseTimeout(MainCf.Parse("cluster_store_timeout = soon")));
    }

    [Fact]
    public async Task RoundTripThenStoreDownThenBack()
    {
        await using var redis = await RedisServer.StartAsync();
        var main = MainCf.Parse($"cluster_store = {redis.Endpoint}\ncluster_node_name = node-a\ncluster_store_timeout = 300ms");
        await using var store = ClusterStore.FromMainCf(main)!;
        Assert.Equal("node-a", store.NodeName);
        Assert.True(await Repo.WaitUntilAsync(() => store.IsConnected, TimeSpan.FromSeconds(10)));
        await store.Database.StringSetAsync(store.Key("t", "k"), "v");
        Assert.Equal("v", (string?)await store.Database.StringGetAsync(store.Key("t", "k")));
        Assert.Equal("postfix:t:k", (await redis.CliAsync("--raw", "keys", "postfix:*")).Trim());

        await redis.StopAsync();
        var started = Environment.TickCount64;
        await Assert.ThrowsAnyAsync<RedisException>(async () =>
        {
            for (int i = 0; i < 50; i++) { await store.Database.StringGetAsync(store.Key("t", "k")); await Task.Delay(100); }
        });
        Assert.True(Environment.TickCount64 - started < 10_000, "commands must fail within the timeout while the store is down");

        await redis.RestartAsync();
        Assert.True(await Repo.WaitUntilAsync(() =>
        {
            try { store.Database.StringSet(store.Key("t", "k2"), "w"); return true; } catch (RedisException) { return false; }
        }, TimeSpan.FromSeconds(20), 200));
    }

    [Fact]
    public async Task ThreeNodesStartAgainstOneStore()
    {
        await using var cluster = await MtaCluster.StartAsync(3);
        foreach (var node in cluster.Nodes)
        {
            var r = await node.PostfixAsync("postconf", "-h", "cluster_node_name", "cluster_store");
            Assert.Equal(0, r.ExitCode);
            Assert.StartsWith("node", r.Stdout);
            Assert.Contains(cluster.Store.Endpoint, r.Stdout);
        }
        Assert.Equal(3, cluster.Nodes.Select(n => n.Port).Distinct().Count());
    }
}

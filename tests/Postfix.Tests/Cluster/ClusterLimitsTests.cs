// The cluster-wide limit primitives against a real redis-server: three "nodes" (three store
// connections) hitting one sliding-window rate and one leased semaphore concurrently, the
// window sliding, a lapsed lease freeing its slot, and the store going away.
using Postfix.Cluster;
using Postfix.Tests.Infrastructure;
using Xunit;

namespace Postfix.Tests.Cluster;

public sealed class ClusterLimitsTests
{
    private static ClusterLimits Node(RedisServer redis, string name, List<string>? log = null) =>
        new(ClusterStore.Connect([redis.Endpoint], name, "postfix:", TimeSpan.FromMilliseconds(500)),
            log is null ? null : m => { lock (log) log.Add(m); });

    [Fact]
    public async Task RateHoldsExactlyAcrossThreeNodes()
    {
        await using var redis = await RedisServer.StartAsync();
        var nodes = new[] { Node(redis, "n1"), Node(redis, "n2"), Node(redis, "n3") };
        const int limit = 100;
        var accepted = 0;
        await Task.WhenAll(nodes.Select(n => Task.Run(async () =>
        {
            for (int i = 0; i < 80; i++)
            {
                var r = await n.HitAsync("client:127.0.0.9:msg", limit, TimeSpan.FromMinutes(1));
                Assert.NotNull(r);
                if (r <= limit) Interlocked.Increment(ref accepted);
            }
        })));
        Assert.Equal(limit, accepted);
        // The refused events were not recorded: the window holds exactly the limit.
        Assert.Equal("100", (await redis.CliAsync("zcard", "postfix:rate:client:127.0.0.9:msg")).Trim());
    }

    [Fact]
    public async Task WindowSlides()
    {
        await using var redis = await RedisServer.StartAsync();
        var n = Node(redis, "n1");
        var window = TimeSpan.FromMilliseconds(600);
        Assert.Equal(1, await n.HitAsync("k", 2, window));
        Assert.Equal(2, await n.HitAsync("k", 2, window));
        Assert.Equal(3, await n.HitAsync("k", 2, window));
        // No probing while it slides: a probe that lands after the first hit left the window
        // but before the second did is accepted (2) and recorded, and then every later probe
        // finds an earlier probe inside the window. Once both hits are older than the window,
        // the next event is alone in it.
        await Task.Delay(window * 2 + TimeSpan.FromMilliseconds(300));
        Assert.Equal(1, await n.HitAsync("k", 2, window));
    }

    [Fact]
    public async Task SemaphoreBoundsHoldersAndLapsedLeasesFreeSlots()
    {
        await using var redis = await RedisServer.StartAsync();
        var a = Node(redis, "n1");
        var b = Node(redis, "n2");
        var lease = TimeSpan.FromSeconds(30);
        var h1 = a.NewHolder();
        var h2 = b.NewHolder();
        Assert.True(await a.TryAcquireAsync("dest:big.example", 2, h1, lease));
        Assert.True(await b.TryAcquireAsync("dest:big.example", 2, h2, lease));
        Assert.False(await b.TryAcquireAsync("dest:big.example", 2, b.NewHolder(), lease));
        Assert.True(await a.TryAcquireAsync("dest:big.example", 2, h1, lease)); // renewal of a held slot
        await a.ReleaseAsync("dest:big.example", h1);
        Assert.True(await b.TryAcquireAsync("dest:big.example", 2, b.NewHolder(), lease));

        // A crashed holder's short lease lapses by itself.
        Assert.True(await a.TryAcquireAsync("dest:small.example", 1, a.NewHolder(), TimeSpan.FromMilliseconds(300)));
        Assert.False(await b.TryAcquireAsync("dest:small.example", 1, b.NewHolder(), lease));
        Assert.True(await Repo.WaitUntilAsync(() => b.TryAcquireAsync("dest:small.example", 1, "late", lease).AsTask().Result == true,
            TimeSpan.FromSeconds(10), 100));
    }

    [Fact]
    public async Task StoreDownAnswersNullAndLogsEachTransitionOnce()
    {
        await using var redis = await RedisServer.StartAsync();
        var log = new List<string>();
        var n = Node(redis, "n1", log);
        Assert.Equal(1, await n.HitAsync("k", 5, TimeSpan.FromMinutes(1)));
        await redis.StopAsync();
        for (int i = 0; i < 5; i++)
        {
            Assert.Null(await n.HitAsync("k", 5, TimeSpan.FromMinutes(1)));
            Assert.Null(await n.TryAcquireAsync("s", 5, "h", TimeSpan.FromMinutes(1)));
        }
        Assert.True(n.Health.IsDown);
        await redis.RestartAsync();
        Assert.True(await Repo.WaitUntilAsync(() => n.HitAsync("k", 5, TimeSpan.FromMinutes(1)).AsTask().Result == 1, TimeSpan.FromSeconds(20), 200));
        Assert.False(n.Health.IsDown);
        lock (log)
        {
            Assert.Single(log, m => m.Contains("unreachable"));
            Assert.Single(log, m => m.Contains("reachable again"));
        }
    }
}

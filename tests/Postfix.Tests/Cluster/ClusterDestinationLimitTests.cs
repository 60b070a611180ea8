// Cluster-wide per-destination delivery limits end to end: a real redis-server, three real MTA
// nodes, each fed by its own smtp-source, relaying through transport_maps to two loopback
// receivers (CountingSmtpSink): "big" limited by cluster_destination_limit_maps, "small" not.
// Shows: the big receiver never sees more concurrent connections than the cluster limit while
// the unlimited one (same nodes, same load) sees more; a cluster rate keeps every window of
// deliveries begun (sessions accepted by the receiver) within the limit; mail to the small receiver flows meanwhile; every message arrives
// exactly once and none is deferred (a refusal waits in the active queue); with the store down
// the nodes fall back to their share (ceil(limit / live nodes)), log it once, and keep going.
using System.Text.RegularExpressions;
using Postfix.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace Postfix.Tests.Cluster;

public sealed class ClusterDestinationLimitTests(ITestOutputHelper output)
{
    private const int PerNode = 200;
    private static readonly TimeSpan Bound = TimeSpan.FromMinutes(4);

    private static string MainCf(CountingSmtpSink big, CountingSmtpSink small, string limits) => $$"""
        defer_transports =
        # as in ClusterAnvilTests: a store answer slowed past the timeout on the loaded test
        # machine would switch a node to its per-node share (the designed fallback), which is
        # not what these tests measure
        cluster_store_timeout = 3s
        # each delivery is its own connection, so connections = deliveries at the receiver
        smtp_connection_cache_on_demand = no
        transport_maps = inline:{ big.test = {{big.Destination}}, small.test = {{small.Destination}} }
        {{limits}}
        """;

    // One smtp-source per node, to big.test and small.test at once.
    private static async Task FeedAsync(MtaCluster cluster, int perNode, bool small = true)
    {
        var runs = new List<Task<Repo.Result>>();
        foreach (var node in cluster.Nodes)
        {
            foreach (var domain in small ? new[] { "big.test", "small.test" } : ["big.test"])
                runs.Add(Repo.RunAsync(Repo.Which("smtp-source"),
                    ["-s", "5", "-m", perNode.ToString(), "-l", "1024", "-f", "sender@example.org", "-t", $"rcpt@{domain}", $"127.0.0.1:{node.Port}"],
                    TimeSpan.FromMinutes(3)));
        }
        foreach (var r in await Task.WhenAll(runs)) Assert.True(r.ExitCode == 0, r.Stderr);
    }

    private static async Task WaitForAsync(CountingSmtpSink sink, int count, MtaCluster cluster)
    {
        bool done = await Repo.WaitUntilAsync(() => sink.Count >= count, Bound, 200);
        Assert.True(done, $"{sink.Count} of {count} arrived; node1 log tail:\n{string.Join('\n', cluster.Nodes[0].Maillog.Split('\n').TakeLast(15))}");
        foreach (var n in cluster.Nodes) await Relay.RelayTests.WaitForEmptyQueueAsync(n, TimeSpan.FromMinutes(1));
    }

    private static void AssertExactlyOnce(CountingSmtpSink sink, int count)
    {
        Assert.Equal(count, sink.Count);
        Assert.Equal(count, sink.MessageIds.Where(id => id.Length > 0).Distinct().Count());
    }

    private void LogStoreLines(MtaCluster cluster)
    {
        foreach (var n in cluster.Nodes)
            foreach (Match m in Regex.Matches(n.Maillog, @"^.*(cluster store|destination limit).*$", RegexOptions.Multiline))
                output.WriteLine($"{n.Port}: {m.Value}");
    }

    private void AssertNothingDeferred(MtaCluster cluster)
    {
        foreach (var n in cluster.Nodes) Assert.DoesNotContain("status=deferred", n.Maillog);
    }

    [Fact]
    public async Task ClusterConcurrencyLimitHoldsAcrossThreeNodesWhileAnUnlimitedDestinationGoesWider()
    {
        await using var big = CountingSmtpSink.Start(TimeSpan.FromMilliseconds(20));
        await using var small = CountingSmtpSink.Start(TimeSpan.FromMilliseconds(20));
        await using var cluster = await MtaCluster.StartAsync(3, MainCf(big, small,
            $"cluster_destination_limit_maps = inline:{{ {big.Destination} = concurrency=2 }}"));

        await FeedAsync(cluster, PerNode);
        await WaitForAsync(small, 3 * PerNode, cluster);
        await WaitForAsync(big, 3 * PerNode, cluster);

        output.WriteLine($"big (concurrency=2): max concurrent connections {big.MaxConcurrentConnections}; small (no limit): {small.MaxConcurrentConnections}");
        LogStoreLines(cluster);
        Assert.InRange(big.MaxConcurrentConnections, 1, 2);
        Assert.True(small.MaxConcurrentConnections > 2, $"the unlimited destination saw at most {small.MaxConcurrentConnections}");
        AssertExactlyOnce(big, 3 * PerNode);
        AssertExactlyOnce(small, 3 * PerNode);
        // The unlimited destination was not held behind the limited one.
        Assert.True(small.Arrivals[^1] < big.Arrivals[^1]);
        AssertNothingDeferred(cluster);
        // The wait for a slot is time in the active queue: the delays= b part.
        var b = cluster.Nodes.SelectMany(n => Regex.Matches(n.Maillog, @"to=<rcpt@big\.test>.*delays=[\d.]+/([\d.]+)/")
            .Select(m => double.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture))).ToList();
        Assert.Equal(3 * PerNode, b.Count);
        Assert.Contains(b, x => x > 0);
    }

    [Fact]
    public async Task ClusterRateLimitKeepsEveryWindowWithinTheLimit()
    {
        const int rate = 200;
        var unit = TimeSpan.FromSeconds(6);
        await using var big = CountingSmtpSink.Start();
        await using var small = CountingSmtpSink.Start();
        await using var cluster = await MtaCluster.StartAsync(3, MainCf(big, small, $$"""
            cluster_rate_time_unit = {{unit.TotalSeconds}}s
            cluster_destination_limit_maps = inline:{ {{big.Destination}} = rate={{rate}} }
            """));

        // Warm nodes (delivery code compiled, first connections made), so the arrivals show the
        // limiter rather than each process's first-delivery start-up time.
        await WarmUpAsync(cluster, small);
        await FeedAsync(cluster, PerNode);
        await WaitForAsync(small, 3 * PerNode + Warm, cluster);
        await WaitForAsync(big, 3 * PerNode, cluster);
        output.WriteLine("arrivals per second: " + string.Join(' ', big.Arrivals.GroupBy(t => (int)(t - big.Arrivals[0]).TotalSeconds).Select(g => g.Count())));

        // The limit is on delivery starts (each delivery is one connection here); the end of
        // DATA comes a variable time later on a loaded machine, so arrivals are only reported.
        int most = big.MaxStartsInWindow(unit);
        output.WriteLine($"big (rate={rate}/{unit.TotalSeconds}s): most deliveries begun in any {unit.TotalSeconds}s window {most} (arrivals {big.MaxInWindow(unit)}); small (no limit): {small.MaxStartsInWindow(unit)}");
        LogStoreLines(cluster);
        Assert.InRange(most, 1, (int)(rate * 1.05));
        Assert.True(small.MaxStartsInWindow(unit) > most, "the unlimited destination is not rate limited");
        AssertExactlyOnce(big, 3 * PerNode);
        AssertExactlyOnce(small, 3 * PerNode + Warm);
        Assert.True(small.Arrivals[^1] < big.Arrivals[^1]);
        AssertNothingDeferred(cluster);
    }

    private const int Warm = 3 * 5;

    private static async Task WarmUpAsync(MtaCluster cluster, CountingSmtpSink small)
    {
        foreach (var n in cluster.Nodes)
        {
            var r = await Repo.RunAsync(Repo.Which("smtp-source"),
                ["-s", "5", "-m", "5", "-f", "sender@example.org", "-t", "rcpt@small.test", $"127.0.0.1:{n.Port}"], TimeSpan.FromMinutes(1));
            Assert.True(r.ExitCode == 0, r.Stderr);
        }
        Assert.True(await Repo.WaitUntilAsync(() => small.Count >= Warm, Bound, 100));
    }

    [Fact]
    public async Task StoreDownFallsBackToEachNodesShareAndMailKeepsFlowing()
    {
        await using var big = CountingSmtpSink.Start(TimeSpan.FromMilliseconds(20));
        await using var small = CountingSmtpSink.Start();
        await using var cluster = await MtaCluster.StartAsync(3, MainCf(big, small,
            $"cluster_destination_limit_maps = inline:{{ {big.Destination} = concurrency=2 }}"));
        // Every node has counted the three live nodes (heartbeat) before the store goes away.
        Assert.True(await Repo.WaitUntilAsync(() => cluster.Store.CliAsync("zcard", "postfix:nodes:qmgr").Result.Trim() == "3",
            TimeSpan.FromSeconds(30), 200));
        await Task.Delay(TimeSpan.FromSeconds(6)); // one more heartbeat each, after all three were in
        await cluster.Store.StopAsync();

        const int perNode = 100;
        await FeedAsync(cluster, perNode, small: false);
        await WaitForAsync(big, 3 * perNode, cluster);

        output.WriteLine($"store down, concurrency=2 over 3 nodes: max concurrent connections {big.MaxConcurrentConnections}");
        LogStoreLines(cluster);
        // Each node's share is ceil(2 / 3) = 1.
        Assert.InRange(big.MaxConcurrentConnections, 1, 3);
        AssertExactlyOnce(big, 3 * perNode);
        AssertNothingDeferred(cluster);
        // Each transition is logged once: "unreachable" first, never twice in a row.
        foreach (var n in cluster.Nodes)
        {
            var health = Regex.Matches(n.Maillog, @"postfix/qmgr\[\d+\]: (warning: cluster store 127\.0\.0\.1:\d+ unreachable .*; using per-node limits|cluster store 127\.0\.0\.1:\d+: reachable again; cluster-wide limits apply)")
                .Select(m => m.Groups[1].Value.StartsWith("warning:") ? "down" : "up").ToList();
            output.WriteLine($"{n.Port}: {string.Join(' ', health)}");
            Assert.Equal("down", health.FirstOrDefault());
            Assert.Equal("down", health[^1]);
            for (int i = 1; i < health.Count; i++) Assert.NotEqual(health[i - 1], health[i]);
        }
    }
}

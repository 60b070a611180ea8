// The cluster's queue view end to end: three real MTA nodes and a real redis-server; each node
// holds deferred mail (the fixture's defer_transports) in its own amounts and domains, and
// postqueue -C / -j -C / qshape -C, run from one node's config directory, show every node's
// counts and the cluster totals exactly. A stopped node turns "stopped", then "absent" when its
// key expires, and leaves the totals; with the store down the commands fail with exit 1.
using System.Text.Json;
using System.Text.RegularExpressions;
using Postfix.Tests.Infrastructure;
using Xunit;

namespace Postfix.Tests.Cluster;

public sealed class ClusterQueueTests
{
    internal static async Task SendAsync(MtaInstance node, int count, string from, string to)
    {
        var r = await Repo.RunAsync(Repo.Which("smtp-source"),
            ["-s", "5", "-m", count.ToString(), "-f", from, "-t", to, $"127.0.0.1:{node.Port}"], TimeSpan.FromMinutes(3));
        Assert.True(r.ExitCode == 0, $"smtp-source to {node.Port} failed: {r.Stderr}");
    }

    internal static async Task<Dictionary<string, long>> CountsAsync(MtaInstance node)
    {
        var r = await node.PostfixAsync("postqueue", "-n");
        Assert.True(r.ExitCode == 0, r.Stderr);
        return r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(' ')).ToDictionary(p => p[0], p => long.Parse(p[1]));
    }

    internal static async Task WaitDeferredAsync(MtaInstance node, long expected)
    {
        long seen = -1;
        bool ok = await Repo.WaitUntilAsync(() => (seen = CountsAsync(node).GetAwaiter().GetResult()["deferred"]) == expected,
            TimeSpan.FromMinutes(2), 250);
        Assert.True(ok, $"node on {node.Port}: {seen} deferred, expected {expected}\n{node.Maillog}");
    }

    /// <summary>postqueue -j -C from <paramref name="from"/>, by node name.</summary>
    internal static async Task<Dictionary<string, JsonElement>> ClusterJsonAsync(MtaInstance from)
    {
        var r = await from.PostfixAsync("postqueue", "-j", "-C");
        Assert.True(r.ExitCode == 0, r.Stderr);
        return r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => JsonDocument.Parse(l).RootElement).ToDictionary(e => e.GetProperty("node").GetString()!);
    }

    [Fact]
    public async Task PostqueueAndQshapeDashCShowEveryNodeAndTheClusterTotals()
    {
        await using var cluster = await MtaCluster.StartAsync(3, "cluster_publish_interval = 1s");
        var (n1, n2, n3) = (cluster.Nodes[0], cluster.Nodes[1], cluster.Nodes[2]);
        await Task.WhenAll(
            SendAsync(n1, 3, "s1@example.org", "r@a.example"),
            SendAsync(n2, 5, "s2@example.org", "r@b.example"),
            SendAsync(n2, 2, "s2@example.org", "r@a.example"),
            SendAsync(n3, 4, "s3@example.org", "r@c.example"));
        await WaitDeferredAsync(n1, 3);
        await WaitDeferredAsync(n2, 7);
        await WaitDeferredAsync(n3, 4);

        // Every node's published summary reaches the store within a few intervals.
        Dictionary<string, JsonElement> nodes = [];
        bool published = await Repo.WaitUntilAsync(() =>
        {
            nodes = ClusterJsonAsync(n1).GetAwaiter().GetResult();
            return nodes.Count == 3 && nodes.Values.All(n => n.GetProperty("status").GetString() == "running")
                && nodes["node1"].GetProperty("deferred").GetInt64() == 3 && nodes["node2"].GetProperty("deferred").GetInt64() == 7
                && nodes["node3"].GetProperty("deferred").GetInt64() == 4;
        }, TimeSpan.FromSeconds(30), 250);
        Assert.True(published, string.Join('\n', nodes.Values));
        Assert.Equal($"127.0.0.1:{n2.Port}", nodes["node2"].GetProperty("smtp")[0].GetString());

        // The table: one row per node, then the cluster's totals (from node3's config directory).
        var table = await n3.PostfixAsync("postqueue", "-C");
        Assert.True(table.ExitCode == 0, table.Stderr);
        Assert.Matches(@"(?m)^node1\s+running\s+\d+s\s+0\s+0\s+3\s+0\s+3 127\.0\.0\.1:\d+$", table.Stdout);
        Assert.Matches(@"(?m)^node2\s+running\s+\d+s\s+0\s+0\s+7\s+0\s+7 ", table.Stdout);
        Assert.Matches(@"(?m)^node3\s+running\s+\d+s\s+0\s+0\s+4\s+0\s+4 ", table.Stdout);
        Assert.Contains("-- cluster: 3 live nodes of 3: incoming 0, active 0, deferred 14, hold 0, total 14", table.Stdout);

        // qshape -C: the summed shape in qshape's layout (all fresh: the first age bucket).
        var shape = await n1.PostfixAsync("qshape", "-C", "deferred");
        Assert.True(shape.ExitCode == 0, shape.Stderr);
        var rows = Rows(shape.Stdout);
        Assert.Equal("T 5 10 20 40 80 160 320 640 1280 1280+", Regex.Replace(shape.Stdout.Split('\n')[0].Trim(), @"\s+", " "));
        Assert.Equal([14, 14, 0, 0, 0, 0, 0, 0, 0, 0, 0], rows["TOTAL"]);
        Assert.Equal([5, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0], rows["a.example"]);
        Assert.Equal([5, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0], rows["b.example"]);
        Assert.Equal([4, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0], rows["c.example"]);
        // Same layout as the local qshape (node2 alone).
        var local = await n2.PostfixAsync("qshape", "deferred");
        Assert.Equal(local.Stdout.Split('\n')[0], shape.Stdout.Split('\n')[0]);
        Assert.Equal(local.Stdout.Split('\n').First(l => l.Contains("b.example")), shape.Stdout.Split('\n').First(l => l.Contains("b.example")));
        Assert.Equal([7, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0], Rows(local.Stdout)["TOTAL"]);

        // A stopped node says so, then disappears (its key expires after three intervals);
        // either way it leaves the totals.
        await n3.StopAsync();
        var after = await n3.PostfixAsync("postqueue", "-C"); // from the stopped node's config directory
        Assert.True(after.ExitCode == 0, after.Stderr);
        Assert.Matches(@"(?m)^node3\s+(stopped|absent)\s", after.Stdout);
        Assert.Contains("-- cluster: 2 live nodes of 3: incoming 0, active 0, deferred 10, hold 0, total 10", after.Stdout);
        bool gone = await Repo.WaitUntilAsync(() => ClusterJsonAsync(n1).GetAwaiter().GetResult()["node3"].GetProperty("status").GetString() == "absent",
            TimeSpan.FromSeconds(30), 500);
        Assert.True(gone, "node3's summary did not expire");
        var shape2 = await n1.PostfixAsync("qshape", "-C", "deferred");
        Assert.Contains("node node3: absent", shape2.Stderr);
        Assert.Equal([10, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0], Rows(shape2.Stdout)["TOTAL"]);

        // Store down: a clear error and exit 1, from a node whose master runs or not.
        await cluster.Store.StopAsync();
        foreach (var node in new[] { n1, n3 })
        {
            var down = await node.PostfixAsync("postqueue", "-C");
            Assert.Equal(1, down.ExitCode);
            Assert.Contains($"postqueue: fatal: cluster_store {cluster.Store.Endpoint}", down.Stderr);
            var downShape = await node.PostfixAsync("qshape", "-C");
            Assert.Equal(1, downShape.ExitCode);
            Assert.Contains("qshape: fatal: cluster_store", downShape.Stderr);
        }
        // Mail flow does not notice: node1 still accepts and queues, and logs the outage once.
        await SendAsync(n1, 1, "s1@example.org", "r@a.example");
        await WaitDeferredAsync(n1, 4);
        Assert.True(await Repo.WaitUntilAsync(() => n1.Maillog.Contains("cannot publish the queue summary"), TimeSpan.FromSeconds(30)));
        Assert.Single(Regex.Matches(n1.Maillog, "cannot publish the queue summary"));
    }

    [Fact]
    public async Task DashCWithoutAClusterStoreIsAClearError()
    {
        await using var mta = await MtaInstance.StartAsync();
        var r = await mta.PostfixAsync("postqueue", "-C");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("postqueue: fatal: -C needs cluster_store in main.cf", r.Stderr);
        var usage = await mta.PostfixAsync("qshape", "-C", "-s");
        Assert.Equal(2, usage.ExitCode);
    }

    [Fact]
    public void PublishedShapeKeepsTheBiggestDomainsAndSumsTheRestAsOther()
    {
        var builder = new Postfix.Cluster.ClusterShapeBuilder(null!, d => d, _ => 1, 5, 10, maxDomains: 3);
        var rows = Enumerable.Range(1, 6).ToDictionary(i => $"d{i}.example", i => new long[] { i, i, 0, 0, 0, 0, 0, 0, 0, 0, 0 });
        var capped = builder.Cap(rows);
        Assert.Equal(["(other)", "d4.example", "d5.example", "d6.example"], capped.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(1 + 2 + 3, capped["(other)"][0]);
        Assert.Equal(21, capped.Values.Sum(r => r[0]));
    }

    [Theory]
    [InlineData("")]
    [InlineData("not json")]
    [InlineData("{\"node\": 5}")]
    [InlineData("[1,2,3]")]
    public void SummaryFromTheStoreIsParsedNotTrusted(string json)
    {
        Assert.Null(Postfix.Cluster.ClusterQueueSummary.TryParse(json));
    }

    /// <summary>qshape's rows by name: the numbers of each row.</summary>
    internal static Dictionary<string, long[]> Rows(string qshape) =>
        qshape.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1)
            .Select(l => l.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .ToDictionary(p => p[0], p => p[1..].Select(long.Parse).ToArray());
}

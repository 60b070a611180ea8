// postfix drain end to end, with real peers: three MTA nodes share a redis-server; node1 and
// node3 relay to one Postfix smtp-sink, node2 keeps everything deferred (defer_transports).
// smtp-source sends 1000 messages to each node (each smtp-source run has its own pid, so its
// Message-Ids are unique across runs); then node2 drains: it hands its 1000 messages to
// node1/node3 over SMTP, empties its queue, and its master exits 0. Every message smtp-source
// had acknowledged reaches the sink, exactly once. Also: without a store or peers, drain
// refuses to finish with mail left; with cluster_drain_peers it hands over to that list.
using System.Text.RegularExpressions;
using Postfix.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;
using static Postfix.Tests.Cluster.ClusterQueueTests;

namespace Postfix.Tests.Cluster;

public sealed class DrainTests(ITestOutputHelper output)
{
    private const int PerNode = 1000;

    [Fact]
    public async Task DrainedNodeHandsEveryMessageToPeersAndExitsZero()
    {
        await using var sink = await SmtpSink.StartAsync();
        await using var cluster = await MtaCluster.StartAsync(3,
            $"relayhost = [127.0.0.1]:{sink.Port}\ncluster_publish_interval = 1s",
            i => i == 1 ? "" : "defer_transports = local");
        var (n1, n2, n3) = (cluster.Nodes[0], cluster.Nodes[1], cluster.Nodes[2]);

        await Task.WhenAll(
            SendAsync(n1, PerNode, "node1@example.org", "rcpt@example.net"),
            SendAsync(n2, PerNode, "node2@example.org", "rcpt@example.net"),
            SendAsync(n3, PerNode, "node3@example.org", "rcpt@example.net"));
        await WaitDeferredAsync(n2, PerNode);
        // node2's peers must be known to the store before it drains.
        Assert.True(await Repo.WaitUntilAsync(() =>
        {
            var nodes = ClusterJsonAsync(n2).GetAwaiter().GetResult();
            return new[] { "node1", "node3" }.All(n => nodes.TryGetValue(n, out var e) && e.GetProperty("status").GetString() == "running");
        }, TimeSpan.FromSeconds(30), 250));

        var drain = await n2.PostfixAsync("drain");
        Assert.True(drain.ExitCode == 0, $"drain: {drain.Stderr}\n{Tail(n2.Maillog)}");
        Assert.Contains("the queue is drained; the Postfix mail system is stopped", drain.Stderr);
        Assert.True(await Repo.WaitUntilAsync(() => !n2.IsRunning, TimeSpan.FromSeconds(30)));
        Assert.Equal(0, n2.ExitCode);
        Assert.Equal(0, await n2.QueueCountAsync()); // offline: the master is gone

        // node2's log: each message handed to a peer, then removed.
        var log = n2.Maillog;
        var handed = Regex.Matches(log,
            @"postfix/smtp\[\d+\]: ([0-9A-F]{12}): to=<rcpt@example\.net>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:\d+, delay=[\d.]+, delays=[\d.]+/[\d.]+/[\d.]+/[\d.]+, dsn=2\.0\.0, status=sent \(handed to peer node[13]: 250 [^)]*\)");
        var ids = handed.Select(m => m.Groups[1].Value).Distinct().ToList();
        Assert.Equal(PerNode, ids.Count);
        foreach (var id in ids.Take(50)) Assert.Contains($"{id}: removed", log);
        Assert.Contains("drain: the queue is empty (1000 messages handed to peers); stopping", log);
        Assert.Contains("terminating: drained", log);

        // Everything arrives at the sink through node1/node3, exactly once.
        await RelayWaitEmptyAsync(n1);
        await RelayWaitEmptyAsync(n3);
        Assert.True(await Repo.WaitUntilAsync(() => sink.MessageIds.Count >= 3 * PerNode, TimeSpan.FromMinutes(2), 500),
            $"sink has {sink.MessageIds.Count} distinct messages of {3 * PerNode}");
        Assert.Equal(3 * PerNode, sink.MessageIds.Count);
        Assert.Equal(3 * PerNode, sink.Transactions); // no duplicates
        output.WriteLine($"handed over by node2: {ids.Count}; at the sink: {sink.MessageIds.Count} distinct of {sink.Transactions} transactions");

        // The cluster view shows node2 gone.
        var table = await n1.PostfixAsync("postqueue", "-C");
        Assert.Matches(@"(?m)^node2\s+(stopped|absent)\s", table.Stdout);
    }

    [Fact]
    public async Task DrainDuringLoadLosesNoAcknowledgedMessage()
    {
        await using var sink = await SmtpSink.StartAsync();
        await using var cluster = await MtaCluster.StartAsync(3,
            $"relayhost = [127.0.0.1]:{sink.Port}\ncluster_publish_interval = 1s",
            i => i == 1 ? "" : "defer_transports = local");
        var (n1, n2, n3) = (cluster.Nodes[0], cluster.Nodes[1], cluster.Nodes[2]);
        Assert.True(await Repo.WaitUntilAsync(() => ClusterJsonAsync(n2).GetAwaiter().GetResult().Count == 3, TimeSpan.FromSeconds(30), 250));

        // 4 sessions per node, 250 messages each, every Message-Id unique; a message counts as
        // acknowledged only when its 250 came back. A sender stops at its first failure
        // (node2's listener closes under it).
        var acked = new System.Collections.Concurrent.ConcurrentBag<string>();
        async Task SenderAsync(MtaInstance node, string name, int session)
        {
            try
            {
                await using var c = await SmtpTestClient.ConnectAsync(node.Port);
                await c.ReadReplyAsync();
                await c.SendAsync("EHLO load.test\r\n");
                await c.ReadReplyAsync();
                for (int i = 0; i < PerNode / 4; i++)
                {
                    var id = $"<{name}.{session}.{i}@load.test>";
                    await c.SendMessageAsync($"{name}@example.org", "rcpt@example.net", $"Subject: load {id}\r\nMessage-Id: {id}\r\n\r\nbody\r\n");
                    acked.Add(id);
                }
            }
            catch (Exception e) when (e is InvalidOperationException or IOException or System.Net.Sockets.SocketException) { }
        }
        var load = cluster.Nodes.SelectMany((n, k) => Enumerable.Range(0, 4).Select(s => SenderAsync(n, $"node{k + 1}", s))).ToList();
        Assert.True(await Repo.WaitUntilAsync(() => acked.Count(a => a.StartsWith("<node2.")) >= 200, TimeSpan.FromMinutes(2), 50));

        var drain = await n2.PostfixAsync("drain");
        Assert.True(drain.ExitCode == 0, $"drain: {drain.Stderr}\n{Tail(n2.Maillog)}");
        await Task.WhenAll(load).WaitAsync(TimeSpan.FromMinutes(5));
        Assert.True(await Repo.WaitUntilAsync(() => !n2.IsRunning, TimeSpan.FromSeconds(30)));
        Assert.Equal(0, n2.ExitCode);
        Assert.Equal(0, await n2.QueueCountAsync());

        await RelayWaitEmptyAsync(n1);
        await RelayWaitEmptyAsync(n3);
        var expected = acked.ToHashSet();
        Assert.True(await Repo.WaitUntilAsync(() => sink.MessageIds.IsSupersetOf(expected), TimeSpan.FromMinutes(2), 500),
            $"missing at the sink: {string.Join(' ', expected.Except(sink.MessageIds).Take(20))}");
        int duplicates = sink.Transactions - sink.MessageIds.Count;
        Assert.True(duplicates == 0, $"{duplicates} duplicates at the sink");
        Assert.True(expected.Count(a => a.StartsWith("<node2.")) >= 200);
        output.WriteLine($"acknowledged: node1 {expected.Count(a => a.StartsWith("<node1."))}, node2 {expected.Count(a => a.StartsWith("<node2."))}, "
            + $"node3 {expected.Count(a => a.StartsWith("<node3."))}; handed over by node2: {Regex.Matches(n2.Maillog, @"status=sent \(handed to peer").Count}; "
            + $"at the sink: {sink.MessageIds.Count} distinct, {duplicates} duplicates");
    }

    [Fact]
    public async Task WithoutStoreOrPeersDrainRefusesToFinishWithMailLeft()
    {
        await using var mta = await MtaInstance.StartAsync();
        await SendAsync(mta, 3, "a@example.org", "b@example.net");
        await WaitDeferredAsync(mta, 3);
        var r = await mta.PostfixAsync("drain");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("3 messages are left and there is no peer to hand them to", r.Stderr);
        Assert.True(mta.IsRunning);
        Assert.Equal(3, await mta.QueueCountAsync());
        // Draining: the listener is closed, new connections are refused.
        Assert.Contains("drain: listeners closed", mta.Maillog);
        await Assert.ThrowsAnyAsync<System.Net.Sockets.SocketException>(async () =>
        {
            using var c = new System.Net.Sockets.TcpClient();
            await c.ConnectAsync("127.0.0.1", mta.Port);
        });
    }

    [Fact]
    public async Task ClusterDrainPeersKeepsTheDsnEnvelopeAndLeavesHeldMailToTheOperator()
    {
        await using var sink = await SmtpSink.StartAsync();
        await using var peer = await MtaInstance.StartAsync($"defer_transports = local\nrelayhost = [127.0.0.1]:{sink.Port}");
        await using var mta = await MtaInstance.StartAsync($"cluster_drain_peers = 127.0.0.1:{peer.Port}\ncluster_drain_timeout = 2m");
        await SendAsync(mta, 20, "a@example.org", "b@example.net");
        string dsnId = await SendWithDsnAsync(mta.Port);
        string heldId = await SendWithDsnAsync(mta.Port, envid: "held-1");
        await WaitDeferredAsync(mta, 22);
        var hold = await mta.PostfixAsync("postsuper", "-h", heldId);
        Assert.True(hold.ExitCode == 0, hold.Stderr);

        // Held mail stays (the operator held it): drain says so and exits 1; the master keeps draining.
        var first = await mta.PostfixAsync("drain");
        Assert.Equal(1, first.ExitCode);
        Assert.Contains("1 held messages are left", first.Stderr);
        Assert.True(mta.IsRunning);
        Assert.Equal(21, Regex.Matches(mta.Maillog, $@"status=sent \(handed to peer 127\.0\.0\.1:{peer.Port}: 250 ").Count);
        Assert.Contains($"{dsnId}: removed", mta.Maillog);

        // Released, it is handed over too, and the drain ends (the master was still draining);
        // drain again then finds nothing left.
        var release = await mta.PostfixAsync("postsuper", "-H", heldId);
        Assert.True(release.ExitCode == 0, release.Stderr);
        Assert.True(await Repo.WaitUntilAsync(() => !mta.IsRunning, TimeSpan.FromSeconds(60)), Tail(mta.Maillog));
        Assert.Equal(0, mta.ExitCode);
        var second = await mta.PostfixAsync("drain");
        Assert.True(second.ExitCode == 0, $"{second.Stderr}\n{Tail(mta.Maillog)}");
        Assert.Contains("its queue is empty", second.Stderr);
        Assert.Equal(22, Regex.Matches(mta.Maillog, $@"status=sent \(handed to peer 127\.0\.0\.1:{peer.Port}: 250 ").Count);

        await RelayWaitEmptyAsync(peer);
        Assert.True(await Repo.WaitUntilAsync(() => sink.Transactions >= 22, TimeSpan.FromMinutes(1), 250));
        Assert.Equal(22, sink.Transactions);
        // The DSN envelope went from the drained node through the peer to the sink unchanged.
        var dump = File.ReadAllText(sink.DumpFile);
        Assert.Contains("X-Mail-Args: <dsn@example.org> RET=HDRS ENVID=drain-env-1", dump);
        Assert.Contains("X-Rcpt-Args: <c@example.net> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;orig@example.net", dump);
    }

    /// <summary>One message with RET, ENVID, NOTIFY and ORCPT; its queue ID.</summary>
    private static async Task<string> SendWithDsnAsync(int port, string envid = "drain-env-1")
    {
        await using var c = await SmtpTestClient.ConnectAsync(port);
        await c.ReadReplyAsync();
        await c.SendAsync("EHLO client.test\r\n");
        await c.ReadReplyAsync();
        await c.SendAsync($"MAIL FROM:<dsn@example.org> RET=HDRS ENVID={envid}\r\n");
        Assert.StartsWith("250", await c.ReadReplyAsync());
        await c.SendAsync("RCPT TO:<c@example.net> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;orig@example.net\r\n");
        Assert.StartsWith("250", await c.ReadReplyAsync());
        await c.SendAsync("DATA\r\n");
        Assert.StartsWith("354", await c.ReadReplyAsync());
        await c.SendAsync($"Subject: dsn {envid}\r\nMessage-Id: <{envid}@client.test>\r\n\r\nbody\r\n.\r\n");
        var done = await c.ReadReplyAsync();
        const string marker = "250 2.0.0 Ok: queued as ";
        Assert.StartsWith(marker, done);
        return done[marker.Length..].Trim();
    }

    private static Task RelayWaitEmptyAsync(MtaInstance node) =>
        Relay.RelayTests.WaitForEmptyQueueAsync(node, TimeSpan.FromMinutes(3));

    private static string Tail(string log) => string.Join('\n', log.Split('\n').TakeLast(30));
}

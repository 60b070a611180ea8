// redis: tables in running MTAs: postmap -q against the store; one "redis-cli SET" of a virtual
// alias redirecting mail on all three nodes of a cluster without reload; the store going away
// turning RCPT (reject_unlisted_recipient, check_recipient_access) and end of DATA (cleanup's
// virtual alias expansion) into 451 4.3.0 with nothing lost or bounced; and mail flowing again
// once the store is back and the alias seeded again.
using System.Text.RegularExpressions;
using Postfix.Tests.Infrastructure;
using Xunit;

namespace Postfix.Tests.Cluster;

public sealed class RedisTableClusterTests
{
    private static string TempDir() => Directory.CreateTempSubdirectory("redis-cf-").FullName;

    [Fact]
    public async Task PostmapQueriesTheStoreAndRefusesToBuild()
    {
        await using var redis = await RedisServer.StartAsync();
        var dir = TempDir();
        try
        {
            File.WriteAllText(Path.Combine(dir, "main.cf"), $"cluster_store = {redis.Endpoint}\n");
            File.WriteAllText(Path.Combine(dir, "virtual.cf"), "key_format = valias:%s\n");
            await redis.CliAsync("set", "valias:bob@example.com", "alice@example.net");
            Task<Repo.Result> Postmap(params string[] args) =>
                Repo.RunAsync(Repo.Launcher, new[] { "-c", dir, "postmap" }.Concat(args), workDir: dir);

            var found = await Postmap("-q", "Bob@Example.com", "redis:virtual.cf");
            Assert.True(found.ExitCode == 0, found.Stderr);
            Assert.Equal("alice@example.net", found.Stdout.Trim());
            var missing = await Postmap("-q", "nobody@example.com", "redis:virtual.cf");
            Assert.Equal(1, missing.ExitCode);
            Assert.Equal("", missing.Stdout);

            var build = await Postmap("redis:virtual.cf");
            Assert.Equal(1, build.ExitCode);
            Assert.Contains("postmap: fatal: redis:virtual.cf: the table's data lives in the store", build.Stderr);

            await redis.StopAsync();
            var down = await Postmap("-q", "bob@example.com", "redis:virtual.cf");
            Assert.Equal(1, down.ExitCode);
            Assert.Equal("", down.Stdout);
            Assert.Matches(@"^postmap: fatal: redis:virtual\.cf: store 127\.0\.0\.1:\d+ is unreachable", down.Stderr);
            Assert.DoesNotContain("bob", down.Stderr);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public async Task OneSetRedirectsAliasOnEveryNodeAndStoreDownDefersWithNothingLost()
    {
        await using var sink = await SmtpSink.StartAsync();
        var dir = TempDir();
        try
        {
            var cf = Path.Combine(dir, "virtual.cf");
            File.WriteAllText(cf, "key_format = valias:%s\ncache_ttl = 1s\n"); // hosts: main.cf's cluster_store
            await using var cluster = await MtaCluster.StartAsync(3, $"""
                cluster_store_timeout = 2s
                defer_transports =
                relayhost = [127.0.0.1]:{sink.Port}
                smtpd_reject_unlisted_recipient = yes
                virtual_alias_domains = alias.test
                virtual_alias_maps = redis:{cf}
                """);
            var redis = cluster.Store;
            await redis.CliAsync("set", "valias:team@alias.test", "old@dest.test");
            int sent = 0;

            // Every node expands the alias from the store.
            for (int i = 0; i < 3; i++)
            {
                var id = $"<seed-{i}@redis.test>";
                Assert.StartsWith("250", await SendAsync(cluster.Nodes[i], "team@alias.test", id));
                sent++;
                Assert.Equal("old@dest.test", await DeliveredToAsync(sink, id));
            }

            // One SET in the store: each node follows within its cache_ttl, no reload.
            await redis.CliAsync("set", "valias:team@alias.test", "new@dest.test");
            for (int i = 0; i < 3; i++)
            {
                string? target = null;
                for (int attempt = 0; attempt < 60 && target != "new@dest.test"; attempt++)
                {
                    var id = $"<switch-{i}-{attempt}@redis.test>";
                    Assert.StartsWith("250", await SendAsync(cluster.Nodes[i], "team@alias.test", id));
                    sent++;
                    target = await DeliveredToAsync(sink, id);
                    Assert.Contains(target, new[] { "old@dest.test", "new@dest.test" });
                    if (target != "new@dest.test") await Task.Delay(250);
                }
                Assert.Equal("new@dest.test", target);
            }

            // The store goes away: every node defers RCPT for addresses that need the table.
            await redis.StopAsync();
            foreach (var node in cluster.Nodes)
            {
                string reply = "";
                for (int attempt = 0; attempt < 60; attempt++) // a fresh cached answer may serve until cache_ttl ends
                {
                    reply = await RcptAsync(node, "team@alias.test");
                    if (!reply.StartsWith("250")) break;
                    await Task.Delay(250);
                }
                Assert.Equal("451 4.3.0 <team@alias.test>: Temporary lookup failure", reply);
                await LogShowsAsync(node, @"smtpd\[\d+\]: warning: redis:\S+virtual\.cf: store 127\.0\.0\.1:\d+ is unreachable");
            }

            // Nothing lost, nothing bounced: every accepted message reached the sink, queues are empty.
            Assert.True(await Repo.WaitUntilAsync(() => sink.Transactions == sent, TimeSpan.FromSeconds(30), 100));
            foreach (var node in cluster.Nodes)
            {
                Assert.True(await Repo.WaitUntilAsync(() => node.QueueCountAsync().GetAwaiter().GetResult() == 0, TimeSpan.FromSeconds(30), 200));
                Assert.DoesNotContain("status=bounced", node.Maillog);
            }

            // The store is back (empty, as after a crash): seed the alias again and mail flows on every node.
            await redis.RestartAsync();
            await redis.CliAsync("set", "valias:team@alias.test", "back@dest.test");
            for (int i = 0; i < 3; i++)
            {
                string? target = null;
                for (int attempt = 0; attempt < 120 && target != "back@dest.test"; attempt++)
                {
                    var id = $"<back-{i}-{attempt}@redis.test>";
                    var reply = await SendAsync(cluster.Nodes[i], "team@alias.test", id);
                    if (reply.StartsWith("250"))
                    {
                        sent++;
                        target = await DeliveredToAsync(sink, id);
                    }
                    else Assert.StartsWith("451 4.3.0", reply);
                    if (target != "back@dest.test") await Task.Delay(250);
                }
                Assert.Equal("back@dest.test", target);
            }
            Assert.True(await Repo.WaitUntilAsync(() => sink.Transactions == sent, TimeSpan.FromSeconds(30), 100));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public async Task StoreDownDefersCheckRecipientAccessAtRcptAndAliasExpansionAtEndOfData()
    {
        await using var redis = await RedisServer.StartAsync();
        int accessPort = MtaInstance.FreePort();
        await using var mta = MtaInstance.Prepare($"""
            cluster_store = {redis.Endpoint}
            cluster_store_timeout = 2s
            virtual_alias_domains = alias.test
            virtual_alias_maps = redis:virtual.cf
            """,
            masterOptions: "-o smtpd_reject_unlisted_recipient=no",
            masterCfExtra: $"127.0.0.1:{accessPort} inet n - n - - smtpd -o smtpd_recipient_restrictions=check_recipient_access,redis:access.cf");
        File.WriteAllText(Path.Combine(mta.ConfigDir, "virtual.cf"), "key_format = valias:%s\ncache_ttl = 0\n");
        File.WriteAllText(Path.Combine(mta.ConfigDir, "access.cf"), "query_type = hget\nhash_name = access\nkey_format = %s\ncache_ttl = 0\n");
        await redis.CliAsync("set", "valias:team@alias.test", "bob@dest.test");
        await redis.CliAsync("hset", "access", "spam@alias.test", "REJECT go away");
        await mta.StartProcessAsync();
        Assert.True(await Repo.WaitUntilAsync(() => Listening(accessPort), TimeSpan.FromSeconds(30)), "second smtpd never listened");

        // Store up: the access table answers at RCPT, the alias is expanded at end of DATA.
        Assert.Equal("554 5.7.1 <spam@alias.test>: Recipient address rejected: go away", await RcptAsync(mta, "spam@alias.test", accessPort));
        var reply = await SendAsync(mta, "team@alias.test", "<up@redis.test>");
        Assert.StartsWith("250 2.0.0 Ok: queued as ", reply);
        var id = reply["250 2.0.0 Ok: queued as ".Length..].Trim();
        var cat = await mta.PostfixAsync("postcat", "-e", "-q", id);
        Assert.Contains("recipient: bob@dest.test", cat.Stdout);

        await redis.StopAsync();
        Assert.Equal("451 4.3.0 <team@alias.test>: Temporary lookup failure", await RcptAsync(mta, "team@alias.test", accessPort));
        Assert.Equal("451 4.3.0 Error: queue file write error", await SendAsync(mta, "team@alias.test", "<down@redis.test>"));
        Assert.Equal(1, await mta.QueueCountAsync()); // only the message queued while the store was up
        await LogShowsAsync(mta, @"warning: \w+: queue file write error: virtual_alias_maps map lookup problem -- message not accepted, try again later \(redis:\S+virtual\.cf: store 127\.0\.0\.1:\d+ is unreachable\)");
        await LogShowsAsync(mta, @"NOQUEUE: reject: RCPT from \S+: 451 4\.3\.0 <team@alias\.test>: Temporary lookup failure");
        Assert.DoesNotContain("status=bounced", mta.Maillog);

        await redis.RestartAsync();
        await redis.CliAsync("set", "valias:team@alias.test", "carol@dest.test");
        string last = "";
        for (int attempt = 0; attempt < 120 && !last.StartsWith("250"); attempt++)
        {
            last = await SendAsync(mta, "team@alias.test", $"<again-{attempt}@redis.test>");
            if (!last.StartsWith("250")) await Task.Delay(250);
        }
        Assert.StartsWith("250 2.0.0 Ok: queued as ", last);
        cat = await mta.PostfixAsync("postcat", "-e", "-q", last["250 2.0.0 Ok: queued as ".Length..].Trim());
        Assert.Contains("recipient: carol@dest.test", cat.Stdout);
    }

    private static bool Listening(int port)
    {
        try { using var c = new System.Net.Sockets.TcpClient(); c.Connect("127.0.0.1", port); return true; }
        catch (System.Net.Sockets.SocketException) { return false; }
    }

    private static async Task LogShowsAsync(MtaInstance mta, string pattern) =>
        Assert.True(await Repo.WaitUntilAsync(() => Regex.IsMatch(mta.Maillog, pattern), TimeSpan.FromSeconds(10)),
            $"maillog has no line matching {pattern}:\n{mta.Maillog}");

    /// <summary>One message over SMTP; the last reply (250 queued, or the first refusal).</summary>
    private static async Task<string> SendAsync(MtaInstance node, string rcpt, string messageId)
    {
        await using var c = await SmtpTestClient.ConnectAsync(node.Port);
        await c.ReadReplyAsync();
        await c.SendAsync("EHLO client.test\r\n");
        await c.ReadReplyAsync();
        foreach (var command in new[] { "MAIL FROM:<sender@src.test>", $"RCPT TO:<{rcpt}>", "DATA" })
        {
            await c.SendAsync(command + "\r\n");
            var r = await c.ReadReplyAsync();
            if (!r.StartsWith(command == "DATA" ? "354" : "250")) return r;
        }
        await c.SendAsync(SmtpTestClient.DotStuff($"Message-Id: {messageId}\r\nSubject: redis\r\n\r\nbody\r\n") + ".\r\n");
        var done = await c.ReadReplyAsync();
        await c.SendAsync("QUIT\r\n");
        return done;
    }

    private static async Task<string> RcptAsync(MtaInstance node, string rcpt, int? port = null)
    {
        await using var c = await SmtpTestClient.ConnectAsync(port ?? node.Port);
        await c.ReadReplyAsync();
        await c.SendAsync("EHLO client.test\r\n");
        await c.ReadReplyAsync();
        await c.SendAsync("MAIL FROM:<sender@src.test>\r\n");
        Assert.StartsWith("250", await c.ReadReplyAsync());
        await c.SendAsync($"RCPT TO:<{rcpt}>\r\n");
        var reply = await c.ReadReplyAsync();
        await c.SendAsync("QUIT\r\n");
        return reply.TrimEnd();
    }

    /// <summary>The envelope recipient the sink got for <paramref name="messageId"/> (waits, bounded).</summary>
    private static async Task<string> DeliveredToAsync(SmtpSink sink, string messageId)
    {
        string? rcpt = null;
        bool arrived = await Repo.WaitUntilAsync(() => (rcpt = RcptOf(sink, messageId)) is not null, TimeSpan.FromSeconds(30), 100);
        Assert.True(arrived, $"{messageId} never reached the sink");
        return rcpt!;
    }

    private static string? RcptOf(SmtpSink sink, string messageId)
    {
        var dump = File.Exists(sink.DumpFile) ? File.ReadAllText(sink.DumpFile) : "";
        foreach (var transaction in dump.Split("X-Client-Addr: "))
        {
            if (!transaction.Contains($"Message-Id: {messageId}", StringComparison.OrdinalIgnoreCase)) continue;
            var m = Regex.Match(transaction, @"^X-Rcpt-Args: <([^>\r\n]*)>", RegexOptions.Multiline);
            if (m.Success) return m.Groups[1].Value;
        }
        return null;
    }
}

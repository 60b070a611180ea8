// The daemon runs socket completions inline on the runtime's event threads (SocketThreads),
// unless its configuration names redis: at start. A redis: lookup is a synchronous round trip:
// run on an event thread, it could wait for a reply that only that same thread would read. So
// a redis: table that arrives by reload, with completions inline, must be looked up off the
// event threads (ThreadPoolHop): many concurrent sessions whose RCPT and end of DATA each ask
// the store (cache_ttl = 0) all get 250, none a 451 from a lookup timed out.
using Postfix.Tests.Infrastructure;
using Xunit;

namespace Postfix.Tests.Cluster;

public sealed class RedisTableSocketThreadsTests
{
    private const string PoolLine = "socket completions run in the thread pool";

    [Fact]
    public async Task RedisTableAddedByReloadIsLookedUpOffTheSocketEventThreads()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var mta = await MtaInstance.StartAsync("smtpd_reject_unlisted_recipient = yes");
        int threads = Math.Max(1, Environment.ProcessorCount / 2);
        Assert.Contains($"socket completions run inline on {threads} event thread", mta.Maillog);
        Assert.DoesNotContain(PoolLine, mta.Maillog);
        Assert.Equal(threads, EventThreads(mta.ProcessId));

        File.WriteAllText(Path.Combine(mta.ConfigDir, "virtual.cf"),
            $"hosts = {redis.Endpoint}\ntimeout = 2s\nkey_format = valias:%s\ncache_ttl = 0\n");
        await redis.CliAsync("set", "valias:team@alias.test", "bob@dest.test");
        Assert.Equal(0, (await mta.PostfixAsync("postconf", "-e", "virtual_alias_domains = alias.test",
            "virtual_alias_maps = redis:virtual.cf")).ExitCode);
        Assert.Equal(0, (await mta.PostfixAsync("reload")).ExitCode);
        Assert.True(await Repo.WaitUntilAsync(() => mta.Maillog.Contains("reload -- version"), TimeSpan.FromSeconds(10)), mta.Maillog);

        // The reloaded smtpd knows the alias domain (RCPT accepted, not "unknown").
        string first = "";
        for (int attempt = 0; attempt < 40 && !first.StartsWith("250"); attempt++)
        {
            if (attempt > 0) await Task.Delay(250);
            first = await SendAsync(mta, 0, attempt);
        }
        Assert.True(first.StartsWith("250"), $"the reloaded smtpd never accepted mail for the redis: alias: {first}\n{mta.Maillog}");

        const int Sessions = 8, PerSession = 5;
        var replies = await Task.WhenAll(Enumerable.Range(1, Sessions).Select(async s =>
        {
            var mine = new List<string>();
            for (int i = 0; i < PerSession; i++) mine.Add(await SendAsync(mta, s, i));
            return mine;
        }));
        var all = replies.SelectMany(r => r).ToList();
        Assert.True(all.All(r => r.StartsWith("250 2.0.0 Ok: queued as ")),
            "not every message was accepted: " + string.Join(" | ", all.Where(r => !r.StartsWith("250"))) + "\n" + mta.Maillog);
        Assert.DoesNotContain("is unreachable", mta.Maillog);
        Assert.DoesNotContain("timed out", mta.Maillog);

        // Cleanup expanded the alias for each of them (end of DATA asked the store too).
        var id = all[^1]["250 2.0.0 Ok: queued as ".Length..].Trim();
        Assert.Contains("recipient: bob@dest.test", (await mta.PostfixAsync("postcat", "-e", "-q", id)).Stdout);
    }

    [Fact]
    public async Task RedisTableNamedAtStartKeepsCompletionsInThePool()
    {
        await using var redis = await RedisServer.StartAsync();
        var mta = MtaInstance.Prepare("virtual_alias_domains = alias.test\nvirtual_alias_maps = redis:virtual.cf");
        await using var _ = mta;
        File.WriteAllText(Path.Combine(mta.ConfigDir, "virtual.cf"), $"hosts = {redis.Endpoint}\nkey_format = valias:%s\n");
        await mta.StartProcessAsync();
        Assert.True(await Repo.WaitUntilAsync(() => mta.Maillog.Contains(PoolLine), TimeSpan.FromSeconds(10)), mta.Maillog);
        Assert.DoesNotContain("socket completions run inline", mta.Maillog);
        if (Environment.ProcessorCount < 30)
            Assert.Equal(1, EventThreads(mta.ProcessId)); // the runtime's default below 30 CPUs
    }

    /// <summary>The runtime's socket event threads in <paramref name="pid"/> (named ".NET Sockets").</summary>
    private static int EventThreads(int pid) =>
        Directory.GetDirectories($"/proc/{pid}/task")
            .Count(t => File.ReadAllText(Path.Combine(t, "comm")).Trim() == ".NET Sockets");

    private static async Task<string> SendAsync(MtaInstance mta, int session, int n)
    {
        await using var c = await SmtpTestClient.ConnectAsync(mta.Port);
        await c.ReadReplyAsync();
        await c.SendAsync("EHLO client.test\r\n");
        await c.ReadReplyAsync();
        foreach (var command in new[] { "MAIL FROM:<sender@src.test>", "RCPT TO:<team@alias.test>", "DATA" })
        {
            await c.SendAsync(command + "\r\n");
            var r = await c.ReadReplyAsync();
            if (!r.StartsWith(command == "DATA" ? "354" : "250")) return r.TrimEnd();
        }
        await c.SendAsync($"Message-Id: <{session}-{n}@threads.test>\r\nSubject: threads\r\n\r\nbody\r\n.\r\n");
        var done = await c.ReadReplyAsync();
        await c.SendAsync("QUIT\r\n");
        return done.TrimEnd();
    }
}

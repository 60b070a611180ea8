// postqueue -i and -s against a real MTA: mail to a next hop that is down
// waits in the deferred queue with a long backoff; the smtp-sink comes up;
// -i ID sends exactly that message now, -s SITE exactly that site's mail, the
// rest stays deferred untouched. Then the error cases: malformed ID or site,
// bad options, and the mail system down.
using System.Text.RegularExpressions;
using Postfix.Tests.Infrastructure;
using Xunit;

namespace Postfix.Tests.Host;

public sealed class PostqueueFlushTests
{
    /// <summary>All mail goes to [127.0.0.1]:<paramref name="port"/>; a failed attempt waits 300 s.</summary>
    private static Task<MtaInstance> StartRelayingToAsync(int port) => MtaInstance.StartAsync($"""
        defer_transports =
        relayhost = [127.0.0.1]:{port}
        minimal_backoff_time = 300s
        maximal_backoff_time = 4000s
        """);

    private static async Task<string> QueueOneAsync(MtaInstance mta, string from, string to, string subject)
    {
        await using var c = await SmtpTestClient.ConnectAsync(mta.Port);
        await c.ReadReplyAsync();
        await c.SendAsync("EHLO admin.test\r\n");
        await c.ReadReplyAsync();
        return await c.SendMessageAsync(from, to, $"Subject: {subject}\r\n\r\nbody\r\n");
    }

    private static int Sent(MtaInstance mta, string id) =>
        Regex.Matches(mta.Maillog, $@"postfix/\w+\[\d+\]: {id}: to=<[^>]+>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:\d+, .*status=sent").Count;

    [Fact]
    public async Task FlushByIdSendsOnlyThatMessage()
    {
        int port = MtaInstance.FreePort();
        await using var mta = await StartRelayingToAsync(port);
        var ids = await PostsuperTests.QueueMessagesAsync(mta, 3);
        await PostsuperTests.WaitAllDeferredAsync(mta, 3);
        Assert.Matches($@"{ids[1]}: to=<rcpt1@example\.net>, relay=none, .*status=deferred \(connect to 127\.0\.0\.1", mta.Maillog);
        var before = ids.Select(id => PostsuperTests.Activations(mta, id)).ToArray();

        await using var sink = await SmtpSink.StartAsync("127.0.0.1", port);
        var r = await mta.PostfixAsync("postqueue", "-i", ids[1]);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal("", r.Stdout);
        Assert.Contains("postqueue: Flushed: 1 message", r.Stderr);

        Assert.True(await Repo.WaitUntilAsync(() => mta.Maillog.Contains($"{ids[1]}: removed"), TimeSpan.FromSeconds(30)), mta.Maillog);
        Assert.Equal(1, Sent(mta, ids[1]));
        Assert.Equal(1, sink.Transactions);
        Assert.Equal(["rcpt1@example.net"], sink.RcptArgs.ToArray());
        var left = await PostsuperTests.QueuesAsync(mta);
        Assert.Equal(new Dictionary<string, string> { [ids[0]] = "deferred", [ids[2]] = "deferred" }, left);
        // The others were not attempted again: still one activation each, nothing sent.
        Assert.Equal(before[0], PostsuperTests.Activations(mta, ids[0]));
        Assert.Equal(before[2], PostsuperTests.Activations(mta, ids[2]));
        Assert.Equal(0, Sent(mta, ids[0]) + Sent(mta, ids[2]));

        // Delivered meanwhile (or never queued): Postfix exits 0; we say why nothing happened.
        var again = await mta.PostfixAsync("postqueue", "-i", ids[1]);
        Assert.Equal(0, again.ExitCode);
        Assert.Contains($"postqueue: warning: {ids[1]}: not in the deferred queue", again.Stderr);
        Assert.Contains("postqueue: Flushed: 0 messages", again.Stderr);
        var hold = await mta.PostfixAsync("postsuper", "-h", ids[0]);
        Assert.Equal(0, hold.ExitCode);
        var held = await mta.PostfixAsync("postqueue", "-i", ids[0]);
        Assert.Equal(0, held.ExitCode);
        Assert.Contains($"postqueue: warning: {ids[0]}: not in the deferred queue (it is in the hold queue)", held.Stderr);
        Assert.Equal(before[0], PostsuperTests.Activations(mta, ids[0]));

        // -f reports its count too, and sends the rest (not the held one).
        var all = await mta.PostfixAsync("postqueue", "-f");
        Assert.Equal(0, all.ExitCode);
        Assert.Equal("", all.Stdout);
        Assert.Contains("postqueue: Flushed: 1 message", all.Stderr);
        Assert.True(await Repo.WaitUntilAsync(() => Sent(mta, ids[2]) == 1, TimeSpan.FromSeconds(30)), mta.Maillog);
        Assert.Equal(0, Sent(mta, ids[0]));
    }

    [Fact]
    public async Task FlushBySiteSendsOnlyThatSitesMail()
    {
        int port = MtaInstance.FreePort();
        await using var mta = await StartRelayingToAsync(port);
        var alpha = new[]
        {
            await QueueOneAsync(mta, "a@example.org", "one@alpha.test", "a1"),
            await QueueOneAsync(mta, "a@example.org", "two@Alpha.Test", "a2"),
        };
        var beta = new[]
        {
            await QueueOneAsync(mta, "a@example.org", "one@beta.test", "b1"),
            await QueueOneAsync(mta, "a@example.org", "alpha.test@beta.test", "b2"),
        };
        await PostsuperTests.WaitAllDeferredAsync(mta, 4);
        var betaBefore = beta.Select(id => PostsuperTests.Activations(mta, id)).ToArray();

        // Nothing queued for the site: fine, nothing flushed.
        var none = await mta.PostfixAsync("postqueue", "-s", "gamma.test");
        Assert.Equal(0, none.ExitCode);
        Assert.Contains("postqueue: Flushed: 0 messages", none.Stderr);

        await using var sink = await SmtpSink.StartAsync("127.0.0.1", port);
        var r = await mta.PostfixAsync("postqueue", "-s", "ALPHA.test");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal("", r.Stdout);
        Assert.Contains("postqueue: Flushed: 2 messages", r.Stderr);
        Assert.True(await Repo.WaitUntilAsync(() => alpha.All(id => Sent(mta, id) == 1), TimeSpan.FromSeconds(30)), mta.Maillog);
        Assert.Contains("flush: retrying deferred mail for ALPHA.test: 2 messages", mta.Maillog);

        var left = await PostsuperTests.QueuesAsync(mta);
        Assert.Equal(beta.Order(StringComparer.Ordinal), left.Keys.Order(StringComparer.Ordinal));
        Assert.All(left.Values, q => Assert.Equal("deferred", q));
        Assert.Equal(betaBefore, beta.Select(id => PostsuperTests.Activations(mta, id)).ToArray());
        Assert.Equal(2, sink.Transactions);
        Assert.Equal(["one@alpha.test", "two@Alpha.Test"], sink.RcptArgs.Order(StringComparer.Ordinal).ToArray());
    }

    [Fact]
    public async Task BadArgumentsAndMailSystemDown()
    {
        await using var mta = await MtaInstance.StartAsync();
        var ids = await PostsuperTests.QueueMessagesAsync(mta, 1);

        var badId = await mta.PostfixAsync("postqueue", "-i", "not-an-id");
        Assert.Equal(2, badId.ExitCode);
        Assert.Contains("postqueue: fatal: Cannot flush queue ID - invalid name: \"not-an-id\"", badId.Stderr);
        foreach (var site in new[] { "", "bad_site!", "-leading.example", "1.2.3.4", "[1.2.3]", "trailing.dot." })
        {
            var bad = await mta.PostfixAsync("postqueue", "-s", site);
            Assert.True(bad.ExitCode == 2, $"-s '{site}': {bad.ExitCode} {bad.Stderr}");
            Assert.Contains($"postqueue: fatal: Cannot flush mail queue - invalid destination: \"{site}\"", bad.Stderr);
        }
        var literal = await mta.PostfixAsync("postqueue", "-s", "[127.0.0.1]");
        Assert.True(literal.ExitCode == 0, literal.Stderr);
        Assert.Contains("postqueue: Flushed: 0 messages", literal.Stderr);

        foreach (var args in new[] { new[] { "-x" }, ["-i"], ["-s"], ["-f", "-p"], ["-i", ids[0], "-s", "example.net"], ["-p", "extra"], [] })
        {
            var u = await mta.PostfixAsync(["postqueue", .. args]);
            Assert.True(u.ExitCode == 2, $"postqueue {string.Join(' ', args)}: {u.ExitCode} {u.Stderr}");
            Assert.Contains("usage: postqueue -f | postqueue -i queueid", u.Stderr);
        }

        await mta.StopAsync();
        foreach (var args in new[] { new[] { "-i", ids[0] }, ["-s", "example.net"], ["-f"] })
        {
            var down = await mta.PostfixAsync(["postqueue", .. args]);
            Assert.Equal(1, down.ExitCode);
            Assert.Contains("postqueue: fatal: Cannot flush mail queue - mail system is down", down.Stderr);
            Assert.DoesNotContain("Flushed", down.Stderr);
        }
        // Malformed arguments are still usage errors, checked before anything else.
        Assert.Equal(2, (await mta.PostfixAsync("postqueue", "-i", "zz")).ExitCode);
        // Listings still work offline.
        Assert.Contains(ids[0], (await mta.PostfixAsync("postqueue", "-p")).Stdout);
    }
}

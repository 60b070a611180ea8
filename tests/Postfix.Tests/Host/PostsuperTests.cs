// postsuper(1) driven as an operator would, against a real MTA: hold, release,
// delete and requeue through the running master, and delete/hold with the
// master stopped. The fixture's defer_transports keeps mail in the queue.
using System.Text.Json;
using System.Text.RegularExpressions;
using Postfix.Tests.Infrastructure;
using Xunit;

namespace Postfix.Tests.Host;

public sealed class PostsuperTests
{
    internal static async Task<List<string>> QueueMessagesAsync(MtaInstance mta, int n, string tag = "msg")
    {
        var ids = new List<string>();
        await using var c = await SmtpTestClient.ConnectAsync(mta.Port);
        await c.ReadReplyAsync();
        await c.SendAsync("EHLO admin.test\r\n");
        await c.ReadReplyAsync();
        for (int i = 0; i < n; i++)
            ids.Add(await c.SendMessageAsync($"sender{i}@example.org", $"rcpt{i}@example.net", $"Subject: {tag} {i}\r\n\r\nbody {i}\r\n"));
        return ids;
    }

    /// <summary>queue_name per queue ID, from postqueue -j.</summary>
    internal static async Task<Dictionary<string, string>> QueuesAsync(MtaInstance mta)
    {
        var r = await mta.PostfixAsync("postqueue", "-j");
        Assert.True(r.ExitCode == 0, r.Stderr);
        return r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => JsonDocument.Parse(l).RootElement)
            .ToDictionary(e => e.GetProperty("queue_id").GetString()!, e => e.GetProperty("queue_name").GetString()!);
    }

    internal static async Task WaitAllDeferredAsync(MtaInstance mta, int n)
    {
        Dictionary<string, string> q = [];
        var sw = System.Diagnostics.Stopwatch.StartNew();
        while (sw.Elapsed < TimeSpan.FromSeconds(30))
        {
            q = await QueuesAsync(mta);
            if (q.Count == n && q.Values.All(v => v == "deferred")) return;
            await Task.Delay(100);
        }
        Assert.Fail($"queue did not settle to {n} deferred: {string.Join(", ", q.Select(kv => $"{kv.Key}={kv.Value}"))}");
    }

    /// <summary>How often qmgr activated the message: its "ID: from=&lt;...&gt;" lines.</summary>
    internal static int Activations(MtaInstance mta, string id) =>
        Regex.Matches(mta.Maillog, $@"postfix/qmgr\[\d+\]: {id}: from=<").Count;

    [Fact]
    public async Task HoldReleaseDeleteAndRequeueThroughTheMaster()
    {
        await using var mta = await MtaInstance.StartAsync();
        var ids = await QueueMessagesAsync(mta, 3);
        await WaitAllDeferredAsync(mta, 3);
        var (a, b, c) = (ids[0], ids[1], ids[2]);

        var hold = await mta.PostfixAsync("postsuper", "-h", a);
        Assert.Equal(0, hold.ExitCode);
        Assert.Contains($"postsuper: {a}: placed on hold", hold.Stderr);
        Assert.Contains("postsuper: Placed on hold: 1 message", hold.Stderr);
        var p = await mta.PostfixAsync("postqueue", "-p");
        Assert.Contains($"{a}!", p.Stdout);
        Assert.DoesNotContain($"{b}!", p.Stdout);
        Assert.Equal("hold", (await QueuesAsync(mta))[a]);

        // Held mail is never activated, not even by a flush.
        int heldBefore = Activations(mta, a), otherBefore = Activations(mta, b);
        Assert.Equal(0, (await mta.PostfixAsync("postqueue", "-f")).ExitCode);
        Assert.True(await Repo.WaitUntilAsync(() => Activations(mta, b) > otherBefore, TimeSpan.FromSeconds(20)), mta.Maillog);
        Assert.Equal(heldBefore, Activations(mta, a));
        Assert.Equal("hold", (await QueuesAsync(mta))[a]);

        var release = await mta.PostfixAsync("postsuper", "-H", a);
        Assert.Equal(0, release.ExitCode);
        Assert.Contains($"postsuper: {a}: released from hold", release.Stderr);
        Assert.Contains("postsuper: Released from hold: 1 message", release.Stderr);
        Assert.True(await Repo.WaitUntilAsync(() => Activations(mta, a) > heldBefore, TimeSpan.FromSeconds(20)), mta.Maillog);
        Assert.NotEqual("hold", (await QueuesAsync(mta))[a]);

        var del = await mta.PostfixAsync("postsuper", "-d", b);
        Assert.Equal(0, del.ExitCode);
        Assert.Contains($"postsuper: {b}: removed", del.Stderr);
        Assert.Contains("postsuper: Deleted: 1 message", del.Stderr);
        Assert.Equal(2, await mta.QueueCountAsync());
        Assert.Contains($"postfix/postsuper[", mta.Maillog);

        await WaitAllDeferredAsync(mta, 2);
        int aBefore = Activations(mta, a), cBefore = Activations(mta, c);
        var requeue = await mta.PostfixAsync("postsuper", "-r", "ALL");
        Assert.Equal(0, requeue.ExitCode);
        Assert.Contains("postsuper: Requeued: 2 messages", requeue.Stderr);
        Assert.True(await Repo.WaitUntilAsync(() => Activations(mta, a) > aBefore && Activations(mta, c) > cBefore, TimeSpan.FromSeconds(20)),
            mta.Maillog);
        // defer_transports sends them back to the deferred queue.
        await WaitAllDeferredAsync(mta, 2);

        var all = await mta.PostfixAsync("postsuper", "-d", "ALL");
        Assert.Equal(0, all.ExitCode);
        Assert.Contains("postsuper: Deleted: 2 messages", all.Stderr);
        Assert.Equal(0, await mta.QueueCountAsync());
        Assert.Contains("Mail queue is empty", (await mta.PostfixAsync("postqueue", "-p")).Stdout);
    }

    [Fact]
    public async Task IdsFromStdinQueueNamesAndUnknownIds()
    {
        await using var mta = await MtaInstance.StartAsync();
        var ids = await QueueMessagesAsync(mta, 3);
        await WaitAllDeferredAsync(mta, 3);

        // "-h ALL hold" finds nothing: the named queue narrows ALL.
        var none = await mta.PostfixAsync("postsuper", "-h", "ALL", "hold");
        Assert.Equal(0, none.ExitCode);
        Assert.DoesNotContain("Placed on hold", none.Stderr);

        var hold = await Repo.RunAsync(Repo.Launcher, ["-c", mta.ConfigDir, "postsuper", "-h", "-"], stdin: $"{ids[0]}\n{ids[1]}\n");
        Assert.Equal(0, hold.ExitCode);
        Assert.Contains("postsuper: Placed on hold: 2 messages", hold.Stderr);

        // Only held mail is in the hold queue: "-d ALL hold" leaves the third message.
        var del = await mta.PostfixAsync("postsuper", "-d", "ALL", "hold");
        Assert.Equal(0, del.ExitCode);
        Assert.Contains("postsuper: Deleted: 2 messages", del.Stderr);
        var left = await QueuesAsync(mta);
        Assert.Equal([ids[2]], left.Keys.ToArray());

        var unknown = await mta.PostfixAsync("postsuper", "-d", "0123456789AB");
        Assert.Equal(0, unknown.ExitCode);
        Assert.Contains("postsuper: warning: 0123456789AB: no such file or directory", unknown.Stderr);
        Assert.DoesNotContain("Deleted", unknown.Stderr);
        var bad = await mta.PostfixAsync("postsuper", "-d", "not-an-id");
        Assert.Equal(0, bad.ExitCode);
        Assert.Contains("postsuper: warning: invalid mail queue id: not-an-id", bad.Stderr);

        var release = await mta.PostfixAsync("postsuper", "-H", ids[2]);
        Assert.Equal(0, release.ExitCode);
        Assert.Contains($"warning: {ids[2]}: not in the hold queue", release.Stderr);
        Assert.Equal(1, await mta.QueueCountAsync());

        Assert.Equal(2, (await mta.PostfixAsync("postsuper", "-Q", ids[2])).ExitCode);
        Assert.Equal(2, (await mta.PostfixAsync("postsuper", "-d")).ExitCode);
        var dir = await mta.PostfixAsync("postsuper", "-d", "ALL", "nosuchqueue");
        Assert.Equal(1, dir.ExitCode);
        Assert.Contains("postsuper: fatal: invalid directory name: nosuchqueue", dir.Stderr);
        Assert.Equal(1, await mta.QueueCountAsync());
    }

    [Fact]
    public async Task WorksOfflineAndHoldSurvivesRestart()
    {
        await using var mta = await MtaInstance.StartAsync();
        var ids = await QueueMessagesAsync(mta, 3);
        await WaitAllDeferredAsync(mta, 3);
        await mta.StopAsync();
        Assert.Equal(1, (await mta.PostfixAsync("status")).ExitCode);

        var del = await mta.PostfixAsync("postsuper", "-d", ids[0]);
        Assert.True(del.ExitCode == 0, del.Stderr);
        Assert.Contains($"postsuper: {ids[0]}: removed", del.Stderr);
        Assert.Contains("postsuper: Deleted: 1 message", del.Stderr);
        var hold = await mta.PostfixAsync("postsuper", "-h", ids[1]);
        Assert.True(hold.ExitCode == 0, hold.Stderr);
        Assert.Contains("postsuper: Placed on hold: 1 message", hold.Stderr);
        Assert.Equal(2, await mta.QueueCountAsync());

        var cat = await mta.PostfixAsync("postcat", "-q", ids[2]);
        Assert.True(cat.ExitCode == 0, cat.Stderr);
        Assert.Contains($"*** ENVELOPE RECORDS deferred/{ids[2]} ***", cat.Stdout);
        Assert.Contains("sender: sender2@example.org", cat.Stdout);
        Assert.Contains("Subject: msg 2", cat.Stdout);
        var gone = await mta.PostfixAsync("postcat", "-q", ids[0]);
        Assert.Equal(1, gone.ExitCode);
        Assert.Contains($"postcat: fatal: open queue file {ids[0]}: No such file or directory", gone.Stderr);

        // The hold is durable: after a restart the message is still held and never activated.
        int before = Activations(mta, ids[1]);
        await mta.StartProcessAsync();
        var q = await QueuesAsync(mta);
        Assert.Equal(2, q.Count);
        Assert.Equal("hold", q[ids[1]]);
        int other = Activations(mta, ids[2]);
        Assert.Equal(0, (await mta.PostfixAsync("postqueue", "-f")).ExitCode);
        Assert.True(await Repo.WaitUntilAsync(() => Activations(mta, ids[2]) > other, TimeSpan.FromSeconds(20)), mta.Maillog);
        Assert.Equal(before, Activations(mta, ids[1]));
    }
}

// Every message acknowledged with 250 survives a SIGKILL of the MTA, byte for
// byte: the queue store is opened after the crash exactly as a restart does,
// and the restarted daemon reports the same count.
using Postfix.Core.Queue;
using Postfix.Queue.Store;
using Postfix.Tests.Infrastructure;
using Xunit;

namespace Postfix.Tests.Queue;

public sealed class DurabilityTests
{
    [Fact]
    public async Task AcknowledgedMessagesSurviveSigkillByteIdentical()
    {
        await using var mta = await MtaInstance.StartAsync();
        const int n = 300;
        var sent = new Dictionary<string, string>();
        // Several concurrent sessions so group commit is exercised while we kill.
        var tasks = Enumerable.Range(0, 6).Select(async s =>
        {
            await using var c = await SmtpTestClient.ConnectAsync(mta.Port);
            await c.ReadReplyAsync();
            await c.SendAsync("EHLO durability.test\r\n");
            await c.ReadReplyAsync();
            var mine = new List<(string, string)>();
            for (int i = 0; i < n / 6; i++)
            {
                var body = $"Subject: msg {s}-{i}\r\nX-Seq: {s}-{i}\r\n\r\n{new string((char)('a' + i % 26), 100 + i * 7)}\r\n.leading dot line {i}\r\n";
                var id = await c.SendMessageAsync("a@example.org", $"r{s}x{i}@example.net", body);
                mine.Add((id, body));
            }
            return mine;
        }).ToList();
        foreach (var t in tasks)
            foreach (var (id, body) in await t)
                sent.Add(id, body);
        Assert.Equal(n, sent.Count);

        mta.Kill();

        // Recover the queue exactly as the daemon does on start, and compare bytes.
        await using (var store = await QueueStore.OpenAsync(mta.QueueDir, 10_240_000))
        {
            Assert.Equal(n, (int)store.TotalCount);
            foreach (var (idText, body) in sent)
            {
                Assert.True(QueueId.TryParse(idText, out var id));
                Assert.True(store.TryGet(id, out var entry), $"acknowledged message {idText} missing after SIGKILL");
                var m = await store.ReadAsync(entry);
                Assert.NotNull(m);
                var content = System.Text.Encoding.UTF8.GetString(m!.Content.Span);
                Assert.StartsWith("Received: from durability.test (unknown [127.0.0.1])", content);
                Assert.EndsWith("\r\n" + body, content);
                Assert.Equal("a@example.org", m.Sender);
            }
        }

        await mta.StartProcessAsync();
        Assert.Equal(n, await mta.QueueCountAsync());
        // A clean stop exits 0 and keeps everything too.
        await mta.StopAsync();
        await mta.StartProcessAsync();
        Assert.Equal(n, await mta.QueueCountAsync());
    }

    [Fact]
    public async Task QueueIdsStayUniqueAcrossRestart()
    {
        await using var mta = await MtaInstance.StartAsync();
        var ids = new HashSet<string>();
        for (int round = 0; round < 2; round++)
        {
            await using (var c = await SmtpTestClient.ConnectAsync(mta.Port))
            {
                await c.ReadReplyAsync();
                for (int i = 0; i < 20; i++)
                    Assert.True(ids.Add(await c.SendMessageAsync("a@example.org", "b@example.net", $"Subject: {round}/{i}\r\n\r\nx\r\n")));
            }
            mta.Kill();
            await mta.StartProcessAsync();
        }
        Assert.Equal(40, await mta.QueueCountAsync());
    }
}

// Postfix's own QMQP load generator (qmqp-source, which exits non-zero on any
// reply but K) against our qmqpd: every message acknowledged, each queued
// exactly once, Postfix's log lines for each; and postfix reload changing
// qmqpd_authorized_clients for new sessions.
using System.Text.RegularExpressions;
using Postfix.Tests.Infrastructure;
using Xunit;
using static Postfix.Tests.Qmqp.QmqpPacket;

namespace Postfix.Tests.Qmqp;

public sealed class QmqpSourceTests
{
    [Fact]
    public async Task QmqpSource2000MessagesInTenSessionsAllQueuedOnce()
    {
        int qport = MtaInstance.FreePort();
        await using var mta = await MtaInstance.StartAsync("qmqpd_authorized_clients = 127.0.0.1",
            masterCfExtra: $"127.0.0.1:{qport} inet n - n - - qmqpd");
        const int n = 2000;
        var r = await Repo.RunAsync(Repo.Which("qmqp-source"),
            ["-s", "10", "-m", n.ToString(), "-l", "2048", "-f", "a@example.org", "-t", "b@example.net", $"127.0.0.1:{qport}"],
            TimeSpan.FromMinutes(5));
        Assert.True(r.ExitCode == 0, $"qmqp-source failed: {r.Stderr}");
        // Several recipients per message as well (qmqp-source numbers them: 0b@..., 1b@..., 2b@...).
        r = await Repo.RunAsync(Repo.Which("qmqp-source"),
            ["-s", "5", "-m", "100", "-r", "3", "-f", "a@example.org", "-t", "b@example.net", $"127.0.0.1:{qport}"],
            TimeSpan.FromMinutes(2));
        Assert.True(r.ExitCode == 0, $"qmqp-source -r 3 failed: {r.Stderr}");

        Assert.Equal(n + 100, await mta.QueueCountAsync());

        // Exactly once: one queue ID per message, each with its client=, cleanup and qmgr line.
        string log = "";
        await Repo.WaitUntilAsync(() => Regex.Matches(log = mta.Maillog, @"qmgr\[\d+\]: [0-9A-F]+: from=<a@example\.org>").Count >= n + 100,
            TimeSpan.FromSeconds(60), 200);
        var ids = Regex.Matches(log, @"postfix/qmqpd\[\d+\]: ([0-9A-F]+): client=unknown\[127\.0\.0\.1\]")
            .Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(n + 100, ids.Count);
        Assert.Equal(n + 100, ids.Distinct().Count());
        Assert.Equal(n + 100, Regex.Matches(log, @"postfix/cleanup\[\d+\]: [0-9A-F]+: message-id=<\d+@").Count);
        Assert.Equal(n, Regex.Matches(log, @"postfix/qmgr\[\d+\]: [0-9A-F]+: from=<a@example\.org>, size=\d+, nrcpt=1 \(queue active\)").Count);
        Assert.Equal(100, Regex.Matches(log, @"postfix/qmgr\[\d+\]: [0-9A-F]+: from=<a@example\.org>, size=\d+, nrcpt=3 \(queue active\)").Count);
        Assert.Equal(n + 100, Regex.Matches(log, @"postfix/qmqpd\[\d+\]: connect from unknown\[127\.0\.0\.1\]").Count);
        Assert.True(await Repo.WaitUntilAsync(
            () => Regex.Matches(mta.Maillog, @"postfix/qmqpd\[\d+\]: disconnect from unknown\[127\.0\.0\.1\]").Count == n + 100,
            TimeSpan.FromSeconds(10)));
        Assert.DoesNotMatch(@"qmqpd\[\d+\]: .*(warning|lost connection|timeout)", mta.Maillog);
    }

    [Fact]
    public async Task ReloadAuthorizesNewSessions()
    {
        int qport = MtaInstance.FreePort();
        await using var mta = await MtaInstance.StartAsync(masterCfExtra: $"127.0.0.1:{qport} inet n - n - - qmqpd -o qmqpd_error_delay=0s");
        var packet = Build("Subject: reload\n\nx\n", "a@example.org", "b@example.net");
        using (var w = await QmqpWire.OpenAsync(qport))
        {
            await w.SendAsync(packet);
            Assert.Equal("DError: unknown[127.0.0.1] is not authorized to use this service", await w.ReadReplyAsync());
        }

        File.AppendAllText(Path.Combine(mta.ConfigDir, "main.cf"), "qmqpd_authorized_clients = 127.0.0.1\n");
        var reload = await mta.PostfixAsync("reload");
        Assert.True(reload.ExitCode == 0, reload.Stderr);
        Assert.True(await Repo.WaitUntilAsync(() => mta.Maillog.Contains("reload -- version"), TimeSpan.FromSeconds(10)));

        using (var w = await QmqpWire.OpenAsync(qport))
        {
            await w.SendAsync(packet);
            Assert.StartsWith("KOk: queued as ", await w.ReadReplyAsync());
        }
        Assert.Equal(1, await mta.QueueCountAsync());
    }
}

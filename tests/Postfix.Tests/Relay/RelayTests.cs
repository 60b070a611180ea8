// The MTA as an edge relay, end to end with real peers: smtp-source -> ours ->
// smtp-sink. Every message arrives exactly once, the queue empties, and the
// log lines are Postfix's.
using System.Text.RegularExpressions;
using Postfix.Tests.Infrastructure;
using Xunit;

namespace Postfix.Tests.Relay;

public sealed class RelayTests
{
    internal static async Task WaitForEmptyQueueAsync(MtaInstance mta, TimeSpan bound)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        int count = -1;
        while (sw.Elapsed < bound)
        {
            count = await mta.QueueCountAsync();
            if (count == 0) return;
            await Task.Delay(500);
        }
        Assert.Fail($"queue still holds {count} messages after {bound}; log tail:\n{string.Join('\n', mta.Maillog.Split('\n').TakeLast(20))}");
    }

    [Fact]
    public async Task SmtpSource20000ThroughOursToSmtpSinkEachDeliveredOnce()
    {
        await using var sink = await SmtpSink.StartAsync();
        await using var mta = await MtaInstance.StartAsync($"""
            defer_transports =
            relayhost = [127.0.0.1]:{sink.Port}
            """);
        const int n = 20000;
        var r = await Repo.RunAsync(Repo.Which("smtp-source"),
            ["-s", "20", "-m", n.ToString(), "-l", "4096", "-f", "a@example.org", "-t", "b@example.net", $"127.0.0.1:{mta.Port}"],
            TimeSpan.FromMinutes(5));
        Assert.True(r.ExitCode == 0, r.Stderr);
        await WaitForEmptyQueueAsync(mta, TimeSpan.FromMinutes(5));
        Assert.Equal(n, sink.Transactions);
        Assert.Equal(n, sink.MessageIds.Count);

        var log = mta.Maillog;
        var sent = Regex.Matches(log,
            @"postfix/smtp\[\d+\]: ([0-9A-F]{12}): to=<b@example\.net>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:\d+, delay=[\d.]+, delays=[\d.]+/[\d.]+/[\d.]+/[\d.]+, dsn=2\.0\.0, status=sent \(250 [^)]*\)");
        Assert.Equal(n, sent.Select(m => m.Groups[1].Value).Distinct().Count());
        Assert.Equal(n, Regex.Matches(log, @"postfix/qmgr\[\d+\]: [0-9A-F]{12}: removed").Count);
    }

    [Fact]
    public async Task HardRejectProducesOneRfc3464BounceToTheSender()
    {
        await using var sink = await SmtpSink.StartAsync("127.0.0.1", 0, "-f", "RCPT");
        await using var mta = await MtaInstance.StartAsync($"""
            defer_transports = local
            relayhost = [127.0.0.1]:{sink.Port}
            """);
        string id;
        await using (var c = await SmtpTestClient.ConnectAsync(mta.Port))
        {
            await c.ReadReplyAsync();
            await c.SendAsync("EHLO client.test\r\n");
            await c.ReadReplyAsync();
            // The sender is local (mydestination) and local(8) is deferred, so the notice stays here where the test can read it.
            await c.SendAsync("MAIL FROM:<alice@mx.test.example> ENVID=env123\r\n");
            await c.ReadReplyAsync();
            id = await SendRcptDataAsync(c, "nobody@example.net", "Subject: will bounce\r\n\r\nbody\r\n");
        }
        await WaitForLogAsync(mta, "sender non-delivery notification");
        var log = await WaitForLogAsync(mta, $"{id}: removed"); // qmgr logs it just after bounce(8)
        Assert.Matches($@"{id}: to=<nobody@example\.net>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:\d+, .*dsn=5\.\d\.\d+, status=bounced \(host 127\.0\.0\.1\[127\.0\.0\.1\] said: 5\d\d ", log);
        Assert.Matches($@"postfix/bounce\[\d+\]: {id}: sender non-delivery notification: [0-9A-F]{{12}}", log);
        Assert.Matches($@"postfix/qmgr\[\d+\]: {id}: removed", log);

        await mta.StopAsync();
        // Read the notice from the queue (defer_transports = local: it waits deferred).
        await using var store = await Postfix.Queue.Store.QueueStore.OpenAsync(mta.QueueDir, 10_240_000);
        var notices = new List<Postfix.Core.Queue.QueuedMessage>();
        foreach (var e in store.Entries) notices.Add((await store.ReadAsync(e))!);
        var dsn = Assert.Single(notices);
        Assert.Equal("", dsn.Sender);
        Assert.Equal("alice@mx.test.example", Assert.Single(dsn.Recipients).Address);
        var mime = MimeKit.MimeMessage.Load(new MemoryStream(dsn.Content.ToArray()));
        var report = Assert.IsType<MimeKit.MultipartReport>(mime.Body);
        Assert.Equal("delivery-status", report.ReportType);
        var status = Assert.IsType<MimeKit.MessageDeliveryStatus>(report[1]);
        Assert.Equal("env123", status.StatusGroups[0]["Original-Envelope-Id"]);
        var rcpt = status.StatusGroups[1];
        Assert.Equal("rfc822; nobody@example.net", rcpt["Final-Recipient"]);
        Assert.Equal("failed", rcpt["Action"]);
        Assert.StartsWith("5.", rcpt["Status"]);
        Assert.StartsWith("smtp; 5", rcpt["Diagnostic-Code"]);
    }

    internal static async Task<string> SendRcptDataAsync(SmtpTestClient c, string rcpt, string content)
    {
        await c.SendAsync($"RCPT TO:<{rcpt}>\r\nDATA\r\n");
        Assert.StartsWith("250", await c.ReadReplyAsync());
        Assert.StartsWith("354", await c.ReadReplyAsync());
        await c.SendAsync(SmtpTestClient.DotStuff(content) + ".\r\n");
        var done = await c.ReadReplyAsync();
        Assert.StartsWith("250 2.0.0 Ok: queued as ", done);
        return done["250 2.0.0 Ok: queued as ".Length..].Trim();
    }

    internal static async Task<string> WaitForLogAsync(MtaInstance mta, string text, int seconds = 30)
    {
        await Repo.WaitUntilAsync(() => mta.Maillog.Contains(text), TimeSpan.FromSeconds(seconds), 100);
        var log = mta.Maillog;
        Assert.True(log.Contains(text), $"maillog lacks \"{text}\":\n{log}");
        return log;
    }
}

// delay_warning_time: a message still deferred after that long gets one
// "Delayed Mail (still being retried)" notice (RFC 3464 Action: delayed).
using Postfix.Tests.Infrastructure;
using Xunit;

namespace Postfix.Tests.Relay;

public sealed class DelayWarningTests
{
    [Fact]
    public async Task DeferredMessageGetsOneDelayNotice()
    {
        await using var sink = await SmtpSink.StartAsync("127.0.0.1", 0, "-r", "RCPT");
        await using var mta = await MtaInstance.StartAsync($"""
            defer_transports = local
            relayhost = [127.0.0.1]:{sink.Port}
            delay_warning_time = 1s
            minimal_backoff_time = 1s
            maximal_backoff_time = 2s
            """);
        string id;
        await using (var c = await SmtpTestClient.ConnectAsync(mta.Port))
        {
            await c.ReadReplyAsync();
            await c.SendAsync("MAIL FROM:<alice@mx.test.example>\r\n");
            await c.ReadReplyAsync();
            id = await RelayTests.SendRcptDataAsync(c, "slow@example.net", "Subject: patience\r\n\r\nbody\r\n");
        }
        var log = await RelayTests.WaitForLogAsync(mta, $"{id}: delayed mail notification: ", 30);
        // Retries go on, but the notice is sent once.
        await Repo.WaitUntilAsync(() => System.Text.RegularExpressions.Regex.Matches(mta.Maillog, $@"{id}: to=<slow@example\.net>.*status=deferred").Count >= 3,
            TimeSpan.FromSeconds(20), 200);
        log = mta.Maillog;
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(log, $"{id}: delayed mail notification: "));

        await mta.StopAsync();
        await using var store = await Postfix.Queue.Store.QueueStore.OpenAsync(mta.QueueDir, 10_240_000);
        Postfix.Core.Queue.QueuedMessage? notice = null;
        foreach (var e in store.Entries)
        {
            var m = await store.ReadAsync(e);
            if (m!.Sender == "") notice = m;
        }
        Assert.NotNull(notice);
        var mime = MimeKit.MimeMessage.Load(new MemoryStream(notice!.Content.ToArray()));
        Assert.StartsWith("Delayed Mail", mime.Subject);
        var report = Assert.IsType<MimeKit.MultipartReport>(mime.Body);
        var status = Assert.IsType<MimeKit.MessageDeliveryStatus>(report[1]);
        Assert.Equal("delayed", status.StatusGroups[1]["Action"]);
        Assert.StartsWith("4.", status.StatusGroups[1]["Status"]);
    }
}

// Relay under failure: a SIGKILL in the middle of deliveries loses nothing
// (every acknowledged message reaches the next hop at least once), and with MX
// routing from a loopback DNS server a destination answering 4xx is deferred
// with backoff while the other destination keeps flowing.
using System.Text.RegularExpressions;
using Postfix.Tests.Infrastructure;
using Xunit;

namespace Postfix.Tests.Relay;

public sealed class RelayCrashAndRoutingTests
{
    [Fact]
    public async Task SigkillDuringDeliveryLosesNoAcknowledgedMessage()
    {
        await using var sink = await SmtpSink.StartAsync();
        await using var mta = await MtaInstance.StartAsync($"""
            defer_transports =
            relayhost = [127.0.0.1]:{sink.Port}
            """);
        // Clients keep sending until the MTA dies; only 250-acknowledged IDs count.
        var acked = new System.Collections.Concurrent.ConcurrentBag<string>();
        using var stop = new CancellationTokenSource();
        var senders = Enumerable.Range(0, 4).Select(s => Task.Run(async () =>
        {
            try
            {
                await using var c = await SmtpTestClient.ConnectAsync(mta.Port);
                await c.ReadReplyAsync();
                for (int i = 0; i < 5000 && !stop.IsCancellationRequested; i++)
                {
                    var mid = $"<crash-{s}-{i}@client.test>";
                    await c.SendMessageAsync("a@example.org", "b@example.net", $"Message-Id: {mid}\r\nSubject: {i}\r\n\r\nbody\r\n");
                    acked.Add(mid);
                }
            }
            catch (Exception e) when (e is IOException or InvalidOperationException or System.Net.Sockets.SocketException) { }
        })).ToList();
        Assert.True(await Repo.WaitUntilAsync(() => sink.Transactions > 300, TimeSpan.FromSeconds(60), 20));
        mta.Kill();
        stop.Cancel();
        await Task.WhenAll(senders);
        Assert.NotEmpty(acked);

        await mta.StartProcessAsync();
        await RelayTests.WaitForEmptyQueueAsync(mta, TimeSpan.FromMinutes(3));
        var arrived = sink.MessageIds;
        var missing = acked.Where(id => !arrived.Contains(id)).ToList();
        Assert.True(missing.Count == 0, $"{missing.Count} of {acked.Count} acknowledged messages never arrived, e.g. {string.Join(", ", missing.Take(5))}");
    }

    [Fact]
    public async Task FourXxDestinationIsDeferredWhileTheOtherKeepsFlowing()
    {
        // Two MX hosts on their own loopback addresses, port 25 as MX delivery uses.
        await using var good = await SmtpSink.StartAsync("127.0.0.2", 25);
        await using var busy = await SmtpSink.StartAsync("127.0.0.3", 25, "-r", "RCPT");
        await using var dns = await DnsMasq.StartAsync(
            ("alpha.test", "mx.alpha.test", "127.0.0.2"),
            ("beta.test", "mx.beta.test", "127.0.0.3"));
        await using var mta = await MtaInstance.StartAsync($"""
            defer_transports =
            smtp_dns_servers = 127.0.0.1:{dns.Port}
            minimal_backoff_time = 300s
            """);
        const int perDomain = 50;
        await using (var c = await SmtpTestClient.ConnectAsync(mta.Port))
        {
            await c.ReadReplyAsync();
            for (int i = 0; i < perDomain; i++)
            {
                await c.SendMessageAsync("a@example.org", $"u{i}@alpha.test", $"Subject: a{i}\r\n\r\nx\r\n");
                await c.SendMessageAsync("a@example.org", $"u{i}@beta.test", $"Subject: b{i}\r\n\r\nx\r\n");
            }
        }
        Assert.True(await Repo.WaitUntilAsync(() => good.Transactions == perDomain, TimeSpan.FromSeconds(60), 100),
            $"alpha got {good.Transactions}; log:\n{mta.Maillog}");
        var log = await RelayTests.WaitForLogAsync(mta, "to=<u49@beta.test>");
        Assert.Equal(0, busy.Transactions);
        Assert.Equal(perDomain, Regex.Matches(log, @"to=<u\d+@alpha\.test>, relay=mx\.alpha\.test\[127\.0\.0\.2\]:25, .*status=sent").Count);
        Assert.Matches(@"to=<u\d+@beta\.test>, relay=mx\.beta\.test\[127\.0\.0\.3\]:25, .*dsn=4\.\d\.\d+, status=deferred \(host mx\.beta\.test\[127\.0\.0\.3\] said: 4\d\d ", log);
        // Only beta's mail is left, and it waits in the deferred queue (backoff), not active.
        Assert.True(await Repo.WaitUntilAsync(() => mta.QueueCountAsync().GetAwaiter().GetResult() == perDomain, TimeSpan.FromSeconds(20), 200));
        var json = (await mta.PostfixAsync("postqueue", "-j")).Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(perDomain, json.Length);
        Assert.All(json, l => Assert.Contains("\"queue_name\":\"deferred\"", l));
        Assert.All(json, l => Assert.Contains("@beta.test", l));
    }
}

// metrics_endpoint end to end, with real peers: smtp-source -> ours -> smtp-sink,
// scraped with the real curl as Prometheus would. The counters agree with what
// the maillog would say (accepted by smtpd or pickup, sent, deferred, bounced),
// the queue gauges with postqueue, the histogram counts each delivered
// recipient; only GET /metrics is served; a taken port costs a warning, never
// the MTA.
using System.Net;
using System.Net.Sockets;
using Postfix.Tests.Infrastructure;
using Postfix.Tests.Relay;
using Xunit;

namespace Postfix.Tests.Metrics;

public sealed class MetricsEndpointTests
{
    private static readonly string[] Queues = ["incoming", "active", "deferred", "hold"];

    private static Task<MtaInstance> StartWithMetricsAsync(int metricsPort, string extra = "") =>
        MtaInstance.StartAsync($"metrics_endpoint = 127.0.0.1:{metricsPort}\n{extra}");

    private static async Task<Repo.Result> SmtpSourceAsync(MtaInstance mta, int messages, string from = "a@example.org")
    {
        var r = await Repo.RunAsync(Repo.Which("smtp-source"),
            ["-s", "10", "-m", messages.ToString(), "-l", "2048", "-f", from, "-t", "b@example.net", $"127.0.0.1:{mta.Port}"],
            TimeSpan.FromMinutes(3));
        Assert.True(r.ExitCode == 0, r.Stderr);
        return r;
    }

    [Fact]
    public async Task FiveHundredRelayedMessagesShowInCountersGaugesAndHistogram()
    {
        const int n = 500;
        await using var sink = await SmtpSink.StartAsync();
        int metricsPort = MtaInstance.FreePort();
        await using var mta = await StartWithMetricsAsync(metricsPort, $"""
            defer_transports =
            relayhost = [127.0.0.1]:{sink.Port}
            """);
        await SmtpSourceAsync(mta, n);
        await RelayTests.WaitForEmptyQueueAsync(mta, TimeSpan.FromMinutes(3));
        Assert.Equal(n, sink.Transactions);

        var s = await PrometheusScrape.CurlAsync(metricsPort);
        Assert.Equal(n, s.Value("postfix_messages_accepted_total", ("service", "smtpd")));
        Assert.Equal(n, s.Value("postfix_delivery_recipients_total", ("status", "sent"), ("transport", "smtp")));
        Assert.Equal(0, s.Sum("postfix_delivery_recipients_total", ("status", "deferred")));
        Assert.Equal(0, s.Sum("postfix_delivery_recipients_total", ("status", "bounced")));
        foreach (var q in Queues) Assert.Equal(0, s.Value("postfix_queue_messages", ("queue", q)));
        // The fixture's readiness probe is one more accepted connection.
        Assert.InRange(s.Value("postfix_smtpd_connections_total", ("result", "accepted")), n, n + 5);
        Assert.Equal(0, s.Value("postfix_smtpd_connections_total", ("result", "rejected")));

        Assert.Equal("histogram", s.Types["postfix_delivery_delay_seconds"]);
        Assert.Equal(n, s.Value("postfix_delivery_delay_seconds_count", ("transport", "smtp")));
        Assert.Equal(n, s.Value("postfix_delivery_delay_seconds_bucket", ("le", "+Inf"), ("transport", "smtp")));
        var buckets = s.Samples.Where(x => x.Name == "postfix_delivery_delay_seconds_bucket").Select(x => x.Value).ToList();
        Assert.Equal(buckets.Order(), buckets); // cumulative: never decreasing, +Inf last
        double sum = s.Value("postfix_delivery_delay_seconds_sum", ("transport", "smtp"));
        Assert.InRange(sum, 0, n * 180.0);
        Assert.Equal("counter", s.Types["postfix_messages_accepted_total"]);
        Assert.Equal("gauge", s.Types["postfix_queue_messages"]);
    }

    [Fact]
    public async Task DeferringDestinationShowsInDeferredCounterAndDeferredQueueGauge()
    {
        const int n = 5;
        // smtp-sink answers every RCPT TO with 4xx: each recipient is deferred (status=deferred, dsn=4.x.x).
        await using var sink = await SmtpSink.StartAsync("127.0.0.1", 0, "-r", "RCPT");
        int metricsPort = MtaInstance.FreePort();
        await using var mta = await StartWithMetricsAsync(metricsPort, $"""
            defer_transports =
            relayhost = [127.0.0.1]:{sink.Port}
            """);
        await SmtpSourceAsync(mta, n);

        var s = await PrometheusScrape.CurlUntilAsync(metricsPort,
            x => x.Value("postfix_queue_messages", ("queue", "deferred")) == n, TimeSpan.FromSeconds(60));
        Assert.Equal(n, s.Value("postfix_messages_accepted_total", ("service", "smtpd")));
        Assert.Equal(n, s.Value("postfix_delivery_recipients_total", ("status", "deferred"), ("transport", "smtp")));
        Assert.Equal(0, s.Sum("postfix_delivery_recipients_total", ("status", "sent")));
        Assert.Equal(0, s.Value("postfix_queue_messages", ("queue", "active")));
        Assert.Equal(0, s.Value("postfix_queue_messages", ("queue", "incoming")));
        Assert.DoesNotContain(s.Samples, x => x.Name == "postfix_delivery_delay_seconds_count");
        Assert.Equal(n, await mta.QueueCountAsync()); // postqueue agrees with the gauge
        Assert.Contains("status=deferred", mta.Maillog);
    }

    [Fact]
    public async Task HardRejectCountsBouncedRecipientAndFailureNotice()
    {
        await using var sink = await SmtpSink.StartAsync("127.0.0.1", 0, "-f", "RCPT");
        int metricsPort = MtaInstance.FreePort();
        await using var mta = await StartWithMetricsAsync(metricsPort, $"""
            defer_transports =
            relayhost = [127.0.0.1]:{sink.Port}
            """);
        // A local sender, so the notice stays in this queue.
        await SmtpSourceAsync(mta, 1, from: "alice@mx.test.example");

        var s = await PrometheusScrape.CurlUntilAsync(metricsPort,
            x => x.Sum("postfix_bounce_notices_total") >= 1, TimeSpan.FromSeconds(60));
        Assert.Equal(1, s.Value("postfix_delivery_recipients_total", ("status", "bounced"), ("transport", "smtp")));
        Assert.Equal(1, s.Value("postfix_bounce_notices_total", ("kind", "failure")));
        // The notice is bounce(8)'s message, not one smtpd accepted.
        Assert.Equal(1, s.Value("postfix_messages_accepted_total", ("service", "smtpd")));
    }

    [Fact]
    public async Task SendmailMessagesCountUnderThePickupService()
    {
        int metricsPort = MtaInstance.FreePort();
        await using var mta = await StartWithMetricsAsync(metricsPort);
        for (int i = 0; i < 2; i++)
        {
            var r = await mta.SendmailAsync($"Subject: cron {i}\n\nbody\n", "b@example.net");
            Assert.True(r.ExitCode == 0, r.Stderr);
        }
        var s = await PrometheusScrape.CurlUntilAsync(metricsPort,
            x => x.Sum("postfix_messages_accepted_total", ("service", "pickup")) == 2, TimeSpan.FromSeconds(60));
        Assert.Equal(0, s.Value("postfix_messages_accepted_total", ("service", "smtpd")));
        // Both wait deferred (the fixture's defer_transports); the gauges add up to postqueue's total.
        var queued = s.Sum("postfix_queue_messages");
        Assert.Equal(2, queued);
        Assert.Equal(2, await mta.QueueCountAsync());
    }

    [Fact]
    public async Task ConnectionRejectedByTheClientLimitIsCounted()
    {
        int metricsPort = MtaInstance.FreePort();
        await using var mta = await StartWithMetricsAsync(metricsPort,
            "smtpd_client_connection_count_limit = 1\nsmtpd_client_event_limit_exceptions =");
        // The fixture's readiness probe is a session too: wait until it has left.
        Assert.True(await Repo.WaitUntilAsync(() => mta.Maillog.Contains("disconnect from unknown[127.0.0.1]"), TimeSpan.FromSeconds(10)));
        await using var first = await SmtpTestClient.ConnectAsync(mta.Port);
        Assert.StartsWith("220 ", await first.ReadReplyAsync());
        await using (var second = await SmtpTestClient.ConnectAsync(mta.Port))
            Assert.StartsWith("421 4.7.0 ", await second.ReadReplyAsync());

        var s = await PrometheusScrape.CurlAsync(metricsPort);
        Assert.Equal(1, s.Value("postfix_smtpd_connections_total", ("result", "rejected")));
        Assert.True(s.Value("postfix_smtpd_connections_total", ("result", "accepted")) >= 2);
    }

    [Fact]
    public async Task OnlyGetMetricsIsServed()
    {
        int metricsPort = MtaInstance.FreePort();
        await using var mta = await StartWithMetricsAsync(metricsPort);
        Assert.Contains($"postfix/master[", await RelayTests.WaitForLogAsync(mta, $"metrics on http://127.0.0.1:{metricsPort}/metrics"));
        var curl = Repo.Which("curl");
        async Task<string> StatusAsync(params string[] args)
        {
            var r = await Repo.RunAsync(curl, ["-s", "-o", "/dev/null", "-w", "%{http_code} %{content_type}", "--max-time", "10", .. args]);
            Assert.True(r.ExitCode == 0, r.Stderr);
            return r.Stdout;
        }
        string url = $"http://127.0.0.1:{metricsPort}";
        Assert.Equal("200 text/plain; version=0.0.4; charset=utf-8", await StatusAsync($"{url}/metrics"));
        foreach (var path in new[] { "/", "/metrics/", "/metricsx", "/Metrics", "/metrics/x", "/favicon.ico" })
            Assert.StartsWith("404 ", await StatusAsync(url + path));
        Assert.StartsWith("405 ", await StatusAsync("-X", "POST", $"{url}/metrics"));
        // curl -f fails on the 404, as a misconfigured scraper would.
        var fail = await Repo.RunAsync(curl, ["-sf", "--max-time", "10", $"{url}/"]);
        Assert.NotEqual(0, fail.ExitCode);
    }

    [Fact]
    public async Task MetricsPortTakenLogsWarningAndTheMtaStillWorks()
    {
        using var squatter = new TcpListener(IPAddress.Loopback, 0);
        squatter.Start();
        int taken = ((IPEndPoint)squatter.LocalEndpoint).Port;
        await using var mta = await StartWithMetricsAsync(taken);
        var log = await RelayTests.WaitForLogAsync(mta, "metrics disabled");
        Assert.Matches($@"postfix/master\[\d+\]: warning: metrics endpoint 127\.0\.0\.1:{taken}: .+; metrics disabled", log);
        Assert.DoesNotContain("fatal", log);

        await SmtpSourceAsync(mta, 3);
        Assert.Equal(3, await mta.QueueCountAsync()); // deferred by the fixture's defer_transports
        var status = await mta.PostfixAsync("status");
        Assert.True(status.ExitCode == 0, status.Stderr);
    }
}

// qmqpd(8) on a real MTA, spoken to over raw loopback TCP: a good packet gets
// "KOk: queued as ID" and is in the queue with its envelope, a Received: header
// "with QMQP" and Postfix's log lines; an unauthorized client, malformed
// netstrings, an oversized message, a truncated packet and a stalled client
// get Postfix's replies (or a clean close), nothing is queued, and the server
// goes on answering. Three qmqpd services show master.cf -o overrides at work.
using System.Diagnostics;
using System.Text.RegularExpressions;
using Postfix.Tests.Infrastructure;
using Xunit;
using static Postfix.Tests.Qmqp.QmqpPacket;

namespace Postfix.Tests.Qmqp;

public sealed class QmqpdProtocolTests(QmqpdProtocolTests.Fixture f) : IClassFixture<QmqpdProtocolTests.Fixture>
{
    public sealed class Fixture : IAsyncLifetime
    {
        private MtaInstance? _mta;
        public MtaInstance Mta => _mta ?? throw new InvalidOperationException("MTA not started");

        /// <summary>Authorized, Postfix defaults otherwise.</summary>
        public int Port { get; } = MtaInstance.FreePort();
        /// <summary>Authorized, qmqpd_timeout 2s, message_size_limit 100000, client port logging.</summary>
        public int SmallPort { get; } = MtaInstance.FreePort();
        /// <summary>qmqpd_authorized_clients left at its default: nobody.</summary>
        public int ClosedPort { get; } = MtaInstance.FreePort();

        public async Task InitializeAsync() => _mta = await MtaInstance.StartAsync(masterCfExtra: $"""
            127.0.0.1:{Port} inet n - n - - qmqpd -o qmqpd_authorized_clients=127.0.0.1
            127.0.0.1:{SmallPort} inet n - n - - qmqpd -o qmqpd_authorized_clients=127.0.0.0/8 -o qmqpd_timeout=2s -o message_size_limit=100000 -o qmqpd_client_port_logging=yes
            127.0.0.1:{ClosedPort} inet n - n - - qmqpd
            """);

        public async Task DisposeAsync()
        {
            if (_mta is null) return;
            try { await _mta.StopAsync(); } catch (InvalidOperationException) { }
            await _mta.DisposeAsync();
        }

        public async Task<string> WaitForMaillogAsync(string pattern, int seconds = 10)
        {
            await Repo.WaitUntilAsync(() => Regex.IsMatch(Mta.Maillog, pattern), TimeSpan.FromSeconds(seconds));
            return Mta.Maillog;
        }
    }

    private MtaInstance Mta => f.Mta;

    /// <summary>postcat -q ID, waiting (bounded) for the committed message to be indexed.</summary>
    private async Task<string[]> PostcatAsync(string id)
    {
        var sw = Stopwatch.StartNew();
        Repo.Result r;
        while ((r = await Mta.PostfixAsync("postcat", "-q", id)).ExitCode != 0 && sw.Elapsed < TimeSpan.FromSeconds(10))
            await Task.Delay(100);
        Assert.True(r.ExitCode == 0, $"postcat -q {id}: {r.Stderr}");
        Assert.DoesNotContain("\r", r.Stdout); // stored CRLF, shown LF: no CR doubled
        return r.Stdout.Split('\n');
    }

    private async Task<string> SendGoodAsync(int? port = null)
    {
        using var w = await QmqpWire.OpenAsync(port ?? f.Port);
        await w.SendAsync(Build("Subject: still answering\n\nok\n", "a@example.org", "b@example.net"));
        var reply = await w.ReadReplyAsync();
        Assert.Matches("^KOk: queued as [0-9A-F]+$", reply);
        return reply!["KOk: queued as ".Length..];
    }

    [Fact]
    public async Task GoodPacketIsAnsweredKAndQueuedWithItsEnvelope()
    {
        using var w = await QmqpWire.OpenAsync(f.Port);
        await w.SendAsync(Build("Subject: qmqp test\nMessage-Id: <t1@example.org>\n\nbody one\n.leading dot\n",
            "alice@example.org", "bob@example.net", "carol@example.net"));
        var reply = await w.ReadReplyAsync();
        var m = Regex.Match(reply ?? "", "^KOk: queued as ([0-9A-F]+)$");
        Assert.True(m.Success, reply);
        string id = m.Groups[1].Value;
        Assert.True(await w.ClosedByServerAsync(), "one message per connection: the server closes");

        var lines = await PostcatAsync(id);
        Assert.Contains("sender: alice@example.org", lines);
        Assert.Contains("recipient: bob@example.net", lines);
        Assert.Contains("recipient: carol@example.net", lines);
        Assert.Contains("named_attribute: protocol_name=QMQP", lines);
        Assert.Contains("named_attribute: client_address=127.0.0.1", lines);
        Assert.Contains("Received: from unknown (unknown [127.0.0.1])", lines);
        Assert.Contains(lines, l => l.StartsWith($"\tby mx.test.example (Postfix) with QMQP id {id};", StringComparison.Ordinal));
        Assert.Contains("Subject: qmqp test", lines);
        Assert.Contains(".leading dot", lines);

        // Postfix's log lines, one qmqpd pid for the session.
        var log = await f.WaitForMaillogAsync($@"qmgr\[\d+\]: {id}: from=<alice@example\.org>, size=\d+, nrcpt=2 \(queue active\)");
        Assert.Matches($@"qmgr\[\d+\]: {id}: from=<alice@example\.org>, size=\d+, nrcpt=2 \(queue active\)", log);
        var client = Regex.Match(log, $@"postfix/qmqpd\[(\d+)\]: {id}: client=unknown\[127\.0\.0\.1\]");
        Assert.True(client.Success, log);
        string pid = client.Groups[1].Value;
        Assert.Matches($@"postfix/qmqpd\[{pid}\]: connect from unknown\[127\.0\.0\.1\]", log);
        Assert.Matches($@"postfix/cleanup\[{pid}\]: {id}: message-id=<t1@example\.org>", log);
        log = await f.WaitForMaillogAsync($@"postfix/qmqpd\[{pid}\]: disconnect from unknown\[127\.0\.0\.1\]");
        Assert.Matches($@"postfix/qmqpd\[{pid}\]: disconnect from unknown\[127\.0\.0\.1\]", log);
    }

    [Fact]
    public async Task EmptySenderIsTheNullSenderAndOneRecipientIsNamedInReceived()
    {
        using var w = await QmqpWire.OpenAsync(f.Port);
        await w.SendAsync(Build("Subject: bounce-ish\n\nx\n", "", "bob@example.net"));
        var reply = await w.ReadReplyAsync();
        Assert.Matches("^KOk: queued as [0-9A-F]+$", reply);
        string id = reply!["KOk: queued as ".Length..];
        var lines = await PostcatAsync(id);
        Assert.Contains("sender: ", lines);
        Assert.Contains(lines, l => l.StartsWith("\tfor <bob@example.net>; ", StringComparison.Ordinal));
        Assert.Matches($@"qmgr\[\d+\]: {id}: from=<>, size=\d+, nrcpt=1",
            await f.WaitForMaillogAsync($@"{id}: from=<>"));
    }

    [Fact]
    public async Task UnauthorizedClientIsRefusedAndNothingIsQueued()
    {
        int before = await Mta.QueueCountAsync();
        int clients = Regex.Matches(Mta.Maillog, "client=unknown").Count;
        using var w = await QmqpWire.OpenAsync(f.ClosedPort);
        var sw = Stopwatch.StartNew();
        await w.SendAsync(Build("Subject: x\n\nx\n", "a@example.org", "b@example.net"));
        var reply = await w.ReadReplyAsync();
        Assert.Equal("DError: unknown[127.0.0.1] is not authorized to use this service", reply);
        Assert.True(sw.Elapsed >= TimeSpan.FromSeconds(0.9), $"qmqpd_error_delay not applied: {sw.Elapsed}");
        Assert.True(await w.ClosedByServerAsync());
        Assert.Equal(before, await Mta.QueueCountAsync());
        Assert.Equal(clients, Regex.Matches(Mta.Maillog, "client=unknown").Count); // no queue ID was opened
        await SendGoodAsync();
    }

    public static TheoryData<string, byte[], string> Malformed() => new()
    {
        { "letter in the packet length", Bytes("1x:3:abc,"), "Dnetstring format error while receiving QMQP packet header" },
        { "length past every limit", Bytes("123456789012:"), "Dnetstring length exceeds storage limit while receiving QMQP packet header" },
        { "letter in the message length", Bytes("20:1y:abc,"), "Dnetstring format error while receiving message content" },
        { "no comma after the message", Bytes("30:3:abc;3:a@b,3:c@d,,"), "Dnetstring format error while receiving message content" },
        { "message longer than message_size_limit", Bytes("30000000:20000000:Subject: big\n"), "Dnetstring length exceeds storage limit while receiving message content" },
        { "sender longer than line_length_limit", Build("x\n", new string('s', 3000), "b@example.net"), "Dnetstring length exceeds storage limit while receiving sender address" },
        { "no comma after a recipient", Bytes("18:3:abc,3:a@b,3:c@d;,"), "Dnetstring format error while receiving recipient address" },
        { "packet length not what was sent", Bytes("99:3:abc,3:a@b,3:c@d,,"), "Dnetstring format error while receiving recipient address" },
        { "no recipients", Build("x\n", "a@example.org"), "DError: no recipients specified" },
        { "empty recipient", Build("x\n", "a@example.org", ""), "DError: bad recipient address syntax" },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public async Task MalformedPacketGetsDAndNothingIsQueued(string what, byte[] wire, string expected)
    {
        int before = await Mta.QueueCountAsync();
        using (var w = await QmqpWire.OpenAsync(f.Port))
        {
            await w.SendAsync(wire);
            Assert.Equal(expected, await w.ReadReplyAsync());
            Assert.True(await w.ClosedByServerAsync(), what);
        }
        Assert.Equal(before, await Mta.QueueCountAsync());
        var log = await f.WaitForMaillogAsync(Regex.Escape(expected[1..]));
        Assert.Matches($@"postfix/qmqpd\[\d+\]: (warning: )?[0-9A-F]+: unknown\[127\.0\.0\.1\]: {Regex.Escape(expected[1..])}", log);
        await SendGoodAsync(); // the server goes on answering
    }

    [Fact]
    public async Task TruncatedPacketThenCloseQueuesNothing()
    {
        int before = await Mta.QueueCountAsync();
        var wire = Build("Subject: cut\n\n" + new string('x', 500) + "\n", "a@example.org", "b@example.net");
        using (var w = await QmqpWire.OpenAsync(f.Port))
        {
            await w.SendAsync(wire[..200]);
            w.ShutdownSend();
            Assert.Null(await w.ReadReplyAsync()); // Postfix sends nothing to a client that went away
        }
        var log = await f.WaitForMaillogAsync(@"lost connection while receiving message content");
        Assert.Matches(@"postfix/qmqpd\[\d+\]: [0-9A-F]+: unknown\[127\.0\.0\.1\]: lost connection while receiving message content", log);
        Assert.Equal(before, await Mta.QueueCountAsync());
        await SendGoodAsync();
    }

    [Fact]
    public async Task OversizedMessageGetsDWhileTheClientIsStillSending()
    {
        int before = await Mta.QueueCountAsync();
        using (var w = await QmqpWire.OpenAsync(f.SmallPort))
        {
            // 150 KB against message_size_limit = 100000: refused from the length, the rest drained.
            await w.SendAsync(Build("Subject: big\n\n" + string.Concat(Enumerable.Repeat(new string('x', 99) + "\n", 1500)), "a@example.org", "b@example.net"));
            Assert.Equal("Dnetstring length exceeds storage limit while receiving message content", await w.ReadReplyAsync());
        }
        using (var w = await QmqpWire.OpenAsync(f.SmallPort))
        {
            // The message fits; with its envelope it does not (cleanup's check).
            await w.SendAsync(Build(new string('x', 99_980) + "\n", "a@example.org", "b@example.net"));
            Assert.Equal("DError: message too large", await w.ReadReplyAsync());
        }
        Assert.Equal(before, await Mta.QueueCountAsync());
        var log = await f.WaitForMaillogAsync("Error: message too large");
        Assert.Matches(@"postfix/qmqpd\[\d+\]: warning: [0-9A-F]+: unknown\[127\.0\.0\.1\]:\d+: Error: message too large", log);
        await SendGoodAsync(f.SmallPort);
    }

    [Fact]
    public async Task StalledClientHitsQmqpdTimeoutAndIsClosedWithoutReply()
    {
        using var w = await QmqpWire.OpenAsync(f.SmallPort);
        var sw = Stopwatch.StartNew();
        await w.SendAsync(Bytes("100:40:Subject: stall\n"));
        Assert.Null(await w.ReadReplyAsync(TimeSpan.FromSeconds(15)));
        Assert.True(sw.Elapsed >= TimeSpan.FromSeconds(1.5), $"closed after only {sw.Elapsed}");
        // Other tests in this fixture time out too: wait for this connection's own line (by port).
        var line = $@"postfix/qmqpd\[\d+\]: [0-9A-F]+: unknown\[127\.0\.0\.1\]:{w.LocalPort}: read/write timeout while receiving message content";
        var log = await f.WaitForMaillogAsync(line);
        Assert.Matches(line, log);
    }

    [Fact]
    public async Task OneBytePerHalfSecondStillTimesOut()
    {
        using var w = await QmqpWire.OpenAsync(f.SmallPort);
        var sw = Stopwatch.StartNew();
        var wire = Build("Subject: slowloris\n\n" + new string('x', 200) + "\n", "a@example.org", "b@example.net");
        var dribble = Task.Run(async () =>
        {
            try
            {
                foreach (byte b in wire)
                {
                    await w.SendAsync([b]);
                    await Task.Delay(500);
                }
            }
            catch (IOException) { }
            catch (ObjectDisposedException) { }
        });
        Assert.Null(await w.ReadReplyAsync(TimeSpan.FromSeconds(15)));
        // The dribble alone would take over 100 s: closing well before that shows the deadline does not restart per byte.
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(30), $"took {sw.Elapsed}: the deadline must not restart per byte");
        w.Dispose();
        await dribble;
    }

    [Fact]
    public async Task ClientPortIsLoggedWhenAsked()
    {
        using var w = await QmqpWire.OpenAsync(f.SmallPort);
        await w.SendAsync(Build("Subject: port\n\nx\n", "a@example.org", "b@example.net"));
        Assert.StartsWith("KOk: queued as ", await w.ReadReplyAsync());
        string text = $"connect from unknown[127.0.0.1]:{w.LocalPort}";
        Assert.Contains(text, await f.WaitForMaillogAsync(Regex.Escape(text)));
    }
}

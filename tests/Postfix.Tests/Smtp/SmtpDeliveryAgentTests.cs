// The smtp(8) client against a scripted loopback server: per-recipient
// results and Postfix's diagnostics, pipelining, dot-stuffing on the wire,
// ESMTP parameters, connection reuse, and every failure a server can cause
// (refused connection, 421 banner, silence, 4xx/5xx at each stage).
using System.Net;
using System.Net.Sockets;
using System.Text;
using Postfix.Core.Delivery;
using Postfix.Core.Queue;
using Postfix.Protocols.Smtp;
using Xunit;
using static Postfix.Tests.Smtp.SmtpTestMessages;

namespace Postfix.Tests.Smtp;

public sealed class SmtpDeliveryAgentTests
{
    [Fact]
    public async Task AcceptedMessageIsSentWithTheServersFinalReply()
    {
        await using var server = FakeSmtpServer.Scripted(new FakeSmtpScript());
        await using var agent = new SmtpDeliveryAgent(Settings());
        var report = await agent.DeliverAsync(Request(Message(), server.Nexthop), Bound());

        var r = Assert.Single(report.Results);
        Assert.Equal(DeliveryStatus.Sent, r.Status);
        Assert.Equal("2.0.0", r.Dsn);
        Assert.Equal("250 2.0.0 Ok: queued as ABC123", r.Diagnostic);
        Assert.Equal($"127.0.0.1[127.0.0.1]:{server.Port}", report.Relay);
        Assert.Contains("EHLO client.example", server.Commands);
        Assert.Contains($"MAIL FROM:<sender@example.org> SIZE={DefaultBody.Length}", server.Commands);
        Assert.Equal(DefaultBody, Encoding.ASCII.GetString(Assert.Single(server.Messages)));
    }

    [Fact]
    public async Task MixedRecipientResultsFollowPostfix()
    {
        await using var server = FakeSmtpServer.Scripted(new FakeSmtpScript
        {
            Rcpt = line => line.Contains("<bad@") ? "550 5.1.1 <bad@example.net>: Recipient address rejected: User unknown"
                : line.Contains("<later@") ? "451 4.3.0 <later@example.net>: Temporary lookup failure"
                : line.Contains("<plain@") ? "553 sorry" : "250 2.1.5 Ok",
        });
        await using var agent = new SmtpDeliveryAgent(Settings());
        var msg = Message(recipients: ["good@example.net", "bad@example.net", "later@example.net", "plain@example.net"]);
        var report = await agent.DeliverAsync(Request(msg, server.Nexthop), Bound());

        var host = $"127.0.0.1[127.0.0.1]";
        Assert.Collection(report.Results,
            r => Assert.Equal((DeliveryStatus.Sent, "2.0.0", "250 2.0.0 Ok: queued as ABC123"), (r.Status, r.Dsn, r.Diagnostic)),
            r => Assert.Equal((DeliveryStatus.Bounced, "5.1.1",
                    $"host {host} said: 550 5.1.1 <bad@example.net>: Recipient address rejected: User unknown (in reply to RCPT TO command)"),
                (r.Status, r.Dsn, r.Diagnostic)),
            r => Assert.Equal((DeliveryStatus.Deferred, "4.3.0",
                    $"host {host} said: 451 4.3.0 <later@example.net>: Temporary lookup failure (in reply to RCPT TO command)"),
                (r.Status, r.Dsn, r.Diagnostic)),
            r => Assert.Equal((DeliveryStatus.Bounced, "5.0.0", $"host {host} said: 553 sorry (in reply to RCPT TO command)"),
                (r.Status, r.Dsn, r.Diagnostic)));
        Assert.Equal(report.Results.Select(r => r.Recipient), msg.Recipients);
    }

    [Fact]
    public async Task EndOfDataTemporaryFailureDefersEveryAcceptedRecipient()
    {
        await using var server = FakeSmtpServer.Scripted(new FakeSmtpScript
        {
            Rcpt = line => line.Contains("<bad@") ? "550 5.1.1 no" : "250 2.1.5 Ok",
            EndOfData = (_, _) => ["452 4.3.1 Insufficient system storage"],
        });
        await using var agent = new SmtpDeliveryAgent(Settings());
        var report = await agent.DeliverAsync(Request(Message(recipients: ["a@x", "bad@x", "b@x"]), server.Nexthop), Bound());

        Assert.Equal([DeliveryStatus.Deferred, DeliveryStatus.Bounced, DeliveryStatus.Deferred], report.Results.Select(r => r.Status));
        Assert.Equal("host 127.0.0.1[127.0.0.1] said: 452 4.3.1 Insufficient system storage (in reply to end of DATA command)",
            report.Results[0].Diagnostic);
        Assert.Equal("4.3.1", report.Results[2].Dsn);
    }

    [Fact]
    public async Task MailFromRejectionFailsAllRecipients()
    {
        await using var server = FakeSmtpServer.Scripted(new FakeSmtpScript { Mail = _ => "553 5.7.1 Sender rejected" });
        await using var agent = new SmtpDeliveryAgent(Settings());
        var report = await agent.DeliverAsync(Request(Message(recipients: ["a@x", "b@x"]), server.Nexthop), Bound());

        Assert.All(report.Results, r =>
        {
            Assert.Equal(DeliveryStatus.Bounced, r.Status);
            Assert.Equal("5.7.1", r.Dsn);
            Assert.Equal("host 127.0.0.1[127.0.0.1] said: 553 5.7.1 Sender rejected (in reply to MAIL FROM command)", r.Diagnostic);
        });
        Assert.Empty(server.Messages);
    }

    [Fact]
    public async Task DataCommandRejectionNamesTheDataCommand()
    {
        await using var server = FakeSmtpServer.Scripted(new FakeSmtpScript { Data = "554 5.5.1 Error: no way" });
        await using var agent = new SmtpDeliveryAgent(Settings());
        var report = await agent.DeliverAsync(Request(Message(), server.Nexthop), Bound());
        var r = Assert.Single(report.Results);
        Assert.Equal(DeliveryStatus.Bounced, r.Status);
        Assert.EndsWith("554 5.5.1 Error: no way (in reply to DATA command)", r.Diagnostic);
    }

    [Fact]
    public async Task DotStuffingIsOnTheWireAndTheServerSeesTheRightBytes()
    {
        await using var server = FakeSmtpServer.Scripted(new FakeSmtpScript());
        await using var agent = new SmtpDeliveryAgent(Settings());
        const string content = "Subject: dots\r\n\r\n.leading dot\r\n..two dots\r\n.\r\nmiddle . dot\r\n.";
        var report = await agent.DeliverAsync(Request(Message(content), server.Nexthop), Bound());

        Assert.Equal(DeliveryStatus.Sent, Assert.Single(report.Results).Status);
        var wire = Encoding.ASCII.GetString(Assert.Single(server.Messages));
        // The content lacked a final line end: the client added CRLF before the ".".
        Assert.Equal("Subject: dots\r\n\r\n..leading dot\r\n...two dots\r\n..\r\nmiddle . dot\r\n..\r\n", wire);
    }

    [Fact]
    public async Task LargeBodyStreamsInChunksAndArrivesIntact()
    {
        await using var server = FakeSmtpServer.Scripted(new FakeSmtpScript());
        await using var agent = new SmtpDeliveryAgent(Settings());
        var sb = new StringBuilder("Subject: big\r\n\r\n");
        for (int i = 0; i < 40000; i++) sb.Append(i % 7 == 0 ? ".dot line " : "line ").Append(i).Append("\r\n");
        string content = sb.ToString();
        var report = await agent.DeliverAsync(Request(Message(content), server.Nexthop), Bound());

        Assert.Equal(DeliveryStatus.Sent, Assert.Single(report.Results).Status);
        var unstuffed = Encoding.ASCII.GetString(Assert.Single(server.Messages)).Replace("\r\n..", "\r\n.");
        Assert.Equal(content, unstuffed);
    }

    [Fact]
    public async Task PipeliningSendsMailRcptAndDataBeforeAnyReply()
    {
        // This server reads everything up to DATA before answering anything: a client that
        // waited for the MAIL reply would time out instead.
        var batches = new List<string>();
        await using var server = new FakeSmtpServer(async (peer, ct) =>
        {
            await peer.SendAsync("220 pipe.example ESMTP");
            await peer.ReadLineAsync(ct);
            await peer.SendAsync("250-pipe.example\r\n250-PIPELINING\r\n250 8BITMIME\r\n");
            var batch = await peer.ReadAvailableUntilAsync("DATA\r\n", ct);
            lock (batches) batches.Add(batch);
            await peer.SendAsync("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n550 5.1.1 no such user\r\n250 2.1.5 Ok\r\n354 go\r\n");
            await peer.ReadDataAsync(ct);
            await peer.SendAsync("250 2.0.0 Ok: queued as PIPE");
            await peer.ReadLineAsync(ct);
            await peer.SendAsync("250 2.0.0 Ok");
        });
        await using var agent = new SmtpDeliveryAgent(Settings(timeout: TimeSpan.FromSeconds(3)));
        var report = await agent.DeliverAsync(Request(Message(recipients: ["a@x", "b@x", "c@x"]), server.Nexthop), Bound());

        Assert.Equal([DeliveryStatus.Sent, DeliveryStatus.Bounced, DeliveryStatus.Sent], report.Results.Select(r => r.Status));
        Assert.Equal("MAIL FROM:<sender@example.org>\r\nRCPT TO:<a@x>\r\nRCPT TO:<b@x>\r\nRCPT TO:<c@x>\r\nDATA\r\n", Assert.Single(batches));
    }

    [Fact]
    public async Task WithoutPipeliningCommandsGoOneAtATimeAndDataIsSkippedWhenNoRecipientIsLeft()
    {
        await using var server = FakeSmtpServer.Scripted(new FakeSmtpScript
        {
            Extensions = ["8BITMIME"],
            Rcpt = _ => "550 5.1.1 unknown",
        });
        await using var agent = new SmtpDeliveryAgent(Settings());
        var report = await agent.DeliverAsync(Request(Message(recipients: ["a@x", "b@x"]), server.Nexthop), Bound());

        Assert.All(report.Results, r => Assert.Equal(DeliveryStatus.Bounced, r.Status));
        Assert.DoesNotContain("DATA", server.Commands);
    }

    [Fact]
    public async Task EsmtpParametersAreSentWhenOffered()
    {
        await using var server = FakeSmtpServer.Scripted(new FakeSmtpScript
        {
            Extensions = ["PIPELINING", "SIZE", "8BITMIME", "DSN", "SMTPUTF8"],
        });
        await using var agent = new SmtpDeliveryAgent(Settings());
        var msg = Message("Subject: x\r\n\r\n\u00e9t\u00e9\r\n", recipients: ["r\u00e9@example.net"], body: BodyType.EightBitMime,
            smtpUtf8: true, ret: DsnRet.Hdrs, envId: "ENV+2B1", notify: DsnNotify.Success | DsnNotify.Failure, orcpt: "rfc822;orig@example.net");
        var report = await agent.DeliverAsync(Request(msg, server.Nexthop), Bound());

        Assert.Equal(DeliveryStatus.Sent, Assert.Single(report.Results).Status);
        Assert.Contains($"MAIL FROM:<sender@example.org> SIZE={msg.Content.Length} BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=ENV+2B1", server.Commands);
        Assert.Contains("RCPT TO:<r\u00e9@example.net> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;orig@example.net", server.Commands);
    }

    [Fact]
    public async Task DsnParametersAreOmittedWhenNotOffered()
    {
        await using var server = FakeSmtpServer.Scripted(new FakeSmtpScript { Extensions = ["PIPELINING"] });
        await using var agent = new SmtpDeliveryAgent(Settings());
        var msg = Message("Subject: x\r\n\r\n\u00e9\r\n", body: BodyType.EightBitMime, ret: DsnRet.Full, envId: "E", notify: DsnNotify.Never);
        var report = await agent.DeliverAsync(Request(msg, server.Nexthop), Bound());

        // No 8BITMIME offered: the 8-bit body is still sent (no downgrade), without BODY=.
        Assert.Equal(DeliveryStatus.Sent, Assert.Single(report.Results).Status);
        Assert.Contains("MAIL FROM:<sender@example.org>", server.Commands);
        Assert.Contains("RCPT TO:<rcpt@example.net>", server.Commands);
    }

    [Fact]
    public async Task SmtpUtf8MessageToServerWithoutSmtpUtf8Bounces()
    {
        await using var server = FakeSmtpServer.Scripted(new FakeSmtpScript());
        await using var agent = new SmtpDeliveryAgent(Settings());
        var report = await agent.DeliverAsync(Request(Message(smtpUtf8: true), server.Nexthop), Bound());

        var r = Assert.Single(report.Results);
        Assert.Equal((DeliveryStatus.Bounced, "5.6.7"), (r.Status, r.Dsn));
        Assert.Equal("SMTPUTF8 is required, but was not offered by host 127.0.0.1[127.0.0.1]", r.Diagnostic);
        Assert.DoesNotContain(server.Commands, c => c.StartsWith("MAIL"));
    }

    [Fact]
    public async Task MessageLargerThanTheServersSizeLimitBounces()
    {
        await using var server = FakeSmtpServer.Scripted(new FakeSmtpScript { Extensions = ["PIPELINING", "SIZE 10"] });
        await using var agent = new SmtpDeliveryAgent(Settings());
        var report = await agent.DeliverAsync(Request(Message(), server.Nexthop), Bound());

        var r = Assert.Single(report.Results);
        Assert.Equal((DeliveryStatus.Bounced, "5.3.4"), (r.Status, r.Dsn));
        Assert.Equal($"message size {DefaultBody.Length} exceeds size limit 10 of server 127.0.0.1[127.0.0.1]", r.Diagnostic);
    }

    [Fact]
    public async Task HeloIsTriedWhenEhloIsRejected()
    {
        await using var server = FakeSmtpServer.Scripted(new FakeSmtpScript { EhloReply = "502 5.5.2 Error: command not recognized" });
        await using var agent = new SmtpDeliveryAgent(Settings());
        var report = await agent.DeliverAsync(Request(Message(), server.Nexthop), Bound());

        Assert.Equal(DeliveryStatus.Sent, Assert.Single(report.Results).Status);
        Assert.Contains("HELO client.example", server.Commands);
        Assert.Contains("MAIL FROM:<sender@example.org>", server.Commands); // no SIZE without ESMTP
    }

    [Fact]
    public async Task TwoDeliveriesToTheSameNexthopShareOneConnection()
    {
        await using var server = FakeSmtpServer.Scripted(new FakeSmtpScript());
        await using var agent = new SmtpDeliveryAgent(Settings());
        for (int i = 0; i < 3; i++)
        {
            var report = await agent.DeliverAsync(Request(Message(), server.Nexthop), Bound());
            Assert.Equal(DeliveryStatus.Sent, Assert.Single(report.Results).Status);
        }
        Assert.Equal(1, server.Accepts);
        Assert.Equal(3, server.Messages.Count);
        // A transaction that ended with the end-of-data reply leaves the server ready for
        // the next MAIL: no RSET round trip before the connection is reused.
        Assert.Equal(0, server.Commands.Count(c => c == "RSET"));
        Assert.Equal(1, agent.CachedConnections);
    }

    [Fact]
    public async Task IdleCachedConnectionIsClosedWithQuitAfterTheTimeLimit()
    {
        await using var server = FakeSmtpServer.Scripted(new FakeSmtpScript());
        await using var agent = new SmtpDeliveryAgent(Settings(cacheTime: TimeSpan.FromMilliseconds(300)));
        await agent.DeliverAsync(Request(Message(), server.Nexthop), Bound());
        Assert.True(await Infrastructure.Repo.WaitUntilAsync(() => server.Commands.Contains("QUIT"), TimeSpan.FromSeconds(10)));
        Assert.Equal(0, agent.CachedConnections);

        await agent.DeliverAsync(Request(Message(), server.Nexthop), Bound());
        Assert.Equal(2, server.Accepts);
    }

    [Fact]
    public async Task CachedConnectionThatDiesOnTheNextMailIsRetriedOnAFreshConnection()
    {
        // First connection: one good transaction, then the server hangs up on the next MAIL
        // without a reply (the race between reuse and a server-side idle timeout).
        FakeSmtpServer? server = null;
        int connections = 0;
        server = new FakeSmtpServer(async (peer, ct) =>
        {
            if (Interlocked.Increment(ref connections) > 1)
            {
                await server!.RunScriptAsync(new FakeSmtpScript(), peer, ct);
                return;
            }
            await peer.SendAsync("220 x ESMTP");
            await peer.ReadLineAsync(ct);
            await peer.SendAsync("250-x\r\n250 PIPELINING\r\n");
            await peer.ReadAvailableUntilAsync("DATA\r\n", ct);
            await peer.SendAsync("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 go\r\n");
            await peer.ReadDataAsync(ct);
            await peer.SendAsync("250 2.0.0 Ok: queued as ONE");
            await peer.ReadLineAsync(ct); // the next MAIL: hang up
        });
        await using var _ = server;
        await using var agent = new SmtpDeliveryAgent(Settings());
        var first = await agent.DeliverAsync(Request(Message(), server.Nexthop), Bound());
        Assert.Equal("250 2.0.0 Ok: queued as ONE", first.Results[0].Diagnostic);
        var second = await agent.DeliverAsync(Request(Message(), server.Nexthop), Bound());
        Assert.Equal((DeliveryStatus.Sent, "250 2.0.0 Ok: queued as ABC123"), (second.Results[0].Status, second.Results[0].Diagnostic));
        Assert.Equal(2, server.Accepts);
    }

    [Fact]
    public async Task CachedConnectionClosedByTheServerIsNotReused()
    {
        await using var server = FakeSmtpServer.Scripted(new FakeSmtpScript());
        await using var agent = new SmtpDeliveryAgent(Settings(cache: true));
        var first = await agent.DeliverAsync(Request(Message(), server.Nexthop), Bound());
        Assert.Equal(DeliveryStatus.Sent, first.Results[0].Status);
        Assert.Equal(1, agent.CachedConnections);

        // Break the cached connection behind the agent's back: the server's side goes away.
        await server.DisposeAsync();
        await using var server2 = FakeSmtpServer.Scripted(new FakeSmtpScript(), IPAddress.Loopback, server.Port);
        var second = await agent.DeliverAsync(Request(Message(), server.Nexthop), Bound());
        Assert.Equal(DeliveryStatus.Sent, second.Results[0].Status);
        Assert.Equal(1, server2.Accepts);
    }

    [Fact]
    public async Task WithoutCachingEveryDeliveryConnectsAndQuits()
    {
        await using var server = FakeSmtpServer.Scripted(new FakeSmtpScript());
        await using var agent = new SmtpDeliveryAgent(Settings(cache: false));
        await agent.DeliverAsync(Request(Message(), server.Nexthop), Bound());
        await agent.DeliverAsync(Request(Message(), server.Nexthop), Bound());
        Assert.Equal(2, server.Accepts);
        Assert.True(await Infrastructure.Repo.WaitUntilAsync(() => server.Commands.Count(c => c == "QUIT") == 2, TimeSpan.FromSeconds(10)));
        Assert.DoesNotContain("RSET", server.Commands);
    }

    [Fact]
    public async Task ConcurrentDeliveriesThroughOneAgentAllSucceed()
    {
        await using var server = FakeSmtpServer.Scripted(new FakeSmtpScript());
        await using var agent = new SmtpDeliveryAgent(Settings());
        var reports = await Task.WhenAll(Enumerable.Range(0, 20).Select(i =>
            agent.DeliverAsync(Request(Message(recipients: [$"r{i}@x"]), server.Nexthop), Bound()).AsTask()));
        Assert.All(reports, r => Assert.Equal(DeliveryStatus.Sent, r.Results[0].Status));
        Assert.Equal(20, server.Messages.Count);
        Assert.True(server.Accepts <= 20);
    }

    [Fact]
    public async Task ConnectionRefusedIsDeferred441WithNoRelay()
    {
        int port = ClosedPort();
        await using var agent = new SmtpDeliveryAgent(Settings());
        var report = await agent.DeliverAsync(Request(Message(recipients: ["a@x", "b@x"]), $"[127.0.0.1]:{port}"), Bound());

        Assert.Equal("none", report.Relay);
        Assert.All(report.Results, r =>
        {
            Assert.Equal((DeliveryStatus.Deferred, "4.4.1"), (r.Status, r.Dsn));
            Assert.Equal($"connect to 127.0.0.1[127.0.0.1]:{port}: Connection refused", r.Diagnostic);
        });
    }

    [Fact]
    public async Task Greeting421IsDeferredAsRefusedToTalk()
    {
        await using var server = FakeSmtpServer.Scripted(new FakeSmtpScript { Greeting = "421 4.3.2 Service shutting down" });
        await using var agent = new SmtpDeliveryAgent(Settings());
        var report = await agent.DeliverAsync(Request(Message(), server.Nexthop), Bound());

        var r = Assert.Single(report.Results);
        Assert.Equal((DeliveryStatus.Deferred, "4.3.2"), (r.Status, r.Dsn));
        Assert.Equal("host 127.0.0.1[127.0.0.1] refused to talk to me: 421 4.3.2 Service shutting down", r.Diagnostic);
        Assert.Equal($"127.0.0.1[127.0.0.1]:{server.Port}", report.Relay);
    }

    [Fact]
    public async Task Greeting554IsDeferredBecauseFiveXxGreetingsAreSkipped()
    {
        await using var server = FakeSmtpServer.Scripted(new FakeSmtpScript { Greeting = "554 5.7.1 No SMTP service here" });
        await using var agent = new SmtpDeliveryAgent(Settings());
        var report = await agent.DeliverAsync(Request(Message(), server.Nexthop), Bound());
        var r = Assert.Single(report.Results);
        Assert.Equal((DeliveryStatus.Deferred, "4.7.1"), (r.Status, r.Dsn));
    }

    [Fact]
    public async Task SilentServerTimesOutWhileReceivingTheGreeting()
    {
        await using var server = FakeSmtpServer.Scripted(new FakeSmtpScript { Greeting = null });
        await using var agent = new SmtpDeliveryAgent(Settings(timeout: TimeSpan.FromSeconds(1)));
        var report = await agent.DeliverAsync(Request(Message(), server.Nexthop), Bound());

        var r = Assert.Single(report.Results);
        Assert.Equal((DeliveryStatus.Deferred, "4.4.2"), (r.Status, r.Dsn));
        Assert.Equal("conversation with 127.0.0.1[127.0.0.1] timed out while receiving the initial server greeting", r.Diagnostic);
    }

    [Fact]
    public async Task SilenceAfterTheFinalDotTimesOut()
    {
        await using var server = FakeSmtpServer.Scripted(new FakeSmtpScript { SilentAfterData = true });
        await using var agent = new SmtpDeliveryAgent(Settings(timeout: TimeSpan.FromSeconds(1)));
        var report = await agent.DeliverAsync(Request(Message(), server.Nexthop), Bound());

        var r = Assert.Single(report.Results);
        Assert.Equal((DeliveryStatus.Deferred, "4.4.2"), (r.Status, r.Dsn));
        Assert.Equal("conversation with 127.0.0.1[127.0.0.1] timed out while sending end of data -- message may be sent more than once",
            r.Diagnostic);
        Assert.Equal(0, agent.CachedConnections);
    }

    [Fact]
    public async Task ServerThatStopsReadingTheBodyTimesOutWhileSendingIt()
    {
        await using var server = new FakeSmtpServer(async (peer, ct) =>
        {
            await peer.SendAsync("220 x ESMTP");
            await peer.ReadLineAsync(ct);
            await peer.SendAsync("250-x\r\n250 PIPELINING\r\n");
            await peer.ReadAvailableUntilAsync("DATA\r\n", ct);
            await peer.SendAsync("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 go\r\n");
            await Task.Delay(Timeout.Infinite, ct); // never read the body
        });
        await using var agent = new SmtpDeliveryAgent(Settings(timeout: TimeSpan.FromSeconds(1)));
        var body = new byte[64 * 1024 * 1024];
        Array.Fill(body, (byte)'x');
        for (int i = 998; i < body.Length; i += 1000) { body[i] = (byte)'\r'; body[i + 1] = (byte)'\n'; }
        var report = await agent.DeliverAsync(Request(Message(body), server.Nexthop), Bound());

        var r = Assert.Single(report.Results);
        Assert.Equal((DeliveryStatus.Deferred, "4.4.2"), (r.Status, r.Dsn));
        Assert.Equal("conversation with 127.0.0.1[127.0.0.1] timed out while sending message body", r.Diagnostic);
    }

    [Fact]
    public async Task ServerHangingUpMidTransactionIsALostConnection()
    {
        await using var server = new FakeSmtpServer(async (peer, ct) =>
        {
            await peer.SendAsync("220 x ESMTP");
            await peer.ReadLineAsync(ct);
            await peer.SendAsync("250 x");
            await peer.ReadLineAsync(ct); // MAIL, then hang up
        });
        await using var agent = new SmtpDeliveryAgent(Settings());
        var report = await agent.DeliverAsync(Request(Message(), server.Nexthop), Bound());

        var r = Assert.Single(report.Results);
        Assert.Equal((DeliveryStatus.Deferred, "4.4.2"), (r.Status, r.Dsn));
        Assert.Equal("lost connection with 127.0.0.1[127.0.0.1] while sending MAIL FROM", r.Diagnostic);
    }

    [Fact]
    public async Task OverlongAndEndlessRepliesAreBounded()
    {
        await using var server = new FakeSmtpServer(async (peer, ct) =>
        {
            await peer.SendAsync("220 x ESMTP");
            await peer.ReadLineAsync(ct);
            var sb = new StringBuilder();
            for (int i = 0; i < 500; i++) sb.Append("250-").Append('X', 5000).Append("\r\n");
            sb.Append("250 PIPELINING\r\n");
            await peer.SendAsync(sb.ToString());
            await peer.ReadLineAsync(ct);
            await peer.SendAsync("550 5.7.1 " + new string('y', 10000));
        });
        await using var agent = new SmtpDeliveryAgent(Settings());
        var report = await agent.DeliverAsync(Request(Message(), server.Nexthop), Bound());

        var r = Assert.Single(report.Results);
        Assert.Equal(DeliveryStatus.Bounced, r.Status);
        Assert.True(r.Diagnostic.Length < 2200, $"diagnostic of {r.Diagnostic.Length} chars");
    }

    [Fact]
    public async Task MalformedNexthopIsAResultNotAnException()
    {
        await using var agent = new SmtpDeliveryAgent(Settings());
        var report = await agent.DeliverAsync(Request(Message(), "[127.0.0.1"), Bound());
        var r = Assert.Single(report.Results);
        Assert.Equal((DeliveryStatus.Deferred, "4.3.5"), (r.Status, r.Dsn));
        Assert.StartsWith("bad destination syntax \"[127.0.0.1\"", r.Diagnostic);
        Assert.Equal("none", report.Relay);
    }

    [Fact]
    public async Task CancellationIsTheOnlyException()
    {
        await using var server = FakeSmtpServer.Scripted(new FakeSmtpScript { Greeting = null });
        await using var agent = new SmtpDeliveryAgent(Settings());
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
            await agent.DeliverAsync(Request(Message(), server.Nexthop), cts.Token));
    }

    internal static int ClosedPort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }
}

// The smtp(8) client against Postfix's own smtp-sink(1): a real peer for the
// happy path, for soft and hard rejections at each command, for dot-stuffing
// (smtp-sink's dump shows what a server reassembles) and for connection reuse.
using System.Text;
using Postfix.Core.Delivery;
using Postfix.Protocols.Smtp;
using Xunit;
using static Postfix.Tests.Smtp.SmtpTestMessages;

namespace Postfix.Tests.Smtp;

public sealed class SmtpSinkDeliveryTests
{
    [Fact]
    public async Task DeliveryToSmtpSinkIsSent()
    {
        await using var sink = await SmtpSinkProcess.StartAsync();
        await using var agent = new SmtpDeliveryAgent(Settings());
        var report = await agent.DeliverAsync(Request(Message(recipients: ["a@example.net", "b@example.net"]), sink.Nexthop), Bound());

        Assert.Equal($"127.0.0.1[127.0.0.1]:{sink.Port}", report.Relay);
        Assert.All(report.Results, r =>
        {
            Assert.Equal((DeliveryStatus.Sent, "2.0.0"), (r.Status, r.Dsn));
            Assert.StartsWith("250 2.0.0", r.Diagnostic);
        });
        Assert.True(await sink.WaitForMessagesAsync(1), sink.Output);
        var dump = Assert.Single(sink.Dumps());
        Assert.Contains("X-Mail-Args: <sender@example.org>\n", dump); // smtp-sink offers no SIZE
        Assert.Contains("X-Rcpt-Args: <a@example.net>", dump);
        Assert.Contains("X-Rcpt-Args: <b@example.net>", dump);
        Assert.Contains("X-Helo-Args: client.example", dump);
        Assert.True(report.ConnectTime >= TimeSpan.Zero && report.TransmitTime >= TimeSpan.Zero);
    }

    [Fact]
    public async Task SmtpSinkReassemblesTheDotStuffedBody()
    {
        await using var sink = await SmtpSinkProcess.StartAsync();
        await using var agent = new SmtpDeliveryAgent(Settings());
        const string content = "Subject: dots\r\n\r\n.one\r\n..two\r\n.\r\nend\r\n";
        var report = await agent.DeliverAsync(Request(Message(content), sink.Nexthop), Bound());
        Assert.Equal(DeliveryStatus.Sent, report.Results[0].Status);
        Assert.True(await sink.WaitForMessagesAsync(1), sink.Output);
        var dump = Assert.Single(sink.Dumps());
        Assert.Contains("Subject: dots\n\n.one\n..two\n.\nend\n", dump.Replace("\r\n", "\n"));
    }

    [Fact]
    public async Task SoftRcptRejectionIsDeferred()
    {
        await using var sink = await SmtpSinkProcess.StartAsync("-r", "RCPT");
        await using var agent = new SmtpDeliveryAgent(Settings());
        var report = await agent.DeliverAsync(Request(Message(), sink.Nexthop), Bound());

        var r = Assert.Single(report.Results);
        Assert.Equal((DeliveryStatus.Deferred, "4.3.0"), (r.Status, r.Dsn));
        Assert.Equal("host 127.0.0.1[127.0.0.1] said: 450 4.3.0 Error: command failed (in reply to RCPT TO command)", r.Diagnostic);
    }

    [Fact]
    public async Task HardRejectionsAtEachStageBounceNamingTheCommand()
    {
        foreach (var (command, inReplyTo) in new[] { ("MAIL", "MAIL FROM command"), ("RCPT", "RCPT TO command"), ("DATA", "DATA command"), (".", "end of DATA command") })
        {
            await using var sink = await SmtpSinkProcess.StartAsync("-f", command);
            await using var agent = new SmtpDeliveryAgent(Settings());
            var report = await agent.DeliverAsync(Request(Message(), sink.Nexthop), Bound());
            var r = Assert.Single(report.Results);
            Assert.Equal((DeliveryStatus.Bounced, "5.3.0"), (r.Status, r.Dsn));
            Assert.Equal($"host 127.0.0.1[127.0.0.1] said: 500 5.3.0 Error: command failed (in reply to {inReplyTo})", r.Diagnostic);
        }
    }

    [Fact]
    public async Task GreetingRejectionIsDeferred()
    {
        await using var sink = await SmtpSinkProcess.StartAsync("-Q", "CONNECT");
        await using var agent = new SmtpDeliveryAgent(Settings());
        var report = await agent.DeliverAsync(Request(Message(), sink.Nexthop), Bound());
        var r = Assert.Single(report.Results);
        Assert.Equal(DeliveryStatus.Deferred, r.Status);
        Assert.StartsWith("host 127.0.0.1[127.0.0.1] refused to talk to me: 421", r.Diagnostic);
    }

    [Fact]
    public async Task ManyMessagesReuseOneConnection()
    {
        await using var sink = await SmtpSinkProcess.StartAsync();
        await using var agent = new SmtpDeliveryAgent(Settings());
        for (int i = 0; i < 20; i++)
        {
            var report = await agent.DeliverAsync(Request(Message(Encoding.ASCII.GetBytes($"Subject: {i}\r\n\r\nbody {i}\r\n")), sink.Nexthop), Bound());
            Assert.Equal(DeliveryStatus.Sent, report.Results[0].Status);
        }
        Assert.True(await sink.WaitForMessagesAsync(20), sink.Output);
        Assert.Equal(1, agent.CachedConnections);
        Assert.All(sink.Dumps(), d => Assert.Contains("X-Helo-Args: client.example", d));
    }
}

// lmtp(8): LHLO, and one end-of-data reply per accepted recipient (RFC 2033
// section 4.2), against a scripted LMTP server and against smtp-sink -L.
using Postfix.Core.Delivery;
using Postfix.Protocols.Smtp;
using Xunit;
using static Postfix.Tests.Smtp.SmtpTestMessages;

namespace Postfix.Tests.Smtp;

public sealed class LmtpDeliveryTests
{
    [Fact]
    public async Task EachAcceptedRecipientGetsItsOwnFinalReply()
    {
        await using var server = FakeSmtpServer.Scripted(new FakeSmtpScript
        {
            Greeting = "220 lmtp.example LMTP",
            Rcpt = l => l.Contains("<nouser@") ? "550 5.1.1 <nouser@x>: no such user" : "250 2.1.5 Ok",
            EndOfData = (rcpts, _) => rcpts.Select(r =>
                r.Contains("<full@") ? "452 4.2.2 <full@x>: Mailbox full"
                : r.Contains("<bad@") ? "554 5.6.0 <bad@x>: content rejected"
                : $"250 2.0.0 {r[8..]} delivered"),
        });
        await using var agent = new SmtpDeliveryAgent(Settings(lmtp: true));
        var msg = Message(recipients: ["a@x", "nouser@x", "full@x", "bad@x", "b@x"]);
        var report = await agent.DeliverAsync(Request(msg, $"inet:127.0.0.1:{server.Port}", "lmtp"), Bound());

        Assert.Contains("LHLO client.example", server.Commands);
        Assert.Collection(report.Results,
            r => Assert.Equal((DeliveryStatus.Sent, "2.0.0", "250 2.0.0 <a@x> delivered"), (r.Status, r.Dsn, r.Diagnostic)),
            r => Assert.Equal((DeliveryStatus.Bounced, "5.1.1"), (r.Status, r.Dsn)),
            r => Assert.Equal((DeliveryStatus.Deferred, "4.2.2",
                "host 127.0.0.1[127.0.0.1] said: 452 4.2.2 <full@x>: Mailbox full (in reply to end of DATA command)"),
                (r.Status, r.Dsn, r.Diagnostic)),
            r => Assert.Equal((DeliveryStatus.Bounced, "5.6.0"), (r.Status, r.Dsn)),
            r => Assert.Equal((DeliveryStatus.Sent, "250 2.0.0 <b@x> delivered"), (r.Status, r.Diagnostic)));
        Assert.Equal($"127.0.0.1[127.0.0.1]:{server.Port}", report.Relay);
    }

    [Fact]
    public async Task LmtpDefaultPortIs24()
    {
        Assert.Equal(24, new SmtpClientSettings { Lmtp = true }.DefaultPort);
        Assert.Equal(25, new SmtpClientSettings().DefaultPort);
        Assert.True(SmtpNexthop.TryParse("inet:mailhost", 24, true, out var hop, out _));
        Assert.Equal(24, hop.Port);
        await Task.CompletedTask;
    }

    [Fact]
    public async Task SmtpSinkInLmtpModeAcceptsEveryRecipient()
    {
        await using var sink = await SmtpSinkProcess.StartAsync("-L");
        await using var agent = new SmtpDeliveryAgent(Settings(lmtp: true));
        var report = await agent.DeliverAsync(Request(Message(recipients: ["a@x", "b@x", "c@x"]), $"inet:127.0.0.1:{sink.Port}", "lmtp"), Bound());
        Assert.All(report.Results, r => Assert.Equal((DeliveryStatus.Sent, "2.2.0", "250 2.2.0 Ok"), (r.Status, r.Dsn, r.Diagnostic)));
        Assert.True(await sink.WaitForMessagesAsync(1));
    }
}

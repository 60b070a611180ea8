// transport_maps end to end: two domains routed by an inline: table to two
// different smtp-sinks.
using Postfix.Tests.Infrastructure;
using Xunit;

namespace Postfix.Tests.Relay;

public sealed class TransportMapsRelayTests
{
    [Fact]
    public async Task InlineTransportMapRoutesEachDomainToItsSink()
    {
        await using var a = await SmtpSink.StartAsync();
        await using var b = await SmtpSink.StartAsync();
        await using var mta = await MtaInstance.StartAsync($$"""
            defer_transports =
            transport_maps = inline:{ a.test = smtp:[127.0.0.1]:{{a.Port}}, b.test = relay:[127.0.0.1]:{{b.Port}} }
            """);
        await using (var c = await SmtpTestClient.ConnectAsync(mta.Port))
        {
            await c.ReadReplyAsync();
            for (int i = 0; i < 5; i++)
            {
                await c.SendMessageAsync("s@example.org", $"x{i}@a.test", "Subject: a\r\n\r\nx\r\n");
                await c.SendMessageAsync("s@example.org", $"y{i}@b.test", "Subject: b\r\n\r\ny\r\n");
            }
        }
        await RelayTests.WaitForEmptyQueueAsync(mta, TimeSpan.FromSeconds(60));
        Assert.Equal(5, a.Transactions);
        Assert.Equal(5, b.Transactions);
        Assert.All(a.RcptArgs, r => Assert.EndsWith("@a.test", r));
        Assert.All(b.RcptArgs, r => Assert.EndsWith("@b.test", r));
        Assert.Contains("postfix/relay[", mta.Maillog);
    }
}

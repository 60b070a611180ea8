// smtpd_client_connection_count_limit (anvil): a client past its limit gets
// 421 4.7.0 and is disconnected; the others keep working. Loopback is exempt by
// default (smtpd_client_event_limit_exceptions = $mynetworks), so the test
// empties the exception list.
using Postfix.Tests.Infrastructure;
using Xunit;

namespace Postfix.Tests.Queue;

public sealed class ClientLimitTests
{
    [Fact]
    public async Task ConnectionCountLimitAnswers421()
    {
        await using var mta = await MtaInstance.StartAsync(
            "smtpd_client_connection_count_limit = 3\nsmtpd_client_event_limit_exceptions =");
        // The fixture's "is it listening" probe is a session too: wait until it has left.
        Assert.True(await Repo.WaitUntilAsync(() => mta.Maillog.Contains("disconnect from unknown[127.0.0.1]"), TimeSpan.FromSeconds(10)));
        var open = new List<SmtpTestClient>();
        try
        {
            for (int i = 0; i < 3; i++)
            {
                var c = await SmtpTestClient.ConnectAsync(mta.Port);
                open.Add(c);
                Assert.StartsWith("220 ", await c.ReadReplyAsync());
            }
            await using (var fourth = await SmtpTestClient.ConnectAsync(mta.Port))
            {
                var reply = await fourth.ReadReplyAsync();
                Assert.StartsWith("421 4.7.0 ", reply);
                Assert.Contains("too many connections from 127.0.0.1", reply);
                Assert.True(await fourth.IsClosedAsync());
            }
            // The admitted sessions still work, and a slot frees when one leaves.
            await open[0].SendAsync("NOOP\r\n");
            Assert.StartsWith("250 ", await open[0].ReadReplyAsync());
            await open[0].SendAsync("QUIT\r\n");
            Assert.StartsWith("221 ", await open[0].ReadReplyAsync());
            Assert.True(await open[0].IsClosedAsync());
            await open[0].DisposeAsync();
            open.RemoveAt(0);
            bool admitted = false;
            for (int i = 0; i < 50 && !admitted; i++)
            {
                await using var probe = await SmtpTestClient.ConnectAsync(mta.Port);
                admitted = (await probe.ReadReplyAsync()).StartsWith("220 ");
                if (!admitted) await Task.Delay(200);
            }
            Assert.True(admitted);
        }
        finally
        {
            foreach (var c in open) await c.DisposeAsync();
        }
    }
}

// smtpd(8) with smtpd_timeout = 2s: an idle client, in the command phase or in
// the middle of DATA, gets Postfix's "421 4.4.2 ... timeout exceeded" and the
// connection is closed; the maillog says after which command.
using System.Diagnostics;
using Xunit;

namespace Postfix.Tests.Smtpd;

public sealed class SmtpdTimeoutTests(SmtpdTimeoutTests.Fixture mta) : IClassFixture<SmtpdTimeoutTests.Fixture>
{
    public sealed class Fixture : MtaFixture
    {
        protected override string MainCfExtra => "smtpd_timeout = 2s";
    }

    [Fact]
    public async Task IdleClientGets421AndIsDisconnected()
    {
        using var wire = await SmtpWire.OpenAsync(mta.Port);
        var sw = Stopwatch.StartNew();
        var reply = await wire.ReadReplyAsync();
        Assert.StartsWith("421 4.4.2 mx.test.example Error: timeout exceeded", reply.Last);
        Assert.True(sw.Elapsed >= TimeSpan.FromSeconds(1.5), $"timed out after only {sw.Elapsed}");
        Assert.True(await wire.ClosedByServerAsync());
        Assert.Contains("timeout after CONNECT from", await mta.WaitForMaillogAsync("timeout after CONNECT from"));
    }

    [Fact]
    public async Task ClientStallingInDataGets421()
    {
        using var wire = await SmtpWire.OpenAsync(mta.Port);
        await wire.SendAsync("EHLO c\r\nMAIL FROM:<s@c>\r\nRCPT TO:<r@localhost>\r\nDATA\r\n");
        Assert.Equal(354, (await wire.ReadRepliesAsync(4))[3].Code);
        await wire.SendAsync("Subject: stall\r\n\r\nhalf a mess");
        Assert.StartsWith("421 4.4.2 ", (await wire.ReadReplyAsync()).Last);
        Assert.True(await wire.ClosedByServerAsync());
        Assert.Contains("timeout after DATA from", await mta.WaitForMaillogAsync("timeout after DATA from"));
    }

    [Fact]
    public async Task ActiveClientIsNotTimedOut()
    {
        using var wire = await SmtpWire.OpenAsync(mta.Port);
        // Four commands 1 s apart: 4 s in all, but never 2 s idle.
        for (int i = 0; i < 4; i++)
        {
            Assert.Equal(250, (await wire.CommandAsync("NOOP")).Code);
            await Task.Delay(1000);
        }
        Assert.Equal(250, (await wire.CommandAsync("NOOP")).Code);
    }

    [Fact]
    public async Task SlowlorisOneBytePerSecondStillTimesOut()
    {
        using var wire = await SmtpWire.OpenAsync(mta.Port);
        var sw = Stopwatch.StartNew();
        // A command that never completes, one byte every 500 ms: the deadline is
        // per command, not per byte, so the 2 s timeout still fires.
        var send = Task.Run(async () =>
        {
            try
            {
                foreach (char c in "EHLO slow.example.com")
                {
                    await wire.SendAsync(c.ToString());
                    await Task.Delay(500);
                }
            }
            catch (IOException) { }
            catch (System.Net.Sockets.SocketException) { }
        });
        var reply = await wire.ReadReplyAsync();
        Assert.StartsWith("421 4.4.2 ", reply.Last);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(8), $"took {sw.Elapsed}");
        await send;
    }
}

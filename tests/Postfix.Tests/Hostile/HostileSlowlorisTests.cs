// Slowloris against smtpd with smtpd_timeout = 3s: clients that dribble one
// byte per second (a command that never ends, or DATA that never reaches a
// kilobyte) are cut off with Postfix's "421 4.4.2 <host> Error: timeout
// exceeded" and the connection closed, because the deadline is per command
// and per KB of data, not per byte. Meanwhile a well-behaved client is served
// a full transaction. Every loop is bounded in bytes and in time.
using System.Diagnostics;
using Postfix.Tests.Infrastructure;
using Postfix.Tests.Smtpd;
using Xunit;

namespace Postfix.Tests.Hostile;

public sealed class HostileSlowlorisTests(HostileSlowlorisTests.Fixture mta) : IClassFixture<HostileSlowlorisTests.Fixture>
{
    public sealed class Fixture : MtaFixture
    {
        protected override string MainCfExtra => """
            smtpd_timeout = 3s
            smtpd_error_sleep_time = 0
            """;
    }

    /// <summary>Far past smtpd_timeout plus the 1 s timer tick: only a hung server takes this long.</summary>
    private static readonly TimeSpan LivenessBound = TimeSpan.FromSeconds(45);

    private const int MaxDribbledBytes = 60; // one per second: bounded even if the server never answers

    [Fact]
    public async Task OneBytePerSecondCommandIsClosedWithTimeoutWhileAGoodClientIsServed()
    {
        await using var lorises = new LorisGroup();
        for (int i = 0; i < 10; i++)
            lorises.Start(await SmtpWire.OpenAsync(mta.Port), "EHLO slowloris.example.com and then some more text\r\n");

        // While they dribble: a complete transaction, queued.
        await GoodTransactionAsync();

        foreach (var reply in await lorises.RepliesAsync(LivenessBound))
            Assert.Equal("421 4.4.2 mx.test.example Error: timeout exceeded", reply);
        Assert.True(await lorises.AllClosedAsync());
        Assert.True(await Repo.WaitUntilAsync(() => Count(mta.Mta.Maillog, "timeout after CONNECT from") >= 10, TimeSpan.FromSeconds(10)),
            "maillog: " + Count(mta.Mta.Maillog, "timeout after CONNECT from") + " timeouts logged");
        await GoodTransactionAsync();
    }

    [Fact]
    public async Task OneBytePerSecondDataIsClosedWithTimeoutAndNothingIsQueued()
    {
        int before = await mta.Mta.QueueCountAsync();
        await using var lorises = new LorisGroup();
        for (int i = 0; i < 5; i++)
        {
            var w = await SmtpWire.OpenAsync(mta.Port);
            await w.SendAsync("EHLO slow.example\r\nMAIL FROM:<s@slow.example>\r\nRCPT TO:<r@example.net>\r\nDATA\r\n");
            var replies = await w.ReadRepliesAsync(4);
            Assert.Equal(354, replies[3].Code);
            lorises.Start(w, "Subject: slow\r\n\r\n" + new string('x', 200) + "\r\n.\r\n");
        }

        await GoodTransactionAsync();

        foreach (var reply in await lorises.RepliesAsync(LivenessBound))
            Assert.Equal("421 4.4.2 mx.test.example Error: timeout exceeded", reply);
        Assert.True(await lorises.AllClosedAsync());
        Assert.Contains("timeout after DATA from", await mta.WaitForMaillogAsync("timeout after DATA from"));
        Assert.Equal(before + 1, await mta.Mta.QueueCountAsync()); // only the good transaction
    }

    private static int Count(string log, string text) => log.Split('\n').Count(l => l.Contains(text));

    private async Task GoodTransactionAsync()
    {
        using var w = await SmtpWire.OpenAsync(mta.Port);
        Assert.Equal(250, (await w.CommandAsync("EHLO good.example")).Code);
        Assert.Equal(250, (await w.CommandAsync("MAIL FROM:<good@good.example>")).Code);
        Assert.Equal(250, (await w.CommandAsync("RCPT TO:<r@example.net>")).Code);
        Assert.Equal(354, (await w.CommandAsync("DATA")).Code);
        await w.SendAsync("Subject: served\r\n\r\nwhile others dribble\r\n.\r\n");
        Assert.StartsWith("250 2.0.0 Ok: queued as ", (await w.ReadReplyAsync()).Last);
        Assert.Equal(221, (await w.CommandAsync("QUIT")).Code);
    }

    /// <summary>Connections that each send one byte per second until the server closes them.</summary>
    private sealed class LorisGroup : IAsyncDisposable
    {
        private readonly List<(SmtpWire Wire, Task Sender, CancellationTokenSource Stop)> _lorises = [];

        public void Start(SmtpWire wire, string text)
        {
            var stop = new CancellationTokenSource();
            var sender = Task.Run(async () =>
            {
                foreach (char c in text.Take(MaxDribbledBytes))
                {
                    if (stop.IsCancellationRequested) return;
                    try { await wire.SendAsync(c.ToString()); }
                    catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or OperationCanceledException or ObjectDisposedException) { return; }
                    try { await Task.Delay(1000, stop.Token); } catch (OperationCanceledException) { return; }
                }
            });
            _lorises.Add((wire, sender, stop));
        }

        /// <summary>The last line of each connection's next reply, waiting at most <paramref name="bound"/> in all.</summary>
        public async Task<List<string>> RepliesAsync(TimeSpan bound)
        {
            var sw = Stopwatch.StartNew();
            var replies = new List<string>();
            foreach (var (wire, _, _) in _lorises)
            {
                Assert.True(sw.Elapsed < bound, "slowloris connections were not answered within the bound");
                replies.Add((await wire.ReadReplyAsync()).Last);
            }
            return replies;
        }

        public async Task<bool> AllClosedAsync()
        {
            foreach (var (wire, _, _) in _lorises)
                if (!await wire.ClosedByServerAsync()) return false;
            return true;
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var (_, _, stop) in _lorises) await stop.CancelAsync();
            await Task.WhenAll(_lorises.Select(l => l.Sender));
            foreach (var (wire, _, stop) in _lorises)
            {
                wire.Dispose();
                stop.Dispose();
            }
        }
    }
}

// Replays every case of the hostile-input corpus (corpus/*.smtp) against a
// real MTA over a raw socket. Per case: the exact reply codes in order (and
// the enhanced status or text where the case gives it), the connection closed
// where it must be, no hang (every read and write is bounded), exactly the
// declared number of messages queued (postqueue -n before and after, and the
// cleanup log lines), every acknowledged queue ID really in the queue, and
// afterwards the MTA still running and serving a well-behaved client.
using System.Text.RegularExpressions;
using System.Threading.Channels;
using Postfix.Tests.Infrastructure;
using Postfix.Tests.Smtpd;
using Xunit;

namespace Postfix.Tests.Hostile;

public sealed partial class HostileCorpusTests(HostileMtaPool pool) : IClassFixture<HostileMtaPool>
{
    public static IEnumerable<object[]> Cases => HostileCorpus.All.Select(c => new object[] { c.Id });

    [Fact]
    public void CorpusHasAtLeast150Cases()
    {
        Assert.True(HostileCorpus.All.Count >= 150, $"only {HostileCorpus.All.Count} cases");
        Assert.Equal(HostileCorpus.All.Count, HostileCorpus.All.Select(c => c.Id).Distinct().Count());
    }

    [Fact]
    public void CorpusEscapesDecodeAsDocumented()
    {
        Assert.Equal(new byte[] { (byte)'a', 13, 10, 0, 32, (byte)'\\', 9 }, HostileCorpus.Unescape(@"a\r\n\0\s\\\t"));
        Assert.Equal(new byte[] { 0xC3, 0x28 }, HostileCorpus.Unescape(@"\xC3\x28"));
        Assert.Equal("abab"u8.ToArray(), HostileCorpus.Unescape(@"\{2:ab}"));
        Assert.Equal("xyyxyy"u8.ToArray(), HostileCorpus.Unescape(@"\{2:x\{2:y}}"));
        Assert.Equal("é"u8.ToArray(), HostileCorpus.Unescape("é"));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Replay(string id)
    {
        var c = HostileCorpus.Find(id);
        var mta = await pool.GetAsync(c.MainCf);
        int logStart = mta.Maillog.Length;
        int before = pool.LastQueueCount(mta);

        List<string> acknowledged;
        try { acknowledged = await RunStepsAsync(c, mta.Port); }
        catch
        {
            // Keep the next case's queue arithmetic honest even when this one failed half way.
            pool.SetQueueCount(mta, await mta.QueueCountAsync());
            throw;
        }

        // Exactly what the case declares was acknowledged, and is in the queue.
        Assert.True(c.Queued == acknowledged.Count,
            $"{c.Id}: expected {c.Queued} message(s) acknowledged, got {acknowledged.Count}");
        int after = before;
        await Repo.WaitUntilAsync(() => (after = mta.QueueCountAsync().GetAwaiter().GetResult()) == before + c.Queued,
            TimeSpan.FromSeconds(10), 200);
        pool.SetQueueCount(mta, after);
        Assert.True(after == before + c.Queued, $"{c.Id}: queue went from {before} to {after}, expected +{c.Queued}");
        foreach (var qid in acknowledged)
        {
            bool seen = await Repo.WaitUntilAsync(() => mta.Maillog.Contains($"{qid}: from=<"), TimeSpan.FromSeconds(10));
            Assert.True(seen, $"{c.Id}: acknowledged {qid} never reached the queue manager");
        }
        var log = mta.Maillog[logStart..];
        var committed = CleanupLine().Matches(log).Select(m => m.Groups[1].Value).ToHashSet();
        Assert.True(committed.SetEquals(acknowledged),
            $"{c.Id}: cleanup committed [{string.Join(",", committed)}] but the client was told [{string.Join(",", acknowledged)}]");

        // No crash: the process lives, logged nothing fatal, and serves a well-behaved client.
        Assert.True(mta.IsRunning, $"{c.Id}: MTA exited: {mta.Stderr}");
        Assert.DoesNotContain(" fatal: ", log);
        Assert.DoesNotContain(" panic: ", log);
        Assert.DoesNotContain("Unhandled exception", mta.Stderr);
        await WellBehavedClientAsync(mta.Port);
    }

    /// <summary>Plays the steps; sends go through a writer task so a case can pipeline far past the socket buffers.</summary>
    private static async Task<List<string>> RunStepsAsync(HostileCase c, int port)
    {
        var acknowledged = new List<string>();
        using var wire = await SmtpWire.ConnectAsync(port);
        var greeting = await wire.ReadReplyAsync();
        Assert.True(greeting.Code == 220, $"{c.Id}: greeting {greeting}");
        var sends = Channel.CreateUnbounded<byte[]>(new UnboundedChannelOptions { SingleReader = true });
        var writer = Task.Run(async () =>
        {
            await foreach (var bytes in sends.Reader.ReadAllAsync())
            {
                try { await wire.SendAsync(bytes); }
                catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or OperationCanceledException or ObjectDisposedException)
                {
                    return; // the server closed first: what is left is never read, as intended
                }
            }
        });
        try
        {
            int replyNo = 0;
            foreach (var step in c.Steps)
            {
                switch (step.Kind)
                {
                    case HostileStepKind.Send:
                        sends.Writer.TryWrite(step.Bytes);
                        break;
                    case HostileStepKind.Expect:
                        replyNo++;
                        SmtpReply reply;
                        try { reply = await wire.ReadReplyAsync(); }
                        catch (Exception e) when (e is IOException or TimeoutException or InvalidDataException)
                        {
                            throw new Xunit.Sdk.XunitException($"{c.Id} ({step}), reply #{replyNo}: {e.Message}");
                        }
                        if (reply.Code != step.Code || !reply.Last.StartsWith(step.Prefix, StringComparison.Ordinal))
                            throw new Xunit.Sdk.XunitException($"{c.Id} ({step}), reply #{replyNo}: got \"{reply.Last}\"");
                        var m = QueuedAs().Match(reply.Last);
                        if (m.Success) acknowledged.Add(m.Groups[1].Value);
                        break;
                    case HostileStepKind.Closed:
                        if (!await wire.ClosedByServerAsync())
                        {
                            string extra = "";
                            try { extra = (await wire.ReadReplyAsync()).ToString(); } catch (Exception e) when (e is IOException or TimeoutException or InvalidDataException) { }
                            throw new Xunit.Sdk.XunitException($"{c.Id} ({step}): connection still open; next: {extra}");
                        }
                        break;
                }
            }
        }
        finally
        {
            sends.Writer.Complete();
            if (await Task.WhenAny(writer, Task.Delay(SmtpWire.ReadTimeout)) != writer)
                throw new Xunit.Sdk.XunitException($"{c.Id}: the client could not finish sending within {SmtpWire.ReadTimeout}");
        }
        // Any reply the case did not expect would have shown up in the next R step;
        // a case that ends open is simply dropped by the client.
        return acknowledged;
    }

    private static async Task WellBehavedClientAsync(int port)
    {
        using var w = await SmtpWire.OpenAsync(port);
        Assert.Equal(250, (await w.CommandAsync("EHLO well.behaved.example")).Code);
        Assert.Equal(250, (await w.CommandAsync("MAIL FROM:<good@well.behaved.example>")).Code);
        Assert.Equal(250, (await w.CommandAsync("RCPT TO:<friend@example.net>")).Code);
        Assert.Equal(250, (await w.CommandAsync("RSET")).Code);
        Assert.Equal(221, (await w.CommandAsync("QUIT")).Code);
    }

    [GeneratedRegex(@"^250 2\.0\.0 Ok: queued as ([0-9A-F]+)$")]
    private static partial Regex QueuedAs();

    [GeneratedRegex(@"postfix/cleanup\[\d+\]: ([0-9A-F]+): message-id=")]
    private static partial Regex CleanupLine();
}

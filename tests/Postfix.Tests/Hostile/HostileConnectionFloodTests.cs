// 5 000 concurrent loopback connections against one smtpd, from 100 source
// addresses (127.0.0.2 .. 127.0.0.101) so that Postfix's per-client limit
// (smtpd_client_connection_count_limit = 50; loopback is not exempted here)
// decides: each address opens 55, the first 50 get 220 and stay open, the
// other 5 get "421 4.7.0 <host> Error: too many connections from <addr>" and
// are closed. While all 5 000 are open a well-behaved client completes a
// transaction; afterwards the MTA is alive and its open file descriptors
// (/proc/PID/fd) return to near the baseline, and the per-client counts are
// released. Limits here: ulimit -n is 20000 for both processes (checked).
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Postfix.Tests.Infrastructure;
using Postfix.Tests.Smtpd;
using Xunit;

namespace Postfix.Tests.Hostile;

public sealed class HostileConnectionFloodTests(HostileConnectionFloodTests.Fixture mta) : IClassFixture<HostileConnectionFloodTests.Fixture>
{
    public sealed class Fixture : MtaFixture
    {
        protected override string MainCfExtra => """
            smtpd_client_connection_count_limit = 50
            smtpd_client_event_limit_exceptions =
            smtpd_error_sleep_time = 0
            """;
    }

    private const int Sources = 100;
    private const int PerClientLimit = 50;
    private const int PerSource = 55;
    private const int Held = Sources * PerClientLimit; // 5 000
    private const int MaxConnectsInFlight = 64;        // below Kestrel's listen backlog (512)
    private static readonly TimeSpan Bound = TimeSpan.FromMinutes(4);

    [Fact]
    public async Task FiveThousandConnectionsGetPerClientLimitsAndTheServerStaysResponsive()
    {
        Assert.True(OpenFileLimit(Environment.ProcessId) >= Held + 1000, "the test process cannot hold 5 000 sockets");
        int pid = mta.Mta.ProcessId;
        Assert.True(OpenFileLimit(pid) >= Held + 1000, "the MTA cannot hold 5 000 sockets");
        int baseline = OpenFds(pid);

        using var deadline = new CancellationTokenSource(Bound);
        var gate = new SemaphoreSlim(MaxConnectsInFlight);
        var open = new List<Socket>[Sources];
        var rejected = new int[Sources];
        try
        {
            await Task.WhenAll(Enumerable.Range(0, Sources).Select(async s =>
            {
                var source = IPAddress.Parse($"127.0.0.{s + 2}");
                open[s] = [];
                for (int i = 0; i < PerSource; i++)
                {
                    await gate.WaitAsync(deadline.Token);
                    Socket sock;
                    string reply;
                    try
                    {
                        sock = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                        sock.Bind(new IPEndPoint(source, 0));
                        await sock.ConnectAsync(new IPEndPoint(IPAddress.Loopback, mta.Port), deadline.Token);
                        reply = await ReadLineAsync(sock, deadline.Token);
                    }
                    finally { gate.Release(); }
                    if (reply.StartsWith("220 ", StringComparison.Ordinal)) open[s].Add(sock);
                    else
                    {
                        Assert.Equal($"421 4.7.0 mx.test.example Error: too many connections from {source}", reply);
                        Assert.Equal("", await ReadLineAsync(sock, deadline.Token)); // then closed
                        rejected[s]++;
                        sock.Dispose();
                    }
                }
            }));

            Assert.All(open, list => Assert.Equal(PerClientLimit, list.Count));
            Assert.All(rejected, n => Assert.Equal(PerSource - PerClientLimit, n));
            // Every held connection is a socket in the MTA (a few fds of its own come and go).
            Assert.True(OpenFds(pid) >= baseline + Held - 20, $"the MTA holds {OpenFds(pid) - baseline} more fds, expected {Held}");

            // All 5 000 open: a well-behaved client is served a whole transaction,
            // and every held connection still answers.
            int before = await mta.Mta.QueueCountAsync();
            await GoodTransactionAsync();
            Assert.Equal(before + 1, await mta.Mta.QueueCountAsync());
            foreach (var sock in open.Select(l => l[0]))
            {
                await sock.SendAsync("NOOP\r\n"u8.ToArray(), deadline.Token);
                Assert.Equal("250 2.0.0 Ok", await ReadLineAsync(sock, deadline.Token));
            }
        }
        finally
        {
            foreach (var list in open) foreach (var sock in list ?? []) sock.Dispose();
        }

        Assert.True(mta.Mta.IsRunning, "the MTA exited: " + mta.Mta.Stderr);
        bool released = await Repo.WaitUntilAsync(() => OpenFds(pid) <= baseline + 20, TimeSpan.FromSeconds(60), 250);
        Assert.True(released, $"the MTA still holds {OpenFds(pid) - baseline} fds over its baseline of {baseline}");
        Assert.Contains("Connection concurrency limit exceeded", mta.Mta.Maillog);

        // The per-client counts went back to zero: one address gets its 50 again.
        var again = new List<Socket>();
        try
        {
            for (int i = 0; i < PerClientLimit; i++)
            {
                var sock = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                again.Add(sock);
                sock.Bind(new IPEndPoint(IPAddress.Parse("127.0.0.2"), 0));
                await sock.ConnectAsync(new IPEndPoint(IPAddress.Loopback, mta.Port), deadline.Token);
                Assert.StartsWith("220 ", await ReadLineAsync(sock, deadline.Token));
            }
        }
        finally { foreach (var sock in again) sock.Dispose(); }
        await GoodTransactionAsync();
    }

    private async Task GoodTransactionAsync()
    {
        using var w = await SmtpWire.OpenAsync(mta.Port);
        Assert.Equal(250, (await w.CommandAsync("EHLO good.example")).Code);
        Assert.Equal(250, (await w.CommandAsync("MAIL FROM:<good@good.example>")).Code);
        Assert.Equal(250, (await w.CommandAsync("RCPT TO:<r@example.net>")).Code);
        Assert.Equal(354, (await w.CommandAsync("DATA")).Code);
        await w.SendAsync("Subject: served\r\n\r\nduring the flood\r\n.\r\n");
        Assert.StartsWith("250 2.0.0 Ok: queued as ", (await w.ReadReplyAsync()).Last);
        Assert.Equal(221, (await w.CommandAsync("QUIT")).Code);
    }

    /// <summary>One CRLF line, read byte by byte (replies here are short); "" on EOF. Bounded by the caller's token and 30 s.</summary>
    private static async Task<string> ReadLineAsync(Socket sock, CancellationToken ct)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(TimeSpan.FromSeconds(30));
        var line = new StringBuilder();
        var one = new byte[1];
        while (true)
        {
            int n;
            try { n = await sock.ReceiveAsync(one, cts.Token); }
            catch (SocketException) { return line.ToString(); }
            if (n == 0) return line.ToString();
            if (one[0] == (byte)'\n') return line.ToString().TrimEnd('\r');
            line.Append((char)one[0]);
            if (line.Length > 1000) throw new InvalidDataException("reply line too long");
        }
    }

    private static int OpenFds(int pid) => Directory.GetFiles($"/proc/{pid}/fd").Length;

    private static long OpenFileLimit(int pid)
    {
        var line = File.ReadAllLines($"/proc/{pid}/limits").First(l => l.StartsWith("Max open files", StringComparison.Ordinal));
        var soft = line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries)[0];
        return soft == "unlimited" ? long.MaxValue : long.Parse(soft, System.Globalization.CultureInfo.InvariantCulture);
    }
}

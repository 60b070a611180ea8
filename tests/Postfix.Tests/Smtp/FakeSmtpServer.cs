// Test peer: a loopback TCP server whose per-connection behaviour is a
// script, for replies smtp-sink cannot give (per-recipient codes, silence,
// 421 banners, LMTP per-recipient end-of-data replies). Counts accepted
// connections and records every command and every DATA payload as wire bytes.
// Every read is bounded, so a misbehaving client fails a test, never hangs it.
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Postfix.Tests.Smtp;

internal sealed class FakeSmtpServer : IAsyncDisposable
{
    public static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(15);

    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Func<FakeSmtpPeer, CancellationToken, Task> _handler;
    private readonly ConcurrentBag<Task> _sessions = [];
    private readonly Task _acceptLoop;
    private int _accepts;

    /// <param name="acceptThread">Accept on a thread of its own and note each accept's time in
    /// <see cref="AcceptTimes"/> there: a busy thread pool in the test process cannot then delay or
    /// bunch the times (receivers that measure rates).</param>
    public FakeSmtpServer(Func<FakeSmtpPeer, CancellationToken, Task> handler, IPAddress? address = null, int port = 0,
        bool acceptThread = false)
    {
        _handler = handler;
        _listener = new TcpListener(address ?? IPAddress.Loopback, port);
        _listener.Start();
        Address = address ?? IPAddress.Loopback;
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        if (!acceptThread) _acceptLoop = AcceptLoopAsync();
        else
        {
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _acceptLoop = done.Task;
            new Thread(() => { AcceptLoopOnThread(); done.SetResult(); }) { IsBackground = true, Name = "fake-smtp-accept" }.Start();
        }
    }

    /// <summary>Stopwatch timestamps of the accepts (with acceptThread only).</summary>
    public ConcurrentQueue<long> AcceptTimes { get; } = new();

    public IPAddress Address { get; }
    public int Port { get; }
    public int Accepts => Volatile.Read(ref _accepts);

    /// <summary>"[127.0.0.1]:port", a next hop without MX lookup.</summary>
    public string Nexthop => $"[{Address}]:{Port}";

    /// <summary>Every command line received (all connections), in arrival order.</summary>
    public ConcurrentQueue<string> Commands { get; } = new();

    /// <summary>Every DATA payload exactly as it came over the wire (stuffed, without the final ".").</summary>
    public ConcurrentQueue<byte[]> Messages { get; } = new();

    /// <summary>A scripted SMTP/LMTP server (see <see cref="FakeSmtpScript"/>).</summary>
    public static FakeSmtpServer Scripted(FakeSmtpScript script, IPAddress? address = null, int port = 0)
    {
        FakeSmtpServer? server = null;
        server = new FakeSmtpServer((peer, ct) => server!.RunScriptAsync(script, peer, ct), address, port);
        return server;
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception)
            {
                return;
            }
            Serve(client);
        }
    }

    private void AcceptLoopOnThread()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try { client = _listener.AcceptTcpClient(); }
            catch (Exception) { return; } // stopped
            AcceptTimes.Enqueue(System.Diagnostics.Stopwatch.GetTimestamp());
            Serve(client);
        }
    }

    private void Serve(TcpClient client)
    {
        Interlocked.Increment(ref _accepts);
        _sessions.Add(Task.Run(async () =>
        {
            using var peer = new FakeSmtpPeer(client);
            try
            {
                await _handler(peer, _stop.Token);
            }
            catch (Exception)
            {
                // Client went away or the test ended: the session just ends.
            }
        }));
    }

    /// <summary>Plays <paramref name="s"/> on one connection (custom handlers can delegate to it).</summary>
    public async Task RunScriptAsync(FakeSmtpScript s, FakeSmtpPeer peer, CancellationToken ct)
    {
        var server = this;
        if (s.Greeting == null) { await Task.Delay(Timeout.Infinite, ct); return; }
        await peer.SendAsync(s.Greeting);
        if (s.Greeting.StartsWith("421")) return;
        var rcpts = new List<string>();
        bool mail = false;
        while (true)
        {
            var line = await peer.ReadLineAsync(ct);
            if (line == null) return;
            server.Commands.Enqueue(line);
            string verb = line.Split(' ', 2)[0].ToUpperInvariant();
            switch (verb)
            {
                case "EHLO" or "LHLO":
                    await peer.SendAsync(s.Ehlo(verb));
                    break;
                case "HELO":
                    await peer.SendAsync(s.Helo);
                    break;
                case "MAIL":
                    var mr = s.Mail(line);
                    mail = mr.StartsWith('2');
                    rcpts.Clear();
                    await peer.SendAsync(mr);
                    break;
                case "RCPT":
                    var rr = mail ? s.Rcpt(line) : "503 5.5.1 Error: need MAIL command";
                    if (rr.StartsWith('2')) rcpts.Add(line);
                    await peer.SendAsync(rr);
                    break;
                case "DATA":
                    if (rcpts.Count == 0) { await peer.SendAsync("554 5.5.1 Error: no valid recipients"); break; }
                    await peer.SendAsync(s.Data);
                    if (!s.Data.StartsWith('3')) break;
                    var data = await peer.ReadDataAsync(ct);
                    server.Messages.Enqueue(data);
                    if (s.SilentAfterData) { await Task.Delay(Timeout.Infinite, ct); return; }
                    if (s.EndOfDataDelay > TimeSpan.Zero) await Task.Delay(s.EndOfDataDelay, ct);
                    foreach (var reply in s.EndOfData(rcpts, data)) await peer.SendAsync(reply);
                    mail = false;
                    rcpts.Clear();
                    break;
                case "RSET":
                    mail = false;
                    rcpts.Clear();
                    await peer.SendAsync("250 2.0.0 Ok");
                    break;
                case "QUIT":
                    await peer.SendAsync("221 2.0.0 Bye");
                    return;
                default:
                    await peer.SendAsync("502 5.5.2 Error: command not recognized");
                    break;
            }
        }
    }

    private int _disposed;

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _stop.Cancel();
        _listener.Stop();
        await _acceptLoop;
        await Task.WhenAny(Task.WhenAll(_sessions), Task.Delay(TimeSpan.FromSeconds(5)));
        _stop.Dispose();
    }
}

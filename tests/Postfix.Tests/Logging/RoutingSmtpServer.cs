// A tiny loopback SMTP server that decides each RCPT by the recipient's local
// part, so one relayhost can produce all three delivery outcomes in one run:
// smtp-sink's -f/-r reject every RCPT and its -W odds are random, neither gives
// a deterministic per-recipient mix.
//   bounce*  -> 550 5.1.1 (our MTA bounces it)
//   defer*   -> 450 4.2.0 (our MTA defers it)
//   anything else -> 250 2.1.5, and DATA is accepted.
// Pipelining-safe: replies are written in command order, DATA without an
// accepted recipient gets 554 like Postfix's smtpd.
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Postfix.Tests.Logging;

public sealed class RoutingSmtpServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _sessions = [];
    private readonly Task _accept;
    private int _accepted;

    public int Port { get; }

    /// <summary>Messages accepted after DATA.</summary>
    public int MessagesAccepted => Volatile.Read(ref _accepted);

    public RoutingSmtpServer()
    {
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accept = AcceptLoopAsync();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient c;
            try { c = await _listener.AcceptTcpClientAsync(_stop.Token); }
            catch (OperationCanceledException) { return; }
            catch (ObjectDisposedException) { return; }
            catch (SocketException) { return; }
            lock (_sessions) _sessions.Add(SessionAsync(c));
        }
    }

    private async Task SessionAsync(TcpClient c)
    {
        using var _ = c;
        try
        {
            var stream = c.GetStream();
            using var reader = new StreamReader(stream, Encoding.Latin1);
            async Task Reply(string s) => await stream.WriteAsync(Encoding.ASCII.GetBytes(s + "\r\n"), _stop.Token);
            await Reply("220 fake.test ESMTP routing test server");
            int rcpts = 0;
            while (true)
            {
                var line = await reader.ReadLineAsync(_stop.Token);
                if (line is null) return;
                var verb = (line.Length >= 4 ? line[..4] : line).ToUpperInvariant();
                switch (verb)
                {
                    case "EHLO":
                        await Reply("250-fake.test\r\n250-PIPELINING\r\n250 ENHANCEDSTATUSCODES");
                        break;
                    case "HELO":
                        await Reply("250 fake.test");
                        break;
                    case "MAIL":
                        rcpts = 0;
                        await Reply("250 2.1.0 Ok");
                        break;
                    case "RCPT":
                        var addr = Address(line);
                        var local = addr.Split('@')[0].ToLowerInvariant();
                        if (local.StartsWith("bounce", StringComparison.Ordinal))
                            await Reply($"550 5.1.1 <{addr}>: Recipient address rejected: User unknown");
                        else if (local.StartsWith("defer", StringComparison.Ordinal))
                            await Reply($"450 4.2.0 <{addr}>: Recipient address rejected: Try again later");
                        else { rcpts++; await Reply("250 2.1.5 Ok"); }
                        break;
                    case "DATA":
                        if (rcpts == 0) { await Reply("554 5.5.1 Error: no valid recipients"); break; }
                        await Reply("354 End data with <CR><LF>.<CR><LF>");
                        while (true)
                        {
                            var d = await reader.ReadLineAsync(_stop.Token);
                            if (d is null) return;
                            if (d == ".") break;
                        }
                        int n = Interlocked.Increment(ref _accepted);
                        rcpts = 0;
                        await Reply($"250 2.0.0 Ok: queued as FAKE{n:D6}");
                        break;
                    case "RSET":
                        rcpts = 0;
                        await Reply("250 2.0.0 Ok");
                        break;
                    case "NOOP":
                        await Reply("250 2.0.0 Ok");
                        break;
                    case "QUIT":
                        await Reply("221 2.0.0 Bye");
                        return;
                    default:
                        await Reply("502 5.5.2 Error: command not recognized");
                        break;
                }
            }
        }
        catch (IOException) { }
        catch (OperationCanceledException) { }
        catch (ObjectDisposedException) { }
    }

    private static string Address(string line)
    {
        int lt = line.IndexOf('<'), gt = lt < 0 ? -1 : line.IndexOf('>', lt);
        return lt >= 0 && gt > lt ? line[(lt + 1)..gt] : "";
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        await _accept;
        Task[] sessions;
        lock (_sessions) sessions = [.. _sessions];
        await Task.WhenAny(Task.WhenAll(sessions), Task.Delay(TimeSpan.FromSeconds(10)));
        _stop.Dispose();
    }
}

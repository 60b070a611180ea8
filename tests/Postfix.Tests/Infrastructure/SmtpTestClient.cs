// A deliberately plain SMTP client for tests: writes exactly the bytes given
// (so tests can send hostile input) and reads replies with a bounded wait.
using System.Net.Sockets;
using System.Text;

namespace Postfix.Tests.Infrastructure;

public sealed class SmtpTestClient : IAsyncDisposable
{
    private readonly TcpClient _tcp;
    private NetworkStream _stream = null!;
    private readonly byte[] _buf = new byte[65536];
    private readonly StringBuilder _pending = new();
    public TimeSpan ReadTimeout { get; set; } = TimeSpan.FromSeconds(10);

    private SmtpTestClient(System.Net.IPAddress? from)
    {
        _tcp = from is null ? new TcpClient() : new TcpClient(new System.Net.IPEndPoint(from, 0));
    }

    /// <summary>Connects to 127.0.0.1:<paramref name="port"/>, optionally from another loopback source address (e.g. 127.0.0.2).</summary>
    public static async Task<SmtpTestClient> ConnectAsync(int port, System.Net.IPAddress? from = null)
    {
        var c = new SmtpTestClient(from);
        await c._tcp.ConnectAsync("127.0.0.1", port);
        c._stream = c._tcp.GetStream();
        return c;
    }

    public Task SendAsync(string text) => SendAsync(Encoding.UTF8.GetBytes(text));

    public async Task SendAsync(byte[] bytes) => await _stream.WriteAsync(bytes);

    /// <summary>Reads one complete (possibly multi-line) reply; returns all its lines joined with \n.</summary>
    public async Task<string> ReadReplyAsync()
    {
        var lines = new List<string>();
        while (true)
        {
            var line = await ReadLineAsync();
            if (line is null) throw new IOException("connection closed; reply so far: " + string.Join("\n", lines));
            lines.Add(line);
            if (line.Length < 4 || line[3] != '-') return string.Join("\n", lines);
        }
    }

    public async Task<string?> ReadLineAsync()
    {
        using var cts = new CancellationTokenSource(ReadTimeout);
        while (true)
        {
            var s = _pending.ToString();
            int nl = s.IndexOf("\r\n", StringComparison.Ordinal);
            if (nl >= 0)
            {
                _pending.Remove(0, nl + 2);
                return s[..nl];
            }
            int n = await _stream.ReadAsync(_buf, cts.Token);
            if (n == 0) return null;
            _pending.Append(Encoding.UTF8.GetString(_buf, 0, n));
        }
    }

    /// <summary>True when the server closed the connection (read returns 0) within the timeout.</summary>
    public async Task<bool> IsClosedAsync()
    {
        using var cts = new CancellationTokenSource(ReadTimeout);
        try
        {
            while (true)
            {
                int n = await _stream.ReadAsync(_buf, cts.Token);
                if (n == 0) return true;
            }
        }
        catch (IOException) { return true; }
        catch (OperationCanceledException) { return false; }
    }

    /// <summary>Sends one message with pipelined MAIL/RCPT/DATA and returns the queue ID from "250 2.0.0 Ok: queued as ID".</summary>
    public async Task<string> SendMessageAsync(string from, string to, string content)
    {
        await SendAsync($"MAIL FROM:<{from}>\r\nRCPT TO:<{to}>\r\nDATA\r\n");
        var r1 = await ReadReplyAsync(); var r2 = await ReadReplyAsync(); var r3 = await ReadReplyAsync();
        if (!r1.StartsWith("250") || !r2.StartsWith("250") || !r3.StartsWith("354"))
            throw new InvalidOperationException($"unexpected replies: {r1} | {r2} | {r3}");
        await SendAsync(DotStuff(content) + ".\r\n");
        var done = await ReadReplyAsync();
        const string marker = "250 2.0.0 Ok: queued as ";
        if (!done.StartsWith(marker)) throw new InvalidOperationException("not queued: " + done);
        return done[marker.Length..].Trim();
    }

    /// <summary>Dot-stuffs CRLF text (RFC 5321 4.5.2); the result ends with CRLF.</summary>
    public static string DotStuff(string content)
    {
        if (!content.EndsWith("\r\n", StringComparison.Ordinal)) content += "\r\n";
        var lines = content[..^2].Split("\r\n");
        return string.Concat(lines.Select(l => (l.StartsWith('.') ? "." + l : l) + "\r\n"));
    }

    public async ValueTask DisposeAsync()
    {
        _tcp.Dispose();
        await Task.CompletedTask;
    }
}

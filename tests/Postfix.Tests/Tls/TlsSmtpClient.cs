// A raw SMTP test client that can switch to TLS mid-session (STARTTLS) or
// start in TLS (wrapper mode): writes exactly the bytes given, so tests can
// send what a hostile client would, and reads replies with a bounded wait.
// The server certificate is not verified here (the tests check handshakes,
// not trust; trust is tested through the smtp client and swaks).
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;

namespace Postfix.Tests.Tls;

public sealed class TlsSmtpClient : IAsyncDisposable
{
    private readonly TcpClient _tcp = new();
    private Stream _stream = null!;
    private readonly byte[] _buf = new byte[65536];
    private readonly StringBuilder _pending = new();

    public SslStream? Ssl { get; private set; }

    public static async Task<TlsSmtpClient> ConnectAsync(int port, bool implicitTls = false)
    {
        var c = new TlsSmtpClient();
        await c._tcp.ConnectAsync("127.0.0.1", port);
        c._stream = c._tcp.GetStream();
        if (implicitTls) await c.StartTlsAsync();
        return c;
    }

    public async Task StartTlsAsync(SslProtocols protocols = SslProtocols.None)
    {
        if (_pending.Length > 0) throw new InvalidOperationException("plaintext left unread before TLS: " + _pending);
        var ssl = new SslStream(_stream, leaveInnerStreamOpen: false);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "mx.test.example",
            EnabledSslProtocols = protocols,
            RemoteCertificateValidationCallback = (_, _, _, _) => true,
        }, cts.Token);
        Ssl = ssl;
        _stream = ssl;
    }

    public Task SendAsync(string text) => SendAsync(Encoding.UTF8.GetBytes(text));

    public async Task SendAsync(byte[] bytes)
    {
        await _stream.WriteAsync(bytes);
        await _stream.FlushAsync();
    }

    /// <summary>Sends one line (CRLF added) and reads one reply.</summary>
    public async Task<string> CommandAsync(string line)
    {
        await SendAsync(line + "\r\n");
        return await ReadReplyAsync();
    }

    /// <summary>One complete (possibly multi-line) reply, lines joined with \n.</summary>
    public async Task<string> ReadReplyAsync()
    {
        var lines = new List<string>();
        while (true)
        {
            var line = await ReadLineAsync() ?? throw new IOException("connection closed; reply so far: " + string.Join("\n", lines));
            lines.Add(line);
            if (line.Length < 4 || line[3] != '-') return string.Join("\n", lines);
        }
    }

    public async Task<string?> ReadLineAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
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

    /// <summary>True when the server closes the connection within the bound.</summary>
    public async Task<bool> IsClosedAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            while (true)
                if (await _stream.ReadAsync(_buf, cts.Token) == 0) return true;
        }
        catch (IOException) { return true; }
        catch (OperationCanceledException) { return false; }
    }

    public static string B64(string s) => Convert.ToBase64String(Encoding.UTF8.GetBytes(s));

    public async ValueTask DisposeAsync()
    {
        try { await _stream.DisposeAsync(); } catch (IOException) { }
        _tcp.Dispose();
    }
}

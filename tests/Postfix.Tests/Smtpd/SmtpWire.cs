// Test helper: a raw SMTP client over TcpClient that sends exact bytes (bare LF,
// NUL, invalid UTF-8, pipelined batches) and reads replies line by line until
// "NNN " ends one. Every read is bounded by ReadTimeout, so a server that stays
// silent fails the test instead of hanging it.
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

namespace Postfix.Tests.Smtpd;

public sealed partial class SmtpWire : IDisposable
{
    public static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(10);

    private readonly TcpClient _client;
    private readonly NetworkStream _stream;
    private readonly byte[] _buffer = new byte[64 * 1024];
    private int _start, _end;

    private SmtpWire(TcpClient client)
    {
        _client = client;
        _stream = client.GetStream();
    }

    public static async Task<SmtpWire> ConnectAsync(int port)
    {
        var client = new TcpClient { NoDelay = true };
        using var cts = new CancellationTokenSource(ReadTimeout);
        await client.ConnectAsync(IPAddress.Loopback, port, cts.Token);
        return new SmtpWire(client);
    }

    /// <summary>Connects and checks the 220 greeting.</summary>
    public static async Task<SmtpWire> OpenAsync(int port)
    {
        var wire = await ConnectAsync(port);
        var greeting = await wire.ReadReplyAsync();
        if (greeting.Code != 220) throw new InvalidOperationException("unexpected greeting: " + greeting);
        return wire;
    }

    /// <summary>Sends <paramref name="text"/> as UTF-8, exactly (no line ending added).</summary>
    public Task SendAsync(string text) => SendAsync(Encoding.UTF8.GetBytes(text));

    public async Task SendAsync(byte[] bytes)
    {
        using var cts = new CancellationTokenSource(ReadTimeout);
        await _stream.WriteAsync(bytes, cts.Token);
        await _stream.FlushAsync(cts.Token);
    }

    /// <summary>Sends one command line (CRLF added) and reads its reply.</summary>
    public async Task<SmtpReply> CommandAsync(string line)
    {
        await SendAsync(line + "\r\n");
        return await ReadReplyAsync();
    }

    /// <summary>Reads lines until one with a space after the code; throws on EOF or after ReadTimeout.</summary>
    public async Task<SmtpReply> ReadReplyAsync()
    {
        var lines = new List<string>();
        using var cts = new CancellationTokenSource(ReadTimeout);
        while (true)
        {
            string? line;
            try { line = await ReadLineAsync(cts.Token); }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"no complete reply within {ReadTimeout.TotalSeconds}s; got: {string.Join(" | ", lines)}");
            }
            if (line is null) throw new IOException($"connection closed before a complete reply; got: {string.Join(" | ", lines)}");
            if (!ReplyLine().IsMatch(line)) throw new InvalidDataException($"not an SMTP reply line: \"{line}\"");
            lines.Add(line);
            if (line.Length == 3 || line[3] == ' ') return new SmtpReply(int.Parse(line[..3]), lines);
        }
    }

    /// <summary>Reads <paramref name="count"/> replies in order.</summary>
    public async Task<List<SmtpReply>> ReadRepliesAsync(int count)
    {
        var replies = new List<SmtpReply>();
        for (int i = 0; i < count; i++) replies.Add(await ReadReplyAsync());
        return replies;
    }

    /// <summary>True when the server closes (EOF or reset) within ReadTimeout without sending anything more.</summary>
    public async Task<bool> ClosedByServerAsync()
    {
        if (_start < _end) return false;
        using var cts = new CancellationTokenSource(ReadTimeout);
        try
        {
            int n = await _stream.ReadAsync(_buffer, cts.Token);
            if (n > 0) { _start = 0; _end = n; return false; }
            return true;
        }
        catch (OperationCanceledException) { return false; }
        catch (IOException) { return true; }
    }

    private async Task<string?> ReadLineAsync(CancellationToken ct)
    {
        while (true)
        {
            int lf = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
            if (lf >= 0)
            {
                int len = lf - _start;
                if (len > 0 && _buffer[lf - 1] == (byte)'\r') len--;
                var line = Encoding.UTF8.GetString(_buffer, _start, len);
                _start = lf + 1;
                return line;
            }
            if (_start > 0)
            {
                Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }
            if (_end == _buffer.Length) throw new InvalidDataException("reply line longer than the read buffer");
            int n;
            try { n = await _stream.ReadAsync(_buffer.AsMemory(_end), ct); }
            catch (IOException) { return null; }
            if (n == 0) return null;
            _end += n;
        }
    }

    [GeneratedRegex(@"^[2-5][0-9]{2}([ -]|$)")]
    private static partial Regex ReplyLine();

    public void Dispose()
    {
        _stream.Dispose();
        _client.Dispose();
    }
}

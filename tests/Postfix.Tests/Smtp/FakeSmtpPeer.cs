// One accepted connection of FakeSmtpServer: bounded reads of lines and of
// DATA exactly as sent (dot-stuffed), so tests can compare wire bytes.
using System.Net.Sockets;
using System.Text;

namespace Postfix.Tests.Smtp;

/// <summary>One accepted connection of the fake server: bounded line and DATA reads.</summary>
internal sealed class FakeSmtpPeer(TcpClient client) : IDisposable
{
    private readonly NetworkStream _stream = client.GetStream();
    private readonly byte[] _buffer = new byte[64 * 1024];
    private int _start, _end;

    /// <summary>Sends text; CRLF added unless it already ends with LF.</summary>
    public async Task SendAsync(string text)
    {
        if (!text.EndsWith('\n')) text += "\r\n";
        using var cts = new CancellationTokenSource(FakeSmtpServer.ReadTimeout);
        await _stream.WriteAsync(Encoding.UTF8.GetBytes(text), cts.Token);
    }

    /// <summary>One line without CRLF; null at EOF.</summary>
    public async Task<string?> ReadLineAsync(CancellationToken ct)
    {
        var bytes = await ReadUntilAsync("\r\n"u8.ToArray(), ct);
        return bytes == null ? null : Encoding.UTF8.GetString(bytes, 0, bytes.Length - 2);
    }

    /// <summary>DATA content as sent (dot-stuffed), without the terminating ".\r\n".</summary>
    public async Task<byte[]> ReadDataAsync(CancellationToken ct)
    {
        // The terminator is "\r\n.\r\n", or ".\r\n" for an empty body.
        if (await PeekStartsWithAsync(".\r\n"u8.ToArray(), ct)) { _start += 3; return []; }
        var bytes = await ReadUntilAsync("\r\n.\r\n"u8.ToArray(), ct) ?? throw new EndOfStreamException();
        return bytes[..^3];
    }

    /// <summary>Everything up to and including <paramref name="marker"/>; null at EOF.</summary>
    public async Task<byte[]?> ReadUntilAsync(byte[] marker, CancellationToken ct)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(FakeSmtpServer.ReadTimeout);
        var collected = new MemoryStream();
        int scanFrom = 0;
        while (true)
        {
            int idx = _buffer.AsSpan(_start + scanFrom, _end - _start - scanFrom).IndexOf(marker);
            if (idx >= 0)
            {
                int take = scanFrom + idx + marker.Length;
                collected.Write(_buffer, _start, take);
                _start += take;
                return collected.ToArray();
            }
            // Keep the last marker-1 bytes so a marker split across reads is found.
            int keep = Math.Min(marker.Length - 1, _end - _start);
            collected.Write(_buffer, _start, _end - _start - keep);
            Array.Copy(_buffer, _end - keep, _buffer, 0, keep);
            _start = 0;
            _end = keep;
            scanFrom = 0;
            int n = await _stream.ReadAsync(_buffer.AsMemory(_end), cts.Token);
            if (n == 0) return null;
            _end += n;
        }
    }

    private async Task<bool> PeekStartsWithAsync(byte[] prefix, CancellationToken ct)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(FakeSmtpServer.ReadTimeout);
        while (_end - _start < prefix.Length)
        {
            if (_end - _start > 0 && !prefix.AsSpan(0, _end - _start).SequenceEqual(_buffer.AsSpan(_start, _end - _start))) return false;
            if (_start > 0) { Array.Copy(_buffer, _start, _buffer, 0, _end - _start); _end -= _start; _start = 0; }
            int n = await _stream.ReadAsync(_buffer.AsMemory(_end), cts.Token);
            if (n == 0) throw new EndOfStreamException();
            _end += n;
        }
        return _buffer.AsSpan(_start, prefix.Length).SequenceEqual(prefix);
    }

    /// <summary>Bytes available without waiting (to show the client pipelined).</summary>
    public async Task<string> ReadAvailableUntilAsync(string marker, CancellationToken ct)
    {
        var bytes = await ReadUntilAsync(Encoding.ASCII.GetBytes(marker), ct) ?? throw new EndOfStreamException();
        return Encoding.UTF8.GetString(bytes);
    }

    public void Dispose() => client.Dispose();
}

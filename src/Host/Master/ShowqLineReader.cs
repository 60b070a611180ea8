// Bounded line reads for the showq socket: a request line longer than the
// limit is rejected instead of growing a buffer, whoever is on the other end.
// Lines end in LF (a CR before it is dropped); the last line may end at EOF.
using System.Text;

namespace Postfix.Host.Master;

internal sealed class ShowqLineReader(Stream stream, int maxLine)
{
    private readonly byte[] _buf = new byte[Math.Max(maxLine, 256) + 1];
    private int _start, _end;

    /// <summary>The next line, or null at EOF. Throws <see cref="InvalidDataException"/> past the limit.</summary>
    public async ValueTask<string?> ReadLineAsync(CancellationToken ct)
    {
        while (true)
        {
            int nl = Array.IndexOf(_buf, (byte)'\n', _start, _end - _start);
            if (nl >= 0)
            {
                var line = Decode(_start, nl);
                _start = nl + 1;
                return line;
            }
            if (_end - _start >= maxLine) throw new InvalidDataException($"request line longer than {maxLine} bytes");
            if (_start > 0)
            {
                Buffer.BlockCopy(_buf, _start, _buf, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }
            int n = await stream.ReadAsync(_buf.AsMemory(_end), ct).ConfigureAwait(false);
            if (n == 0)
            {
                if (_end == _start) return null;
                var last = Decode(_start, _end);
                _start = _end;
                return last;
            }
            _end += n;
        }
    }

    private string Decode(int from, int to)
    {
        if (to > from && _buf[to - 1] == '\r') to--;
        return Encoding.UTF8.GetString(_buf, from, to - from);
    }
}

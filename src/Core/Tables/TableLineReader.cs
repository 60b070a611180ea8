// Postfix's readllines() for lookup table sources (postmap(1) input format, regexp_table(5),
// pcre_table(5)): '#' lines, blank and all-whitespace lines are skipped; a line that starts with
// whitespace continues the logical line (joined as is, only the newline removed; comment and
// blank lines in between do not end it); a logical line that itself starts with whitespace is
// skipped with Postfix's warning. Works over the file's bytes without decoding them. Input: the
// admin's table source (trusted, but every logical line is bounded by MaxLogicalLine).
using System.Text;
using Postfix.Core.Config;

namespace Postfix.Core.Tables;

internal ref struct TableLineReader
{
    /// <summary>Longest logical line accepted (continuations included).</summary>
    public const int MaxLogicalLine = 1 << 20;

    private readonly ReadOnlySpan<byte> _text;
    private readonly string _path;
    private readonly Action<string>? _warn;
    private int _pos;
    private int _lineNumber;
    private byte[]? _join;

    public TableLineReader(ReadOnlySpan<byte> text, string path, Action<string>? warn)
    {
        _text = text;
        _path = path;
        _warn = warn;
    }

    /// <summary>Next logical line (valid until the next call) and the number of its first line.</summary>
    public bool TryRead(out ReadOnlySpan<byte> line, out int lineNumber)
    {
        while (true)
        {
            if (!TryReadRaw(out line, out lineNumber)) return false;
            if (!IsSpace(line[0])) return true;
            var shown = line.Length > 30 ? Encoding.UTF8.GetString(line[..30]) + "..." : Encoding.UTF8.GetString(line);
            _warn?.Invoke($"{_path}: logical line must not start with whitespace: \"{shown}\"");
        }
    }

    private bool TryReadRaw(out ReadOnlySpan<byte> line, out int lineNumber)
    {
        int firstStart = -1, firstLength = 0, joined = 0;
        lineNumber = 0;
        while (_pos < _text.Length)
        {
            var rest = _text[_pos..];
            int nl = rest.IndexOf((byte)'\n');
            var physical = nl < 0 ? rest : rest[..nl];
            int start = _pos;
            _pos += nl < 0 ? rest.Length : nl + 1;
            _lineNumber++;

            if (!IsBlankOrComment(physical))
            {
                if (firstStart < 0)
                {
                    firstStart = start;
                    firstLength = physical.Length;
                    lineNumber = _lineNumber;
                }
                else
                {
                    // A continuation: copy the first part once, then append (rare path).
                    if (joined == 0) joined = Append(0, _text.Slice(firstStart, firstLength));
                    joined = Append(joined, physical);
                }
            }

            // The logical line ends where the next line starts with neither whitespace nor '#'.
            if (firstStart >= 0 && (_pos >= _text.Length || (!IsSpace(_text[_pos]) && _text[_pos] != (byte)'#'))) break;
        }
        if (firstStart < 0)
        {
            line = default;
            return false;
        }
        line = joined > 0 ? _join.AsSpan(0, joined) : _text.Slice(firstStart, firstLength);
        return true;
    }

    private int Append(int at, ReadOnlySpan<byte> part)
    {
        int need = at + part.Length;
        if (need > MaxLogicalLine)
            throw new ConfigException($"logical line is longer than {MaxLogicalLine} bytes", _path, _lineNumber);
        if (_join is null || _join.Length < need) Array.Resize(ref _join, Math.Max(need, Math.Min(MaxLogicalLine, Math.Max(256, (_join?.Length ?? 0) * 2))));
        part.CopyTo(_join.AsSpan(at));
        return need;
    }

    private static bool IsBlankOrComment(ReadOnlySpan<byte> physical)
    {
        foreach (byte b in physical)
        {
            if (!IsSpace(b)) return b == (byte)'#';
        }
        return true;
    }

    /// <summary>C isspace() in the C locale.</summary>
    public static bool IsSpace(byte b) => b is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\v' or (byte)'\f' or (byte)'\r';

    /// <summary>The span without trailing whitespace (Postfix's trimblanks()).</summary>
    public static ReadOnlySpan<byte> TrimEnd(ReadOnlySpan<byte> s)
    {
        int end = s.Length;
        while (end > 0 && IsSpace(s[end - 1])) end--;
        return s[..end];
    }

    public static ReadOnlySpan<byte> TrimStart(ReadOnlySpan<byte> s)
    {
        int i = 0;
        while (i < s.Length && IsSpace(s[i])) i++;
        return s[i..];
    }
}

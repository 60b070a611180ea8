// One server reply (RFC 5321 section 4.2): lines "NNN-text" ... "NNN text".
// Untrusted input: the connection hands over lines already cut to
// MaxReplyLineLength; this keeps at most MaxReplyLines of them and a fixed
// byte budget, and renders text only when a diagnostic needs it. Reused for
// every reply on a connection, so a 250 to RCPT costs no allocation.
using System.Text;

namespace Postfix.Protocols.Smtp;

internal sealed class SmtpReply
{
    private readonly byte[] _text;
    private readonly int _maxLines;
    private int _length;
    private int _lines;
    private string? _rendered;

    public SmtpReply(int maxLineLength, int maxLines)
    {
        _maxLines = Math.Max(1, maxLines);
        // Ample for EHLO and any useful diagnostic; beyond it lines are dropped, not grown into.
        _text = new byte[Math.Min(_maxLines * (maxLineLength + 1), 16 * 1024)];
    }

    /// <summary>The reply code; 0 when the first line did not start with three digits.</summary>
    public int Code { get; private set; }

    public int Class => Code / 100;

    public void Reset()
    {
        _length = 0;
        _lines = 0;
        Code = 0;
        _rendered = null;
    }

    /// <summary>Adds one line (without CRLF); returns true when it was the last line of the reply.</summary>
    public bool AddLine(ReadOnlySpan<byte> line)
    {
        bool digits = line.Length >= 3 && IsDigit(line[0]) && IsDigit(line[1]) && IsDigit(line[2]);
        if (_lines == 0) Code = digits ? (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0') : 0;
        if (_lines < _maxLines)
        {
            int need = (_lines > 0 ? 1 : 0) + line.Length;
            if (_length + need <= _text.Length)
            {
                if (_lines > 0) _text[_length++] = (byte)'\n';
                foreach (byte b in line) _text[_length++] = b < 0x20 || b == 0x7f ? (byte)'?' : b;
                _lines++;
            }
        }
        _rendered = null;
        return !(digits && line.Length >= 4 && line[3] == '-');
    }

    /// <summary>The reply as Postfix logs it: lines joined with a space, codes included.</summary>
    public string Text => _rendered ??= Encoding.UTF8.GetString(_text, 0, _length).Replace('\n', ' ');

    /// <summary>The lines kept, as raw bytes (EHLO keyword parsing).</summary>
    public LineEnumerator Lines => new(_text.AsSpan(0, _length));

    /// <summary>RFC 3463 status: the reply's own enhanced code (class forced to agree with the
    /// reply code, as Postfix does), else derived from the reply code ("4.0.0").</summary>
    public string Dsn
    {
        get
        {
            int cls = Class;
            var first = _text.AsSpan(0, _length);
            int nl = first.IndexOf((byte)'\n');
            if (nl >= 0) first = first[..nl];
            if (cls is 2 or 4 or 5 && first.Length > 4 && TryEnhanced(first[4..], out int len))
                return (char)('0' + cls) + Encoding.ASCII.GetString(first.Slice(5, len - 1));
            return $"{cls}.0.0"; // 3.0.0 / 0.0.0 become "Protocol error" 5.5.0 where a failure is built
        }
    }

    private static bool TryEnhanced(ReadOnlySpan<byte> s, out int length)
    {
        // class "." subject(1-3 digits) "." detail(1-3 digits), then space or end.
        length = 0;
        if (s.Length < 5 || s[0] is not ((byte)'2' or (byte)'4' or (byte)'5') || s[1] != '.') return false;
        int i = 2, n = 0;
        while (i < s.Length && IsDigit(s[i]) && n < 4) { i++; n++; }
        if (n is 0 or > 3 || i >= s.Length || s[i] != '.') return false;
        i++;
        n = 0;
        while (i < s.Length && IsDigit(s[i]) && n < 4) { i++; n++; }
        if (n is 0 or > 3 || (i < s.Length && s[i] != ' ')) return false;
        length = i;
        return true;
    }

    private static bool IsDigit(byte b) => (uint)(b - '0') <= 9;

    public ref struct LineEnumerator(ReadOnlySpan<byte> text)
    {
        private ReadOnlySpan<byte> _rest = text;
        private bool _done = text.IsEmpty;

        public ReadOnlySpan<byte> Current { get; private set; }

        public readonly LineEnumerator GetEnumerator() => this;

        public bool MoveNext()
        {
            if (_done) return false;
            int nl = _rest.IndexOf((byte)'\n');
            if (nl < 0) { Current = _rest; _done = true; }
            else { Current = _rest[..nl]; _rest = _rest[(nl + 1)..]; }
            return true;
        }
    }
}

// Output primitives for bounce(8) notices: CRLF lines of 7-bit text, masking of
// untrusted text (Postfix masks control and non-ASCII characters when it reads
// the bounce log), Postfix's line_wrap() at 79 columns with a 4-blank indent, and
// a copy of the original that turns every bare CR or LF into CRLF.
using System.Globalization;
using Postfix.Core.Util;

namespace Postfix.Core.Bounce;

internal sealed class BounceWriter(PooledBuffer buffer)
{
    private const int WrapLength = 79;
    private const int WrapIndent = 4;

    public PooledBuffer Buffer => buffer;

    /// <summary>One line; anything outside printable ASCII (or tab) is written as '?'.</summary>
    public void Line(ReadOnlySpan<char> text)
    {
        var span = buffer.GetSpan(text.Length + 2);
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            span[i] = c is (>= ' ' and <= '~') or '\t' ? (byte)c : (byte)'?';
        }

        span[text.Length] = (byte)'\r';
        span[text.Length + 1] = (byte)'\n';
        buffer.Advance(text.Length + 2);
    }

    public void Line() => Line([]);

    /// <summary>Postfix line_wrap(): breaks at blanks so lines stay within 79 columns;
    /// continuation lines are indented by 4 blanks (a valid folded header field).</summary>
    public void Wrapped(string text)
    {
        var rest = text.AsSpan();
        int indent = 0;
        while (true)
        {
            int room = WrapLength - indent;
            if (rest.Length <= room)
            {
                Indented(indent, rest);
                return;
            }

            int cut = rest[..(room + 1)].LastIndexOf(' ');
            if (cut <= 0)
            {
                cut = rest[1..].IndexOf(' ') + 1;
                if (cut <= 0)
                {
                    Indented(indent, rest);
                    return;
                }
            }

            Indented(indent, rest[..cut].TrimEnd(' '));
            rest = rest[cut..].TrimStart(' ');
            if (rest.IsEmpty) return;
            indent = WrapIndent;
        }
    }

    private void Indented(int indent, ReadOnlySpan<char> text)
    {
        if (indent == 0)
        {
            Line(text);
            return;
        }

        Span<char> line = text.Length + indent <= 256 ? stackalloc char[text.Length + indent] : new char[text.Length + indent];
        line[..indent].Fill(' ');
        text.CopyTo(line[indent..]);
        Line(line);
    }

    /// <summary>Copies message content, ending every line in CRLF (bare CR and bare LF included)
    /// and ending the copy with CRLF.</summary>
    public void Content(ReadOnlySpan<byte> content)
    {
        while (!content.IsEmpty)
        {
            int i = content.IndexOfAny((byte)'\r', (byte)'\n');
            if (i < 0)
            {
                buffer.Write(content);
                buffer.Write("\r\n"u8);
                return;
            }

            buffer.Write(content[..i]);
            buffer.Write("\r\n"u8);
            int skip = content[i] == (byte)'\r' && i + 1 < content.Length && content[i + 1] == (byte)'\n' ? 2 : 1;
            content = content[(i + skip)..];
        }
    }

    /// <summary>Untrusted text as one line of printable ASCII: controls and non-ASCII become '?',
    /// tabs become blanks (Postfix's printable() on bounce log text).</summary>
    public static string Printable(string text)
    {
        foreach (char c in text)
        {
            if (c is < ' ' or > '~') return string.Create(text.Length, text, static (span, s) =>
            {
                for (int i = 0; i < s.Length; i++)
                {
                    char c = s[i];
                    span[i] = c == '\t' ? ' ' : c is < ' ' or > '~' ? '?' : c;
                }
            });
        }

        return text;
    }

    /// <summary>RFC 5322 section 3.3 date-time in UTC, like Postfix's mail_date().</summary>
    public static string Date(DateTimeOffset time) =>
        time.UtcDateTime.ToString("ddd, d MMM yyyy HH:mm:ss '+0000 (UTC)'", CultureInfo.InvariantCulture);
}

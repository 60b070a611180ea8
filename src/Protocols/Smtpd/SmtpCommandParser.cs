// Splits the SMTP command stream into lines and recognises verbs by comparing
// bytes, never building strings (Garnet's RespCommand style). Keeps no state:
// the caller owns the SequenceReader. Untrusted input: every line is bounded by
// line_length_limit before it is looked at, and bare CR / bare LF are reported
// so smtpd can refuse them (SMTP smuggling defence, smtpd_forbid_bare_newline).
using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Postfix.Protocols.Smtpd;

public enum LineStatus : byte
{
    Ok,
    NeedMore,
    TooLong,          // partial line past the limit: nothing consumed, discard up to the next LF
    TooLongComplete,  // whole line past the limit: already consumed
    BareLf,
    BareCr,
}

public static class SmtpCommandParser
{
    /// <summary>
    /// Reads one CRLF-terminated line (without the CRLF). Returns NeedMore without
    /// consuming when no complete line is buffered and the partial line is within
    /// <paramref name="maxLength"/>; TooLong when it is not (nothing consumed: the
    /// caller discards up to the next LF); TooLongComplete when a complete line
    /// was too long (it has been consumed).
    /// </summary>
    public static LineStatus TryReadLine(ref SequenceReader<byte> reader, int maxLength, out ReadOnlySequence<byte> line)
    {
        var start = reader.Position;
        if (!reader.TryReadTo(out line, (byte)'\n', advancePastDelimiter: true))
        {
            line = default;
            // +1: a line of exactly maxLength may have its CR buffered before its LF.
            return reader.Remaining > maxLength + 1 ? LineStatus.TooLong : LineStatus.NeedMore;
        }
        long len = line.Length;
        if (len > maxLength + 1)
        {
            return LineStatus.TooLongComplete;
        }
        if (len == 0 || !EndsWithCr(line))
        {
            return LineStatus.BareLf;
        }
        line = line.Slice(0, len - 1);
        if (ContainsCr(line))
        {
            return LineStatus.BareCr;
        }
        return LineStatus.Ok;
    }

    private static bool EndsWithCr(in ReadOnlySequence<byte> line)
    {
        if (line.IsSingleSegment) return line.FirstSpan[^1] == (byte)'\r';
        return line.Slice(line.Length - 1).FirstSpan[0] == (byte)'\r';
    }

    private static bool ContainsCr(in ReadOnlySequence<byte> line)
    {
        if (line.IsSingleSegment) return line.FirstSpan.Contains((byte)'\r');
        foreach (var seg in line)
            if (seg.Span.Contains((byte)'\r')) return true;
        return false;
    }

    /// <summary>Recognises the verb of a command line and returns its argument text (leading spaces trimmed).</summary>
    public static SmtpCommand Parse(ReadOnlySpan<byte> line, out ReadOnlySpan<byte> argument)
    {
        int sp = line.IndexOf((byte)' ');
        var verb = sp < 0 ? line : line[..sp];
        argument = sp < 0 ? default : TrimStart(line[(sp + 1)..]);
        if (verb.Length == 4)
        {
            uint v = BinaryPrimitives.ReadUInt32LittleEndian(verb) | 0x20202020u;
            return v switch
            {
                0x6f6c6568 => SmtpCommand.Helo, // "helo"
                0x6f6c6865 => SmtpCommand.Ehlo,
                0x6c69616d => SmtpCommand.Mail,
                0x74706372 => SmtpCommand.Rcpt,
                0x61746164 => SmtpCommand.Data,
                0x74616462 => SmtpCommand.Bdat,
                0x74657372 => SmtpCommand.Rset,
                0x706f6f6e => SmtpCommand.Noop,
                0x74697571 => SmtpCommand.Quit,
                0x706c6568 => SmtpCommand.Help,
                0x79667276 => SmtpCommand.Vrfy,
                0x6e707865 => SmtpCommand.Expn,
                0x6e727465 => SmtpCommand.Etrn,
                0x68747561 => SmtpCommand.Auth,
                _ => SmtpCommand.Unknown,
            };
        }
        if (verb.Length == 8 && Ascii.EqualsIgnoreCase(verb, "STARTTLS"u8)) return SmtpCommand.StartTls;
        return SmtpCommand.Unknown;
    }

    public static ReadOnlySpan<byte> TrimStart(ReadOnlySpan<byte> s)
    {
        int i = 0;
        while (i < s.Length && s[i] == (byte)' ') i++;
        return s[i..];
    }

    public static ReadOnlySpan<byte> Trim(ReadOnlySpan<byte> s)
    {
        s = TrimStart(s);
        int e = s.Length;
        while (e > 0 && s[e - 1] == (byte)' ') e--;
        return s[..e];
    }
}

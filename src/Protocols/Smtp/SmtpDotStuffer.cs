// RFC 5321 section 4.5.2 transparency for the client side: a '.' at the start
// of a line is doubled while the queued content streams to the server. A
// chunked state machine (as MailKit's SmtpDataFilter): the line-start state
// crosses chunk boundaries, whole lines are copied with one vectorised LF scan,
// and no second copy of the message is ever built. Input is queue content
// (trusted bytes; any LF counts as a line end, which can only stuff more).
namespace Postfix.Protocols.Smtp;

internal struct SmtpDotStuffer
{
    private bool _midLine;

    /// <summary>True when everything transformed so far ended at a line end (or nothing was seen).</summary>
    public readonly bool AtLineStart => !_midLine;

    /// <summary>Copies <paramref name="source"/> into <paramref name="destination"/>, doubling dots
    /// at line starts, until either runs out.</summary>
    public void Transform(ReadOnlySpan<byte> source, Span<byte> destination, out int consumed, out int written)
    {
        consumed = 0;
        written = 0;
        while (consumed < source.Length)
        {
            if (!_midLine && source[consumed] == (byte)'.')
            {
                if (destination.Length - written < 2) return;
                destination[written++] = (byte)'.';
                destination[written++] = (byte)'.';
                consumed++;
                _midLine = true;
                continue;
            }
            int room = destination.Length - written;
            if (room == 0) return;
            var rest = source[consumed..];
            int lf = rest.IndexOf((byte)'\n');
            int n = lf < 0 ? rest.Length : lf + 1;
            bool wholeLine = lf >= 0 && n <= room;
            if (n > room) n = room;
            rest[..n].CopyTo(destination[written..]);
            consumed += n;
            written += n;
            _midLine = !wholeLine;
        }
    }

    /// <summary>The end-of-data marker: "." alone, after a CRLF if the content did not end a line.</summary>
    public readonly ReadOnlySpan<byte> Terminator => _midLine ? "\r\n.\r\n"u8 : ".\r\n"u8;
}

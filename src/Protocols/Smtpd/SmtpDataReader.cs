// The DATA phase (RFC 5321 4.5.2): removes dot-stuffing and finds the end of
// data as a streaming state machine over whatever chunks the pipe hands us,
// carrying line-start state across chunk boundaries. Bytes are copied once,
// from the pipe into the message buffer, in runs (IndexOfAny), not byte by byte.
// SMTP smuggling defence: only <CR><LF>.<CR><LF> ends DATA. With
// forbidBareNewline a bare LF or bare CR is an error; without it a bare LF
// ends a line (stored as CRLF), a bare CR is data, and "<LF>.<LF>" never ends
// anything. Untrusted input; the size is enforced while streaming.
using Postfix.Core.Util;

namespace Postfix.Protocols.Smtpd;

public enum DataStatus : byte
{
    NeedMore,
    Done,
    BareLf,
    BareCr,
}

public struct SmtpDataReader
{
    private enum State : byte { LineStart, InLine, Cr, Dot, DotCr }

    private State _state;
    private long _size;
    private bool _tooBig;
    private bool _afterBareLf; // the current line began after a bare LF: its dot can never end DATA
    private readonly long _limit;
    private readonly bool _forbidBareNewline;

    public SmtpDataReader(long limit, bool forbidBareNewline)
    {
        _state = State.LineStart;
        _size = 0;
        _tooBig = false;
        _afterBareLf = false;
        _limit = limit <= 0 ? long.MaxValue : limit;
        _forbidBareNewline = forbidBareNewline;
    }

    /// <summary>Bytes of message content seen so far (after unstuffing), whether kept or not.</summary>
    public readonly long Size => _size;

    /// <summary>True once content passed the limit; the rest is read and dropped.</summary>
    public readonly bool TooBig => _tooBig;

    /// <summary>
    /// Consumes from <paramref name="input"/>, appending unstuffed content to
    /// <paramref name="output"/>. <paramref name="consumed"/> is how many input bytes were used.
    /// </summary>
    public DataStatus Process(ReadOnlySpan<byte> input, PooledBuffer output, out int consumed)
    {
        int i = 0;
        while (i < input.Length)
        {
            switch (_state)
            {
                case State.LineStart:
                    if (input[i] == (byte)'.' && _afterBareLf) { _state = State.InLine; } // plain data
                    else if (input[i] == (byte)'.') { _state = State.Dot; i++; }
                    else _state = State.InLine;
                    break;

                case State.Dot:
                    if (input[i] == (byte)'\r') { _state = State.DotCr; i++; }
                    else if (input[i] == (byte)'\n')
                    {
                        if (_forbidBareNewline) { consumed = i; return DataStatus.BareLf; }
                        // "<LF>.<LF>" is a line holding one dot, never the end of data.
                        Append(output, ".\r\n"u8);
                        _state = State.LineStart;
                        _afterBareLf = true;
                        i++;
                    }
                    else _state = State.InLine; // the stuffing dot is dropped
                    break;

                case State.DotCr:
                    if (input[i] == (byte)'\n') { consumed = i + 1; _state = State.LineStart; return DataStatus.Done; }
                    if (_forbidBareNewline) { consumed = i; return DataStatus.BareCr; }
                    Append(output, ".\r"u8);
                    _state = State.InLine;
                    break;

                case State.Cr:
                    if (input[i] == (byte)'\n') { Append(output, "\r\n"u8); _state = State.LineStart; _afterBareLf = false; i++; }
                    else if (_forbidBareNewline) { consumed = i; return DataStatus.BareCr; }
                    else { Append(output, "\r"u8); _state = State.InLine; }
                    break;

                default: // InLine: copy the run up to the next CR or LF
                    var rest = input[i..];
                    int n = rest.IndexOfAny((byte)'\r', (byte)'\n');
                    if (n < 0) { Append(output, rest); i = input.Length; break; }
                    Append(output, rest[..n]);
                    i += n;
                    if (input[i] == (byte)'\r') { _state = State.Cr; i++; }
                    else if (_forbidBareNewline) { consumed = i; return DataStatus.BareLf; }
                    else { Append(output, "\r\n"u8); _state = State.LineStart; _afterBareLf = true; i++; }
                    break;
            }
        }
        consumed = i;
        return DataStatus.NeedMore;
    }

    private void Append(PooledBuffer output, ReadOnlySpan<byte> data)
    {
        _size += data.Length;
        if (_tooBig) return;
        if (_size > _limit || !output.CanWrite(data.Length)) _tooBig = true; // buffer bound counts as too big
        else output.Write(data);
    }
}

// qmqpd(8)'s packet parser (QMQP, http://cr.yp.to/proto/qmqp.html): one
// netstring holding the message netstring, the sender netstring and one or
// more recipient netstrings. Input is untrusted network data. The message is
// streamed into the MessageBuilder as it arrives (LF line ends stored as CRLF,
// as smtpd stores DATA); sender and recipients are parsed only once a whole
// netstring is buffered, and each is bounded before it is read: the content by
// message_size_limit (Postfix: netstring_get(..., var_message_limit)), an
// address by line_length_limit, content plus envelope by message_size_limit
// (cleanup's "message too large"). The state is this small struct; Process
// returns NeedMore without consuming a partial length or address.
using System.Buffers;
using System.Text.Unicode;
using Postfix.Core.Cleanup;
using Postfix.Core.Queue;
using Postfix.Core.Util;

namespace Postfix.Protocols.Qmqpd;

public enum QmqpStatus : byte
{
    NeedMore,
    Done,
    Failed,
}

/// <summary>Why a packet was refused; QmqpdReplies maps each to Postfix's reply text.</summary>
public enum QmqpError : byte
{
    None,
    Format,          // "netstring format error"
    TooLong,         // "netstring length exceeds storage limit"
    MessageTooLarge, // content plus envelope past message_size_limit
    BadSender,       // control character or malformed UTF-8 in the sender
    BadRecipient,    // empty, control character or malformed UTF-8
    BadVerp,         // "prefix@origin-@[]" with a delimiter outside verp_delimiter_filter
}

/// <summary>What was being received, for Postfix's "... while receiving X" texts.</summary>
public enum QmqpPart : byte
{
    PacketHeader,
    Content,
    Sender,
    Recipient,
}

public struct QmqpPacketReader
{
    /// <summary>A length longer than this many digits exceeds every limit we have.</summary>
    public const int MaxLengthDigits = 10;

    /// <summary>Postfix's verp_delimiter_filter default: the VERP delimiters a sender may ask for.</summary>
    public const string VerpDelimiterFilter = "-=+";

    private enum Phase : byte { PacketLength, ContentLength, ContentData, ContentEnd, Sender, Recipients, Done }
    private enum Length : byte { Ok, NeedMore, Format, TooLong }

    private readonly long _sizeLimit;
    private readonly int _addressLimit;
    private Phase _phase;
    private long _packetLength;   // the outer netstring's declared length
    private long _packetRead;     // outer payload bytes consumed so far
    private long _contentRemaining;
    private long _counted;        // content + envelope bytes, against message_size_limit

    /// <param name="sizeLimit">message_size_limit (must be positive: the caller maps "0 = no limit" to the queue's record limit).</param>
    /// <param name="addressLimit">line_length_limit: the longest sender or recipient.</param>
    public QmqpPacketReader(long sizeLimit, int addressLimit)
    {
        _sizeLimit = sizeLimit > 0 ? sizeLimit : throw new ArgumentOutOfRangeException(nameof(sizeLimit));
        _addressLimit = addressLimit > 0 ? addressLimit : throw new ArgumentOutOfRangeException(nameof(addressLimit));
        _phase = Phase.PacketLength;
    }

    public QmqpError Error { get; private set; }

    /// <summary>The VERP delimiter of a refused "prefix@origin-@[]" sender (for the reply text).</summary>
    public byte VerpDelimiter { get; private set; }

    public readonly QmqpPart Where => _phase switch
    {
        Phase.PacketLength => QmqpPart.PacketHeader,
        Phase.ContentLength or Phase.ContentData or Phase.ContentEnd => QmqpPart.Content,
        Phase.Sender => QmqpPart.Sender,
        _ => QmqpPart.Recipient,
    };

    /// <summary>
    /// Consumes what it can from <paramref name="reader"/> into <paramref name="msg"/>.
    /// <paramref name="scratch"/> holds an address split across buffer segments
    /// (at least <c>addressLimit</c> bytes).
    /// </summary>
    public QmqpStatus Process(ref SequenceReader<byte> reader, MessageBuilder msg, Span<byte> scratch)
    {
        long mark = _phase == Phase.PacketLength ? -1 : reader.Consumed;
        var status = Run(ref reader, msg, scratch, ref mark);
        if (mark >= 0) _packetRead += reader.Consumed - mark;
        return status;
    }

    private QmqpStatus Run(ref SequenceReader<byte> reader, MessageBuilder msg, Span<byte> scratch, ref long mark)
    {
        while (true)
        {
            switch (_phase)
            {
                case Phase.PacketLength:
                    // Postfix reads and ignores this length; we also hold the payload to it.
                    switch (TryReadLength(ref reader, long.MaxValue, out _packetLength))
                    {
                        case Length.NeedMore: return QmqpStatus.NeedMore;
                        case Length.Format: return Fail(QmqpError.Format);
                        case Length.TooLong: return Fail(QmqpError.TooLong);
                    }
                    mark = reader.Consumed;
                    _phase = Phase.ContentLength;
                    break;

                case Phase.ContentLength:
                    switch (TryReadLength(ref reader, _sizeLimit, out _contentRemaining))
                    {
                        case Length.NeedMore: return QmqpStatus.NeedMore;
                        case Length.Format: return Fail(QmqpError.Format);
                        case Length.TooLong: return Fail(QmqpError.TooLong);
                    }
                    if (_contentRemaining > _packetLength) return Fail(QmqpError.Format);
                    _counted = _contentRemaining;
                    _phase = Phase.ContentData;
                    break;

                case Phase.ContentData:
                    while (_contentRemaining > 0)
                    {
                        if (reader.End) return QmqpStatus.NeedMore;
                        var span = reader.UnreadSpan;
                        if (span.Length > _contentRemaining) span = span[..(int)_contentRemaining];
                        if (!AppendLines(span, msg.Content)) return Fail(QmqpError.MessageTooLarge);
                        reader.Advance(span.Length);
                        _contentRemaining -= span.Length;
                    }
                    _phase = Phase.ContentEnd;
                    break;

                case Phase.ContentEnd:
                    if (!reader.TryRead(out byte comma)) return QmqpStatus.NeedMore;
                    if (comma != (byte)',') return Fail(QmqpError.Format);
                    // A last line without LF still ends with CRLF in the queue (delivery adds "." after it).
                    var content = msg.Content;
                    if (content.Length > 0 && content.Span[^1] != (byte)'\n')
                    {
                        if (!content.CanWrite(2)) return Fail(QmqpError.MessageTooLarge);
                        content.Write("\r\n"u8);
                    }
                    _phase = Phase.Sender;
                    break;

                case Phase.Sender:
                {
                    var status = TryReadAddress(ref reader, scratch, out var sender);
                    if (status != QmqpStatus.Done) return status;
                    if (!IsAcceptableAddress(sender, msg)) return Fail(QmqpError.BadSender);
                    int verp = StripVerp(sender, scratch, out byte delimiter);
                    if (verp < 0) { VerpDelimiter = delimiter; return Fail(QmqpError.BadVerp); }
                    msg.SetSender(verp > 0 ? scratch[..verp] : sender);
                    _phase = Phase.Recipients;
                    break;
                }

                case Phase.Recipients:
                {
                    if (!reader.TryPeek(out byte next)) return QmqpStatus.NeedMore;
                    if (next == (byte)',')
                    {
                        // The outer terminator: the payload must be exactly as long as declared.
                        if (_packetRead + (reader.Consumed - mark) != _packetLength) return Fail(QmqpError.Format);
                        reader.Advance(1);
                        mark = -1; // the terminator is not payload
                        _packetRead = _packetLength;
                        _phase = Phase.Done;
                        return QmqpStatus.Done;
                    }
                    var status = TryReadAddress(ref reader, scratch, out var recipient);
                    if (status != QmqpStatus.Done) return status;
                    if (recipient.IsEmpty || !IsAcceptableAddress(recipient, msg)) return Fail(QmqpError.BadRecipient);
                    msg.AddRecipient(recipient, default, DsnNotify.None);
                    break;
                }

                default:
                    return QmqpStatus.Done;
            }
        }
    }

    private QmqpStatus Fail(QmqpError error)
    {
        Error = error;
        return QmqpStatus.Failed;
    }

    /// <summary>
    /// Reads a whole short netstring (sender or recipient) or nothing: the bytes
    /// are spans into the buffer, copied to <paramref name="scratch"/> only when
    /// split across segments. Checks the running size against message_size_limit.
    /// </summary>
    private QmqpStatus TryReadAddress(ref SequenceReader<byte> reader, Span<byte> scratch, out ReadOnlySpan<byte> value)
    {
        value = default;
        var r = reader;
        switch (TryReadLength(ref r, _addressLimit, out long length))
        {
            case Length.NeedMore: return QmqpStatus.NeedMore;
            case Length.Format: return Fail(QmqpError.Format);
            case Length.TooLong: return Fail(QmqpError.TooLong);
        }
        if (r.Remaining < length + 1) return QmqpStatus.NeedMore;
        int n = (int)length;
        if (r.UnreadSpan.Length >= n) value = r.UnreadSpan[..n];
        else
        {
            r.UnreadSequence.Slice(0, n).CopyTo(scratch);
            value = scratch[..n];
        }
        r.Advance(n);
        if (!r.TryRead(out byte comma) || comma != (byte)',') return Fail(QmqpError.Format);
        _counted += n;
        if (_counted > _sizeLimit) return Fail(QmqpError.MessageTooLarge);
        reader = r;
        return QmqpStatus.Done;
    }

    /// <summary>"digits:" → length; consumes nothing unless the whole prefix is there and valid.</summary>
    private static Length TryReadLength(ref SequenceReader<byte> reader, long max, out long length)
    {
        length = 0;
        var r = reader;
        int digits = 0;
        while (r.TryRead(out byte b))
        {
            if (b == (byte)':')
            {
                if (digits == 0) return Length.Format;
                reader = r;
                return Length.Ok;
            }
            if (b < (byte)'0' || b > (byte)'9') return Length.Format;
            if (++digits > MaxLengthDigits) return Length.TooLong;
            length = length * 10 + (b - '0');
            if (length > max) return Length.TooLong; // no need to wait for the colon
        }
        return Length.NeedMore;
    }

    /// <summary>Appends message bytes, each LF as CRLF (an LF already after CR stays one line end).</summary>
    private static bool AppendLines(ReadOnlySpan<byte> data, PooledBuffer output)
    {
        while (!data.IsEmpty)
        {
            int lf = data.IndexOf((byte)'\n');
            var run = lf < 0 ? data : data[..lf];
            if (!output.CanWrite(run.Length + 2)) return false;
            output.Write(run);
            if (lf < 0) return true;
            if (output.Length > 0 && output.Span[^1] == (byte)'\r') output.WriteByte((byte)'\n');
            else output.Write("\r\n"u8);
            data = data[(lf + 1)..];
        }
        return true;
    }

    /// <summary>
    /// No control characters (they would reach the Received: header and SMTP
    /// commands); 8-bit addresses must be UTF-8 and mark the message SMTPUTF8.
    /// </summary>
    private static bool IsAcceptableAddress(ReadOnlySpan<byte> address, MessageBuilder msg)
    {
        bool eightBit = false;
        foreach (byte b in address)
        {
            if (b < 0x20 || b == 0x7F) return false;
            if (b >= 0x80) eightBit = true;
        }
        if (!eightBit) return true;
        if (!Utf8.IsValid(address)) return false;
        msg.SmtpUtf8 = true;
        return true;
    }

    /// <summary>
    /// Postfix qmqpd's VERP request "prefix-@origin-@[]": strips it to
    /// "prefix@origin" in <paramref name="dest"/> and returns the length; 0 when
    /// the sender is no VERP request; -1 when the delimiter is not allowed.
    /// (Per-recipient VERP expansion itself is not implemented: the mail goes out with the plain sender.)
    /// </summary>
    internal static int StripVerp(ReadOnlySpan<byte> sender, Span<byte> dest, out byte delimiter)
    {
        delimiter = 0;
        int originEnd = sender.Length - 4;
        if (originEnd <= 0 || !sender[originEnd..].SequenceEqual("-@[]"u8)) return 0;
        int at = sender.IndexOf((byte)'@');
        int prefixEnd = at - 1; // the delimiter, just before the first '@'
        if (prefixEnd <= 0 || prefixEnd >= originEnd - 2) return 0;
        delimiter = sender[prefixEnd];
        if (VerpDelimiterFilter.IndexOf((char)delimiter) < 0) return -1;
        // dest may be the buffer sender lives in: both copies move left or stay (CopyTo handles overlap).
        sender[..prefixEnd].CopyTo(dest);
        sender[(prefixEnd + 1)..originEnd].CopyTo(dest[prefixEnd..]);
        return originEnd - 1;
    }
}

// The queue file format (Postfix: global/record.c, global/rec_type.h): one
// binary record per message in the durable log, plus small state records that
// move a message between queues. Little-endian, length-prefixed, versioned.
// Records read back from our own log are trusted for layout but still
// bounds-checked: a torn or foreign record parses as false, never throws.
using System.Buffers.Binary;
using Postfix.Core.Cleanup;

namespace Postfix.Core.Queue;

public static class QueueFile
{
    public const byte KindMessage = (byte)'M';
    public const byte KindState = (byte)'S';
    public const byte KindRecipientDone = (byte)'R';
    public const byte Version = 1;
    public const byte FlagSmtpUtf8 = 1;

    public static int WriteString(Span<byte> dest, ReadOnlySpan<byte> value)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(dest, (ushort)value.Length);
        value.CopyTo(dest[2..]);
        return 2 + value.Length;
    }

    private static int WriteString(Span<byte> dest, string value)
    {
        int n = System.Text.Encoding.UTF8.GetBytes(value, dest[2..]);
        BinaryPrimitives.WriteUInt16LittleEndian(dest, (ushort)n);
        return 2 + n;
    }

    private static int Utf8Len(string s) => 2 + System.Text.Encoding.UTF8.GetByteCount(s);

    public static int MessageLength(MessageBuilder m) =>
        2 + 8 + 8 + 3
        + 2 + m.Sender.Length + 2 + m.EnvId.Length
        + Utf8Len(m.ClientName) + Utf8Len(m.ClientAddress) + Utf8Len(m.Helo) + Utf8Len(m.Protocol)
        + 4 + 4 + m.RecipientBlock.Length
        + 4 + (int)m.ContentLength;

    public static int WriteMessage(MessageBuilder m, Span<byte> dest)
    {
        dest[0] = KindMessage;
        dest[1] = Version;
        BinaryPrimitives.WriteInt64LittleEndian(dest[2..], m.QueueId.Value);
        BinaryPrimitives.WriteInt64LittleEndian(dest[10..], m.ArrivalUnixMs);
        dest[18] = m.SmtpUtf8 ? FlagSmtpUtf8 : (byte)0;
        dest[19] = (byte)m.BodyType;
        dest[20] = (byte)m.Ret;
        int p = 21;
        p += WriteString(dest[p..], m.Sender);
        p += WriteString(dest[p..], m.EnvId);
        p += WriteString(dest[p..], m.ClientName);
        p += WriteString(dest[p..], m.ClientAddress);
        p += WriteString(dest[p..], m.Helo);
        p += WriteString(dest[p..], m.Protocol);
        BinaryPrimitives.WriteInt32LittleEndian(dest[p..], m.RecipientCount); p += 4;
        BinaryPrimitives.WriteInt32LittleEndian(dest[p..], m.RecipientBlock.Length); p += 4;
        m.RecipientBlock.CopyTo(dest[p..]); p += m.RecipientBlock.Length;
        BinaryPrimitives.WriteInt32LittleEndian(dest[p..], (int)m.ContentLength); p += 4;
        m.Content.Span.CopyTo(dest[p..]); p += (int)m.ContentLength;
        return p;
    }

    public const int StateLength = 2 + 8 + 1 + 8;

    public static int WriteState(Span<byte> dest, QueueId id, QueueState state, long notBeforeUnixMs)
    {
        dest[0] = KindState;
        dest[1] = Version;
        BinaryPrimitives.WriteInt64LittleEndian(dest[2..], id.Value);
        dest[10] = (byte)state;
        BinaryPrimitives.WriteInt64LittleEndian(dest[11..], notBeforeUnixMs);
        return StateLength;
    }

    public static bool TryReadState(ReadOnlySpan<byte> rec, out QueueId id, out QueueState state, out long notBeforeUnixMs)
    {
        id = default; state = default; notBeforeUnixMs = 0;
        if (rec.Length < StateLength || rec[0] != KindState || rec[1] != Version) return false;
        id = new QueueId(BinaryPrimitives.ReadInt64LittleEndian(rec[2..]));
        state = (QueueState)rec[10];
        notBeforeUnixMs = BinaryPrimitives.ReadInt64LittleEndian(rec[11..]);
        return state is >= QueueState.Incoming and <= QueueState.Removed;
    }

    public const int RecipientDoneLength = 2 + 8 + 4;

    /// <summary>Recipient <paramref name="index"/> needs no further delivery (sent or bounced).</summary>
    public static int WriteRecipientDone(Span<byte> dest, QueueId id, int index)
    {
        dest[0] = KindRecipientDone;
        dest[1] = Version;
        BinaryPrimitives.WriteInt64LittleEndian(dest[2..], id.Value);
        BinaryPrimitives.WriteInt32LittleEndian(dest[10..], index);
        return RecipientDoneLength;
    }

    public static bool TryReadRecipientDone(ReadOnlySpan<byte> rec, out int index)
    {
        index = -1;
        if (rec.Length < RecipientDoneLength || rec[0] != KindRecipientDone || rec[1] != Version) return false;
        index = BinaryPrimitives.ReadInt32LittleEndian(rec[10..]);
        return index >= 0;
    }

    /// <summary>Reads just the kind and queue ID of any record.</summary>
    public static bool TryPeek(ReadOnlySpan<byte> rec, out byte kind, out QueueId id)
    {
        kind = 0; id = default;
        if (rec.Length < 10 || rec[1] != Version || (rec[0] != KindMessage && rec[0] != KindState && rec[0] != KindRecipientDone)) return false;
        kind = rec[0];
        id = new QueueId(BinaryPrimitives.ReadInt64LittleEndian(rec[2..]));
        return true;
    }

    public static bool TryReadMessage(ReadOnlyMemory<byte> record, out QueuedMessage? message)
    {
        message = null;
        var rec = record.Span;
        try
        {
            if (rec.Length < 21 || rec[0] != KindMessage || rec[1] != Version) return false;
            var id = new QueueId(BinaryPrimitives.ReadInt64LittleEndian(rec[2..]));
            long arrival = BinaryPrimitives.ReadInt64LittleEndian(rec[10..]);
            byte flags = rec[18];
            var body = (BodyType)rec[19];
            var ret = (DsnRet)rec[20];
            int p = 21;
            string sender = ReadString(rec, ref p);
            string envid = ReadString(rec, ref p);
            string clientName = ReadString(rec, ref p);
            string clientAddr = ReadString(rec, ref p);
            string helo = ReadString(rec, ref p);
            string protocol = ReadString(rec, ref p);
            int nrcpt = BinaryPrimitives.ReadInt32LittleEndian(rec[p..]); p += 4;
            int rlen = BinaryPrimitives.ReadInt32LittleEndian(rec[p..]); p += 4;
            if (nrcpt < 0 || rlen < 0 || rlen > rec.Length - p) return false;
            var rcpts = new QueuedRecipient[nrcpt];
            int end = p + rlen;
            for (int i = 0; i < nrcpt; i++)
            {
                string addr = ReadString(rec, ref p);
                string orcpt = ReadString(rec, ref p);
                var notify = (DsnNotify)rec[p++];
                rcpts[i] = new QueuedRecipient(i, addr, orcpt, notify);
            }
            if (p != end) return false;
            int clen = BinaryPrimitives.ReadInt32LittleEndian(rec[p..]); p += 4;
            if (clen < 0 || clen > rec.Length - p) return false;
            message = new QueuedMessage(id, arrival, sender, envid, ret, body, (flags & FlagSmtpUtf8) != 0,
                clientName, clientAddr, helo, protocol, rcpts, record.Slice(p, clen));
            return true;
        }
        catch (ArgumentOutOfRangeException)
        {
            return false;
        }
        catch (IndexOutOfRangeException)
        {
            return false;
        }
    }

    private static string ReadString(ReadOnlySpan<byte> rec, ref int p)
    {
        int len = BinaryPrimitives.ReadUInt16LittleEndian(rec[p..]);
        p += 2;
        var s = System.Text.Encoding.UTF8.GetString(rec.Slice(p, len));
        p += len;
        return s;
    }
}

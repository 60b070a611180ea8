// Postfix-style short queue IDs (global/mail_queue.c: MQID_*): upper-case hex,
// unique per queue. Ours is a 48-bit value: seconds since epoch (low 28 bits) in
// the high part and a per-second sequence in the low 20 bits, so IDs sort by
// arrival and survive restarts (the allocator is seeded past the highest
// recovered ID). Formatting writes into a caller's span: no allocation.
namespace Postfix.Core.Queue;

public readonly record struct QueueId(long Value) : IComparable<QueueId>
{
    public const int Length = 12;

    public int CompareTo(QueueId other) => Value.CompareTo(other.Value);

    public void Format(Span<byte> destination)
    {
        long v = Value;
        for (int i = Length - 1; i >= 0; i--)
        {
            int nibble = (int)(v & 0xF);
            destination[i] = (byte)(nibble < 10 ? '0' + nibble : 'A' + nibble - 10);
            v >>= 4;
        }
    }

    public void Format(Span<char> destination)
    {
        long v = Value;
        for (int i = Length - 1; i >= 0; i--)
        {
            int nibble = (int)(v & 0xF);
            destination[i] = (char)(nibble < 10 ? '0' + nibble : 'A' + nibble - 10);
            v >>= 4;
        }
    }

    public override string ToString() => string.Create(Length, this, static (span, id) => id.Format(span));

    public static bool TryParse(ReadOnlySpan<char> text, out QueueId id)
    {
        id = default;
        if (text.Length != Length) return false;
        long v = 0;
        foreach (char c in text)
        {
            int n = c switch
            {
                >= '0' and <= '9' => c - '0',
                >= 'A' and <= 'F' => c - 'A' + 10,
                >= 'a' and <= 'f' => c - 'a' + 10,
                _ => -1,
            };
            if (n < 0) return false;
            v = (v << 4) | (uint)n;
        }
        id = new QueueId(v);
        return true;
    }
}

// Allocates queue IDs lock-free: max(previous + 1, now << 20). Seeded with the
// highest ID recovered from the queue so a restart within the same second never
// reuses an ID.
namespace Postfix.Core.Queue;

public sealed class QueueIdAllocator
{
    private const int SequenceBits = 20;
    private const long Mask48 = (1L << 48) - 1;
    private long _last;

    public QueueIdAllocator(long seed = 0) => _last = seed;

    public void Observe(QueueId recovered)
    {
        long seen = recovered.Value;
        long cur;
        while ((cur = Volatile.Read(ref _last)) < seen)
            if (Interlocked.CompareExchange(ref _last, seen, cur) == cur) return;
    }

    public QueueId Next()
    {
        long floor = ((DateTimeOffset.UtcNow.ToUnixTimeSeconds() & ((1L << 28) - 1)) << SequenceBits) & Mask48;
        while (true)
        {
            long cur = Volatile.Read(ref _last);
            long next = Math.Max(cur + 1, floor) & Mask48;
            if (Interlocked.CompareExchange(ref _last, next, cur) == cur) return new QueueId(next);
        }
    }
}

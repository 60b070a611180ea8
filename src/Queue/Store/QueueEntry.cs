// What qmgr keeps in memory per queued message: where its record lives in the
// log and which queue it is in. Small on purpose: a million queued messages
// must fit comfortably.
using Postfix.Core.Queue;

namespace Postfix.Queue.Store;

public sealed class QueueEntry(QueueId id, long address, int length, long arrivalUnixMs)
{
    private int _state = (int)QueueState.Incoming;

    public QueueId Id { get; } = id;
    private long _address = address;

    /// <summary>Where the message record lives; moves when compaction copies it forward.</summary>
    public long Address
    {
        get => Volatile.Read(ref _address);
        internal set => Volatile.Write(ref _address, value);
    }
    public int Length { get; } = length;
    public long ArrivalUnixMs { get; } = arrivalUnixMs;
    public long NotBeforeUnixMs { get; set; }
    public int Attempts { get; set; }
    /// <summary>A delay_warning_time notice was sent (kept in memory: after a restart one more may go out).</summary>
    public bool DelayWarned { get; set; }
    private ulong[]? _done;

    /// <summary>True when recipient <paramref name="index"/> was already sent or bounced (not retried).</summary>
    public bool IsRecipientDone(int index)
    {
        var d = Volatile.Read(ref _done);
        return d != null && index >> 6 < d.Length && (Volatile.Read(ref d[index >> 6]) & (1UL << (index & 63))) != 0;
    }

    /// <summary>Indexes of recipients already done (for compaction's copy).</summary>
    internal IEnumerable<int> DoneRecipients()
    {
        var d = Volatile.Read(ref _done);
        if (d == null) yield break;
        for (int w = 0; w < d.Length; w++)
            for (int b = 0; b < 64; b++)
                if ((Volatile.Read(ref d[w]) & (1UL << b)) != 0) yield return (w << 6) | b;
    }

    internal void MarkRecipientDone(int index)
    {
        var d = Volatile.Read(ref _done);
        if (d == null || index >> 6 >= d.Length)
        {
            lock (this)
            {
                d = _done;
                if (d == null || index >> 6 >= d.Length)
                {
                    var bigger = new ulong[Math.Max((index >> 6) + 1, (d?.Length ?? 0) * 2)];
                    d?.CopyTo(bigger, 0);
                    Volatile.Write(ref _done, d = bigger);
                }
            }
        }
        Interlocked.Or(ref d[index >> 6], 1UL << (index & 63));
    }

    public QueueState State
    {
        get => (QueueState)Volatile.Read(ref _state);
        set => Volatile.Write(ref _state, (int)value);
    }

    /// <summary>Atomically moves from <paramref name="from"/> to <paramref name="to"/>; false if another owner moved it first.</summary>
    public bool TryMove(QueueState from, QueueState to) =>
        Interlocked.CompareExchange(ref _state, (int)to, (int)from) == (int)from;
}

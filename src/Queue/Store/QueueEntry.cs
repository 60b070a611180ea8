// A handle on one queued message in the QueueIndex: its slot and the slot's
// generation. Made on demand (listing, lookup, activation) and dropped after;
// nothing per message stays on the heap. Every read checks the generation,
// so a handle kept after its message left the queue sees "removed" (and
// default values), never the message that reused the slot.
using Postfix.Core.Queue;

namespace Postfix.Queue.Store;

public sealed class QueueEntry
{
    private readonly QueueIndex _index;

    internal QueueEntry(QueueIndex index, int slot, int generation, QueueId id)
    {
        _index = index;
        Slot = slot;
        Generation = generation;
        Id = id;
    }

    public QueueId Id { get; }
    internal int Slot { get; }
    internal int Generation { get; }

    /// <summary>What qmgr's channels carry instead of this object.</summary>
    public QueueRef Ref => new(Slot, Generation);

    private ref QueueSlot S => ref _index.At(Slot);

    /// <summary>The slot's word when it still holds this message; else 0.</summary>
    private int Word
    {
        get
        {
            int w = Volatile.Read(ref S.Word);
            return (w >>> QueueIndex.GenShift) == Generation && Volatile.Read(ref S.Id) == Id.Value ? w : 0;
        }
    }

    /// <summary>Reads a field, then re-checks that the slot still holds this message.</summary>
    private long Checked(long value) => Word != 0 ? value : 0;

    /// <summary>Where the message record lives; moves when compaction copies it forward.</summary>
    public long Address
    {
        get => Checked(Volatile.Read(ref S.Address));
        internal set { if (Word != 0) Volatile.Write(ref S.Address, value); }
    }

    public int Length => (int)Checked(S.Length);
    public long ArrivalUnixMs => Checked(Volatile.Read(ref S.ArrivalUnixMs));

    public long NotBeforeUnixMs
    {
        get => Checked(Volatile.Read(ref S.NotBeforeUnixMs));
        set { if (Word != 0) Volatile.Write(ref S.NotBeforeUnixMs, value); }
    }

    /// <summary>Address and length together, or false when the message has left the queue.</summary>
    internal bool TryGetRecord(out long address, out int length)
    {
        address = Volatile.Read(ref S.Address);
        length = S.Length;
        return Word != 0;
    }

    /// <summary>A delay_warning_time notice was sent (kept in memory: after a restart one more may go out).</summary>
    public bool DelayWarned
    {
        get => (Word & QueueIndex.DelayWarnedBit) != 0;
        set => SetFlag(QueueIndex.DelayWarnedBit, value);
    }

    /// <summary>True when recipient <paramref name="index"/> was already sent or bounced (not retried).</summary>
    public bool IsRecipientDone(int index)
    {
        if ((Word & QueueIndex.HasDoneBit) == 0) return false;
        var d = _index.DoneBits(Id.Value);
        return d != null && index >> 6 < d.Length && (Volatile.Read(ref d[index >> 6]) & (1UL << (index & 63))) != 0;
    }

    /// <summary>Indexes of recipients already done (for compaction's copy).</summary>
    internal IEnumerable<int> DoneRecipients()
    {
        if ((Word & QueueIndex.HasDoneBit) == 0) yield break;
        var d = _index.DoneBits(Id.Value);
        if (d == null) yield break;
        for (int w = 0; w < d.Length; w++)
            for (int b = 0; b < 64; b++)
                if ((Volatile.Read(ref d[w]) & (1UL << b)) != 0) yield return (w << 6) | b;
    }

    internal void MarkRecipientDone(int index)
    {
        if (Word == 0) return;
        var d = _index.DoneBitsFor(Id.Value, index);
        Interlocked.Or(ref d[index >> 6], 1UL << (index & 63));
        // A bitmap grown concurrently may have copied before our bit: set it in the current one too.
        var now = _index.DoneBits(Id.Value);
        if (now != null && now != d && index >> 6 < now.Length) Interlocked.Or(ref now[index >> 6], 1UL << (index & 63));
        SetFlag(QueueIndex.HasDoneBit, true);
    }

    public QueueState State
    {
        get => Word is int w and not 0 ? (QueueState)(w & QueueIndex.StateMask) : QueueState.Removed;
        internal set
        {
            // Recovery only (single-threaded).
            int w = Word;
            if (w != 0) Volatile.Write(ref S.Word, (w & ~QueueIndex.StateMask) | (int)value);
        }
    }

    /// <summary>
    /// Atomically moves from <paramref name="from"/> to <paramref name="to"/>; false if another
    /// owner moved it first or it left the queue. Clears the "handed to qmgr" mark.
    /// </summary>
    public bool TryMove(QueueState from, QueueState to)
    {
        while (true)
        {
            int w = Word;
            if (w == 0 || (QueueState)(w & QueueIndex.StateMask) != from) return false;
            int next = (w & ~(QueueIndex.StateMask | QueueIndex.PendingBit)) | (int)to;
            if (Interlocked.CompareExchange(ref S.Word, next, w) == w) return true;
        }
    }

    /// <summary>The deferred scan hands a message to qmgr once: true for the caller that set the mark.</summary>
    internal bool TryMarkPending(QueueState expected)
    {
        while (true)
        {
            int w = Word;
            if (w == 0 || (QueueState)(w & QueueIndex.StateMask) != expected || (w & QueueIndex.PendingBit) != 0) return false;
            if (Interlocked.CompareExchange(ref S.Word, w | QueueIndex.PendingBit, w) == w) return true;
        }
    }

    private void SetFlag(int bit, bool on)
    {
        while (true)
        {
            int w = Word;
            if (w == 0) return;
            int next = on ? w | bit : w & ~bit;
            if (next == w || Interlocked.CompareExchange(ref S.Word, next, w) == w) return;
        }
    }

    public override string ToString() => $"{Id} ({State})";
}

// The queue's in-memory index (Postfix: the queue directories' file names plus
// qmgr's view of them): one 40-byte QueueSlot per queued message in chunked
// struct arrays, and an open-addressing table from queue ID to slot (4 bytes
// per table cell, kept at most 3/4 full). No object per message: a
// QueueEntry is a short-lived handle (slot + generation) made on demand, and
// the envelope, recipients and delivery state are read from the FASTER log
// when a message becomes active (QmgrScheduler) or an admin command asks.
// Done-recipient bitmaps live in a side table, only for messages that have
// some recipients done and others still queued.
// Adds, removals and ID lookups take one short lock; state moves are
// lock-free compare-and-swap on the slot's word, whose generation makes a
// stale handle (its slot since reused) see "removed" and never touch the
// slot's new message. Input is trusted (our own log and callers).
using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Postfix.Core.Queue;

namespace Postfix.Queue.Store;

/// <summary>One queued message in the index: 40 bytes, no references (the GC never scans it).</summary>
internal struct QueueSlot
{
    /// <summary>QueueId.Value; 0 while the slot is free.</summary>
    public long Id;
    /// <summary>The message record's log address; a free slot's next free slot.</summary>
    public long Address;
    public long ArrivalUnixMs;
    public long NotBeforeUnixMs;
    public int Length;
    /// <summary><see cref="QueueIndex"/>'s word: state, flags, generation.</summary>
    public int Word;
}

/// <summary>A slot reference that survives neither removal nor reuse (8 bytes: what qmgr's incoming channel holds).</summary>
public readonly record struct QueueRef(int Slot, int Generation);

public sealed class QueueIndex
{
    internal const int StateMask = 0x7;
    internal const int DelayWarnedBit = 0x8;
    /// <summary>In qmgr's incoming channel already (the deferred scan hands a message over once).</summary>
    internal const int PendingBit = 0x10;
    internal const int HasDoneBit = 0x20;
    internal const int GenShift = 8;

    private const int ChunkBits = 16;
    private const int ChunkSize = 1 << ChunkBits;

    private readonly Lock _lock = new();
    private QueueSlot[][] _chunks = [];
    private int _high;             // slots ever handed out
    private int _freeHead = -1;    // free slots chained through Address
    private int _count;
    private int[] _table = new int[1024]; // slot + 1; 0 = empty
    private readonly ConcurrentDictionary<long, ulong[]> _done = new();

    public int Count => Volatile.Read(ref _count);

    /// <summary>Slots handed out so far (scans run up to here).</summary>
    internal int High => Volatile.Read(ref _high);

    /// <summary>Bytes the index holds for <see cref="Count"/> messages (slot chunks + ID table + done bitmaps).</summary>
    public long FootprintBytes
    {
        get
        {
            long bytes = (long)Volatile.Read(ref _chunks).Length * ChunkSize * Unsafe.SizeOf<QueueSlot>()
                + (long)Volatile.Read(ref _table).Length * sizeof(int);
            foreach (var d in _done.Values) bytes += 24 + d.Length * 8L + 48;
            return bytes;
        }
    }

    internal ref QueueSlot At(int slot) => ref Volatile.Read(ref _chunks)[slot >> ChunkBits][slot & (ChunkSize - 1)];

    /// <summary>Indexes a newly committed (or recovered) message in <paramref name="state"/>.</summary>
    public QueueEntry Add(QueueId id, long address, int length, long arrivalUnixMs, QueueState state = QueueState.Incoming)
    {
        lock (_lock)
        {
            int slot;
            if (_freeHead >= 0)
            {
                slot = _freeHead;
                _freeHead = (int)At(slot).Address;
            }
            else
            {
                slot = _high;
                if ((slot >> ChunkBits) >= _chunks.Length)
                {
                    var bigger = new QueueSlot[_chunks.Length + 1][];
                    _chunks.CopyTo(bigger, 0);
                    bigger[^1] = new QueueSlot[ChunkSize];
                    Volatile.Write(ref _chunks, bigger);
                }
                Volatile.Write(ref _high, slot + 1);
            }
            ref var s = ref At(slot);
            int gen = ((s.Word >>> GenShift) + 1) & 0xFFFFFF;
            int word = (gen << GenShift) | (int)state;
            s.Address = address;
            s.Length = length;
            s.ArrivalUnixMs = arrivalUnixMs;
            s.NotBeforeUnixMs = 0;
            Volatile.Write(ref s.Word, word);
            Volatile.Write(ref s.Id, id.Value); // published last: scans skip Id == 0
            if ((_count + 1) * 4L > _table.Length * 3L) Grow();
            Insert(_table, id.Value, slot);
            _count++;
            return new QueueEntry(this, slot, gen, id);
        }
    }

    /// <summary>Frees the slot of a message that just moved to Removed (the caller won that move).</summary>
    internal void Free(QueueEntry e)
    {
        lock (_lock)
        {
            ref var s = ref At(e.Slot);
            if (Volatile.Read(ref s.Id) != e.Id.Value || (s.Word >>> GenShift) != e.Generation) return;
            Delete(e.Id.Value);
            _done.TryRemove(e.Id.Value, out _);
            Volatile.Write(ref s.Id, 0);
            s.Address = _freeHead;
            _freeHead = e.Slot;
            _count--;
        }
    }

    public bool TryGet(QueueId id, out QueueEntry entry)
    {
        lock (_lock)
        {
            int slot = Find(id.Value);
            if (slot >= 0)
            {
                int w = Volatile.Read(ref At(slot).Word);
                entry = new QueueEntry(this, slot, w >>> GenShift, id);
                return true;
            }
        }
        entry = null!;
        return false;
    }

    /// <summary>A handle for <paramref name="r"/>, or false when that message has left the queue.</summary>
    public bool TryGet(QueueRef r, out QueueEntry entry)
    {
        entry = null!;
        if ((uint)r.Slot >= (uint)High) return false;
        ref var s = ref At(r.Slot);
        long id = Volatile.Read(ref s.Id);
        int w = Volatile.Read(ref s.Word);
        if (id == 0 || (w >>> GenShift) != r.Generation || Volatile.Read(ref s.Id) != id) return false;
        entry = new QueueEntry(this, r.Slot, r.Generation, new QueueId(id));
        return true;
    }

    /// <summary>Visits every queued message without allocating: (ref, id, word, notBefore, address).</summary>
    internal void ForEach<TState>(ref TState state, SlotVisitor<TState> visit)
    {
        int high = High;
        for (int i = 0; i < high; i++)
        {
            ref var s = ref At(i);
            long id = Volatile.Read(ref s.Id);
            if (id == 0) continue;
            int w = Volatile.Read(ref s.Word);
            long notBefore = Volatile.Read(ref s.NotBeforeUnixMs), address = Volatile.Read(ref s.Address);
            int len = s.Length;
            if (Volatile.Read(ref s.Id) != id || Volatile.Read(ref s.Word) >>> GenShift != w >>> GenShift) continue;
            visit(ref state, new SlotView(new QueueRef(i, w >>> GenShift), new QueueId(id), w, notBefore, address, len));
        }
    }

    internal delegate void SlotVisitor<TState>(ref TState state, in SlotView slot);

    internal readonly record struct SlotView(QueueRef Ref, QueueId Id, int Word, long NotBeforeUnixMs, long Address, int Length)
    {
        public QueueState State => (QueueState)(Word & StateMask);
        public bool Pending => (Word & PendingBit) != 0;
    }

    /// <summary>Handles for every queued message (admin paths: one short-lived object each).</summary>
    public IEnumerable<QueueEntry> Entries()
    {
        int high = High;
        for (int i = 0; i < high; i++)
        {
            ref var s = ref At(i);
            long id = Volatile.Read(ref s.Id);
            if (id == 0) continue;
            int w = Volatile.Read(ref s.Word);
            if (Volatile.Read(ref s.Id) != id) continue;
            yield return new QueueEntry(this, i, w >>> GenShift, new QueueId(id));
        }
    }

    internal ulong[]? DoneBits(long id) => _done.TryGetValue(id, out var d) ? d : null;

    internal ulong[] DoneBitsFor(long id, int index)
    {
        int words = (index >> 6) + 1;
        while (true)
        {
            if (_done.TryGetValue(id, out var d))
            {
                if (d.Length >= words) return d;
                var bigger = new ulong[Math.Max(words, d.Length * 2)];
                for (int i = 0; i < d.Length; i++) bigger[i] = Volatile.Read(ref d[i]);
                if (_done.TryUpdate(id, bigger, d)) return bigger;
            }
            else if (_done.TryAdd(id, new ulong[words])) continue;
        }
    }

    // Fibonacci hashing: queue IDs are sequential (time << 20 | sequence).
    private static int Home(long id, int mask) => (int)((ulong)(id * -7046029254386353131L) >> 40) & mask;

    private int Find(long id)
    {
        var t = _table;
        int mask = t.Length - 1;
        for (int i = Home(id, mask); ; i = (i + 1) & mask)
        {
            int v = t[i];
            if (v == 0) return -1;
            if (At(v - 1).Id == id) return v - 1;
        }
    }

    private void Insert(int[] t, long id, int slot)
    {
        int mask = t.Length - 1;
        int i = Home(id, mask);
        while (t[i] != 0) i = (i + 1) & mask;
        t[i] = slot + 1;
    }

    /// <summary>Linear probing's backward-shift delete: no tombstones, lookups stay short.</summary>
    private void Delete(long id)
    {
        var t = _table;
        int mask = t.Length - 1;
        int i = Home(id, mask);
        while (t[i] != 0 && At(t[i] - 1).Id != id) i = (i + 1) & mask;
        if (t[i] == 0) return;
        int hole = i;
        for (int j = (hole + 1) & mask; t[j] != 0; j = (j + 1) & mask)
        {
            int home = Home(At(t[j] - 1).Id, mask);
            // Move j into the hole when its home is not cyclically in (hole, j].
            bool between = hole <= j ? home > hole && home <= j : home > hole || home <= j;
            if (!between)
            {
                t[hole] = t[j];
                hole = j;
            }
        }
        t[hole] = 0;
    }

    private void Grow()
    {
        var bigger = new int[_table.Length * 2];
        foreach (int v in _table)
            if (v != 0) Insert(bigger, At(v - 1).Id, v - 1);
        _table = bigger;
    }
}

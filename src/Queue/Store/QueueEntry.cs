// What qmgr keeps in memory per queued message: where its record lives in the
// log and which queue it is in. Small on purpose: a million queued messages
// must fit comfortably.
using Postfix.Core.Queue;

namespace Postfix.Queue.Store;

public sealed class QueueEntry(QueueId id, long address, int length, long arrivalUnixMs)
{
    private int _state = (int)QueueState.Incoming;

    public QueueId Id { get; } = id;
    public long Address { get; } = address;
    public int Length { get; } = length;
    public long ArrivalUnixMs { get; } = arrivalUnixMs;
    public long NotBeforeUnixMs { get; set; }
    public int Attempts { get; set; }

    public QueueState State
    {
        get => (QueueState)Volatile.Read(ref _state);
        set => Volatile.Write(ref _state, (int)value);
    }

    /// <summary>Atomically moves from <paramref name="from"/> to <paramref name="to"/>; false if another owner moved it first.</summary>
    public bool TryMove(QueueState from, QueueState to) =>
        Interlocked.CompareExchange(ref _state, (int)to, (int)from) == (int)from;
}

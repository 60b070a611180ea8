// A message in the active queue while its deliveries run (Postfix:
// qmgr_message.c): counts outstanding entries and collects the recipients that
// were deferred or bounced, so qmgr decides once, when the last entry is done.
using System.Collections.Concurrent;
using Postfix.Core.Delivery;
using Postfix.Core.Queue;
using Postfix.Queue.Store;

namespace Postfix.Queue.Qmgr;

internal sealed class QmgrMessage(QueueEntry entry, QueuedMessage message, long activeSinceMs)
{
    private int _pending;

    public QueueEntry Entry { get; } = entry;
    public QueuedMessage Message { get; } = message;
    public long ActiveSinceMs { get; } = activeSinceMs;
    public ConcurrentQueue<RecipientResult> Deferred { get; } = new();
    public ConcurrentQueue<RecipientResult> Bounced { get; } = new();

    public void AddPending(int n) => Interlocked.Add(ref _pending, n);

    /// <summary>True for the caller that completed the last outstanding entry.</summary>
    public bool CompleteOne() => Interlocked.Decrement(ref _pending) == 0;
}

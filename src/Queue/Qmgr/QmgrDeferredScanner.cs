// qmgr(8)'s deferred-queue scan: deferred messages come back to the active
// queue when their backoff time has passed (Postfix scans every
// queue_run_delay; we wake exactly when the earliest one is due), or at once on
// postqueue -f / postfix flush. One task owns the time-ordered heap; others
// hand it entries and flush requests through a channel.
// A message can have stale copies in the heap (it was requeued, released or
// flushed by ID since it was queued here): a copy counts only while the message
// is still deferred with the due time it was queued under.
using System.Threading.Channels;
using Postfix.Core.Queue;
using Postfix.Queue.Store;

namespace Postfix.Queue.Qmgr;

public sealed class QmgrDeferredScanner : IAsyncDisposable
{
    /// <summary>One inbox item: a deferred entry to schedule, or a flush waiting for its count.</summary>
    private readonly record struct Request(QueueEntry? Entry, TaskCompletionSource<int>? Flush);

    private readonly Channel<Request> _inbox = Channel.CreateUnbounded<Request>(new UnboundedChannelOptions { SingleReader = true });
    private readonly PriorityQueue<QueueEntry, long> _heap = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Action<QueueEntry> _reactivate;
    private Task _loop = Task.CompletedTask;

    public QmgrDeferredScanner(Action<QueueEntry> reactivate) => _reactivate = reactivate;

    public void Add(QueueEntry e) => _inbox.Writer.TryWrite(new Request(e, null));

    /// <summary>postqueue -f: every deferred message is retried now (fire and forget).</summary>
    public void Flush() => _ = FlushAsync();

    /// <summary>postqueue -f: every deferred message is retried now; completes with how many were.</summary>
    public Task<int> FlushAsync()
    {
        var done = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_inbox.Writer.TryWrite(new Request(null, done))) done.TrySetResult(0);
        return done.Task;
    }

    public void Start(IEnumerable<QueueEntry> recovered)
    {
        foreach (var e in recovered) _heap.Enqueue(e, e.NotBeforeUnixMs);
        _loop = Task.Run(LoopAsync);
    }

    private async Task LoopAsync()
    {
        var reader = _inbox.Reader;
        var flushes = new List<TaskCompletionSource<int>>();
        var seen = new HashSet<QueueEntry>(ReferenceEqualityComparer.Instance);
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                while (reader.TryRead(out var r))
                {
                    if (r.Entry is { } e) _heap.Enqueue(e, e.NotBeforeUnixMs);
                    else if (r.Flush is { } f) flushes.Add(f);
                }
                long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
                bool flush = flushes.Count > 0;
                while (_heap.TryPeek(out var top, out long due) && (flush || due <= now))
                {
                    _heap.Dequeue();
                    if (top.State != QueueState.Deferred || top.NotBeforeUnixMs != due) continue;
                    // Two live copies (released twice with the same due time) activate once.
                    if (seen.Add(top)) _reactivate(top);
                }
                foreach (var f in flushes) f.TrySetResult(seen.Count);
                flushes.Clear();
                seen.Clear();
                long wait = _heap.TryPeek(out _, out long next) ? Math.Clamp(next - now, 10, 60_000) : 60_000;
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                timeout.CancelAfter(TimeSpan.FromMilliseconds(wait));
                try { await reader.WaitToReadAsync(timeout.Token).ConfigureAwait(false); }
                catch (OperationCanceledException) { }
            }
        }
        finally
        {
            // Nobody waits forever on a flush that arrived as qmgr stopped.
            foreach (var f in flushes) f.TrySetResult(0);
            while (reader.TryRead(out var r)) r.Flush?.TrySetResult(0);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _inbox.Writer.TryComplete();
        try { await _loop.ConfigureAwait(false); } catch (OperationCanceledException) { }
    }
}

// qmgr(8)'s deferred-queue scan: deferred messages come back to the active
// queue when their backoff time has passed (Postfix scans every
// queue_run_delay; we wake exactly when the earliest one is due), or at once on
// postqueue -f / postfix flush. One task owns the time-ordered heap; others
// hand it entries through a channel.
using System.Threading.Channels;
using Postfix.Core.Queue;
using Postfix.Queue.Store;

namespace Postfix.Queue.Qmgr;

public sealed class QmgrDeferredScanner : IAsyncDisposable
{
    private readonly Channel<QueueEntry?> _inbox = Channel.CreateUnbounded<QueueEntry?>(new UnboundedChannelOptions { SingleReader = true });
    private readonly PriorityQueue<QueueEntry, long> _heap = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Action<QueueEntry> _reactivate;
    private Task _loop = Task.CompletedTask;
    private volatile bool _flush;

    public QmgrDeferredScanner(Action<QueueEntry> reactivate) => _reactivate = reactivate;

    public void Add(QueueEntry e) => _inbox.Writer.TryWrite(e);

    /// <summary>postqueue -f: every deferred message is retried now.</summary>
    public void Flush()
    {
        _flush = true;
        _inbox.Writer.TryWrite(null);
    }

    public void Start(IEnumerable<QueueEntry> recovered)
    {
        foreach (var e in recovered) _heap.Enqueue(e, e.NotBeforeUnixMs);
        _loop = Task.Run(LoopAsync);
    }

    private async Task LoopAsync()
    {
        var reader = _inbox.Reader;
        while (!_stop.IsCancellationRequested)
        {
            while (reader.TryRead(out var e))
                if (e is not null) _heap.Enqueue(e, e.NotBeforeUnixMs);
            long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            bool flush = _flush;
            _flush = false;
            while (_heap.TryPeek(out var top, out long due) && (flush || due <= now))
            {
                _heap.Dequeue();
                if (top.State == QueueState.Deferred) _reactivate(top);
            }
            long wait = _heap.TryPeek(out _, out long next) ? Math.Clamp(next - now, 10, 60_000) : 60_000;
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            timeout.CancelAfter(TimeSpan.FromMilliseconds(wait));
            try { await reader.WaitToReadAsync(timeout.Token).ConfigureAwait(false); }
            catch (OperationCanceledException) { }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        try { await _loop.ConfigureAwait(false); } catch (OperationCanceledException) { }
    }
}

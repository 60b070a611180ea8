// qmgr(8)'s deferred-queue scan: deferred messages come back to the active
// queue when their backoff time has passed, or at once on postqueue -f /
// postfix flush. As Postfix rescans its deferred directory instead of keeping
// deferred mail in memory, this scans the queue index (40-byte slots, no
// object per message) and keeps only the earliest due time: it wakes when
// that time comes (or when a newly deferred message is due earlier), but a
// full scan runs at most once per ScanFloor, which grows with the queue (1 ms
// per 1000 queued messages: about 1 s for a million), so a large queue costs
// a bounded share of one core. A message handed to qmgr is marked in its slot
// (QueueEntry.TryMarkPending) so later scans do not hand it over again before
// it is activated.
using Postfix.Core.Queue;
using Postfix.Queue.Store;

namespace Postfix.Queue.Qmgr;

public sealed class QmgrDeferredScanner : IAsyncDisposable
{
    private readonly QueueStore _store;
    private readonly Action<QueueRef> _reactivate;
    private readonly SemaphoreSlim _wake = new(0, 1);
    private readonly System.Collections.Concurrent.ConcurrentQueue<TaskCompletionSource<int>> _flushes = new();
    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;
    /// <summary>Earliest due time known to the loop; Add lowers it and wakes the loop.
    /// Starts in the past: the first scan finds the deferred mail recovered from the log.</summary>
    private long _nextDue = long.MinValue;
    private long _scans;

    public QmgrDeferredScanner(QueueStore store, Action<QueueRef> reactivate)
    {
        _store = store;
        _reactivate = reactivate;
    }

    /// <summary>Full scans so far (tests).</summary>
    public long Scans => Interlocked.Read(ref _scans);

    /// <summary>Minimum time between full scans of the index for a queue of <paramref name="slots"/> messages.</summary>
    public static TimeSpan ScanFloor(int slots) => TimeSpan.FromMilliseconds(10 + slots / 1000);

    /// <summary>A full scan at least this often whatever the due times say (Postfix's queue_run_delay default).</summary>
    public static readonly TimeSpan Rescan = TimeSpan.FromSeconds(300);

    /// <summary>A message was deferred (or released from hold): the loop wakes by its due time.</summary>
    public void Add(QueueEntry e)
    {
        if (LowerNextDue(e.NotBeforeUnixMs)) Wake();
    }

    /// <summary>Lowers the earliest known due time to <paramref name="due"/>; true when it did.</summary>
    private bool LowerNextDue(long due)
    {
        long cur;
        while (due < (cur = Interlocked.Read(ref _nextDue)))
            if (Interlocked.CompareExchange(ref _nextDue, due, cur) == cur) return true;
        return false;
    }

    /// <summary>postqueue -f: every deferred message is retried now (fire and forget).</summary>
    public void Flush() => _ = FlushAsync();

    /// <summary>postqueue -f: every deferred message is retried now; completes with how many were.</summary>
    public Task<int> FlushAsync()
    {
        var done = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (_stop.IsCancellationRequested) done.TrySetResult(0);
        else
        {
            _flushes.Enqueue(done);
            Wake();
        }
        return done.Task;
    }

    public void Start() => _loop = Task.Run(LoopAsync);

    private void Wake()
    {
        try { if (_wake.CurrentCount == 0) _wake.Release(); }
        catch (SemaphoreFullException) { }
    }

    private struct ScanState
    {
        public long Now;
        public bool All;
        public long NextDue;
        public int Handed;
        public List<QueueRef> Due;
    }

    private async Task LoopAsync()
    {
        var flushes = new List<TaskCompletionSource<int>>();
        var scan = new ScanState { Due = [] };
        long lastScanTicks = long.MinValue / 2;
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                while (_flushes.TryDequeue(out var f)) flushes.Add(f);
                long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
                bool flush = flushes.Count > 0;
                var floor = ScanFloor(_store.Index.High);
                long sinceScanMs = (Environment.TickCount64 - lastScanTicks);
                if (flush || (sinceScanMs >= floor.TotalMilliseconds
                              && (Interlocked.Read(ref _nextDue) <= now || sinceScanMs >= Rescan.TotalMilliseconds)))
                {
                    // Reset before scanning: an Add during the scan lowers it again.
                    Interlocked.Exchange(ref _nextDue, long.MaxValue);
                    scan.Now = now;
                    scan.All = flush;
                    scan.NextDue = long.MaxValue;
                    scan.Handed = 0;
                    scan.Due.Clear();
                    _store.Index.ForEach(ref scan, static (ref ScanState s, in QueueIndex.SlotView v) =>
                    {
                        if (v.State != QueueState.Deferred) return;
                        if (s.All || v.NotBeforeUnixMs <= s.Now)
                        {
                            if (v.Pending) s.Handed++; // already on its way to the active queue
                            else s.Due.Add(v.Ref);
                        }
                        else if (v.NotBeforeUnixMs < s.NextDue) s.NextDue = v.NotBeforeUnixMs;
                    });
                    lastScanTicks = Environment.TickCount64;
                    Interlocked.Increment(ref _scans);
                    foreach (var r in scan.Due)
                    {
                        if (!_store.TryGet(r, out var e) || !e.TryMarkPending(QueueState.Deferred)) continue;
                        scan.Handed++;
                        _reactivate(r);
                    }
                    if (scan.Due.Capacity > 4096) scan.Due = [];
                    foreach (var f in flushes) f.TrySetResult(scan.Handed);
                    flushes.Clear();
                    LowerNextDue(scan.NextDue);
                }
                long next = Interlocked.Read(ref _nextDue);
                long waitMs = next <= now ? 0 : next == long.MaxValue ? 60_000 : Math.Min(next - now, 60_000);
                long untilFloor = (long)floor.TotalMilliseconds - (Environment.TickCount64 - lastScanTicks);
                waitMs = Math.Clamp(Math.Max(waitMs, untilFloor), 10, 60_000);
                try { await _wake.WaitAsync(TimeSpan.FromMilliseconds(waitMs), _stop.Token).ConfigureAwait(false); }
                catch (OperationCanceledException) { }
            }
        }
        finally
        {
            // Nobody waits forever on a flush that arrived as qmgr stopped.
            foreach (var f in flushes) f.TrySetResult(0);
            while (_flushes.TryDequeue(out var f)) f.TrySetResult(0);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        try { await _loop.ConfigureAwait(false); } catch (OperationCanceledException) { }
    }
}

// Group commit for the queue log. Sessions append and call WaitForCommitAsync;
// this loop runs one FASTER commit at a time, and every append that landed
// while the previous commit was on its way to disk shares the next one. That
// is what lets 20 concurrent sessions cost one O_SYNC write instead of 20.
//
// The waiters are ours, not FASTER's WaitForCommitAsync: after each commit the loop
// releases every session whose record it covers, and each session's continuation (the
// 250 reply) runs right there, in turn; callers that go on to block (local delivery's
// mailbox writes, pickup's file reads) hop to the pool first (ThreadPoolHop). FASTER's
// waits would post one thread-pool work item per session, and a per-wait timeout one
// timer each. The timeout is a watchdog instead: a commit in flight longer than the
// limit fails its waiters (4xx to clients), and new ones at once, until the disk
// answers again.
using System.Diagnostics;
using System.Threading.Channels;
using FASTER.core;
using Postfix.Core.Queue;
using Postfix.Core.Util;

namespace Postfix.Queue.Store;

internal sealed class QueueCommitter(FasterLog log, TimeSpan timeout)
{
    private sealed class Waiter(long until)
    {
        public readonly long Until = until;
        // Not RunContinuationsAsynchronously: the session continues on the loop's thread.
        public readonly TaskCompletionSource Done = new();
        public Waiter? Next;
    }

    private Waiter? _waiters;           // a lock-free stack; the loop takes it whole
    private long _commitStarted;        // Stopwatch timestamp of the commit in flight, 0 if none
    private volatile bool _stuck;       // the commit in flight has outlived the timeout
    private Timer? _watchdog;
    private readonly Channel<bool> _signal = Channel.CreateBounded<bool>(
        new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });
    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;
    private volatile Exception? _failure;

    public void Start()
    {
        _watchdog = new Timer(static c => ((QueueCommitter)c!).Watch(), this, WatchdogPeriod, WatchdogPeriod);
        _loop = Task.Run(LoopAsync);
    }

    private static readonly TimeSpan WatchdogPeriod = TimeSpan.FromSeconds(1);

    public void RequestCommit() => _signal.Writer.TryWrite(true);

    /// <summary>How long a record nobody waits for (a state change, a recipient done) may sit in
    /// the log before a commit of its own. Under load it rides on the next message's commit
    /// long before that, so it costs no write of its own.</summary>
    public static readonly TimeSpan LazyDelay = TimeSpan.FromMilliseconds(20);

    private int _lazy;
    private Timer? _lazyTimer;

    /// <summary>Commit what was appended within <see cref="LazyDelay"/>, sooner if a commit runs anyway.</summary>
    public void RequestLazyCommit()
    {
        if (Interlocked.Exchange(ref _lazy, 1) != 0) return;
        // Only the caller that flipped _lazy gets here, so one timer is ever made.
        _lazyTimer ??= new Timer(static s => ((QueueCommitter)s!).RequestCommit(), this, Timeout.Infinite, Timeout.Infinite);
        try { _lazyTimer.Change(LazyDelay, Timeout.InfiniteTimeSpan); }
        catch (ObjectDisposedException) { } // stopping: StopAsync's final commit takes it
    }

    public ValueTask WaitForCommitAsync(long untilAddress, CancellationToken ct)
    {
        if (_failure is { } f) throw new QueueWriteException("queue commit failed", f);
        if (log.CommittedUntilAddress >= untilAddress) return default;
        if (_stuck) throw TimedOut();
        var w = new Waiter(untilAddress);
        Push(w);
        // Whether or not the commit in flight covers it, a pass of the loop after this
        // request looks at every waiter.
        RequestCommit();
        var done = w.Done.Task;
        return new ValueTask(ct.CanBeCanceled ? done.WaitAsync(ct) : done);
    }

    private static QueueWriteException TimedOut() => new("timed out waiting for the queue commit");

    private void Push(Waiter w)
    {
        Waiter? head;
        do
        {
            head = Volatile.Read(ref _waiters);
            w.Next = head;
        } while (Interlocked.CompareExchange(ref _waiters, w, head) != head);
    }

    /// <summary>Releases the waiters the last commit covers; the others wait for the next one.</summary>
    private void Release()
    {
        var list = Interlocked.Exchange(ref _waiters, null);
        if (list is null) return;
        long committed = log.CommittedUntilAddress;
        bool more = false;
        // The sessions' continuations run here, one after another: what may block hops away.
        using var _ = ThreadPoolHop.MustNotBlock();
        for (var w = list; w is not null;)
        {
            var next = w.Next;
            if (w.Until <= committed) w.Done.TrySetResult();
            else { Push(w); more = true; }
            w = next;
        }
        if (more) RequestCommit();
    }

    private void Fail(Exception e)
    {
        for (var w = Interlocked.Exchange(ref _waiters, null); w is not null;)
        {
            var next = w.Next;
            w.Done.TrySetException(e);
            w = next;
        }
    }

    private void Watch()
    {
        long started = Volatile.Read(ref _commitStarted);
        if (started == 0 || Stopwatch.GetElapsedTime(started) < timeout) return;
        _stuck = true;
        Fail(TimedOut());
    }

    private async Task LoopAsync()
    {
        var reader = _signal.Reader;
        try
        {
            while (await reader.WaitToReadAsync(_stop.Token).ConfigureAwait(false))
            {
                reader.TryRead(out _);
                // This commit covers every lazy record appended so far; a later one re-arms the timer.
                Volatile.Write(ref _lazy, 0);
                try
                {
                    Volatile.Write(ref _commitStarted, Stopwatch.GetTimestamp());
                    await log.CommitAsync(_stop.Token).ConfigureAwait(false);
                    _failure = null;
                }
                catch (OperationCanceledException) when (_stop.IsCancellationRequested)
                {
                    break;
                }
                catch (Exception e)
                {
                    // Surface as 4xx to clients (QueueWriteException); keep trying.
                    _failure = e;
                    Fail(new QueueWriteException("queue commit failed", e));
                    await Task.Delay(100).ConfigureAwait(false);
                }
                finally
                {
                    Volatile.Write(ref _commitStarted, 0);
                    _stuck = false;
                }
                Release();
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    public async Task StopAsync()
    {
        _stop.Cancel();
        Volatile.Write(ref _lazy, 1); // no new timer from here on
        if (_lazyTimer is { } t) await t.DisposeAsync().ConfigureAwait(false);
        try { await _loop.ConfigureAwait(false); } catch (OperationCanceledException) { }
        if (_watchdog is { } w) await w.DisposeAsync().ConfigureAwait(false);
        // Final commit so state records written just before stop are kept.
        try { log.Commit(true); } catch (Exception) { }
        Release();
        Fail(new QueueWriteException("the queue is shutting down"));
    }
}

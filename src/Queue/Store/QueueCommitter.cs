// Group commit for the queue log. Sessions append and call WaitForCommitAsync;
// this loop runs one FASTER commit at a time, and every append that landed
// while the previous commit was on its way to disk shares the next one. That
// is what lets 20 concurrent sessions cost one O_SYNC write instead of 20.
using System.Threading.Channels;
using FASTER.core;
using Postfix.Core.Queue;

namespace Postfix.Queue.Store;

internal sealed class QueueCommitter(FasterLog log)
{
    private readonly Channel<bool> _signal = Channel.CreateBounded<bool>(
        new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });
    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;
    private volatile Exception? _failure;

    public void Start() => _loop = Task.Run(LoopAsync);

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

    public async ValueTask WaitForCommitAsync(long untilAddress, TimeSpan timeout, CancellationToken ct)
    {
        if (_failure is { } f) throw new QueueWriteException("queue commit failed", f);
        if (log.CommittedUntilAddress >= untilAddress) return;
        RequestCommit();
        var wait = log.WaitForCommitAsync(untilAddress, -1, ct);
        if (wait.IsCompleted) { await wait.ConfigureAwait(false); return; }
        try
        {
            await wait.AsTask().WaitAsync(timeout, ct).ConfigureAwait(false);
        }
        catch (TimeoutException e)
        {
            throw new QueueWriteException("timed out waiting for the queue commit", _failure ?? e);
        }
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
                    await Task.Delay(100).ConfigureAwait(false);
                }
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
        // Final commit so state records written just before stop are kept.
        try { log.Commit(true); } catch (Exception) { }
    }
}

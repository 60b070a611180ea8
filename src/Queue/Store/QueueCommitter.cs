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
        try { await _loop.ConfigureAwait(false); } catch (OperationCanceledException) { }
        // Final commit so state records written just before stop are kept.
        try { log.Commit(true); } catch (Exception) { }
    }
}

// qmgr(8): moves committed messages from the incoming queue into the active
// queue (at most qmgr_message_active_limit at a time, so memory stays bounded
// however large the queue), hands them to the scheduler, and brings deferred
// messages back when their backoff has passed. Hand-off from smtpd is a
// channel, not a lock: sessions post the entry and return.
using System.Threading.Channels;
using Postfix.Core.Logging;
using Postfix.Core.Queue;
using Postfix.Queue.Store;

namespace Postfix.Queue.Qmgr;

public interface IDeliveryScheduler
{
    /// <summary>Called once per message entering the active queue.</summary>
    void Schedule(QueueEntry entry);
}

public sealed class Qmgr : IAsyncDisposable
{
    private readonly QueueStore _store;
    private readonly Maillog _log;
    private readonly int _activeLimit;
    private readonly Channel<QueueEntry> _incoming =
        Channel.CreateUnbounded<QueueEntry>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;

    public Qmgr(QueueStore store, Maillog log, int messageActiveLimit = 20000)
    {
        _store = store;
        _log = log;
        _activeLimit = Math.Max(1, messageActiveLimit);
        Deferred = new QmgrDeferredScanner(e => _incoming.Writer.TryWrite(e));
        _store.Committed += (e, _) => _incoming.Writer.TryWrite(e);
    }

    public IDeliveryScheduler? Scheduler { get; set; }
    public QmgrDeferredScanner Deferred { get; }

    public void Start()
    {
        // Oldest first, as Postfix's incoming scan.
        foreach (var e in _store.Entries.Where(e => e.State == QueueState.Incoming).OrderBy(e => e.Id))
            _incoming.Writer.TryWrite(e);
        Deferred.Start(_store.Entries.Where(e => e.State == QueueState.Deferred).ToList());
        _loop = Task.Run(LoopAsync);
    }

    /// <summary>postqueue -f / postfix flush.</summary>
    public void Flush()
    {
        _log.Info("qmgr", "flush: retrying deferred mail");
        Deferred.Flush();
    }

    /// <summary>postsuper -r: a message the caller moved to incoming is processed again now.</summary>
    public void Requeue(QueueEntry entry) => _incoming.Writer.TryWrite(entry);

    /// <summary>postsuper -H: a message the caller moved from hold to deferred is retried now
    /// (Postfix moves it to deferred and waits for the next queue run; we do not wait).</summary>
    public void Release(QueueEntry entry) => Deferred.Add(entry);

    private async Task LoopAsync()
    {
        var reader = _incoming.Reader;
        try
        {
            while (await reader.WaitToReadAsync(_stop.Token).ConfigureAwait(false))
            {
                while (reader.TryRead(out var e))
                {
                    while (_store.Count(QueueState.Active) >= _activeLimit)
                        await Task.Delay(10, _stop.Token).ConfigureAwait(false);
                    Activate(e);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void Activate(QueueEntry e)
    {
        var s = e.State;
        // Held and removed mail is never activated; postsuper may move it under us.
        if (s != QueueState.Incoming && s != QueueState.Deferred) return;
        if (!_store.TryMove(e, s, QueueState.Active)) return;
        if (Scheduler is { } sched) sched.Schedule(e);
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        try { await _loop.ConfigureAwait(false); } catch (OperationCanceledException) { }
        await Deferred.DisposeAsync().ConfigureAwait(false);
    }
}

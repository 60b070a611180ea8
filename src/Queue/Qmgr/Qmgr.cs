// qmgr(8), first stage: takes committed messages from the incoming queue into
// the active queue and logs Postfix's "QUEUEID: from=<...>, size=N, nrcpt=N
// (queue active)" line. Hand-off is a channel, not a lock: smtpd sessions post
// the queue entry and return; one scheduler task owns the active window.
// Delivery agents (smtp, lmtp, local) and the per-destination scheduler plug in
// through IDeliveryScheduler.
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
    private readonly Channel<(QueueEntry Entry, CommittedInfo Info)> _incoming =
        Channel.CreateUnbounded<(QueueEntry, CommittedInfo)>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;

    public Qmgr(QueueStore store, Maillog log)
    {
        _store = store;
        _log = log;
        _store.Committed += (e, info) => _incoming.Writer.TryWrite((e, info));
    }

    public IDeliveryScheduler? Scheduler { get; set; }

    public void Start()
    {
        _loop = Task.Run(async () =>
        {
            await ActivateRecoveredAsync().ConfigureAwait(false);
            await LoopAsync().ConfigureAwait(false);
        });
    }

    private async Task ActivateRecoveredAsync()
    {
        foreach (var e in _store.Entries.Where(e => e.State == QueueState.Incoming).OrderBy(e => e.Id).ToList())
        {
            if (_stop.IsCancellationRequested) return;
            var m = await _store.ReadAsync(e).ConfigureAwait(false);
            if (m is null)
            {
                _log.Warning("qmgr", $"{e.Id}: cannot read queue record at {e.Address}; left in incoming");
                continue;
            }
            Activate(e, new CommittedInfo(m.Sender, m.Content.Length, m.Recipients.Count));
        }
    }

    private async Task LoopAsync()
    {
        var reader = _incoming.Reader;
        try
        {
            while (await reader.WaitToReadAsync(_stop.Token).ConfigureAwait(false))
                while (reader.TryRead(out var item)) Activate(item.Entry, item.Info);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void Activate(QueueEntry e, CommittedInfo info)
    {
        if (e.State != QueueState.Incoming) return;
        _store.SetState(e, QueueState.Active);
        _log.Info("qmgr", $"{e.Id}: from=<{info.Sender}>, size={info.Size}, nrcpt={info.RecipientCount} (queue active)");
        Scheduler?.Schedule(e);
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        try { await _loop.ConfigureAwait(false); } catch (OperationCanceledException) { }
    }
}

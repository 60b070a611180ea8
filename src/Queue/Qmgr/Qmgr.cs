// qmgr(8): moves committed messages from the incoming queue into the active
// queue (at most qmgr_message_active_limit at a time, so memory stays bounded
// however large the queue), hands them to the scheduler, and brings deferred
// messages back when their backoff has passed. Hand-off from smtpd is a
// channel, not a lock: sessions post the message's 8-byte QueueRef and return;
// a QueueEntry handle exists only once the message is activated. Mail waiting
// for the active window therefore costs its index slot plus 8 bytes.
using System.Threading.Channels;
using Postfix.Core.Logging;
using Postfix.Core.Queue;
using Postfix.Queue.Store;

namespace Postfix.Queue.Qmgr;

public interface IDeliveryScheduler
{
    /// <summary>Called once per message entering the active queue.</summary>
    void Schedule(QueueEntry entry);

    /// <summary>postqueue -f / -i / -s: destinations declared dead are tried again (Postfix: qmgr_enable_all).</summary>
    void EnableAll() { }
}

public sealed class Qmgr : IAsyncDisposable
{
    private readonly QueueStore _store;
    private readonly Maillog _log;
    private readonly int _activeLimit;
    private readonly Channel<QueueRef> _incoming =
        Channel.CreateUnbounded<QueueRef>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;

    public Qmgr(QueueStore store, Maillog log, int messageActiveLimit = 20000)
    {
        _store = store;
        _log = log;
        _activeLimit = Math.Max(1, messageActiveLimit);
        Deferred = new QmgrDeferredScanner(store, r => _incoming.Writer.TryWrite(r));
        _store.Committed += (e, _) => _incoming.Writer.TryWrite(e.Ref);
    }

    public IDeliveryScheduler? Scheduler { get; set; }
    public QmgrDeferredScanner Deferred { get; }

    public void Start()
    {
        // Oldest first, as Postfix's incoming scan (16 bytes a message while sorting).
        var incoming = new List<(long Id, QueueRef Ref)>();
        _store.Index.ForEach(ref incoming, static (ref List<(long, QueueRef)> list, in QueueIndex.SlotView v) =>
        {
            if (v.State == QueueState.Incoming) list.Add((v.Id.Value, v.Ref));
        });
        incoming.Sort(static (a, b) => a.Id.CompareTo(b.Id));
        foreach (var (_, r) in incoming) _incoming.Writer.TryWrite(r);
        Deferred.Start();
        _loop = Task.Run(LoopAsync);
    }

    /// <summary>postqueue -f / postfix flush (fire and forget).</summary>
    public void Flush() => _ = FlushAsync();

    /// <summary>postqueue -f / postfix flush: completes with how many deferred messages were scheduled.</summary>
    public Task<int> FlushAsync()
    {
        _log.Info("qmgr", "flush: retrying deferred mail");
        Scheduler?.EnableAll();
        return Deferred.FlushAsync();
    }

    /// <summary>
    /// postqueue -i / -s: the given messages that are still deferred are retried now,
    /// ahead of their backoff time; returns how many were. Their copies in the
    /// deferred heap go stale once they leave the deferred queue.
    /// </summary>
    public int FlushEntries(IEnumerable<QueueEntry> entries)
    {
        Scheduler?.EnableAll();
        int n = 0;
        foreach (var e in entries)
        {
            if (e.State != QueueState.Deferred) continue;
            if (_incoming.Writer.TryWrite(e.Ref)) n++;
        }
        return n;
    }

    /// <summary>
    /// postqueue -s SITE: retries now every deferred message with a recipient still to
    /// deliver at <paramref name="site"/> (the domain after the last '@', compared
    /// case-insensitively; "[1.2.3.4]" matches address literals). Postfix keeps a
    /// per-site log for this (flush(8), fast_flush_domains); we read the deferred
    /// queue instead, so the cost grows with the deferred queue, not with the site.
    /// </summary>
    public async Task<int> FlushSiteAsync(string site, CancellationToken ct = default)
    {
        var matches = new List<QueueEntry>();
        foreach (var e in _store.Entries)
        {
            if (e.State != QueueState.Deferred) continue;
            QueuedMessage? m;
            try { m = await _store.ReadAsync(e, ct).ConfigureAwait(false); }
            catch (Exception ex) when (ex is not OperationCanceledException) { continue; }
            if (m is null) continue;
            foreach (var r in m.Recipients)
            {
                if (e.IsRecipientDone(r.Index)) continue;
                int at = r.Address.LastIndexOf('@');
                if (at >= 0 && r.Address.AsSpan(at + 1).Equals(site, StringComparison.OrdinalIgnoreCase))
                {
                    matches.Add(e);
                    break;
                }
            }
        }
        int n = FlushEntries(matches);
        _log.Info("qmgr", $"flush: retrying deferred mail for {site}: {n} message{(n == 1 ? "" : "s")}");
        return n;
    }

    /// <summary>postsuper -r: a message the caller moved to incoming is processed again now.</summary>
    public void Requeue(QueueEntry entry) => _incoming.Writer.TryWrite(entry.Ref);

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
                while (reader.TryRead(out var r))
                {
                    while (_store.Count(QueueState.Active) >= _activeLimit)
                        await Task.Delay(10, _stop.Token).ConfigureAwait(false);
                    // Gone (delivered, removed) since it was posted: nothing to do.
                    if (_store.TryGet(r, out var e)) Activate(e);
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

// qmgr(8)'s scheduler: splits each active message into per-destination entries
// (trivial-rewrite resolve), runs them through the destinations' concurrency
// windows (QmgrQueue) and the transports' delivery agents, logs each
// recipient's outcome in Postfix's format, and when a message's last entry is
// done: removes it, or defers it with backoff, or returns it to the sender.
// Fair by construction: every destination has its own window, so one slow or
// dead destination only holds its own slots; default_process_limit bounds the
// total. No global lock: ConcurrentDictionary, Interlocked, one semaphore.
// Every logged outcome is also counted in MailMetrics (per transport; the
// delivered ones' delay= feeds the latency histogram), as is every notice.
// Gates (our extension, cluster-wide destination limits, see QmgrDestinationGate): a
// destination with a gate dequeues an entry only after the gate's permit, so the wait shows
// in the delays= b part (time in the active queue before delivery); a refusal leaves the
// entries pending, is no failure for the window feedback, and re-pumps the destination after
// the gate's retry delay, while other destinations keep flowing.
using System.Collections.Concurrent;
using System.Diagnostics;
using Postfix.Core.Bounce;
using Postfix.Core.Delivery;
using Postfix.Core.Diagnostics;
using Postfix.Core.Logging;
using Postfix.Core.Queue;
using Postfix.Core.Tables;
using Postfix.Core.Util;
using Postfix.Core.Rewrite;
using Postfix.Queue.Store;

namespace Postfix.Queue.Qmgr;

/// <summary>Returns undeliverable recipients to the sender; the new queue ID, or null when no notice is due.</summary>
public delegate ValueTask<QueueId?> BounceSender(QueuedMessage original, IReadOnlyList<RecipientResult> results, BounceKind kind, CancellationToken ct);

public sealed class QmgrScheduler : IDeliveryScheduler
{
    private readonly QueueStore _store;
    private readonly Maillog _log;
    private readonly QmgrSettings _s;
    private readonly TrivialRewriteResolver _resolver;
    private readonly IReadOnlyDictionary<string, IDeliveryAgent> _agents;
    private readonly BounceSender? _bounce;
    private readonly ConcurrentDictionary<string, QmgrQueue> _queues = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _processes;
    private readonly Action<QueueEntry> _deferred;
    private long _delivered, _deferredCount, _bouncedCount;

    public QmgrScheduler(QueueStore store, Maillog log, QmgrSettings settings, TrivialRewriteResolver resolver,
        IReadOnlyDictionary<string, IDeliveryAgent> agents, BounceSender? bounce, Action<QueueEntry> onDeferred)
    {
        _store = store;
        _log = log;
        _s = settings;
        _resolver = resolver;
        _agents = agents;
        _bounce = bounce;
        _deferred = onDeferred;
        _processes = new SemaphoreSlim(Math.Max(1, settings.ProcessLimit));
    }

    /// <summary>Per-destination gates (cluster-wide limits); null = none, the common case.</summary>
    public IQmgrDestinationGates? Gates { get; init; }

    public long Delivered => Interlocked.Read(ref _delivered);
    public long DeferredCount => Interlocked.Read(ref _deferredCount);
    public long BouncedCount => Interlocked.Read(ref _bouncedCount);

    public void Schedule(QueueEntry entry) => _ = ScheduleGuardedAsync(entry);

    /// <summary>A flush: every destination that was declared dead gets tried again.</summary>
    public void EnableAll()
    {
        foreach (var q in _queues.Values)
        {
            bool wasDead = q.IsDead(out _);
            q.Revive();
            if (wasDead) Pump(q);
        }
    }

    private async Task ScheduleGuardedAsync(QueueEntry entry)
    {
        try { await ScheduleAsync(entry).ConfigureAwait(false); }
        catch (Exception e)
        {
            // Never leave a message stranded in the active queue.
            _log.Warning("qmgr", $"{entry.Id}: scheduling failed: {e.Message}; deferring");
            if (entry.State == QueueState.Active) Defer(entry);
        }
    }

    private async Task ScheduleAsync(QueueEntry entry)
    {
        QueuedMessage? m;
        try { m = await _store.ReadAsync(entry).ConfigureAwait(false); }
        catch (Exception e) { m = null; _log.Warning("qmgr", $"{entry.Id}: read error: {e.Message}"); }
        if (m is null)
        {
            _log.Warning("qmgr", $"{entry.Id}: cannot read queue file; deferring");
            Defer(entry);
            return;
        }
        _log.Info("qmgr", $"{entry.Id}: from=<{m.Sender}>, size={m.Content.Length}, nrcpt={m.Recipients.Count} (queue active)");
        var job = new QmgrMessage(entry, m, NowMs());
        var groups = new Dictionary<(string, string), List<QueuedRecipient>>();
        foreach (var r in m.Recipients)
        {
            if (entry.IsRecipientDone(r.Index)) continue;
            var res = _resolver.Resolve(r.Address);
            var key = (res.Transport, res.Nexthop);
            if (!groups.TryGetValue(key, out var list)) groups[key] = list = [];
            list.Add(r);
        }
        var entries = new List<QmgrEntry>();
        foreach (var ((transport, nexthop), list) in groups)
            for (int i = 0; i < list.Count; i += Math.Max(1, _s.DestinationRecipientLimit))
                entries.Add(new QmgrEntry(job, transport, nexthop, list.GetRange(i, Math.Min(_s.DestinationRecipientLimit, list.Count - i))));
        if (entries.Count == 0)
        {
            await FinishAsync(job).ConfigureAwait(false);
            return;
        }
        job.AddPending(entries.Count);
        foreach (var e in entries)
        {
            var q = _queues.GetOrAdd($"{e.Transport}:{e.Nexthop}", n => NewQueue(n, e));
            q.Enqueue(e);
            Pump(q);
        }
    }

    private QmgrQueue NewQueue(string name, QmgrEntry e) => new(name, _s)
    {
        // A deferred transport never delivers: it needs no permit (and spends no rate token).
        Gate = Gates is null || _s.DeferTransports.Contains(e.Transport) ? null : Gates.For(e.Transport, e.Nexthop),
    };

    private void Pump(QmgrQueue q)
    {
        if (q.Gate is not null)
        {
            while (q.Pending > q.Asking && !q.GateClosed && q.TryStartSlot())
            {
                q.BeginAsking();
                _ = RunGatedAsync(q);
            }
            return;
        }
        while (q.Pending > 0 && q.TryStartSlot())
        {
            if (!q.TryDequeue(out var e)) { q.ReleaseSlot(); continue; }
            _ = RunAsync(q, e, null);
        }
    }

    // Holds one of the node's window slots; asks the gate, then takes the next entry. A dead
    // destination needs no permit: its entries are deferred without a delivery.
    private async Task RunGatedAsync(QmgrQueue q)
    {
        QmgrGatePermit permit;
        if (q.IsDead(out _)) permit = new(null, TimeSpan.Zero);
        else
        {
            try { permit = await q.Gate!.TryEnterAsync().ConfigureAwait(false); }
            catch (Exception ex)
            {
                _log.Warning("qmgr", $"{q.Name}: destination limit check failed: {ex.Message}");
                permit = QmgrGatePermit.Refused(TimeSpan.FromSeconds(1));
            }
            if (!permit.Granted)
            {
                q.EndAsking();
                q.ReleaseSlot();
                if (q.CloseGate(permit.RetryAfter)) _ = RetryGateAsync(q, permit.RetryAfter);
                return;
            }
        }
        bool got = q.TryDequeue(out var e);
        q.EndAsking();
        if (!got)
        {
            q.ReleaseSlot();
            if (permit.Lease is { } unused) await unused.DisposeAsync().ConfigureAwait(false);
            return;
        }
        await RunAsync(q, e, permit.Lease).ConfigureAwait(false);
    }

    private async Task RetryGateAsync(QmgrQueue q, TimeSpan delay)
    {
        await Task.Delay(delay).ConfigureAwait(false);
        q.OpenGate();
        Pump(q);
    }

    private async Task RunAsync(QmgrQueue q, QmgrEntry e, IAsyncDisposable? lease)
    {
        // Started from the end of the previous delivery, which may have completed on a socket
        // event thread: local and virtual delivery write mailboxes and fsync, and tables on the
        // network answer synchronously. smtp and lmtp only await, so they may start right there.
        _agents.TryGetValue(e.Transport, out var agent);
        await ThreadPoolHop.If(LookupTables.MayBlock || agent is not { NeverBlocks: true });
        long startMs = NowMs();
        DeliveryReport report;
        try
        {
            report = await DeliverAsync(q, e, agent).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            report = AllDeferred(e, "4.3.0", $"delivery agent failure: {ex.Message}");
        }
        q.ReleaseSlot();
        if (lease is not null)
        {
            // Given back before the bookkeeping, so the next delivery (any node's) starts sooner.
            // Nodes refused earlier find it at their retry: no node is favoured.
            try { await lease.DisposeAsync().ConfigureAwait(false); }
            catch (Exception ex) { _log.Warning("qmgr", $"{q.Name}: destination limit release failed: {ex.Message}"); }
        }
        // Bounces and notices go through cleanup, whose lookups may block.
        await ThreadPoolHop.If(LookupTables.MayBlock);
        await RecordAsync(e, report, startMs).ConfigureAwait(false);
        Pump(q);
    }

    private async Task<DeliveryReport> DeliverAsync(QmgrQueue q, QmgrEntry e, IDeliveryAgent? agent)
    {
        if (_s.DeferTransports.Contains(e.Transport))
            return AllDeferred(e, "4.3.2", "deferred transport");
        if (q.IsDead(out var why))
            return AllDeferred(e, "4.4.1", $"delivery temporarily suspended: {why}");
        if (agent is null)
            return AllDeferred(e, "4.3.0", $"mail transport unavailable: no delivery agent for transport \"{e.Transport}\"");
        await _processes.WaitAsync().ConfigureAwait(false);
        try
        {
            var report = await agent.DeliverAsync(new DeliveryRequest(e.Job.Message, e.Transport, e.Nexthop, e.Recipients), CancellationToken.None).ConfigureAwait(false);
            if (report.Relay == "none" && report.Results.All(r => r.Status == DeliveryStatus.Deferred))
            {
                if (q.Failure(report.Results.FirstOrDefault()?.Diagnostic ?? "connection failed"))
                    _log.Warning("qmgr", $"{q.Name}: destination is down; deliveries suspended for {_s.MinimalBackoffTime.TotalSeconds:0}s");
            }
            else q.Success();
            return report;
        }
        finally
        {
            _processes.Release();
        }
    }

    private static DeliveryReport AllDeferred(QmgrEntry e, string dsn, string why) =>
        new(e.Recipients.Select(r => new RecipientResult(r, DeliveryStatus.Deferred, dsn, why)).ToList(), "none", TimeSpan.Zero, TimeSpan.Zero);

    private async Task RecordAsync(QmgrEntry e, DeliveryReport report, long startMs)
    {
        var job = e.Job;
        var m = job.Message;
        long now = NowMs();
        double a = (job.ActiveSinceMs - m.ArrivalUnixMs) / 1000.0;
        double b = (startMs - job.ActiveSinceMs) / 1000.0;
        double c = report.ConnectTime.TotalSeconds, d = report.TransmitTime.TotalSeconds;
        double total = (now - m.ArrivalUnixMs) / 1000.0;
        string daemon = e.Transport;
        foreach (var r in report.Results)
        {
            string status = r.Status switch { DeliveryStatus.Sent => "sent", DeliveryStatus.Bounced => "bounced", _ => "deferred" };
            _log.Info(daemon, $"{m.Id}: to=<{r.Recipient.Address}>{OrigTo(e, r)}, relay={report.Relay}, delay={F(total)}, delays={F(a)}/{F(b)}/{F(c)}/{F(d)}, dsn={r.Dsn}, status={status} ({r.Diagnostic})");
            switch (r.Status)
            {
                case DeliveryStatus.Sent:
                    _store.MarkRecipientDone(job.Entry, r.Recipient.Index);
                    Interlocked.Increment(ref _delivered);
                    MailMetrics.RecipientSent(e.Transport, Math.Max(0, total));
                    break;
                case DeliveryStatus.Bounced:
                    _store.MarkRecipientDone(job.Entry, r.Recipient.Index);
                    job.Bounced.Enqueue(r);
                    Interlocked.Increment(ref _bouncedCount);
                    MailMetrics.RecipientBounced(e.Transport);
                    break;
                default:
                    job.Deferred.Enqueue(r);
                    MailMetrics.RecipientDeferred(e.Transport);
                    break;
            }
        }
        if (job.CompleteOne()) await FinishAsync(job).ConfigureAwait(false);
    }

    /// <summary>Postfix's ", orig_to=<...>" when an agent reports a destination other than the
    /// queued recipient (local(8) alias and .forward expansion).</summary>
    private static string OrigTo(QmgrEntry e, RecipientResult r)
    {
        foreach (var q in e.Recipients)
            if (q.Index == r.Recipient.Index)
                return q.Address == r.Recipient.Address ? "" : $", orig_to=<{q.Address}>";
        return "";
    }

    private async Task FinishAsync(QmgrMessage job)
    {
        var entry = job.Entry;
        var m = job.Message;
        var bounced = job.Bounced.ToList();
        if (!job.Deferred.IsEmpty)
        {
            var lifetime = m.Sender.Length == 0 ? _s.BounceQueueLifetime : _s.MaximalQueueLifetime;
            if (NowMs() - m.ArrivalUnixMs >= lifetime.TotalMilliseconds)
            {
                foreach (var r in job.Deferred)
                {
                    _log.Info("qmgr", $"{m.Id}: to=<{r.Recipient.Address}>, relay=none, delay={F((NowMs() - m.ArrivalUnixMs) / 1000.0)}, dsn={r.Dsn}, status=expired, returned to sender ({r.Diagnostic})");
                    _store.MarkRecipientDone(entry, r.Recipient.Index);
                    bounced.Add(r with { Status = DeliveryStatus.Bounced });
                    MailMetrics.RecipientExpired();
                }
            }
            else
            {
                Interlocked.Increment(ref _deferredCount);
                if (bounced.Count > 0) await SendBounceAsync(m, bounced).ConfigureAwait(false);
                if (_s.DelayWarningTime > TimeSpan.Zero && !entry.DelayWarned
                    && NowMs() - m.ArrivalUnixMs >= _s.DelayWarningTime.TotalMilliseconds)
                {
                    entry.DelayWarned = true;
                    await SendNoticeAsync(m, job.Deferred.ToList(), BounceKind.Delay, "delayed mail notification").ConfigureAwait(false);
                }
                Defer(entry, m.ArrivalUnixMs);
                return;
            }
        }
        if (bounced.Count > 0 && !await SendBounceAsync(m, bounced).ConfigureAwait(false))
        {
            // The notice could not be queued: keep the message so nothing is lost.
            Defer(entry, m.ArrivalUnixMs);
            return;
        }
        _store.Remove(entry);
        _log.Info("qmgr", $"{m.Id}: removed");
    }

    private Task<bool> SendBounceAsync(QueuedMessage m, IReadOnlyList<RecipientResult> bounced) =>
        SendNoticeAsync(m, bounced, BounceKind.Failure, "sender non-delivery notification");

    private async Task<bool> SendNoticeAsync(QueuedMessage m, IReadOnlyList<RecipientResult> results, BounceKind kind, string what)
    {
        if (_bounce is null) return true;
        try
        {
            var id = await _bounce(m, results, kind, CancellationToken.None).ConfigureAwait(false);
            if (id is { } nid)
            {
                _log.Info("bounce", $"{m.Id}: {what}: {nid}");
                MailMetrics.NoticeQueued(KindName(kind));
            }
            return true;
        }
        catch (Exception e)
        {
            _log.Warning("bounce", $"{m.Id}: cannot queue non-delivery notification: {e.Message}");
            return false;
        }
    }

    /// <summary>Deferred: next attempt after the message's age, clamped to minimal/maximal_backoff_time.</summary>
    private void Defer(QueueEntry entry, long arrivalMs = 0)
    {
        long now = NowMs();
        double ageMs = arrivalMs > 0 ? now - arrivalMs : 0;
        double backoff = Math.Clamp(ageMs, _s.MinimalBackoffTime.TotalMilliseconds, _s.MaximalBackoffTime.TotalMilliseconds);
        _store.SetState(entry, QueueState.Deferred, now + (long)backoff);
        _deferred(entry);
    }

    private static string KindName(BounceKind kind) => kind switch
    {
        BounceKind.Failure => "failure",
        BounceKind.Delay => "delay",
        _ => "success",
    };

    private static long NowMs() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    private static string F(double seconds) => Maillog.FormatDelay(seconds);
}

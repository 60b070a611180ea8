// smtpd(8)'s process-wide state, shared by all sessions: the current settings
// (swapped atomically on reload), the queue to commit into, the maillog, the
// per-client connection counts (anvil(8)'s job, lock-free), and one timer that
// enforces smtpd_timeout for every session (no timer per command). Connection
// counts also go to MailMetrics (accepted / rejected by the concurrency limit).
// With a shared counter (SmtpdSettings.ClientRates, cluster_store) the three
// rates and the concurrent connections are counted there instead,
// asynchronously (connection slots are leased and renewed from the timer);
// when it cannot answer they are counted here, as on a single node.
using System.Collections.Concurrent;
using System.Net;
using System.Runtime.CompilerServices;
using Postfix.Core.Cleanup;
using Postfix.Core.Diagnostics;
using Postfix.Core.Logging;
using Postfix.Core.Queue;

namespace Postfix.Protocols.Smtpd;

public sealed class SmtpdServer(SmtpdSettings settings, IQueueWriter queue, Maillog log, CleanupService? cleanup = null)
    : SingleServer<SmtpdSettings, SmtpdSession>(settings, queue, log, cleanup ?? new CleanupService(queue, log, "smtpd"))
{
    private readonly ConcurrentDictionary<IPAddress, StrongBox<int>> _perClient = new();
    private readonly ConcurrentDictionary<IPAddress, AuthWindow> _auth = new();
    private long _rejectedConnections;

    public long ConnectionsRejected => Interlocked.Read(ref _rejectedConnections);

    private SmtpdDns? _dns;

    /// <summary>The resolver for reject_rbl_client / reject_unknown_sender_domain (created on first use).</summary>
    internal SmtpdDns Dns => _dns ??= new SmtpdDns(Settings.DnsServers);

    /// <summary>anvil's per-client rate counters (connections, messages, recipients).</summary>
    public Anvil Anvil { get; } = new();

    /// <summary>Shared: the client's limits are for <see cref="EnterSharedAsync"/> to count across the cluster.</summary>
    internal enum Admission : byte { Ok, ConcurrencyLimit, RateLimit, Shared }

    /// <summary>Admits a new session against the per-client concurrency and connection rate limits.</summary>
    internal Admission TryEnter(SmtpdSession session, IPAddress? client, SmtpdSettings s, out int count)
    {
        Track(session);
        var admission = Admit(client, s, out count);
        if (admission != Admission.Shared) Counted(admission);
        return admission;
    }

    /// <summary>A session <see cref="TryEnter"/> answered Shared for: one of the client's connection
    /// slots across the cluster, then the connection rate across the cluster. Each falls back to this
    /// node's count (<paramref name="perNodeCount"/>, Anvil) while the shared counter cannot answer.</summary>
    internal async ValueTask<(Admission Admission, int Count)> EnterSharedAsync(SmtpdSession session, IPAddress client,
        SmtpdSettings s, int perNodeCount)
    {
        var rates = s.ClientRates!;
        var admission = Admission.Ok;
        int count = perNodeCount;
        int limit = s.ClientConnectionCountLimit;
        if (limit > 0)
        {
            var holder = rates.NewHolder();
            var held = await rates.TryEnterAsync(client, limit, holder).ConfigureAwait(false);
            if (held == true) _slots[session] = new Slot(client, holder, rates, limit);
            else if (held == false) (admission, count) = (Admission.ConcurrencyLimit, limit + 1);
            else if (perNodeCount > limit) admission = Admission.ConcurrencyLimit;
        }
        if (admission == Admission.Ok && s.ClientConnectionRateLimit > 0)
        {
            long n = await CountSharedAsync(client, s, Anvil.Event.Connection, s.ClientConnectionRateLimit).ConfigureAwait(false);
            count = (int)Math.Min(n, int.MaxValue);
            if (n > s.ClientConnectionRateLimit) admission = Admission.RateLimit;
        }
        Counted(admission);
        return (admission, count);
    }

    // A session's connection slot in the shared counter: renewed by OnTick, given back by Leave.
    private sealed record Slot(IPAddress Client, string Holder, IClientRateCounter Rates, int Limit);

    private readonly ConcurrentDictionary<SmtpdSession, Slot> _slots = new();
    private long _slotsRenewed = Environment.TickCount64;
    private int _renewing;

    private void Counted(Admission admission)
    {
        if (admission != Admission.Ok) Interlocked.Increment(ref _rejectedConnections);
        MailMetrics.SmtpdConnection(admission == Admission.Ok);
    }

    /// <summary>One event counted by <see cref="SmtpdSettings.ClientRates"/>; when that cannot
    /// answer (the store is down), by this process's Anvil, as on a single node.</summary>
    internal async ValueTask<long> CountSharedAsync(IPAddress client, SmtpdSettings s, Anvil.Event e, int limit)
    {
        var n = await s.ClientRates!.HitAsync(client, e, limit, s.AnvilRateTimeUnit).ConfigureAwait(false);
        return n ?? Anvil.Count(client, e, s.AnvilRateTimeUnit, Environment.TickCount64);
    }

    private Admission Admit(IPAddress? client, SmtpdSettings s, out int count)
    {
        count = 0;
        if (client is null) return Admission.Ok;
        bool exempt = false, exemptKnown = false;
        bool Exempt()
        {
            if (!exemptKnown) { exempt = s.IsEventLimitException(client); exemptKnown = true; }
            return exempt;
        }
        if (s.ClientConnectionCountLimit > 0)
        {
            // Counted even when exempt, so Leave() can always decrement (and, with a shared
            // counter, as the fallback while it cannot answer).
            var box = _perClient.GetOrAdd(client, static _ => new StrongBox<int>());
            count = Interlocked.Increment(ref box.Value);
            if (s.ClientRates is not null) return Exempt() ? Admission.Ok : Admission.Shared;
            if (count > s.ClientConnectionCountLimit && !Exempt()) return Admission.ConcurrencyLimit;
        }
        if (s.ClientConnectionRateLimit > 0 && !Exempt())
        {
            if (s.ClientRates is not null) return Admission.Shared;
            count = Anvil.Count(client, Anvil.Event.Connection, s.AnvilRateTimeUnit, Environment.TickCount64);
            if (count > s.ClientConnectionRateLimit) return Admission.RateLimit;
        }
        return Admission.Ok;
    }

    internal void Leave(SmtpdSession session, IPAddress? client, SmtpdSettings s)
    {
        Untrack(session);
        // Only sessions with a shared counter hold slots; ConcurrentDictionary.IsEmpty would take
        // every lock of an empty table, so a single node does not ask it at all.
        if (s.ClientRates is not null && _slots.TryRemove(session, out var slot)) _ = ReleaseAsync(slot);
        if (client is null || s.ClientConnectionCountLimit <= 0) return;
        if (_perClient.TryGetValue(client, out var box) && Interlocked.Decrement(ref box.Value) <= 0)
            _perClient.TryRemove(new KeyValuePair<IPAddress, StrongBox<int>>(client, box));
    }

    /// <summary>smtpd_client_auth_rate_limit: counts an AUTH command, returns the count in the current window.</summary>
    internal int CountAuthCommand(IPAddress client, SmtpdSettings s)
    {
        var w = Window(client, s);
        lock (w) return ++w.Commands;
    }

    /// <summary>Failed AUTHs of <paramref name="client"/> in the current anvil_rate_time_unit window.</summary>
    internal int AuthFailures(IPAddress client, SmtpdSettings s)
    {
        if (!_auth.TryGetValue(client, out var w)) return 0;
        lock (w) return Expired(w, Environment.TickCount64, s) ? 0 : w.Failures;
    }

    /// <summary>Counts a failed AUTH (all sessions of the client share the window); returns the new count.</summary>
    internal int RecordAuthFailure(IPAddress client, SmtpdSettings s)
    {
        var w = Window(client, s);
        lock (w) return ++w.Failures;
    }

    // Fixed windows per client, as anvil(8) counts rates: a new window starts when the old one is over.
    private AuthWindow Window(IPAddress client, SmtpdSettings s)
    {
        long now = Environment.TickCount64;
        var w = _auth.GetOrAdd(client, static (_, t) => new AuthWindow { Start = t, UnitMs = 0 }, now);
        lock (w)
        {
            w.UnitMs = (long)s.AnvilRateTimeUnit.TotalMilliseconds;
            if (Expired(w, now, s)) { w.Start = now; w.Commands = 0; w.Failures = 0; }
        }
        return w;
    }

    private static bool Expired(AuthWindow w, long now, SmtpdSettings s) => now - w.Start >= s.AnvilRateTimeUnit.TotalMilliseconds;

    private sealed class AuthWindow
    {
        public long Start;
        public long UnitMs;
        public int Commands;
        public int Failures;
    }

    private static async Task ReleaseAsync(Slot slot) => await slot.Rates.LeaveAsync(slot.Client, slot.Holder).ConfigureAwait(false);

    // Every third of the lease, one pass over the held slots (never two passes at once).
    private async Task RenewSlotsAsync()
    {
        try
        {
            foreach (var (session, slot) in _slots)
            {
                await slot.Rates.TryEnterAsync(slot.Client, slot.Limit, slot.Holder).ConfigureAwait(false);
                // The session left while we renewed: do not keep its slot alive.
                if (!_slots.ContainsKey(session)) await ReleaseAsync(slot).ConfigureAwait(false);
            }
        }
        finally { Volatile.Write(ref _renewing, 0); }
    }

    protected override void OnTick(long now)
    {
        // Slots taken before a reload that emptied cluster_store are still renewed (60 s lease then).
        if (!_slots.IsEmpty
            && now - Interlocked.Read(ref _slotsRenewed) >= (long)(Settings.ClientRates?.SlotLease ?? TimeSpan.FromSeconds(60)).TotalMilliseconds / 3
            && Interlocked.CompareExchange(ref _renewing, 1, 0) == 0)
        {
            Interlocked.Exchange(ref _slotsRenewed, now);
            _ = RenewSlotsAsync();
        }
        if (now / 1000 % 10 == 0) Anvil.Sweep(Settings.AnvilRateTimeUnit, now);
        // Forget finished windows, so the table holds only clients seen in the last time unit.
        foreach (var (ip, w) in _auth)
        {
            bool old;
            lock (w) old = now - w.Start >= Math.Max(w.UnitMs, 1000);
            if (old) _auth.TryRemove(new KeyValuePair<IPAddress, AuthWindow>(ip, w));
        }
    }
}

// One per destination (transport:nexthop), as Postfix's qmgr_queue.c: pending
// deliveries and the destination's concurrency window. Slow start at
// initial_destination_concurrency, +1/window per success up to the limit,
// -1/window per failed connection; after failed_cohort_limit failures at
// window 1 the destination is dead ("throttled") until the backoff passes.
// Lock-free: a ConcurrentQueue and Interlocked counters.
// Gate (our extension, cluster-wide destination limits): when set, each delivery also needs
// the gate's permit; a refusal closes the gate until a given time, and one retry per
// destination is armed (GateClosed / CloseGate / OpenGate), so refused destinations cost
// a timer, not a thread.
using System.Collections.Concurrent;

namespace Postfix.Queue.Qmgr;

internal sealed class QmgrQueue(string name, QmgrSettings settings)
{
    private readonly ConcurrentQueue<QmgrEntry> _pending = new();
    private int _active;
    private double _window = Math.Min(settings.InitialDestinationConcurrency, settings.DestinationConcurrencyLimit);
    private int _failures;
    private long _deadUntilTicks;
    private volatile string? _deadReason;
    private long _gateClosedUntilTicks;
    private int _gateRetryArmed;
    private int _asking;

    public string Name { get; } = name;
    public int Active => Volatile.Read(ref _active);
    public int Pending => _pending.Count;
    public double Window => Volatile.Read(ref _window);
    public bool IsDead(out string? reason)
    {
        reason = _deadReason;
        if (Environment.TickCount64 < Interlocked.Read(ref _deadUntilTicks)) return true;
        reason = null;
        return false;
    }

    /// <summary>The destination's gate (cluster-wide limits), or null: no permit needed.</summary>
    public IQmgrDestinationGate? Gate { get; init; }

    /// <summary>True while a refusal from the gate is recent: do not ask it again before the retry.</summary>
    public bool GateClosed => Environment.TickCount64 < Interlocked.Read(ref _gateClosedUntilTicks);

    /// <summary>Closes the gate for <paramref name="retryAfter"/>; true for the caller that must arm the one retry.</summary>
    public bool CloseGate(TimeSpan retryAfter)
    {
        Interlocked.Exchange(ref _gateClosedUntilTicks, Environment.TickCount64 + (long)retryAfter.TotalMilliseconds);
        return Interlocked.CompareExchange(ref _gateRetryArmed, 1, 0) == 0;
    }

    /// <summary>Deliveries now asking the gate for a permit: no more are started than entries
    /// wait, so a permit (a slot, a rate token) is never taken for nothing.</summary>
    public int Asking => Volatile.Read(ref _asking);
    public void BeginAsking() => Interlocked.Increment(ref _asking);
    public void EndAsking() => Interlocked.Decrement(ref _asking);

    /// <summary>The armed retry fired: ask the gate again.</summary>
    public void OpenGate()
    {
        Interlocked.Exchange(ref _gateClosedUntilTicks, 0);
        Interlocked.Exchange(ref _gateRetryArmed, 0);
    }

    public void Enqueue(QmgrEntry e) => _pending.Enqueue(e);
    public bool TryDequeue(out QmgrEntry e) => _pending.TryDequeue(out e!);

    /// <summary>Claims a delivery slot if the window allows one.</summary>
    public bool TryStartSlot()
    {
        while (true)
        {
            int a = Volatile.Read(ref _active);
            if (a >= (int)Math.Max(1, Window)) return false;
            if (Interlocked.CompareExchange(ref _active, a + 1, a) == a) return true;
        }
    }

    public void ReleaseSlot() => Interlocked.Decrement(ref _active);

    public void Success()
    {
        Interlocked.Exchange(ref _failures, 0);
        _deadReason = null;
        AdjustWindow(+1);
    }

    /// <summary>A connection-level failure (no server answered). Returns true when the destination just died.</summary>
    public bool Failure(string reason)
    {
        AdjustWindow(-1);
        if (Window <= 1 && Interlocked.Increment(ref _failures) >= settings.FailedCohortLimit)
        {
            _deadReason = reason;
            Interlocked.Exchange(ref _deadUntilTicks, Environment.TickCount64 + (long)settings.MinimalBackoffTime.TotalMilliseconds);
            Interlocked.Exchange(ref _failures, 0);
            Volatile.Write(ref _window, 1);
            return true;
        }
        return false;
    }

    /// <summary>
    /// postqueue -f / -i / -s: the destination is live again, with its initial window
    /// (Postfix: qmgr_enable_all on a flush request). Without this a flushed message
    /// to a dead destination would be deferred again without an attempt.
    /// </summary>
    public void Revive()
    {
        Interlocked.Exchange(ref _deadUntilTicks, 0);
        Interlocked.Exchange(ref _failures, 0);
        _deadReason = null;
        double initial = Math.Min(settings.InitialDestinationConcurrency, settings.DestinationConcurrencyLimit);
        double w;
        while ((w = Volatile.Read(ref _window)) < initial && Interlocked.CompareExchange(ref _window, initial, w) != w) { }
    }

    private void AdjustWindow(int sign)
    {
        while (true)
        {
            double w = Volatile.Read(ref _window);
            double next = Math.Clamp(w + sign / Math.Max(1, w), 1, settings.DestinationConcurrencyLimit);
            if (Interlocked.CompareExchange(ref _window, next, w) == w) return;
        }
    }
}

// One destination's cluster-wide limits, asked by qmgr before each delivery (see
// ClusterDestinationLimits). Concurrency: a leased slot of the store's semaphore, renewed
// while the delivery runs (ClusterDestinationLease) and given back after it. Rate: a token of
// the store's sliding window, spread evenly: at most ceil(M/10) per tenth of the time unit
// (one per unit/M when M < 10) as well as M per unit, so a burst of queued mail reaches the
// receiver as a steady stream, never as M messages at once. A refusal says when to ask again:
// soon for a slot (another node may give one back at any moment), about one token's spacing
// for the rate. A store that misses an answer only delays the delivery; one that has not
// answered for a second (ClusterDestinationLimits.FallbackGrace) leaves this node counting
// alone against its share, spread the same way.
// Input: the destination name (from trivial-rewrite), used only as key material.
using Postfix.Queue.Qmgr;

namespace Postfix.Cluster;

internal sealed class ClusterDestinationGate(ClusterDestinationLimits owner, string name, int concurrency, int rate) : IQmgrDestinationGate
{
    private static readonly TimeSpan SlotRetry = TimeSpan.FromMilliseconds(50);
    private const int RateParts = 10;

    private readonly Queue<long> _localGrants = new();
    private int _active;

    public string Name => name;
    public int Concurrency => concurrency;

    public ClusterLimits? Limits => owner.Limits;
    public TimeSpan Lease => owner.Lease;

    public async ValueTask<QmgrGatePermit> TryEnterAsync()
    {
        var limits = owner.Limits;
        // Reserve locally first, so this node's simultaneous attempts count against each other.
        int mine = Interlocked.Increment(ref _active);
        string? holder = null;
        try
        {
            if (concurrency > 0)
            {
                if (mine > concurrency) return Refuse(Jitter(SlotRetry));
                bool? got = null;
                if (limits is not null)
                {
                    holder = limits.NewHolder();
                    got = await limits.TryAcquireAsync(name, concurrency, holder, owner.Lease).ConfigureAwait(false);
                    if (got is not null) owner.StoreAnswered();
                    if (got == false) return Refuse(Jitter(SlotRetry));
                    if (got is null)
                    {
                        // The slot may have been taken before the answer was lost: give it back.
                        _ = limits.ReleaseAsync(name, holder).AsTask();
                        holder = null;
                        if (!owner.StoreGone()) return Refuse(Jitter(SlotRetry));
                    }
                }
                if (got is null && mine > owner.Share(concurrency)) return Refuse(Jitter(SlotRetry));
            }
            if (rate > 0 && await RateWaitAsync(limits).ConfigureAwait(false) is { } wait)
            {
                if (holder is not null) await limits!.ReleaseAsync(name, holder).ConfigureAwait(false);
                return Refuse(wait);
            }
            var lease = new ClusterDestinationLease(this, holder);
            mine = 0; // handed to the lease
            return new QmgrGatePermit(lease, TimeSpan.Zero);
        }
        finally
        {
            if (mine != 0) Interlocked.Decrement(ref _active);
        }
    }

    /// <summary>The lease was given back.</summary>
    internal void Left() => Interlocked.Decrement(ref _active);

    // Null when a token was taken; else how long until one may be free.
    private async ValueTask<TimeSpan?> RateWaitAsync(ClusterLimits? limits)
    {
        var unit = owner.RateTimeUnit;
        int parts = Math.Min(RateParts, rate);
        int partLimit = (rate + parts - 1) / parts;
        var part = unit / parts;
        if (limits is not null)
        {
            var inPart = await limits.HitAsync(name + "/part", partLimit, part).ConfigureAwait(false);
            if (inPart > partLimit) { owner.StoreAnswered(); return Spacing(part, partLimit); }
            if (inPart is not null)
            {
                owner.StoreAnswered();
                var inUnit = await limits.HitAsync(name, rate, unit).ConfigureAwait(false);
                if (inUnit > rate) return Spacing(unit, rate);
                if (inUnit is not null) return null;
            }
            if (!owner.StoreGone()) return Spacing(part, partLimit);
        }
        return LocalRateWait(owner.Share(rate), unit, parts);
    }

    // The store is gone: this node's own sliding window over its share, spread the same way.
    private TimeSpan? LocalRateWait(int share, TimeSpan unit, int parts)
    {
        long now = Environment.TickCount64;
        long unitMs = (long)unit.TotalMilliseconds;
        long partMs = unitMs / parts;
        int partShare = (share + parts - 1) / parts;
        lock (_localGrants)
        {
            while (_localGrants.Count > 0 && _localGrants.Peek() <= now - unitMs) _localGrants.Dequeue();
            int inPart = 0;
            foreach (long t in _localGrants) if (t > now - partMs) inPart++;
            if (_localGrants.Count >= share) return Jitter(TimeSpan.FromMilliseconds(Math.Clamp(_localGrants.Peek() + unitMs - now, 20, 1000)));
            if (inPart >= partShare) return Spacing(TimeSpan.FromMilliseconds(partMs), partShare);
            _localGrants.Enqueue(now);
            return null;
        }
    }

    private static TimeSpan Spacing(TimeSpan span, int limit) =>
        Jitter(TimeSpan.FromMilliseconds(Math.Clamp(span.TotalMilliseconds / Math.Max(1, limit), 20, 1000)));

    // Nodes refused together do not all come back in the same millisecond.
    private static TimeSpan Jitter(TimeSpan t) => t + TimeSpan.FromMilliseconds(Random.Shared.NextDouble() * t.TotalMilliseconds);

    private static QmgrGatePermit Refuse(TimeSpan retry) => QmgrGatePermit.Refused(retry);
}

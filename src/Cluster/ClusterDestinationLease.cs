// One delivery's permit from a ClusterDestinationGate: the slot it holds in the store's
// semaphore (null when none: rate-only limits, or the store did not answer), renewed every
// third of the lease while the delivery runs, so a long delivery keeps its slot and a crashed
// node's slot lapses by itself. Disposed once, after the delivery: the slot goes back.
namespace Postfix.Cluster;

internal sealed class ClusterDestinationLease : IAsyncDisposable
{
    private readonly ClusterDestinationGate _gate;
    private readonly string? _holder;
    private readonly Timer? _renew;
    private int _done;

    public ClusterDestinationLease(ClusterDestinationGate gate, string? holder)
    {
        _gate = gate;
        _holder = holder;
        if (holder is not null)
        {
            var period = gate.Lease / 3;
            _renew = new Timer(static s => ((ClusterDestinationLease)s!).Renew(), this, period, period);
        }
    }

    // Best effort: a renewal the store refuses (the lease lapsed and the slots are taken) or
    // cannot answer changes nothing for the delivery already under way.
    private void Renew()
    {
        if (Volatile.Read(ref _done) == 0 && _gate.Limits is { } limits)
            _ = limits.TryAcquireAsync(_gate.Name, _gate.Concurrency, _holder!, _gate.Lease).AsTask();
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _done, 1) != 0) return;
        if (_renew is not null) await _renew.DisposeAsync().ConfigureAwait(false);
        try
        {
            if (_holder is not null && _gate.Limits is { } limits)
                await limits.ReleaseAsync(_gate.Name, _holder).ConfigureAwait(false);
        }
        finally
        {
            _gate.Left();
        }
    }
}

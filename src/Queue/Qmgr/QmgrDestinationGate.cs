// A gate in front of a destination's deliveries, consulted by the scheduler before each
// delivery starts (our extension; Postfix's qmgr has only per-node windows). The cluster
// layer implements it with limits shared by all nodes (src/Cluster/ClusterDestinationLimits):
// a slot of a cluster-wide concurrency limit and/or a token of a cluster-wide rate. The
// scheduler never blocks a thread on it: a refused destination keeps its entries pending in
// the active queue and is pumped again after RetryAfter (or when one of our own permits is
// given back), and a refusal is not a delivery failure (no window feedback, no dead site).
// Destinations without a gate (For returns null) pay nothing.
namespace Postfix.Queue.Qmgr;

/// <summary>The gates of all destinations; null from <see cref="For"/> = no limit, no cost.</summary>
public interface IQmgrDestinationGates
{
    /// <summary>The gate of transport:nexthop, or null when no limit applies. Called once per destination queue.</summary>
    IQmgrDestinationGate? For(string transport, string nexthop);
}

public interface IQmgrDestinationGate
{
    /// <summary>A permit to start one delivery now, or a refusal with when to ask again.
    /// Never throws for store trouble: the implementation degrades to a per-node limit.</summary>
    ValueTask<QmgrGatePermit> TryEnterAsync();
}

/// <summary>Granted when <see cref="Lease"/> is set (dispose it when the delivery is done); otherwise
/// refused, to be asked again after <see cref="RetryAfter"/>.</summary>
public readonly record struct QmgrGatePermit(IAsyncDisposable? Lease, TimeSpan RetryAfter)
{
    public bool Granted => Lease is not null;

    public static QmgrGatePermit Refused(TimeSpan retryAfter) => new(null, retryAfter);
}

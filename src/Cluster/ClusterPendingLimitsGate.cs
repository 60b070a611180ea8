// The gate of a destination whose limits could not be looked up when qmgr first met it
// (cluster_destination_limit_maps could not answer, e.g. a redis: table while the store is
// down). A lookup failure is never taken as "no limit": each delivery asks the table again
// and waits (a refusal with a retry, the mail stays in the active queue) until it answers;
// from then on the destination's real gate (or no limit) applies. qmgr keeps one gate per
// destination queue, so this one must be able to change its mind.
using Postfix.Core.Tables;
using Postfix.Queue.Qmgr;

namespace Postfix.Cluster;

internal sealed class ClusterPendingLimitsGate(ClusterDestinationLimits owner, string transport, string nexthop) : IQmgrDestinationGate
{
    internal static readonly TimeSpan Retry = TimeSpan.FromSeconds(1);

    private IQmgrDestinationGate? _resolved;
    private volatile bool _known;

    public ValueTask<QmgrGatePermit> TryEnterAsync()
    {
        if (!_known)
        {
            try
            {
                var (c, r) = owner.LimitsOf(transport, nexthop);
                _resolved = owner.GateOf(transport, nexthop, c, r);
                _known = true;
            }
            catch (TableLookupException)
            {
                return new(QmgrGatePermit.Refused(Retry));
            }
        }
        return _resolved?.TryEnterAsync() ?? new(new QmgrGatePermit(NoLimit.Instance, TimeSpan.Zero));
    }

    // The permit of a destination that turned out to have no limit: nothing to give back.
    private sealed class NoLimit : IAsyncDisposable
    {
        public static readonly NoLimit Instance = new();
        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}

// Postfix queue names (man 5 postconf: queue_directory; qmgr(8)): a message is in
// exactly one of these. "incoming" = committed by cleanup, not yet seen by qmgr.
namespace Postfix.Core.Queue;

public enum QueueState : byte
{
    Incoming = 1,
    Active = 2,
    Deferred = 3,
    Hold = 4,
    Removed = 5,
}

public static class QueueStateNames
{
    public static string Name(this QueueState s) => s switch
    {
        QueueState.Incoming => "incoming",
        QueueState.Active => "active",
        QueueState.Deferred => "deferred",
        QueueState.Hold => "hold",
        QueueState.Removed => "removed",
        _ => "unknown",
    };
}

// qmqpd(8)'s process-wide state, shared by all sessions of one master.cf
// service: the current settings (swapped atomically on reload), the cleanup
// hand-off into the queue, the maillog, and one timer that enforces
// qmqpd_timeout for every session (no timer per read).
using Postfix.Core.Cleanup;
using Postfix.Core.Logging;
using Postfix.Core.Queue;

namespace Postfix.Protocols.Qmqpd;

public sealed class QmqpdServer(QmqpdSettings settings, IQueueWriter queue, Maillog log, CleanupService? cleanup = null)
    : SingleServer<QmqpdSettings, QmqpdSession>(settings, queue, log, cleanup ?? new CleanupService(queue, log, "qmqpd"))
{
    internal void Enter(QmqpdSession session) => Track(session);

    internal void Leave(QmqpdSession session) => Untrack(session);
}

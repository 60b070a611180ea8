// qmqpd(8)'s process-wide state, shared by all sessions of one master.cf
// service: the current settings (swapped atomically on reload), the cleanup
// hand-off into the queue, the maillog, and one timer that enforces
// qmqpd_timeout for every session (no timer per read).
using System.Collections.Concurrent;
using Postfix.Core.Cleanup;
using Postfix.Core.Logging;
using Postfix.Core.Queue;

namespace Postfix.Protocols.Qmqpd;

public sealed class QmqpdServer : IDisposable
{
    private readonly ConcurrentDictionary<QmqpdSession, byte> _sessions = new();
    private readonly Timer _timer;
    private QmqpdSettings _settings;
    private long _connections, _accepted;

    public QmqpdServer(QmqpdSettings settings, IQueueWriter queue, Maillog log, CleanupService? cleanup = null)
    {
        _settings = settings;
        Queue = queue;
        Log = log;
        Cleanup = cleanup ?? new CleanupService(queue, log, "qmqpd");
        _timer = new Timer(_ => Tick(), null, 1000, 1000);
    }

    public QmqpdSettings Settings => Volatile.Read(ref _settings);
    public IQueueWriter Queue { get; }
    public Maillog Log { get; }
    public CleanupService Cleanup { get; }
    public int ActiveSessions => _sessions.Count;
    public long TotalConnections => Interlocked.Read(ref _connections);
    public long MessagesAccepted => Interlocked.Read(ref _accepted);

    /// <summary>postfix reload: new sessions get the new settings; open ones keep theirs.</summary>
    public void Reload(QmqpdSettings settings) => Volatile.Write(ref _settings, settings);

    internal void Enter(QmqpdSession session)
    {
        Interlocked.Increment(ref _connections);
        _sessions.TryAdd(session, 0);
    }

    internal void Leave(QmqpdSession session) => _sessions.TryRemove(session, out _);

    internal void CountAccepted() => Interlocked.Increment(ref _accepted);

    private void Tick()
    {
        long now = Environment.TickCount64;
        foreach (var s in _sessions.Keys) s.CheckTimeout(now);
    }

    public void Dispose() => _timer.Dispose();
}

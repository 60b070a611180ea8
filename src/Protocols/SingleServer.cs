// master/single_server.c's part for our in-process daemons: what every
// network daemon of one master.cf service shares across its sessions. The
// current settings (swapped atomically on postfix reload: new sessions get
// the new ones, open sessions keep theirs), the cleanup hand-off into the
// queue, the maillog, the set of live sessions and one 1-second timer that
// enforces the daemon's timeout for all of them (no timer per read), plus
// the per-session process IDs the maillog shows. smtpd and qmqpd derive.
using System.Collections.Concurrent;
using Postfix.Core.Cleanup;
using Postfix.Core.Logging;
using Postfix.Core.Queue;

namespace Postfix.Protocols;

/// <summary>A session the server's timer can time out.</summary>
public interface ITimedSession
{
    void CheckTimeout(long nowMs);
}

public abstract class SingleServer<TSettings, TSession> : IDisposable
    where TSettings : class
    where TSession : class, ITimedSession
{
    private readonly ConcurrentDictionary<TSession, byte> _sessions = new();
    private readonly Timer _timer;
    private TSettings _settings;
    private long _connections, _accepted;
    private static int _sessionPid = Environment.ProcessId;

    protected SingleServer(TSettings settings, IQueueWriter queue, Maillog log, CleanupService cleanup)
    {
        _settings = settings;
        Queue = queue;
        Log = log;
        Cleanup = cleanup;
        _timer = new Timer(_ => Tick(), null, 1000, 1000);
    }

    /// <summary>A per-session process ID for the maillog (see Maillog.Info), as if each session were its own process.</summary>
    public static int NextSessionPid()
    {
        int pid = Interlocked.Increment(ref _sessionPid);
        if (pid >= 4_194_304) Interlocked.CompareExchange(ref _sessionPid, Environment.ProcessId, pid);
        return pid;
    }

    public TSettings Settings => Volatile.Read(ref _settings);
    public IQueueWriter Queue { get; }
    public Maillog Log { get; }
    public CleanupService Cleanup { get; }
    public int ActiveSessions => _sessions.Count;
    public long TotalConnections => Interlocked.Read(ref _connections);
    public long MessagesAccepted => Interlocked.Read(ref _accepted);

    /// <summary>postfix reload: new sessions get the new settings; open ones keep theirs.</summary>
    public void Reload(TSettings settings) => Volatile.Write(ref _settings, settings);

    internal void CountAccepted() => Interlocked.Increment(ref _accepted);

    /// <summary>A new connection: counted and watched by the timer until <see cref="Untrack"/>.</summary>
    protected void Track(TSession session)
    {
        Interlocked.Increment(ref _connections);
        _sessions.TryAdd(session, 0);
    }

    protected void Untrack(TSession session) => _sessions.TryRemove(session, out _);

    private void Tick()
    {
        long now = Environment.TickCount64;
        foreach (var s in _sessions.Keys) s.CheckTimeout(now);
        OnTick(now);
    }

    /// <summary>Per-second housekeeping of the derived daemon (sweeping rate windows, ...).</summary>
    protected virtual void OnTick(long nowMs) { }

    public void Dispose()
    {
        _timer.Dispose();
        GC.SuppressFinalize(this);
    }
}

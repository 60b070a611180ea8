// postsuper(1)'s queue operations, run where the queue is open: inside the
// master (over the showq socket, so qmgr sees each change at once) or by the
// command itself with the master stopped. Postfix's order and wording: the
// "ALL" pass first, then one ID at a time; "ID: removed" per named message,
// "Deleted: N messages" at the end. Queue IDs come from the operator (or a
// local user who can reach the showq socket): each is parsed, never trusted.
using Postfix.Core.Logging;
using Postfix.Core.Queue;
using Postfix.Queue.Store;

namespace Postfix.Host.Commands;

public enum PostsuperAction { Delete, Requeue, Hold, Release }

public sealed class PostsuperSession
{
    /// <summary>Queue names postsuper accepts (Postfix's queue directories); only four hold messages here.</summary>
    public static readonly IReadOnlyList<string> QueueNames =
        ["maildrop", "incoming", "active", "deferred", "hold", "trace", "defer", "bounce", "flush"];

    private static readonly QueueState[] AllMessageQueues = [QueueState.Incoming, QueueState.Active, QueueState.Deferred, QueueState.Hold];
    private static readonly QueueState[] HoldDefaults = [QueueState.Incoming, QueueState.Active, QueueState.Deferred];
    private static readonly QueueState[] ReleaseDefaults = [QueueState.Hold];

    private readonly QueueStore? _store;
    private readonly HashSet<QueueState>? _explicit;
    private readonly Maillog? _log;
    private readonly Action<QueueEntry>? _requeued;
    private readonly Action<QueueEntry>? _released;
    private readonly int[] _counts = new int[4];

    /// <param name="store">The open queue, or null when there is none yet (nothing is found).</param>
    /// <param name="queues">Queue names given on the command line; empty = Postfix's defaults per action.</param>
    /// <param name="requeued">Told about each message moved to incoming (qmgr picks it up now).</param>
    /// <param name="released">Told about each message moved from hold to deferred (retried now).</param>
    public PostsuperSession(QueueStore? store, IReadOnlyCollection<string> queues, Maillog? log,
        Action<QueueEntry>? requeued, Action<QueueEntry>? released)
    {
        _store = store;
        _log = log;
        _requeued = requeued;
        _released = released;
        if (queues.Count > 0)
        {
            _explicit = [];
            foreach (var q in queues)
            {
                if (!QueueNames.Contains(q)) throw new ArgumentException($"invalid directory name: {q}");
                if (StateOf(q) is { } s) _explicit.Add(s);
            }
        }
    }

    public static bool TryParseAction(string verb, out PostsuperAction action)
    {
        switch (verb)
        {
            case "delete": action = PostsuperAction.Delete; return true;
            case "requeue": action = PostsuperAction.Requeue; return true;
            case "hold": action = PostsuperAction.Hold; return true;
            case "release": action = PostsuperAction.Release; return true;
            default: action = default; return false;
        }
    }

    public static string Verb(PostsuperAction a) => a switch
    {
        PostsuperAction.Delete => "delete",
        PostsuperAction.Requeue => "requeue",
        PostsuperAction.Hold => "hold",
        _ => "release",
    };

    private static QueueState? StateOf(string queue) => queue switch
    {
        "incoming" => QueueState.Incoming,
        "active" => QueueState.Active,
        "deferred" => QueueState.Deferred,
        "hold" => QueueState.Hold,
        _ => null,
    };

    /// <summary>The "-x ALL" operations: one pass over the queue, the first applicable action per
    /// message (delete, requeue, hold, release, as Postfix's super()). No per-message output.</summary>
    public void RunAll(IReadOnlySet<PostsuperAction> actions)
    {
        if (actions.Count == 0 || _store is null) return;
        IReadOnlyCollection<QueueState> queues = (IReadOnlyCollection<QueueState>?)_explicit
            ?? (actions.Count == 1 && actions.Contains(PostsuperAction.Hold) ? HoldDefaults
                : actions.Count == 1 && actions.Contains(PostsuperAction.Release) ? ReleaseDefaults
                : AllMessageQueues);
        foreach (var e in _store.Entries.OrderBy(e => e.Id).ToList())
        {
            var s = e.State;
            if (!queues.Contains(s)) continue;
            if (actions.Contains(PostsuperAction.Delete)) { if (_store.TryMove(e, s, QueueState.Removed)) _counts[0]++; }
            else if (actions.Contains(PostsuperAction.Requeue)) { if (Requeue(e, s)) _counts[1]++; }
            else if (actions.Contains(PostsuperAction.Hold) && s != QueueState.Hold) { if (_store.TryMove(e, s, QueueState.Hold)) _counts[2]++; }
            else if (actions.Contains(PostsuperAction.Release) && s == QueueState.Hold) { if (Release(e)) _counts[3]++; }
        }
    }

    /// <summary>One named message; returns the line to report (without "postsuper: ").</summary>
    public string RunOne(PostsuperAction action, string queueId)
    {
        if (!QueueId.TryParse(queueId, out var id)) return Report($"warning: invalid mail queue id: {queueId}");
        if (_store is null || !_store.TryGet(id, out var e)) return Report($"warning: {queueId}: no such file or directory");
        var queues = Applicable(action);
        // Postfix tries twice: qmgr may move the message between our look and our move.
        for (int tries = 0; tries < 2; tries++)
        {
            var s = e.State;
            if (s == QueueState.Removed) break;
            if (!queues.Contains(s))
                return Report($"warning: {queueId}: not in the {string.Join(" or ", queues.Select(q => q.Name()))} queue (it is in {s.Name()})");
            switch (action)
            {
                case PostsuperAction.Delete:
                    if (_store.TryMove(e, s, QueueState.Removed)) { _counts[0]++; return Report($"{queueId}: removed"); }
                    break;
                case PostsuperAction.Requeue:
                    if (s == QueueState.Active)
                        return Report($"warning: {queueId}: message is being delivered; not requeued");
                    if (Requeue(e, s)) { _counts[1]++; return Report($"{queueId}: requeued"); }
                    break;
                case PostsuperAction.Hold:
                    if (_store.TryMove(e, s, QueueState.Hold)) { _counts[2]++; return Report($"{queueId}: placed on hold"); }
                    break;
                case PostsuperAction.Release:
                    if (Release(e)) { _counts[3]++; return Report($"{queueId}: released from hold"); }
                    break;
            }
        }
        return Report($"warning: {queueId}: no such file or directory");
    }

    /// <summary>Makes the changes durable, then returns Postfix's summary lines.</summary>
    public async Task<IReadOnlyList<string>> FinishAsync()
    {
        if (_store is not null) await _store.FlushAsync();
        var lines = new List<string>();
        Add("Requeued", _counts[1]);
        Add("Deleted", _counts[0]);
        Add("Placed on hold", _counts[2]);
        Add("Released from hold", _counts[3]);
        return lines;

        void Add(string what, int n)
        {
            if (n > 0) lines.Add(Report($"{what}: {n} message{(n > 1 ? "s" : "")}"));
        }
    }

    private IReadOnlyCollection<QueueState> Applicable(PostsuperAction action)
    {
        var defaults = action switch
        {
            PostsuperAction.Hold => HoldDefaults,
            PostsuperAction.Release => ReleaseDefaults,
            _ => AllMessageQueues,
        };
        if (_explicit is null) return defaults;
        // Named queues narrow the action; hold never applies to held mail, release only to it.
        return action switch
        {
            PostsuperAction.Hold => _explicit.Where(s => s != QueueState.Hold).ToList(),
            PostsuperAction.Release => _explicit.Where(s => s == QueueState.Hold).ToList(),
            _ => _explicit,
        };
    }

    private bool Requeue(QueueEntry e, QueueState from)
    {
        // Mail being delivered is left alone: a second activation would deliver it twice.
        if (from == QueueState.Active || !_store!.TryMove(e, from, QueueState.Incoming)) return false;
        _requeued?.Invoke(e);
        return true;
    }

    private bool Release(QueueEntry e)
    {
        if (!_store!.TryMove(e, QueueState.Hold, QueueState.Deferred, 0)) return false;
        _released?.Invoke(e);
        return true;
    }

    private string Report(string line)
    {
        _log?.Info("postsuper", line);
        return line;
    }
}

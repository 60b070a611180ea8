// postfix drain (our extension; Postfix has no such verb): takes this node out of service
// without losing or stranding mail. It asks the running master (showq request "drain") to
// stop accepting mail, deliver what it can and hand the rest to peer nodes (MasterDrain),
// then polls "drain-status" once a second and prints progress on stderr until the queue is
// empty and the master has stopped (exit 0). It gives up after cluster_drain_timeout (exit 1,
// saying what is left; the master keeps running and keeps draining), at once when only held
// mail is left (the hold is the operator's: release or delete it, then drain again), and
// when mail is left with no peer to take it (neither cluster_store nor cluster_drain_peers).
// With the master stopped: exit 0 when its queue is empty (nothing to drain), else 1.
// Status lines come from our own master over the local socket; they are parsed, not trusted.
using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Postfix.Host.Master;

namespace Postfix.Host.Commands;

public static class DrainCommand
{
    private static readonly TimeSpan Poll = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan StopWait = TimeSpan.FromSeconds(60);
    /// <summary>Polls in a row that must see "no peer and nothing in flight" before giving up.</summary>
    private const int NoPeerPolls = 3;

    public static async Task<int> RunAsync(string? configDir, TextWriter stderr)
    {
        if (QueueAccess.LoadSettings("postfix", configDir, stderr) is not { } settings) return 1;
        var qdir = settings.QueueDirectory;
        var timeout = settings.Source.GetTime("cluster_drain_timeout");
        if (!QueueAccess.MasterRunning(qdir))
        {
            // Nothing to hand over is a finished drain (e.g. one that ended after an earlier
            // drain command gave up); mail left needs a running master to move it.
            long left = await OfflineCountAsync(settings, stderr);
            if (left < 0) return 1;
            stderr.WriteLine(left == 0
                ? "postfix/postfix-script: the Postfix mail system is not running; its queue is empty"
                : $"postfix/postfix-script: fatal: the Postfix mail system is not running; start it to drain its {left} queued messages");
            return left == 0 ? 0 : 1;
        }
        var answer = await RequestAsync(qdir, "drain");
        if (answer is null || !answer.StartsWith("ok", StringComparison.Ordinal))
        {
            stderr.WriteLine($"postfix: fatal: drain: the master did not accept the request: {answer ?? "no answer"}");
            return 1;
        }
        stderr.WriteLine("postfix/postfix-script: draining the Postfix mail system");

        var clock = Stopwatch.StartNew();
        string? last = null;
        Dictionary<string, string>? status = null;
        int noPeer = 0;
        while (clock.Elapsed < timeout)
        {
            if (!QueueAccess.MasterRunning(qdir)) return await StoppedAsync(settings, stderr);
            var line = await RequestAsync(qdir, "drain-status");
            if (line is not null && line.StartsWith("status ", StringComparison.Ordinal))
            {
                status = Parse(line);
                var progress = Progress(status);
                if (progress != last) stderr.WriteLine($"postfix/drain: {last = progress}");
                switch (status["phase"])
                {
                    case "done":
                        var waited = Stopwatch.StartNew();
                        while (QueueAccess.MasterRunning(qdir) && waited.Elapsed < StopWait) await Task.Delay(100);
                        if (QueueAccess.MasterRunning(qdir))
                        {
                            stderr.WriteLine($"postfix: fatal: drain: the queue is empty but the master did not stop within {StopWait.TotalSeconds:0}s");
                            return 1;
                        }
                        return await StoppedAsync(settings, stderr);
                    case "held" when Get(status, "hold") > 0:
                        stderr.WriteLine($"postfix: fatal: drain: {Get(status, "hold")} held messages are left (postsuper -H to release them for hand-over, or postsuper -d); the mail system keeps running, draining");
                        return 1;
                    case "failed":
                        stderr.WriteLine("postfix: fatal: drain: the master's drain failed; see the maillog");
                        return 1;
                }
                bool stuck = status.GetValueOrDefault("peer_source") == "no" && status.GetValueOrDefault("listeners") == "closed"
                    && Get(status, "incoming") == 0 && Get(status, "active") == 0 && Get(status, "deferred") > 0;
                noPeer = stuck ? noPeer + 1 : 0;
                if (noPeer >= NoPeerPolls)
                {
                    stderr.WriteLine($"postfix: fatal: drain: {Get(status, "total")} messages are left and there is no peer to hand them to (set cluster_store or cluster_drain_peers); the mail system keeps running, draining");
                    return 1;
                }
            }
            await Task.Delay(Poll);
        }
        stderr.WriteLine($"postfix: fatal: drain: not done after {timeout.TotalSeconds:0}s (cluster_drain_timeout): {(status is null ? "no status" : Progress(status))}; the mail system keeps running, draining");
        return 1;
    }

    /// <summary>Messages in the queue, opened offline (the master is not running); -1 when it
    /// could not be opened (the reason is on stderr).</summary>
    private static async Task<long> OfflineCountAsync(Postfix.Core.Config.MailSettings settings, TextWriter stderr)
    {
        var (qlock, store) = await QueueAccess.OpenOfflineAsync("postfix", settings, stderr);
        if (qlock is null) return -1;
        using var heldLock = qlock;
        if (store is null) return 0;
        await using (store) return store.TotalCount;
    }

    /// <summary>The master is gone: the queue, opened offline, says whether the drain finished
    /// (the master stops right after its last commit, often between two polls).</summary>
    private static async Task<int> StoppedAsync(Postfix.Core.Config.MailSettings settings, TextWriter stderr)
    {
        long left = await OfflineCountAsync(settings, stderr);
        if (left < 0) return 1;
        if (left == 0)
        {
            stderr.WriteLine("postfix/postfix-script: the queue is drained; the Postfix mail system is stopped");
            return 0;
        }
        stderr.WriteLine($"postfix: fatal: drain: the mail system stopped before the queue was drained: {left} messages left");
        return 1;
    }

    private static string Progress(Dictionary<string, string> s) =>
        $"{Get(s, "total")} messages left (incoming {Get(s, "incoming")}, active {Get(s, "active")}, deferred {Get(s, "deferred")}, hold {Get(s, "hold")}); "
        + $"{Get(s, "handed")} handed to peers ({s.GetValueOrDefault("peers", "unknown")}); listeners {s.GetValueOrDefault("listeners", "?")}";

    private static long Get(Dictionary<string, string> s, string key) =>
        long.TryParse(s.GetValueOrDefault(key), out long v) ? v : 0;

    /// <summary>"status PHASE k=v ..." into a dictionary with "phase".</summary>
    internal static Dictionary<string, string> Parse(string line)
    {
        var words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var d = new Dictionary<string, string>(StringComparer.Ordinal) { ["phase"] = words.Length > 1 ? words[1] : "" };
        foreach (var w in words.Skip(2))
        {
            int eq = w.IndexOf('=');
            if (eq > 0) d[w[..eq]] = w[(eq + 1)..];
        }
        return d;
    }

    /// <summary>One request line, one answer line; null when the master did not answer.</summary>
    private static async Task<string?> RequestAsync(string qdir, string request)
    {
        try
        {
            using var s = await QueueAccess.ConnectShowqAsync(qdir);
            await s.SendAsync(Encoding.UTF8.GetBytes(request + "\n"));
            await using var ns = new NetworkStream(s);
            using var r = new StreamReader(ns, Encoding.UTF8);
            using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            return await r.ReadLineAsync(bound.Token);
        }
        catch (Exception e) when (e is SocketException or IOException or OperationCanceledException)
        {
            return null;
        }
    }
}

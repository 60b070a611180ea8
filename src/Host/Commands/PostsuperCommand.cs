// postsuper(1): -d (delete), -h (hold), -H (release from hold), -r (requeue),
// each with a queue ID, "ALL", or "-" (IDs from stdin), optionally narrowed to
// named queues. With the master running the master applies the change (showq
// socket request "postsuper", see ShowqService), so the queue log is never
// opened twice; with it stopped the command opens the queue itself under the
// queue lock. Reports go to stderr as Postfix's do; exit 0 even when an ID is
// not found, 1 on a fatal error, 2 on bad usage.
using System.Net.Sockets;
using System.Text;
using Postfix.Core.Config;
using Postfix.Core.Logging;
using Postfix.Host.Master;
using Postfix.Queue.Store;

namespace Postfix.Host.Commands;

public static class PostsuperCommand
{
    /// <summary>Maximum length of one queue ID read from stdin (ours are 12 characters).</summary>
    private const int MaxStdinLine = 256;

    public static async Task<int> RunAsync(string[] args, string? configDir, TextReader stdin, TextWriter stderr)
    {
        var named = new List<(PostsuperAction Action, string Id)>();
        var queues = new List<string>();
        for (int i = 0; i < args.Length; i++)
        {
            var a = args[i];
            if (a == "--") { queues.AddRange(args[(i + 1)..]); break; }
            if (a.Length < 2 || a[0] != '-') { queues.Add(a); continue; }
            // getopt(3): flags may be bundled, an option's argument attached or separate.
            for (int j = 1; j < a.Length; j++)
            {
                char c = a[j];
                switch (c)
                {
                    case 'p' or 's' or 'S' or 'v': continue; // nothing to purge or restructure in a log-structured queue
                    case 'c' or 'd' or 'h' or 'H' or 'r':
                        string value;
                        if (j + 1 < a.Length) value = a[(j + 1)..];
                        else if (++i < args.Length) value = args[i];
                        else throw new UsageException($"postsuper: option requires an argument -- '{c}'");
                        if (c == 'c') configDir = value;
                        else named.Add((c switch { 'd' => PostsuperAction.Delete, 'h' => PostsuperAction.Hold, 'H' => PostsuperAction.Release, _ => PostsuperAction.Requeue }, value));
                        j = a.Length;
                        break;
                    default: throw new UsageException($"postsuper: invalid option -- '{c}' (use -d, -h, -H or -r)");
                }
            }
        }
        foreach (var q in queues)
        {
            if (!PostsuperSession.QueueNames.Contains(q)) { stderr.WriteLine($"postsuper: fatal: invalid directory name: {q}"); return 1; }
        }

        // Postfix's order: the ALL pass, then deletes, requeues, holds, releases by ID.
        var all = named.Where(n => n.Id == "ALL").Select(n => n.Action).ToHashSet();
        foreach (var act in all.OrderBy(Order))
        {
            if (named.Any(n => n.Action == act && n.Id != "ALL"))
                stderr.WriteLine($"postsuper: warning: option \"-{Flag(act)} ALL\" will ignore other command line queue IDs");
        }
        var ops = new List<(PostsuperAction Action, string Id)>();
        bool stdinUsed = false;
        foreach (var act in new[] { PostsuperAction.Delete, PostsuperAction.Requeue, PostsuperAction.Hold, PostsuperAction.Release })
        {
            if (all.Contains(act)) continue;
            foreach (var (_, id) in named.Where(n => n.Action == act))
            {
                if (id != "-") { ops.Add((act, id)); continue; }
                if (stdinUsed) continue; // stdin was read to its end by the first "-"
                stdinUsed = true;
                string? line;
                while ((line = await stdin.ReadLineAsync()) != null)
                {
                    if (line.Length > MaxStdinLine) line = line[..MaxStdinLine];
                    ops.Add((act, line.Trim()));
                }
            }
        }
        if (all.Count == 0 && ops.Count == 0) return 0;

        if (QueueAccess.LoadSettings("postsuper", configDir, stderr) is not { } settings) return 1;
        var qdir = settings.QueueDirectory;

        if (QueueAccess.MasterRunning(qdir)) return await ViaMasterAsync(qdir, queues, all, ops, stderr);

        var (qlock, store) = await QueueAccess.OpenOfflineAsync("postsuper", settings, stderr);
        if (qlock is null) return 1;
        using var heldLock = qlock;
        await using var log = string.IsNullOrEmpty(settings.MaillogFile) || settings.MaillogFile == "/dev/stdout"
            ? null : Maillog.Open(settings.MaillogFile, settings.MyHostname, settings.SyslogName);
        try
        {
            var session = new PostsuperSession(store, queues, log, requeued: null, released: null);
            session.RunAll(all);
            foreach (var (act, id) in ops) stderr.WriteLine($"postsuper: {session.RunOne(act, id)}");
            foreach (var line in await session.FinishAsync()) stderr.WriteLine($"postsuper: {line}");
            if (log is not null) await log.FlushAsync();
            return 0;
        }
        finally
        {
            if (store is not null) await store.DisposeAsync();
        }
    }

    private static async Task<int> ViaMasterAsync(string qdir, List<string> queues, HashSet<PostsuperAction> all,
        List<(PostsuperAction Action, string Id)> ops, TextWriter stderr)
    {
        try
        {
            using var s = await QueueAccess.ConnectShowqAsync(qdir);
            await using var ns = new NetworkStream(s);
            // Read while we write: a long "-d -" list must not deadlock against the replies.
            var replies = ReadRepliesAsync(ns, stderr);
            try
            {
                await using var w = new StreamWriter(ns, new UTF8Encoding(false), 64 * 1024, leaveOpen: true);
                await w.WriteAsync("postsuper");
                foreach (var q in queues) await w.WriteAsync(" " + q);
                await w.WriteAsync('\n');
                foreach (var act in all.OrderBy(Order)) await w.WriteAsync($"{PostsuperSession.Verb(act)} ALL\n");
                foreach (var (act, id) in ops)
                {
                    // The request is line-based: an ID with blanks is invalid anyway, keep it one token.
                    var token = id.Length == 0 || id.Any(char.IsWhiteSpace) ? "-" : id;
                    await w.WriteAsync($"{PostsuperSession.Verb(act)} {token}\n");
                }
                await w.WriteAsync('\n');
                await w.FlushAsync();
                s.Shutdown(SocketShutdown.Send);
            }
            catch (IOException)
            {
                // The master stopped reading (it answered with an error): its reply says why.
            }
            return await replies;
        }
        catch (SocketException e)
        {
            stderr.WriteLine($"postsuper: fatal: connect to showq service {QueueAccess.ShowqPath(qdir)}: {e.Message}");
            return 1;
        }
    }

    private static async Task<int> ReadRepliesAsync(Stream ns, TextWriter stderr)
    {
        using var r = new StreamReader(ns, Encoding.UTF8, leaveOpen: true);
        string? line;
        while ((line = await r.ReadLineAsync()) != null)
        {
            if (line.StartsWith("error: ", StringComparison.Ordinal)) { stderr.WriteLine($"postsuper: fatal: {line[7..]}"); return 1; }
            stderr.WriteLine($"postsuper: {line}");
        }
        return 0;
    }

    private static int Order(PostsuperAction a) => a switch
    {
        PostsuperAction.Delete => 0,
        PostsuperAction.Requeue => 1,
        PostsuperAction.Hold => 2,
        _ => 3,
    };

    private static char Flag(PostsuperAction a) => a switch
    {
        PostsuperAction.Delete => 'd',
        PostsuperAction.Requeue => 'r',
        PostsuperAction.Hold => 'h',
        _ => 'H',
    };
}

// postqueue(1): -p (mailq listing), -j (JSON lines), -f (flush), -i ID (flush
// one deferred message), -s SITE (flush deferred mail for a site), and -n
// (ours: per-queue counts). With the master running it asks showq over
// $queue_directory/public/showq; with the master stopped the listings open the
// queue themselves (holding the queue lock), and the flushes fail as
// Postfix's do ("mail system is down"): nobody would deliver the mail.
// -s differs from Postfix: Postfix flushes only sites listed in
// fast_flush_domains, from flush(8)'s per-site logs; we have no such logs and
// scan the deferred queue for messages with a recipient still due at SITE
// (the domain after the last '@'; "[1.2.3.4]" for address literals), so any
// site can be flushed, at the cost of reading the deferred queue.
// Output: listings on stdout; the flushes keep stdout clean, as Postfix's do,
// and report on stderr how many messages were scheduled
// ("postqueue: Flushed: N messages", postsuper's summary form). -i of a
// message that is not deferred adds a warning and exits 0, as Postfix
// exits 0 then (the message may have been delivered meanwhile).
// Exit codes: 0 ok, 1 operational failure (mail system down), 2 usage
// (Postfix's EX_USAGE: bad option, malformed queue ID or site).
// Arguments come from the operator's command line; the ID and site are
// checked here and again by the showq service.
// -C (our extension; Postfix's postqueue has no -C): the whole cluster's queue from the
// summaries the nodes publish to cluster_store: alone or with -p a table per node plus the
// cluster totals, with -j one JSON object per node (ClusterQueueReport). It reads the store
// only, so it works whether this node's master runs or not.
using System.Net.Sockets;
using System.Text;
using Postfix.Core.Queue;

namespace Postfix.Host.Commands;

public static class PostqueueCommand
{
    private const string Usage = "usage: postqueue -f | postqueue -i queueid | postqueue -j | postqueue -n | postqueue -p | postqueue -s site | postqueue -C [-p | -j]";

    public static async Task<int> RunAsync(string[] args, string? configDir, TextWriter stdout, TextWriter stderr)
    {
        string? request = null, argument = null;
        bool cluster = false;
        for (int i = 0; i < args.Length; i++)
        {
            var a = args[i];
            if (a.Length < 2 || a[0] != '-') throw new UsageException($"postqueue: unexpected argument '{a}'\n{Usage}");
            // getopt(3): flags may be bundled, an option's argument attached or separate.
            for (int j = 1; j < a.Length; j++)
            {
                char c = a[j];
                string? mode = c switch { 'p' => "list", 'j' => "json", 'f' => "flush", 'n' => "count", 'i' => "flush-id", 's' => "flush-site", _ => null };
                if (c == 'v') continue;
                if (c == 'C') { cluster = true; continue; }
                if (c is 'c' or 'i' or 's')
                {
                    string value;
                    if (j + 1 < a.Length) value = a[(j + 1)..];
                    else if (++i < args.Length) value = args[i];
                    else throw new UsageException($"postqueue: option requires an argument -- '{c}'\n{Usage}");
                    j = a.Length;
                    if (c == 'c') { configDir = value; continue; }
                    argument = value;
                }
                if (mode is null) throw new UsageException($"postqueue: invalid option -- '{c}'\n{Usage}");
                // Postfix: one mode per invocation.
                if (request is not null) throw new UsageException($"postqueue: more than one of -f, -i, -j, -n, -p, -s\n{Usage}");
                request = mode;
            }
        }
        if (cluster)
        {
            if (request is not (null or "list" or "json")) throw new UsageException($"postqueue: -C takes only -p or -j\n{Usage}");
            return QueueAccess.LoadSettings("postqueue", configDir, stderr) is { } cs
                ? await ClusterQueueReport.PostqueueAsync(cs, request == "json", stdout, stderr) : 1;
        }
        if (request is null) throw new UsageException($"postqueue: specify -p, -j, -f, -i, -s or -n\n{Usage}");

        // Postfix checks the argument before it reads main.cf or contacts anyone.
        if (request == "flush-id" && !QueueId.TryParse(argument, out _))
        {
            stderr.WriteLine($"postqueue: fatal: Cannot flush queue ID - invalid name: \"{Clip(argument!)}\"");
            return 2;
        }
        if (request == "flush-site" && !PostqueueSite.IsValid(argument!))
        {
            stderr.WriteLine($"postqueue: fatal: Cannot flush mail queue - invalid destination: \"{Clip(argument!)}\"");
            return 2;
        }

        if (QueueAccess.LoadSettings("postqueue", configDir, stderr) is not { } settings) return 1;
        var qdir = settings.QueueDirectory;
        bool flush = request.StartsWith("flush", StringComparison.Ordinal);

        if (QueueAccess.MasterRunning(qdir))
        {
            var line = argument is null ? request : $"{request} {argument}";
            return await ViaMasterAsync(qdir, line, flush, stdout, stderr);
        }

        if (flush)
        {
            stderr.WriteLine("postqueue: fatal: Cannot flush mail queue - mail system is down");
            return 1;
        }
        var (qlock, store) = await QueueAccess.OpenOfflineAsync("postqueue", settings, stderr);
        if (qlock is null) return 1;
        using var heldLock = qlock;
        if (store is null)
        {
            if (request == "list") stdout.WriteLine("Mail queue is empty");
            else if (request == "count") await QueueListingEmptyCounts(stdout);
            return 0;
        }
        await using var openStore = store;
        switch (request)
        {
            case "list": await QueueListing.WriteMailqAsync(store, stdout); break;
            case "json": await QueueListing.WriteJsonAsync(store, stdout); break;
            case "count": await QueueListing.WriteCountsAsync(store, stdout); break;
        }
        return 0;
    }

    /// <summary>
    /// Listings are copied to stdout. A flush answers "warning: ..." lines (to stderr)
    /// and then "ok N", N the messages scheduled; older masters answer a bare "ok".
    /// </summary>
    private static async Task<int> ViaMasterAsync(string qdir, string request, bool flush, TextWriter stdout, TextWriter stderr)
    {
        try
        {
            using var s = await QueueAccess.ConnectShowqAsync(qdir);
            await s.SendAsync(Encoding.UTF8.GetBytes(request + "\n"));
            await using var ns = new NetworkStream(s);
            using var r = new StreamReader(ns, Encoding.UTF8);
            string? line;
            while ((line = await r.ReadLineAsync()) != null)
            {
                if (line.StartsWith("error:", StringComparison.Ordinal)) { stderr.WriteLine($"postqueue: {line}"); return 1; }
                if (!flush) stdout.WriteLine(line);
                else if (line.StartsWith("warning: ", StringComparison.Ordinal)) stderr.WriteLine($"postqueue: {line}");
                else if (line.StartsWith("ok ", StringComparison.Ordinal) && int.TryParse(line.AsSpan(3), out int n))
                    stderr.WriteLine($"postqueue: Flushed: {n} message{(n == 1 ? "" : "s")}");
            }
            return 0;
        }
        catch (SocketException e)
        {
            stderr.WriteLine($"postqueue: fatal: connect to showq service {QueueAccess.ShowqPath(qdir)}: {e.Message}");
            return 1;
        }
    }

    /// <summary>Postfix quotes at most 100 characters of a bad argument.</summary>
    private static string Clip(string s) => s.Length > 100 ? s[..100] + "..." : s;

    private static async Task QueueListingEmptyCounts(TextWriter w)
    {
        foreach (var q in new[] { "incoming", "active", "deferred", "hold" }) await w.WriteLineAsync($"{q} 0");
        await w.WriteLineAsync("total 0");
    }
}

// postqueue(1): -p (mailq listing), -j (JSON lines), -f (flush). With the
// master running it asks showq over $queue_directory/public/showq; with the
// master stopped it opens the queue itself (holding the queue lock meanwhile).
using System.Net.Sockets;
using System.Text;
using Postfix.Core.Config;
using Postfix.Host.Master;
using Postfix.Queue.Store;

namespace Postfix.Host.Commands;

public static class PostqueueCommand
{
    public static async Task<int> RunAsync(string[] args, string? configDir, TextWriter stdout, TextWriter stderr)
    {
        string? request = null;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "-c": if (++i >= args.Length) throw new UsageException("postqueue: -c requires a directory"); configDir = args[i]; break;
                case "-p": request = "list"; break;
                case "-j": request = "json"; break;
                case "-f": request = "flush"; break;
                case "-n": request = "count"; break; // ours: per-queue message counts
                default: throw new UsageException($"postqueue: invalid option '{args[i]}' (use -p, -j, -f or -n)");
            }
        }
        if (request is null) throw new UsageException("postqueue: specify -p, -j, -f or -n");
        if (QueueAccess.LoadSettings("postqueue", configDir, stderr) is not { } settings) return 1;
        var qdir = settings.QueueDirectory;

        if (QueueAccess.MasterRunning(qdir))
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
                    if (request != "flush") stdout.WriteLine(line);
                }
                return 0;
            }
            catch (SocketException e)
            {
                stderr.WriteLine($"postqueue: fatal: connect to showq service {QueueAccess.ShowqPath(qdir)}: {e.Message}");
                return 1;
            }
        }

        if (request == "flush")
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

    private static async Task QueueListingEmptyCounts(TextWriter w)
    {
        foreach (var q in new[] { "incoming", "active", "deferred", "hold" }) await w.WriteLineAsync($"{q} 0");
        await w.WriteLineAsync("total 0");
    }
}

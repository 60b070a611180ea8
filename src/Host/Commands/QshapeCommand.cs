// qshape(1): the queue's shape, per recipient (or -s sender) domain and age
// bucket, in qshape's layout (see QshapeTable). Options as qshape's:
//   -s -p -m min_subdomains -b bucket_count -t bucket_time -l -w terminal_width
//   -N batch_msg_count -n batch_top_domains -c config_dir [queue_name ...]
// Default queues are qshape's: incoming and active (name "deferred" or "hold"
// to see those). Queue names are Postfix's directory names, or an absolute
// $queue_directory/NAME. With the master running the counts come through showq
// (request "qshape sender|recipient QUEUE..."); with it stopped the command
// opens the queue itself under the queue lock. Differences from qshape: we
// print only the final table (-N is accepted and ignored, there are no
// interim results); -n limits the rows only on a terminal, as qshape's final
// report does; absurd -b/-t values (past MaxBuckets / MaxBucketMinutes) are
// usage errors instead of heading columns in exponent notation. Arguments
// come from the operator's command line.
// -C (our extension; Postfix's qshape has no -C): the cluster's shape, summed from the
// summaries every live node publishes to cluster_store (ClusterQueueReport), read from
// the store whether this node's master runs or not. The nodes publish qshape's default
// buckets and recipient domains, so -C refuses -s, -b, -t and -l.
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Postfix.Queue.Store;

namespace Postfix.Host.Commands;

public static class QshapeCommand
{
    public const int MaxBuckets = 32;
    public const int MaxBucketMinutes = 100_000;
    public const int MaxWidth = 10_000;
    /// <summary>qshape's -n default on a terminal.</summary>
    public const int DefaultTopDomains = 20;

    private const string Usage =
        "usage: qshape [-C] [-s] [-p] [-m min_subdomains] [-l] [-b bucket_count] [-t bucket_time] [-w terminal_width] " +
        "[-N batch_msg_count] [-n batch_top_domains] [-c config_directory] [queue_name ...]";

    public static async Task<int> RunAsync(string[] args, string? configDir, TextWriter stdout, TextWriter stderr, bool terminal = false)
    {
        var o = new QshapeOptions { TopDomains = terminal ? DefaultTopDomains : 0 };
        var queues = new List<string>();
        bool cluster = false;
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
                    case 's': o = o with { Senders = true }; continue;
                    case 'p': o = o with { Parents = true }; continue;
                    case 'l': o = o with { Linear = true }; continue;
                    case 'C': cluster = true; continue;
                    case 'c' or 'm' or 'b' or 't' or 'w' or 'n' or 'N':
                        string value;
                        if (j + 1 < a.Length) value = a[(j + 1)..];
                        else if (++i < args.Length) value = args[i];
                        else throw new UsageException($"qshape: option requires an argument -- '{c}'\n{Usage}");
                        j = a.Length;
                        if (c == 'c') { configDir = value; break; }
                        int n = Number(c, value);
                        // qshape ignores values it cannot use (<= 0, or a width <= 80).
                        o = c switch
                        {
                            'm' when n > 0 => o with { MinSubdomains = n },
                            'b' when n > 0 => o with { Buckets = Limit(c, n, MaxBuckets) },
                            't' when n > 0 => o with { BucketMinutes = Limit(c, n, MaxBucketMinutes) },
                            'w' when n > 80 => o with { Width = Limit(c, n, MaxWidth) },
                            'n' when terminal => o with { TopDomains = Math.Max(n, 0) },
                            _ => o,
                        };
                        break;
                    default: throw new UsageException($"qshape: invalid option -- '{c}'\n{Usage}");
                }
            }
        }

        if (cluster && (o.Senders || o.Linear || o.Buckets != new QshapeOptions().Buckets || o.BucketMinutes != new QshapeOptions().BucketMinutes))
            throw new UsageException($"qshape: -C shows the published shape: recipient domains in the default buckets (no -s, -l, -b or -t)\n{Usage}");
        if (QueueAccess.LoadSettings("qshape", configDir, stderr) is not { } settings) return 1;
        var qdir = settings.QueueDirectory;
        var names = new List<string>();
        foreach (var q in queues.Count > 0 ? queues : QshapeSource.DefaultQueues)
            names.Add(QueueName(q, qdir));
        if (!QshapeSource.TryParseQueues(names, out var states, out var bad))
        {
            stderr.WriteLine($"qshape: fatal: invalid directory name: {bad}");
            return 1;
        }

        if (cluster)
            return await ClusterQueueReport.QshapeAsync(settings, o, states.Order().Select(st => Postfix.Core.Queue.QueueStateNames.Name(st)).ToList(), stdout, stderr);

        var table = new QshapeTable(o);
        long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        if (QueueAccess.MasterRunning(qdir))
        {
            if (!await ViaMasterAsync(qdir, o.Senders, names, table, now, stderr)) return 1;
        }
        else
        {
            var (qlock, store) = await QueueAccess.OpenOfflineAsync("qshape", settings, stderr);
            if (qlock is null) return 1;
            using var heldLock = qlock;
            if (store is not null)
            {
                await using var openStore = store;
                await foreach (var (arrival, domains) in QshapeSource.ReadAsync(store, states, o.Senders))
                    table.Add(now - arrival, domains);
            }
        }
        table.Write(stdout);
        return 0;
    }

    private static async Task<bool> ViaMasterAsync(string qdir, bool senders, List<string> queues, QshapeTable table, long now, TextWriter stderr)
    {
        try
        {
            using var s = await QueueAccess.ConnectShowqAsync(qdir);
            var request = $"qshape {(senders ? "sender" : "recipient")} {string.Join(' ', queues)}\n";
            await s.SendAsync(Encoding.UTF8.GetBytes(request));
            await using var ns = new NetworkStream(s);
            using var r = new StreamReader(ns, Encoding.UTF8);
            string? line;
            while ((line = await r.ReadLineAsync()) != null)
            {
                if (line.StartsWith("error: ", StringComparison.Ordinal)) { stderr.WriteLine($"qshape: fatal: {line[7..]}"); return false; }
                if (QshapeSource.TryParseLine(line, out long arrival, out var domains)) table.Add(now - arrival, domains);
            }
            return true;
        }
        catch (SocketException e)
        {
            stderr.WriteLine($"qshape: fatal: connect to showq service {QueueAccess.ShowqPath(qdir)}: {e.Message}");
            return false;
        }
    }

    /// <summary>qshape takes a queue's directory name, or its absolute path under queue_directory.</summary>
    private static string QueueName(string q, string qdir)
    {
        if (!Path.IsPathRooted(q)) return q;
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(q));
        var root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(qdir));
        return Path.GetDirectoryName(full) == root ? Path.GetFileName(full) : q;
    }

    private static int Number(char option, string value) =>
        int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int n)
            ? n : throw new UsageException($"qshape: option -{option} needs a number, not \"{value}\"\n{Usage}");

    private static int Limit(char option, int n, int max) =>
        n <= max ? n : throw new UsageException($"qshape: option -{option} {n} exceeds the limit {max}\n{Usage}");
}

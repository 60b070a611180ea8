// postcat(1) -q: shows queued messages by queue ID, envelope (-e), header (-h)
// and body (-b); all three by default. Through the running master (showq
// request "cat ID ehb": "ok" then the bytes, or "error: ...") or, with the
// master stopped, from the queue opened under the queue lock. Queue files are
// not plain files here, so -q is required. Exit 1 on a missing or bad ID.
using System.Net.Sockets;
using System.Text;
using Postfix.Core.Config;
using Postfix.Core.Queue;
using Postfix.Host.Master;
using Postfix.Queue.Store;

namespace Postfix.Host.Commands;

public static class PostcatCommand
{
    /// <summary>Longest status line we accept from the master before the message bytes.</summary>
    private const int MaxStatusLine = 1024;

    public static async Task<int> RunAsync(string[] args, string? configDir, TextWriter stdout, TextWriter stderr)
    {
        var sections = PostcatSections.None;
        bool searchQueue = false;
        var ids = new List<string>();
        for (int i = 0; i < args.Length; i++)
        {
            var a = args[i];
            if (a == "--") { ids.AddRange(args[(i + 1)..]); break; }
            if (a.Length < 2 || a[0] != '-') { ids.Add(a); continue; }
            for (int j = 1; j < a.Length; j++)
            {
                switch (a[j])
                {
                    case 'b': sections |= PostcatSections.Body; break;
                    case 'e': sections |= PostcatSections.Envelope; break;
                    case 'h': sections |= PostcatSections.Header; break;
                    case 'q': searchQueue = true; break;
                    case 'v': break;
                    case 'c':
                        if (j + 1 < a.Length) configDir = a[(j + 1)..];
                        else if (++i < args.Length) configDir = args[i];
                        else throw new UsageException("postcat: option requires an argument -- 'c'");
                        j = a.Length;
                        break;
                    default: throw new UsageException($"postcat: invalid option -- '{a[j]}' (use -q with -b, -e, -h)");
                }
            }
        }
        if (sections == PostcatSections.None) sections = PostcatSections.All;
        if (!searchQueue || ids.Count == 0)
            throw new UsageException("postcat: specify -q queue_id ... (queue files are records in the queue log, not plain files)");

        if (QueueAccess.LoadSettings("postcat", configDir, stderr) is not { } settings) return 1;
        var qdir = settings.QueueDirectory;

        // Message content is bytes: write them raw to our stdout, not through a text encoder.
        var raw = ReferenceEquals(stdout, Console.Out) ? Console.OpenStandardOutput() : new MemoryStream();
        try
        {
            if (QueueAccess.MasterRunning(qdir))
            {
                foreach (var id in ids)
                {
                    if (!QueueId.TryParse(id, out _)) return BadId(id, stderr);
                    if (await ViaMasterAsync(qdir, id, sections, raw, stderr) is var rc && rc != 0) return rc;
                }
                return 0;
            }
            var (qlock, store) = await QueueAccess.OpenOfflineAsync("postcat", settings, stderr);
            if (qlock is null) return 1;
            using var heldLock = qlock;
            try
            {
                foreach (var id in ids)
                {
                    if (!QueueId.TryParse(id, out var qid)) return BadId(id, stderr);
                    var (bytes, error) = await RenderAsync(store, qid, sections);
                    if (bytes is null) { stderr.WriteLine($"postcat: fatal: {error}"); return 1; }
                    await raw.WriteAsync(bytes);
                }
                return 0;
            }
            finally
            {
                if (store is not null) await store.DisposeAsync();
            }
        }
        finally
        {
            await raw.FlushAsync();
            if (raw is MemoryStream ms) await stdout.WriteAsync(Encoding.UTF8.GetString(ms.GetBuffer(), 0, (int)ms.Length));
        }
    }

    /// <summary>One message rendered, or the error text postcat reports (shared with showq's "cat").</summary>
    public static async Task<(byte[]? Bytes, string Error)> RenderAsync(QueueStore? store, QueueId id, PostcatSections sections)
    {
        if (store is not null && store.TryGet(id, out var e) && await store.ReadAsync(e) is { } m)
            return (PostcatFormat.Render(e, m, sections), "");
        return (null, $"open queue file {id}: No such file or directory");
    }

    private static int BadId(string id, TextWriter stderr)
    {
        stderr.WriteLine($"postcat: fatal: bad mail queue ID: {id}");
        return 1;
    }

    private static async Task<int> ViaMasterAsync(string qdir, string id, PostcatSections sections, Stream output, TextWriter stderr)
    {
        try
        {
            using var s = await QueueAccess.ConnectShowqAsync(qdir);
            await s.SendAsync(Encoding.UTF8.GetBytes($"cat {id} {PostcatFormat.Letters(sections)}\n"));
            await using var ns = new NetworkStream(s);
            // Status line first, then the message bytes until EOF.
            var buf = new byte[64 * 1024];
            int have = 0, nl;
            while ((nl = Array.IndexOf(buf, (byte)'\n', 0, have)) < 0)
            {
                if (have >= MaxStatusLine) { stderr.WriteLine("postcat: fatal: malformed reply from the showq service"); return 1; }
                int n = await ns.ReadAsync(buf.AsMemory(have));
                if (n == 0) { stderr.WriteLine("postcat: fatal: showq service closed the connection"); return 1; }
                have += n;
            }
            var status = Encoding.UTF8.GetString(buf, 0, nl);
            if (status != "ok")
            {
                stderr.WriteLine($"postcat: fatal: {(status.StartsWith("error: ", StringComparison.Ordinal) ? status[7..] : status)}");
                return 1;
            }
            await output.WriteAsync(buf.AsMemory(nl + 1, have - nl - 1));
            await ns.CopyToAsync(output);
            return 0;
        }
        catch (SocketException e)
        {
            stderr.WriteLine($"postcat: fatal: connect to showq service {QueueAccess.ShowqPath(qdir)}: {e.Message}");
            return 1;
        }
    }
}

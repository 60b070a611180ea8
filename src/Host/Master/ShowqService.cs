// showq(8) + a small admin channel: a Unix-domain socket at
// $queue_directory/public/showq. A client connects, sends one request line and
// reads the answer until EOF:
//   list | json | count          postqueue -p / -j / -n
//   flush                        postqueue -f: "ok N", N deferred messages scheduled
//   flush-id ID                  postqueue -i: "ok 1", or a "warning: ..." line and "ok 0"
//   flush-site SITE              postqueue -s: "ok N" (deferred mail with a recipient @SITE)
//   qshape sender|recipient Q... qshape: "ARRIVAL<TAB>DOMAIN..." per message (QshapeSource)
//   reload                       postfix reload ("ok")
//   drain                        postfix drain: start draining this node ("ok draining"; MasterDrain)
//   drain-status                 one "status PHASE key=value ..." line (MasterDrain.Status)
//   cat ID [ehb]                 postcat -q: "ok" then the bytes, or "error: ..."
//   postsuper [queue ...]        postsuper: followed by "delete|requeue|hold|release ALL"
//                                lines, then "VERB ID" lines, then an empty line or EOF;
//                                the answer is postsuper's report, one line each.
// The master applies postsuper's changes itself, so only one process ever has
// the queue log open. Only local users with access to the queue directory can
// reach the socket; every line is still bounded and parsed, never trusted.
using System.Net.Sockets;
using System.Text;
using Postfix.Core.Logging;
using Postfix.Core.Queue;
using Postfix.Core.Util;
using Postfix.Host.Commands;
using Postfix.Queue.Qmgr;
using Postfix.Queue.Store;

namespace Postfix.Host.Master;

public sealed class ShowqService(QueueStore store, Maillog log, string socketPath, Action reload, Qmgr qmgr) : IAsyncDisposable
{
    /// <summary>Longest request line (a verb, a queue ID, a few queue names).</summary>
    private const int MaxRequestLine = 1024;
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(10);

    private readonly CancellationTokenSource _stop = new();
    private Socket? _listener;
    private Task _loop = Task.CompletedTask;

    /// <summary>postfix drain's master side; set before <see cref="Start"/>.</summary>
    public MasterDrain? Drain { get; set; }

    public void Start()
    {
        try { File.Delete(socketPath); } catch (IOException) { }
        _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _listener.Bind(new UnixDomainSocketEndPoint(socketPath));
        _listener.Listen(16);
        _loop = Task.Run(AcceptLoopAsync);
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try { client = await _listener!.AcceptAsync(_stop.Token); }
            catch (Exception) { return; }
            _ = Task.Run(() => ServeAsync(client));
        }
    }

    private async Task ServeAsync(Socket client)
    {
        using var _ = client;
        await using var stream = new NetworkStream(client, ownsSocket: false);
        await using var writer = new StreamWriter(stream, new UTF8Encoding(false), 64 * 1024, leaveOpen: true);
        var reader = new ShowqLineReader(stream, MaxRequestLine);
        using var timeout = new CancellationTokenSource(RequestTimeout);
        try
        {
            var request = (await reader.ReadLineAsync(timeout.Token))?.Trim() ?? "";
            // Listings walk the whole queue and reload opens tables: not on a socket event thread.
            await ThreadPoolHop.Always;
            var words = request.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            switch (words.FirstOrDefault() ?? "")
            {
                case "list": await QueueListing.WriteMailqAsync(store, writer); break;
                case "json": await QueueListing.WriteJsonAsync(store, writer); break;
                case "count": await QueueListing.WriteCountsAsync(store, writer); break;
                case "reload": reload(); await writer.WriteLineAsync("ok"); break;
                case "drain" when Drain is not null: await writer.WriteLineAsync(Drain.Begin()); break;
                case "drain-status" when Drain is not null: await writer.WriteLineAsync(Drain.Status()); break;
                case "flush":
                    await writer.WriteLineAsync($"ok {await qmgr.FlushAsync()}");
                    break;
                case "flush-id" when words.Length == 2:
                    await FlushIdAsync(words[1], writer);
                    break;
                case "flush-site" when words.Length == 2:
                    if (!PostqueueSite.IsValid(words[1])) { await writer.WriteLineAsync($"error: invalid destination: \"{words[1]}\""); break; }
                    await writer.WriteLineAsync($"ok {await qmgr.FlushSiteAsync(words[1])}");
                    break;
                case "qshape" when words.Length >= 3 && words[1] is "sender" or "recipient":
                    await QshapeAsync(words[1] == "sender", words[2..], writer);
                    break;
                case "cat" when words.Length is 2 or 3:
                    await CatAsync(words[1], words.Length == 3 ? words[2] : "", stream, writer);
                    break;
                case "postsuper":
                    await PostsuperAsync(words[1..], reader, timeout, writer);
                    break;
                default: await writer.WriteLineAsync($"error: unknown request \"{request}\""); break;
            }
            await writer.FlushAsync();
        }
        catch (InvalidDataException e)
        {
            try { await writer.WriteLineAsync($"error: {e.Message}"); await writer.FlushAsync(); }
            catch (Exception ex) when (ex is IOException or SocketException) { }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or SocketException)
        {
        }
    }

    private async Task FlushIdAsync(string id, StreamWriter writer)
    {
        if (!QueueId.TryParse(id, out var qid))
        {
            await writer.WriteLineAsync($"error: invalid queue ID: \"{id}\"");
            return;
        }
        int n = 0;
        if (!store.TryGet(qid, out var e))
            await writer.WriteLineAsync($"warning: {qid}: not in the deferred queue");
        else if ((n = qmgr.FlushEntries([e])) == 0)
            await writer.WriteLineAsync($"warning: {qid}: not in the deferred queue (it is in the {e.State.Name()} queue)");
        await writer.WriteLineAsync($"ok {n}");
    }

    private async Task QshapeAsync(bool senders, string[] queues, StreamWriter writer)
    {
        if (!QshapeSource.TryParseQueues(queues, out var states, out var bad))
        {
            await writer.WriteLineAsync($"error: invalid directory name: {bad}");
            return;
        }
        await foreach (var (arrival, domains) in QshapeSource.ReadAsync(store, states, senders, _stop.Token))
            await writer.WriteLineAsync(QshapeSource.FormatLine(arrival, domains));
    }

    private async Task CatAsync(string id, string letters, NetworkStream stream, StreamWriter writer)
    {
        if (!QueueId.TryParse(id, out var qid))
        {
            await writer.WriteLineAsync($"error: bad mail queue ID: {id}");
            return;
        }
        var (bytes, error) = await PostcatCommand.RenderAsync(store, qid, PostcatFormat.Parse(letters));
        if (bytes is null)
        {
            await writer.WriteLineAsync($"error: {error}");
            return;
        }
        await writer.WriteLineAsync("ok");
        await writer.FlushAsync();
        await stream.WriteAsync(bytes);
    }

    private async Task PostsuperAsync(string[] queues, ShowqLineReader reader, CancellationTokenSource timeout, StreamWriter writer)
    {
        PostsuperSession session;
        try { session = new PostsuperSession(store, queues, log, qmgr.Requeue, qmgr.Release); }
        catch (ArgumentException e) { await writer.WriteLineAsync($"error: {e.Message}"); return; }
        var all = new HashSet<PostsuperAction>();
        bool allDone = false;
        while (true)
        {
            timeout.CancelAfter(RequestTimeout);
            var line = await reader.ReadLineAsync(timeout.Token);
            if (string.IsNullOrEmpty(line)) break;
            var sp = line.IndexOf(' ');
            if (sp <= 0 || !PostsuperSession.TryParseAction(line[..sp], out var action))
            {
                await writer.WriteLineAsync($"error: bad postsuper request \"{line}\"");
                return;
            }
            var target = line[(sp + 1)..].Trim();
            if (target == "ALL")
            {
                if (allDone) { await writer.WriteLineAsync("error: \"ALL\" requests must come before queue IDs"); return; }
                all.Add(action);
                continue;
            }
            if (!allDone) { session.RunAll(all); allDone = true; }
            await writer.WriteLineAsync(session.RunOne(action, target));
        }
        if (!allDone) session.RunAll(all);
        foreach (var line in await session.FinishAsync()) await writer.WriteLineAsync(line);
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener?.Dispose();
        try { await _loop; } catch (Exception) { }
        try { File.Delete(socketPath); } catch (IOException) { }
    }
}

// pickup(8): takes the files sendmail(1) leaves in $queue_directory/maildrop
// and feeds them to cleanup like any other message source, so locally
// submitted mail (cron, a web application's mail()) gets exactly the rewriting
// SMTP mail gets. Wakes on an inotify event for the directory and, as Postfix's
// pickup does, on its master.cf wakeup timer (60 s) in case an event was lost.
// A maildrop file is removed only after its message is durably queued: a crash
// in between delivers it twice at worst, never loses it. Maildrop content is
// untrusted (any local user can write it): files are size-bounded and parsed
// strictly; a malformed file is moved to $queue_directory/corrupt and logged.
using System.Collections.Concurrent;
using System.Threading.Channels;
using Postfix.Core.Cleanup;
using Postfix.Core.Logging;
using Postfix.Core.Queue;
using Postfix.Core.Rewrite;
using Postfix.Core.Util;

namespace Postfix.Core.Pickup;

public sealed record PickupSettings
{
    public required string QueueDirectory { get; init; }
    public required string MyHostname { get; init; }
    public required string MyOrigin { get; init; }
    /// <summary>trivial-rewrite's local-context canonical form (append_at_myorigin, append_dot_mydomain).</summary>
    public AddressCanonical? Canonical { get; init; }
    public required long MessageSizeLimit { get; init; }
    public TimeSpan Wakeup { get; init; } = TimeSpan.FromSeconds(60);
    public int Concurrency { get; init; } = 4;
}

public sealed class PickupDaemon : IAsyncDisposable
{
    private readonly PickupSettings _s;
    private readonly CleanupService _cleanup;
    private readonly Maillog _log;
    private readonly string _maildrop, _corrupt;
    private readonly Channel<string> _work = Channel.CreateUnbounded<string>();
    private readonly ConcurrentDictionary<string, byte> _inFlight = new();
    private readonly SemaphoreSlim _wake = new(0, 1);
    private readonly CancellationTokenSource _stop = new();
    private readonly int _pid = Environment.ProcessId;
    private FileSystemWatcher? _watcher;
    private Task[] _tasks = [];
    private long _picked;

    public PickupDaemon(PickupSettings settings, CleanupService cleanup, Maillog log)
    {
        _s = settings;
        _cleanup = cleanup;
        _log = log;
        _maildrop = MaildropDirectory(settings.QueueDirectory);
        _corrupt = Path.Combine(settings.QueueDirectory, "corrupt");
    }

    public static string MaildropDirectory(string queueDirectory) => Path.Combine(queueDirectory, "maildrop");

    /// <summary>Messages queued from the maildrop since start.</summary>
    public long Picked => Interlocked.Read(ref _picked);

    public void Start()
    {
        Directory.CreateDirectory(_maildrop);
        try
        {
            _watcher = new FileSystemWatcher(_maildrop) { NotifyFilter = NotifyFilters.FileName, IncludeSubdirectories = false };
            _watcher.Renamed += (_, _) => Wake();
            _watcher.Created += (_, _) => Wake();
            _watcher.EnableRaisingEvents = true;
        }
        catch (Exception e) when (e is IOException or PlatformNotSupportedException or ArgumentException)
        {
            _log.Warning("pickup", $"cannot watch {_maildrop}: {e.Message}; polling every {_s.Wakeup.TotalSeconds:0}s");
        }
        var workers = Enumerable.Range(0, Math.Max(1, _s.Concurrency)).Select(_ => WorkerAsync()).ToList();
        workers.Add(ScanLoopAsync());
        _tasks = workers.ToArray();
    }

    private void Wake()
    {
        try { if (_wake.CurrentCount == 0) _wake.Release(); }
        catch (SemaphoreFullException) { }
        catch (ObjectDisposedException) { }
    }

    private async Task ScanLoopAsync()
    {
        var ct = _stop.Token;
        while (!ct.IsCancellationRequested)
        {
            Scan();
            try { await _wake.WaitAsync(_s.Wakeup, ct).ConfigureAwait(false); }
            catch (OperationCanceledException) { break; }
        }
        _work.Writer.TryComplete();
    }

    private void Scan()
    {
        string[] names;
        try { names = Directory.GetFiles(_maildrop); }
        catch (IOException e) { _log.Warning("pickup", $"scan {_maildrop}: {e.Message}"); return; }
        Array.Sort(names, StringComparer.Ordinal); // names start with the arrival time: oldest first
        foreach (var path in names)
        {
            var name = Path.GetFileName(path);
            if (name.StartsWith('.'))
            {
                // A sendmail that died mid-write leaves its temp file: clean up after a day.
                try { if (File.GetLastWriteTimeUtc(path) < DateTime.UtcNow.AddDays(-1)) File.Delete(path); }
                catch (IOException) { }
                continue;
            }
            if (_inFlight.TryAdd(path, 0)) _work.Writer.TryWrite(path);
        }
    }

    private async Task WorkerAsync()
    {
        var msg = new MessageBuilder(_s.MessageSizeLimit);
        msg.ContentLimit = _s.MessageSizeLimit <= 0 ? Math.Min(_cleanup.Queue.MaxRecordSize, int.MaxValue) : _s.MessageSizeLimit + 64 * 1024;
        msg.ClientName = "localhost";
        msg.ClientAddress = "127.0.0.1";
        msg.Protocol = "local";
        try
        {
            await foreach (var path in _work.Reader.ReadAllAsync().ConfigureAwait(false))
            {
                if (_stop.IsCancellationRequested) break; // the rest stays in the maildrop for next start
                try { await PickOneAsync(path, msg).ConfigureAwait(false); }
                finally { _inFlight.TryRemove(path, out _); }
            }
        }
        finally { msg.Dispose(); }
    }

    private async Task PickOneAsync(string path, MessageBuilder msg)
    {
        byte[] file;
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists) return; // another pass took it
            long max = (_s.MessageSizeLimit <= 0 ? int.MaxValue - 1024 * 1024 : _s.MessageSizeLimit) + 1024 * 1024;
            if (info.Length > max) { SetAside(path, $"file size {info.Length} exceeds message_size_limit"); return; }
            file = await File.ReadAllBytesAsync(path).ConfigureAwait(false);
        }
        catch (FileNotFoundException) { return; }
        catch (IOException e) { _log.Warning("pickup", $"{Path.GetFileName(path)}: cannot read: {e.Message}"); return; }

        var env = new MaildropEnvelope();
        int contentStart;
        try { contentStart = MaildropFile.Parse(file, env); }
        catch (MaildropFormatException e) { SetAside(path, e.Message); return; }

        msg.Reset();
        msg.QueueId = _cleanup.Queue.NewQueueId();
        var canonical = _s.Canonical ?? new AddressCanonical(_s.MyOrigin);
        msg.SetSender(Utf8(canonical.Rewrite(env.Sender)));
        foreach (var (rcpt, notify) in env.Recipients)
            msg.AddRecipient(Utf8(canonical.Rewrite(rcpt)), default, notify);
        msg.SetEnvId(Utf8(env.EnvId));
        msg.Ret = env.Ret;
        msg.BodyType = env.Body;
        var id = msg.QueueId.ToString();
        WriteReceived(msg, env.Uid, id);
        int receivedLength = msg.Content.Length;
        var content = file.AsSpan(contentStart);
        if (!msg.Content.CanWrite(content.Length)) { SetAside(path, "message size exceeds message_size_limit"); return; }
        msg.Content.Write(content);

        _log.Info("pickup", _pid, $"{id}: uid={env.Uid} from=<{msg.SenderString()}>");
        try
        {
            await _cleanup.CommitAsync(msg, _pid, localSubmission: true, receivedLength, _s.MyHostname).ConfigureAwait(false);
            await ThreadPoolHop.Always; // off the queue's commit loop: file I/O follows
        }
        catch (QueueWriteException e)
        {
            _log.Warning("pickup", $"{id}: queue file write error: {e.Message}; {Path.GetFileName(path)} stays in the maildrop");
            return;
        }
        Interlocked.Increment(ref _picked);
        try { File.Delete(path); }
        catch (IOException e) { _log.Warning("pickup", $"{Path.GetFileName(path)}: remove after queueing: {e.Message}"); }
    }

    /// <summary>Postfix's header for local submission: "Received: by HOST (Postfix, from userid N)\r\n\tid QUEUEID; DATE".</summary>
    private void WriteReceived(MessageBuilder m, int uid, string id)
    {
        var text = uid >= 0
            ? $"Received: by {_s.MyHostname} (Postfix, from userid {uid})\r\n\tid {id}; "
            : $"Received: by {_s.MyHostname} (Postfix)\r\n\tid {id}; ";
        m.Content.Write(Utf8(text));
        Cleanup.ReceivedHeader.WriteDate(m.Content, DateTimeOffset.UtcNow);
        m.Content.Write("\r\n"u8);
    }

    private void SetAside(string path, string reason)
    {
        var name = Path.GetFileName(path);
        try
        {
            Directory.CreateDirectory(_corrupt);
            File.Move(path, Path.Combine(_corrupt, name), overwrite: true);
            _log.Warning("pickup", $"maildrop/{name}: {reason}: file moved to corrupt/{name}");
        }
        catch (IOException e)
        {
            _log.Warning("pickup", $"maildrop/{name}: {reason}; cannot move it aside: {e.Message}");
        }
    }

    private static byte[] Utf8(string s) => System.Text.Encoding.UTF8.GetBytes(s);

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _watcher?.Dispose();
        try { await Task.WhenAll(_tasks).ConfigureAwait(false); } catch (OperationCanceledException) { }
        _stop.Dispose();
    }
}

// One master per queue_directory (Postfix: pid/master.pid, locked while the
// master runs). The lock is an exclusive open of pid/master.lock, released by
// the kernel if the process dies, so a SIGKILLed master never blocks a restart.
namespace Postfix.Host.Master;

public sealed class QueueLock : IDisposable
{
    private readonly FileStream _lock;
    private readonly string _pidFile;

    private QueueLock(FileStream l, string pidFile) { _lock = l; _pidFile = pidFile; }

    public static QueueLock? TryAcquire(string queueDirectory, out string? error)
    {
        var pidDir = Path.Combine(queueDirectory, "pid");
        Directory.CreateDirectory(pidDir);
        Directory.CreateDirectory(Path.Combine(queueDirectory, "public"));
        Directory.CreateDirectory(Path.Combine(queueDirectory, "maildrop"));
        try
        {
            var fs = new FileStream(Path.Combine(pidDir, "master.lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            error = null;
            return new QueueLock(fs, Path.Combine(pidDir, "master.pid"));
        }
        catch (IOException)
        {
            error = $"the Postfix mail system is already running (queue {queueDirectory} is locked; PID {ReadPid(queueDirectory)?.ToString() ?? "?"})";
            return null;
        }
    }

    public void WritePid() => File.WriteAllText(_pidFile, $"{Environment.ProcessId,10}\n");

    public static int? ReadPid(string queueDirectory)
    {
        try
        {
            var text = File.ReadAllText(Path.Combine(queueDirectory, "pid", "master.pid")).Trim();
            return int.TryParse(text, out int pid) ? pid : null;
        }
        catch (IOException) { return null; }
    }

    /// <summary>True when some process holds the queue lock (a master is running).</summary>
    public static bool IsLocked(string queueDirectory)
    {
        var path = Path.Combine(queueDirectory, "pid", "master.lock");
        if (!File.Exists(path)) return false;
        try
        {
            using var fs = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
            return false;
        }
        catch (IOException) { return true; }
    }

    public void Dispose()
    {
        try { File.Delete(_pidFile); } catch (IOException) { }
        _lock.Dispose();
    }
}

// How the admin commands (postqueue, postcat, postsuper) reach the queue, as
// Postfix's do: with the master running, through its showq socket (the queue
// log is never opened twice); with it stopped, by opening the queue themselves
// under the queue lock. One place for the settings load, the socket path and
// the offline open, so the three commands cannot drift apart.
using System.Net.Sockets;
using Postfix.Core.Config;
using Postfix.Host.Master;
using Postfix.Queue.Store;

namespace Postfix.Host.Commands;

public static class QueueAccess
{
    /// <summary>main.cf as the command sees it; null (error printed as "PROGRAM: fatal: file:line: ...") on a config error.</summary>
    public static MailSettings? LoadSettings(string program, string? configDir, TextWriter stderr)
    {
        try { return MailSettings.From(MainCf.Load(configDir)); }
        catch (ConfigException e) { stderr.WriteLine($"{program}: fatal: {e.Message}"); return null; }
    }

    public static string ShowqPath(string queueDirectory) => Path.Combine(queueDirectory, "public", "showq");

    /// <summary>True when a master holds the queue: talk to it through <see cref="ConnectShowqAsync"/>.</summary>
    public static bool MasterRunning(string queueDirectory) => QueueLock.IsLocked(queueDirectory);

    public static async Task<Socket> ConnectShowqAsync(string queueDirectory)
    {
        var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await s.ConnectAsync(new UnixDomainSocketEndPoint(ShowqPath(queueDirectory)));
            return s;
        }
        catch
        {
            s.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Opens the queue with the master stopped, holding the queue lock. Store is null
    /// when no queue was ever created. Lock is null (error printed) when a master
    /// started meanwhile.
    /// </summary>
    public static async Task<(QueueLock? Lock, QueueStore? Store)> OpenOfflineAsync(string program, MailSettings settings, TextWriter stderr)
    {
        var qdir = settings.QueueDirectory;
        var qlock = QueueLock.TryAcquire(qdir, out var err);
        if (qlock is null)
        {
            stderr.WriteLine($"{program}: fatal: {err}");
            return (null, null);
        }
        var store = Directory.Exists(Path.Combine(qdir, "log"))
            ? await QueueStore.OpenAsync(qdir, settings.MessageSizeLimit) : null;
        return (qlock, store);
    }
}

// postfix(1)'s control verbs for a master running in the background: start
// (spawns start-fg detached and waits until it listens), stop (SIGTERM, waits
// for the queue's final commit), reload (SIGHUP), status, check.
using System.Diagnostics;
using System.Runtime.InteropServices;
using Postfix.Core.Config;
using Postfix.Host.Master;

namespace Postfix.Host.Commands;

public static partial class PostfixControl
{
    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int sig);

    private const int SigTerm = 15, SigHup = 1;

    private static bool TryLoad(string? configDir, TextWriter stderr, out MasterConfig cfg)
    {
        try { cfg = MasterConfig.Load(configDir); return true; }
        catch (ConfigException e) { stderr.WriteLine($"postfix: fatal: {e.Message}"); cfg = null!; return false; }
    }

    public static Task<int> CheckAsync(string? configDir, TextWriter stdout, TextWriter stderr)
    {
        if (!TryLoad(configDir, stderr, out var cfg)) return Task.FromResult(1);
        var qdir = cfg.Settings.QueueDirectory;
        if (Directory.Exists(qdir) && !HasWriteAccess(qdir))
        {
            stderr.WriteLine($"postfix: fatal: queue_directory {qdir} is not writable");
            return Task.FromResult(1);
        }
        return Task.FromResult(0);
    }

    private static bool HasWriteAccess(string dir)
    {
        try
        {
            var probe = Path.Combine(dir, $".check.{Environment.ProcessId}");
            File.WriteAllText(probe, "");
            File.Delete(probe);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return false; }
    }

    public static Task<int> StatusAsync(string? configDir, TextWriter stdout, TextWriter stderr)
    {
        if (!TryLoad(configDir, stderr, out var cfg)) return Task.FromResult(1);
        var qdir = cfg.Settings.QueueDirectory;
        if (QueueLock.IsLocked(qdir))
        {
            stderr.WriteLine($"postfix/postfix-script: the Postfix mail system is running: PID: {QueueLock.ReadPid(qdir)?.ToString() ?? "?"}");
            return Task.FromResult(0);
        }
        stderr.WriteLine("postfix/postfix-script: the Postfix mail system is not running");
        return Task.FromResult(1);
    }

    public static async Task<int> StartAsync(string? configDir, TextWriter stdout, TextWriter stderr)
    {
        if (!TryLoad(configDir, stderr, out var cfg)) return 1;
        var qdir = cfg.Settings.QueueDirectory;
        if (QueueLock.IsLocked(qdir))
        {
            stderr.WriteLine("postfix/postfix-script: fatal: the Postfix mail system is already running");
            return 1;
        }
        Directory.CreateDirectory(qdir);
        var logFile = string.IsNullOrEmpty(cfg.Settings.MaillogFile) ? Path.Combine(qdir, "maillog") : null;
        var self = Environment.ProcessPath!;
        var psi = new ProcessStartInfo(self) { UseShellExecute = false, RedirectStandardInput = true };
        if (self.EndsWith("dotnet", StringComparison.Ordinal)) psi.ArgumentList.Add(typeof(Program).Assembly.Location);
        if (configDir is not null) { psi.ArgumentList.Add("-c"); psi.ArgumentList.Add(Path.GetFullPath(configDir)); }
        psi.ArgumentList.Add("start-fg");
        // Detach through sh so the daemon's stdout goes to the maillog, not to us.
        var sh = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        sh.ArgumentList.Add("-c");
        var cmd = string.Join(' ', new[] { psi.FileName }.Concat(psi.ArgumentList).Select(Quote));
        sh.ArgumentList.Add($"nohup {cmd} >>{Quote(logFile ?? "/dev/null")} 2>&1 </dev/null &");
        using (var p = Process.Start(sh)!) await p.WaitForExitAsync();
        for (int i = 0; i < 300; i++)
        {
            if (QueueLock.ReadPid(qdir) is int pid && QueueLock.IsLocked(qdir))
            {
                stderr.WriteLine($"postfix/postfix-script: starting the Postfix mail system (PID {pid})");
                return 0;
            }
            await Task.Delay(100);
        }
        stderr.WriteLine($"postfix/postfix-script: fatal: mail system did not start; see {logFile ?? cfg.Settings.MaillogFile}");
        return 1;
    }

    private static string Quote(string s) => "'" + s.Replace("'", "'\\''") + "'";

    public static async Task<int> StopAsync(string? configDir, TextWriter stdout, TextWriter stderr)
    {
        if (!TryLoad(configDir, stderr, out var cfg)) return 1;
        var qdir = cfg.Settings.QueueDirectory;
        if (!QueueLock.IsLocked(qdir) || QueueLock.ReadPid(qdir) is not int pid)
        {
            stderr.WriteLine("postfix/postfix-script: fatal: the Postfix mail system is not running");
            return 1;
        }
        stderr.WriteLine("postfix/postfix-script: stopping the Postfix mail system");
        Kill(pid, SigTerm);
        for (int i = 0; i < 300 && QueueLock.IsLocked(qdir); i++) await Task.Delay(100);
        if (QueueLock.IsLocked(qdir)) { stderr.WriteLine("postfix: fatal: master did not stop within 30s"); return 1; }
        return 0;
    }

    public static Task<int> ReloadAsync(string? configDir, TextWriter stdout, TextWriter stderr)
    {
        // Validate first, as postfix(1) does: a broken config is reported here.
        if (!TryLoad(configDir, stderr, out var cfg)) return Task.FromResult(1);
        var qdir = cfg.Settings.QueueDirectory;
        if (!QueueLock.IsLocked(qdir) || QueueLock.ReadPid(qdir) is not int pid)
        {
            stderr.WriteLine("postfix/postfix-script: fatal: the Postfix mail system is not running");
            return Task.FromResult(1);
        }
        stderr.WriteLine("postfix/postfix-script: refreshing the Postfix mail system");
        Kill(pid, SigHup);
        return Task.FromResult(0);
    }
}

// A real Dovecot LMTP server (Debian dovecot-core + dovecot-lmtpd) as the next
// hop in lmtp(8) tests: "dovecot -F" in the foreground, owned by the test, with
// a config written into its own temp directory (base_dir, state_dir, log, users,
// Maildirs), listening only on a free loopback port. Only the listed users
// exist (passwd-file), so any other recipient gets Dovecot's 550 5.1.1.
// Dovecot never stores mail as root ("Mail access not allowed for root"), so
// mail is written as Debian's fixed system user mail (uid/gid 8, base-passwd).
using System.Diagnostics;
using System.Net.Sockets;

namespace Postfix.Tests.Infrastructure;

public sealed class Dovecot : IAsyncDisposable
{
    private const string MailUser = "mail";
    private readonly Process _process;

    public string Dir { get; }
    public int Port { get; }
    public string MailRoot => Path.Combine(Dir, "mail");
    public string LogPath => Path.Combine(Dir, "dovecot.log");
    public string Log => File.Exists(LogPath) ? File.ReadAllText(LogPath) : "";
    private string MasterPidPath => Path.Combine(Dir, "run", "master.pid");

    private Dovecot(Process p, string dir, int port) { _process = p; Dir = dir; Port = port; }

    /// <summary>Starts Dovecot LMTP for <paramref name="users"/> (full addresses, e.g. alice@lmtp.test).</summary>
    public static async Task<Dovecot> StartAsync(params string[] users)
    {
        if (!OperatingSystem.IsLinux()) throw new PlatformNotSupportedException("Dovecot tests need Linux (Debian dovecot-lmtpd)");
        var dir = Path.Combine(Path.GetTempPath(), "dovecot-test-" + Guid.NewGuid().ToString("N")[..10]);
        // Dovecot's lmtp writes Maildirs as the mail user: the path to them must be traversable,
        // the mail and home roots writable (sticky, like /tmp).
        Directory.CreateDirectory(dir);
        File.SetUnixFileMode(dir, (UnixFileMode)0b111_101_101);
        foreach (var sub in new[] { "mail", "home" })
            File.SetUnixFileMode(Directory.CreateDirectory(Path.Combine(dir, sub)).FullName, (UnixFileMode)0b1_111_111_111);
        foreach (var sub in new[] { "run", "state" }) Directory.CreateDirectory(Path.Combine(dir, sub));
        File.WriteAllLines(Path.Combine(dir, "users"), users.Select(u => $"{u}:{{PLAIN}}secret::::::"));

        int port = MtaInstance.FreePort();
        var conf = Path.Combine(dir, "dovecot.conf");
        File.WriteAllText(conf, $$"""
            # written by the test fixture (Dovecot 2.3)
            base_dir = {{dir}}/run
            state_dir = {{dir}}/state
            log_path = {{dir}}/dovecot.log
            protocols = lmtp
            listen = 127.0.0.1
            ssl = no
            auth_mechanisms = plain
            disable_plaintext_auth = no
            # the test runs as root; Dovecot's own processes may too, but mail is never stored as root
            default_internal_user = root
            default_internal_group = root
            default_login_user = root
            mail_uid = {{MailUser}}
            mail_gid = {{MailUser}}
            first_valid_uid = 1
            first_valid_gid = 1
            mail_location = maildir:{{dir}}/mail/%u
            lmtp_save_to_detail_mailbox = no
            passdb {
              driver = passwd-file
              args = {{dir}}/users
            }
            userdb {
              driver = passwd-file
              args = {{dir}}/users
              default_fields = home={{dir}}/home/%u
            }
            service lmtp {
              inet_listener lmtp {
                address = 127.0.0.1
                port = {{port}}
              }
            }

            """);

        var psi = new ProcessStartInfo(Repo.Which("dovecot")) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add("-F");
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(conf);
        var p = Process.Start(psi)!;
        var output = new System.Text.StringBuilder();
        p.OutputDataReceived += (_, e) => { if (e.Data != null) lock (output) output.AppendLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (output) output.AppendLine(e.Data); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        var dovecot = new Dovecot(p, dir, port);
        bool up = await Repo.WaitUntilAsync(() => p.HasExited || Answers(port), TimeSpan.FromSeconds(20), 100);
        if (!up || p.HasExited)
        {
            string why;
            lock (output) why = output.ToString();
            why += dovecot.Log;
            await dovecot.DisposeAsync();
            throw new InvalidOperationException("dovecot did not start: " + why);
        }
        return dovecot;
    }

    private static bool Answers(int port)
    {
        try { using var c = new TcpClient(); c.Connect("127.0.0.1", port); return true; }
        catch (SocketException) { return false; }
    }

    /// <summary>The files of every message in <paramref name="user"/>'s INBOX (Maildir new/ and cur/).</summary>
    public string[] MaildirMessages(string user)
    {
        var box = Path.Combine(MailRoot, user);
        return new[] { "new", "cur" }.Select(d => Path.Combine(box, d)).Where(Directory.Exists)
            .SelectMany(Directory.GetFiles).Order(StringComparer.Ordinal).ToArray();
    }

    public async ValueTask DisposeAsync()
    {
        // SIGTERM lets the master stop its children; the bounded wait then SIGKILLs the tree.
        try
        {
            if (!_process.HasExited)
            {
                await Repo.RunAsync(Repo.Which("kill"), ["-TERM", _process.Id.ToString()], TimeSpan.FromSeconds(10));
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
                try { await _process.WaitForExitAsync(cts.Token); }
                catch (OperationCanceledException) { _process.Kill(entireProcessTree: true); await _process.WaitForExitAsync(); }
            }
        }
        catch (InvalidOperationException) { }
        KillLeftoverMaster();
        _process.Dispose();
        try { Directory.Delete(Dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    // A master that outlived the process we started (it should not: -F keeps it in the
    // foreground) is found by its pid file, and only if it still runs dovecot.
    private void KillLeftoverMaster()
    {
        try
        {
            if (!int.TryParse(File.ReadAllText(MasterPidPath).Trim(), out int pid) || pid == _process.Id) return;
            using var p = Process.GetProcessById(pid);
            if (p.ProcessName == "dovecot") { p.Kill(entireProcessTree: true); p.WaitForExit(10_000); }
        }
        catch (IOException) { } catch (ArgumentException) { } catch (InvalidOperationException) { }
        catch (System.ComponentModel.Win32Exception) { }
    }
}

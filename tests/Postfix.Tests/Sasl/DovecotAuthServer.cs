// A real Dovecot auth service (Debian dovecot-core) for smtpd_sasl_type =
// dovecot tests: "dovecot -F" with no protocols, a passwd-file passdb and the
// auth-client socket at an absolute path in the test's temp directory (the
// unix_listener an operator points smtpd_sasl_path at).
using System.Diagnostics;
using Postfix.Tests.Infrastructure;

namespace Postfix.Tests.Sasl;

public sealed class DovecotAuthServer : IAsyncDisposable
{
    private readonly Process _process;
    public string Dir { get; }
    public string SocketPath => Path.Combine(Dir, "auth");
    public string Log => File.Exists(Path.Combine(Dir, "dovecot.log")) ? File.ReadAllText(Path.Combine(Dir, "dovecot.log")) : "";

    private DovecotAuthServer(Process p, string dir) { _process = p; Dir = dir; }

    /// <summary>Starts Dovecot auth for "user:password" pairs ({PLAIN} passwd-file entries).</summary>
    public static async Task<DovecotAuthServer> StartAsync(params string[] users)
    {
        var dir = Directory.CreateTempSubdirectory("dovecot-auth-").FullName;
        foreach (var sub in new[] { "run", "state" }) Directory.CreateDirectory(Path.Combine(dir, sub));
        File.WriteAllLines(Path.Combine(dir, "users"), users.Select(u => u.Split(':', 2)).Select(p => $"{p[0]}:{{PLAIN}}{p[1]}::::::"));
        var conf = Path.Combine(dir, "dovecot.conf");
        File.WriteAllText(conf, $$"""
            # written by the test fixture (Dovecot 2.3): authentication only
            base_dir = {{dir}}/run
            state_dir = {{dir}}/state
            log_path = {{dir}}/dovecot.log
            protocols = none
            ssl = no
            auth_mechanisms = plain login
            disable_plaintext_auth = no
            auth_failure_delay = 0
            default_internal_user = root
            default_internal_group = root
            default_login_user = root
            passdb {
              driver = passwd-file
              args = {{dir}}/users
            }
            userdb {
              driver = static
              args = uid=8 gid=8 home={{dir}}/home/%u
            }
            service auth {
              unix_listener {{dir}}/auth {
                mode = 0660
              }
            }

            """);
        var psi = new ProcessStartInfo(Repo.Which("dovecot")) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add("-F");
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(conf);
        var p = Process.Start(psi)!;
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        var server = new DovecotAuthServer(p, dir);
        if (!await Repo.WaitUntilAsync(() => p.HasExited || File.Exists(server.SocketPath), TimeSpan.FromSeconds(20), 100) || p.HasExited)
        {
            var why = server.Log;
            await server.DisposeAsync();
            throw new InvalidOperationException("dovecot auth did not start: " + why);
        }
        return server;
    }

    public async ValueTask DisposeAsync()
    {
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
        _process.Dispose();
        try { Directory.Delete(Dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

// A real MTA process for tests: its own config directory (main.cf + master.cf),
// queue and maillog under a temp directory, a free loopback port, started with
// the ./postfix launcher exactly as an operator would (-c DIR start-fg).
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Postfix.Tests.Infrastructure;

public sealed class MtaInstance : IAsyncDisposable
{
    private Process? _process;

    public string Dir { get; }
    public string ConfigDir => Path.Combine(Dir, "etc");
    public string QueueDir => Path.Combine(Dir, "queue");
    public string MaillogPath => Path.Combine(Dir, "maillog");
    public int Port { get; }

    private MtaInstance(string dir, int port) { Dir = dir; Port = port; }

    // Loopback inet listeners a test added in master.cf (qmqpd, ...): the MTA is started once
    // all of them accept, not only our smtpd (Kestrel binds them one after the other).
    private int[] _extraPorts = [];

    public static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    /// <summary>
    /// Writes the config and starts the MTA; <paramref name="mainCfExtra"/> lines are appended to main.cf,
    /// <paramref name="masterCfExtra"/> lines (more services, e.g. qmqpd) to master.cf after our smtpd.
    /// </summary>
    public static async Task<MtaInstance> StartAsync(string mainCfExtra = "", string masterOptions = "", string masterCfExtra = "")
    {
        var mta = Prepare(mainCfExtra, masterOptions, masterCfExtra);
        await mta.StartProcessAsync();
        return mta;
    }

    /// <summary>Writes the config directory without starting the MTA (start it later with <see cref="StartProcessAsync"/>).</summary>
    public static MtaInstance Prepare(string mainCfExtra = "", string masterOptions = "", string masterCfExtra = "")
    {
        var dir = Path.Combine(Path.GetTempPath(), "mta-test-" + Guid.NewGuid().ToString("N")[..10]);
        var mta = new MtaInstance(dir, FreePort());
        Directory.CreateDirectory(mta.ConfigDir);
        File.WriteAllText(Path.Combine(mta.ConfigDir, "main.cf"),
            $"""
            # written by the test fixture
            myhostname = mx.test.example
            queue_directory = {mta.QueueDir}
            maillog_file = {mta.MaillogPath}
            inet_interfaces = 127.0.0.1
            # no delivery off this host unless a test routes mail to a local sink, and no
            # local(8) delivery unless a test asks for it (mail to local users stays queued)
            defer_transports = smtp, relay, local
            # when a test enables local(8), it stays inside the test directory: its own
            # (empty) passwd file and spool, never the machine's users or /var/mail
            local_passwd_file = {Path.Combine(dir, "passwd")}
            mail_spool_directory = {Path.Combine(dir, "mail")}
            # no metrics endpoint (tests run MTAs in parallel) unless a test sets one
            metrics_endpoint =
            {mainCfExtra}

            """);
        // Our smtpd on a test port, plus the stock delivery services (smtp, relay, lmtp, ...).
        var stock = Postfix.Core.Config.DefaultMasterCf.Text.Split('\n')
            .Where(l => !l.Contains(" inet ") && !l.TrimStart().StartsWith('#'));
        mta._extraPorts = System.Text.RegularExpressions.Regex.Matches(masterCfExtra, @"^127\.0\.0\.1:(\d+)\s+inet\s", System.Text.RegularExpressions.RegexOptions.Multiline)
            .Select(m => int.Parse(m.Groups[1].Value)).ToArray();
        File.WriteAllText(Path.Combine(mta.ConfigDir, "master.cf"),
            $"127.0.0.1:{mta.Port} inet n - n - - smtpd {masterOptions}\n"
            + (masterCfExtra.Length > 0 ? masterCfExtra.TrimEnd('\n') + "\n" : "")
            + string.Join("\n", stock) + "\n");
        return mta;
    }

    public async Task StartProcessAsync()
    {
        var psi = new ProcessStartInfo(Repo.Launcher)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Dir,
        };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(ConfigDir);
        psi.ArgumentList.Add("start-fg");
        _process = Process.Start(psi)!;
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (_stderr) _stderr.AppendLine(e.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        bool up = await Repo.WaitUntilAsync(() => _process.HasExited || (Listening(Port) && _extraPorts.All(IsListeningSocket)), TimeSpan.FromSeconds(120), 100);
        if (!up || _process.HasExited)
            throw new InvalidOperationException($"MTA did not start (exit {(_process.HasExited ? _process.ExitCode : -1)}): {Stderr}\n{Maillog}");
    }

    /// <summary>True while the MTA process has not exited (crash detection for hostile-input tests).</summary>
    public bool IsRunning => _process is { HasExited: false };

    /// <summary>The MTA's exit code once it exited by itself (postfix drain), else null.</summary>
    public int? ExitCode => _process is { HasExited: true } p ? p.ExitCode : null;

    /// <summary>The MTA's process ID (the launcher execs dotnet), for /proc/PID/fd.</summary>
    public int ProcessId => _process?.Id ?? throw new InvalidOperationException("MTA not started");

    private readonly System.Text.StringBuilder _stderr = new();
    public string Stderr { get { lock (_stderr) return _stderr.ToString(); } }
    public string Maillog => File.Exists(MaillogPath) ? File.ReadAllText(MaillogPath) : "";

    // A loopback socket in LISTEN state on the port, read from /proc/net/tcp: no probe
    // connection, so the service logs no extra connect/disconnect (tests count those lines).
    private static bool IsListeningSocket(int port)
    {
        string local = $"0100007F:{port:X4}";
        foreach (var line in File.ReadLines("/proc/net/tcp").Skip(1))
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length > 3 && f[1] == local && f[3] == "0A") return true;
        }
        return false;
    }

    private static bool Listening(int port)
    {
        try
        {
            using var c = new TcpClient();
            c.Connect(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException) { return false; }
    }

    /// <summary>Runs ./postfix -c CONFIG args...</summary>
    public Task<Repo.Result> PostfixAsync(params string[] args) =>
        Repo.RunAsync(Repo.Launcher, new[] { "-c", ConfigDir }.Concat(args));

    /// <summary>Runs ./postfix -c CONFIG sendmail args... with <paramref name="stdin"/> as the message.</summary>
    public Task<Repo.Result> SendmailAsync(string stdin, params string[] args) =>
        Repo.RunAsync(Repo.Launcher, new[] { "-c", ConfigDir, "sendmail" }.Concat(args), stdin: stdin);

    /// <summary>Total queued messages, read with "postqueue -n".</summary>
    public async Task<int> QueueCountAsync()
    {
        var r = await PostfixAsync("postqueue", "-n");
        if (r.ExitCode != 0) throw new InvalidOperationException($"postqueue -n failed: {r.Stderr}");
        var line = r.Stdout.Split('\n').First(l => l.StartsWith("total "));
        return int.Parse(line[6..].Trim());
    }

    /// <summary>SIGKILL: no shutdown code runs, as in a crash or power cut.</summary>
    public void Kill()
    {
        if (_process is { HasExited: false })
        {
            // The launcher execs dotnet, so this PID is the MTA itself.
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(30_000);
        }
    }

    public async Task StopAsync()
    {
        if (_process is { HasExited: false })
        {
            var r = await PostfixAsync("stop");
            if (!await Repo.WaitUntilAsync(() => _process.HasExited, TimeSpan.FromSeconds(30)))
                throw new InvalidOperationException("postfix stop did not stop the MTA: " + r.Stderr);
            if (_process.ExitCode != 0)
                throw new InvalidOperationException($"MTA exited with {_process.ExitCode} on postfix stop: {Stderr}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        try { Kill(); } catch (InvalidOperationException) { }
        _process?.Dispose();
        await Task.Delay(10);
        try { Directory.Delete(Dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

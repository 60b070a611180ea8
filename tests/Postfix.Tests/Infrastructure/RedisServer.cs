// A loopback Redis-protocol store for the cluster tests: Debian's redis-server on a free
// port, no persistence, no config file, its data directory under a temp directory. 
// and RestartAsync() on the same port model the store going away and coming back.
using System.Diagnostics;
using System.Net.Sockets;

namespace Postfix.Tests.Infrastructure;

public sealed class RedisServer : IAsyncDisposable
{
    private Process? _process;
    private readonly string _dir;
    public int Port { get; }

    /// <summary>"127.0.0.1:PORT", as cluster_store and redis: tables name it.</summary>
    public string Endpoint => $"127.0.0.1:{Port}";

    private RedisServer(int port, string dir) { Port = port; _dir = dir; }

    public static async Task<RedisServer> StartAsync()
    {
        var dir = Path.Combine(Path.GetTempPath(), "redis-test-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(dir);
        var r = new RedisServer(MtaInstance.FreePort(), dir);
        await r.RestartAsync();
        return r;
    }

    /// <summary>Starts the server (again) on its port; the data starts empty.</summary>
    public async Task RestartAsync()
    {
        var psi = new ProcessStartInfo(Repo.Which("redis-server")) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in new[] { "--port", Port.ToString(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                     "--dir", _dir, "--protected-mode", "no", "--daemonize", "no", "--loglevel", "warning" })
            psi.ArgumentList.Add(a);
        var p = Process.Start(psi)!;
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        _process = p;
        bool up = await Repo.WaitUntilAsync(() => p.HasExited || Bound(Port), TimeSpan.FromSeconds(10));
        if (!up || p.HasExited) throw new InvalidOperationException($"redis-server did not start on port {Port}");
    }

    /// <summary>SIGKILL: the store vanishes as in a crash.</summary>
    public async Task StopAsync()
    {
        if (_process is { HasExited: false } p) { p.Kill(); await p.WaitForExitAsync(); }
        _process?.Dispose();
        _process = null;
    }

    /// <summary>Runs redis-cli against this server and returns its stdout.</summary>
    public async Task<string> CliAsync(params string[] args)
    {
        var r = await Repo.RunAsync(Repo.Which("redis-cli"), new[] { "-h", "127.0.0.1", "-p", Port.ToString() }.Concat(args));
        if (r.ExitCode != 0) throw new InvalidOperationException($"redis-cli {string.Join(' ', args)}: {r.Stderr}");
        return r.Stdout;
    }

    private static bool Bound(int port)
    {
        try { using var c = new TcpClient(); c.Connect("127.0.0.1", port); return true; }
        catch (SocketException) { return false; }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        try { Directory.Delete(_dir, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

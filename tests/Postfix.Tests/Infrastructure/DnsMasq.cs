// A loopback DNS server for MX routing tests: dnsmasq (Debian dnsmasq-base)
// answering only the records the test gives it, never forwarding anywhere.
using System.Diagnostics;
using System.Net.Sockets;

namespace Postfix.Tests.Infrastructure;

public sealed class DnsMasq : IAsyncDisposable
{
    private readonly Process _process;
    public int Port { get; }

    private DnsMasq(Process p, int port) { _process = p; Port = port; }

    /// <param name="mx">(domain, mx host, address) triples.</param>
    public static Task<DnsMasq> StartAsync(params (string Domain, string MxHost, string Address)[] mx) => StartAsync([], mx);

    /// <param name="extraArgs">More dnsmasq options (e.g. --host-record, --txt-record, --local=/domain/).</param>
    public static async Task<DnsMasq> StartAsync(IEnumerable<string> extraArgs, params (string Domain, string MxHost, string Address)[] mx)
    {
        int port = MtaInstance.FreePort();
        var psi = new ProcessStartInfo(Repo.Which("dnsmasq")) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in new[] { "--no-daemon", "--keep-in-foreground", "--no-resolv", "--no-hosts", "--no-poll", "--bind-interfaces",
                     "--listen-address=127.0.0.1", $"--port={port}", "--user=root", "--pid-file=" })
            psi.ArgumentList.Add(a);
        foreach (var (domain, host, address) in mx)
        {
            psi.ArgumentList.Add($"--mx-host={domain},{host},10");
            psi.ArgumentList.Add($"--host-record={host},{address}");
        }
        foreach (var a in extraArgs) psi.ArgumentList.Add(a);
        var p = Process.Start(psi)!;
        var dns = new DnsMasq(p, port);
        bool up = await Repo.WaitUntilAsync(() => p.HasExited || Bound(port), TimeSpan.FromSeconds(10));
        if (!up || p.HasExited) throw new InvalidOperationException("dnsmasq did not start: " + await p.StandardError.ReadToEndAsync());
        return dns;
    }

    private static bool Bound(int port)
    {
        // dnsmasq also listens on TCP for the same port.
        try { using var c = new TcpClient(); c.Connect("127.0.0.1", port); return true; }
        catch (SocketException) { return false; }
    }

    public async ValueTask DisposeAsync()
    {
        try { if (!_process.HasExited) { _process.Kill(); await _process.WaitForExitAsync(); } } catch (InvalidOperationException) { }
        _process.Dispose();
    }
}

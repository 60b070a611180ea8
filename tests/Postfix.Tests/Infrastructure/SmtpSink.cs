// Postfix's smtp-sink as the next hop in relay tests: listens on a loopback
// address, dumps every transaction to one file (-D) so tests can count what
// arrived, optionally rejects commands with 4xx (-r) or 5xx (-f).
using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Postfix.Tests.Infrastructure;

public sealed partial class SmtpSink : IAsyncDisposable
{
    private readonly Process _process;
    public string Address { get; }
    public int Port { get; }
    public string DumpFile { get; }

    private SmtpSink(Process p, string address, int port, string dump) { _process = p; Address = address; Port = port; DumpFile = dump; }

    public static async Task<SmtpSink> StartAsync(string address = "127.0.0.1", int port = 0, params string[] options)
    {
        if (port == 0) port = MtaInstance.FreePort();
        var dump = Path.Combine(Path.GetTempPath(), $"sink-{Guid.NewGuid():N}.dump");
        var psi = new ProcessStartInfo(Repo.Which("smtp-sink")) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add("-u"); psi.ArgumentList.Add("root");
        psi.ArgumentList.Add("-D"); psi.ArgumentList.Add(dump);
        foreach (var o in options) psi.ArgumentList.Add(o);
        psi.ArgumentList.Add($"{address}:{port}");
        psi.ArgumentList.Add("256");
        var p = Process.Start(psi)!;
        var sink = new SmtpSink(p, address, port, dump);
        bool up = await Repo.WaitUntilAsync(() => p.HasExited || sink.Answers(), TimeSpan.FromSeconds(10));
        if (!up || p.HasExited) throw new InvalidOperationException("smtp-sink did not start: " + await p.StandardError.ReadToEndAsync());
        return sink;
    }

    private bool Answers()
    {
        try
        {
            using var c = new System.Net.Sockets.TcpClient();
            c.Connect(Address, Port);
            return true;
        }
        catch (System.Net.Sockets.SocketException) { return false; }
    }

    private string Dump => File.Exists(DumpFile) ? File.ReadAllText(DumpFile) : "";

    /// <summary>Transactions received (one X-Client-Addr header per dumped transaction).</summary>
    public int Transactions => CountOccurrences(Dump, "X-Client-Addr: ");

    /// <summary>Distinct Message-Id values in the dump.</summary>
    public HashSet<string> MessageIds => MessageIdRegex().Matches(Dump).Select(m => m.Groups[1].Value).ToHashSet();

    public IEnumerable<string> RcptArgs => RcptRegex().Matches(Dump).Select(m => m.Groups[1].Value);

    private static int CountOccurrences(string s, string what)
    {
        int n = 0;
        for (int i = s.IndexOf(what, StringComparison.Ordinal); i >= 0; i = s.IndexOf(what, i + what.Length, StringComparison.Ordinal)) n++;
        return n;
    }

    [GeneratedRegex(@"^Message-Id: (<[^>\r\n]*>)", RegexOptions.Multiline | RegexOptions.IgnoreCase)]
    private static partial Regex MessageIdRegex();

    [GeneratedRegex(@"^X-Rcpt-Args: <([^>\r\n]*)>", RegexOptions.Multiline)]
    private static partial Regex RcptRegex();

    public async ValueTask DisposeAsync()
    {
        try { if (!_process.HasExited) { _process.Kill(); await _process.WaitForExitAsync(); } } catch (InvalidOperationException) { }
        _process.Dispose();
        try { File.Delete(DumpFile); } catch (IOException) { }
    }
}

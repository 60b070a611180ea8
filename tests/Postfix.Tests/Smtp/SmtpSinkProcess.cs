// Test peer: Postfix's own smtp-sink(1) on a free loopback port, started per
// test and killed at the end. With -c it prints session/message counters; with
// -d it dumps each message (unstuffed, as a server sees it) into a directory.
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Postfix.Tests.Infrastructure;

namespace Postfix.Tests.Smtp;

internal sealed partial class SmtpSinkProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private SmtpSinkProcess(Process process, int port, string dumpDir)
    {
        _process = process;
        Port = port;
        DumpDir = dumpDir;
        _process.OutputDataReceived += (_, e) => { lock (_output) _output.Append(e.Data).Append('\n'); };
        _process.ErrorDataReceived += (_, e) => { lock (_output) _output.Append(e.Data).Append('\n'); };
    }

    public int Port { get; }
    public string DumpDir { get; }
    public string Nexthop => $"[127.0.0.1]:{Port}";

    public static bool Available => Repo.HasCommand("smtp-sink");

    /// <summary>Starts smtp-sink with <paramref name="options"/> (e.g. "-r", "RCPT") and waits until it listens.</summary>
    public static async Task<SmtpSinkProcess> StartAsync(params string[] options)
    {
        int port = FreePort();
        string dumpDir = Directory.CreateTempSubdirectory("smtp-sink-").FullName;
        var psi = new ProcessStartInfo(Repo.Which("smtp-sink"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (Environment.UserName == "root") { psi.ArgumentList.Add("-u"); psi.ArgumentList.Add("root"); }
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add("-d");
        psi.ArgumentList.Add(Path.Combine(dumpDir, "%M."));
        foreach (var o in options) psi.ArgumentList.Add(o);
        psi.ArgumentList.Add($"127.0.0.1:{port}");
        psi.ArgumentList.Add("100");
        var sink = new SmtpSinkProcess(Process.Start(psi)!, port, dumpDir);
        sink._process.BeginOutputReadLine();
        sink._process.BeginErrorReadLine();
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(10))
        {
            if (sink._process.HasExited) throw new InvalidOperationException("smtp-sink exited: " + sink.Output);
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, port);
                // The probe itself is a session; counters below are read as differences.
                return sink;
            }
            catch (SocketException)
            {
                await Task.Delay(50);
            }
        }
        await sink.DisposeAsync();
        throw new TimeoutException("smtp-sink did not start listening");
    }

    public string Output { get { lock (_output) return _output.ToString(); } }

    /// <summary>The messages smtp-sink dumped, as text.</summary>
    public string[] Dumps() => Directory.GetFiles(DumpDir).Order().Select(File.ReadAllText).ToArray();

    /// <summary>Waits (bounded) until smtp-sink has dumped <paramref name="count"/> messages.</summary>
    public Task<bool> WaitForMessagesAsync(int count) =>
        Repo.WaitUntilAsync(() => Directory.GetFiles(DumpDir).Length >= count, TimeSpan.FromSeconds(10));

    /// <summary>The last "sess=N quit=N mesg=N" counters smtp-sink printed.</summary>
    public (int Sessions, int Quits, int Messages) Counters()
    {
        var m = CountersRegex().Matches(Output);
        if (m.Count == 0) return (0, 0, 0);
        var last = m[^1];
        return (int.Parse(last.Groups[1].Value), int.Parse(last.Groups[2].Value), int.Parse(last.Groups[3].Value));
    }

    private static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    [GeneratedRegex(@"sess=(\d+) quit=(\d+) mesg=(\d+)")]
    private static partial Regex CountersRegex();

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (Exception)
        {
            // Already gone.
        }
        _process.Dispose();
        try { Directory.Delete(DumpDir, recursive: true); } catch (IOException) { }
    }
}

// The maillog in Postfix's syslog format ("Mon dd hh:mm:ss host postfix/daemon[pid]:
// text"), so pflogsumm and operators' grep habits work unchanged. Lines are handed
// to one writer thread through a channel: a slow terminal or disk never blocks a
// session. maillog_file empty = stdout.
using System.Threading.Channels;

namespace Postfix.Core.Logging;

public sealed class Maillog : IAsyncDisposable
{
    private static readonly string[] Months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    private readonly Channel<string> _lines = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true });
    private readonly TextWriter _out;
    private readonly bool _ownsWriter;
    private readonly Task _pump;
    private readonly string _host;
    private readonly string _syslogName;
    private readonly int _pid = Environment.ProcessId;
    private static readonly TimeSpan BatchDelay = TimeSpan.FromMilliseconds(10);
    private long _stampSecond = -1;
    private long _pending; // lines handed to the pump, not yet written
    private string _stamp = "";

    public static Maillog Null { get; } = new(TextWriter.Null, "localhost", "postfix");

    public Maillog(TextWriter output, string hostname, string syslogName)
    {
        _out = output;
        _host = hostname.Split('.')[0];
        _syslogName = syslogName;
        _pump = Task.Run(PumpAsync);
    }

    public static Maillog Open(string? file, string hostname, string syslogName)
    {
        if (string.IsNullOrEmpty(file) || file == "/dev/stdout")
        {
            // Buffered: the pump flushes once per batch, not once per line.
            var stdout = new StreamWriter(Console.OpenStandardOutput(), new System.Text.UTF8Encoding(false), 64 * 1024) { AutoFlush = false };
            return new Maillog(stdout, hostname, syslogName, owns: true);
        }
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(file))!);
        var w = new StreamWriter(new FileStream(file, FileMode.Append, FileAccess.Write, FileShare.ReadWrite), new System.Text.UTF8Encoding(false), 64 * 1024) { AutoFlush = false };
        return new Maillog(w, hostname, syslogName, owns: true);
    }

    private Maillog(TextWriter output, string hostname, string syslogName, bool owns) : this(output, hostname, syslogName)
        => _ownsWriter = owns;

    /// <summary>Logs "postfix/DAEMON[pid]: TEXT".</summary>
    public void Info(string daemon, string text) => Info(daemon, _pid, text);

    /// <summary>A delay= / delays= figure as Postfix writes it: up to 2 decimals (1 from 10 s on),
    /// no trailing zeros, never negative.</summary>
    public static string FormatDelay(double seconds) =>
        Math.Max(0, seconds).ToString(seconds >= 10 ? "0.#" : "0.##", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>
    /// Logs with an explicit process ID. smtpd sessions each get their own, as
    /// each Postfix smtpd process serves one session at a time: pflogsumm and
    /// operators' "grep smtpd[PID]" follow one session by it.
    /// </summary>
    public void Info(string daemon, int pid, string text)
    {
        Interlocked.Increment(ref _pending);
        if (!_lines.Writer.TryWrite($"{Stamp()} {_host} {_syslogName}/{daemon}[{pid}]: {text}"))
            Interlocked.Decrement(ref _pending);
    }

    public void Warning(string daemon, string text) => Info(daemon, "warning: " + text);
    public void Fatal(string daemon, string text) => Info(daemon, "fatal: " + text);

    private string Stamp()
    {
        var now = DateTime.Now;
        long sec = now.Ticks / TimeSpan.TicksPerSecond;
        if (sec != Volatile.Read(ref _stampSecond))
        {
            _stamp = $"{Months[now.Month - 1]} {now.Day,2} {now:HH:mm:ss}";
            Volatile.Write(ref _stampSecond, sec);
        }
        return _stamp;
    }

    private async Task PumpAsync()
    {
        var reader = _lines.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            int n = 0;
            while (reader.TryRead(out var line)) { _out.WriteLine(line); n++; }
            try { _out.Flush(); } catch (IOException) { }
            Interlocked.Add(ref _pending, -n);
            // Let a busy server's lines gather into one write instead of one per line.
            await Task.Delay(BatchDelay).ConfigureAwait(false);
        }
    }

    public async Task FlushAsync()
    {
        // Wait (bounded) until the pump has drained what was written so far.
        for (int i = 0; i < 400 && Interlocked.Read(ref _pending) > 0; i++) await Task.Delay(5);
    }

    public async ValueTask DisposeAsync()
    {
        _lines.Writer.TryComplete();
        await _pump.ConfigureAwait(false);
        if (_ownsWriter) await _out.DisposeAsync();
    }
}

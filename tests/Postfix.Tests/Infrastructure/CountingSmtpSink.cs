// A loopback SMTP receiver that measures what a big receiver measures: the most concurrent
// connections it saw (from accept to the end of the session), and each message's arrival
// time (end of DATA) and Message-Id, for per-window counts and exactly-once checks. Built on
// the scripted FakeSmtpServer (accept-everything script, optional pause before the final
// reply so sessions overlap). smtp-sink(1) reports neither figure, hence this one.
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Postfix.Tests.Smtp;

namespace Postfix.Tests.Infrastructure;

internal sealed partial class CountingSmtpSink : IAsyncDisposable
{
    private readonly FakeSmtpServer _server;
    private readonly ConcurrentQueue<(long Ticks, string MessageId)> _arrivals = new();
    private int _open, _maxOpen;

    private CountingSmtpSink(TimeSpan endOfDataDelay)
    {
        var script = new FakeSmtpScript
        {
            EndOfDataDelay = endOfDataDelay,
            EndOfData = (_, data) =>
            {
                var m = MessageIdRegex().Match(Encoding.UTF8.GetString(data));
                _arrivals.Enqueue((Stopwatch.GetTimestamp(), m.Success ? m.Groups[1].Value : ""));
                return ["250 2.0.0 Ok: queued"];
            },
        };
        FakeSmtpServer? server = null;
        server = new FakeSmtpServer(async (peer, ct) =>
        {
            int n = Interlocked.Increment(ref _open);
            int max;
            while (n > (max = Volatile.Read(ref _maxOpen)) && Interlocked.CompareExchange(ref _maxOpen, n, max) != max) { }
            try { await server!.RunScriptAsync(script, peer, ct); }
            finally { Interlocked.Decrement(ref _open); }
        });
        _server = server;
    }

    public static CountingSmtpSink Start(TimeSpan endOfDataDelay = default) => new(endOfDataDelay);

    public int Port => _server.Port;

    /// <summary>"smtp:[127.0.0.1]:port", a transport_maps value and the qmgr destination name.</summary>
    public string Destination => $"smtp:[127.0.0.1]:{Port}";

    public int MaxConcurrentConnections => Volatile.Read(ref _maxOpen);

    public int Count => _arrivals.Count;

    public IReadOnlyList<string> MessageIds => _arrivals.Select(a => a.MessageId).ToList();

    /// <summary>Arrival times, ascending.</summary>
    public IReadOnlyList<TimeSpan> Arrivals => _arrivals.Select(a => Stopwatch.GetElapsedTime(0, a.Ticks)).Order().ToList();

    /// <summary>The most arrivals in any span of <paramref name="window"/> (each window starting at an arrival).</summary>
    public int MaxInWindow(TimeSpan window)
    {
        var t = Arrivals;
        int best = 0;
        for (int i = 0, j = 0; i < t.Count; i++)
        {
            while (j < t.Count && t[j] < t[i] + window) j++;
            best = Math.Max(best, j - i);
        }
        return best;
    }

    [GeneratedRegex(@"^Message-Id:\s*(<[^>\r\n]*>)", RegexOptions.Multiline | RegexOptions.IgnoreCase)]
    private static partial Regex MessageIdRegex();

    public ValueTask DisposeAsync() => _server.DisposeAsync();
}

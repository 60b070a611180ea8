// A loopback SMTP receiver that measures what a big receiver measures: the most concurrent
// sessions it saw, when each session began (timed on its own accept thread, so a busy test
// process does not bunch the times), and each message's arrival time (end of DATA)
// and Message-Id, for per-window counts and exactly-once checks. Built on the scripted FakeSmtpServer
// (accept-everything script, optional pause before the final reply so sessions overlap).
// smtp-sink(1) reports neither figure, hence this one.
// A session counts from its accept until the sink has decided the reply to its first message
// (or QUIT, or the connection ends, whichever comes first). That end point is causal: the client
// learns its delivery is over only from that reply, so a client that starts its next delivery
// after it (as a concurrency limit must) can never be counted as overlapping. The teardown
// after it (the client sends QUIT without awaiting the reply, as Postfix's smtp does) is left
// out: on a loaded machine the sink may read it any time later, which says nothing about the
// client. Callers that measure concurrency use one message per connection.
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
        FakeSmtpServer? server = null;
        server = new FakeSmtpServer(async (peer, ct) =>
        {
            int n = Interlocked.Increment(ref _open);
            int max;
            while (n > (max = Volatile.Read(ref _maxOpen)) && Interlocked.CompareExchange(ref _maxOpen, n, max) != max) { }
            int counted = 1;
            void Leave() { if (Interlocked.Exchange(ref counted, 0) == 1) Interlocked.Decrement(ref _open); }
            var script = new FakeSmtpScript
            {
                EndOfDataDelay = endOfDataDelay,
                EndOfData = (_, data) =>
                {
                    var m = MessageIdRegex().Match(Encoding.UTF8.GetString(data));
                    _arrivals.Enqueue((Stopwatch.GetTimestamp(), m.Success ? m.Groups[1].Value : ""));
                    Leave(); // before the reply is sent
                    return ["250 2.0.0 Ok: queued"];
                },
            };
            try { await server!.RunScriptAsync(script, peer, ct); }
            finally { Leave(); }
        }, acceptThread: true);
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
    public int MaxInWindow(TimeSpan window) => MostInWindow(Arrivals, window);

    /// <summary>The most sessions begun (accepted) in any span of <paramref name="window"/>: what a
    /// rate limit on delivery starts controls, without the variable time each delivery then takes.</summary>
    public int MaxStartsInWindow(TimeSpan window) => MostInWindow(_server.AcceptTimes.Select(t => Stopwatch.GetElapsedTime(0, t)).Order().ToList(), window);

    private static int MostInWindow(IReadOnlyList<TimeSpan> t, TimeSpan window)
    {
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

// The MTA's instruments (System.Diagnostics.Metrics): what an operator of Postfix
// reads from the maillog with pflogsumm or from "postqueue -p | tail -1", as
// counters, gauges and a histogram. Postfix itself has no such export; this is
// our extension, served by MetricsEndpoint in the host (metrics_endpoint).
// Recording is one Counter.Add / Histogram.Record with tags built on the stack
// (no allocation); with no listener attached it costs one branch.
using System.Diagnostics.Metrics;
using Postfix.Core.Queue;

namespace Postfix.Core.Diagnostics;

public static class MailMetrics
{
    public const string MeterName = "Postfix";

    private static readonly Meter _meter = new(MeterName, "1.0");

    // Pre-built tags: the hot paths pass these by value, never build strings.
    private static readonly KeyValuePair<string, object?> _connAccepted = new("result", "accepted");
    private static readonly KeyValuePair<string, object?> _connRejected = new("result", "rejected");
    private static readonly KeyValuePair<string, object?> _sent = new("status", "sent");
    private static readonly KeyValuePair<string, object?> _deferred = new("status", "deferred");
    private static readonly KeyValuePair<string, object?> _bounced = new("status", "bounced");
    private static readonly KeyValuePair<string, object?>[] _queueTags =
    [
        new("queue", "incoming"), new("queue", "active"), new("queue", "deferred"), new("queue", "hold"),
    ];
    private static readonly QueueState[] _queueStates = [QueueState.Incoming, QueueState.Active, QueueState.Deferred, QueueState.Hold];

    /// <summary>Delay buckets in seconds: sub-second relaying up to a day in the deferred queue.</summary>
    public static readonly double[] DelayBuckets = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 14400, 86400];

    private static Func<QueueState, long>? _queueCount;

    private static readonly Counter<long> _smtpdConnections = _meter.CreateCounter<long>(
        "postfix.smtpd.connections", "{connection}",
        "SMTP connections: accepted, or rejected by smtpd_client_connection_count_limit");

    private static readonly Counter<long> _messagesAccepted = _meter.CreateCounter<long>(
        "postfix.messages.accepted", "{message}",
        "Messages committed to the queue, by the daemon that received them (smtpd, qmqpd, pickup)");

    private static readonly Counter<long> _recipients = _meter.CreateCounter<long>(
        "postfix.delivery.recipients", "{recipient}",
        "Recipient delivery attempts by transport and result (the maillog's status=sent|deferred|bounced)");

    private static readonly Counter<long> _expired = _meter.CreateCounter<long>(
        "postfix.delivery.expired", "{recipient}",
        "Recipients returned to the sender after maximal_queue_lifetime (status=expired)");

    private static readonly Counter<long> _notices = _meter.CreateCounter<long>(
        "postfix.bounce.notices", "{message}",
        "Delivery status notifications queued by bounce(8), by kind (failure, delay, success)");

    private static readonly Histogram<double> _delay = _meter.CreateHistogram(
        "postfix.delivery.delay", "s",
        "Seconds from arrival to delivery of each delivered recipient (the maillog's delay=)",
        tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DelayBuckets });

    private static readonly ObservableGauge<long> _queueSize = _meter.CreateObservableGauge(
        "postfix.queue.messages", ObserveQueue, "{message}",
        "Messages in each queue (incoming, active, deferred, hold), as postqueue counts them");

    /// <summary>An smtpd connection passed (or failed) the per-client concurrency limit.</summary>
    public static void SmtpdConnection(bool admitted) =>
        _smtpdConnections.Add(1, admitted ? _connAccepted : _connRejected);

    /// <summary>A message was durably committed; <paramref name="service"/> is the receiving daemon's tag.</summary>
    public static void MessageAccepted(in KeyValuePair<string, object?> service) => _messagesAccepted.Add(1, service);

    /// <summary>
    /// The tag for <see cref="MessageAccepted"/>, built once per daemon instead of per
    /// message; also publishes the daemon's count as 0, so a scrape shows it before its first mail.
    /// </summary>
    public static KeyValuePair<string, object?> RegisterService(string daemon)
    {
        var tag = new KeyValuePair<string, object?>("service", daemon);
        _messagesAccepted.Add(0, tag);
        return tag;
    }

    /// <summary>Publishes 0 for the series that exist before their first event (a dashboard sees 0, not "no data").</summary>
    public static void PublishZeros()
    {
        _smtpdConnections.Add(0, _connAccepted);
        _smtpdConnections.Add(0, _connRejected);
        _expired.Add(0);
    }

    /// <summary>One recipient's delivery outcome; <paramref name="delaySeconds"/> feeds the histogram when sent.</summary>
    public static void RecipientSent(string transport, double delaySeconds)
    {
        var t = new KeyValuePair<string, object?>("transport", transport);
        _recipients.Add(1, t, _sent);
        _delay.Record(delaySeconds, t);
    }

    public static void RecipientDeferred(string transport) =>
        _recipients.Add(1, new KeyValuePair<string, object?>("transport", transport), _deferred);

    public static void RecipientBounced(string transport) =>
        _recipients.Add(1, new KeyValuePair<string, object?>("transport", transport), _bounced);

    public static void RecipientExpired() => _expired.Add(1);

    /// <summary>bounce(8) queued a notice; <paramref name="kind"/> is "failure", "delay" or "success".</summary>
    public static void NoticeQueued(string kind) => _notices.Add(1, new KeyValuePair<string, object?>("kind", kind));

    /// <summary>
    /// Where the queue gauges read their counts (master: the running QueueStore); null
    /// stops them. One queue per process, so one source.
    /// </summary>
    public static void SetQueueSource(Func<QueueState, long>? count) => Volatile.Write(ref _queueCount, count);

    private static IEnumerable<Measurement<long>> ObserveQueue()
    {
        var count = Volatile.Read(ref _queueCount);
        if (count is null) yield break;
        for (int i = 0; i < _queueStates.Length; i++)
            yield return new Measurement<long>(count(_queueStates[i]), _queueTags[i]);
    }
}

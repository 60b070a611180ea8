// The exporter without a network: instruments on a private meter, aggregated by
// MetricsCollector and rendered by PrometheusText, checked line by line
// (label escaping, cumulative histogram buckets, +Inf, names, number syntax,
// observable gauges, the label-set cap) and with the strict scrape parser.
using System.Diagnostics.Metrics;
using System.Text;
using Postfix.Core.Diagnostics;
using Postfix.Host.Master;
using Xunit;

namespace Postfix.Tests.Metrics;

public sealed class PrometheusTextTests : IDisposable
{
    private readonly Meter _meter = new("Postfix.Tests.Metrics." + Guid.NewGuid().ToString("N"));
    private readonly MetricsCollector _collector;

    public PrometheusTextTests() => _collector = new MetricsCollector(m => m.Name == _meter.Name, maxSeriesPerMetric: 3);

    public void Dispose()
    {
        _collector.Dispose();
        _meter.Dispose();
    }

    private string[] Lines() => _collector.Scrape().Split('\n', StringSplitOptions.RemoveEmptyEntries);

    [Fact]
    public void LabelValuesEscapeBackslashQuoteAndNewline()
    {
        var sb = new StringBuilder();
        PrometheusText.AppendLabelValue(sb, "a\\b\"c\nd\te");
        Assert.Equal("a\\\\b\\\"c\\nd\te", sb.ToString());

        var c = _meter.CreateCounter<long>("test.escape");
        c.Add(2, new KeyValuePair<string, object?>("v", "C:\\dir \"quoted\"\nnext"));
        var text = _collector.Scrape();
        Assert.Contains("test_escape_total{v=\"C:\\\\dir \\\"quoted\\\"\\nnext\"} 2\n", text);
        var scrape = PrometheusScrape.Parse(text);
        Assert.Equal(2, scrape.Value("test_escape_total", ("v", "C:\\dir \"quoted\"\nnext")));
    }

    [Fact]
    public void HistogramBucketsAreCumulativeAndEndInInf()
    {
        var h = _meter.CreateHistogram("test.latency", "s", "Test latency",
            tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [1, 2, 5] });
        var tag = new KeyValuePair<string, object?>("transport", "smtp");
        foreach (var v in new[] { 0.5, 1, 1.5, 3, 10, 10 }) h.Record(v, tag);

        Assert.Equal(
        [
            "# HELP test_latency_seconds Test latency",
            "# TYPE test_latency_seconds histogram",
            "test_latency_seconds_bucket{transport=\"smtp\",le=\"1\"} 2", // 1 is in le="1": bounds are inclusive
            "test_latency_seconds_bucket{transport=\"smtp\",le=\"2\"} 3",
            "test_latency_seconds_bucket{transport=\"smtp\",le=\"5\"} 4",
            "test_latency_seconds_bucket{transport=\"smtp\",le=\"+Inf\"} 6",
            "test_latency_seconds_sum{transport=\"smtp\"} 26",
            "test_latency_seconds_count{transport=\"smtp\"} 6",
        ], Lines());
    }

    [Fact]
    public void HistogramWithoutAdviceUsesDefaultBucketsAndIgnoresNaN()
    {
        var h = _meter.CreateHistogram<double>("test.plain");
        h.Record(0.003);
        h.Record(double.NaN);
        h.Record(60);
        var s = PrometheusScrape.Parse(_collector.Scrape());
        Assert.Equal(1, s.Value("test_plain_bucket", ("le", "0.005")));
        Assert.Equal(1, s.Value("test_plain_bucket", ("le", "10")));
        Assert.Equal(2, s.Value("test_plain_bucket", ("le", "+Inf")));
        Assert.Equal(2, s.Value("test_plain_count"));
        Assert.Equal(60.003, s.Value("test_plain_sum"), 9);
    }

    [Fact]
    public void CountersEndInTotalAndTagOrderDoesNotSplitASeries()
    {
        var c = _meter.CreateCounter<long>("postfix.delivery.recipients", "{recipient}", "Recipients\\by status\nand transport");
        var t = new KeyValuePair<string, object?>("transport", "smtp");
        var sent = new KeyValuePair<string, object?>("status", "sent");
        c.Add(1, t, sent);
        c.Add(2, sent, t);
        Assert.Equal(
        [
            "# HELP postfix_delivery_recipients_total Recipients\\\\by status\\nand transport",
            "# TYPE postfix_delivery_recipients_total counter",
            "postfix_delivery_recipients_total{status=\"sent\",transport=\"smtp\"} 3",
        ], Lines());
    }

    [Fact]
    public void ObservableGaugeIsReadAtScrapeTime()
    {
        long size = 7;
        _meter.CreateObservableGauge("test.queue.messages",
            () => new Measurement<long>(size, new KeyValuePair<string, object?>("queue", "deferred")));
        Assert.Contains("test_queue_messages{queue=\"deferred\"} 7", Lines());
        size = 0;
        Assert.Contains("test_queue_messages{queue=\"deferred\"} 0", Lines());
        Assert.Contains("# TYPE test_queue_messages gauge", Lines());
    }

    [Fact]
    public void UpDownCounterIsAGaugeAndDoubleCountersKeepFractions()
    {
        var u = _meter.CreateUpDownCounter<int>("test.sessions");
        u.Add(3);
        u.Add(-1);
        var d = _meter.CreateCounter<double>("test.received", "By");
        d.Add(0.25);
        d.Add(1);
        var s = PrometheusScrape.Parse(_collector.Scrape());
        Assert.Equal("gauge", s.Types["test_sessions"]);
        Assert.Equal(2, s.Value("test_sessions"));
        Assert.Equal(1.25, s.Value("test_received_bytes_total"));
    }

    [Fact]
    public void LabelSetsPastTheCapAreDropped()
    {
        var c = _meter.CreateCounter<long>("test.capped");
        for (int i = 0; i < 5; i++) c.Add(1, new KeyValuePair<string, object?>("n", i));
        c.Add(1, new KeyValuePair<string, object?>("n", 0));
        var s = PrometheusScrape.Parse(_collector.Scrape());
        Assert.Equal(3, s.Samples.Count); // maxSeriesPerMetric: 3
        Assert.Equal(2, s.Value("test_capped_total", ("n", "0")));
    }

    [Fact]
    public void InstrumentWithoutMeasurementsIsNotListed()
    {
        _meter.CreateCounter<long>("test.silent");
        Assert.Equal("", _collector.Scrape());
    }

    [Theory]
    [InlineData("postfix.delivery.delay", "s", false, "postfix_delivery_delay_seconds")]
    [InlineData("postfix.smtpd.connections", "{connection}", true, "postfix_smtpd_connections_total")]
    [InlineData("already_total", null, true, "already_total")]
    [InlineData("9lives-x.y", "ms", false, "_9lives_x_y_milliseconds")]
    [InlineData("rx.size", "By", false, "rx_size_bytes")]
    public void InstrumentNamesBecomePrometheusNames(string name, string? unit, bool counter, string expected) =>
        Assert.Equal(expected, PrometheusText.MetricName(name, unit, counter));

    [Theory]
    [InlineData(double.PositiveInfinity, "+Inf")]
    [InlineData(double.NegativeInfinity, "-Inf")]
    [InlineData(double.NaN, "NaN")]
    [InlineData(0.1, "0.1")]
    [InlineData(500d, "500")]
    [InlineData(-2.5, "-2.5")]
    public void NumbersUseGoFloatSyntax(double value, string expected) =>
        Assert.Equal(expected, PrometheusText.FormatNumber(value));

    [Theory]
    [InlineData("127.0.0.1:9154", "127.0.0.1:9154")]
    [InlineData("localhost:9154", "127.0.0.1:9154")]
    [InlineData("[::1]:9154", "[::1]:9154")]
    [InlineData("0.0.0.0:80", "0.0.0.0:80")]
    [InlineData("9154", null)]
    [InlineData("127.0.0.1", null)]
    [InlineData("127.0.0.1:0", null)]
    [InlineData("127.0.0.1:65536", null)]
    [InlineData("127.0.0.1:+80", null)]
    [InlineData("::1:9154", null)]
    [InlineData("mail.example.com:9154", null)]
    [InlineData("[::1]9154", null)]
    public void EndpointValueIsHostColonPort(string value, string? expected)
    {
        bool ok = MetricsEndpoint.TryParse(value, out var ep);
        Assert.Equal(expected is not null, ok);
        if (ok) Assert.Equal(expected, ep.ToString());
    }
}

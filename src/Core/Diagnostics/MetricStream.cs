// One instrument as the Prometheus exporter keeps it: its family name, type and
// help text, and one MetricSeries per label set, created on the label set's
// first measurement. Lookup is a scan of a small copy-on-write array (a label
// set per transport or status, not per message): no lock and no allocation
// once a series exists. Label sets are capped per instrument so a tag fed from
// untrusted input could never grow memory without bound; past the cap new
// label sets are dropped.
using System.Diagnostics.Metrics;
using System.Text;

namespace Postfix.Core.Diagnostics;

internal sealed class MetricStream
{
    private readonly Lock _grow = new();
    private readonly int _maxSeries;
    private MetricSeries[] _series = [];

    public Instrument Instrument { get; }

    /// <summary>The Prometheus metric family name (with _total / unit suffix).</summary>
    public string Name { get; }

    /// <summary>"counter", "gauge" or "histogram".</summary>
    public string Type { get; }

    /// <summary>True when measurements are the value itself (gauges, observable instruments), not increments.</summary>
    public bool ReportsValue { get; }

    /// <summary>Histogram upper bounds (ascending, +Inf implied); null for other types.</summary>
    public double[]? Bounds { get; }

    /// <summary>Measurements whose label set came past the cap.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);
    private long _dropped;

    private MetricStream(Instrument instrument, string type, bool reportsValue, double[]? bounds, int maxSeries)
    {
        Instrument = instrument;
        Type = type;
        ReportsValue = reportsValue;
        Bounds = bounds;
        _maxSeries = maxSeries;
        Name = PrometheusText.MetricName(instrument.Name, instrument.Unit, type == "counter");
    }

    /// <summary>The stream for <paramref name="instrument"/>, or null for a kind this exporter does not know.</summary>
    public static MetricStream? TryCreate(Instrument instrument, int maxSeries, double[] defaultBuckets)
    {
        var t = instrument.GetType();
        if (!t.IsGenericType) return null;
        var def = t.GetGenericTypeDefinition();
        if (def == typeof(Counter<>)) return new(instrument, "counter", false, null, maxSeries);
        if (def == typeof(ObservableCounter<>)) return new(instrument, "counter", true, null, maxSeries);
        if (def == typeof(UpDownCounter<>)) return new(instrument, "gauge", false, null, maxSeries);
        if (def == typeof(ObservableUpDownCounter<>) || def == typeof(ObservableGauge<>) || def == typeof(Gauge<>))
            return new(instrument, "gauge", true, null, maxSeries);
        if (def == typeof(Histogram<>)) return new(instrument, "histogram", false, BucketsOf(instrument) ?? defaultBuckets, maxSeries);
        return null;
    }

    private static double[]? BucketsOf(Instrument instrument)
    {
        IReadOnlyList<double>? advice = instrument switch
        {
            Histogram<double> h => h.Advice?.HistogramBucketBoundaries,
            Histogram<float> h => h.Advice?.HistogramBucketBoundaries?.Select(b => (double)b).ToArray(),
            Histogram<long> h => h.Advice?.HistogramBucketBoundaries?.Select(b => (double)b).ToArray(),
            Histogram<int> h => h.Advice?.HistogramBucketBoundaries?.Select(b => (double)b).ToArray(),
            _ => null,
        };
        if (advice is null || advice.Count == 0) return null;
        var bounds = advice.Where(b => !double.IsNaN(b) && !double.IsInfinity(b)).Distinct().Order().ToArray();
        return bounds.Length > 0 ? bounds : null;
    }

    public void Record(long value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var s = Find(tags);
        if (s is null) return;
        if (Bounds is not null) s.Observe(value, Bounds);
        else if (ReportsValue) s.Set(value);
        else s.Add(value);
    }

    public void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var s = Find(tags);
        if (s is null) return;
        if (Bounds is not null) s.Observe(value, Bounds);
        else if (ReportsValue) s.Set(value);
        else s.Add(value);
    }

    private MetricSeries? Find(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        foreach (var s in Volatile.Read(ref _series))
            if (s.Matches(tags)) return s;
        lock (_grow)
        {
            var all = _series;
            foreach (var s in all)
                if (s.Matches(tags)) return s;
            if (all.Length >= _maxSeries)
            {
                Interlocked.Increment(ref _dropped);
                return null;
            }
            var copy = tags.ToArray();
            Array.Sort(copy, static (a, b) => string.CompareOrdinal(a.Key, b.Key));
            var added = new MetricSeries(copy, Bounds?.Length ?? 0);
            Volatile.Write(ref _series, [.. all, added]);
            return added;
        }
    }

    /// <summary>Writes the family in text exposition format 0.0.4; nothing while it has no series.</summary>
    public void WriteTo(StringBuilder sb)
    {
        var all = Volatile.Read(ref _series);
        if (all.Length == 0) return;
        PrometheusText.WriteFamilyHeader(sb, Name, Instrument.Description, Type);
        foreach (var s in all)
        {
            if (Bounds is null)
            {
                PrometheusText.WriteSample(sb, Name, "", s.Tags, null, s.Value);
                continue;
            }
            long cumulative = 0;
            for (int i = 0; i < Bounds.Length; i++)
            {
                cumulative += s.Bucket(i);
                PrometheusText.WriteSample(sb, Name, "_bucket", s.Tags, Bounds[i], cumulative);
            }
            cumulative += s.Bucket(Bounds.Length);
            // _count is the +Inf bucket as read here, so the two always agree.
            PrometheusText.WriteSample(sb, Name, "_bucket", s.Tags, double.PositiveInfinity, cumulative);
            PrometheusText.WriteSample(sb, Name, "_sum", s.Tags, null, s.Sum);
            PrometheusText.WriteSample(sb, Name, "_count", s.Tags, null, cumulative);
        }
    }
}

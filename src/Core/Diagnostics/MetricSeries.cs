// One label set of one instrument, as the Prometheus exporter aggregates it:
// a running sum (counters, up-down counters), a last value (gauges, observable
// instruments) or a bucketed histogram. Updated lock-free from any thread on
// the recording path; read under the collector's scrape lock.
namespace Postfix.Core.Diagnostics;

internal sealed class MetricSeries
{
    // Whole-number increments stay exact in a long (the common case: Add(1));
    // others and gauge values go to the double.
    private long _integral;
    private double _real;
    private long _count;
    private double _sum;
    private readonly long[]? _buckets;

    /// <summary>The label set, sorted by name; values as the instrument recorded them.</summary>
    public KeyValuePair<string, object?>[] Tags { get; }

    public MetricSeries(KeyValuePair<string, object?>[] tags, int bucketCount)
    {
        Tags = tags;
        if (bucketCount > 0) _buckets = new long[bucketCount + 1]; // the last one is +Inf
    }

    /// <summary>Counter value, or gauge value for instruments that report the value itself.</summary>
    public double Value => Interlocked.Read(ref _integral) + Volatile.Read(ref _real);

    public long Count => Interlocked.Read(ref _count);
    public double Sum => Volatile.Read(ref _sum);

    /// <summary>Observations that fell into bucket <paramref name="i"/> alone (not cumulative); the last is +Inf.</summary>
    public long Bucket(int i) => Interlocked.Read(ref _buckets![i]);

    public void Add(long delta) => Interlocked.Add(ref _integral, delta);

    public void Add(double delta)
    {
        if (delta == Math.Floor(delta) && Math.Abs(delta) < 1e15) { Interlocked.Add(ref _integral, (long)delta); return; }
        AddDouble(ref _real, delta);
    }

    /// <summary>A gauge's new value. A series is only ever Set or only ever Added to (by instrument kind).</summary>
    public void Set(double value) => Volatile.Write(ref _real, value);

    public void Observe(double value, double[] bounds)
    {
        if (double.IsNaN(value)) return;
        int i = Array.BinarySearch(bounds, value);
        if (i < 0) i = ~i; // first bound >= value, or bounds.Length for +Inf
        Interlocked.Increment(ref _buckets![i]);
        AddDouble(ref _sum, value);
        Interlocked.Increment(ref _count);
    }

    public bool Matches(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var mine = Tags;
        if (tags.Length != mine.Length) return false;
        foreach (var t in tags)
        {
            bool found = false;
            foreach (var m in mine)
            {
                if (!string.Equals(m.Key, t.Key, StringComparison.Ordinal)) continue;
                found = ReferenceEquals(m.Value, t.Value) || (m.Value is not null && m.Value.Equals(t.Value));
                break;
            }
            if (!found) return false;
        }
        return true;
    }

    private static void AddDouble(ref double target, double delta)
    {
        double seen = Volatile.Read(ref target);
        while (true)
        {
            double was = Interlocked.CompareExchange(ref target, seen + delta, seen);
            if (BitConverter.DoubleToInt64Bits(was) == BitConverter.DoubleToInt64Bits(seen)) return;
            seen = was;
        }
    }
}

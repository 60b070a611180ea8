// The exporter's side of System.Diagnostics.Metrics: one MeterListener that
// subscribes to the instruments of the chosen meters, aggregates every
// measurement into its MetricStream (handed to the listener as the
// instrument's state, so the recording path does no lookup by name), and
// renders all of them as Prometheus text on demand. Observable instruments
// (the queue gauges) are read at scrape time. Knows nothing of mail.
using System.Diagnostics.Metrics;
using System.Text;

namespace Postfix.Core.Diagnostics;

public sealed class MetricsCollector : IDisposable
{
    /// <summary>Histogram buckets for instruments that give no advice (Prometheus clients' defaults).</summary>
    private static readonly double[] _defaultBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    private readonly MeterListener _listener;
    private readonly Lock _scrape = new();
    private readonly Lock _streamsLock = new();
    private readonly List<MetricStream> _streams = [];

    /// <param name="meterFilter">Which meters to export (by name, usually).</param>
    /// <param name="maxSeriesPerMetric">Label sets kept per instrument; more are dropped.</param>
    public MetricsCollector(Func<Meter, bool> meterFilter, int maxSeriesPerMetric = 1000)
    {
        _listener = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (!meterFilter(instrument.Meter)) return;
                var stream = MetricStream.TryCreate(instrument, maxSeriesPerMetric, _defaultBuckets);
                if (stream is null) return;
                lock (_streamsLock) _streams.Add(stream);
                listener.EnableMeasurementEvents(instrument, stream);
            },
            MeasurementsCompleted = (instrument, state) =>
            {
                if (state is MetricStream stream) lock (_streamsLock) _streams.Remove(stream);
            },
        };
        _listener.SetMeasurementEventCallback<long>(static (_, v, tags, state) => ((MetricStream)state!).Record(v, tags));
        _listener.SetMeasurementEventCallback<int>(static (_, v, tags, state) => ((MetricStream)state!).Record(v, tags));
        _listener.SetMeasurementEventCallback<short>(static (_, v, tags, state) => ((MetricStream)state!).Record(v, tags));
        _listener.SetMeasurementEventCallback<byte>(static (_, v, tags, state) => ((MetricStream)state!).Record(v, tags));
        _listener.SetMeasurementEventCallback<double>(static (_, v, tags, state) => ((MetricStream)state!).Record(v, tags));
        _listener.SetMeasurementEventCallback<float>(static (_, v, tags, state) => ((MetricStream)state!).Record(v, tags));
        _listener.SetMeasurementEventCallback<decimal>(static (_, v, tags, state) => ((MetricStream)state!).Record((double)v, tags));
        _listener.Start();
    }

    /// <summary>Reads the observable instruments, then renders every family with at least one series.</summary>
    public string Scrape()
    {
        var sb = new StringBuilder(4096);
        lock (_scrape)
        {
            _listener.RecordObservableInstruments();
            MetricStream[] streams;
            lock (_streamsLock) streams = [.. _streams];
            foreach (var s in streams) s.WriteTo(sb);
        }
        return sb.ToString();
    }

    public void Dispose() => _listener.Dispose();
}

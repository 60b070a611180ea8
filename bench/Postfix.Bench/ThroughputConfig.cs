// Adds the MB/s column to the DATA benchmarks.
using BenchmarkDotNet.Configs;

namespace Postfix.Bench;

public sealed class ThroughputConfig : ManualConfig
{
    public ThroughputConfig() => AddColumn(new MegabytesPerSecondColumn());
}

// "MB/s" column for SmtpDataReaderBenchmarks: wire bytes of the message at the
// benchmark's MessageSize divided by the mean time per invocation (1 MB = 10^6 B).
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace Postfix.Bench;

public sealed class MegabytesPerSecondColumn : IColumn
{
    public string Id => nameof(MegabytesPerSecondColumn);
    public string ColumnName => "MB/s";
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => 0;
    public bool IsNumeric => true;
    public UnitType UnitType => UnitType.Dimensionless;
    public string Legend => "Wire bytes (dot-stuffed message) processed per second, in 10^6 bytes";

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
    public bool IsAvailable(Summary summary) => true;

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) =>
        GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        var stats = summary[benchmarkCase]?.ResultStatistics;
        if (stats is null || stats.Mean <= 0) return "NA";
        if (benchmarkCase.Parameters["MessageSize"] is not int size) return "NA";
        int wireBytes = SmtpDataReaderBenchmarks.BuildWire(size, out _).Length;
        return (wireBytes * 1000.0 / stats.Mean).ToString("N0");
    }

    public override string ToString() => ColumnName;
}

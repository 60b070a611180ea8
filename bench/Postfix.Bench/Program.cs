// Entry point of the micro-benchmark suite (BenchmarkDotNet). Every benchmark
// class carries [MemoryDiagnoser]: the smtpd hot path (command lines, DATA
// unstuffing) must show 0 B allocated per operation (STYLE habit 7).
//   dotnet run -c Release --project bench/Postfix.Bench -- --filter '*'
// bench/micro.sh runs the suite and copies the reports to perf-results/micro/.
using BenchmarkDotNet.Running;

namespace Postfix.Bench;

public static class Program
{
    public static void Main(string[] args) =>
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
}

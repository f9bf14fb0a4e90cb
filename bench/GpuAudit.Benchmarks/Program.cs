using BenchmarkDotNet.Running;
using GpuAudit.Benchmarks;

// Runs the benchmarks named on the command line (BenchmarkDotNet's --filter, --job); see
// docs/performance.md. With GPUAUDIT_BENCH_TABLE set, also measures the CPU time of each benchmark
// and writes the rows of the performance table to that file (bench/run.sh adds the
// whole-process rows and prints it).
var summaries = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args).ToList();
if (Environment.GetEnvironmentVariable("GPUAUDIT_BENCH_TABLE") is { Length: > 0 } tablePath)
{
    Console.WriteLine("// CPU time per operation (3 s each)...");
    File.AppendAllLines(tablePath, TargetTable.Rows(summaries, CpuTime.MeasureSuite()));
}

using GpuAudit.Tests;

namespace GpuAudit.Benchmarks;

/// <summary>
/// The secret redactor on what a watched process can hand it: a 64 KiB command line (the most the
/// inspector reads) of each rule's worst shape, and an ordinary training command line. Linear
/// scans: the cost per character stays flat whatever the shape (docs/reliability.md). The regex
/// this replaced was quadratic on the url shape (40 s for one 1 MiB argument).
/// </summary>
[MemoryDiagnoser]
public class RedactorBenchmarks
{
    private const int Size = 64 * 1024;

    private string[] argv = [];

    [Params("ordinary", "url", "keyvalue", "prefix", "quotes", "options")]
    public string Shape { get; set; } = "ordinary";

    [GlobalSetup]
    public void Setup()
    {
        var text = Shape == "ordinary" ? null : RedactorWorstCases.Of(Shape, Size);
        argv = text is null
            ? [.. string.Concat(Enumerable.Repeat("/opt/venv/bin/python3 train.py --model meta-llama/Llama-2-70b-chat-hf --lr=0.0001 --epochs 3 --hf-token hf_abc ", Size / 120)).Split(' ')]
            : ["tool", text];
    }

    [Benchmark(Description = "Redact a 64 KiB command line")]
    public int Redact() => SecretRedactor.Redact(argv).Length;
}

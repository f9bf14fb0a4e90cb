using System.CommandLine;
using GpuAudit.Core;
using GpuAudit.Core.Classification;
using GpuAudit.Core.Classification.Evaluation;
using GpuAudit.Core.Pipeline;
using GpuAudit.Core.Replay;
using GpuAudit.Core.Trace;

namespace GpuAudit.Cli.Commands;

/// <summary>
/// <c>gpuaudit classify TRACE... [--json] [--eval]</c>: runs recorded traces through the agent's
/// pipeline (<see cref="TracePipeline"/>, the same path as `replay`), one file at a time, and
/// prints the verdicts as they are made. The pipeline never sees truth fields; only <c>--eval</c>
/// compares with them.
/// </summary>
internal static class ClassifyCommand
{
    public static Command Create()
    {
        var traces = new Argument<string[]>("TRACE")
        {
            Arity = ArgumentArity.OneOrMore,
            Description = "Trace files (format v1, JSON Lines) to classify.",
        };
        var json = new Option<bool>("--json") { Description = "One JSON object per verdict and line: file, t, gpu, pid (null for the GPU), class, confidence, evidence." };
        var eval = new Option<bool>("--eval") { Description = "Compare with the traces' truth fields: hash detection and latency, false hash verdicts, confusion matrix." };
        var command = new Command("classify", "Classify the work in recorded GPU traces (idle, training, inference, compute, hash) per GPU and per process.")
        {
            traces, json, eval,
        };
        command.SetAction((parse, ct) => CliRunner.RunAsync(() => RunAsync(parse.GetValue(traces) ?? [], parse.GetValue(json), parse.GetValue(eval), Console.OpenStandardOutput(), ct)));
        return command;
    }

    public static async Task<int> RunAsync(IReadOnlyList<string> files, bool json, bool eval, Stream output, CancellationToken cancellationToken)
    {
        var evaluations = new List<TraceEvaluation>();

        // One verdict line is a few hundred bytes: buffered, not a write per line.
        // Not disposed: that would close the caller's stream (stdout).
        var buffered = new BufferedStream(output, 1 << 16);
        await using var text = new StreamWriter(buffered, leaveOpen: true) { NewLine = "\n" };
        foreach (var path in files)
        {
            if (!File.Exists(path))
            {
                throw new UserInputException(Directory.Exists(path)
                    ? TraceReader.DirectoryGivenAsTrace(path)
                    : $"{path}: no such trace file; pass paths of trace files (format v1, JSON Lines), e.g. data/traces/mixed.jsonl");
            }

            var name = Path.GetFileName(path);
            var sinks = new List<IAnalysisSink>();
            using var verdictJson = json ? new VerdictJson(buffered, name) : null;
            var summary = json || eval ? null : new VerdictSummary();
            using var evaluator = eval ? TraceEvaluator.Open(name, path) : null;
            sinks.AddIfNotNull(verdictJson);
            sinks.AddIfNotNull(summary);
            sinks.AddIfNotNull(evaluator);
            await text.FlushAsync(cancellationToken);
            await TracePipeline.RunAsync(path, sinks, TimeProvider.System, cancellationToken: cancellationToken);
            if (summary is not null)
            {
                await text.WriteAsync(summary.Render(name));
            }

            if (evaluator is not null)
            {
                evaluations.Add(evaluator.Finish());
            }
        }

        if (eval)
        {
            await text.WriteAsync(ClassifyReport.Evaluation(evaluations));
        }

        await text.FlushAsync(cancellationToken);
        await buffered.FlushAsync(cancellationToken);
        return 0;
    }

    private static void AddIfNotNull(this List<IAnalysisSink> sinks, IAnalysisSink? sink)
    {
        if (sink is not null)
        {
            sinks.Add(sink);
        }
    }
}

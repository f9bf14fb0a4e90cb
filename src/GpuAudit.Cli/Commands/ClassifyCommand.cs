using System.CommandLine;
using GpuAudit.Core;
using GpuAudit.Core.Classification;
using GpuAudit.Core.Classification.Evaluation;
using GpuAudit.Core.Trace;

namespace GpuAudit.Cli.Commands;

/// <summary>
/// <c>gpuaudit classify TRACE... [--json] [--eval]</c>: replays recorded traces through the
/// classifier. The classifier never sees truth fields; only <c>--eval</c> compares with them.
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
        command.SetAction((parse, _) => CliRunner.Run(() => Run(parse.GetValue(traces) ?? [], parse.GetValue(json), parse.GetValue(eval), Console.OpenStandardOutput())));
        return command;
    }

    public static int Run(IReadOnlyList<string> files, bool json, bool eval, Stream output)
    {
        var evaluations = new List<TraceEvaluation>();
        using var text = new StreamWriter(output, leaveOpen: true) { NewLine = "\n" };
        foreach (var path in files)
        {
            if (!File.Exists(path))
            {
                throw new UserInputException($"{path}: no such trace file; pass paths of trace files (format v1, JSON Lines), e.g. data/traces/mixed.jsonl");
            }

            var trace = RecordedTrace.Load(path);
            var verdicts = TraceClassification.Run(trace);
            var name = Path.GetFileName(path);
            if (json)
            {
                text.Flush();
                VerdictJson.Write(output, name, verdicts);
            }
            else if (!eval)
            {
                text.Write(ClassifyReport.Summary(name, verdicts));
            }

            if (eval)
            {
                evaluations.Add(TraceEvaluation.Evaluate(name, trace, verdicts));
            }
        }

        if (eval)
        {
            text.Write(ClassifyReport.Evaluation(evaluations));
        }

        text.Flush();
        return 0;
    }
}

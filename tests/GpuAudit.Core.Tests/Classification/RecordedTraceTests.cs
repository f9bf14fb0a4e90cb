using System.Text.RegularExpressions;
using GpuAudit.Core.Classification.Evaluation;

namespace GpuAudit.Core.Tests.Classification;

/// <summary>The must-show list, on the real H100 recordings.</summary>
public partial class RecordedTraceTests
{
    public static TheoryData<string> HashTraces => new() { "hash_sha256", "hash_memhard", "hash_throttled", "mixed" };

    public static TheoryData<string> LegitimateTraces => new()
    {
        "train_transformer", "train_cnn", "train_fp32_mlp", "train_input_bound", "infer_bf16", "infer_int8", "sort_ints", "idle",
    };

    private static IReadOnlyList<GpuVerdicts> Classify(string name) => RecordingRuns.Verdicts(RepoPaths.Trace(name));

    [Theory]
    [MemberData(nameof(HashTraces))]
    public void Hash_work_is_detected_within_10_s_of_its_first_busy_sample(string name)
    {
        var evaluation = RecordingRuns.Evaluate(RepoPaths.Trace(name));
        var detection = Assert.Single(evaluation.HashDetections);
        Assert.True(detection.Detected);
        Assert.InRange(detection.LatencySeconds!.Value, 0, 10);
        Assert.Equal(0, evaluation.FalseHashVerdicts);
    }

    [Fact]
    public void In_mixed_the_hash_pid_is_hash_and_the_training_pid_never_is()
    {
        var verdicts = Classify("mixed");
        var processes = verdicts.SelectMany(v => v.Processes).ToList();
        Assert.Contains(processes, p => p.Pid == 776 && p.Class == WorkloadClass.Hash);
        Assert.DoesNotContain(processes, p => p.Pid == 775 && p.Class == WorkloadClass.Hash);
        Assert.Contains(processes, p => p.Pid == 775 && p.Class == WorkloadClass.Training);
        Assert.Contains(verdicts, v => v.Gpu.Class == WorkloadClass.Mixed);
    }

    [Theory]
    [MemberData(nameof(LegitimateTraces))]
    public void No_window_of_legitimate_work_is_classified_hash(string name)
    {
        var verdicts = Classify(name);
        Assert.NotEmpty(verdicts);
        Assert.DoesNotContain(verdicts, v => v.Gpu.Class == WorkloadClass.Hash);
        Assert.DoesNotContain(verdicts.SelectMany(v => v.Processes), p => p.Class == WorkloadClass.Hash);
    }

    [Theory]
    [InlineData("train_transformer", WorkloadClass.Training)]
    [InlineData("train_cnn", WorkloadClass.Training)]
    [InlineData("train_fp32_mlp", WorkloadClass.Training)]
    [InlineData("train_input_bound", WorkloadClass.Training)]
    [InlineData("infer_bf16", WorkloadClass.Inference)]
    [InlineData("infer_int8", WorkloadClass.Inference)]
    [InlineData("sort_ints", WorkloadClass.Compute)]
    [InlineData("hash_sha256", WorkloadClass.Hash)]
    [InlineData("hash_memhard", WorkloadClass.Hash)]
    [InlineData("hash_throttled", WorkloadClass.Hash)]
    public void Busy_windows_of_a_single_workload_get_its_class(string name, WorkloadClass expected)
    {
        var verdicts = Classify(name);
        var busy = verdicts.Where(v => v.Gpu.Class is not WorkloadClass.Idle).ToList();
        Assert.NotEmpty(busy);
        Assert.All(busy, v => Assert.Equal(expected, v.Gpu.Class));
    }

    [Fact]
    public void Idle_trace_is_idle_throughout_despite_tails_of_earlier_jobs()
    {
        var verdicts = Classify("idle");
        Assert.All(verdicts, v => Assert.Equal(WorkloadClass.Idle, v.Gpu.Class));
    }

    [Theory]
    [MemberData(nameof(HashTraces))]
    [MemberData(nameof(LegitimateTraces))]
    public void Json_output_is_identical_when_every_truth_field_is_removed(string name)
    {
        var original = RepoPaths.Trace(name);
        var stripped = Path.Combine(Path.GetTempPath(), "gpuaudit-notruth-" + Guid.NewGuid().ToString("N"), name + ".jsonl");
        Directory.CreateDirectory(Path.GetDirectoryName(stripped)!);
        try
        {
            var text = File.ReadAllText(original);
            var withoutTruth = TruthField().Replace(text, string.Empty);
            Assert.DoesNotContain("truth_", withoutTruth, StringComparison.Ordinal);
            File.WriteAllText(stripped, withoutTruth);
            Assert.Equal(RecordingRuns.Json(original), RecordingRuns.Json(stripped));
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(stripped)!, recursive: true);
        }
    }

    [Fact]
    public void Without_gpm_the_classifier_is_never_confident_and_says_why()
    {
        var trace = RecordedTrace.Load(RepoPaths.Trace("hash_sha256"));
        var verdicts = ClassifyWithoutGpm(trace);
        var all = verdicts.SelectMany(v => v.Processes.Prepend(v.Gpu)).ToList();
        var busy = all.Where(v => v.Class is not WorkloadClass.Idle).ToList();
        Assert.NotEmpty(busy);
        Assert.All(busy, v =>
        {
            Assert.True(v.Confidence <= ClassifierOptions.Default.MaxConfidenceWithoutGpm, $"{v.Class} at {v.Confidence}");
            Assert.Contains(v.Evidence, e => e.Contains("no usable GPM metrics", StringComparison.Ordinal));
        });
        Assert.DoesNotContain(all, v => v.Class == WorkloadClass.Hash && v.Confidence >= 0.5);

        var withGpm = Classify("hash_sha256").SelectMany(v => v.Processes).Max(v => v.Confidence);
        Assert.True(busy.Max(v => v.Confidence) < withGpm);
    }

    [Fact]
    public void Without_gpm_or_identity_evidence_busy_work_is_unknown()
    {
        var trace = RecordedTrace.Load(RepoPaths.Trace("train_transformer"));
        var busy = ClassifyWithoutGpm(trace).Select(v => v.Gpu).Where(v => v.Class != WorkloadClass.Idle).ToList();
        Assert.NotEmpty(busy);
        Assert.All(busy, v => Assert.Equal(WorkloadClass.Unknown, v.Class));
    }

    [Fact]
    public void Eval_report_on_all_recordings_matches_the_golden_file()
    {
        var names = Directory.GetFiles(RepoPaths.File("data", "traces"), "*.jsonl").Order(StringComparer.Ordinal).ToList();
        var evaluations = names.Select(RecordingRuns.Evaluate).ToList();
        Golden.AssertMatches(Path.Combine("tests", "GpuAudit.Core.Tests", "Classification", "Golden", "eval-h100.txt"), ClassifyReport.Evaluation(evaluations));
    }

    [Fact]
    public void Summary_of_mixed_matches_the_golden_file()
    {
        Golden.AssertMatches(Path.Combine("tests", "GpuAudit.Core.Tests", "Classification", "Golden", "summary-mixed.txt"), RecordingRuns.Summary(RepoPaths.Trace("mixed")));
    }

    // Truth stays on the sample: only the evaluation reads it.
    private static GpuSample WithoutGpm(GpuSample s) => s with { Gpm = null, GpmIntervalS = null, MemClockMhz = null };

    private static List<GpuVerdicts> ClassifyWithoutGpm(RecordedTrace trace)
    {
        var directory = Directory.CreateTempSubdirectory("gpuaudit-nogpm-").FullName;
        try
        {
            return RecordingRuns.Verdicts(RecordingRuns.Write(trace with { Samples = [.. trace.Samples.Select(WithoutGpm)] }, directory));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [GeneratedRegex("""\s*"truth_(class|workload)":\s*("[^"]*"|null),?""")]
    private static partial Regex TruthField();
}

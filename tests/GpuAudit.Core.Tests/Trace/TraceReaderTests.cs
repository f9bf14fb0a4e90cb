using System.Text;

namespace GpuAudit.Core.Tests.Trace;

public class TraceReaderTests
{
    public static TheoryData<string> AllTraces() =>
    [
        "hash_memhard", "hash_sha256", "hash_throttled", "idle", "infer_bf16", "infer_int8",
        "mixed", "sort_ints", "train_cnn", "train_fp32_mlp", "train_input_bound", "train_transformer",
    ];

    [Theory]
    [MemberData(nameof(AllTraces))]
    public void Reads_every_recorded_H100_trace(string name)
    {
        var trace = RecordedTrace.Load(RepoPaths.Trace(name));

        Assert.Equal("NVIDIA H100 80GB HBM3", Assert.Single(trace.Header.Gpus).Name);
        Assert.True(trace.Samples.Count >= 14);
        Assert.All(trace.Samples, s => Assert.Equal(0, s.Gpu));
        Assert.Equal(trace.Samples.OrderBy(s => s.Time).Select(s => s.Time), trace.Samples.Select(s => s.Time));
    }

    [Fact]
    public void Reads_the_mixed_trace_fields_in_native_units()
    {
        var trace = RecordedTrace.Load(RepoPaths.Trace("mixed"));

        Assert.Equal([775, 776], trace.Processes.Select(p => p.Pid));
        var hash = trace.Processes[1];
        Assert.Equal("python3", hash.Comm);
        Assert.Contains("libnvrtc.so.13", hash.GpuLibs);
        Assert.Equal(1, hash.MemoryScan!.Hits["sha256_k_table"].Anon);
        var first = trace.Samples[0];
        Assert.Equal(1795733327.225, first.Time);
        Assert.Equal(120726, first.PowerMw);
        Assert.Equal(0.001, first.Gpm![GpmMetric.DramBwUtil]);
        Assert.Contains(trace.Samples, s => s.Procs.Count == 2 && s.Procs.Any(p => p.Pid == 776 && p.SmPct > 0));
    }

    [Fact]
    public void A_null_gpm_metric_is_missing_not_zero()
    {
        var trace = Parse(Header + "\n" + """{"kind":"sample","t":10.5,"gpu":0,"util_gpu_pct":40,"gpm":{"integer_util":null,"fp32_util":12.5},"procs":[{"pid":7,"used_mem_bytes":1024,"sm_pct":null,"mem_pct":null}]}""");

        var sample = Assert.Single(trace.Samples);
        Assert.Null(sample.Gpm![GpmMetric.IntegerUtil]);
        Assert.Equal(12.5, sample.Gpm[GpmMetric.Fp32Util]);
        Assert.Null(sample.Gpm[GpmMetric.AnyTensorUtil]);
        Assert.Null(Assert.Single(sample.Procs).SmPct);
        Assert.Null(sample.PowerMw);
    }

    [Fact]
    public void Unknown_fields_and_unknown_kinds_are_ignored()
    {
        var trace = Parse(Header + "\n" + """{"kind":"future","x":1}""" + "\n" + """{"kind":"sample","t":1,"gpu":0,"new_field":{"a":[1,2]},"util_gpu_pct":3}""");

        Assert.Equal(3, Assert.Single(trace.Samples).UtilGpuPct);
    }

    [Theory]
    [InlineData("""{"kind":"sample","t":1,"gpu":0,"util_gpu_pct":"high"}""", "field 'util_gpu_pct' must be a number, got a string")]
    [InlineData("""{"kind":"sample","t":1,"gpu":3}""", "sample for gpu 3, which the header does not list")]
    [InlineData("""{"kind":"sample","gpu":0}""", "sample line has no 't'")]
    [InlineData("""{"kind":"sample","t":1,"gpu":0""", "not valid JSON")]
    [InlineData("""{"kind":"process","comm":"x"}""", "process line has no 'pid'")]
    [InlineData("""[1,2]""", "a line must be one JSON object")]
    public void A_malformed_line_is_reported_with_file_and_line(string badLine, string expected)
    {
        var text = Header + "\n" + """{"kind":"sample","t":0.5,"gpu":0}""" + "\n" + badLine + "\n";

        var e = Assert.Throws<TraceFormatException>(() => Parse(text, name: "bad.jsonl"));

        Assert.StartsWith("bad.jsonl:3: ", e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.Equal(3, e.Line);
    }

    [Fact]
    public void Samples_out_of_time_order_are_rejected()
    {
        var text = Header + "\n" + """{"kind":"sample","t":5,"gpu":0}""" + "\n" + """{"kind":"sample","t":4,"gpu":0}""";

        var e = Assert.Throws<TraceFormatException>(() => Parse(text));

        Assert.Contains(":3: sample time 4 is earlier than the previous sample", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", "empty trace")]
    [InlineData("""{"kind":"sample","t":1,"gpu":0}""", "expected a header line")]
    [InlineData("""{"kind":"header","format":"gpuaudit-trace","version":2,"gpus":[{"index":0,"uuid":"GPU-1"}]}""", "version 2 is not supported")]
    [InlineData("""{"kind":"header","format":"other","version":1,"gpus":[]}""", "expected 'gpuaudit-trace'")]
    public void A_bad_header_fails_at_line_one(string header, string expected)
    {
        var e = Assert.Throws<TraceFormatException>(() => Parse(header, name: "h.jsonl"));

        Assert.StartsWith("h.jsonl:1: ", e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Skipping_malformed_lines_warns_once_per_line_and_keeps_the_rest()
    {
        var warnings = new List<string>();
        var text = Header + "\n" + """{"kind":"sample","t":1,"gpu":0}""" + "\n" + "garbage\n" + """{"kind":"sample","t":2,"gpu":0}""";

        var trace = Parse(text, new TraceReadOptions { SkipMalformed = true, Warn = warnings.Add }, "s.jsonl");

        Assert.Equal([1.0, 2.0], trace.Samples.Select(s => s.Time));
        var warning = Assert.Single(warnings);
        Assert.StartsWith("s.jsonl:3: not valid JSON", warning, StringComparison.Ordinal);
        Assert.EndsWith("(line skipped)", warning, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_file_is_a_user_error_naming_it()
    {
        var e = Assert.Throws<TraceFormatException>(() => TraceReader.Open("/nonexistent/trace.jsonl"));

        Assert.Contains("/nonexistent/trace.jsonl: cannot open trace", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_directory_is_named_as_one_not_as_a_permission_problem()
    {
        var directory = Directory.CreateTempSubdirectory("gpuaudit-traces-").FullName;
        try
        {
            var e = Assert.Throws<TraceFormatException>(() => TraceReader.Open(directory));

            Assert.StartsWith($"{directory}: is a directory, not a trace file; pass the trace files in it, e.g. {directory}/*.jsonl", e.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("denied", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(directory);
        }
    }

    [Fact]
    public void Lines_longer_than_the_read_buffer_are_read_whole()
    {
        var longCmdline = new string('x', 200_000);
        var text = Header + "\n" + $$"""{"kind":"process","pid":1,"cmdline":"{{longCmdline}}"}""" + "\n" + """{"kind":"sample","t":1,"gpu":0,"procs":[{"pid":1}]}""";

        var trace = Parse(text);

        Assert.Equal(longCmdline, Assert.Single(trace.Processes).Cmdline);
    }

    internal const string Header = """{"kind":"header","format":"gpuaudit-trace","version":1,"host":"h","gpus":[{"index":0,"uuid":"GPU-1","name":"Test","driver":"1","mem_total_bytes":100,"gpm_supported":true}],"interval_s":1.0}""";

    internal static RecordedTrace Parse(string text, TraceReadOptions? options = null, string name = "test.jsonl")
    {
        using var reader = new TraceReader(new MemoryStream(Encoding.UTF8.GetBytes(text)), name, options);
        return reader.ReadToEnd();
    }
}

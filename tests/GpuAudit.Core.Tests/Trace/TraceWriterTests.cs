namespace GpuAudit.Core.Tests.Trace;

public class TraceWriterTests
{
    [Theory]
    [InlineData("mixed")]
    [InlineData("hash_throttled")]
    [InlineData("idle")]
    public void What_is_written_reads_back_to_the_same_records(string name)
    {
        var original = RecordedTrace.Load(RepoPaths.Trace(name));

        var copy = RoundTrip(original);

        Assert.Equal(original.Header.Gpus, copy.Header.Gpus);
        Assert.Equal(original.Header.Truth, copy.Header.Truth);
        Assert.Equal(original.Processes.Count, copy.Processes.Count);
        for (var i = 0; i < original.Processes.Count; i++)
        {
            var a = original.Processes[i];
            var b = copy.Processes[i];
            Assert.Equal((a.Pid, a.Ppid, a.Comm, a.Exe, a.Cmdline, a.Cgroup), (b.Pid, b.Ppid, b.Comm, b.Exe, b.Cmdline, b.Cgroup));
            Assert.Equal(a.GpuLibs, b.GpuLibs);
            Assert.Equal(a.MemoryScan?.Hits, b.MemoryScan?.Hits);
        }

        Assert.Equal(original.Samples.Count, copy.Samples.Count);
        for (var i = 0; i < original.Samples.Count; i++)
        {
            AssertSameSample(original.Samples[i], copy.Samples[i]);
        }
    }

    [Fact]
    public void Live_only_fields_survive_the_round_trip()
    {
        var header = new TraceHeader { Node = "node1", Gpus = [new GpuDevice(0, "GPU-a", "H100", "580", 80, true, "00000000:1B:00.0", false)] };
        var gpm = new GpmMetrics();
        gpm.Set(GpmMetric.IntegerUtil, 73.25);
        gpm.Set(GpmMetric.Fp32Util, double.NaN);
        var sample = new GpuSample { Time = 1.5, Gpu = 0, MemClockMhz = 2619, Gpm = gpm, Procs = [new ProcessUsage(9, 10, null, 3)] };

        var copy = RoundTrip(new RecordedTrace("t", header, [], [sample]));

        Assert.Equal(header.Gpus, copy.Header.Gpus);
        var back = Assert.Single(copy.Samples);
        AssertSameSample(sample, back);
        Assert.Null(back.Gpm![GpmMetric.Fp32Util]);
    }

    private static RecordedTrace RoundTrip(RecordedTrace trace)
    {
        var buffer = new MemoryStream();
        using (var writer = new TraceWriter(new NonClosingStream(buffer)))
        {
            writer.WriteHeader(trace.Header);
            foreach (var p in trace.Processes)
            {
                writer.WriteProcess(p);
            }

            foreach (var s in trace.Samples)
            {
                writer.WriteSample(s);
            }
        }

        buffer.Position = 0;
        using var reader = new TraceReader(buffer, "roundtrip");
        return reader.ReadToEnd();
    }

    private static void AssertSameSample(GpuSample a, GpuSample b)
    {
        Assert.Equal(
            (a.Time, a.Gpu, a.UtilGpuPct, a.UtilMemPct, a.MemUsedBytes, a.PowerMw, a.SmClockMhz, a.MemClockMhz, a.TempC, a.EnergyMj, a.GpmIntervalS, a.Truth),
            (b.Time, b.Gpu, b.UtilGpuPct, b.UtilMemPct, b.MemUsedBytes, b.PowerMw, b.SmClockMhz, b.MemClockMhz, b.TempC, b.EnergyMj, b.GpmIntervalS, b.Truth));
        Assert.Equal(a.Gpm is null, b.Gpm is null);
        Assert.True(a.Gpm is null || a.Gpm.ValueEquals(b.Gpm));
        Assert.Equal(a.Procs, b.Procs);
    }

    /// <summary>Lets the test read the buffer after the writer disposed its stream.</summary>
    private sealed class NonClosingStream(Stream inner) : Stream
    {
        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => inner.Length;

        public override long Position { get => inner.Position; set => inner.Position = value; }

        public override void Flush() => inner.Flush();

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);
    }
}

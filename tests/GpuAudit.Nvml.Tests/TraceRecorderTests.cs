using System.Text;
using GpuAudit.Nvml.Interop;

namespace GpuAudit.Nvml.Tests;

public class TraceRecorderTests
{
    private static readonly TimeSpan OneSecond = TimeSpan.FromSeconds(1);

    [Fact]
    public async Task What_record_writes_reads_back_as_the_same_samples()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero));
        var gpu = NvmlSampleSourceTests.H100("GPU-aaaa");
        gpu.Processes.Add(new NvmlProcessInfo { Pid = 4242, UsedGpuMemory = 3UL << 30 });
        gpu.UtilizationSamples.Add(new NvmlProcessUtilizationSample { Pid = 4242, TimeStamp = 5, SmUtil = 97, MemUtil = 12 });
        gpu.GpmValues[GpmMetricInfo.NvmlId(GpmMetric.IntegerUtil)] = 93.25;
        gpu.GpmValues[GpmMetricInfo.NvmlId(GpmMetric.SmUtil)] = double.NaN;
        var second = NvmlSampleSourceTests.H100("GPU-bbbb");
        second.Failures["power"] = NvmlReturn.NotSupported;
        var describer = new FakeDescriber();
        describer.Known[4242] = new ProcessRecord { Pid = 4242, Ppid = 1, Comm = "miner", Exe = "/tmp/miner", Cmdline = "/tmp/miner --pool x", GpuLibs = ["libcuda.so.1"] };
        using var source = new TickCapture(new NvmlSampleSource(new FakeNvml(gpu, second), describer, time, OneSecond, "node-7"));
        using var output = new MemoryStream();

        int ticks;
        using (var writer = new TraceWriter(new NonClosingStream(output)))
        {
            var recording = TraceRecorder.RecordAsync(source, writer, OneSecond, TimeSpan.FromSeconds(3), CancellationToken.None);
            ticks = await DriveAsync(time, source, recording);
        }

        Assert.Equal(3, ticks);
        output.Position = 0;
        using var reader = new TraceReader(output, "recorded.jsonl");
        var trace = reader.ReadToEnd();

        Assert.Equal("node-7", trace.Header.Node);
        Assert.Equal(1.0, trace.Header.IntervalS);
        Assert.Equal(source.Devices, trace.Header.Gpus);
        var written = source.Ticks.SelectMany(t => t.Samples).ToList();
        Assert.Equal(6, written.Count);
        Assert.Equal(written.Count, trace.Samples.Count);
        for (var i = 0; i < written.Count; i++)
        {
            AssertSameSample(written[i], trace.Samples[i]);
        }

        var process = Assert.Single(trace.Processes);
        Assert.Equal((4242, 1, "miner", "/tmp/miner", "/tmp/miner --pool x"), (process.Pid, process.Ppid, process.Comm, process.Exe, process.Cmdline));
        Assert.Equal(["libcuda.so.1"], process.GpuLibs);
        Assert.Null(trace.Samples[1].PowerMw);
        Assert.Null(trace.Samples[0].Gpm![GpmMetric.SmUtil]);
        Assert.Equal(93.25, trace.Samples[0].Gpm![GpmMetric.IntegerUtil]);
    }

    [Fact]
    public async Task The_process_line_comes_before_the_first_sample_naming_the_pid()
    {
        var time = new FakeTimeProvider();
        var gpu = NvmlSampleSourceTests.H100("GPU-aaaa");
        gpu.Processes.Add(new NvmlProcessInfo { Pid = 31337, UsedGpuMemory = 1 });
        using var source = new TickCapture(new NvmlSampleSource(new FakeNvml(gpu), new FakeDescriber(), time, OneSecond));
        using var output = new MemoryStream();

        using (var writer = new TraceWriter(new NonClosingStream(output)))
        {
            await DriveAsync(time, source, TraceRecorder.RecordAsync(source, writer, OneSecond, TimeSpan.FromSeconds(2), CancellationToken.None));
        }

        var kinds = Encoding.UTF8.GetString(output.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line[..Math.Min(line.Length, 40)]).ToList();
        Assert.StartsWith("{\"kind\":\"header\"", kinds[0], StringComparison.Ordinal);
        Assert.StartsWith("{\"kind\":\"process\",\"pid\":31337", kinds[1], StringComparison.Ordinal);
        Assert.All(kinds.Skip(2), k => Assert.StartsWith("{\"kind\":\"sample\"", k, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Cancellation_ends_the_recording_cleanly_after_whole_lines()
    {
        var time = new FakeTimeProvider();
        using var source = new NvmlSampleSource(new FakeNvml(NvmlSampleSourceTests.H100("GPU-aaaa")), new FakeDescriber(), time, OneSecond);
        using var output = new MemoryStream();
        using var cancel = new CancellationTokenSource();

        int ticks;
        using (var writer = new TraceWriter(new NonClosingStream(output)))
        {
            var recording = TraceRecorder.RecordAsync(source, writer, OneSecond, duration: null, cancel.Token);
            await cancel.CancelAsync();
            ticks = await recording;
        }

        Assert.Equal(0, ticks);
        output.Position = 0;
        using var reader = new TraceReader(output, "cancelled.jsonl");
        Assert.Empty(reader.ReadToEnd().Samples);
    }

    /// <summary>
    /// Advances the fake clock one interval per wait of the recorder until it finishes: never two
    /// advances for one wait, which a periodic timer would fold into one tick.
    /// </summary>
    private static async Task<int> DriveAsync(FakeTimeProvider time, TickCapture source, Task<int> recording)
    {
        var advanced = 0;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!recording.IsCompleted)
        {
            Assert.True(DateTime.UtcNow < deadline, $"the recorder did not finish within 60 s ({advanced} intervals advanced)");
            if (source.Waits > advanced)
            {
                advanced++;
                time.Advance(OneSecond);
            }

            await Task.WhenAny(recording, Task.Delay(1));
        }

        return await recording;
    }

    private static void AssertSameSample(GpuSample expected, GpuSample actual)
    {
        Assert.Equal(expected.Time, actual.Time);
        Assert.Equal(expected.Gpu, actual.Gpu);
        Assert.Equal(expected.UtilGpuPct, actual.UtilGpuPct);
        Assert.Equal(expected.UtilMemPct, actual.UtilMemPct);
        Assert.Equal(expected.MemUsedBytes, actual.MemUsedBytes);
        Assert.Equal(expected.PowerMw, actual.PowerMw);
        Assert.Equal(expected.SmClockMhz, actual.SmClockMhz);
        Assert.Equal(expected.MemClockMhz, actual.MemClockMhz);
        Assert.Equal(expected.TempC, actual.TempC);
        Assert.Equal(expected.EnergyMj, actual.EnergyMj);
        Assert.Equal(expected.GpmIntervalS, actual.GpmIntervalS);
        Assert.Equal(expected.Gpm is null, actual.Gpm is null);
        Assert.True(expected.Gpm is null || expected.Gpm.ValueEquals(actual.Gpm));
        Assert.Equal(expected.Procs, actual.Procs);
    }

    /// <summary>Keeps every tick the recorder was handed, to compare with what it wrote.</summary>
    private sealed class TickCapture(ISampleSource inner) : ISampleSource
    {
        private int _waits;

        public List<Tick> Ticks { get; } = [];

        /// <summary>How many times the recorder has asked for a tick.</summary>
        public int Waits => Volatile.Read(ref _waits);

        public string Node => inner.Node;

        public IReadOnlyList<GpuDevice> Devices => inner.Devices;

        public async ValueTask<Tick?> NextAsync(CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _waits);
            var tick = await inner.NextAsync(cancellationToken);
            if (tick is not null)
            {
                Ticks.Add(tick);
            }

            return tick;
        }

        public void Dispose() => inner.Dispose();
    }

    /// <summary>TraceWriter closes its stream on dispose; the test still needs to read it.</summary>
    private sealed class NonClosingStream(Stream inner) : Stream
    {
        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => inner.Length;

        public override long Position { get => inner.Position; set => throw new NotSupportedException(); }

        public override void Flush() => inner.Flush();

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);

        public override void Write(ReadOnlySpan<byte> buffer) => inner.Write(buffer);

        public override void WriteByte(byte value) => inner.WriteByte(value);
    }
}

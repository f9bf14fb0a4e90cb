using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace GpuAudit.Cli.Tests;

/// <summary>
/// `classify` and `replay` are one path (both run <c>TracePipeline</c>'s source and pipeline): on
/// every recording they agree on the final class of the GPU and of every process still on it at
/// the end, and on whether the GPU was ever classed hash.
/// </summary>
public sealed partial class ClassifyReplayAgreementTests : IDisposable
{
    private static readonly string[] Paths = Directory.GetFiles(RepoPaths.File("data", "traces"), "*.jsonl").Order(StringComparer.Ordinal).ToArray();

    // One `classify --json` over every recording (each line names its file), shared by the cases.
    private static readonly Lazy<Task<(int ExitCode, string Stdout, string Stderr)>> ClassifyAll =
        new(() => GpuAuditProcess.RunAsync(Path.GetTempPath(), ["classify", "--json", .. Paths]));

    private readonly string _dir = Directory.CreateTempSubdirectory("gpuaudit-agree-").FullName;

    public static TheoryData<string> Recordings()
    {
        var data = new TheoryData<string>();
        foreach (var path in Paths)
        {
            data.Add(Path.GetFileNameWithoutExtension(path));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Recordings))]
    public async Task Classify_json_and_fast_replay_agree_on_every_recording(string name)
    {
        var trace = RepoPaths.Trace(name);
        var dump = Path.Combine(_dir, name + ".prom");
        var classify = await ClassifyAll.Value;
        var replay = await GpuAuditProcess.RunAsync(_dir, "replay", "--fast", "--metrics-dump", dump, trace);
        Assert.True(classify.ExitCode == 0, classify.Stderr);
        Assert.True(replay.ExitCode == 0, replay.Stderr);

        var verdicts = Verdicts(classify.Stdout, name + ".jsonl");
        var metrics = await File.ReadAllTextAsync(dump);
        var gpuVerdicts = verdicts.Where(v => v.Pid is null).ToList();
        Assert.NotEmpty(gpuVerdicts);

        var replayGpuClass = Assert.Single(GpuClass().Matches(metrics)).Groups["class"].Value;
        Assert.Equal(gpuVerdicts[^1].Class, replayGpuClass);

        var everHashInReplay = HashSeconds().Match(metrics) is { Success: true } m && double.Parse(m.Groups["seconds"].Value, CultureInfo.InvariantCulture) > 0;
        Assert.Equal(gpuVerdicts.Any(v => v.Class == "hash"), everHashInReplay);

        var lastByPid = verdicts.Where(v => v.Pid is not null).GroupBy(v => v.Pid!.Value).ToDictionary(g => g.Key, g => g.Last().Class);
        foreach (Match process in ProcessClass().Matches(metrics))
        {
            var pid = int.Parse(process.Groups["pid"].Value, CultureInfo.InvariantCulture);
            Assert.True(lastByPid.TryGetValue(pid, out var classified), $"replay shows pid {pid}, classify never classified it");
            Assert.Equal(classified, process.Groups["class"].Value);
        }
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static List<(int? Pid, string Class)> Verdicts(string jsonLines, string file)
    {
        var list = new List<(int? Pid, string Class)>();
        foreach (var line in jsonLines.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            using var document = JsonDocument.Parse(line);
            var root = document.RootElement;
            if (root.GetProperty("file").GetString() != file)
            {
                continue;
            }

            var pid = root.GetProperty("pid");
            list.Add((pid.ValueKind == JsonValueKind.Null ? null : pid.GetInt32(), root.GetProperty("class").GetString()!));
        }

        return list;
    }

    [GeneratedRegex("""^gpuaudit_gpu_class\{uuid="[^"]*",class="(?<class>[a-z]+)"\} 1$""", RegexOptions.Multiline)]
    private static partial Regex GpuClass();

    [GeneratedRegex("""^gpuaudit_gpu_class_seconds_total\{uuid="[^"]*",class="hash"\} (?<seconds>\S+)$""", RegexOptions.Multiline)]
    private static partial Regex HashSeconds();

    [GeneratedRegex("""^gpuaudit_process_class\{uuid="[^"]*",pid="(?<pid>\d+)",comm="[^"]*",class="(?<class>[a-z]+)"\} 1$""", RegexOptions.Multiline)]
    private static partial Regex ProcessClass();
}

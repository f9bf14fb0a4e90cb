using System.Diagnostics;

namespace GpuAudit.Cli.Tests;

/// <summary>
/// scripts/gpu-check.sh --dry-run: the live GPU check, end to end against the NVML stand-in (idle
/// processes registered with it play the workloads). Proves the script itself (agent, record,
/// doctor, scraping, every check and the table) so the one run on a GPU machine cannot fail on
/// plumbing.
/// </summary>
[Trait("Category", "Integration")]
[Collection(GpuCheckDryRunTests.Alone)]
public sealed class GpuCheckDryRunTests(NvmlStubLibrary stub) : IClassFixture<NvmlStubLibrary>, IDisposable
{
    /// <summary>
    /// The script checks that violations open within a deadline: it runs after the parallel tests,
    /// alone, so the other agents and compilers of this suite do not eat the seconds it measures.
    /// </summary>
    public const string Alone = "gpu check dry run, alone";

    private readonly string _out = Directory.CreateTempSubdirectory("gpuaudit-gpu-check-").FullName;

    [ToolFact("gcc", "python3", "curl")]
    public async Task The_dry_run_passes_every_check_and_writes_the_table_and_traces()
    {
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(RepoPaths.File("scripts", "gpu-check.sh"));
        start.ArgumentList.Add("--dry-run");
        start.ArgumentList.Add("--out");
        start.ArgumentList.Add(_out);
        start.Environment["GPUAUDIT"] = "dotnet " + GpuAuditProcess.Dll;
        start.Environment["NVML_STUB_LIBRARY"] = stub.Path;

        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = await process.StandardOutput.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(6));
        await process.WaitForExitAsync(timeout.Token);

        var log = stdout + await stderr;
        Assert.True(process.ExitCode == 0, log);
        Assert.EndsWith("14 passed, 0 failed\n", stdout, StringComparison.Ordinal);
        var table = File.ReadAllText(Path.Combine(_out, "results.md"));
        foreach (var check in new[]
        {
            "| doctor | PASS", "| training: no violation | PASS", "| inference: no violation | PASS", "| sha256: violation | PASS",
            "| train_with_hash: violation | PASS", "| train_spawns_miner: violation | PASS", "| forty_processes: violation | PASS | critical violation opened",
            "| forty_processes: pids match nvidia-smi | PASS | 40 recorded, 40 listed", "| GPM metrics present and in range | PASS",
            "| scanner: hash kernel in the training process | SKIP",
        })
        {
            Assert.Contains(check, table, StringComparison.Ordinal);
        }

        Assert.Equal(6, Directory.GetFiles(Path.Combine(_out, "traces"), "*.jsonl").Length);
    }

    public void Dispose() => Directory.Delete(_out, recursive: true);
}

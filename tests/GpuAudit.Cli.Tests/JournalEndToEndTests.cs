using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Data.Sqlite;

namespace GpuAudit.Cli.Tests;

/// <summary>
/// The journal against an adversary, end to end with the real executable: a disk filled during
/// a hash replay, a corrupt journal, and `gpuaudit verify` on edited, deleted and cut-off rows.
/// </summary>
[Trait("Category", "Integration")]
public sealed partial class JournalEndToEndTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("gpuaudit-journal-e2e-").FullName;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(5) };

    [TmpfsFact]
    public async Task A_violation_opened_while_the_disk_is_full_is_on_metrics_then_in_the_journal_once_it_frees()
    {
        using var disk = new TinyTmpfs(2048);
        var journal = Path.Combine(disk.Path, "journal");
        var port = BackgroundProcess.FreePort();
        // The violation opens 8 s after the hash starts: well after the disk is filled below.
        var policy = Path.Combine(_dir, "policy.json");
        await File.WriteAllTextAsync(policy, """{ "rules": { "hash_compute": { "open_after_seconds": 8, "close_after_seconds": 120 } } }""");
        using var agent = BackgroundProcess.StartGpuAudit(_dir, "replay", RepoPaths.Trace("mixed"), "--loop", "--listen", $"127.0.0.1:{port}",
            "--job-map", JobMap(), "--journal", journal, "--policy", policy);
        Assert.True(await MetricsAsync(port, m => m.Contains("gpuaudit_polls_total", StringComparison.Ordinal)) is not null, agent.Output);
        Assert.DoesNotContain("gpuaudit_violation_active{", await MetricsAsync(port, _ => true), StringComparison.Ordinal);

        disk.Fill();
        var whileFull = await MetricsAsync(port, m => Value(m, "gpuaudit_journal_pending_rows") > 0 && HashViolation().IsMatch(m), TimeSpan.FromSeconds(60));
        Assert.True(whileFull is not null, "the hash violation never showed on /metrics while the disk was full; agent output:\n" + agent.Output);
        Assert.True(Value(whileFull, "gpuaudit_journal_write_errors_total") > 0, whileFull);
        Assert.False(agent.HasExited);

        disk.Free();
        Assert.True(await MetricsAsync(port, m => Value(m, "gpuaudit_journal_pending_rows") == 0) is not null, "the rows held in memory were never written after the disk freed:\n" + agent.Output);
        agent.KillHard();

        var (code, stdout, stderr) = await GpuAuditProcess.RunAsync(_dir, "report", "--job", "4242", "--journal", journal, "--format", "json");
        Assert.True(code == 0, stderr);
        using var report = JsonDocument.Parse(stdout);
        Assert.Contains(report.RootElement.GetProperty("violations").EnumerateArray(), v => v.GetProperty("rule").GetString() == "hash_compute" && v.GetProperty("pid").GetInt32() == 776);
        var verify = await GpuAuditProcess.RunAsync(_dir, "verify", "--journal", journal);
        Assert.True(verify.ExitCode == 0, verify.Stdout + verify.Stderr);
    }

    [Fact]
    public async Task A_corrupt_journal_is_moved_aside_and_the_agent_keeps_running_with_an_alert_metric()
    {
        var journal = Path.Combine(_dir, "journal");
        var (made, _, makeErr) = await GpuAuditProcess.RunAsync(_dir, "replay", RepoPaths.Trace("mixed"), "--fast", "--job-map", JobMap(), "--journal", journal);
        Assert.True(made == 0, makeErr);
        using (var file = File.OpenWrite(Path.Combine(journal, "gpuaudit-journal.db")))
        {
            file.Position = 4096;
            file.Write(Enumerable.Repeat((byte)0x5a, 8192).ToArray());
        }

        var port = BackgroundProcess.FreePort();
        using var agent = BackgroundProcess.StartGpuAudit(_dir, "replay", RepoPaths.Trace("mixed"), "--loop", "--listen", $"127.0.0.1:{port}", "--job-map", JobMap(), "--journal", journal);
        var first = await MetricsAsync(port, m => Value(m, "gpuaudit_journal_corrupt_total") == 1);
        Assert.True(first is not null, "no gpuaudit_journal_corrupt_total 1 on /metrics; agent output:\n" + agent.Output);
        var later = await MetricsAsync(port, m => Value(m, "gpuaudit_polls_total") > Value(first, "gpuaudit_polls_total") + 2 && HashViolation().IsMatch(m), TimeSpan.FromSeconds(60));
        Assert.True(later is not null, "the agent stopped polling or never showed the violation after moving the journal aside:\n" + agent.Output);
        Assert.False(agent.HasExited);
        agent.KillHard();

        Assert.Single(Directory.GetFiles(journal, "gpuaudit-journal.db.corrupt-*"), f => !f.EndsWith("-wal", StringComparison.Ordinal) && !f.EndsWith("-shm", StringComparison.Ordinal));
        Assert.Contains("is corrupt", agent.Output, StringComparison.Ordinal);
        var (code, stdout, stderr) = await GpuAuditProcess.RunAsync(_dir, "verify", "--journal", journal);
        Assert.True(code == 0, stdout + stderr);
        Assert.Contains("moved aside (corrupt)", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_names_an_edited_row_and_a_deleted_row()
    {
        var journal = Path.Combine(_dir, "journal");
        var (made, _, makeErr) = await GpuAuditProcess.RunAsync(_dir, "replay", RepoPaths.Trace("mixed"), "--fast", "--job-map", JobMap(), "--journal", journal);
        Assert.True(made == 0, makeErr);
        var intact = await GpuAuditProcess.RunAsync(_dir, "verify", "--journal", journal);
        Assert.True(intact.ExitCode == 0, intact.Stdout + intact.Stderr);
        Assert.Contains("result: intact", intact.Stdout, StringComparison.Ordinal);

        long violationSeq, minuteSeq;
        using (var connection = new SqliteConnection($"Data Source={Path.Combine(journal, "gpuaudit-journal.db")};Pooling=False"))
        {
            connection.Open();
            violationSeq = (long)Scalar(connection, "SELECT seq FROM violations WHERE rule = 'hash_compute'")!;
            minuteSeq = (long)Scalar(connection, "SELECT max(seq) FROM job_minutes")!;
            Scalar(connection, "UPDATE violations SET evidence = '[\"idle\"]', rule = 'idle_allocation' WHERE rule = 'hash_compute'");
            Scalar(connection, $"DELETE FROM job_minutes WHERE seq = {minuteSeq}");
        }

        var (code, stdout, stderr) = await GpuAuditProcess.RunAsync(_dir, "verify", "--journal", journal);

        Assert.True(code == 1, stdout + stderr);
        Assert.Contains($"EDITED violations row {violationSeq} ", stdout, StringComparison.Ordinal);
        Assert.Contains($"DELETED row {minuteSeq} deleted", stdout, StringComparison.Ordinal);
        Assert.Contains("result: 2 problem(s)", stdout, StringComparison.Ordinal);
    }

    [ToolFact("prometheus")]
    public async Task Verify_against_Prometheus_finds_rows_cut_from_the_end()
    {
        var journal = Path.Combine(_dir, "journal");
        var agentPort = BackgroundProcess.FreePort();
        var promPort = BackgroundProcess.FreePort();
        await File.WriteAllTextAsync(Path.Combine(_dir, "prometheus.yml"), $"""
            global:
              scrape_interval: 1s
            scrape_configs:
              - job_name: gpuaudit
                static_configs:
                  - targets: ["127.0.0.1:{agentPort}"]

            """);
        var url = $"http://127.0.0.1:{promPort}";
        using (var agent = BackgroundProcess.StartGpuAudit(_dir, "replay", RepoPaths.Trace("mixed"), "--loop", "--listen", $"127.0.0.1:{agentPort}", "--job-map", JobMap(), "--journal", journal))
        using (var server = BackgroundProcess.Start(ToolRequirement.Find("prometheus")!, _dir, [
            "--config.file=" + Path.Combine(_dir, "prometheus.yml"), "--storage.tsdb.path=" + Path.Combine(_dir, "data"), $"--web.listen-address=127.0.0.1:{promPort}"]))
        {
            // Wait until Prometheus holds a head that includes the hash violation's row.
            var recorded = await BackgroundProcess.WaitForAsync(
                async () =>
                {
                    var body = await _http.GetStringAsync(new Uri($"{url}/api/v1/query?query=gpuaudit_journal_chain_head_seq"));
                    var match = SeqValue().Match(body);
                    return match.Success && double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) >= 4 && HashViolation().IsMatch(await MetricsAsync(agentPort, _ => true) ?? "") ? body : null;
                },
                TimeSpan.FromSeconds(90));
            Assert.True(recorded is not null, $"Prometheus never recorded a chain head.\nagent:\n{agent.Output}\nprometheus:\n{server.Output}");
            agent.KillHard();

            var intact = await GpuAuditProcess.RunAsync(_dir, "verify", "--journal", journal, "--prometheus", url);
            Assert.True(intact.ExitCode == 0, intact.Stdout + intact.Stderr);
            Assert.Matches("prometheus: [1-9][0-9]* recorded heads checked", intact.Stdout);

            using (var connection = new SqliteConnection($"Data Source={Path.Combine(journal, "gpuaudit-journal.db")};Pooling=False"))
            {
                connection.Open();
                // What root does to hide the newest records: cut every table back to the violation.
                var cut = (long)Scalar(connection, "SELECT min(seq) - 1 FROM violations")!;
                foreach (var table in ChainedTables(connection))
                {
                    Scalar(connection, $"DELETE FROM {table} WHERE seq > {cut}");
                }
            }

            var alone = await GpuAuditProcess.RunAsync(_dir, "verify", "--journal", journal);
            Assert.True(alone.ExitCode == 0, "without the off-node record a cut end is invisible: " + alone.Stdout);
            var (code, stdout, stderr) = await GpuAuditProcess.RunAsync(_dir, "verify", "--journal", journal, "--prometheus", url);
            Assert.True(code == 1, stdout + stderr);
            Assert.Contains("TRUNCATED Prometheus saw row", stdout, StringComparison.Ordinal);
        }
    }

    public void Dispose()
    {
        _http.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private static object? Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    /// <summary>Every table of the hash chain (those with a seq rowid and a prev link), as found in the file.</summary>
    private static List<string> ChainedTables(SqliteConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE '%seq INTEGER PRIMARY KEY, prev BLOB%'";
        using var reader = command.ExecuteReader();
        var tables = new List<string>();
        while (reader.Read())
        {
            tables.Add(reader.GetString(0));
        }

        Assert.Contains("violations", tables);
        return tables;
    }

    /// <summary>The value of an unlabelled series in an exposition, or -1 when absent.</summary>
    private static double Value(string? exposition, string name)
    {
        var match = Regex.Match(exposition ?? "", "^" + name + " (\\S+)$", RegexOptions.Multiline);
        return match.Success ? double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) : -1;
    }

    private string JobMap()
    {
        var jobMap = Directory.CreateDirectory(Path.Combine(_dir, "jobmap")).FullName;
        File.WriteAllText(Path.Combine(jobMap, "0"), "4242 0\n");
        return jobMap;
    }

    private async Task<string?> MetricsAsync(int port, Func<string, bool> until, TimeSpan? timeout = null) =>
        await BackgroundProcess.WaitForAsync(
            async () =>
            {
                var text = await _http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/metrics"));
                return until(text) ? text : null;
            },
            timeout ?? TimeSpan.FromSeconds(30));

    [GeneratedRegex("^gpuaudit_violation_active\\{[^}]*rule=\"hash_compute\"[^}]*pid=\"776\"[^}]*\\} 1$", RegexOptions.Multiline)]
    private static partial Regex HashViolation();

    [GeneratedRegex("\"value\":\\[[0-9.]+,\"([0-9.]+)\"\\]")]
    private static partial Regex SeqValue();
}

using System.CommandLine;
using System.Globalization;
using GpuAudit.Agent.Journal;
using GpuAudit.Core;
using GpuAudit.Core.Reporting;

namespace GpuAudit.Cli.Commands;

/// <summary>
/// <c>gpuaudit verify</c>: checks the journal's hash chain for edited and deleted rows, and with
/// <c>--prometheus</c> against the chain heads Prometheus scraped (docs/threat-model.md). Exit 0
/// when intact, 1 when something was tampered with, 2 on bad input.
/// </summary>
internal static class VerifyCommand
{
    public const int Tampered = 1;

    public static Command Create()
    {
        var journal = new Option<string?>("--journal") { Description = "Journal directory (default " + ReportCommand.DefaultJournal + ")" };
        var prometheus = new Option<string?>("--prometheus") { Description = "Prometheus base URL: also check the journal against the chain heads it scraped from the agent" };
        var command = new Command("verify", "Check the journal's hash chain: find edited, deleted and cut-off rows (with --prometheus, also a chain rewritten after Prometheus recorded its head).")
        {
            journal, prometheus,
        };
        command.SetAction((parse, cancellationToken) => CliRunner.RunAsync(() => RunAsync(parse.GetValue(journal) ?? ReportCommand.DefaultJournal, parse.GetValue(prometheus), cancellationToken)));
        return command;
    }

    private static async Task<int> RunAsync(string directory, string? prometheus, CancellationToken cancellationToken)
    {
        if (!AuditJournal.Exists(directory))
        {
            throw new UserInputException($"no journal in {directory}; pass --journal with the directory the agent writes to");
        }

        using var journal = JournalReader.Open(directory);
        var runs = journal.Runs();
        IReadOnlyList<HeadSample>? samples = null;
        if (prometheus is not null)
        {
            if (!Uri.TryCreate(prometheus.EndsWith('/') ? prometheus : prometheus + "/", UriKind.Absolute, out var baseUrl) || baseUrl.Scheme is not ("http" or "https"))
            {
                throw new UserInputException($"--prometheus {prometheus} is not an http(s) URL; pass e.g. http://prometheus:9090");
            }

            if (runs.Count == 0)
            {
                throw new UserInputException($"the journal in {directory} has no runs row (its first rows were deleted), so its id is unknown; verify without --prometheus");
            }

            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
            var now = TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0;
            samples = await ChainHeadHistory.FetchAsync(http, baseUrl, runs[0].JournalId, runs.Min(r => r.Time) - 60, now, cancellationToken);
        }

        var result = JournalVerifier.Verify(journal, samples);
        var output = Console.Out;
        await output.WriteLineAsync($"journal {Path.Combine(directory, AuditJournal.FileName)} (id {result.JournalId ?? "unknown"})");
        await output.WriteLineAsync($"rows: {result.Rows} chained" + (result.Pruned > 0 ? $", {result.Pruned} pruned by retention" : "") +
            (result.Pending > 0 ? $"; {result.Pending} process summary rows of the current period not yet chained" : ""));
        var (part0, part1) = JournalMetrics.HashParts(result.Head.Hash);
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"head: row {result.Head.Seq}, hash {result.Head.HashHex} (gpuaudit_journal_chain_head_hash part 0 = {part0}, part 1 = {part1})"));
        foreach (var run in runs.Where(r => r.Note is not null))
        {
            await output.WriteLineAsync($"run of {ReportText.Time(run.Time)}: {run.Note}");
        }

        foreach (var aside in Directory.EnumerateFiles(directory, AuditJournal.FileName + ".corrupt-*").Where(f => !f.EndsWith("-wal", StringComparison.Ordinal) && !f.EndsWith("-shm", StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            await output.WriteLineAsync($"moved aside (corrupt): {aside}");
        }

        if (samples is not null)
        {
            await output.WriteLineAsync(samples.Count == 0
                ? $"prometheus: no gpuaudit_journal_chain_head_seq{{journal_id=\"{result.JournalId}\"}} recorded; nothing to check off the node"
                : $"prometheus: {result.SamplesChecked} recorded heads checked, {ReportText.Time(samples[0].Time)} to {ReportText.Time(samples[^1].Time)}");
        }

        foreach (var problem in result.Problems)
        {
            await output.WriteLineAsync($"{problem.Kind.ToUpperInvariant()} {problem.Message}");
        }

        await output.WriteLineAsync(result.Intact
            ? "result: intact" + (samples is null ? " (rows cut from the end, or a chain rewritten whole, show only against the heads Prometheus recorded: add --prometheus)" : "")
            : $"result: {result.Problems.Count} problem(s): the journal was changed after it was written");
        return result.Intact ? 0 : Tampered;
    }
}

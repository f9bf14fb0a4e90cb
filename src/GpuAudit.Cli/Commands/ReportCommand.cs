using System.CommandLine;
using GpuAudit.Agent.Journal;
using GpuAudit.Agent.Reporting;
using GpuAudit.Core;
using GpuAudit.Core.Reporting;
using GpuAudit.Core.Summaries;

namespace GpuAudit.Cli.Commands;

/// <summary>
/// <c>gpuaudit report</c>: a job's audit report from this node's journal, or from Prometheus for
/// a job that spans nodes; with <c>--all</c>, every violation in the journal's window, job or no
/// job (docs/reports.md).
/// </summary>
internal static class ReportCommand
{
    public const string DefaultJournal = "/var/lib/gpuaudit";

    public static Command Create()
    {
        var job = new Option<string?>("--job") { Description = "Scheduler job id to report on (or --all)" };
        var all = new Option<bool>("--all") { Description = "Report every violation in the window, of every job and of processes that belong to none (journal only)" };
        var from = new Option<string?>("--from") { Description = "Start of the window: " + ReportTime.Formats + " (default: the job's first record)" };
        var to = new Option<string?>("--to") { Description = "End of the window, same forms (default: the job's last record)" };
        var format = new Option<string>("--format") { Description = "md, html or json", DefaultValueFactory = _ => "md" };
        var journal = new Option<string?>("--journal") { Description = "Journal directory of this node (default " + DefaultJournal + ")" };
        var prometheus = new Option<string?>("--prometheus") { Description = "Prometheus base URL: report from range queries over every node of the job" };
        var output = new Option<string?>("--out") { Description = "Write the report to this file (default: stdout)" };

        var command = new Command("report", "Write a job's GPU audit report: verdict, GPU time and energy by class, processes, violations with evidence.")
        {
            job, all, from, to, format, journal, prometheus, output,
        };
        command.SetAction((parseResult, cancellationToken) => CliRunner.RunAsync(async () =>
        {
            var jobId = parseResult.GetValue(job);
            var everyJob = parseResult.GetValue(all);
            if ((jobId is null && !everyJob) || (jobId is not null && everyJob))
            {
                throw new UserInputException(everyJob
                    ? "--job and --all both given; pass --job ID for one job's report, or --all for every violation"
                    : "no --job given; pass --job ID for one job's report, or --all for every violation in the window");
            }

            var request = new ReportRequest(
                jobId,
                ParseTime(parseResult.GetValue(from), "--from"),
                ParseTime(parseResult.GetValue(to), "--to"),
                ParseFormat(parseResult.GetValue(format)),
                parseResult.GetValue(journal),
                parseResult.GetValue(prometheus),
                parseResult.GetValue(output));
            return await RunAsync(request, cancellationToken);
        }));
        return command;
    }

    private static async Task<int> RunAsync(ReportRequest request, CancellationToken cancellationToken)
    {
        if (request.From is { } f && request.To is { } t && f >= t)
        {
            throw new UserInputException($"--from ({ReportText.Time(f)}) is not before --to ({ReportText.Time(t)}); swap them");
        }

        if (request.Prometheus is { } url)
        {
            if (request.Job is null)
            {
                throw new UserInputException("--all reads this node's journal (Prometheus keeps no evidence lines); pass --journal DIR instead of --prometheus");
            }

            if (request.Journal is not null)
            {
                throw new UserInputException("--journal and --prometheus both given; use --prometheus for a job across nodes, or --journal for this node only");
            }

            if (!Uri.TryCreate(url.EndsWith('/') ? url : url + "/", UriKind.Absolute, out var baseUrl) || baseUrl.Scheme is not ("http" or "https"))
            {
                throw new UserInputException($"--prometheus {url} is not an http(s) URL; pass e.g. http://prometheus:9090");
            }

            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
            var report = await new PrometheusReportSource(http, baseUrl, TimeProvider.System).BuildAsync(request.Job, request.From, request.To, cancellationToken);
            await WriteAsync(report, request);
        }
        else
        {
            // Read-only: a report never writes to the journal (it works on a read-only mount or a
            // copy), and the violations are streamed from it while the report is written.
            var directory = request.Journal ?? DefaultJournal;
            if (!AuditJournal.Exists(directory))
            {
                throw new UserInputException($"no journal in {directory}; pass --journal with the directory the agent writes to, or --prometheus URL");
            }

            using var journal = JournalReader.Open(directory);
            var source = new JournalReportSource(journal);
            await WriteAsync(request.Job is { } id ? source.Build(id, request.From, request.To) : source.BuildAll(request.From, request.To), request);
        }

        return 0;
    }

    private static async Task WriteAsync(JobReport report, ReportRequest request)
    {
        if (request.Output is not { } path)
        {
            await using var stdout = Console.OpenStandardOutput();
            ReportText.Write(report, request.Format, stdout);
            return;
        }

        try
        {
            await using (var file = File.Create(path))
            {
                ReportText.Write(report, request.Format, file);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UserInputException($"cannot write {path} ({e.Message}); pass a writable --out path", e);
        }

        await Console.Error.WriteLineAsync($"gpuaudit: report for {report.Subject} ({report.Headline}) written to {path}");
    }

    private static double? ParseTime(string? text, string option)
    {
        if (text is null)
        {
            return null;
        }

        return ReportTime.TryParse(text, TimeProvider.System.GetUtcNow(), out var value)
            ? value
            : throw new UserInputException($"{option} \"{text}\" is not a time; use {ReportTime.Formats}");
    }

    private static ReportFormat ParseFormat(string? text) => ReportText.TryParseFormat(text, out var format)
        ? format
        : throw new UserInputException($"--format \"{text}\" is not supported; use md, html or json");

    private sealed record ReportRequest(string? Job, double? From, double? To, ReportFormat Format, string? Journal, string? Prometheus, string? Output);
}

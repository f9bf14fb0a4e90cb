using System.CommandLine;
using GpuAudit.Agent.Journal;
using GpuAudit.Agent.Reporting;
using GpuAudit.Core;
using GpuAudit.Core.Reporting;
using GpuAudit.Core.Summaries;

namespace GpuAudit.Cli.Commands;

/// <summary>
/// <c>gpuaudit report</c>: a job's audit report from this node's journal, or from Prometheus for
/// a job that spans nodes (docs/reports.md).
/// </summary>
internal static class ReportCommand
{
    public const string DefaultJournal = "/var/lib/gpuaudit";

    public static Command Create()
    {
        var job = new Option<string>("--job") { Description = "Scheduler job id to report on", Required = true };
        var from = new Option<string?>("--from") { Description = "Start of the window: " + ReportTime.Formats + " (default: the job's first record)" };
        var to = new Option<string?>("--to") { Description = "End of the window, same forms (default: the job's last record)" };
        var format = new Option<string>("--format") { Description = "md, html or json", DefaultValueFactory = _ => "md" };
        var journal = new Option<string?>("--journal") { Description = "Journal directory of this node (default " + DefaultJournal + ")" };
        var prometheus = new Option<string?>("--prometheus") { Description = "Prometheus base URL: report from range queries over every node of the job" };
        var output = new Option<string?>("--out") { Description = "Write the report to this file (default: stdout)" };

        var command = new Command("report", "Write a job's GPU audit report: verdict, GPU time and energy by class, processes, violations with evidence.")
        {
            job, from, to, format, journal, prometheus, output,
        };
        command.SetAction((parseResult, cancellationToken) => CliRunner.RunAsync(async () =>
        {
            var request = new ReportRequest(
                parseResult.GetValue(job)!,
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
            await WriteAsync(new JournalReportSource(journal).Build(request.Job, request.From, request.To), request);
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

        await Console.Error.WriteLineAsync($"gpuaudit: report for job {request.Job} ({report.Headline}) written to {path}");
    }

    private static double? ParseTime(string? text, string option)
    {
        if (text is null)
        {
            return null;
        }

        return ReportTime.TryParse(text, DateTimeOffset.UtcNow, out var value)
            ? value
            : throw new UserInputException($"{option} \"{text}\" is not a time; use {ReportTime.Formats}");
    }

    private static ReportFormat ParseFormat(string? text) => ReportText.TryParseFormat(text, out var format)
        ? format
        : throw new UserInputException($"--format \"{text}\" is not supported; use md, html or json");

    private sealed record ReportRequest(string Job, double? From, double? To, ReportFormat Format, string? Journal, string? Prometheus, string? Output);
}

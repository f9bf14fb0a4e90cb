using System.Globalization;
using System.Net;
using System.Text;

namespace GpuAudit.Agent.Tests.Reporting;

public sealed class PrometheusReportSourceTests
{
    private const double T0 = 1_795_733_000;

    [Fact]
    public async Task A_two_node_job_is_reported_from_range_queries()
    {
        var prometheus = new CannedPrometheus();
        prometheus.Answer("present_over_time(gpuaudit_gpu_job_info{job_id=\"4242\"}", Series(Labels("node-a:9477", "GPU-a", ("job_id", "4242")), Range(0, 60, _ => 1)));
        prometheus.Answer("timestamp(gpuaudit_gpu_job_info{job_id=\"4242\"})",
            Series(Labels("node-a:9477", "GPU-a", ("user", "alice"), ("job_id", "4242")), Range(0, 60, t => t)),
            Series(Labels("node-b:9477", "GPU-b", ("user", "alice"), ("job_id", "4242")), Range(0, 60, t => t)));
        prometheus.Answer("gpuaudit_gpu_class_seconds_total and",
            Series(Labels("node-a:9477", "GPU-a", ("class", "training")), Range(0, 60, t => t - T0 < 50 ? t - T0 : 50)),
            Series(Labels("node-a:9477", "GPU-a", ("class", "hash")), Range(0, 60, t => t - T0 < 50 ? 0 : t - T0 - 50)),
            // The agent on node-b restarted at T0+30: its counter started again from zero.
            Series(Labels("node-b:9477", "GPU-b", ("class", "training")), Range(0, 60, t => t - T0 < 30 ? 100 + t - T0 : t - T0 - 30)));
        prometheus.Answer("gpuaudit_gpu_energy_joules_total and",
            Series(Labels("node-a:9477", "GPU-a"), Range(0, 60, t => 5000 + (500 * (t - T0)))),
            Series(Labels("node-b:9477", "GPU-b"), Range(0, 60, t => 9000 + (400 * (t - T0)))));
        prometheus.Answer("(gpuaudit_gpu_class == 1) and",
            Series(Labels("node-a:9477", "GPU-a", ("class", "training")), Range(0, 49, _ => 1)),
            Series(Labels("node-a:9477", "GPU-a", ("class", "hash")), Range(50, 60, _ => 1)),
            Series(Labels("node-b:9477", "GPU-b", ("class", "training")), Range(0, 60, _ => 1)));
        prometheus.Answer("gpuaudit_gpu_utilization_ratio and",
            Series(Labels("node-a:9477", "GPU-a"), Range(0, 60, _ => 0.9)),
            Series(Labels("node-b:9477", "GPU-b"), Range(0, 60, _ => 0.5)));
        prometheus.Answer("gpuaudit_process_info{job_id=\"4242\"}",
            Series(Labels("node-a:9477", "GPU-a", ("pid", "776"), ("comm", "python3"), ("exe", "/usr/bin/python3.12"), ("user", "alice"), ("job_id", "4242")), Range(0, 60, _ => 1)));
        prometheus.Answer("(gpuaudit_process_class == 1) and",
            Series(Labels("node-a:9477", "GPU-a", ("pid", "776"), ("class", "hash")), Range(50, 59, _ => 1)));
        prometheus.Answer("gpuaudit_process_sm_utilization_ratio and",
            Series(Labels("node-a:9477", "GPU-a", ("pid", "776")), Range(50, 59, _ => 0.8)));
        prometheus.Answer("timestamp(gpuaudit_violation_active{job_id=\"4242\"})",
            Series(Labels("node-a:9477", "GPU-a", ("rule", "hash_compute"), ("severity", "critical"), ("pid", "776"), ("job_id", "4242")), Range(55, 58, t => t)));

        // The agent's diverted counter (Core's DivertedTime): 9 s backlog at the violation's opening, then 1 s a second.
        prometheus.Answer("gpuaudit_gpu_diverted_seconds_total{job_id=\"4242\"}",
            Series(Labels("node-a:9477", "GPU-a", ("job_id", "4242")), Range(0, 60, t => t - T0 < 55 ? 0 : 9 + t - T0 - 55)));

        var report = await Source(prometheus).BuildAsync("4242", T0, T0 + 100, CancellationToken.None);

        Assert.Equal(["node-a:9477", "node-b:9477"], report.Nodes);
        Assert.Equal(("alice", 60.0), (report.User, report.WallSeconds));
        Assert.Equal(50 + 29 + 30, report.GpuSeconds[WorkloadClass.Training]);
        Assert.Equal(10, report.GpuSeconds[WorkloadClass.Hash]);
        Assert.Equal((500 * 60) + (400 * 60), report.EnergyJoules);
        var violation = Assert.Single(report.Violations);
        Assert.Equal((PolicyRule.HashCompute, 776, "node-a:9477", T0 + 55, (double?)(T0 + 58)), (violation.Rule, violation.Pid!.Value, violation.Node!, violation.Start, violation.End));
        Assert.Equal(14, report.DivertedSeconds);
        Assert.Equal("1 violation, 0.2 GPU-minutes diverted", report.Headline);
        var process = Assert.Single(report.Processes);
        Assert.Equal((776, "python3", WorkloadClass.Hash, 10.0), (process.Pid, process.Comm!, process.ClassSeconds.Dominant!.Value, process.ClassSeconds.Total));
        Assert.Equal(0.8, process.MeanSmUtilization!.Value, 6);
        var timeline = report.Timelines.Single(t => t.Uuid == "GPU-a");
        Assert.Equal(WorkloadClass.Hash, timeline.Points[^1].Class);
        Assert.Equal(0.9, timeline.Points[0].Utilization);
        Assert.All(prometheus.Queries, q => Assert.Contains("job_id=\"4242\"", q, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Without_a_window_the_job_is_found_first_then_queried_over_its_life()
    {
        var prometheus = new CannedPrometheus();
        prometheus.Answer("present_over_time(gpuaudit_gpu_job_info{job_id=\"7\"}", Series(Labels("n:9477", "GPU-a", ("job_id", "7")), Range(0, 30, _ => 1)));
        prometheus.Answer("timestamp(gpuaudit_gpu_job_info{job_id=\"7\"})", Series(Labels("n:9477", "GPU-a", ("job_id", "7")), Range(0, 30, t => t)));
        var clock = new FakeTimeProvider(DateTimeOffset.FromUnixTimeSeconds((long)T0 + 3600));

        var report = await new PrometheusReportSource(new HttpClient(prometheus), new Uri("http://prom.test:9090/"), clock).BuildAsync("7", null, null, CancellationToken.None);

        Assert.Equal((T0 - 1, T0 + 31), (report.From, report.To));
        Assert.Equal("clean", report.Headline);
        Assert.Contains("&step=1", prometheus.Urls[^1], StringComparison.Ordinal);
        Assert.Contains("&step=605", prometheus.Urls[0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_job_Prometheus_never_saw_is_a_clear_error()
    {
        var error = await Assert.ThrowsAsync<UserInputException>(() => Source(new CannedPrometheus()).BuildAsync("nope", T0, T0 + 60, CancellationToken.None));

        Assert.Contains("has no gpuaudit_gpu_job_info{job_id=\"nope\"}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_Prometheus_error_names_the_query()
    {
        var prometheus = new CannedPrometheus { Failure = """{"status":"error","errorType":"bad_data","error":"exceeded maximum resolution"}""" };

        var error = await Assert.ThrowsAsync<UserInputException>(() => Source(prometheus).BuildAsync("4242", T0, T0 + 60, CancellationToken.None));

        Assert.Contains("refused present_over_time(gpuaudit_gpu_job_info{job_id=\"4242\"}[1s]): exceeded maximum resolution", error.Message, StringComparison.Ordinal);
    }

    private static PrometheusReportSource Source(CannedPrometheus prometheus) =>
        new(new HttpClient(prometheus), new Uri("http://prom.test:9090/"), new FakeTimeProvider());

    private static Dictionary<string, string> Labels(string instance, string uuid, params (string Name, string Value)[] more)
    {
        var labels = new Dictionary<string, string> { ["instance"] = instance, ["uuid"] = uuid, ["job"] = "gpuaudit" };
        foreach (var (name, value) in more)
        {
            labels[name] = value;
        }

        return labels;
    }

    private static IEnumerable<(double, double)> Range(int fromSecond, int toSecond, Func<double, double> value) =>
        Enumerable.Range(fromSecond, toSecond - fromSecond + 1).Select(s => (T0 + s, value(T0 + s)));

    private static string Series(Dictionary<string, string> labels, IEnumerable<(double Time, double Value)> points)
    {
        var metric = string.Join(",", labels.Select(l => $"\"{l.Key}\":\"{l.Value}\""));
        var values = string.Join(",", points.Select(p => string.Create(CultureInfo.InvariantCulture, $"[{p.Time},\"{p.Value}\"]")));
        return $"{{\"metric\":{{{metric}}},\"values\":[{values}]}}";
    }

    /// <summary>Answers /api/v1/query_range with canned matrices chosen by the start of the query.</summary>
    private sealed class CannedPrometheus : HttpMessageHandler
    {
        private readonly List<(string Prefix, string Json)> _answers = [];

        public List<string> Queries { get; } = [];

        public List<string> Urls { get; } = [];

        public string? Failure { get; init; }

        public void Answer(string queryPrefix, params string[] series) =>
            _answers.Add((queryPrefix, $"{{\"status\":\"success\",\"data\":{{\"resultType\":\"matrix\",\"result\":[{string.Join(",", series)}]}}}}"));

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var uri = request.RequestUri!;
            Assert.Equal("/api/v1/query_range", uri.AbsolutePath);
            var query = Uri.UnescapeDataString(uri.Query.Split('&')[0]["?query=".Length..]);
            Queries.Add(query);
            Urls.Add(uri.ToString());
            var json = Failure
                ?? _answers.FirstOrDefault(a => query.StartsWith(a.Prefix, StringComparison.Ordinal)).Json
                ?? """{"status":"success","data":{"resultType":"matrix","result":[]}}""";
            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(json, Encoding.UTF8, "application/json") });
        }
    }
}

namespace GpuAudit.Core.Tests.Reporting;

/// <summary>A two-node job with one violation and one allowed finding, for the golden files.</summary>
internal static class FixedReport
{
    public const double Start = 1795733300;

    public static JobReport Create()
    {
        var allowance = new Allowance([PolicyRule.IdleAllocation], "4242", null, null, null, "warm-up waits for the dataset mount | ticket OPS-7", 21);
        return new JobReport
        {
            JobId = "4242",
            User = "alice",
            From = Start,
            To = Start + 600,
            FirstSeen = Start + 20,
            LastSeen = Start + 560,
            Source = "journal /var/lib/gpuaudit",
            Gpus =
            [
                new ReportGpu("node-a", "GPU-aaaa", 0, ClassSeconds.Of((WorkloadClass.Training, 420), (WorkloadClass.Hash, 90), (WorkloadClass.Idle, 30)), 190_000, 0.87),
                new ReportGpu("node-b", "GPU-bbbb", 0, ClassSeconds.Of((WorkloadClass.Training, 500), (WorkloadClass.Idle, 40)), 150_500, 0.74),
            ],
            Processes =
            [
                new ReportProcess("node-a", "GPU-aaaa", 775, "python3", "/usr/bin/python3.12", "alice", ClassSeconds.Of((WorkloadClass.Training, 420)), 0.61),
                new ReportProcess("node-a", "GPU-aaaa", 776, "python3", "/usr/bin/python3.12", "alice", ClassSeconds.Of((WorkloadClass.Hash, 90), (WorkloadClass.Unknown, 10)), 0.98),
                new ReportProcess("node-b", "GPU-bbbb", 901, "python3", "/usr/bin/python3.12", "alice", ClassSeconds.Of((WorkloadClass.Training, 500)), null),
            ],
            // What the agent's policy computed (DivertedTime): 90 GPU-seconds.
            DivertedSeconds = 90,
            Violations =
            [
                new Violation
                {
                    Id = "0f3a9c2e51b7d604", Rule = PolicyRule.HashCompute, Node = "node-a", Gpu = 0, Uuid = "GPU-aaaa", Pid = 776, Job = "4242", User = "alice",
                    Executable = "/usr/bin/python3.12", Start = Start + 100, End = Start + 190,
                    Evidence = ["pid 776 classified hash (confidence 0.93)", "integer pipe 96%, tensor 0%, fp 0% <for 60 s>"],
                },
                new Violation
                {
                    Id = "7be01d44a2c9f310", Rule = PolicyRule.IdleAllocation, Node = "node-b", Gpu = 0, Uuid = "GPU-bbbb", Job = "4242", User = "alice",
                    Start = Start + 20, Evidence = ["GPU allocated to job 4242 (gpu-map) but idle"], AllowedBy = allowance,
                },
            ],
            Timelines =
            [
                new GpuTimeline("node-a", "GPU-aaaa",
                [
                    new TimelinePoint(Start + 0, 60, WorkloadClass.Idle, 0),
                    new TimelinePoint(Start + 60, 60, WorkloadClass.Training, 0.8),
                    new TimelinePoint(Start + 120, 60, WorkloadClass.Hash, 1),
                    new TimelinePoint(Start + 180, 60, WorkloadClass.Mixed, 0.95),
                    new TimelinePoint(Start + 240, 60, WorkloadClass.Training, 0.82),
                ]),
                new GpuTimeline("node-b", "GPU-bbbb",
                [
                    new TimelinePoint(Start + 0, 60, WorkloadClass.Idle, null),
                    new TimelinePoint(Start + 60, 240, WorkloadClass.Training, 0.7),
                ]),
            ],
            Notes = ["node-b journal was not reachable for 2 minutes"],
        };
    }
}

namespace GpuAudit.Linux.Tests;

/// <summary>--context-env: the named variables of a process's environment, read through the bounded procfs reader and redacted.</summary>
public sealed class RunContextInspectionTests : IDisposable
{
    private readonly FakeProcTree _proc = new();

    [Fact]
    public void The_named_variables_reach_the_insight_redacted()
    {
        _proc.Process(4242, "python3").File(4242, "environ", $"HOME=/root\0RL_RUN_ID=grpo-run-42\0HF_TOKEN={SecretSamples.GithubToken}\0RL_EPISODE_ID=ep-0917\0");
        var inspector = new ProcessInspector(_proc.Root, new InspectorOptions { ContextEnv = ["RL_RUN_ID", "RL_EPISODE_ID", "HF_TOKEN"] });

        var insight = inspector.Inspect(4242)!;

        Assert.Equal(["RL_RUN_ID=grpo-run-42", "RL_EPISODE_ID=ep-0917", "HF_TOKEN=***"], insight.Context);
    }

    [Fact]
    public void An_environ_past_the_read_cap_is_cut_there_and_what_lies_beyond_is_not_read()
    {
        var cap = ProcFileSystem.MaxBytes("environ");
        _proc.Process(4243, "python3").File(4243, "environ", "RL_EPISODE_ID=ep-1\0PAD=" + new string('p', cap) + "\0RL_RUN_ID=hidden\0");
        var inspector = new ProcessInspector(_proc.Root, new InspectorOptions { ContextEnv = ["RL_RUN_ID", "RL_EPISODE_ID"] });

        var insight = inspector.Inspect(4243)!;

        Assert.Equal(["RL_EPISODE_ID=ep-1"], insight.Context);
    }

    [Fact]
    public void Without_context_env_nothing_is_captured()
    {
        _proc.Process(4244, "python3").File(4244, "environ", "RL_RUN_ID=grpo-run-42\0");

        Assert.Empty(new ProcessInspector(_proc.Root).Inspect(4244)!.Context);
    }

    public void Dispose() => _proc.Dispose();
}

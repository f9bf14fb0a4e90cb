using GpuAudit.Core.Tests.Policy;

namespace GpuAudit.Core.Tests.Inspection;

public sealed class RunContextTests
{
    private static readonly string[] Names = ["RL_RUN_ID", "RL_EPISODE_ID", "WANDB_API_KEY", "NOTE"];

    [Fact]
    public void Named_variables_are_captured_in_the_order_asked_and_secrets_are_masked()
    {
        var environ = $"PATH=/usr/bin\0RL_EPISODE_ID=ep-0917\0WANDB_API_KEY=abc123secretvalue\0RL_RUN_ID=grpo-run-42\0NOTE=push {SecretSamples.GithubToken}\0RL_RUN_ID=second\0";

        var context = RunContext.Capture(environ, Names);

        Assert.Equal(["RL_RUN_ID=grpo-run-42", "RL_EPISODE_ID=ep-0917", "WANDB_API_KEY=***", "NOTE=push ***"], context);
    }

    [Fact]
    public void Missing_variables_and_malformed_entries_are_left_out()
    {
        Assert.Empty(RunContext.Capture("=x\0RL_RUN_ID\0OTHER=1", Names));
        Assert.Empty(RunContext.Capture(null, Names));
        Assert.Empty(RunContext.Capture("RL_RUN_ID=1", []));
    }

    [Fact]
    public void A_long_value_is_cut_and_a_huge_environ_is_one_linear_pass()
    {
        var environ = string.Concat(Enumerable.Repeat("FILLER=" + new string('x', 100) + "\0", 2500)) + "RL_RUN_ID=" + new string('r', 10_000);

        var context = RunContext.Capture(environ, Names);

        var entry = Assert.Single(context);
        Assert.Equal("RL_RUN_ID=".Length + RunContext.MaxValueChars + 1, entry.Length);
        Assert.EndsWith("…", entry, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("RL RUN")]
    [InlineData("1ID")]
    [InlineData("A-B")]
    public void Bad_names_are_user_input_errors_naming_the_name(string name)
    {
        var error = Assert.Throws<UserInputException>(() => RunContext.ParseNames(["RL_RUN_ID," + name]));

        Assert.Contains($"\"{name.Trim()}\"", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Names_are_comma_separated_or_repeated_and_bounded()
    {
        Assert.Equal(["A", "B", "C"], RunContext.ParseNames(["A,B", "C", "A"]));
        Assert.Throws<UserInputException>(() => RunContext.ParseNames([string.Join(',', Enumerable.Range(0, 17).Select(i => "V" + i))]));
    }

    [Fact]
    public void A_violation_names_the_runs_of_the_processes_that_fed_it()
    {
        var engine = new PolicyEngine(AuditPolicy.Default);
        var miner = HandTicks.Process(7, WorkloadClass.Compute, findings: new ProcessFinding(FindingKind.MinerExecutable, "xmrig"));
        miner = miner with { Insight = miner.Insight! with { Context = ["RL_RUN_ID=grpo-run-42", "WANDB_API_KEY=***"] } };

        var opened = Assert.Single(engine.Evaluate(HandTicks.At(0, null, WorkloadClass.Compute, miner)).Opened, v => v.Rule == PolicyRule.MinerIdentity);

        Assert.Equal(["RL_RUN_ID=grpo-run-42", "WANDB_API_KEY=***"], opened.Context);
    }
}

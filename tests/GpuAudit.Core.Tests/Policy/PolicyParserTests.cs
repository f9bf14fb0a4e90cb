namespace GpuAudit.Core.Tests.Policy;

public sealed class PolicyParserTests
{
    private static readonly Dictionary<string, string> NoEnvironment = [];

    [Fact]
    public void Shipped_example_parses_with_its_documented_defaults_and_allowances()
    {
        var path = RepoPaths.File("config", "policy.example.json");
        var policy = PolicyParser.Parse(path, File.ReadAllText(path), NoEnvironment);

        Assert.Equal(AuditPolicy.DefaultRules(), policy.Rules);
        Assert.Equal(2, policy.Allowances.Count);
        var curation = policy.Allowances[0];
        Assert.Equal([PolicyRule.HashCompute], curation.Rules);
        Assert.Equal("curation-4242", curation.Job);
        Assert.Contains("DATA-118", curation.Reason, StringComparison.Ordinal);
        Assert.Equal("notebooks", policy.Allowances[1].Namespace);
        Assert.Equal(JobPurpose.Any, policy.DefaultPurpose);
        Assert.Equal(JobPurpose.Training, policy.PartitionPurposes["gpu-train"]);
        Assert.Equal(JobPurpose.Compute, policy.AccountPurposes["hpc-lab"]);
    }

    [Fact]
    public void Settings_override_the_defaults_rule_by_rule()
    {
        var policy = Parse("""
            {
              "rules": {
                "hash_compute": { "open_after_seconds": 12, "close_after_seconds": 3 },
                "idle_allocation": { "idle_minutes": 2.5 },
                "unattributed_process": { "enabled": false }
              }
            }
            """);

        Assert.Equal(new RuleSettings(true, 12, 3), policy[PolicyRule.HashCompute]);
        Assert.Equal(150, policy[PolicyRule.IdleAllocation].OpenAfterSeconds);
        Assert.False(policy[PolicyRule.UnattributedProcess].Enabled);
        Assert.Equal(AuditPolicy.Default[PolicyRule.MinerIdentity], policy[PolicyRule.MinerIdentity]);
    }

    [Theory]
    [InlineData("{\n  \"rules\": {\n    \"hash_compute\": { \"open_after\": 5 }\n  }\n}", 3, "unknown key \"open_after\" in rule \"hash_compute\"; use enabled, open_after_seconds")]
    [InlineData("{\n  \"rules\": {\n    \"hashing\": {}\n  }\n}", 3, "unknown rule \"hashing\"; use one of hash_compute, miner_identity")]
    [InlineData("{\n  \"allowances\": [\n    { \"job\": \"7\" }\n  ]\n}", 3, "allowance without a reason; add \"reason\"")]
    [InlineData("{\n  \"allowances\": [\n\n    { \"reason\": \"x\" }\n  ]\n}", 4, "allowance without a scope would allow everything; add job, user")]
    [InlineData("{\n  \"rules\": {\n    \"hash_compute\": { \"open_after_seconds\": -1 }\n  }\n}", 3, "\"open_after_seconds\" must be a number of 0 or more; write e.g.")]
    [InlineData("{\n  \"rules\": {\n    \"hash_compute\": { \"enabled\": \"yes\" }\n  }\n}", 3, "\"enabled\" must be true or false")]
    [InlineData("{\n  \"version\": 1,\n  \"rules\": { ]\n}", 3, "not valid JSON")]
    [InlineData("{\n  \"version\": 2\n}", 2, "unsupported \"version\"; set \"version\": 1")]
    public void Errors_name_the_file_and_line_and_say_how_to_fix_it(string text, int line, string expected)
    {
        var error = Assert.Throws<PolicyException>(() => PolicyParser.Parse("site.json", text, NoEnvironment));

        Assert.StartsWith($"site.json:{line}: ", error.Message, StringComparison.Ordinal);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.IsAssignableFrom<UserInputException>(error);
    }

    [Fact]
    public void Environment_overrides_win_over_the_file()
    {
        var environment = new Dictionary<string, string>
        {
            ["GPUAUDIT_POLICY_IDLE_ALLOCATION_MINUTES"] = "30",
            ["GPUAUDIT_POLICY_HASH_COMPUTE_OPEN_AFTER_SECONDS"] = "2",
            ["GPUAUDIT_POLICY_MINER_IDENTITY_ENABLED"] = "false",
            ["PATH"] = "/usr/bin",
        };

        var policy = PolicyParser.Parse("p.json", """{ "rules": { "hash_compute": { "open_after_seconds": 9 } } }""", environment);

        Assert.Equal(1800, policy[PolicyRule.IdleAllocation].OpenAfterSeconds);
        Assert.Equal(2, policy[PolicyRule.HashCompute].OpenAfterSeconds);
        Assert.False(policy[PolicyRule.MinerIdentity].Enabled);
    }

    [Theory]
    [InlineData("GPUAUDIT_POLICY_HASH_COMPUTE_OPEN_AFTER", "5", "unknown policy override")]
    [InlineData("GPUAUDIT_POLICY_IDLE_ALLOCATION_MINUTES", "ten", "\"ten\" is not a number")]
    [InlineData("GPUAUDIT_POLICY_GPU_JOB_EGRESS_ENABLED", "maybe", "\"maybe\" is not a boolean")]
    public void Bad_environment_overrides_name_the_variable(string name, string value, string expected)
    {
        var error = Assert.Throws<PolicyException>(() => PolicyParser.Parse("p.json", "{}", new Dictionary<string, string> { [name] = value }));

        Assert.StartsWith("environment " + name + ":1: ", error.Message, StringComparison.Ordinal);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    private static AuditPolicy Parse(string text) => PolicyParser.Parse("test.json", text, NoEnvironment);
}

namespace GpuAudit.Ebpf.Tests;

/// <summary>
/// A fact that loads real BPF programs: needs root (CAP_BPF, CAP_PERFMON) and gcc for the
/// stand-in libcuda. Skipped with the reason elsewhere; required under scripts/test.sh
/// (GPUAUDIT_REQUIRE_TOOLS=1), where a missing privilege fails it instead.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
internal sealed class EbpfFactAttribute : FactAttribute
{
    public EbpfFactAttribute() => Skip = SkipReason();

    public static string? SkipReason()
    {
        if (Environment.GetEnvironmentVariable(ToolRequirement.RequireAllVariable) == "1")
        {
            return null;
        }

        if (!Environment.IsPrivilegedProcess)
        {
            return "loads BPF programs: needs root (scripts/test.sh runs it as root)";
        }

        return ToolRequirement.SkipReason(["gcc"]);
    }
}

/// <summary>The <see cref="EbpfFactAttribute"/> of theories.</summary>
[AttributeUsage(AttributeTargets.Method)]
internal sealed class EbpfTheoryAttribute : TheoryAttribute
{
    public EbpfTheoryAttribute() => Skip = EbpfFactAttribute.SkipReason();
}

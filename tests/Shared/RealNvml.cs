namespace GpuAudit.Tests;

/// <summary>
/// NVIDIA's own libnvidia-ml.so.1 (Debian non-free libnvidia-ml1, R535), unpacked without
/// installing by scripts/fetch-nvidia-ml.sh into .cache/nvidia-ml/ (scripts/test.sh runs it).
/// <see cref="VariableName"/> points elsewhere when set.
/// </summary>
internal static class RealNvml
{
    public const string VariableName = "GPUAUDIT_TEST_NVIDIA_ML";

    public static string Path { get; } = Environment.GetEnvironmentVariable(VariableName) is { Length: > 0 } set
        ? set
        : RepoPaths.File(".cache", "nvidia-ml", "root", "usr", "lib", "x86_64-linux-gnu", "nvidia", "current", "libnvidia-ml.so.1");

    /// <summary>Null when the library is there (or scripts/test.sh requires every test to run); else why the test is skipped.</summary>
    public static string? SkipReason() =>
        System.IO.File.Exists(Path) || Environment.GetEnvironmentVariable(ToolRequirement.RequireAllVariable) == "1"
            ? null
            : $"needs NVIDIA's libnvidia-ml.so.1 at {Path}: run scripts/fetch-nvidia-ml.sh (scripts/test.sh does)";
}

/// <summary>A fact that loads NVIDIA's real libnvidia-ml (see <see cref="RealNvml"/>).</summary>
[AttributeUsage(AttributeTargets.Method)]
internal sealed class RealNvmlFactAttribute : FactAttribute
{
    public RealNvmlFactAttribute() => Skip = RealNvml.SkipReason();
}

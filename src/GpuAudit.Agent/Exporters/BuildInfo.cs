using System.Reflection;

namespace GpuAudit.Agent.Exporters;

/// <summary>
/// What <c>gpuaudit_build_info</c> says about this binary: the version and the git commit the SDK
/// stamped into the informational version ("1.0.0+&lt;commit&gt;"), and the .NET runtime.
/// </summary>
public static class BuildInfo
{
    private static readonly string Informational =
        typeof(BuildInfo).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    public static string Version => Informational.Split('+')[0];

    public static string Revision => Informational.Contains('+', StringComparison.Ordinal) ? Informational[(Informational.IndexOf('+', StringComparison.Ordinal) + 1)..] : "unknown";

    public static string DotnetVersion => Environment.Version.ToString();
}

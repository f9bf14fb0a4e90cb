namespace GpuAudit.Tests;

/// <summary>Locates files of the repository (fixtures, shipped configs) from a test's working directory.</summary>
internal static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    /// <summary>The real H100 recordings copied from shared/traces into data/traces.</summary>
    public static string Trace(string name) => Path.Combine(Root, "data", "traces", name.EndsWith(".jsonl", StringComparison.Ordinal) ? name : name + ".jsonl");

    public static string File(params string[] parts) => Path.Combine([Root, .. parts]);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (System.IO.File.Exists(Path.Combine(dir.FullName, "GpuAudit.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("GpuAudit.sln not found above " + AppContext.BaseDirectory);
    }
}

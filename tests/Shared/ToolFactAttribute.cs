namespace GpuAudit.Tests;

/// <summary>
/// A fact that needs programs from Debian packages (promtool, chromium, gcc, ...). Under a plain
/// <c>dotnet test</c> on a machine without them it is skipped with a reason that names the
/// packages; <c>scripts/test.sh</c> installs them and sets <c>GPUAUDIT_REQUIRE_TOOLS=1</c>, so there a
/// missing tool runs the test and fails it instead of hiding it behind a skip.
/// Mark the class <c>[Trait("Category", "Integration")]</c> as well, so it can be filtered.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
internal sealed class ToolFactAttribute : FactAttribute
{
    public ToolFactAttribute(params string[] tools) => Skip = ToolRequirement.SkipReason(tools);
}

/// <summary>The <see cref="ToolFactAttribute"/> of theories.</summary>
[AttributeUsage(AttributeTargets.Method)]
internal sealed class ToolTheoryAttribute : TheoryAttribute
{
    public ToolTheoryAttribute(params string[] tools) => Skip = ToolRequirement.SkipReason(tools);
}

/// <summary>Finds programs on PATH and says which are missing.</summary>
internal static class ToolRequirement
{
    /// <summary>Set by scripts/test.sh: every tool must be present, so none is ever skipped there.</summary>
    public const string RequireAllVariable = "GPUAUDIT_REQUIRE_TOOLS";

    public static string? SkipReason(IReadOnlyList<string> tools)
    {
        if (Environment.GetEnvironmentVariable(RequireAllVariable) == "1")
        {
            return null;
        }

        var missing = tools.Where(t => Find(t) is null).ToList();
        return missing.Count == 0
            ? null
            : $"needs {string.Join(", ", missing)} on PATH (scripts/test.sh installs the Debian packages and runs this test)";
    }

    /// <summary>The full path of <paramref name="tool"/> on PATH (or the path itself when it is one), else null.</summary>
    public static string? Find(string tool)
    {
        if (tool.Contains('/', StringComparison.Ordinal))
        {
            return File.Exists(tool) ? tool : null;
        }

        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, tool);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }
}

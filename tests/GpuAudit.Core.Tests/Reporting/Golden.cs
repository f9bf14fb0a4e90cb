using GpuAudit.Tests;

namespace GpuAudit.Core.Tests.Reporting;

/// <summary>
/// Compares text output with a checked-in file beside the tests. Set GPUAUDIT_UPDATE_GOLDEN=1 to
/// rewrite the files after an intended change, then review the diff.
/// </summary>
internal static class Golden
{
    public static void AssertMatches(string relativePath, string actual)
    {
        var path = RepoPaths.File("tests", "GpuAudit.Core.Tests", relativePath);
        if (Environment.GetEnvironmentVariable("GPUAUDIT_UPDATE_GOLDEN") == "1")
        {
            File.WriteAllText(path, actual);
        }

        Assert.Equal(File.ReadAllText(path), actual);
    }
}

namespace GpuAudit.Tests;

/// <summary>
/// Golden-file comparison. Golden files live in the source tree (path relative to the repository
/// root); run the tests with UPDATE_GOLDEN=1 to rewrite them after an intended change, then
/// review the diff.
/// </summary>
internal static class Golden
{
    public static void AssertMatches(string pathFromRepoRoot, string actual)
    {
        var path = Path.Combine(RepoPaths.Root, pathFromRepoRoot);
        if (Environment.GetEnvironmentVariable("UPDATE_GOLDEN") == "1")
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            System.IO.File.WriteAllText(path, actual);
            return;
        }

        Assert.True(System.IO.File.Exists(path), $"golden file {path} is missing; run the tests with UPDATE_GOLDEN=1 to create it");
        Assert.Equal(System.IO.File.ReadAllText(path), actual);
    }
}

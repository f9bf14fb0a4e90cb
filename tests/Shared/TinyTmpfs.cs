using System.Diagnostics;
using System.Globalization;

namespace GpuAudit.Tests;

/// <summary>
/// A fact that mounts a tmpfs (a disk that can be filled on purpose): it needs root and
/// mount(8). Skipped with the reason under a plain <c>dotnet test</c> without them; required,
/// like every <see cref="ToolFactAttribute"/>, under scripts/test.sh (which runs as root).
/// Mark the class <c>[Trait("Category", "Integration")]</c>.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
internal sealed class TmpfsFactAttribute : FactAttribute
{
    public TmpfsFactAttribute()
    {
        Skip = ToolRequirement.SkipReason(["mount", "umount"]) ??
            (Environment.IsPrivilegedProcess || Environment.GetEnvironmentVariable(ToolRequirement.RequireAllVariable) == "1"
                ? null
                : "mounts a tmpfs: needs root (scripts/test.sh runs it)");
    }
}

/// <summary>A tmpfs of a few hundred KiB mounted on a fresh directory, with a file to fill it up and free it again.</summary>
internal sealed class TinyTmpfs : IDisposable
{
    public TinyTmpfs(int kibibytes)
    {
        Path = Directory.CreateTempSubdirectory("gpuaudit-tmpfs-").FullName;
        Run("mount", "-t", "tmpfs", "-o", $"size={kibibytes.ToString(CultureInfo.InvariantCulture)}k", "tmpfs", Path);
    }

    public string Path { get; }

    private string Filler => System.IO.Path.Combine(Path, "filler");

    /// <summary>Writes a file until the disk refuses more (ENOSPC).</summary>
    public void Fill()
    {
        using var file = new FileStream(Filler, FileMode.Append, FileAccess.Write, FileShare.None, 4096, FileOptions.None);
        var block = new byte[4096];
        try
        {
            while (true)
            {
                file.Write(block);
                file.Flush();
            }
        }
        catch (IOException)
        {
            // Full.
        }
    }

    public void Free() => File.Delete(Filler);

    public void Dispose()
    {
        Run("umount", "-l", Path);
        Directory.Delete(Path, recursive: true);
    }

    private static void Run(string program, params string[] args)
    {
        using var process = Process.Start(new ProcessStartInfo(program, args) { RedirectStandardError = true })!;
        var error = process.StandardError.ReadToEnd();
        if (!process.WaitForExit(TimeSpan.FromSeconds(30)))
        {
            throw new TimeoutException($"{program} {string.Join(' ', args)} did not exit within 30 s");
        }

        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} {string.Join(' ', args)} exited {process.ExitCode}: {error}");
        }
    }
}

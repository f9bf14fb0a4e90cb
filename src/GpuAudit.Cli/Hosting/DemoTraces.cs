using GpuAudit.Core;

namespace GpuAudit.Cli.Hosting;

/// <summary>
/// The real H100 recordings bundled into the executable for `gpuaudit demo` on a machine without
/// a GPU: training and hashing sharing one GPU, then training, inference and hashing alone.
/// </summary>
internal static class DemoTraces
{
    /// <summary>Order = GPU index in the demo node.</summary>
    public static IReadOnlyList<string> Names { get; } = ["mixed", "train_transformer", "infer_bf16", "hash_sha256"];

    /// <summary>The demo's scheduler: GPUs 0-2 belong to Slurm jobs; GPU 3 (the lone miner) to none.</summary>
    public static IReadOnlyList<string> Jobs { get; } = ["4242 0", "4243 0", "4244 0"];

    /// <summary>Writes the demo's GPU→job map (jobstats format) and returns its directory.</summary>
    public static string WriteJobMap(string directory)
    {
        Directory.CreateDirectory(directory);
        for (var gpu = 0; gpu < Jobs.Count; gpu++)
        {
            File.WriteAllText(Path.Combine(directory, gpu.ToString(System.Globalization.CultureInfo.InvariantCulture)), Jobs[gpu] + "\n");
        }

        return directory;
    }

    /// <summary>Writes the bundled traces into <paramref name="directory"/> and returns their paths.</summary>
    public static IReadOnlyList<string> Extract(string directory)
    {
        Directory.CreateDirectory(directory);
        var assembly = typeof(DemoTraces).Assembly;
        var paths = new List<string>();
        foreach (var name in Names)
        {
            using var resource = assembly.GetManifestResourceStream($"DemoTraces/{name}.jsonl")
                ?? throw new UserInputException($"this build of gpuaudit lacks the bundled demo trace '{name}'; rebuild from the repository (data/traces/{name}.jsonl)");
            var path = Path.Combine(directory, name + ".jsonl");
            using (var file = File.Create(path))
            {
                resource.CopyTo(file);
            }

            paths.Add(path);
        }

        return paths;
    }
}

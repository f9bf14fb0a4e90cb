using System.Globalization;
using GpuAudit.Core.Inspection;

namespace GpuAudit.Linux;

/// <summary>The human-readable form of an inspection (<c>gpuaudit inspect</c> without --json); every line redacted.</summary>
public static class ProcessInspectionText
{
    public static void Write(TextWriter output, ProcessInsight inspection, GpuCodeScanResult? scan)
    {
        var full = scan is null ? inspection : scan.AddTo(inspection);
        WriteLine(output, Invariant($"pid {full.Pid} ({full.Comm ?? "?"})"));
        Line(output, "exe", full.Identity.Exe);
        Line(output, "cmdline", full.Identity.Cmdline);
        Line(output, "user", full.User is null ? full.Uid?.ToString(CultureInfo.InvariantCulture) : Invariant($"{full.User} (uid {full.Uid})"));
        Line(output, "started", full.StartTime?.ToString("u", CultureInfo.InvariantCulture));
        Line(output, "job", full.Job is null ? "none" : full.Job.Id + " (" + full.Job.Source + (full.Job.User is null ? string.Empty : ", user " + full.Job.User) + ")");
        Line(output, "container", full.ContainerId);
        Line(output, "pod", full.PodUid);
        Line(output, "cgroup", full.Identity.Cgroup?.Trim().Replace('\n', ' '));
        Line(output, "parents", full.ParentChain.Count == 0 ? "none" : string.Join(" <- ", full.ParentChain.Select(p => Invariant($"{p.Pid} {p.Comm}"))));
        Line(output, "gpu libs", full.Identity.GpuLibs.Count == 0 ? "none" : string.Join(", ", full.Identity.GpuLibs));
        Line(output, "frameworks", full.Libraries.Frameworks.Count == 0 ? "none" : string.Join(", ", full.Libraries.Frameworks));
        if (full.Libraries.NvrtcOnly)
        {
            Line(output, "note", "compiles GPU code at run time (NVRTC) with no ML framework loaded");
        }

        WriteLine(output, "connections:");
        if (full.Connections.Count == 0)
        {
            WriteLine(output, "  none");
        }

        foreach (var c in full.Connections)
        {
            var flags = (c.PoolPort ? " [pool port]" : string.Empty) + (c.Allowlisted == false ? " [outside allowlist]" : string.Empty);
            WriteLine(output, Invariant($"  {c.Comm} (pid {c.Pid}) {c.Local} -> {c.Remote}{flags}"));
        }

        if (scan is not null)
        {
            var copies = scan.Images.Sum(i => i.Copies);
            WriteLine(output, Invariant($"memory scan: {scan.BytesScanned} bytes, {scan.Images.Count} distinct GPU code images ({copies} copies), {scan.CompressedEntries} compressed fatbin entries ({scan.UndecodedEntries} not decoded){(scan.ImagesNotKept > 0 ? $", {scan.ImagesNotKept} images over the caps" : string.Empty)}{(scan.Truncated ? ", truncated by budget" : string.Empty)}"));
            var kernels = scan.Kernels;
            if (kernels.Count > 0)
            {
                Line(output, "kernels", string.Join(", ", kernels.Take(32)) + (kernels.Count > 32 ? Invariant($" (+{kernels.Count - 32} more)") : string.Empty));
            }
        }

        WriteLine(output, "findings:");
        if (full.Findings.Count == 0)
        {
            WriteLine(output, "  none");
        }

        foreach (var finding in full.Findings)
        {
            WriteLine(output, "  " + finding.Kind.Label() + ": " + finding.Detail);
        }

        foreach (var unreadable in full.Unreadable)
        {
            WriteLine(output, unreadable);
        }
    }

    private static void Line(TextWriter output, string label, string? value)
    {
        if (value is not null)
        {
            WriteLine(output, label.PadRight(11) + value);
        }
    }

    // Everything printed passes the redactor once more: the inspection's text came from the process.
    private static void WriteLine(TextWriter output, string line) => output.WriteLine(SecretRedactor.RedactText(line));

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}

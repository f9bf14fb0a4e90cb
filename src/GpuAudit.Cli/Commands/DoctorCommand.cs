using System.CommandLine;
using GpuAudit.Nvml;
using GpuAudit.Nvml.Interop;

namespace GpuAudit.Cli.Commands;

/// <summary>
/// <c>gpuaudit doctor</c>: can this machine be audited, and if not, what to change. Checks NVML
/// (loads, from where, driver, GPUs, GPM, per-process utilization) and whether other users'
/// /proc entries are readable. Every problem comes with its fix; exit 1 when any check failed.
/// </summary>
internal static class DoctorCommand
{
    private const string ProcFix = "run gpuaudit as root, or grant CAP_SYS_PTRACE (sudo setcap cap_sys_ptrace,cap_dac_read_search+ep $(command -v gpuaudit))";

    public static Command Create()
    {
        var library = NvmlLibraryOption.Create();
        var command = new Command("doctor", "Check that NVML, the GPUs and /proc can be read, and print the fix for each problem.") { library };
        command.SetAction((parseResult, _) => CliRunner.Run(() => Run(Console.Out, parseResult.GetValue(library), "/proc")));
        return command;
    }

    internal static int Run(TextWriter output, string? library, string procRoot)
    {
        var report = new DoctorReport(output);
        output.WriteLine("NVML");
        CheckNvml(report, library);
        output.WriteLine("/proc (identity and memory of other users' GPU processes)");
        CheckProc(report, procRoot);
        output.WriteLine(report.Failures == 0
            ? "doctor: all checks passed" + (report.Warnings > 0 ? $" ({report.Warnings} warning(s))" : string.Empty)
            : $"doctor: {report.Failures} problem(s), {report.Warnings} warning(s)");
        return report.Failures == 0 ? 0 : 1;
    }

    private static void CheckNvml(DoctorReport report, string? library)
    {
        NvmlApi nvml;
        try
        {
            nvml = NvmlApi.Open(library);
        }
        catch (NvmlException e)
        {
            report.Fail(e.Message, e.Fix);
            return;
        }

        using (nvml)
        {
            report.Ok($"library {nvml.LibraryName} loaded from {NvmlLibrary.LoadedFile() ?? "(path unknown)"}");
            var driver = nvml.GetDriverVersion(out var version) == NvmlReturn.Success ? version : "unknown";
            var code = nvml.GetDeviceCount(out var count);
            if (code != NvmlReturn.Success)
            {
                report.Fail("nvmlDeviceGetCount_v2 failed: " + NvmlErrors.Format(code), NvmlErrors.Fix(code));
                return;
            }

            if (count == 0)
            {
                report.Fail($"driver {driver}: no GPU visible", NvmlErrors.Fix(NvmlReturn.GpuNotFound));
                return;
            }

            report.Ok($"driver {driver}, {count} GPU(s)");
            if (nvml.MissingOptionalFunctions.Count > 0)
            {
                report.Warn("this driver lacks " + string.Join(", ", nvml.MissingOptionalFunctions) + ": those readings will be missing", NvmlErrors.Fix(NvmlReturn.FunctionNotFound));
            }

            for (var index = 0; index < count; index++)
            {
                CheckGpu(report, nvml, index);
            }
        }
    }

    private static void CheckGpu(DoctorReport report, NvmlApi nvml, int index)
    {
        var code = nvml.GetDeviceHandle(index, out var device);
        var uuid = string.Empty;
        if (code == NvmlReturn.Success)
        {
            code = nvml.GetUuid(device, out uuid);
        }

        if (code != NvmlReturn.Success)
        {
            report.Fail($"GPU {index}: not readable: {NvmlErrors.Format(code)}", NvmlErrors.Fix(code));
            return;
        }

        var name = nvml.GetName(device, out var n) == NvmlReturn.Success ? n : "unknown";
        var pci = nvml.GetPciBusId(device, out var bus) == NvmlReturn.Success ? bus : "pci unknown";
        var mig = nvml.GetMigMode(device, out var migEnabled) == NvmlReturn.Success && migEnabled;
        report.Ok($"GPU {index}: {name} {uuid} {pci}{(mig ? " (MIG on)" : string.Empty)}");

        code = nvml.GpmQuerySupport(device, out var gpm);
        if (code == NvmlReturn.Success && gpm && !mig)
        {
            report.Ok($"GPU {index}: GPM metrics supported (tensor/integer/FP pipe utilization)");
        }
        else
        {
            report.Warn(
                $"GPU {index}: no GPM metrics ({(mig ? "MIG on" : code == NvmlReturn.Success ? "needs Hopper or newer" : NvmlErrors.Format(code))}): classification falls back to utilization, power and clocks",
                code == NvmlReturn.FunctionNotFound ? NvmlErrors.Fix(code) : null);
        }

        Span<NvmlProcessUtilizationSample> samples = stackalloc NvmlProcessUtilizationSample[1];
        code = nvml.GetProcessUtilization(device, samples, 0, out _);
        if (code is NvmlReturn.Success or NvmlReturn.NotFound or NvmlReturn.InsufficientSize)
        {
            report.Ok($"GPU {index}: per-process utilization works");
        }
        else
        {
            report.Warn(
                $"GPU {index}: per-process utilization unavailable: {NvmlErrors.Format(code)}: per-process SM% will be missing",
                mig ? "per-process utilization is not available with MIG on; disable MIG (nvidia-smi -mig 0) to get it" : NvmlErrors.Fix(code));
        }
    }

    private static void CheckProc(DoctorReport report, string procRoot)
    {
        // pid 1 belongs to root: if it is readable, every user's processes are.
        foreach (var (file, purpose) in new[] { ("environ", "job ids from the environment"), ("maps", "GPU libraries and code regions"), ("mem", "memory scan for GPU code and hash constants") })
        {
            var path = Path.Combine(procRoot, "1", file);
            var problem = TryRead(path);
            if (problem is null)
            {
                report.Ok($"{path} readable ({purpose})");
            }
            else
            {
                report.Fail($"{path} not readable ({problem}): no {purpose} for other users' processes", ProcFix);
            }
        }
    }

    /// <summary>Null when the file opens and (except mem, whose offset 0 is never mapped) yields a byte; else why not.</summary>
    private static string? TryRead(string path)
    {
        try
        {
            using var handle = File.OpenHandle(path);
            if (!path.EndsWith("/mem", StringComparison.Ordinal))
            {
                Span<byte> one = stackalloc byte[1];
                RandomAccess.Read(handle, one, 0);
            }

            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return e is UnauthorizedAccessException ? "permission denied" : e.Message;
        }
    }

    /// <summary>Prints one line per check and counts the outcomes.</summary>
    private sealed class DoctorReport(TextWriter output)
    {
        public int Failures { get; private set; }

        public int Warnings { get; private set; }

        public void Ok(string message) => output.WriteLine("  [ok]   " + message);

        public void Warn(string message, string? fix)
        {
            Warnings++;
            Write("  [warn] ", message, fix);
        }

        public void Fail(string message, string? fix)
        {
            Failures++;
            Write("  [FAIL] ", message, fix);
        }

        private void Write(string mark, string message, string? fix)
        {
            output.WriteLine(mark + message);
            if (fix is not null)
            {
                output.WriteLine("         fix: " + fix);
            }
        }
    }
}

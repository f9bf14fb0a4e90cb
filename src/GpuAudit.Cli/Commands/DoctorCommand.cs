using System.CommandLine;
using GpuAudit.Cli.Hosting;
using GpuAudit.Ebpf;
using GpuAudit.Kubernetes;
using GpuAudit.Nvml;
using GpuAudit.Nvml.Interop;

namespace GpuAudit.Cli.Commands;

/// <summary>
/// <c>gpuaudit doctor</c>: can this machine be audited, and if not, what to change. Checks NVML
/// with the calls the agent makes (loads, from where, its exports, driver, GPUs, MIG instances,
/// GPM, the process list, per-process utilization), whether /proc of a GPU process or another
/// user's process is readable, and on Kubernetes whether the kubelet's pod-resources API answers. Every problem comes with its fix; exit 1 when any check failed.
/// </summary>
internal static class DoctorCommand
{
    public static Command Create()
    {
        var library = NvmlLibraryOption.Create();
        var podResources = new Option<string>("--pod-resources") { Description = "The kubelet's pod-resources socket to check.", DefaultValueFactory = _ => PodResourcesClient.DefaultSocket };
        var podLogs = new Option<string>("--pod-logs") { Description = "The kubelet's pod log directory to check.", DefaultValueFactory = _ => PodLogDirectory.DefaultDirectory };
        var command = new Command("doctor", "Check that NVML, the GPUs, /proc, the kernel ledger and (on Kubernetes) the kubelet's pod-resources API can be read, and print the fix for each problem.") { library, podResources, podLogs };
        command.SetAction((parseResult, _) => CliRunner.Run(() => Run(Console.Out, parseResult.GetValue(library), "/proc", parseResult.GetValue(podResources)!, parseResult.GetValue(podLogs)!, kernelLedger: true)));
        return command;
    }

    /// <param name="kernelLedger">Also try to load the kernel ledger's BPF program (the command does; in-process tests of the other checks do not).</param>
    internal static int Run(TextWriter output, string? library, string procRoot, string podResources = PodResourcesClient.DefaultSocket, string podLogs = PodLogDirectory.DefaultDirectory, bool kernelLedger = false)
    {
        var report = new DoctorReport(output);
        output.WriteLine("NVML");
        var gpuPids = new HashSet<int>();
        CheckNvml(report, library, gpuPids);
        output.WriteLine("/proc (identity and memory of other users' GPU processes)");
        DoctorProcChecks.Run(report, procRoot, gpuPids);
        if (kernelLedger)
        {
            output.WriteLine("kernel ledger (eBPF uprobes on libcuda: which kernels processes launch)");
            CheckKernelLedger(report, procRoot, gpuPids);
        }

        output.WriteLine("Kubernetes (GPU→pod map)");
        DoctorKubernetesChecks.Run(report, podResources, podLogs);
        output.WriteLine(report.Failures == 0
            ? "doctor: all checks passed" + (report.Warnings > 0 ? $" ({report.Warnings} warning(s))" : string.Empty)
            : $"doctor: {report.Failures} problem(s), {report.Warnings} warning(s)");
        return report.Failures == 0 ? 0 : 1;
    }

    /// <summary>Optional: a ledger that cannot run is a warning (the agent runs without it and exports gpuaudit_kernel_ledger_up 0).</summary>
    private static void CheckKernelLedger(DoctorReport report, string procRoot, HashSet<int> gpuPids)
    {
        try
        {
            using var probe = CudaLedgerProbe.Open(TimeProvider.System);
            report.Ok("BPF program loads (libbpf, uprobes, ring buffer, attach cookies)");
        }
        catch (KernelLedgerUnavailableException e)
        {
            report.Warn("kernel ledger unavailable: " + e.Message + "; the agent runs without it", e.Fix);
            return;
        }

        var proc = new Linux.ProcFileSystem(procRoot);
        var live = gpuPids.Where(proc.Exists).ToList();
        var files = live.SelectMany(pid => LibcudaFile.Of(proc, pid)).DistinctBy(f => f.Key).ToList();
        if (files.Count > 0)
        {
            report.Ok($"GPU processes map {files.Count} libcuda file(s): " + string.Join(", ", files.Select(f => f.PathInProcess)));
        }
        else if (live.Count > 0)
        {
            report.Warn("no GPU process maps libcuda: their launches cannot be counted (a process driving the GPU without the CUDA driver library?)", null);
        }
    }

    private static void CheckNvml(DoctorReport report, string? library, HashSet<int> gpuPids)
    {
        NvmlApi nvml;
        try
        {
            var loaded = NvmlApi.Load(library);
            report.Ok($"library {loaded.Name} loaded from {NvmlLibrary.LoadedFile() ?? "(path unknown)"}");
            if (loaded.MissingOptionalFunctions.Count > 0)
            {
                report.Warn("this driver lacks " + string.Join(", ", loaded.MissingOptionalFunctions) + ": the binding falls back or leaves those readings missing", null);
            }

            nvml = loaded.Initialize();
        }
        catch (NvmlException e)
        {
            NoGpu(report, e.Message, e.Code);
            return;
        }

        using (nvml)
        {
            var driver = nvml.GetDriverVersion(out var version) == NvmlReturn.Success ? version : "unknown";
            var code = nvml.GetDeviceCount(out var count);
            if (code != NvmlReturn.Success)
            {
                NoGpu(report, "nvmlDeviceGetCount_v2 failed: " + NvmlErrors.Format(code), code);
                return;
            }

            if (count == 0)
            {
                NoGpu(report, $"driver {driver}: no GPU visible", NvmlReturn.GpuNotFound);
                return;
            }

            report.Ok($"driver {driver}, {count} GPU(s)");
            for (var index = 0; index < Math.Min(count, NvmlSampleSource.MaxGpus); index++)
            {
                CheckGpu(report, nvml, index, gpuPids);
            }
        }
    }

    private static void NoGpu(DoctorReport report, string message, NvmlReturn code)
    {
        report.Fail(message, NvmlErrors.Fix(code));
        if (NoGpuHint.Applies(code))
        {
            report.Note(NoGpuHint.Text);
        }
    }

    private static void CheckGpu(DoctorReport report, NvmlApi nvml, int index, HashSet<int> gpuPids)
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

        if (mig)
        {
            CheckMigInstances(report, nvml, index, device, gpuPids);
        }
        else
        {
            code = nvml.GpmQuerySupport(device, out var gpm);
            if (code == NvmlReturn.Success && gpm)
            {
                report.Ok($"GPU {index}: GPM metrics supported (tensor/integer/FP pipe utilization)");
            }
            else
            {
                report.Warn(
                    $"GPU {index}: no GPM metrics ({(code == NvmlReturn.Success ? "needs Hopper or newer" : NvmlErrors.Format(code))}): classification falls back to utilization, power and clocks",
                    code == NvmlReturn.FunctionNotFound ? NvmlErrors.Fix(code) : null);
            }

            CheckProcessList(report, nvml, $"GPU {index}", device, gpuPids);
        }

        CheckProcessUtilization(report, nvml, index, device, mig);
    }

    private static void CheckMigInstances(DoctorReport report, NvmlApi nvml, int index, NvmlDevice parent, HashSet<int> gpuPids)
    {
        var code = nvml.GetMaxMigDeviceCount(parent, out var slots);
        if (code != NvmlReturn.Success)
        {
            report.Fail($"GPU {index}: MIG is on but its instances cannot be listed: nvmlDeviceGetMaxMigDeviceCount failed: {NvmlErrors.Format(code)}", NvmlErrors.Fix(code));
            return;
        }

        var found = 0;
        var gpm = nvml.GpmQuerySupport(parent, out var supported) == NvmlReturn.Success && supported;
        for (var slot = 0; slot < Math.Min(slots, 64); slot++)
        {
            if (nvml.GetMigDeviceHandle(parent, slot, out var mig) != NvmlReturn.Success || nvml.GetUuid(mig, out var uuid) != NvmlReturn.Success)
            {
                continue;
            }

            found++;
            var gi = nvml.GetGpuInstanceId(mig, out var g) == NvmlReturn.Success ? g.ToString(System.Globalization.CultureInfo.InvariantCulture) : "?";
            var ci = nvml.GetComputeInstanceId(mig, out var c) == NvmlReturn.Success ? c.ToString(System.Globalization.CultureInfo.InvariantCulture) : "?";
            report.Ok($"GPU {index}: MIG instance {uuid} (GPU instance {gi}, compute instance {ci}){(gpm ? ", GPM per GPU instance" : string.Empty)}");
            CheckProcessList(report, nvml, $"GPU {index} MIG {gi}/{ci}", mig, gpuPids);
        }

        if (found == 0)
        {
            report.Warn($"GPU {index}: MIG is on but no instance exists: nothing can run on it", null);
        }
    }

    /// <summary>The call the agent makes every poll; NO_PERMISSION here blinds it to every process of the GPU.</summary>
    private static void CheckProcessList(DoctorReport report, NvmlApi nvml, string what, NvmlDevice device, HashSet<int> gpuPids)
    {
        var buffer = new NvmlProcessInfo[64];
        var code = nvml.GetComputeProcesses(device, buffer, out var count);
        if (code == NvmlReturn.InsufficientSize && count is > 0 and <= NvmlSampleSource.MaxProcessesPerGpu)
        {
            buffer = new NvmlProcessInfo[count * 2];
            code = nvml.GetComputeProcesses(device, buffer, out count);
        }

        if (code == NvmlReturn.Success)
        {
            count = Math.Clamp(count, 0, buffer.Length);
            foreach (var info in buffer.AsSpan(0, count))
            {
                gpuPids.Add((int)info.Pid);
            }

            report.Ok($"{what}: {count} compute process(es) listed");
        }
        else
        {
            report.Fail($"{what}: the compute-process list cannot be read: {NvmlErrors.Format(code)}: its processes would be invisible", NvmlErrors.Fix(code));
        }
    }

    /// <summary>A real call with the buffer the agent uses (R535 refuses fewer than 72 entries), from the start of the driver's buffer.</summary>
    private static void CheckProcessUtilization(DoctorReport report, NvmlApi nvml, int index, NvmlDevice device, bool mig)
    {
        var samples = new NvmlProcessUtilizationSample[128];
        var code = nvml.GetProcessUtilization(device, samples, 0, out var count);
        if (code == NvmlReturn.InsufficientSize && count is > 0 and <= NvmlSampleSource.MaxProcessesPerGpu)
        {
            samples = new NvmlProcessUtilizationSample[count * 2];
            code = nvml.GetProcessUtilization(device, samples, 0, out count);
        }

        if (code == NvmlReturn.Success)
        {
            report.Ok($"GPU {index}: per-process utilization works ({Math.Clamp(count, 0, samples.Length)} sample(s) from the driver's buffer)");
        }
        else if (code == NvmlReturn.NotFound)
        {
            report.Ok($"GPU {index}: per-process utilization works (no process used the GPU in the driver's buffer)");
        }
        else
        {
            report.Warn(
                $"GPU {index}: per-process utilization unavailable: {NvmlErrors.Format(code)}: per-process SM% will be missing",
                mig ? "per-process utilization is not available with MIG on (each instance is classified on its own instead)" : NvmlErrors.Fix(code));
        }
    }
}

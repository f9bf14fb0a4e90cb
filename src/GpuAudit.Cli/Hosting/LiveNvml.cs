using GpuAudit.Core;
using GpuAudit.Core.Samples;
using GpuAudit.Nvml;

namespace GpuAudit.Cli.Hosting;

/// <summary>Opens the live NVML source for `agent` and `record`, turning NVML failures into one clear line.</summary>
internal static class LiveNvml
{
    public static NvmlSampleSource Open(TimeSpan interval, string? library, IProcessDescriber describer)
    {
        NvmlApi nvml;
        try
        {
            nvml = NvmlApi.Open(library);
        }
        catch (NvmlException e)
        {
            throw new UserInputException(OneLine(e), e);
        }

        try
        {
            return new NvmlSampleSource(nvml, describer, TimeProvider.System, interval, warn: AuditSession.Warn);
        }
        catch (NvmlException e)
        {
            nvml.Dispose();
            throw new UserInputException(OneLine(e), e);
        }
    }

    /// <summary>The failure, its fix, and where there is no GPU at all, the pointer to the demo.</summary>
    private static string OneLine(NvmlException e) => e.MessageWithFix + (NoGpuHint.Applies(e.Code) ? "; " + NoGpuHint.Text : string.Empty);
}

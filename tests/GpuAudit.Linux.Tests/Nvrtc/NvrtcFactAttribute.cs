namespace GpuAudit.Linux.Tests.Nvrtc;

/// <summary>
/// A fact that compiles CUDA with NVIDIA's NVRTC (and, when named, runs NVIDIA's tools such as
/// <c>fatbinary</c>). Skipped with a reason where they are missing under a plain <c>dotnet test</c>;
/// required under scripts/test.sh, which installs <c>libnvrtc11.2</c> from Debian's non-free
/// component and unpacks the tools from <c>nvidia-cuda-toolkit</c>.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
internal sealed class NvrtcFactAttribute : FactAttribute
{
    public NvrtcFactAttribute(params string[] tools)
    {
        if (Environment.GetEnvironmentVariable(ToolRequirement.RequireAllVariable) == "1")
        {
            return;
        }

        Skip = !NvrtcCompiler.Available
            ? "needs NVIDIA's NVRTC (" + NvrtcNative.Library + ", Debian non-free package libnvrtc11.2; scripts/test.sh installs it)"
            : ToolRequirement.SkipReason(tools);
    }
}

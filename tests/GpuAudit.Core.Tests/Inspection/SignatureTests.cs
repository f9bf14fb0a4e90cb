namespace GpuAudit.Core.Tests.Inspection;

public class SignatureTests
{
    [Theory]
    [InlineData("xmrig")]
    [InlineData("/tmp/.x/XMRig")]
    [InlineData("lolMiner")]
    [InlineData("t-rex")]
    public void Known_miner_executables_match_case_insensitively(string name) => Assert.True(MinerSignatures.IsMinerExecutable(name));

    [Theory]
    [InlineData("python3")]
    [InlineData("/usr/bin/xmrigger-report")]
    [InlineData("")]
    public void Other_executables_do_not_match(string name) => Assert.False(MinerSignatures.IsMinerExecutable(name));

    [Fact]
    public void Command_line_markers_name_the_stratum_url_and_miner_algorithms()
    {
        var markers = MinerSignatures.CommandLineMarkers(["python", "run.py", "stratum+ssl://***@eu.pool:443", "--algo", "kawpow", "-a=ethash", "--donate-level=1"]);

        Assert.Equal(["stratum+ssl:// URL", "--algo kawpow", "--algo ethash", "--donate-level"], markers);
    }

    [Fact]
    public void Training_command_lines_carry_no_markers() =>
        Assert.Empty(MinerSignatures.CommandLineMarkers(["python3", "train.py", "--algo", "adamw", "-o", "out/"]));

    [Theory]
    [InlineData("ethash_search", true)]
    [InlineData("_Z13ethash_searchPvPKvmm", true)]
    [InlineData("sha256d_gpu_hash_shared", true)]
    [InlineData("x11_echo512_gpu_hash_64", true)]
    [InlineData("cryptonight_core_gpu_phase1", true)]
    [InlineData("cupy_add__uint32_uint_uint32", false)]
    [InlineData("cudnn_generated_fort_native_sm90_convBwdData_knob_2_128x128x32", false)]
    public void Miner_kernel_names(string kernel, bool miner) => Assert.Equal(miner, MinerSignatures.IsMinerKernel(kernel));

    [Theory]
    [InlineData("ssh -N -R 9000:localhost:22 -p 2222 user@127.0.0.1", "ssh -R 9000:localhost:22")]
    [InlineData("ssh -fNR9000:localhost:22 host", "ssh -R 9000:localhost:22")]
    [InlineData("/usr/bin/ssh -o RemoteForward=9000:localhost:22 host", "ssh -o RemoteForward=9000:localhost:22")]
    [InlineData("ssh -D 1080 host", "ssh -D 1080")]
    [InlineData("ssh -p 2222 host", "ssh to port 2222")]
    [InlineData("autossh -M 0 host", "autossh")]
    [InlineData("socat TCP-LISTEN:9000,fork TCP:10.0.0.1:22", "socat listener")]
    public void Tunnels_are_described(string cmdline, string expected) =>
        Assert.Equal(expected, TunnelSignatures.Describe(cmdline.Split(' ')));

    [Theory]
    [InlineData("ssh host uptime")]
    [InlineData("ssh -p 22 -i key host")]
    [InlineData("socat - TCP:10.0.0.1:80")]
    [InlineData("python3 train.py -R 3")]
    public void Plain_commands_are_no_tunnel(string cmdline) => Assert.Null(TunnelSignatures.Describe(cmdline.Split(' ')));

    [Fact]
    public void Library_fingerprint_tells_frameworks_from_nvrtc_only_and_plugins()
    {
        var torch = GpuLibraryFingerprint.Of(["libtorch_cuda.so", "libc10_cuda.so", "libnvrtc.so.13", "libcudnn.so.9"]);
        var nvrtcOnly = GpuLibraryFingerprint.Of(["libcuda.so.580.159.04", "libnvrtc.so.13", "libcublasLt.so.13"]);
        var miner = GpuLibraryFingerprint.Of(["libcuda.so.1", "libxmrig-cuda.so"]);

        Assert.Equal(["cudnn", "pytorch"], torch.Frameworks);
        Assert.False(torch.NvrtcOnly);
        Assert.True(nvrtcOnly.NvrtcOnly);
        Assert.Equal(["libxmrig-cuda.so"], miner.MinerPlugins);
    }

    [Theory]
    [InlineData("libcuda.so.580.159.04", true)]
    [InlineData("libtorch_cuda.so", true)]
    [InlineData("libxmrig-cuda.so", true)]
    [InlineData("libc.so.6", false)]
    [InlineData("libcrypto.so.3", false)]
    public void Gpu_libraries_are_recognised(string basename, bool gpu) => Assert.Equal(gpu, GpuLibraryFingerprint.IsGpuLibrary(basename));
}

namespace GpuAudit.Core.Samples;

/// <summary>
/// The Hopper GPM (GPU performance monitoring) metrics the auditor reads. The order is the
/// storage order in <see cref="GpmMetrics"/>; <see cref="GpmMetricInfo"/> maps each to its NVML
/// metric id and its trace-format name.
/// </summary>
public enum GpmMetric
{
    GraphicsUtil,
    SmUtil,
    SmOccupancy,
    IntegerUtil,
    AnyTensorUtil,
    DfmaTensorUtil,
    HmmaTensorUtil,
    ImmaTensorUtil,
    DramBwUtil,
    Fp64Util,
    Fp32Util,
    Fp16Util,
    PcieTxPerSec,
    PcieRxPerSec,
    NvlinkTotalRxPerSec,
    NvlinkTotalTxPerSec,
}

/// <summary>Static facts about each <see cref="GpmMetric"/>.</summary>
public static class GpmMetricInfo
{
    public const int Count = 16;

    private static readonly string[] TraceNames =
    [
        "graphics_util", "sm_util", "sm_occupancy", "integer_util", "any_tensor_util",
        "dfma_tensor_util", "hmma_tensor_util", "imma_tensor_util", "dram_bw_util", "fp64_util",
        "fp32_util", "fp16_util", "pcie_tx_per_sec", "pcie_rx_per_sec",
        "nvlink_total_rx_per_sec", "nvlink_total_tx_per_sec",
    ];

    // The `pipe` label of the exported pipe utilization, Prometheus and OTLP alike (docs/metrics.md):
    // one per percent metric, in enum order.
    private static readonly string[] PipeNames =
    [
        "graphics", "sm", "sm_occupancy", "integer", "tensor", "tensor_dfma", "tensor_hmma",
        "tensor_imma", "dram_bandwidth", "fp64", "fp32", "fp16",
    ];

    // NVML_GPM_METRIC_* ids from nvml.h (see docs/nvml.md).
    private static readonly uint[] NvmlIds = [1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 20, 21, 60, 61];

    public static IReadOnlyList<GpmMetric> All { get; } = Enum.GetValues<GpmMetric>();

    /// <summary>The field name in trace format v1 (`gpm` object).</summary>
    public static string TraceName(GpmMetric metric) => TraceNames[(int)metric];

    /// <summary>How many metrics are percent utilizations (the first ones in enum order), each with a <see cref="PipeName"/>.</summary>
    public static int PipeCount => PipeNames.Length;

    /// <summary>The exporters' <c>pipe</c> label of a percent metric (<see cref="IsPercent"/>).</summary>
    public static string PipeName(GpmMetric metric) => PipeNames[(int)metric];

    /// <summary>The NVML_GPM_METRIC_* id.</summary>
    public static uint NvmlId(GpmMetric metric) => NvmlIds[(int)metric];

    /// <summary>True for utilization metrics reported by NVML as percent 0-100; false for MiB/s rates.</summary>
    public static bool IsPercent(GpmMetric metric) => metric < GpmMetric.PcieTxPerSec;

    public static bool TryParseTraceName(ReadOnlySpan<char> name, out GpmMetric metric)
    {
        for (var i = 0; i < TraceNames.Length; i++)
        {
            if (name.SequenceEqual(TraceNames[i]))
            {
                metric = (GpmMetric)i;
                return true;
            }
        }

        metric = default;
        return false;
    }
}

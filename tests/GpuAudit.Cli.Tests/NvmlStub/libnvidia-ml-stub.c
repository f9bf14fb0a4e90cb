/*
 * A stand-in libnvidia-ml.so.1 for machines without a GPU, compiled by the CLI tests, so the real
 * binding (LibraryImport, the resolver, optional exports, the C compiler's own struct layouts)
 * runs end to end. It is written from nvml.h (CUDA 13.2 header, NVIDIA/go-nvml) and from what the
 * R535 library is known to check, not from the C# binding:
 *   - structs are the header's (nvmlMemory_v2_t with its version word, nvmlTemperature_v1_t,
 *     nvmlGpmMetricsGet_t with metrics[NVML_GPM_METRIC_MAX = 333]), pinned by _Static_assert;
 *   - versioned structs are refused with ARGUMENT_VERSION_MISMATCH unless the version is right;
 *   - nvmlGpmMetricsGet checks version, numMetrics <= NVML_GPM_METRIC_MAX, metric id bounds, that
 *     both samples were taken and on the same device (and GPU instance); then, like a library
 *     built on the newest header, it clears the rest of the declared metrics array, so a request
 *     buffer smaller than the header's struct corrupts the caller's heap;
 *   - nvmlDeviceGetProcessUtilization refuses buffers under 72 entries (R535) and returns one
 *     averaged sample per pid over the samples newer than lastSeenTimeStamp;
 *   - MIG device handles answer NOT_SUPPORTED to the physical queries, per-process utilization
 *     included, and list only their own instance's processes.
 *
 * Environment (read at nvmlInit_v2):
 *   NVML_STUB_GPUS=n        GPUs (default 1). GPU 0 runs pids 4242 and 4243; others run nothing.
 *   NVML_STUB_MIG=1         GPU 0 in MIG mode: GI 1/CI 0 runs pid 5001 (a hash-like integer-bound
 *                           load), GI 2/CI 0 runs pid 5002 (training-like tensor load), slot 1 empty.
 *   NVML_STUB_FAULTS=a,b    fault injection: driver_not_loaded, procs_no_permission,
 *                           procs_count=N (always INSUFFICIENT_SIZE with count N), procs_grow
 *                           (INSUFFICIENT_SIZE asking one more than any buffer), energy_unknown,
 *                           procutil_unknown, gpm_unknown, power_unknown.
 *   NVML_STUB_GPU1_LOST=path  GPU 1's handle lookups fail GPU_IS_LOST while this file exists (the
 *                           test says when the GPU comes back, so a slow start cannot miss it down).
 *   NVML_STUB_LOG=path      appends one line per process-list, utilization and GPM-metrics call
 *                           with the arguments it got (tests check the buffers the caller passed).
 *   NVML_STUB_PROCESSES=path  GPU 0 (no MIG) runs the live processes listed in the file, one
 *                           "PID KIND" a line (KIND: train, infer, hash), re-read on every call;
 *                           its utilization, per-process utilization and GPM follow what runs
 *                           (hash: integer-bound, no tensor or FP; train/infer: tensor and FP).
 *                           scripts/gpu-check.sh --dry-run drives the stand-in this way.
 * nvmlDeviceGetTemperatureV is not exported (as in R535): tests see it as a missing optional
 * entry point, and the temperature comes from the deprecated call.
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef int nvmlReturn_t;
enum
{
    NVML_SUCCESS = 0, NVML_ERROR_UNINITIALIZED = 1, NVML_ERROR_INVALID_ARGUMENT = 2, NVML_ERROR_NOT_SUPPORTED = 3,
    NVML_ERROR_NO_PERMISSION = 4, NVML_ERROR_NOT_FOUND = 6, NVML_ERROR_INSUFFICIENT_SIZE = 7,
    NVML_ERROR_DRIVER_NOT_LOADED = 9, NVML_ERROR_GPU_IS_LOST = 15, NVML_ERROR_ARGUMENT_VERSION_MISMATCH = 25,
    NVML_ERROR_UNKNOWN = 999,
};
#define NVML_GPM_METRIC_MAX 333
#define NVML_STRUCT_VERSION(size, ver) ((unsigned)(size) | ((ver) << 24U))

typedef struct { char busIdLegacy[16]; unsigned domain, bus, device, pciDeviceId, pciSubSystemId; char busId[32]; } nvmlPciInfo_t;
typedef struct { unsigned gpu, memory; } nvmlUtilization_t;
typedef struct { unsigned long long total, free, used; } nvmlMemory_t;
typedef struct { unsigned version; unsigned long long total, reserved, free, used; } nvmlMemory_v2_t;
typedef struct { unsigned version; int sensorType; int temperature; } nvmlTemperature_v1_t;
typedef struct { unsigned pid; unsigned long long usedGpuMemory; unsigned gpuInstanceId, computeInstanceId; } nvmlProcessInfo_t;
typedef struct { unsigned pid; unsigned long long timeStamp; unsigned smUtil, memUtil, encUtil, decUtil; } nvmlProcessUtilizationSample_t;
typedef struct { unsigned version, isSupportedDevice; } nvmlGpmSupport_t;
typedef struct { unsigned metricId; nvmlReturn_t nvmlReturn; double value; struct { char *shortName, *longName, *unit; } metricInfo; } nvmlGpmMetric_t;
typedef struct stub_gpm_sample *nvmlGpmSample_t;
typedef struct { unsigned version, numMetrics; nvmlGpmSample_t sample1, sample2; nvmlGpmMetric_t metrics[NVML_GPM_METRIC_MAX]; } nvmlGpmMetricsGet_t;

_Static_assert(sizeof(nvmlPciInfo_t) == 68 && offsetof(nvmlPciInfo_t, busId) == 36, "nvmlPciInfo_t");
_Static_assert(sizeof(nvmlMemory_v2_t) == 40 && offsetof(nvmlMemory_v2_t, reserved) == 16 && offsetof(nvmlMemory_v2_t, used) == 32, "nvmlMemory_v2_t");
_Static_assert(sizeof(nvmlTemperature_v1_t) == 12, "nvmlTemperature_v1_t");
_Static_assert(sizeof(nvmlProcessInfo_t) == 24 && offsetof(nvmlProcessInfo_t, gpuInstanceId) == 16, "nvmlProcessInfo_t");
_Static_assert(sizeof(nvmlProcessUtilizationSample_t) == 32 && offsetof(nvmlProcessUtilizationSample_t, smUtil) == 16, "nvmlProcessUtilizationSample_t");
_Static_assert(sizeof(nvmlGpmMetric_t) == 40 && offsetof(nvmlGpmMetric_t, value) == 8, "nvmlGpmMetric_t");
_Static_assert(offsetof(nvmlGpmMetricsGet_t, metrics) == 24 && sizeof(nvmlGpmMetricsGet_t) == 24 + 40 * NVML_GPM_METRIC_MAX, "nvmlGpmMetricsGet_t");

#define MIN_UTILIZATION_SAMPLES 72
#define MAX_GPUS 8
#define UTILIZATION_PERIOD_US 166666ULL /* the driver's sampling period: six raw samples a second */

/* A device handle: a physical GPU or a MIG device (gi > 0). */
typedef struct stub_device { int gpu; unsigned gi, ci; const char *uuid; } stub_device;
struct stub_gpm_sample { unsigned magic; const stub_device *device; unsigned gi; double taken; };
#define GPM_MAGIC 0x67706d73u

static stub_device gpus[MAX_GPUS];
static char gpuUuids[MAX_GPUS][32];
static stub_device migDevices[2] = { { 0, 1, 0, "MIG-stub-gi1-ci0" }, { 0, 2, 0, "MIG-stub-gi2-ci0" } };
static int initialized, gpuCount = 1, migMode, driverNotLoaded, procsNoPermission, procsGrow, energyUnknown;
static int procUtilUnknown, gpmUnknown, powerUnknown;
static long long procsCount = -1;
static const char *logPath, *processesPath, *gpu1LostPath;

#define MAX_LISTED 4096
typedef struct { unsigned pid; char kind[8]; } listed_process;
static listed_process listed[MAX_LISTED];

/* The processes of NVML_STUB_PROCESSES, -1 when not set. */
static int read_listed(void)
{
    if (!processesPath) return -1;
    FILE *f = fopen(processesPath, "r");
    if (!f) return 0;
    int n = 0;
    while (n < MAX_LISTED && fscanf(f, "%u %7s", &listed[n].pid, listed[n].kind) == 2) n++;
    fclose(f);
    return n;
}

/* What runs on GPU 0 from the list: 'h' when any process hashes, else 't', 'i', or 0 for idle. */
static char listed_load(void)
{
    int n = read_listed();
    char load = 0;
    for (int i = 0; i < n; i++)
    {
        if (listed[i].kind[0] == 'h') return 'h';
        if (listed[i].kind[0] == 't' || (listed[i].kind[0] == 'i' && !load)) load = listed[i].kind[0];
    }
    return load;
}

static void logf_(const char *format, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *format, ...)
{
    if (!logPath) return;
    FILE *f = fopen(logPath, "a");
    if (!f) return;
    va_list args;
    va_start(args, format);
    vfprintf(f, format, args);
    va_end(args);
    fputc('\n', f);
    fclose(f);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int has_fault(const char *faults, const char *name, long long *value)
{
    size_t n = strlen(name);
    for (const char *p = faults; p && *p;)
    {
        if (strncmp(p, name, n) == 0 && (p[n] == ',' || p[n] == '\0' || p[n] == '='))
        {
            if (value && p[n] == '=') *value = strtoll(p + n + 1, NULL, 0);
            return 1;
        }
        p = strchr(p, ',');
        if (p) p++;
    }
    return 0;
}

nvmlReturn_t nvmlInit_v2(void)
{
    const char *faults = getenv("NVML_STUB_FAULTS");
    const char *count = getenv("NVML_STUB_GPUS");
    long long v = 0;
    gpuCount = count ? atoi(count) : 1;
    if (gpuCount < 1 || gpuCount > MAX_GPUS) gpuCount = 1;
    migMode = getenv("NVML_STUB_MIG") && strcmp(getenv("NVML_STUB_MIG"), "1") == 0;
    logPath = getenv("NVML_STUB_LOG");
    processesPath = getenv("NVML_STUB_PROCESSES");
    gpu1LostPath = getenv("NVML_STUB_GPU1_LOST");
    driverNotLoaded = has_fault(faults, "driver_not_loaded", NULL);
    procsNoPermission = has_fault(faults, "procs_no_permission", NULL);
    procsGrow = has_fault(faults, "procs_grow", NULL);
    energyUnknown = has_fault(faults, "energy_unknown", NULL);
    procUtilUnknown = has_fault(faults, "procutil_unknown", NULL);
    gpmUnknown = has_fault(faults, "gpm_unknown", NULL);
    powerUnknown = has_fault(faults, "power_unknown", NULL);
    if (has_fault(faults, "procs_count", &v)) procsCount = v;
    for (int i = 0; i < MAX_GPUS; i++)
    {
        snprintf(gpuUuids[i], sizeof gpuUuids[i], "GPU-stub-%04d", i + 1);
        gpus[i] = (stub_device){ i, 0, 0, gpuUuids[i] };
    }
    if (driverNotLoaded) return NVML_ERROR_DRIVER_NOT_LOADED;
    initialized = 1;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlShutdown(void) { initialized = 0; return NVML_SUCCESS; }

#define REQUIRE_INIT() do { if (!initialized) return NVML_ERROR_UNINITIALIZED; } while (0)
#define DEVICE(d) ((const stub_device *)(d))
#define IS_MIG(d) (DEVICE(d)->gi != 0)

nvmlReturn_t nvmlSystemGetDriverVersion(char *v, unsigned n) { REQUIRE_INIT(); snprintf(v, n, "%s", "999.1.2"); return NVML_SUCCESS; }
nvmlReturn_t nvmlDeviceGetCount_v2(unsigned *c) { REQUIRE_INIT(); *c = (unsigned)gpuCount; return NVML_SUCCESS; }

nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned i, void **d)
{
    REQUIRE_INIT();
    if (i >= (unsigned)gpuCount) return NVML_ERROR_INVALID_ARGUMENT;
    if (i == 1 && gpu1LostPath && access(gpu1LostPath, F_OK) == 0) return NVML_ERROR_GPU_IS_LOST;
    *d = &gpus[i];
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetName(void *d, char *n, unsigned l)
{
    REQUIRE_INIT();
    snprintf(n, l, "%s", !IS_MIG(d) ? "Stub H100" : DEVICE(d)->gi == 1 ? "Stub H100 MIG 3g.40gb" : "Stub H100 MIG 4g.40gb");
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetUUID(void *d, char *n, unsigned l) { REQUIRE_INIT(); snprintf(n, l, "%s", DEVICE(d)->uuid); return NVML_SUCCESS; }

nvmlReturn_t nvmlDeviceGetPciInfo_v3(void *d, nvmlPciInfo_t *p)
{
    REQUIRE_INIT();
    if (IS_MIG(d)) return NVML_ERROR_NOT_SUPPORTED;
    memset(p, 0, sizeof *p);
    p->bus = 0x3b + DEVICE(d)->gpu;
    snprintf(p->busIdLegacy, sizeof p->busIdLegacy, "0000:%02X:00.0", p->bus);
    snprintf(p->busId, sizeof p->busId, "00000000:%02X:00.0", p->bus);
    return NVML_SUCCESS;
}

/* MIG-capable GPUs (as an H100 is) answer 0 or 1; MIG mode is on for GPU 0 only with NVML_STUB_MIG=1. */
nvmlReturn_t nvmlDeviceGetMigMode(void *d, unsigned *current, unsigned *pending)
{
    REQUIRE_INIT();
    if (IS_MIG(d)) return NVML_ERROR_NOT_SUPPORTED;
    *current = *pending = migMode && DEVICE(d)->gpu == 0;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetMaxMigDeviceCount(void *d, unsigned *count) { REQUIRE_INIT(); *count = migMode && DEVICE(d)->gpu == 0 ? 7 : 0; return NVML_SUCCESS; }

nvmlReturn_t nvmlDeviceGetMigDeviceHandleByIndex(void *d, unsigned index, void **mig)
{
    REQUIRE_INIT();
    if (!migMode || DEVICE(d)->gpu != 0 || IS_MIG(d)) return NVML_ERROR_NOT_SUPPORTED;
    if (index >= 7) return NVML_ERROR_INVALID_ARGUMENT;
    if (index == 0) { *mig = &migDevices[0]; return NVML_SUCCESS; }
    if (index == 2) { *mig = &migDevices[1]; return NVML_SUCCESS; }
    return NVML_ERROR_NOT_FOUND;
}

nvmlReturn_t nvmlDeviceGetGpuInstanceId(void *d, unsigned *id) { REQUIRE_INIT(); if (!IS_MIG(d)) return NVML_ERROR_NOT_SUPPORTED; *id = DEVICE(d)->gi; return NVML_SUCCESS; }
nvmlReturn_t nvmlDeviceGetComputeInstanceId(void *d, unsigned *id) { REQUIRE_INIT(); if (!IS_MIG(d)) return NVML_ERROR_NOT_SUPPORTED; *id = DEVICE(d)->ci; return NVML_SUCCESS; }

nvmlReturn_t nvmlDeviceGetUtilizationRates(void *d, nvmlUtilization_t *u)
{
    REQUIRE_INIT();
    if (IS_MIG(d) || (migMode && DEVICE(d)->gpu == 0)) return NVML_ERROR_NOT_SUPPORTED;
    u->gpu = DEVICE(d)->gpu == 0 ? 77 : 0;
    u->memory = DEVICE(d)->gpu == 0 ? 33 : 0;
    if (processesPath && DEVICE(d)->gpu == 0)
    {
        char load = listed_load();
        u->gpu = load == 'h' ? 100 : load ? 85 : 0;
        u->memory = load == 'h' ? 3 : load ? 40 : 0;
    }
    return NVML_SUCCESS;
}

/* v1 counts reserved memory as used; v2 reports it apart (480 MiB, as on an idle H100). */
#define RESERVED_BYTES 503316480ULL
nvmlReturn_t nvmlDeviceGetMemoryInfo(void *d, nvmlMemory_t *m)
{
    REQUIRE_INIT();
    m->total = IS_MIG(d) ? 42949672960ULL : 85520809984ULL;
    m->used = IS_MIG(d) ? 2000000000ULL * DEVICE(d)->gi : 1234567890ULL + RESERVED_BYTES;
    m->free = m->total - m->used;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetMemoryInfo_v2(void *d, nvmlMemory_v2_t *m)
{
    REQUIRE_INIT();
    if (m->version != NVML_STRUCT_VERSION(sizeof(nvmlMemory_v2_t), 2)) return NVML_ERROR_ARGUMENT_VERSION_MISMATCH;
    nvmlMemory_t v1;
    nvmlDeviceGetMemoryInfo(d, &v1);
    m->total = v1.total;
    m->reserved = IS_MIG(d) ? 0 : RESERVED_BYTES;
    m->used = v1.used - m->reserved;
    m->free = v1.free;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetPowerUsage(void *d, unsigned *p)
{
    REQUIRE_INIT();
    if (IS_MIG(d)) return NVML_ERROR_NOT_SUPPORTED;
    if (powerUnknown) return NVML_ERROR_UNKNOWN;
    *p = 250123;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetClockInfo(void *d, unsigned type, unsigned *c) { REQUIRE_INIT(); if (IS_MIG(d)) return NVML_ERROR_NOT_SUPPORTED; *c = type == 1 ? 1980 : 2619; return NVML_SUCCESS; }
nvmlReturn_t nvmlDeviceGetTemperature(void *d, unsigned sensor, unsigned *c) { REQUIRE_INIT(); if (IS_MIG(d) || sensor != 0) return NVML_ERROR_NOT_SUPPORTED; *c = 61; return NVML_SUCCESS; }

nvmlReturn_t nvmlDeviceGetTotalEnergyConsumption(void *d, unsigned long long *e)
{
    REQUIRE_INIT();
    if (IS_MIG(d)) return NVML_ERROR_NOT_SUPPORTED;
    if (energyUnknown) return NVML_ERROR_UNKNOWN;
    *e = 987654321ULL;
    return NVML_SUCCESS;
}

/* GPU 0 (no MIG): pid 4242 and 4243 (memory unknown: 2^64-1). MIG: each instance its own pid. */
nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v3(void *d, unsigned *count, nvmlProcessInfo_t *p)
{
    REQUIRE_INIT();
    logf_("processes device=%s count_in=%u", DEVICE(d)->uuid, *count);
    if (procsNoPermission) return NVML_ERROR_NO_PERMISSION;
    if (procsCount >= 0) { *count = (unsigned)procsCount; return NVML_ERROR_INSUFFICIENT_SIZE; }
    if (procsGrow) { *count = *count + 1; return NVML_ERROR_INSUFFICIENT_SIZE; }
    static nvmlProcessInfo_t list[MAX_LISTED];
    unsigned n = 0;
    int listedCount = DEVICE(d)->gpu == 0 && !IS_MIG(d) && !migMode ? read_listed() : -1;
    if (listedCount >= 0)
        for (int i = 0; i < listedCount; i++)
            list[n++] = (nvmlProcessInfo_t){ listed[i].pid, 512ULL << 20, 0xFFFFFFFFu, 0xFFFFFFFFu };
    else if (IS_MIG(d))
        list[n++] = (nvmlProcessInfo_t){ 5000 + DEVICE(d)->gi, (unsigned long long)DEVICE(d)->gi << 30, DEVICE(d)->gi, DEVICE(d)->ci };
    else if (DEVICE(d)->gpu == 0 && !migMode)
    {
        list[n++] = (nvmlProcessInfo_t){ 4242, 1ULL << 30, 0xFFFFFFFFu, 0xFFFFFFFFu };
        list[n++] = (nvmlProcessInfo_t){ 4243, ~0ULL, 0xFFFFFFFFu, 0xFFFFFFFFu };
    }
    if (*count < n || (n > 0 && !p)) { *count = n; return n == 0 ? NVML_SUCCESS : NVML_ERROR_INSUFFICIENT_SIZE; }
    memcpy(p, list, n * sizeof *list);
    *count = n;
    return NVML_SUCCESS;
}

/*
 * The driver samples every UTILIZATION_PERIOD_US; pid 4242 runs at SM 91%, memory 12% (4243 has
 * zero utilization, so it never appears). One averaged sample per pid over the raw samples newer
 * than lastSeen (the whole ten-second driver buffer for 0), stamped with the newest one.
 */
nvmlReturn_t nvmlDeviceGetProcessUtilization(void *d, nvmlProcessUtilizationSample_t *s, unsigned *count, unsigned long long lastSeen)
{
    REQUIRE_INIT();
    if (!count) return NVML_ERROR_INVALID_ARGUMENT;
    logf_("process_utilization device=%s count_in=%u last_seen=%llu", DEVICE(d)->uuid, *count, lastSeen);
    if (IS_MIG(d) || (migMode && DEVICE(d)->gpu == 0)) return NVML_ERROR_NOT_SUPPORTED;
    if (procUtilUnknown) return NVML_ERROR_UNKNOWN;
    if (!s || *count < MIN_UTILIZATION_SAMPLES) { *count = MIN_UTILIZATION_SAMPLES; return NVML_ERROR_INSUFFICIENT_SIZE; }
    unsigned long long now = (unsigned long long)(now_s() * 1e6);
    unsigned long long newest = now - now % UTILIZATION_PERIOD_US;
    unsigned long long oldest = now - 10000000ULL;
    if (lastSeen > oldest) oldest = lastSeen;
    if (DEVICE(d)->gpu != 0 || newest <= oldest) return NVML_ERROR_NOT_FOUND;
    int listedCount = read_listed();
    if (listedCount >= 0)
    {
        if (listedCount == 0) return NVML_ERROR_NOT_FOUND;
        if ((int)*count < listedCount) { *count = (unsigned)listedCount; return NVML_ERROR_INSUFFICIENT_SIZE; }
        /* Hashing processes take most of the SM time (60% between them), the rest share 30%. */
        unsigned hashing = 0;
        for (int i = 0; i < listedCount; i++) hashing += listed[i].kind[0] == 'h';
        unsigned others = (unsigned)listedCount - hashing;
        for (int i = 0; i < listedCount; i++)
        {
            unsigned sm = listed[i].kind[0] == 'h' ? 60u / hashing : (hashing ? 30u : 90u) / others;
            s[i] = (nvmlProcessUtilizationSample_t){ listed[i].pid, newest, sm ? sm : 1, 10, 0, 0 };
        }
        *count = (unsigned)listedCount;
        return NVML_SUCCESS;
    }
    s[0] = (nvmlProcessUtilizationSample_t){ 4242, newest, 91, 12, 0, 0 };
    *count = 1;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlGpmQueryDeviceSupport(void *d, nvmlGpmSupport_t *s)
{
    REQUIRE_INIT();
    if (s->version != 1) return NVML_ERROR_ARGUMENT_VERSION_MISMATCH;
    s->isSupportedDevice = 1;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlGpmSampleAlloc(nvmlGpmSample_t *s)
{
    REQUIRE_INIT();
    if (!s) return NVML_ERROR_INVALID_ARGUMENT;
    *s = calloc(1, sizeof **s);
    (*s)->magic = GPM_MAGIC;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlGpmSampleFree(nvmlGpmSample_t s)
{
    if (!s || s->magic != GPM_MAGIC) return NVML_ERROR_INVALID_ARGUMENT;
    s->magic = 0;
    free(s);
    return NVML_SUCCESS;
}

static nvmlReturn_t take_sample(const stub_device *d, unsigned gi, nvmlGpmSample_t s)
{
    if (!s || s->magic != GPM_MAGIC) return NVML_ERROR_INVALID_ARGUMENT;
    s->device = d;
    s->gi = gi;
    s->taken = now_s();
    return NVML_SUCCESS;
}

/* Device-level GPM is not available on a GPU in MIG mode: its instances are sampled one by one. */
nvmlReturn_t nvmlGpmSampleGet(void *d, nvmlGpmSample_t s)
{
    REQUIRE_INIT();
    if (migMode && DEVICE(d)->gpu == 0 && !IS_MIG(d)) return NVML_ERROR_NOT_SUPPORTED;
    return take_sample(DEVICE(d), DEVICE(d)->gi, s);
}

nvmlReturn_t nvmlGpmMigSampleGet(void *d, unsigned gpuInstanceId, nvmlGpmSample_t s)
{
    REQUIRE_INIT();
    if (!migMode || IS_MIG(d) || DEVICE(d)->gpu != 0) return NVML_ERROR_NOT_SUPPORTED;
    if (gpuInstanceId != 1 && gpuInstanceId != 2) return NVML_ERROR_NOT_FOUND;
    return take_sample(DEVICE(d), gpuInstanceId, s);
}

/* Percent values for a MIG GPU instance: GI 1 is integer-bound with no tensor or FP work and no PCIe traffic. */
static double mig_value(unsigned gi, unsigned id, double t)
{
    double wave = sin(t * 1.7);
    if (gi == 1)
        switch (id)
        {
        case 1: case 2: return 96;
        case 3: return 88;
        case 4: return 93;
        case 10: return 4;
        case 20: case 21: return 0.05;
        default: return 0;
        }
    switch (id)
    {
    case 1: case 2: return 80 + 10 * wave;
    case 3: return 45 + 5 * wave;
    case 4: return 6 + 2 * wave;
    case 5: case 7: return 42 + 12 * wave;
    case 10: return 35 + 10 * wave;
    case 12: return 12 + 3 * wave;
    case 13: return 20 + 5 * wave;
    case 20: return 800 + 300 * wave;
    case 21: return 2400 + 900 * wave;
    default: return 0;
    }
}

static char shortName[] = "stub", longName[] = "stub metric", unit[] = "%";

/* GPU (no MIG): value = 1.5 x metric id, SM_UTIL (2) NaN, NVLINK TX (61) failing on its own. */
nvmlReturn_t nvmlGpmMetricsGet(nvmlGpmMetricsGet_t *g)
{
    REQUIRE_INIT();
    if (!g) return NVML_ERROR_INVALID_ARGUMENT;
    logf_("gpm_metrics num_metrics=%u", g->numMetrics);
    if (g->version != 1) return NVML_ERROR_ARGUMENT_VERSION_MISMATCH;
    if (g->numMetrics > NVML_GPM_METRIC_MAX) return NVML_ERROR_INVALID_ARGUMENT;
    nvmlGpmSample_t a = g->sample1, b = g->sample2;
    if (!a || !b || a == b || a->magic != GPM_MAGIC || b->magic != GPM_MAGIC || !a->device || !b->device) return NVML_ERROR_INVALID_ARGUMENT;
    if (a->device != b->device || a->gi != b->gi) return NVML_ERROR_INVALID_ARGUMENT;
    if (gpmUnknown) return NVML_ERROR_UNKNOWN;
    for (unsigned i = 0; i < g->numMetrics; i++)
    {
        nvmlGpmMetric_t *m = &g->metrics[i];
        if (m->metricId == 0 || m->metricId >= NVML_GPM_METRIC_MAX) { m->nvmlReturn = NVML_ERROR_INVALID_ARGUMENT; continue; }
        m->metricInfo.shortName = shortName;
        m->metricInfo.longName = longName;
        m->metricInfo.unit = unit;
        if (processesPath && a->gi == 0)
        {
            char load = listed_load();
            m->nvmlReturn = NVML_SUCCESS;
            m->value = load == 'h' ? mig_value(1, m->metricId, b->taken) : load ? mig_value(2, m->metricId, b->taken) : 0;
            continue;
        }
        if (a->gi != 0)
        {
            m->nvmlReturn = NVML_SUCCESS;
            m->value = mig_value(a->gi, m->metricId, b->taken);
            continue;
        }
        m->nvmlReturn = m->metricId == 61 ? NVML_ERROR_NOT_SUPPORTED : NVML_SUCCESS;
        m->value = m->metricId == 2 ? NAN : m->metricId * 1.5;
    }
    /* A library built on the newest header may treat the whole declared array as its own. */
    memset(&g->metrics[g->numMetrics], 0, (NVML_GPM_METRIC_MAX - g->numMetrics) * sizeof(nvmlGpmMetric_t));
    return NVML_SUCCESS;
}

/*
 * A stand-in libnvidia-ml.so.1 with one scripted GPU, compiled by NvmlStubTests so the real
 * binding (LibraryImport, struct layouts as the C compiler lays them out, optional exports,
 * grow-and-retry, GPM request buffer) runs end to end on machines without a GPU.
 * nvmlDeviceGetMigMode is deliberately absent: it must read as a missing optional entry point.
 */
#include <math.h>
#include <string.h>

typedef int nvmlReturn_t;
typedef struct { char busIdLegacy[16]; unsigned domain, bus, device, pciDeviceId, pciSubSystemId; char busId[32]; } nvmlPciInfo_t;
typedef struct { unsigned gpu, memory; } nvmlUtilization_t;
typedef struct { unsigned long long total, free, used; } nvmlMemory_t;
typedef struct { unsigned pid; unsigned long long usedGpuMemory; unsigned gpuInstanceId, computeInstanceId; } nvmlProcessInfo_t;
typedef struct { unsigned pid; unsigned long long timeStamp; unsigned smUtil, memUtil, encUtil, decUtil; } nvmlProcessUtilizationSample_t;
typedef struct { unsigned version, isSupportedDevice; } nvmlGpmSupport_t;
typedef struct { unsigned metricId; nvmlReturn_t nvmlReturn; double value; char *shortName, *longName, *unit; } nvmlGpmMetric_t;
typedef struct { unsigned version, numMetrics; void *sample1, *sample2; nvmlGpmMetric_t metrics[]; } nvmlGpmMetricsGet_t;

_Static_assert(sizeof(nvmlPciInfo_t) == 68, "nvmlPciInfo_t");
_Static_assert(sizeof(nvmlProcessInfo_t) == 24, "nvmlProcessInfo_t");
_Static_assert(sizeof(nvmlProcessUtilizationSample_t) == 32, "nvmlProcessUtilizationSample_t");
_Static_assert(sizeof(nvmlGpmMetric_t) == 40, "nvmlGpmMetric_t");
_Static_assert(sizeof(nvmlGpmMetricsGet_t) == 24, "nvmlGpmMetricsGet_t head");

static unsigned long long latestUtilizationSample = 1000;
static char gpmSamples[8];
static int gpmSamplesAllocated;

nvmlReturn_t nvmlInit_v2(void) { return 0; }
nvmlReturn_t nvmlShutdown(void) { return 0; }
nvmlReturn_t nvmlSystemGetDriverVersion(char *v, unsigned n) { strncpy(v, "999.1.2", n); return 0; }
nvmlReturn_t nvmlDeviceGetCount_v2(unsigned *c) { *c = 1; return 0; }
nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned i, void **d) { *d = (void *)0x1234; return i == 0 ? 0 : 2; }
nvmlReturn_t nvmlDeviceGetName(void *d, char *n, unsigned l) { strncpy(n, "Stub H100", l); return 0; }
nvmlReturn_t nvmlDeviceGetUUID(void *d, char *n, unsigned l) { strncpy(n, "GPU-stub-0001", l); return 0; }
nvmlReturn_t nvmlDeviceGetPciInfo_v3(void *d, nvmlPciInfo_t *p)
{
    memset(p, 0, sizeof *p);
    strcpy(p->busIdLegacy, "0000:3B:00.0");
    p->bus = 0x3b;
    strcpy(p->busId, "00000000:3B:00.0");
    return 0;
}
nvmlReturn_t nvmlDeviceGetUtilizationRates(void *d, nvmlUtilization_t *u) { u->gpu = 77; u->memory = 33; return 0; }
nvmlReturn_t nvmlDeviceGetMemoryInfo(void *d, nvmlMemory_t *m) { m->total = 85520809984ULL; m->used = 1234567890ULL; m->free = m->total - m->used; return 0; }
nvmlReturn_t nvmlDeviceGetPowerUsage(void *d, unsigned *p) { *p = 250123; return 0; }
nvmlReturn_t nvmlDeviceGetClockInfo(void *d, unsigned type, unsigned *c) { *c = type == 1 ? 1980 : 2619; return 0; }
nvmlReturn_t nvmlDeviceGetTemperature(void *d, unsigned sensor, unsigned *c) { *c = 61; return 0; }
nvmlReturn_t nvmlDeviceGetTotalEnergyConsumption(void *d, unsigned long long *e) { *e = 987654321ULL; return 0; }

/* Two processes; the second's memory is unknown (2^64-1). Too small a buffer: INSUFFICIENT_SIZE. */
nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v3(void *d, unsigned *count, nvmlProcessInfo_t *p)
{
    if (*count < 2) { *count = 2; return 7; }
    *count = 2;
    p[0] = (nvmlProcessInfo_t){ 4242, 1ULL << 30, 0xFFFFFFFFu, 0xFFFFFFFFu };
    p[1] = (nvmlProcessInfo_t){ 4243, ~0ULL, 0xFFFFFFFFu, 0xFFFFFFFFu };
    return 0;
}

/* One sample for pid 4242 newer than lastSeen, else NOT_FOUND (and a newer one appears for next time). */
nvmlReturn_t nvmlDeviceGetProcessUtilization(void *d, nvmlProcessUtilizationSample_t *s, unsigned *count, unsigned long long lastSeen)
{
    if (lastSeen >= latestUtilizationSample) { latestUtilizationSample += 1000000; return 6; }
    if (*count < 1) { *count = 1; return 7; }
    *count = 1;
    s[0] = (nvmlProcessUtilizationSample_t){ 4242, latestUtilizationSample, 91, 12, 0, 0 };
    return 0;
}

nvmlReturn_t nvmlGpmQueryDeviceSupport(void *d, nvmlGpmSupport_t *s) { if (s->version != 1) return 25; s->isSupportedDevice = 1; return 0; }
nvmlReturn_t nvmlGpmSampleAlloc(void **s) { *s = &gpmSamples[gpmSamplesAllocated++ % 8]; return 0; }
nvmlReturn_t nvmlGpmSampleFree(void *s) { return 0; }
nvmlReturn_t nvmlGpmSampleGet(void *d, void *s) { return 0; }

/* value = 1.5 x metric id; SM_UTIL (2) is NaN; NVLINK TX (61) fails on its own. */
nvmlReturn_t nvmlGpmMetricsGet(nvmlGpmMetricsGet_t *g)
{
    if (g->version != 1 || g->sample1 == g->sample2) return 2;
    for (unsigned i = 0; i < g->numMetrics; i++)
    {
        nvmlGpmMetric_t *m = &g->metrics[i];
        m->nvmlReturn = m->metricId == 61 ? 3 : 0;
        m->value = m->metricId == 2 ? NAN : m->metricId * 1.5;
    }
    return 0;
}

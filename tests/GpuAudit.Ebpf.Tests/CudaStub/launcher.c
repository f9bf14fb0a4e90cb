/* A CUDA driver API program for the kernel ledger's tests and benchmark, linked against
 * libcuda.so.1 (the stand-in in tests; any libcuda with the same exports works). It loads one
 * PTX image holding the named kernels, looks each up through the API its spec names, then
 * launches each through one launch entry point, paced or as fast as it can, and prints what it
 * did so a test can compare the ledger with the program's own counts.
 *
 * usage: launcher [--load data|data-ex|fatbin] [--launch ENTRY] [--count N] [--rate HZ]
 *                 [--seconds S] [--go FILE] [--early] [--sha256] SPEC...
 *   SPEC     module:NAME (cuModuleGetFunction), library:NAME (cuLibraryGetKernel, the CUkernel
 *            launched as a CUfunction), kernel-function:NAME (cuLibraryGetKernel, then
 *            cuKernelGetFunction; the CUfunction launched)
 *   ENTRY    kernel, kernel-ptsz, ex, ex-ptsz, coop, coop-ptsz, graph, graph-ptsz
 *   --count  launches per kernel (default 1000); --rate: per kernel per second (default 1000,
 *            0: unpaced); --seconds: run that long instead of --count and print the rate
 *   --go     wait for FILE to exist before looking up (--early: look up first, then wait)
 *   --sha256 put the SHA-256 round constants in the image (a hash kernel)
 * prints "ready PID" when it starts waiting for --go (or starts), "launched NAME N" per kernel,
 * and "rate LAUNCHES_PER_SECOND" with --seconds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef int CUresult;
typedef void *CUmodule, *CUfunction, *CUlibrary, *CUkernel, *CUstream, *CUgraphExec;
typedef struct CUlaunchConfig_st { unsigned gridDimX, gridDimY, gridDimZ, blockDimX, blockDimY, blockDimZ, sharedMemBytes; CUstream hStream; void *attrs; unsigned numAttrs; } CUlaunchConfig;

CUresult cuInit(unsigned);
CUresult cuModuleLoadData(CUmodule *, const void *);
CUresult cuModuleLoadDataEx(CUmodule *, const void *, unsigned, int *, void **);
CUresult cuModuleLoadFatBinary(CUmodule *, const void *);
CUresult cuLibraryLoadData(CUlibrary *, const void *, int *, void **, unsigned, int *, void **, unsigned);
CUresult cuModuleGetFunction(CUfunction *, CUmodule, const char *);
CUresult cuLibraryGetKernel(CUkernel *, CUlibrary, const char *);
CUresult cuKernelGetFunction(CUfunction *, CUkernel);
CUresult cuLaunchKernel(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, CUstream, void **, void **);
CUresult cuLaunchKernel_ptsz(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, CUstream, void **, void **);
CUresult cuLaunchKernelEx(const CUlaunchConfig *, CUfunction, void **, void **);
CUresult cuLaunchKernelEx_ptsz(const CUlaunchConfig *, CUfunction, void **, void **);
CUresult cuLaunchCooperativeKernel(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, CUstream, void **);
CUresult cuLaunchCooperativeKernel_ptsz(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, CUstream, void **);
CUresult cuGraphLaunch(CUgraphExec, CUstream);
CUresult cuGraphLaunch_ptsz(CUgraphExec, CUstream);

#define MAX_KERNELS 16

struct kernel { const char *api; const char *name; void *handle; long launched; };

static void fail(const char *what, CUresult result)
{
	fprintf(stderr, "launcher: %s failed (%d)\n", what, result);
	exit(1);
}

static double now_seconds(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static void sleep_until(double when)
{
	struct timespec t = { (time_t)when, (long)((when - (time_t)when) * 1e9) };
	clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL);
}

/* A PTX module with one .entry per kernel; --sha256 adds the first round constants as immediates. */
static char *ptx_image(struct kernel *kernels, int count, int sha256)
{
	static const char *k[] = { "0x428a2f98", "0x71374491", "0xb5c0fbcf", "0xe9b5dba5", "0x3956c25b", "0x59f111f1", "0x923f82a4", "0xab1c5ed5" };
	size_t size = 256 + (size_t)count * 600;
	char *image = calloc(1, size);
	strcat(image, ".version 8.0\n.target sm_90\n.address_size 64\n\n");
	for (int i = 0; i < count; i++) {
		char body[600];
		snprintf(body, sizeof(body), ".visible .entry %s(\n\t.param .u64 p0\n)\n{\n\t.reg .b32 %%r<4>;\n", kernels[i].name);
		strcat(image, body);
		for (int j = 0; sha256 && j < 8; j++) {
			snprintf(body, sizeof(body), "\tmov.u32 %%r1, %s;\n", k[j]);
			strcat(image, body);
		}
		strcat(image, "\tret;\n}\n\n");
	}
	return image;
}

static CUresult launch(const char *entry, void *handle)
{
	void *params[] = { NULL };
	CUlaunchConfig config = { 1, 1, 1, 32, 1, 1, 0, NULL, NULL, 0 };
	if (!strcmp(entry, "kernel")) return cuLaunchKernel(handle, 1, 1, 1, 32, 1, 1, 0, NULL, params, NULL);
	if (!strcmp(entry, "kernel-ptsz")) return cuLaunchKernel_ptsz(handle, 1, 1, 1, 32, 1, 1, 0, NULL, params, NULL);
	if (!strcmp(entry, "ex")) return cuLaunchKernelEx(&config, handle, params, NULL);
	if (!strcmp(entry, "ex-ptsz")) return cuLaunchKernelEx_ptsz(&config, handle, params, NULL);
	if (!strcmp(entry, "coop")) return cuLaunchCooperativeKernel(handle, 1, 1, 1, 32, 1, 1, 0, NULL, params);
	if (!strcmp(entry, "coop-ptsz")) return cuLaunchCooperativeKernel_ptsz(handle, 1, 1, 1, 32, 1, 1, 0, NULL, params);
	if (!strcmp(entry, "graph")) return cuGraphLaunch(handle, NULL);
	if (!strcmp(entry, "graph-ptsz")) return cuGraphLaunch_ptsz(handle, NULL);
	fprintf(stderr, "launcher: unknown --launch %s\n", entry);
	exit(2);
}

static void look_up(struct kernel *kernels, int count, const char *load, int sha256)
{
	char *image = ptx_image(kernels, count, sha256);
	CUmodule module = NULL;
	CUlibrary library = NULL;
	CUresult result;
	for (int i = 0; i < count; i++) {
		if (!strcmp(kernels[i].api, "module")) {
			if (!module) {
				result = !strcmp(load, "data-ex") ? cuModuleLoadDataEx(&module, image, 0, NULL, NULL)
					: !strcmp(load, "fatbin") ? cuModuleLoadFatBinary(&module, image)
					: cuModuleLoadData(&module, image);
				if (result) fail("module load", result);
			}
			if ((result = cuModuleGetFunction(&kernels[i].handle, module, kernels[i].name))) fail("cuModuleGetFunction", result);
		} else {
			if (!library && (result = cuLibraryLoadData(&library, image, NULL, NULL, 0, NULL, NULL, 0))) fail("cuLibraryLoadData", result);
			CUkernel kernel;
			if ((result = cuLibraryGetKernel(&kernel, library, kernels[i].name))) fail("cuLibraryGetKernel", result);
			kernels[i].handle = kernel;
			if (!strcmp(kernels[i].api, "kernel-function") && (result = cuKernelGetFunction(&kernels[i].handle, kernel))) fail("cuKernelGetFunction", result);
		}
	}
	/* The driver copied the image; real programs free theirs. Kept here so the ledger's image read
	 * sees it (a freed image is a documented blind spot). */
}

int main(int argc, char **argv)
{
	struct kernel kernels[MAX_KERNELS];
	int count = 0, early = 0, sha256 = 0;
	long per_kernel = 1000;
	double rate = 1000, seconds = 0;
	const char *load = "data", *entry = "kernel", *go = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--load") && i + 1 < argc) load = argv[++i];
		else if (!strcmp(argv[i], "--launch") && i + 1 < argc) entry = argv[++i];
		else if (!strcmp(argv[i], "--count") && i + 1 < argc) per_kernel = atol(argv[++i]);
		else if (!strcmp(argv[i], "--rate") && i + 1 < argc) rate = atof(argv[++i]);
		else if (!strcmp(argv[i], "--seconds") && i + 1 < argc) seconds = atof(argv[++i]);
		else if (!strcmp(argv[i], "--go") && i + 1 < argc) go = argv[++i];
		else if (!strcmp(argv[i], "--early")) early = 1;
		else if (!strcmp(argv[i], "--sha256")) sha256 = 1;
		else if (count < MAX_KERNELS && strchr(argv[i], ':')) {
			char *colon = strchr(argv[i], ':');
			*colon = 0;
			kernels[count++] = (struct kernel){ argv[i], colon + 1, NULL, 0 };
		} else {
			fprintf(stderr, "launcher: bad argument %s\n", argv[i]);
			return 2;
		}
	}
	if (count == 0) {
		fprintf(stderr, "launcher: no kernel given\n");
		return 2;
	}

	cuInit(0);
	if (early)
		look_up(kernels, count, load, sha256);
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	while (go && access(go, F_OK) != 0)
		usleep(10000);
	if (!early)
		look_up(kernels, count, load, sha256);

	int graph = !strncmp(entry, "graph", 5);
	for (int i = 0; i < count; i++)
		if (graph)
			kernels[i].handle = malloc(64); /* a CUgraphExec stands in for the kernels it holds */

	double start = now_seconds();
	for (long n = 0; seconds > 0 ? now_seconds() - start < seconds : n < per_kernel; n++) {
		for (int i = 0; i < count; i++) {
			CUresult result = launch(entry, kernels[i].handle);
			if (result) fail("launch", result);
			kernels[i].launched++;
		}
		if (rate > 0)
			sleep_until(start + (n + 1) / rate);
	}
	double elapsed = now_seconds() - start;

	long total = 0;
	for (int i = 0; i < count; i++) {
		printf("launched %s %ld\n", kernels[i].name, kernels[i].launched);
		total += kernels[i].launched;
	}
	if (seconds > 0)
		printf("rate %.0f\n", total / elapsed);
	return 0;
}

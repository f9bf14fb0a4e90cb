/* A stand-in for the CUDA driver library (libcuda.so.1) for the kernel ledger's tests: it exports
 * the entry points the ledger probes with the signatures of cuda.h (handles are pointers to
 * opaque structs) and behaves just enough like the driver for a launcher program: a module
 * "holds" the kernels whose names appear in its image, a lookup of another name fails with
 * CUDA_ERROR_NOT_FOUND, and a launch of a null handle fails. GPUAUDIT_STUB_LAUNCH_NS makes every
 * launch busy-wait that long (what a real driver spends per launch), for the cost benchmark. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef int CUresult;
typedef int CUdevice;
typedef struct CUctx_st *CUcontext;
typedef struct CUmod_st *CUmodule;
typedef struct CUfunc_st *CUfunction;
typedef struct CUlib_st *CUlibrary;
typedef struct CUkern_st *CUkernel;
typedef struct CUstream_st *CUstream;
typedef struct CUgraphExec_st *CUgraphExec;
typedef struct CUlaunchConfig_st CUlaunchConfig;
typedef int CUjit_option;
typedef int CUlibraryOption;

#define CUDA_SUCCESS 0
#define CUDA_ERROR_INVALID_VALUE 1
#define CUDA_ERROR_INVALID_HANDLE 400
#define CUDA_ERROR_NOT_FOUND 500

struct CUmod_st { const char *image; size_t length; };
struct CUlib_st { struct CUmod_st module; };
struct CUfunc_st { char name[256]; struct CUmod_st *module; };
struct CUkern_st { struct CUfunc_st function; };

static long launch_ns = -1;

static void driver_work(void)
{
	if (launch_ns < 0) {
		const char *ns = getenv("GPUAUDIT_STUB_LAUNCH_NS");
		launch_ns = ns ? atol(ns) : 0;
	}
	if (launch_ns == 0)
		return;
	struct timespec start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);
	do {
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while ((now.tv_sec - start.tv_sec) * 1000000000L + (now.tv_nsec - start.tv_nsec) < launch_ns);
}

CUresult cuInit(unsigned flags) { (void)flags; return CUDA_SUCCESS; }
CUresult cuDeviceGet(CUdevice *device, int ordinal) { *device = ordinal; return CUDA_SUCCESS; }
CUresult cuCtxCreate_v2(CUcontext *ctx, unsigned flags, CUdevice dev) { (void)flags; (void)dev; *ctx = (CUcontext)malloc(16); return CUDA_SUCCESS; }

static CUresult load(struct CUmod_st *module, const void *image)
{
	if (!image)
		return CUDA_ERROR_INVALID_VALUE;
	/* The driver copies the image: the caller may free it after the call. */
	module->length = strlen((const char *)image);
	char *copy = malloc(module->length + 1);
	memcpy(copy, image, module->length + 1);
	module->image = copy;
	return CUDA_SUCCESS;
}

/* Exported functions never call each other: a call through the PLT would hit the other's probe too. */
static CUresult load_module(CUmodule *module, const void *image)
{
	*module = calloc(1, sizeof(struct CUmod_st));
	return load(*module, image);
}

CUresult cuModuleLoadData(CUmodule *module, const void *image) { return load_module(module, image); }

CUresult cuModuleLoadDataEx(CUmodule *module, const void *image, unsigned numOptions, CUjit_option *options, void **optionValues)
{
	(void)numOptions; (void)options; (void)optionValues;
	return load_module(module, image);
}

CUresult cuModuleLoadFatBinary(CUmodule *module, const void *fatCubin) { return load_module(module, fatCubin); }

CUresult cuLibraryLoadData(CUlibrary *library, const void *code, CUjit_option *jitOptions, void **jitOptionsValues, unsigned numJitOptions,
			   CUlibraryOption *libraryOptions, void **libraryOptionValues, unsigned numLibraryOptions)
{
	(void)jitOptions; (void)jitOptionsValues; (void)numJitOptions; (void)libraryOptions; (void)libraryOptionValues; (void)numLibraryOptions;
	*library = calloc(1, sizeof(struct CUlib_st));
	return load(&(*library)->module, code);
}

/* A kernel is in a module when ".entry NAME(" appears in its (PTX) image. */
static int holds(const struct CUmod_st *module, const char *name)
{
	char needle[300];
	if (strlen(name) > 250)
		return 0;
	strcpy(needle, ".entry ");
	strcat(needle, name);
	strcat(needle, "(");
	return strstr(module->image, needle) != NULL;
}

static CUresult lookup(struct CUfunc_st *function, struct CUmod_st *module, const char *name)
{
	if (!module || !name)
		return CUDA_ERROR_INVALID_HANDLE;
	if (!holds(module, name))
		return CUDA_ERROR_NOT_FOUND;
	strncpy(function->name, name, sizeof(function->name) - 1);
	function->module = module;
	return CUDA_SUCCESS;
}

CUresult cuModuleGetFunction(CUfunction *hfunc, CUmodule hmod, const char *name)
{
	struct CUfunc_st *function = calloc(1, sizeof(*function));
	CUresult result = lookup(function, hmod, name);
	if (result != CUDA_SUCCESS) {
		free(function);
		return result;
	}
	*hfunc = function;
	return CUDA_SUCCESS;
}

CUresult cuLibraryGetKernel(CUkernel *pKernel, CUlibrary library, const char *name)
{
	struct CUkern_st *kernel = calloc(1, sizeof(*kernel));
	CUresult result = lookup(&kernel->function, library ? &library->module : NULL, name);
	if (result != CUDA_SUCCESS) {
		free(kernel);
		return result;
	}
	*pKernel = kernel;
	return CUDA_SUCCESS;
}

/* The context's function for a kernel: another handle with the same name. */
CUresult cuKernelGetFunction(CUfunction *pFunc, CUkernel kernel)
{
	if (!kernel)
		return CUDA_ERROR_INVALID_HANDLE;
	struct CUfunc_st *function = malloc(sizeof(*function));
	*function = kernel->function;
	*pFunc = function;
	return CUDA_SUCCESS;
}

static CUresult launch(const void *handle)
{
	if (!handle)
		return CUDA_ERROR_INVALID_HANDLE;
	driver_work();
	return CUDA_SUCCESS;
}

CUresult cuLaunchKernel(CUfunction f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
			unsigned sharedMemBytes, CUstream hStream, void **kernelParams, void **extra)
{
	(void)gx; (void)gy; (void)gz; (void)bx; (void)by; (void)bz; (void)sharedMemBytes; (void)hStream; (void)kernelParams; (void)extra;
	return launch(f);
}

CUresult cuLaunchKernel_ptsz(CUfunction f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
			     unsigned sharedMemBytes, CUstream hStream, void **kernelParams, void **extra)
{
	(void)gx; (void)gy; (void)gz; (void)bx; (void)by; (void)bz; (void)sharedMemBytes; (void)hStream; (void)kernelParams; (void)extra;
	return launch(f);
}

CUresult cuLaunchKernelEx(const CUlaunchConfig *config, CUfunction f, void **kernelParams, void **extra)
{
	(void)config; (void)kernelParams; (void)extra;
	return launch(f);
}

CUresult cuLaunchKernelEx_ptsz(const CUlaunchConfig *config, CUfunction f, void **kernelParams, void **extra)
{
	(void)config; (void)kernelParams; (void)extra;
	return launch(f);
}

CUresult cuLaunchCooperativeKernel(CUfunction f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
				   unsigned sharedMemBytes, CUstream hStream, void **kernelParams)
{
	(void)gx; (void)gy; (void)gz; (void)bx; (void)by; (void)bz; (void)sharedMemBytes; (void)hStream; (void)kernelParams;
	return launch(f);
}

CUresult cuLaunchCooperativeKernel_ptsz(CUfunction f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
					unsigned sharedMemBytes, CUstream hStream, void **kernelParams)
{
	(void)gx; (void)gy; (void)gz; (void)bx; (void)by; (void)bz; (void)sharedMemBytes; (void)hStream; (void)kernelParams;
	return launch(f);
}

CUresult cuGraphLaunch(CUgraphExec hGraphExec, CUstream hStream) { (void)hStream; return launch(hGraphExec); }
CUresult cuGraphLaunch_ptsz(CUgraphExec hGraphExec, CUstream hStream) { (void)hStream; return launch(hGraphExec); }

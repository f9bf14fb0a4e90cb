/* Layouts shared by the BPF program (cuda_ledger.bpf.c) and the agent's reader
 * (Interop/LedgerStructs.Native.cs mirrors them field by field; a test checks the sizes).
 * Fixed-width fields only, naturally aligned, so both sides agree without packing rules. */
#ifndef GPUAUDIT_CUDA_LEDGER_H
#define GPUAUDIT_CUDA_LEDGER_H

/* Mangled C++ kernel names of templated kernels run to hundreds of bytes; longer ones are cut. */
#define LEDGER_NAME_MAX 1024

/* Per process: at most this many distinct launched handles get their own counter; launches of
 * further handles add to one overflow counter (LEDGER_OVERFLOW_HANDLE), so a process that
 * launches garbage handles cannot fill the map and blind the ledger for the others. */
#define LEDGER_HANDLES_PER_PID 4096
/* Per process: at most this many name and module-load events reach the ring buffer. */
#define LEDGER_EVENTS_PER_PID 16384
#define LEDGER_OVERFLOW_HANDLE 0xffffffffffffffffULL

/* The probed entry point, carried to the program as the attach cookie. */
enum ledger_entry {
	ENTRY_MODULE_GET_FUNCTION = 1,
	ENTRY_LIBRARY_GET_KERNEL = 2,
	ENTRY_KERNEL_GET_FUNCTION = 3,
	ENTRY_MODULE_LOAD_DATA = 4,
	ENTRY_MODULE_LOAD_DATA_EX = 5,
	ENTRY_MODULE_LOAD_FAT_BINARY = 6,
	ENTRY_LIBRARY_LOAD_DATA = 7,
	ENTRY_LAUNCH_KERNEL = 8,
	ENTRY_LAUNCH_KERNEL_PTSZ = 9,
	ENTRY_LAUNCH_KERNEL_EX = 10,
	ENTRY_LAUNCH_KERNEL_EX_PTSZ = 11,
	ENTRY_LAUNCH_COOPERATIVE_KERNEL = 12,
	ENTRY_LAUNCH_COOPERATIVE_KERNEL_PTSZ = 13,
	ENTRY_GRAPH_LAUNCH = 14,
	ENTRY_GRAPH_LAUNCH_PTSZ = 15,
};

/* Map "launches": one counter per process, entry point and launched handle. */
struct launch_key {
	__u32 tgid;
	__u32 entry;
	__u64 handle;
};

struct launch_value {
	__u64 count;
	__u64 first_ns; /* bpf_ktime_get_ns (CLOCK_MONOTONIC) */
	__u64 last_ns;
};

/* Map "budgets": what each process has used of its limits, and what it lost to them. */
struct pid_budget {
	__u32 handles;
	__u32 events;
	__u64 events_dropped;
};

/* Ring buffer "events": a successful lookup (handle named), alias or module load. */
struct ledger_event {
	__u32 entry;    /* enum ledger_entry */
	__u32 tgid;
	__u64 handle;   /* *out: the CUfunction, CUkernel, CUmodule or CUlibrary created */
	__u64 owner;    /* lookups: the CUmodule/CUlibrary searched; cuKernelGetFunction: the CUkernel */
	__u64 image;    /* module loads: the image address in the process */
	__u64 time_ns;
	__u32 name_len; /* bytes of name including its NUL; 0 when none */
	__u32 reserved;
	char name[LEDGER_NAME_MAX];
};

/* Array "stats" (per CPU): what the ledger lost. */
enum ledger_stat {
	STAT_LAUNCHES_LOST = 0,   /* the launches map was full */
	STAT_EVENTS_LOST = 1,     /* the ring buffer was full */
	STAT_EVENTS_OVER_BUDGET = 2,
	STAT_RETURNS_UNMATCHED = 3, /* a return without its entry (attached mid-call, or nested) */
	STAT_COUNT = 4,
};

#endif

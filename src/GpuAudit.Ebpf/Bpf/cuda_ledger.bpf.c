// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The CUDA kernel ledger: uprobes on the CUDA driver library (libcuda.so).
 *
 * Launches are counted here, in the kernel, per process, entry point and launched handle; user
 * space reads the counters, never one event per launch. Name lookups and module loads, which are
 * rare, go to user space through a ring buffer. Only user memory the probed call was given is
 * read, and only after the call succeeded. The entry point comes in as the attach cookie, so one
 * program serves every function with the same argument layout.
 *
 * No kernel structure is read, so nothing needs CO-RE relocations: the probes see the x86-64
 * calling convention (struct pt_regs), which does not change between kernels. */
#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "cuda_ledger.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct launch_key);
	__type(value, struct launch_value);
} launches SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct pid_budget);
} budgets SEC(".maps");

/* Arguments of a call in flight, from its entry to its return, per thread and entry point. */
struct pending_key {
	__u64 pid_tgid;
	__u32 entry;
	__u32 reserved;
};

struct pending_call {
	__u64 out;   /* where the call writes the handle it creates */
	__u64 owner;
	__u64 name;  /* user pointer to the NUL-terminated name, or 0 */
	__u64 image;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct pending_key);
	__type(value, struct pending_call);
} pending SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, STAT_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

static __always_inline void count_stat(__u32 stat)
{
	__u64 *value = bpf_map_lookup_elem(&stats, &stat);
	if (value)
		*value += 1; /* per-CPU: no atomics needed */
}

static __always_inline struct pid_budget *budget_of(__u32 tgid)
{
	struct pid_budget *budget = bpf_map_lookup_elem(&budgets, &tgid);
	if (budget)
		return budget;
	struct pid_budget fresh = {};
	bpf_map_update_elem(&budgets, &tgid, &fresh, BPF_NOEXIST);
	return bpf_map_lookup_elem(&budgets, &tgid);
}

/* The hot path: one hash lookup and an atomic add for a handle seen before. */
static __always_inline int count_launch(__u64 handle, __u32 entry)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u64 now = bpf_ktime_get_ns();
	struct launch_key key = { .tgid = tgid, .entry = entry, .handle = handle };
	struct launch_value *value = bpf_map_lookup_elem(&launches, &key);
	if (value) {
		__sync_fetch_and_add(&value->count, 1);
		value->last_ns = now;
		return 0;
	}

	struct pid_budget *budget = budget_of(tgid);
	if (!budget || budget->handles >= LEDGER_HANDLES_PER_PID) {
		key.handle = LEDGER_OVERFLOW_HANDLE;
		value = bpf_map_lookup_elem(&launches, &key);
		if (value) {
			__sync_fetch_and_add(&value->count, 1);
			value->last_ns = now;
			return 0;
		}
	}

	struct launch_value first = { .count = 1, .first_ns = now, .last_ns = now };
	if (bpf_map_update_elem(&launches, &key, &first, BPF_NOEXIST) == 0) {
		if (budget && key.handle != LEDGER_OVERFLOW_HANDLE)
			__sync_fetch_and_add(&budget->handles, 1);
		return 0;
	}

	/* Another thread inserted it first, or the map is full. */
	value = bpf_map_lookup_elem(&launches, &key);
	if (value) {
		__sync_fetch_and_add(&value->count, 1);
		value->last_ns = now;
	} else {
		count_stat(STAT_LAUNCHES_LOST);
	}
	return 0;
}

/* cuLaunchKernel(f, ...), cuLaunchCooperativeKernel(f, ...), cuGraphLaunch(exec, stream) */
SEC("uprobe")
int BPF_KPROBE(launch_arg1, __u64 handle)
{
	return count_launch(handle, (__u32)bpf_get_attach_cookie(ctx));
}

/* cuLaunchKernelEx(config, f, params, extra) */
SEC("uprobe")
int BPF_KPROBE(launch_arg2, __u64 config, __u64 handle)
{
	return count_launch(handle, (__u32)bpf_get_attach_cookie(ctx));
}

static __always_inline int remember(struct pending_call *call, __u32 entry)
{
	struct pending_key key = { .pid_tgid = bpf_get_current_pid_tgid(), .entry = entry };
	bpf_map_update_elem(&pending, &key, call, BPF_ANY);
	return 0;
}

/* cuModuleGetFunction(CUfunction *out, CUmodule, const char *name),
 * cuLibraryGetKernel(CUkernel *out, CUlibrary, const char *name),
 * cuKernelGetFunction(CUfunction *out, CUkernel) (no name: the cookie says so) */
SEC("uprobe")
int BPF_KPROBE(lookup_enter, __u64 out, __u64 owner, __u64 name)
{
	__u32 entry = (__u32)bpf_get_attach_cookie(ctx);
	struct pending_call call = {
		.out = out,
		.owner = owner,
		.name = entry == ENTRY_KERNEL_GET_FUNCTION ? 0 : name,
	};
	return remember(&call, entry);
}

/* cuModuleLoadData(CUmodule *out, const void *image), cuModuleLoadDataEx(out, image, ...),
 * cuModuleLoadFatBinary(out, fatCubin), cuLibraryLoadData(CUlibrary *out, const void *code, ...) */
SEC("uprobe")
int BPF_KPROBE(load_enter, __u64 out, __u64 image)
{
	struct pending_call call = { .out = out, .image = image };
	return remember(&call, (__u32)bpf_get_attach_cookie(ctx));
}

/* The return of every call above: CUDA_SUCCESS (0) sends what it created to user space. */
SEC("uretprobe")
int BPF_KRETPROBE(call_return, long result)
{
	__u32 entry = (__u32)bpf_get_attach_cookie(ctx);
	struct pending_key key = { .pid_tgid = bpf_get_current_pid_tgid(), .entry = entry };
	struct pending_call *call = bpf_map_lookup_elem(&pending, &key);
	if (!call) {
		count_stat(STAT_RETURNS_UNMATCHED);
		return 0;
	}
	struct pending_call args = *call;
	bpf_map_delete_elem(&pending, &key);
	if ((int)result != 0)
		return 0;

	__u32 tgid = key.pid_tgid >> 32;
	struct pid_budget *budget = budget_of(tgid);
	if (!budget || budget->events >= LEDGER_EVENTS_PER_PID) {
		if (budget)
			__sync_fetch_and_add(&budget->events_dropped, 1);
		count_stat(STAT_EVENTS_OVER_BUDGET);
		return 0;
	}

	struct ledger_event *event = bpf_ringbuf_reserve(&events, sizeof(*event), 0);
	if (!event) {
		count_stat(STAT_EVENTS_LOST);
		return 0;
	}
	__sync_fetch_and_add(&budget->events, 1);
	event->entry = entry;
	event->tgid = tgid;
	event->handle = 0;
	bpf_probe_read_user(&event->handle, sizeof(event->handle), (const void *)args.out);
	event->owner = args.owner;
	event->image = args.image;
	event->time_ns = bpf_ktime_get_ns();
	event->reserved = 0;
	event->name_len = 0;
	event->name[0] = 0;
	if (args.name) {
		long read = bpf_probe_read_user_str(event->name, sizeof(event->name), (const void *)args.name);
		event->name_len = read > 0 ? (__u32)read : 0;
	}
	bpf_ringbuf_submit(event, 0);
	return 0;
}

#!/usr/bin/env python3
"""Checks the rendered Kubernetes manifests (kubectl kustomize output) against what the agent needs.

Usage: kubernetes-manifests.py BASE.yaml SERVICEMONITOR.yaml PODMONITOR.yaml  (from the repository root)
Prints one line per problem and exits 1 when there is any.
"""
import re
import sys

import yaml

problems = []


def need(condition, message):
    if not condition:
        problems.append(message)


def docs(path):
    with open(path, encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d]


def one(objects, kind):
    found = [o for o in objects if o.get("kind") == kind]
    need(len(found) == 1, f"expected one {kind}, found {len(found)}")
    return found[0] if found else {}


base = docs(sys.argv[1])
ds = one(base, "DaemonSet")
pod = ds.get("spec", {}).get("template", {}).get("spec", {})
agent = (pod.get("containers") or [{}])[0]
args = agent.get("args", [])
mounts = {m["name"]: m for m in agent.get("volumeMounts", [])}
volumes = {v["name"]: v for v in pod.get("volumes", [])}

need(pod.get("hostPID") is True, "DaemonSet: hostPID must be true (NVML reports host pids)")
need(args[:1] == ["agent"], "DaemonSet: the container must run `gpuaudit agent`")

# Every flag the DaemonSet passes exists in the agent's source.
source = "".join(open(p, encoding="utf-8").read() for p in [
    "src/GpuAudit.Cli/Commands/AgentCommand.cs", "src/GpuAudit.Cli/Hosting/SessionOptions.cs",
    "src/GpuAudit.Cli/Hosting/KubernetesOptions.cs"])
for arg in args[1:]:
    flag = arg.split("=", 1)[0]
    need(f'"{flag}"' in source, f"DaemonSet passes {flag}, which `gpuaudit agent` does not have")


def flag(name):
    return next((a.split("=", 1)[1] for a in args if a.startswith(name + "=")), None)


def mounted(path, host, read_only):
    """A hostPath volume for HOST mounted at a directory holding PATH."""
    for name, mount in mounts.items():
        if path == mount["mountPath"] or path.startswith(mount["mountPath"].rstrip("/") + "/"):
            volume = volumes.get(name, {})
            need(volume.get("hostPath", {}).get("path") == host, f"{path}: volume {name} must be the host's {host}")
            if read_only:
                need(mount.get("readOnly") is True, f"{path}: mount {name} must be read-only")
            return
    problems.append(f"{path} is not mounted")


mounted(flag("--proc-root") or "/proc", "/proc", True)
socket = flag("--pod-resources")
need(socket == "/var/lib/kubelet/pod-resources/kubelet.sock", "DaemonSet: --pod-resources must name the kubelet's socket")
if socket:
    mounted(socket, "/var/lib/kubelet/pod-resources", True)
mounted(flag("--pod-logs") or "/var/log/pods", "/var/log/pods", True)
mounted(flag("--journal") or "/var/lib/gpuaudit", "/var/lib/gpuaudit", False)

security = agent.get("securityContext", {})
caps = security.get("capabilities", {})
need(caps.get("drop") == ["ALL"], "capabilities: drop ALL")
need(set(caps.get("add", [])) == {"SYS_PTRACE", "DAC_READ_SEARCH", "BPF", "PERFMON", "CHECKPOINT_RESTORE"},
     "capabilities: add exactly SYS_PTRACE, DAC_READ_SEARCH (/proc), BPF, PERFMON, CHECKPOINT_RESTORE (kernel ledger: uprobes, map_files)")
# Runtimes' default seccomp profiles deny bpf(2) and perf_event_open(2) without CAP_SYS_ADMIN.
need(security.get("seccompProfile", {}).get("type") == "Unconfined", "seccomp Unconfined (the kernel ledger's bpf and perf_event_open)")
need(security.get("privileged") is not True and security.get("allowPrivilegeEscalation") is False, "no privilege, no escalation")
need(security.get("readOnlyRootFilesystem") is True, "read-only root filesystem")

# The API server: the service account exists, is bound to a role that lists pods, and nothing more.
account = pod.get("serviceAccountName")
need(any(o["kind"] == "ServiceAccount" and o["metadata"]["name"] == account for o in base), f"ServiceAccount {account} is missing")
role = one(base, "ClusterRole")
need(role.get("rules") == [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}], "ClusterRole: get/list pods only")
binding = one(base, "ClusterRoleBinding")
need(binding.get("roleRef", {}).get("name") == role.get("metadata", {}).get("name")
     and {"kind": "ServiceAccount", "name": account, "namespace": ds["metadata"]["namespace"]} in binding.get("subjects", []),
     "ClusterRoleBinding must bind the agent's ServiceAccount to the pod reader")

# The image the Dockerfile builds, serving the port the monitors scrape.
dockerfile = open("Dockerfile", encoding="utf-8").read()
image = agent.get("image", "")
need(image.split(":")[0] in dockerfile, f"the Dockerfile does not say it builds {image}")
port = next((p for p in agent.get("ports", []) if p.get("name") == "metrics"), {})
need(f"EXPOSE {port.get('containerPort')}" in dockerfile, "the Dockerfile must EXPOSE the metrics port")
need(re.search(r'^ENTRYPOINT \["/usr/local/bin/gpuaudit"\]', dockerfile, re.M) is not None, "the image's entrypoint is gpuaudit")
service = one(base, "Service")
need(any(p.get("name") == "metrics" for p in service.get("spec", {}).get("ports", [])), "Service: port metrics")

labels = ds["spec"]["template"]["metadata"]["labels"]
for path, kind, endpoints in [(sys.argv[2], "ServiceMonitor", "endpoints"), (sys.argv[3], "PodMonitor", "podMetricsEndpoints")]:
    monitor = one(docs(path), kind)
    spec = monitor.get("spec", {})
    selected = spec.get("selector", {}).get("matchLabels", {})
    target = service["metadata"].get("labels", {}) if kind == "ServiceMonitor" else labels
    need(selected and all(target.get(k) == v for k, v in selected.items()), f"{kind} selects nothing the base deploys")
    need([e.get("port") for e in spec.get(endpoints, [])] == ["metrics"], f"{kind}: scrape the metrics port")
    need(target.get(spec.get("jobLabel")) == "gpuaudit", f"{kind}: job must be gpuaudit (alerts select up{{job=\"gpuaudit\"}})")

for p in problems:
    print(p)
sys.exit(1 if problems else 0)

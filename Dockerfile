# The agent's image: the NativeAOT gpuaudit on a small runtime base.
#   docker build -t ghcr.io/gpuaudit/gpuaudit:latest .
# deploy/kubernetes (the DaemonSet, and the ServiceMonitor / PodMonitor overlays) runs it; NVML
# comes from the host through the NVIDIA container runtime (NVIDIA_DRIVER_CAPABILITIES=utility).

# --- build: the SDK, clang and zlib for the NativeAOT link ------------------------------------
FROM mcr.microsoft.com/dotnet/sdk:10.0-noble AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends clang zlib1g-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Restore first, from the project files alone, so a source change does not re-download packages.
COPY global.json Directory.Build.props Directory.Packages.props ./
COPY src/GpuAudit.Core/GpuAudit.Core.csproj src/GpuAudit.Core/
COPY src/GpuAudit.Nvml/GpuAudit.Nvml.csproj src/GpuAudit.Nvml/
COPY src/GpuAudit.Linux/GpuAudit.Linux.csproj src/GpuAudit.Linux/
COPY src/GpuAudit.Agent/GpuAudit.Agent.csproj src/GpuAudit.Agent/
COPY src/GpuAudit.Ebpf/GpuAudit.Ebpf.csproj src/GpuAudit.Ebpf/
COPY src/GpuAudit.Kubernetes/GpuAudit.Kubernetes.csproj src/GpuAudit.Kubernetes/
COPY src/GpuAudit.Cli/GpuAudit.Cli.csproj src/GpuAudit.Cli/
RUN dotnet restore src/GpuAudit.Cli -r linux-x64 -p:PublishAot=true
COPY src/ src/
# The demo's bundled recordings are embedded from data/traces.
COPY data/traces/ data/traces/
RUN dotnet publish src/GpuAudit.Cli -c Release -r linux-x64 --no-restore -p:PublishAot=true -o /out \
 && rm -f /out/*.dbg /out/*.pdb

# --- run: glibc, OpenSSL and CA certificates (runtime-deps) plus libbpf for the kernel ledger ---
FROM mcr.microsoft.com/dotnet/runtime-deps:10.0-noble
RUN apt-get update \
 && apt-get install -y --no-install-recommends libbpf1 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/ /usr/local/bin/
# Root in the container only so that the DaemonSet's added capabilities are effective
# (docs/deploy.md); the DaemonSet drops every other capability.
USER 0
EXPOSE 9477
ENTRYPOINT ["/usr/local/bin/gpuaudit"]
CMD ["agent"]

using System.Runtime.CompilerServices;

// Every native signature is blittable: no runtime marshalling stubs, nothing for NativeAOT to generate.
[assembly: DisableRuntimeMarshalling]
[assembly: InternalsVisibleTo("GpuAudit.Ebpf.Tests")]

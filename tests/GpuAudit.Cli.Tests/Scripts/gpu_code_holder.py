#!/usr/bin/env python3
"""A live process that holds GPU code in its heap for `gpuaudit inspect` to find, then waits
until its stdin closes. Modes:
  nvrtc FILE.cu...     compile each with NVIDIA's NVRTC (libnvrtc.so.11.2) to PTX and an sm_90
                       cubin, and keep both, as a run-time-compiling miner does
  fatbin FILE.cu       the same, packed by NVIDIA's fatbinary with every entry compressed; only
                       the fatbin is kept
  headers MIB [FILE.cu]  MIB MiB of bare 64-byte EM_CUDA ELF headers, and one header claiming
                       255 MiB; with FILE.cu, its NVRTC-compiled cubin after them all
Prints "ready" on stdout once the code is in memory."""
import ctypes, os, struct, subprocess, sys, tempfile


def nvrtc(path, arch):
    lib = ctypes.CDLL("libnvrtc.so.11.2")
    program = ctypes.c_void_p()
    source = open(path, "rb").read()
    assert lib.nvrtcCreateProgram(ctypes.byref(program), source, os.path.basename(path).encode(), 0, None, None) == 0
    # The source is handed over in memory: its directory (shared headers) is an include path.
    options = (ctypes.c_char_p * 2)(b"--gpu-architecture=" + arch.encode(), b"--include-path=" + os.path.dirname(os.path.abspath(path)).encode())
    if lib.nvrtcCompileProgram(program, 2, options) != 0:
        size = ctypes.c_size_t()
        lib.nvrtcGetProgramLogSize(program, ctypes.byref(size))
        log = ctypes.create_string_buffer(size.value)
        lib.nvrtcGetProgramLog(program, log)
        sys.exit("nvrtc: " + log.value.decode())
    size = ctypes.c_size_t()
    kind = "CUBIN" if arch.startswith("sm_") else "PTX"
    getattr(lib, "nvrtcGet%sSize" % kind)(program, ctypes.byref(size))
    output = ctypes.create_string_buffer(size.value)
    getattr(lib, "nvrtcGet%s" % kind)(program, output)
    lib.nvrtcDestroyProgram(ctypes.byref(program))
    return output.raw


def fatbin(path):
    with tempfile.TemporaryDirectory() as work:
        cubin, ptx, out = (os.path.join(work, n) for n in ("k.cubin", "k.ptx", "k.fatbin"))
        open(cubin, "wb").write(nvrtc(path, "sm_90"))
        open(ptx, "wb").write(nvrtc(path, "compute_90").rstrip(b"\0"))
        subprocess.run(["fatbinary", "-64", "--compress-all", "--create=" + out,
                        "--image3=kind=elf,sm=90,file=" + cubin, "--image3=kind=ptx,sm=90,file=" + ptx], check=True)
        return open(out, "rb").read()


def headers(mib):
    header = bytearray(64)
    header[0:4] = b"\x7fELF"
    header[4], header[5], header[6] = 2, 1, 1
    struct.pack_into("<HH", header, 16, 2, 190)  # ET_EXEC, EM_CUDA
    # A separate 256 MiB allocation (untouched pages: no RSS here) opened by a header whose
    # section table claims to lie 255 MiB in.
    claiming = bytearray(256 << 20)
    claiming[0:64] = header
    struct.pack_into("<Q", claiming, 40, (255 << 20) - 64 * 4)  # e_shoff
    struct.pack_into("<HH", claiming, 58, 64, 4)  # e_shentsize, e_shnum
    return [bytes(header) * ((mib << 20) // 64), claiming]


mode, args = sys.argv[1], sys.argv[2:]
if mode == "nvrtc":
    held = [nvrtc(path, arch) for path in args for arch in ("compute_90", "sm_90")]
elif mode == "fatbin":
    held = [fatbin(args[0])]
else:
    held = headers(int(args[0])) + [nvrtc(path, "sm_90") for path in args[1:]]
print("ready", flush=True)
sys.stdin.read()

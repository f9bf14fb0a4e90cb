#!/bin/sh
# Compiles the CUDA kernel ledger's BPF program. With no argument it refreshes the committed
# object (cuda_ledger.bpf.o) and the hash of the sources it came from (cuda_ledger.bpf.sha256):
# run it after editing cuda_ledger.bpf.c or cuda_ledger.h, and commit both. With a path, it
# writes the object there (what the build does where clang is installed).
# Needs clang and the libbpf headers (Debian: clang libbpf-dev); llvm-strip (llvm) when present.
set -eu
cd "$(dirname "$0")"
out=${1:-cuda_ledger.bpf.o}
arch=$(uname -m)
mkdir -p "$(dirname "$out")"
tmp="$out.tmp.$$"
# -g: libbpf needs the BTF it produces (map definitions). A relative source path and the
# prefix map keep the tree's location out of the object; the DWARF is stripped when possible.
clang -target bpf -O2 -g -Wall -Werror -D__TARGET_ARCH_x86 -I"/usr/include/$arch-linux-gnu" \
  -fdebug-prefix-map="$(pwd)"=. -c cuda_ledger.bpf.c -o "$tmp"
if command -v llvm-strip >/dev/null 2>&1; then
  llvm-strip -g "$tmp" -o "$out"
  rm -f "$tmp"
else
  mv "$tmp" "$out"
fi
if [ $# -eq 0 ]; then
  cat cuda_ledger.bpf.c cuda_ledger.h | sha256sum | cut -d' ' -f1 > cuda_ledger.bpf.sha256
fi

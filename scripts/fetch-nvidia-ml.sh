#!/usr/bin/env bash
# Unpacks NVIDIA's own libnvidia-ml.so.1 (Debian non-free package libnvidia-ml1, the R535 driver's
# NVML) into .cache/nvidia-ml/ for the tests that load the real library on a machine without a
# driver. Nothing is installed system-wide: the .deb is downloaded and unpacked with dpkg -x.
# Adds Debian's non-free component to the apt sources when it is missing. Prints the library path.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=.cache/nvidia-ml
lib_dir=$dest/root/usr/lib/x86_64-linux-gnu/nvidia/current
if [ -e "$lib_dir/libnvidia-ml.so.1" ]; then
  echo "$(pwd)/$lib_dir/libnvidia-ml.so.1"
  exit 0
fi

sudo_cmd=""
[ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
if ! apt-cache policy libnvidia-ml1 2>/dev/null | grep -q 'Candidate: [0-9]'; then
  if ! grep -rqs 'non-free' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    # deb822 sources (bookworm and later): Debian's mirror, this release's suites.
    codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
    printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: %s %s-updates\nComponents: non-free\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$codename" "$codename" \
      | $sudo_cmd tee /etc/apt/sources.list.d/gpuaudit-non-free.sources >/dev/null
  fi
  $sudo_cmd apt-get update -qq >/dev/null
fi

mkdir -p "$dest"
rm -f "$dest"/libnvidia-ml1_*.deb
(cd "$dest" && apt-get download -qq -o APT::Sandbox::User=root libnvidia-ml1 >/dev/null)
dpkg -x "$dest"/libnvidia-ml1_*.deb "$dest/root"
echo "$(pwd)/$lib_dir/libnvidia-ml.so.1"

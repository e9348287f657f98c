#!/usr/bin/env bash
# Builds lmlab and runs its whole test suite against libtorch 2.x on a CPU-only machine: a
# Debian 13 (trixie, libtorch-dev 2.6) root made with debootstrap, in which scripts/test.sh
# installs its Debian packages and runs as usual. It checks the code paths that Debian 12's
# libtorch 1.13 never compiles (SDPA attention, c10d's 2.x Backend API, the trainer's 2.4+
# branches) without the GPU machine; CUDA itself still needs that machine.
#   sudo bash scripts/check-libtorch2.sh [ROOT]     (default ROOT: ../trixie-root, kept for reuse)
# Needs root (debootstrap, chroot, bind mounts) and Debian's mirror. The tree tested is a clone
# of this checkout's HEAD plus its uncommitted changes to tracked files.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(realpath -m "${1:-../trixie-root}")
shared=$(realpath ../shared)
[ "$(id -u)" -eq 0 ] || { echo "check-libtorch2: needs root (debootstrap, chroot)" >&2; exit 2; }
command -v debootstrap >/dev/null || apt-get install -y -qq debootstrap >/dev/null
if [ ! -x "$root/usr/bin/apt-get" ]; then
  echo "check-libtorch2: debootstrap trixie into $root"
  debootstrap --variant=minbase --include=ca-certificates,sudo trixie "$root" http://deb.debian.org/debian >/dev/null
fi
cp /etc/resolv.conf "$root/etc/resolv.conf"
mkdir -p "$root/src/shared"
mounts=()
cleanup() { for ((i=${#mounts[@]}-1; i>=0; i--)); do umount "${mounts[i]}" || true; done; }
trap cleanup EXIT
for m in proc sys dev; do mount --bind "/$m" "$root/$m"; mounts+=("$root/$m"); done
mount --bind "$shared" "$root/src/shared"; mounts+=("$root/src/shared")
rm -rf "$root/src/main"
git clone -q . "$root/src/main"
git diff HEAD | (cd "$root/src/main" && git apply --allow-empty)
chroot "$root" bash -c 'cd /src/main && bash scripts/test.sh'

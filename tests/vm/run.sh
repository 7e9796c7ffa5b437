#!/usr/bin/env bash
# Boots a Debian cloud kernel under qemu TCG once and runs the kernel
# WireGuard test suite (tests/vm/guest/*_test.ts) in it, then the host test
# files named in VM_EXTRA_TESTS (their rc is printed as `@@extra rc=N`).
#
#   tests/vm/run.sh            # exit code = the guest's `deno test` exit code
#   tests/vm/run.sh --prepare  # only fetch and unpack the kernel (77 = cannot)
#
# Steps: resolve the kernel ABI with apt-cache, `apt-get download` the .deb
# into .cache/vm/ (reused), `dpkg -x`, build an uncompressed initramfs with
# busybox, ip/wg/nft, the real deno binary, their libraries, the modules in
# `modprobe --show-depends` order and the repo's source, boot with
# `-accel tcg` (never KVM: this host's /dev/kvm is PVM and hangs stock
# kernels), and print the guest's serial log. Markers: `@@boot-done`,
# `@@result rc=N`; no `@@result` (hang, panic) gives exit 99.
#
# Env: DENO_BIN (the real deno binary), VM_CACHE (.cache/vm), VM_MEM (768M),
# VM_TIMEOUT seconds (240), VM_EXTRA_TESTS (more test paths, repo-relative).
set -euo pipefail
cd "$(dirname "$0")/../.."
REPO=$PWD
CACHE=${VM_CACHE:-$REPO/.cache/vm}
MEM=${VM_MEM:-768M}
TIMEOUT=${VM_TIMEOUT:-240}
DENO_BIN=${DENO_BIN:-$REPO/node_modules/@deno/linux-x64-glibc/deno}
mkdir -p "$CACHE"
t0=$(date +%s.%N)
say() { echo "@@host $1 t=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.2f", b-a}')"; }

for tool in qemu-system-x86_64 cpio dpkg apt-get modprobe busybox ip wg nft wireguard-go; do
  command -v "$tool" >/dev/null || { echo "@@skip missing tool: $tool"; exit 77; }
done
[ -x "$DENO_BIN" ] || { echo "@@skip no deno binary at $DENO_BIN"; exit 77; }

# 1. The kernel: resolve the ABI now, since it changes with point releases.
abi() { apt-cache depends linux-image-cloud-amd64 2>/dev/null | awk '/Depends: linux-image/{print $2; exit}'; }
PKG=$(abi)
if [ -z "$PKG" ] && [ "$(id -u)" = 0 ]; then apt-get update -qq >/dev/null 2>&1; PKG=$(abi); fi
[ -n "$PKG" ] || { echo "@@skip apt-cache knows no linux-image-cloud-amd64 (run apt-get update)"; exit 77; }
KVER=${PKG#linux-image-}
DEB=$(ls "$CACHE"/"${PKG}"_*.deb 2>/dev/null | head -n1 || true)
if [ -z "$DEB" ]; then
  (cd "$CACHE" && apt-get download "$PKG" >/dev/null 2>&1) \
    || { echo "@@skip cannot download $PKG"; exit 77; }
  DEB=$(ls "$CACHE"/"${PKG}"_*.deb | head -n1)
fi
KROOT=$CACHE/kroot-$KVER
if [ ! -f "$KROOT/boot/vmlinuz-$KVER" ]; then
  rm -rf "$KROOT"; dpkg -x "$DEB" "$KROOT"
fi
[ -f "$KROOT/lib/modules/$KVER/modules.dep" ] || depmod -b "$KROOT" "$KVER"
say "kernel $KVER ready"
[ "${1:-}" = "--prepare" ] && exit 0

# 2. The initramfs root.
ROOT=$CACHE/root
rm -rf "$ROOT"; mkdir -p "$ROOT"/{bin,sbin,usr/bin,usr/sbin,lib64,proc,sys,dev,run,tmp,etc,root,repo}
mkdir -p "$ROOT/var"; ln -s /run "$ROOT/var/run"
cp "$(command -v busybox)" "$ROOT/bin/busybox"
copy_bin() { # src dest-in-root
  cp "$1" "$ROOT$2"
  ldd "$1" | awk '/=>/ {print $3} /^\s*\/lib/ {print $1}' | while read -r lib; do
    [ -f "$lib" ] || continue
    mkdir -p "$ROOT$(dirname "$lib")"; cp -n "$lib" "$ROOT$lib"
  done
}
copy_bin "$(command -v ip)" /usr/sbin/ip
copy_bin "$(command -v wg)" /usr/bin/wg
copy_bin "$(command -v nft)" /usr/sbin/nft
copy_bin "$(command -v wireguard-go)" /usr/bin/wireguard-go
copy_bin "$DENO_BIN" /usr/bin/deno
cp -n /lib64/ld-linux-x86-64.so.2 "$ROOT/lib64/"
: > "$ROOT/modules.load"
for mod in wireguard veth tun dummy nf_tables; do
  modprobe -S "$KVER" -d "$KROOT" --show-depends "$mod" | awk '$1=="insmod"{print $2}' |
    while read -r ko; do
      dest=${ko#"$KROOT"}
      grep -qx "$dest" "$ROOT/modules.load" && continue
      mkdir -p "$ROOT$(dirname "$dest")"; cp "$ko" "$ROOT$dest"; echo "$dest" >> "$ROOT/modules.load"
    done
done
# The repo: the binding, the core it imports, and the tests that run in the
# guest (relative imports only).
cp -r ffi core "$ROOT/repo/"
mkdir -p "$ROOT/repo/tests"
# tests/_tools/netns.ts re-exports the shared build/run.ts and build/demo/netns.ts.
cp -r --parents tests/_tools tests/vm/guest tests/ffi/wireguard/_*.ts \
  build/run.ts build/demo/netns.ts "$ROOT/repo/"
for extra in ${VM_EXTRA_TESTS:-}; do cp -r --parents "$extra" "$ROOT/repo/"; done
# The whole program as one file, for the kernel-backend mesh of real agents
# (tests/vm/guest/kernel_mesh_test.ts); the guest has no node_modules.
if "$DENO_BIN" bundle --quiet --platform deno -o "$CACHE/edgespan.js" main.ts; then
  cp "$CACHE/edgespan.js" "$ROOT/repo/edgespan.js"
else
  echo "@@host bundle failed: the kernel mesh test will skip"
fi
cat > "$ROOT/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
mount -t tmpfs tmp /run; mount -t tmpfs tmp /tmp
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root DENO_DIR=/tmp/deno DENO_NO_PROMPT=1 NO_COLOR=1 DENO_NO_UPDATE_CHECK=1 EDGESPAN_VM_GUEST=1
while read -r ko; do insmod "$ko" 2>/dev/null || echo "insmod $ko failed"; done < /modules.load
/usr/sbin/ip link set lo up
echo "@@boot-done uptime=$(cut -d' ' -f1 /proc/uptime)"
cd /repo
deno test --no-check --no-config --no-lock -A tests/vm/guest/
rc=$?
if [ -s /extra_tests ]; then
  echo "@@extra-begin"
  deno test --no-check --no-config --no-lock -A $(cat /extra_tests)
  echo "@@extra rc=$?"
fi
echo "@@mem used_kb=$(awk '/MemTotal/{t=$2}/MemAvailable/{a=$2}END{print t-a}' /proc/meminfo)"
echo "@@result rc=$rc uptime=$(cut -d' ' -f1 /proc/uptime)"
poweroff -f
INIT
chmod +x "$ROOT/init"
echo "${VM_EXTRA_TESTS:-}" | tr -s ' ' > "$ROOT/extra_tests"
[ -n "${VM_EXTRA_TESTS:-}" ] || : > "$ROOT/extra_tests"
(cd "$ROOT" && find . | cpio -o -H newc --quiet > "$CACHE/initrd.cpio")
say "initramfs $(du -m "$CACHE/initrd.cpio" | cut -f1) MB"

# 3. Boot once. TCG only.
LOG=$CACHE/serial.log
set +e
timeout "$TIMEOUT" qemu-system-x86_64 -accel tcg,thread=multi,tb-size=256 -m "$MEM" -smp 2 \
  -nodefaults -no-user-config -display none -serial stdio -no-reboot \
  -kernel "$KROOT/boot/vmlinuz-$KVER" -initrd "$CACHE/initrd.cpio" \
  -append "console=ttyS0 quiet panic=-1" < /dev/null | tr -d '\r' | tee "$LOG"
set -e
say "vm exited"
rc=$(sed -n 's/^@@result rc=\([0-9]*\).*/\1/p' "$LOG" | tail -n1)
exit "${rc:-99}"

#!/bin/sh
# Builds the real-AppArmor VM of @apparmor-monkeys/vm: host packages (apt-get, as root or
# through sudo), the stock Debian kernel (downloaded and unpacked, never installed) and a
# busybox initramfs. Idempotent; a no-op when the cache is current (stamp keyed by kernel
# version, /init hash and this script's hash). Debian-like hosts only (apt-get, dpkg-deb).
# Normally run as `apparmor-monkeys-vm setup`, which passes AAM_VM_DIR.
#
# usage: guest/setup.sh [--check] [--refresh]
#   --check    report only: exit 0 if the VM is ready, 3 (and what is missing) if not
#   --refresh  resolve the kernel package again (new ABI after an `apt-get update`)
# env:   AAM_VM_DIR        cache directory (default: <repo>/.cache/vm in the apparmor-monkeys
#                          checkout, else ${XDG_CACHE_HOME:-~/.cache}/apparmor-monkeys/vm)
#        AAM_VM_KERNEL_PKG kernel meta package (default linux-image-amd64)
# exit:  0 ready, 3 prerequisites missing (no root and no sudo, or not Debian-like), 1 any other failure
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../../.." && pwd)
if [ -f "$REPO/pnpm-workspace.yaml" ] && [ "$REPO/packages/vm/guest" = "$HERE" ]; then
  VM_DIR=${AAM_VM_DIR:-$REPO/.cache/vm}
else
  VM_DIR=${AAM_VM_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/apparmor-monkeys/vm}
fi
# Debian's meta package; Ubuntu has no linux-image-amd64 (its -virtual kernel, untested here).
DEFAULT_META=linux-image-amd64
grep -qs '^ID=ubuntu' /etc/os-release && DEFAULT_META=linux-image-virtual
META=${AAM_VM_KERNEL_PKG:-$DEFAULT_META}
INIT="$HERE/init"
SELF="$HERE/setup.sh"
FEATURES=/usr/share/apparmor-features/features
# The modules /init needs; their dependencies are resolved from the .ko files.
TARGET_MODS="virtio_pci 9pnet_virtio 9p overlay"
APPLETS="sh mount umount insmod mkdir switch_root poweroff cat echo sleep ls dmesg ip hostname tail"

CHECK=0 REFRESH=0
for a in "$@"; do
  case "$a" in
    --check) CHECK=1 ;;
    --refresh) REFRESH=1 ;;
    *) echo "setup.sh: unknown argument: $a" >&2; exit 1 ;;
  esac
done

say() { echo "vm-setup: $*" >&2; }
die() { say "$*"; exit 1; }
is_root() { [ "$(id -u)" = 0 ]; }
# Root directly, else passwordless sudo (CI runners); only apt-get needs it.
can_root() { is_root || { command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; }; }
as_root() { if is_root; then "$@"; else sudo -n "$@"; fi; }
have() { command -v "$1" >/dev/null 2>&1; }
sbin_have() { PATH="$PATH:/usr/sbin:/sbin" command -v "$1" >/dev/null 2>&1; }
hash_of() { sha256sum "$1" | cut -d' ' -f1; }

# -- 1. host binaries -------------------------------------------------------------------
# Prints "package:reason" for each missing host prerequisite.
missing_pkgs() {
  have qemu-system-x86_64 || echo "qemu-system-x86:qemu-system-x86_64 not found"
  if [ ! -x /bin/busybox ]; then
    echo "busybox-static:/bin/busybox not found"
  elif ldd /bin/busybox >/dev/null 2>&1; then
    echo "busybox-static:/bin/busybox is dynamically linked (the initramfs needs busybox-static)"
  fi
  sbin_have apparmor_parser || echo "apparmor:apparmor_parser not found"
  have aa-exec || echo "apparmor:aa-exec not found"
  [ -f "$FEATURES" ] || echo "apparmor:$FEATURES not found"
  have cpio || echo "cpio:cpio not found"
  have dmesg || echo "util-linux:dmesg not found"
  have setpriv || echo "util-linux:setpriv not found"
}

stamp_current() {
  [ -f "$VM_DIR/stamp" ] || return 1
  kv=$(sed -n 's/^kver=//p' "$VM_DIR/stamp")
  ki=$(sed -n 's/^kernel=//p' "$VM_DIR/stamp")
  [ -n "$kv" ] && [ -n "$ki" ] && [ -f "$VM_DIR/kernel/$kv/$ki" ] && [ -f "$VM_DIR/initramfs.cpio.gz" ] || return 1
  [ "$(sed -n 's/^init=//p' "$VM_DIR/stamp")" = "$(hash_of "$INIT")" ] || return 1
  [ "$(sed -n 's/^setup=//p' "$VM_DIR/stamp")" = "$(hash_of "$SELF")" ] || return 1
}

MISSING=$(missing_pkgs)
if [ -z "$MISSING" ] && [ "$REFRESH" = 0 ] && stamp_current; then
  [ "$CHECK" = 1 ] && say "ready: $VM_DIR (kernel $kv)"
  exit 0
fi
if [ "$CHECK" = 1 ]; then
  [ -n "$MISSING" ] && echo "$MISSING" | sed 's/^[^:]*:/vm-setup: missing: /' >&2
  stamp_current || say "missing: VM cache in $VM_DIR is absent or stale (run: apparmor-monkeys-vm setup)"
  exit 3
fi

APT_UPDATED=0
apt_update_once() {
  [ "$APT_UPDATED" = 1 ] && return 0
  say "apt-get update"
  as_root apt-get update -qq >&2 || die "apt-get update failed"
  APT_UPDATED=1
}

if [ -n "$MISSING" ]; then
  PKGS=$(echo "$MISSING" | cut -d: -f1 | sort -u | tr '\n' ' ')
  if ! have apt-get; then
    echo "$MISSING" | sed 's/^[^:]*:/vm-setup: missing: /' >&2
    say "this host has no apt-get: the VM needs a Debian or Ubuntu host (x86_64) with: $PKGS"
    exit 3
  fi
  if ! can_root; then
    echo "$MISSING" | sed 's/^[^:]*:/vm-setup: missing: /' >&2
    say "install as root (or give this user sudo): apt-get install --no-install-recommends $PKGS"
    exit 3
  fi
  apt_update_once
  say "installing: $PKGS"
  # shellcheck disable=SC2086
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $PKGS >&2 \
    || die "apt-get install failed"
  MISSING=$(missing_pkgs)
  [ -z "$MISSING" ] || { echo "$MISSING" | sed 's/^[^:]*:/vm-setup: still missing: /' >&2; exit 1; }
fi
for t in apt-get apt-cache dpkg-deb gzip sha256sum; do
  have "$t" || { say "missing: $t (the VM setup needs a Debian-like host)"; exit 3; }
done

mkdir -p "$VM_DIR"

# -- 2. kernel ----------------------------------------------------------------------------
resolve_kpkg() {
  apt-cache depends "$META" 2>/dev/null | awk '/Depends: linux-image-/ { print $2; exit }'
}

# Unpacks the .debs $2… of kernel $1 and keeps vmlinuz, its config and the needed modules
# (dependency order in mods/order) under $VM_DIR/kernel/$1.
extract_kernel() {
  kv=$1; shift
  x="$VM_DIR/tmp-x.$$"
  rm -rf "$x" && mkdir -p "$x"
  for deb in "$@"; do
    dpkg-deb -x "$deb" "$x" || die "dpkg-deb -x $deb failed"
  done
  deb="$*"
  vmlinuz=$(find "$x" -path "*/boot/vmlinuz-$kv" | head -n 1)
  config=$(find "$x" -path "*/boot/config-$kv" | head -n 1)
  moddir=$(find "$x" -type d -path "*/modules/$kv" | head -n 1)
  [ -n "$vmlinuz" ] && [ -n "$moddir" ] || die "no vmlinuz-$kv or modules/$kv in $deb"
  if [ -n "$config" ]; then
    grep -q '^CONFIG_SECURITY_APPARMOR=y' "$config" || die "kernel $kv has no AppArmor (CONFIG_SECURITY_APPARMOR)"
  fi
  dst="$VM_DIR/kernel/$kv.tmp.$$"
  rm -rf "$dst" && mkdir -p "$dst/mods"
  cp "$vmlinuz" "$dst/vmlinuz"
  [ -n "$config" ] && cp "$config" "$dst/config"
  find "$moddir" -name '*.ko' -o -name '*.ko.xz' -o -name '*.ko.zst' -o -name '*.ko.gz' > "$x/kos"
  builtin="$moddir/modules.builtin"
  # Worklist: copy each needed module, read its depends= from .modinfo, queue the deps.
  todo=$TARGET_MODS done_mods=""
  while [ -n "$todo" ]; do
    set -- $todo; m=$1; shift; todo="$*"
    case " $done_mods " in *" $m "*) continue ;; esac
    done_mods="$done_mods $m"
    pat=$(echo "$m" | sed 's/[-_]/[-_]/g')
    f=$(grep -E "/${pat}\.ko(\.xz|\.zst|\.gz)?\$" "$x/kos" | head -n 1 || true)
    if [ -z "$f" ]; then
      if [ -f "$builtin" ] && grep -Eq "/${pat}\.ko\$" "$builtin"; then continue; fi
      die "kernel $kv: module $m is neither a .ko nor built in (this kernel flavour lacks 9p/virtio?)"
    fi
    case "$f" in
      *.ko) cp "$f" "$dst/mods/$m.ko" ;;
      *.ko.xz) xz -dc "$f" > "$dst/mods/$m.ko" || die "cannot decompress $f (xz)" ;;
      *.ko.zst) zstd -dcq "$f" > "$dst/mods/$m.ko" || die "cannot decompress $f (zstd)" ;;
      *.ko.gz) gzip -dc "$f" > "$dst/mods/$m.ko" ;;
    esac
    deps=$(tr '\000' '\n' < "$dst/mods/$m.ko" | sed -n 's/^depends=//p' | head -n 1 | tr ',' ' ')
    echo "$deps" > "$dst/mods/$m.deps"
    todo="$todo $deps"
  done
  # Topological order: emit a module once all of its (non-builtin) deps are emitted.
  order="" left=""
  for m in $done_mods; do [ -f "$dst/mods/$m.ko" ] && left="$left $m"; done
  while [ -n "$(echo $left)" ]; do
    progress=0 next=""
    for m in $left; do
      ready=1
      for d in $(cat "$dst/mods/$m.deps"); do
        [ -f "$dst/mods/$d.ko" ] || continue
        case " $order " in *" $d "*) ;; *) ready=0 ;; esac
      done
      if [ "$ready" = 1 ]; then order="$order $m"; progress=1; else next="$next $m"; fi
    done
    [ "$progress" = 1 ] || die "module dependency cycle among:$left"
    left=$next
  done
  for m in $order; do echo "$m"; done > "$dst/mods/order"
  rm -f "$dst/mods/"*.deps
  rm -rf "$VM_DIR/kernel/$kv" && mv "$dst" "$VM_DIR/kernel/$kv"
  rm -rf "$x"
}

KVER=""
if [ "$REFRESH" = 0 ] && [ -f "$VM_DIR/stamp" ]; then
  KVER=$(sed -n 's/^kver=//p' "$VM_DIR/stamp")
  [ -n "$KVER" ] && [ -f "$VM_DIR/kernel/$KVER/vmlinuz" ] || KVER=""
fi
if [ -z "$KVER" ]; then
  KPKG=$(resolve_kpkg)
  if [ -z "$KPKG" ] && can_root; then apt_update_once; KPKG=$(resolve_kpkg); fi
  [ -n "$KPKG" ] || { say "cannot resolve $META with apt-cache (run apt-get update as root; on a host other than Debian set AAM_VM_KERNEL_PKG to a meta package of a kernel with AppArmor, 9p and virtio modules)"; exit 3; }
  KVER=${KPKG#linux-image-}
  if [ ! -f "$VM_DIR/kernel/$KVER/vmlinuz" ]; then
    dl="$VM_DIR/tmp-dl.$$"
    rm -rf "$dl" && mkdir -p "$dl"
    say "downloading $KPKG"
    SANDBOX=""
    is_root && SANDBOX="-o APT::Sandbox::User=root"
    # shellcheck disable=SC2086
    if ! (cd "$dl" && apt-get download -qq $SANDBOX "$KPKG" >&2); then
      # Stale package lists name a kernel the mirror no longer has: refresh once and retry.
      can_root || die "apt-get download $KPKG failed (stale lists? run apt-get update as root)"
      apt_update_once
      KPKG=$(resolve_kpkg); KVER=${KPKG#linux-image-}
      say "downloading $KPKG"
      # shellcheck disable=SC2086
      (cd "$dl" && apt-get download -qq $SANDBOX "$KPKG" >&2) || die "apt-get download $KPKG failed"
    fi
    # Ubuntu's image package holds only vmlinuz: the modules and config are in linux-modules-*.
    if ! dpkg-deb -c "$(ls "$dl"/*.deb | head -n 1)" 2>/dev/null | grep -q "/lib/modules/$KVER/"; then
      for extra in "linux-modules-$KVER" "linux-modules-extra-$KVER"; do
        apt-cache show "$extra" >/dev/null 2>&1 || continue
        say "downloading $extra"
        # shellcheck disable=SC2086
        (cd "$dl" && apt-get download -qq $SANDBOX "$extra" >&2) || die "apt-get download $extra failed"
      done
    fi
    say "unpacking $(cd "$dl" && ls *.deb | tr '\n' ' ')"
    extract_kernel "$KVER" "$dl"/*.deb
    rm -rf "$dl"
  fi
fi

# -- 3. uncompressed kernel for PVH boot ---------------------------------------------------
# Under TCG, SeaBIOS plus the bzImage's own XZ decompression cost about 4 s per boot. A kernel
# with CONFIG_PVH boots straight from its ELF vmlinux (qemu's PVH loader): the payload is
# unpacked once here. Falls back to vmlinuz when that is not possible.
KDIR="$VM_DIR/kernel/$KVER"
BOOT_IMAGE=vmlinuz
if [ -f "$KDIR/vmlinux" ]; then
  BOOT_IMAGE=vmlinux
elif [ -f "$KDIR/config" ] && grep -q '^CONFIG_PVH=y' "$KDIR/config"; then
  # magic  decompressor   (xz, zstd, gzip; the kernel's own scripts/extract-vmlinux does the same)
  for spec in "$(printf '\3757zXZ'):xz -dcq" "$(printf '(\265/\375'):zstd -dcq" "$(printf '\037\213\010'):gzip -dcq"; do
    magic=${spec%%:*} cmd=${spec#*:}
    have "${cmd%% *}" || continue
    for off in $(LC_ALL=C grep -obUa "$magic" "$KDIR/vmlinuz" 2>/dev/null | cut -d: -f1); do
      # The payload is followed by other data, so the decompressor exits non-zero: judge the output.
      tail -c +"$((off + 1))" "$KDIR/vmlinuz" | $cmd > "$KDIR/vmlinux.tmp" 2>/dev/null || true
      if [ "$(head -c 4 "$KDIR/vmlinux.tmp" | od -An -c | tr -d ' ')" = '177ELF' ] \
        && LC_ALL=C grep -aq "Linux version $KVER" "$KDIR/vmlinux.tmp"; then
        mv "$KDIR/vmlinux.tmp" "$KDIR/vmlinux"
        BOOT_IMAGE=vmlinux
        break 2
      fi
    done
  done
  rm -f "$KDIR/vmlinux.tmp"
  [ "$BOOT_IMAGE" = vmlinux ] || say "no PVH vmlinux could be unpacked from vmlinuz; booting the bzImage (slower)"
fi

# -- 4. initramfs -------------------------------------------------------------------------
stage="$VM_DIR/tmp-initramfs.$$"
rm -rf "$stage"
mkdir -p "$stage/bin" "$stage/dev" "$stage/proc" "$stage/sys" "$stage/newroot" "$stage/mods"
cp /bin/busybox "$stage/bin/busybox"
for a in $APPLETS; do ln -s busybox "$stage/bin/$a"; done
cp "$VM_DIR/kernel/$KVER/mods/"* "$stage/mods/"
cp "$INIT" "$stage/init" && chmod 755 "$stage/init"
# Without /dev/console the kernel starts /init with no stdio; /init also re-opens it from
# devtmpfs, so a non-root build (no mknod) still works.
if is_root; then
  mknod -m 600 "$stage/dev/console" c 5 1
  mknod -m 666 "$stage/dev/null" c 1 3
fi
(cd "$stage" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0 | gzip -1) > "$VM_DIR/initramfs.cpio.gz.tmp.$$"
mv "$VM_DIR/initramfs.cpio.gz.tmp.$$" "$VM_DIR/initramfs.cpio.gz"
rm -rf "$stage"

# Drop kernels other than the current one.
for d in "$VM_DIR"/kernel/*; do
  [ -d "$d" ] && [ "$(basename "$d")" != "$KVER" ] && rm -rf "$d"
done

printf 'kver=%s\nkernel=%s\ninit=%s\nsetup=%s\n' "$KVER" "$BOOT_IMAGE" "$(hash_of "$INIT")" "$(hash_of "$SELF")" \
  > "$VM_DIR/stamp.tmp.$$"
mv "$VM_DIR/stamp.tmp.$$" "$VM_DIR/stamp"
say "ready: $VM_DIR (kernel $KVER booting $BOOT_IMAGE, modules: $(tr '\n' ' ' < "$VM_DIR/kernel/$KVER/mods/order"))"

#!/bin/sh
# deps.sh: install what the build and tests need, on Debian 12, only if missing.
# Called by the Makefile before `run`, `test` and `bench`; a no-op once all is there.
set -e
need=""
have() { command -v "$1" >/dev/null 2>&1; }
pkg_ok() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
have qemu-system-x86_64 || need="$need qemu-system-x86"
have gcc                || need="$need gcc"
have make               || need="$need make"
have ld                 || need="$need binutils"
have python3            || need="$need python3"
pkg_ok libcriterion-dev || need="$need libcriterion-dev"
have pkg-config         || need="$need pkg-config"
have cpio               || need="$need cpio"  # the boot archive (user/user.mk)
for extra in "$@"; do
	case "$extra" in
	spin)    have spin    || need="$need spin" ;;
	clang)   have clang   || need="$need clang" ;;
	gnuplot) have gnuplot || need="$need gnuplot-nox" ;;
	static-libc) pkg_ok libc6-dev || need="$need libc6-dev" ;;
	go)      have go      || need="$need golang-go" ;;  # tools/gobench (Go 1.19)
	# tools/pcapsum.py reads captures; its debconf question (non-root capture) is
	# answered by DEBIAN_FRONTEND=noninteractive below: reading a file needs no rights.
	tshark)  have tshark  || need="$need tshark" ;;
	# make iso and its boots: GRUB for BIOS and UEFI, grub-mkrescue's helpers, OVMF.
	iso)
		for p in grub-common grub-pc-bin grub-efi-amd64-bin xorriso mtools ovmf; do
			pkg_ok "$p" || need="$need $p"
		done ;;
	esac
done
[ -z "$need" ] && exit 0
echo "deps: installing$need"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
# Wait for another apt run (e.g. unattended upgrades) rather than failing.
LOCK="-o DPkg::Lock::Timeout=600"
$SUDO apt-get $LOCK update -qq
$SUDO apt-get $LOCK install -y -qq --no-install-recommends $need

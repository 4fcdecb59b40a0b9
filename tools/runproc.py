#!/usr/bin/env python3
"""runproc.py: running a command with a timeout, and pagoda's one QEMU command line.
Shared by runtests.py, bench.py and compare.py; the Makefile's run and gdb targets boot
through it too:  runproc.py [--build B] [--smp N] [--mem M] [--append A] [QEMU ARG...]
execs QEMU ($QEMU, default qemu-system-x86_64) with the extra arguments appended.
With --iso bios|uefi it boots build/pagoda.iso (make iso) instead of -kernel, under
SeaBIOS or OVMF; the command line is then grub.cfg's, --append is ignored."""
import argparse, os, shutil, subprocess, sys, time

def run(cmd, timeout):
    """(exit status or None if killed at the timeout, combined output, seconds)."""
    t0 = time.time()
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           stdin=subprocess.DEVNULL, timeout=timeout)
        return p.returncode, p.stdout.decode(errors="replace"), time.time() - t0
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode(errors="replace")
        return None, out + f"\n[killed after {timeout} s timeout]\n", time.time() - t0

# The machine every pagoda (and, in compare.py, Linux) boot runs on: the kernel, its
# memory and command line go between these two.
QEMU_BASE = [os.environ.get("QEMU") or "qemu-system-x86_64",
             "-accel", "tcg,thread=multi", "-cpu", "max"]
QEMU_TAIL = ["-display", "none", "-serial", "stdio", "-monitor", "none", "-no-reboot",
             "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]

def qemu_cmd(build, smp, mem, append):
    """Boots build/kernel.bin with the boot archive build/boot.cpio (the user programs,
    init among them) as its multiboot module; serial on stdout, exit status via
    isa-debug-exit. QEMU passes the module's file name as its string."""
    return QEMU_BASE + ["-smp", str(smp), "-m", mem, "-kernel", os.path.join(build, "kernel.bin"),
                        "-initrd", os.path.join(build, "boot.cpio"), "-append", append] + QEMU_TAIL

# OVMF from Debian's ovmf package: the code is read-only, the variable store is per boot.
OVMF_CODE = "/usr/share/OVMF/OVMF_CODE.fd"
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS.fd"

def iso_cmd(build, smp, mem, firmware):
    """Boots build/pagoda.iso from a CD under SeaBIOS (QEMU's default firmware) or OVMF
    (firmware "uefi", with a fresh copy of the variable store in build/)."""
    fw = []
    if firmware == "uefi":
        vars_copy = os.path.join(build, "OVMF_VARS.fd")
        shutil.copyfile(OVMF_VARS, vars_copy)
        fw = ["-drive", f"if=pflash,format=raw,unit=0,readonly=on,file={OVMF_CODE}",
              "-drive", f"if=pflash,format=raw,unit=1,file={vars_copy}"]
    elif firmware != "bios":
        raise ValueError(f"firmware {firmware}: bios or uefi")
    return QEMU_BASE + ["-smp", str(smp), "-m", mem] + fw + \
        ["-cdrom", os.path.join(build, "pagoda.iso"), "-boot", "d"] + QEMU_TAIL

def main():
    ap = argparse.ArgumentParser(description="boot pagoda in QEMU (replaces this process)",
                                 allow_abbrev=False)  # -s, -m... are QEMU's
    ap.add_argument("--build", default="build")
    ap.add_argument("--smp", default="4")
    ap.add_argument("--mem", default="512M")
    ap.add_argument("--append", default="mode=demo")
    ap.add_argument("--iso", choices=["bios", "uefi"], help="boot build/pagoda.iso instead")
    a, extra = ap.parse_known_args()
    if a.iso:
        cmd = iso_cmd(a.build, a.smp, a.mem, a.iso) + extra
    else:
        cmd = qemu_cmd(a.build, a.smp, a.mem, a.append) + extra
    sys.stdout.flush()
    os.execvp(cmd[0], cmd)

if __name__ == "__main__":
    main()

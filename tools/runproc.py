"""runproc.py: running a command with a timeout, and pagoda's QEMU command line.
Shared by runtests.py, bench.py and compare.py."""
import os, subprocess, time

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

def qemu_cmd(build, smp, mem, append):
    """Boots build/kernel.bin as `make run` does, serial on stdout, exit via isa-debug-exit."""
    return ["qemu-system-x86_64", "-accel", "tcg,thread=multi", "-cpu", "max",
            "-smp", str(smp), "-m", mem, "-kernel", os.path.join(build, "kernel.bin"),
            "-append", append, "-display", "none", "-serial", "stdio", "-monitor", "none",
            "-no-reboot", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]

#!/usr/bin/env python3
"""bench.py: boots the kernel with mode=bench for each CPU count and prints its
"metric=NAME smp=N value=X unit=U" lines (also saved under <build>/bench.txt).
Timing is never asserted; a run that fails or hangs makes the command fail."""
import argparse, os, re, sys
from runproc import run, qemu_cmd

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--smp", default="1,2,4")
    ap.add_argument("--mem", default="512M")
    ap.add_argument("--million-mem", default="6G", help="memory of the million-thread boots")
    ap.add_argument("--timeout", type=int, default=300)
    ap.add_argument("--irqoff", help="build dir of the IRQOFF_STATS kernel (max_irqoff_us)")
    ap.add_argument("--phase", help="build dir of the PHASE_STATS kernel (phase_protect_1p_*)")
    a = ap.parse_args()
    lines, ok = [], True
    boots = [(a.build, smp, "mode=bench") for smp in a.smp.split(",")]
    # A million threads blocked at once, the ring through them and skynet: 6 GiB, at
    # smp 1 and 2 only (at 4 the vCPUs share 2 host cores: no speed to compare).
    million = [(a.build, smp, "mode=bench bench=million") for smp in a.smp.split(",") if smp in ("1", "2")]
    # libpagoda's VA allocator and malloc: a user program init runs (kern/bench.c runs
    # the kernel's own and the shootdown, runtime and kmem programs).
    boots += [(a.build, smp, "mode=demo -- vabench") for smp in a.smp.split(",")]
    if a.irqoff:
        boots += [(a.irqoff, smp, "mode=bench bench=irqoff") for smp in a.smp.split(",")]
    if a.phase:
        boots += [(a.phase, smp, "mode=bench bench=phase") for smp in a.smp.split(",")]
    boots += million
    for build, smp, append in boots:
        mem = a.million_mem if "bench=million" in append else a.mem
        status, out, _ = run(qemu_cmd(build, smp, mem, append), a.timeout)
        found = re.findall(r"^\[cpu\d+\] (metric=\S+ smp=\d+ value=\S+ unit=\S+)\r?$", out, re.M)
        if "bench=phase" in append:  # its shootbench is slowed by the marks: phases only
            found = [l for l in found if l.startswith("metric=phase_")]
        found += [f"# {m}" for m in re.findall(r"^\[cpu\d+\] bench: (longest .*?)\r?$", out, re.M)]
        lines += found
        for l in found:
            print(l, flush=True)
        if status != 33:
            ok = False
            print(f"bench smp={smp}: QEMU exit status {status}\n{out}", file=sys.stderr)
    with open(os.path.join(a.build, "bench.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    sys.exit(0 if ok else 1)

if __name__ == "__main__":
    main()

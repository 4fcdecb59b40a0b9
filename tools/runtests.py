#!/usr/bin/env python3
"""runtests.py: runs every test of `make test` and prints one summary line.

Host unit tests (Criterion binaries) count their own cases. Each QEMU run counts one
case per "ktest: PASS/FAIL" line, plus one for the run itself (it must exit with the
kernel's success status within its timeout); a hung or crashed run fails and its
serial log is shown. The fault run must *fail* in the expected, reported way.
"""
import argparse, os, re, subprocess, sys, time

SUCCESS, FAILURE = 33, 35  # isa-debug-exit statuses for EXIT_{SUCCESS,FAILURE}_CODE

passed = failed = 0

def record(ok, name, log=None):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print(f"FAIL {name}")
        if log is not None:
            print(f"---- serial log of {name} ----\n{log}\n---- end of log ----")

def qemu(build, smp, mem, append, timeout):
    cmd = ["qemu-system-x86_64", "-accel", "tcg,thread=multi", "-cpu", "max",
           "-smp", str(smp), "-m", mem, "-kernel", os.path.join(build, "kernel.bin"),
           "-append", append, "-display", "none", "-serial", "stdio", "-monitor", "none",
           "-no-reboot", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]
    t0 = time.time()
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           stdin=subprocess.DEVNULL, timeout=timeout)
        return p.returncode, p.stdout.decode(errors="replace"), time.time() - t0
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode(errors="replace")
        return None, out + f"\n[killed after {timeout} s timeout]", time.time() - t0

def run_host(binary):
    name = os.path.basename(binary)
    p = subprocess.run([binary, "--jobs", "2"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       stdin=subprocess.DEVNULL, timeout=300)
    out = p.stdout.decode(errors="replace")
    m = re.search(r"Synthesis: Tested: (\d+) \| Passing: (\d+) \| Failing: (\d+) \| Crashing: (\d+)", out)
    if not m:
        record(False, f"host/{name} (no Criterion summary)", out)
        return
    global passed, failed
    passed += int(m.group(2))
    failed += int(m.group(3)) + int(m.group(4))
    if p.returncode != 0 or int(m.group(3)) + int(m.group(4)):
        print(out)
    print(f"host/{name}: {m.group(2)}/{m.group(1)} passed")

def run_ktests(build, smp, mem, timeout):
    label = f"ktest smp={smp} mem={mem}"
    status, log, secs = qemu(build, smp, mem, "mode=test", timeout)
    cases = re.findall(r"ktest: (PASS|FAIL) (\S+)", log)
    for verdict, name in cases:
        record(verdict == "PASS", f"{label} {name}", None)
    ok = status == SUCCESS and cases and "ktest: done" in log
    record(ok, f"{label} (run, exit status {status})", None if ok else log)
    if any(v == "FAIL" for v, _ in cases) and ok:
        print(log)
    print(f"{label}: {sum(v == 'PASS' for v, _ in cases)}/{len(cases)} cases passed, {secs:.1f} s")

def run_fault_child(build, timeout):
    """A deliberate kernel page fault must be reported (dump, symbolized backtrace)
    and must end QEMU with the failure status."""
    status, log, _ = qemu(build, 2, "256M", "mode=fault", timeout)
    want = ["KERNEL EXCEPTION 14 (#PF page fault)", "cr2 ffffff7fdead0000",
            "backtrace:", "fault_deliberately", "kmain"]
    missing = [w for w in want if w not in log]
    ok = status == FAILURE and not missing
    record(ok, f"kernel fault is reported and fails the run (status {status}, missing {missing})",
           None if ok else log)
    print(f"fault child: {'reported as expected' if ok else 'NOT reported'}")

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--host", nargs="*", default=[])
    ap.add_argument("--smp", default="1,2,4,8")
    ap.add_argument("--timeout", type=int, default=240)
    a = ap.parse_args()
    for b in a.host:
        run_host(b)
    for smp in [int(s) for s in a.smp.split(",") if s]:
        run_ktests(a.build, smp, "512M", a.timeout)
    run_ktests(a.build, 2, "6G", a.timeout)  # frames above 4 GiB
    run_fault_child(a.build, 60)
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)

if __name__ == "__main__":
    main()

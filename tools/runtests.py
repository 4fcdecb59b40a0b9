#!/usr/bin/env python3
"""runtests.py: runs every test of `make test` and prints one summary line.

Host unit tests (Criterion binaries) count their own cases. Each QEMU run counts one
case per "ktest: PASS/FAIL" line and per user test case ("utest: PASS/FAIL name",
counted once per name), plus one for the run itself (it must exit with the kernel's
success status within its timeout); a hung or crashed run fails and its serial log
is shown. Two runs must *fail*, in the expected way: the deliberate kernel fault,
and the coherence test on the negative-control kernel (remote TLB flush skipped),
which proves that test can catch a missing shootdown. The Promela model of the
shootdown protocol is checked with spin (tools/spin/check.sh).
"""
import argparse, os, re, sys
from runproc import run, qemu_cmd

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
    return run(qemu_cmd(build, smp, mem, append), timeout)

def count_utests(out, label):
    """Records each user test case once by name (FAIL lines may repeat); returns (passed, all)."""
    ufail = set(re.findall(r"utest: FAIL (\w+)", out))
    upass = set(re.findall(r"utest: PASS (\w+)", out)) - ufail
    for name in sorted(upass | ufail):
        record(name in upass, f"{label} {name}", None)
    return upass, upass | ufail

def run_host(binary):
    name = os.path.basename(binary)
    status, out, _ = run([binary, "--jobs", "2"], 300)
    m = re.search(r"Synthesis: Tested: (\d+) \| Passing: (\d+) \| Failing: (\d+) \| Crashing: (\d+)", out)
    if not m:
        record(False, f"host/{name} (no Criterion summary)", out)
        return
    global passed, failed
    passed += int(m.group(2))
    failed += int(m.group(3)) + int(m.group(4))
    if status != 0 or int(m.group(3)) + int(m.group(4)):
        print(out)
    print(f"host/{name}: {m.group(2)}/{m.group(1)} passed")

def run_ktests(build, smp, mem, timeout, only="", label_prefix=""):
    label = f"{label_prefix}ktest smp={smp} mem={mem}" + (f" ktest={only}" if only else "")
    status, log, secs = qemu(build, smp, mem, "mode=test" + (f" ktest={only}" if only else ""), timeout)
    cases = re.findall(r"ktest: (PASS|FAIL) (\S+)", log)
    for verdict, name in cases:
        record(verdict == "PASS", f"{label} {name}", None)
    upass, uall = count_utests(log, f"{label} utest")
    ok = status == SUCCESS and cases and "ktest: done" in log
    record(ok, f"{label} (run, exit status {status})", None if ok else log)
    if any(v == "FAIL" for v, _ in cases) and ok:
        print(log)
    print(f"{label}: {sum(v == 'PASS' for v, _ in cases)}/{len(cases)} cases passed, "
          f"{len(upass)}/{len(uall)} user cases, {secs:.1f} s")

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

def run_ubsan(build, timeout):
    """The kernel built with -fsanitize=undefined runs every test; then a boot that
    overflows a signed int on purpose must be caught, reported with file:line, and
    fail (so the sanitizer is known to be on)."""
    run_ktests(build, 2, "512M", timeout, label_prefix="ubsan ")
    status, log, _ = qemu(build, 2, "256M", "mode=ubsan", 60)
    ok = status == FAILURE and re.search(r"ubsan: signed addition overflow at kern/main\.c:\d+", log)
    record(bool(ok), f"ubsan build catches a deliberate overflow (status {status})", None if ok else log)
    print(f"ubsan: deliberate overflow {'caught' if ok else 'NOT caught'}")

def run_negative_control(build, smp, timeout):
    """The kernel built with -DSHOOTDOWN_SKIP_REMOTE_FLUSH acks shootdowns without
    flushing: the coherence stress test must catch the stale translations."""
    status, log, secs = qemu(build, smp, "512M", "mode=test ktest=user_coherence", timeout)
    m = re.search(r"coherence: .* (\d+) late writes, (\d+) late reads", log)
    caught = m is not None and (int(m.group(1)) > 0 or int(m.group(2)) > 0)
    ok = status == FAILURE and "ktest: FAIL user_coherence" in log and caught
    record(ok, f"negative control smp={smp}: coherence test fails without remote flushes "
               f"(status {status})", None if ok else log)
    print(f"negative control smp={smp}: {'caught: ' + m.group(0) if ok else 'NOT caught'}, {secs:.1f} s")

def run_hosted(binary, timeout):
    """The thread runtime built for Linux runs its own tests natively."""
    name = os.path.basename(binary)
    status, out, _ = run([binary], timeout)
    upass, uall = count_utests(out, f"hosted/{name}")
    ok = status == 0 and upass
    record(ok, f"hosted/{name} (exit status {status})", None if ok else out)
    print(f"hosted/{name}: {len(upass)}/{len(uall)} cases passed")

def run_spin(build, timeout):
    status, out, secs = run(["tools/spin/check.sh", os.path.join(build, "spin")], timeout)
    checks = re.findall(r"spin: (PASS|FAIL) (\S+)", out)
    for verdict, name in checks:
        record(verdict == "PASS", f"spin {name}", None)
    ok = status == 0 and checks
    record(ok, f"spin model check (status {status})", None if ok else out)
    print(f"spin: {sum(v == 'PASS' for v, _ in checks)}/{len(checks)} checks passed, {secs:.1f} s")

def run_check(script, timeout):
    """A static check of the tree (e.g. tools/check_seam.sh): one case, by exit status."""
    status, out, _ = run([script], timeout)
    record(status == 0, f"check {os.path.basename(script)} (status {status})", None if status == 0 else out)
    print(out.strip().splitlines()[-1] if out.strip() else f"{script}: no output")

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--host", nargs="*", default=[])
    ap.add_argument("--smp", default="1,2,4,8")
    ap.add_argument("--timeout", type=int, default=300)
    ap.add_argument("--negctl", help="build dir of the negative-control kernel")
    ap.add_argument("--ubsan", help="build dir of the undefined-behaviour sanitizer kernel")
    ap.add_argument("--spin", action="store_true", help="check the Promela model")
    ap.add_argument("--hosted", nargs="*", default=[], help="hosted runtime test binaries")
    ap.add_argument("--check", nargs="*", default=[], help="static checks of the tree (scripts)")
    a = ap.parse_args()
    for c in a.check:
        run_check(c, 60)
    for b in a.host:
        run_host(b)
    for b in a.hosted:
        run_hosted(b, 120)
    for smp in [int(s) for s in a.smp.split(",") if s]:
        # 8 vCPUs share 2 host cores: the kernel's own tests only (user_* run at 1, 2, 4).
        run_ktests(a.build, smp, "512M", a.timeout, "!user_" if smp > 4 else "")
    run_ktests(a.build, 2, "6G", a.timeout)  # frames above 4 GiB
    run_fault_child(a.build, 60)
    if a.negctl:
        for smp in (2, 4):  # one worker; three workers sharing the host's two cores
            run_negative_control(a.negctl, smp, a.timeout)
    if a.ubsan:
        run_ubsan(a.ubsan, a.timeout)
    if a.spin:
        run_spin(a.build, 600)
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)

if __name__ == "__main__":
    main()

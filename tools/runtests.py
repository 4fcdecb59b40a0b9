#!/usr/bin/env python3
"""runtests.py: runs every test of `make test`, aggregates their reports and prints one
summary line, "N passed, N failed" (exit status 1 if anything failed).

Every test speaks one protocol, KTAP/TAP (tools/ktap.py): the host unit tests
(Criterion, --tap), each QEMU boot in mode=test (a plan of the selected in-kernel
ktests), each boot of init's test runner (mode=demo -- -t: a plan of its user_* cases,
each with the programs it ran as subtests and each program's own cases one level
deeper) and the hosted runtime tests. Every result line anywhere in a report is one
case, and so is every protocol error (e.g. a boot that reports fewer results than its
plan announced). Each run also counts one case of its own: it must end with the
expected exit status within its timeout; a hung or crashed run fails and its log is
shown. Two runs must *fail*, in the expected way: the deliberate kernel fault, and the
coherence test on the negative-control kernel (remote TLB flush skipped), which proves
that test can catch a missing shootdown. The Promela model of the shootdown protocol is
checked with spin (tools/spin/check.sh), and each --check command (e.g. a grep check
script) counts as one case by its exit status. With --iso, the GRUB image (make iso)
boots the demo to its end under SeaBIOS and under OVMF (multiboot2), one case each.
With --net, after the other boots, the network cases of tools/nettests.py (each a Linux
peer and pagoda on a link of their own, the capture checked) count one case each;
`--smp "" --net PREFIX` runs only the net cases starting with PREFIX (make check-net).

`--only PREFIX` runs one boot (mode=test ktest=PREFIX, or init's runner for user_*) at
the first --smp and prints its KTAP report: `make check T=PREFIX SMP=N`.
"""
import argparse, os, re, shlex, sys, tempfile
from runproc import run, qemu_cmd, iso_cmd
import ktap

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
            print(f"---- log of {name} ----\n{log}\n---- end of log ----")

def record_report(label, text):
    """Counts every case of the KTAP/TAP report in text; returns (doc, passed, failed),
    doc None if there is no report at all (itself a failure)."""
    doc = ktap.parse(text)
    if doc is None:
        record(False, f"{label} (no KTAP/TAP report)")
        return None, 0, 0
    p = f = 0
    for path, ok, note in ktap.walk(doc):
        record(ok, f"{label} {path}" + (f": {note}" if note and not ok else ""))
        p, f = p + ok, f + (not ok)
    return doc, p, f

def tap_lines(text):
    """The report's own lines of a log (console prefixes removed), for printing."""
    out = []
    for line in text.splitlines():
        line = ktap.PREFIX.sub("", line.rstrip("\r"))
        body = line.lstrip(" ")
        if ktap.VERSION.match(body) or ktap.PLAN.match(body) or ktap.RESULT.match(body) \
                or body.startswith("#"):
            out.append(line)
    return "\n".join(out)

def run_host(binary):
    """A Criterion binary: its TAP report goes to a file, its output (assertion and
    sanitizer reports) is shown if anything failed."""
    name = os.path.basename(binary)
    with tempfile.NamedTemporaryFile("r", suffix=".tap") as tap:
        status, out, _ = run([binary, "--jobs", "2", f"--tap={tap.name}"], 300)
        report = tap.read()
    before = failed
    _, p, f = record_report(f"host/{name}", report)
    if status != 0 and f == 0:  # it failed, but not in any case it reported
        record(False, f"host/{name} (exit status {status})")
    if failed != before:
        print(out)
    print(f"host/{name}: {p}/{p + f} passed")

def is_user(only):
    """Cases user_* are the user test programs, run by init's test runner
    (user/init/testrun.c); every other case is an in-kernel ktest."""
    return bool(only) and only.startswith("user")

def boot(build, smp, mem, only, timeout, extra=""):
    if is_user(only):  # init's own arguments follow "--"; extra (fuzzcalls=...) before it
        append = "mode=demo" + (f" {extra}" if extra else "") + f" -- -t {only}"
    else:
        append = "mode=test" + (f" ktest={only}" if only else "") + (f" {extra}" if extra else "")
    return run(qemu_cmd(build, smp, mem, append), timeout)

def record_run(label, run_name, status_ok, out):
    """Counts the cases of a run's report and the run itself (its exit status was
    right, and it reported something); shows the output if anything failed.
    Returns (passed, failed) of the report."""
    before = failed
    doc, p, f = record_report(label, out)
    record(status_ok and doc is not None and bool(doc.tests), run_name)
    if failed != before:
        print(f"---- output of {label} ----\n{out}\n---- end of output ----")
    return p, f

def run_ktests(build, smp, mem, timeout, only="", label_prefix="", extra="", show=False):
    """One test boot: every case of its report counts, and so does the run itself (it
    must exit with the success status). show: print the report as it came (make check)."""
    kind = "utest" if is_user(only) else "ktest"
    label = f"{label_prefix}{kind} smp={smp} mem={mem}" + (f" {kind}={only}" if only else "") + \
        (f" {extra}" if extra else "")
    status, log, secs = boot(build, smp, mem, only, timeout, extra)
    if show:
        print(tap_lines(log))
    p, f = record_run(label, f"{label} (run, exit status {status})", status == SUCCESS, log)
    print(f"{label}: {p}/{p + f} cases passed, {secs:.1f} s")

def run_fault_child(build, timeout):
    """A deliberate kernel page fault must be reported (dump, symbolized backtrace)
    and must end QEMU with the failure status."""
    status, log, _ = run(qemu_cmd(build, 2, "256M", "mode=fault"), timeout)
    want = ["KERNEL EXCEPTION 14 (#PF page fault)", "cr2 ffffff7fdead0000",
            "backtrace:", "fault_deliberately", "kmain"]
    missing = [w for w in want if w not in log]
    ok = status == FAILURE and not missing
    record(ok, f"kernel fault is reported and fails the run (status {status}, missing {missing})",
           None if ok else log)
    print(f"fault child: {'reported as expected' if ok else 'NOT reported'}")

def run_bad_archives(build, timeout):
    """A boot archive that is not one must end the boot with a clear message and the
    failure status, not a panic or a hang: cut short (init is found, the archive is
    then refused by init), its magic broken (no init for the kernel to start), none."""
    with open(os.path.join(build, "boot.cpio"), "rb") as f:
        good = f.read()
    cases = [("truncated", good[:len(good) * 2 // 3], "is not a boot archive: data truncated"),
             ("bad magic", b"070707" + good[6:], 'no program "init" in the boot archive'),
             ("no archive", None, "no boot archive")]
    with tempfile.TemporaryDirectory() as d:
        for what, data, want in cases:
            cmd = qemu_cmd(build, 1, "256M", "mode=demo")
            i = cmd.index("-initrd")
            if data is None:
                del cmd[i:i + 2]
            else:
                cmd[i + 1] = os.path.join(d, "bad.cpio")
                with open(cmd[i + 1], "wb") as f:
                    f.write(data)
            status, log, _ = run(cmd, timeout)
            ok = status == FAILURE and want in log and "PANIC" not in log
            record(ok, f"bad boot archive ({what}) is refused clearly (status {status})", None if ok else log)
            print(f"bad boot archive ({what}): {'refused' if ok else 'NOT refused as expected'}")

def run_ubsan(build, timeout):
    """The kernel built with -fsanitize=undefined runs every test; then a boot that
    overflows a signed int on purpose must be caught, reported with file:line, and
    fail (so the sanitizer is known to be on)."""
    run_ktests(build, 2, "512M", timeout, label_prefix="ubsan ")
    run_ktests(build, 2, "512M", timeout, "user_", label_prefix="ubsan ")
    status, log, _ = run(qemu_cmd(build, 2, "256M", "mode=ubsan"), 60)
    ok = status == FAILURE and re.search(r"ubsan: signed addition overflow at kern/main\.c:\d+", log)
    record(bool(ok), f"ubsan build catches a deliberate overflow (status {status})", None if ok else log)
    print(f"ubsan: deliberate overflow {'caught' if ok else 'NOT caught'}")

def run_iso(build, firmware, timeout):
    """build/pagoda.iso boots through GRUB's multiboot2 under SeaBIOS ("bios") or OVMF
    ("uefi") at smp 2: the kernel took the tags, started the AP from the trampoline page
    it found in the loader's memory map, and finished the demo with the success status."""
    status, log, secs = run(iso_cmd(build, 2, "512M", firmware), timeout)
    want = ["boot: multiboot2,", "smp: 2 of 2 CPUs online", "pagoda: demo done"]
    missing = [w for w in want if w not in log]
    ok = status == SUCCESS and not missing
    record(ok, f"iso {firmware}: GRUB boots the demo to its end (status {status}, missing {missing})",
           None if ok else log)
    print(f"iso {firmware}: {'demo done' if ok else 'FAILED'}, {secs:.1f} s")

def run_fuzz(build, smp, calls, timeout):
    """The system-call fuzzer (tests/user/fuzz.c, seed 1) at more length than the smoke
    run every boot makes; init's runner checks that nothing leaked."""
    run_ktests(build, smp, "512M", timeout, "user_fuzz", extra=f"fuzzcalls={calls}")

def run_finject(build, points, timeout):
    """Failure injection (tests/kern/test_finject.c): up to `points` allocations of
    each swept program fail, one run each; no panic, no leak."""
    run_ktests(build, 2, "512M", timeout, "finject_", extra=f"finject={points}")

def run_negative_control(build, smp, timeout):
    """The kernel built with -DSHOOTDOWN_SKIP_REMOTE_FLUSH acks shootdowns without
    flushing: the coherence stress test must catch the stale translations."""
    status, log, secs = boot(build, smp, "512M", "user_coherence", timeout)
    m = re.search(r"coherence: .* (\d+) late writes, (\d+) late reads", log)
    caught = m is not None and (int(m.group(1)) > 0 or int(m.group(2)) > 0)
    doc = ktap.parse(log)
    verdict = [t.ok for t in doc.tests if t.name == "user_coherence"] if doc else []
    ok = status == FAILURE and verdict == [False] and caught
    record(ok, f"negative control smp={smp}: coherence test fails without remote flushes "
               f"(status {status})", None if ok else log)
    print(f"negative control smp={smp}: {'caught: ' + m.group(0) if ok else 'NOT caught'}, {secs:.1f} s")

def run_hosted(binary, timeout):
    """The thread runtime built for Linux runs its own tests natively."""
    name = os.path.basename(binary)
    status, out, _ = run([binary], timeout)
    p, f = record_run(f"hosted/{name}", f"hosted/{name} (exit status {status})", status == 0, out)
    print(f"hosted/{name}: {p}/{p + f} cases passed")

def run_spin(build, timeout):
    status, out, secs = run(["tools/spin/check.sh", os.path.join(build, "spin")], timeout)
    p, f = record_run("spin", f"spin model check (status {status})", status == 0, out)
    print(f"spin: {p}/{p + f} checks passed, {secs:.1f} s")

def run_check(cmd, timeout):
    """A check command (e.g. tools/check_seam.sh): one case, passed iff it exits 0;
    its output (one line, by convention) is shown."""
    status, out, _ = run(shlex.split(cmd), timeout)
    record(status == 0, f"check {cmd} (exit status {status})")
    print(f"check {cmd}: {out.strip() or ('ok' if status == 0 else 'failed')}")

def run_net(build, only):
    """The net_* cases (tools/nettests.py), one case each; the refused-frames case's
    capture summary is always shown, the others' first line."""
    import nettests
    if not nettests.cases(only):
        record(False, f"no network case starts with {only!r}")
    for name, fn in nettests.cases(only):
        ok, name, text, secs = nettests.run_case(build, fn)
        record(ok, name, None if ok else text)
        if ok:
            print(text if name == "net_refused_never_on_wire" else text.splitlines()[0])
        print(f"{name}: {'passed' if ok else 'FAILED'}, {secs:.1f} s with the peer")

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--host", nargs="*", default=[])
    ap.add_argument("--smp", default="1,2,4,8")
    ap.add_argument("--mem", default="512M", help="memory of an --only boot")
    ap.add_argument("--timeout", type=int, default=300)
    ap.add_argument("--negctl", help="build dir of the negative-control kernel")
    ap.add_argument("--ubsan", help="build dir of the undefined-behaviour sanitizer kernel")
    ap.add_argument("--fuzz", default="", help="SMP:CALLS[,SMP:CALLS...]: fuzzer boots")
    ap.add_argument("--finject", type=int, default=0, help="failure-injection points per program")
    # --smp "" skips the standard boots (the 6 GiB one and the fault child too).
    ap.add_argument("--spin", action="store_true", help="check the Promela model")
    ap.add_argument("--hosted", nargs="*", default=[], help="hosted runtime test binaries")
    ap.add_argument("--check", action="append", default=[],
                    help="a command counted as one case by its exit status (repeatable)")
    ap.add_argument("--iso", action="store_true",
                    help="boot build/pagoda.iso under SeaBIOS and OVMF")
    ap.add_argument("--net", nargs="?", const="", default=None, metavar="PREFIX",
                    help="run the network cases (tools/nettests.py), those starting with PREFIX")
    ap.add_argument("--only", help="run one boot of the ktests starting with ONLY and print its report")
    a = ap.parse_args()
    smps = [int(s) for s in a.smp.split(",") if s]
    if a.only is not None:
        run_ktests(a.build, smps[0], a.mem, a.timeout, a.only, show=True)
        print(f"{passed} passed, {failed} failed")
        sys.exit(1 if failed else 0)
    for c in a.check:
        run_check(c, 120)
    for b in a.host:
        run_host(b)
    for b in a.hosted:
        run_hosted(b, 120)
    for smp in smps:
        # 8 vCPUs share 2 host cores: the kernel's own tests only (user_* run at 1, 2, 4).
        run_ktests(a.build, smp, "512M", a.timeout)
        if smp <= 4:
            run_ktests(a.build, smp, "512M", a.timeout, "user_")
    if smps:
        run_ktests(a.build, 2, "6G", a.timeout)  # frames above 4 GiB
        run_ktests(a.build, 2, "6G", a.timeout, "user_")
        run_fault_child(a.build, 60)
        run_bad_archives(a.build, 60)
    if a.iso:
        # OVMF under TCG takes ~10 s to reach GRUB on an idle machine: generous timeouts.
        run_iso(a.build, "bios", 120)
        run_iso(a.build, "uefi", 300)
    if a.negctl:
        for smp in (2, 4):  # one worker; three workers sharing the host's two cores
            run_negative_control(a.negctl, smp, a.timeout)
    if a.ubsan:
        run_ubsan(a.ubsan, a.timeout)
    for spec in [f for f in a.fuzz.split(",") if f]:
        smp, calls = spec.split(":")
        run_fuzz(a.build, int(smp), int(calls), a.timeout)
    if a.finject:
        run_finject(a.build, a.finject, a.timeout)
    if a.spin:
        run_spin(a.build, 600)
    if a.net is not None:
        run_net(a.build, a.net)
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)

if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""fuzz.py: make fuzz. Boots init's test runner with only the system-call fuzzer
(tests/user/fuzz.c via its case user_fuzz), for CALLS calls from SEED, and prints one
line: fuzz: calls=N spaces=S vcpus=V seed=X panics=P leaks=L. A panic is any kernel
exception, panic, timeout or failed boot; a leak is any of the runner's checks that
heap, mem frames or page tables came back to their baseline. Exits non-zero unless
both are 0 and the fuzzer itself passed."""
import argparse, re, sys
from runproc import run, qemu_cmd

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--smp", type=int, default=4)
    ap.add_argument("--calls", type=int, default=1000000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--timeout", type=int, default=4 * 3600)
    a = ap.parse_args()
    if not 0 < a.calls < 1 << 32 or not 0 < a.seed < 1 << 32:
        sys.exit("fuzz: calls and seed must be in 1 .. 2^32-1")
    append = f"mode=demo fuzzcalls={a.calls} fuzzseed={a.seed} -- -t user_fuzz"
    status, log, secs = run(qemu_cmd(a.build, a.smp, "512M", append), a.timeout)
    m = re.search(r"fuzz: calls=(\d+) spaces=(\d+) vcpus=(\d+) seed=(\d+)", log)
    # QEMU exits with 35 when a test failed (a leak, a bad result: init's status): not a panic.
    panics = int(status not in (33, 35) or bool(re.search(r"PANIC|KERNEL EXCEPTION|killed after", log)))
    leaks = len(re.findall(r"# leak check: ", log))
    fuzz_ok = re.search(r"^\S*\s*ok \d+ user_fuzz", log, re.M) is not None
    if panics or leaks or not fuzz_ok or not m:
        print(log[-20000:])
    calls, spaces, vcpus = (m.group(1), m.group(2), m.group(3)) if m else ("0", "0", "0")
    print(f"fuzz: calls={calls} spaces={spaces} vcpus={vcpus} seed={a.seed} panics={panics} leaks={leaks}"
          f" ({secs:.0f} s, smp {a.smp}, status {status})")
    sys.exit(0 if m and fuzz_ok and not panics and not leaks else 1)

if __name__ == "__main__":
    main()

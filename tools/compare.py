#!/usr/bin/env python3
"""compare.py: `make compare` -- pagoda against Linux in the same emulator.

For each repeat and each CPU count it boots, one after the other and with the same
QEMU configuration (-accel tcg,thread=multi -cpu max -m 512M -smp N):
  * pagoda's `make bench` (tools/bench.py on a copy of <build>/kernel.bin), and
  * Debian's Linux kernel (package linux-image-amd64, downloaded with apt-get download
    and unpacked under <build>/compare/, never installed) with an initramfs made of
    busybox (busybox-static, unpacked the same way), tools/compare/linuxbench.c and
    tools/gobench (Go 1.19's goroutines doing the thread runtime's benchmarks, static),
    whose /init prints the benchmarks' metric lines and powers off.
Raw output goes to <build>/compare/results/ (one .txt of metric lines and one .log per
run), with summary.md, summary.csv and the plots (gnuplot). A full run also writes
docs/PERFORMANCE.md (from tools/compare/PERFORMANCE.md.in) and docs/perf/*.png.

--quick: one repeat, smp 1 and 2, fewer Linux iterations; results only, docs untouched.
Every QEMU run has a timeout. A failed run is reported and the command fails, after
the summary of what did succeed has been written.
"""
import argparse, glob, gzip, io, json, os, re, shutil, statistics, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import runproc  # noqa: E402
HERE = os.path.join(ROOT, "tools", "compare")
METRIC = re.compile(r"^(?:\[cpu\d+\] )?(metric=(\S+) smp=(\d+) value=(\S+) unit=(\S+))\r?$", re.M)
QEMU_BASE, QEMU_TAIL = runproc.QEMU_BASE, runproc.QEMU_TAIL  # the one QEMU command line
LINUX_APPEND = "console=ttyS0 quiet"

# (key, pagoda metric, Linux metric, label, unit) -- the order of the table and plots.
PAIRS = [
    ("protect_1p_all", "protect_1p_all", "linux_protect_1p_all",
     "protect RW→R, 1 page, live on all CPUs", "ns"),
    ("protect_64p_all", "protect_64p_all", "linux_protect_64p_all",
     "protect RW→R, 64 pages, live on all CPUs", "ns"),
    ("unmap_sync_1p", "unmap_sync_1p", "linux_munmap_1p",
     "unmap 1 page, synchronous ↔ munmap", "ns"),
    ("unmap_lazy_1p", "unmap_lazy_1p", "linux_madvise_dontneed_1p",
     "unmap 1 page, lazy ↔ madvise(MADV_DONTNEED)", "ns"),
    ("protect_1p_local", "protect_1p_local", "linux_protect_1p_local",
     "protect RW→R, 1 page, caller's CPU only", "ns"),
    ("ipis_per_protect_1p_all", "ipis_per_protect_1p_all", "linux_ipis_per_protect_1p_all",
     "IPIs per protect, 1 page, live on all CPUs", "count"),
    ("ipis_per_protect_1p_local", "ipis_per_protect_1p_local", "linux_ipis_per_protect_1p_local",
     "IPIs per protect, 1 page, caller's CPU only", "count"),
    ("fault_rtt", "fault_upcall_rtt", "linux_sigsegv_rtt",
     "fault round trip: upcall ↔ SIGSEGV + mprotect", "ns"),
    ("spawn_join", "uthread_spawn_join", "linux_pthread_spawn_join",
     "thread spawn + join: uthread ↔ pthread", "ns"),
    ("switch", "uthread_switch", "linux_futex_switch",
     "thread switch: uthread ↔ futex ping-pong", "ns"),
    ("protect_batch_1000p_scattered", "protect_batch_1000p_scattered", "linux_protect_loop_1000p_scattered",
     "protect RW→R of 1,000 scattered live pages: one mapv ↔ 1,000 mprotect", "ns"),
    ("protect_loop_1000p_scattered", "protect_loop_1000p_scattered", "linux_protect_loop_1000p_scattered",
     "protect RW→R of 1,000 scattered live pages: 1,000 protect ↔ 1,000 mprotect", "ns"),
    ("malloc_free_small", "malloc_free_small", "linux_malloc_free_small",
     "malloc + free, small objects: never-reusing malloc ↔ glibc", "ns"),
]
# Each protect pair's Linux side twice: the paired metric protects pages of a 64-page
# VMA (1 page of it: a split, and a merge on the raise), its _ownvma twin a VMA that
# is exactly the range, with no neighbour (no split, no merge: Linux's best case). The
# table shows both; the ratio uses the lower (fairer to Linux) of the two medians.
OWNVMA = {
    "protect_1p_all": "linux_protect_1p_all_ownvma",
    "protect_64p_all": "linux_protect_64p_all_ownvma",
    "protect_1p_local": "linux_protect_1p_local_ownvma",
}
# Linux-only metrics shown in a table of their own (they explain the pairs' numbers).
EXTRA = [
    ("linux_protect_1p_all_p50", "median call (not mean) of `linux_protect_1p_all`"),
    ("linux_protect_64p_all_p50", "median call of `linux_protect_64p_all`"),
    ("linux_munmap_1p_p50", "median call of `linux_munmap_1p`"),
    ("linux_madvise_dontneed_1p_p50", "median call of `linux_madvise_dontneed_1p`"),
    ("linux_protect_1p_local_p50", "median call of `linux_protect_1p_local`"),
    ("linux_protect_1p_all_ownvma_p50", "median call of `linux_protect_1p_all_ownvma`"),
    ("linux_protect_64p_all_ownvma_p50", "median call of `linux_protect_64p_all_ownvma`"),
    ("linux_protect_1p_local_ownvma_p50", "median call of `linux_protect_1p_local_ownvma`"),
    ("linux_ipis_per_protect_cycle_1p_all", "IPIs per RW→R→RW cycle, 1 page (Linux flushes on the raise too)"),
    ("linux_ipis_per_protect_64p_all", "IPIs per protect RW→R, 64 pages"),
    ("linux_ipis_per_munmap_1p", "IPIs per munmap of 1 page"),
    ("linux_ipis_per_madvise_dontneed_1p", "IPIs per madvise(MADV_DONTNEED) of 1 page"),
    ("linux_sigsegv_rtt_p50", "median round trip of `linux_sigsegv_rtt`"),
    ("linux_pthread_spawn_join_p50", "median of `linux_pthread_spawn_join`"),
]
# The thread runtime against Go's goroutines (tools/gobench, under Linux in the same
# QEMU, GOMAXPROCS = the guest's CPUs) and pthreads: (key, pagoda metric, Go metrics,
# pthread metrics, label, unit). Go and pthread metrics are alternatives, the first one
# found is shown: their names carry the count where the guest's memory (Go) or its
# threads-max (pthreads) forced a smaller one than pagoda's.
SKYNET_GO = ("go_skynet", "go_skynet_100k", "go_skynet_10k")
THREAD_ROWS = [
    ("t_spawn_join", "uthread_spawn_join", ("go_goroutine_spawn_join",), ("linux_pthread_spawn_join",),
     "spawn + join of a thread that returns at once", "ns"),
    ("t_yield", "uthread_switch", ("go_gosched_switch",), (),
     "switch by yielding: rt_yield ↔ runtime.Gosched (GOMAXPROCS=1 only)", "ns"),
    ("t_switch", "uthread_switch", ("go_chan_switch",), ("linux_futex_switch",),
     "switch: rt_yield ↔ unbuffered channel ping-pong ↔ futex ping-pong", "ns"),
    ("t_blocked_bytes", "uthread_blocked_bytes", ("go_blocked_bytes",), ("linux_pthread_blocked_bytes",),
     "memory per blocked thread (Go: StackInuse + HeapAlloc; pthreads: resident)", "bytes"),
    ("t_blocked_rss", None, ("go_blocked_rss_bytes",), ("linux_pthread_blocked_bytes_minstack",),
     "resident memory per blocked thread (pthreads: 16 KiB stacks)", "bytes"),
    ("t_blocked_kernel", None, (), ("linux_pthread_blocked_kernel_bytes",),
     "kernel memory per blocked pthread (kernel stack, slab, page tables)", "bytes"),
    ("t_blocked_spawn", "uthread_1m_blocked_spawn",
     ("go_1m_blocked_spawn", "go_100k_blocked_spawn", "go_10k_blocked_spawn"), (),
     "start 10^6 threads that each block on their own channel", "ms"),
    ("t_ring_hop", "uthread_ring_hop", ("go_ring_hop",), ("linux_pthread_ring_hop",),
     "thread ring, per hop (pthreads: 1,000 threads)", "ns"),
    ("t_skynet", "uthread_skynet", SKYNET_GO, ("linux_pthread_skynet_10k", "linux_pthread_skynet_1k"),
     "skynet, 10^6 leaves, fan-out 10", "ms"),
]
LATENCY_PAIRS = [p for p in PAIRS if p[4] == "ns"]
IPI_PAIRS = [p for p in PAIRS if p[4] == "count"]


def log(msg):
    print(f"compare: {msg}", flush=True)


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


# ---------------------------------------------------------------- Linux side: inputs

def apt_download(names, dest):
    """apt-get download into dest (no root needed); if it fails, e.g. because there are
    no package lists yet or they name versions the mirror dropped, update them once."""
    root = os.geteuid() == 0
    cmd = ["apt-get", "-q"] + (["-o", "APT::Sandbox::User=root"] if root else []) + ["download"] + names
    if subprocess.run(cmd, cwd=dest, stdout=subprocess.DEVNULL).returncode == 0:
        return
    log("apt-get download failed; running apt-get update and trying again")
    sh(([] if root else ["sudo"]) + ["apt-get", "-q", "-o", "DPkg::Lock::Timeout=600", "update"],
       stdout=subprocess.DEVNULL)
    sh(cmd, cwd=dest, stdout=subprocess.DEVNULL)


def deb_file(dest, name):
    found = sorted(glob.glob(os.path.join(dest, f"{name}_*.deb")))
    if not found:
        sys.exit(f"compare: {name}: no .deb downloaded in {dest}")
    return found[-1]


def deb_field(deb, field):
    return subprocess.run(["dpkg-deb", "-f", deb, field], check=True, stdout=subprocess.PIPE,
                          text=True).stdout.strip()


def deb_extract(deb, member_glob, out):
    """Unpack the members matching member_glob (e.g. ./boot/vmlinuz-*; or a list of
    them) into out: dpkg-deb's data tarball through tar, so the 400 MB of modules stay
    packed."""
    os.makedirs(out, exist_ok=True)
    globs = [member_glob] if isinstance(member_glob, str) else list(member_glob)
    p1 = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", deb], stdout=subprocess.PIPE)
    sh(["tar", "-x", "-C", out, "--wildcards"] + globs, stdin=p1.stdout)
    p1.stdout.close()
    if p1.wait():
        sys.exit(f"compare: dpkg-deb --fsys-tarfile {deb} failed")


def fetch_linux(cdir, modules=()):
    """<cdir>/linux/{vmlinuz,busybox,VERSION}: Debian 12's kernel and static busybox.
    With modules (names, e.g. ("virtio_pci", "virtio_net")) also <cdir>/linux/config
    (the kernel's /boot/config-*) and <cdir>/linux/modules/: those modules and every one
    they depend on, from the same package as vmlinuz, decompressed, as NAME.ko, and
    modules.order, their names in an order insmod can load them (dependencies first)."""
    ldir = os.path.join(cdir, "linux")
    need = [os.path.join(ldir, f) for f in ("vmlinuz", "busybox", "VERSION")]
    mdir = os.path.join(ldir, "modules")
    roots = " ".join(sorted(modules)) + "\n"
    if modules:
        need.append(os.path.join(mdir, "modules.order"))
    if all(os.path.exists(f) for f in need) and (not modules or read_text(os.path.join(mdir, "ROOTS")) == roots):
        return ldir
    dl = os.path.join(cdir, "dl")
    shutil.rmtree(dl, ignore_errors=True)
    os.makedirs(dl)
    log("downloading linux-image-amd64 and busybox-static (apt-get download, not installed)")
    apt_download(["linux-image-amd64", "busybox-static"], dl)
    meta = deb_file(dl, "linux-image-amd64")
    # The metapackage depends on the versioned image, e.g. linux-image-6.1.0-56-amd64.
    image = None
    for alt in re.split(r"[,|]", deb_field(meta, "Depends")):
        name = alt.strip().split(" ")[0]
        if name.startswith("linux-image-"):
            image = name
            break
    if not image:
        sys.exit(f"compare: no linux-image-* dependency in {meta}")
    apt_download([image], dl)
    img, bb = deb_file(dl, image), deb_file(dl, "busybox-static")
    x = os.path.join(dl, "x")
    deb_extract(img, "./boot/vmlinuz-*", x)
    deb_extract(bb, "./bin/busybox", x)
    os.makedirs(ldir, exist_ok=True)
    shutil.copy(glob.glob(os.path.join(x, "boot", "vmlinuz-*"))[0], os.path.join(ldir, "vmlinuz"))
    shutil.copy(os.path.join(x, "bin", "busybox"), os.path.join(ldir, "busybox"))
    if modules:
        deb_extract(img, "./boot/config-*", x)
        shutil.copy(glob.glob(os.path.join(x, "boot", "config-*"))[0], os.path.join(ldir, "config"))
        extract_modules(img, modules, os.path.join(dl, "m"), mdir)
        with open(os.path.join(mdir, "ROOTS"), "w") as f:
            f.write(roots)
    with open(os.path.join(ldir, "VERSION"), "w") as f:
        f.write(f"{image} {deb_field(img, 'Version')}; busybox-static {deb_field(bb, 'Version')}\n")
    shutil.rmtree(dl)
    return ldir


def read_text(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def modinfo(data):
    """The key=value strings of a kernel module's .modinfo section (ELF64, little-endian)."""
    import struct
    if data[:4] != b"\x7fELF" or data[4] != 2:
        raise ValueError("not an ELF64 file")
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3a)
    secs = [struct.unpack_from("<IIQQQQ", data, shoff + i * shentsize) for i in range(shnum)]
    stroff = secs[shstrndx][4]
    for name, _type, _flags, _addr, off, size in secs:
        if data[stroff + name:].split(b"\0", 1)[0] == b".modinfo":
            return dict(kv.decode(errors="replace").split("=", 1)
                        for kv in data[off:off + size].split(b"\0") if b"=" in kv)
    return {}


def extract_modules(img, names, tmp, mdir):
    """names and their dependencies (each module's modinfo depends=), from the image
    .deb img into mdir, decompressed (.ko.xz with lzma, .ko.gz), with modules.order."""
    import lzma
    p1 = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", img], stdout=subprocess.PIPE)
    listing = subprocess.run(["tar", "-t"], stdin=p1.stdout, check=True, stdout=subprocess.PIPE,
                             text=True).stdout
    p1.stdout.close()
    if p1.wait():
        sys.exit(f"compare: dpkg-deb --fsys-tarfile {img} failed")
    members = {}
    for line in listing.splitlines():
        m = re.match(r"^\./lib/modules/[^/]+/kernel/.*/([^/]+)\.ko(\.xz|\.gz|\.zst)?$", line)
        if m:
            members[m.group(1).replace("-", "_")] = line
    shutil.rmtree(mdir, ignore_errors=True)
    os.makedirs(mdir)
    deps, todo = {}, [n.replace("-", "_") for n in names]
    while todo:
        want = sorted({n for n in todo if n not in deps})
        todo = []
        missing = [n for n in want if n not in members]
        if missing:
            sys.exit(f"compare: module(s) {', '.join(missing)} not in {img} (built in? see its config)")
        if not want:
            break
        deb_extract(img, [members[n] for n in want], tmp)
        for n in want:
            path = os.path.join(tmp, members[n])
            with open(path, "rb") as f:
                data = f.read()
            if path.endswith(".xz"):
                data = lzma.decompress(data)
            elif path.endswith(".gz"):
                data = gzip.decompress(data)
            elif path.endswith(".zst"):
                sys.exit(f"compare: {members[n]}: zstd-compressed modules are not supported")
            with open(os.path.join(mdir, n + ".ko"), "wb") as f:
                f.write(data)
            deps[n] = [d.replace("-", "_") for d in modinfo(data).get("depends", "").split(",") if d]
            todo += deps[n]
    order, seen = [], set()

    def visit(n, stack=()):
        if n in seen:
            return
        if n in stack:
            sys.exit(f"compare: module dependency cycle through {n}")
        for d in deps[n]:
            visit(d, stack + (n,))
        seen.add(n)
        order.append(n)
    for n in sorted(deps):
        visit(n)
    with open(os.path.join(mdir, "modules.order"), "w") as f:
        f.write("".join(n + "\n" for n in order))


def build_linuxbench(cdir):
    src, out = os.path.join(HERE, "linuxbench.c"), os.path.join(cdir, "linuxbench")
    if not os.path.exists(out) or os.path.getmtime(out) < os.path.getmtime(src):
        log("building linuxbench (host gcc, static)")
        cc = os.environ.get("CC", "gcc")
        sh([cc, "-static", "-O2", "-pthread", "-Wall", "-Wextra", "-o", out, src])
    return out


def cpio_newc(entries):
    """A newc cpio archive: entries are (name, mode, data, rdev_major, rdev_minor)."""
    out = io.BytesIO()

    def put(ino, name, mode, data, rmaj=0, rmin=0):
        nm = name.encode() + b"\0"
        hdr = "070701" + "".join(f"{v:08x}" for v in (
            ino, mode, 0, 0, 1, 0, len(data), 0, 0, rmaj, rmin, len(nm), 0))
        out.write(hdr.encode() + nm)
        out.write(b"\0" * (-(110 + len(nm)) % 4))
        out.write(data)
        out.write(b"\0" * (-len(data) % 4))

    for ino, (name, mode, data, rmaj, rmin) in enumerate(entries, 1):
        put(ino, name, mode, data, rmaj, rmin)
    put(0, "TRAILER!!!", 0, b"")
    return out.getvalue()


def build_gobench(cdir, build):
    """tools/gobench as a static binary (go build, Debian's golang-go; its caches under
    <build>/go, as the Makefile's)."""
    src, out = os.path.join(ROOT, "tools", "gobench"), os.path.join(cdir, "gobench")
    srcs = glob.glob(os.path.join(src, "*.go")) + [os.path.join(src, "go.mod")]
    if not os.path.exists(out) or os.path.getmtime(out) < max(map(os.path.getmtime, srcs)):
        log("building gobench (go build, static)")
        gdir = os.path.abspath(os.path.join(build, "go"))
        env = dict(os.environ, GOCACHE=os.path.join(gdir, "cache"), GOPATH=os.path.join(gdir, "path"),
                   CGO_ENABLED="0")
        sh(["go", "build", "-trimpath", "-buildvcs=false", "-o", os.path.abspath(out), "."], cwd=src, env=env)
    return out


def build_initramfs(cdir, ldir, bench, gobench):
    def read(p):
        with open(p, "rb") as f:
            return f.read()
    entries = [
        ("bin", 0o040755, b"", 0, 0),
        ("dev", 0o040755, b"", 0, 0),
        ("dev/console", 0o020600, b"", 5, 1),
        ("proc", 0o040755, b"", 0, 0),
        ("sys", 0o040755, b"", 0, 0),
        ("bin/busybox", 0o100755, read(os.path.join(ldir, "busybox")), 0, 0),
        ("init", 0o100755, read(os.path.join(HERE, "init")), 0, 0),
        ("linuxbench", 0o100755, read(bench), 0, 0),
        ("gobench", 0o100755, read(gobench), 0, 0),
    ]
    out = os.path.join(cdir, "initramfs.cpio.gz")
    with open(out, "wb") as f:
        f.write(gzip.compress(cpio_newc(entries), mtime=0))
    return out


# ---------------------------------------------------------------- runs

run_qemu = runproc.run


def run_pagoda(pdir, smp, mem, timeout):
    cmd = [sys.executable, os.path.join(ROOT, "tools", "bench.py"), "--build", pdir,
           "--smp", str(smp), "--mem", mem, "--timeout", str(timeout)]
    # bench.py bounds each of its boots by timeout; there are three kinds (the bench,
    # vabench, and at smp 1 and 2 the 6 GiB million boot).
    status, out, secs = run_qemu(cmd, 3 * timeout + 30)
    return status == 0, out, secs


def run_linux(ldir, initrd, smp, mem, timeout, iters, extra=""):
    append = LINUX_APPEND + (f" {extra}" if extra else "") + (f" LINUXBENCH_ITERS={iters}" if iters else "")
    cmd = QEMU_BASE + ["-smp", str(smp), "-m", mem, "-kernel", os.path.join(ldir, "vmlinuz"),
                       "-initrd", initrd, "-append", append] + QEMU_TAIL
    status, out, secs = run_qemu(cmd, timeout)
    return status == 0 and "linuxbench: done" in out, out, secs


def metrics(text):
    return [(m.group(2), int(m.group(3)), float(m.group(4)), m.group(5), m.group(1))
            for m in METRIC.finditer(text)]


# ---------------------------------------------------------------- summary

def fmt_val(v, unit):
    if v is None:
        return "—"
    return f"{v / 1000:.2f} µs" if unit == "ns" else f"{v:.2f}"


def fmt_any(v, unit):
    """A value of the threads table: µs, ms, bytes (KiB above 10 KiB)."""
    if v is None:
        return "n/a"
    if unit == "ns":
        return f"{v / 1000:.2f} µs" if v >= 1000 else f"{v:.0f} ns"
    if unit == "ms":
        return f"{v:,.0f} ms" if v >= 100 else f"{v:.1f} ms"
    if unit == "bytes":
        return f"{v / 1024:.1f} KiB" if v >= 10240 else f"{v:,.0f} B"
    return f"{v:.2f}"


def fmt_spread(vals, unit):
    if not vals:
        return "—"
    lo, hi = min(vals), max(vals)
    if unit == "ns":
        return f"{lo / 1000:.2f}–{hi / 1000:.2f}"
    return f"{lo:.2f}–{hi:.2f}"


def summarize(data, smps):
    """data[(metric, smp)] = [values over repeats] -> rows per (pair, smp)."""
    rows = []
    for key, pm, lm, label, unit in PAIRS:
        for smp in smps:
            om = OWNVMA.get(key)
            pv, lv = data.get((pm, smp), []), data.get((lm, smp), [])
            ov = data.get((om, smp), []) if om else []
            pmed = statistics.median(pv) if pv else None
            lmed = statistics.median(lv) if lv else None
            omed = statistics.median(ov) if ov else None
            # The lower Linux median, and its runs (for the noise mark).
            best, bv = min([(m, v) for m, v in ((lmed, lv), (omed, ov)) if m],
                           default=(None, []), key=lambda mv: mv[0])
            ratio = pmed / best if pmed is not None and best else None
            rows.append(dict(key=key, pm=pm, lm=lm, om=om, label=label, unit=unit, smp=smp,
                             pv=pv, lv=lv, ov=ov, bv=bv, pmed=pmed, lmed=lmed, omed=omed,
                             ratio=ratio))
    return rows


def noisy(vals):
    """Runs of one metric more than 3x apart: some were disturbed by host load."""
    return len(vals) > 1 and min(vals) > 0 and max(vals) > 3 * min(vals)


def table(rows, smps):
    out = ["| pair (pagoda ↔ Linux, Linux own VMA) | smp | pagoda median | pagoda min–max | Linux median | "
           "Linux min–max | Linux own-VMA median | own-VMA min–max | pagoda / Linux (lower) |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        if r["smp"] not in smps:
            continue
        if not r["pv"]:
            pmed, pspread, ratio = "pending", "—", "—"
        else:
            pmed, pspread = fmt_val(r["pmed"], r["unit"]), fmt_spread(r["pv"], r["unit"])
            ratio = "—" if r["ratio"] is None else (
                f"{r['ratio']:.2f}" if r["ratio"] >= 0.1 else f"{r['ratio']:.2g}")
            if r["unit"] == "ns" and (noisy(r["pv"]) or noisy(r["bv"])):
                ratio += " ⚠"
        own = f", `{r['om']}`" if r["om"] else ""
        ocells = (f"{fmt_val(r['omed'], r['unit'])} | {fmt_spread(r['ov'], r['unit'])}" if r["om"]
                  else "— | —")
        out.append(f"| {r['label']}: `{r['pm']}` ↔ `{r['lm']}`{own} | {r['smp']} | {pmed} | {pspread} | "
                   f"{fmt_val(r['lmed'], r['unit'])} | {fmt_spread(r['lv'], r['unit'])} | {ocells} | {ratio} |")
    return "\n".join(out)


def thread_rows(data, smps):
    """data -> one row per (THREAD_ROWS entry, smp): each side's metric found, its runs."""
    rows = []
    for key, pm, gms, lms, label, unit in THREAD_ROWS:
        for smp in smps:
            def pick(names):
                for n in names:
                    if data.get((n, smp)):
                        return n, data[(n, smp)]
                return (names[0] if names else None), []
            gm, gv = pick(gms)
            lm, lv = pick(lms)
            pv = data.get((pm, smp), []) if pm else []
            med = lambda v: statistics.median(v) if v else None
            pmed, gmed, lmed = med(pv), med(gv), med(lv)
            ratio = pmed / gmed if pmed is not None and gmed else None
            if ratio is not None and unit == "ms":  # totals: per thread, the counts may differ
                ratio *= thread_count(gm) / thread_count(pm)
            rows.append(dict(key=key, pm=pm, gm=gm, lm=lm, label=label, unit=unit, smp=smp,
                             pv=pv, gv=gv, lv=lv, pmed=pmed, gmed=gmed, lmed=lmed, ratio=ratio))
    return rows


def thread_count(name):
    """How many threads (or leaves) a total metric's name says it timed: _1m, _100k,
    _10k, _1k; 10^6 when it says none (uthread_skynet, go_skynet)."""
    m = re.search(r"_(\d+)([km])(?:_|$)", name or "")
    return int(m.group(1)) * (1000 if m.group(2) == "k" else 1000000) if m else 1000000


def threads_table(rows):
    out = ["| threads (pagoda ↔ Go ↔ pthreads) | smp | pagoda median | Go median (min–max) | "
           "pthreads median (min–max) | pagoda / Go |",
           "|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        def cell(med, vals):
            if med is None:
                return "n/a"
            spread = f" ({fmt_any(min(vals), r['unit'])}–{fmt_any(max(vals), r['unit'])})" if len(vals) > 1 else ""
            return fmt_any(med, r["unit"]) + spread
        names = " ↔ ".join(f"`{m}`" if m else "—" for m in (r["pm"], r["gm"], r["lm"]))
        ratio = "—" if r["ratio"] is None else f"{r['ratio']:.2f}"
        out.append(f"| {r['label']}: {names} | {r['smp']} | "
                   f"{'—' if not r['pm'] else cell(r['pmed'], r['pv'])} | {cell(r['gmed'], r['gv'])} | "
                   f"{cell(r['lmed'], r['lv']) if r['lm'] else '—'} | {ratio} |")
    return "\n".join(out)


def write_threads_csv(rows, path):
    g = lambda v: "" if v is None else f"{v:.1f}"
    with open(path, "w") as f:
        f.write("row,smp,unit,pagoda_metric,pagoda_median,go_metric,go_median,pthread_metric,"
                "pthread_median,ratio_pagoda_go,pagoda_runs,go_runs,pthread_runs\n")
        for r in rows:
            f.write(",".join([r["key"], str(r["smp"]), r["unit"], r["pm"] or "", g(r["pmed"]),
                              r["gm"] or "", g(r["gmed"]), r["lm"] or "", g(r["lmed"]),
                              "" if r["ratio"] is None else f"{r['ratio']:.3f}",
                              str(len(r["pv"])), str(len(r["gv"])), str(len(r["lv"]))]) + "\n")


def extra_table(data, smps):
    out = ["| Linux metric | " + " | ".join(f"smp {s}" for s in smps) + " |",
           "|---|" + "---:|" * len(smps)]
    for name, label in EXTRA:
        cells = []
        for smp in smps:
            v = data.get((name, smp), [])
            unit = "count" if "ipis" in name else "ns"
            cells.append(f"{fmt_val(statistics.median(v), unit)} ({fmt_spread(v, unit)})" if v else "—")
        out.append(f"| {label}: `{name}` | " + " | ".join(cells) + " |")
    return "\n".join(out)


def write_csv(rows, path):
    with open(path, "w") as f:
        f.write("pair,pagoda_metric,linux_metric,smp,unit,pagoda_median,pagoda_min,pagoda_max,"
                "linux_median,linux_min,linux_max,linux_ownvma_metric,linux_ownvma_median,"
                "linux_ownvma_min,linux_ownvma_max,ratio,pagoda_runs,linux_runs\n")
        g = lambda v: "" if v is None else f"{v:.1f}"
        for r in rows:
            f.write(",".join([r["key"], r["pm"], r["lm"], str(r["smp"]), r["unit"], g(r["pmed"]),
                              g(min(r["pv"]) if r["pv"] else None), g(max(r["pv"]) if r["pv"] else None),
                              g(r["lmed"]), g(min(r["lv"]) if r["lv"] else None),
                              g(max(r["lv"]) if r["lv"] else None),
                              r["om"] or "", g(r["omed"]), g(min(r["ov"]) if r["ov"] else None),
                              g(max(r["ov"]) if r["ov"] else None),
                              "" if r["ratio"] is None else f"{r['ratio']:.3f}",
                              str(len(r["pv"])), str(len(r["lv"]))]) + "\n")


# ---------------------------------------------------------------- plots

def plot(rows, smps, pdir):
    """One PNG per latency pair (pagoda and Linux vs CPUs, min–max bars) and one of IPIs."""
    os.makedirs(pdir, exist_ok=True)
    for f in glob.glob(os.path.join(pdir, "*")):
        os.remove(f)
    term = "pngcairo size 720,440 font 'sans,10'"
    if subprocess.run(["gnuplot", "-e", "set terminal pngcairo"], stdout=subprocess.DEVNULL,
                      stderr=subprocess.DEVNULL).returncode:
        term = "png size 720,440"
    xt = ", ".join(str(s) for s in smps)
    common = [f"set terminal {term}", "set datafile missing '?'", "set logscale x 2",
              f"set xrange [{min(smps) / 1.3}:{max(smps) * 1.3}]", f"set xtics ({xt})",
              "set xlabel 'CPUs (-smp)'", "set key top left", "set grid ytics",
              "set termoption noenhanced"]
    g = lambda v, scale: "?" if v is None else f"{v / scale:.4f}"
    by = {(r["key"], r["smp"]): r for r in rows}

    def datafile(name, cols):
        path = os.path.join(pdir, name + ".dat")
        with open(path, "w") as f:
            for smp in smps:
                f.write(f"{smp} " + " ".join(cols(smp)) + "\n")
        return path

    scripts = []
    for key, pm, lm, label, unit in LATENCY_PAIRS:
        def cols(smp, key=key):
            r = by[(key, smp)]
            return [g(r["pmed"], 1000), g(min(r["pv"]) if r["pv"] else None, 1000),
                    g(max(r["pv"]) if r["pv"] else None, 1000),
                    g(r["lmed"], 1000), g(min(r["lv"]) if r["lv"] else None, 1000),
                    g(max(r["lv"]) if r["lv"] else None, 1000),
                    g(r["omed"], 1000), g(min(r["ov"]) if r["ov"] else None, 1000),
                    g(max(r["ov"]) if r["ov"] else None, 1000)]
        dat = datafile(key, cols)
        pending = not any(by[(key, s)]["pv"] for s in smps)
        title = label.replace("'", "") + (" (pagoda: pending)" if pending else "")
        lines = [f"'{dat}' using 1:5:6:7 with yerrorlines lw 2 pt 9 lc rgb '#009e73' title 'Linux ({lm})'"]
        if key in OWNVMA:
            lines.append(f"'{dat}' using 1:8:9:10 with yerrorlines lw 2 pt 5 dt 2 lc rgb '#e69f00' "
                         f"title 'Linux, own VMA ({OWNVMA[key]})'")
        if not pending:
            lines.insert(0, f"'{dat}' using 1:2:3:4 with yerrorlines lw 2 pt 7 lc rgb '#9400d3' title 'pagoda ({pm})'")
        scripts.append(common + [f"set output '{os.path.join(pdir, key + '.png')}'",
                                 f"set title '{title}'", "set logscale y 10",
                                 "set ylabel 'µs per operation (median, min–max; log scale)'",
                                 "plot " + ", ".join(lines)])

    def ipicols(smp):
        c = []
        for key, *_ in IPI_PAIRS:
            r = by[(key, smp)]
            c += [g(r["pmed"], 1), g(r["lmed"], 1)]
        return c
    dat = datafile("ipis", ipicols)
    ipi_top = max([max(smps) - 1] + [v for r in rows if r["unit"] == "count" for v in r["pv"] + r["lv"]])
    lines, col = [], 2
    for key, pm, lm, label, unit in IPI_PAIRS:
        lines.append(f"'{dat}' using 1:{col} with linespoints lw 3 pt 7 ps 1.6 title 'pagoda {pm}'")
        lines.append(f"'{dat}' using 1:{col + 1} with linespoints lw 2 pt 8 ps 1.2 dt 2 title 'Linux {lm}'")
        col += 2
    scripts.append(common + [f"set output '{os.path.join(pdir, 'ipis.png')}'",
                             "set title 'TLB-shootdown IPIs per protect of 1 page'",
                             "set ylabel 'IPIs per operation (median)'", f"set yrange [-0.1:{ipi_top + 0.5:.1f}]",
                             "plot " + ", ".join(lines)])
    for s in scripts:
        sh(["gnuplot"], input="\n".join(s) + "\n", text=True)
    for f in glob.glob(os.path.join(pdir, "*.dat")):
        os.remove(f)
    return [k for k, *_ in LATENCY_PAIRS] + ["ipis"]


# ---------------------------------------------------------------- main

def git_rev():
    try:
        rev = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], check=True,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"],
                               stdout=subprocess.PIPE, text=True).stdout.strip()
        return rev + (" with uncommitted changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def linux_setup(rdir, smps):
    """One line on the Linux that was booted, from the info= lines of its serial logs."""
    first, clocks = {}, []
    for smp in smps:
        logs = sorted(glob.glob(os.path.join(rdir, f"linux-smp{smp}-r*.log")))
        if not logs:
            continue
        with open(logs[0]) as f:
            info = re.findall(r"^info=(\S+) (.*?)\r?$", f.read(), re.M)
        for k, v in info:
            if k == "clocksource":
                clocks.append(f"{v} at smp {smp}")
            if k != "vuln":
                first.setdefault(k, v)
            elif not v.split(": ", 1)[-1].startswith("Not affected"):
                first.setdefault("mitig", [])
                if v not in first["mitig"]:
                    first["mitig"].append(v)
    if not first:
        return "(no Linux run succeeded)"
    pcid = first.get("pcid", "?")
    parts = [f"kernel {first.get('kernel', '?')} on \"{first.get('cpu', '?')}\"",
             "no PCID" if pcid.startswith("0 of") else f"PCID on {pcid}",
             "clocksource " + ", ".join(clocks),
             "mitigations: " + ("; ".join(first.get("mitig", [])) or "none") +
             "; every other vulnerability file says \"Not affected\""]
    return "; ".join(parts)


def run_all(a, repeat, smps, liters, rdir):
    cdir = os.path.dirname(rdir)
    ldir = fetch_linux(cdir)
    with open(os.path.join(ldir, "VERSION")) as f:
        linux_version = f.read().strip()
    initrd = build_initramfs(cdir, ldir, build_linuxbench(cdir), build_gobench(cdir, a.build))
    pdir = os.path.join(cdir, "pagoda")
    os.makedirs(pdir, exist_ok=True)
    for f in ("kernel.bin", "boot.cpio"):  # the kernel and its boot archive (runproc.qemu_cmd)
        shutil.copy(os.path.join(a.build, f), os.path.join(pdir, f))
    shutil.rmtree(rdir, ignore_errors=True)
    os.makedirs(rdir)
    t_start, failures = time.time(), []
    log(f"{repeat} repeat(s) at smp {','.join(map(str, smps))}; Linux: {linux_version}")
    for rep in range(1, repeat + 1):
        for smp in smps:
            for system in ("pagoda", "linux"):
                if system == "pagoda":
                    ok, out, secs = run_pagoda(pdir, smp, a.mem, a.timeout)
                else:
                    ok, out, secs = run_linux(ldir, initrd, smp, a.mem, a.timeout, liters, a.linux_append)
                ms = metrics(out)
                base = os.path.join(rdir, f"{system}-smp{smp}-r{rep}")
                if ok and system == "linux" and "gobench: done" not in out:
                    # linuxbench's numbers stand; Go's of a run that did not finish do not.
                    ms = [m for m in ms if not m[0].startswith("go_")]
                    failures.append(f"gobench smp={smp} repeat {rep}")
                    log(f"gobench smp={smp} repeat {rep}: did not finish (see {base}.log)")
                with open(base + ".log", "w") as f:
                    f.write(out)
                if ok:  # a failed run leaves only its log: its numbers are not used
                    with open(base + ".txt", "w") as f:
                        f.write("".join(m[4] + "\n" for m in ms))
                log(f"{system} smp={smp} repeat {rep}/{repeat}: {len(ms)} metrics in {secs:.0f} s"
                    + ("" if ok else f"  FAILED (see {base}.log)"))
                if not ok:
                    failures.append(f"{system} smp={smp} repeat {rep}")
    run = dict(repeat=repeat, smps=smps, linux_iters=liters, linux_append=a.linux_append,
               mem=a.mem, failures=failures,
               linux_version=linux_version, pagoda=git_rev(), qemu=qemu_version(),
               host_cpus=os.cpu_count(), minutes=round((time.time() - t_start) / 60, 1))
    with open(os.path.join(rdir, "run.json"), "w") as f:
        json.dump(run, f, indent=1)
    return run


def report(rdir, docs):
    with open(os.path.join(rdir, "run.json")) as f:
        run = json.load(f)
    smps, liters = run["smps"], run["linux_iters"]
    data = {}
    for txt in sorted(glob.glob(os.path.join(rdir, "*-smp*-r*.txt"))):
        with open(txt) as f:
            for name, msmp, value, unit, _ in metrics(f.read()):
                data.setdefault((name, msmp), []).append(value)
    rows = summarize(data, smps)
    write_csv(rows, os.path.join(rdir, "summary.csv"))
    trows = thread_rows(data, smps)
    write_threads_csv(trows, os.path.join(rdir, "summary_threads.csv"))
    plots = plot(rows, smps, os.path.join(rdir, "perf"))
    head = [s for s in smps if s <= 2]
    tail = [s for s in smps if s > 2]
    failures = run["failures"]
    subst = {
        "TABLE_HEADLINE": table(rows, head) if head else "(smp 1 and 2 were not measured in this run.)",
        "TABLE_MANY": table(rows, tail) if tail else "(smp above 2 was not measured in this run.)",
        "SETUP": "\n".join([
            f"- pagoda: commit {run['pagoda']}, `make bench` (tools/bench.py), one boot per run.",
            f"- Linux: Debian 12 `{run['linux_version']}`, booted with `-append \"{LINUX_APPEND}\"`"
            + "".join(f" + `{x}`" for x in (run.get("linux_append"), liters and f"LINUXBENCH_ITERS={liters}") if x)
            + ".",
            "- Linux as booted: " + linux_setup(rdir, smps) + ".",
            f"- QEMU: `{' '.join(QEMU_BASE)} -m {run['mem']} -smp N` ({run['qemu']}), "
            f"on a host with {run['host_cpus']} CPUs.",
            f"- {run['repeat']} run(s) of each system per CPU count (smp {', '.join(map(str, smps))}), "
            "interleaved: pagoda, Linux, pagoda, Linux, …",
            f"- Failed runs (left out): {', '.join(failures) if failures else 'none'}."]),
        "TABLE_EXTRA": extra_table(data, smps),
        "TABLE_THREADS": threads_table(trows),
        "PLOTS": "\n\n".join(f"![{p}](perf/{p}.png)" for p in plots),
        "REPEAT": str(run["repeat"]),
    }
    with open(os.path.join(HERE, "PERFORMANCE.md.in")) as f:
        tmpl = f.read()
    doc = re.sub(r"@([A-Z_]+)@", lambda m: subst[m.group(1)], tmpl)
    with open(os.path.join(rdir, "summary.md"), "w") as f:
        f.write(doc)
    print(subst["TABLE_HEADLINE"] + "\n\n" + subst["TABLE_MANY"] + "\n\n" + subst["TABLE_THREADS"])
    if docs:
        ddir = os.path.join(ROOT, "docs", "perf")
        os.makedirs(ddir, exist_ok=True)
        for p in plots:
            shutil.copy(os.path.join(rdir, "perf", p + ".png"), os.path.join(ddir, p + ".png"))
        with open(os.path.join(ROOT, "docs", "PERFORMANCE.md"), "w") as f:
            f.write(doc)
        log("wrote docs/PERFORMANCE.md and docs/perf/*.png")
    else:
        log(f"docs/ left as they were; summary in {rdir}/summary.md")
    return failures


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build")
    ap.add_argument("--repeat", type=int)
    ap.add_argument("--smp")
    ap.add_argument("--mem", default="512M")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--linux-iters", type=int, help="override linuxbench's iteration counts")
    ap.add_argument("--linux-append", default="",
                    help="more Linux command line, for experiments (e.g. mitigations=off, tsc=reliable)")
    ap.add_argument("--docs", choices=["yes", "no"], help="write docs/ (default: yes unless --quick)")
    ap.add_argument("--report-only", action="store_true",
                    help="no runs: rebuild the summary, plots (and docs) from the results folder")
    ap.add_argument("--timeout", type=int, default=300, help="seconds per QEMU run")
    a = ap.parse_args()
    repeat = a.repeat or (1 if a.quick else 3)
    smps = [int(s) for s in (a.smp or ("1,2" if a.quick else "1,2,4")).split(",")]
    liters = a.linux_iters or (200 if a.quick else None)
    docs = (a.docs or ("no" if a.quick else "yes")) == "yes"
    rdir = os.path.join(a.build, "compare", "results")
    if not a.report_only:
        run = run_all(a, repeat, smps, liters, rdir)
        log(f"{run['minutes']} min of runs")
    failures = report(rdir, docs)
    log(f"results in {rdir}/")
    if failures:
        log("FAILED runs: " + ", ".join(failures))
        sys.exit(1)


def qemu_version():
    try:
        out = subprocess.run(["qemu-system-x86_64", "--version"], stdout=subprocess.PIPE, text=True).stdout
        return out.splitlines()[0].replace("QEMU emulator version", "QEMU").strip()
    except (OSError, IndexError):
        return "QEMU"


if __name__ == "__main__":
    main()

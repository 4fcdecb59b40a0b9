#!/usr/bin/env python3
"""netpeer.py: a real network peer for pagoda's virtio-net driver (docs/net.md).

Debian's Linux kernel (compare.py's fetch_linux, with the virtio-net modules) boots in a
second QEMU with an initramfs of busybox, tools/netpeer/udpecho.c and tools/netpeer/init,
joined to the other QEMU by a -netdev dgram link: two UDP sockets on 127.0.0.1, each
QEMU sending its frames to the other's port. As a module:

    a, b = free_ports(2)
    peer = start_peer(build, "echo", ["7"], "10.0.2.1", PEER_MAC, a, b, log=path)
    try:
        peer.wait_ready(120)
        ... boot pagoda with runproc.qemu_cmd(...) + pagoda_nic_args(b, a, PAGODA_MAC, pcap=p)
    finally:
        peer.stop()

As a command:  netpeer.py --build build selftest   (two Linux peers, rtt through the link)
               netpeer.py --build build bench [--smp 1,2]   (the Linux<->Linux baseline)
Every wait has a timeout; a peer is always killed; a failure prints each serial log's tail.
"""
import argparse, ctypes, gzip, os, re, signal, socket, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import runproc  # noqa: E402
import compare  # noqa: E402  (fetch_linux, cpio_newc)
import pcapsum  # noqa: E402
HERE = os.path.join(ROOT, "tools", "netpeer")

# The addresses of docs/net.md.
PAGODA_IP, PAGODA_MAC = "10.0.2.15", "52:54:00:12:34:56"
PEER_IP, PEER_MAC = "10.0.2.1", "52:54:00:12:34:01"
PEER2_IP, PEER2_MAC = "10.0.2.2", "52:54:00:12:34:02"
ECHO_PORT, SINK_PORT = 7, 9
# Debian builds virtio-pci and virtio-net as modules; their dependencies come along.
NET_MODULES = ("virtio_pci", "virtio_net")
SERVER_MODES = ("echo", "sink", "serve")
METRIC = re.compile(r"^(metric=(\S+) smp=(\d+) value=(\S+) unit=(\S+))\r?$", re.M)


def log(msg):
    print(f"netpeer: {msg}", flush=True)


class Failure(Exception):
    pass


def ndir(build):
    return os.path.join(build, "netpeer")


# ---------------------------------------------------------------- the guest's files

def build_udpecho(build):
    src, out = os.path.join(HERE, "udpecho.c"), os.path.join(ndir(build), "udpecho")
    if not os.path.exists(out) or os.path.getmtime(out) < os.path.getmtime(src):
        log("building udpecho (host gcc, static)")
        os.makedirs(ndir(build), exist_ok=True)
        cc = os.environ.get("CC", "gcc")
        tmp = f"{out}.{os.getpid()}.tmp"  # another run may be using (or building) it
        subprocess.run([cc, "-static", "-O2", "-Wall", "-Wextra", "-Werror", "-o", tmp, src], check=True)
        os.replace(tmp, out)
    return out


def prepare(build):
    """(kernel, initramfs): <build>/netpeer/linux/vmlinuz and <build>/netpeer/initramfs.cpio.gz
    (busybox, udpecho, /init, the modules), each made only if missing or out of date."""
    d = ndir(build)
    os.makedirs(d, exist_ok=True)
    ldir = compare.fetch_linux(d, modules=NET_MODULES)
    udpecho = build_udpecho(build)
    init = os.path.join(HERE, "init")
    mdir = os.path.join(ldir, "modules")
    with open(os.path.join(mdir, "modules.order")) as f:
        mods = [m for m in f.read().split() if m]
    inputs = [udpecho, init, os.path.join(ldir, "busybox"), os.path.join(mdir, "modules.order")] + \
        [os.path.join(mdir, m + ".ko") for m in mods]
    out = os.path.join(d, "initramfs.cpio.gz")
    if os.path.exists(out) and os.path.getmtime(out) >= max(map(os.path.getmtime, inputs)):
        return os.path.join(ldir, "vmlinuz"), out

    def read(p):
        with open(p, "rb") as f:
            return f.read()
    entries = [(n, 0o040755, b"", 0, 0) for n in ("bin", "dev", "proc", "sys", "lib", "lib/modules")]
    entries += [
        ("dev/console", 0o020600, b"", 5, 1),
        ("bin/busybox", 0o100755, read(os.path.join(ldir, "busybox")), 0, 0),
        ("bin/udpecho", 0o100755, read(udpecho), 0, 0),
        ("init", 0o100755, read(init), 0, 0),
        ("lib/modules/modules.order", 0o100644, read(os.path.join(mdir, "modules.order")), 0, 0),
    ] + [(f"lib/modules/{m}.ko", 0o100644, read(os.path.join(mdir, m + ".ko")), 0, 0) for m in mods]
    tmp = f"{out}.{os.getpid()}.tmp"
    with open(tmp, "wb") as f:
        f.write(gzip.compress(compare.cpio_newc(entries), mtime=0))
    os.replace(tmp, out)
    return os.path.join(ldir, "vmlinuz"), out


# ---------------------------------------------------------------- the link

def free_ports(n=2):
    """n distinct UDP ports on 127.0.0.1 that are free now (the kernel picks them)."""
    socks, ports = [], []
    try:
        while len(ports) < n:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
            ports.append(s.getsockname()[1])
    finally:
        for s in socks:
            s.close()
    return ports


def dgram_args(local_port, remote_port):
    return ["-netdev", f"dgram,id=n0,local.type=inet,local.host=127.0.0.1,local.port={local_port},"
                       f"remote.type=inet,remote.host=127.0.0.1,remote.port={remote_port}"]


def pagoda_nic_args(local_port, remote_port, mac=PAGODA_MAC, pcap=None, mtu=None):
    """The QEMU arguments of pagoda's side of the link: a modern-only (virtio 1.0)
    virtio-net-pci on the dgram netdev, and with pcap a capture of both directions.
    mtu: the device offers it (host_mtu; VIRTIO_NET_F_MTU), for jumbo frames."""
    args = dgram_args(local_port, remote_port) + \
        ["-device", f"virtio-net-pci,netdev=n0,mac={mac},disable-legacy=on" + (f",host_mtu={int(mtu)}" if mtu else "")]
    if pcap:
        args += ["-object", f"filter-dump,id=f0,netdev=n0,file={pcap}"]
    return args


# ---------------------------------------------------------------- a peer

def tail(path, n=25):
    try:
        with open(path, errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return f"    ({path}: none)"
    return "\n".join("    " + l for l in lines[-n:]) or "    (empty)"


def _die_with_parent():
    """In the child before exec: SIGKILL when the Python process that started it dies, so
    no peer outlives a harness that was itself killed (PR_SET_PDEATHSIG)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass


class Peer:
    """A Linux peer QEMU running in the background; its serial console goes to log."""

    def __init__(self, name, cmd, log):
        self.name, self.cmd, self.log = name, cmd, log
        self.qlog = log + ".qemu"
        for p in (log, self.qlog):
            if os.path.exists(p):
                os.unlink(p)
        self._qf = open(self.qlog, "wb")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self._qf, stderr=subprocess.STDOUT,
                                     preexec_fn=_die_with_parent)
        self.t0 = time.time()

    def output(self):
        """The serial console so far."""
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def metrics(self):
        """[(name, smp, value, unit)] of the metric lines printed so far."""
        return [(m.group(2), int(m.group(3)), float(m.group(4)), m.group(5))
                for m in METRIC.finditer(self.output())]

    def alive(self):
        return self.proc.poll() is None

    def _fail(self, why):
        raise Failure(f"{self.name}: {why}\n  serial log {self.log}:\n{tail(self.log)}\n"
                      f"  QEMU output {self.qlog}:\n{tail(self.qlog, 10)}")

    def wait_for(self, pattern, timeout):
        """Waits until the serial log matches pattern (a regex); returns the match."""
        deadline = time.time() + timeout
        rx = re.compile(pattern, re.M)
        while True:
            out = self.output()
            m = rx.search(out)
            if m:
                return m
            f = re.search(r"^netpeer: FAILED: .*$", out, re.M)
            if f:
                self._fail(f.group(0))
            if not self.alive():
                self._fail(f"QEMU exited (status {self.proc.returncode}) before /{pattern}/")
            if time.time() > deadline:
                self._fail(f"no /{pattern}/ after {timeout} s")
            time.sleep(0.1)

    def wait_ready(self, timeout=120):
        """Waits for udpecho's "udpecho: ready" (a server mode has bound its ports)."""
        self.wait_for(r"^udpecho: ready", timeout)
        return self

    def wait(self, timeout=300):
        """Waits for a finite mode to end and QEMU to exit (poweroff); returns the output."""
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._fail(f"still running after {timeout} s")
        out = self.output()
        if "netpeer: done" not in out:
            self._fail(f"QEMU exited (status {self.proc.returncode}) before netpeer: done")
        return out

    def stop(self):
        """Kills QEMU (safe to call twice, and on a peer that ended by itself)."""
        if self.alive():
            self.proc.kill()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        self._qf.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def peer_append(mode, args, ip, arp=(), extra=""):
    if isinstance(args, (list, tuple)):
        args = " ".join(str(a) for a in args)
    if '"' in args or "\n" in args:
        raise ValueError(f"peer arguments {args!r}: no quotes or newlines")
    if not re.fullmatch(r"[0-9.]+(/\d+)?", ip):
        raise ValueError(f"peer address {ip!r}")
    words = ["console=ttyS0", "quiet", f"netpeer.ip={ip}", f"netpeer.mode={mode}", f'netpeer.args="{args}"']
    for aip, amac in arp:
        if not re.fullmatch(r"[0-9.]+", aip) or not re.fullmatch(r"([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}", amac):
            raise ValueError(f"ARP entry {aip},{amac}")
        words.append(f"netpeer.arp={aip},{amac}")
    return " ".join(words) + (f" {extra}" if extra else "")


def start_peer(build, mode, args, ip, mac, local_port, remote_port, smp=1, mem="256M", log=None,
               arp=(), pcap=None, name=None, extra_append="", nic_args=None, mtu=None):
    """Boots a Linux peer in the background and returns its Peer (call .stop(), in a
    finally). mode/args: udpecho's (echo ["7"], serve ["7", "9"], rtt [ip, port, size,
    count], ..., or "run" with "cmd;cmd"); ip: eth0's address (/24); mac: its MAC;
    local_port/remote_port: this QEMU's end of the dgram link and the other QEMU's;
    arp: [(ip, mac)] permanent ARP entries; pcap: capture this side's frames; nic_args:
    the QEMU arguments of the link instead of a transitional virtio-net-pci (and pcap),
    e.g. pagoda_nic_args(...) for the modern-only device pagoda gets; mtu: eth0's MTU,
    the device offering it (host_mtu), for jumbo frames."""
    kernel, initrd = prepare(build)
    name = name or f"peer-{ip}"
    if log is None:
        os.makedirs(os.path.join(ndir(build), "logs"), exist_ok=True)
        log = os.path.join(ndir(build), "logs", f"{name}-{local_port}.log")
    cmd = runproc.QEMU_BASE + ["-smp", str(smp), "-m", mem, "-kernel", kernel, "-initrd", initrd,
                               "-append", peer_append(mode, args, ip, arp, extra_append +
                                                      (f" netpeer.mtu={int(mtu)}" if mtu else ""))] + \
        (nic_args if nic_args is not None else
         dgram_args(local_port, remote_port) +
         ["-device", f"virtio-net-pci,netdev=n0,mac={mac}" + (f",host_mtu={int(mtu)}" if mtu else "")] +
         (["-object", f"filter-dump,id=f0,netdev=n0,file={pcap}"] if pcap else [])) + \
        ["-display", "none", "-serial", f"file:{log}", "-monitor", "none", "-no-reboot"]
    return Peer(name, cmd, log)


def statuses(out):
    """[(udpecho command, exit status)] that init reported."""
    return [(m.group(1), int(m.group(2)))
            for m in re.finditer(r"^netpeer: udpecho (.*) exit status (\d+)\r?$", out, re.M)]


# ---------------------------------------------------------------- selftest

def rtt_probe(run, seq, size):
    """The bytes of udpecho's rtt probe (its fill()): header, then (seq * 7 + i) & 0xff."""
    hdr = (0x55505431).to_bytes(4, "big") + run.to_bytes(4, "big") + seq.to_bytes(4, "big")
    return hdr + bytes((seq * 7 + i) & 0xff for i in range(12, size))


def selftest(a):
    count, size = a.count, 64
    d = ndir(a.build)
    pcap = os.path.join(d, "selftest.pcap")
    if os.path.exists(pcap):
        os.unlink(pcap)
    pa, pb = free_ports(2)
    log(f"selftest: echo {PEER_IP} (udp {pa}) <-> rtt client {PEER2_IP} (udp {pb}, modern-only "
        f"virtio-net as pagoda's), capture {pcap}")
    peers = []
    try:
        echo = start_peer(a.build, "echo", [ECHO_PORT], PEER_IP, PEER_MAC, pa, pb, name="echo")
        peers.append(echo)
        echo.wait_ready(a.timeout)
        log(f"echo peer ready after {time.time() - echo.t0:.1f} s")
        # The client's NIC is pagoda's: modern-only virtio, captured (pagoda_nic_args).
        client = start_peer(a.build, "rtt", [PEER_IP, ECHO_PORT, size, count], PEER2_IP, PEER2_MAC, pb, pa,
                            name="client", nic_args=pagoda_nic_args(pb, pa, PEER2_MAC, pcap))
        peers.append(client)
        out = client.wait(a.timeout)
        m = re.search(r"^udpecho: rtt size=(\d+) sent=(\d+) lost=(\d+) bad=(\d+).*$", out, re.M)
        if not m:
            client._fail("no 'udpecho: rtt' result line")
        print(m.group(0))
        for line in METRIC.finditer(out):
            print(line.group(1))
        if (int(m.group(2)), int(m.group(3)), int(m.group(4))) != (count, 0, 0):
            client._fail(f"expected sent={count} lost=0 bad=0")
        if statuses(out) != [(f"rtt {PEER_IP} {ECHO_PORT} {size} {count}", 0)]:
            client._fail(f"udpecho's exit statuses: {statuses(out)}")
    finally:
        for p in peers:
            p.stop()
    frames = pcapsum.load(pcap)
    print(pcapsum.summary(frames))
    req = pcapsum.match(frames, src=PEER2_IP, dst=PEER_IP, dport=ECHO_PORT)
    rep = pcapsum.match(frames, src=PEER_IP, dst=PEER2_IP, sport=ECHO_PORT)
    problems = []
    if len(req) < count or len(rep) < count:
        problems.append(f"capture: {len(req)} probes and {len(rep)} echoes, expected {count} each")
    if not pcapsum.match(frames, arp=1) or not pcapsum.match(frames, arp=2):
        problems.append("capture: no ARP request and reply")
    if req:
        run = int.from_bytes(req[0]["payload"][4:8], "big")
        first = rtt_probe(run, 0, size)
        if not (pcapsum.any_frame(frames, src=PEER2_IP, payload=first) and
                pcapsum.any_frame(frames, src=PEER_IP, payload=first)):
            problems.append("capture: probe 0's exact payload not seen in both directions")
    if problems:
        raise Failure("; ".join(problems))
    log(f"selftest: passed ({count} round trips, {len(frames)} frames captured, both directions)")


# ---------------------------------------------------------------- bench

JUMBO_MTU, JUMBO_SIZE = 9000, 8972  # a 9014-byte frame: the largest UDP payload of MTU 9000


def jumbo_rtt(a, smp, rdir, failed):
    """linux_udp_rtt_8972b: the same pair with both devices at MTU 9000 (host_mtu)."""
    pa, pb = free_ports(2)
    peers = []
    try:
        srv = start_peer(a.build, "serve", [ECHO_PORT, SINK_PORT], PEER_IP, PEER_MAC, pa, pb, smp=smp,
                         arp=[(PEER2_IP, PEER2_MAC)], name=f"bench-serve-smp{smp}-mtu{JUMBO_MTU}",
                         log=os.path.join(rdir, f"serve-smp{smp}-mtu{JUMBO_MTU}.log"), mtu=JUMBO_MTU)
        peers.append(srv)
        srv.wait_ready(a.timeout)
        cli = start_peer(a.build, "rtt", [PEER_IP, ECHO_PORT, JUMBO_SIZE, a.count // 2], PEER2_IP, PEER2_MAC,
                         pb, pa, smp=smp, arp=[(PEER_IP, PEER_MAC)], mtu=JUMBO_MTU,
                         name=f"bench-client-smp{smp}-mtu{JUMBO_MTU}",
                         log=os.path.join(rdir, f"client-smp{smp}-mtu{JUMBO_MTU}.log"))
        peers.append(cli)
        out = cli.wait(a.timeout + 120)
    except Failure as e:
        print(e, flush=True)
        failed.append(f"smp {smp}: jumbo rtt")
        return []
    finally:
        for p in peers:
            p.stop()
    ms = [m.group(1) for m in METRIC.finditer(out)]
    for m in ms:
        print(m, flush=True)
    return ms


def bench(a):
    smps = [int(s) for s in a.smp.split(",")]
    rdir = os.path.join(ndir(a.build), "results")
    os.makedirs(rdir, exist_ok=True)
    ip, port = PEER_IP, ECHO_PORT
    cmds = [f"rtt {ip} {port} 64 {a.count}", f"rtt {ip} {port} 1472 {a.count}",
            f"pps {ip} {SINK_PORT} 1472 {a.seconds}"]
    if not a.no_zc:
        cmds += ["-z " + c for c in cmds]
    allm, failed = [], []
    for smp in smps:
        pa, pb = free_ports(2)
        log(f"bench smp={smp}: serve {PEER_IP} <-> client {PEER2_IP} (-smp {smp} each, "
            f"static ARP): {'; '.join(cmds)}")
        peers = []
        try:
            srv = start_peer(a.build, "serve", [ECHO_PORT, SINK_PORT], PEER_IP, PEER_MAC, pa, pb, smp=smp,
                             arp=[(PEER2_IP, PEER2_MAC)], name=f"bench-serve-smp{smp}",
                             log=os.path.join(rdir, f"serve-smp{smp}.log"))
            peers.append(srv)
            srv.wait_ready(a.timeout)
            cli = start_peer(a.build, "run", ";".join(cmds), PEER2_IP, PEER2_MAC, pb, pa, smp=smp,
                             arp=[(PEER_IP, PEER_MAC)], name=f"bench-client-smp{smp}",
                             log=os.path.join(rdir, f"client-smp{smp}.log"))
            peers.append(cli)
            out = cli.wait(a.timeout + len(cmds) * (a.seconds + 60))
        except Failure as e:
            print(e, flush=True)
            failed.append(f"smp {smp}")
            continue
        finally:
            for p in peers:
                p.stop()
        for line in re.finditer(r"^udpecho: (rtt|pps|zerocopy).*$", out, re.M):
            print("  " + line.group(0))
        for c, s in statuses(out):
            if s == 3:
                log(f"smp={smp}: '{c}': MSG_ZEROCOPY unsupported, skipped")
            elif s != 0:
                log(f"smp={smp}: '{c}' failed (exit status {s}); see {cli.log}")
                failed.append(f"smp {smp}: {c}")
        ms = [m.group(1) for m in METRIC.finditer(out)]
        for m in ms:
            print(m, flush=True)
        allm += ms
        allm += jumbo_rtt(a, smp, rdir, failed)
    with open(os.path.join(rdir, "metrics.txt"), "w") as f:
        f.write("".join(m + "\n" for m in allm))
    log(f"results in {rdir}/ (metrics.txt, serial logs)")
    if failed:
        raise Failure("bench failed: " + ", ".join(failed))


def main():
    ap = argparse.ArgumentParser(description="the Linux peer: selftest and Linux<->Linux baseline")
    ap.add_argument("--build", default="build")
    ap.add_argument("--timeout", type=int, default=180, help="seconds for a boot to get ready / a run to end")
    sub = ap.add_subparsers(dest="cmd", required=True)
    st = sub.add_parser("selftest", help="two Linux peers: rtt through the dgram link, capture checked")
    st.add_argument("--count", type=int, default=200)
    b = sub.add_parser("bench", help="Linux<->Linux: linux_udp_rtt_64b, _1472b, linux_udp_pps_1472b (+ _zc)")
    b.add_argument("--smp", default="1,2")
    b.add_argument("--count", type=int, default=2000, help="round trips per rtt metric")
    b.add_argument("--seconds", type=int, default=5, help="length of the pps blast")
    b.add_argument("--no-zc", action="store_true", help="skip the MSG_ZEROCOPY variants")
    a = ap.parse_args()
    # A SIGTERM (a timeout around make) unwinds like an exception: the finally blocks stop the peers.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        selftest(a) if a.cmd == "selftest" else bench(a)
    except Failure as e:
        print(f"netpeer: FAILED: {e}", flush=True)
        sys.exit(1)


if __name__ == "__main__":
    main()

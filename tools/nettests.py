#!/usr/bin/env python3
"""nettests.py: the network tests and benchmarks of pagoda's virtio-net driver
(docs/net.md). Each case boots one Linux peer (tools/netpeer.py: `serve 7 9`, an echo
on UDP 7 and a sink on 9, at 10.0.2.1) and one pagoda in network mode
(`mode=demo -- -n 10.0.2.15 PROG ARGS...`), both on a -netdev dgram link of their own
(free ports per case), with a capture of pagoda's side (build/net/CASE.pcap, read by
tools/pcapsum.py). A case checks pagoda's exit status (33), the program's result line
and the capture, and returns (ok, name, log) for runtests.py's record().

    nettests.py --build build test [--only PREFIX] [--repeat N]   the cases, a summary line
    nettests.py --build build bench [--smp 1,2] [--no-linux]     metric=... lines
    nettests.py --build build demo [--smp N] [WORDS...]          make run NET=1

As a module: CASES (name, function), run_case(build, name), bench(build, smps).
Every wait has a timeout, every peer is stopped in a finally.
"""
import argparse, os, re, signal, struct, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import netpeer  # noqa: E402
import pcapsum  # noqa: E402
import runproc  # noqa: E402

SUCCESS = 33
PAGODA_IP, PAGODA_MAC = netpeer.PAGODA_IP, netpeer.PAGODA_MAC
PEER_IP, PEER_MAC = netpeer.PEER_IP, netpeer.PEER_MAC
ECHO, SINK = netpeer.ECHO_PORT, netpeer.SINK_PORT
PORT_BASE = 7001            # init grants 7001, 7002, ... in order (user/init/net.c)
PEER_READY = 120            # s for the Linux peer to boot (10-30 s when the machine is idle)
# Lines of pagoda's serial console come as "[cpuN] text".
PREFIX = re.compile(r"^\[cpu\d+\] ", re.M)


def log(msg):
    print(f"nettests: {msg}", flush=True)


def ndir(build):
    return os.path.join(build, "net")


def program_missing(build, prog):
    """Why prog cannot run (not in the boot archive), or None."""
    if os.path.exists(os.path.join(build, "user", prog + ".elf")):
        return None
    return f"program {prog} is not in the boot archive (no user/prog/{prog}.c or tests/user/{prog}.c yet?)"


def console(out):
    """pagoda's serial output with the [cpuN] prefixes removed."""
    return PREFIX.sub("", out.replace("\r", ""))


# ---------------------------------------------------------------- one boot against a peer

class Run:
    """What one pagoda boot against a peer left: status (None: killed at its timeout),
    out (the serial console, prefixes removed), secs, pcap, peer_log, and peer_error
    (netpeer.Failure's text if the peer never got ready: then nothing else is set)."""
    status = out = pcap = peer_log = peer_error = None
    secs = 0.0


def pagoda_cmd(build, smp, mem, words, local, remote, pcap=None, mtu=None):
    append = "mode=demo -- -n " + words
    return runproc.qemu_cmd(build, smp, mem, append) + \
        netpeer.pagoda_nic_args(local, remote, PAGODA_MAC, pcap=pcap, mtu=mtu)


def start_serve(build, name, smp=1, mtu=None):
    """A `serve 7 9` peer on fresh ports (mtu: jumbo frames, both devices offering it);
    returns (peer, pagoda's local port, peer's port)."""
    a, b = netpeer.free_ports(2)
    os.makedirs(ndir(build), exist_ok=True)
    peer = netpeer.start_peer(build, "serve", [ECHO, SINK], PEER_IP, PEER_MAC, a, b, smp=smp, mtu=mtu,
                              name=f"{name}-peer", log=os.path.join(ndir(build), f"{name}-peer.log"))
    return peer, b, a


def boot_pair(build, name, smp, words, timeout, mem="512M", peer_smp=1):
    """Boots a serve peer, then pagoda with `-n WORDS` (captured), waits for pagoda's
    end (at most timeout s) and stops the peer."""
    r = Run()
    r.pcap = os.path.join(ndir(build), f"{name}.pcap")
    os.makedirs(ndir(build), exist_ok=True)
    if os.path.exists(r.pcap):
        os.unlink(r.pcap)
    peer, local, remote = start_serve(build, name, peer_smp)
    r.peer_log = peer.log
    try:
        try:
            peer.wait_ready(PEER_READY)
        except netpeer.Failure as e:
            r.peer_error = str(e)
            return r
        status, out, r.secs = runproc.run(pagoda_cmd(build, smp, mem, words, local, remote, r.pcap), timeout)
        r.status, r.out = status, console(out)
    finally:
        peer.stop()
    return r


# ---------------------------------------------------------------- the capture

def raw_frames(pcap):
    """Every frame's bytes, straight from the pcap file (no dissector: a malformed
    frame counts too). A record cut short by a killed QEMU is kept as far as it goes."""
    try:
        with open(pcap, "rb") as f:
            d = f.read()
    except OSError:
        return []
    if len(d) < 24:
        return []
    end = "<" if d[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    out, off = [], 24
    while off + 16 <= len(d):
        incl = struct.unpack(end + "I", d[off + 8:off + 12])[0]
        out.append(d[off + 16:off + 16 + incl])
        off += 16 + incl
    return out


def from_pagoda(f):
    """A frame not sent by the peer: on this link, pagoda's (or a forgery)."""
    return (f["eth_src"] or "").lower() != PEER_MAC


def foreign(frames, ports):
    """Frames from pagoda's side that its grant does not allow: another source MAC, a
    source IP other than 10.0.2.15, anything but ARP and IPv4/UDP from one of ports.
    Returns [(frame, why)]."""
    bad = []
    for f in frames:
        if not from_pagoda(f):
            continue
        why = None
        if (f["eth_src"] or "").lower() != PAGODA_MAC:
            why = f"source MAC {f['eth_src']}"
        elif f["arp"] is not None:
            if f["arp_src"] != PAGODA_IP:
                why = f"ARP sender {f['arp_src']}"
        elif f["eth_type"] != 0x0800:
            why = f"EtherType {f['eth_type']}"
        elif f["src"] != PAGODA_IP:
            why = f"source IP {f['src']}"
        elif f["proto"] != 17 or f["frag"]:
            why = f"IP protocol {f['proto']}" + (" (fragment)" if f["frag"] else "")
        elif f["sport"] not in ports:
            why = f"UDP source port {f['sport']}"
        if why:
            bad.append((f, why))
    return bad


def describe(f):
    pl = f["payload"]
    return (f"frame {f['n']} ({f['len']} bytes, {f['eth_src']} {f['src']}:{f['sport']} -> "
            f"{f['dst']}:{f['dport']}" + (f", payload {pl[:8].hex()}..." if pl else "") + ")")


def netecho_pattern(seq, size):
    """netecho's datagram seq (user/prog/netecho.c): seq (4 bytes, little-endian), then
    pattern(seq, i) = seq * 131 + i * 7 + (i >> 8)."""
    return struct.pack("<I", seq) + bytes((seq * 131 + i * 7 + (i >> 8)) & 0xff for i in range(4, size))


def echo_exchange(frames, port, count, size, problems, exact=True):
    """The capture holds count datagrams 10.0.2.15:port -> 10.0.2.1:7 and count back,
    one per sequence number each way; with exact, every one is netecho's pattern and the
    echo of each is byte-for-byte the datagram sent."""
    out = pcapsum.match(frames, src=PAGODA_IP, dst=PEER_IP, sport=port, dport=ECHO)
    back = pcapsum.match(frames, src=PEER_IP, dst=PAGODA_IP, sport=ECHO, dport=port)
    if len(out) != count or len(back) != count:
        problems.append(f"capture: {len(out)} datagrams {PAGODA_IP}:{port} -> {PEER_IP}:{ECHO} and "
                        f"{len(back)} back, expected {count} each")
    if not exact:
        return len(out), len(back)

    def by_seq(fs, what):
        m = {}
        for f in fs:
            pl = f["payload"] or b""
            seq = struct.unpack("<I", pl[:4])[0] if len(pl) >= 4 else None
            if seq is None or seq in m:
                problems.append(f"capture: {what} {describe(f)}: sequence {seq} "
                                + ("seen twice" if seq in m else "missing"))
                continue
            m[seq] = pl
        return m
    sent, echoed = by_seq(out, "sent"), by_seq(back, "echo")
    wrong = [s for s in sorted(sent) if sent[s] != netecho_pattern(s, size)]
    differ = [s for s in sorted(sent) if s in echoed and echoed[s] != sent[s]]
    if set(sent) != set(range(count)):
        problems.append(f"capture: sent sequence numbers are not 0..{count - 1} "
                        f"(missing {sorted(set(range(count)) - set(sent))[:10]})")
    if set(echoed) != set(sent):
        problems.append(f"capture: sequences sent but not echoed {sorted(set(sent) - set(echoed))[:10]}, "
                        f"echoed but not sent {sorted(set(echoed) - set(sent))[:10]}")
    if wrong:
        problems.append(f"capture: {len(wrong)} sent payloads are not netecho's pattern (seq {wrong[:10]})")
    if differ:
        problems.append(f"capture: {len(differ)} echoes differ from the datagram sent (seq {differ[:10]})")
    return len(out), len(back)


# ---------------------------------------------------------------- the cases

NETECHO = re.compile(r"^netecho: sent (\d+) echoed (\d+) lost (\d+) bad (\d+) size (\d+) window (\d+) "
                     r"(lend|copy) rtt_median_ns (\d+) pps (\d+) refused (\d+)$", re.M)


def netecho_line(r, problems, count):
    m = NETECHO.search(r.out or "")
    if not m:
        problems.append("no 'netecho: sent ...' line")
        return None
    sent, echoed, lost, bad, refused = (int(m.group(i)) for i in (1, 2, 3, 4, 10))
    if (sent, echoed, lost, bad, refused) != (count, count, 0, 0, 0):
        problems.append(f"netecho: sent {sent} echoed {echoed} lost {lost} bad {bad} refused {refused}, "
                        f"expected sent {count} echoed {count} lost 0 bad 0 refused 0")
    return m


def common(r, problems, status=SUCCESS):
    """The run got that far: peer ready, pagoda ended with the status, init said done.
    Returns False if there is nothing more to check."""
    if r.peer_error:
        problems.append(f"the Linux peer did not get ready: {r.peer_error}")
        return False
    if r.status != status:
        problems.append(f"pagoda's QEMU exit status {r.status}, expected {status}"
                        + (" (killed at the timeout)" if r.status is None else ""))
    if "init: network run done" not in r.out:
        problems.append("no 'init: network run done'")
    return True


def load(r, problems):
    try:
        return pcapsum.load(r.pcap)
    except RuntimeError as e:
        problems.append(f"capture: {e}")
        return []


def finish(name, r, problems, notes=(), frames=None):
    """(ok, name, log): the log says what was checked, what failed, the capture's
    summary and, on a failure, pagoda's console and the peer's tail."""
    lines = [f"{name}: {'ok' if not problems else 'FAILED'}, pagoda {r.secs:.1f} s, status {r.status}"]
    lines += [f"  problem: {p}" for p in problems]
    lines += [f"  {n}" for n in notes]
    if frames is not None:
        lines += ["  " + l for l in pcapsum.summary(frames).splitlines()]
    if problems:
        lines.append(f"  capture {r.pcap}, peer log {r.peer_log}")
        if r.out is not None:
            lines += ["  pagoda: " + l for l in r.out.splitlines()]
        lines += ["  peer:" + netpeer.tail(r.peer_log, 15)]
    return not problems, name, "\n".join(lines)


def echo_case(build, name, count, size, mode, window, timeout):
    words = f"{PAGODA_IP} netecho {PEER_IP} {count} {size}" + (f" {mode}" if mode else "") + \
        (f" {window}" if window else "")
    r = boot_pair(build, name, 2, words, timeout)
    problems, frames, notes = [], None, []
    if common(r, problems):
        m = netecho_line(r, problems, count)
        if m:
            notes.append(m.group(0))
        frames = load(r, problems)
        n_out, n_back = echo_exchange(frames, PORT_BASE, count, size, problems)
        notes.append(f"capture: {n_out} datagrams out, {n_back} echoed, payloads compared by sequence")
        for f, why in foreign(frames, {PORT_BASE})[:10]:
            problems.append(f"capture: not pagoda's grant ({why}): {describe(f)}")
    return finish(name, r, problems, notes, frames)


def case_echo_lend_1472(build):
    """netecho 200 x 1472 bytes, lent: all echoed, the capture holds each datagram and
    its echo byte-exact."""
    return echo_case(build, "net_echo_lend_1472", 200, 1472, None, None, 120)


def case_echo_copy_64(build):
    """netecho 200 x 64 bytes through the copy area."""
    return echo_case(build, "net_echo_copy_64", 200, 64, "copy", None, 120)


def case_10k_both_ways(build):
    """10,000 x 1472 bytes with 16 in flight, at smp 2: none lost, 10,000 each way."""
    return echo_case(build, "net_10k_both_ways_smp2", 10000, 1472, "lend", 16, 300)


def missing_case(build, name, prog):
    why = program_missing(build, prog)
    if why:
        return False, name, f"{name}: FAILED: {why}; not run"
    return None


NETBAD = re.compile(r"^netbad: refused (\d+)/(\d+) good (\d+)/(\d+)$", re.M)


def case_refused_never_on_wire(build):
    """netbad: every forbidden or malformed frame (payload PGBAD...) is refused with the
    right error and none is on the wire; every good one (PGGOOD...) is; nothing from
    pagoda's side is outside its grant (MAC, 10.0.2.15, UDP 7001)."""
    name = "net_refused_never_on_wire"
    skip = missing_case(build, name, "netbad")
    if skip:
        return skip
    r = boot_pair(build, name, 2, f"{PAGODA_IP} netbad {PEER_IP}", 120)
    problems, frames, notes = [], None, []
    if common(r, problems):
        m = NETBAD.search(r.out)
        good = None
        if not m:
            problems.append("no 'netbad: refused N/N good M/M' line")
        else:
            notes.append(m.group(0))
            ref, ref_of, good, good_of = (int(m.group(i)) for i in range(1, 5))
            if ref != ref_of or good != good_of or ref_of == 0 or good_of == 0:
                problems.append(f"netbad: refused {ref}/{ref_of} good {good}/{good_of}")
        frames = load(r, problems)
        raw = raw_frames(r.pcap)
        bad_raw = [i + 1 for i, fr in enumerate(raw) if b"PGBAD" in fr]
        bad_udp = [f for f in frames if (f["payload"] or b"").startswith(b"PGBAD")]
        goods = [f for f in frames if from_pagoda(f) and (f["payload"] or b"").startswith(b"PGGOOD")]
        grant = foreign(frames, {PORT_BASE})
        for f in bad_udp[:10]:
            problems.append(f"capture: a refused frame is on the wire: {describe(f)}")
        if bad_raw and not bad_udp:
            problems.append(f"capture: 'PGBAD' in the bytes of frames {bad_raw[:10]}")
        for f, why in grant[:10]:
            problems.append(f"capture: not pagoda's grant ({why}): {describe(f)}")
        distinct = len({f["payload"] for f in goods})
        if good is not None and (len(goods) != good or distinct != good):
            problems.append(f"capture: {len(goods)} PGGOOD frames from pagoda ({distinct} distinct), "
                            f"netbad sent {good}")
        refused = m.group(1) if m else "?"
        notes.append(f"capture: {len(raw)} frames seen, {len(goods)} PGGOOD from pagoda; refused by the "
                     f"driver {refused}, refused frames on the wire {len(set(bad_raw) | {f['n'] for f in bad_udp})}, "
                     f"outside the grant {len(grant)}")
    return finish(name, r, problems, notes, frames)


NETRACE = re.compile(r"^netrace: sends (\d+) sent (\d+) refused (\d+) faults (\d+)$", re.M)


def case_writer_faults(build):
    """netrace: a second vcpu writes the UDP source port 6666 into each frame while it
    is sent: it faults (the frame is lent read-only), and no frame with port 6666 is on
    the wire; every frame sent was echoed."""
    name = "net_writer_faults_frame_is_checked"
    skip = missing_case(build, name, "netrace")
    if skip:
        return skip
    count = 200
    r = boot_pair(build, name, 2, f"{PAGODA_IP} netrace {PEER_IP} {count}", 180)
    problems, frames, notes = [], None, []
    if common(r, problems):
        m = NETRACE.search(r.out)
        sent = None
        if not m:
            problems.append("no 'netrace: sends N sent S refused R faults F' line")
        else:
            notes.append(m.group(0))
            n, sent, ref, faults = (int(m.group(i)) for i in range(1, 5))
            if n != count or sent + ref != n or faults == 0:
                problems.append(f"netrace: sends {n} sent {sent} refused {ref} faults {faults}, expected "
                                f"sends {count}, sent + refused = sends, faults > 0")
        frames = load(r, problems)
        p6666 = pcapsum.match(frames, sport=6666)
        for f in p6666[:10]:
            problems.append(f"capture: a frame from port 6666: {describe(f)}")
        for f, why in foreign(frames, {PORT_BASE})[:10]:
            problems.append(f"capture: not pagoda's grant ({why}): {describe(f)}")
        out = pcapsum.match(frames, src=PAGODA_IP, sport=PORT_BASE, dst=PEER_IP, dport=ECHO)
        back = pcapsum.match(frames, src=PEER_IP, sport=ECHO, dst=PAGODA_IP, dport=PORT_BASE)
        if sent is not None and (len(back) != sent or len(out) != sent):
            problems.append(f"capture: {len(out)} frames to {PEER_IP}:{ECHO} and {len(back)} echoed, "
                            f"netrace sent {sent}")
        notes.append(f"capture: {len(out)} sent, {len(back)} echoed, {len(p6666)} from port 6666")
    return finish(name, r, problems, notes, frames)


def case_killed_sender(build):
    """netflood (7001) is deleted 300 ms after its start while netecho (7002) runs
    2000 x 512 bytes, 8 in flight: netecho loses nothing, and once everything is torn
    down the kernel's leak check passes."""
    name = "net_killed_sender_leaks_nothing"
    skip = missing_case(build, name, "netflood")
    if skip:
        return skip
    count, size = 2000, 512
    words = f"-k 300 {PAGODA_IP} netflood {PEER_IP} + netecho {PEER_IP} {count} {size} lend 8"
    r = boot_pair(build, name, 2, words, 180)
    problems, frames, notes = [], None, []
    if common(r, problems):
        if not re.search(r"^init: deleting netflood", r.out, re.M):
            problems.append("no 'init: deleting netflood'")
        if "init: leak check ok" not in r.out:
            problems.append("no 'init: leak check ok'")
        m = NETECHO.search(r.out)
        if not m:
            problems.append("no 'netecho: sent ...' line")
        else:
            notes.append(m.group(0))
            if int(m.group(3)) != 0 or int(m.group(4)) != 0 or int(m.group(2)) != count:
                problems.append(f"netecho: echoed {m.group(2)} lost {m.group(3)} bad {m.group(4)}, "
                                f"expected {count} echoed, lost 0, bad 0")
        frames = load(r, problems)
        n_out, n_back = echo_exchange(frames, PORT_BASE + 1, count, size, problems)
        flood = pcapsum.match(frames, src=PAGODA_IP, sport=PORT_BASE, dport=SINK)
        for f, why in foreign(frames, {PORT_BASE, PORT_BASE + 1})[:10]:
            problems.append(f"capture: not pagoda's grant ({why}): {describe(f)}")
        notes.append(f"capture: netecho {n_out} out, {n_back} echoed; netflood {len(flood)} to the sink")
    return finish(name, r, problems, notes, frames)


CASES = [
    ("net_echo_lend_1472", case_echo_lend_1472),
    ("net_echo_copy_64", case_echo_copy_64),
    ("net_refused_never_on_wire", case_refused_never_on_wire),
    ("net_writer_faults_frame_is_checked", case_writer_faults),
    ("net_killed_sender_leaks_nothing", case_killed_sender),
    ("net_10k_both_ways_smp2", case_10k_both_ways),
]


def cases(only=""):
    return [(n, f) for n, f in CASES if n.startswith(only or "")]


def run_case(build, fn):
    """One case; an exception in the harness is the case's failure, not the suite's end."""
    name = [n for n, f in CASES if f is fn][0]
    t0 = time.time()
    try:
        ok, name, text = fn(build)
    except (netpeer.Failure, OSError, RuntimeError, subprocess.SubprocessError) as e:
        ok, text = False, f"{name}: FAILED: {type(e).__name__}: {e}"
    return ok, name, text, time.time() - t0


# ---------------------------------------------------------------- bench

# (pagoda's words after the IP, the metric lines that run is for, the link's MTU: None
# for 1500, 9000 for the jumbo frame's run, against a peer of its own)
BENCH = [("netecho 10.0.2.1 2000 64", ["udp_rtt_64b"], None),
         ("netecho 10.0.2.1 2000 1472", ["udp_rtt_1472b", "lend_return_1472b"], None),
         ("netecho 10.0.2.1 2000 1472 copy", ["copy_1472b"], None),
         ("netblast 10.0.2.1 5 1472", ["udp_pps_1472b"], None),
         ("netecho 10.0.2.1 1000 8972", ["udp_rtt_8972b"], 9000)]
METRIC = re.compile(r"^(metric=(\S+) smp=\d+ value=\S+ unit=\S+)$", re.M)


def bench(build, smps, timeout=180, linux=True):
    """For each smp: one serve peer (-smp the same), then pagoda booted against it once
    per BENCH run; prints the metric lines as tools/bench.py does (and '# ...' notes),
    then the Linux<->Linux pair's (netpeer.py bench). Returns (lines, ok)."""
    lines, ok = [], True

    def emit(l):
        lines.append(l)
        print(l, flush=True)
    for smp, mtu in [(smp, mtu) for smp in smps for mtu in (None, 9000)]:
        name = f"bench-smp{smp}" + (f"-mtu{mtu}" if mtu else "")
        peer, local, remote = start_serve(build, name, smp, mtu)
        try:
            peer.wait_ready(PEER_READY)
            for words, want, link_mtu in BENCH:
                if link_mtu != mtu:
                    continue
                prog = words.split()[0]
                why = program_missing(build, prog)
                if why:
                    emit(f"# smp={smp} skipped {', '.join(want)}: {why}")
                    continue
                pcap = os.path.join(ndir(build), f"{name}.pcap")
                status, out, secs = runproc.run(pagoda_cmd(build, smp, "512M", f"{PAGODA_IP} {words}",
                                                           local, remote, pcap, mtu), timeout)
                out = console(out)
                got = {m.group(2): m.group(1) for m in METRIC.finditer(out)}
                for w in want:
                    if w in got:
                        emit(got[w])
                    else:
                        emit(f"# smp={smp} {w}: not printed by '{words}' (not in this build's program yet?)")
                for l in re.findall(r"^(netecho: sent .*|netblast: sent .*|virtio-net: sent .*)$", out, re.M):
                    emit(f"# smp={smp} {l}")
                if status != SUCCESS:
                    ok = False
                    print(f"bench smp={smp} '{words}': QEMU exit status {status}\n{out}", file=sys.stderr)
        except netpeer.Failure as e:
            ok = False
            print(f"bench smp={smp}: {e}", file=sys.stderr)
        finally:
            peer.stop()
    if linux:
        args = argparse.Namespace(build=build, smp=",".join(str(s) for s in smps), count=2000, seconds=5,
                                  no_zc=False, timeout=180)
        try:
            netpeer.bench(args)  # prints its metric lines (and keeps build/netpeer/results/)
            with open(os.path.join(netpeer.ndir(build), "results", "metrics.txt")) as f:
                lines += f.read().split()
        except netpeer.Failure as e:
            ok = False
            print(f"bench: the Linux pair: {e}", file=sys.stderr)
    with open(os.path.join(ndir(build), "bench.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    return lines, ok


# ---------------------------------------------------------------- demo

def demo(build, smp, mem, words):
    """make run NET=1: the peer in the background, pagoda's serial on this terminal;
    returns pagoda's QEMU exit status."""
    log(f"booting the Linux peer ({PEER_IP}, echo on UDP {ECHO}, sink on {SINK})")
    peer, local, remote = start_serve(build, "demo")
    try:
        peer.wait_ready(PEER_READY)
        log(f"peer ready after {time.time() - peer.t0:.1f} s; pagoda: -n {words}")
        cmd = pagoda_cmd(build, smp, mem, words, local, remote)
        try:
            return subprocess.run(cmd, stdin=subprocess.DEVNULL, timeout=600).returncode
        except subprocess.TimeoutExpired:
            log("pagoda still running after 600 s: killed")
            return 1
    except netpeer.Failure as e:
        log(f"the peer did not get ready: {e}")
        return 1
    finally:
        peer.stop()


def main():
    ap = argparse.ArgumentParser(description="pagoda's network tests, benchmarks and demo")
    ap.add_argument("--build", default="build")
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("test", help="the net_* cases")
    t.add_argument("--only", default="", help="cases whose names start with this")
    t.add_argument("--repeat", type=int, default=1)
    b = sub.add_parser("bench", help="metric lines, pagoda's and the Linux pair's")
    b.add_argument("--smp", default="1,2")
    b.add_argument("--no-linux", action="store_true", help="skip the Linux<->Linux pair")
    d = sub.add_parser("demo", help="make run NET=1")
    d.add_argument("--smp", default="2")
    d.add_argument("--mem", default="512M")
    d.add_argument("words", nargs="*", help=f"init's words after -n (default: {PAGODA_IP} netecho {PEER_IP} 20 64)")
    a = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwind: the finally blocks stop peers
    if a.cmd == "demo":
        sys.exit(demo(a.build, a.smp, a.mem, " ".join(a.words) or f"{PAGODA_IP} netecho {PEER_IP} 20 64"))
    if a.cmd == "bench":
        _, ok = bench(a.build, [int(s) for s in a.smp.split(",") if s], linux=not a.no_linux)
        sys.exit(0 if ok else 1)
    passed = failed = 0
    t0 = time.time()
    for _ in range(a.repeat):
        for name, fn in cases(a.only):
            ok, name, text, secs = run_case(a.build, fn)
            print(text + f"\n  ({secs:.1f} s with the peer)", flush=True)
            passed, failed = passed + ok, failed + (not ok)
    print(f"{passed} passed, {failed} failed ({time.time() - t0:.0f} s)")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""pcapsum.py: what a packet capture (QEMU's filter-dump, tools/netpeer.py) holds, read
with Debian's tshark (tools/deps.sh tshark). For tests:

    frames = pcapsum.load("x.pcap")           # [dict], one per frame, in order
    print(pcapsum.summary(frames))
    pcapsum.any_frame(frames, sport=7)        # any UDP frame from port 7?
    pcapsum.match(frames, src="10.0.2.1", payload=b"...")   # those frames

A frame's dict: n (1-based), len, eth_src, eth_dst, eth_type (int), arp (opcode: 1
request, 2 reply; else None), arp_src, arp_dst (the ARP sender/target IPs), src, dst
(IPv4), proto (IP protocol number), sport, dport (UDP), payload (the UDP payload as
bytes, None if not UDP), frag (True for an IP fragment that is not the first).
Command line:  pcapsum.py FILE [--sport P] [--dport P] [--src IP] [--dst IP] [--payload HEX]
prints the summary, and with a filter the count of matching frames (exit 1 if none).
"""
import argparse, collections, subprocess, sys

FIELDS = ["frame.number", "frame.len", "eth.src", "eth.dst", "eth.type", "arp.opcode",
          "arp.src.proto_ipv4", "arp.dst.proto_ipv4", "ip.src", "ip.dst", "ip.proto",
          "ip.frag_offset", "udp.srcport", "udp.dstport", "udp.payload"]


def _int(s, base=10):
    return int(s, base) if s else None


def load(pcap):
    """Every frame of pcap, as dicts (see the module's doc). Raises RuntimeError with
    tshark's message if it cannot read the file."""
    cmd = ["tshark", "-n", "-r", pcap, "-T", "fields", "-E", "separator=/t", "-E", "occurrence=f"]
    for f in FIELDS:
        cmd += ["-e", f]
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=300)
    except FileNotFoundError:
        raise RuntimeError("tshark not found: ./tools/deps.sh tshark") from None
    # tshark warns about running as root, and about a capture cut short by a killed QEMU.
    err = "\n".join(l for l in p.stderr.splitlines()
                    if l.strip() and "Running as user" not in l and "cut short in the middle" not in l)
    if p.returncode != 0 and err:
        raise RuntimeError(f"tshark -r {pcap}: {err}")
    frames = []
    for line in p.stdout.splitlines():
        v = line.split("\t")
        v += [""] * (len(FIELDS) - len(v))
        n, flen, esrc, edst, etype, arp, asrc, adst, src, dst, proto, frag, sport, dport, pl = v[:len(FIELDS)]
        frames.append(dict(
            n=_int(n), len=_int(flen), eth_src=esrc or None, eth_dst=edst or None,
            eth_type=_int(etype, 16) if etype else None, arp=_int(arp), arp_src=asrc or None,
            arp_dst=adst or None, src=src or None, dst=dst or None, proto=_int(proto),
            frag=bool(frag and int(frag) != 0), sport=_int(sport), dport=_int(dport),
            payload=bytes.fromhex(pl.replace(":", "")) if sport else None))
    return frames


def match(frames, sport=None, dport=None, src=None, dst=None, payload=None, arp=None,
          eth_src=None, eth_dst=None):
    """The frames that match every criterion given (payload: these exact bytes; arp:
    the ARP opcode, 1 request, 2 reply)."""
    out = []
    for f in frames:
        if sport is not None and f["sport"] != sport:
            continue
        if dport is not None and f["dport"] != dport:
            continue
        if src is not None and f["src"] != src and f["arp_src"] != src:
            continue
        if dst is not None and f["dst"] != dst and f["arp_dst"] != dst:
            continue
        if payload is not None and f["payload"] != bytes(payload):
            continue
        if arp is not None and f["arp"] != arp:
            continue
        if eth_src is not None and (f["eth_src"] or "").lower() != eth_src.lower():
            continue
        if eth_dst is not None and (f["eth_dst"] or "").lower() != eth_dst.lower():
            continue
        out.append(f)
    return out


def any_frame(frames, **criteria):
    """Does any frame match (match()'s criteria)?"""
    return bool(match(frames, **criteria))


def summary(frames):
    """Frames total, UDP flows (src ip:port -> dst ip:port: frames, payload sizes), ARP
    requests and replies (who asked whom), the rest by EtherType."""
    flows = collections.OrderedDict()
    arps = collections.Counter()
    other = collections.Counter()
    for f in frames:
        if f["arp"] is not None:
            arps[(f["arp"], f["arp_src"], f["arp_dst"], f["eth_src"])] += 1
        elif f["sport"] is not None:
            k = (f"{f['src']}:{f['sport']}", f"{f['dst']}:{f['dport']}")
            c = flows.setdefault(k, [0, set()])
            c[0] += 1
            c[1].add(len(f["payload"]))
        else:
            other[f"ethertype 0x{f['eth_type']:04x}" if f["eth_type"] is not None else "unknown"] += 1
    n_arp = sum(arps.values())
    lines = [f"pcap: {len(frames)} frames, {sum(c[0] for c in flows.values())} UDP, {n_arp} ARP, "
             f"{sum(other.values())} other"]
    for (s, d), (n, sizes) in flows.items():
        sz = ",".join(str(x) for x in sorted(sizes)[:6]) + ("..." if len(sizes) > 6 else "")
        lines.append(f"  udp {s} -> {d}: {n} frames, payload {sz} bytes")
    for (op, s, d, mac), n in sorted(arps.items(), key=lambda kv: str(kv[0])):
        what = {1: f"who-has {d} tell {s}", 2: f"{s} is-at {mac}"}.get(op, f"opcode {op} {s} -> {d}")
        lines.append(f"  arp {what}: {n}")
    for k, n in sorted(other.items()):
        lines.append(f"  {k}: {n}")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description="summarize a pcap (tshark)")
    ap.add_argument("pcap")
    ap.add_argument("--sport", type=int)
    ap.add_argument("--dport", type=int)
    ap.add_argument("--src")
    ap.add_argument("--dst")
    ap.add_argument("--payload", help="exact UDP payload, hex")
    a = ap.parse_args()
    try:
        frames = load(a.pcap)
    except RuntimeError as e:
        sys.exit(f"pcapsum: {e}")
    print(summary(frames))
    crit = {k: getattr(a, k) for k in ("sport", "dport", "src", "dst") if getattr(a, k) is not None}
    if a.payload:
        crit["payload"] = bytes.fromhex(a.payload)
    if crit:
        n = len(match(frames, **crit))
        print(f"pcap: {n} frames match {crit}")
        sys.exit(0 if n else 1)


if __name__ == "__main__":
    main()

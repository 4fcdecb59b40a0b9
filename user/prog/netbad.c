// netbad.c: frames the driver must refuse (tools/nettests.py checks that none reaches
// the wire): each is a whole frame the program wrote, wrong in one way; after each, a
// good frame, which must go out. The payload of every bad frame starts "PGBAD", of
// every good one "PGGOOD". Then descriptors no well-behaved endpoint would post.
//   netbad PORT PEER        (PORT: init's grant, argv[1])
// Prints "netbad: refused N/N good M/M"; exits 0 if every refusal had its reason (and
// opening a port that was not granted failed with E_DENIED).
#include "netclient.h"
#include "netchan.h"

static struct pg_udp u;
static uint32_t peer;
static uint8_t peer_mac[6];
static int refused, bad_total, good, good_total;

enum { F_PORT, F_IP, F_MAC, F_IPSUM, F_UDPSUM, F_IPLEN, F_UDPLEN, F_TCP, F_OPTIONS, F_FRAGMENT, F_SHORT,
       F_LONG, F_ARP, F_VERSION };

static const struct {
	const char *what;
	int how;
	int want;
	unsigned flags;
} cases[] = {
	{ "another port", F_PORT, E_DENIED, 0 },
	{ "another port, by copy", F_PORT, E_DENIED, PG_UDP_COPY },
	{ "another IPv4 source", F_IP, E_DENIED, 0 },
	{ "another MAC source", F_MAC, E_DENIED, 0 },
	{ "bad IPv4 checksum", F_IPSUM, E_BADFRAME, 0 },
	{ "bad UDP checksum", F_UDPSUM, E_BADFRAME, 0 },
	{ "bad UDP checksum, by copy", F_UDPSUM, E_BADFRAME, PG_UDP_COPY },
	{ "IPv4 length past the frame", F_IPLEN, E_BADFRAME, 0 },
	{ "UDP length not the IPv4 one", F_UDPLEN, E_BADFRAME, 0 },
	{ "TCP, not UDP", F_TCP, E_BADFRAME, 0 },
	{ "IPv4 options", F_OPTIONS, E_BADFRAME, 0 },
	{ "a fragment", F_FRAGMENT, E_BADFRAME, 0 },
	{ "cut short of its headers", F_SHORT, E_BADFRAME, 0 },
	{ "longer than the MTU", F_LONG, E_INVAL, 0 },
	{ "an ARP reply of its own", F_ARP, E_BADFRAME, 0 },
	{ "IPv6 version nibble", F_VERSION, E_BADFRAME, 0 },
};

// A good frame to the peer's sink, payload tag + letter n, 64 bytes: its length.
static size_t build(uint8_t *buf, const char *tag, int n)
{
	struct net_udp h = { .src_ip = u.ip, .dst_ip = peer, .src_port = u.port, .dst_port = NC_SINK_PORT };
	memcpy(h.src_mac, u.mac, 6);
	memcpy(h.dst_mac, peer_mac, 6);
	uint8_t payload[64];
	memset(payload, 'x', sizeof payload);
	size_t t = strlen(tag);
	memcpy(payload, tag, t);
	payload[t] = (uint8_t)('A' + n);
	return netframe_udp_build(buf, &h, payload, sizeof payload, true);
}

// Makes the frame wrong in one way; the checksums hold unless that is the fault.
static size_t spoil(uint8_t *f, size_t len, int how)
{
	uint8_t *ip = f + NET_ETH_HDR, *udp = ip + NET_IP_HDR;
	switch (how) {
	case F_PORT: udp[1] ^= 1; break;
	case F_IP: ip[15] = 99; break;
	case F_MAC: f[11] ^= 0x10; return len;
	case F_IPSUM: nc_fix_sums(f); ip[10] ^= 0xFF; return len;
	case F_UDPSUM: nc_fix_sums(f); udp[7] ^= 0x5A; return len;
	case F_IPLEN: ip[3] += 8; break;
	case F_UDPLEN: udp[5] -= 2; break;
	case F_TCP: ip[9] = 6; break;
	case F_OPTIONS: ip[0] = 0x46; break;
	case F_FRAGMENT: ip[6] |= 0x20; break;
	case F_SHORT: return NET_ETH_HDR + 10;
	case F_LONG: return NET_ETH_HDR + NET_MTU + 2;
	case F_ARP: f[12] = 0x08, f[13] = 0x06; return len;
	case F_VERSION: ip[0] = 0x65; break;
	}
	nc_fix_sums(f);
	return len;
}

// Sends buf[0, len) and waits (5 s) for the driver's verdict.
static int verdict(uint8_t *buf, size_t len, unsigned flags)
{
	int err = pg_udp_send_frame(&u, buf, len, flags);
	if (err != E_OK)
		return err;
	if (flags & PG_UDP_COPY) { // the copy area's slot comes back with the verdict
		uint64_t r0 = u.refused, s0 = u.sent;
		for (uint64_t t0 = pg_clock_ns(); u.refused == r0 && u.sent == s0 && pg_clock_ns() - t0 < 5000000000ull;)
			pg_udp_wait(&u, 100000000);
		return u.refused != r0 ? E_BADFRAME : u.sent != s0 ? E_OK : E_TIMEOUT;
	}
	for (uint64_t t0 = pg_clock_ns(); pg_udp_tx_status(&u, buf) == PG_UDP_PENDING;) {
		if (pg_clock_ns() - t0 > 5000000000ull)
			return E_TIMEOUT;
		pg_udp_wait(&u, 100000000);
	}
	return pg_udp_tx_status(&u, buf);
}

static void good_frame(int n)
{
	uint8_t *buf = pg_udp_tx_buf(&u);
	good_total++;
	int err = buf ? verdict(buf, build(buf, "PGGOOD", n), 0) : E_BUSY;
	if (err == E_OK)
		good++;
	else
		pg_printf("netbad: good frame %d: %s\n", n, pg_strerror(err));
}

// Descriptors that name nothing the endpoint may send: straight into the ring.
static void hostile_descriptors(void)
{
	struct netchan *ch = u.ch;
	static const struct netchan_desc d[] = {
		{ 0x10000001, 64, 0 },              // not page-aligned
		{ 0x7ffffff00000ull - 0x100000, 64, 0 }, // nothing mapped there
		{ NETCHAN_SIZE, 64, NETCHAN_F_COPY },  // past the copy area
		{ NETCHAN_RINGS + 5, 64, NETCHAN_F_COPY }, // not a copy slot
		{ NETCHAN_RINGS, 0, NETCHAN_F_COPY },  // no bytes
		{ 0x10000000, 64, 77 },             // flags no endpoint has
	};
	for (size_t i = 0; i < sizeof d / sizeof d[0]; i++) {
		uint32_t h = ch->tx.head;
		ch->tx.d[h % NETCHAN_SLOTS] = d[i];
		__atomic_store_n(&ch->tx.head, h + 1, __ATOMIC_RELEASE);
	}
	uint64_t r0 = ch->refused;
	pg_notify_signal(u.drv, u.doorbell);
	for (uint64_t t0 = pg_clock_ns(); ch->refused - r0 < 6 && pg_clock_ns() - t0 < 5000000000ull;)
		pg_udp_wait(&u, 100000000);
	bad_total += 6;
	refused += (int)(ch->refused - r0);
	// Their completions name no buffer of ours: poll drops them.
	pg_udp_poll(&u);
}

int main(uint64_t arg)
{
	const char *const *argv;
	int argc = pg_args(arg, &argv);
	// A port the driver did not grant cannot even be opened.
	static struct pg_udp other;
	int err = argc > 1 ? pg_udp_open(&other, (uint16_t)(pg_atou(argv[1]) + 1)) : E_INVAL;
	if (err != E_DENIED) {
		pg_printf("netbad: opening a port not granted: %s, want E_DENIED\n", pg_strerror(err));
		return 1;
	}
	if (nc_open(&u, argc, argv, &peer, peer_mac) != E_OK)
		return 1;
	good_frame(0);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		uint8_t *buf = pg_udp_tx_buf(&u);
		if (!buf)
			break;
		size_t len = spoil(buf, build(buf, "PGBAD", (int)i), cases[i].how);
		int err = verdict(buf, len, cases[i].flags);
		int want = cases[i].flags & PG_UDP_COPY ? E_BADFRAME : cases[i].want; // a copy's refusal: counted only
		bad_total++;
		if (err == want)
			refused++;
		else
			pg_printf("netbad: %s: %s, want %s\n", cases[i].what, pg_strerror(err), pg_strerror(want));
		good_frame((int)i + 1);
	}
	hostile_descriptors();
	good_frame(25);
	pg_printf("netbad: refused %d/%d good %d/%d\n", refused, bad_total, good, good_total);
	return refused == bad_total && good == good_total ? 0 : 1;
}

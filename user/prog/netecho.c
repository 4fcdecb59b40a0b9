// netecho.c: a UDP client of the virtio-net driver (init's network mode, docs/net.md):
// sends COUNT datagrams of SIZE payload bytes to PEER's UDP echo (port 7) and checks
// that each comes back byte-exact, one at a time.
//   netecho PORT PEER COUNT SIZE [copy]    (PORT: the one init granted, argv[1])
// "copy" sends through the channel's copy area instead of lending the buffer.
// Prints "netecho: sent N echoed N lost L bad B" and the median round trip.
#include "pagoda.h"
#include "netframe.h"
#include "lib/sort.h"

static uint32_t parse_ip(const char *s)
{
	uint32_t ip = 0, part = 0;
	int dots = 0;
	for (; *s; s++) {
		if (*s == '.')
			ip = ip << 8 | part, part = 0, dots++;
		else if (*s >= '0' && *s <= '9' && part < 256)
			part = part * 10 + (uint32_t)(*s - '0');
		else
			return 0;
	}
	return dots == 3 && part < 256 ? ip << 8 | part : 0;
}

static uint64_t num(const char *s)
{
	uint64_t v = 0;
	for (; *s >= '0' && *s <= '9'; s++)
		v = v * 10 + (uint64_t)(*s - '0');
	return v;
}

static uint8_t pattern(uint32_t seq, size_t i) { return (uint8_t)(seq * 131 + i * 7 + (i >> 8)); }

static struct pg_udp u;
static uint64_t rtts[100000];

// Waits up to 1 s for the echo of seq: 1 if it came back exact, 0 if not at all,
// -1 if something else came (counted bad).
static int await_echo(uint32_t seq, uint32_t peer, size_t size, int *bad)
{
	uint64_t t0 = pg_clock_ns();
	while (pg_clock_ns() - t0 < 1000000000ull) {
		const uint8_t *f;
		size_t len;
		while (pg_udp_recv(&u, &f, &len) == E_OK) {
			struct net_udp p;
			bool mine = netframe_parse_udp(f, len, &p) == E_OK && p.src_ip == peer && p.src_port == 7 &&
				    p.payload_len == size && size >= 4 && memcmp(p.payload, &seq, 4) == 0;
			bool exact = mine;
			for (size_t i = 4; exact && i < size; i++)
				exact = p.payload[i] == pattern(seq, i);
			pg_udp_recv_done(&u, f);
			if (exact)
				return 1;
			if (mine)
				(*bad)++;
		}
		pg_udp_wait(&u, 100000000);
	}
	return 0;
}

int main(uint64_t arg)
{
	const char *const *argv;
	int argc = pg_args(arg, &argv);
	uint32_t peer = argc > 2 ? parse_ip(argv[2]) : 0;
	size_t count = argc > 3 ? num(argv[3]) : 0, size = argc > 4 ? num(argv[4]) : 0;
	unsigned flags = argc > 5 && strcmp(argv[5], "copy") == 0 ? PG_UDP_COPY : 0;
	if (argc < 5 || !peer || !count || count > 100000 || size < 4 || size > NET_UDP_MAX) {
		pg_printf("usage: netecho PORT PEER COUNT SIZE [copy] (SIZE 4-%d)\n", NET_UDP_MAX);
		return 2;
	}
	int err = pg_udp_open(&u, (uint16_t)num(argv[1]));
	uint8_t peer_mac[6];
	if (err == E_OK)
		err = pg_udp_resolve(&u, peer, peer_mac, 5000000000ull);
	if (err != E_OK) {
		pg_printf("netecho: %s\n", pg_strerror(err));
		return 1;
	}
	size_t echoed = 0, lost = 0;
	int bad = 0;
	for (uint32_t seq = 0; seq < count; seq++) {
		uint8_t *buf;
		while (!(buf = pg_udp_tx_buf(&u)))
			pg_udp_wait(&u, 100000000);
		memcpy(buf + NET_UDP_HDRS, &seq, 4);
		for (size_t i = 4; i < size; i++)
			buf[NET_UDP_HDRS + i] = pattern(seq, i);
		uint64_t t0 = pg_clock_ns();
		if ((err = pg_udp_send(&u, buf, peer, 7, size, flags)) != E_OK) {
			pg_printf("netecho: send %u: %s\n", seq, pg_strerror(err));
			return 1;
		}
		int r = await_echo(seq, peer, size, &bad);
		if (r == 1)
			rtts[echoed++] = pg_clock_ns() - t0;
		else
			lost++;
	}
	while (pg_udp_poll(&u), u.tx_free != ~0u) // every buffer back before the end
		pg_udp_wait(&u, 100000000);
	sort_u64(rtts, echoed);
	pg_printf("netecho: sent %zu echoed %zu lost %zu bad %d size %zu rtt_median_ns %lu refused %lu\n", count, echoed,
		  lost, bad, size, echoed ? rtts[echoed / 2] : 0, u.refused);
	return lost || bad || u.refused ? 1 : 0;
}

// netblast.c: one-way throughput to the Linux peer's sink (tools/netpeer/udpecho.c
// sink: datagrams "UPD1" run seq, the last byte following the pattern; an "UPE1"
// marker ends a run and the sink answers "UPR1" with its count). Every send buffer
// stays in flight: each is lent to the driver and comes back when the device is done.
//   netblast PORT PEER SECONDS SIZE      (PORT: init's grant, argv[1])
// Prints "metric=udp_pps_<SIZE>b smp=N value=V unit=pps" (datagrams the sink got, per
// second) and "netblast: sent S received R bad B".
#include "netclient.h"

#define MAGIC_DATA  0x55504431u
#define MAGIC_END   0x55504531u
#define MAGIC_REPLY 0x55505231u

static struct pg_udp u;

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

// The sink's answer for run, if one came: true and its counts.
static bool reply(uint32_t peer, uint32_t run, uint64_t *received, uint32_t *bad)
{
	const uint8_t *f;
	size_t len;
	bool got = false;
	while (pg_udp_recv(&u, &f, &len) == E_OK) {
		struct net_udp p;
		if (netframe_parse_udp(f, len, &p) == E_OK && p.src_ip == peer && p.payload_len >= 24 &&
		    get32(p.payload) == MAGIC_REPLY && get32(p.payload + 4) == run) {
			*received = (uint64_t)get32(p.payload + 8) << 32 | get32(p.payload + 12);
			*bad = get32(p.payload + 16);
			got = true;
		}
		pg_udp_recv_done(&u, f);
	}
	return got;
}

int main(uint64_t arg)
{
	const char *const *argv;
	int argc = pg_args(arg, &argv);
	uint32_t peer;
	uint8_t mac[6];
	uint64_t secs = argc > 3 ? pg_atou(argv[3]) : 0, size = argc > 4 ? pg_atou(argv[4]) : 0;
	if (!secs || secs > 600 || size < 16 || size > NET_UDP_MAX) {
		pg_printf("usage: netblast PORT PEER SECONDS SIZE (SIZE 16-%d)\n", NET_UDP_MAX);
		return 2;
	}
	if (nc_open(&u, argc, argv, &peer, mac) != E_OK)
		return 1;
	uint32_t run = (uint32_t)pg_clock_ns() | 1;
	uint64_t sent = 0, t0 = pg_clock_ns(), end = t0 + secs * 1000000000ull;
	while (pg_clock_ns() < end) {
		uint8_t *buf = pg_udp_tx_buf(&u);
		if (!buf) {
			pg_udp_wait(&u, 10000000);
			const uint8_t *f;
			size_t len;
			while (pg_udp_recv(&u, &f, &len) == E_OK) // nothing is expected: keep buffers moving
				pg_udp_recv_done(&u, f);
			continue;
		}
		uint8_t *p = buf + NET_UDP_HDRS;
		put32(p, MAGIC_DATA), put32(p + 4, run), put32(p + 8, (uint32_t)sent);
		p[size - 1] = (uint8_t)((uint32_t)sent * 7u + (uint32_t)(size - 1));
		if (pg_udp_send(&u, buf, peer, NC_SINK_PORT, size, 0) != E_OK)
			break;
		sent++;
	}
	uint64_t secs_ns = pg_clock_ns() - t0, received = 0;
	uint32_t bad = 0;
	bool answered = false;
	for (int tries = 0; tries < 10 && !answered; tries++) {
		uint8_t *buf;
		while (!(buf = pg_udp_tx_buf(&u)))
			pg_udp_wait(&u, 10000000);
		uint8_t *p = buf + NET_UDP_HDRS;
		put32(p, MAGIC_END), put32(p + 4, run), put32(p + 8, 0);
		put32(p + 12, (uint32_t)(sent >> 32)), put32(p + 16, (uint32_t)sent);
		pg_udp_send(&u, buf, peer, NC_SINK_PORT, 20, 0);
		for (uint64_t w = pg_clock_ns(); !answered && pg_clock_ns() - w < 500000000ull;) {
			pg_udp_wait(&u, 50000000);
			answered = reply(peer, run, &received, &bad);
		}
	}
	while (pg_udp_poll(&u), u.tx_free != ~0u)
		pg_udp_wait(&u, 10000000);
	if (answered)
		pg_printf("metric=udp_pps_%lub smp=%d value=%lu unit=pps\n", (unsigned long)size, pg_cpu_count(),
			  (unsigned long)(received * 1000000000ull / secs_ns));
	pg_printf("netblast: sent %lu received %lu bad %u%s\n", (unsigned long)sent, (unsigned long)received, bad,
		  answered ? "" : " (the sink never answered)");
	return answered && received && !bad ? 0 : 1;
}

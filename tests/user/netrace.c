// netrace.c: the check-then-use race the driver's lend closes. While a frame is being
// sent, a second vcpu on another CPU keeps rewriting its UDP source port, between the
// granted one and a forbidden one (6666). The lend takes the write right away before
// the driver looks: from then on every write faults (the writer counts its faults and
// waits for the frame to come back), so the driver sends the frame it checked, with
// the granted port, or refuses it (E_DENIED) if the lend froze the forbidden one. No
// frame with port 6666 may reach the wire (tools/nettests.py reads the capture).
//   netrace PORT PEER COUNT     (PORT: init's grant, argv[1]; run by init's -n mode)
// Prints "netrace: sends N sent S refused R faults F"; exits 0 if F > 0 and S + R == N.
#include "tcommon.h"
#include "netclient.h"

#define BAD_PORT 6666

static struct pg_udp u;
static volatile uint8_t *target;        // the frame's source port, big endian
static volatile uint64_t armed, idle, stop, faults, back;

// Toggles the port while armed; says when it is idle so main can rebuild the frame.
static void writer(uint64_t arg)
{
	(void)arg;
	while (!stop) {
		if (!armed) {
			idle = 1;
			continue;
		}
		idle = 0;
		// Each value stays a while: the lend freezes either, about as often.
		target[0] = BAD_PORT >> 8, target[1] = BAD_PORT & 0xFF;
		for (volatile int spin = 0; spin < 200; spin++)
			;
		target[0] = (uint8_t)(u.port >> 8), target[1] = (uint8_t)u.port;
		for (volatile int spin = 0; spin < 200; spin++)
			;
	}
	pg_vcpu_stop(0);
}

// A write while the frame was lent: wait until it is back (or the round is over).
static void writer_fault(uint64_t arg, uint64_t addr, uint64_t code)
{
	(void)addr, (void)code;
	faults++;
	while (armed && !back && !stop)
		;
	writer(arg);
}

int main(uint64_t arg)
{
	const char *const *argv;
	int argc = pg_args(arg, &argv);
	uint32_t peer;
	uint8_t mac[6];
	size_t n = argc > 3 ? pg_atou(argv[3]) : 0;
	if (!n || nc_open(&u, argc, argv, &peer, mac) != E_OK)
		return 2;
	if (tc_spawn(writer, 0, pg_cpu_count() > 1 ? 1 : 0, writer_fault) != E_OK)
		return 1;
	size_t sent = 0, refused = 0, other = 0;
	for (size_t i = 0; i < n; i++) {
		uint8_t *buf = pg_udp_tx_buf(&u);
		if (!buf) {
			pg_udp_wait(&u, 100000000);
			i--;
			continue;
		}
		TC_WAIT(idle, 5000);
		// No UDP checksum: only the port tells a checked frame from a changed one.
		struct net_udp h = { .src_ip = u.ip, .dst_ip = peer, .src_port = u.port, .dst_port = NC_ECHO_PORT };
		memcpy(h.src_mac, u.mac, 6);
		memcpy(h.dst_mac, mac, 6);
		memset(buf + NET_UDP_HDRS, 'r', 64);
		memcpy(buf + NET_UDP_HDRS, &i, sizeof i);
		size_t len = netframe_udp_build(buf, &h, buf + NET_UDP_HDRS, 64, false);
		target = buf + NET_ETH_HDR + NET_IP_HDR;
		back = 0;
		armed = 1;
		for (volatile int spin = 0; spin < (int)(i % 64) * 50; spin++) // vary where the lend lands
			;
		int err = pg_udp_send_frame(&u, buf, len, 0);
		while (err == E_OK && pg_udp_tx_status(&u, buf) == PG_UDP_PENDING)
			pg_udp_wait(&u, 100000000);
		back = 1;
		armed = 0;
		err = err == E_OK ? pg_udp_tx_status(&u, buf) : err;
		if (err == E_OK)
			sent++;
		else if (err == E_DENIED)
			refused++;
		else
			other++, pg_printf("netrace: send %zu: %s\n", i, pg_strerror(err));
	}
	stop = 1;
	// Drain the echoes, so they do not pile up (their buffers go back to the driver).
	const uint8_t *f;
	size_t len;
	for (uint64_t t0 = pg_clock_ns(); pg_clock_ns() - t0 < 500000000ull;) {
		while (pg_udp_recv(&u, &f, &len) == E_OK)
			pg_udp_recv_done(&u, f);
		pg_udp_wait(&u, 50000000);
	}
	pg_printf("netrace: sends %zu sent %zu refused %zu faults %lu\n", n, sent, refused, (unsigned long)faults);
	return faults > 0 && sent + refused == n && !other ? 0 : 1;
}

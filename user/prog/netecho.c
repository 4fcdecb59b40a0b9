// netecho.c: a UDP client of the virtio-net driver (init's network mode, docs/net.md):
// sends COUNT datagrams of SIZE payload bytes to PEER's UDP echo (port 7) and checks
// that each comes back byte-exact.
//   netecho PORT PEER COUNT SIZE [lend|copy] [WINDOW]   (PORT: init's grant, argv[1])
// "copy" sends through the channel's copy area instead of lending the buffer; WINDOW
// datagrams may be in flight at once (1: one round trip at a time).
// Prints "netecho: sent N echoed N lost L bad B" and the median round trip.
#include "netclient.h"
#include "lib/sort.h"

static uint8_t pattern(uint32_t seq, size_t i) { return (uint8_t)(seq * 131 + i * 7 + (i >> 8)); }

static struct pg_udp u;
#define NETECHO_MAX 100000
static uint64_t rtts[NETECHO_MAX];

static uint64_t sent_at[NETECHO_MAX];
static uint8_t got[NETECHO_MAX];
static size_t echoed;
static int bad;

// Takes every received frame: an exact echo of a sequence number in flight counts
// (its round trip recorded), anything else from the peer's port 7 is bad.
static size_t take_echoes(uint32_t peer, size_t size, size_t count)
{
	const uint8_t *f;
	size_t len, n = 0;
	while (pg_udp_recv(&u, &f, &len) == E_OK) {
		struct net_udp p;
		uint32_t seq = 0;
		bool mine = netframe_parse_udp(f, len, &p) == E_OK && p.src_ip == peer && p.src_port == NC_ECHO_PORT;
		if (mine && p.payload_len == size)
			memcpy(&seq, p.payload, 4);
		bool exact = mine && p.payload_len == size && seq < count && !got[seq];
		for (size_t i = 4; exact && i < size; i++)
			exact = p.payload[i] == pattern(seq, i);
		pg_udp_recv_done(&u, f);
		if (exact) {
			got[seq] = 1;
			rtts[echoed++] = pg_clock_ns() - sent_at[seq];
			n++;
			if (count <= 20) // a short run is the demo: each echo in the log
				pg_printf("netecho: %zu bytes from %u.%u.%u.%u:%u, seq %u, byte-exact, %lu us\n", size,
					  peer >> 24, (peer >> 16) & 255, (peer >> 8) & 255, peer & 255, p.src_port, seq,
					  (unsigned long)(rtts[echoed - 1] / 1000));
		} else if (mine) {
			bad++;
		}
	}
	return n;
}

int main(uint64_t arg)
{
	const char *const *argv;
	int argc = pg_args(arg, &argv);
	uint32_t peer = argc > 2 ? netframe_ip(argv[2]) : 0;
	size_t count = argc > 3 ? pg_atou(argv[3]) : 0, size = argc > 4 ? pg_atou(argv[4]) : 0;
	unsigned flags = argc > 5 && strcmp(argv[5], "copy") == 0 ? PG_UDP_COPY : 0;
	size_t window = argc > 6 ? pg_atou(argv[6]) : 1;
	if (argc < 5 || !peer || !count || count > NETECHO_MAX || size < 4 || size > NET_JUMBO_MTU - NET_IP_HDR - NET_UDP_HDR || !window ||
	    window > PG_UDP_TX_SLOTS) {
		pg_printf("usage: netecho PORT PEER COUNT SIZE [lend|copy] [WINDOW] (COUNT <= %d, SIZE 4-%d, WINDOW <= %d)\n",
			  NETECHO_MAX, NET_JUMBO_MTU - NET_IP_HDR - NET_UDP_HDR, PG_UDP_TX_SLOTS);
		return 2;
	}
	uint8_t peer_mac[6];
	int err = nc_open(&u, argc, argv, &peer, peer_mac);
	if (err != E_OK)
		return 1;
	if (size > u.mtu - NET_IP_HDR - NET_UDP_HDR) {
		pg_printf("netecho: %zu bytes do not fit the driver's MTU of %u\n", size, u.mtu);
		return 2;
	}
	// Up to window datagrams in flight; a second without an echo ends the run.
	size_t next = 0;
	uint64_t t0 = pg_clock_ns(), progress = t0;
	while (echoed < count && pg_clock_ns() - progress < 1000000000ull) {
		uint8_t *buf;
		while (next < count && next - echoed < window && (buf = pg_udp_tx_buf(&u))) {
			uint32_t seq = (uint32_t)next++;
			memcpy(buf + NET_UDP_HDRS, &seq, 4);
			for (size_t i = 4; i < size; i++)
				buf[NET_UDP_HDRS + i] = pattern(seq, i);
			sent_at[seq] = pg_clock_ns();
			if ((err = pg_udp_send(&u, buf, peer, NC_ECHO_PORT, size, flags)) != E_OK) {
				pg_printf("netecho: send %u: %s\n", seq, pg_strerror(err));
				return 1;
			}
		}
		if (take_echoes(peer, size, count))
			progress = pg_clock_ns();
		else
			pg_udp_wait(&u, 100000000);
	}
	uint64_t secs_ns = pg_clock_ns() - t0;
	while (pg_udp_poll(&u), u.tx_free != ~0u) // every buffer back before the end
		pg_udp_wait(&u, 100000000);
	sort_u64(rtts, echoed);
	size_t lost = count - echoed;
	pg_printf("netecho: sent %zu echoed %zu lost %zu bad %d size %zu window %zu %s rtt_median_ns %lu pps %lu refused %lu\n",
		  count, echoed, lost, bad, size, window, flags ? "copy" : "lend", echoed ? rtts[echoed / 2] : 0,
		  secs_ns ? (uint64_t)(echoed * 1000000000ul / secs_ns) : 0, u.refused);
	if (window == 1 && !flags && echoed)
		pg_printf("metric=udp_rtt_%zub smp=%d value=%lu unit=ns\n", size, pg_cpu_count(), rtts[echoed / 2]);
	return lost || bad || u.refused ? 1 : 0;
}

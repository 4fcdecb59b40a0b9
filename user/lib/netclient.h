// netclient.h: what the network test programs (user/prog/net*.c) share: their
// arguments, opening the endpoint and finding the peer, and fixing a frame's
// checksums after they changed a header field on purpose. Header-only.
#ifndef PAGODA_NETCLIENT_H
#define PAGODA_NETCLIENT_H
#include "pagoda.h"
#include "netframe.h"

#define NC_ECHO_PORT 7
#define NC_SINK_PORT 9

// argv[1] is the port init granted, argv[2] the peer: opens u and resolves the peer
// (5 s) into mac. E_OK, or the error (printed, with the program's name).
static inline int nc_open(struct pg_udp *u, int argc, const char *const *argv, uint32_t *peer, uint8_t mac[6])
{
	*peer = argc > 2 ? netframe_ip(argv[2]) : 0;
	if (!*peer) {
		pg_printf("%s: usage: %s PORT PEER ...\n", argc ? argv[0] : "?", argc ? argv[0] : "?");
		return E_INVAL;
	}
	int err = pg_udp_open(u, (uint16_t)pg_atou(argv[1]));
	if (err == E_OK)
		err = pg_udp_resolve(u, *peer, mac, 5000000000ull);
	if (err != E_OK)
		pg_printf("%s: %s\n", argv[0], pg_strerror(err));
	return err;
}

// The IPv4 header's and the UDP checksums of the frame f[0, len) again, as its
// headers say now (a UDP checksum of 0 stays 0).
static inline void nc_fix_sums(uint8_t *f)
{
	uint8_t *ip = f + NET_ETH_HDR, *udp = ip + (ip[0] & 15) * 4;
	ip[10] = ip[11] = 0;
	uint16_t s = netframe_fold(netframe_sum(ip, (size_t)(ip[0] & 15) * 4, 0));
	ip[10] = (uint8_t)(s >> 8), ip[11] = (uint8_t)s;
	if (!udp[6] && !udp[7])
		return;
	uint16_t ulen = (uint16_t)(udp[4] << 8 | udp[5]);
	udp[6] = udp[7] = 0;
	uint32_t sum = netframe_sum(ip + 12, 8, 0) + NET_PROTO_UDP + ulen;
	uint16_t c = netframe_fold(netframe_sum(udp, ulen, sum));
	if (!c)
		c = 0xFFFF;
	udp[6] = (uint8_t)(c >> 8), udp[7] = (uint8_t)c;
}

#endif

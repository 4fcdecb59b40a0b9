// netflood.c: sends to the Linux peer's sink as fast as its buffers come back, until
// its space is deleted (the killed sender of tools/nettests.py: the driver holds its
// frames lent, mid-send, when it dies).
//   netflood PORT PEER       (PORT: init's grant, argv[1])
#include "netclient.h"

static struct pg_udp u;

int main(uint64_t arg)
{
	const char *const *argv;
	int argc = pg_args(arg, &argv);
	uint32_t peer;
	uint8_t mac[6];
	if (nc_open(&u, argc, argv, &peer, mac) != E_OK)
		return 1;
	for (uint64_t n = 0;; n++) {
		uint8_t *buf;
		while (!(buf = pg_udp_tx_buf(&u)))
			pg_udp_wait(&u, 10000000);
		memset(buf + NET_UDP_HDRS, 'f', 1024);
		memcpy(buf + NET_UDP_HDRS, &n, sizeof n);
		pg_udp_send(&u, buf, peer, NC_SINK_PORT, 1024, 0);
	}
}

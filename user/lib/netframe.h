// netframe.h: Ethernet II / IPv4 / UDP / ARP frames as bytes: building them, and the
// checks a driver makes before a frame may reach the wire. Pure (no system calls, no
// allocation), shared by the virtio-net driver (user/drv) and libpagoda's UDP
// endpoint, host-tested (tests/host/test_netframe.c).
//
// Addresses and ports are kept in host byte order here; on the wire they are big
// endian. Only what pagoda sends is accepted for sending: IPv4 without options or
// fragments, UDP, lengths exact. Checksums: the IPv4 header's always; UDP's when it
// is not 0 (0 means "none" in IPv4, RFC 768).
#ifndef PAGODA_NETFRAME_H
#define PAGODA_NETFRAME_H
#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>

#define NET_ETH_HDR   14
#define NET_IP_HDR    20
#define NET_UDP_HDR   8
#define NET_UDP_HDRS  (NET_ETH_HDR + NET_IP_HDR + NET_UDP_HDR) // 42: headers before the payload
#define NET_ETH_MIN   60    // shortest frame on the wire (without FCS): shorter ones are padded
#define NET_MTU       1500
#define NET_UDP_MAX   (NET_MTU - NET_IP_HDR - NET_UDP_HDR) // 1472: payload in one standard frame
#define NET_JUMBO_MTU 9000
#define NET_FRAME_MAX (NET_ETH_HDR + NET_JUMBO_MTU)

#define NET_ETHERTYPE_IPV4 0x0800
#define NET_ETHERTYPE_ARP  0x0806
#define NET_PROTO_UDP      17

// What one endpoint may send as: its source MAC, IPv4 address and UDP port (the
// driver's grant, from the root task).
struct net_grant {
	uint8_t mac[6];
	uint32_t ip;
	uint16_t port;
};

// A parsed UDP frame: fields in host order; payload points into the frame.
struct net_udp {
	uint8_t src_mac[6], dst_mac[6];
	uint32_t src_ip, dst_ip;
	uint16_t src_port, dst_port;
	const uint8_t *payload;
	size_t payload_len;
};

// The Internet checksum (RFC 1071) of b[0, n), folded, not complemented, added to sum.
uint32_t netframe_sum(const uint8_t *b, size_t n, uint32_t sum);
uint16_t netframe_fold(uint32_t sum); // ~folded: the value to store

// Builds at f (room for NET_UDP_HDRS + plen bytes) an Ethernet/IPv4/UDP frame from
// u's addresses and ports and payload [payload, payload + plen) (copied unless
// payload already is f + NET_UDP_HDRS), with both checksums (udp_csum false: UDP's 0).
// Returns the frame's length, or 0 if plen > NET_JUMBO_MTU - 28.
size_t netframe_udp_build(uint8_t *f, const struct net_udp *u, const void *payload, size_t plen, bool udp_csum);

// The driver's check of a frame a sender lent it: E_OK; E_BADFRAME if it is not a
// well-formed Ethernet/IPv4/UDP frame whose lengths agree with len (IPv4 total length
// + 14 == len, or len == 60 for a padded short frame) and whose checksums hold;
// E_DENIED if its source MAC, IP or UDP port is not g's. (E_* of errors.def.)
int netframe_check_tx(const uint8_t *f, size_t len, const struct net_grant *g, size_t mtu);

// Parses a received frame: E_OK and *u if it is IPv4/UDP (checksums verified as in
// check_tx; the IPv4 length may be shorter than len, padding follows), else
// E_BADFRAME.
int netframe_parse_udp(const uint8_t *f, size_t len, struct net_udp *u);

// "a.b.c.d" as a host-order address, or 0 if it is not one.
uint32_t netframe_ip(const char *s);

// An ARP request or reply for IPv4 over Ethernet.
struct net_arp {
	uint16_t op;          // 1 request, 2 reply
	uint8_t sha[6], tha[6];
	uint32_t spa, tpa;
};
int netframe_parse_arp(const uint8_t *f, size_t len, struct net_arp *a); // E_OK or E_BADFRAME
// Builds the frame (NET_ETH_MIN bytes, padded) for a; dst is its Ethernet destination.
size_t netframe_arp_build(uint8_t *f, const struct net_arp *a, const uint8_t dst[6]);

#endif

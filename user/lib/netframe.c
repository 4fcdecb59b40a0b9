// netframe.c: Ethernet/IPv4/UDP/ARP frames (netframe.h). Every read of a frame is
// bounds-checked against the length the caller gives: frames come from senders and
// from the wire, both hostile.
#include "netframe.h"
#include "include/pagoda/errors.h"

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t get32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static void copy(uint8_t *d, const uint8_t *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		d[i] = s[i];
}

static bool same(const uint8_t *a, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i] != b[i])
			return false;
	return true;
}

uint32_t netframe_sum(const uint8_t *b, size_t n, uint32_t sum)
{
	uint64_t s = sum;
	size_t i = 0;
	for (; i + 1 < n; i += 2)
		s += get16(b + i);
	if (i < n)
		s += (uint32_t)b[i] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint32_t)s;
}

uint16_t netframe_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

// The UDP checksum's pseudo header (RFC 768) plus the UDP header and payload.
static uint32_t udp_sum(const uint8_t *ip, const uint8_t *udp, uint16_t ulen)
{
	uint32_t s = netframe_sum(ip + 12, 8, 0); // source and destination addresses
	s += NET_PROTO_UDP + ulen;
	return netframe_sum(udp, ulen, s);
}

size_t netframe_udp_build(uint8_t *f, const struct net_udp *u, const void *payload, size_t plen, bool udp_csum)
{
	if (plen > NET_JUMBO_MTU - NET_IP_HDR - NET_UDP_HDR)
		return 0;
	uint8_t *ip = f + NET_ETH_HDR, *udp = ip + NET_IP_HDR;
	if ((const uint8_t *)payload != udp + NET_UDP_HDR)
		copy(udp + NET_UDP_HDR, payload, plen);
	copy(f, u->dst_mac, 6);
	copy(f + 6, u->src_mac, 6);
	put16(f + 12, NET_ETHERTYPE_IPV4);
	uint16_t tot = (uint16_t)(NET_IP_HDR + NET_UDP_HDR + plen);
	ip[0] = 0x45; // version 4, 5 words
	ip[1] = 0;
	put16(ip + 2, tot);
	put16(ip + 4, 0);      // identification: no fragments
	put16(ip + 6, 0x4000); // don't fragment
	ip[8] = 64;            // TTL
	ip[9] = NET_PROTO_UDP;
	put16(ip + 10, 0);
	put32(ip + 12, u->src_ip);
	put32(ip + 16, u->dst_ip);
	put16(ip + 10, netframe_fold(netframe_sum(ip, NET_IP_HDR, 0)));
	uint16_t ulen = (uint16_t)(NET_UDP_HDR + plen);
	put16(udp, u->src_port);
	put16(udp + 2, u->dst_port);
	put16(udp + 4, ulen);
	put16(udp + 6, 0);
	if (udp_csum) {
		uint16_t c = netframe_fold(udp_sum(ip, udp, ulen));
		put16(udp + 6, c ? c : 0xffff); // 0 would mean "no checksum"
	}
	size_t len = NET_ETH_HDR + tot;
	for (; len < NET_ETH_MIN; len++)
		f[len] = 0;
	return len;
}

// The IPv4 and UDP layers of f (len bytes): E_OK with *u filled, or E_BADFRAME.
// exact: the IPv4 total length must account for every byte but a short frame's pad.
static int parse(const uint8_t *f, size_t len, struct net_udp *u, bool exact, size_t mtu)
{
	if (len < NET_UDP_HDRS || len > NET_ETH_HDR + mtu || get16(f + 12) != NET_ETHERTYPE_IPV4)
		return E_BADFRAME;
	const uint8_t *ip = f + NET_ETH_HDR, *udp = ip + NET_IP_HDR;
	uint16_t tot = get16(ip + 2);
	if (ip[0] != 0x45 || ip[9] != NET_PROTO_UDP || ip[8] == 0 || (get16(ip + 6) & 0x3fff) != 0)
		return E_BADFRAME; // options, fragments, other protocols, TTL 0
	if (tot < NET_IP_HDR + NET_UDP_HDR || NET_ETH_HDR + (size_t)tot > len)
		return E_BADFRAME;
	if (exact && NET_ETH_HDR + (size_t)tot != len) {
		if (len != NET_ETH_MIN) // only a short frame's pad may follow, and it is zeros
			return E_BADFRAME;
		for (size_t i = NET_ETH_HDR + tot; i < len; i++)
			if (f[i])
				return E_BADFRAME;
	}
	if (netframe_fold(netframe_sum(ip, NET_IP_HDR, 0)) != 0)
		return E_BADFRAME;
	uint16_t ulen = get16(udp + 4);
	if (ulen != tot - NET_IP_HDR)
		return E_BADFRAME;
	if (get16(udp + 6) != 0 && netframe_fold(udp_sum(ip, udp, ulen)) != 0)
		return E_BADFRAME;
	copy(u->dst_mac, f, 6);
	copy(u->src_mac, f + 6, 6);
	u->src_ip = get32(ip + 12);
	u->dst_ip = get32(ip + 16);
	u->src_port = get16(udp);
	u->dst_port = get16(udp + 2);
	u->payload = udp + NET_UDP_HDR;
	u->payload_len = ulen - NET_UDP_HDR;
	return E_OK;
}

int netframe_check_tx(const uint8_t *f, size_t len, const struct net_grant *g, size_t mtu)
{
	struct net_udp u;
	int err = parse(f, len, &u, true, mtu);
	if (err != E_OK)
		return err;
	if (!same(u.src_mac, g->mac, 6) || u.src_ip != g->ip || u.src_port != g->port)
		return E_DENIED;
	return E_OK;
}

int netframe_parse_udp(const uint8_t *f, size_t len, struct net_udp *u)
{
	return parse(f, len, u, false, NET_JUMBO_MTU);
}

int netframe_parse_arp(const uint8_t *f, size_t len, struct net_arp *a)
{
	const uint8_t *p = f + NET_ETH_HDR;
	if (len < NET_ETH_HDR + 28 || get16(f + 12) != NET_ETHERTYPE_ARP)
		return E_BADFRAME;
	// Ethernet (1), IPv4 (0x0800), 6- and 4-byte addresses.
	if (get16(p) != 1 || get16(p + 2) != NET_ETHERTYPE_IPV4 || p[4] != 6 || p[5] != 4)
		return E_BADFRAME;
	a->op = get16(p + 6);
	if (a->op != 1 && a->op != 2)
		return E_BADFRAME;
	copy(a->sha, p + 8, 6);
	a->spa = get32(p + 14);
	copy(a->tha, p + 18, 6);
	a->tpa = get32(p + 24);
	return E_OK;
}

size_t netframe_arp_build(uint8_t *f, const struct net_arp *a, const uint8_t dst[6])
{
	uint8_t *p = f + NET_ETH_HDR;
	copy(f, dst, 6);
	copy(f + 6, a->sha, 6);
	put16(f + 12, NET_ETHERTYPE_ARP);
	put16(p, 1);
	put16(p + 2, NET_ETHERTYPE_IPV4);
	p[4] = 6;
	p[5] = 4;
	put16(p + 6, a->op);
	copy(p + 8, a->sha, 6);
	put32(p + 14, a->spa);
	copy(p + 18, a->tha, 6);
	put32(p + 24, a->tpa);
	for (size_t i = NET_ETH_HDR + 28; i < NET_ETH_MIN; i++)
		f[i] = 0;
	return NET_ETH_MIN;
}

uint32_t netframe_ip(const char *s)
{
	uint32_t ip = 0, part = 0;
	int dots = 0, digits = 0;
	for (; *s; s++) {
		if (*s == '.' && digits) {
			ip = ip << 8 | part, part = 0, digits = 0, dots++;
		} else if (*s >= '0' && *s <= '9' && digits < 3) {
			part = part * 10 + (uint32_t)(*s - '0'), digits++;
		} else {
			return 0;
		}
		if (part > 255)
			return 0;
	}
	return dots == 3 && digits ? ip << 8 | part : 0;
}

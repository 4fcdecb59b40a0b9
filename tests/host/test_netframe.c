// test_netframe.c: host unit tests for user/lib/netframe.c: known checksums, frames
// that round-trip through build and parse, and every way a sender's frame can be
// refused (E_BADFRAME for a malformed one, E_DENIED for a wrong source).
#include <criterion/criterion.h>
#include <string.h>
#include "user/lib/netframe.h"
#include "include/pagoda/errors.h"

static const struct net_grant G = { { 0x52, 0x54, 0, 0, 0, 1 }, 0x0a000001, 4000 };
static struct net_udp hdr(void)
{
	struct net_udp u = { .src_mac = { 0x52, 0x54, 0, 0, 0, 1 }, .dst_mac = { 0x52, 0x54, 0, 0, 0, 2 },
			     .src_ip = 0x0a000001, .dst_ip = 0x0a000002, .src_port = 4000, .dst_port = 7777 };
	return u;
}

static size_t frame(uint8_t *f, size_t plen, bool csum)
{
	uint8_t pay[NET_JUMBO_MTU];
	for (size_t i = 0; i < plen; i++)
		pay[i] = (uint8_t)(i * 7 + 3);
	struct net_udp u = hdr();
	return netframe_udp_build(f, &u, pay, plen, csum);
}

Test(netframe, ipv4_header_checksum_known_answer)
{
	// The classic example: 4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7.
	uint8_t h[20] = { 0x45, 0, 0, 0x73, 0, 0, 0x40, 0, 0x40, 0x11, 0, 0, 0xc0, 0xa8, 0, 1, 0xc0, 0xa8, 0, 0xc7 };
	cr_assert_eq(netframe_fold(netframe_sum(h, 20, 0)), 0xb861);
	h[10] = 0xb8, h[11] = 0x61;
	cr_assert_eq(netframe_fold(netframe_sum(h, 20, 0)), 0);
}

Test(netframe, built_frames_pass_the_check_and_parse_back)
{
	uint8_t f[NET_FRAME_MAX];
	size_t sizes[] = { 0, 1, 17, 18, 64, 1000, NET_UDP_MAX };
	for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++)
		for (int csum = 0; csum < 2; csum++) {
			size_t len = frame(f, sizes[k], csum);
			size_t want = NET_UDP_HDRS + sizes[k] < NET_ETH_MIN ? NET_ETH_MIN : NET_UDP_HDRS + sizes[k];
			cr_assert_eq(len, want);
			cr_assert_eq(netframe_check_tx(f, len, &G, NET_MTU), E_OK, "size %zu", sizes[k]);
			struct net_udp u;
			cr_assert_eq(netframe_parse_udp(f, len, &u), E_OK);
			cr_assert_eq(u.dst_port, 7777);
			cr_assert_eq(u.src_ip, 0x0a000001);
			cr_assert_eq(u.payload_len, sizes[k]);
			cr_assert_eq(u.payload, f + NET_UDP_HDRS);
			for (size_t i = 0; i < sizes[k]; i++)
				cr_assert_eq(u.payload[i], (uint8_t)(i * 7 + 3));
		}
}

Test(netframe, jumbo_frames_need_the_jumbo_mtu)
{
	uint8_t f[NET_FRAME_MAX];
	size_t len = frame(f, NET_JUMBO_MTU - 28, true);
	cr_assert_eq(len, NET_FRAME_MAX);
	cr_assert_eq(netframe_check_tx(f, len, &G, NET_MTU), E_BADFRAME);
	cr_assert_eq(netframe_check_tx(f, len, &G, NET_JUMBO_MTU), E_OK);
	cr_assert_eq(frame(f, NET_JUMBO_MTU - 27, true), 0);
}

Test(netframe, wrong_sources_are_denied)
{
	uint8_t f[NET_FRAME_MAX];
	struct net_udp u = hdr();
	size_t len;
	u.src_port = 4001;
	len = netframe_udp_build(f, &u, "x", 1, true);
	cr_assert_eq(netframe_check_tx(f, len, &G, NET_MTU), E_DENIED);
	u = hdr();
	u.src_ip = 0x0a000003;
	len = netframe_udp_build(f, &u, "x", 1, true);
	cr_assert_eq(netframe_check_tx(f, len, &G, NET_MTU), E_DENIED);
	u = hdr();
	u.src_mac[5] = 9;
	len = netframe_udp_build(f, &u, "x", 1, true);
	cr_assert_eq(netframe_check_tx(f, len, &G, NET_MTU), E_DENIED);
}

// Each corruption of a good frame, and what the check must say.
Test(netframe, malformed_frames_are_refused)
{
	uint8_t f[NET_FRAME_MAX], g[NET_FRAME_MAX];
	size_t len = frame(f, 100, true);
	struct { size_t off; uint8_t val; } bad[] = {
		{ 12, 0x86 },        // ethertype IPv6
		{ 14, 0x46 },        // IHL 6: options
		{ 14, 0x65 },        // version 6
		{ 17, 0 },           // IPv4 total length low byte
		{ 20, 0x20 },        // more fragments
		{ 21, 1 },           // fragment offset
		{ 22, 0 },           // TTL 0
		{ 23, 6 },           // TCP
		{ 24, 0xff },        // header checksum
		{ 39, 0 },           // UDP length low byte
		{ 41, 0x55 },        // UDP checksum
		{ 42 + 50, 0xee },   // payload, under the UDP checksum
	};
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		memcpy(g, f, len);
		g[bad[k].off] = bad[k].val;
		cr_assert_eq(netframe_check_tx(g, len, &G, NET_MTU), E_BADFRAME, "case %zu", k);
	}
	cr_assert_eq(netframe_check_tx(f, len - 1, &G, NET_MTU), E_BADFRAME); // lengths disagree
	cr_assert_eq(netframe_check_tx(f, len + 1, &G, NET_MTU), E_BADFRAME);
	cr_assert_eq(netframe_check_tx(f, 41, &G, NET_MTU), E_BADFRAME);
	cr_assert_eq(netframe_check_tx(f, 0, &G, NET_MTU), E_BADFRAME);
	// A short frame's pad must be zeros.
	len = frame(f, 2, false);
	cr_assert_eq(netframe_check_tx(f, len, &G, NET_MTU), E_OK);
	f[59] = 1;
	cr_assert_eq(netframe_check_tx(f, len, &G, NET_MTU), E_BADFRAME);
	// Without a UDP checksum, the payload is not checked (RFC 768).
	len = frame(f, 100, false);
	f[42 + 50] ^= 1;
	cr_assert_eq(netframe_check_tx(f, len, &G, NET_MTU), E_OK);
}

Test(netframe, arp_round_trip)
{
	struct net_arp a = { 1, { 1, 2, 3, 4, 5, 6 }, { 0 }, 0x0a000002, 0x0a000001 }, b;
	uint8_t f[NET_ETH_MIN], bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	cr_assert_eq(netframe_arp_build(f, &a, bcast), NET_ETH_MIN);
	cr_assert_eq(netframe_parse_arp(f, sizeof f, &b), E_OK);
	cr_assert_eq(b.op, 1);
	cr_assert_eq(b.spa, 0x0a000002);
	cr_assert_eq(b.tpa, 0x0a000001);
	cr_assert_eq(memcmp(b.sha, a.sha, 6), 0);
	cr_assert_eq(netframe_parse_arp(f, 41, &b), E_BADFRAME);
	f[21] = 3; // op 3
	cr_assert_eq(netframe_parse_arp(f, sizeof f, &b), E_BADFRAME);
	struct net_udp u;
	cr_assert_eq(netframe_parse_udp(f, sizeof f, &u), E_BADFRAME);
}

Test(netframe, ip_strings)
{
	cr_assert_eq(netframe_ip("10.0.2.15"), 0x0A00020Fu);
	cr_assert_eq(netframe_ip("255.255.255.255"), 0xFFFFFFFFu);
	cr_assert_eq(netframe_ip("256.0.0.1"), 0);
	cr_assert_eq(netframe_ip("1.2.3"), 0);
	cr_assert_eq(netframe_ip("1.2.3.4.5"), 0);
	cr_assert_eq(netframe_ip("1..3.4"), 0);
	cr_assert_eq(netframe_ip("1.2.3.4x"), 0);
	cr_assert_eq(netframe_ip("0001.2.3.4"), 0);
	cr_assert_eq(netframe_ip(""), 0);
}

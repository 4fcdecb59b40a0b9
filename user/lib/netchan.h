// netchan.h: the channel between one UDP endpoint (libpagoda's pg_udp_*, udp.c) and
// the virtio-net driver (user/drv/virtio-net.c): a shared page of four
// single-producer rings, and notifies both ways. Descriptors name frames by their
// address in the endpoint's own space; the frames never pass through the channel.
//
//   tx       endpoint -> driver: a whole frame to send at [va, va + len), page-aligned
//   tx_done  driver -> endpoint: the same va, status E_OK (sent), or why it was refused
//   rx_post  endpoint -> driver: an empty receive buffer [va, va + len), page-aligned
//   rx_done  driver -> endpoint: the buffer filled with a frame of len bytes
//
// Between tx and tx_done the frame is lent to the driver (lend, read-only: the
// endpoint cannot write it, and a write faults); between rx_post and rx_done the
// buffer is lent exclusively (the endpoint can neither read nor write it). The driver
// signals the endpoint's notify with NETCHAN_TX_DONE / NETCHAN_RX_DONE when it
// returns a lease, and the endpoint signals the driver's notify (its own bit, given
// by init) after it produces.
//
// Small frames may instead go by copy: the endpoint writes them into the channel's
// copy area (after the rings, shared by both for good), the driver copies each out to
// its own memory and checks the copy, so nothing needs to be taken from the endpoint.
//
// The endpoint can write the whole page: the driver treats every field as hostile
// (indices bounded, descriptors copied once before they are checked), and keeps
// the endpoint's grant in its own memory; grant below is the driver's copy for the
// endpoint to read.
#ifndef PAGODA_NETCHAN_H
#define PAGODA_NETCHAN_H
#include <stdint.h>

#define NETCHAN_MAGIC   0x6e636831u // "nch1"
#define NETCHAN_SLOTS   64u         // per ring, a power of two
#define NETCHAN_RINGS   8192u       // bytes of the header and rings, at the start
#define NETCHAN_COPY_SLOT 2048u     // a frame sent by copy: one 1514-byte frame and room
#define NETCHAN_COPY_SLOTS 32u
#define NETCHAN_SIZE    (NETCHAN_RINGS + NETCHAN_COPY_SLOT * NETCHAN_COPY_SLOTS) // the channel mem
#define NETCHAN_NEIGH   8u

// Bits of the endpoint's notify.
#define NETCHAN_TX_DONE (1ULL << 0)
#define NETCHAN_RX_DONE (1ULL << 1)

struct netchan_desc {
	uint64_t va;
	uint32_t len;
	int32_t status; // done rings: E_OK or an E_* code; tx: NETCHAN_F_* flags
};
#define NETCHAN_F_COPY 1 // tx: va is an offset into the copy area (below): the driver copies
                         // the frame out and checks its copy (no lease: for small frames)
#define NETCHAN_F_ARP  2 // tx: no frame; resolve the IPv4 address in va (neigh below)

// head: the producer's count of descriptors made; tail: the consumer's count taken.
// Free-running; slot i % NETCHAN_SLOTS. Each on its own cache line.
struct netchan_ring {
	volatile uint32_t head;
	uint32_t pad0[15];
	volatile uint32_t tail;
	uint32_t pad1[15];
	struct netchan_desc d[NETCHAN_SLOTS];
};

struct netchan {
	uint32_t magic, version;
	// The endpoint's grant (the driver's copy) and the driver's MTU.
	uint8_t mac[6];
	uint16_t port;
	uint32_t ip;
	uint32_t mtu;
	uint64_t doorbell;  // the endpoint's bit in the driver's notify
	// IPv4 -> MAC, as the driver learned them by ARP; ip 0: unused. seq is odd while
	// the driver writes an entry (a reader retries).
	struct {
		volatile uint32_t seq;
		volatile uint32_t ip;
		volatile uint8_t mac[6];
		uint16_t pad;
	} neigh[NETCHAN_NEIGH];
	// The driver's counts for this endpoint (for the endpoint to read).
	volatile uint64_t sent, refused, received;
	uint8_t pad[40];
	struct netchan_ring tx, tx_done, rx_post, rx_done;
};
_Static_assert(sizeof(struct netchan) <= NETCHAN_RINGS, "the channel fits its mem");

#endif

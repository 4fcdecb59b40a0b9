// udp.c: a UDP endpoint over the virtio-net driver's channel (netchan.h, pagoda.h).
// The program writes frames in its own buffers; this file only moves descriptors
// through the channel's rings and keeps track of which buffers are out. One thread at
// a time per endpoint.
#include "pagoda.h"
#include "netchan.h"
#include "netframe.h"

#define PAGE 4096UL

static uint32_t page_up(uint32_t v) { return (v + (uint32_t)PAGE - 1) & ~((uint32_t)PAGE - 1); }

static bool ring_put(struct netchan_ring *r, uint64_t va, uint32_t len, int32_t status)
{
	uint32_t h = r->head;
	if (h - r->tail >= NETCHAN_SLOTS)
		return false;
	r->d[h % NETCHAN_SLOTS] = (struct netchan_desc){ va, len, status };
	__atomic_store_n(&r->head, h + 1, __ATOMIC_RELEASE); // the descriptor before the index
	return true;
}

static bool ring_get(struct netchan_ring *r, struct netchan_desc *d)
{
	uint32_t t = r->tail;
	if (__atomic_load_n(&r->head, __ATOMIC_ACQUIRE) == t)
		return false;
	*d = r->d[t % NETCHAN_SLOTS];
	__atomic_store_n(&r->tail, t + 1, __ATOMIC_RELEASE);
	return true;
}

static void ring_doorbell(struct pg_udp *u) { pg_notify_signal(u->drv, u->doorbell); }

// count buffers of u->slot bytes each, in one mem mapped read-write: their base.
static long buffers(struct pg_udp *u, uint32_t count)
{
	size_t len = (size_t)count * u->slot;
	long va = pg_va_alloc(len, PAGE);
	if (va < 0)
		return va;
	handle_t m = pg_mem_create(len);
	if (m < 0)
		return m;
	int err = pg_map(H_SELF, (uintptr_t)va, m, 0, len, PROT_READ | PROT_WRITE);
	pg_handle_close(m); // the mapping keeps it
	return err < 0 ? err : va;
}

int pg_udp_open(struct pg_udp *u, uint16_t port)
{
	memset(u, 0, sizeof *u);
	long va = pg_va_alloc(NETCHAN_SIZE, PAGE);
	if (va < 0)
		return (int)va;
	int err = pg_map(H_SELF, (uintptr_t)va, PG_NET_H_CHAN, 0, NETCHAN_SIZE, PROT_READ | PROT_WRITE);
	if (err < 0)
		return err;
	struct netchan *ch = (struct netchan *)va;
	// The driver may still be starting: it writes the magic last.
	for (uint64_t t0 = pg_clock_ns(); __atomic_load_n(&ch->magic, __ATOMIC_ACQUIRE) != NETCHAN_MAGIC;) {
		if (pg_clock_ns() - t0 > 5000000000ull)
			return E_TIMEOUT;
		pg_vcpu_yield();
	}
	if (ch->port != port)
		return E_DENIED;
	u->ch = ch;
	u->drv = PG_NET_H_DRV;
	u->note = PG_NET_H_NOTE;
	u->doorbell = ch->doorbell;
	memcpy(u->mac, ch->mac, 6);
	u->port = ch->port;
	u->ip = ch->ip;
	u->mtu = ch->mtu;
	u->slot = page_up(NET_ETH_HDR + u->mtu);
	long tx = buffers(u, PG_UDP_TX_SLOTS), rx = tx < 0 ? tx : buffers(u, PG_UDP_RX_SLOTS);
	if (rx < 0)
		return (int)rx;
	u->tx_va = (uintptr_t)tx, u->rx_va = (uintptr_t)rx;
	u->tx_free = PG_UDP_TX_SLOTS == 32 ? ~0u : (1u << PG_UDP_TX_SLOTS) - 1;
	u->copy_free = NETCHAN_COPY_SLOTS == 32 ? ~0u : (1u << NETCHAN_COPY_SLOTS) - 1;
	for (uint32_t i = 0; i < PG_UDP_TX_SLOTS; i++)
		u->tx_status[i] = E_OK;
	for (uint32_t i = 0; i < PG_UDP_RX_SLOTS; i++)
		ring_put(&ch->rx_post, u->rx_va + (uint64_t)i * u->slot, u->slot, 0);
	ring_doorbell(u);
	return E_OK;
}

uint8_t *pg_udp_tx_buf(struct pg_udp *u)
{
	if (!u->tx_free)
		return NULL;
	uint32_t i = (uint32_t)__builtin_ctz(u->tx_free);
	return (uint8_t *)(u->tx_va + (uintptr_t)i * u->slot);
}

// buf's tx slot, or -1 if it is not the start of one.
static int tx_slot(const struct pg_udp *u, const uint8_t *buf)
{
	uintptr_t off = (uintptr_t)buf - u->tx_va;
	if ((uintptr_t)buf < u->tx_va || off % u->slot || off / u->slot >= PG_UDP_TX_SLOTS)
		return -1;
	return (int)(off / u->slot);
}

// A copy: into a free slot of the channel's copy area, which the driver reads.
static int send_copy(struct pg_udp *u, const uint8_t *buf, size_t len)
{
	if (len > NETCHAN_COPY_SLOT)
		return E_INVAL;
	if (!u->copy_free && (pg_udp_poll(u), !u->copy_free))
		return E_BUSY;
	uint32_t i = (uint32_t)__builtin_ctz(u->copy_free);
	uint32_t off = NETCHAN_RINGS + i * NETCHAN_COPY_SLOT;
	memcpy((uint8_t *)u->ch + off, buf, len);
	if (!ring_put(&u->ch->tx, off, (uint32_t)len, NETCHAN_F_COPY))
		return E_BUSY;
	u->copy_free &= ~(1u << i);
	ring_doorbell(u);
	return E_OK;
}

int pg_udp_send_frame(struct pg_udp *u, uint8_t *buf, size_t len, unsigned flags)
{
	int i = tx_slot(u, buf);
	if (i < 0 || !(u->tx_free & (1u << i)) || len == 0 || len > u->slot || (flags & ~PG_UDP_COPY))
		return E_INVAL;
	if (flags & PG_UDP_COPY)
		return send_copy(u, buf, len);
	if (!ring_put(&u->ch->tx, (uint64_t)(uintptr_t)buf, (uint32_t)len, 0))
		return E_BUSY;
	u->tx_free &= ~(1u << i);
	u->tx_status[i] = PG_UDP_PENDING;
	ring_doorbell(u);
	return E_OK;
}

// The driver's ARP entry for ip: true and mac if it has one (a consistent copy).
static bool neigh_find(const struct pg_udp *u, uint32_t ip, uint8_t mac[6])
{
	for (uint32_t i = 0; i < NETCHAN_NEIGH; i++) {
		uint32_t s0 = u->ch->neigh[i].seq;
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		bool hit = !(s0 & 1) && u->ch->neigh[i].ip == ip;
		for (int k = 0; hit && k < 6; k++)
			mac[k] = u->ch->neigh[i].mac[k];
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (hit && u->ch->neigh[i].seq == s0)
			return true;
	}
	return false;
}

int pg_udp_send(struct pg_udp *u, uint8_t *buf, uint32_t dst_ip, uint16_t dst_port, size_t plen, unsigned flags)
{
	struct net_udp h = { .src_ip = u->ip, .dst_ip = dst_ip, .src_port = u->port, .dst_port = dst_port };
	if (tx_slot(u, buf) < 0 || NET_UDP_HDRS + plen > NET_ETH_HDR + u->mtu)
		return E_INVAL;
	if (!neigh_find(u, dst_ip, h.dst_mac))
		return E_NOENT;
	memcpy(h.src_mac, u->mac, 6);
	size_t len = netframe_udp_build(buf, &h, buf + NET_UDP_HDRS, plen, true);
	return pg_udp_send_frame(u, buf, len, flags);
}

int pg_udp_resolve(struct pg_udp *u, uint32_t ip, uint8_t mac[6], uint64_t timeout_ns)
{
	uint64_t t0 = pg_clock_ns(), asked = 0;
	while (!neigh_find(u, ip, mac)) {
		uint64_t now = pg_clock_ns();
		if (now - t0 > timeout_ns)
			return E_TIMEOUT;
		if (!asked || now - asked > 100000000) { // again every 100 ms
			if (ring_put(&u->ch->tx, ip, 0, NETCHAN_F_ARP))
				ring_doorbell(u);
			asked = now;
		}
		pg_udp_wait(u, 10000000);
	}
	return E_OK;
}

int pg_udp_poll(struct pg_udp *u)
{
	struct netchan_desc d;
	int done = 0;
	while (ring_get(&u->ch->tx_done, &d)) {
		int i = tx_slot(u, (const uint8_t *)(uintptr_t)d.va);
		uint64_t c = (d.va - NETCHAN_RINGS) / NETCHAN_COPY_SLOT;
		if (i >= 0 && !(u->tx_free & (1u << i))) {
			u->tx_free |= 1u << i;
			u->tx_status[i] = d.status;
		} else if (d.va >= NETCHAN_RINGS && d.va < NETCHAN_SIZE && !(u->copy_free & (1u << c))) {
			u->copy_free |= 1u << c;
		} else {
			continue; // an ARP request's completion, or nonsense
		}
		if (d.status == E_OK)
			u->sent++;
		else
			u->refused++;
		done++;
	}
	return done;
}

int pg_udp_wait(struct pg_udp *u, uint64_t timeout_ns)
{
	if (timeout_ns)
		pg_vcpu_timer(timeout_ns);
	long bits = pg_notify_wait(u->note);
	if (timeout_ns)
		pg_vcpu_timer(0);
	pg_udp_poll(u);
	return bits < 0 ? (int)bits : E_OK;
}

int pg_udp_tx_status(const struct pg_udp *u, const uint8_t *buf)
{
	int i = tx_slot(u, buf);
	return i < 0 ? E_INVAL : u->tx_status[i];
}

int pg_udp_recv(struct pg_udp *u, const uint8_t **frame, size_t *len)
{
	struct netchan_desc d;
	for (;;) {
		if (!ring_get(&u->ch->rx_done, &d))
			return E_NOENT;
		uintptr_t off = (uintptr_t)d.va - u->rx_va;
		if ((uintptr_t)d.va >= u->rx_va && off % u->slot == 0 && off / u->slot < PG_UDP_RX_SLOTS &&
		    d.len <= u->slot)
			break;
	}
	*frame = (const uint8_t *)(uintptr_t)d.va;
	*len = d.len;
	u->received++;
	return E_OK;
}

void pg_udp_recv_done(struct pg_udp *u, const uint8_t *frame)
{
	if (ring_put(&u->ch->rx_post, (uint64_t)(uintptr_t)frame, u->slot, 0))
		ring_doorbell(u);
}

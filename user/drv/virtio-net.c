// virtio-net.c: the network driver, a user program (docs/net.md). It drives a modern
// (virtio 1.0, PCI, split virtqueues) network device through the device objects init
// gives it, and serves up to NET_EPS UDP endpoints, each a program with a channel
// (user/lib/netchan.h) and one granted source: the device's MAC, the driver's IPv4
// address, and a UDP port.
//
// Send: an endpoint names a frame it wrote in full in its own memory. The driver lends
// it (the endpoint loses its write right before the driver looks), checks it
// (netframe_check_tx: the grant, lengths, checksums) and only then gives the device
// the frame's bus address; the lease goes back when the device is done. A refused
// frame never reaches the device: its lease goes back at once with the reason.
// Receive: endpoints post empty buffers, lent exclusively; the device writes frames
// into them, and a frame for the buffer's owner goes back in place. One for another
// endpoint (the device picks buffers in order, not by port) is copied into one of
// that endpoint's buffers (held until it has one) and the first buffer cleared and
// posted again. ARP requests
// for the driver's address are answered; what ARP tells is shared with every endpoint.
//
// Handles (init, user/init/net.c): NET_H_* (netdrv.h); argv: "virtio-net" BDF IPV4 PORT...
// (one port per endpoint, in the order of their handles).
#include "pagoda.h"
#include "netchan.h"
#include "netframe.h"
#include "netdrv.h"

#define PAGE 4096UL

// ---- virtio 1.0 over PCI (virtio-v1.0 §4.1) ----------------------------------------
#define CAP_COMMON 1
#define CAP_NOTIFY 2
#define CAP_ISR    3
#define CAP_DEVICE 4
// Common configuration (§4.1.4.3).
#define C_DFSELECT 0x00
#define C_DF       0x04
#define C_GFSELECT 0x08
#define C_GF       0x0C
#define C_NUMQ     0x12
#define C_STATUS   0x14
#define C_QSELECT  0x16
#define C_QSIZE    0x18
#define C_QMSIX    0x1A
#define C_QENABLE  0x1C
#define C_QNOFF    0x1E
#define C_QDESC    0x20
#define C_QAVAIL   0x28
#define C_QUSED    0x30
#define S_ACK 1
#define S_DRIVER 2
#define S_DRIVER_OK 4
#define S_FEATURES_OK 8
#define F_MAC 5
#define F_VERSION_1 32
#define D_NEXT  1
#define D_WRITE 2
#define QRX 0
#define QTX 1
#define F_MTU 3
#define QN  256            // descriptors per queue: slots of four (header, frame pages)
#define SLOT_DESCS 4
#define SLOTS (QN / SLOT_DESCS)
#define FRAME_PAGES_MAX (SLOT_DESCS - 1) // 3: a 9014-byte frame
#define HDR_LEN 12         // struct virtio_net_hdr with num_buffers (VERSION_1)
#define RX_RESERVE 8       // each endpoint's buffers kept for frames copied to it

struct vdesc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

struct vq {
	volatile struct vdesc *desc;
	volatile uint16_t *avail; // flags, idx, ring[QN]
	volatile uint8_t *used;   // flags, idx, {id, len}[QN]
	uint16_t used_seen, avail_idx, size;
	uint16_t kicked;          // avail_idx when the device was last notified
	volatile uint16_t *notify;
	uint16_t qid;
};

// ---- What the driver keeps ---------------------------------------------------------
struct ep {
	bool live;
	struct netchan *ch;
	handle_t space, note;     // the endpoint's space (R_LEND | R_READ) and notify
	struct net_grant grant;
	bool signal;              // something was pushed to it in this round
	uint32_t tx_seen, rxp_seen; // ring tails, in the driver's memory (the page is hostile)
	uint32_t held;            // leases the driver holds for it
};

// One in-flight descriptor pair. ep -1: a bounce buffer of the driver's (bounce).
struct slot {
	bool busy;
	int ep;
	handle_t lease;           // -1 if none
	uint64_t va;              // in the endpoint's space (tx_done / rx_done names it)
	uint32_t len;
	int bounce;               // tx: bounce buffer index or -1
	int parked;               // rx: the endpoint a frame held here waits for, or -1
	uint32_t parked_len;
	uint64_t pa[FRAME_PAGES_MAX]; // rx: the buffer's bus addresses (posted again and again)
};

static struct ep eps[NET_EPS];
static int neps;
static struct slot tx[SLOTS], rx[SLOTS];
static struct vq q[2];
static volatile uint8_t *common, *isr, *devcfg;
static volatile uint8_t *notify_base;
static uint32_t notify_mul;
static uint8_t mac[6];
static uint32_t my_ip;
static uint32_t mtu = NET_MTU;        // the device's (F_MTU), at most NET_JUMBO_MTU
static uint32_t frame_max;            // NET_ETH_HDR + mtu
static uint32_t buf_pages;            // pages of a receive buffer: frame_max rounded up
static uint8_t *hdrs;                 // driver memory: SLOTS headers per queue, 16 bytes each
static uint8_t *bounce;               // NET_BOUNCE buffers of 2048 bytes
static uint32_t bounce_free;          // bit i: buffer i free
static uint64_t hdrs_pa[2];
static uint64_t bounce_frames[NET_BOUNCE]; // their bus addresses
static int rx_next_ep;                // round robin of receive posting
static uint64_t n_tx, n_refused, n_rx, n_copied, n_dropped, n_arp;
// What a full frame (1514 bytes) costs the driver on each path (make bench): lend +
// check + lease_return, or copy + check; in ns, less the clock's own cost.
#define FULL_FRAME (NET_ETH_HDR + NET_MTU)
static uint64_t lend_ns, lend_n, copy_ns, copy_n, clock_ns_cost;

#define WIN_TX(i)  (NET_WIN_BASE + (uint64_t)(i) * NET_WIN_SLOT)
#define WIN_RX(i)  (NET_WIN_BASE + (uint64_t)(SLOTS + (i)) * NET_WIN_SLOT)
#define WIN_TMP    (NET_WIN_BASE + (uint64_t)(2 * SLOTS) * NET_WIN_SLOT)

static void die(const char *what, long err)
{
	pg_printf("virtio-net: %s: %s\n", what, err < 0 ? pg_strerror((int)err) : "failed");
	pg_vcpu_stop(1);
}

static uint8_t rd8(volatile uint8_t *b, uint32_t off) { return b[off]; }
static uint16_t rd16(volatile uint8_t *b, uint32_t off) { return *(volatile uint16_t *)(b + off); }
static uint32_t rd32(volatile uint8_t *b, uint32_t off) { return *(volatile uint32_t *)(b + off); }
static void wr8(volatile uint8_t *b, uint32_t off, uint8_t v) { b[off] = v; }
static void wr16(volatile uint8_t *b, uint32_t off, uint16_t v) { *(volatile uint16_t *)(b + off) = v; }
static void wr32(volatile uint8_t *b, uint32_t off, uint32_t v) { *(volatile uint32_t *)(b + off) = v; }
static void wr64(volatile uint8_t *b, uint32_t off, uint64_t v)
{
	wr32(b, off, (uint32_t)v);
	wr32(b, off + 4, (uint32_t)(v >> 32));
}

static uint32_t my_bdf; // the device's PCI function (argv)
static long pci(uint32_t off, int w) { return pg_pci_read(NET_H_PCI, my_bdf, off, w); }

// A fresh read-write mem of len bytes mapped at a new address; *pa its first frame's
// bus address (the pages need not be contiguous: callers use one page per part).
static uint8_t *dma_mem(size_t len, handle_t *mem)
{
	long va = pg_va_alloc(len, PAGE);
	handle_t m = va < 0 ? (handle_t)va : pg_mem_create(len);
	if (m < 0)
		die("memory for the rings", m);
	int err = pg_map(H_SELF, (uintptr_t)va, m, 0, len, PROT_READ | PROT_WRITE);
	if (err < 0)
		die("mapping the rings", err);
	*mem = m;
	return (uint8_t *)va;
}

static uint64_t bus(handle_t obj, uint64_t off)
{
	long pa = pg_dma_addr(NET_H_DMA, obj, off);
	if (pa < 0)
		die("dma_addr", pa);
	return (uint64_t)pa;
}

// ---- Device set-up -------------------------------------------------------------------

// Walks the capability list for the virtio structures; all must be in the BAR init
// mapped (NET_H_MMIO starts at that BAR's base).
static void find_caps(void)
{
	long va = pg_va_alloc(NET_MMIO_MAX, PAGE);
	long size = pg_mem_size(NET_H_MMIO);
	if (va < 0 || size < 0 || pg_map(H_SELF, (uintptr_t)va, NET_H_MMIO, 0, (size_t)size, PROT_READ | PROT_WRITE))
		die("mapping the device's registers", size < 0 ? size : -1);
	volatile uint8_t *bar = (volatile uint8_t *)va;
	int guard = 0;
	for (long p = pci(0x34, 1) & 0xFC; p && guard++ < 48; p = pci((uint32_t)p + 1, 1) & 0xFC) {
		if (pci((uint32_t)p, 1) != 0x09) // vendor-specific: virtio's
			continue;
		uint32_t type = (uint32_t)pci((uint32_t)p + 3, 1);
		uint32_t off = (uint32_t)pci((uint32_t)p + 8, 4), len = (uint32_t)pci((uint32_t)p + 12, 4);
		if ((long)off + len > size)
			die("a virtio structure outside the mapped BAR", -1);
		if (type == CAP_COMMON)
			common = bar + off;
		else if (type == CAP_ISR)
			isr = bar + off;
		else if (type == CAP_DEVICE)
			devcfg = bar + off;
		else if (type == CAP_NOTIFY) {
			notify_base = bar + off;
			notify_mul = (uint32_t)pci((uint32_t)p + 16, 4);
		}
	}
	if (!common || !isr || !devcfg || !notify_base)
		die("not a modern virtio device (a capability is missing)", -1);
}

static void features(void)
{
	wr32(common, C_DFSELECT, 1);
	uint32_t hi = rd32(common, C_DF);
	wr32(common, C_DFSELECT, 0);
	uint32_t lo = rd32(common, C_DF);
	if (!(hi & (1u << (F_VERSION_1 - 32))) || !(lo & (1u << F_MAC)))
		die("the device lacks VERSION_1 or MAC", -1);
	// The device's MTU if it says one (QEMU's host_mtu): jumbo frames up to 9000.
	uint32_t want = 1u << F_MAC;
	if (lo & (1u << F_MTU)) {
		want |= 1u << F_MTU;
		uint16_t m = rd16(devcfg, 10);
		mtu = m < NET_MTU ? NET_MTU : m > NET_JUMBO_MTU ? NET_JUMBO_MTU : m;
	}
	wr32(common, C_GFSELECT, 0);
	wr32(common, C_GF, want);
	wr32(common, C_GFSELECT, 1);
	wr32(common, C_GF, 1u << (F_VERSION_1 - 32));
	wr8(common, C_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
	if (!(rd8(common, C_STATUS) & S_FEATURES_OK))
		die("the device refused the features", -1);
}

// Queue i: descriptors, available and used rings, each in a page of its own.
static void queue(int i)
{
	handle_t m;
	uint8_t *base = dma_mem(3 * PAGE, &m);
	struct vq *v = &q[i];
	wr16(common, C_QSELECT, (uint16_t)i);
	uint16_t max = rd16(common, C_QSIZE);
	if (max < QN)
		die("queues shorter than 256", max);
	wr16(common, C_QSIZE, QN);
	wr16(common, C_QMSIX, 0xFFFF); // no MSI-X vector: INTx through the I/O APIC
	wr64(common, C_QDESC, bus(m, 0));
	wr64(common, C_QAVAIL, bus(m, PAGE));
	wr64(common, C_QUSED, bus(m, 2 * PAGE));
	v->desc = (volatile struct vdesc *)base;
	v->avail = (volatile uint16_t *)(base + PAGE);
	v->used = base + 2 * PAGE;
	v->size = QN;
	v->qid = (uint16_t)i;
	v->notify = (volatile uint16_t *)(notify_base + rd16(common, C_QNOFF) * notify_mul);
	wr16(common, C_QENABLE, 1);
	pg_handle_close(m); // the mapping keeps it, and with it the frames
}

// One read-only page mapped at the end of each 2 MiB of the windows keeps their page
// tables: a lend into an otherwise empty region would make a table and its return
// free it again, every frame.
static void keep_window_tables(void)
{
	handle_t m;
	(void)dma_mem(PAGE, &m);
	for (uint64_t va = NET_WIN_BASE; va < WIN_TMP + NET_WIN_SLOT; va += 1ul << 21) {
		int err = pg_map(H_SELF, (uintptr_t)(va + (1ul << 21) - PAGE), m, 0, PAGE, PROT_READ);
		if (err < 0)
			die("keeping the windows' tables", err);
	}
	pg_handle_close(m);
}

static void device_init(void)
{
	find_caps();
	// Memory space and bus mastering on, INTx not disabled.
	uint32_t cmd = (uint32_t)pci(4, 2);
	int err = pg_pci_write(NET_H_PCI, my_bdf, 4, 2, (cmd | 6) & ~0x400u);
	if (err < 0)
		die("enabling the device", err);
	wr8(common, C_STATUS, 0); // reset
	while (rd8(common, C_STATUS))
		;
	wr8(common, C_STATUS, S_ACK | S_DRIVER);
	features();
	frame_max = NET_ETH_HDR + mtu;
	buf_pages = (frame_max + (uint32_t)PAGE - 1) / (uint32_t)PAGE; // <= FRAME_PAGES_MAX
	queue(QRX);
	queue(QTX);
	for (int i = 0; i < 6; i++)
		mac[i] = rd8(devcfg, (uint32_t)i);
	handle_t m;
	hdrs = dma_mem(PAGE, &m);
	hdrs_pa[QRX] = bus(m, 0);
	hdrs_pa[QTX] = bus(m, SLOTS * 16);
	pg_handle_close(m);
	bounce = dma_mem(NET_BOUNCE * 2048, &m);
	bounce_free = NET_BOUNCE == 32 ? ~0u : (1u << NET_BOUNCE) - 1;
	for (int i = 0; i < NET_BOUNCE; i++)
		bounce_frames[i] = bus(m, (uint64_t)i * 2048);
	pg_handle_close(m);
	keep_window_tables();
	wr8(common, C_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	pg_printf("virtio-net: %02x:%02x:%02x:%02x:%02x:%02x up, mtu %u, %d endpoints\n", mac[0], mac[1], mac[2],
		  mac[3], mac[4], mac[5], mtu, neps);
}

// ---- Queues ------------------------------------------------------------------------

// Posts slot i of queue v: its header, then the frame's len bytes, on the pages at
// pa[0, ...) (each its own descriptor: a lease's frames need not be contiguous),
// device-writable for receive.
static void post(struct vq *v, int i, const uint64_t *pa, uint32_t len, bool write)
{
	uint16_t d = (uint16_t)(SLOT_DESCS * i), w = write ? D_WRITE : 0;
	v->desc[d] = (struct vdesc){ hdrs_pa[v->qid] + (uint64_t)i * 16, HDR_LEN, (uint16_t)(D_NEXT | w),
				     (uint16_t)(d + 1) };
	for (uint16_t k = 1; len; k++) {
		uint32_t part = len < PAGE ? len : (uint32_t)PAGE;
		len -= part;
		v->desc[d + k] = (struct vdesc){ pa[k - 1], part, (uint16_t)(w | (len ? D_NEXT : 0)), (uint16_t)(d + k + 1) };
	}
	v->avail[2 + v->avail_idx % QN] = d;
	__atomic_thread_fence(__ATOMIC_RELEASE); // the descriptors before the index (§2.4.6)
	v->avail[1] = ++v->avail_idx;
}

// Tells the device of what was posted since the last time, unless it said it needs
// no telling (VIRTQ_USED_F_NO_NOTIFY): each notification is a write to its registers,
// which the emulator handles there and then.
static void kick(struct vq *v)
{
	if (v->kicked == v->avail_idx)
		return;
	v->kicked = v->avail_idx;
	__atomic_thread_fence(__ATOMIC_SEQ_CST); // the index before the flags' read and the notification
	if (!(*(volatile uint16_t *)v->used & 1))
		*v->notify = v->qid;
}

// The next used entry: its slot and the bytes the device wrote, or false.
static bool used_next(struct vq *v, int *slot, uint32_t *len)
{
	uint16_t idx = *(volatile uint16_t *)(v->used + 2);
	if (idx == v->used_seen)
		return false;
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	volatile uint8_t *e = v->used + 4 + 8 * (v->used_seen % QN);
	uint32_t id = *(volatile uint32_t *)e;
	*len = *(volatile uint32_t *)(e + 4);
	v->used_seen++;
	*slot = (int)(id / SLOT_DESCS);
	return id < QN && !(id % SLOT_DESCS);
}

// The bus addresses of a lease's first pages.
static void lease_pages(handle_t l, uint32_t pages, uint64_t *pa)
{
	for (uint32_t k = 0; k < pages; k++)
		pa[k] = bus(l, (uint64_t)k * PAGE);
}

static int slot_alloc(struct slot *s)
{
	for (int i = 0; i < SLOTS; i++)
		if (!s[i].busy)
			return i;
	return -1;
}

// ---- Endpoint rings (the page is the endpoint's: every index and field is hostile) -

static bool ring_take(struct netchan_ring *r, uint32_t *seen, struct netchan_desc *d)
{
	uint32_t h = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
	if (h == *seen)
		return false;
	if (h - *seen > NETCHAN_SLOTS) // nonsense: skip to what can be read
		*seen = h - NETCHAN_SLOTS;
	struct netchan_desc *src = &r->d[*seen % NETCHAN_SLOTS];
	d->va = __atomic_load_n(&src->va, __ATOMIC_RELAXED);
	d->len = __atomic_load_n(&src->len, __ATOMIC_RELAXED);
	d->status = __atomic_load_n(&src->status, __ATOMIC_RELAXED);
	(*seen)++;
	__atomic_store_n(&r->tail, *seen, __ATOMIC_RELEASE);
	return true;
}

// A completion for the endpoint. Its done rings hold as many entries as it can have
// out (its buffers), so a full ring means it lied: the entry is dropped.
static void ring_push(struct ep *e, struct netchan_ring *r, uint64_t va, uint32_t len, int32_t status)
{
	uint32_t h = r->head;
	if (h - __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE) >= NETCHAN_SLOTS)
		return;
	r->d[h % NETCHAN_SLOTS] = (struct netchan_desc){ va, len, status };
	__atomic_store_n(&r->head, h + 1, __ATOMIC_RELEASE);
	e->signal = true;
}

static void signal_all(void)
{
	for (int i = 0; i < neps; i++)
		if (eps[i].signal) {
			eps[i].signal = false;
			pg_notify_signal(eps[i].note, NETCHAN_TX_DONE | NETCHAN_RX_DONE);
		}
}

// ---- Sending -------------------------------------------------------------------------

static int bounce_alloc(void)
{
	if (!bounce_free)
		return -1;
	int i = __builtin_ctz(bounce_free);
	bounce_free &= ~(1u << i);
	return i;
}

// Queues bounce buffer b (len bytes) for the wire.
static bool send_bounce(int b, uint32_t len)
{
	int i = slot_alloc(tx);
	if (i < 0) {
		bounce_free |= 1u << b;
		return false;
	}
	tx[i] = (struct slot){ .busy = true, .ep = -1, .lease = -1, .len = len, .bounce = b, .parked = -1 };
	post(&q[QTX], i, &bounce_frames[b], len, false);
	return true;
}

// A frame the endpoint wrote into its copy area: copied out, then checked.
static int tx_copy(struct ep *e, const struct netchan_desc *d)
{
	if (d->va < NETCHAN_RINGS || d->va >= NETCHAN_SIZE || (d->va - NETCHAN_RINGS) % NETCHAN_COPY_SLOT ||
	    d->len == 0 || d->len > NETCHAN_COPY_SLOT)
		return E_INVAL;
	int b = bounce_alloc();
	if (b < 0)
		return E_BUSY;
	uint64_t t0 = pg_clock_ns();
	memcpy(bounce + b * 2048, (const uint8_t *)e->ch + d->va, d->len);
	int err = netframe_check_tx(bounce + b * 2048, d->len, &e->grant, mtu);
	if (d->len == FULL_FRAME && err == E_OK)
		copy_ns += pg_clock_ns() - t0, copy_n++;
	if (err != E_OK) {
		bounce_free |= 1u << b;
		return err;
	}
	return send_bounce(b, d->len) ? E_OK : E_BUSY;
}

// A frame in the endpoint's own memory: lent (it cannot write it from here on),
// checked in the driver's view, then given to the device. E_OK: it is on its way.
static int tx_lend(int ei, const struct netchan_desc *d)
{
	struct ep *e = &eps[ei];
	if ((d->va & (PAGE - 1)) || d->len == 0 || d->len > frame_max)
		return E_INVAL;
	uint32_t pages = (d->len + (uint32_t)PAGE - 1) / (uint32_t)PAGE;
	int i = slot_alloc(tx);
	if (i < 0)
		return E_BUSY;
	uint64_t t0 = pg_clock_ns();
	long l = pg_lend(e->space, (uintptr_t)d->va, pages * PAGE, WIN_TX(i), 0);
	if (l < 0)
		return (int)l;
	int err = netframe_check_tx((const uint8_t *)WIN_TX(i), d->len, &e->grant, mtu);
	if (err != E_OK) {
		pg_lease_return((handle_t)l, 0, 0);
		return err;
	}
	if (d->len == FULL_FRAME)
		lend_ns += pg_clock_ns() - t0; // lease_return adds the rest (tx_complete)
	tx[i] = (struct slot){ .busy = true, .ep = ei, .lease = (handle_t)l, .va = d->va, .len = d->len, .bounce = -1,
			       .parked = -1 };
	e->held++;
	uint64_t pa[FRAME_PAGES_MAX];
	lease_pages((handle_t)l, pages, pa);
	post(&q[QTX], i, pa, d->len, false);
	return E_OK;
}

static void arp_request(struct ep *e, uint32_t ip)
{
	(void)e;
	int b = bounce_alloc();
	if (b < 0)
		return;
	struct net_arp a = { .op = 1, .spa = my_ip, .tpa = ip };
	memcpy(a.sha, mac, 6);
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	send_bounce(b, (uint32_t)netframe_arp_build(bounce + b * 2048, &a, bcast));
}

static void tx_endpoint(int ei)
{
	struct ep *e = &eps[ei];
	struct netchan_desc d;
	// A descriptor is taken only when it can go out: with every slot (or bounce
	// buffer) in use, the rest wait in the ring for the next round.
	while (e->live && slot_alloc(tx) >= 0 && bounce_free && ring_take(&e->ch->tx, &e->tx_seen, &d)) {
		int err;
		if (d.status == NETCHAN_F_ARP) {
			arp_request(e, (uint32_t)d.va);
			continue;
		}
		err = d.status == NETCHAN_F_COPY ? tx_copy(e, &d) : d.status == 0 ? tx_lend(ei, &d) : E_INVAL;
		if (err == E_OK) {
			n_tx++;
			e->ch->sent++;
		} else {
			n_refused++;
			e->ch->refused++;
		}
		// Copies are done with at once; a lent frame reports when the device is done.
		if (err != E_OK || d.status == NETCHAN_F_COPY)
			ring_push(e, &e->ch->tx_done, d.va, d.len, err);
	}
}

static void tx_complete(void)
{
	int i;
	uint32_t len;
	while (used_next(&q[QTX], &i, &len)) {
		struct slot *s = &tx[i];
		if (!s->busy)
			continue;
		s->busy = false;
		if (s->bounce >= 0) {
			bounce_free |= 1u << s->bounce;
			continue;
		}
		struct ep *e = &eps[s->ep];
		uint64_t t0 = pg_clock_ns();
		pg_lease_return(s->lease, 0, 0);
		if (s->len == FULL_FRAME)
			lend_ns += pg_clock_ns() - t0, lend_n++;
		e->held--;
		if (e->live)
			ring_push(e, &e->ch->tx_done, s->va, s->len, E_OK);
	}
}

// ---- Receiving -----------------------------------------------------------------------

// Lends one posted buffer of endpoint ei (exclusively) into window win: the lease,
// or < 0 (none posted, or a bad one, which is dropped).
static long rx_take(int ei, uint64_t win, uint64_t *va)
{
	struct ep *e = &eps[ei];
	struct netchan_desc d;
	while (e->live && ring_take(&e->ch->rx_post, &e->rxp_seen, &d)) {
		if ((d.va & (PAGE - 1)) || d.len < buf_pages * PAGE)
			continue;
		long l = pg_lend(e->space, (uintptr_t)d.va, buf_pages * PAGE, win, LEND_EXCL);
		if (l >= 0) {
			*va = d.va;
			return l;
		}
	}
	return E_NOENT;
}

static void rx_repost(int i) { post(&q[QRX], i, rx[i].pa, buf_pages * (uint32_t)PAGE, true); }

// Buffers posted by endpoint ei and not yet taken (its ring's count, bounded).
static uint32_t rx_posted(int ei)
{
	struct ep *e = &eps[ei];
	uint32_t n = __atomic_load_n(&e->ch->rx_post.head, __ATOMIC_ACQUIRE) - e->rxp_seen;
	return n > NETCHAN_SLOTS ? NETCHAN_SLOTS : n;
}

// Fills the receive queue from the endpoints' posted buffers, in turn. With more than
// one endpoint, each keeps RX_RESERVE of its buffers out of the device: the device
// fills buffers in order, not by port, and a frame that lands in another endpoint's
// buffer is copied into one of those (rx_copy_to).
static void rx_fill(void)
{
	uint32_t reserve = neps > 1 ? RX_RESERVE : 0;
	for (int tries = 0; tries < neps * SLOTS; tries++) {
		int i = slot_alloc(rx);
		if (i < 0)
			return;
		int ei = rx_next_ep;
		rx_next_ep = (rx_next_ep + 1) % neps;
		if (rx_posted(ei) <= reserve)
			continue;
		uint64_t va;
		long l = rx_take(ei, WIN_RX(i), &va);
		if (l < 0)
			continue;
		rx[i] = (struct slot){ .busy = true, .ep = ei, .lease = (handle_t)l, .va = va, .len = buf_pages * (uint32_t)PAGE,
				       .bounce = -1, .parked = -1 };
		lease_pages((handle_t)l, buf_pages, rx[i].pa);
		eps[ei].held++;
		rx_repost(i);
	}
}

static void rx_release(int i)
{
	pg_lease_return(rx[i].lease, 0, 0);
	eps[rx[i].ep].held--;
	rx[i].busy = false;
}

static void neigh_learn(uint32_t ip, const uint8_t *hw)
{
	for (int k = 0; k < neps; k++) {
		struct netchan *ch = eps[k].ch;
		int free = -1, at = -1;
		for (int j = 0; j < (int)NETCHAN_NEIGH; j++) {
			if (ch->neigh[j].ip == ip)
				at = j;
			else if (!ch->neigh[j].ip && free < 0)
				free = j;
		}
		at = at >= 0 ? at : free >= 0 ? free : (int)(ip % NETCHAN_NEIGH);
		ch->neigh[at].seq++;
		__atomic_thread_fence(__ATOMIC_RELEASE);
		ch->neigh[at].ip = ip;
		for (int b = 0; b < 6; b++)
			ch->neigh[at].mac[b] = hw[b];
		__atomic_thread_fence(__ATOMIC_RELEASE);
		ch->neigh[at].seq++;
		eps[k].signal = true;
	}
}

static void arp_input(const uint8_t *f, uint32_t len)
{
	struct net_arp a;
	if (netframe_parse_arp(f, len, &a) != E_OK)
		return;
	n_arp++;
	if (a.spa)
		neigh_learn(a.spa, a.sha);
	if (a.op != 1 || a.tpa != my_ip)
		return;
	int b = bounce_alloc();
	if (b < 0)
		return;
	struct net_arp r = { .op = 2, .spa = my_ip, .tpa = a.spa };
	memcpy(r.sha, mac, 6);
	memcpy(r.tha, a.sha, 6);
	send_bounce(b, (uint32_t)netframe_arp_build(bounce + b * 2048, &r, a.sha));
}

// The endpoint granted port, or -1.
static int ep_of_port(uint16_t port)
{
	for (int k = 0; k < neps; k++)
		if (eps[k].live && eps[k].grant.port == port)
			return k;
	return -1;
}

// A frame that landed in another endpoint's buffer: copied into one of ei's own.
static bool rx_copy_to(int ei, const uint8_t *f, uint32_t len)
{
	uint64_t va;
	long l = rx_take(ei, WIN_TMP, &va);
	if (l < 0)
		return false;
	memcpy((uint8_t *)WIN_TMP, f, len);
	pg_lease_return((handle_t)l, 0, 0);
	ring_push(&eps[ei], &eps[ei].ch->rx_done, va, len, E_OK);
	eps[ei].ch->received++;
	n_copied++;
	return true;
}

// Slot i's buffer is done with: cleared of the frame it held (nothing of another's
// frame stays in it) and posted again, or given back if its owner is gone.
static void rx_recycle(int i, uint32_t flen)
{
	memset((uint8_t *)WIN_RX(i), 0, flen);
	if (eps[rx[i].ep].live)
		rx_repost(i);
	else
		rx_release(i);
}

static void rx_complete(void)
{
	int i;
	uint32_t len;
	while (used_next(&q[QRX], &i, &len)) {
		struct slot *s = &rx[i];
		if (!s->busy)
			continue;
		uint8_t *f = (uint8_t *)WIN_RX(i);
		uint32_t flen = len > HDR_LEN ? len - HDR_LEN : 0;
		if (flen > buf_pages * PAGE)
			flen = buf_pages * (uint32_t)PAGE;
		struct net_udp u;
		int owner = -2; // -2: the driver's (ARP), -1: nobody's
		if (flen >= NET_ETH_HDR && f[12] == 0x08 && f[13] == 0x06) {
			arp_input(f, flen);
		} else if (netframe_parse_udp(f, flen, &u) == E_OK && u.dst_ip == my_ip) {
			owner = ep_of_port(u.dst_port);
		} else {
			owner = -1;
		}
		struct ep *e = &eps[s->ep];
		if (owner >= 0 && owner == s->ep && e->live) {
			n_rx++;
			e->ch->received++;
			uint64_t va = s->va;
			rx_release(i); // the lease first: the endpoint may read it as soon as it sees it
			ring_push(e, &e->ch->rx_done, va, flen, E_OK);
			continue;
		}
		if (owner >= 0) { // held until the owner has a buffer to copy it into
			s->parked = owner, s->parked_len = flen;
			continue;
		}
		if (owner == -1)
			n_dropped++;
		rx_recycle(i, flen);
	}
}

// Frames held in another endpoint's buffer: copied out as soon as their owner posts
// a buffer; an owner gone, dropped.
static void rx_unpark(void)
{
	for (int i = 0; i < SLOTS; i++) {
		struct slot *s = &rx[i];
		if (!s->busy || s->parked < 0)
			continue;
		int owner = s->parked;
		if (eps[owner].live && !rx_copy_to(owner, (const uint8_t *)WIN_RX(i), s->parked_len))
			continue; // no buffer yet: the next round tries again
		if (!eps[owner].live)
			n_dropped++;
		s->parked = -1;
		rx_recycle(i, s->parked_len);
	}
}

// ---- Endpoints and the main loop -------------------------------------------------------

static void ep_open(int k, const char *port)
{
	struct ep *e = &eps[k];
	handle_t chm = NET_H_EP(k) + 1;
	long va = pg_va_alloc(NETCHAN_SIZE, PAGE);
	int err = va < 0 ? (int)va : pg_map(H_SELF, (uintptr_t)va, chm, 0, NETCHAN_SIZE, PROT_READ | PROT_WRITE);
	if (err < 0)
		die("mapping a channel", err);
	e->ch = (struct netchan *)va;
	e->space = NET_H_EP(k);
	e->note = NET_H_EP(k) + 2;
	memcpy(e->grant.mac, mac, 6);
	e->grant.ip = my_ip;
	e->grant.port = (uint16_t)pg_atou(port);
	// The endpoint's copy of its grant, before it may look (init starts it after the
	// driver says it is ready).
	struct netchan *ch = e->ch;
	memcpy(ch->mac, mac, 6);
	ch->port = e->grant.port;
	ch->ip = my_ip;
	ch->mtu = mtu;
	ch->doorbell = NET_BIT_EP(k);
	ch->version = 1;
	__atomic_store_n(&ch->magic, NETCHAN_MAGIC, __ATOMIC_RELEASE);
	e->live = true; // until init, which waits for its end, says it is gone

}

// An endpoint's space has no vcpu left (init says so): nothing more comes from it. Its sends in
// flight finish (their leases go back when the device is done); its receive buffers
// go back as frames land in them (rx_complete).
static void ep_dead(int k)
{
	eps[k].live = false;
	pg_printf("virtio-net: endpoint %d (port %u) gone, %u leases still out\n", k, eps[k].grant.port, eps[k].held);
}

// Two back-to-back clock reads: the least of many is what one measurement adds.
static void clock_cost(void)
{
	clock_ns_cost = ~0ull;
	for (int i = 0; i < 100; i++) {
		uint64_t a = pg_clock_ns(), b = pg_clock_ns();
		if (b - a < clock_ns_cost)
			clock_ns_cost = b - a;
	}
}

static void metric(const char *name, uint64_t ns, uint64_t n, int reads)
{
	if (!n)
		return;
	uint64_t per = ns / n, less = (uint64_t)reads * clock_ns_cost;
	pg_printf("metric=%s smp=%d value=%lu unit=ns\n", name, pg_cpu_count(), per > less ? per - less : 0);
}

static void stats(void)
{
	pg_printf("virtio-net: sent %lu refused %lu received %lu copied %lu dropped %lu arp %lu\n", n_tx, n_refused,
		  n_rx, n_copied, n_dropped, n_arp);
	// The lend path reads the clock twice per part (lend and check, return).
	metric("lend_return_1472b", lend_ns, lend_n, 2);
	metric("copy_1472b", copy_ns, copy_n, 1);
}

int main(uint64_t arg)
{
	const char *const *argv;
	int argc = pg_args(arg, &argv);
	if (argc < 4 || argc - 3 > NET_EPS || !(my_ip = netframe_ip(argv[2]))) {
		pg_printf("usage: virtio-net BDF IPV4 PORT... (at most %d ports)\n", NET_EPS);
		return 2;
	}
	my_bdf = (uint32_t)pg_atou(argv[1]);
	neps = argc - 3;
	clock_cost();
	device_init();
	for (int k = 0; k < neps; k++)
		ep_open(k, argv[3 + k]);
	int err = pg_irq_bind(NET_H_IRQ, NET_H_NOTE, NET_BIT_IRQ);
	if (err == E_OK)
		err = pg_irq_ack(NET_H_IRQ);
	if (err < 0)
		die("binding the interrupt", err);
	pg_printf("virtio-net: ready\n");
	for (;;) {
		long bits = pg_notify_wait(NET_H_NOTE);
		if (bits < 0 && bits != E_TIMEOUT)
			die("waiting", bits);
		if (bits > 0 && (bits & NET_BIT_STOP))
			break;
		if (bits > 0 && (bits & NET_BIT_IRQ))
			(void)rd8(isr, 0); // reading the ISR lets go of the line
		for (int k = 0; k < neps; k++)
			if (bits > 0 && (bits & NET_BIT_DEAD(k)) && eps[k].live)
				ep_dead(k);
		// Whatever woke us, look at everything: one wake-up can stand for many.
		tx_complete();
		rx_complete();
		rx_unpark();
		for (int k = 0; k < neps; k++)
			tx_endpoint(k);
		rx_fill();
		kick(&q[QTX]);
		kick(&q[QRX]);
		signal_all();
		if (bits > 0 && (bits & NET_BIT_IRQ))
			pg_irq_ack(NET_H_IRQ);
	}
	stats();
	wr8(common, C_STATUS, 0); // reset: the device lets go of every buffer
	while (rd8(common, C_STATUS))
		;
	for (int i = 0; i < SLOTS; i++) { // so every lease can go back
		if (tx[i].busy && tx[i].lease >= 0)
			pg_lease_return(tx[i].lease, 0, 0);
		if (rx[i].busy)
			pg_lease_return(rx[i].lease, 0, 0);
	}
	return 0;
}

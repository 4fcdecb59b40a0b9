// udpecho.c: the UDP program of the Linux peer (tools/netpeer.py boots it in a second
// QEMU, docs/net.md). One static binary, modes by argv:
//
//   udpecho [-v] echo PORT               echo every datagram to its sender, forever
//   udpecho [-v] sink PORT               count datagrams of pps runs, answer "end" markers
//   udpecho [-v] serve ECHOPORT SINKPORT  both at once, one process
//   udpecho [-z] rtt IP PORT SIZE COUNT  round trips against an echo; median in ns
//   udpecho [-z] pps IP PORT SIZE SECONDS one-way blast to a sink; received per second
//
// -v: per-second counters on stderr (servers). -z: send with MSG_ZEROCOPY (SO_ZEROCOPY,
// completions read from the error queue); metric names get a _zc suffix; exit status 3
// if the kernel refuses it. Servers print "udpecho: ready port=..." on stdout once bound.
// Exit status: 0 done, 1 failure (the peer did not answer, bad echoes), 2 usage, 3
// zerocopy unsupported. Every input is checked: sizes 16..9000 bytes, ports 1..65535.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef SO_ZEROCOPY
#define SO_ZEROCOPY 60
#endif
#ifndef MSG_ZEROCOPY
#define MSG_ZEROCOPY 0x4000000
#endif
#ifndef SO_EE_ORIGIN_ZEROCOPY
#define SO_EE_ORIGIN_ZEROCOPY 5
#endif
#ifndef SO_EE_CODE_ZEROCOPY_COPIED
#define SO_EE_CODE_ZEROCOPY_COPIED 1
#endif

#define MIN_SIZE 16
#define MAX_SIZE 9000
#define RXBUF 65536 // receive buffer: larger than any datagram we accept, to see oversize
#define MAX_COUNT 10000000UL
#define MAX_SECONDS 3600UL
#define MAX_TIMEOUTS 5 // rtt: consecutive 1 s timeouts on one datagram before giving up
#define END_TRIES 10   // pps: "end" markers sent (0.5 s apart) before giving up

// Datagram header (network byte order): magic, run id, sequence number.
#define MAGIC_RTT 0x55505431u // "UPT1": an rtt probe (echoed as is)
#define MAGIC_DATA 0x55504431u // "UPD1": a pps datagram
#define MAGIC_END 0x55504531u // "UPE1": pps end marker: run, datagrams sent
#define MAGIC_REPLY 0x55505231u // "UPR1": sink's answer: run, received, bad
#define HDR 12

static int verbose, zerocopy;
static const char *argv0 = "udpecho";

static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "udpecho: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

static void usage(const char *why)
{
	fprintf(stderr,
		"udpecho: %s\n"
		"usage: %s [-v] echo PORT | [-v] sink PORT | [-v] serve ECHOPORT SINKPORT\n"
		"       %s [-z] rtt IP PORT SIZE COUNT | [-z] pps IP PORT SIZE SECONDS\n"
		"       (SIZE %d..%d bytes of UDP payload, PORT 1..65535)\n",
		why, argv0, argv0, MIN_SIZE, MAX_SIZE);
	exit(2);
}

static unsigned long number(const char *what, const char *s, unsigned long lo, unsigned long hi)
{
	char *end;
	errno = 0;
	if (!s || !*s || *s == '-' || *s == '+')
		goto bad;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		goto bad;
	return v;
bad:
	fprintf(stderr, "udpecho: %s '%s': expected a number %lu..%lu\n", what, s ? s : "", lo, hi);
	exit(2);
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
}

static void put32(unsigned char *p, uint32_t v)
{
	v = htonl(v);
	memcpy(p, &v, 4);
}

static uint32_t get32(const unsigned char *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return ntohl(v);
}

// The payload after the header depends on the sequence number, so a datagram echoed
// for the wrong probe, or corrupted anywhere, does not compare equal.
static void fill(unsigned char *p, size_t size, uint32_t magic, uint32_t run, uint32_t seq)
{
	put32(p, magic);
	put32(p + 4, run);
	put32(p + 8, seq);
	for (size_t i = HDR; i < size; i++)
		p[i] = (unsigned char)(seq * 7u + i);
}

static int ncpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (int)n : 1;
}

static int udp_socket(void)
{
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	if (s < 0)
		die("socket: %s", strerror(errno));
	return s;
}

static int bound_socket(unsigned port)
{
	int s = udp_socket();
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port),
				.sin_addr.s_addr = htonl(INADDR_ANY)};
	if (bind(s, (struct sockaddr *)&a, sizeof a) < 0)
		die("bind 0.0.0.0:%u: %s", port, strerror(errno));
	int big = 4 << 20;
	setsockopt(s, SOL_SOCKET, SO_RCVBUF, &big, sizeof big); // best effort
	return s;
}

static int client_socket(const char *ip, unsigned port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	if (inet_pton(AF_INET, ip, &a.sin_addr) != 1) {
		fprintf(stderr, "udpecho: IP '%s': expected a dotted IPv4 address\n", ip);
		exit(2);
	}
	int s = udp_socket();
	// Connected: only the peer's datagrams arrive, and an ICMP port unreachable shows
	// up as ECONNREFUSED instead of a silent loss.
	if (connect(s, (struct sockaddr *)&a, sizeof a) < 0)
		die("connect %s:%u: %s", ip, port, strerror(errno));
	return s;
}

// ---------------------------------------------------------------- zerocopy sends

// With -z every send lends one of RING buffers to the kernel until its completion
// arrives on the error queue; a slot is reused only after that.
#define RING 256
static unsigned char *ring;
static uint32_t slot_id[RING];
static int slot_busy[RING];
static uint32_t zc_next;                       // the id the kernel gives the next send
static unsigned long zc_done, zc_copied, zc_outstanding;

static void zc_enable(int s)
{
	int one = 1;
	if (setsockopt(s, SOL_SOCKET, SO_ZEROCOPY, &one, sizeof one) < 0) {
		printf("udpecho: zerocopy unsupported: setsockopt(SO_ZEROCOPY): %s\n", strerror(errno));
		exit(3);
	}
}

// Reads completions; waits up to timeout_ms for the first one if there are none yet.
static void zc_reap(int s, int timeout_ms)
{
	for (;;) {
		struct pollfd p = {.fd = s, .events = 0};
		if (poll(&p, 1, timeout_ms) <= 0 || !(p.revents & POLLERR))
			return;
		timeout_ms = 0;
		char control[128];
		struct msghdr m = {.msg_control = control, .msg_controllen = sizeof control};
		if (recvmsg(s, &m, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				die("recvmsg(MSG_ERRQUEUE): %s", strerror(errno));
			// POLLERR without a queued error: a pending socket error (an ICMP
			// port unreachable); reading SO_ERROR clears it, the caller counts it.
			int err;
			socklen_t el = sizeof err;
			getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &el);
			return;
		}
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
			if (!((c->cmsg_level == SOL_IP && c->cmsg_type == IP_RECVERR) ||
			      (c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_RECVERR)))
				continue;
			struct sock_extended_err e;
			memcpy(&e, CMSG_DATA(c), sizeof e);
			if (e.ee_origin != SO_EE_ORIGIN_ZEROCOPY) {
				if (e.ee_errno == ECONNREFUSED)
					continue; // an ICMP error, reported by the next recv too
				die("error queue: origin %u errno %u", e.ee_origin, e.ee_errno);
			}
			// ee_info..ee_data: a range of send ids, inclusive (u32, wraps).
			uint32_t n = e.ee_data - e.ee_info + 1;
			if (n > RING)
				die("zerocopy completion range %u..%u: more than were sent",
				    e.ee_info, e.ee_data);
			for (uint32_t k = 0; k < n; k++) {
				uint32_t id = e.ee_info + k;
				int slot = id % RING;
				if (slot_busy[slot] && slot_id[slot] == id) {
					slot_busy[slot] = 0;
					zc_outstanding--;
				}
				zc_done++;
				if (e.ee_code & SO_EE_CODE_ZEROCOPY_COPIED)
					zc_copied++;
			}
		}
	}
}

// The buffer for the next send: a fresh slot of the ring with -z (waiting for its
// completion if the kernel still holds it), else the one static buffer.
static unsigned char *tx_buf(int s, unsigned char *plain)
{
	if (!zerocopy)
		return plain;
	int slot = zc_next % RING;
	for (int tries = 0; slot_busy[slot]; tries++) {
		if (tries == 50)
			die("zerocopy: no completion for send %u after 5 s", slot_id[slot]);
		zc_reap(s, 100);
	}
	return ring + (size_t)slot * MAX_SIZE;
}

// Sends one datagram; returns 0, or -1 with errno for the caller (ECONNREFUSED, ENOBUFS).
static int tx(int s, const unsigned char *p, size_t size)
{
	for (int tries = 0;; tries++) {
		ssize_t n = send(s, p, size, zerocopy ? MSG_ZEROCOPY : 0);
		if (n == (ssize_t)size) {
			if (zerocopy) {
				int slot = zc_next % RING;
				slot_id[slot] = zc_next++;
				slot_busy[slot] = 1;
				zc_outstanding++;
			}
			return 0;
		}
		if (n >= 0)
			die("send: %zd of %zu bytes", n, size);
		if (errno == EINTR)
			continue;
		if (zerocopy && (errno == EINVAL || errno == EOPNOTSUPP)) {
			printf("udpecho: zerocopy unsupported: send(MSG_ZEROCOPY): %s\n", strerror(errno));
			exit(3);
		}
		// ENOBUFS: the qdisc dropped it, or (-z) the notification memory is used up.
		if (errno == ENOBUFS && zerocopy && tries < 100) {
			zc_reap(s, 10);
			continue;
		}
		return -1;
	}
}

static void zc_report(int s)
{
	if (!zerocopy)
		return;
	for (int i = 0; i < 20 && zc_outstanding; i++)
		zc_reap(s, 100);
	printf("udpecho: zerocopy sends=%u completions=%lu copied=%lu outstanding=%lu\n",
	       zc_next, zc_done, zc_copied, zc_outstanding);
	if (zc_done && zc_copied == zc_done)
		printf("udpecho: zerocopy note: the kernel copied every send (as it does for a device "
		       "without scatter-gather and checksum offload), so _zc measures MSG_ZEROCOPY's "
		       "cost, not a saving\n");
}

// ---------------------------------------------------------------- servers

struct counters {
	unsigned long rx, tx, dropped, last_rx;
};

static unsigned char rxbuf[RXBUF];

// Echo: one datagram from s, back to its sender byte for byte.
static void echo_one(int s, struct counters *c)
{
	struct sockaddr_storage from;
	socklen_t fl = sizeof from;
	ssize_t n = recvfrom(s, rxbuf, sizeof rxbuf, MSG_TRUNC | MSG_DONTWAIT,
			     (struct sockaddr *)&from, &fl);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == ECONNREFUSED)
			return;
		die("recvfrom: %s", strerror(errno));
	}
	c->rx++;
	if (n > MAX_SIZE) { // hostile or misconfigured: not echoed
		c->dropped++;
		return;
	}
	if (sendto(s, rxbuf, n, 0, (struct sockaddr *)&from, fl) == n)
		c->tx++;
	else
		c->dropped++;
}

// Sink: counts the data datagrams of the current run; answers an end marker with the
// count of that run (again, for a repeated marker). A new run id starts a new count.
struct sink {
	uint32_t run, reply_run;
	int have_run;
	unsigned long received, bad, reply_received, reply_bad;
	uint32_t ovfl, ovfl_base, reply_ovfl; // SO_RXQ_OVFL: datagrams the socket buffer dropped
};

static void sink_one(int s, struct sink *k, struct counters *c)
{
	struct sockaddr_storage from;
	char control[64];
	struct iovec iov = {.iov_base = rxbuf, .iov_len = sizeof rxbuf};
	struct msghdr m = {.msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov,
			   .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
	ssize_t n = recvmsg(s, &m, MSG_TRUNC | MSG_DONTWAIT);
	socklen_t fl = m.msg_namelen;
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == ECONNREFUSED)
			return;
		die("recvmsg: %s", strerror(errno));
	}
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&m); cm; cm = CMSG_NXTHDR(&m, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SO_RXQ_OVFL)
			memcpy(&k->ovfl, CMSG_DATA(cm), sizeof k->ovfl);
	c->rx++;
	if (n < HDR || n > MAX_SIZE) {
		c->dropped++;
		return;
	}
	uint32_t magic = get32(rxbuf), run = get32(rxbuf + 4), seq = get32(rxbuf + 8);
	if (magic == MAGIC_DATA) {
		if (!k->have_run || run != k->run) {
			k->run = run;
			k->have_run = 1;
			k->received = k->bad = 0;
			k->ovfl_base = k->ovfl;
		}
		k->received++;
		// Cheap check (the sink must keep up): the last byte follows the pattern.
		if (n > HDR && rxbuf[n - 1] != (unsigned char)(seq * 7u + (n - 1)))
			k->bad++;
	} else if (magic == MAGIC_END) {
		if (k->have_run && run == k->run) {
			k->reply_run = run;
			k->reply_received = k->received;
			k->reply_bad = k->bad;
			k->reply_ovfl = k->ovfl - k->ovfl_base;
		} else if (run != k->reply_run) { // an end with no data seen at all
			k->reply_run = run;
			k->reply_received = k->reply_bad = k->reply_ovfl = 0;
		}
		unsigned char r[24];
		put32(r, MAGIC_REPLY);
		put32(r + 4, run);
		put32(r + 8, (uint32_t)(k->reply_received >> 32));
		put32(r + 12, (uint32_t)k->reply_received);
		put32(r + 16, (uint32_t)k->reply_bad);
		put32(r + 20, k->reply_ovfl);
		if (sendto(s, r, sizeof r, 0, (struct sockaddr *)&from, fl) == (ssize_t)sizeof r)
			c->tx++;
		if (verbose)
			fprintf(stderr, "udpecho: sink run=%08x received=%lu bad=%lu overflow=%u\n", run,
				k->reply_received, k->reply_bad, k->reply_ovfl);
	} else {
		c->dropped++;
	}
}

static _Noreturn void serve(int echo_port, int sink_port)
{
	struct pollfd p[2];
	int n = 0, es = -1, ss = -1;
	if (echo_port) {
		es = bound_socket(echo_port);
		p[n++] = (struct pollfd){.fd = es, .events = POLLIN};
	}
	if (sink_port) {
		ss = bound_socket(sink_port);
		int one = 1;
		setsockopt(ss, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof one); // best effort
		p[n++] = (struct pollfd){.fd = ss, .events = POLLIN};
	}
	if (echo_port && sink_port)
		printf("udpecho: ready port=%d sink=%d\n", echo_port, sink_port);
	else
		printf("udpecho: ready port=%d\n", echo_port ? echo_port : sink_port);
	fflush(stdout);
	struct counters ce = {0}, cs = {0};
	struct sink k = {0};
	uint64_t next = now_ns() + 1000000000u;
	for (;;) {
		int r = poll(p, n, verbose ? 1000 : -1);
		if (r < 0 && errno != EINTR)
			die("poll: %s", strerror(errno));
		for (int i = 0; r > 0 && i < n; i++) {
			if (!(p[i].revents & (POLLIN | POLLERR)))
				continue;
			// A burst at a time: at most 64 datagrams per socket per poll.
			for (int j = 0; j < 64; j++) {
				unsigned long before = (p[i].fd == es ? ce.rx : cs.rx);
				if (p[i].fd == es)
					echo_one(es, &ce);
				else
					sink_one(ss, &k, &cs);
				if ((p[i].fd == es ? ce.rx : cs.rx) == before)
					break;
			}
		}
		if (verbose && now_ns() >= next) {
			next += 1000000000u;
			fprintf(stderr, "udpecho: echo rx=%lu (+%lu) tx=%lu dropped=%lu; sink rx=%lu (+%lu)\n",
				ce.rx, ce.rx - ce.last_rx, ce.tx, ce.dropped, cs.rx, cs.rx - cs.last_rx);
			ce.last_rx = ce.rx;
			cs.last_rx = cs.rx;
		}
	}
}

// ---------------------------------------------------------------- clients

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static uint32_t run_id(void)
{
	uint32_t r;
	if (getrandom(&r, sizeof r, GRND_NONBLOCK) != sizeof r)
		r = (uint32_t)(now_ns() ^ ((uint64_t)getpid() << 16));
	return r;
}

static int rtt(const char *ip, unsigned port, size_t size, unsigned long count)
{
	int s = client_socket(ip, port);
	if (zerocopy)
		zc_enable(s);
	uint64_t *lat = calloc(count, sizeof *lat);
	static unsigned char plain[MAX_SIZE], want[MAX_SIZE];
	if (!lat)
		die("out of memory for %lu samples", count);
	uint32_t run = run_id();
	unsigned long lost = 0, bad = 0, dup = 0, refused = 0, got = 0;
	for (unsigned long seq = 0; seq < count; seq++) {
		fill(want, size, MAGIC_RTT, run, (uint32_t)seq);
		int timeouts = 0, done = 0;
		while (!done) {
			unsigned char *b = tx_buf(s, plain);
			memcpy(b, want, size);
			uint64_t t0 = now_ns();
			if (tx(s, b, size) < 0) {
				if (errno != ECONNREFUSED && errno != ENOBUFS)
					die("send: %s", strerror(errno));
				refused += errno == ECONNREFUSED;
			}
			uint64_t deadline = t0 + 1000000000u;
			for (;;) {
				uint64_t t = now_ns();
				if (t >= deadline)
					break;
				struct pollfd p = {.fd = s, .events = POLLIN};
				int r = poll(&p, 1, (int)((deadline - t + 999999) / 1000000));
				if (r < 0 && errno != EINTR)
					die("poll: %s", strerror(errno));
				if (r <= 0 || !(p.revents & (POLLIN | POLLERR)))
					continue;
				if (zerocopy && !(p.revents & POLLIN)) {
					zc_reap(s, 0);
					continue;
				}
				ssize_t n = recv(s, rxbuf, sizeof rxbuf, MSG_TRUNC | MSG_DONTWAIT);
				uint64_t t1 = now_ns();
				if (n < 0) {
					if (errno == ECONNREFUSED) {
						refused++;
						continue;
					}
					if (errno == EAGAIN || errno == EINTR)
						continue;
					die("recv: %s", strerror(errno));
				}
				if (n >= HDR && get32(rxbuf) == MAGIC_RTT && get32(rxbuf + 4) == run &&
				    get32(rxbuf + 8) != (uint32_t)seq) {
					dup++; // the late echo of an earlier probe
					continue;
				}
				if ((size_t)n == size && !memcmp(rxbuf, want, size))
					lat[got++] = t1 - t0;
				else
					bad++;
				done = 1;
				break;
			}
			if (zerocopy)
				zc_reap(s, 0);
			if (!done) {
				lost++;
				if (++timeouts >= MAX_TIMEOUTS) {
					printf("udpecho: rtt size=%zu sent=%lu lost=%lu bad=%lu: no echo from "
					       "%s:%u for %d s (refused=%lu), giving up\n",
					       size, seq, lost, bad, ip, port, MAX_TIMEOUTS, refused);
					return 1;
				}
			}
		}
	}
	zc_report(s);
	const char *sfx = zerocopy ? "_zc" : "";
	if (got) {
		qsort(lat, got, sizeof *lat, cmp_u64);
		uint64_t med = got % 2 ? lat[got / 2] : (lat[got / 2 - 1] + lat[got / 2]) / 2;
		printf("metric=linux_udp_rtt_%zub%s smp=%d value=%llu unit=ns\n", size, sfx, ncpus(),
		       (unsigned long long)med);
		printf("udpecho: rtt size=%zu sent=%lu lost=%lu bad=%lu dup=%lu min=%llu p99=%llu max=%llu\n",
		       size, count, lost, bad, dup, (unsigned long long)lat[0],
		       (unsigned long long)lat[(got * 99) / 100 < got ? (got * 99) / 100 : got - 1],
		       (unsigned long long)lat[got - 1]);
	} else {
		printf("udpecho: rtt size=%zu sent=%lu lost=%lu bad=%lu dup=%lu: no good echo\n", size,
		       count, lost, bad, dup);
	}
	free(lat);
	return bad || !got ? 1 : 0;
}

static int pps(const char *ip, unsigned port, size_t size, unsigned long seconds)
{
	int s = client_socket(ip, port);
	if (zerocopy)
		zc_enable(s);
	int big = 4 << 20;
	setsockopt(s, SOL_SOCKET, SO_SNDBUF, &big, sizeof big); // best effort
	static unsigned char plain[MAX_SIZE];
	uint32_t run = run_id();
	unsigned long sent = 0, nobufs = 0, refused = 0;
	uint64_t t0 = now_ns(), end = t0 + seconds * 1000000000ull, t = t0;
	while (t < end) {
		// A pps datagram is the pattern of sequence number 0 but for its own
		// number in the header and in the last byte (what the sink checks): a
		// buffer is filled once, then only those change.
		unsigned char *b = tx_buf(s, plain);
		if (zerocopy ? zc_next < RING : !sent)
			fill(b, size, MAGIC_DATA, run, 0);
		put32(b + 8, (uint32_t)sent);
		b[size - 1] = (unsigned char)((uint32_t)sent * 7u + (size - 1));
		if (tx(s, b, size) == 0)
			sent++;
		else if (errno == ENOBUFS)
			nobufs++;
		else if (errno == ECONNREFUSED)
			refused++;
		else
			die("send: %s", strerror(errno));
		if (zerocopy && (sent & 31) == 0)
			zc_reap(s, 0);
		t = now_ns();
	}
	double secs = (t - t0) / 1e9;
	zc_report(s);
	// The end marker, until the sink answers with its count for this run.
	unsigned char m[HDR + 8];
	put32(m, MAGIC_END);
	put32(m + 4, run);
	put32(m + 8, 0);
	put32(m + 12, (uint32_t)((uint64_t)sent >> 32));
	put32(m + 16, (uint32_t)sent);
	int saved = zerocopy;
	zerocopy = 0; // the marker is sent plainly
	for (int i = 0; i < END_TRIES; i++) {
		if (tx(s, m, sizeof m) < 0 && errno != ECONNREFUSED && errno != ENOBUFS)
			die("send end marker: %s", strerror(errno));
		uint64_t deadline = now_ns() + 500000000u;
		for (uint64_t t2; (t2 = now_ns()) < deadline;) {
			struct pollfd p = {.fd = s, .events = POLLIN};
			if (poll(&p, 1, (int)((deadline - t2 + 999999) / 1000000)) <= 0)
				continue;
			ssize_t n = recv(s, rxbuf, sizeof rxbuf, MSG_DONTWAIT);
			if (n != 24 || get32(rxbuf) != MAGIC_REPLY || get32(rxbuf + 4) != run)
				continue;
			unsigned long received = ((uint64_t)get32(rxbuf + 8) << 32) | get32(rxbuf + 12);
			unsigned long bad = get32(rxbuf + 16), overflow = get32(rxbuf + 20);
			printf("metric=linux_udp_pps_%zub%s smp=%d value=%.0f unit=pps\n", size,
			       saved ? "_zc" : "", ncpus(), received / secs);
			// sink_overflow: dropped by the sink's full socket buffer; the rest of
			// sent - received was lost on the way (the receiving NIC or QEMU).
			printf("udpecho: pps size=%zu seconds=%.2f sent=%lu received=%lu bad=%lu "
			       "sink_overflow=%lu enobufs=%lu refused=%lu sent_pps=%.0f\n",
			       size, secs, sent, received, bad, overflow, nobufs, refused, sent / secs);
			return bad || received > sent ? 1 : 0;
		}
	}
	printf("udpecho: pps size=%zu sent=%lu received=?: no answer from the sink %s:%u to %d end "
	       "markers\n", size, sent, ip, port, END_TRIES);
	return 1;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 0 && argv[0] && *argv[0])
		argv0 = argv[0];
	char *args[8];
	int n = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-z"))
			zerocopy = 1;
		else if (!strcmp(argv[i], "-v"))
			verbose = 1;
		else if (argv[i][0] == '-' && argv[i][1] && !(argv[i][1] >= '0' && argv[i][1] <= '9'))
			usage("unknown option");
		else if (n < 8)
			args[n++] = argv[i];
		else
			usage("too many arguments");
	}
	if (n < 1)
		usage("no mode");
	const char *mode = args[0];
	if (zerocopy && strcmp(mode, "rtt") && strcmp(mode, "pps"))
		usage("-z is for rtt and pps");
	if (zerocopy && !(ring = calloc(RING, MAX_SIZE)))
		die("out of memory");
	if (!strcmp(mode, "echo") || !strcmp(mode, "sink")) {
		if (n != 2)
			usage("echo and sink take PORT");
		unsigned port = number("PORT", args[1], 1, 65535);
		serve(mode[0] == 'e' ? port : 0, mode[0] == 's' ? port : 0);
	}
	if (!strcmp(mode, "serve")) {
		if (n != 3)
			usage("serve takes ECHOPORT SINKPORT");
		unsigned e = number("ECHOPORT", args[1], 1, 65535), k = number("SINKPORT", args[2], 1, 65535);
		if (e == k)
			usage("serve: the two ports must differ");
		serve(e, k);
	}
	if (!strcmp(mode, "rtt") || !strcmp(mode, "pps")) {
		if (n != 5)
			usage("rtt takes IP PORT SIZE COUNT, pps IP PORT SIZE SECONDS");
		unsigned port = number("PORT", args[2], 1, 65535);
		size_t size = number("SIZE", args[3], MIN_SIZE, MAX_SIZE);
		if (mode[0] == 'r')
			return rtt(args[1], port, size, number("COUNT", args[4], 1, MAX_COUNT));
		return pps(args[1], port, size, number("SECONDS", args[4], 1, MAX_SECONDS));
	}
	usage("unknown mode");
}

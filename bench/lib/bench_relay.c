/* bench_relay.c — MSRP load through a relay, on the engine.
 *
 * msrp-relay: each pair is a sender and a receiver connection. With AUTH (RFC 4976 §5) each
 * connection authenticates to the relay and learns its Use-Path; the sender then sends SENDs
 * whose To-Path is the receiver's Use-Path and URI (--path single) or the sender's Use-Path
 * first (--path double). The relay answers each SEND with a hop-by-hop 200 and delivers it
 * to the receiver, which answers 200 itself. With --no-auth --sink HOST:PORT there is no
 * AUTH: the sender's connection goes to a plain forwarder (engfwd) whose far end is this
 * process's own listener at --sink, where the receiver role answers 200 (so the forwarder
 * carries the same four frames per message as a relay: SEND in and out, 200 in and out).
 *
 * A SEND's body (text, --size bytes) starts with 40 hex digits: send stamp (CLOCK_MONOTONIC
 * ns: when sent, or when due in open loop), sequence per pair, pair id; the rest is a
 * pattern of letters picked by (sequence, pair). The receiver checks order, pair, and every
 * byte. Latency = arrival at the receiver − stamp.
 *
 * Frames are split incrementally (bm_frame_split): parsed in place from the receive buffer
 * when whole, the unfinished tail copied to the connection's own buffer. Replies and SENDs
 * made while handling one receive go out in one eng_send per connection.
 *
 * msrp-idle: AUTHs many connections (plain sockets, one thread, source addresses spread over
 * 127.0.0.x) and holds them, to read the relay's memory per idle session; with --tls each
 * connection speaks TLS first (wolfSSL on the non-blocking socket, the server not
 * verified: a bench tool), for the memory per idle MSRP-over-TLS session. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench/lib/bench_args.h"
#include "bench/lib/bench_cpu.h"
#include "bench/lib/bench_hist.h"
#include "bench/lib/bench_msrp.h"
#include "bench/lib/bench_proc.h"
#include "bench/lib/bench_relay.h"
#include "bench/lib/bench_sched.h"
#include "engine/eng.h"

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#define BODY_HDR    40                   /* stamp 16 + seq 16 + pair 8 hex digits */
#define PAT_SPAN    4096                 /* pattern start offsets */
#define TAIL_LEN    (9 + BM_TID_LEN + 3) /* CRLF "-------" tid "$" CRLF */
#define OUT_MIN     (64 * 1024)          /* bytes of SENDs built before one eng_send */
#define REP_CAP     (32 * 1024)          /* replies to one connection before one eng_send */
#define RX_MIN      (64 * 1024)
#define MAX_SUT     64                   /* --sut-pid list */
#define FAKE_PORT   9                    /* port of the clients' own URIs (never connected) */

enum { ST_CONNECTING, ST_AUTH1, ST_AUTH2, ST_READY, ST_DEAD };
enum { ROLE_SENDER, ROLE_RECEIVER };

struct rl_conn {
	eng_conn *c;
	struct rl_worker *rw;
	struct rl_pair *pair;      /* NULL: a sink connection not bound to its pair yet */
	int role, state;
	int congested;             /* sender, open loop: above sendq_high, on_writable owed */
	uint64_t rx_seq;           /* receiver: next sequence expected */
	char *rx;                  /* unfinished frame carried over from the last receive */
	uint32_t rx_len, rx_cap, hint;
	uint32_t uri_len;
	char uri[80];              /* own URI (From-Path) */
	char use_path[256];        /* the relay's URI for this client, from AUTH's 200 */
	struct rl_conn *next;      /* sink connections of the worker (freed at the end) */
};

struct rl_pair {
	struct rl_conn snd, rcv;   /* rcv unused with --sink (accepted connections instead) */
	struct rl_worker *rw;      /* the sender's worker */
	uint32_t id, j;            /* global id; index on its worker (open-loop slot) */
	uint64_t tx_seq;
	char *head;                /* SEND head template; tid at 5 and at mid_off */
	uint32_t head_len, mid_off;
};

/* Per worker; counters written by the worker, read by main after join (atomics: during). */
struct rl_worker {
	_Alignas(64) eng_worker *w;
	struct rl_pair *pairs;
	unsigned npairs;
	struct bench_hist lat;     /* delivered inside the window, ns */
	struct bench_hist lag;     /* open loop: actual − scheduled send, ns */
	uint64_t msgs;             /* delivered inside the window */
	_Atomic uint64_t sent, delivered; /* whole run (main polls them while draining) */
	uint64_t acks;             /* 200s to SENDs seen by senders */
	uint64_t rejects;          /* other responses to SENDs */
	int first_reject;
	uint64_t bad_tid;          /* responses whose tid is no SEND of that connection */
	uint64_t verify_errors, conn_errors, others;
	char *out;                 /* SENDs being built */
	size_t out_cap;
	char *rep;                 /* replies being built for one connection */
	size_t rep_len;
	struct rl_conn *sinks;
	struct bench_sched sched;  /* open loop */
};

static struct {
	const char *relay, *sink, *user, *password, *realm;
	char relay_uri[128];
	uint64_t npairs, size, rate, window, duration_ns, warmup_ns, drain_ns;
	int path, noauth, json;
	pid_t sut[MAX_SUT];
	unsigned nsut;
	struct eng_config cfg;
	struct bm_auth auth;
	uint8_t *pat;
	uint32_t frame_len;
	struct rl_pair *pairs;     /* each worker's contiguous */
	struct rl_pair **by_id;    /* pair of each id */
	struct rl_worker *rw;
	unsigned nw;
	struct bench_listen bl;
	_Atomic unsigned ready, failed, refused;
	_Atomic int refused_code;
	_Atomic uint64_t win_start, win_end;
	_Atomic int stopping;
} G;

static inline void bump(_Atomic uint64_t *a, uint64_t n)
{
	atomic_store_explicit(a, atomic_load_explicit(a, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

static inline int stopping(void)
{
	return atomic_load_explicit(&G.stopping, memory_order_relaxed);
}

/* ---- SUT figures ------------------------------------------------------------------------ */

/* VmRSS and VmHWM (KiB) summed over the SUT's processes. 0, or -1. */
static int sut_mem(uint64_t *rss, uint64_t *hwm)
{
	char path[64], line[256];
	*rss = *hwm = 0;
	for (unsigned i = 0; i < G.nsut; i++) {
		snprintf(path, sizeof(path), "/proc/%d/status", (int)G.sut[i]);
		FILE *f = fopen(path, "re");
		unsigned long long v;
		if (!f)
			return -1;
		while (fgets(line, sizeof(line), f)) {
			if (sscanf(line, "VmRSS: %llu", &v) == 1)
				*rss += v;
			else if (sscanf(line, "VmHWM: %llu", &v) == 1)
				*hwm += v;
		}
		fclose(f);
	}
	return G.nsut ? 0 : -1;
}

/* ---- SENDs -------------------------------------------------------------------------------- */

static inline uint32_t pat_off(uint64_t seq, uint32_t id)
{
	return (uint32_t)((seq * 2654435761u + (uint64_t)id * 40503u) & (PAT_SPAN - 1));
}

/* The pair's SEND head, once both sides know their paths. 0, or -ENOMEM. */
static int pair_head(struct rl_pair *p)
{
	char to[800], h[1200];
	const struct rl_conn *s = &p->snd, *r = &p->rcv;

	if (G.sink)
		snprintf(to, sizeof(to), "msrp://127.0.0.1:%d/r%u;tcp", FAKE_PORT, p->id);
	else if (G.path == 2)
		snprintf(to, sizeof(to), "%s %s %s", s->use_path, r->use_path, r->uri);
	else
		snprintf(to, sizeof(to), "%s %s", r->use_path, r->uri);
	int n = snprintf(h, sizeof(h), "MSRP %0*d SEND\r\nTo-Path: %s\r\nFrom-Path: %s\r\n"
			 "Message-ID: ", BM_TID_LEN, 0, to, s->uri);
	p->mid_off = (uint32_t)n;
	n += snprintf(h + n, sizeof(h) - (size_t)n, "%0*d\r\nByte-Range: 1-%" PRIu64 "/%" PRIu64
		      "\r\nContent-Type: text/plain\r\n\r\n", BM_TID_LEN, 0, G.size, G.size);
	if (!(p->head = malloc((size_t)n)))
		return -ENOMEM;
	memcpy(p->head, h, (size_t)n);
	p->head_len = (uint32_t)n;
	return 0;
}

static void send_build(const struct rl_pair *p, char *m, uint64_t stamp, uint64_t seq)
{
	memcpy(m, p->head, p->head_len);
	bm_put_hex(m + 5, seq, BM_TID_LEN);
	bm_put_hex(m + p->mid_off, seq, BM_TID_LEN);
	char *b = m + p->head_len;
	bm_put_hex(b, stamp, 16);
	bm_put_hex(b + 16, seq, 16);
	bm_put_hex(b + 32, p->id, 8);
	memcpy(b + BODY_HDR, G.pat + pat_off(seq, p->id), G.size - BODY_HDR);
	char *t = b + G.size;
	memcpy(t, "\r\n-------", 9);
	bm_put_hex(t + 9, seq, BM_TID_LEN);
	memcpy(t + 9 + BM_TID_LEN, "$\r\n", 3);
}

/* Queues <n> SENDs on <p>'s sender. Returns eng_send's last result (1: above high). */
static int send_msgs(struct rl_pair *p, uint64_t n, uint64_t now)
{
	struct rl_worker *rw = p->rw;
	uint64_t ws = atomic_load_explicit(&G.win_start, memory_order_relaxed);
	uint64_t we = atomic_load_explicit(&G.win_end, memory_order_relaxed);
	size_t flen = (size_t)p->head_len + G.size + TAIL_LEN, per = rw->out_cap / flen, fill = 0;
	int rc = 0;

	if (!p->snd.c || p->snd.state != ST_READY)
		return -ENOTCONN;
	while (n) {
		uint64_t stamp = now;
		if (G.rate) {
			stamp = bench_sched_at(&rw->sched, p->tx_seq, p->j);
			if (now >= ws && now < we)
				bench_hist_record(&rw->lag, now > stamp ? now - stamp : 0);
		}
		send_build(p, rw->out + fill * flen, stamp, p->tx_seq);
		p->tx_seq++;
		n--;
		if (++fill == per || n == 0) {
			rc = eng_send(p->snd.c, rw->out, fill * flen);
			if (rc < 0) {
				rw->conn_errors++;
				eng_abort(p->snd.c, rc);
				return rc;
			}
			bump(&rw->sent, fill);
			fill = 0;
		}
	}
	return rc;
}

/* Closed loop: <n> of <p>'s SENDs arrived; send as many more. On the sender's worker. */
static void pair_credit(struct rl_pair *p, uint64_t n)
{
	if (!G.rate && !stopping())
		send_msgs(p, n, bench_now_ns());
}

static void credit_msg(eng_worker *w, void *arg, uint64_t n)
{
	(void)w;
	pair_credit(arg, n);
}

/* ---- replies ------------------------------------------------------------------------------ */

static void rep_flush(struct rl_conn *cc)
{
	struct rl_worker *rw = cc->rw;
	if (rw->rep_len && cc->c) {
		int rc = eng_send(cc->c, rw->rep, rw->rep_len);
		if (rc < 0 && rc != -EPIPE)
			eng_abort(cc->c, rc);
	}
	rw->rep_len = 0;
}

/* Queues a 200 for request <f> received on <cc>: To-Path the previous hop, From-Path us. */
static void reply_200(struct rl_conn *cc, const struct bm_frame *f)
{
	struct rl_worker *rw = cc->rw;
	const char *fp = "";
	uint32_t fplen = 0;

	if (bm_header(f, "From-Path", &fp, &fplen) == 0)
		fplen = bm_first_uri(fp, fplen);
	size_t need = 5 + f->tid_len + 20 + 9 + fplen + 13 + cc->uri_len + 2 + TAIL_LEN +
		      f->tid_len;
	if (need > REP_CAP)
		return;
	if (rw->rep_len + need > REP_CAP)
		rep_flush(cc);
	char *d = rw->rep + rw->rep_len;
#define PUT(s, n) do { memcpy(d, (s), (n)); d += (n); } while (0)
	PUT("MSRP ", 5);
	PUT(f->tid, f->tid_len);
	PUT(" 200 OK\r\nTo-Path: ", 18);
	PUT(fp, fplen);
	PUT("\r\nFrom-Path: ", 13);
	PUT(cc->uri, cc->uri_len);
	PUT("\r\n-------", 9);
	PUT(f->tid, f->tid_len);
	PUT("$\r\n", 3);
#undef PUT
	rw->rep_len = (size_t)(d - rw->rep);
}

/* ---- frames ------------------------------------------------------------------------------- */

static void auth_refused(struct rl_conn *cc, int code)
{
	int zero = 0;
	atomic_compare_exchange_strong(&G.refused_code, &zero, code ? code : -1);
	atomic_fetch_add(&G.refused, 1);
	cc->state = ST_DEAD;
	eng_close(cc->c);
}

static void conn_ready(struct rl_conn *cc)
{
	struct rl_pair *p = cc->pair;
	cc->state = ST_READY;
	if (G.sink || (p->snd.state == ST_READY && p->rcv.state == ST_READY)) {
		if (pair_head(p) < 0) {
			fprintf(stderr, "rcsbench: out of memory\n");
			atomic_fetch_add(&G.failed, 1);
			return;
		}
	}
	atomic_fetch_add(&G.ready, 1);
}

static int send_auth(struct rl_conn *cc, const char *chal, uint32_t clen)
{
	char buf[2048];
	int n = bm_auth_request(buf, sizeof(buf), &G.auth, cc->uri,
				(uint64_t)cc->pair->id * 2 + (uint64_t)cc->role, chal, clen);
	if (n < 0)
		return -EPROTO;
	return eng_send(cc->c, buf, (size_t)n) < 0 ? -EPIPE : 0;
}

/* A SEND arrived at receiver <cc>: check it, record its latency. 1 when it counts as
 * delivered for its pair (whose id may bind a sink connection), 0 otherwise. */
static int deliver(struct rl_conn *cc, const struct bm_frame *f, uint64_t now)
{
	struct rl_worker *rw = cc->rw;
	uint64_t stamp, seq, id;

	if (f->body_len != G.size || bm_get_hex(f->body, 16, &stamp) < 0 ||
	    bm_get_hex(f->body + 16, 16, &seq) < 0 || bm_get_hex(f->body + 32, 8, &id) < 0 ||
	    id >= G.npairs) {
		rw->verify_errors++;
		return 0;
	}
	if (!cc->pair) {
		cc->pair = G.by_id[id];
		cc->rx_seq = 0;
	}
	int bad = id != cc->pair->id || seq != cc->rx_seq ||
		  memcmp(f->body + BODY_HDR, G.pat + pat_off(seq, (uint32_t)id),
			 G.size - BODY_HDR) != 0;
	cc->rx_seq = seq + 1;
	if (bad) {
		rw->verify_errors++;
		return 1;
	}
	uint64_t ws = atomic_load_explicit(&G.win_start, memory_order_relaxed);
	uint64_t we = atomic_load_explicit(&G.win_end, memory_order_relaxed);
	if (now >= ws && now < we) {
		bench_hist_record(&rw->lat, now > stamp ? now - stamp : 0);
		rw->msgs++;
	}
	return 1;
}

/* Handles one frame on <cc>. Returns 1 when it was a SEND delivered to a receiver, 0
 * otherwise, -1 when the connection must go. */
static int on_frame(struct rl_conn *cc, const struct bm_frame *f, uint64_t now)
{
	struct rl_worker *rw = cc->rw;
	const char *v;
	uint32_t vlen;
	uint64_t seq;

	switch (cc->state) {
	case ST_AUTH1:
		if (f->code != 401 || bm_header(f, "WWW-Authenticate", &v, &vlen) < 0) {
			auth_refused(cc, f->code);
			return -1;
		}
		if (send_auth(cc, v, vlen) < 0) {
			fprintf(stderr, "rcsbench: cannot answer the challenge '%.*s'\n", (int)vlen, v);
			auth_refused(cc, f->code);
			return -1;
		}
		cc->state = ST_AUTH2;
		return 0;
	case ST_AUTH2:
		if (f->code != 200 || bm_header(f, "Use-Path", &v, &vlen) < 0 ||
		    vlen >= sizeof(cc->use_path)) {
			auth_refused(cc, f->code);
			return -1;
		}
		memcpy(cc->use_path, v, vlen);
		cc->use_path[vlen] = 0;
		conn_ready(cc);
		return 0;
	case ST_READY:
		break;
	default:
		return 0;
	}
	if (f->code) {
		if (cc->role != ROLE_SENDER) {
			rw->others++;
		} else if (f->tid_len != BM_TID_LEN || bm_get_hex(f->tid, BM_TID_LEN, &seq) < 0 ||
			   seq >= cc->pair->tx_seq) {
			rw->bad_tid++;
		} else if (f->code == 200) {
			rw->acks++;
		} else {
			if (!rw->rejects)
				rw->first_reject = f->code;
			rw->rejects++;
		}
		return 0;
	}
	if (f->method_len == 4 && memcmp(f->method, "SEND", 4) == 0) {
		reply_200(cc, f);
		return cc->role == ROLE_RECEIVER ? deliver(cc, f, now) : 0;
	}
	rw->others++; /* REPORTs, or anything else: not answered */
	return 0;
}

/* Splits and handles the frames in <p>[0, <len>). Bytes consumed, or -1. <*credit> counts
 * SENDs delivered. */
static long consume(struct rl_conn *cc, const char *p, size_t len, uint64_t now,
		    uint64_t *credit)
{
	size_t used = 0;
	struct bm_frame f;

	while (used < len && cc->state != ST_DEAD) {
		int n = bm_frame_split(p + used, len - used, &f, &cc->hint);
		if (n == 0)
			break;
		if (n < 0) {
			cc->rw->verify_errors++;
			fprintf(stderr, "rcsbench: malformed MSRP from the relay: '%.40s'\n",
				p + used);
			return -1;
		}
		int rc = on_frame(cc, &f, now);
		if (rc < 0)
			return -1;
		*credit += (uint64_t)rc;
		used += (size_t)n;
	}
	return (long)used;
}

/* Keeps <n> bytes for the next receive. 0, or -1 when a frame outgrows the limit. */
static int stash(struct rl_conn *cc, const char *p, size_t n)
{
	if (cc->rx_len + n > cc->rx_cap) {
		size_t cap = cc->rx_cap ? cc->rx_cap : RX_MIN;
		while (cap < cc->rx_len + n)
			cap *= 2;
		if (cap > 4 * (size_t)G.frame_len + 2 * RX_MIN)
			return -1;
		char *nb = realloc(cc->rx, cap);
		if (!nb)
			return -1;
		cc->rx = nb;
		cc->rx_cap = (uint32_t)cap;
	}
	memcpy(cc->rx + cc->rx_len, p, n);
	cc->rx_len += (uint32_t)n;
	return 0;
}

static void rl_recv(eng_conn *c, eng_buf *b, uint32_t off, uint32_t len)
{
	struct rl_conn *cc = c->udata;
	const char *p = b->data + off;
	uint64_t now = bench_now_ns(), credit = 0;
	long used;

	if (cc->rx_len == 0) {
		used = consume(cc, p, len, now, &credit);
		if (used >= 0 && (uint32_t)used < len && stash(cc, p + used, len - (size_t)used) < 0)
			used = -1;
	} else {
		used = stash(cc, p, len) < 0 ? -1 : consume(cc, cc->rx, cc->rx_len, now, &credit);
		if (used > 0) {
			memmove(cc->rx, cc->rx + used, cc->rx_len - (size_t)used);
			cc->rx_len -= (uint32_t)used;
		}
	}
	rep_flush(cc);
	if (credit) {
		bump(&cc->rw->delivered, credit);
		struct rl_pair *pr = cc->pair;
		if (pr->rw == cc->rw)
			pair_credit(pr, credit);
		else if (eng_post(pr->rw->w, credit_msg, pr, credit) < 0)
			cc->rw->conn_errors++;
	}
	if (used < 0 && cc->c) {
		if (cc->state != ST_DEAD)
			cc->rw->conn_errors++;
		eng_abort(cc->c, -EPROTO);
	}
}

static void open_loop_send(struct rl_pair *p, uint64_t now);

static void rl_writable(eng_conn *c)
{
	struct rl_conn *cc = c->udata;
	if (cc->congested) {
		cc->congested = 0;
		open_loop_send(cc->pair, bench_now_ns());
	}
}

static void rl_connect(eng_conn *c, int err)
{
	struct rl_conn *cc = c->udata;
	if (err < 0) {
		fprintf(stderr, "rcsbench: connect %s: %s\n", G.relay, strerror(-err));
		atomic_fetch_add(&G.failed, 1);
		return;
	}
	if (G.noauth) {
		conn_ready(cc);
		return;
	}
	cc->state = ST_AUTH1;
	if (send_auth(cc, NULL, 0) < 0) {
		atomic_fetch_add(&G.failed, 1);
		eng_abort(c, -EPIPE);
	}
}

static void rl_close(eng_conn *c, int err)
{
	struct rl_conn *cc = c->udata;
	cc->c = NULL;
	if (cc->state == ST_READY && !stopping()) {
		cc->rw->conn_errors++;
		fprintf(stderr, "rcsbench: connection lost (%s): %s\n",
			cc->role == ROLE_SENDER ? "sender" : "receiver",
			err ? strerror(-err) : "closed by peer");
	} else if (cc->state == ST_AUTH1 || cc->state == ST_AUTH2) {
		fprintf(stderr, "rcsbench: connection closed during AUTH: %s\n",
			err ? strerror(-err) : "closed by peer");
		atomic_fetch_add(&G.failed, 1);
	}
	cc->state = ST_DEAD;
}

static const struct eng_conn_ops rl_ops = {
	.on_recv = rl_recv,
	.on_connect = rl_connect,
	.on_writable = rl_writable,
	.on_close = rl_close,
};

static void sink_accept(eng_listener *l, eng_conn *c)
{
	struct rl_worker *rw = &G.rw[eng_worker_index(l->w)];
	struct rl_conn *cc = calloc(1, sizeof(*cc));
	if (!cc) {
		eng_close(c);
		return;
	}
	cc->rw = rw;
	cc->role = ROLE_RECEIVER;
	cc->state = ST_READY;
	cc->c = c;
	cc->uri_len = (uint32_t)snprintf(cc->uri, sizeof(cc->uri), "msrp://%s/sink;tcp", G.sink);
	cc->next = rw->sinks;
	rw->sinks = cc;
	eng_conn_start(c, &rl_ops, cc);
}

/* ---- open loop ---------------------------------------------------------------------------- */

static void open_loop_send(struct rl_pair *p, uint64_t now)
{
	struct rl_worker *rw = p->rw;

	if (p->snd.congested || stopping())
		return;
	uint64_t due = bench_sched_due(&rw->sched, p->j);
	if (due > p->tx_seq && send_msgs(p, due - p->tx_seq, now) == 1)
		p->snd.congested = 1;
}

/* The schedule's wake-up: every pair sends what is due. */
static void fire(struct bench_sched *sc, uint64_t now)
{
	struct rl_worker *rw = sc->arg;
	if (stopping())
		return;
	for (unsigned i = 0; i < rw->npairs; i++)
		open_loop_send(&rw->pairs[i], now);
}

/* Mailbox message from main: the load starts (open loop: its schedule at <t0>). */
static void load_start(eng_worker *w, void *arg, uint64_t t0)
{
	struct rl_worker *rw = arg;
	if (!G.rate) {
		for (unsigned i = 0; i < rw->npairs; i++)
			send_msgs(&rw->pairs[i], G.window, bench_now_ns());
	} else if (bench_sched_start(&rw->sched, w, t0) < 0) {
		fprintf(stderr, "rcsbench: cannot watch the schedule timer\n");
		rw->conn_errors++;
	}
}

static void conn_open(struct rl_worker *rw, struct rl_conn *cc)
{
	int rc = eng_connect(rw->w, G.relay, NULL, NULL, &rl_ops, cc, &cc->c);
	if (rc < 0) {
		fprintf(stderr, "rcsbench: connect %s: %s\n", G.relay, strerror(-rc));
		cc->c = NULL;
		atomic_fetch_add(&G.failed, 1);
	}
}

static void rl_init(eng_worker *w, void *arg)
{
	struct rl_worker *rw = &G.rw[eng_worker_index(w)];
	(void)arg;

	rw->w = w;
	if (G.sink)
		bench_listen_worker(&G.bl, w);
	for (unsigned i = 0; i < rw->npairs; i++) {
		struct rl_pair *p = &rw->pairs[i];
		conn_open(rw, &p->snd);
		if (!G.sink)
			conn_open(rw, &p->rcv);
	}
}

/* ---- report ------------------------------------------------------------------------------- */

struct rl_result {
	double window_s;
	uint64_t msgs, sent, delivered, acks, rejects, bad_tid, verify_errors, conn_errors,
		others;
	int first_reject;
	struct bench_hist lat, lag;
	struct bench_meter m;      /* CPU over the window */
	uint64_t rss0, rss_auth, rss_end, hwm_end; /* KiB; rss0 before any connection */
	int mem_ok;
	const char *backend;
};

static double us(uint64_t ns) { return (double)ns / 1000.0; }
static json_t *num_or_null(double v) { return v >= 0 ? json_real(v) : json_null(); }

static uint64_t sessions(void)
{
	return G.noauth ? 0 : 2 * G.npairs;
}

static double rss_per_session(const struct rl_result *r)
{
	if (!r->mem_ok || !sessions() || r->rss_auth < r->rss0)
		return -1;
	return (double)(r->rss_auth - r->rss0) * 1024.0 / (double)sessions();
}

static void report(const struct rl_result *r)
{
	const struct bench_hist *h = &r->lat;
	double mps = r->window_s > 0 ? (double)r->msgs / r->window_s : 0;
	uint64_t lost = r->sent > r->delivered ? r->sent - r->delivered : 0;
	const struct bench_meter *m = &r->m;
	double others = bench_meter_others(m);
	double gen_us = bench_us_per_msg(m->gen_ns, r->msgs);
	double sut_us = bench_us_per_msg(m->sut_ns, r->msgs);

	if (!G.json) {
		printf("rcsbench msrp-relay -> %s  %s, path %s, backend=%s workers=%u\n", G.relay,
		       G.noauth ? "no AUTH (sink)" : "AUTH", G.path == 2 ? "double" : "single",
		       r->backend, G.nw);
		if (G.rate)
			printf("  load            open loop, %" PRIu64 " msgs/s over %" PRIu64
			       " pairs, %" PRIu64 "-byte bodies\n", G.rate, G.npairs, G.size);
		else
			printf("  load            closed loop, %" PRIu64 " pairs x window %" PRIu64
			       ", %" PRIu64 "-byte bodies\n", G.npairs, G.window, G.size);
		printf("  window          %.2f s (after %.2f s warm-up)\n", r->window_s,
		       (double)G.warmup_ns / 1e9);
		printf("  msgs/s          %.0f delivered\n", mps);
		printf("  latency us      p50 %.1f  p99 %.1f  p99.9 %.1f  max %.1f (send -> receiver)\n",
		       us(bench_hist_percentile(h, 50)), us(bench_hist_percentile(h, 99)),
		       us(bench_hist_percentile(h, 99.9)), us(h->total ? h->max : 0));
		if (G.rate)
			printf("  send lag us     p99 %.1f (generator behind schedule)\n",
			       us(bench_hist_percentile(&r->lag, 99)));
		printf("  messages        sent %" PRIu64 ", delivered %" PRIu64 ", lost %" PRIu64
		       " (after drain); 200s %" PRIu64 ", other responses %" PRIu64 " (first %d)\n",
		       r->sent, r->delivered, lost, r->acks, r->rejects, r->first_reject);
		printf("  errors          verify %" PRIu64 ", connections %" PRIu64 ", bad tid %" PRIu64
		       ", other frames %" PRIu64 "\n", r->verify_errors, r->conn_errors, r->bad_tid,
		       r->others);
		printf("  CPU generator   %.2f us/msg (%.0f %% of a core)\n", gen_us,
		       m->gen_cores * 100);
		if (G.nsut)
			printf("  CPU SUT         %.2f us/msg (%.0f %% of a core, %u process(es))\n",
			       sut_us, m->sut_cores * 100, G.nsut);
		if (r->mem_ok)
			printf("  SUT memory      VmRSS %" PRIu64 " KiB (before %" PRIu64 ", after AUTH %"
			       PRIu64 "), VmHWM %" PRIu64 " KiB, %.0f B per session\n", r->rss_end,
			       r->rss0, r->rss_auth, r->hwm_end, rss_per_session(r));
		printf("  CPU others      %.2f cores (machine-wide %.2f)\n", others,
		       m->machine_cores);
		return;
	}
	json_t *o = json_object();
	json_object_set_new(o, "mode", json_string("msrp-relay"));
	json_object_set_new(o, "relay", json_string(G.relay));
	json_object_set_new(o, "auth", json_boolean(!G.noauth));
	json_object_set_new(o, "path", json_string(G.path == 2 ? "double" : "single"));
	json_object_set_new(o, "backend", json_string(r->backend));
	json_object_set_new(o, "workers", json_integer(G.nw));
	json_object_set_new(o, "loop", json_string(G.rate ? "open" : "closed"));
	json_object_set_new(o, "pairs", json_integer((json_int_t)G.npairs));
	json_object_set_new(o, "window", json_integer((json_int_t)G.window));
	json_object_set_new(o, "rate", json_integer((json_int_t)G.rate));
	json_object_set_new(o, "size", json_integer((json_int_t)G.size));
	json_object_set_new(o, "window_s", json_real(r->window_s));
	json_object_set_new(o, "msgs", json_integer((json_int_t)r->msgs));
	json_object_set_new(o, "msgs_per_s", json_real(mps));
	json_object_set_new(o, "lat_p50_us", json_real(us(bench_hist_percentile(h, 50))));
	json_object_set_new(o, "lat_p99_us", json_real(us(bench_hist_percentile(h, 99))));
	json_object_set_new(o, "lat_p999_us", json_real(us(bench_hist_percentile(h, 99.9))));
	json_object_set_new(o, "lat_max_us", json_real(us(h->total ? h->max : 0)));
	json_object_set_new(o, "lag_p99_us", json_real(us(bench_hist_percentile(&r->lag, 99))));
	json_object_set_new(o, "sent_total", json_integer((json_int_t)r->sent));
	json_object_set_new(o, "delivered_total", json_integer((json_int_t)r->delivered));
	json_object_set_new(o, "lost", json_integer((json_int_t)lost));
	json_object_set_new(o, "acks", json_integer((json_int_t)r->acks));
	json_object_set_new(o, "rejects", json_integer((json_int_t)r->rejects));
	json_object_set_new(o, "first_reject", json_integer(r->first_reject));
	json_object_set_new(o, "bad_tid", json_integer((json_int_t)r->bad_tid));
	json_object_set_new(o, "verify_errors", json_integer((json_int_t)r->verify_errors));
	json_object_set_new(o, "conn_errors", json_integer((json_int_t)r->conn_errors));
	json_object_set_new(o, "other_frames", json_integer((json_int_t)r->others));
	json_object_set_new(o, "gen_cpu_us_per_msg", num_or_null(gen_us));
	json_object_set_new(o, "gen_cpu_cores", num_or_null(m->gen_cores));
	json_object_set_new(o, "sut_cpu_us_per_msg", G.nsut ? num_or_null(sut_us) : json_null());
	json_object_set_new(o, "sut_cpu_cores", G.nsut ? num_or_null(m->sut_cores) : json_null());
	json_object_set_new(o, "sut_rss_kib", r->mem_ok ? json_integer((json_int_t)r->rss_end)
						      : json_null());
	json_object_set_new(o, "sut_hwm_kib", r->mem_ok ? json_integer((json_int_t)r->hwm_end)
						      : json_null());
	json_object_set_new(o, "sessions", json_integer((json_int_t)sessions()));
	json_object_set_new(o, "sut_rss_per_session_b", num_or_null(rss_per_session(r)));
	json_object_set_new(o, "machine_cores", num_or_null(m->machine_cores));
	json_object_set_new(o, "others_cores", m->machine_cores >= 0 ? json_real(others)
								       : json_null());
	char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
	json_decref(o);
	if (s)
		puts(s);
	free(s);
}

/* ---- run ---------------------------------------------------------------------------------- */

static uint64_t sum_atomic(size_t field_off)
{
	uint64_t s = 0;
	for (unsigned i = 0; i < G.nw; i++)
		s += atomic_load((_Atomic uint64_t *)((char *)&G.rw[i] + field_off));
	return s;
}

static void conn_setup(struct rl_conn *cc, struct rl_pair *p, struct rl_worker *rw, int role)
{
	cc->pair = p;
	cc->rw = rw;
	cc->role = role;
	cc->state = ST_CONNECTING;
	cc->uri_len = (uint32_t)snprintf(cc->uri, sizeof(cc->uri), "msrp://127.0.0.1:%d/%c%u;tcp",
					 FAKE_PORT, role == ROLE_SENDER ? 's' : 'r', p->id);
}

static int run(void)
{
	char err[256];
	int rc = 1;
	struct rl_result r = { .msgs = 0 };
	eng_engine *e = NULL;

	G.pat = malloc(PAT_SPAN + G.size);
	if (!G.pat)
		return 1;
	for (size_t i = 0, x = 0x2545f491; i < PAT_SPAN + G.size; i++) {
		x = x * 1103515245u + 12345u;
		G.pat[i] = (uint8_t)('a' + (x >> 16) % 26);
	}
	atomic_store(&G.win_start, UINT64_MAX);
	atomic_store(&G.win_end, UINT64_MAX);
	if (G.nsut && bench_cpu_ns_sum(G.sut, G.nsut) < 0) {
		fprintf(stderr, "rcsbench: cannot read the SUT's /proc/PID/task/*/schedstat\n");
		goto out;
	}
	r.mem_ok = G.nsut && sut_mem(&r.rss0, &r.hwm_end) == 0;

	bench_signals_block();
	if (!(e = eng_create(&G.cfg, err, sizeof(err)))) {
		fprintf(stderr, "rcsbench: %s\n", err);
		goto out;
	}
	G.nw = eng_nworkers(e);
	r.backend = eng_backend_name(e);
	G.rw = bench_calloc_lines(G.nw, sizeof(*G.rw));
	G.pairs = calloc(G.npairs, sizeof(*G.pairs));
	G.by_id = calloc(G.npairs, sizeof(*G.by_id));
	if (!G.rw || !G.pairs || !G.by_id)
		goto oom;
	for (unsigned i = 0; i < G.nw; i++) {
		struct rl_worker *rw = &G.rw[i];
		rw->sched.tfd = -1;
		rw->out_cap = G.frame_len + 2048 > OUT_MIN ? G.frame_len + 2048 : OUT_MIN;
		if (!(rw->out = malloc(rw->out_cap)) || !(rw->rep = malloc(REP_CAP)) ||
		    bench_hist_init(&rw->lat) < 0 || bench_hist_init(&rw->lag) < 0)
			goto oom;
	}
	/* pair i on worker i % nw; each worker's pairs contiguous */
	for (unsigned i = 0, k = 0; i < G.nw; i++) {
		struct rl_worker *rw = &G.rw[i];
		rw->pairs = G.pairs + k;
		for (uint64_t id = i; id < G.npairs; id += G.nw) {
			struct rl_pair *p = &G.pairs[k++];
			p->id = (uint32_t)id;
			G.by_id[id] = p;
			p->rw = rw;
			p->j = rw->npairs++;
		}
	}
	for (unsigned i = 0; i < G.nw; i++) {
		struct rl_worker *rw = &G.rw[i];
		for (unsigned j = 0; j < rw->npairs; j++) {
			conn_setup(&rw->pairs[j].snd, &rw->pairs[j], rw, ROLE_SENDER);
			conn_setup(&rw->pairs[j].rcv, &rw->pairs[j], rw, ROLE_RECEIVER);
		}
		if (G.rate && rw->npairs &&
		    bench_sched_init(&rw->sched, (double)G.rate * rw->npairs / (double)G.npairs,
				     rw->npairs, fire, rw) < 0)
			goto out;
	}
	if (G.sink)
		bench_listen_init(&G.bl, G.sink, G.nw, NULL, sink_accept, NULL);
	if (eng_start(e, rl_init, NULL) < 0) {
		fprintf(stderr, "rcsbench: cannot start the workers\n");
		goto out;
	}
	if (G.sink && bench_listen_wait(&G.bl, 10000) < 0) {
		fprintf(stderr, "rcsbench: cannot listen on %s\n", G.sink);
		goto out;
	}
	unsigned want = (unsigned)(G.sink ? G.npairs : 2 * G.npairs);
	uint64_t until = bench_now_ns() + (10 + G.npairs / 1000) * 1000000000ull;
	int sig = 0;
	while (atomic_load(&G.ready) + atomic_load(&G.failed) + atomic_load(&G.refused) < want &&
	       bench_now_ns() < until && !sig)
		sig = bench_signals_wait_until(bench_now_ns() + 5000000u);
	if (sig)
		goto out;
	if (atomic_load(&G.refused)) {
		int code = atomic_load(&G.refused_code);
		fprintf(stderr, "rcsbench: AUTH refused by %s: %u of %u connections (first answer: "
			"%d%s)\n", G.relay, atomic_load(&G.refused), want, code,
			code == 403 ? ", forbidden: no relay or wrong credentials" : "");
		printf("{\"mode\":\"msrp-relay\",\"relay\":\"%s\",\"auth_refused\":%d}\n", G.relay,
		       code);
		rc = 4;
		goto out;
	}
	if (atomic_load(&G.ready) < want) {
		fprintf(stderr, "rcsbench: %u of %u connections to %s ready (%u failed)\n",
			atomic_load(&G.ready), want, G.relay, atomic_load(&G.failed));
		goto out;
	}
	if (r.mem_ok)
		r.mem_ok = sut_mem(&r.rss_auth, &r.hwm_end) == 0;

	uint64_t t_start = bench_now_ns();
	uint64_t ws = t_start + G.warmup_ns, we = ws + G.duration_ns;
	atomic_store(&G.win_start, ws);
	atomic_store(&G.win_end, we);
	for (unsigned i = 0; i < G.nw; i++)
		if (G.rw[i].npairs &&
		    eng_post(eng_worker_at(e, i), load_start, &G.rw[i], t_start + 1000000u) < 0)
			goto out;
	if ((sig = bench_signals_wait_until(ws)) != 0)
		goto out;
	struct bench_meter m = { .sut = G.sut, .nsut = G.nsut };
	bench_meter_begin(&m);
	sig = bench_signals_wait_until(we);
	bench_meter_end(&m);
	uint64_t t1 = bench_now_ns();
	if (sig) {
		atomic_store(&G.win_end, t1);
		we = t1;
	}
	/* stop sending, then let what is in flight arrive */
	atomic_store(&G.stopping, 1);
	uint64_t drain_until = bench_now_ns() + G.drain_ns;
	while (bench_now_ns() < drain_until &&
	       sum_atomic(offsetof(struct rl_worker, delivered)) <
		       sum_atomic(offsetof(struct rl_worker, sent)))
		bench_sleep_until(bench_now_ns() + 10000000u);
	if (r.mem_ok)
		r.mem_ok = sut_mem(&r.rss_end, &r.hwm_end) == 0;
	eng_destroy(e);
	e = NULL;

	r.window_s = (double)(we - ws) / 1e9;
	if (bench_hist_init(&r.lat) < 0 || bench_hist_init(&r.lag) < 0)
		goto oom;
	for (unsigned i = 0; i < G.nw; i++) {
		struct rl_worker *rw = &G.rw[i];
		bench_hist_merge(&r.lat, &rw->lat);
		bench_hist_merge(&r.lag, &rw->lag);
		r.msgs += rw->msgs;
		r.sent += atomic_load(&rw->sent);
		r.delivered += atomic_load(&rw->delivered);
		r.acks += rw->acks;
		if (rw->rejects && !r.rejects)
			r.first_reject = rw->first_reject;
		r.rejects += rw->rejects;
		r.bad_tid += rw->bad_tid;
		r.verify_errors += rw->verify_errors;
		r.conn_errors += rw->conn_errors;
		r.others += rw->others;
	}
	r.m = m;
	report(&r);
	fflush(stdout);
	rc = r.verify_errors || r.conn_errors || r.bad_tid || r.rejects || r.sent > r.delivered
		     ? 3 : 0;
	if (!r.msgs) {
		fprintf(stderr, "rcsbench: no message delivered inside the window\n");
		rc = 1;
	}
	goto out;
oom:
	fprintf(stderr, "rcsbench: out of memory\n");
	rc = 1;
out:
	atomic_store(&G.stopping, 1);
	eng_destroy(e);
	if (G.sink)
		bench_listen_fini(&G.bl);
	for (unsigned i = 0; G.rw && i < G.nw; i++) {
		struct rl_worker *rw = &G.rw[i];
		bench_hist_free(&rw->lat);
		bench_hist_free(&rw->lag);
		free(rw->out);
		free(rw->rep);
		bench_sched_fini(&rw->sched);
		while (rw->sinks) {
			struct rl_conn *cc = rw->sinks;
			rw->sinks = cc->next;
			free(cc->rx);
			free(cc);
		}
	}
	for (uint64_t i = 0; G.pairs && i < G.npairs; i++) {
		free(G.pairs[i].head);
		free(G.pairs[i].snd.rx);
		free(G.pairs[i].rcv.rx);
	}
	bench_hist_free(&r.lat);
	bench_hist_free(&r.lag);
	free(G.pairs);
	free(G.by_id);
	free(G.rw);
	free(G.pat);
	return rc;
}

/* ---- msrp-idle: many authenticated sessions, held ---------------------------------------- */

enum { IS_CONNECTING, IS_TLS, IS_AUTH1, IS_AUTH2, IS_IDLE };

struct idle_conn {
	int fd, state;
	uint32_t rx_len, hint;
	char *rx;                  /* while AUTHing only */
	WOLFSSL *ssl;              /* --tls */
};

static struct {
	uint64_t sessions, src_count, concurrency, hold_ns;
	int tls;
	WOLFSSL_CTX *ctx;
	struct sockaddr_in dst;
	struct idle_conn *ic;
	int ep;
	uint64_t opened, done, failed;
	int first_code;
} I;

static void idle_fail(struct idle_conn *ic, int code)
{
	if (!I.first_code)
		I.first_code = code ? code : -1;
	I.failed++;
	epoll_ctl(I.ep, EPOLL_CTL_DEL, ic->fd, NULL);
	if (ic->ssl)
		wolfSSL_free(ic->ssl);
	ic->ssl = NULL;
	close(ic->fd);
	ic->fd = -1;
	free(ic->rx);
	ic->rx = NULL;
}

static int idle_send_auth(struct idle_conn *ic, uint64_t i, const char *chal, uint32_t clen)
{
	char buf[2048], uri[80];
	snprintf(uri, sizeof(uri), "%s://127.0.0.1:%d/i%" PRIu64 ";tcp", I.tls ? "msrps" : "msrp",
		 FAKE_PORT, i);
	int n = bm_auth_request(buf, sizeof(buf), &G.auth, uri, i, chal, clen);
	if (n <= 0)
		return -1;
	if (ic->ssl) /* a few hundred bytes into an empty socket: all of it, or a failure */
		return wolfSSL_write(ic->ssl, buf, n) == n ? 0 : -1;
	return write(ic->fd, buf, (size_t)n) == n ? 0 : -1;
}

/* Connection <i> is up (TCP, and TLS with --tls): its first AUTH goes, its answer is read. */
static void idle_auth_start(struct idle_conn *ic, uint64_t i)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = i };
	epoll_ctl(I.ep, EPOLL_CTL_MOD, ic->fd, &ev);
	ic->state = IS_AUTH1;
	if (idle_send_auth(ic, i, NULL, 0) < 0)
		idle_fail(ic, 0);
}

/* --tls: the handshake goes on (a socket event came). */
static void idle_handshake(struct idle_conn *ic, uint64_t i)
{
	int r = wolfSSL_connect(ic->ssl);
	if (r == WOLFSSL_SUCCESS) {
		idle_auth_start(ic, i);
		return;
	}
	int e = wolfSSL_get_error(ic->ssl, r);
	if (e == WOLFSSL_ERROR_WANT_READ || e == WOLFSSL_ERROR_WANT_WRITE) {
		struct epoll_event ev = {
			.events = e == WOLFSSL_ERROR_WANT_READ ? EPOLLIN : EPOLLOUT, .data.u64 = i
		};
		epoll_ctl(I.ep, EPOLL_CTL_MOD, ic->fd, &ev);
		return;
	}
	if (I.failed == 0) {
		char msg[WOLFSSL_MAX_ERROR_SZ];
		fprintf(stderr, "rcsbench: TLS handshake: %s\n", wolfSSL_ERR_error_string((unsigned long)e, msg));
	}
	idle_fail(ic, 0);
}

static int idle_open(uint64_t i)
{
	struct idle_conn *ic = &I.ic[i];
	struct sockaddr_in src = { .sin_family = AF_INET };
	int one = 1;

	/* 127.0.0.2, .3, ...: each source address has its own ephemeral ports */
	src.sin_addr.s_addr = htonl(0x7f000002u + (uint32_t)(i % I.src_count));
	ic->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (ic->fd < 0)
		return -errno;
	setsockopt(ic->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
	if (bind(ic->fd, (struct sockaddr *)&src, sizeof(src)) < 0 ||
	    (connect(ic->fd, (struct sockaddr *)&I.dst, sizeof(I.dst)) < 0 &&
	     errno != EINPROGRESS)) {
		int e = -errno;
		close(ic->fd);
		ic->fd = -1;
		return e;
	}
	struct epoll_event ev = { .events = EPOLLOUT | EPOLLIN, .data.u64 = i };
	epoll_ctl(I.ep, EPOLL_CTL_ADD, ic->fd, &ev);
	ic->state = IS_CONNECTING;
	I.opened++;
	return 0;
}

static void idle_event(uint64_t i, uint32_t events)
{
	struct idle_conn *ic = &I.ic[i];
	char buf[4096];
	struct bm_frame f;

	if (ic->fd < 0)
		return;
	if (ic->state == IS_CONNECTING) {
		int soerr = 0;
		socklen_t sl = sizeof(soerr);
		getsockopt(ic->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
		if (soerr || !(events & EPOLLOUT)) {
			if (I.failed == 0)
				fprintf(stderr, "rcsbench: connect: %s\n", strerror(soerr ? soerr : EIO));
			idle_fail(ic, 0);
			return;
		}
		if (I.tls) {
			if (!(ic->ssl = wolfSSL_new(I.ctx)) ||
			    wolfSSL_set_fd(ic->ssl, ic->fd) != WOLFSSL_SUCCESS) {
				idle_fail(ic, 0);
				return;
			}
			ic->state = IS_TLS;
			idle_handshake(ic, i);
			return;
		}
		idle_auth_start(ic, i);
		return;
	}
	if (ic->state == IS_TLS) {
		idle_handshake(ic, i);
		return;
	}
	ssize_t n;
	if (ic->ssl) {
		int r = wolfSSL_read(ic->ssl, buf, (int)sizeof(buf));
		if (r <= 0 && wolfSSL_get_error(ic->ssl, r) == WOLFSSL_ERROR_WANT_READ)
			return;
		n = r;
	} else {
		n = read(ic->fd, buf, sizeof(buf));
		if (n < 0 && errno == EAGAIN)
			return;
	}
	if (n <= 0) {
		idle_fail(ic, 0);
		return;
	}
	if (!ic->rx && !(ic->rx = malloc(BM_HEAD_MAX))) {
		idle_fail(ic, 0);
		return;
	}
	if (ic->rx_len + (size_t)n > BM_HEAD_MAX) {
		idle_fail(ic, 0);
		return;
	}
	memcpy(ic->rx + ic->rx_len, buf, (size_t)n);
	ic->rx_len += (uint32_t)n;
	int fl = bm_frame_split(ic->rx, ic->rx_len, &f, &ic->hint);
	if (fl == 0)
		return;
	const char *v;
	uint32_t vlen;
	if (fl < 0) {
		idle_fail(ic, 0);
	} else if (ic->state == IS_AUTH1) {
		if (f.code != 401 || bm_header(&f, "WWW-Authenticate", &v, &vlen) < 0 ||
		    idle_send_auth(ic, i, v, vlen) < 0) {
			idle_fail(ic, f.code);
			return;
		}
		ic->state = IS_AUTH2;
		ic->rx_len = 0;
	} else if (f.code != 200 || bm_header(&f, "Use-Path", &v, &vlen) < 0) {
		idle_fail(ic, f.code);
	} else {
		/* authenticated: hold the connection, stop watching it */
		epoll_ctl(I.ep, EPOLL_CTL_DEL, ic->fd, NULL);
		free(ic->rx);
		ic->rx = NULL;
		ic->state = IS_IDLE;
		I.done++;
	}
}

static int run_idle(void)
{
	struct epoll_event evs[256];
	uint64_t rss0 = 0, rss1 = 0, hwm = 0;
	int rc = 1;

	I.ic = calloc(I.sessions, sizeof(*I.ic));
	I.ep = epoll_create1(EPOLL_CLOEXEC);
	if (!I.ic || I.ep < 0)
		return 1;
	if (I.tls) {
		wolfSSL_Init();
		if (!(I.ctx = wolfSSL_CTX_new(wolfSSLv23_client_method()))) {
			fprintf(stderr, "rcsbench: wolfSSL_CTX_new failed\n");
			return 1;
		}
		wolfSSL_CTX_set_verify(I.ctx, WOLFSSL_VERIFY_NONE, NULL);
	}
	for (uint64_t i = 0; i < I.sessions; i++)
		I.ic[i].fd = -1;
	int mem_ok = G.nsut && sut_mem(&rss0, &hwm) == 0;
	uint64_t t0 = bench_now_ns(), next = 0;
	uint64_t until = t0 + (30 + I.sessions / 2000) * 1000000000ull;
	while (I.done + I.failed < I.sessions && bench_now_ns() < until) {
		while (next < I.sessions && I.opened - I.done - I.failed < I.concurrency) {
			int e = idle_open(next);
			if (e < 0) {
				fprintf(stderr, "rcsbench: connection %" PRIu64 ": %s\n", next,
					strerror(-e));
				I.failed += I.sessions - next;
				next = I.sessions;
				break;
			}
			next++;
		}
		int n = epoll_wait(I.ep, evs, 256, 100);
		for (int k = 0; k < n; k++)
			idle_event(evs[k].data.u64, evs[k].events);
		if (I.first_code > 0 && I.done == 0)
			break; /* refused from the first: no point in trying every connection */
	}
	double secs = (double)(bench_now_ns() - t0) / 1e9;
	bench_sleep_until(bench_now_ns() + 1000000000u); /* let the relay settle */
	if (mem_ok)
		mem_ok = sut_mem(&rss1, &hwm) == 0;
	double per = mem_ok && I.done && rss1 >= rss0 ? (double)(rss1 - rss0) * 1024.0 /
						       (double)I.done : -1;
	if (G.json) {
		printf("{\"mode\":\"msrp-idle\",\"tls\":%s,\"relay\":\"%s\",\"sessions\":%" PRIu64
		       ",\"authenticated\":%" PRIu64 ",\"failed\":%" PRIu64 ",\"first_code\":%d,"
		       "\"seconds\":%.3f,\"sut_rss0_kib\":%" PRIu64 ",\"sut_rss_kib\":%" PRIu64
		       ",\"sut_hwm_kib\":%" PRIu64 ",\"sut_rss_per_session_b\":",
		       I.tls ? "true" : "false", G.relay,
		       I.sessions, I.done, I.failed, I.first_code, secs, rss0, rss1, hwm);
		if (per >= 0)
			printf("%.1f}\n", per);
		else
			printf("null}\n");
	} else {
		printf("rcsbench msrp-idle -> %s%s\n", G.relay, I.tls ? " (TLS)" : "");
		printf("  sessions        %" PRIu64 " authenticated of %" PRIu64 " (%" PRIu64
		       " failed, first answer %d) in %.1f s over %" PRIu64 " source addresses\n",
		       I.done, I.sessions, I.failed, I.first_code, secs, I.src_count);
		if (mem_ok)
			printf("  SUT memory      VmRSS %" PRIu64 " -> %" PRIu64 " KiB (VmHWM %" PRIu64
			       "), %.0f B per idle session\n", rss0, rss1, hwm, per);
	}
	fflush(stdout);
	if (I.done == I.sessions) {
		bench_signals_block();
		bench_signals_wait_until(bench_now_ns() + I.hold_ns);
		rc = 0;
	} else {
		rc = I.first_code > 0 && I.done == 0 ? 4 : 3;
	}
	for (uint64_t i = 0; i < I.sessions; i++) {
		if (I.ic[i].ssl)
			wolfSSL_free(I.ic[i].ssl);
		if (I.ic[i].fd >= 0)
			close(I.ic[i].fd);
		free(I.ic[i].rx);
	}
	if (I.ctx)
		wolfSSL_CTX_free(I.ctx);
	close(I.ep);
	free(I.ic);
	return rc;
}

/* ---- command line ------------------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: rcsbench msrp-relay --relay HOST:PORT --pairs N --size BYTES --duration SEC\n"
		"         (--user U --password P [--realm R] | --no-auth --sink HOST:PORT)\n"
		"         [--warmup SEC] [--rate MSGS_PER_SEC | --window W] [--path single|double]\n"
		"         [--drain SEC] [--sut-pid PID[,PID...]] [--json] [--workers N]\n"
		"         [--backend auto|io_uring|epoll] [--no-pin]\n"
		"       rcsbench msrp-idle --relay HOST:PORT --sessions M --user U --password P\n"
		"         [--realm R] [--src-addrs K] [--concurrency C] [--hold SEC] [--tls]\n"
		"         [--sut-pid PID] [--json]\n"
		"msrp-relay: pairs of sender and receiver connections, AUTH (RFC 4976) each, SENDs\n"
		"  of --size bytes (>= %d) from sender to receiver through the relay; --window SENDs\n"
		"  in flight per pair (closed loop, default 1) or --rate msgs/s in all (open loop).\n"
		"  --no-auth --sink: a forwarder in front of this process's own MSRP sink.\n"
		"msrp-idle: AUTHs M connections from 127.0.0.2.. (K addresses) and holds them;\n"
		"  reports the SUT's RSS per session; --tls: over TLS (msrps). Exit 0; 3 lost/wrong messages or connections;\n"
		"  4 AUTH refused; 1 failure; 2 bad arguments.\n", BODY_HDR);
}

static int parse_path(const char *arg, void *dst)
{
	if (strcmp(arg, "single") == 0)
		*(int *)dst = 1;
	else if (strcmp(arg, "double") == 0)
		*(int *)dst = 2;
	else
		return -1;
	return 0;
}

static int parse_pids(const char *arg, void *dst)
{
	char buf[1024], *save = NULL;
	(void)dst;
	if (strlen(arg) >= sizeof(buf))
		return -1;
	strcpy(buf, arg);
	G.nsut = 0;
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
		if (G.nsut == MAX_SUT || bench_parse_pid(t, &G.sut[G.nsut++]) < 0)
			return -1;
	return G.nsut ? 0 : -1;
}

/* Parses the options of either mode into G / I. 0, 1 (help printed) or 2. */
static int parse(int argc, char **argv)
{
	uint64_t workers = UINT64_MAX;

	eng_config_defaults(&G.cfg);
	G.warmup_ns = 1000000000u;
	G.drain_ns = 2000000000u;
	G.window = 1;
	G.path = 1;
	I.concurrency = 256;
	const struct bench_opt opts[] = {
		{ "relay", BENCH_OPT_HOSTPORT, &G.relay, 0, 0, NULL },
		{ "sink", BENCH_OPT_HOSTPORT, &G.sink, 0, 0, NULL },
		{ "pairs", BENCH_OPT_U64, &G.npairs, 1, 1000000, NULL },
		{ "user", BENCH_OPT_STR, &G.user, 0, 0, NULL },
		{ "password", BENCH_OPT_STR, &G.password, 0, 0, NULL },
		{ "realm", BENCH_OPT_STR, &G.realm, 0, 0, NULL },
		{ "size", BENCH_OPT_BYTES, &G.size, BODY_HDR, 1u << 20, NULL },
		{ "duration", BENCH_OPT_DURATION, &G.duration_ns, 1, UINT64_MAX, NULL },
		{ "warmup", BENCH_OPT_DURATION, &G.warmup_ns, 0, UINT64_MAX, NULL },
		{ "drain", BENCH_OPT_DURATION, &G.drain_ns, 0, UINT64_MAX, NULL },
		{ "rate", BENCH_OPT_U64, &G.rate, 1, 100000000, NULL },
		{ "window", BENCH_OPT_U64, &G.window, 1, 100000, NULL },
		{ "path", BENCH_OPT_FN, &G.path, 0, 0, parse_path },
		{ "no-auth", BENCH_OPT_FLAG, &G.noauth, 0, 0, NULL },
		{ "sut-pid", BENCH_OPT_FN, NULL, 0, 0, parse_pids },
		{ "json", BENCH_OPT_FLAG, &G.json, 0, 0, NULL },
		{ "workers", BENCH_OPT_U64, &workers, 0, 1024, NULL },
		{ "backend", BENCH_OPT_BACKEND, &G.cfg.backend, 0, 0, NULL },
		{ "no-pin", BENCH_OPT_UNFLAG, &G.cfg.pin, 0, 0, NULL },
		{ "sessions", BENCH_OPT_U64, &I.sessions, 1, 10000000, NULL },
		{ "src-addrs", BENCH_OPT_U64, &I.src_count, 1, 250, NULL },
		{ "concurrency", BENCH_OPT_U64, &I.concurrency, 1, 100000, NULL },
		{ "hold", BENCH_OPT_DURATION, &I.hold_ns, 0, UINT64_MAX, NULL },
		{ "tls", BENCH_OPT_FLAG, &I.tls, 0, 0, NULL },
	};
	int rc = bench_opts_parse("rcsbench", argc, argv, opts, sizeof(opts) / sizeof(opts[0]));
	if (rc == 1)
		usage(stdout);
	else if (rc)
		usage(stderr);
	if (rc)
		return rc;
	if (workers != UINT64_MAX)
		G.cfg.workers = (unsigned)workers;
	if (!G.relay) {
		fprintf(stderr, "rcsbench: --relay is required\n");
		return 2;
	}
	snprintf(G.relay_uri, sizeof(G.relay_uri), "%s://%s;tcp", I.tls ? "msrps" : "msrp",
		 G.relay);
	G.auth = (struct bm_auth){ .relay_uri = G.relay_uri, .user = G.user,
				   .password = G.password, .realm = G.realm };
	return 0;
}

int bench_relay_main(int argc, char **argv)
{
	int idle = strcmp(argv[0], "msrp-idle") == 0;
	int rc = parse(argc, argv);
	const char *why = NULL;

	if (rc)
		return rc == 1 ? 0 : rc;
	if (idle && (!I.sessions || !G.user || !G.password))
		why = "--sessions, --user and --password are required";
	else if (!idle && I.tls)
		why = "--tls is for msrp-idle";
	else if (!idle && (!G.npairs || !G.size || !G.duration_ns))
		why = "--pairs, --size and --duration are required";
	else if (!idle && (G.noauth != !!G.sink || (!G.noauth && (!G.user || !G.password))))
		why = "give --user and --password, or --no-auth with --sink";
	if (why) {
		fprintf(stderr, "rcsbench %s: %s\n", argv[0], why);
		return 2;
	}
	if (!idle) {
		G.frame_len = (uint32_t)(1200 + G.size + TAIL_LEN);
		return run();
	}
	struct sockaddr_storage ss;
	socklen_t sl;
	if (eng_parse_hostport(G.relay, &ss, &sl) < 0 || ss.ss_family != AF_INET) {
		fprintf(stderr, "rcsbench msrp-idle: --relay must be an IPv4 address\n");
		return 2;
	}
	memcpy(&I.dst, &ss, sizeof(I.dst));
	if (!I.src_count)
		I.src_count = I.sessions / 20000 + 1;
	signal(SIGPIPE, SIG_IGN);
	return run_idle();
}

/* rcsbench.c — load generator and echo server on the engine.
 *
 *   rcsbench tcp --target HOST:PORT --conns N --size BYTES --pipeline P --duration SEC
 *                [--warmup SEC] [--rate MSGS_PER_SEC] [--workers N] [--backend B]
 *                [--sut-pid PID] [--json]
 *   rcsbench echo --listen HOST:PORT [--workers N] [--backend B]
 *   rcsbench msrp-relay ... / msrp-idle ...   MSRP through a relay (bench/lib/bench_relay.c)
 *   rcsbench ua-setup ... / ua-send ...       rcsgw's MSRP user agent over REST (bench_ua.c)
 *   rcsbench ua-sink ...                      the RCS phones behind rcsgw's MESSAGE gateway
 *   rcsbench dm-request ...                   Diameter requests over REST (bench_dm.c)
 *
 * tcp: every connection sends fixed-size messages to an echo server (directly or through a
 * forwarder or relay) and checks what comes back. A message starts with a 24-byte header
 *
 *   0  u64 stamp   CLOCK_MONOTONIC ns: when it was sent (closed loop) or was due (open loop)
 *   8  u64 seq     per connection, from 0
 *   16 u32 conn    connection id
 *   20 u32 magic   "RCSB"
 *
 * and is followed by <size> - 24 bytes of a pseudo-random pattern picked by (seq, conn), so
 * that a byte lost, duplicated, reordered or crossed between connections shows. Echoed
 * messages must come back in order; each that does not, or whose bytes differ, is an error.
 * Latency = arrival − stamp, recorded in a log-linear histogram per worker, merged at the end.
 *
 * Closed loop (default): each connection keeps <pipeline> messages in flight, sending one
 * per message that returns. Open loop (--rate): messages leave on a fixed schedule spread
 * evenly over the connections, whatever comes back; the stamp is the scheduled time, so a
 * stall anywhere (the generator's own lateness included) shows in the latency instead of
 * silently lowering the load (no coordinated omission).
 *
 * Only messages that return inside the measured window (after --warmup, for --duration)
 * count. CPU per message: this process's, and with --sut-pid the system under test's, from
 * schedstat over the same window; through a forwarder each message crosses it twice
 * (request and echo), so the SUT figure is per message round trip.
 *
 * echo: returns every byte on the connection it came from; prints
 * "ready port=<port> backend=<name> workers=<n>" once listening, stops on SIGTERM/SIGINT. */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/lib/bench_args.h"
#include "bench/lib/bench_cpu.h"
#include "bench/lib/bench_dm.h"
#include "bench/lib/bench_hist.h"
#include "bench/lib/bench_proc.h"
#include "bench/lib/bench_relay.h"
#include "bench/lib/bench_sched.h"
#include "bench/lib/bench_ua.h"
#include "engine/eng.h"

#define MSG_HDR       24
#define MSG_MAGIC     0x52435342u    /* "RCSB" */
#define PAT_SPAN      4096           /* pattern start offsets */
#define SCRATCH_MIN   (64 * 1024)    /* bytes of messages built before one eng_send */

/* ---- shared state ------------------------------------------------------------------ */

struct gen_conn {
	eng_conn *c;
	struct gen_worker *gw;
	uint32_t id;               /* global id, in every message */
	uint32_t j;                /* index on its worker: its slot in the open-loop schedule */
	uint64_t tx_seq;           /* next sequence number to send */
	uint64_t rx_seq;           /* next sequence number expected back */
	uint32_t rx_off;           /* bytes of the current message received so far */
	int rx_bad;                /* the current message differs from what was sent */
	int connected;
	int congested;             /* open loop: send queue above high, waiting for on_writable */
	uint8_t hdr[MSG_HDR];      /* the current message's header, as it arrives */
};

/* Per worker; written by its worker only, read by main after the workers are joined. */
struct gen_worker {
	_Alignas(64) eng_worker *w;
	struct gen_conn *conns;
	unsigned nconns;
	struct bench_hist lat;     /* latency of messages back inside the window, ns */
	struct bench_hist lag;     /* open loop: actual send − scheduled send, ns */
	uint64_t msgs;             /* messages back inside the window */
	uint64_t msgs_total;       /* messages back, whole run */
	uint64_t sent;             /* messages queued, whole run */
	uint64_t verify_errors;    /* messages back out of order or with wrong bytes */
	uint64_t conn_errors;      /* connections lost or refused during the run */
	uint8_t *scratch;
	size_t scratch_len;
	struct bench_sched sched;  /* open loop */
};

/* Per echo worker. */
struct echo_worker {
	_Alignas(64) uint64_t conns;
	uint64_t bytes;
	uint64_t pauses;
};

static struct {
	/* options */
	const char *target, *listen;
	uint64_t conns, size, pipeline, rate;
	uint64_t duration_ns, warmup_ns;
	pid_t sut_pid;
	pid_t peer_pid;            /* --peer-pid: another process whose CPU is reported */
	int json;
	struct eng_config cfg;
	/* tcp */
	uint8_t *pat;              /* PAT_SPAN + size bytes of pattern */
	struct gen_worker *gw;
	_Atomic unsigned connected, connect_failed;
	_Atomic uint64_t win_start, win_end;  /* measured window, CLOCK_MONOTONIC ns */
	_Atomic int stopping;
	/* echo */
	struct echo_worker *ew;
	struct bench_listen bl;
} G;

/* ---- messages ---------------------------------------------------------------------- */

static inline uint32_t pat_off(uint64_t seq, uint32_t id)
{
	return (uint32_t)((seq * 2654435761u + (uint64_t)id * 40503u) & (PAT_SPAN - 1));
}

static void pat_init(uint8_t *p, size_t n)
{
	uint64_t x = 0x9e3779b97f4a7c15ull;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (uint8_t)(x >> 24);
	}
}

static void msg_build(uint8_t *m, uint64_t stamp, uint64_t seq, uint32_t id)
{
	uint32_t magic = MSG_MAGIC;
	memcpy(m, &stamp, 8);
	memcpy(m + 8, &seq, 8);
	memcpy(m + 16, &id, 4);
	memcpy(m + 20, &magic, 4);
	memcpy(m + MSG_HDR, G.pat + pat_off(seq, id), G.size - MSG_HDR);
}

/* Queues <n> messages on <gc>. Closed loop: stamped <now>. Open loop: stamped with their
 * scheduled times (and the lag from schedule recorded). Returns eng_send's last result. */
static int send_msgs(struct gen_conn *gc, uint64_t n, uint64_t now)
{
	struct gen_worker *gw = gc->gw;
	uint64_t ws = atomic_load_explicit(&G.win_start, memory_order_relaxed);
	uint64_t we = atomic_load_explicit(&G.win_end, memory_order_relaxed);
	size_t per = gw->scratch_len / G.size, fill = 0;
	int rc = 0;

	while (n) {
		uint64_t stamp = now;
		if (G.rate) {
			stamp = bench_sched_at(&gw->sched, gc->tx_seq, gc->j);
			if (now >= ws && now < we)
				bench_hist_record(&gw->lag, now > stamp ? now - stamp : 0);
		}
		msg_build(gw->scratch + fill * G.size, stamp, gc->tx_seq, gc->id);
		gc->tx_seq++;
		gw->sent++;
		n--;
		if (++fill == per || n == 0) {
			rc = eng_send(gc->c, gw->scratch, fill * G.size);
			fill = 0;
			if (rc < 0) {
				gw->conn_errors++;
				eng_abort(gc->c, rc);
				return rc;
			}
		}
	}
	return rc;
}

/* Checks bytes [rx_off, rx_off + n) of the current message against what was sent. */
static void verify_part(struct gen_conn *gc, const uint8_t *p, uint32_t n)
{
	uint32_t k = gc->rx_off;

	if (k < MSG_HDR) {
		uint32_t h = MSG_HDR - k < n ? MSG_HDR - k : n;
		memcpy(gc->hdr + k, p, h);
		k += h;
		p += h;
		n -= h;
	}
	if (n && !gc->rx_bad) {
		const uint8_t *want = G.pat + pat_off(gc->rx_seq, gc->id) + (k - MSG_HDR);
		if (memcmp(p, want, n) != 0)
			gc->rx_bad = 1;
	}
}

/* The current message is complete: check its header, record its latency. */
static void msg_done(struct gen_conn *gc, uint64_t now, uint64_t ws, uint64_t we)
{
	struct gen_worker *gw = gc->gw;
	uint64_t stamp, seq;
	uint32_t id, magic;

	memcpy(&stamp, gc->hdr, 8);
	memcpy(&seq, gc->hdr + 8, 8);
	memcpy(&id, gc->hdr + 16, 4);
	memcpy(&magic, gc->hdr + 20, 4);
	if (gc->rx_bad || seq != gc->rx_seq || id != gc->id || magic != MSG_MAGIC) {
		gw->verify_errors++;
	} else if (now >= ws && now < we) {
		bench_hist_record(&gw->lat, now > stamp ? now - stamp : 0);
		gw->msgs++;
	}
	gw->msgs_total++;
	gc->rx_seq++;
	gc->rx_off = 0;
	gc->rx_bad = 0;
}

/* ---- tcp: connection callbacks ----------------------------------------------------- */

static void gen_recv(eng_conn *c, eng_buf *b, uint32_t off, uint32_t len)
{
	struct gen_conn *gc = c->udata;
	const uint8_t *p = (const uint8_t *)b->data + off;
	uint64_t now = bench_now_ns();
	uint64_t ws = atomic_load_explicit(&G.win_start, memory_order_relaxed);
	uint64_t we = atomic_load_explicit(&G.win_end, memory_order_relaxed);
	uint64_t done = 0;

	while (len) {
		uint32_t need = (uint32_t)G.size - gc->rx_off;
		uint32_t n = len < need ? len : need;
		verify_part(gc, p, n);
		gc->rx_off += n;
		p += n;
		len -= n;
		if (gc->rx_off == G.size) {
			msg_done(gc, now, ws, we);
			done++;
		}
	}
	if (done && !G.rate && !atomic_load_explicit(&G.stopping, memory_order_relaxed))
		send_msgs(gc, done, now);
}

static void open_loop_send(struct gen_conn *gc, uint64_t now);

static void gen_writable(eng_conn *c)
{
	struct gen_conn *gc = c->udata;
	if (gc->congested) {
		gc->congested = 0;
		open_loop_send(gc, bench_now_ns());
	}
}

static void gen_connect(eng_conn *c, int err)
{
	struct gen_conn *gc = c->udata;
	if (err < 0) {
		fprintf(stderr, "rcsbench: connect %s: %s\n", G.target, strerror(-err));
		atomic_fetch_add(&G.connect_failed, 1);
		return;
	}
	gc->connected = 1;
	atomic_fetch_add(&G.connected, 1);
	if (!G.rate)
		send_msgs(gc, G.pipeline, bench_now_ns());
}

static void gen_close(eng_conn *c, int err)
{
	struct gen_conn *gc = c->udata;
	gc->c = NULL;
	if (gc->connected && !atomic_load_explicit(&G.stopping, memory_order_relaxed)) {
		gc->gw->conn_errors++;
		fprintf(stderr, "rcsbench: connection %u lost: %s\n", gc->id,
			err ? strerror(-err) : "closed by peer");
	}
	gc->connected = 0;
}

static const struct eng_conn_ops gen_ops = {
	.on_recv = gen_recv,
	.on_connect = gen_connect,
	.on_writable = gen_writable,
	.on_close = gen_close,
};

/* ---- tcp: open-loop schedule ------------------------------------------------------- */

/* Sends what is due on <gc>: its messages k with scheduled index k * nconns + j below
 * the worker's m_due. */
static void open_loop_send(struct gen_conn *gc, uint64_t now)
{
	struct gen_worker *gw = gc->gw;

	if (!gc->c || !gc->connected || gc->congested ||
	    atomic_load_explicit(&G.stopping, memory_order_relaxed))
		return;
	uint64_t due = bench_sched_due(&gw->sched, gc->j);
	if (due > gc->tx_seq && send_msgs(gc, due - gc->tx_seq, now) == 1)
		gc->congested = 1;
}

/* The schedule's wake-up: every connection sends what is due. */
static void fire(struct bench_sched *sc, uint64_t now)
{
	struct gen_worker *gw = sc->arg;
	if (atomic_load_explicit(&G.stopping, memory_order_relaxed))
		return;
	for (unsigned i = 0; i < gw->nconns; i++)
		open_loop_send(&gw->conns[i], now);
}

/* Mailbox message from main: the schedule starts at <t0>. */
static void open_loop_start(eng_worker *w, void *arg, uint64_t t0)
{
	struct gen_worker *gw = arg;
	if (bench_sched_start(&gw->sched, w, t0) < 0) {
		fprintf(stderr, "rcsbench: cannot watch the schedule timer\n");
		gw->conn_errors++;
	}
}

static void gen_init(eng_worker *w, void *arg)
{
	struct gen_worker *gw = &G.gw[eng_worker_index(w)];
	(void)arg;

	gw->w = w;
	for (unsigned i = 0; i < gw->nconns; i++) {
		struct gen_conn *gc = &gw->conns[i];
		int rc = eng_connect(w, G.target, NULL, NULL, &gen_ops, gc, &gc->c);
		if (rc < 0) {
			fprintf(stderr, "rcsbench: connect %s: %s\n", G.target, strerror(-rc));
			gc->c = NULL;
			atomic_fetch_add(&G.connect_failed, 1);
		}
	}
}

/* ---- tcp: report ------------------------------------------------------------------- */

struct result {
	double window_s;
	uint64_t msgs, msgs_total, sent, verify_errors, conn_errors;
	struct bench_hist lat, lag;
	double gen_cpu_us, sut_cpu_us;  /* per message; < 0: unknown */
	double gen_cores, sut_cores;    /* CPU seconds per second over the window; < 0: unknown */
	double peer_cores;
	double machine_cores;           /* cores busy machine-wide (anyone); < 0: unknown */
	double others_cores;            /* of those, not the generator, the SUT or the peer */
	const char *backend;
	unsigned workers;
};

static double us(uint64_t ns) { return (double)ns / 1000.0; }

static void report_text(const struct result *r)
{
	const struct bench_hist *h = &r->lat;
	double mps = r->window_s > 0 ? (double)r->msgs / r->window_s : 0;

	printf("rcsbench tcp -> %s  backend=%s workers=%u\n", G.target, r->backend, r->workers);
	if (G.rate)
		printf("  load            open loop, %" PRIu64 " msgs/s over %" PRIu64
		       " conns, %" PRIu64 " bytes\n", G.rate, G.conns, G.size);
	else
		printf("  load            closed loop, %" PRIu64 " conns x pipeline %" PRIu64
		       ", %" PRIu64 " bytes\n", G.conns, G.pipeline, G.size);
	printf("  window          %.2f s (after %.2f s warm-up)\n", r->window_s,
	       (double)G.warmup_ns / 1e9);
	printf("  msgs/s          %.0f\n", mps);
	printf("  MB/s            %.2f (each direction)\n", mps * (double)G.size / 1e6);
	printf("  latency us      p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f  mean %.1f\n",
	       us(bench_hist_percentile(h, 50)), us(bench_hist_percentile(h, 90)),
	       us(bench_hist_percentile(h, 99)), us(bench_hist_percentile(h, 99.9)),
	       us(h->total ? h->max : 0), bench_hist_mean(h) / 1000.0);
	if (G.rate)
		printf("  send lag us     p50 %.1f  p99 %.1f  max %.1f (generator behind schedule)\n",
		       us(bench_hist_percentile(&r->lag, 50)), us(bench_hist_percentile(&r->lag, 99)),
		       us(r->lag.total ? r->lag.max : 0));
	printf("  errors          %" PRIu64 " (verify %" PRIu64 ", connections %" PRIu64 ")\n",
	       r->verify_errors + r->conn_errors, r->verify_errors, r->conn_errors);
	if (r->gen_cpu_us >= 0)
		printf("  CPU generator   %.2f us/msg (%.0f %% of a core)\n", r->gen_cpu_us,
		       r->gen_cores * 100);
	else
		printf("  CPU generator   n/a\n");
	if (G.sut_pid > 0) {
		if (r->sut_cpu_us >= 0)
			printf("  CPU SUT         %.2f us per message round trip (%.0f %% of a core; "
			       "pid %d; a forwarder carries each message twice: request and "
			       "echo)\n", r->sut_cpu_us, r->sut_cores * 100, (int)G.sut_pid);
		else
			printf("  CPU SUT         n/a (pid %d unreadable)\n", (int)G.sut_pid);
	}
	if (G.peer_pid > 0 && r->peer_cores >= 0)
		printf("  CPU peer        %.0f %% of a core (pid %d)\n", r->peer_cores * 100,
		       (int)G.peer_pid);
	if (r->machine_cores >= 0)
		printf("  CPU others      %.2f cores busy with other processes (machine-wide %.2f)\n",
		       r->others_cores, r->machine_cores);
}

static json_t *num_or_null(double v) { return v >= 0 ? json_real(v) : json_null(); }

static int report_json(const struct result *r)
{
	const struct bench_hist *h = &r->lat;
	double mps = r->window_s > 0 ? (double)r->msgs / r->window_s : 0;
	json_t *o = json_object();

	json_object_set_new(o, "mode", json_string("tcp"));
	json_object_set_new(o, "target", json_string(G.target));
	json_object_set_new(o, "backend", json_string(r->backend));
	json_object_set_new(o, "workers", json_integer(r->workers));
	json_object_set_new(o, "loop", json_string(G.rate ? "open" : "closed"));
	json_object_set_new(o, "conns", json_integer((json_int_t)G.conns));
	json_object_set_new(o, "size", json_integer((json_int_t)G.size));
	json_object_set_new(o, "pipeline", json_integer((json_int_t)G.pipeline));
	json_object_set_new(o, "rate", json_integer((json_int_t)G.rate));
	json_object_set_new(o, "warmup_s", json_real((double)G.warmup_ns / 1e9));
	json_object_set_new(o, "window_s", json_real(r->window_s));
	json_object_set_new(o, "msgs", json_integer((json_int_t)r->msgs));
	json_object_set_new(o, "msgs_total", json_integer((json_int_t)r->msgs_total));
	json_object_set_new(o, "sent_total", json_integer((json_int_t)r->sent));
	json_object_set_new(o, "msgs_per_s", json_real(mps));
	json_object_set_new(o, "mb_per_s", json_real(mps * (double)G.size / 1e6));
	json_object_set_new(o, "lat_p50_us", json_real(us(bench_hist_percentile(h, 50))));
	json_object_set_new(o, "lat_p90_us", json_real(us(bench_hist_percentile(h, 90))));
	json_object_set_new(o, "lat_p99_us", json_real(us(bench_hist_percentile(h, 99))));
	json_object_set_new(o, "lat_p999_us", json_real(us(bench_hist_percentile(h, 99.9))));
	json_object_set_new(o, "lat_max_us", json_real(us(h->total ? h->max : 0)));
	json_object_set_new(o, "lat_mean_us", json_real(bench_hist_mean(h) / 1000.0));
	if (G.rate) {
		json_object_set_new(o, "lag_p50_us", json_real(us(bench_hist_percentile(&r->lag, 50))));
		json_object_set_new(o, "lag_p99_us", json_real(us(bench_hist_percentile(&r->lag, 99))));
		json_object_set_new(o, "lag_max_us", json_real(us(r->lag.total ? r->lag.max : 0)));
	}
	json_object_set_new(o, "errors", json_integer((json_int_t)(r->verify_errors + r->conn_errors)));
	json_object_set_new(o, "verify_errors", json_integer((json_int_t)r->verify_errors));
	json_object_set_new(o, "conn_errors", json_integer((json_int_t)r->conn_errors));
	json_object_set_new(o, "gen_cpu_us_per_msg", num_or_null(r->gen_cpu_us));
	json_object_set_new(o, "gen_cpu_cores", num_or_null(r->gen_cores));
	json_object_set_new(o, "sut_pid", G.sut_pid > 0 ? json_integer(G.sut_pid) : json_null());
	json_object_set_new(o, "sut_cpu_us_per_msg_rtt",
			    G.sut_pid > 0 ? num_or_null(r->sut_cpu_us) : json_null());
	json_object_set_new(o, "sut_cpu_cores",
			    G.sut_pid > 0 ? num_or_null(r->sut_cores) : json_null());
	json_object_set_new(o, "machine_cores", num_or_null(r->machine_cores));
	json_object_set_new(o, "others_cores",
			    r->machine_cores >= 0 ? json_real(r->others_cores) : json_null());
	json_object_set_new(o, "peer_pid", G.peer_pid > 0 ? json_integer(G.peer_pid) : json_null());
	json_object_set_new(o, "peer_cpu_cores",
			    G.peer_pid > 0 ? num_or_null(r->peer_cores) : json_null());
	char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
	json_decref(o);
	if (!s)
		return -ENOMEM;
	puts(s);
	free(s);
	return 0;
}

/* ---- tcp: main --------------------------------------------------------------------- */

static int run_tcp(void)
{
	char err[256];
	int rc = 1;
	struct result r = { .gen_cpu_us = -1, .sut_cpu_us = -1, .gen_cores = -1, .sut_cores = -1,
			    .peer_cores = -1, .machine_cores = -1 };

	G.pat = malloc(PAT_SPAN + G.size);
	if (!G.pat)
		return 1;
	pat_init(G.pat, PAT_SPAN + G.size);
	atomic_store(&G.win_start, UINT64_MAX);
	atomic_store(&G.win_end, UINT64_MAX);
	pid_t pids[2] = { G.sut_pid, G.peer_pid };
	for (int i = 0; i < 2; i++)
		if (pids[i] > 0 && bench_cpu_ns(pids[i]) < 0) {
			fprintf(stderr, "rcsbench: cannot read /proc/%d/task/*/schedstat\n",
				(int)pids[i]);
			free(G.pat);
			return 1;
		}

	bench_signals_block();
	eng_engine *e = eng_create(&G.cfg, err, sizeof(err));
	if (!e) {
		fprintf(stderr, "rcsbench: %s\n", err);
		free(G.pat);
		return 1;
	}
	unsigned n = eng_nworkers(e);
	G.gw = bench_calloc_lines(n, sizeof(*G.gw));
	struct gen_conn *conns = calloc(G.conns, sizeof(*conns));
	if (!G.gw || !conns)
		goto oom;
	for (unsigned i = 0; i < n; i++) {
		struct gen_worker *gw = &G.gw[i];
		gw->sched.tfd = -1;
		gw->scratch_len = G.size > SCRATCH_MIN ? G.size : SCRATCH_MIN;
		if (!(gw->scratch = malloc(gw->scratch_len)) || bench_hist_init(&gw->lat) < 0 ||
		    bench_hist_init(&gw->lag) < 0)
			goto oom;
	}
	/* connection i goes to worker i % n; each worker's are contiguous in <conns> */
	for (unsigned i = 0, k = 0; i < n; i++) {
		struct gen_worker *gw = &G.gw[i];
		gw->conns = conns + k;
		for (uint64_t id = i; id < G.conns; id += n) {
			struct gen_conn *gc = &conns[k++];
			gc->gw = gw;
			gc->id = (uint32_t)id;
			gc->j = gw->nconns++;
		}
		if (G.rate && gw->nconns) {
			double wrate = (double)G.rate * gw->nconns / (double)G.conns;
			int e2 = bench_sched_init(&gw->sched, wrate, gw->nconns, fire, gw);
			if (e2 < 0) {
				fprintf(stderr, "rcsbench: timerfd_create: %s\n", strerror(-e2));
				goto out;
			}
		}
	}
	r.backend = eng_backend_name(e);
	r.workers = n;

	if ((rc = eng_start(e, gen_init, NULL)) < 0) {
		fprintf(stderr, "rcsbench: cannot start the workers: %s\n", strerror(-rc));
		rc = 1;
		goto out;
	}
	rc = 1;
	/* every connection up (or refused), at most 10 s */
	uint64_t until = bench_now_ns() + 10ull * 1000000000u;
	int sig = 0;
	while (atomic_load(&G.connected) + atomic_load(&G.connect_failed) < G.conns &&
	       bench_now_ns() < until && !sig)
		sig = bench_signals_wait_until(bench_now_ns() + 5000000u);
	if (sig)
		goto out;
	if (atomic_load(&G.connected) < G.conns) {
		fprintf(stderr, "rcsbench: %u of %" PRIu64 " connections to %s up (%u refused)\n",
			atomic_load(&G.connected), G.conns, G.target, atomic_load(&G.connect_failed));
		goto out;
	}

	uint64_t t_start = bench_now_ns();
	if (G.rate)
		for (unsigned i = 0; i < n; i++)
			if (G.gw[i].nconns && eng_post(eng_worker_at(e, i), open_loop_start, &G.gw[i],
						       t_start + 1000000u) < 0) {
				fprintf(stderr, "rcsbench: worker %u mailbox full\n", i);
				goto out;
			}
	uint64_t ws = t_start + G.warmup_ns, we = ws + G.duration_ns;
	atomic_store(&G.win_start, ws);
	atomic_store(&G.win_end, we);
	if ((sig = bench_signals_wait_until(ws)) != 0)
		goto out;
	struct bench_meter m = { .sut = &G.sut_pid, .nsut = G.sut_pid > 0, .peer = G.peer_pid };
	bench_meter_begin(&m);
	sig = bench_signals_wait_until(we);
	bench_meter_end(&m);
	uint64_t t1 = bench_now_ns();
	if (sig) {
		/* stopped early: the window ends now */
		atomic_store(&G.win_end, t1);
		we = t1;
	}
	atomic_store(&G.stopping, 1);
	eng_destroy(e);
	e = NULL;

	r.window_s = (double)(we - ws) / 1e9;
	if (bench_hist_init(&r.lat) < 0 || bench_hist_init(&r.lag) < 0)
		goto oom;
	for (unsigned i = 0; i < n; i++) {
		struct gen_worker *gw = &G.gw[i];
		bench_hist_merge(&r.lat, &gw->lat);
		bench_hist_merge(&r.lag, &gw->lag);
		r.msgs += gw->msgs;
		r.msgs_total += gw->msgs_total;
		r.sent += gw->sent;
		r.verify_errors += gw->verify_errors;
		r.conn_errors += gw->conn_errors;
	}
	r.gen_cores = m.gen_cores;
	r.sut_cores = m.sut_cores;
	r.peer_cores = m.peer_cores;
	r.machine_cores = m.machine_cores;
	r.others_cores = bench_meter_others(&m);
	r.gen_cpu_us = bench_us_per_msg(m.gen_ns, r.msgs);
	r.sut_cpu_us = bench_us_per_msg(m.sut_ns, r.msgs);
	if (G.json)
		report_json(&r);
	else
		report_text(&r);
	fflush(stdout);
	rc = r.verify_errors + r.conn_errors ? 3 : 0;
	if (!r.msgs) {
		fprintf(stderr, "rcsbench: no message came back inside the window\n");
		rc = 1;
	}
	goto out;
oom:
	fprintf(stderr, "rcsbench: out of memory\n");
	rc = 1;
out:
	atomic_store(&G.stopping, 1);
	eng_destroy(e);
	if (G.gw) {
		for (unsigned i = 0; i < n; i++) {
			bench_hist_free(&G.gw[i].lat);
			bench_hist_free(&G.gw[i].lag);
			free(G.gw[i].scratch);
			bench_sched_fini(&G.gw[i].sched);
		}
	}
	bench_hist_free(&r.lat);
	bench_hist_free(&r.lag);
	free(conns);
	free(G.gw);
	free(G.pat);
	return rc;
}

/* ---- echo -------------------------------------------------------------------------- */

static void echo_recv(eng_conn *c, eng_buf *b, uint32_t off, uint32_t len)
{
	struct echo_worker *ew = c->udata;
	ew->bytes += len;
	int rc = eng_send_buf(c, b, off, len);
	if (rc == 1) {
		/* our own queue is full: stop reading until it drains (on_writable) */
		ew->pauses++;
		eng_read_pause(c);
	} else if (rc < 0 && rc != -EPIPE) {
		eng_abort(c, rc);
	}
}

static void echo_writable(eng_conn *c)
{
	eng_read_resume(c);
}

static const struct eng_conn_ops echo_ops = {
	.on_recv = echo_recv,
	.on_writable = echo_writable,
};

static void echo_accept(eng_listener *l, eng_conn *c)
{
	struct echo_worker *ew = &G.ew[eng_worker_index(l->w)];
	ew->conns++;
	eng_conn_start(c, &echo_ops, ew);
}

static void echo_init(eng_worker *w, void *arg)
{
	(void)arg;
	bench_listen_worker(&G.bl, w);
}

static int run_echo(void)
{
	char err[256];
	int rc = 1;

	bench_signals_block();
	eng_engine *e = eng_create(&G.cfg, err, sizeof(err));
	if (!e) {
		fprintf(stderr, "rcsbench: %s\n", err);
		return 1;
	}
	unsigned n = eng_nworkers(e);
	G.ew = bench_calloc_lines(n, sizeof(*G.ew));
	if (!G.ew) {
		eng_destroy(e);
		return 1;
	}
	bench_listen_init(&G.bl, G.listen, n, NULL, echo_accept, NULL);
	if ((rc = eng_start(e, echo_init, NULL)) < 0) {
		fprintf(stderr, "rcsbench: cannot start the workers: %s\n", strerror(-rc));
		rc = 1;
		goto out;
	}
	int port = bench_listen_wait(&G.bl, 10000);
	if (port < 0) {
		fprintf(stderr, "rcsbench: cannot listen on %s: %s\n", G.listen, strerror(-port));
		rc = 1;
		goto out;
	}
	printf("ready port=%d backend=%s workers=%u\n", port, eng_backend_name(e), n);
	fflush(stdout);
	bench_signals_wait_until(UINT64_MAX);
	rc = 0;
out:
	eng_destroy(e);
	bench_listen_fini(&G.bl);
	if (rc == 0) {
		uint64_t conns = 0, bytes = 0, pauses = 0;
		for (unsigned i = 0; i < n; i++) {
			conns += G.ew[i].conns;
			bytes += G.ew[i].bytes;
			pauses += G.ew[i].pauses;
		}
		fprintf(stderr, "rcsbench echo: stats conns=%" PRIu64 " bytes=%" PRIu64
			" pauses=%" PRIu64 "\n", conns, bytes, pauses);
	}
	free(G.ew);
	return rc;
}

/* ---- command line ------------------------------------------------------------------ */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: rcsbench tcp --target HOST:PORT --conns N --size BYTES --pipeline P\n"
		"                    --duration SEC [--warmup SEC] [--rate MSGS_PER_SEC]\n"
		"                    [--workers N] [--backend auto|io_uring|epoll] [--sut-pid PID]\n"
		"                    [--peer-pid PID] [--json] [--no-pin]\n"
		"       rcsbench echo --listen HOST:PORT [--workers N] [--backend ...]\n"
		"       rcsbench msrp-relay ... | msrp-idle ...  (rcsbench msrp-relay --help)\n"
		"       rcsbench ua-setup ... | ua-send ... | ua-sink ...  (rcsbench ua-setup --help)\n"
		"       rcsbench dm-request ...  (rcsbench dm-request --help)\n"
		"tcp:  messages of --size bytes (>= %d) to an echo server, --pipeline in flight per\n"
		"      connection (closed loop), or --rate messages/s in all on a fixed schedule\n"
		"      (open loop, latency from the scheduled time). --warmup (default 1 s) is not\n"
		"      measured. --sut-pid: CPU per message of that process over the window;\n"
		"      --peer-pid: CPU of another process (the echo server) over the window.\n"
		"      Exit 0, 3 when messages came back wrong or connections were lost, 1 on\n"
		"      failure, 2 on bad arguments.\n"
		"echo: returns every byte; prints 'ready port=<port> backend=<name> workers=<n>'.\n"
		"--workers 0 (default): one per CPU of the affinity set. Sizes take k/m suffixes.\n",
		MSG_HDR);
}

int main(int argc, char **argv)
{
	uint64_t workers = UINT64_MAX;
	int tcp;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "msrp-relay") == 0 || strcmp(argv[1], "msrp-idle") == 0)
		return bench_relay_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "ua-setup") == 0 || strcmp(argv[1], "ua-send") == 0 ||
	    strcmp(argv[1], "ua-sink") == 0)
		return bench_ua_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "dm-request") == 0)
		return bench_dm_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "tcp") == 0) {
		tcp = 1;
	} else if (strcmp(argv[1], "echo") == 0) {
		tcp = 0;
	} else if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return 0;
	} else {
		fprintf(stderr, "rcsbench: unknown mode '%s'\n", argv[1]);
		usage(stderr);
		return 2;
	}
	eng_config_defaults(&G.cfg);
	G.warmup_ns = 1000000000u;
	G.pipeline = 1;
	const struct bench_opt opts[] = {
		{ "target", BENCH_OPT_HOSTPORT, &G.target, 0, 0, NULL },
		{ "listen", BENCH_OPT_HOSTPORT, &G.listen, 0, 0, NULL },
		{ "conns", BENCH_OPT_U64, &G.conns, 1, 1000000, NULL },
		{ "size", BENCH_OPT_BYTES, &G.size, MSG_HDR, 64u << 20, NULL },
		{ "pipeline", BENCH_OPT_U64, &G.pipeline, 1, 1000000, NULL },
		{ "duration", BENCH_OPT_DURATION, &G.duration_ns, 1, UINT64_MAX, NULL },
		{ "warmup", BENCH_OPT_DURATION, &G.warmup_ns, 0, UINT64_MAX, NULL },
		{ "rate", BENCH_OPT_U64, &G.rate, 1, 100000000, NULL },
		{ "workers", BENCH_OPT_U64, &workers, 0, 1024, NULL },
		{ "backend", BENCH_OPT_BACKEND, &G.cfg.backend, 0, 0, NULL },
		{ "sut-pid", BENCH_OPT_FN, &G.sut_pid, 0, 0, bench_parse_pid },
		{ "peer-pid", BENCH_OPT_FN, &G.peer_pid, 0, 0, bench_parse_pid },
		{ "json", BENCH_OPT_FLAG, &G.json, 0, 0, NULL },
		{ "no-pin", BENCH_OPT_UNFLAG, &G.cfg.pin, 0, 0, NULL },
	};
	int rc = bench_opts_parse("rcsbench", argc - 1, argv + 1, opts,
				  sizeof(opts) / sizeof(opts[0]));
	if (rc == 1)
		usage(stdout);
	else if (rc)
		usage(stderr);
	if (rc)
		return rc == 1 ? 0 : rc;
	if (workers != UINT64_MAX)
		G.cfg.workers = (unsigned)workers;
	if (tcp) {
		if (!G.target || !G.conns || !G.size || !G.duration_ns) {
			fprintf(stderr, "rcsbench tcp: --target, --conns, --size and --duration are "
				"required\n");
			usage(stderr);
			return 2;
		}
		return run_tcp();
	}
	if (!G.listen) {
		fprintf(stderr, "rcsbench echo: --listen is required\n");
		return 2;
	}
	return run_echo();
}

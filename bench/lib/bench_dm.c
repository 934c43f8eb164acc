/* bench_dm.c — Diameter requests through rcsgw's REST API, on the engine.
 *
 * The generator is the application: --conc HTTP/1.1 keep-alive connections to --api on one
 * engine worker (one thread), one request in flight on each (no pipelining), so <conc>
 * requests are in flight in all: a closed loop. Every request is the same
 * POST /v1/diameter/requests, built once (the body is --body, or an Sh UDR by default);
 * rcsgw turns it into a Diameter request to the open peer of its realm and answers with the
 * peer's answer as JSON. The answer is read by bench_http.c (independent of api/), and its
 * top-level "result_code" by a plain search: it must be 200 with --expect-result (3002 by
 * default: freeDiameterd as Debian ships it has no Sh application and answers
 * DIAMETER_UNABLE_TO_DELIVER, after a full round trip through it). Anything else is an
 * error: another status or Result-Code, no answer within --timeout, a connection lost.
 *
 * Latency = the answer read whole − the request written (eng_send), for the good answers
 * that arrive inside the window (after --warmup, for --duration). CPU over the same window:
 * this process, rcsgw (--sut-pid: all its threads, and each thread by its name), and its
 * Diameter peer (--peer-pid), per good answer. After the window no new request leaves; what
 * is in flight gets --timeout to finish (its errors still count).
 *
 * --rate R caps the load at R requests/s (the soak's steady load, not a throughput figure):
 * a request leaves only when fewer than R x (now - start) have left; an idle connection held
 * back so is tried again at each tick (20 ms). Still a closed loop: with too few connections
 * for R the rate is lower, never made up in bursts beyond one tick's worth. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/lib/bench_args.h"
#include "bench/lib/bench_cpu.h"
#include "bench/lib/bench_dm.h"
#include "bench/lib/bench_hist.h"
#include "bench/lib/bench_http.h"
#include "bench/lib/bench_proc.h"
#include "engine/eng.h"

#define HTTP_RX_CAP   (64 * 1024)        /* bytes of one HTTP answer, at most */
#define BODY_MAX      (32 * 1024)        /* bytes of the request's JSON body, at most */
#define TICK_MS       20                 /* time-outs and reconnections checked this often */
#define MAX_CONC      1024
#define THR_MAX       128                /* threads of the SUT told apart by name */

/* The request of the issue: an Sh User-Data-Request for one Public-Identity. rcsgw adds
 * Session-Id, Origin-Host/Realm and Destination-Realm. */
static const char default_body[] =
	"{\"application\":\"Sh\",\"command\":\"UDR\",\"avps\":["
	"{\"Vendor-Specific-Application-Id\":[{\"Vendor-Id\":10415},{\"Auth-Application-Id\":16777217}]},"
	"{\"Auth-Session-State\":\"NO_STATE_MAINTAINED\"},"
	"{\"User-Identity\":[{\"Public-Identity\":\"sip:alice@test.local\"}]},"
	"{\"Data-Reference\":\"RepositoryData\"}]}";

/* One HTTP connection to the API. */
struct dm_slot {
	eng_conn *c;
	int connected;
	int busy;                  /* a request in flight */
	int reconnect;             /* the connection went: open another at the next tick */
	int counted;               /* its first connection was counted (a_connected) */
	uint64_t t_sent;           /* when the request in flight was written */
	char *rx;                  /* the answer so far */
	uint32_t rx_len;
};

/* Worker-side counters, read by main after the worker is joined. */
struct dm_stats {
	uint64_t sent, answers, ok, ok_win;
	uint64_t non_200, wrong_result, no_result, bad_answers, timeouts, conn_lost, reconnects;
	int first_status;          /* first status other than 200 */
	long long first_result;    /* first Result-Code other than expected */
	char first_error[120];     /* the start of the first answer that was an error */
};

static struct {
	/* options */
	const char *api, *token, *body_opt;
	uint64_t conc, duration_ns, warmup_ns, timeout_ns;
	uint64_t rate;             /* --rate: requests/s at most; 0 = as fast as answers come */
	int64_t expect;
	pid_t sut_pid, peer_pid;
	int json;
	struct eng_config cfg;
	/* made before the worker starts */
	char *req;                 /* the whole HTTP request */
	size_t req_len;
	struct dm_slot *slots;
	/* the worker's */
	eng_worker *w;
	eng_timer tick;
	int go;                    /* requests may leave */
	uint64_t t_go;             /* when they could first (--rate counts from there) */
	uint64_t nbusy;            /* slots with a request in flight */
	struct bench_hist lat;     /* good answers inside the window, ns */
	struct dm_stats st;
	/* shared with main */
	_Atomic uint64_t a_connected, a_busy;
	_Atomic uint64_t win_start, win_end;
	_Atomic int stop_new, stopping;
} D;

static inline int stopping(void)
{
	return atomic_load_explicit(&D.stopping, memory_order_relaxed);
}

static inline int in_window(uint64_t now)
{
	return now >= atomic_load_explicit(&D.win_start, memory_order_relaxed) &&
	       now < atomic_load_explicit(&D.win_end, memory_order_relaxed);
}

static void set_busy(struct dm_slot *s, int busy)
{
	if (s->busy == busy)
		return;
	s->busy = busy;
	D.nbusy = busy ? D.nbusy + 1 : D.nbusy - 1;
	atomic_store_explicit(&D.a_busy, D.nbusy, memory_order_relaxed);
}

/* ---- requests and answers ----------------------------------------------------------------- */

/* The next request on an idle connection, unless the run is over. */
static void slot_next(struct dm_slot *s)
{
	if (!s->c || !s->connected || s->busy || !D.go || stopping() ||
	    atomic_load_explicit(&D.stop_new, memory_order_relaxed))
		return;
	uint64_t now = bench_now_ns();
	if (D.rate && D.st.sent >= (uint64_t)((double)(now - D.t_go) * (double)D.rate / 1e9) + 1)
		return; /* ahead of --rate: the tick tries again */
	set_busy(s, 1);
	s->t_sent = now;
	D.st.sent++;
	int rc = eng_send(s->c, D.req, D.req_len);
	if (rc < 0)
		eng_abort(s->c, rc); /* on_close counts it */
}

static void note_error(const struct bench_http_ans *a)
{
	if (D.st.first_error[0])
		return;
	uint32_t n = a->body_len < sizeof(D.st.first_error) - 1 ? a->body_len
								: sizeof(D.st.first_error) - 1;
	for (uint32_t i = 0; i < n; i++)
		D.st.first_error[i] = isprint((unsigned char)a->body[i]) ? a->body[i] : '.';
	D.st.first_error[n] = '\0';
}

/* The top-level "result_code" of rcsgw's answer: found as the key "result_code" (AVPs are
 * named "Result-Code", so the snake-case key is rcsgw's own). 0 when found, -1 when not. */
static int result_code(const char *p, uint32_t len, long long *out)
{
	static const char key[] = "\"result_code\"";
	const char *k = memmem(p, len, key, sizeof(key) - 1);
	if (!k)
		return -1;
	const char *q = k + sizeof(key) - 1, *end = p + len;
	while (q < end && (*q == ' ' || *q == ':'))
		q++;
	if (q == end || *q < '0' || *q > '9')
		return -1;
	long long v = 0;
	for (int i = 0; q < end && *q >= '0' && *q <= '9' && i < 12; q++, i++)
		v = v * 10 + (*q - '0');
	*out = v;
	return 0;
}

static void on_answer(struct dm_slot *s, const struct bench_http_ans *a)
{
	uint64_t now = bench_now_ns();
	long long rc;

	set_busy(s, 0);
	D.st.answers++;
	if (a->status != 200) {
		if (D.st.non_200++ == 0)
			D.st.first_status = a->status;
		note_error(a);
		return;
	}
	if (result_code(a->body, a->body_len, &rc) < 0) {
		D.st.no_result++;
		note_error(a);
		return;
	}
	if (rc != D.expect) {
		if (D.st.wrong_result++ == 0)
			D.st.first_result = rc;
		note_error(a);
		return;
	}
	D.st.ok++;
	if (in_window(now)) {
		D.st.ok_win++;
		bench_hist_record(&D.lat, now - s->t_sent);
	}
}

static void h_recv(eng_conn *c, eng_buf *b, uint32_t off, uint32_t len)
{
	struct dm_slot *s = c->udata;
	struct bench_http_ans a;

	if (s->rx_len + len > HTTP_RX_CAP) {
		D.st.bad_answers++;
		set_busy(s, 0);
		eng_abort(c, -EMSGSIZE);
		return;
	}
	memcpy(s->rx + s->rx_len, b->data + off, len);
	s->rx_len += len;
	while (s->c == c && s->rx_len) {
		int rc = bench_http_parse(s->rx, s->rx_len, HTTP_RX_CAP, &a);
		if (rc == 0)
			return;
		if (rc < 0 || !s->busy) {
			if (D.st.bad_answers++ == 0)
				fprintf(stderr, "rcsbench: an API answer this reader does not take: "
					"'%.60s'\n", s->rx);
			set_busy(s, 0);
			eng_abort(c, -EPROTO);
			return;
		}
		on_answer(s, &a);
		memmove(s->rx, s->rx + a.total, s->rx_len - a.total);
		s->rx_len -= a.total;
		if (a.close) {
			eng_close(c); /* the next request goes on a new connection */
			return;
		}
		slot_next(s);
	}
}

static void h_connect(eng_conn *c, int err)
{
	struct dm_slot *s = c->udata;
	if (err < 0)
		return; /* on_close follows */
	if (!s->counted)
		atomic_fetch_add(&D.a_connected, 1);
	s->counted = 1;
	s->connected = 1;
	s->reconnect = 0;
	slot_next(s);
}

static void h_close(eng_conn *c, int err)
{
	struct dm_slot *s = c->udata;
	(void)err;
	if (s->c != c)
		return;
	s->c = NULL;
	s->rx_len = 0;
	if (s->busy) {
		D.st.conn_lost++;
		set_busy(s, 0);
	}
	s->connected = 0;
	s->reconnect = 1; /* the next tick */
}

static const struct eng_conn_ops h_ops = {
	.on_recv = h_recv,
	.on_connect = h_connect,
	.on_close = h_close,
};

static void slot_connect(struct dm_slot *s)
{
	int rc = eng_connect(D.w, D.api, NULL, NULL, &h_ops, s, &s->c);
	if (rc < 0) {
		s->c = NULL;
		s->reconnect = 1;
	}
}

/* Time-outs and reconnections. */
static void on_tick(eng_timer *t)
{
	uint64_t now = bench_now_ns();
	for (uint64_t i = 0; i < D.conc && !stopping(); i++) {
		struct dm_slot *s = &D.slots[i];
		if (!s->c && s->reconnect) {
			D.st.reconnects++;
			slot_connect(s);
		}
		if (s->busy && now - s->t_sent > D.timeout_ns) {
			D.st.timeouts++;
			set_busy(s, 0);
			eng_abort(s->c, -ETIMEDOUT);
		}
		if (D.rate)
			slot_next(s); /* held back by --rate */
	}
	if (!stopping())
		eng_timer_arm(D.w, t, TICK_MS);
}

/* ---- the worker --------------------------------------------------------------------------- */

static void dm_stop(eng_worker *w, void *arg)
{
	(void)w;
	(void)arg;
	eng_timer_cancel(&D.tick);
}

static void dm_init(eng_worker *w, void *arg)
{
	(void)arg;
	D.w = w;
	eng_worker_on_stop(w, dm_stop, NULL);
	for (uint64_t i = 0; i < D.conc; i++)
		slot_connect(&D.slots[i]);
	eng_timer_init(&D.tick, on_tick, NULL);
	eng_timer_arm(w, &D.tick, TICK_MS);
}

/* Mailbox message from main: the load starts. */
static void cmd_go(eng_worker *w, void *arg, uint64_t u64)
{
	(void)w;
	(void)arg;
	(void)u64;
	D.go = 1;
	D.t_go = bench_now_ns();
	for (uint64_t i = 0; i < D.conc; i++)
		slot_next(&D.slots[i]);
}

/* ---- the SUT's threads -------------------------------------------------------------------- */

/* On-CPU time of each thread of a process, with its name (comm). */
struct thr_snap {
	unsigned n;
	struct {
		long tid;
		char name[20];
		int64_t ns;
	} t[THR_MAX];
};

/* Reads the threads of <pid> into <s> (at most THR_MAX; those that cannot be read are
 * left out). */
static void thr_read(pid_t pid, struct thr_snap *s)
{
	char path[96];
	s->n = 0;
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d)) != NULL && s->n < THR_MAX) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		unsigned long long ns;
		char name[20] = "";
		long tid = strtol(de->d_name, NULL, 10);
		snprintf(path, sizeof(path), "/proc/%d/task/%ld/schedstat", (int)pid, tid);
		FILE *f = fopen(path, "re");
		if (!f)
			continue;
		int ok = fscanf(f, "%llu", &ns) == 1;
		fclose(f);
		snprintf(path, sizeof(path), "/proc/%d/task/%ld/comm", (int)pid, tid);
		if (!ok || !(f = fopen(path, "re")))
			continue;
		ok = fgets(name, sizeof(name), f) != NULL;
		fclose(f);
		if (!ok)
			continue;
		/* a name that makes a plain JSON key: letters, digits, '_' */
		size_t j = 0;
		for (size_t i = 0; name[i] && name[i] != '\n' && j < sizeof(name) - 1; i++)
			name[j++] = isalnum((unsigned char)name[i]) ? name[i] : '_';
		name[j] = '\0';
		s->t[s->n].tid = tid;
		snprintf(s->t[s->n].name, sizeof(s->t[s->n].name), "%s", j ? name : "unnamed");
		s->t[s->n].ns = (int64_t)ns;
		s->n++;
	}
	closedir(d);
}

/* CPU per thread name over a window: the threads alive at both ends, summed by name. */
struct thr_use {
	unsigned n;
	struct {
		char name[20];
		double cores;
	} u[THR_MAX];
};

static void thr_diff(const struct thr_snap *a, const struct thr_snap *b, double secs,
		     struct thr_use *out)
{
	out->n = 0;
	for (unsigned i = 0; i < b->n && secs > 0; i++) {
		int64_t ns0 = -1;
		for (unsigned j = 0; j < a->n; j++)
			if (a->t[j].tid == b->t[i].tid)
				ns0 = a->t[j].ns;
		if (ns0 < 0 || b->t[i].ns < ns0)
			continue;
		double c = (double)(b->t[i].ns - ns0) / 1e9 / secs;
		unsigned k = 0;
		while (k < out->n && strcmp(out->u[k].name, b->t[i].name) != 0)
			k++;
		if (k == out->n) {
			snprintf(out->u[k].name, sizeof(out->u[k].name), "%s", b->t[i].name);
			out->u[k].cores = 0;
			out->n++;
		}
		out->u[k].cores += c;
	}
}

/* ---- main thread -------------------------------------------------------------------------- */

struct dm_result {
	struct bench_meter m;
	struct thr_use thr;        /* rcsgw's threads over the window */
	double window_s;
	struct dm_stats st;
	const char *backend;
	int signalled;
};

static double us(uint64_t ns) { return (double)ns / 1000.0; }
static json_t *num_or_null(double v) { return v >= 0 ? json_real(v) : json_null(); }

#define JI(o, k, v) json_object_set_new((o), (k), json_integer((json_int_t)(v)))

static uint64_t errors(const struct dm_stats *st)
{
	return st->non_200 + st->wrong_result + st->no_result + st->bad_answers + st->timeouts +
	       st->conn_lost;
}

/* The peer's CPU microseconds per good answer in the window, or -1. */
static double peer_us(const struct dm_result *r)
{
	if (D.peer_pid <= 0 || r->m.peer_cores < 0 || !r->st.ok_win)
		return -1;
	return r->m.peer_cores * r->m.secs * 1e6 / (double)r->st.ok_win;
}

/* CPU microseconds of rcsgw's threads named like its <i>-th per good answer, or -1. */
static double thr_us(const struct dm_result *r, unsigned i)
{
	if (!r->st.ok_win || r->m.secs <= 0)
		return -1;
	return r->thr.u[i].cores * r->m.secs * 1e6 / (double)r->st.ok_win;
}

static void report(const struct dm_result *r)
{
	const struct dm_stats *st = &r->st;
	const struct bench_meter *m = &r->m;
	double rate = r->window_s > 0 ? (double)st->ok_win / r->window_s : 0;
	double gen_us = bench_us_per_msg(m->gen_ns, st->ok_win);
	double sut_us = bench_us_per_msg(m->sut_ns, st->ok_win);
	double p_us = peer_us(r);
	static const struct { const char *name; double p; } ps[] = {
		{ "p50", 50 }, { "p90", 90 }, { "p99", 99 }, { "p999", 99.9 },
	};

	if (!D.json) {
		printf("rcsbench dm-request -> api %s, backend=%s\n", D.api, r->backend);
		printf("  load            %" PRIu64 " requests in flight (closed loop), expected "
		       "Result-Code %" PRId64 "\n", D.conc, D.expect);
		printf("  window          %.2f s (after %.2f s warm-up)\n", r->window_s,
		       (double)D.warmup_ns / 1e9);
		printf("  requests/s      %.0f answered as expected (%" PRIu64 " in the window)\n",
		       rate, st->ok_win);
		printf("  latency us      p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f "
		       "(request written -> answer read)\n", us(bench_hist_percentile(&D.lat, 50)),
		       us(bench_hist_percentile(&D.lat, 90)), us(bench_hist_percentile(&D.lat, 99)),
		       us(bench_hist_percentile(&D.lat, 99.9)), us(D.lat.total ? D.lat.max : 0));
		printf("  requests        sent %" PRIu64 ", answered %" PRIu64 ", as expected %"
		       PRIu64 "\n", st->sent, st->answers, st->ok);
		printf("  errors          %" PRIu64 ": not 200 %" PRIu64 " (first %d), other "
		       "Result-Code %" PRIu64 " (first %lld), no result_code %" PRIu64
		       ", time-outs %" PRIu64 ", connections lost %" PRIu64 ", bad answers %" PRIu64
		       "\n", errors(st), st->non_200, st->first_status, st->wrong_result,
		       st->first_result, st->no_result, st->timeouts, st->conn_lost, st->bad_answers);
		if (st->first_error[0])
			printf("  first error     %s\n", st->first_error);
		if (!st->ok_win)
			printf("  CPU             no good answer in the window: no figure per request\n");
		printf("  CPU generator   %.2f us/request (%.0f %% of a core)\n", gen_us,
		       m->gen_cores * 100);
		if (D.sut_pid > 0) {
			printf("  CPU rcsgw       %.2f us/request (%.0f %% of a core, pid %d", sut_us,
			       m->sut_cores * 100, (int)D.sut_pid);
			printf(")\n  CPU per thread ");
			for (unsigned i = 0; i < r->thr.n; i++)
				printf(" %s %.2f us (%.0f %%)", r->thr.u[i].name, thr_us(r, i),
				       r->thr.u[i].cores * 100);
			printf("\n");
		}
		if (D.peer_pid > 0)
			printf("  CPU peer        %.2f us/request (%.0f %% of a core, pid %d)\n", p_us,
			       m->peer_cores * 100, (int)D.peer_pid);
		printf("  CPU others      %.2f cores (machine-wide %.2f)\n", bench_meter_others(m),
		       m->machine_cores);
		return;
	}
	json_t *o = json_object();
	char k[64];
	json_object_set_new(o, "mode", json_string("dm-request"));
	json_object_set_new(o, "api", json_string(D.api));
	json_object_set_new(o, "backend", json_string(r->backend));
	JI(o, "concurrency", D.conc);
	JI(o, "rate", D.rate);
	JI(o, "expect_result", D.expect);
	json_object_set_new(o, "warmup_s", json_real((double)D.warmup_ns / 1e9));
	json_object_set_new(o, "window_s", json_real(r->window_s));
	JI(o, "requests", st->ok_win);
	json_object_set_new(o, "requests_per_s", json_real(rate));
	for (unsigned i = 0; i < sizeof(ps) / sizeof(ps[0]); i++) {
		snprintf(k, sizeof(k), "lat_%s_us", ps[i].name);
		json_object_set_new(o, k, json_real(us(bench_hist_percentile(&D.lat, ps[i].p))));
	}
	json_object_set_new(o, "lat_max_us", json_real(us(D.lat.total ? D.lat.max : 0)));
	json_object_set_new(o, "lat_mean_us", json_real(bench_hist_mean(&D.lat) / 1000.0));
	JI(o, "sent", st->sent);
	JI(o, "answered", st->answers);
	JI(o, "ok_total", st->ok);
	JI(o, "errors", errors(st));
	JI(o, "non_200", st->non_200);
	JI(o, "first_status", st->first_status);
	JI(o, "wrong_result", st->wrong_result);
	JI(o, "first_result", st->first_result);
	JI(o, "no_result", st->no_result);
	JI(o, "timeouts", st->timeouts);
	JI(o, "conn_errors", st->conn_lost);
	JI(o, "bad_answers", st->bad_answers);
	JI(o, "http_reconnects", st->reconnects);
	json_object_set_new(o, "first_error", st->first_error[0] ? json_string(st->first_error)
								  : json_null());
	json_object_set_new(o, "gen_cpu_us_per_req", num_or_null(gen_us));
	json_object_set_new(o, "gen_cpu_cores", num_or_null(m->gen_cores));
	json_object_set_new(o, "sut_pid", D.sut_pid > 0 ? json_integer(D.sut_pid) : json_null());
	json_object_set_new(o, "sut_cpu_us_per_req", D.sut_pid > 0 ? num_or_null(sut_us)
								    : json_null());
	json_object_set_new(o, "sut_cpu_cores", D.sut_pid > 0 ? num_or_null(m->sut_cores)
							       : json_null());
	for (unsigned i = 0; i < r->thr.n; i++) {
		snprintf(k, sizeof(k), "sut_thread_%s_cores", r->thr.u[i].name);
		json_object_set_new(o, k, json_real(r->thr.u[i].cores));
		snprintf(k, sizeof(k), "sut_thread_%s_us_per_req", r->thr.u[i].name);
		json_object_set_new(o, k, num_or_null(thr_us(r, i)));
	}
	json_object_set_new(o, "peer_pid", D.peer_pid > 0 ? json_integer(D.peer_pid)
							   : json_null());
	json_object_set_new(o, "peer_cpu_us_per_req", num_or_null(p_us));
	json_object_set_new(o, "peer_cpu_cores", D.peer_pid > 0 ? num_or_null(m->peer_cores)
								 : json_null());
	json_object_set_new(o, "machine_cores", num_or_null(m->machine_cores));
	json_object_set_new(o, "others_cores", m->machine_cores >= 0
						       ? json_real(bench_meter_others(m))
						       : json_null());
	json_object_set_new(o, "interrupted", json_boolean(r->signalled));
	char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
	json_decref(o);
	if (s)
		puts(s);
	free(s);
}

/* The request, built once: --body (checked to be a JSON object, sent compact) or the UDR.
 * 0, or -1 (said why). */
static int build_request(void)
{
	char auth[300] = "";
	json_error_t je;
	json_t *j = json_loads(D.body_opt ? D.body_opt : default_body, 0, &je);
	if (!j || !json_is_object(j)) {
		fprintf(stderr, "rcsbench dm-request: --body is not a JSON object%s%s\n",
			j ? "" : ": ", j ? "" : je.text);
		json_decref(j);
		return -1;
	}
	char *body = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(j);
	if (!body || strlen(body) > BODY_MAX) {
		fprintf(stderr, "rcsbench dm-request: the body is longer than %d bytes\n", BODY_MAX);
		free(body);
		return -1;
	}
	if (D.token)
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", D.token);
	size_t blen = strlen(body), cap = blen + 1024;
	if (!(D.req = malloc(cap))) {
		free(body);
		return -1;
	}
	int n = snprintf(D.req, cap, "POST /v1/diameter/requests HTTP/1.1\r\nHost: %s\r\n%s"
			 "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s", D.api,
			 auth, blen, body);
	free(body);
	if (n < 0 || (size_t)n >= cap)
		return -1;
	D.req_len = (size_t)n;
	return 0;
}

static int setup_run(void)
{
	if (!(D.slots = calloc(D.conc, sizeof(*D.slots))) || bench_hist_init(&D.lat) < 0) {
		fprintf(stderr, "rcsbench: out of memory\n");
		return -1;
	}
	for (uint64_t i = 0; i < D.conc; i++)
		if (!(D.slots[i].rx = malloc(HTTP_RX_CAP))) {
			fprintf(stderr, "rcsbench: out of memory\n");
			return -1;
		}
	return 0;
}

static void teardown(void)
{
	for (uint64_t i = 0; D.slots && i < D.conc; i++)
		free(D.slots[i].rx);
	free(D.slots);
	free(D.req);
	bench_hist_free(&D.lat);
}

/* Waits until <done>() or <deadline>. 1 done, 0 deadline, -1 signal. */
static int wait_for(int (*done)(void), uint64_t deadline)
{
	for (;;) {
		if (done())
			return 1;
		uint64_t now = bench_now_ns();
		if (now >= deadline)
			return 0;
		uint64_t until = now + 2000000u < deadline ? now + 2000000u : deadline;
		if (bench_signals_wait_until(until))
			return -1;
	}
}

static int all_connected(void) { return atomic_load(&D.a_connected) == D.conc; }
static int none_busy(void) { return atomic_load(&D.a_busy) == 0; }

static int run(void)
{
	char err[256];
	int rc = 1, sig = 0;
	struct dm_result r = { .m.machine_cores = -1, .m.gen_ns = -1, .m.sut_ns = -1,
			       .m.gen_cores = -1, .m.sut_cores = -1, .m.peer_cores = -1 };
	struct thr_snap *t0 = calloc(2, sizeof(*t0)), *t1 = t0 ? t0 + 1 : NULL;
	eng_engine *e = NULL;

	atomic_store(&D.win_start, UINT64_MAX);
	atomic_store(&D.win_end, UINT64_MAX);
	if (!t0 || setup_run() < 0)
		goto out;
	if (D.sut_pid > 0 && bench_cpu_ns(D.sut_pid) < 0) {
		fprintf(stderr, "rcsbench: cannot read /proc/%d/task/*/schedstat\n", (int)D.sut_pid);
		goto out;
	}
	if (D.peer_pid > 0 && bench_cpu_ns(D.peer_pid) < 0) {
		fprintf(stderr, "rcsbench: cannot read /proc/%d/task/*/schedstat\n",
			(int)D.peer_pid);
		goto out;
	}
	bench_signals_block();
	D.cfg.workers = 1;
	if (!(e = eng_create(&D.cfg, err, sizeof(err)))) {
		fprintf(stderr, "rcsbench: %s\n", err);
		goto out;
	}
	r.backend = eng_backend_name(e);
	if (eng_start(e, dm_init, NULL) < 0) {
		fprintf(stderr, "rcsbench: cannot start the worker\n");
		goto out;
	}
	int up = wait_for(all_connected, bench_now_ns() + 10000000000ull);
	if (up <= 0) {
		if (up == 0)
			fprintf(stderr, "rcsbench: %" PRIu64 " of %" PRIu64 " connections to %s up\n",
				(uint64_t)atomic_load(&D.a_connected), D.conc, D.api);
		goto out;
	}
	uint64_t ws = bench_now_ns() + D.warmup_ns, we = ws + D.duration_ns;
	atomic_store(&D.win_start, ws);
	atomic_store(&D.win_end, we);
	if (eng_post(eng_worker_at(e, 0), cmd_go, NULL, 0) < 0) {
		fprintf(stderr, "rcsbench: cannot reach the worker\n");
		goto out;
	}
	r.m = (struct bench_meter){ .sut = &D.sut_pid, .nsut = D.sut_pid > 0, .peer = D.peer_pid,
				    .gen_ns = -1, .sut_ns = -1, .gen_cores = -1, .sut_cores = -1,
				    .peer_cores = -1, .machine_cores = -1 };
	sig = bench_signals_wait_until(ws) != 0;
	if (!sig) {
		if (D.sut_pid > 0)
			thr_read(D.sut_pid, t0);
		bench_meter_begin(&r.m);
		sig = bench_signals_wait_until(we) != 0;
		bench_meter_end(&r.m);
		if (D.sut_pid > 0) {
			thr_read(D.sut_pid, t1);
			thr_diff(t0, t1, r.m.secs, &r.thr);
		}
	}
	uint64_t tend = bench_now_ns();
	if (sig && tend < we)
		atomic_store(&D.win_end, tend > ws ? tend : ws);
	r.window_s = tend > ws ? (double)((tend < we ? tend : we) - ws) / 1e9 : 0;
	atomic_store(&D.stop_new, 1);
	if (!sig)
		sig = wait_for(none_busy, bench_now_ns() + D.timeout_ns + 1000000000u) < 0;
	r.signalled = sig;
	atomic_store(&D.stopping, 1);
	eng_destroy(e);
	e = NULL;

	r.st = D.st;
	report(&r);
	fflush(stdout);
	rc = errors(&r.st) ? 3 : 0;
	if (!r.st.ok_win) {
		fprintf(stderr, "rcsbench: nothing answered as expected inside the window\n");
		rc = 1;
	}
	if (sig)
		rc = 1;
out:
	atomic_store(&D.stopping, 1);
	eng_destroy(e);
	teardown();
	free(t0);
	return rc;
}

/* ---- command line ------------------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: rcsbench dm-request --api HOST:PORT --conc N --duration SEC [--warmup SEC]\n"
		"         [--rate REQS_PER_SEC] [--timeout SEC] [--expect-result CODE] [--body JSON]\n"
		"         [--token T]\n"
		"         [--sut-pid PID] [--peer-pid PID] [--json] [--backend B] [--no-pin]\n"
		"N keep-alive HTTP connections to rcsgw's API (--concurrency is the same), one\n"
		"POST /v1/diameter/requests in flight on each: a closed loop. Each answer must be 200\n"
		"with \"result_code\" CODE (3002 by default: freeDiameterd without an Sh extension).\n"
		"The body is --body, or an Sh UDR for sip:alice@test.local. Requests/s and latency\n"
		"count the good answers inside the window (after --warmup, 1 s, for --duration);\n"
		"--timeout (10 s): a request unanswered so long is an error. --sut-pid: rcsgw's CPU\n"
		"per request (and per thread); --peer-pid: the Diameter peer's. Exit 0; 3 when a\n"
		"request failed; 1 failure or nothing answered; 2 bad arguments. --rate: at most\n"
		"that many requests/s (paced, still one in flight per connection).\n");
}

static int parse(int argc, char **argv)
{
	eng_config_defaults(&D.cfg);
	D.warmup_ns = 1000000000u;
	D.timeout_ns = 10000000000ull;
	D.expect = 3002;
	D.conc = 1;
	uint64_t expect = 3002;
	const struct bench_opt opts[] = {
		{ "api", BENCH_OPT_HOSTPORT, &D.api, 0, 0, NULL },
		{ "conc", BENCH_OPT_U64, &D.conc, 1, MAX_CONC, NULL },
		{ "concurrency", BENCH_OPT_U64, &D.conc, 1, MAX_CONC, NULL },
		{ "duration", BENCH_OPT_DURATION, &D.duration_ns, 1, UINT64_MAX, NULL },
		{ "rate", BENCH_OPT_U64, &D.rate, 1, 100000000, NULL },
		{ "warmup", BENCH_OPT_DURATION, &D.warmup_ns, 0, UINT64_MAX, NULL },
		{ "timeout", BENCH_OPT_DURATION, &D.timeout_ns, 1000000, UINT64_MAX, NULL },
		{ "expect-result", BENCH_OPT_U64, &expect, 1, 0xffffffffu, NULL },
		{ "body", BENCH_OPT_STR, &D.body_opt, 0, 0, NULL },
		{ "token", BENCH_OPT_STR, &D.token, 0, 0, NULL },
		{ "sut-pid", BENCH_OPT_FN, &D.sut_pid, 0, 0, bench_parse_pid },
		{ "peer-pid", BENCH_OPT_FN, &D.peer_pid, 0, 0, bench_parse_pid },
		{ "json", BENCH_OPT_FLAG, &D.json, 0, 0, NULL },
		{ "backend", BENCH_OPT_BACKEND, &D.cfg.backend, 0, 0, NULL },
		{ "no-pin", BENCH_OPT_UNFLAG, &D.cfg.pin, 0, 0, NULL },
	};
	int rc = bench_opts_parse("rcsbench", argc, argv, opts, sizeof(opts) / sizeof(opts[0]));
	if (rc == 1)
		usage(stdout);
	else if (rc)
		usage(stderr);
	D.expect = (int64_t)expect;
	return rc;
}

int bench_dm_main(int argc, char **argv)
{
	memset(&D, 0, sizeof(D));
	int rc = parse(argc, argv);
	if (rc)
		return rc == 1 ? 0 : rc;
	if (!D.api || !D.duration_ns) {
		fprintf(stderr, "rcsbench %s: --api and --duration are required\n", argv[0]);
		return 2;
	}
	if (D.token && (strlen(D.token) > 200 || strpbrk(D.token, "\r\n"))) {
		fprintf(stderr, "rcsbench %s: --token is too long or has a line break\n", argv[0]);
		return 2;
	}
	if (build_request() < 0) {
		free(D.req);
		return 2;
	}
	return run();
}

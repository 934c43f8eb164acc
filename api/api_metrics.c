/* api_metrics.c — GET /metrics in the Prometheus text exposition format 0.0.4.
 *
 * Per-worker families (the engine's counters and those registered with
 * api_metrics_register_worker) are read by each worker on its own thread in one gather, then
 * written family by family with a worker="<index>" label. Process-wide families (build info,
 * uptime, the api's own counters, api_metrics_register emitters) are written on the api
 * thread. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/api_idem.h"
#include "common/cm_hist.h"
#include "engine/eng.h"

/* ---- the text being written ----------------------------------------------------------------- */

struct api_metrics_out {
	char *p;
	size_t len, cap;
	int oom;
};

__attribute__((format(printf, 2, 3)))
static void out_printf(struct api_metrics_out *o, const char *fmt, ...)
{
	va_list ap;

	if (o->oom)
		return;
	for (;;) {
		size_t room = o->cap - o->len;
		va_start(ap, fmt);
		int n = vsnprintf(o->p ? o->p + o->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			o->oom = 1;
			return;
		}
		if ((size_t)n < room) {
			o->len += (size_t)n;
			return;
		}
		size_t cap = o->cap ? o->cap * 2 : 16384;
		while (cap - o->len <= (size_t)n)
			cap *= 2;
		char *np = realloc(o->p, cap);
		if (!np) {
			o->oom = 1;
			return;
		}
		o->p = np;
		o->cap = cap;
	}
}

/* Appends <s> with the escapes of <what>: 'h' for HELP text (\\ and \n), 'l' for label
 * values (\\, \" and \n). */
static void out_escaped(struct api_metrics_out *o, const char *s, char what)
{
	for (; *s; s++) {
		if (*s == '\\')
			out_printf(o, "\\\\");
		else if (*s == '\n')
			out_printf(o, "\\n");
		else if (*s == '"' && what == 'l')
			out_printf(o, "\\\"");
		else
			out_printf(o, "%c", *s);
	}
}

static int name_ok(const char *s, int label)
{
	if (!s || !*s)
		return 0;
	for (const char *c = s; *c; c++) {
		int alpha = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || *c == '_' ||
			    (*c == ':' && !label);
		if (!alpha && !(c > s && *c >= '0' && *c <= '9'))
			return 0;
	}
	return 1;
}

static int type_ok(const char *t)
{
	return t && (strcmp(t, "counter") == 0 || strcmp(t, "gauge") == 0 ||
		     strcmp(t, "histogram") == 0 || strcmp(t, "untyped") == 0);
}

void api_metrics_family(struct api_metrics_out *o, const char *name, const char *type,
			const char *help)
{
	if (!name_ok(name, 0) || !type_ok(type))
		return;
	out_printf(o, "# HELP %s ", name);
	out_escaped(o, help ? help : "", 'h');
	out_printf(o, "\n# TYPE %s %s\n", name, type);
}

static void out_value(struct api_metrics_out *o, double v)
{
	if (isnan(v))
		out_printf(o, "NaN\n");
	else if (isinf(v))
		out_printf(o, "%s\n", v > 0 ? "+Inf" : "-Inf");
	else if (v == floor(v) && fabs(v) < 9007199254740992.0)
		out_printf(o, "%.0f\n", v);
	else
		out_printf(o, "%.17g\n", v);
}

void api_metrics_sample(struct api_metrics_out *o, const char *name,
			const char *const *labels, double value)
{
	if (!name_ok(name, 0))
		return;
	for (const char *const *l = labels; l && l[0]; l += 2)
		if (!name_ok(l[0], 1) || !l[1])
			return;
	out_printf(o, "%s", name);
	for (const char *const *l = labels; l && l[0]; l += 2) {
		out_printf(o, "%s%s=\"", l == labels ? "{" : ",", l[0]);
		out_escaped(o, l[1], 'l');
		out_printf(o, "\"");
	}
	out_printf(o, "%s ", labels && labels[0] ? "}" : "");
	out_value(o, value);
}

/* ---- registrations -------------------------------------------------------------------------- */

#define METRICS_REG_MAX 32

struct worker_src {
	const struct api_metric_def *defs; /* or: */
	const struct api_metric_series *ser;
	const struct api_metric_hist *hist; /* (<nrows> rows, API_HIST_VALS values each) */
	unsigned n;                /* values the collect writes */
	unsigned nrows;            /* hist: its rows */
	api_metrics_worker_fn collect;
	void *arg;
};

struct emit_src {
	api_metrics_emit_fn emit;
	void *arg;
};

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct worker_src wsrc[METRICS_REG_MAX];
static unsigned nwsrc;
static struct emit_src esrc[METRICS_REG_MAX];
static unsigned nesrc;

#define ROWS_MAX 1024
#define ROW_LABELS_MAX 96
static struct api_metric_series made_rows[ROWS_MAX];
static char row_labels[ROWS_MAX][ROW_LABELS_MAX];
static unsigned nrows;

struct api_metric_series *api_metrics_rows(const char *name, const char *type, const char *help,
					   const char *outer_key, const char *const *outer,
					   const char *key, const char *const *vals,
					   unsigned nvals)
{
	unsigned first = nrows, nouter = 0;
	while (outer && outer[nouter])
		nouter++;
	for (unsigned o = 0; o < (nouter ? nouter : 1); o++)
		for (unsigned i = 0; i < nvals; i++) {
			if (nrows == ROWS_MAX)
				return NULL;
			if (nouter)
				snprintf(row_labels[nrows], ROW_LABELS_MAX, "%s=\"%s\",%s=\"%s\"",
					 outer_key, outer[o], key, vals[i]);
			else
				snprintf(row_labels[nrows], ROW_LABELS_MAX, "%s=\"%s\"", key, vals[i]);
			made_rows[nrows] = (struct api_metric_series){ name, type, help,
								row_labels[nrows] };
			nrows++;
		}
	return &made_rows[first];
}

/* Appends <src> to the worker sources. 0 or -ENOSPC. */
static int wsrc_add(struct worker_src src)
{
	int rc = 0;

	pthread_mutex_lock(&reg_lock);
	if (nwsrc == METRICS_REG_MAX)
		rc = -ENOSPC;
	else
		wsrc[nwsrc++] = src;
	pthread_mutex_unlock(&reg_lock);
	return rc;
}

/* The string member at <off> of row <i> of <rows>, rows of <stride> bytes. */
static const char *row_str(const void *rows, size_t stride, unsigned i, size_t off)
{
	const char *p;
	memcpy(&p, (const char *)rows + (size_t)i * stride + off, sizeof(p));
	return p;
}

/* Whether the <n> rows of <rows> (of <stride> bytes, their name first, their label set at
 * <labels_off>) are usable: names in the grammar, labels without a newline or a brace,
 * the rows of one name next to each other. */
static int rows_ok(const void *rows, size_t stride, size_t labels_off, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		const char *name = row_str(rows, stride, i, 0), *l = row_str(rows, stride, i, labels_off);
		if (!name_ok(name, 0) || !l || strpbrk(l, "\n{}"))
			return 0;
		/* a name seen before must be the row just before */
		for (unsigned k = 0; i && k + 1 < i; k++)
			if (!strcmp(row_str(rows, stride, k, 0), name) &&
			    strcmp(row_str(rows, stride, i - 1, 0), name))
				return 0;
	}
	return 1;
}

_Static_assert(offsetof(struct api_metric_series, name) == 0, "rows_ok: the name first");
_Static_assert(offsetof(struct api_metric_hist, name) == 0, "rows_ok: the name first");

int api_metrics_register_worker(const struct api_metric_def *defs, unsigned n,
				api_metrics_worker_fn collect, void *arg)
{
	if (!defs || n == 0 || n > 1024 || !collect)
		return -EINVAL;
	for (unsigned i = 0; i < n; i++)
		if (!name_ok(defs[i].name, 0) || !type_ok(defs[i].type))
			return -EINVAL;
	return wsrc_add((struct worker_src){ .defs = defs, .n = n, .collect = collect,
					     .arg = arg });
}

int api_metrics_register_worker_series(const struct api_metric_series *ser, unsigned n,
				       api_metrics_worker_fn collect, void *arg)
{
	if (!ser || n == 0 || n > 1024 || !collect ||
	    !rows_ok(ser, sizeof(*ser), offsetof(struct api_metric_series, labels), n))
		return -EINVAL;
	for (unsigned i = 0; i < n; i++)
		if (!type_ok(ser[i].type))
			return -EINVAL;
	return wsrc_add((struct worker_src){ .ser = ser, .n = n, .collect = collect,
					     .arg = arg });
}

int api_metrics_register_worker_hist(const struct api_metric_hist *hist, unsigned n,
				     api_metrics_worker_fn collect, void *arg)
{
	if (!hist || n == 0 || n > 64 || !collect ||
	    !rows_ok(hist, sizeof(*hist), offsetof(struct api_metric_hist, labels), n))
		return -EINVAL;
	return wsrc_add((struct worker_src){ .hist = hist, .n = n * API_HIST_VALS, .nrows = n,
					     .collect = collect, .arg = arg });
}

void api_metrics_hist_put(uint64_t *vals, const struct cm_hist *h)
{
	_Static_assert(sizeof(*h) == API_HIST_VALS * sizeof(uint64_t), "a cm_hist is its values");
	memcpy(vals, h, sizeof(*h));
}

int api_metrics_register(api_metrics_emit_fn emit, void *arg)
{
	int rc = 0;

	if (!emit)
		return -EINVAL;
	pthread_mutex_lock(&reg_lock);
	if (nesrc == METRICS_REG_MAX)
		rc = -ENOSPC;
	else
		esrc[nesrc++] = (struct emit_src){ emit, arg };
	pthread_mutex_unlock(&reg_lock);
	return rc;
}

/* ---- GET /metrics ---------------------------------------------------------------------------- */

/* What one scrape asks the workers: the registrations as they were when it began. */
struct scrape {
	unsigned nsrc;
	unsigned nvals;            /* values of all sources, per worker */
	struct worker_src src[METRICS_REG_MAX];
};

/* The connections of rcsgw_connections: by transport, protocol and direction. */
static const char *const conn_transports[] = { "tcp", "tls", "ws", "wss" };
static const char *const conn_protocols[] = { "msrp", "sip", "diameter", "unknown" };
#define NTRANSPORTS 4
#define NPROTOCOLS 4

/* A worker's slot: its engine counters, its connections, then scrape.nvals values. */
struct scrape_slot {
	struct eng_stats st;
	uint32_t conns[NTRANSPORTS][NPROTOCOLS][2];
	uint64_t vals[];
};

static unsigned index_of(const char *const *v, unsigned n, const char *s)
{
	unsigned i = 0;
	while (i + 1 < n && strcmp(v[i], s))
		i++;
	return i; /* the last one for anything else */
}

static void count_conn(eng_conn *c, void *arg)
{
	struct scrape_slot *s = arg;
	struct eng_conn_desc d = { 0 };
	if (c->ops && c->ops->describe)
		c->ops->describe(c, &d);
	unsigned t = index_of(conn_transports, NTRANSPORTS,
			      d.transport ? d.transport : c->tls ? "tls" : "tcp");
	unsigned p = index_of(conn_protocols, NPROTOCOLS, d.protocol ? d.protocol : "unknown");
	s->conns[t][p][(c->flags & ENG_CF_OUTBOUND) != 0]++;
}

static void scrape_collect(eng_worker *w, void *slot, void *arg)
{
	struct scrape_slot *s = slot;
	const struct scrape *sc = arg;
	unsigned at = 0;

	eng_worker_stats(w, &s->st);
	eng_conns_each(w, count_conn, s);
	for (unsigned i = 0; i < sc->nsrc; i++) {
		sc->src[i].collect(w, s->vals + at, sc->src[i].arg);
		at += sc->src[i].n;
	}
}

static void scrape_cleanup(struct api_gather *g)
{
	free(api_gather_arg(g));
}

static void worker_family(struct api_metrics_out *o, struct api_gather *g, const char *name,
			  const char *type, const char *help, size_t stats_off, long val_idx)
{
	char idx[16];

	api_metrics_family(o, name, type, help);
	for (unsigned i = 0; i < api_gather_n(g); i++) {
		const struct scrape_slot *s = api_gather_slot(g, i);
		uint64_t v;
		if (val_idx >= 0)
			v = s->vals[val_idx];
		else
			memcpy(&v, (const char *)&s->st + stats_off, sizeof(v));
		snprintf(idx, sizeof(idx), "%u", i);
		/* the exact integer, not a double: counters pass 2^53 in long runs */
		out_printf(o, "%s{worker=\"%s\"} %" PRIu64 "\n", name, idx, v);
	}
}

/* The histograms of <src>, whose values start at <at> in every slot: each row summed over
 * the workers, its buckets made cumulative. */
static void hist_families(struct api_metrics_out *o, struct api_gather *g,
			  const struct worker_src *src, long at)
{
	for (unsigned k = 0; k < src->nrows; k++) {
		const struct api_metric_hist *x = &src->hist[k];
		struct cm_hist h = { 0 };
		for (unsigned w = 0; w < api_gather_n(g); w++) {
			const struct scrape_slot *s = api_gather_slot(g, w);
			const uint64_t *v = s->vals + at + (long)k * API_HIST_VALS;
			for (unsigned b = 0; b <= CM_HIST_BOUNDS; b++)
				h.bucket[b] += v[b];
			h.sum_us += v[CM_HIST_BOUNDS + 1];
		}
		if (k == 0 || strcmp(src->hist[k - 1].name, x->name))
			api_metrics_family(o, x->name, "histogram", x->help);
		const char *sep = x->labels[0] ? "," : "";
		uint64_t cum = 0;
		for (unsigned b = 0; b <= CM_HIST_BOUNDS; b++) {
			cum += h.bucket[b];
			if (b < CM_HIST_BOUNDS)
				out_printf(o, "%s_bucket{%s%sle=\"%g\"} %" PRIu64 "\n", x->name,
					   x->labels, sep, (double)cm_hist_le_us(b) / 1e6, cum);
			else
				out_printf(o, "%s_bucket{%s%sle=\"+Inf\"} %" PRIu64 "\n", x->name,
					   x->labels, sep, cum);
		}
		out_printf(o, "%s_sum%s%s%s ", x->name, x->labels[0] ? "{" : "", x->labels,
			   x->labels[0] ? "}" : "");
		out_value(o, (double)h.sum_us / 1e6);
		out_printf(o, "%s_count%s%s%s %" PRIu64 "\n", x->name, x->labels[0] ? "{" : "",
			   x->labels, x->labels[0] ? "}" : "", cum);
	}
}

static void scrape_render(struct api_req *r, struct api_gather *g)
{
	const struct scrape *sc = api_gather_arg(g);
	struct api_metrics_out o = { 0 };
	eng_engine *e = api__engine();
	const struct api__counters *cnt = api__counters();
	size_t nf;
	const struct api__stat_field *f = api__stat_fields(&nf);
	char code[8];

	api_metrics_family(&o, "rcsgw_build_info", "gauge",
			   "Version and I/O backend of this rcsgw; the value is always 1.");
	api_metrics_sample(&o, "rcsgw_build_info",
			   (const char *const[]){ "version", RCSGW_VERSION, "backend",
						  eng_backend_name(e), NULL },
			   1);
	api_metrics_family(&o, "rcsgw_uptime_seconds", "gauge",
			   "Seconds since the control plane started.");
	api_metrics_sample(&o, "rcsgw_uptime_seconds", NULL, (double)api__uptime_ms() / 1000.0);
	api_metrics_family(&o, "rcsgw_engine_workers", "gauge", "Engine worker threads.");
	api_metrics_sample(&o, "rcsgw_engine_workers", NULL, api_gather_n(g));

	for (size_t k = 0; k < nf; k++)
		worker_family(&o, g, f[k].metric, f[k].type, f[k].help, f[k].off, -1);
	long at = 0;
	for (unsigned i = 0; i < sc->nsrc; i++) {
		if (sc->src[i].hist) {
			hist_families(&o, g, &sc->src[i], at);
			at += sc->src[i].n;
			continue;
		}
		for (unsigned k = 0; k < sc->src[i].n; k++, at++) {
			if (sc->src[i].defs) {
				worker_family(&o, g, sc->src[i].defs[k].name, sc->src[i].defs[k].type,
					      sc->src[i].defs[k].help, 0, at);
				continue;
			}
			const struct api_metric_series *x = &sc->src[i].ser[k];
			if (k == 0 || strcmp(sc->src[i].ser[k - 1].name, x->name))
				api_metrics_family(&o, x->name, x->type, x->help);
			for (unsigned w = 0; w < api_gather_n(g); w++) {
				const struct scrape_slot *s = api_gather_slot(g, w);
				out_printf(&o, "%s{%s%sworker=\"%u\"} %" PRIu64 "\n", x->name,
					   x->labels, x->labels[0] ? "," : "", w, s->vals[at]);
			}
		}
	}

	/* connections by transport, protocol and direction, the workers' summed (every
	 * combination, 0 included: a series that vanished could not be alerted on) */
	api_metrics_family(&o, "rcsgw_connections", "gauge",
			   "TCP connections open now, by transport, protocol and direction.");
	for (unsigned t = 0; t < NTRANSPORTS; t++)
		for (unsigned p = 0; p < NPROTOCOLS; p++)
			for (unsigned d = 0; d < 2; d++) {
				uint64_t n = 0;
				for (unsigned w = 0; w < api_gather_n(g); w++)
					n += ((const struct scrape_slot *)api_gather_slot(g, w))
						     ->conns[t][p][d];
				api_metrics_sample(&o, "rcsgw_connections",
						   (const char *const[]){
							   "transport", conn_transports[t],
							   "protocol", conn_protocols[p],
							   "direction", d ? "out" : "in",
							   NULL },
						   (double)n);
			}

	api_metrics_family(&o, "rcsgw_api_requests_total", "counter",
			   "HTTP requests answered by the REST API, by status code.");
	for (unsigned c = 100; c < 600; c++) {
		if (!cnt->by_code[c])
			continue;
		snprintf(code, sizeof(code), "%u", c);
		out_printf(&o, "rcsgw_api_requests_total{code=\"%s\"} %" PRIu64 "\n", code,
			   cnt->by_code[c]);
	}
	api_metrics_family(&o, "rcsgw_api_request_duration_seconds", "histogram",
			   "Time from a request's arrival to its answer being queued (event streams "
			   "apart).");
	uint64_t cum = 0;
	for (unsigned b = 0; b <= API_LAT_BUCKETS; b++) {
		char le[32];
		cum += cnt->lat_bucket[b];
		if (b < API_LAT_BUCKETS)
			snprintf(le, sizeof(le), "%g", api__lat_bounds[b]);
		else
			snprintf(le, sizeof(le), "+Inf");
		api_metrics_sample(&o, "rcsgw_api_request_duration_seconds_bucket",
				   (const char *const[]){ "le", le, NULL }, (double)cum);
	}
	api_metrics_sample(&o, "rcsgw_api_request_duration_seconds_sum", NULL, cnt->lat_sum);
	api_metrics_sample(&o, "rcsgw_api_request_duration_seconds_count", NULL,
			   (double)cnt->lat_count);
	api_metrics_family(&o, "rcsgw_api_worker_timeouts_total", "counter",
			   "API requests answered 503 because a worker did not answer in time.");
	api_metrics_sample(&o, "rcsgw_api_worker_timeouts_total", NULL,
			   (double)cnt->gather_timeouts);
	api_metrics_family(&o, "rcsgw_api_mailbox_full_total", "counter",
			   "API requests answered 503 because a worker's mailbox was full.");
	api_metrics_sample(&o, "rcsgw_api_mailbox_full_total", NULL, (double)cnt->gather_refused);
	api_metrics_family(&o, "rcsgw_api_connections", "gauge", "HTTP connections open now.");
	api_metrics_sample(&o, "rcsgw_api_connections", NULL, api__connections());
	api_metrics_family(&o, "rcsgw_api_connections_refused_total", "counter",
			   "HTTP connections closed at once: over api.per_ip_limit, or the "
			   "connections a listen address takes.");
	api_metrics_sample(&o, "rcsgw_api_connections_refused_total", NULL,
			   (double)cnt->conns_refused);

	struct api_idem_stats is;
	api__idem_stats(&is);
	api_metrics_family(&o, "rcsgw_api_idempotent_replays_total", "counter",
			   "Requests answered with the stored answer of their Idempotency-Key.");
	api_metrics_sample(&o, "rcsgw_api_idempotent_replays_total", NULL, (double)is.replays);
	api_metrics_family(&o, "rcsgw_api_idempotency_conflicts_total", "counter",
			   "Requests refused for their Idempotency-Key: used with another request "
			   "(422) or still in progress (409).");
	api_metrics_sample(&o, "rcsgw_api_idempotency_conflicts_total", NULL,
			   (double)(is.mismatches + is.busy));
	api_metrics_family(&o, "rcsgw_api_idempotency_evicted_total", "counter",
			   "Idempotency-Keys forgotten before their time to make room.");
	api_metrics_sample(&o, "rcsgw_api_idempotency_evicted_total", NULL, (double)is.evicted);
	api_metrics_family(&o, "rcsgw_api_idempotency_keys", "gauge",
			   "Idempotency-Keys remembered now.");
	api_metrics_sample(&o, "rcsgw_api_idempotency_keys", NULL, is.keys);

	struct emit_src em[METRICS_REG_MAX];
	unsigned nem;
	pthread_mutex_lock(&reg_lock);
	nem = nesrc;
	memcpy(em, esrc, nem * sizeof(em[0]));
	pthread_mutex_unlock(&reg_lock);
	for (unsigned i = 0; i < nem; i++)
		em[i].emit(&o, em[i].arg);

	if (o.oom) {
		free(o.p);
		api_reply_error(r, 500, "out of memory");
		return;
	}
	api_reply_text(r, 200, "text/plain; version=0.0.4; charset=utf-8", o.p, o.len);
}

void api__h_metrics(struct api_req *r)
{
	struct scrape *sc = calloc(1, sizeof(*sc));

	if (!sc) {
		api_reply_error(r, 500, "out of memory");
		return;
	}
	pthread_mutex_lock(&reg_lock);
	sc->nsrc = nwsrc;
	memcpy(sc->src, wsrc, nwsrc * sizeof(wsrc[0]));
	pthread_mutex_unlock(&reg_lock);
	for (unsigned i = 0; i < sc->nsrc; i++)
		sc->nvals += sc->src[i].n;
	size_t slot = sizeof(struct scrape_slot) + (size_t)sc->nvals * sizeof(uint64_t);
	if (api_gather(r, slot, scrape_collect, scrape_render, scrape_cleanup, sc) < 0)
		free(sc);
}

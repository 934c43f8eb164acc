/* api_conns.c — the engine's TCP connections (engine/eng.h, eng_conn_info):
 *
 *   GET    /v1/connections        every worker's, filtered by ?transport= ?protocol= ?peer=
 *                                  ?worker= ?direction= (in|out), at most ?limit= (default
 *                                  1000, at most 100000), with "total" before the limit
 *   GET    /v1/connections/{id}   one, by its id "<worker>-<slot>-<generation>"
 *   DELETE /v1/connections/{id}   aborts it (its owner hears the close: an MSRP
 *                                  connection's sessions end), 204, and says so in the
 *                                  reports of the group "engine"
 *
 * Each worker reads its own connections on its thread (api_gather, api_ask); the answer is
 * written on the api thread from copies. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "common/cm_sr.h"
#include "engine/eng.h"
#include "engine/eng_profile.h"

#define CONNS_LIMIT_DEFAULT 1000
#define CONNS_LIMIT_MAX     100000

struct filter {
	char transport[8];
	char protocol[16];
	char direction[4];
	char peer[64];             /* a prefix of "addr:port" ("[v6]:port") */
	unsigned limit;            /* per worker: the render keeps the first <limit> overall */
	/* one connection */
	uint32_t idx, gen;
	int del;
};

/* One connection, copied on its worker: the addresses as text, the profile by its text. */
struct row {
	struct eng_conn_info i;
	char local[64], remote[64];
	char profile[ENG_PROFILE_TEXT];
};

struct slot {
	struct row *rows;          /* malloc'ed on the worker, freed by the cleanup */
	unsigned n, total;
	int found;
};

static void addr_text(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	if (ss->ss_family)
		eng_sockaddr_str(ss, buf, len);
	else
		snprintf(buf, len, "?");
}

static void row_fill(eng_conn *c, struct row *r)
{
	eng_conn_info(c, &r->i);
	addr_text(&r->i.local, r->local, sizeof(r->local));
	addr_text(&r->i.remote, r->remote, sizeof(r->remote));
	const struct eng_profile *p = eng_conn_profile(c);
	snprintf(r->profile, sizeof(r->profile), "%s", p ? p->text : "");
}

static int row_matches(const struct row *r, const struct filter *f)
{
	return (!f->transport[0] || !strcmp(f->transport, r->i.transport)) &&
	       (!f->protocol[0] || !strcmp(f->protocol, r->i.protocol)) &&
	       (!f->direction[0] || !strcmp(f->direction, r->i.outbound ? "out" : "in")) &&
	       (!f->peer[0] || !strncmp(r->remote, f->peer, strlen(f->peer)));
}

struct each {
	struct slot *s;
	const struct filter *f;
	unsigned cap;
};

static void list_one(eng_conn *c, void *arg)
{
	struct each *e = arg;
	struct row r;

	row_fill(c, &r);
	if (!row_matches(&r, e->f))
		return;
	e->s->total++;
	if (e->s->n == e->f->limit)
		return;
	if (e->s->n == e->cap) {
		unsigned cap = e->cap ? e->cap * 2 : 64;
		struct row *v = realloc(e->s->rows, cap * sizeof(*v));
		if (!v)
			return; /* listed as far as memory went; "total" still counts */
		e->s->rows = v;
		e->cap = cap;
	}
	e->s->rows[e->s->n++] = r;
}

static void list_collect(eng_worker *w, void *slot, void *arg)
{
	struct each e = { .s = slot, .f = arg };
	eng_conns_each(w, list_one, &e);
}

static void cleanup(struct api_gather *g)
{
	for (unsigned i = 0; i < api_gather_n(g); i++) {
		struct slot *s = api_gather_slot(g, i);
		free(s->rows);
		s->rows = NULL;
	}
	free(api_gather_arg(g));
}

static json_t *row_json(const struct row *r)
{
	char id[48];
	snprintf(id, sizeof(id), "%u-%u-%u", r->i.worker, r->i.idx, r->i.gen);
	return json_pack("{s:s,s:i,s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:i,s:o}",
			 "id", id, "worker", (int)r->i.worker, "protocol", r->i.protocol,
			 "transport", r->i.transport, "direction", r->i.outbound ? "out" : "in",
			 "state", r->i.state, "local", r->local, "remote", r->remote,
			 "age_s", (json_int_t)(r->i.age_ms / 1000),
			 "idle_s", (json_int_t)(r->i.idle_ms / 1000),
			 "bytes_in", (json_int_t)r->i.bytes_in,
			 "bytes_out", (json_int_t)r->i.bytes_out,
			 "sendq_bytes", (json_int_t)r->i.sendq_bytes,
			 "sessions", (int)r->i.sessions,
			 "profile", r->profile[0] ? json_string(r->profile) : json_null());
}

static void list_render(struct api_req *r, struct api_gather *g)
{
	const struct filter *f = api_gather_arg(g);
	json_t *a = json_array();
	unsigned total = 0, listed = 0;

	for (unsigned i = 0; i < api_gather_n(g); i++) {
		const struct slot *s = api_gather_slot(g, i);
		total += s->total;
		for (unsigned k = 0; k < s->n && listed < f->limit; k++, listed++)
			json_array_append_new(a, row_json(&s->rows[k]));
	}
	api_reply_json(r, 200, json_pack("{s:I,s:o}", "total", (json_int_t)total,
					 "connections", a));
}

/* Copies query argument <key> into <buf>; -1 with a 400 answered when it is too long or
 * not one of <allowed> (NULL-terminated, or NULL for any). */
static int query_word(struct api_req *r, const char *key, char *buf, size_t len,
		      const char *const *allowed)
{
	const char *v = api_req_query(r, key);
	if (!v)
		return 0;
	if (strlen(v) >= len) {
		api_reply_error(r, 400, "query %s: at most %zu bytes", key, len - 1);
		return -1;
	}
	for (size_t i = 0; allowed && allowed[i]; i++)
		if (!strcmp(v, allowed[i])) {
			snprintf(buf, len, "%s", v);
			return 0;
		}
	if (allowed) {
		api_reply_error(r, 400, "query %s: \"%s\" is not one of the known values", key, v);
		return -1;
	}
	snprintf(buf, len, "%s", v);
	return 0;
}

void api__h_conns(struct api_req *r)
{
	static const char *const transports[] = { "tcp", "tls", "ws", "wss", NULL };
	static const char *const directions[] = { "in", "out", NULL };
	struct filter *f = calloc(1, sizeof(*f));
	uint64_t limit = CONNS_LIMIT_DEFAULT, worker = UINT64_MAX;

	if (!f) {
		api_reply_error(r, 500, "out of memory");
		return;
	}
	unsigned nw = eng_nworkers(api__engine());
	if (query_word(r, "transport", f->transport, sizeof(f->transport), transports) < 0 ||
	    query_word(r, "protocol", f->protocol, sizeof(f->protocol), NULL) < 0 ||
	    query_word(r, "direction", f->direction, sizeof(f->direction), directions) < 0 ||
	    query_word(r, "peer", f->peer, sizeof(f->peer), NULL) < 0 ||
	    api_query_uint(r, "limit", CONNS_LIMIT_MAX, &limit) < 0 ||
	    api_query_uint(r, "worker", nw - 1, &worker) < 0) {
		free(f);
		return;
	}
	f->limit = (unsigned)limit;
	int rc = worker == UINT64_MAX
			 ? api_gather(r, sizeof(struct slot), list_collect, list_render, cleanup, f)
			 : api_ask(r, (unsigned)worker, sizeof(struct slot), list_collect,
				   list_render, cleanup, f);
	if (rc < 0)
		free(f);
}

/* "<worker>-<slot>-<generation>" into *<w>, <f>->idx, <f>->gen; -1 with a 404 answered. */
static int parse_id(struct api_req *r, const char *id, unsigned *w, struct filter *f)
{
	unsigned long v[3];
	const char *p = id;
	for (int i = 0; i < 3; i++) {
		char *end;
		if (*p < '0' || *p > '9')
			goto bad;
		errno = 0;
		v[i] = strtoul(p, &end, 10);
		if (errno || v[i] > UINT32_MAX || (i < 2 ? *end != '-' : *end != '\0'))
			goto bad;
		p = end + 1;
	}
	if (v[0] >= eng_nworkers(api__engine()))
		goto bad;
	*w = (unsigned)v[0];
	f->idx = (uint32_t)v[1];
	f->gen = (uint32_t)v[2];
	return 0;
bad:
	api_reply_error(r, 404, "no such connection: %s", id);
	return -1;
}

static void one_collect(eng_worker *w, void *slotp, void *arg)
{
	struct slot *s = slotp;
	const struct filter *f = arg;
	eng_conn *c = eng_conn_find(w, f->idx, f->gen);
	if (!c || !(s->rows = malloc(sizeof(*s->rows))))
		return;
	row_fill(c, s->rows);
	s->n = 1;
	s->found = 1;
	if (f->del)
		eng_abort(c, -ECONNABORTED);
}

static void one_render(struct api_req *r, struct api_gather *g)
{
	const struct filter *f = api_gather_arg(g);
	const struct slot *s = api_gather_slot(g, 0);

	if (!s->found) {
		api_reply_error(r, 404, "no such connection: %s", api_req_param(r, "id"));
		return;
	}
	if (!f->del) {
		api_reply_json(r, 200, row_json(s->rows));
		return;
	}
	const struct row *w = s->rows;
	cm_sr_report("engine", CM_LOG_INFO, "connection %s (%s %s, %s %s) closed by the API",
		     api_req_param(r, "id"), w->i.protocol, w->i.transport,
		     w->i.outbound ? "to" : "from", w->remote);
	api_reply_text(r, 204, "application/json", calloc(1, 1), 0);
}

static void one(struct api_req *r, int del)
{
	struct filter *f = calloc(1, sizeof(*f));
	unsigned w;

	if (!f) {
		api_reply_error(r, 500, "out of memory");
		return;
	}
	f->del = del;
	if (parse_id(r, api_req_param(r, "id"), &w, f) < 0 ||
	    api_ask(r, w, sizeof(struct slot), one_collect, one_render, cleanup, f) < 0)
		free(f);
}

void api__h_conn(struct api_req *r)
{
	one(r, 0);
}

void api__h_conn_delete(struct api_req *r)
{
	one(r, 1);
}

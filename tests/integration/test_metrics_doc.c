/* test_metrics_doc.c — docs/metrics.md against the real /metrics (issue 11).
 *
 * rcsgw runs with every subsystem that needs no outside peer: the user agent and its RCS
 * layer, the relay, the page-mode gateway, the contact centre (with one flow and one agent,
 * so that its per-flow and per-agent families are on the page), Diameter without peers,
 * and the cluster on a throw-away redis-server when there is one. /metrics is scraped with
 * the API's token, and:
 *
 *   - every family of the page ("# TYPE <name> <type>") has its row in docs/metrics.md,
 *     "| `<name>` | <type> |", with the type the page says;
 *   - every rcsgw_ name that docs/metrics.md mentions is on the page, or is a string
 *     literal of the daemon's sources (the .c and .h files of the layers and cmd/): a
 *     family removed from the code leaves a stale row that fails too. A name that ends in
 *     '_' is a prefix: some name must start with it.
 *
 * The failure messages list every name at fault. Run from the repository root (as make
 * does): docs/ and the sources are read from there. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/lib/rcsgw_proc.h"
#include "tests/lib/redis_srv.h"

#define HOST  "127.0.0.1"
#define TOKEN "metrics-doc-token"
#define AUTH  "Authorization: Bearer " TOKEN "\r\n"
#define DOC   "docs/metrics.md"

/* Where the daemon's metric names are written: Makefile's LAYERS, and cmd/. */
static const char *const src_dirs[] = {
	"common", "engine", "msrp", "sip", "diameter", "shards", "gateway", "rcs",
	"callcenter", "api", "cmd", NULL,
};

static pid_t gw = -1;
static int api_port;
static struct redis_srv R = { .pid = -1 };

static void down(void)
{
	if (gw > 0)
		rcsgw_stop(gw, SIGKILL, 2000);
	gw = -1;
	redis_srv_stop(&R);
}

TestSuite(metrics_doc, .fini = down, .timeout = 60);

/* ---- a set of names ----------------------------------------------------------------------- */

struct names {
	char **v;
	size_t n, cap;
};

static int names_has(const struct names *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i], name) == 0)
			return 1;
	return 0;
}

/* 1 when a name of <s> starts with <prefix>. */
static int names_has_prefix(const struct names *s, const char *prefix)
{
	size_t len = strlen(prefix);
	for (size_t i = 0; i < s->n; i++)
		if (strncmp(s->v[i], prefix, len) == 0)
			return 1;
	return 0;
}

/* Adds the <len> bytes at <p> (copied) unless they are there already. */
static void names_add(struct names *s, const char *p, size_t len)
{
	char *name = strndup(p, len);
	cr_assert_not_null(name);
	if (names_has(s, name)) {
		free(name);
		return;
	}
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 256;
		s->v = realloc(s->v, s->cap * sizeof(*s->v));
		cr_assert_not_null(s->v);
	}
	s->v[s->n++] = name;
}

static void names_free(struct names *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* Length of the metric name at <p> (Prometheus: [a-zA-Z0-9_:]). */
static size_t name_len(const char *p)
{
	size_t n = 0;
	while ((p[n] >= 'a' && p[n] <= 'z') || (p[n] >= 'A' && p[n] <= 'Z') ||
	       (p[n] >= '0' && p[n] <= '9') || p[n] == '_' || p[n] == ':')
		n++;
	return n;
}

/* ---- files ------------------------------------------------------------------------------ */

/* The whole of <path>, NUL-terminated and malloc'ed, or NULL. */
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, got;
	char chunk[65536];

	if (!f)
		return NULL;
	while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		char *nb = realloc(buf, len + got + 1);
		cr_assert_not_null(nb);
		buf = nb;
		memcpy(buf + len, chunk, got);
		len += got;
	}
	fclose(f);
	if (!buf)
		buf = calloc(1, 1);
	else
		buf[len] = '\0';
	return buf;
}

/* Every string literal "rcsgw_..." that is a whole name, in the .c and .h files of
 * src_dirs, into <out>. */
static void source_names(struct names *out)
{
	for (size_t d = 0; src_dirs[d]; d++) {
		DIR *dir = opendir(src_dirs[d]);
		cr_assert_not_null(dir, "%s/: %s (run the test from the repository root)",
				   src_dirs[d], strerror(errno));
		struct dirent *de;
		while ((de = readdir(dir))) {
			size_t l = strlen(de->d_name);
			if (l < 3 || de->d_name[l - 2] != '.' ||
			    (de->d_name[l - 1] != 'c' && de->d_name[l - 1] != 'h'))
				continue;
			char path[512];
			snprintf(path, sizeof(path), "%s/%s", src_dirs[d], de->d_name);
			char *text = slurp(path);
			cr_assert_not_null(text, "%s: %s", path, strerror(errno));
			for (const char *p = text; (p = strstr(p, "\"rcsgw_")); p++) {
				size_t n = name_len(p + 1);
				if (p[1 + n] == '"')
					names_add(out, p + 1, n);
			}
			free(text);
		}
		closedir(dir);
	}
}

/* ---- the daemon and its page ---------------------------------------------------------------- */

static int api_call(const char *method, const char *path, const char *body, char **resp)
{
	int st = 0;
	int rc = http_request(HOST, api_port, method, path,
			      body ? AUTH "Content-Type: application/json\r\n" : AUTH, body, &st,
			      NULL, resp, 5000);
	cr_assert_eq(rc, 0, "%s %s: %s", method, path, strerror(-rc));
	return st;
}

static int count_families(const char *page)
{
	int n = 0;
	for (const char *p = page; (p = strstr(p, "# TYPE ")); p++)
		n++;
	return n;
}

/* Starts rcsgw with every subsystem that runs here, makes a flow and an agent of the
 * contact centre, and returns /metrics (malloc'ed) once the page has the centre's per-agent
 * samples and the same families twice running (every registration done). */
static char *scrape(void)
{
	static char e[5][96];
	int sip = free_tcp_port(), msrp = free_tcp_port();
	const char *env[32] = {
		("RCSGW_API_TOKENS=" TOKEN), "RCSGW_ENGINE_WORKERS=2", "RCSGW_ENGINE_PIN=false",
		"RCSGW_ENGINE_DRAIN_TIMEOUT=300ms", "RCSGW_LOG_LEVEL=error",
		"RCSGW_UA_ENABLED=true", "RCSGW_RELAY_ENABLED=true", "RCSGW_GATEWAY_ENABLED=true",
		"RCSGW_CC_ENABLED=true", "RCSGW_DIAMETER_ORIGIN_HOST=rcsgw.metrics.test",
		"RCSGW_DIAMETER_PEERS=", "RCSGW_DIAMETER_LISTEN=",
	};
	unsigned n = 12;

	api_port = free_tcp_port();
	cr_assert(api_port > 0 && sip > 0 && msrp > 0);
	snprintf(e[0], sizeof(e[0]), "RCSGW_API_LISTEN=" HOST ":%d", api_port);
	snprintf(e[1], sizeof(e[1]), "RCSGW_SIP_LISTEN=udp:" HOST ":%d,tcp:" HOST ":%d", sip,
		 sip);
	snprintf(e[2], sizeof(e[2]), "RCSGW_MSRP_LISTEN=" HOST ":%d", msrp);
	env[n++] = e[0];
	env[n++] = e[1];
	env[n++] = e[2];
	if (redis_srv_available()) {
		cr_assert_eq(redis_srv_start(&R, 0), 0, "redis-server did not start");
		snprintf(e[3], sizeof(e[3]), "RCSGW_REDIS_URL=redis://%s", R.addr);
		snprintf(e[4], sizeof(e[4]), "RCSGW_CLUSTER_NODE_ID=metrics-doc");
		env[n++] = e[3];
		env[n++] = e[4];
	} else {
		cr_log_warn("no redis-server: the cluster's families are not on the page, their "
			    "rows are checked against the sources only");
	}
	env[n] = NULL;
	gw = rcsgw_spawn(env, NULL, NULL);
	cr_assert_gt(gw, 0, "rcsgw did not start: %s", strerror(-gw));
	cr_assert_eq(wait_port(HOST, api_port, 10000), 0, "the API does not listen");

	/* the page wants the token like the rest of the API */
	int st = 0;
	cr_assert_eq(http_request(HOST, api_port, "GET", "/metrics", NULL, NULL, &st, NULL,
				  NULL, 5000), 0);
	cr_expect_eq(st, 401, "GET /metrics without a token: %d", st);

	cr_assert_eq(api_call("POST", "/v1/cc/flows",
			      "{\"id\":\"docs\",\"skill\":\"en\",\"uri\":\"sip:docs@" HOST "\"}",
			      NULL), 201);
	cr_assert_eq(api_call("POST", "/v1/cc/agents",
			      "{\"id\":\"writer\",\"skills\":[\"en\"],"
			      "\"chat_location\":\"sip:writer@" HOST ":9\"}", NULL), 201);

	char *page = NULL;
	int last = -1;
	for (int i = 0; i < 50; i++) {
		free(page);
		page = NULL;
		cr_assert_eq(api_call("GET", "/metrics", NULL, &page), 200, "GET /metrics: %s",
			     page);
		int now = count_families(page);
		if (now == last && strstr(page, "rcsgw_cc_agent_state{"))
			return page;
		last = now;
		struct timespec ts = { 0, 100 * 1000000L };
		nanosleep(&ts, NULL);
	}
	cr_assert_fail("the contact centre's per-agent samples never came on /metrics");
	return NULL;
}

/* ---- the checks ----------------------------------------------------------------------------- */

Test(metrics_doc, every_family_on_the_page_has_its_row)
{
	char *doc = slurp(DOC);
	cr_assert_not_null(doc, DOC ": %s (run the test from the repository root)",
			   strerror(errno));
	char *page = scrape();
	char *missing = NULL, *mistyped = NULL;
	size_t mlen = 0, tlen = 0;
	FILE *fm = open_memstream(&missing, &mlen), *ft = open_memstream(&mistyped, &tlen);
	cr_assert(fm && ft);
	int nfam = 0, nmiss = 0, ntype = 0;

	for (const char *p = page; (p = strstr(p, "# TYPE ")); p++) {
		const char *name = p + 7;
		size_t nl = name_len(name);
		const char *type = name + nl + 1;
		size_t tl = name_len(type);
		char row[256], want[64];
		snprintf(row, sizeof(row), "| `%.*s` | ", (int)nl, name);
		snprintf(want, sizeof(want), "%.*s |", (int)tl, type);
		nfam++;
		const char *at = strstr(doc, row);
		if (!at) {
			fprintf(fm, "%s%.*s (%.*s)", nmiss++ ? ", " : "", (int)nl, name, (int)tl,
				type);
		} else if (strncmp(at + strlen(row), want, strlen(want)) != 0) {
			const char *cell = at + strlen(row);
			fprintf(ft, "%s%.*s (page: %.*s, doc: %.*s)", ntype++ ? ", " : "", (int)nl,
				name, (int)tl, type, (int)strcspn(cell, " |\n"), cell);
		}
	}
	fclose(fm);
	fclose(ft);
	cr_expect_gt(nfam, 100, "only %d families on /metrics:\n%s", nfam, page);
	cr_expect_eq(nmiss, 0,
		     "%d of the %d families on /metrics have no row in " DOC " (add "
		     "\"| `name` | type | labels | meaning |\" to its subsystem's table): %s",
		     nmiss, nfam, missing);
	cr_expect_eq(ntype, 0, "%d rows of " DOC " give another type than /metrics: %s", ntype,
		     mistyped);
	free(missing);
	free(mistyped);
	free(page);
	free(doc);
}

Test(metrics_doc, every_documented_name_is_in_the_code)
{
	char *doc = slurp(DOC);
	cr_assert_not_null(doc, DOC ": %s (run the test from the repository root)",
			   strerror(errno));
	char *page = scrape();
	struct names known = { 0 }, stale = { 0 };

	/* the page's families and sample names (_bucket, _sum, _count of a histogram) */
	for (const char *p = page; *p; p += strcspn(p, "\n"), p += *p == '\n') {
		if (strncmp(p, "# TYPE ", 7) == 0)
			names_add(&known, p + 7, name_len(p + 7));
		else if (*p != '#' && name_len(p))
			names_add(&known, p, name_len(p));
	}
	source_names(&known);

	int nnames = 0;
	for (const char *p = doc; (p = strstr(p, "rcsgw_")); p++) {
		if (p > doc && name_len(p - 1) > 0)
			continue; /* inside a longer word */
		size_t nl = name_len(p);
		char *name = strndup(p, nl);
		cr_assert_not_null(name);
		nnames++;
		int ok = name[nl - 1] == '_' ? names_has_prefix(&known, name)
					     : names_has(&known, name);
		if (!ok)
			names_add(&stale, name, nl);
		free(name);
		p += nl - 1;
	}

	char *list = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&list, &len);
	cr_assert_not_null(f);
	for (size_t i = 0; i < stale.n; i++)
		fprintf(f, "%s%s", i ? ", " : "", stale.v[i]);
	fclose(f);
	cr_expect_gt(nnames, 100, "only %d rcsgw_ names in " DOC, nnames);
	cr_expect_eq(stale.n, 0,
		     "%zu names of " DOC " are neither on /metrics nor in the sources (renamed "
		     "or removed: fix or drop their rows): %s", stale.n, list);
	free(list);
	names_free(&stale);
	names_free(&known);
	free(page);
	free(doc);
}

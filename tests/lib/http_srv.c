/* http_srv.c — the test HTTP server of http_srv.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/lib/http_srv.h"

#define REQ_BODY_MAX 8192

/* The request being read: its body, gathered over the calls of the access handler. */
struct srv_req {
	size_t len;
	int too_big;
	char body[REQ_BODY_MAX + 1];
};

/* Waits <ms> milliseconds, or less when the server stops. */
static void nap(struct http_srv *s, int ms)
{
	for (int left = ms; left > 0 && !atomic_load(&s->quit); left -= 10) {
		struct timespec ts = { 0, 10 * 1000000L };
		nanosleep(&ts, NULL);
	}
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *body,
			     size_t len, const char *type)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	if (type)
		MHD_add_response_header(r, "Content-Type", type);
	enum MHD_Result rc = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result reply_ha1(struct MHD_Connection *c, const char *hex)
{
	char out[96];
	int n = snprintf(out, sizeof(out), "{\"ha1\": \"%s\"}", hex);
	return reply(c, 200, out, (size_t)n, "application/json");
}

static enum MHD_Result creds(struct http_srv *s, struct MHD_Connection *c, struct srv_req *q)
{
	json_error_t jerr;
	json_t *j = json_loadb(q->body, q->len, 0, &jerr);
	const char *user = j ? json_string_value(json_object_get(j, "user")) : NULL;
	const char *realm = j ? json_string_value(json_object_get(j, "realm")) : NULL;
	enum MHD_Result rc;

	atomic_fetch_add(&s->creds_asks, 1);
	if (!user || !realm) {
		json_decref(j);
		return reply(c, 400, "", 0, NULL);
	}
	snprintf(s->last_realm, sizeof(s->last_realm), "%s", realm);
	if (!strcmp(user, "alice")) {
		atomic_fetch_add(&s->alice_asks, 1);
		rc = reply_ha1(c, HTTP_SRV_HA1_ALICE);
	} else if (!strcmp(user, "carol")) {
		rc = reply_ha1(c, HTTP_SRV_HA1_CAROL);
	} else if (!strcmp(user, "slow")) {
		nap(s, s->slow_ms);
		rc = reply_ha1(c, HTTP_SRV_HA1_ALICE);
	} else if (!strcmp(user, "err")) {
		rc = reply(c, 500, "oops", 4, "text/plain");
	} else if (!strcmp(user, "junk")) {
		rc = reply_ha1(c, "zz");
	} else {
		atomic_fetch_add(&s->nobody_asks, 1);
		rc = reply(c, 404, "", 0, NULL);
	}
	json_decref(j);
	return rc;
}

static enum MHD_Result route(struct http_srv *s, struct MHD_Connection *c, const char *url,
			     struct srv_req *q)
{
	if (!strcmp(url, "/echo")) {
		const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
		if (!ct || strcmp(ct, "application/json"))
			return reply(c, 415, "", 0, NULL);
		return reply(c, 200, q->body, q->len, "application/json");
	}
	if (!strncmp(url, "/status/", 8))
		return reply(c, (unsigned)atoi(url + 8), "", 0, NULL);
	if (!strncmp(url, "/slow/", 6)) {
		nap(s, atoi(url + 6));
		return reply(c, 200, "late", 4, "text/plain");
	}
	if (!strcmp(url, "/big")) {
		char *big = malloc(HTTP_SRV_BIG_LEN);
		if (!big)
			return MHD_NO;
		memset(big, 'x', HTTP_SRV_BIG_LEN);
		enum MHD_Result rc = reply(c, 200, big, HTTP_SRV_BIG_LEN, "text/plain");
		free(big);
		return rc;
	}
	if (!strcmp(url, "/hook") || !strncmp(url, "/hook/", 6)) {
		if (url[5] == '/')
			nap(s, atoi(url + 6)); /* a slow receiver: kept when it answers */
		int i = atomic_fetch_add(&s->nhook, 1);
		if (i < HTTP_SRV_HOOK_MAX)
			s->hook[i] = strndup(q->body, q->len);
		return reply(c, 200, "", 0, NULL);
	}
	if (!strcmp(url, "/creds"))
		return creds(s, c, q);
	return reply(c, 404, "", 0, NULL);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version,
				  const char *upload, size_t *upload_len, void **state)
{
	struct http_srv *s = cls;
	struct srv_req *q = *state;

	(void)method;
	(void)version;
	if (!q) {
		q = calloc(1, sizeof(*q));
		if (!q)
			return MHD_NO;
		*state = q;
		return MHD_YES;
	}
	if (*upload_len) {
		if (*upload_len > REQ_BODY_MAX - q->len)
			q->too_big = 1;
		else {
			memcpy(q->body + q->len, upload, *upload_len);
			q->len += *upload_len;
		}
		*upload_len = 0;
		return MHD_YES;
	}
	atomic_fetch_add(&s->requests, 1);
	if (q->too_big)
		return reply(c, 413, "", 0, NULL);
	return route(s, c, url, q);
}

static void on_done(void *cls, struct MHD_Connection *c, void **state,
		    enum MHD_RequestTerminationCode why)
{
	(void)cls;
	(void)c;
	(void)why;
	free(*state);
	*state = NULL;
}

int http_srv_start(struct http_srv *s)
{
	return http_srv_start_at(s, 0);
}

int http_srv_start_at(struct http_srv *s, int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

	atomic_store(&s->quit, 0);
	s->d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
					MHD_USE_ERROR_LOG,
				0, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, &a,
				MHD_OPTION_NOTIFY_COMPLETED, on_done, s,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
				MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1, MHD_OPTION_END);
	if (!s->d)
		return -1;
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
	if (!info || !info->port) {
		MHD_stop_daemon(s->d);
		s->d = NULL;
		return -1;
	}
	s->port = info->port;
	snprintf(s->base, sizeof(s->base), "http://127.0.0.1:%d", s->port);
	return 0;
}

void http_srv_stop(struct http_srv *s)
{
	if (!s->d)
		return;
	atomic_store(&s->quit, 1);
	MHD_stop_daemon(s->d);
	s->d = NULL;
}

void http_srv_hooks_free(struct http_srv *s)
{
	int n = atomic_load(&s->nhook);
	for (int i = 0; i < n && i < HTTP_SRV_HOOK_MAX; i++) {
		free(s->hook[i]);
		s->hook[i] = NULL;
	}
	atomic_store(&s->nhook, 0);
}

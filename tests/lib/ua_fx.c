/* ua_fx.c — the fixture of the user agent's end-to-end tests (tests/lib/ua_fx.h). */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/lib/rcsgw_proc.h"
#include "tests/lib/tshark.h"
#include "tests/lib/ua_fx.h"

#define HOST "127.0.0.1"

struct ua_fx ufx;

void ufx_need_sipp(void)
{
	if (!sipp_available())
		cr_skip_test("sipp (package sip-tester) is not installed");
}

void ufx_up_with(const char *const *extra)
{
	char a[64], m[64], s[96];
	const char *env[24];
	int n = 0;
	ufx.api = free_tcp_port();
	ufx.msrp = free_tcp_port();
	ufx.sip = sipp_free_port();
	ufx.uas_port = ufx.sip + 1;
	cr_assert(ufx.api > 0 && ufx.msrp > 0 && ufx.sip > 0);
	snprintf(a, sizeof(a), "RCSGW_API_LISTEN=" HOST ":%d", ufx.api);
	snprintf(m, sizeof(m), "RCSGW_MSRP_LISTEN=" HOST ":%d", ufx.msrp);
	snprintf(s, sizeof(s), "RCSGW_SIP_LISTEN=udp:" HOST ":%d,tcp:" HOST ":%d", ufx.sip, ufx.sip);
	env[n++] = a;
	env[n++] = m;
	env[n++] = s;
	env[n++] = "RCSGW_ENGINE_WORKERS=2";
	env[n++] = "RCSGW_UA_INVITE_TIMEOUT=3s";
	env[n++] = "RCSGW_LOG_LEVEL=warn";
	env[n++] = "RCSGW_SIP_CREDENTIALS=ims.test:gw:s3cret";
	for (int i = 0; extra && extra[i] && n < 23; i++)
		env[n++] = extra[i];
	env[n] = NULL;
	ufx.pid = rcsgw_spawn(env, NULL, NULL);
	cr_assert(ufx.pid > 0);
	cr_assert_eq(wait_port(HOST, ufx.api, 5000), 0, "the API did not come up");
	cr_assert_eq(wait_port(HOST, ufx.msrp, 5000), 0, "MSRP did not come up");
	cr_assert_eq(sse_open(&ufx.sse, HOST, ufx.api, ufx.auth[0] ? ufx.auth : NULL), 0);
	cr_assert(sse_read_until(&ufx.sse, "retry:", 3000), "no event stream");
	cr_assert_eq(sipp_logdir_new(ufx.logdir, sizeof(ufx.logdir)), 0);
	/* the phone's MSRP endpoint */
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	inet_pton(AF_INET, HOST, &sa.sin_addr);
	ufx.ml_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert(ufx.ml_fd >= 0);
	cr_assert_eq(bind(ufx.ml_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(ufx.ml_fd, 8), 0);
	cr_assert_eq(getsockname(ufx.ml_fd, (struct sockaddr *)&sa, &sl), 0);
	ufx.ml_port = ntohs(sa.sin_port);
}

void ufx_up(void)
{
	ufx_up_with(NULL);
}

void ufx_down(void)
{
	if (ufx.sipp > 0)
		sipp_stop(ufx.sipp, 2000);
	ufx.sipp = 0;
	sse_close(&ufx.sse);
	if (ufx.ml_fd >= 0)
		close(ufx.ml_fd);
	int rc = rcsgw_stop(ufx.pid, SIGTERM, 5000);
	sipp_logdir_remove(ufx.logdir);
	cr_expect_eq(rc, 0, "rcsgw exited with %d", rc);
}



/* An API call; the body (JSON) parsed into *<out> when <out> is not NULL. Returns the status. */
int ufx_api(const char *method, const char *path, const char *body, json_t **out,
	       char **headers)
{
	int status = 0;
	char *rb = NULL, hdrs[256];
	snprintf(hdrs, sizeof(hdrs), "%s%s", body ? "Content-Type: application/json\r\n" : "",
		 ufx.auth);
	cr_assert_eq(http_request(HOST, ufx.api, method, path, hdrs[0] ? hdrs : NULL, body,
				  &status, headers, &rb, 5000), 0, "%s %s: no answer", method, path);
	if (out) {
		*out = rb && *rb ? json_loads(rb, 0, NULL) : NULL;
		cr_assert(!*rb || *out, "%s %s: not JSON: %s", method, path, rb);
	}
	free(rb);
	return status;
}

const char *ufx_jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

/* The next event <type> about session <id> (NULL: any), as JSON. */
json_t *ufx_event(const char *type, const char *id, int ms)
{
	char data[65536], needle[64];
	if (id)
		snprintf(needle, sizeof(needle), "\"session_id\":\"%s\"", id);
	int rc = sse_next_event(&ufx.sse, type, id ? needle : NULL, data, sizeof(data), ms);
	cr_assert_eq(rc, 0, "no %s event for %s within %d ms:\n%s", type, id ? id : "-", ms,
		     ufx.sse.buf);
	json_t *j = json_loads(data, 0, NULL);
	cr_assert_not_null(j, "event not JSON: %s", data);
	return j;
}

/* rcsgw connects to our MSRP listener: that connection as a client. */
void ufx_ml_accept(struct msrp_client *c, int ms)
{
	struct pollfd p = { ufx.ml_fd, POLLIN, 0 };
	memset(c, 0, sizeof(*c));
	cr_assert_eq(poll(&p, 1, ms), 1, "rcsgw did not connect to the phone's MSRP endpoint");
	c->fd = accept4(ufx.ml_fd, NULL, NULL, SOCK_CLOEXEC); /* not inherited by a node started later */
	cr_assert(c->fd >= 0);
}

/* Reads the next SEND (answering 200) and returns it in <f>. */
void ufx_read_send(struct msrp_client *c, struct mc_frame *f)
{
	cr_assert_eq(mc_read_frame(c, f, 5000), 0, "no frame from rcsgw");
	cr_assert(f->is_request && !strcmp(f->method, "SEND"), "not a SEND: %s", f->buf);
	cr_assert_eq(mc_send_response(c, f, 200, "OK"), 0);
}

char *ufx_start_uas(const char *scenario, const char *const *more)
{
	char mp[16];
	const char *keys[16] = { "msrp_port", mp, "msrp_sid", "phone1sid" };
	int n = 4;
	snprintf(mp, sizeof(mp), "%d", ufx.ml_port);
	for (int i = 0; more && more[i] && more[i + 1] && n < 14; i += 2) {
		if (!strcmp(more[i], "msrp_port")) { /* the phone's MSRP endpoint elsewhere */
			keys[1] = more[i + 1];
			continue;
		}
		keys[n++] = more[i];
		keys[n++] = more[i + 1];
	}
	keys[n] = NULL;
	ufx.sipp = sipp_start(scenario, NULL, ufx.uas_port, keys, ufx.logdir, NULL);
	cr_assert(ufx.sipp > 0, "sipp did not start (%d)", ufx.sipp);
	static char to[64];
	snprintf(to, sizeof(to), "sip:phone@" HOST ":%d", ufx.uas_port);
	return to;
}

json_t *ufx_create(const char *to, const char *extra)
{
	char body[1024];
	json_t *j = NULL;
	snprintf(body, sizeof(body), "{\"from\":\"sip:bot@" HOST "\",\"to\":\"%s\"%s}", to,
		 extra ? extra : "");
	int st = ufx_api("POST", "/v1/sessions", body, &j, NULL);
	cr_assert_eq(st, 201, "POST /v1/sessions: %d", st);
	cr_assert_str_eq(ufx_jstr(j, "state"), "connecting");
	return j;
}

void ufx_sipp_done(int want)
{
	int rc = sipp_wait(ufx.sipp, 10000);
	if (rc != want)
		sipp_log_report(ufx.logdir, "sipp");
	ufx.sipp = 0;
	cr_assert_eq(rc, want, "sipp exited with %d, %d expected", rc, want);
}

/* An outgoing session to a sipp phone running <scenario> (with <more> keys), up: rcsgw
 * connected to the phone's MSRP endpoint (<c>, the binding SEND read into <f>) and
 * session.established came. <to> NULL: the phone itself. Returns the session's JSON. */
json_t *ufx_session_up(const char *scenario, const char *const *more, const char *to,
			  const char *extra, struct msrp_client *c, struct mc_frame *f)
{
	const char *phone = ufx_start_uas(scenario, more);
	json_t *s = ufx_create(to ? to : phone, extra);
	ufx_ml_accept(c, 5000);
	ufx_read_send(c, f);
	json_decref(ufx_event("session.established", ufx_jstr(s, "id"), 5000));
	return s;
}

void ufx_start_uac(const char *scenario, const char *const *more)
{
	char mp[16], remote[64];
	const char *keys[16] = { "msrp_port", mp, "msrp_sid", "phone2sid" };
	int n = 4;
	snprintf(mp, sizeof(mp), "%d", ufx.ml_port);
	snprintf(remote, sizeof(remote), HOST ":%d", ufx.sip);
	for (int i = 0; more && more[i] && n < 14; i++)
		keys[n++] = more[i];
	keys[n] = NULL;
	ufx.sipp = sipp_start(scenario, remote, 0, keys, ufx.logdir, NULL);
	cr_assert(ufx.sipp > 0, "sipp did not start (%d)", ufx.sipp);
}

void ufx_capture(struct tshark_cap *cap, char *dec, size_t declen)
{
	char filter[128];
	if (!tshark_available())
		cr_skip_test("tshark is not installed");
	snprintf(filter, sizeof(filter), "port %d or port %d or port %d", ufx.sip, ufx.sip + 1,
		 ufx.ml_port);
	int rc = tshark_start(cap, filter, ufx.logdir);
	if (rc == -EPERM)
		cr_skip_test("no right to capture on lo");
	cr_assert_eq(rc, 0);
	snprintf(dec, declen, "tcp.port==%d,msrp udp.port==%d,sip udp.port==%d,sip", ufx.ml_port,
		 ufx.sip, ufx.sip + 1);
}

unsigned long ufx_metric_where(const char *name, const char *labels)
{
	double v = http_metric_sum_where(ufx.api, ufx.auth[0] ? ufx.auth : NULL, name, labels);
	cr_assert_geq(v, 0, "GET /metrics");
	return (unsigned long)v;
}

unsigned long ufx_metric_sum(const char *name)
{
	return ufx_metric_where(name, NULL);
}

void ufx_end_session(const char *id)
{
	char path[128];
	snprintf(path, sizeof(path), "/v1/sessions/%s", id);
	cr_assert_eq(ufx_api("DELETE", path, NULL, NULL, NULL), 204, "DELETE %s", path);
	json_t *ev = ufx_event("session.ended", id, 5000);
	json_decref(ev);
}

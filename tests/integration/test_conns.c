/* test_conns.c — GET/DELETE /v1/connections against the running daemon, and the per-peer
 * TCP profiles (engine.tcp_profiles): a live MSRP connection listed with its session, closed
 * by the API and its session ended; filters and errors; a read timeout and a no_new peer
 * (the test connects from 127.0.0.3 and 127.0.0.4: loopback addresses of their own). */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/lib/msrp_client.h"
#include "tests/lib/ua_fx.h"

static void up(void)
{
	ufx_up_with((const char *[]){
		"RCSGW_ENGINE_TCP_PROFILES=127.0.0.3 read_timeout=1500ms keepalive=30s, "
		"127.0.0.4 no_new, 127.0.0.6 max_frame=1k", NULL });
}

TestSuite(conns, .init = up, .fini = ufx_down, .timeout = 60);

/* GET <path>: its status; the body into *<out>. */
static int get(const char *path, json_t **out)
{
	return ufx_api("GET", path, NULL, out, NULL);
}

/* The connections of GET /v1/connections<query> (asserted 200), as the answer. */
static json_t *list(const char *query)
{
	char path[256];
	json_t *j = NULL;
	snprintf(path, sizeof(path), "/v1/connections%s", query);
	cr_assert_eq(get(path, &j), 200, "GET %s", path);
	cr_assert(json_is_array(json_object_get(j, "connections")));
	return j;
}

/* A TCP connection to rcsgw's <port> from the loopback address <src>. */
static int connect_port_from(const char *src, int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET }, to = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_geq(fd, 0);
	inet_pton(AF_INET, src, &a.sin_addr);
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0, "bind %s: %s", src,
		     strerror(errno));
	inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
	to.sin_port = htons((uint16_t)port);
	cr_assert_eq(connect(fd, (struct sockaddr *)&to, sizeof(to)), 0, "%s", strerror(errno));
	return fd;
}

/* ... to its MSRP port. */
static int connect_from(const char *src)
{
	return connect_port_from(src, ufx.msrp);
}

/* Waits up to <ms> for the peer to close <fd>: 1 when it did. */
/* 1 when <fd> reaches EOF (or a reset) within <ms>; what the daemon still answered before
 * it closed (a frame's answer goes out first) is read past. */
static int closed_within(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char b[4096];
	for (int reads = 0; reads < 16; reads++) { /* answers are a few hundred bytes */
		if (poll(&p, 1, ms) != 1)
			return 0;
		if (read(fd, b, sizeof(b)) <= 0)
			return 1;
	}
	return 0;
}

Test(conns, a_live_msrp_connection_listed_and_closed_ends_its_session)
{
	ufx_need_sipp();
	struct msrp_client c;
	struct mc_frame *f = malloc(sizeof(*f));
	json_t *s = ufx_session_up("uas_msrp.xml", NULL, NULL, NULL, &c, f);
	const char *sid = ufx_jstr(s, "id");

	/* rcsgw connected to the phone's MSRP endpoint, our listener */
	char q[96];
	snprintf(q, sizeof(q), "?protocol=msrp&direction=out&peer=127.0.0.1:%d", ufx.ml_port);
	json_t *j = list(q);
	json_t *a = json_object_get(j, "connections");
	cr_assert_eq(json_array_size(a), 1, "%s", json_dumps(j, 0));
	cr_expect_eq(json_integer_value(json_object_get(j, "total")), 1);
	json_t *conn = json_array_get(a, 0);
	char id[48];
	snprintf(id, sizeof(id), "%s", ufx_jstr(conn, "id"));
	cr_expect_str_eq(ufx_jstr(conn, "transport"), "tcp");
	cr_expect_str_eq(ufx_jstr(conn, "state"), "open");
	cr_expect_eq(json_integer_value(json_object_get(conn, "sessions")), 1, "its session");
	cr_expect_gt(json_integer_value(json_object_get(conn, "bytes_out")), 0, "the binding SEND");
	cr_expect(json_is_null(json_object_get(conn, "profile")));
	char remote[64];
	snprintf(remote, sizeof(remote), "127.0.0.1:%d", ufx.ml_port);
	cr_expect_str_eq(ufx_jstr(conn, "remote"), remote);
	json_decref(j);

	/* the same one by its id */
	char path[96];
	snprintf(path, sizeof(path), "/v1/connections/%s", id);
	cr_assert_eq(get(path, &j), 200);
	cr_expect_str_eq(ufx_jstr(j, "remote"), remote);
	cr_expect_str_eq(ufx_jstr(j, "protocol"), "msrp");
	json_decref(j);

	cr_expect_geq(ufx_metric_sum("rcsgw_connections"), 1, "rcsgw_connections counts it");

	/* closed: the session ends, the connection is gone, the reports say who did it */
	cr_assert_eq(ufx_api("DELETE", path, NULL, NULL, NULL), 204);
	json_t *ev = ufx_event("session.ended", sid, 5000);
	cr_assert(ev, "no session.ended after the connection was closed");
	json_decref(ev);
	cr_expect_eq(get(path, NULL), 404);
	cr_expect_eq(ufx_api("DELETE", path, NULL, NULL, NULL), 404, "closed twice");
	j = list(q);
	cr_expect_eq(json_array_size(json_object_get(j, "connections")), 0);
	json_decref(j);
	cr_assert_eq(get("/v1/reports/engine", &j), 200);
	char *text = json_dumps(j, 0);
	char want[256];
	snprintf(want, sizeof(want), "connection %s (msrp tcp, to %s) closed by the API", id, remote);
	cr_expect(strstr(text, want), "%s", text);
	free(text);
	json_decref(j);
	ufx_sipp_done(0);
	mc_close(&c);
	free(f);
	json_decref(s);
}

Test(conns, filters_ids_and_errors)
{
	int fd = connect_from("127.0.0.1");
	usleep(200000);
	json_t *j = list("?transport=tcp&protocol=msrp&direction=in");
	cr_expect_geq(json_array_size(json_object_get(j, "connections")), 1);
	json_decref(j);
	j = list("?transport=tls");
	cr_expect_eq(json_array_size(json_object_get(j, "connections")), 0);
	json_decref(j);
	j = list("?peer=10.");
	cr_expect_eq(json_array_size(json_object_get(j, "connections")), 0);
	json_decref(j);
	j = list("?limit=0");
	cr_expect_eq(json_array_size(json_object_get(j, "connections")), 0);
	cr_expect_geq(json_integer_value(json_object_get(j, "total")), 1, "total before the limit");
	json_decref(j);
	j = list("?worker=1");
	for (size_t i = 0; i < json_array_size(json_object_get(j, "connections")); i++)
		cr_expect_eq(json_integer_value(json_object_get(
				     json_array_get(json_object_get(j, "connections"), i), "worker")), 1);
	json_decref(j);

	static const char *const bad[] = {
		"/v1/connections?transport=udp", "/v1/connections?direction=both",
		"/v1/connections?worker=2", "/v1/connections?worker=x",
		"/v1/connections?limit=-1", "/v1/connections?limit=100001",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *e = NULL;
		cr_expect_eq(get(bad[i], &e), 400, "%s", bad[i]);
		cr_expect(json_is_string(json_object_get(json_object_get(e, "error"), "message")));
		json_decref(e);
	}
	static const char *const missing[] = {
		"/v1/connections/0-99999-1", "/v1/connections/7-0-1", "/v1/connections/x",
		"/v1/connections/0-0", "/v1/connections/0-0-1-2", "/v1/connections/-1-0-1",
	};
	for (size_t i = 0; i < sizeof(missing) / sizeof(missing[0]); i++) {
		cr_expect_eq(get(missing[i], NULL), 404, "%s", missing[i]);
		cr_expect_eq(ufx_api("DELETE", missing[i], NULL, NULL, NULL), 404, "%s", missing[i]);
	}
	close(fd);
}

Test(conns, profiles_read_timeout_and_no_new)
{
	/* 127.0.0.3: read_timeout=1500ms, shown as its profile */
	int quiet = connect_from("127.0.0.3");
	usleep(300000);
	json_t *j = list("?peer=127.0.0.3:");
	cr_assert_eq(json_array_size(json_object_get(j, "connections")), 1, "%s", json_dumps(j, 0));
	cr_expect_str_eq(ufx_jstr(json_array_get(json_object_get(j, "connections"), 0), "profile"),
			 "127.0.0.3");
	json_decref(j);
	cr_expect(closed_within(quiet, 4000), "a silent peer outlived its read_timeout");
	close(quiet);
	cr_expect_eq(ufx_metric_sum("rcsgw_engine_profile_timeouts_total"), 1);

	/* a peer without a profile stays */
	int other = connect_from("127.0.0.1");
	cr_expect(!closed_within(other, 2000), "no profile, no read timeout");
	close(other);

	/* 127.0.0.4: no_new, closed at once and counted */
	int refused = connect_from("127.0.0.4");
	cr_expect(closed_within(refused, 2000), "a no_new peer was let in");
	close(refused);
	cr_expect_eq(ufx_metric_sum("rcsgw_engine_profile_refused_total"), 1);
	j = list("?peer=127.0.0.4:");
	cr_expect_eq(json_array_size(json_object_get(j, "connections")), 0);
	json_decref(j);
}

/* <n> bytes of 'x' after <head>, then <tail>, written to <fd>. */
static void send_big(int fd, const char *head, size_t n, const char *tail)
{
	size_t hl = strlen(head), tl = strlen(tail);
	char *m = malloc(hl + n + tl);
	memcpy(m, head, hl);
	memset(m + hl, 'x', n);
	memcpy(m + hl + n, tail, tl);
	cr_assert_eq(write(fd, m, hl + n + tl), (ssize_t)(hl + n + tl));
	free(m);
}

Test(conns, profiles_max_frame_for_msrp_and_sip)
{
	/* MSRP: a chunk of 2 KiB from a peer allowed 1 KiB: the stream is given up */
	unsigned long before = ufx_metric_sum("rcsgw_msrp_parse_errors_body_total");
	int fd = connect_from("127.0.0.6");
	char head[512];
	snprintf(head, sizeof(head),
		 "MSRP tx001 SEND\r\nTo-Path: msrp://127.0.0.1:%d/abc;tcp\r\n"
		 "From-Path: msrp://127.0.0.6:9/def;tcp\r\nMessage-ID: m1\r\n"
		 "Byte-Range: 1-2048/2048\r\nContent-Type: text/plain\r\n\r\n", ufx.msrp);
	send_big(fd, head, 2048, "\r\n-------tx001$\r\n");
	cr_expect(closed_within(fd, 3000), "a chunk over max_frame was taken");
	close(fd);
	cr_expect_eq(ufx_metric_sum("rcsgw_msrp_parse_errors_body_total"), before + 1);

	/* ... while 512 bytes from the same peer are a frame like any other (answered) */
	fd = connect_from("127.0.0.6");
	snprintf(head, sizeof(head),
		 "MSRP tx002 SEND\r\nTo-Path: msrp://127.0.0.1:%d/abc;tcp\r\n"
		 "From-Path: msrp://127.0.0.6:9/def;tcp\r\nMessage-ID: m2\r\n"
		 "Byte-Range: 1-512/512\r\nContent-Type: text/plain\r\n\r\n", ufx.msrp);
	send_big(fd, head, 512, "\r\n-------tx002$\r\n");
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char resp[256] = "";
	cr_assert_eq(poll(&p, 1, 3000), 1, "no answer to a small frame");
	cr_expect_gt(read(fd, resp, sizeof(resp) - 1), 0);
	cr_expect(!strncmp(resp, "MSRP tx002 ", 11), "%s", resp);
	close(fd);

	/* SIP over TCP: a MESSAGE of 2 KiB, or of 30 KiB (more than the limit and one read),
	 * gets 513 Message Too Large, as over the parser's own limit, and the connection ends */
	static const size_t sizes[] = { 2048, 30000 };
	for (size_t k = 0; k < 2; k++) {
		fd = connect_port_from("127.0.0.6", ufx.sip);
		char sip[1024];
		snprintf(sip, sizeof(sip),
			 "MESSAGE sip:bot@127.0.0.1 SIP/2.0\r\n"
			 "Via: SIP/2.0/TCP 127.0.0.6:5099;branch=z9hG4bK-big%zu\r\n"
			 "Max-Forwards: 70\r\nFrom: <sip:a@127.0.0.6>;tag=f1\r\n"
			 "To: <sip:bot@127.0.0.1>\r\nCall-ID: big%zu@127.0.0.6\r\n"
			 "CSeq: 1 MESSAGE\r\nContent-Type: text/plain\r\n"
			 "Content-Length: %zu\r\n\r\n", k, k, sizes[k]);
		send_big(fd, sip, sizes[k], "");
		char buf[2048] = "";
		size_t got = 0;
		for (int i = 0; i < 30 && got < sizeof(buf) - 1; i++) {
			p.fd = fd;
			if (poll(&p, 1, 100) != 1)
				continue;
			ssize_t n = read(fd, buf + got, sizeof(buf) - 1 - got);
			if (n <= 0)
				break;
			got += (size_t)n;
		}
		cr_expect(strstr(buf, "SIP/2.0 513 "), "%zu bytes: no 513: %s", sizes[k], buf);
		cr_expect(closed_within(fd, 2000), "%zu bytes: the connection stayed", sizes[k]);
		close(fd);
	}
}

/* test_msrp_daemon.c — the real daemon's MSRP endpoint over TCP, TLS and WebSocket
 * (RFC 7977, a client on the msrp_ws core over a blocking socket): responses to
 * requests for sessions it does not hold (481), unknown methods (501), AUTH without relay
 * credentials (403), no answer to REPORTs, frames split at every byte, broken streams
 * closed and counted; and tshark decoding every frame it sent with nothing malformed. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include "msrp/msrp_ws.h"
#include "tests/lib/proc.h"
#include "tests/lib/rcsgw_proc.h"
#include "tests/lib/tls_certs.h"

#define HOST "127.0.0.1"

static pid_t pid = -1;
static int efd = -1, api_port, msrp_port, msrps_port, ws_port;
static struct tls_certs certs;
static int have_certs;

static void fini(void)
{
	if (pid > 0)
		rcsgw_stop(pid, SIGKILL, 2000);
	pid = -1;
	if (efd >= 0)
		close(efd);
	efd = -1;
	if (have_certs)
		tls_certs_remove(&certs);
	have_certs = 0;
}

TestSuite(msrp_daemon, .fini = fini, .timeout = 60);

/* Starts the daemon on the loopback: MSRP over TCP, with <tls> over TLS too, with <ws>
 * over WebSocket too (msrp.ws_listen on ws_port). */
static void start_with(int tls, int ws)
{
	static char e_api[64], e_msrp[64], e_msrps[64], e_cert[256], e_key[256], e_ws[64];
	static char e_sni[640];
	char *env[12];
	int n = 0;

	api_port = free_tcp_port();
	msrp_port = free_tcp_port();
	snprintf(e_api, sizeof(e_api), "RCSGW_API_LISTEN=127.0.0.1:%d", api_port);
	snprintf(e_msrp, sizeof(e_msrp), "RCSGW_MSRP_LISTEN=127.0.0.1:%d", msrp_port);
	env[n++] = e_api;
	env[n++] = e_msrp;
	env[n++] = "RCSGW_MSRP_HEAD_TIMEOUT=500ms";
	if (tls) {
		char err[256];
		cr_assert_eq(tls_certs_make(&certs, err, sizeof(err)), 0, "%s", err);
		have_certs = 1;
		msrps_port = free_tcp_port();
		snprintf(e_msrps, sizeof(e_msrps), "RCSGW_MSRPS_LISTEN=127.0.0.1:%d", msrps_port);
		snprintf(e_cert, sizeof(e_cert), "RCSGW_MSRPS_CERT=%s", certs.server_cert);
		snprintf(e_key, sizeof(e_key), "RCSGW_MSRPS_KEY=%s", certs.server_key);
		snprintf(e_sni, sizeof(e_sni), "RCSGW_MSRPS_SNI_CERTS=%s:%s:%s", TLS_CERTS_ALT_CN,
			 certs.alt_cert, certs.alt_key);
		env[n++] = e_msrps;
		env[n++] = e_cert;
		env[n++] = e_key;
		env[n++] = e_sni;
	}
	if (ws) { /* 1: ws, 2: wss (with tls) */
		ws_port = free_tcp_port();
		snprintf(e_ws, sizeof(e_ws), "RCSGW_MSRP_%s_LISTEN=127.0.0.1:%d", ws == 2 ? "WSS" : "WS",
			 ws_port);
		env[n++] = e_ws;
	}
	env[n] = NULL;
	char *argv[] = { (char *)proc_bin("rcsgw"), NULL };
	pid = proc_spawn(argv, env, NULL, &efd, NULL);
	cr_assert_gt(pid, 0);
	if (wait_port(HOST, msrp_port, 10000) < 0 || wait_port(HOST, api_port, 10000) < 0) {
		char out[8192];
		proc_read_all(efd, out, sizeof(out), 200);
		cr_assert_fail("rcsgw did not come up:\n%s", out);
	}
	if (ws && wait_port(HOST, ws_port, 10000) < 0)
		cr_assert_fail("rcsgw does not listen on msrp.ws_listen");
}

static void start(int tls) { start_with(tls, 0); }

static int tcp(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	inet_pton(AF_INET, HOST, &sa.sin_addr);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, 1 /* TCP_NODELAY */, &one, sizeof(one));
	return fd;
}

/* Reads until <want> occurs in what came (or EOF / timeout); returns the bytes (static). */
static const char *read_until(int fd, const char *want, int timeout_ms)
{
	static char buf[65536];
	size_t n = 0;
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	buf[0] = '\0';
	for (;;) {
		if (want && strstr(buf, want))
			break;
		clock_gettime(CLOCK_MONOTONIC, &t);
		int left = timeout_ms - (int)((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (left <= 0 || poll(&p, 1, left) <= 0)
			break;
		ssize_t r = recv(fd, buf + n, sizeof(buf) - 1 - n, 0);
		if (r <= 0)
			break;
		n += (size_t)r;
		buf[n] = '\0';
	}
	return buf;
}

#define TO "To-Path: msrp://127.0.0.1:2855/s9Kd03jfaQ;tcp\r\n"
#define FROM "From-Path: msrp://127.0.0.1:40000/c1x7yQ2;tcp\r\n"

static const char send_req[] =
	"MSRP a786hjs2 SEND\r\n" TO FROM
	"Message-ID: 87652491\r\nByte-Range: 1-25/25\r\nContent-Type: text/plain\r\n\r\n"
	"Hey Bob, are you there?\r\n\r\n-------a786hjs2$\r\n";
static const char frob_req[] = "MSRP frob1234 FROB\r\n" TO FROM "-------frob1234$\r\n";
static const char auth_req[] =
	"MSRP auth1234 AUTH\r\nTo-Path: msrp://127.0.0.1:2855;tcp\r\n" FROM "-------auth1234$\r\n";
static const char report_req[] =
	"MSRP rep12345 REPORT\r\n" TO FROM
	"Message-ID: 87652491\r\nByte-Range: 1-25/25\r\nStatus: 000 200 OK\r\n-------rep12345$\r\n";

Test(msrp_daemon, answers_over_tcp)
{
	start(0);
	int fd = tcp(msrp_port);
	cr_assert(send(fd, send_req, sizeof(send_req) - 1, 0) > 0);
	const char *r = read_until(fd, "-------a786hjs2$\r\n", 5000);
	cr_expect(strncmp(r, "MSRP a786hjs2 481", 17) == 0, "got: %s", r);
	/* the response goes back to the previous hop (§7.2) */
	cr_expect(strstr(r, "To-Path: msrp://127.0.0.1:40000/c1x7yQ2;tcp\r\n"), "got: %s", r);
	cr_expect(strstr(r, "From-Path: msrp://127.0.0.1:2855/s9Kd03jfaQ;tcp\r\n"), "got: %s", r);

	cr_assert(send(fd, frob_req, sizeof(frob_req) - 1, 0) > 0);
	r = read_until(fd, "-------frob1234$\r\n", 5000);
	cr_expect(strncmp(r, "MSRP frob1234 501", 17) == 0, "got: %s", r);

	cr_assert(send(fd, auth_req, sizeof(auth_req) - 1, 0) > 0);
	r = read_until(fd, "-------auth1234$\r\n", 5000);
	cr_expect(strncmp(r, "MSRP auth1234 403", 17) == 0, "got: %s", r);

	/* a REPORT is never answered: the next thing back is the SEND's response */
	char both[1024];
	snprintf(both, sizeof(both), "%s%s", report_req, send_req);
	cr_assert(send(fd, both, strlen(both), 0) > 0);
	r = read_until(fd, "-------a786hjs2$\r\n", 5000);
	cr_expect(strncmp(r, "MSRP a786hjs2 481", 17) == 0, "got: %s", r);
	cr_expect(!strstr(r, "rep12345"), "a REPORT was answered: %s", r);
	close(fd);
	cr_expect_eq(rcsgw_stop(pid, SIGTERM, 15000), 0);
	pid = -1;
}

Test(msrp_daemon, frames_split_at_every_byte)
{
	start(0);
	int fd = tcp(msrp_port);
	char pipe2x[2048];
	int len = snprintf(pipe2x, sizeof(pipe2x), "%s%s%s", send_req, frob_req, send_req);
	for (int i = 0; i < len; i++) {
		cr_assert_eq(send(fd, pipe2x + i, 1, 0), 1);
		if (i % 64 == 0)
			usleep(1000); /* let the daemon see the pieces apart */
	}
	const char *r = read_until(fd, "-------frob1234$\r\n", 5000);
	r = strstr(r, "MSRP a786hjs2 481");
	cr_expect(r, "no 481 for the split SEND");
	r = r ? strstr(r, "MSRP frob1234 501") : NULL;
	cr_expect(r, "no 501 after it");
	close(fd);
}

static long metric(const char *name)
{
	int status;
	char *body = NULL;
	long total = 0;
	if (http_request(HOST, api_port, "GET", "/metrics", NULL, NULL, &status, NULL, &body, 5000) < 0)
		return -1;
	for (char *line = strtok(body, "\n"); line; line = strtok(NULL, "\n")) {
		if (strncmp(line, name, strlen(name)) == 0 && line[strlen(name)] == '{')
			total += atol(strrchr(line, ' ') + 1);
	}
	free(body);
	return total;
}

Test(msrp_daemon, broken_streams_are_closed_and_counted)
{
	start(0);
	const char *bad[] = {
		"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"MSRP a786hjs2 SEND\r\nTo-Path: msrp://x;tcp\r\n-------zzzzzzzz$\r\n",
		"MSRP ab SEND\r\n",
		"MSRP a786hjs2 SEND\r\n" TO FROM "Content-Type: text/plain\r\nContent-Type: text/html\r\n\r\nx\r\n-------a786hjs2$\r\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int fd = tcp(msrp_port);
		cr_assert(send(fd, bad[i], strlen(bad[i]), 0) > 0);
		struct pollfd p = { .fd = fd, .events = POLLIN };
		char buf[512];
		int closed = 0;
		for (int k = 0; k < 50 && !closed; k++) {
			if (poll(&p, 1, 100) > 0) {
				ssize_t n = recv(fd, buf, sizeof(buf), 0);
				closed = n <= 0;
			}
		}
		cr_expect(closed, "input %zu: the connection stayed open", i);
		close(fd);
	}
	/* a head that never ends is cut off (msrp.head_timeout = 500 ms) */
	int fd = tcp(msrp_port);
	cr_assert(send(fd, "MSRP a786hjs2 SEND\r\nTo-Pa", 25, 0) > 0);
	read_until(fd, NULL, 3000);
	cr_expect_geq(metric("rcsgw_msrp_stream_errors_total"), 4);
	cr_expect_geq(metric("rcsgw_msrp_head_timeouts_total"), 1);
	close(fd);
	/* still serving */
	fd = tcp(msrp_port);
	cr_assert(send(fd, send_req, sizeof(send_req) - 1, 0) > 0);
	const char *r = read_until(fd, "-------a786hjs2$\r\n", 5000);
	cr_expect(strncmp(r, "MSRP a786hjs2 481", 17) == 0, "got: %s", r);
	close(fd);
}

/* ---- over WebSocket: the msrp_ws core as a client on a blocking socket ---------------- */

static struct {
	int fd;
	WOLFSSL *ssl;                /* wss: the TLS session on <fd> */
	struct msrp_ws ws;
	int opened;                  /* no glue: no on_close; msrp_ws_feed says DONE */
	char cur[4096];
	size_t cur_len;
	char msg[4096];              /* the last complete WebSocket message, NUL-terminated */
	int nmsgs;
} K;

static int k_out(void *arg, const void *p, size_t len)
{
	(void)arg;
	while (len) {
		ssize_t w = K.ssl ? wolfSSL_write(K.ssl, p, (int)len) : send(K.fd, p, len, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p = (const char *)p + w;
		len -= (size_t)w;
	}
	return 0;
}

static void k_open(void *ctx) { (void)ctx; K.opened = 1; }

static void k_data(void *ctx, const char *p, size_t len)
{
	(void)ctx;
	if (K.cur_len + len < sizeof(K.cur)) {
		memcpy(K.cur + K.cur_len, p, len);
		K.cur_len += len;
	}
}

static void k_msg_end(void *ctx)
{
	(void)ctx;
	memcpy(K.msg, K.cur, K.cur_len);
	K.msg[K.cur_len] = '\0';
	K.cur_len = 0;
	K.nmsgs++;
}

static const struct msrp_ws_ops k_ops = {
	.on_open = k_open, .on_data = k_data, .on_msg_end = k_msg_end,
};

/* Feeds what the daemon sends until <*flag> passes <want>, the transport is done, EOF or
 * <timeout_ms>. Returns 0 when <*flag> got there. */
static int k_pump(const int *flag, int want, int timeout_ms)
{
	char buf[4096];
	while (*flag < want) {
		struct pollfd p = { .fd = K.fd, .events = POLLIN };
		if (!(K.ssl && wolfSSL_pending(K.ssl) > 0) && poll(&p, 1, timeout_ms) <= 0)
			return -1;
		ssize_t r = K.ssl ? wolfSSL_read(K.ssl, buf, (int)sizeof(buf)) : recv(K.fd, buf, sizeof(buf), 0);
		if (r <= 0)
			return -1;
		if (msrp_ws_feed(&K.ws, buf, (size_t)r) == MSRP_WS_DONE && *flag < want)
			return -1;
	}
	return 0;
}

/* Sends <frame> as one WebSocket message and waits for the next message back. */
static const char *k_ask(const char *frame)
{
	struct iovec iov = { (void *)frame, strlen(frame) };
	int n = K.nmsgs;
	cr_assert_eq(msrp_ws_send_msg(&K.ws, &iov, 1), 0);
	cr_assert_eq(k_pump(&K.nmsgs, n + 1, 5000), 0, "no answer to %.20s", frame);
	return K.msg;
}

Test(msrp_daemon, answers_over_websocket)
{
	static struct msrp_ws_cfg cfg;
	char host[32];

	start_with(0, 1);
	memset(&K, 0, sizeof(K));
	msrp_ws_cfg_defaults(&cfg);
	K.fd = tcp(ws_port);
	cr_assert_eq(msrp_ws_init(&K.ws, MSRP_WS_CLIENT, &cfg, &k_ops, NULL, NULL, k_out, NULL), 0);
	snprintf(host, sizeof(host), "127.0.0.1:%d", ws_port);
	cr_assert_eq(msrp_ws_client_start(&K.ws, (cm_slice){ host, strlen(host) },
					  CM_SLICE_LIT("/"), CM_SLICE_NULL), 0);
	cr_assert_eq(k_pump(&K.opened, 1, 5000), 0, "no 101 (HTTP %d)", msrp_ws_http_status(&K.ws));
	cr_expect_eq(msrp_ws_http_status(&K.ws), 101);

	/* each answer is one WebSocket message holding one whole frame */
	const char *r = k_ask(send_req);
	cr_expect(strncmp(r, "MSRP a786hjs2 481", 17) == 0, "got: %s", r);
	cr_expect(strstr(r, "To-Path: msrp://127.0.0.1:40000/c1x7yQ2;tcp\r\n"), "got: %s", r);
	size_t len = strlen(r);
	cr_expect(len > 18 && !strcmp(r + len - 18, "-------a786hjs2$\r\n"), "got: %s", r);
	r = k_ask(frob_req);
	cr_expect(strncmp(r, "MSRP frob1234 501", 17) == 0, "got: %s", r);
	r = k_ask(auth_req);
	cr_expect(strncmp(r, "MSRP auth1234 403", 17) == 0, "got: %s", r);

	/* a clean close: the daemon answers our close frame, then closes the connection */
	cr_expect_eq(msrp_ws_close(&K.ws, 1000, NULL), MSRP_WS_OK);
	int done = 0;
	char buf[256];
	for (int i = 0; i < 100 && !done; i++) {
		struct pollfd p = { .fd = K.fd, .events = POLLIN };
		if (poll(&p, 1, 50) <= 0)
			continue;
		ssize_t n = recv(K.fd, buf, sizeof(buf), 0);
		if (n <= 0)
			break;
		done = msrp_ws_feed(&K.ws, buf, (size_t)n) == MSRP_WS_DONE;
	}
	cr_expect(done, "the daemon did not answer the close frame");
	cr_expect_eq(msrp_ws_close_code(&K.ws), 1000);
	msrp_ws_fini(&K.ws);
	close(K.fd);
	cr_expect_geq(metric("rcsgw_msrp_connections_total"), 1);
	cr_expect_eq(rcsgw_stop(pid, SIGTERM, 15000), 0);
	pid = -1;
}

Test(msrp_daemon, answers_over_tls)
{
	start(1);
	cr_assert_eq(wait_port(HOST, msrps_port, 10000), 0);
	wolfSSL_Init();
	WOLFSSL_CTX *ctx = wolfSSL_CTX_new(wolfTLS_client_method());
	cr_assert(ctx);
	cr_assert_eq(wolfSSL_CTX_load_verify_locations(ctx, certs.ca, NULL), WOLFSSL_SUCCESS);
	int fd = tcp(msrps_port);
	WOLFSSL *ssl = wolfSSL_new(ctx);
	wolfSSL_set_fd(ssl, fd);
	cr_assert_eq(wolfSSL_connect(ssl), WOLFSSL_SUCCESS);
	cr_assert_eq(wolfSSL_write(ssl, send_req, (int)sizeof(send_req) - 1), (int)sizeof(send_req) - 1);
	char buf[4096];
	int got = 0;
	while (got < (int)sizeof(buf) - 1) {
		int n = wolfSSL_read(ssl, buf + got, (int)sizeof(buf) - 1 - got);
		if (n <= 0)
			break;
		got += n;
		buf[got] = '\0';
		if (strstr(buf, "-------a786hjs2$\r\n"))
			break;
	}
	buf[got] = '\0';
	cr_expect(strncmp(buf, "MSRP a786hjs2 481", 17) == 0, "got: %s", buf);
	wolfSSL_shutdown(ssl);
	wolfSSL_free(ssl);
	close(fd);
	wolfSSL_CTX_free(ctx);
	wolfSSL_Cleanup();
}

/* ---- tshark: every frame rcsgw sent decodes as MSRP, nothing malformed ---------------- */

Test(msrp_daemon, tshark_decodes_every_frame)
{
	if (access("/usr/bin/tshark", X_OK) != 0)
		cr_skip_test("tshark is not installed (scripts/deps.sh installs it)");
	start(0);
	char pcap[] = "/tmp/rcsgw-msrp-XXXXXX.pcap";
	int pfd = mkstemps(pcap, 5);
	cr_assert_geq(pfd, 0);
	close(pfd);
	chmod(pcap, 0666);
	char filter[64], port[16];
	snprintf(filter, sizeof(filter), "tcp port %d", msrp_port);
	snprintf(port, sizeof(port), "%d", msrp_port);
	char *targv[] = { "/usr/bin/tshark", "-q", "-i", "lo", "-f", filter, "-w", pcap, NULL };
	int terr = -1;
	pid_t tp = proc_spawn(targv, NULL, NULL, &terr, NULL);
	cr_assert_gt(tp, 0);
	char line[512];
	int ready = 0;
	while (!ready && proc_read_line(terr, line, sizeof(line), 10000) >= 0)
		ready = strstr(line, "Capturing on") != NULL;
	cr_assert(ready, "tshark did not start capturing");
	usleep(300000);

	/* one frame per TCP segment each way (tshark 4.0 decodes the first of a segment) */
	const char *reqs[] = { send_req, frob_req, auth_req, send_req };
	const char *ends[] = { "-------a786hjs2$\r\n", "-------frob1234$\r\n", "-------auth1234$\r\n",
			       "-------a786hjs2$\r\n" };
	int fd = tcp(msrp_port);
	for (int i = 0; i < 4; i++) {
		cr_assert(send(fd, reqs[i], strlen(reqs[i]), 0) > 0);
		const char *r = read_until(fd, ends[i], 5000);
		cr_expect(strstr(r, ends[i]), "no response %d", i);
		usleep(50000);
	}
	close(fd);
	usleep(300000);
	kill(tp, SIGINT);
	cr_assert(proc_wait(tp, 10000) != -1, "tshark did not stop");
	close(terr);

	/* decode: every response of rcsgw is an MSRP frame, none malformed */
	char decode[64];
	snprintf(decode, sizeof(decode), "tcp.port==%d,msrp", msrp_port);
	char *argv1[] = { "/usr/bin/tshark", "-r", pcap, "-d", decode, "-Y",
			  "msrp && tcp.srcport == PORT", "-T", "fields", "-e", "msrp.response.line", NULL };
	char yfilter[64];
	snprintf(yfilter, sizeof(yfilter), "msrp && tcp.srcport == %d", msrp_port);
	argv1[6] = yfilter;
	int out;
	pid_t p1 = proc_spawn(argv1, NULL, &out, NULL, NULL);
	char resp[8192];
	proc_read_all(out, resp, sizeof(resp), 20000);
	proc_wait(p1, 20000);
	close(out);
	int n481 = 0, n501 = 0, n403 = 0;
	for (char *s = resp; (s = strstr(s, "MSRP ")); s++) {
		n481 += strncmp(s + 14, "481", 3) == 0;
		n501 += strncmp(s + 14, "501", 3) == 0;
		n403 += strncmp(s + 14, "403", 3) == 0;
	}
	cr_expect_eq(n481, 2, "tshark saw these responses:\n%s", resp);
	cr_expect_eq(n501, 1, "tshark saw these responses:\n%s", resp);
	cr_expect_eq(n403, 1, "tshark saw these responses:\n%s", resp);

	char *argv2[] = { "/usr/bin/tshark", "-r", pcap, "-d", decode, "-Y", "_ws.malformed", NULL };
	pid_t p2 = proc_spawn(argv2, NULL, &out, NULL, NULL);
	char mal[4096];
	proc_read_all(out, mal, sizeof(mal), 20000);
	proc_wait(p2, 20000);
	close(out);
	cr_expect_eq(strlen(mal), 0, "malformed frames:\n%s", mal);
	unlink(pcap);
}

/* The subject of the certificate the daemon's msrps listener shows for <sni>. */
static void peer_subject(WOLFSSL_CTX *ctx, const char *sni, char *out, size_t len)
{
	int fd = tcp(msrps_port);
	WOLFSSL *ssl = wolfSSL_new(ctx);
	wolfSSL_set_fd(ssl, fd);
	if (sni)
		wolfSSL_UseSNI(ssl, WOLFSSL_SNI_HOST_NAME, sni, (unsigned short)strlen(sni));
	out[0] = '\0';
	if (wolfSSL_connect(ssl) == WOLFSSL_SUCCESS) {
		WOLFSSL_X509 *x = wolfSSL_get_peer_certificate(ssl);
		if (x) {
			wolfSSL_X509_NAME_oneline(wolfSSL_X509_get_subject_name(x), out, (int)len);
			wolfSSL_X509_free(x);
		}
	}
	wolfSSL_shutdown(ssl);
	wolfSSL_free(ssl);
	close(fd);
}

Test(msrp_daemon, msrps_sni_certificate_from_config)
{
	char subj[512];
	start(1);
	cr_assert_eq(wait_port(HOST, msrps_port, 10000), 0);
	wolfSSL_Init();
	WOLFSSL_CTX *ctx = wolfSSL_CTX_new(wolfTLS_client_method());
	cr_assert_eq(wolfSSL_CTX_load_verify_locations(ctx, certs.ca, NULL), WOLFSSL_SUCCESS);
	peer_subject(ctx, TLS_CERTS_ALT_CN, subj, sizeof(subj));
	cr_expect(strstr(subj, "CN=" TLS_CERTS_ALT_CN), "SNI %s got: %s", TLS_CERTS_ALT_CN, subj);
	peer_subject(ctx, "localhost", subj, sizeof(subj));
	cr_expect(strstr(subj, "CN=" TLS_CERTS_SERVER_CN), "SNI localhost got: %s", subj);
	peer_subject(ctx, NULL, subj, sizeof(subj));
	cr_expect(strstr(subj, "CN=" TLS_CERTS_SERVER_CN), "no SNI got: %s", subj);
	wolfSSL_CTX_free(ctx);
	wolfSSL_Cleanup();
}

Test(msrp_daemon, answers_over_secure_websocket)
{
	static struct msrp_ws_cfg cfg;
	char host[32];

	start_with(1, 2);
	cr_assert_eq(wait_port(HOST, ws_port, 10000), 0);
	memset(&K, 0, sizeof(K));
	wolfSSL_Init();
	WOLFSSL_CTX *ctx = wolfSSL_CTX_new(wolfTLS_client_method());
	cr_assert_eq(wolfSSL_CTX_load_verify_locations(ctx, certs.ca, NULL), WOLFSSL_SUCCESS);
	K.fd = tcp(ws_port);
	K.ssl = wolfSSL_new(ctx);
	wolfSSL_set_fd(K.ssl, K.fd);
	cr_assert_eq(wolfSSL_connect(K.ssl), WOLFSSL_SUCCESS, "TLS handshake with msrp.wss_listen");
	msrp_ws_cfg_defaults(&cfg);
	cr_assert_eq(msrp_ws_init(&K.ws, MSRP_WS_CLIENT, &cfg, &k_ops, NULL, NULL, k_out, NULL), 0);
	snprintf(host, sizeof(host), "localhost:%d", ws_port);
	cr_assert_eq(msrp_ws_client_start(&K.ws, (cm_slice){ host, strlen(host) },
					  CM_SLICE_LIT("/"), CM_SLICE_NULL), 0);
	cr_assert_eq(k_pump(&K.opened, 1, 5000), 0, "no 101 (HTTP %d)", msrp_ws_http_status(&K.ws));
	const char *r = k_ask(send_req);
	cr_expect(strncmp(r, "MSRP a786hjs2 481", 17) == 0, "got: %s", r);
	r = k_ask(frob_req);
	cr_expect(strncmp(r, "MSRP frob1234 501", 17) == 0, "got: %s", r);
	msrp_ws_fini(&K.ws);
	wolfSSL_shutdown(K.ssl);
	wolfSSL_free(K.ssl);
	K.ssl = NULL;
	close(K.fd);
	wolfSSL_CTX_free(ctx);
	wolfSSL_Cleanup();
	cr_expect_geq(metric("rcsgw_msrp_ws_upgrades_total"), 1);
}

/* ---- hostile input: many connections of garbage and truncated frames ------------------ */

Test(msrp_daemon, survives_a_flood_of_garbage)
{
	start(0);
	unsigned seed = 12345;
	char buf[4096];
	for (int i = 0; i < 300; i++) {
		int fd = tcp(msrp_port);
		size_t n = 0;
		switch (i % 4) {
		case 0: /* random bytes */
			n = 1 + (size_t)rand_r(&seed) % sizeof(buf);
			for (size_t k = 0; k < n; k++)
				buf[k] = (char)rand_r(&seed);
			break;
		case 1: /* a valid frame cut anywhere, then random bytes */
			n = (size_t)rand_r(&seed) % (sizeof(send_req) - 1);
			memcpy(buf, send_req, n);
			for (size_t k = 0; k < 64; k++)
				buf[n++] = (char)rand_r(&seed);
			break;
		case 2: /* a valid frame with one byte flipped */
			n = sizeof(send_req) - 1;
			memcpy(buf, send_req, n);
			buf[(size_t)rand_r(&seed) % n] ^= (char)(1 + rand_r(&seed) % 255);
			break;
		default: /* huge header line */
			n = (size_t)snprintf(buf, sizeof(buf), "MSRP a786hjs2 SEND\r\nTo-Path: ");
			while (n < sizeof(buf))
				buf[n++] = 'x';
			break;
		}
		if (send(fd, buf, n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 && errno != EAGAIN)
			cr_log_info("send %d: %s", i, strerror(errno));
		if (i % 2)
			close(fd); /* half of them hang up at once, the others after a moment */
		else {
			usleep(1000);
			close(fd);
		}
	}
	/* still serving, and still answering the API */
	int fd = tcp(msrp_port);
	cr_assert(send(fd, send_req, sizeof(send_req) - 1, 0) > 0);
	const char *r = read_until(fd, "-------a786hjs2$\r\n", 5000);
	cr_expect(strncmp(r, "MSRP a786hjs2 481", 17) == 0, "got: %s", r);
	close(fd);
	cr_expect_geq(metric("rcsgw_msrp_stream_errors_total"), 50);
	cr_expect_eq(rcsgw_stop(pid, SIGTERM, 15000), 0, "the daemon did not stop cleanly");
	pid = -1;
}

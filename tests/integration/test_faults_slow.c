/* test_faults_slow.c — slowloris on every listener (issue 12, faults): many connections
 * that send a frame's head (or its body, or a TLS ClientHello, or a WebSocket upgrade) a
 * byte at a time and never finish. Expected of the daemon, for each listener:
 *   - each slow connection is cut off at its deadline (300 ms here), counted from the frame's
 *     first byte, although a byte comes every SLOW_DRIP_MS (an idle timer would never
 *     fire), and not long after it (the sweeps run every 250 ms);
 *   - each cut is counted in rcsgw_slow_closed_total{listener,phase} (exactly);
 *   - while SLOW_N of them are held (RCSGW_TEST_SLOW_N=1000 for a heavier run), a
 *     legitimate client on the same listener is answered in normal time.
 * (e) A slow reader (requests pipelined, answers never read) has engine.send_timeout (300
 * ms here) once its answers stop moving, counted as {listener="any",phase="send"}.
 * The API's per-address limit (api.per_ip_limit) is checked too: a slow client with many
 * connections from one address keeps api.per_ip_limit of them, the others are closed at
 * once, and a client from another address is served.
 * A daemon per test, with every listener (the TLS ones where the test needs them) and every
 * deadline at 300 ms. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include "diameter/dm_msg.h"
#include "tests/lib/msrp_client.h"
#include "tests/lib/proc.h"
#include "tests/lib/rcsgw_proc.h"
#include "tests/lib/tls_certs.h"

#define HOST           "127.0.0.1"
#define SLOW_SRC       "127.0.0.2"  /* the slow clients' address (the API's per-IP test) */
#define SLOW_N         200          /* slow connections held per test, by default */
#define SLOW_MAX       4000         /* ... at most (RCSGW_TEST_SLOW_N) */
#define SLOW_DRIP_MS   100          /* a byte on each of them this often */
#define DEADLINE_MS    300          /* every deadline of the daemon here */
#define PER_IP_LIMIT   16           /* api.per_ip_limit here */
#define LEGIT_MAX_MS   1500         /* a legitimate exchange takes less (ASan included) */
#define CUT_SLACK_MS   (1000 + slow_count / 2) /* a cut comes this long after the deadline,
						* at most (this client's own rounds over many
						* connections take longer) */

static pid_t pid = -1;
static int efd = -1;
static int api_port, msrp_port, msrps_port, ws_port, sip_port, sips_port, dia_port;
static struct tls_certs certs;
static int have_certs;
static const char *more_env[8];    /* more environment for the next start(), NULL-ended */
static char ht_path[64];           /* the relay's credentials file, when a test made one */

static void fini(void)
{
	/* a clean exit: nothing broken or leaked by all that (ASan/LSan say so in it) */
	if (pid > 0) {
		int st = rcsgw_stop(pid, SIGTERM, 10000);
		cr_expect_eq(st, 0, "rcsgw exited with %d", st);
	}
	pid = -1;
	if (efd >= 0)
		close(efd);
	efd = -1;
	if (have_certs)
		tls_certs_remove(&certs);
	have_certs = 0;
	if (ht_path[0])
		unlink(ht_path);
	ht_path[0] = '\0';
	memset(more_env, 0, sizeof(more_env));
}

/* Starts the daemon with every plain listener, and with <tls> the TLS ones too (MSRP's
 * and SIP's: the certificates take a while to make). */
static void start(int tls)
{
	static char e[12][320];
	char err[256];
	int n = 0;

	api_port = free_tcp_port();
	msrp_port = free_tcp_port();
	ws_port = free_tcp_port();
	sip_port = free_tcp_port();
	dia_port = free_tcp_port();
	snprintf(e[n++], sizeof(e[0]), "RCSGW_API_LISTEN=" HOST ":%d", api_port);
	snprintf(e[n++], sizeof(e[0]), "RCSGW_MSRP_LISTEN=" HOST ":%d", msrp_port);
	snprintf(e[n++], sizeof(e[0]), "RCSGW_MSRP_WS_LISTEN=" HOST ":%d", ws_port);
	snprintf(e[n++], sizeof(e[0]), "RCSGW_DIAMETER_LISTEN=" HOST ":%d", dia_port);
	if (tls) {
		cr_assert_eq(tls_certs_make(&certs, err, sizeof(err)), 0, "%s", err);
		have_certs = 1;
		msrps_port = free_tcp_port();
		sips_port = free_tcp_port();
		snprintf(e[n++], sizeof(e[0]), "RCSGW_MSRPS_LISTEN=" HOST ":%d", msrps_port);
		snprintf(e[n++], sizeof(e[0]), "RCSGW_SIP_LISTEN=tcp:" HOST ":%d,tls:" HOST ":%d",
			 sip_port, sips_port);
		snprintf(e[n++], sizeof(e[0]), "RCSGW_MSRPS_CERT=%s", certs.server_cert);
		snprintf(e[n++], sizeof(e[0]), "RCSGW_MSRPS_KEY=%s", certs.server_key);
		snprintf(e[n++], sizeof(e[0]), "RCSGW_SIP_TLS_CERT=%s", certs.server_cert);
		snprintf(e[n++], sizeof(e[0]), "RCSGW_SIP_TLS_KEY=%s", certs.server_key);
	} else {
		snprintf(e[n++], sizeof(e[0]), "RCSGW_SIP_LISTEN=tcp:" HOST ":%d", sip_port);
	}
	const char *fixed[] = { "RCSGW_ENGINE_WORKERS=2", "RCSGW_ENGINE_PIN=false",
				"RCSGW_LOG_LEVEL=warn", "RCSGW_ENGINE_DRAIN_TIMEOUT=0",
				"RCSGW_MSRP_HEAD_TIMEOUT=300ms", "RCSGW_ENGINE_FRAME_TIMEOUT=300ms",
				"RCSGW_ENGINE_TLS_HANDSHAKE_TIMEOUT=300ms",
				"RCSGW_API_HEAD_TIMEOUT=300ms", "RCSGW_API_PER_IP_LIMIT=16",
				"RCSGW_ENGINE_SEND_TIMEOUT=300ms",
				"RCSGW_DIAMETER_ORIGIN_HOST=gw.test.local",
				"RCSGW_DIAMETER_ORIGIN_REALM=test.local",
				"RCSGW_DIAMETER_ACCEPT=*.test.local", "RCSGW_DIAMETER_PEERS=" };
	const char *env[12 + sizeof(fixed) / sizeof(fixed[0]) + 8 + 1];
	int k = 0;
	for (int i = 0; i < n; i++)
		env[k++] = e[i];
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		env[k++] = fixed[i];
	for (int i = 0; i < 7 && more_env[i]; i++)
		env[k++] = more_env[i];
	env[k] = NULL;
	pid = rcsgw_spawn(env, NULL, &efd);
	cr_assert_gt(pid, 0);
	int ports[] = { api_port, msrp_port, ws_port, sip_port, dia_port,
			tls ? msrps_port : 0, tls ? sips_port : 0 };
	for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++)
		if (ports[i] && wait_port(HOST, ports[i], 10000) < 0) {
			char out[8192];
			proc_read_all(efd, out, sizeof(out), 200);
			cr_assert_fail("rcsgw does not listen on %d:\n%s", ports[i], out);
		}
}

TestSuite(faults_slow, .fini = fini, .timeout = 60);


/* A blocking TCP connection to HOST:<port> from <src> (NULL: any). */
static int tcp_from(const char *src, int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	cr_assert_geq(fd, 0);
	if (src) {
		struct sockaddr_in b = { .sin_family = AF_INET };
		inet_pton(AF_INET, src, &b.sin_addr);
		cr_assert_eq(bind(fd, (struct sockaddr *)&b, sizeof(b)), 0, "bind %s: %s", src,
			     strerror(errno));
	}
	inet_pton(AF_INET, HOST, &sa.sin_addr);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0, "connect %d: %s", port,
		     strerror(errno));
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* ---- the slow clients ------------------------------------------------------------------ */

/* How many slow connections a test holds: RCSGW_TEST_SLOW_N (1..SLOW_MAX), else SLOW_N;
 * the descriptor limit raised to its hard limit when that many need it. */
static int slow_count = SLOW_N;

static int slow_n(void)
{
	const char *v = getenv("RCSGW_TEST_SLOW_N");
	int n = v && *v ? atoi(v) : SLOW_N;
	if (n < 1 || n > SLOW_MAX)
		n = SLOW_N;
	slow_count = n;
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)n + 256) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	return n;
}

struct slow {
	int n;
	int fd[SLOW_MAX];
	int64_t t0[SLOW_MAX];      /* when its frame's first byte went */
	int64_t cut[SLOW_MAX];     /* when the daemon closed it (0: not yet) */
};

/* Opens <n> connections to <port> from <src> and sends <first> (<len> bytes) on each. */
static void slow_open(struct slow *s, const char *src, int port, const void *first, size_t len,
		      int n)
{
	memset(s, 0, sizeof(*s));
	for (int i = 0; i < n; i++) {
		s->fd[i] = tcp_from(src, port);
		if (len && send(s->fd[i], first, len, MSG_NOSIGNAL) != (ssize_t)len)
			s->cut[i] = proc_now_ms(); /* closed at once (a refused connection) */
		s->t0[i] = proc_now_ms();
		s->n++;
	}
}

/* Reads what came on each open one: EOF or a reset is the cut. */
static void slow_poll(struct slow *s)
{
	for (int i = 0; i < s->n; i++) {
		if (s->cut[i])
			continue;
		char buf[4096];
		ssize_t r = recv(s->fd[i], buf, sizeof(buf), MSG_DONTWAIT);
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
			s->cut[i] = proc_now_ms();
	}
}

/* One byte of <drip> (cycled) on each connection still open. */
static void slow_drip(struct slow *s, const char *drip, unsigned k)
{
	char b = drip[k % strlen(drip)];
	for (int i = 0; i < s->n; i++)
		if (!s->cut[i] && send(s->fd[i], &b, 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 &&
		    errno != EAGAIN)
			s->cut[i] = proc_now_ms();
}

/* Drips on every connection until all are cut or <until> (monotonic ms) passes; the number
 * still open. */
static int slow_run(struct slow *s, const char *drip, int64_t until)
{
	static unsigned k;
	int open_n = s->n;
	int64_t next = 0;
	while (open_n && proc_now_ms() < until) {
		if (proc_now_ms() >= next) {
			slow_drip(s, drip, k++);
			next = proc_now_ms() + SLOW_DRIP_MS;
		}
		usleep(20000);
		slow_poll(s);
		open_n = 0;
		for (int i = 0; i < s->n; i++)
			open_n += !s->cut[i];
	}
	return open_n;
}

/* Every one of <s> cut: not before the deadline, not long after it; then closed here. */
static void slow_expect_cut(struct slow *s, const char *what)
{
	int early = 0, late = 0;
	int64_t worst = 0;
	for (int i = 0; i < s->n; i++) {
		int64_t d = s->cut[i] - s->t0[i];
		early += d < DEADLINE_MS - 100;
		late += d > DEADLINE_MS + CUT_SLACK_MS;
		if (d > worst)
			worst = d;
	}
	cr_expect_eq(early, 0, "%s: %d connections cut before the deadline", what, early);
	cr_expect_eq(late, 0, "%s: %d connections cut late (worst %lld ms)", what, late,
		     (long long)worst);
	for (int i = 0; i < s->n; i++)
		close(s->fd[i]);
}

static double slow_metric(const char *listener, const char *phase)
{
	char labels[96];
	snprintf(labels, sizeof(labels), "listener=\"%s\",phase=\"%s\"", listener, phase);
	return http_metric_sum_where(api_port, NULL, "rcsgw_slow_closed_total", labels);
}

/* The whole scenario on one listener: <n> slow connections opened with <first> then
 * dripping <drip>; <legit>() run while they are held must take less than LEGIT_MAX_MS;
 * all of them cut at the deadline and counted under <listener>/<phase>. */
static void slowloris(int port, const void *first, size_t flen, const char *drip,
		      void (*legit)(void), const char *listener, const char *phase)
{
	static struct slow s;
	double before = slow_metric(listener, phase);
	cr_assert_geq(before, 0, "no rcsgw_slow_closed_total{%s,%s}", listener, phase);
	int n = slow_n();
	slow_open(&s, NULL, port, first, flen, n);
	slow_run(&s, drip, proc_now_ms() + 2 * SLOW_DRIP_MS);
	int64_t t = proc_now_ms();
	legit();
	t = proc_now_ms() - t;
	cr_expect_lt(t, LEGIT_MAX_MS, "%s: a legitimate client took %lld ms", listener,
		     (long long)t);
	int left = slow_run(&s, drip, proc_now_ms() + DEADLINE_MS + CUT_SLACK_MS + 500);
	cr_expect_eq(left, 0, "%s: %d slow connections still open", listener, left);
	slow_expect_cut(&s, listener);
	cr_expect_eq(slow_metric(listener, phase) - before, n, "%s/%s counted %g", listener,
		     phase, slow_metric(listener, phase) - before);
}

/* Reads from <fd> until <want> shows or <timeout_ms>: 1 when it did. */
static int read_until(int fd, const char *want, int timeout_ms)
{
	char buf[8192];
	size_t n = 0;
	int64_t end = proc_now_ms() + timeout_ms;
	while (proc_now_ms() < end && n < sizeof(buf) - 1) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, 50) <= 0)
			continue;
		ssize_t r = recv(fd, buf + n, sizeof(buf) - 1 - n, 0);
		if (r <= 0)
			break;
		n += (size_t)r;
		buf[n] = '\0';
		if (strstr(buf, want))
			return 1;
	}
	return 0;
}

/* ---- legitimate clients ------------------------------------------------------------------ */

/* A new connection to <port> sends <req> (<len> bytes): <want> must come back in time. */
static void legit_exchange(int port, const char *req, size_t len, const char *want)
{
	int fd = tcp_from(NULL, port);
	cr_assert_eq(send(fd, req, len, 0), (ssize_t)len);
	cr_expect(read_until(fd, want, LEGIT_MAX_MS), "no \"%s\" from port %d", want, port);
	close(fd);
}

static const char msrp_send[] =
	"MSRP legit01 SEND\r\n"
	"To-Path: msrp://127.0.0.1:2855/nosuch;tcp\r\n"
	"From-Path: msrp://127.0.0.1:9/legit;tcp\r\n"
	"Message-ID: legit-1\r\n"
	"Byte-Range: 1-2/2\r\n"
	"Content-Type: text/plain\r\n\r\n"
	"hi\r\n"
	"-------legit01$\r\n";

static void legit_msrp(void)
{
	legit_exchange(msrp_port, msrp_send, sizeof(msrp_send) - 1, "MSRP legit01 ");
}

static const char sip_options[] =
	"OPTIONS sip:gw@127.0.0.1 SIP/2.0\r\n"
	"Via: SIP/2.0/TCP 127.0.0.1:9;branch=z9hG4bK-slow-legit\r\n"
	"Max-Forwards: 70\r\n"
	"From: <sip:legit@127.0.0.1>;tag=l1\r\n"
	"To: <sip:gw@127.0.0.1>\r\n"
	"Call-ID: slow-legit-1\r\n"
	"CSeq: 1 OPTIONS\r\n"
	"Content-Length: 0\r\n\r\n";

static void legit_sip(void)
{
	legit_exchange(sip_port, sip_options, sizeof(sip_options) - 1, "SIP/2.0 ");
}

/* A CER from peer.test.local (diameter.accept *.test.local): a CEA must come. */
static void legit_diameter(void)
{
	uint8_t buf[512], ip[4] = { 127, 0, 0, 1 };
	struct dm_wbuf w;
	dm_w_init(&w, buf, sizeof(buf));
	dm_w_hdr(&w, 0x80, 257, 0, 1, 1);
	dm_w_str(&w, 264, 0x40, 0, "peer.test.local");
	dm_w_str(&w, 296, 0x40, 0, "test.local");
	dm_w_address(&w, 257, 0x40, 0, 1, ip, sizeof(ip));
	dm_w_u32(&w, 266, 0x40, 0, 0);
	dm_w_str(&w, 269, 0, 0, "slow-test");
	long len = dm_w_finish(&w);
	cr_assert_gt(len, 0);
	int fd = tcp_from(NULL, dia_port);
	cr_assert_eq(send(fd, buf, (size_t)len, 0), len);
	uint8_t in[20];
	size_t n = 0;
	int64_t end = proc_now_ms() + LEGIT_MAX_MS;
	while (n < sizeof(in) && proc_now_ms() < end) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, 50) <= 0)
			continue;
		ssize_t r = recv(fd, in + n, sizeof(in) - n, 0);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	cr_expect_eq(n, sizeof(in), "no CEA");
	if (n == sizeof(in)) {
		uint32_t code = (uint32_t)in[5] << 16 | (uint32_t)in[6] << 8 | in[7];
		cr_expect_eq(code, 257u, "not a CEA: command %u", code);
		cr_expect_eq(in[4] & 0x80, 0, "not an answer");
	}
	close(fd);
}

static void legit_api(void)
{
	int st = 0;
	char *body = NULL;
	cr_expect_eq(http_request(HOST, api_port, "GET", "/v1/status", NULL, NULL, &st, NULL,
				  &body, LEGIT_MAX_MS), 0, "GET /v1/status failed");
	cr_expect_eq(st, 200);
	free(body);
}

static void legit_tls(int port)
{
	WOLFSSL_CTX *ctx = wolfSSL_CTX_new(wolfTLS_client_method());
	cr_assert(ctx);
	cr_assert_eq(wolfSSL_CTX_load_verify_locations(ctx, certs.ca, NULL), WOLFSSL_SUCCESS);
	int fd = tcp_from(NULL, port);
	struct timeval tv = { .tv_sec = LEGIT_MAX_MS / 1000, .tv_usec = LEGIT_MAX_MS % 1000 * 1000 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	WOLFSSL *ssl = wolfSSL_new(ctx);
	wolfSSL_set_fd(ssl, fd);
	cr_expect_eq(wolfSSL_connect(ssl), WOLFSSL_SUCCESS, "TLS handshake on %d failed", port);
	wolfSSL_free(ssl);
	wolfSSL_CTX_free(ctx);
	close(fd);
}

static void legit_msrps(void) { legit_tls(msrps_port); }

static const char ws_upgrade[] =
	"GET / HTTP/1.1\r\n"
	"Host: 127.0.0.1\r\n"
	"Upgrade: websocket\r\n"
	"Connection: Upgrade\r\n"
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	"Sec-WebSocket-Version: 13\r\n"
	"Sec-WebSocket-Protocol: msrp\r\n\r\n";

static void legit_ws(void)
{
	legit_exchange(ws_port, ws_upgrade, sizeof(ws_upgrade) - 1, "HTTP/1.1 101");
}

/* ---- one test per listener and variant ----------------------------------------------------- */

/* (a) MSRP over TCP: the start line, then a header a byte at a time */
Test(faults_slow, msrp_head)
{
	start(0);
	static const char first[] = "MSRP slow0001 SEND\r\nTo-Path: msrp://127.0.0.1/x;tcp\r\nX-Slow: ";
	slowloris(msrp_port, first, sizeof(first) - 1, "a", legit_msrp, "msrp", "head");
}

/* (a) SIP over TCP: a request's head that never ends */
Test(faults_slow, sip_head)
{
	start(0);
	static const char first[] = "OPTIONS sip:gw@127.0.0.1 SIP/2.0\r\nX-Slow: ";
	slowloris(sip_port, first, sizeof(first) - 1, "a", legit_sip, "sip", "head");
}

/* (b) SIP over TCP: a whole head promising 1000 bytes of body, trickled */
Test(faults_slow, sip_body)
{
	start(0);
	static const char first[] =
		"MESSAGE sip:gw@127.0.0.1 SIP/2.0\r\n"
		"Via: SIP/2.0/TCP 127.0.0.1:9;branch=z9hG4bK-slow\r\n"
		"Max-Forwards: 70\r\nFrom: <sip:s@127.0.0.1>;tag=s\r\nTo: <sip:gw@127.0.0.1>\r\n"
		"Call-ID: slow-body\r\nCSeq: 1 MESSAGE\r\nContent-Type: text/plain\r\n"
		"Content-Length: 1000\r\n\r\n";
	slowloris(sip_port, first, sizeof(first) - 1, "b", legit_sip, "sip", "body");
}

/* (a/b) Diameter: a header announcing 200 bytes, the rest trickled (before any CER: the
 * frame's deadline comes before the capabilities exchange's own 10 s) */
Test(faults_slow, diameter_frame)
{
	start(0);
	static const uint8_t first[] = { 1, 0, 0, 200, 0x80, 0, 1, 1, 0, 0 };
	slowloris(dia_port, first, sizeof(first), "\x01", legit_diameter, "diameter", "frame");
}

/* (c) TLS: a ClientHello's record header then a byte at a time, on MSRP's and SIP's TLS
 * listeners (the engine's handshake deadline, the same for every TLS listener) */
Test(faults_slow, tls_handshake)
{
	start(1);
	static const uint8_t first[] = { 0x16, 0x03, 0x01, 0x02, 0x00, 0x01 };
	slowloris(msrps_port, first, sizeof(first), "\x03", legit_msrps, "tls", "handshake");
}

/* (c) TLS: connections that say nothing at all */
Test(faults_slow, tls_silent)
{
	start(1);
	static struct slow s;
	double before = slow_metric("tls", "handshake");
	int n = slow_n();
	slow_open(&s, NULL, sips_port, NULL, 0, n);
	int64_t t = proc_now_ms();
	legit_tls(sips_port);
	cr_expect_lt(proc_now_ms() - t, LEGIT_MAX_MS);
	/* nothing dripped: silence is the slowest handshake */
	int64_t end = proc_now_ms() + DEADLINE_MS + CUT_SLACK_MS + 500;
	int left = n;
	while (left && proc_now_ms() < end) {
		usleep(20000);
		slow_poll(&s);
		left = 0;
		for (int i = 0; i < s.n; i++)
			left += !s.cut[i];
	}
	cr_expect_eq(left, 0, "%d silent TLS connections still open", left);
	slow_expect_cut(&s, "tls silent");
	cr_expect_eq(slow_metric("tls", "handshake") - before, n);
}

/* (d) WebSocket: the HTTP upgrade request trickled */
Test(faults_slow, ws_upgrade)
{
	start(0);
	static const char first[] = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
	slowloris(ws_port, first, sizeof(first) - 1, "a", legit_ws, "msrp_ws", "upgrade");
}

/* (a) the API: request heads trickled from one address; api.per_ip_limit keeps 16 of the
 * SLOW_N, the others are closed at once; a client from another address is served; the 16
 * are cut at api.head_timeout */
Test(faults_slow, api_head)
{
	start(0);
	static struct slow s;
	static const char first[] = "GET /v1/status HTTP/1.1\r\nHost: x\r\nX-Slow: ";
	double before = slow_metric("api", "head");
	double refused0 = http_metric_sum(api_port, NULL, "rcsgw_api_connections_refused_total");
	cr_assert_geq(before, 0);
	cr_assert_geq(refused0, 0);
	int n = slow_n();
	slow_open(&s, SLOW_SRC, api_port, first, sizeof(first) - 1, n);
	slow_run(&s, "a", proc_now_ms() + 2 * SLOW_DRIP_MS);
	int open_n = 0;
	for (int i = 0; i < s.n; i++)
		open_n += !s.cut[i];
	cr_expect_eq(open_n, PER_IP_LIMIT, "%d slow connections held from one address", open_n);
	int64_t t = proc_now_ms();
	legit_api();
	cr_expect_lt(proc_now_ms() - t, LEGIT_MAX_MS);
	int left = slow_run(&s, "a", proc_now_ms() + DEADLINE_MS + CUT_SLACK_MS + 500);
	cr_expect_eq(left, 0, "%d slow API connections still open", left);
	/* only those held count: the refused ones were closed at once */
	int late = 0;
	for (int i = 0; i < s.n; i++)
		late += s.cut[i] - s.t0[i] > DEADLINE_MS + CUT_SLACK_MS;
	cr_expect_eq(late, 0);
	for (int i = 0; i < s.n; i++)
		close(s.fd[i]);
	/* each one either refused at once or held and cut (more than PER_IP_LIMIT held when
	 * opening them all took longer than the deadline: slots freed by the cuts) */
	double cut = slow_metric("api", "head") - before;
	double refused = http_metric_sum(api_port, NULL, "rcsgw_api_connections_refused_total") -
			 refused0;
	cr_expect_geq(cut, PER_IP_LIMIT);
	cr_expect_eq(cut + refused, n, "%g cut + %g refused of %d", cut, refused, n);
}

/* (b) the API: a POST whose announced body is trickled */
Test(faults_slow, api_body)
{
	start(0);
	static struct slow s;
	static const char first[] = "POST /v1/sessions HTTP/1.1\r\nHost: x\r\n"
				    "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{";
	double before = slow_metric("api", "body");
	slow_open(&s, SLOW_SRC, api_port, first, sizeof(first) - 1, PER_IP_LIMIT);
	slow_run(&s, " ", proc_now_ms() + 2 * SLOW_DRIP_MS);
	int64_t t = proc_now_ms();
	legit_api();
	cr_expect_lt(proc_now_ms() - t, LEGIT_MAX_MS);
	int left = slow_run(&s, " ", proc_now_ms() + DEADLINE_MS + CUT_SLACK_MS + 500);
	cr_expect_eq(left, 0, "%d slow API bodies still open", left);
	slow_expect_cut(&s, "api body");
	cr_expect_eq(slow_metric("api", "body") - before, PER_IP_LIMIT);
}

/* (e) MSRP: slow readers that pipeline SENDs and read none of the answers: the daemon's
 * queue towards each stops moving and is cut at engine.send_timeout (looked at every
 * quarter of it), while a client that reads is served. */
#define READERS 4
Test(faults_slow, msrp_slow_reader)
{
	start(0);
	int fd[READERS];
	double before = slow_metric("any", "send");
	cr_assert_geq(before, 0);
	for (int i = 0; i < READERS; i++) {
		int small = 1;
		fd[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		setsockopt(fd[i], SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
		struct sockaddr_in sa = { .sin_family = AF_INET,
					  .sin_port = htons((uint16_t)msrp_port) };
		inet_pton(AF_INET, HOST, &sa.sin_addr);
		cr_assert_eq(connect(fd[i], (struct sockaddr *)&sa, sizeof(sa)), 0);
		fcntl(fd[i], F_SETFL, O_NONBLOCK);
	}
	/* pipelined until the daemon takes no more from any of them (its answers fill the
	 * socket buffers, then its own queue) */
	int64_t t0 = proc_now_ms(), quiet_since = 0;
	size_t off[READERS] = { 0 };
	while (proc_now_ms() - t0 < 4000) {
		int moved = 0;
		for (int i = 0; i < READERS; i++) {
			ssize_t r = send(fd[i], msrp_send + off[i], sizeof(msrp_send) - 1 - off[i],
					 MSG_NOSIGNAL);
			if (r > 0) {
				moved = 1;
				off[i] = (off[i] + (size_t)r) % (sizeof(msrp_send) - 1);
			}
		}
		if (moved)
			quiet_since = 0;
		else if (!quiet_since)
			quiet_since = proc_now_ms();
		else if (proc_now_ms() - quiet_since > 300)
			break;
	}
	cr_assert(quiet_since, "the daemon kept reading from clients that read nothing");
	int64_t t = proc_now_ms();
	legit_msrp();
	cr_expect_lt(proc_now_ms() - t, LEGIT_MAX_MS);
	/* cut at the deadline (not read meanwhile: reading would move the queues) */
	int64_t end = proc_now_ms() + 300 + 2 * 250 + CUT_SLACK_MS;
	double got = 0;
	while ((got = slow_metric("any", "send") - before) < READERS && proc_now_ms() < end)
		usleep(100000);
	cr_expect_eq(got, READERS, "%g slow readers cut", got);
	/* and closed indeed: what the kernels held, then EOF or a reset. The daemon's socket
	 * may still hold megabytes for a window of a few hundred bytes: the window opens wide
	 * now so that draining them does not take seconds on a loaded machine */
	for (int i = 0; i < READERS; i++) {
		int big = 1 << 20;
		setsockopt(fd[i], SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	}
	for (int i = 0; i < READERS; i++) {
		char buf[65536];
		ssize_t r;
		int64_t stop = proc_now_ms() + 5000;
		do {
			struct pollfd p = { .fd = fd[i], .events = POLLIN };
			poll(&p, 1, 100);
			r = recv(fd[i], buf, sizeof(buf), 0);
		} while ((r > 0 || (r < 0 && errno == EAGAIN)) && proc_now_ms() < stop);
		cr_expect(r == 0 || (r < 0 && errno != EAGAIN), "slow reader %d still open", i);
		close(fd[i]);
	}
}

/* ---- MSRP bodies: a minimum rate (msrp.body_timeout, msrp.body_min_rate) ---------------------- */

/* The daemon of the body tests: every other deadline at 300 ms, a chunk's body due
 * <timeout> (RCSGW_MSRP_BODY_TIMEOUT=...) after its head plus a second per <rate> bytes
 * (RCSGW_MSRP_BODY_MIN_RATE=...); the relay with credentials (u/p); small send queues
 * (engine.sendq_high 16k). */
static void start_body(const char *timeout, const char *rate)
{
	static char cred[128];
	char cmd[256];
	snprintf(ht_path, sizeof(ht_path), "/tmp/rcsgw-slow-%d.htdigest", (int)getpid());
	snprintf(cmd, sizeof(cmd), "printf 'u:rcsgw:%%s\\n' $(printf '%%s' 'u:rcsgw:p' | md5sum | "
		 "cut -d' ' -f1) > %s", ht_path);
	cr_assert_eq(system(cmd), 0);
	snprintf(cred, sizeof(cred), "RCSGW_RELAY_CREDENTIALS_FILE=%s", ht_path);
	more_env[0] = timeout;
	more_env[1] = rate;
	more_env[2] = "RCSGW_ENGINE_SENDQ_HIGH=16k";
	more_env[3] = "RCSGW_ENGINE_SENDQ_LOW=4k";
	more_env[4] = cred;
	start(0);
}

/* (b) MSRP over TCP: a whole SEND head announcing 1000 bytes, its body trickled a byte
 * every SLOW_DRIP_MS (10 B/s, far under the minimum rate): each cut at msrp.body_timeout
 * after the head, counted as a slow body (and not as a slow head) */
Test(faults_slow, msrp_body)
{
	start_body("RCSGW_MSRP_BODY_TIMEOUT=300ms", "RCSGW_MSRP_BODY_MIN_RATE=200k");
	static const char first[] = "MSRP slowb001 SEND\r\n"
				    "To-Path: msrp://127.0.0.1:2855/nosuch;tcp\r\n"
				    "From-Path: msrp://127.0.0.1:9/slow;tcp\r\n"
				    "Message-ID: slow-body\r\n"
				    "Byte-Range: 1-1000/1000\r\n"
				    "Content-Type: text/plain\r\n\r\nab";
	double heads = slow_metric("msrp", "head");
	slowloris(msrp_port, first, sizeof(first) - 1, "a", legit_msrp, "msrp", "body");
	cr_expect_eq(slow_metric("msrp", "head"), heads, "slow bodies counted as slow heads");
}

/* The body byte at offset <i> of the big chunks (no '-': no end-line inside) */
static char big_byte(size_t i) { return (char)('a' + i % 26); }

/* What B made of the SENDs it got so far (the pieces the relay made of a chunk). */
struct relayed {
	size_t off;                /* bytes of B's stream taken (whole frames) */
	long body;                 /* body bytes in them, each checked */
	char flag;                 /* the last one's end-line flag */
	int bad;                   /* a frame that is not a SEND of the chunk's bytes */
};

/* The first URI of header <name> in head <h> (<hlen> bytes) into <out>. */
static void first_uri(const char *h, size_t hlen, const char *name, char *out, size_t cap)
{
	const char *v = memmem(h, hlen, name, strlen(name));
	size_t k = 0;
	if (v)
		for (v += strlen(name); v < h + hlen && *v != ' ' && *v != '\r' && k + 1 < cap; v++)
			out[k++] = *v;
	out[k] = '\0';
}

/* Takes the whole SENDs at the start of B's <len> bytes at <buf> from <r>->off on: each
 * body byte checked against big_byte() at its Byte-Range offset, each SEND answered 200
 * on <fd> (the relay waits for its pieces' answers). */
static void relayed_take(struct relayed *r, const char *buf, size_t len, int fd)
{
	while (!r->bad && r->off < len) {
		const char *h = buf + r->off, *end = buf + len;
		const char *he = memmem(h, (size_t)(end - h), "\r\n\r\n", 4);
		if (!he)
			return; /* a head not all in yet */
		char tid[40], to[256], from[256], resp[700];
		if (sscanf(h, "MSRP %39s SEND\r\n", tid) != 1) {
			r->bad = 1;
			return;
		}
		const char *br = memmem(h, (size_t)(he - h), "\r\nByte-Range: ", 14);
		long first = br ? atol(br + 14) : 1;
		char el[64];
		int eln = snprintf(el, sizeof(el), "\r\n-------%s", tid);
		const char *body = he + 4;
		const char *e = memmem(body, (size_t)(end - body), el, (size_t)eln);
		if (!e || end - e < eln + 3)
			return; /* the rest of it still to come */
		for (const char *p = body; p < e; p++)
			if (*p != big_byte((size_t)(first - 1 + (p - body)))) {
				r->bad = 1;
				return;
			}
		r->body += e - body;
		r->flag = e[eln];
		r->off = (size_t)(e + eln + 3 - buf);
		first_uri(h, (size_t)(he - h), "\r\nTo-Path: ", to, sizeof(to));
		first_uri(h, (size_t)(he - h), "\r\nFrom-Path: ", from, sizeof(from));
		int n = snprintf(resp, sizeof(resp), "MSRP %s 200 OK\r\nTo-Path: %s\r\nFrom-Path: %s\r\n"
				 "-------%s$\r\n", tid, from, to, tid);
		cr_assert_eq(send(fd, resp, (size_t)n, MSG_NOSIGNAL), n);
	}
}

/* C sends B (both on the relay, B AUTHed) one chunk of <n> body bytes at <rate> bytes/s;
 * B reads all it gets. The chunk must reach B whole, C must not be cut, no slow body
 * counted. The time B took, in ms. */
static int64_t big_chunk(size_t n, size_t rate)
{
	static struct msrp_client b;
	struct mc_auth_result r;
	char relay_uri[64], hp[64], to[1200];

	snprintf(relay_uri, sizeof(relay_uri), "msrp://" HOST ":%d;tcp", msrp_port);
	snprintf(hp, sizeof(hp), HOST ":%d", msrp_port);
	cr_assert_eq(mc_connect(&b, hp, 2000), 0);
	struct mc_auth a = { relay_uri, "msrp://127.0.0.1:40002/bbbb2;tcp", "u", "p", 0 };
	cr_assert_eq(mc_auth(&b, &a, &r, 2000), 0);
	cr_assert_eq(r.status, 200, "AUTH: %d", r.status);
	fcntl(b.fd, F_SETFL, O_NONBLOCK);
	snprintf(to, sizeof(to), "%s msrp://127.0.0.1:40002/bbbb2;tcp", r.use_path);

	int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(c, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)msrp_port) };
	inet_pton(AF_INET, HOST, &sa.sin_addr);
	cr_assert_eq(connect(c, (struct sockaddr *)&sa, sizeof(sa)), 0);
	char head[1600];
	int hn = snprintf(head, sizeof(head),
			  "MSRP bigchunk1 SEND\r\nTo-Path: %s\r\n"
			  "From-Path: msrp://127.0.0.1:40003/cccc3;tcp\r\nMessage-ID: big-1\r\n"
			  "Byte-Range: 1-%zu/%zu\r\nContent-Type: text/plain\r\n\r\n", to, n, n);
	static const char tail[] = "\r\n-------bigchunk1$\r\n";
	size_t total = (size_t)hn + n + sizeof(tail) - 1;
	char *out = malloc(total), *in = malloc(2 * n + (1 << 20));
	cr_assert(out && in);
	memcpy(out, head, (size_t)hn);
	for (size_t i = 0; i < n; i++)
		out[hn + i] = big_byte(i);
	memcpy(out + hn + n, tail, sizeof(tail) - 1);
	size_t cap = 2 * n + (1 << 20), sent = 0, got = 0;
	fcntl(c, F_SETFL, O_NONBLOCK);

	double before = slow_metric("msrp", "body");
	int64_t t0 = proc_now_ms();
	int64_t until = t0 + 1000 + (int64_t)(n * 1000 / rate) * 2;
	struct relayed rl = { 0 };
	int cut = 0;
	while (proc_now_ms() < until && !cut) {
		int64_t el = proc_now_ms() - t0;
		size_t allow = (size_t)hn + rate * (size_t)el / 1000;
		if (allow > total)
			allow = total;
		while (sent < allow) {
			ssize_t w = send(c, out + sent, allow - sent, MSG_NOSIGNAL);
			if (w > 0)
				sent += (size_t)w;
			else {
				cut = w < 0 && errno != EAGAIN;
				break;
			}
		}
		char junk[512];
		ssize_t k = recv(c, junk, sizeof(junk), 0); /* the relay's 200 */
		if (k == 0 || (k < 0 && errno != EAGAIN))
			cut = 1;
		size_t want = cap - got;
		while (want) {
			k = recv(b.fd, in + got, want, 0);
			if (k <= 0)
				break;
			got += (size_t)k;
			want -= (size_t)k;
		}
		relayed_take(&rl, in, got, b.fd);
		if (rl.bad || (rl.body == (long)n && rl.flag == '$'))
			break;
		usleep(5000);
	}
	int64_t took = proc_now_ms() - t0;
	cr_expect_eq(cut, 0, "the sender of a %zu-byte chunk at %zu B/s was cut after %lld ms", n,
		     rate, (long long)took);
	cr_expect_eq(sent, total, "%zu of %zu bytes sent", sent, total);
	cr_expect_eq(rl.bad, 0, "B got something else than the chunk's pieces");
	cr_expect_eq(rl.body, (long)n, "B got %ld body bytes of %zu, flag %c, in %lld ms", rl.body,
		     n, rl.flag ? rl.flag : '0', (long long)took);
	cr_expect_eq(rl.flag, '$');
	cr_expect_eq(slow_metric("msrp", "body"), before, "a slow body counted");
	free(out);
	free(in);
	close(c);
	mc_close(&b);
	return took;
}

/* (b) a 2.5 MiB chunk relayed as it streams, sent at 1.25 MiB/s, above the minimum rate
 * (1 MiB/s here, scaled up with the chunk so that the test stays short) for 2 s: a
 * deadline on the whole frame (msrp.body_timeout, 1 s here: a stall of the loaded machine
 * shorter than that cannot cut it) would have cut it. (That
 * rcsgw's own pauses of a sender do not count is proven by test_msrp_conn: here the
 * kernel's buffers towards the receiver take megabytes before the relay stops reading.) */
#define BIG_TIMEOUT_MS 1000
Test(faults_slow, msrp_body_large_chunk_relayed)
{
	start_body("RCSGW_MSRP_BODY_TIMEOUT=1s", "RCSGW_MSRP_BODY_MIN_RATE=1M");
	size_t n = 5 << 19;
	int64_t took = big_chunk(n, 1280 * 1024);
	cr_expect_gt(took, BIG_TIMEOUT_MS * 3 / 2, "took %lld ms", (long long)took);
}

/* test_tls.c — TLS over the engine: an engine listener and an engine client on one worker
 * (two for the handover tests), over loopback TCP, with throw-away certificates
 * (tests/lib/tls_certs.c). Every engine test runs on both backends (io_uring, epoll).
 *
 * The test thread talks to the worker only through eng_post() and the connection
 * callbacks; it waits on a condition variable with a deadline, never forever. Raw peers
 * (garbage, a TLS 1.1 client) are blocking sockets of the test thread. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include "engine/eng.h"
#include "engine/eng_tls.h"
#include "tests/lib/tls_certs.h"

#define WAIT_MS    10000          /* longest wait for one event */
#define ECHO_BYTES (1u << 20)
#define EARLY_BYTES (100u * 1024) /* sent by the client before its handshake is done */

/* What one side of a connection saw; written by the worker under F.mu. */
struct side {
	int connected;             /* on_connect came */
	int conn_err;
	int closed;                /* on_close came */
	int close_err;
	char version[16];
	char cipher[64];
	char sni[256];
	char subject[256];
	int subject_rc;
	size_t rx;
};

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int certs_ok;
	char certs_err[256];
	struct tls_certs certs;
	eng_engine *e;
	eng_worker *w;             /* worker 0: listener and client */
	eng_tls_ctx *sctx, *cctx;
	int handover;              /* 1: the server moves its connection to worker 1;
				    * 2: back and forth, every few deliveries */
	unsigned deliveries;       /* server on_recv calls */
	int in_start;              /* inside eng_conn_start() of an adopted connection */
	/* worker's */
	eng_listener *l;
	eng_conn *cli, *srv;
	size_t sent;
	/* shared, under mu */
	int port;
	int connect_rc;
	const char *sni;
	unsigned char *payload;
	size_t total;
	int mismatch;
	int echo_done;
	int accepted;
	int handed;                /* handovers asked */
	int adopted_on;            /* worker that adopted, -1 */
	int wrong_worker;          /* bytes echoed by the wrong worker */
	unsigned pauses;           /* server reads paused by back-pressure */
	const char *greet;         /* sent by the server from on_accept, before its handshake */
	char rxbuf[256];           /* what the client got, when no payload is echoed */
	struct side c, s;
	struct eng_stats stats;
	int stats_seq;
} F;

/* ---- waiting ---------------------------------------------------------------------- */

static void deadline(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* Waits (at most WAIT_MS) until <cond> holds; <ok> tells whether it does. */
#define WAIT_UNTIL(cond, ok)                                                               \
	do {                                                                               \
		struct timespec dl_;                                                       \
		deadline(&dl_, WAIT_MS);                                                   \
		pthread_mutex_lock(&F.mu);                                                 \
		while (!(cond) && pthread_cond_timedwait(&F.cv, &F.mu, &dl_) != ETIMEDOUT) \
			;                                                                  \
		(ok) = !!(cond);                                                           \
		pthread_mutex_unlock(&F.mu);                                               \
	} while (0)

#define LOCKED(stmt)                                                                       \
	do {                                                                               \
		pthread_mutex_lock(&F.mu);                                                 \
		stmt;                                                                      \
		pthread_cond_broadcast(&F.cv);                                             \
		pthread_mutex_unlock(&F.mu);                                               \
	} while (0)

/* Runs <fn>(<arg>) on the worker and waits for it. */
struct call {
	void (*fn)(void *arg);
	void *arg;
	int done;
};

static void call_msg(eng_worker *w, void *arg, uint64_t u64)
{
	struct call *k = arg;
	(void)w;
	(void)u64;
	k->fn(k->arg);
	LOCKED(k->done = 1);
}

static void on_worker_at(eng_worker *w, void (*fn)(void *arg), void *arg)
{
	struct call k = { .fn = fn, .arg = arg };
	int ok;
	cr_assert_eq(eng_post(w, call_msg, &k, 0), 0, "eng_post");
	WAIT_UNTIL(k.done, ok);
	cr_assert(ok, "the worker did not run the call in time");
}

static void on_worker(void (*fn)(void *arg), void *arg)
{
	on_worker_at(F.w, fn, arg);
}

static void stats_fn(void *arg)
{
	struct eng_stats st;
	eng_worker_stats(arg, &st);
	LOCKED(F.stats = st);
}

static struct eng_stats stats_of(unsigned i)
{
	eng_worker *w = eng_worker_at(F.e, i);
	on_worker_at(w, stats_fn, w);
	pthread_mutex_lock(&F.mu);
	struct eng_stats st = F.stats;
	pthread_mutex_unlock(&F.mu);
	return st;
}

static struct eng_stats stats(void)
{
	on_worker(stats_fn, F.w);
	pthread_mutex_lock(&F.mu);
	struct eng_stats st = F.stats;
	pthread_mutex_unlock(&F.mu);
	return st;
}

/* ---- the connections' owners (worker thread) ---------------------------------------- */

static void record_tls(eng_conn *c, struct side *sd)
{
	const char *v = eng_tls_version(c), *ci = eng_tls_cipher(c), *sn = eng_tls_sni(c);
	snprintf(sd->version, sizeof(sd->version), "%s", v ? v : "");
	snprintf(sd->cipher, sizeof(sd->cipher), "%s", ci ? ci : "");
	snprintf(sd->sni, sizeof(sd->sni), "%s", sn ? sn : "");
	sd->subject_rc = eng_tls_peer_subject(c, sd->subject, sizeof(sd->subject));
	if (sd->subject_rc < 0)
		sd->subject[0] = '\0';
}

static void srv_connect(eng_conn *c, int err)
{
	LOCKED(F.s.connected = 1; F.s.conn_err = err; if (!err) record_tls(c, &F.s));
}

static void srv_adopt(eng_conn *c, void *arg);

static void srv_recv(eng_conn *c, eng_buf *b, uint32_t off, uint32_t len)
{
	int move = 0;

	pthread_mutex_lock(&F.mu);
	F.s.rx += len;
	F.deliveries++;
	if (F.handover == 1 && F.handed == 0 && eng_worker_index(c->w) == 0)
		move = F.handed = 1;
	else if (F.handover == 1 && eng_worker_index(c->w) != 1)
		F.wrong_worker = 1;
	else if (F.handover == 2 && F.deliveries % 3 == 0 && !F.in_start)
		move = ++F.handed;
	pthread_mutex_unlock(&F.mu);
	int rc = eng_send_buf(c, b, off, len); /* echo */
	if (rc < 0) {
		eng_abort(c, rc);
	} else if (move) {
		/* the rest of what was read, and the session, go to the other worker */
		eng_worker *to = eng_worker_at(F.e, 1 - eng_worker_index(c->w));
		rc = eng_handover(c, to, srv_adopt, NULL);
		if (rc < 0)
			eng_abort(c, rc);
	} else if (rc == 1) {
		LOCKED(F.pauses++);
		eng_read_pause(c); /* the rest waits until on_writable */
	}
}

static void srv_writable(eng_conn *c)
{
	eng_read_resume(c);
}

static void srv_close(eng_conn *c, int err)
{
	(void)c;
	LOCKED(F.s.closed = 1; F.s.close_err = err; F.srv = NULL);
}

static const struct eng_conn_ops srv_ops = {
	.on_recv = srv_recv,
	.on_connect = srv_connect,
	.on_writable = srv_writable,
	.on_close = srv_close,
};

static void srv_adopt(eng_conn *c, void *arg)
{
	(void)arg;
	F.srv = c;
	LOCKED(F.adopted_on = (int)eng_worker_index(eng_self()));
	/* Not from the deliveries of eng_conn_start(): it goes on delivering the bytes carried
	 * over after the owner asked for a handover (reported as an engine core issue). */
	F.in_start = 1;
	eng_conn_start(c, &srv_ops, NULL);
	F.in_start = 0;
}

static void on_accept(eng_listener *l, eng_conn *c)
{
	(void)l;
	F.srv = c;
	LOCKED(F.accepted++);
	if (F.greet) {
		/* held as plaintext until the handshake is done */
		int rc = eng_send(c, F.greet, strlen(F.greet));
		if (rc < 0) {
			eng_abort(c, rc);
			return;
		}
		if (F.handover) {
			LOCKED(F.handed = 1);
			rc = eng_handover(c, eng_worker_at(F.e, 1), srv_adopt, NULL);
			if (rc < 0)
				eng_abort(c, rc);
			return;
		}
	}
	eng_conn_start(c, &srv_ops, NULL);
}

/* Sends the payload until the queue passes its high watermark. */
static void pump(eng_conn *c)
{
	while (F.sent < F.total) {
		size_t n = F.total - F.sent < 65536 ? F.total - F.sent : 65536;
		int rc = eng_send(c, F.payload + F.sent, n);
		if (rc < 0) {
			LOCKED(F.mismatch = 1);
			eng_abort(c, rc);
			return;
		}
		F.sent += n;
		if (rc == 1)
			return; /* on_writable resumes */
	}
}

static void cli_connect(eng_conn *c, int err)
{
	LOCKED(F.c.connected = 1; F.c.conn_err = err; if (!err) record_tls(c, &F.c));
	if (!err)
		pump(c);
}

static void cli_recv(eng_conn *c, eng_buf *b, uint32_t off, uint32_t len)
{
	int done = 0, bad = 0;

	pthread_mutex_lock(&F.mu);
	if (F.total == 0) {
		/* no payload: keep what came */
		size_t room = sizeof(F.rxbuf) - 1 - F.c.rx;
		memcpy(F.rxbuf + F.c.rx, b->data + off, len < room ? len : room);
		F.c.rx += len < room ? len : room;
		pthread_cond_broadcast(&F.cv);
		pthread_mutex_unlock(&F.mu);
		return;
	}
	if (F.c.rx + len > F.total || memcmp(F.payload + F.c.rx, b->data + off, len) != 0)
		bad = F.mismatch = 1;
	F.c.rx += len;
	if (F.c.rx == F.total)
		done = F.echo_done = 1;
	pthread_cond_broadcast(&F.cv);
	pthread_mutex_unlock(&F.mu);
	if (bad)
		eng_abort(c, -EBADMSG);
	else if (done)
		eng_close(c);
}

static void cli_writable(eng_conn *c)
{
	pump(c);
}

static void cli_close(eng_conn *c, int err)
{
	(void)c;
	F.cli = NULL;
	LOCKED(F.c.closed = 1; F.c.close_err = err);
}

static const struct eng_conn_ops cli_ops = {
	.on_recv = cli_recv,
	.on_connect = cli_connect,
	.on_writable = cli_writable,
	.on_close = cli_close,
};

static void listen_fn(void *arg)
{
	int err = 0;
	(void)arg;
	F.l = eng_listen(F.w, "127.0.0.1:0", 0, F.sctx, on_accept, NULL, &err);
	LOCKED(F.port = F.l ? eng_listener_port(F.l) : err);
}

/* Connects the engine client; the first EARLY_BYTES go before the handshake is done. */
static void connect_fn(void *arg)
{
	char hp[64];
	(void)arg;
	snprintf(hp, sizeof(hp), "127.0.0.1:%d", F.port);
	F.sent = 0;
	int rc = eng_connect(F.w, hp, F.cctx, F.sni, &cli_ops, NULL, &F.cli);
	if (rc == 0 && F.total) {
		size_t n = F.total < EARLY_BYTES ? F.total : EARLY_BYTES;
		int s = eng_send(F.cli, F.payload, n);
		if (s < 0)
			rc = s;
		else
			F.sent = n;
	}
	LOCKED(F.connect_rc = rc);
}

/* ---- fixture ------------------------------------------------------------------------ */

static void setup(void)
{
	pthread_condattr_t ca;

	memset(&F, 0, sizeof(F));
	pthread_mutex_init(&F.mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&F.cv, &ca);
	pthread_condattr_destroy(&ca);
	F.certs_ok = tls_certs_make(&F.certs, F.certs_err, sizeof(F.certs_err)) == 0;
	F.adopted_on = -1;
	F.payload = malloc(ECHO_BYTES);
	cr_assert_not_null(F.payload);
	srand((unsigned)time(NULL));
	for (size_t i = 0; i < ECHO_BYTES; i++)
		F.payload[i] = (unsigned char)(rand() >> 7);
}

static void teardown(void)
{
	if (F.e)
		eng_destroy(F.e);
	eng_tls_ctx_free(F.sctx);
	eng_tls_ctx_free(F.cctx);
	if (F.certs_ok)
		tls_certs_remove(&F.certs);
	free(F.payload);
	pthread_cond_destroy(&F.cv);
	pthread_mutex_destroy(&F.mu);
}

TestSuite(tls, .init = setup, .fini = teardown, .timeout = 15);

/* Starts an engine of <workers> on <be>, with a small send-queue watermark so that the
 * echoes run into back-pressure (paused reads hold TLS records). Skips visibly when the
 * test certificates or the backend are not available. */
static void start_engine(enum eng_backend be, unsigned workers)
{
	struct eng_config cfg;
	char err[256];

	if (!F.certs_ok)
		cr_skip_test("no test certificates (openssl CLI): %s", F.certs_err);
	eng_config_defaults(&cfg);
	cfg.backend = be;
	cfg.workers = workers;
	cfg.pin = 0;
	cfg.bufs_max = 1024;
	cfg.buf_ring_entries = 256;
	cfg.ring_entries = 256;
	cfg.mailbox_size = 256;
	cfg.sendq_high = 48 * 1024;
	cfg.sendq_low = 16 * 1024;
	F.e = eng_create(&cfg, err, sizeof(err));
	if (!F.e && be == ENG_BACKEND_IO_URING)
		cr_skip_test("io_uring unavailable: %s", err);
	cr_assert_not_null(F.e, "eng_create: %s", err);
	F.w = eng_worker_at(F.e, 0);
	cr_assert_eq(eng_start(F.e, NULL, NULL), 0, "eng_start");
}

/* A test body run once per backend. */
#define TLS_TEST(name)                                                                     \
	static void name(enum eng_backend be);                                             \
	Test(tls, name##_io_uring) { name(ENG_BACKEND_IO_URING); }                         \
	Test(tls, name##_epoll) { name(ENG_BACKEND_EPOLL); }                               \
	static void name(enum eng_backend be)

static eng_tls_ctx *ctx_new(const struct eng_tls_config *cfg, int server)
{
	char err[512];
	eng_tls_ctx *x = eng_tls_ctx_new(cfg, server, err, sizeof(err));
	cr_assert_not_null(x, "eng_tls_ctx_new(%s): %s", server ? "server" : "client", err);
	return x;
}

/* The default server: localhost certificate, alt.test by SNI, TLS 1.2 and up. */
static struct eng_tls_config server_cfg(void)
{
	struct eng_tls_config c = {
		.cert_file = F.certs.server_cert,
		.key_file = F.certs.server_key,
		.ca_file = F.certs.ca,
		.min_version = ENG_TLS_V12,
	};
	return c;
}

static struct eng_tls_config client_cfg(void)
{
	struct eng_tls_config c = {
		.ca_file = F.certs.ca,
		.verify_peer = 1,
		.min_version = ENG_TLS_V12,
	};
	return c;
}

static void start_listener(void)
{
	int ok;
	on_worker(listen_fn, NULL);
	WAIT_UNTIL(F.port != 0, ok);
	cr_assert(ok && F.port > 0, "eng_listen: %d", F.port);
}

/* Connects with <sni>, echoes <total> bytes, then the client closes. */
static void run_echo(const char *sni, size_t total)
{
	int ok;

	pthread_mutex_lock(&F.mu);
	F.sni = sni;
	F.total = total;
	F.mismatch = F.echo_done = 0;
	memset(&F.c, 0, sizeof(F.c));
	memset(&F.s, 0, sizeof(F.s));
	pthread_mutex_unlock(&F.mu);
	on_worker(connect_fn, NULL);
	cr_assert_eq(F.connect_rc, 0, "eng_connect: %d", F.connect_rc);
	WAIT_UNTIL(F.c.connected && F.s.connected, ok);
	cr_assert(ok, "handshake: client %d/%d, server %d/%d", F.c.connected, F.c.conn_err,
		  F.s.connected, F.s.conn_err);
	cr_assert_eq(F.c.conn_err, 0, "client on_connect %d", F.c.conn_err);
	cr_assert_eq(F.s.conn_err, 0, "server on_connect %d", F.s.conn_err);
	WAIT_UNTIL(F.echo_done || F.mismatch || F.c.closed, ok);
	cr_assert(ok, "echo timed out: %zu of %zu bytes back", F.c.rx, total);
	cr_assert_not(F.mismatch, "echoed bytes differ");
	cr_assert(F.echo_done, "client closed (%d) after %zu of %zu bytes", F.c.close_err,
		  F.c.rx, total);
	/* the client's close_notify closes the server side cleanly */
	WAIT_UNTIL(F.c.closed && F.s.closed, ok);
	cr_assert(ok, "close: client %d server %d", F.c.closed, F.s.closed);
	cr_assert_eq(F.c.close_err, 0);
	cr_assert_eq(F.s.close_err, 0, "server on_close %d", F.s.close_err);
	cr_assert_eq(F.s.rx, total);
	cr_log_info("echo of %zu bytes: %u back-pressure pauses on the server", total, F.pauses);
}

/* Connects with <sni> and expects the handshake to fail on both sides. */
static void run_refused(const char *sni)
{
	int ok;

	pthread_mutex_lock(&F.mu);
	F.sni = sni;
	F.total = 0;
	memset(&F.c, 0, sizeof(F.c));
	memset(&F.s, 0, sizeof(F.s));
	pthread_mutex_unlock(&F.mu);
	on_worker(connect_fn, NULL);
	cr_assert_eq(F.connect_rc, 0, "eng_connect: %d", F.connect_rc);
	WAIT_UNTIL(F.c.closed && F.s.closed, ok);
	cr_assert(ok, "both sides should close: client %d server %d (accepted %d)", F.c.closed,
		  F.s.closed, F.accepted);
}

/* ---- raw peers (test thread, blocking sockets) ------------------------------------- */

static int raw_connect(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)F.port) };
	struct timeval tv = { .tv_sec = WAIT_MS / 1000 };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	cr_assert(fd >= 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0, "connect: %s",
		     strerror(errno));
	return fd;
}

/* Reads until EOF or reset: 0, or -1 when the timeout came first. */
static int raw_wait_closed(int fd)
{
	char buf[4096];
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return 0;
		if (n < 0 && errno != EINTR)
			return -1;
	}
}

/* ---- tests ------------------------------------------------------------------------- */

TLS_TEST(tls13_echo_1mib)
{
	start_engine(be, 1);
	struct eng_tls_config s = server_cfg(), c = client_cfg();
	c.min_version = ENG_TLS_V13;
	F.sctx = ctx_new(&s, 1);
	F.cctx = ctx_new(&c, 0);
	start_listener();
	run_echo("localhost", ECHO_BYTES);
	cr_assert_str_eq(F.c.version, "TLSv1.3");
	cr_assert_str_eq(F.s.version, "TLSv1.3");
	cr_assert(F.c.cipher[0] && strcmp(F.c.cipher, F.s.cipher) == 0, "ciphers %s / %s",
		  F.c.cipher, F.s.cipher);
	cr_assert_str_eq(F.s.sni, "localhost");
	cr_assert_str_eq(F.c.sni, "localhost");
	cr_assert(strstr(F.c.subject, "CN=localhost"), "server subject %s", F.c.subject);
	cr_assert_eq(F.s.subject_rc, -ENOENT, "no client certificate: %d", F.s.subject_rc);
	struct eng_stats st = stats();
	cr_assert_eq(st.tls_handshakes, 2);
	cr_assert_eq(st.tls_failures, 0);
}

TLS_TEST(tls12_echo_1mib)
{
	start_engine(be, 1);
	struct eng_tls_config s = server_cfg(), c = client_cfg();
	c.max_version = ENG_TLS_V12;
	F.sctx = ctx_new(&s, 1);
	F.cctx = ctx_new(&c, 0);
	start_listener();
	run_echo("localhost", ECHO_BYTES);
	cr_assert_str_eq(F.c.version, "TLSv1.2");
	cr_assert_str_eq(F.s.version, "TLSv1.2");
	cr_assert(F.c.cipher[0] && strcmp(F.c.cipher, F.s.cipher) == 0, "ciphers %s / %s",
		  F.c.cipher, F.s.cipher);
	struct eng_stats st = stats();
	cr_assert_eq(st.tls_handshakes, 2);
	cr_assert_eq(st.tls_failures, 0);
}

/* The server hands its connection (and TLS session) to worker 1 on the first bytes; what
 * worker 0 read but did not decrypt travels along, and the echo stays byte-exact. */
TLS_TEST(handover_mid_stream)
{
	start_engine(be, 2);
	struct eng_tls_config s = server_cfg(), c = client_cfg();
	F.sctx = ctx_new(&s, 1);
	F.cctx = ctx_new(&c, 0);
	F.handover = 1;
	start_listener();
	run_echo("localhost", ECHO_BYTES);
	cr_assert_eq(F.adopted_on, 1, "adopted on %d", F.adopted_on);
	cr_assert_not(F.wrong_worker, "bytes echoed by worker 0 after the handover");
	cr_assert_eq(stats_of(0).handovers_out, 1);
	cr_assert_eq(stats_of(1).handovers_in, 1);
}

static void close_client_fn(void *arg)
{
	(void)arg;
	if (F.cli)
		eng_close(F.cli);
}

/* Back and forth between the workers every third delivery: each move carries the
 * session, the ciphertext read but not fed yet, and partial records inside the session. */
TLS_TEST(handover_back_and_forth)
{
	start_engine(be, 2);
	struct eng_tls_config s = server_cfg(), c = client_cfg();
	F.sctx = ctx_new(&s, 1);
	F.cctx = ctx_new(&c, 0);
	F.handover = 2;
	start_listener();
	run_echo("localhost", ECHO_BYTES);
	struct eng_stats st0 = stats_of(0), st1 = stats_of(1);
	cr_assert_geq(st0.handovers_out + st1.handovers_out, 2, "handovers: %llu + %llu",
		      (unsigned long long)st0.handovers_out,
		      (unsigned long long)st1.handovers_out);
	cr_assert_eq(st0.handovers_out, st1.handovers_in);
	cr_assert_eq(st1.handovers_out, st0.handovers_in);
	cr_log_info("%u handovers asked", F.handed);
}

/* The server owner writes and hands the connection to worker 1 before the handshake:
 * the pending plaintext moves to worker 1's pool (the old buffers go home to worker 0)
 * and is sent once the handshake, run by worker 1, is done. */
TLS_TEST(handover_before_handshake_keeps_early_data)
{
	static const char greet[] = "hello from worker 0, sent before the handshake";
	int ok;

	start_engine(be, 2);
	struct eng_tls_config s = server_cfg(), c = client_cfg();
	F.sctx = ctx_new(&s, 1);
	F.cctx = ctx_new(&c, 0);
	F.handover = 1;
	F.greet = greet;
	start_listener();
	F.sni = "localhost";
	on_worker(connect_fn, NULL);
	cr_assert_eq(F.connect_rc, 0, "eng_connect: %d", F.connect_rc);
	WAIT_UNTIL(F.c.rx >= sizeof(greet) - 1 || F.c.closed, ok);
	cr_assert(ok && !F.c.closed, "greeting: %zu bytes, client closed %d/%d", F.c.rx,
		  F.c.closed, F.c.close_err);
	cr_assert_str_eq(F.rxbuf, greet);
	cr_assert_eq(F.adopted_on, 1);
	cr_assert_eq(F.s.conn_err, 0);
	cr_assert_str_eq(F.s.version, "TLSv1.3");
	on_worker(close_client_fn, NULL);
	WAIT_UNTIL(F.c.closed && F.s.closed, ok);
	cr_assert(ok);
	cr_assert_eq(F.s.close_err, 0);
	struct eng_stats st0 = stats_of(0), st1 = stats_of(1);
	cr_assert_eq(st1.tls_handshakes, 1, "the server handshake ran on worker 1");
	/* all of worker 0's buffers are back (io_uring: but those lent to its buffer ring) */
	uint64_t lent = be == ENG_BACKEND_IO_URING ? eng_cfg(F.e)->buf_ring_entries : 0;
	cr_assert_leq(st0.bufs_total - st0.bufs_free, lent, "worker 0: %llu of %llu buffers free",
		      (unsigned long long)st0.bufs_free, (unsigned long long)st0.bufs_total);
}

TLS_TEST(tls13_only_server_refuses_tls12_client)
{
	start_engine(be, 1);
	struct eng_tls_config s = server_cfg(), c = client_cfg();
	s.min_version = ENG_TLS_V13;
	c.max_version = ENG_TLS_V12;
	F.sctx = ctx_new(&s, 1);
	F.cctx = ctx_new(&c, 0);
	start_listener();
	run_refused("localhost");
	cr_assert_eq(F.s.conn_err, -EPROTO, "server on_connect %d", F.s.conn_err);
	cr_assert(F.c.conn_err != 0 || !F.c.connected, "the client must not see a handshake");
	struct eng_stats st = stats();
	cr_assert_eq(st.tls_handshakes, 0);
	cr_assert_geq(st.tls_failures, 1);
}

TLS_TEST(sni_selects_alt_certificate)
{
	char err[256];
	start_engine(be, 1);
	struct eng_tls_config s = server_cfg(), c = client_cfg();
	F.sctx = ctx_new(&s, 1);
	cr_assert_eq(eng_tls_ctx_add_sni(F.sctx, TLS_CERTS_ALT_CN, F.certs.alt_cert,
					 F.certs.alt_key, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(eng_tls_ctx_add_sni(F.sctx, "ALT.test", F.certs.alt_cert, F.certs.alt_key,
					 err, sizeof(err)), -EEXIST);
	/* the client checks the name: the handshake passes only with the alt certificate */
	F.cctx = ctx_new(&c, 0);
	start_listener();
	run_echo(TLS_CERTS_ALT_CN, 4096);
	cr_assert_str_eq(F.s.sni, TLS_CERTS_ALT_CN);
	cr_assert(strstr(F.c.subject, "CN=" TLS_CERTS_ALT_CN), "server subject %s",
		  F.c.subject);
	/* and the default one for another name */
	run_echo("localhost", 4096);
	cr_assert_str_eq(F.s.sni, "localhost");
	cr_assert(strstr(F.c.subject, "CN=localhost"), "server subject %s", F.c.subject);
}

TLS_TEST(sni_tls12_selects_alt_certificate)
{
	char err[256];
	start_engine(be, 1);
	struct eng_tls_config s = server_cfg(), c = client_cfg();
	c.max_version = ENG_TLS_V12;
	F.sctx = ctx_new(&s, 1);
	cr_assert_eq(eng_tls_ctx_add_sni(F.sctx, TLS_CERTS_ALT_CN, F.certs.alt_cert,
					 F.certs.alt_key, err, sizeof(err)), 0, "%s", err);
	F.cctx = ctx_new(&c, 0);
	start_listener();
	run_echo(TLS_CERTS_ALT_CN, 4096);
	cr_assert_str_eq(F.c.version, "TLSv1.2");
	cr_assert(strstr(F.c.subject, "CN=" TLS_CERTS_ALT_CN), "server subject %s",
		  F.c.subject);
}

TLS_TEST(client_refuses_wrong_server_name)
{
	start_engine(be, 1);
	struct eng_tls_config s = server_cfg(), c = client_cfg();
	F.sctx = ctx_new(&s, 1); /* no alt.test certificate */
	F.cctx = ctx_new(&c, 0);
	start_listener();
	run_refused(TLS_CERTS_ALT_CN);
	cr_assert(F.c.connected && F.c.conn_err == -EPROTO, "client on_connect %d/%d",
		  F.c.connected, F.c.conn_err);
	cr_assert_eq(F.c.close_err, -EPROTO);
	struct eng_stats st = stats();
	cr_assert_geq(st.tls_failures, 1);
}

TLS_TEST(client_refuses_untrusted_server)
{
	start_engine(be, 1);
	struct eng_tls_config s = server_cfg(), c = client_cfg();
	c.ca_file = F.certs.rogue_ca;
	F.sctx = ctx_new(&s, 1);
	F.cctx = ctx_new(&c, 0);
	start_listener();
	run_refused("localhost");
	cr_assert(F.c.connected && F.c.conn_err == -EPROTO, "client on_connect %d/%d",
		  F.c.connected, F.c.conn_err);
}

TLS_TEST(client_without_verification_accepts_any_server)
{
	start_engine(be, 1);
	struct eng_tls_config s = server_cfg(), c = { .min_version = ENG_TLS_V12 };
	F.sctx = ctx_new(&s, 1);
	F.cctx = ctx_new(&c, 0);
	start_listener();
	run_echo(NULL, 1000);
	cr_assert_str_eq(F.s.sni, "", "no SNI sent: %s", F.s.sni);
}

static void client_cert_required(enum eng_backend be, int max_version, const char *cert,
				 const char *key, int expect_ok)
{
	start_engine(be, 1);
	struct eng_tls_config s = server_cfg(), c = client_cfg();
	s.verify_peer = 1;
	c.cert_file = cert;
	c.key_file = key;
	c.max_version = max_version;
	F.sctx = ctx_new(&s, 1);
	F.cctx = ctx_new(&c, 0);
	start_listener();
	if (expect_ok) {
		run_echo("localhost", 65536);
		cr_assert(strstr(F.s.subject, "CN=" TLS_CERTS_CLIENT_CN), "client subject %s",
			  F.s.subject);
		cr_assert_gt(F.s.subject_rc, 0);
		return;
	}
	run_refused("localhost");
	cr_assert(F.s.connected, "the server owner hears of the failure");
	cr_assert_eq(F.s.conn_err, -EPROTO, "server on_connect %d", F.s.conn_err);
	cr_assert_eq(F.s.close_err, -EPROTO, "server on_close %d", F.s.close_err);
	cr_assert_eq(F.c.rx, 0);
	cr_log_info("client: on_connect %s (%d), on_close %d",
		    F.c.connected ? "called" : "not called", F.c.conn_err, F.c.close_err);
	struct eng_stats st = stats();
	cr_assert_geq(st.tls_failures, 1);
}

TLS_TEST(client_cert_missing_tls13)
{
	client_cert_required(be, 0, NULL, NULL, 0);
}

TLS_TEST(client_cert_missing_tls12)
{
	client_cert_required(be, ENG_TLS_V12, NULL, NULL, 0);
}

TLS_TEST(client_cert_untrusted)
{
	client_cert_required(be, 0, F.certs.rogue_cert, F.certs.rogue_key, 0);
}

TLS_TEST(client_cert_present_tls13)
{
	client_cert_required(be, 0, F.certs.client_cert, F.certs.client_key, 1);
}

TLS_TEST(client_cert_present_tls12)
{
	client_cert_required(be, ENG_TLS_V12, F.certs.client_cert, F.certs.client_key, 1);
}

TLS_TEST(garbage_to_listener_is_closed_and_counted)
{
	static const char junk[] = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
	unsigned char rnd[3000];
	int ok;

	start_engine(be, 1);
	struct eng_tls_config s = server_cfg(), c = client_cfg();
	F.sctx = ctx_new(&s, 1);
	F.cctx = ctx_new(&c, 0);
	start_listener();

	/* plain HTTP to a TLS port */
	int fd = raw_connect();
	cr_assert_eq(send(fd, junk, sizeof(junk) - 1, MSG_NOSIGNAL), (ssize_t)sizeof(junk) - 1);
	cr_assert_eq(raw_wait_closed(fd), 0, "the server should close");
	close(fd);
	/* a handshake record header followed by noise */
	for (size_t i = 0; i < sizeof(rnd); i++)
		rnd[i] = (unsigned char)rand();
	rnd[0] = 0x16, rnd[1] = 0x03, rnd[2] = 0x01, rnd[3] = 0x0b, rnd[4] = 0xb0;
	fd = raw_connect();
	cr_assert_eq(send(fd, rnd, sizeof(rnd), MSG_NOSIGNAL), (ssize_t)sizeof(rnd));
	cr_assert_eq(raw_wait_closed(fd), 0, "the server should close");
	close(fd);

	WAIT_UNTIL(F.s.closed && F.accepted == 2, ok);
	cr_assert(ok);
	struct eng_stats st = stats();
	cr_assert_eq(st.tls_failures, 2, "tls_failures %llu",
		     (unsigned long long)st.tls_failures);
	cr_assert_eq(st.conns, 0, "connections left: %llu", (unsigned long long)st.conns);
	/* the engine goes on */
	run_echo("localhost", 65536);
}

/* A wolfSSL client of the test thread, over a blocking socket: returns the connected
 * session or NULL with <*why> set. */
static WOLFSSL *raw_tls(WOLFSSL_CTX *ctx, int fd, int *why)
{
	WOLFSSL *ssl = wolfSSL_new(ctx);
	cr_assert_not_null(ssl);
	wolfSSL_set_fd(ssl, fd);
	int rc = wolfSSL_connect(ssl);
	if (rc == WOLFSSL_SUCCESS)
		return ssl;
	*why = wolfSSL_get_error(ssl, rc);
	wolfSSL_free(ssl);
	return NULL;
}

TLS_TEST(garbage_after_handshake_aborts)
{
	int ok, why = 0;

	start_engine(be, 1);
	struct eng_tls_config s = server_cfg();
	F.sctx = ctx_new(&s, 1);
	start_listener();
	WOLFSSL_CTX *ctx = wolfSSL_CTX_new(wolfSSLv23_client_method());
	cr_assert_not_null(ctx);
	wolfSSL_CTX_set_verify(ctx, WOLFSSL_VERIFY_NONE, NULL);
	int fd = raw_connect();
	WOLFSSL *ssl = raw_tls(ctx, fd, &why);
	cr_assert_not_null(ssl, "handshake failed: %d", why);
	cr_assert_eq(wolfSSL_write(ssl, "ping", 4), 4);
	char buf[8] = { 0 };
	cr_assert_eq(wolfSSL_read(ssl, buf, 4), 4);
	cr_assert_str_eq(buf, "ping");
	/* an application-data record whose authentication tag cannot match */
	static const unsigned char bad[] = { 0x17, 0x03, 0x03, 0x00, 0x20, 1, 2, 3, 4, 5, 6, 7,
					     8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
					     21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32 };
	cr_assert_eq(send(fd, bad, sizeof(bad), MSG_NOSIGNAL), (ssize_t)sizeof(bad));
	cr_assert_eq(raw_wait_closed(fd), 0, "the server should close");
	WAIT_UNTIL(F.s.closed, ok);
	cr_assert(ok);
	cr_assert_eq(F.s.close_err, -EPROTO, "server on_close %d", F.s.close_err);
	wolfSSL_free(ssl);
	close(fd);
	wolfSSL_CTX_free(ctx);
	struct eng_stats st = stats();
	cr_assert_eq(st.tls_handshakes, 1);
	cr_assert_eq(st.tls_failures, 0);
}

TLS_TEST(tls11_client_refused)
{
	int ok, why = 0;

	start_engine(be, 1);
	struct eng_tls_config s = server_cfg();
	F.sctx = ctx_new(&s, 1);
	start_listener();
	eng_tls_global_init();
	WOLFSSL_CTX *ctx = wolfSSL_CTX_new(wolfTLSv1_1_client_method());
	if (!ctx)
		cr_skip_test("this wolfSSL cannot speak TLS 1.1");
	wolfSSL_CTX_set_verify(ctx, WOLFSSL_VERIFY_NONE, NULL);
	int fd = raw_connect();
	WOLFSSL *ssl = raw_tls(ctx, fd, &why);
	cr_assert_null(ssl, "a TLS 1.1 handshake succeeded");
	close(fd);
	wolfSSL_CTX_free(ctx);
	WAIT_UNTIL(F.s.closed, ok);
	cr_assert(ok);
	cr_assert_eq(F.s.close_err, -EPROTO);
	struct eng_stats st = stats();
	cr_assert_eq(st.tls_failures, 1);
	cr_assert_eq(st.tls_handshakes, 0);
}

/* ---- contexts ----------------------------------------------------------------------- */

Test(tls, ctx_config_errors)
{
	char err[512];
	if (!F.certs_ok)
		cr_skip_test("no test certificates (openssl CLI): %s", F.certs_err);
	struct eng_tls_config s = server_cfg();

	s.min_version = 11;
	cr_assert_null(eng_tls_ctx_new(&s, 1, err, sizeof(err)));
	cr_assert(strstr(err, "version"), "%s", err);
	s = server_cfg();
	s.min_version = ENG_TLS_V13;
	s.max_version = ENG_TLS_V12;
	cr_assert_null(eng_tls_ctx_new(&s, 1, err, sizeof(err)));
	s = server_cfg();
	s.cert_file = NULL;
	cr_assert_null(eng_tls_ctx_new(&s, 1, err, sizeof(err)));
	s = server_cfg();
	s.cert_file = "/nonexistent/cert.pem";
	cr_assert_null(eng_tls_ctx_new(&s, 1, err, sizeof(err)));
	cr_assert(strstr(err, "/nonexistent/cert.pem"), "%s", err);
	s = server_cfg();
	s.key_file = F.certs.alt_key; /* not the certificate's key */
	cr_assert_null(eng_tls_ctx_new(&s, 1, err, sizeof(err)));
	cr_assert(strstr(err, "does not match"), "%s", err);
	s = server_cfg();
	s.cert_file = F.certs.ca_key; /* not a certificate */
	cr_assert_null(eng_tls_ctx_new(&s, 1, err, sizeof(err)));
	s = server_cfg();
	s.ciphers = "NO-SUCH-CIPHER";
	cr_assert_null(eng_tls_ctx_new(&s, 1, err, sizeof(err)));
	s = server_cfg();
	s.verify_peer = 1;
	s.ca_file = NULL;
	cr_assert_null(eng_tls_ctx_new(&s, 1, err, sizeof(err)));

	s = server_cfg();
	eng_tls_ctx *x = eng_tls_ctx_new(&s, 1, err, sizeof(err));
	cr_assert_not_null(x, "%s", err);
	cr_assert_eq(eng_tls_ctx_add_sni(x, "", F.certs.alt_cert, F.certs.alt_key, err,
					 sizeof(err)), -EINVAL);
	cr_assert_eq(eng_tls_ctx_add_sni(x, "bad.test", F.certs.alt_cert, F.certs.server_key,
					 err, sizeof(err)), -EINVAL);
	eng_tls_ctx_free(x);
	struct eng_tls_config c = client_cfg();
	x = eng_tls_ctx_new(&c, 0, err, sizeof(err));
	cr_assert_not_null(x, "%s", err);
	cr_assert_eq(eng_tls_ctx_add_sni(x, "a.test", F.certs.alt_cert, F.certs.alt_key, err,
					 sizeof(err)), -EINVAL, "client contexts have no SNI table");
	eng_tls_ctx_free(x);
}

/* An address literal is checked against the certificate's IP addresses, and is not sent
 * as SNI (RFC 6066). */
TLS_TEST(address_literal_checked_not_sent)
{
	start_engine(be, 1);
	struct eng_tls_config s = server_cfg(), c = client_cfg();
	F.sctx = ctx_new(&s, 1);
	F.cctx = ctx_new(&c, 0);
	start_listener();
	run_echo("127.0.0.1", 1000);
	cr_assert_str_eq(F.s.sni, "", "SNI sent: %s", F.s.sni);
	cr_assert_str_eq(F.c.sni, "127.0.0.1");
	run_refused("127.0.0.2");
	cr_assert_eq(F.c.conn_err, -EPROTO, "client on_connect %d", F.c.conn_err);
}

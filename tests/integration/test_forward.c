/* test_forward.c — the real forwarder binary (bench/engfwd, on the engine) between real
 * sockets: byte-exact with many concurrent connections on both backends, and
 * back-pressure end to end: a client that stops reading stops the forwarder reading. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/ecc.h>

#include "tests/lib/proc.h"
#include "tests/lib/tls_certs.h"

/* ---- a blocking echo server: a thread per connection -------------------------------- */

static int echo_lfd = -1;
static int echo_port;

static void *echo_conn(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char buf[65536];
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n <= 0)
			break;
		for (ssize_t off = 0; off < n;) {
			ssize_t m = send(fd, buf + off, (size_t)(n - off), MSG_NOSIGNAL);
			if (m <= 0)
				goto out;
			off += m;
		}
	}
out:
	close(fd);
	return NULL;
}

static void *echo_accept(void *arg)
{
	(void)arg;
	for (;;) {
		int fd = accept(echo_lfd, NULL, NULL);
		if (fd < 0)
			return NULL;
		pthread_t t;
		pthread_create(&t, NULL, echo_conn, (void *)(intptr_t)fd);
		pthread_detach(t);
	}
}

static void echo_start(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int one = 1;

	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	echo_lfd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(echo_lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	cr_assert_eq(bind(echo_lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(echo_lfd, 512), 0);
	getsockname(echo_lfd, (struct sockaddr *)&sa, &len);
	echo_port = ntohs(sa.sin_port);
	pthread_t t;
	pthread_create(&t, NULL, echo_accept, NULL);
	pthread_detach(t);
}

/* ---- engfwd ------------------------------------------------------------------------- */

static pid_t fwd_pid = -1;

static int fwd_start(const char *backend, int workers, char *const extra[])
{
	char to[64], nw[16];
	char *argv[32];
	int i = 0, out;

	snprintf(to, sizeof(to), "127.0.0.1:%d", echo_port);
	snprintf(nw, sizeof(nw), "%d", workers);
	argv[i++] = (char *)proc_bin("engfwd");
	argv[i++] = "--listen";
	argv[i++] = "127.0.0.1:0";
	argv[i++] = "--to";
	argv[i++] = to;
	argv[i++] = "--backend";
	argv[i++] = (char *)backend;
	argv[i++] = "--workers";
	argv[i++] = nw;
	argv[i++] = "--no-pin";
	for (int k = 0; extra && extra[k]; k++)
		argv[i++] = extra[k];
	argv[i] = NULL;
	fwd_pid = proc_spawn(argv, NULL, &out, NULL, NULL);
	cr_assert_gt(fwd_pid, 0);
	char line[256];
	cr_assert_geq(proc_read_line(out, line, sizeof(line), 5000), 0, "engfwd said nothing");
	int port = 0;
	char be[32] = "";
	cr_assert_eq(sscanf(line, "ready port=%d backend=%31s", &port, be), 2, "got '%s'", line);
	cr_assert_str_eq(be, backend);
	close(out);
	return port;
}

static void fwd_fini(void)
{
	if (fwd_pid > 0) {
		int st = proc_stop(fwd_pid, SIGTERM, 5000);
		cr_expect(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
			  "engfwd did not stop cleanly (status %d)", st);
		fwd_pid = -1;
	}
}

static int connect_to(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* ---- many concurrent connections, byte-exact ----------------------------------------- */

#define NCONN 128
#define PER_CONN (192 * 1024)

struct flow {
	int fd;
	size_t sent, got;
	unsigned seed;
	int bad;
};

static unsigned char pattern(unsigned seed, size_t i)
{
	uint32_t x = seed * 2654435761u + (uint32_t)i * 40503u;
	x ^= x >> 13;
	return (unsigned char)(x * 2246822519u >> 24);
}

static void many_flows(int port)
{
	static struct flow f[NCONN];
	struct pollfd p[NCONN];
	unsigned char buf[65536];

	for (int i = 0; i < NCONN; i++) {
		f[i] = (struct flow){ .fd = connect_to(port), .seed = (unsigned)i * 7919u + 1 };
		cr_assert_geq(f[i].fd, 0, "connect %d", i);
		fcntl(f[i].fd, F_SETFL, O_NONBLOCK);
	}
	long long end = proc_now_ms() + 30000;
	int done = 0;
	while (done < NCONN && proc_now_ms() < end) {
		for (int i = 0; i < NCONN; i++) {
			p[i].fd = f[i].got < PER_CONN ? f[i].fd : -1;
			p[i].events = POLLIN | (f[i].sent < PER_CONN ? POLLOUT : 0);
		}
		if (poll(p, NCONN, 1000) <= 0)
			continue;
		for (int i = 0; i < NCONN; i++) {
			struct flow *x = &f[i];
			if ((p[i].revents & POLLOUT) && x->sent < PER_CONN) {
				size_t n = PER_CONN - x->sent;
				if (n > sizeof(buf))
					n = sizeof(buf);
				n = 1 + (size_t)rand() % n; /* odd sizes: frames split anywhere */
				for (size_t k = 0; k < n; k++)
					buf[k] = pattern(x->seed, x->sent + k);
				ssize_t m = send(x->fd, buf, n, MSG_NOSIGNAL);
				if (m > 0)
					x->sent += (size_t)m;
			}
			if (p[i].revents & (POLLIN | POLLHUP | POLLERR)) {
				ssize_t m = recv(x->fd, buf, sizeof(buf), 0);
				if (m <= 0) {
					x->bad = 1;
					x->got = PER_CONN;
					done++;
					continue;
				}
				for (ssize_t k = 0; k < m; k++)
					if (buf[k] != pattern(x->seed, x->got + (size_t)k))
						x->bad = 1;
				x->got += (size_t)m;
				if (x->got >= PER_CONN)
					done++;
			}
		}
	}
	int bad = 0;
	for (int i = 0; i < NCONN; i++) {
		bad += f[i].bad || f[i].got != PER_CONN;
		close(f[i].fd);
	}
	cr_expect_eq(done, NCONN, "%d of %d connections finished in time", done, NCONN);
	cr_expect_eq(bad, 0, "%d connections lost or corrupted bytes", bad);
}

static void forward(const char *backend)
{
	echo_start();
	int port = fwd_start(backend, 2, NULL);
	many_flows(port);
	fwd_fini();
}

Test(forward, many_connections_io_uring, .timeout = 60) { forward("io_uring"); }
Test(forward, many_connections_epoll, .timeout = 60) { forward("epoll"); }

/* ---- back-pressure: the client writes and never reads -------------------------------- */

static void backpressure(const char *backend)
{
	char *extra[] = { "--sendq-high", "262144", "--sendq-low", "65536", NULL };
	echo_start();
	int port = fwd_start(backend, 1, extra);
	/* warm-up: 32 MiB echoed touch every buffer of the receive ring (a fixed cost of the
	 * worker, not of connections), so that what follows measures growth only */
	int wfd = connect_to(port);
	cr_assert_geq(wfd, 0);
	static char wbuf[1 << 16];
	size_t wsent = 0, wgot = 0;
	while (wgot < (32u << 20)) {
		struct pollfd p = { .fd = wfd, .events = POLLIN | (wsent < (32u << 20) ? POLLOUT : 0) };
		if (poll(&p, 1, 5000) <= 0)
			break;
		if (p.revents & POLLOUT) {
			ssize_t n = send(wfd, wbuf, sizeof(wbuf), MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n > 0)
				wsent += (size_t)n;
		}
		if (p.revents & POLLIN) {
			ssize_t n = recv(wfd, wbuf, sizeof(wbuf), MSG_DONTWAIT);
			if (n <= 0)
				break;
			wgot += (size_t)n;
		}
	}
	cr_assert_eq(wgot, 32u << 20, "warm-up echo incomplete");
	close(wfd);
	long rss0 = proc_rss_kb(fwd_pid);
	int fd = connect_to(port);
	cr_assert_geq(fd, 0);
	fcntl(fd, F_SETFL, O_NONBLOCK);
	static char chunk[65536];
	size_t pushed = 0;
	long long end = proc_now_ms() + 4000, last_progress = proc_now_ms();
	/* the echo comes back and is not read: the forwarder's queue to us fills, it stops
	 * reading the echo server, whose sends block, so it stops reading, so the forwarder's
	 * queue to it fills, so the forwarder stops reading us: our sends must stall */
	while (proc_now_ms() < end) {
		ssize_t n = send(fd, chunk, sizeof(chunk), MSG_NOSIGNAL);
		if (n > 0) {
			pushed += (size_t)n;
			last_progress = proc_now_ms();
		} else {
			if (proc_now_ms() - last_progress > 1000)
				break; /* stalled for a second: back-pressure holds */
			usleep(2000);
		}
	}
	long rss1 = proc_rss_kb(fwd_pid);
	cr_expect(proc_now_ms() - last_progress > 1000, "the client was never stopped (%zu bytes taken)",
		  pushed);
	cr_expect_lt(pushed, 64u << 20, "%zu bytes taken before the stall", pushed);
	cr_expect_lt(rss1 - rss0, 8 * 1024, "forwarder grew by %ld KiB for one stalled pair",
		     rss1 - rss0);
	/* reading again: everything written comes back, byte count exact */
	fcntl(fd, F_SETFL, 0);
	struct timeval tv = { .tv_sec = 5 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	size_t got = 0;
	char buf[65536];
	while (got < pushed) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	cr_expect_eq(got, pushed, "got %zu of %zu back", got, pushed);
	close(fd);
	fwd_fini();
}

Test(forward, backpressure_io_uring, .timeout = 60) { backpressure("io_uring"); }
Test(forward, backpressure_epoll, .timeout = 60) { backpressure("epoll"); }

/* ---- TLS in front: many concurrent TLS clients, byte-exact ------------------------- */

#define TLS_CLIENTS 32
#define TLS_ROUNDS 48

static struct tls_certs certs;
static WOLFSSL_CTX *cctx;
static int tls_port;
static _Atomic int tls_ok, tls_bad;

static void *tls_client(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;
	unsigned char out[16384], in[16384];
	int fd = connect_to(tls_port);
	struct timeval tv = { .tv_sec = 10 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	WOLFSSL *ssl = wolfSSL_new(cctx);
	wolfSSL_set_fd(ssl, fd);
	wolfSSL_UseSNI(ssl, WOLFSSL_SNI_HOST_NAME, "localhost", 9);
	int good = wolfSSL_connect(ssl) == WOLFSSL_SUCCESS;
	for (int r = 0; good && r < TLS_ROUNDS; r++) {
		size_t len = 1 + (size_t)rand_r(&seed) % sizeof(out);
		for (size_t k = 0; k < len; k++)
			out[k] = pattern(seed, (size_t)r * sizeof(out) + k);
		if (wolfSSL_write(ssl, out, (int)len) != (int)len) {
			good = 0;
			break;
		}
		size_t got = 0;
		while (got < len) {
			int n = wolfSSL_read(ssl, in + got, (int)(len - got));
			if (n <= 0)
				break;
			got += (size_t)n;
		}
		good = got == len && memcmp(in, out, len) == 0;
	}
	if (good)
		tls_ok++;
	else
		tls_bad++;
	wolfSSL_shutdown(ssl);
	wolfSSL_free(ssl);
	close(fd);
#if defined(HAVE_ECC) && defined(FP_ECC)
	wc_ecc_fp_free(); /* wolfSSL's per-thread ECC cache, never freed by itself */
#endif
	return NULL;
}

static void tls_forward(const char *backend)
{
	char err[256];
	cr_assert_eq(tls_certs_make(&certs, err, sizeof(err)), 0, "%s", err);
	wolfSSL_Init();
	cctx = wolfSSL_CTX_new(wolfTLS_client_method());
	cr_assert(cctx);
	cr_assert_eq(wolfSSL_CTX_load_verify_locations(cctx, certs.ca, NULL), WOLFSSL_SUCCESS);
	echo_start();
	char *extra[] = { "--tls-cert", certs.server_cert, "--tls-key", certs.server_key, NULL };
	tls_port = fwd_start(backend, 2, extra);
	pthread_t t[TLS_CLIENTS];
	for (int i = 0; i < TLS_CLIENTS; i++)
		pthread_create(&t[i], NULL, tls_client, (void *)(uintptr_t)(i * 31 + 7));
	for (int i = 0; i < TLS_CLIENTS; i++)
		pthread_join(t[i], NULL);
	cr_expect_eq(tls_ok, TLS_CLIENTS, "%d TLS clients failed", (int)tls_bad);
	fwd_fini();
	wolfSSL_CTX_free(cctx);
	wolfSSL_Cleanup();
	tls_certs_remove(&certs);
}

Test(forward, tls_many_connections_io_uring, .timeout = 60) { tls_forward("io_uring"); }
Test(forward, tls_many_connections_epoll, .timeout = 60) { tls_forward("epoll"); }

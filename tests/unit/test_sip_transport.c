/* test_sip_transport.c — the SIP transport on a real engine worker (epoll and io_uring),
 * driven by plain sockets from the test thread: a UDP request comes up with its source and
 * the response sent back reaches the sender; on TCP two pipelined messages in one write and
 * one message in three writes come up whole, a bad stream closes its connection (counted),
 * and a send to a closed connection opens a new one (refused there: the error callback).
 * Outbound TCP to a listening socket of the test: messages sent before the connection is up
 * arrive byte-exact and in order, the answer comes up on the connection's number, later
 * sends reuse it; refused connects and the queue bounds. TLS between two transports of one
 * worker (tests/lib/tls_certs.c), both ways, and a certificate for the wrong name. Idle
 * connections closed (accepted and opened, and a connect that hangs), not while traffic
 * flows. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "engine/eng.h"
#include "engine/eng_tls.h"
#include "sip/sip_parse.h"
#include "sip/sip_transport.h"
#include "tests/lib/eng_job.h"
#include "tests/lib/tls_certs.h"

#define REQ(cseq)                                                                   \
	"OPTIONS sip:gw@example.com SIP/2.0\r\n"                                    \
	"Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK" cseq "\r\n"                \
	"Max-Forwards: 70\r\n"                                                      \
	"From: <sip:a@example.com>;tag=1\r\n"                                       \
	"To: <sip:gw@example.com>\r\n"                                              \
	"Call-ID: c" cseq "@example.com\r\n"                                        \
	"CSeq: " cseq " OPTIONS\r\n"                                                \
	"Content-Length: 0\r\n\r\n"

/* A response to REQ("1") with <status> ("200 OK"). */
#define RESP_CODE(status)                                                           \
	"SIP/2.0 " status "\r\n"                                                    \
	"Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK1\r\n"                       \
	"From: <sip:a@example.com>;tag=1\r\n"                                       \
	"To: <sip:gw@example.com>;tag=2\r\n"                                        \
	"Call-ID: c1@example.com\r\n"                                               \
	"CSeq: 1 OPTIONS\r\n"                                                       \
	"Content-Length: 0\r\n\r\n"
#define RESP RESP_CODE("200 OK")

struct got {
	char raw[1024];
	size_t len;
	int kind;                  /* enum sip_kind */
	int who;                   /* 0: T.t, 1: T.t2 */
	struct sip_dest src;
};

struct lost {
	struct sip_dest dst;
	int err;
};

static struct {
	eng_engine *e;
	eng_worker *w;
	struct sip_transport *t;
	struct sip_parse_stats ps;
	struct sip_parse_cfg pcfg;
	int udp_port, tcp_port;
	struct got got[16];
	_Atomic int ngot;
	struct lost lost[8];       /* what the error callbacks heard */
	_Atomic int nlost;
	struct sip_transport *t2;  /* the TLS client */
	eng_tls_ctx *sctx, *cctx;
	struct tls_certs certs;
	/* a job's input and output */
	struct sip_transport *via; /* NULL: T.t */
	struct sip_dest dst;
	const char *out;
	size_t outlen;             /* 0: strlen(out) */
	const char *sni;
	int rc, rc2, rc3;
	uint32_t conn;             /* sip_transport_conn_for(via, dst) after the send */
	uint32_t idle_ms;
	struct sip_transport_stats st, st2;
} T;

static void on_msg(void *arg, const char *raw, size_t len, const struct sip_msg *m,
		   const struct sip_dest *src)
{
	if (T.ngot < 16 && len < sizeof(T.got[0].raw)) {
		struct got *g = &T.got[T.ngot];
		memcpy(g->raw, raw, len);
		g->raw[len] = 0;
		g->len = len;
		g->kind = m->kind;
		g->who = arg != NULL;
		g->src = *src;
	}
	T.ngot++;
}

static void on_lost(void *arg, const struct sip_dest *dst, int err)
{
	(void)arg;
	if (T.nlost < 8) {
		T.lost[T.nlost].dst = *dst;
		T.lost[T.nlost].err = err;
	}
	T.nlost++;
}

static void open_job(void *arg)
{
	char err[256];
	(void)arg;
	sip_parse_limits_default(&T.pcfg.limits);
	T.pcfg.stats = &T.ps;
	T.t = sip_transport_new(T.w, &T.pcfg, on_msg, NULL);
	if (!T.t)
		return;
	sip_transport_set_error_cb(T.t, on_lost, NULL);
	T.udp_port = sip_transport_listen(T.t, "udp:127.0.0.1:0", 0, err, sizeof(err));
	T.tcp_port = sip_transport_listen(T.t, "tcp:127.0.0.1:0", 0, err, sizeof(err));
	T.rc = sip_transport_listen(T.t, "sctp:127.0.0.1:0", 0, err, sizeof(err));
}

static void send_job(void *arg)
{
	struct sip_transport *via = T.via ? T.via : T.t;
	(void)arg;
	T.rc = sip_transport_send_named(via, T.out, T.outlen ? T.outlen : strlen(T.out), &T.dst,
					T.sni);
	T.conn = sip_transport_conn_for(via, &T.dst);
}

/* Two sends in one job: the connection a first one opens cannot be up for the second. */
static void send_twice_job(void *arg)
{
	const char *second = arg;
	send_job(NULL);
	T.rc2 = sip_transport_send(T.t, second, strlen(second), &T.dst, 1);
	T.st = *sip_transport_stats(T.t);
}

static void stats_job(void *arg)
{
	(void)arg;
	T.st = *sip_transport_stats(T.t);
	if (T.t2)
		T.st2 = *sip_transport_stats(T.t2);
}

static void conn_open_job(void *arg)
{
	T.rc = sip_transport_conn_open(T.t, *(uint32_t *)arg);
}

static void idle_job(void *arg)
{
	(void)arg;
	sip_transport_set_idle(T.t, T.idle_ms);
}

static void free_job(void *arg)
{
	(void)arg;
	sip_transport_free(T.t);
	T.t = NULL;
	sip_transport_free(T.t2);
	T.t2 = NULL;
}

static int got_n(void *arg) { return T.ngot >= *(int *)arg; }

static int lost_n(void *arg) { return T.nlost >= *(int *)arg; }

static void wait_lost(int n)
{
	cr_assert_eq(eng_job_wait(T.w, lost_n, &n, 5000), 0, "lost %d of %d", (int)T.nlost, n);
}

/* The index of what the error callback heard of connection <conn_id>, or -1. */
static int lost_of(uint32_t conn_id)
{
	for (int i = 0; i < T.nlost && i < 8; i++)
		if (T.lost[i].dst.conn_id == conn_id)
			return i;
	return -1;
}

static int stream_error_seen(void *arg)
{
	(void)arg;
	return sip_transport_stats(T.t)->stream_errors > 0 && sip_transport_stats(T.t)->closes > 0;
}

static void wait_got(int n)
{
	cr_assert_eq(eng_job_wait(T.w, got_n, &n, 3000), 0, "got %d of %d", (int)T.ngot, n);
}

static struct sockaddr_in loopback(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	return a;
}

static int local_port(int fd)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &al), 0);
	return ntohs(a.sin_port);
}

static int src_port(const struct sip_dest *d)
{
	return ntohs(((const struct sockaddr_in *)&d->addr)->sin_port);
}

static int tcp_client(void)
{
	struct sockaddr_in a = loopback(T.tcp_port);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_geq(fd, 0);
	cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0, "%s", strerror(errno));
	return fd;
}

static void write_all(int fd, const char *p, size_t len)
{
	cr_assert_eq(write(fd, p, len), (ssize_t)len);
}

/* Reads up to <cap> bytes within 3 s: the count, 0 on EOF, -1 on error or time-out. */
static ssize_t read_within(int fd, char *buf, size_t cap)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	if (poll(&p, 1, 3000) != 1)
		return -1;
	return recv(fd, buf, cap, 0);
}

static void pause_ms(int ms)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = (long)ms * 1000000L };
	nanosleep(&ts, NULL);
}

ParameterizedTestParameters(sip_transport, udp_and_tcp)
{
	static int backends[] = { ENG_BACKEND_EPOLL, ENG_BACKEND_IO_URING };
	return cr_make_param_array(int, backends, 2);
}

ParameterizedTest(int *backend, sip_transport, udp_and_tcp, .timeout = 30)
{
	char err[256], buf[2048];

	memset(&T, 0, sizeof(T));
	T.e = eng_job_engine(*backend, err, sizeof(err));
	if (!T.e && *backend == ENG_BACKEND_IO_URING)
		cr_skip_test("io_uring: %s", err);
	cr_assert_not_null(T.e, "%s", err);
	T.w = eng_worker_at(T.e, 0);
	cr_assert_eq(eng_job_run(T.w, open_job, NULL), 0);
	cr_assert_gt(T.udp_port, 0);
	cr_assert_gt(T.tcp_port, 0);
	cr_assert_eq(T.rc, -EINVAL);

	/* UDP: a request comes up with its source; the response goes back to that source */
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = loopback(T.udp_port);
	cr_assert_geq(u, 0);
	cr_assert_eq(sendto(u, REQ("1"), strlen(REQ("1")), 0, (struct sockaddr *)&a, sizeof(a)),
		     (ssize_t)strlen(REQ("1")));
	wait_got(1);
	cr_assert_eq(T.got[0].kind, SIP_KIND_REQUEST);
	cr_assert_str_eq(T.got[0].raw, REQ("1"));
	cr_assert_eq(T.got[0].src.kind, SIP_TP_UDP);
	cr_assert_eq(T.got[0].src.conn_id, 0);
	cr_assert_eq(T.got[0].src.addr.ss_family, AF_INET);
	cr_assert_eq(src_port(&T.got[0].src), local_port(u));
	T.dst = T.got[0].src;
	T.out = RESP;
	cr_assert_eq(eng_job_run(T.w, send_job, NULL), 0);
	cr_assert_eq(T.rc, 0);
	ssize_t n = read_within(u, buf, sizeof(buf));
	cr_assert_eq(n, (ssize_t)strlen(RESP));
	cr_assert_eq(memcmp(buf, RESP, (size_t)n), 0);
	/* a datagram that does not parse is dropped and counted; a keep-alive is not an error */
	cr_assert_eq(sendto(u, "HELLO\r\n\r\n", 9, 0, (struct sockaddr *)&a, sizeof(a)), 9);
	cr_assert_eq(sendto(u, "\r\n\r\n", 4, 0, (struct sockaddr *)&a, sizeof(a)), 4);
	cr_assert_eq(sendto(u, REQ("2"), strlen(REQ("2")), 0, (struct sockaddr *)&a, sizeof(a)),
		     (ssize_t)strlen(REQ("2")));
	wait_got(2); /* datagrams on loopback keep their order */
	cr_assert_str_eq(T.got[1].raw, REQ("2"));
	cr_assert_eq(eng_job_run(T.w, stats_job, NULL), 0);
	cr_assert_eq(T.st.udp_rx, 2);
	cr_assert_eq(T.st.udp_bad, 1);
	cr_assert_eq(T.st.keepalives, 1);
	close(u);

	/* TCP: two pipelined messages in one write (with keep-alives in front) */
	int c1 = tcp_client();
	const char two[] = "\r\n\r\n" REQ("3") REQ("4");
	write_all(c1, two, strlen(two));
	wait_got(4);
	cr_assert_str_eq(T.got[2].raw, REQ("3"));
	cr_assert_str_eq(T.got[3].raw, REQ("4"));
	cr_assert_eq(T.got[2].src.kind, SIP_TP_TCP);
	cr_assert_neq(T.got[2].src.conn_id, 0);
	cr_assert_eq(T.got[3].src.conn_id, T.got[2].src.conn_id);
	cr_assert_eq(src_port(&T.got[2].src), local_port(c1));
	uint32_t id1 = T.got[2].src.conn_id;

	/* one message in three writes, cut in the head and in the body */
	const char withbody[] =
		"MESSAGE sip:gw@example.com SIP/2.0\r\n"
		"Via: SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bK5\r\n"
		"Max-Forwards: 70\r\n"
		"From: <sip:a@example.com>;tag=1\r\n"
		"To: <sip:gw@example.com>\r\n"
		"Call-ID: c5@example.com\r\n"
		"CSeq: 5 MESSAGE\r\n"
		"Content-Type: text/plain\r\n"
		"Content-Length: 11\r\n\r\n"
		"hello world";
	size_t wl = strlen(withbody);
	write_all(c1, withbody, 40);
	pause_ms(30);
	write_all(c1, withbody + 40, wl - 40 - 5);
	pause_ms(30);
	cr_assert_eq(T.ngot, 4, "a partial message came up");
	write_all(c1, withbody + wl - 5, 5);
	wait_got(5);
	cr_assert_str_eq(T.got[4].raw, withbody);
	cr_assert_eq(T.got[4].src.conn_id, id1);

	/* the response goes back on that connection */
	T.dst = T.got[4].src;
	T.out = RESP;
	cr_assert_eq(eng_job_run(T.w, send_job, NULL), 0);
	cr_assert_eq(T.rc, 0);
	n = read_within(c1, buf, sizeof(buf));
	cr_assert_eq(n, (ssize_t)strlen(RESP));
	cr_assert_eq(memcmp(buf, RESP, (size_t)n), 0);

	/* a bad stream (no Content-Length, §18.3) closes that connection only, counted */
	int c2 = tcp_client();
	const char bad[] =
		"OPTIONS sip:gw@example.com SIP/2.0\r\n"
		"Via: SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bK6\r\n"
		"From: <sip:a@example.com>;tag=1\r\n"
		"To: <sip:gw@example.com>\r\n"
		"Call-ID: c6@example.com\r\n"
		"CSeq: 6 OPTIONS\r\n\r\n";
	write_all(c2, REQ("7"), strlen(REQ("7")));
	wait_got(6);
	uint32_t id2 = T.got[5].src.conn_id;
	cr_assert_neq(id2, id1);
	write_all(c2, bad, strlen(bad));
	cr_assert_eq(eng_job_wait(T.w, stream_error_seen, NULL, 3000), 0);
	n = read_within(c2, buf, sizeof(buf));
	cr_assert_leq(n, 0, "the connection with a bad stream stays open");
	cr_assert_eq(T.ngot, 6);
	cr_assert_eq(eng_job_run(T.w, stats_job, NULL), 0);
	cr_assert_eq(T.st.stream_errors, 1);
	cr_assert_eq(T.st.closes, 1);
	cr_assert_eq(T.st.accepts, 2);
	cr_assert_eq(T.st.tcp_rx, 4);

	/* a send to the closed connection opens a new one to its address (§18.1.1), which
	 * nothing listens on: refused, heard through the error callback */
	T.dst = T.got[5].src;
	cr_assert_eq(eng_job_run(T.w, send_job, NULL), 0);
	cr_assert_eq(T.rc, 0);
	cr_assert(T.conn != 0 && T.conn != id1 && T.conn != id2);
	wait_lost(1);
	cr_assert_eq(T.lost[0].err, -ECONNREFUSED);
	cr_assert_eq(T.lost[0].dst.conn_id, T.conn);
	cr_assert_eq(T.lost[0].dst.kind, SIP_TP_TCP);
	cr_assert_eq(src_port(&T.lost[0].dst), local_port(c2));
	/* no connection and no address: -ENOTCONN */
	memset(&T.dst, 0, sizeof(T.dst));
	T.dst.kind = SIP_TP_TCP;
	T.dst.conn_id = 1000;
	cr_assert_eq(eng_job_run(T.w, send_job, NULL), 0);
	cr_assert_eq(T.rc, -ENOTCONN);
	cr_assert_eq(eng_job_run(T.w, stats_job, NULL), 0);
	cr_assert_eq(T.st.tx_notconn, 1);
	cr_assert_eq(T.st.connect_failures, 1);
	cr_assert_eq(T.st.connects, 0);
	/* the other connection is still served */
	write_all(c1, REQ("8"), strlen(REQ("8")));
	wait_got(7);
	cr_assert_str_eq(T.got[6].raw, REQ("8"));
	cr_assert_eq(T.got[6].src.conn_id, id1);

	/* a new connection gets a new number (never reused) */
	close(c2);
	int c3 = tcp_client();
	write_all(c3, REQ("9"), strlen(REQ("9")));
	wait_got(8);
	cr_assert(T.got[7].src.conn_id != id1 && T.got[7].src.conn_id != id2);

	cr_assert_eq(eng_job_run(T.w, free_job, NULL), 0);
	close(c1);
	close(c3);
	eng_stop(T.e);
	eng_destroy(T.e);
}

/* ---- outbound connections, TLS, idle closing ------------------------------------------ */

/* An engine on <backend> with T.t open (UDP, TCP); false when io_uring is refused here. */
static int setup(int backend)
{
	char err[256];

	memset(&T, 0, sizeof(T));
	T.e = eng_job_engine(backend, err, sizeof(err));
	if (!T.e && backend == ENG_BACKEND_IO_URING)
		return 0;
	cr_assert_not_null(T.e, "%s", err);
	T.w = eng_worker_at(T.e, 0);
	cr_assert_eq(eng_job_run(T.w, open_job, NULL), 0);
	cr_assert_not_null(T.t);
	cr_assert_gt(T.tcp_port, 0);
	return 1;
}

static void teardown(void)
{
	cr_assert_eq(eng_job_run(T.w, free_job, NULL), 0);
	eng_stop(T.e);
	eng_destroy(T.e);
}

/* Runs send_job with <out>, which must succeed: the connection it used (0 for UDP). */
static uint32_t send_ok(const char *out)
{
	T.out = out;
	cr_assert_eq(eng_job_run(T.w, send_job, NULL), 0);
	cr_assert_eq(T.rc, 0, "send: %d", T.rc);
	return T.conn;
}

/* A listening socket of the test on 127.0.0.1 with <backlog>; its port in *<port>. */
static int plain_listener(int backlog, int *port)
{
	struct sockaddr_in a = loopback(0);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_geq(fd, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(listen(fd, backlog), 0);
	*port = local_port(fd);
	return fd;
}

static int accept_within(int lfd, int ms)
{
	struct pollfd p = { .fd = lfd, .events = POLLIN };
	if (poll(&p, 1, ms) != 1)
		return -1;
	return accept(lfd, NULL, NULL);
}

/* Reads exactly <len> bytes into <buf> (NUL-terminated; <buf> holds len + 1). */
static void read_exact(int fd, char *buf, size_t len)
{
	size_t have = 0;
	while (have < len) {
		ssize_t n = read_within(fd, buf + have, len - have);
		cr_assert_gt(n, 0, "%zu of %zu bytes, then %zd", have, len, n);
		have += (size_t)n;
	}
	buf[have] = 0;
}

static struct sip_dest tcp_dest(int port, int kind)
{
	struct sip_dest d;
	struct sockaddr_in a = loopback(port);
	memset(&d, 0, sizeof(d));
	memcpy(&d.addr, &a, sizeof(a));
	d.addrlen = sizeof(a);
	d.kind = (uint8_t)kind;
	return d;
}

/* A port of 127.0.0.1 that nothing listens on (bound once, then closed). */
static int closed_port(void)
{
	int port, fd = plain_listener(1, &port);
	close(fd);
	return port;
}

/* SIP_TP_PENDING_MAX messages to T.dst, all before the connection is up, then one more. */
static void fill_job(void *arg)
{
	(void)arg;
	T.rc = 0;
	for (int i = 0; i < SIP_TP_PENDING_MAX && T.rc == 0; i++)
		T.rc = sip_transport_send(T.t, REQ("10"), strlen(REQ("10")), &T.dst, 1);
	T.rc2 = sip_transport_send(T.t, REQ("11"), strlen(REQ("11")), &T.dst, 1);
}

/* T.out twice to T.dst before the connection is up: the second passes the byte bound. */
static void bytes_job(void *arg)
{
	(void)arg;
	T.rc = sip_transport_send(T.t, T.out, T.outlen, &T.dst, 1);
	T.rc2 = sip_transport_send(T.t, T.out, T.outlen, &T.dst, 1);
}

static int closes_n(void *arg) { return sip_transport_stats(T.t)->closes >= (uint64_t)*(int *)arg; }

ParameterizedTestParameters(sip_transport, outbound_tcp)
{
	static int backends[] = { ENG_BACKEND_EPOLL, ENG_BACKEND_IO_URING };
	return cr_make_param_array(int, backends, 2);
}

ParameterizedTest(int *backend, sip_transport, outbound_tcp, .timeout = 30)
{
	char buf[4096];
	int port;

	if (!setup(*backend))
		cr_skip_test("io_uring refused here");
	int lfd = plain_listener(8, &port);

	/* two sends before the connection is up: both arrive, in order, byte-exact */
	T.dst = tcp_dest(port, SIP_TP_TCP);
	T.out = REQ("1");
	cr_assert_eq(eng_job_run(T.w, send_twice_job, REQ("2")), 0);
	cr_assert_eq(T.rc, 0);
	cr_assert_eq(T.rc2, 0);
	cr_assert_neq(T.conn, 0, "the new connection has no number yet");
	cr_assert_eq(T.st.connects, 0, "up before the job ended");
	cr_assert_eq(T.st.tx, 2);
	uint32_t id = T.conn;
	int s1 = accept_within(lfd, 3000);
	cr_assert_geq(s1, 0);
	read_exact(s1, buf, strlen(REQ("1") REQ("2")));
	cr_assert_str_eq(buf, REQ("1") REQ("2"));

	/* the answer comes up on the connection's number */
	write_all(s1, RESP, strlen(RESP));
	wait_got(1);
	cr_assert_str_eq(T.got[0].raw, RESP);
	cr_assert_eq(T.got[0].kind, SIP_KIND_RESPONSE);
	cr_assert_eq(T.got[0].src.kind, SIP_TP_TCP);
	cr_assert_eq(T.got[0].src.conn_id, id);
	cr_assert_eq(src_port(&T.got[0].src), port);

	/* later sends reuse it: by address, and by its number */
	cr_assert_eq(send_ok(REQ("3")), id);
	T.dst.conn_id = id;
	cr_assert_eq(send_ok(REQ("4")), id);
	read_exact(s1, buf, strlen(REQ("3") REQ("4")));
	cr_assert_str_eq(buf, REQ("3") REQ("4"));
	cr_assert_lt(accept_within(lfd, 100), 0, "a second connection was opened");
	cr_assert_eq(eng_job_run(T.w, stats_job, NULL), 0);
	cr_assert_eq(T.st.connects, 1);
	cr_assert_eq(T.st.connect_failures, 0);
	cr_assert_eq(T.st.tcp_rx, 1);

	/* the peer closes it: the error callback hears it (what was sent on it is answered
	 * nowhere now), and the next send opens a new one, with a new number */
	close(s1);
	int closes = 1;
	cr_assert_eq(eng_job_wait(T.w, closes_n, &closes, 3000), 0);
	wait_lost(1);
	cr_assert_eq(T.lost[0].dst.conn_id, id);
	cr_assert_lt(T.lost[0].err, 0);
	T.dst.conn_id = 0;
	uint32_t id2 = send_ok(REQ("5"));
	cr_assert(id2 != 0 && id2 != id);
	int s2 = accept_within(lfd, 3000);
	cr_assert_geq(s2, 0);
	read_exact(s2, buf, strlen(REQ("5")));
	cr_assert_str_eq(buf, REQ("5"));
	close(s2);

	/* refused: the error callback hears it with the connection's number; the next send
	 * opens another connection */
	T.dst = tcp_dest(closed_port(), SIP_TP_TCP);
	uint32_t refused = send_ok(REQ("6"));
	cr_assert_neq(refused, 0);
	wait_lost(3); /* s2, closed by the peer above, is heard of too, before or after */
	int k = lost_of(refused);
	cr_assert_geq(k, 1, "the refusal not heard");
	cr_assert_geq(lost_of(id2), 1, "the second connection's close not heard");
	cr_assert_eq(T.lost[k].err, -ECONNREFUSED);
	cr_assert_eq(T.lost[k].dst.kind, SIP_TP_TCP);
	cr_assert_eq(src_port(&T.lost[k].dst), src_port(&T.dst));
	uint32_t again = send_ok(REQ("6"));
	cr_assert(again != 0 && again != refused);
	wait_lost(4);
	cr_assert_eq(eng_job_run(T.w, stats_job, NULL), 0);
	cr_assert_eq(T.st.connect_failures, 2, "the closes of connections up are not failures");

	/* the queue of a connecting connection is bounded in messages ... */
	int lfd2 = plain_listener(8, &port);
	T.dst = tcp_dest(port, SIP_TP_TCP);
	cr_assert_eq(eng_job_run(T.w, fill_job, NULL), 0);
	cr_assert_eq(T.rc, 0);
	cr_assert_eq(T.rc2, -ENOBUFS);
	int s3 = accept_within(lfd2, 3000);
	cr_assert_geq(s3, 0);
	size_t one = strlen(REQ("10"));
	for (int i = 0; i < SIP_TP_PENDING_MAX; i++) {
		read_exact(s3, buf, one);
		cr_assert_str_eq(buf, REQ("10"), "message %d", i);
	}
	struct pollfd pf = { .fd = s3, .events = POLLIN };
	cr_assert_eq(poll(&pf, 1, 100), 0, "the refused message was sent");
	close(s3);
	close(lfd2);

	/* ... and in bytes; a message larger than the bound opens nothing */
	static char big[SIP_TP_PENDING_BYTES / 2 + 1000];
	memset(big, 'x', sizeof(big));
	T.dst = tcp_dest(port, SIP_TP_TCP); /* nothing listens any more: refused later */
	T.out = big;
	T.outlen = sizeof(big);
	cr_assert_eq(eng_job_run(T.w, bytes_job, NULL), 0);
	cr_assert_eq(T.rc, 0);
	cr_assert_eq(T.rc2, -ENOBUFS);
	wait_lost(6); /* s1, s2, the two refused, s3 (closed by its peer), and this one */
	cr_assert_eq(eng_job_run(T.w, stats_job, NULL), 0);
	uint64_t failures = T.st.connect_failures;
	static char huge[SIP_TP_PENDING_BYTES + 1];
	T.out = huge;
	T.outlen = sizeof(huge);
	cr_assert_eq(eng_job_run(T.w, send_job, NULL), 0);
	cr_assert_eq(T.rc, -ENOBUFS);
	cr_assert_eq(T.conn, 0);
	cr_assert_eq(eng_job_run(T.w, stats_job, NULL), 0);
	cr_assert_eq(T.st.connect_failures, failures);

	close(lfd);
	teardown();
}

/* T.t serves TLS (and has no client context), T.t2 sends TLS (and has no server context). */
static void tls_open_job(void *arg)
{
	char err[256];
	(void)arg;
	sip_transport_set_tls(T.t, T.sctx, NULL);
	T.rc = sip_transport_listen(T.t, "tls:127.0.0.1:0", 0, err, sizeof(err));
	T.rc2 = sip_transport_listen(T.t, "tls:127.0.0.1:0", 0, err, sizeof(err));
	T.t2 = sip_transport_new(T.w, &T.pcfg, on_msg, &T.t2);
	if (!T.t2)
		return;
	sip_transport_set_tls(T.t2, NULL, T.cctx);
	sip_transport_set_error_cb(T.t2, on_lost, NULL);
	T.rc3 = sip_transport_listen(T.t2, "tls:127.0.0.1:0", 0, err, sizeof(err));
}

ParameterizedTestParameters(sip_transport, tls)
{
	static int backends[] = { ENG_BACKEND_EPOLL, ENG_BACKEND_IO_URING };
	return cr_make_param_array(int, backends, 2);
}

ParameterizedTest(int *backend, sip_transport, tls, .timeout = 30)
{
	char err[256];

	if (!setup(*backend))
		cr_skip_test("io_uring refused here");
	cr_assert_eq(tls_certs_make(&T.certs, err, sizeof(err)), 0, "%s", err);
	struct eng_tls_config sc = { .cert_file = T.certs.server_cert,
				     .key_file = T.certs.server_key };
	struct eng_tls_config cc = { .ca_file = T.certs.ca, .verify_peer = 1 };
	T.sctx = eng_tls_ctx_new(&sc, 1, err, sizeof(err));
	cr_assert_not_null(T.sctx, "%s", err);
	T.cctx = eng_tls_ctx_new(&cc, 0, err, sizeof(err));
	cr_assert_not_null(T.cctx, "%s", err);
	cr_assert_eq(eng_job_run(T.w, tls_open_job, NULL), 0);
	cr_assert_not_null(T.t2);
	int port = T.rc, port2 = T.rc2;
	cr_assert_gt(port, 0);
	cr_assert_gt(port2, 0);
	cr_assert_eq(T.rc3, -EINVAL, "tls: listened without a server context");

	/* T.t2 → T.t, naming the server (its certificate is checked against the name) */
	T.via = T.t2;
	T.dst = tcp_dest(port, SIP_TP_TLS);
	T.sni = TLS_CERTS_SERVER_CN;
	uint32_t id = send_ok(REQ("1"));
	cr_assert_neq(id, 0);
	wait_got(1);
	cr_assert_eq(T.got[0].who, 0);
	cr_assert_str_eq(T.got[0].raw, REQ("1"));
	cr_assert_eq(T.got[0].src.kind, SIP_TP_TLS);
	cr_assert_neq(T.got[0].src.conn_id, 0);

	/* and back on the accepted connection: it comes up on T.t2's connection, kind TLS */
	T.via = T.t;
	T.dst = T.got[0].src;
	T.sni = NULL;
	send_ok(RESP);
	wait_got(2);
	cr_assert_eq(T.got[1].who, 1);
	cr_assert_str_eq(T.got[1].raw, RESP);
	cr_assert_eq(T.got[1].src.kind, SIP_TP_TLS);
	cr_assert_eq(T.got[1].src.conn_id, id);
	cr_assert_eq(src_port(&T.got[1].src), port);

	/* a plain send (no name) reuses the open connection */
	T.via = T.t2;
	T.dst = tcp_dest(port, SIP_TP_TLS);
	cr_assert_eq(send_ok(REQ("2")), id);
	wait_got(3);
	cr_assert_str_eq(T.got[2].raw, REQ("2"));
	cr_assert_eq(T.got[2].src.conn_id, T.got[0].src.conn_id);
	cr_assert_eq(eng_job_run(T.w, stats_job, NULL), 0);
	cr_assert_eq(T.st.tls_accepts, 1);
	cr_assert_eq(T.st.accepts, 1);
	cr_assert_eq(T.st2.connects, 1);
	cr_assert_eq(T.st2.tcp_rx, 1);

	/* a TCP send to the same address does not take the TLS connection */
	T.dst = tcp_dest(port, SIP_TP_TCP);
	cr_assert_neq(send_ok(REQ("2")), id);

	/* the server's certificate is not for the name asked: the handshake fails, the error
	 * callback hears it, nothing comes up */
	T.dst = tcp_dest(port2, SIP_TP_TLS);
	T.sni = "wrong.test";
	uint32_t wrong = send_ok(REQ("3"));
	wait_lost(1);
	for (int i = 0; i < 300 && lost_of(wrong) < 0; i++) /* the TCP one above may come first */
		pause_ms(10);
	int k = lost_of(wrong);
	cr_assert_geq(k, 0, "the failed handshake not heard");
	cr_assert_lt(T.lost[k].err, 0);
	cr_assert_eq(T.lost[k].dst.kind, SIP_TP_TLS);
	cr_assert_eq(T.ngot, 3);

	/* no client context: no outbound TLS */
	T.via = T.t;
	T.dst = tcp_dest(port2, SIP_TP_TLS);
	T.sni = NULL;
	cr_assert_eq(eng_job_run(T.w, send_job, NULL), 0);
	cr_assert_eq(T.rc, -EPROTONOSUPPORT);

	teardown();
	eng_tls_ctx_free(T.sctx);
	eng_tls_ctx_free(T.cctx);
	tls_certs_remove(&T.certs);
}

/* ---- idle closing --------------------------------------------------------------------- */

static int idle_closed_n(void *arg)
{
	return sip_transport_stats(T.t)->idle_closed >= (uint64_t)*(int *)arg;
}

/* Waits for EOF on <fd> (the transport closed its end). */
static void wait_eof(int fd)
{
	char buf[256];
	ssize_t n;
	while ((n = read_within(fd, buf, sizeof(buf))) > 0)
		;
	cr_assert_eq(n, 0, "no EOF");
}

ParameterizedTestParameters(sip_transport, idle)
{
	static int backends[] = { ENG_BACKEND_EPOLL, ENG_BACKEND_IO_URING };
	return cr_make_param_array(int, backends, 2);
}

ParameterizedTest(int *backend, sip_transport, idle, .timeout = 30)
{
	char buf[2048];
	int port, one = 1;

	if (!setup(*backend))
		cr_skip_test("io_uring refused here");
	T.idle_ms = 200;
	cr_assert_eq(eng_job_run(T.w, idle_job, NULL), 0);

	/* an accepted connection that goes quiet is closed */
	int c1 = tcp_client();
	write_all(c1, REQ("1"), strlen(REQ("1")));
	wait_got(1);
	wait_eof(c1);
	cr_assert_eq(eng_job_wait(T.w, idle_closed_n, &one, 3000), 0);
	close(c1);

	/* so is an opened one */
	int lfd = plain_listener(8, &port);
	T.dst = tcp_dest(port, SIP_TP_TCP);
	send_ok(REQ("2"));
	int s1 = accept_within(lfd, 3000);
	cr_assert_geq(s1, 0);
	read_exact(s1, buf, strlen(REQ("2")));
	wait_eof(s1);
	int two = 2;
	cr_assert_eq(eng_job_wait(T.w, idle_closed_n, &two, 3000), 0);
	close(s1);
	close(lfd);

	/* not while traffic flows: a message every 40 ms for 0.6 s (three idle times) */
	int c2 = tcp_client();
	for (int i = 0; i < 15; i++) {
		write_all(c2, REQ("3"), strlen(REQ("3")));
		pause_ms(40);
	}
	wait_got(16);
	uint32_t id = T.got[15].src.conn_id;
	cr_assert_eq(eng_job_run(T.w, conn_open_job, &id), 0);
	cr_assert_eq(T.rc, 1, "closed while traffic flowed");
	wait_eof(c2);
	close(c2);

	/* a connect that hangs (the listener's backlog is full, its SYNs are dropped) fails
	 * after the idle time, heard through the error callback */
	int lfd2 = plain_listener(0, &port);
	struct sockaddr_in a = loopback(port);
	int fill[3];
	for (int i = 0; i < 3; i++) {
		fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		cr_assert_geq(fill[i], 0);
		connect(fill[i], (struct sockaddr *)&a, sizeof(a));
	}
	struct pollfd pf = { .fd = fill[0], .events = POLLOUT }; /* in the accept queue */
	cr_assert_eq(poll(&pf, 1, 3000), 1);
	T.dst = tcp_dest(port, SIP_TP_TCP);
	uint32_t hung = send_ok(REQ("4"));
	wait_lost(1);
	cr_assert_eq(T.lost[0].err, -ETIMEDOUT);
	cr_assert_eq(T.lost[0].dst.conn_id, hung);
	cr_assert_eq(eng_job_run(T.w, stats_job, NULL), 0);
	cr_assert_eq(T.st.connect_failures, 1);
	cr_assert_eq(T.st.idle_closed, 3);

	/* freed while a connection still connects: no error callback, nothing leaks (ASan) */
	send_ok(REQ("5"));
	cr_assert_eq(eng_job_run(T.w, free_job, NULL), 0);
	cr_assert_eq(T.nlost, 1);
	for (int i = 0; i < 3; i++)
		close(fill[i]);
	close(lfd2);

	teardown();
}

/* ---- requests that do not parse but can be answered ------------------------------------- */

static struct {
	_Atomic int n;
	int status, kind;
	char raw[256];
} bad;

static void on_bad(void *arg, const char *raw, size_t len, const struct sip_msg *m,
		   const struct sip_dest *src)
{
	(void)arg;
	bad.status = m->err_status;
	bad.kind = src->kind;
	snprintf(bad.raw, sizeof(bad.raw), "%.*s", (int)(len < 255 ? len : 255), raw);
	bad.n++;
}

static void bad_cb_job(void *arg)
{
	(void)arg;
	sip_transport_set_bad_cb(T.t, on_bad, NULL);
}

static int bad_n(void *arg) { return bad.n >= *(int *)arg; }

/* A request with a Max-Forwards that is no number: its Via, From, To, Call-ID and CSeq make
 * a 400 possible. */
#define BAD_MF                                                                   \
	"OPTIONS sip:gw@example.com SIP/2.0\r\n"                                    \
	"Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bKbad\r\n"                     \
	"Max-Forwards: many\r\n"                                                    \
	"From: <sip:a@example.com>;tag=1\r\n"                                       \
	"To: <sip:gw@example.com>\r\n"                                              \
	"Call-ID: bad@example.com\r\n"                                              \
	"CSeq: 1 OPTIONS\r\n"                                                       \
	"Content-Length: 0\r\n\r\n"

ParameterizedTestParameters(sip_transport, bad_requests_go_to_the_bad_callback)
{
	static int backends[] = { ENG_BACKEND_EPOLL, ENG_BACKEND_IO_URING };
	return cr_make_param_array(int, backends, 2);
}

ParameterizedTest(int *backend, sip_transport, bad_requests_go_to_the_bad_callback,
		  .timeout = 30)
{
	memset(&bad, 0, sizeof(bad));
	if (!setup(*backend))
		cr_skip_test("io_uring refused here");
	cr_assert_eq(eng_job_run(T.w, bad_cb_job, NULL), 0);
	int one = 1, two = 2;
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = loopback(T.udp_port);
	/* garbage cannot be answered: counted only */
	cr_assert_eq(sendto(u, "HELLO\r\n\r\n", 9, 0, (struct sockaddr *)&a, sizeof(a)), 9);
	cr_assert_eq(sendto(u, BAD_MF, strlen(BAD_MF), 0, (struct sockaddr *)&a, sizeof(a)),
		     (ssize_t)strlen(BAD_MF));
	cr_assert_eq(eng_job_wait(T.w, bad_n, &one, 3000), 0, "the bad request did not come up");
	cr_expect_eq(bad.status, 400);
	cr_expect_eq(bad.kind, SIP_TP_UDP);
	cr_expect_str_eq(bad.raw, BAD_MF);
	close(u);
	/* on a stream: the same, then the connection closes */
	int c = tcp_client();
	write_all(c, BAD_MF, strlen(BAD_MF));
	cr_assert_eq(eng_job_wait(T.w, bad_n, &two, 3000), 0);
	cr_expect_eq(bad.kind, SIP_TP_TCP);
	char buf[64];
	cr_expect_eq(read_within(c, buf, sizeof(buf)), 0, "the stream is closed after it");
	close(c);
	cr_assert_eq(eng_job_run(T.w, stats_job, NULL), 0);
	cr_expect_eq(T.st.udp_bad, 2);
	cr_expect_eq(T.st.stream_errors, 1);
	teardown();
}

/* ---- messages by method and status ------------------------------------------------------ */

Test(sip_transport, counts_by_method_and_status, .timeout = 30)
{
	cr_assert(setup(ENG_BACKEND_EPOLL));
	unsigned opt = SIP_M_OPTIONS - 1, msg = SIP_M_MESSAGE - 1, other = SIP_TP_METHODS - 1;
	cr_expect_str_eq(sip_transport_method_names[opt], "OPTIONS");
	cr_expect_str_eq(sip_transport_method_names[msg], "MESSAGE");
	cr_expect_str_eq(sip_transport_method_names[other], "other");
	cr_expect_str_eq(sip_transport_code_names[sip_transport_code_slot(486)], "486");
	cr_expect_str_eq(sip_transport_code_names[sip_transport_code_slot(299)], "2xx");
	cr_expect_str_eq(sip_transport_code_names[sip_transport_code_slot(302)], "3xx");
	cr_expect_str_eq(sip_transport_code_names[sip_transport_code_slot(699)], "6xx");

	/* in: a request, two responses, a keep-alive and junk (neither counted) */
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = loopback(T.udp_port);
	const char *const in[] = { REQ("1"), RESP_CODE("486 Busy Here"),
				   RESP_CODE("302 Moved Temporarily"), "\r\n\r\n", "HELLO\r\n\r\n" };
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++)
		cr_assert_eq(sendto(u, in[i], strlen(in[i]), 0, (struct sockaddr *)&a, sizeof(a)),
			     (ssize_t)strlen(in[i]));
	wait_got(3);
	/* out: a 200, a 299, a MESSAGE and a method we do not know, to that socket */
	T.dst = T.got[0].src;
	send_ok(RESP);
	send_ok(RESP_CODE("299 Whatever"));
	send_ok("MESSAGE sip:x@example.com SIP/2.0\r\nContent-Length: 0\r\n\r\n");
	send_ok("FROB sip:x@example.com SIP/2.0\r\nContent-Length: 0\r\n\r\n");
	cr_assert_eq(eng_job_run(T.w, stats_job, NULL), 0);
	const struct sip_transport_stats *st = &T.st;
	cr_expect_eq(st->req_method[0][opt], 1);
	cr_expect_eq(st->resp_code[0][sip_transport_code_slot(486)], 1);
	cr_expect_eq(st->resp_code[0][sip_transport_code_slot(302)], 1, "302 as 3xx");
	cr_expect_eq(st->resp_code[1][sip_transport_code_slot(200)], 1);
	cr_expect_eq(st->resp_code[1][sip_transport_code_slot(299)], 1, "299 as 2xx");
	cr_expect_eq(st->req_method[1][msg], 1);
	cr_expect_eq(st->req_method[1][other], 1);
	uint64_t in_all = 0, out_all = 0;
	for (unsigned d = 0; d < 2; d++) {
		uint64_t *sum = d ? &out_all : &in_all;
		for (unsigned i = 0; i < SIP_TP_METHODS; i++)
			*sum += st->req_method[d][i];
		for (unsigned i = 0; i < SIP_TP_CODES; i++)
			*sum += st->resp_code[d][i];
	}
	cr_expect_eq(in_all, st->udp_rx, "every message parsed, once");
	cr_expect_eq(out_all, st->tx, "every message sent, once");
	close(u);
	teardown();
}

/* test_sip_transport.c — the SIP transport on a real engine worker (epoll and io_uring),
 * driven by plain sockets from the test thread: a UDP request comes up with its source and
 * the response sent back reaches the sender; on TCP two pipelined messages in one write and
 * one message in three writes come up whole, a bad stream closes its connection (counted),
 * and a send to a closed connection gives -ENOTCONN. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "engine/eng.h"
#include "sip/sip_parse.h"
#include "sip/sip_transport.h"
#include "tests/lib/eng_job.h"

#define REQ(cseq)                                                                   \
	"OPTIONS sip:gw@example.com SIP/2.0\r\n"                                    \
	"Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK" cseq "\r\n"                \
	"Max-Forwards: 70\r\n"                                                      \
	"From: <sip:a@example.com>;tag=1\r\n"                                       \
	"To: <sip:gw@example.com>\r\n"                                              \
	"Call-ID: c" cseq "@example.com\r\n"                                        \
	"CSeq: " cseq " OPTIONS\r\n"                                                \
	"Content-Length: 0\r\n\r\n"

#define RESP                                                                        \
	"SIP/2.0 200 OK\r\n"                                                        \
	"Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK1\r\n"                       \
	"From: <sip:a@example.com>;tag=1\r\n"                                       \
	"To: <sip:gw@example.com>;tag=2\r\n"                                        \
	"Call-ID: c1@example.com\r\n"                                               \
	"CSeq: 1 OPTIONS\r\n"                                                       \
	"Content-Length: 0\r\n\r\n"

struct got {
	char raw[1024];
	size_t len;
	int kind;                  /* enum sip_kind */
	struct sip_dest src;
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
	/* a job's input and output */
	struct sip_dest dst;
	const char *out;
	int rc;
	struct sip_transport_stats st;
} T;

static void on_msg(void *arg, const char *raw, size_t len, const struct sip_msg *m,
		   const struct sip_dest *src)
{
	(void)arg;
	if (T.ngot < 16 && len < sizeof(T.got[0].raw)) {
		struct got *g = &T.got[T.ngot];
		memcpy(g->raw, raw, len);
		g->raw[len] = 0;
		g->len = len;
		g->kind = m->kind;
		g->src = *src;
	}
	T.ngot++;
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
	T.udp_port = sip_transport_listen(T.t, "udp:127.0.0.1:0", 0, err, sizeof(err));
	T.tcp_port = sip_transport_listen(T.t, "tcp:127.0.0.1:0", 0, err, sizeof(err));
	T.rc = sip_transport_listen(T.t, "sctp:127.0.0.1:0", 0, err, sizeof(err));
}

static void send_job(void *arg)
{
	(void)arg;
	T.rc = sip_transport_send(T.t, T.out, strlen(T.out), &T.dst, 0);
}

static void stats_job(void *arg)
{
	(void)arg;
	T.st = *sip_transport_stats(T.t);
}

static void free_job(void *arg)
{
	(void)arg;
	sip_transport_free(T.t);
	T.t = NULL;
}

static int got_n(void *arg) { return T.ngot >= *(int *)arg; }

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

	/* a send to the closed connection, and to one never opened: -ENOTCONN */
	T.dst = T.got[5].src;
	cr_assert_eq(eng_job_run(T.w, send_job, NULL), 0);
	cr_assert_eq(T.rc, -ENOTCONN);
	T.dst.conn_id = 1000;
	cr_assert_eq(eng_job_run(T.w, send_job, NULL), 0);
	cr_assert_eq(T.rc, -ENOTCONN);
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

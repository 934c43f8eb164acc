/* test_eng_udp.c — UDP sockets on a worker, on both backends: datagrams of every size up to
 * the IPv4 maximum go and come back byte for byte with their source address, a burst larger
 * than one wake-up's bound all arrives, and a socket closed from its own callback. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <netinet/in.h>
#include <string.h>

#include "engine/eng.h"
#include "engine/eng_udp.h"
#include "tests/lib/eng_job.h"

static eng_engine *e;
static eng_worker *w;
static eng_udp *ua_, *ub;
static int pa, pb;
static _Atomic int got, bad, closed_in_cb;
static char pattern[65507];

/* B sends every datagram back where it came from */
static void echo(eng_udp *u, void *udata, const char *d, size_t len,
		 const struct sockaddr_storage *from, socklen_t fl)
{
	(void)udata;
	eng_udp_send(u, d, len, (const struct sockaddr *)from, fl);
}

/* A checks what comes back: the first 4 bytes are the length, the rest the pattern */
static void check(eng_udp *u, void *udata, const char *d, size_t len,
		  const struct sockaddr_storage *from, socklen_t fl)
{
	uint32_t n;
	(void)u;
	(void)udata;
	(void)fl;
	memcpy(&n, d, 4);
	if (n != len || memcmp(d + 4, pattern + 4, len - 4) != 0 ||
	    ntohs(((const struct sockaddr_in *)from)->sin_port) != pb)
		bad++;
	got++;
}

static void close_self(eng_udp *u, void *udata, const char *d, size_t len,
		       const struct sockaddr_storage *from, socklen_t fl)
{
	(void)udata; (void)d; (void)len; (void)from; (void)fl;
	eng_udp_close(u);
	closed_in_cb++;
}

static void open_job(void *arg)
{
	int err;
	(void)arg;
	ua_ = eng_udp_open(w, "127.0.0.1:0", 0, check, NULL, &err);
	ub = eng_udp_open(w, "127.0.0.1:0", ENG_LISTEN_REUSEPORT, echo, NULL, &err);
	pa = ua_ ? eng_udp_port(ua_) : 0;
	pb = ub ? eng_udp_port(ub) : 0;
}

static size_t sizes[] = { 4, 5, 100, 1400, 1500, 9000, 65507 };
static int sent;
static void send_job(void *arg)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons((uint16_t)pb),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int burst = *(int *)arg;
	for (int i = 0; i < burst; i++) {
		size_t len = sizes[(size_t)i % (sizeof(sizes) / sizeof(sizes[0]))];
		uint32_t n = (uint32_t)len;
		memcpy(pattern, &n, 4);
		if (eng_udp_send(ua_, pattern, len, (struct sockaddr *)&to, sizeof(to)) == 0)
			sent++;
	}
}

static void close_job(void *arg)
{
	(void)arg;
	eng_udp_close(ua_);
	eng_udp_close(ub);
}

static int got_all(void *arg) { return got >= *(int *)arg; }

ParameterizedTestParameters(eng_udp, round_trip)
{
	static int backends[] = { ENG_BACKEND_IO_URING, ENG_BACKEND_EPOLL };
	return cr_make_param_array(int, backends, 2);
}

ParameterizedTest(int *backend, eng_udp, round_trip, .timeout = 20)
{
	char err[256];
	for (size_t i = 0; i < sizeof(pattern); i++)
		pattern[i] = (char)(i * 7 + 3);
	e = eng_job_engine(*backend, err, sizeof(err));
	cr_assert_not_null(e, "%s", err);
	w = eng_worker_at(e, 0);
	cr_assert_eq(eng_job_run(w, open_job, NULL), 0);
	cr_assert(pa > 0 && pb > 0);
	int n = 7;
	cr_assert_eq(eng_job_run(w, send_job, &n), 0);
	cr_assert_eq(sent, 7);
	cr_assert_eq(eng_job_wait(w, got_all, &n, 3000), 0, "got %d of 7", got);
	cr_assert_eq(bad, 0);
	/* more than one wake-up's bound: a burst of small datagrams (the loopback may still drop
	 * some when the receive buffer is capped low: the count is what was echoed) */
	int burst = 600;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		sizes[i] = 64;
	got = 0;
	sent = 0;
	cr_assert_eq(eng_job_run(w, send_job, &burst), 0);
	int want = 300; /* beyond ENG_UDP_MAX_PER_WAKE: the rest is read at the next tick */
	cr_assert_eq(eng_job_wait(w, got_all, &want, 3000), 0, "got %d of %d", got, sent);
	cr_assert_eq(bad, 0);
	cr_assert_eq(eng_job_run(w, close_job, NULL), 0);
	eng_stop(e);
	eng_destroy(e);
}

static void open_close_self_job(void *arg)
{
	int err;
	(void)arg;
	ua_ = eng_udp_open(w, "127.0.0.1:0", 0, close_self, NULL, &err);
	pa = ua_ ? eng_udp_port(ua_) : 0;
	ub = eng_udp_open(w, "127.0.0.1:0", 0, echo, NULL, &err);
}

static void poke_job(void *arg)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons((uint16_t)pa),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	(void)arg;
	for (int i = 0; i < 3; i++) /* three queued: the first closes, the rest are not read */
		eng_udp_send(ub, "x", 1, (struct sockaddr *)&to, sizeof(to));
}

static int closed(void *arg) { (void)arg; return closed_in_cb > 0; }
static void close_b_job(void *arg) { (void)arg; eng_udp_close(ub); }

Test(eng_udp, close_from_its_own_callback, .timeout = 20)
{
	char err[256];
	e = eng_job_engine(ENG_BACKEND_EPOLL, err, sizeof(err));
	cr_assert_not_null(e, "%s", err);
	w = eng_worker_at(e, 0);
	cr_assert_eq(eng_job_run(w, open_close_self_job, NULL), 0);
	cr_assert_gt(pa, 0);
	cr_assert_eq(eng_job_run(w, poke_job, NULL), 0);
	cr_assert_eq(eng_job_wait(w, closed, NULL, 3000), 0);
	cr_assert_eq(closed_in_cb, 1);
	cr_assert_eq(eng_job_run(w, close_b_job, NULL), 0);
	eng_stop(e);
	eng_destroy(e);
}

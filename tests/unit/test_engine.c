/* test_engine.c — the engine on both backends: mailbox under two threads, timer wheel,
 * buffer ring refill, back-pressure, handover, byte-exact echo. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "engine/eng.h"
#include "tests/lib/wait.h"

static const enum eng_backend backends[] = { ENG_BACKEND_IO_URING, ENG_BACKEND_EPOLL };

static eng_engine *start(enum eng_backend be, unsigned workers, void (*tweak)(struct eng_config *),
			 void (*init)(eng_worker *, void *), void *arg)
{
	struct eng_config cfg;
	char err[200];

	eng_config_defaults(&cfg);
	cfg.backend = be;
	cfg.workers = workers;
	cfg.pin = 0;
	if (tweak)
		tweak(&cfg);
	eng_engine *e = eng_create(&cfg, err, sizeof(err));
	cr_assert(e, "eng_create: %s", err);
	cr_assert_eq(eng_start(e, init, arg), 0);
	return e;
}


static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- mailbox ----------------------------------------------------------------------- */

#define MB_PER_PRODUCER 200000

static struct {
	uint64_t next[2];      /* next expected sequence per producer (worker thread only) */
	uint64_t total;
	int disorder;
	int wrong_thread;
	eng_worker *w;
	sem_t done;
} mb;

static void mb_msg(eng_worker *w, void *arg, uint64_t seq)
{
	uintptr_t who = (uintptr_t)arg;
	if (eng_self() != w || w != mb.w)
		mb.wrong_thread++;
	if (seq != mb.next[who])
		mb.disorder++;
	mb.next[who] = seq + 1;
	if (++mb.total == 2 * MB_PER_PRODUCER)
		sem_post(&mb.done);
}

static void *mb_producer(void *arg)
{
	for (uint64_t i = 0; i < MB_PER_PRODUCER; i++)
		while (eng_post(mb.w, mb_msg, arg, i) == -EAGAIN)
			sched_yield();
	return NULL;
}

static void mailbox_two_threads(enum eng_backend be)
{
	memset(&mb, 0, sizeof(mb));
	sem_init(&mb.done, 0, 0);
	eng_engine *e = start(be, 1, NULL, NULL, NULL);
	mb.w = eng_worker_at(e, 0);
	pthread_t t[2];
	pthread_create(&t[0], NULL, mb_producer, (void *)0);
	pthread_create(&t[1], NULL, mb_producer, (void *)1);
	pthread_join(t[0], NULL);
	pthread_join(t[1], NULL);
	cr_assert_eq(sem_wait_ms(&mb.done, 20000), 0, "only %llu of %d messages ran",
		     (unsigned long long)mb.total, 2 * MB_PER_PRODUCER);
	cr_expect_eq(mb.disorder, 0, "per-producer FIFO order broken %d times", mb.disorder);
	cr_expect_eq(mb.wrong_thread, 0);
	eng_destroy(e);
}

Test(engine, mailbox_two_threads_io_uring) { mailbox_two_threads(ENG_BACKEND_IO_URING); }
Test(engine, mailbox_two_threads_epoll) { mailbox_two_threads(ENG_BACKEND_EPOLL); }

static sem_t blk_in, blk_release;
static void blocker(eng_worker *w, void *arg, uint64_t u)
{
	(void)w; (void)arg; (void)u;
	sem_post(&blk_in);
	sem_wait_ms(&blk_release, 10000);
}
static void nop(eng_worker *w, void *arg, uint64_t u) { (void)w; (void)arg; (void)u; }
static struct eng_stats stats_out;
static sem_t stats_done;
static void get_stats(eng_worker *w, void *arg, uint64_t u)
{
	(void)arg; (void)u;
	eng_worker_stats(w, &stats_out);
	sem_post(&stats_done);
}

static void small_mailbox(struct eng_config *c) { c->mailbox_size = 64; }

Test(engine, mailbox_full_is_refused_and_counted)
{
	sem_init(&blk_in, 0, 0);
	sem_init(&blk_release, 0, 0);
	sem_init(&stats_done, 0, 0);
	eng_engine *e = start(ENG_BACKEND_AUTO, 1, small_mailbox, NULL, NULL);
	eng_worker *w = eng_worker_at(e, 0);
	cr_assert_eq(eng_post(w, blocker, NULL, 0), 0);
	cr_assert_eq(sem_wait_ms(&blk_in, 5000), 0);
	int ok = 0, full = 0;
	for (int i = 0; i < 100; i++) {
		if (eng_post(w, nop, NULL, 0) == 0)
			ok++;
		else
			full++;
	}
	cr_expect_eq(ok, 64, "mailbox of 64 took %d", ok);
	cr_expect_eq(full, 36);
	sem_post(&blk_release);
	while (eng_post(w, get_stats, NULL, 0) == -EAGAIN)
		usleep(1000);
	cr_assert_eq(sem_wait_ms(&stats_done, 5000), 0);
	cr_expect_geq(stats_out.mailbox_full, 36); /* + the retries of the stats post */
	eng_destroy(e);
}

/* ---- timers ------------------------------------------------------------------------ */

#define NT 9
static const uint64_t delays[NT] = { 0, 1, 5, 10, 37, 100, 250, 999, 6000 };
static struct tmr {
	eng_timer t;
	uint64_t armed_at, fired_at;
	int fires;
} tm[NT], tm_cancel, tm_rearm, tm_zero;
static sem_t tm_done;
static int tm_left;
static eng_worker *tm_w;

static void tm_fire(eng_timer *t)
{
	struct tmr *x = t->arg;
	x->fired_at = eng_now_ms(tm_w);
	x->fires++;
	if (x == &tm_rearm && x->fires < 3) {
		eng_timer_arm(tm_w, t, 20); /* re-armed from its own callback */
		return;
	}
	if (x == &tm_zero && x->fires == 1) {
		x->armed_at = x->fired_at;
		eng_timer_arm(tm_w, t, 0); /* due now, armed while its slot is swept */
		return;
	}
	if (--tm_left == 0)
		sem_post(&tm_done);
}

static void tm_start(eng_worker *w, void *arg, uint64_t u)
{
	(void)arg; (void)u;
	tm_w = w;
	for (int i = 0; i < NT; i++) {
		eng_timer_init(&tm[i].t, tm_fire, &tm[i]);
		tm[i].armed_at = eng_now_ms(w);
		eng_timer_arm(w, &tm[i].t, delays[i]);
	}
	eng_timer_init(&tm_cancel.t, tm_fire, &tm_cancel);
	eng_timer_arm(w, &tm_cancel.t, 50);
	eng_timer_cancel(&tm_cancel.t);
	eng_timer_init(&tm_rearm.t, tm_fire, &tm_rearm);
	tm_rearm.armed_at = eng_now_ms(w);
	eng_timer_arm(w, &tm_rearm.t, 20);
	eng_timer_init(&tm_zero.t, tm_fire, &tm_zero);
	eng_timer_arm(w, &tm_zero.t, 10);
}

static void timer_wheel(enum eng_backend be)
{
	memset(tm, 0, sizeof(tm));
	memset(&tm_cancel, 0, sizeof(tm_cancel));
	memset(&tm_rearm, 0, sizeof(tm_rearm));
	memset(&tm_zero, 0, sizeof(tm_zero));
	tm_left = NT + 2;
	sem_init(&tm_done, 0, 0);
	eng_engine *e = start(be, 1, NULL, NULL, NULL);
	cr_assert_eq(eng_post(eng_worker_at(e, 0), tm_start, NULL, 0), 0);
	cr_assert_eq(sem_wait_ms(&tm_done, 10000), 0, "timers left: %d", tm_left);
	for (int i = 0; i < NT; i++) {
		uint64_t took = tm[i].fired_at - tm[i].armed_at;
		cr_expect_eq(tm[i].fires, 1, "timer %d fired %d times", i, tm[i].fires);
		cr_expect_geq(took, delays[i], "timer %llu ms fired early after %llu",
			      (unsigned long long)delays[i], (unsigned long long)took);
		cr_expect_leq(took, delays[i] + 60, "timer %llu ms fired late after %llu",
			      (unsigned long long)delays[i], (unsigned long long)took);
	}
	cr_expect_eq(tm_cancel.fires, 0, "a cancelled timer fired");
	cr_expect_eq(tm_rearm.fires, 3);
	cr_expect_geq(tm_rearm.fired_at - tm_rearm.armed_at, 60);
	cr_expect_leq(tm_rearm.fired_at - tm_rearm.armed_at, 200);
	cr_expect_eq(tm_zero.fires, 2);
	cr_expect_leq(tm_zero.fired_at - tm_zero.armed_at, 40,
		      "a 0 ms timer armed from a callback took %llu ms",
		      (unsigned long long)(tm_zero.fired_at - tm_zero.armed_at));
	eng_destroy(e);
}

Test(engine, timer_wheel_io_uring, .timeout = 20) { timer_wheel(ENG_BACKEND_IO_URING); }
Test(engine, timer_wheel_epoll, .timeout = 20) { timer_wheel(ENG_BACKEND_EPOLL); }

/* ---- connections ------------------------------------------------------------------- */

static int tcp_connect(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0, "connect: %s",
		     strerror(errno));
	struct timeval tv = { .tv_sec = 10 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

/* Sends <len> random bytes and reads them back; 0 when byte-exact. */
static int echo_roundtrip(int fd, size_t len)
{
	char *out = malloc(len), *in = malloc(len);
	size_t sent = 0, got = 0;
	for (size_t i = 0; i < len; i++)
		out[i] = (char)(rand() & 0xff);
	while (got < len) {
		struct pollfd p = { .fd = fd, .events = POLLIN | (sent < len ? POLLOUT : 0) };
		if (poll(&p, 1, 10000) <= 0)
			break;
		if ((p.revents & POLLOUT) && sent < len) {
			ssize_t n = send(fd, out + sent, len - sent > 65536 ? 65536 : len - sent, 0);
			if (n > 0)
				sent += (size_t)n;
		}
		if (p.revents & (POLLIN | POLLHUP)) {
			ssize_t n = recv(fd, in + got, len - got, 0);
			if (n <= 0)
				break;
			got += (size_t)n;
		}
	}
	int rc = got == len && memcmp(in, out, len) == 0 ? 0 : -1;
	free(in);
	free(out);
	return rc;
}

struct srv {
	_Atomic int port;
	int retain;             /* keep every received buffer instead of echoing */
	eng_buf *kept[4096];
	uint32_t kept_off[4096], kept_len[4096];
	int nkept;
	eng_conn *conn;
	_Atomic int closed;
};
static struct srv srv;

static void echo_recv(eng_conn *c, eng_buf *b, uint32_t off, uint32_t len)
{
	if (srv.retain && srv.nkept < 4096) {
		eng_buf_ref(b);
		srv.kept[srv.nkept] = b;
		srv.kept_off[srv.nkept] = off;
		srv.kept_len[srv.nkept++] = len;
		return;
	}
	eng_send_buf(c, b, off, len);
}
static void echo_close(eng_conn *c, int err) { (void)c; (void)err; srv.closed++; }
static const struct eng_conn_ops echo_ops = { .on_recv = echo_recv, .on_close = echo_close };
static void echo_accept(eng_listener *l, eng_conn *c)
{
	(void)l;
	srv.conn = c;
	eng_conn_start(c, &echo_ops, NULL);
}
static void echo_init(eng_worker *w, void *arg)
{
	int err;
	(void)arg;
	eng_listener *l = eng_listen(w, "127.0.0.1:0", 0, NULL, echo_accept, NULL, &err);
	cr_assert(l, "listen: %d", err);
	srv.port = eng_listener_port(l);
}

static void echo_many(enum eng_backend be)
{
	memset(&srv, 0, sizeof(srv));
	eng_engine *e = start(be, 1, NULL, echo_init, NULL);
	for (int i = 0; i < 200 && !srv.port; i++)
		usleep(5000);
	for (int i = 0; i < 20; i++) {
		int fd = tcp_connect(srv.port);
		cr_expect_eq(echo_roundtrip(fd, (size_t)(rand() % 300000) + 1), 0, "round %d", i);
		close(fd);
	}
	eng_destroy(e);
}

Test(engine, echo_io_uring, .timeout = 30) { echo_many(ENG_BACKEND_IO_URING); }
Test(engine, echo_epoll, .timeout = 30) { echo_many(ENG_BACKEND_EPOLL); }

/* A pool smaller than what is in flight: receives run dry, then resume when buffers come
 * back, and no byte is lost. */
static void tiny_pool(struct eng_config *c)
{
	c->bufs_max = 64;
	c->buf_ring_entries = 16;
	c->buf_size = 4096;
}

static void release_kept(eng_worker *w, void *arg, uint64_t u)
{
	(void)arg; (void)u;
	srv.retain = 0;
	for (int i = 0; i < srv.nkept; i++) {
		eng_send_buf(srv.conn, srv.kept[i], srv.kept_off[i], srv.kept_len[i]);
		eng_buf_unref(w, srv.kept[i]);
	}
	srv.nkept = 0;
	sem_post(&stats_done);
}

static void buffer_refill(enum eng_backend be)
{
	memset(&srv, 0, sizeof(srv));
	sem_init(&stats_done, 0, 0);
	srv.retain = 1;
	eng_engine *e = start(be, 1, tiny_pool, echo_init, NULL);
	for (int i = 0; i < 200 && !srv.port; i++)
		usleep(5000);
	int fd = tcp_connect(srv.port);
	size_t len = 32u << 20; /* far more than the pool (64 x 4 KiB) and socket buffers */
	char *out = malloc(len), *in = malloc(len);
	for (size_t i = 0; i < len; i++)
		out[i] = (char)(i * 7 + (i >> 9));
	/* the server keeps everything it gets: the pool runs dry and reading stops */
	size_t sent = 0;
	uint64_t until = mono_ms() + 1500;
	while (sent < len && mono_ms() < until) {
		ssize_t n = send(fd, out + sent, len - sent, MSG_DONTWAIT);
		if (n > 0)
			sent += (size_t)n;
		else
			usleep(2000);
	}
	cr_expect_lt(sent, len, "the server kept reading with an empty pool");
	cr_assert_eq(eng_post(eng_worker_at(e, 0), get_stats, NULL, 0), 0);
	cr_assert_eq(sem_wait_ms(&stats_done, 5000), 0);
	cr_expect_gt(stats_out.enobufs, 0, "no receive found the pool empty");
	cr_expect_leq(stats_out.bufs_total, 64);
	/* give the buffers back (echoing them): reading resumes */
	cr_assert_eq(eng_post(eng_worker_at(e, 0), release_kept, NULL, 0), 0);
	cr_assert_eq(sem_wait_ms(&stats_done, 5000), 0);
	size_t got = 0;
	while (got < len) {
		struct pollfd p = { .fd = fd, .events = POLLIN | (sent < len ? POLLOUT : 0) };
		if (poll(&p, 1, 10000) <= 0)
			break;
		if ((p.revents & POLLOUT) && sent < len) {
			ssize_t n = send(fd, out + sent, len - sent, MSG_DONTWAIT);
			if (n > 0)
				sent += (size_t)n;
		}
		if (p.revents & POLLIN) {
			ssize_t n = recv(fd, in + got, len - got, 0);
			if (n <= 0)
				break;
			got += (size_t)n;
		}
	}
	cr_expect_eq(got, len, "echoed %zu of %zu", got, len);
	cr_expect(memcmp(in, out, got) == 0, "bytes differ");
	close(fd);
	free(in);
	free(out);
	eng_destroy(e);
}

Test(engine, buffer_ring_refill_io_uring, .timeout = 30) { buffer_refill(ENG_BACKEND_IO_URING); }
Test(engine, buffer_ring_refill_epoll, .timeout = 30) { buffer_refill(ENG_BACKEND_EPOLL); }

/* ---- back-pressure: A feeds B, B's peer does not read ------------------------------- */

static struct {
	_Atomic int port;
	eng_conn *a, *b;       /* a: the feeder (first accepted), b: the sink (second) */
	_Atomic uint32_t max_sendq;
	_Atomic int n;
} bp;

static void bp_recv(eng_conn *c, eng_buf *buf, uint32_t off, uint32_t len)
{
	if (c != bp.a || !bp.b)
		return;
	int full = eng_send_buf(bp.b, buf, off, len);
	if (eng_sendq_bytes(bp.b) > bp.max_sendq)
		bp.max_sendq = (uint32_t)eng_sendq_bytes(bp.b);
	if (full == 1)
		eng_conn_wait_writable(c, bp.b);
}
static const struct eng_conn_ops bp_ops = { .on_recv = bp_recv };
static void bp_accept(eng_listener *l, eng_conn *c)
{
	(void)l;
	if (!bp.a)
		bp.a = c;
	else
		bp.b = c;
	bp.n++;
	eng_conn_start(c, &bp_ops, NULL);
}
static void bp_init(eng_worker *w, void *arg)
{
	int err;
	(void)arg;
	eng_listener *l = eng_listen(w, "127.0.0.1:0", 0, NULL, bp_accept, NULL, &err);
	cr_assert(l);
	bp.port = eng_listener_port(l);
}
static void small_queue(struct eng_config *c)
{
	c->sendq_high = 64 * 1024;
	c->sendq_low = 16 * 1024;
}

static void backpressure(enum eng_backend be)
{
	memset(&bp, 0, sizeof(bp));
	sem_init(&stats_done, 0, 0);
	eng_engine *e = start(be, 1, small_queue, bp_init, NULL);
	for (int i = 0; i < 200 && !bp.port; i++)
		usleep(5000);
	int fa = tcp_connect(bp.port);
	for (int i = 0; i < 200 && bp.n < 1; i++)
		usleep(5000);
	int fb = tcp_connect(bp.port);
	int small = 16 * 1024;
	setsockopt(fb, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	for (int i = 0; i < 200 && bp.n < 2; i++)
		usleep(5000);
	/* A pushes; B never reads: A's sends must stall (after the kernel's socket buffers
	 * fill), B's queue and what the engine holds must stay bounded */
	static char chunk[65536];
	size_t pushed = 0;
	uint64_t until = mono_ms() + 8000, progress = mono_ms();
	while (mono_ms() < until && mono_ms() - progress < 1000) {
		ssize_t n = send(fa, chunk, sizeof(chunk), MSG_DONTWAIT);
		if (n > 0) {
			pushed += (size_t)n;
			progress = mono_ms();
		} else {
			usleep(1000);
		}
	}
	cr_expect_geq(mono_ms() - progress, 1000, "the feeder was never stopped (%zu bytes taken)",
		      pushed);
	cr_expect_leq(bp.max_sendq, 64 * 1024 + 65536, "send queue grew to %u", bp.max_sendq);
	cr_assert_eq(eng_post(eng_worker_at(e, 0), get_stats, NULL, 0), 0);
	cr_assert_eq(sem_wait_ms(&stats_done, 5000), 0);
	cr_expect_gt(stats_out.paused, 0);
	/* held: what one receive batch took before the pause landed, at most what the
	 * kernel's receive buffer held (tcp_rmem max), and it must not grow beyond that */
	uint64_t held = stats_out.bufs_total - stats_out.bufs_free - stats_out.bufs_posted;
	long rmem[3] = { 0, 0, 6 << 20 };
	FILE *f = fopen("/proc/sys/net/ipv4/tcp_rmem", "r");
	if (f) {
		if (fscanf(f, "%ld %ld %ld", &rmem[0], &rmem[1], &rmem[2]) != 3)
			rmem[2] = 6 << 20;
		fclose(f);
	}
	uint64_t bound = (uint64_t)rmem[2] / 16384 + 32;
	cr_expect_leq(held, bound, "the engine holds %llu buffers for a stalled pair (bound %llu)",
		      (unsigned long long)held, (unsigned long long)bound);
	/* B reads now: everything A sent arrives */
	size_t got = 0;
	char buf[65536];
	until = mono_ms() + 10000;
	while (got < pushed && mono_ms() < until) {
		ssize_t n = recv(fb, buf, sizeof(buf), 0);
		if (n <= 0)
			break;
		got += (size_t)n;
		ssize_t m = send(fa, chunk, 0, MSG_DONTWAIT);
		(void)m;
	}
	cr_expect_eq(got, pushed, "B got %zu of %zu after draining", got, pushed);
	close(fa);
	close(fb);
	eng_destroy(e);
}

Test(engine, backpressure_io_uring, .timeout = 30) { backpressure(ENG_BACKEND_IO_URING); }
Test(engine, backpressure_epoll, .timeout = 30) { backpressure(ENG_BACKEND_EPOLL); }

/* ---- handover: accepted on worker 0, adopted by worker 1 --------------------------- */

static struct {
	_Atomic int port;
	eng_engine *e;
	_Atomic int adopted_on;
	_Atomic int pre_bytes;
} ho;

static void ho_echo(eng_conn *c, eng_buf *b, uint32_t off, uint32_t len)
{
	if (eng_worker_index(c->w) != 1)
		ho.adopted_on = -100; /* bytes seen by the wrong worker */
	eng_send_buf(c, b, off, len);
}
static const struct eng_conn_ops ho_echo_ops = { .on_recv = ho_echo };
static void ho_adopt(eng_conn *c, void *arg)
{
	(void)arg;
	ho.adopted_on = (int)eng_worker_index(eng_self());
	eng_conn_start(c, &ho_echo_ops, NULL);
}
static void ho_first(eng_conn *c, eng_buf *b, uint32_t off, uint32_t len)
{
	/* the first bytes are echoed here, then the connection moves */
	ho.pre_bytes += (int)len;
	eng_send_buf(c, b, off, len);
	eng_handover(c, eng_worker_at(ho.e, 1), ho_adopt, NULL);
}
static const struct eng_conn_ops ho_first_ops = { .on_recv = ho_first };
static void ho_accept(eng_listener *l, eng_conn *c)
{
	(void)l;
	eng_conn_start(c, &ho_first_ops, NULL);
}
static void ho_init(eng_worker *w, void *arg)
{
	int err;
	(void)arg;
	if (eng_worker_index(w) != 0)
		return;
	eng_listener *l = eng_listen(w, "127.0.0.1:0", 0, NULL, ho_accept, NULL, &err);
	cr_assert(l);
	ho.port = eng_listener_port(l);
}

static void handover(enum eng_backend be)
{
	memset(&ho, 0, sizeof(ho));
	ho.adopted_on = -1;
	struct eng_config cfg;
	char err[200];
	eng_config_defaults(&cfg);
	cfg.backend = be;
	cfg.workers = 2;
	cfg.pin = 0;
	ho.e = eng_create(&cfg, err, sizeof(err));
	cr_assert(ho.e);
	cr_assert_eq(eng_start(ho.e, ho_init, NULL), 0);
	for (int i = 0; i < 200 && !ho.port; i++)
		usleep(5000);
	int fd = tcp_connect(ho.port);
	/* a burst: some bytes may be read by worker 0 during the handover and must be
	 * carried over, in order */
	cr_expect_eq(echo_roundtrip(fd, 2 << 20), 0, "echo across the handover");
	cr_expect_eq(ho.adopted_on, 1, "adopted on %d", ho.adopted_on);
	cr_expect_eq(echo_roundtrip(fd, 4096), 0, "echo after the handover");
	close(fd);
	eng_destroy(ho.e);
}

Test(engine, handover_io_uring, .timeout = 30) { handover(ENG_BACKEND_IO_URING); }
Test(engine, handover_epoll, .timeout = 30) { handover(ENG_BACKEND_EPOLL); }

/* ---- addresses --------------------------------------------------------------------- */

Test(engine, parse_hostport)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char buf[64];

	cr_expect_eq(eng_parse_hostport("127.0.0.1:2855", &ss, &len), 0);
	cr_expect_str_eq(eng_sockaddr_str(&ss, buf, sizeof(buf)), "127.0.0.1:2855");
	cr_expect_eq(eng_parse_hostport("[::1]:443", &ss, &len), 0);
	cr_expect_str_eq(eng_sockaddr_str(&ss, buf, sizeof(buf)), "[::1]:443");
	cr_expect_eq(eng_parse_hostport("*:5060", &ss, &len), 0);
	cr_expect_str_eq(eng_sockaddr_str(&ss, buf, sizeof(buf)), "0.0.0.0:5060");
	cr_expect_eq(eng_parse_hostport(":8080", &ss, &len), 0);
	cr_expect_eq(eng_parse_hostport("1.2.3.4", &ss, &len), -EINVAL);
	cr_expect_eq(eng_parse_hostport("1.2.3.4:", &ss, &len), -EINVAL);
	cr_expect_eq(eng_parse_hostport("1.2.3.4:70000", &ss, &len), -EINVAL);
	cr_expect_eq(eng_parse_hostport("host.example:80", &ss, &len), -EINVAL);
	cr_expect_eq(eng_parse_hostport("[::1:80", &ss, &len), -EINVAL);
	(void)backends;
}

/* ---- drain: listeners close, open connections keep working ------------------------ */

static void drain(enum eng_backend be)
{
	memset(&srv, 0, sizeof(srv));
	eng_engine *e = start(be, 1, NULL, echo_init, NULL);
	for (int i = 0; i < 200 && !srv.port; i++)
		usleep(5000);
	int fd = tcp_connect(srv.port);
	cr_expect_eq(echo_roundtrip(fd, 1000), 0);
	cr_expect_eq(eng_open_conns(e), 1);
	eng_drain(e);
	/* the listener goes away: new connections are refused */
	int refused = 0;
	for (int i = 0; i < 200 && !refused; i++) {
		int nfd = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)srv.port) };
		inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
		refused = connect(nfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno == ECONNREFUSED;
		close(nfd);
		if (!refused)
			usleep(5000);
	}
	cr_expect(refused, "the listener still accepts after eng_drain");
	/* the open connection still works, and closing it empties the engine */
	cr_expect_eq(echo_roundtrip(fd, 100000), 0, "an open connection broke during the drain");
	close(fd);
	for (int i = 0; i < 200 && eng_open_conns(e); i++)
		usleep(5000);
	cr_expect_eq(eng_open_conns(e), 0);
	eng_destroy(e);
}

Test(engine, drain_io_uring, .timeout = 20) { drain(ENG_BACKEND_IO_URING); }
Test(engine, drain_epoll, .timeout = 20) { drain(ENG_BACKEND_EPOLL); }

/* ---- a lingering close ---------------------------------------------------------------- */

/* The server answers the first bytes it gets and gives the connection up with
 * eng_close_linger() while the client goes on sending: the client reads the whole answer
 * and then EOF, not a reset (the bytes it sent after were read and dropped, none reached
 * the owner). A client that then neither sends nor closes is let go at ENG_LINGER_MS. */
#define LG_ANSWER 3000
static struct {
	_Atomic int recvs, closed, port;
	_Atomic uint64_t closed_ms;
} lg;

static void lg_recv(eng_conn *c, eng_buf *b, uint32_t off, uint32_t len)
{
	static char answer[LG_ANSWER];
	(void)b;
	(void)off;
	(void)len;
	lg.recvs++;
	memset(answer, 'A', sizeof(answer));
	cr_assert_eq(eng_send(c, answer, sizeof(answer)), 0);
	eng_close_linger(c);
}
static void lg_close(eng_conn *c, int err)
{
	(void)c;
	(void)err;
	lg.closed_ms = mono_ms();
	lg.closed++;
}
static const struct eng_conn_ops lg_ops = { .on_recv = lg_recv, .on_close = lg_close };
static void lg_accept(eng_listener *l, eng_conn *c)
{
	(void)l;
	eng_conn_start(c, &lg_ops, NULL);
}
static void lg_init(eng_worker *w, void *arg)
{
	int err;
	(void)arg;
	eng_listener *l = eng_listen(w, "127.0.0.1:0", 0, NULL, lg_accept, NULL, &err);
	cr_assert(l, "listen: %d", err);
	lg.port = eng_listener_port(l);
}

static void linger(enum eng_backend be)
{
	memset(&lg, 0, sizeof(lg));
	eng_engine *e = start(be, 1, NULL, lg_init, NULL);
	for (int i = 0; i < 200 && !lg.port; i++)
		usleep(5000);

	/* a client that keeps sending after the answer: 4 MiB more, far past the socket
	 * buffers, so they are read (and dropped) by the server, not left unread */
	int fd = tcp_connect(lg.port);
	cr_assert_eq(send(fd, "broken frame", 12, 0), 12);
	static char junk[65536];
	memset(junk, 'j', sizeof(junk));
	size_t more = 0;
	while (more < 4u << 20) {
		ssize_t n = send(fd, junk, sizeof(junk), MSG_NOSIGNAL);
		if (n <= 0)
			break;
		more += (size_t)n;
	}
	cr_expect_eq(more, 4u << 20, "the server stopped taking bytes after %zu", more);
	char buf[8192];
	size_t got = 0;
	ssize_t n;
	while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) {
		for (ssize_t i = 0; i < n; i++)
			cr_assert_eq(buf[i], 'A');
		got += (size_t)n;
	}
	cr_expect_eq(n, 0, "not EOF: %s", n < 0 ? strerror(errno) : "");
	cr_expect_eq(got, LG_ANSWER, "the answer: %zu bytes", got);
	cr_expect_eq(lg.recvs, 1, "bytes after the close reached the owner");
	uint64_t t = mono_ms();
	close(fd);
	for (int i = 0; i < 400 && lg.closed < 1; i++)
		usleep(5000);
	cr_expect_eq(lg.closed, 1);
	cr_expect_lt(lg.closed_ms - t, 500, "the client's EOF did not end the linger");

	/* a client that stays, silent: closed at ENG_LINGER_MS after the answer */
	fd = tcp_connect(lg.port);
	t = mono_ms();
	cr_assert_eq(send(fd, "x", 1, 0), 1);
	got = 0;
	while ((n = recv(fd, buf, sizeof(buf), 0)) > 0)
		got += (size_t)n;
	cr_expect_eq(n, 0);
	cr_expect_eq(got, LG_ANSWER);
	for (int i = 0; i < 600 && lg.closed < 2; i++)
		usleep(5000);
	cr_expect_eq(lg.closed, 2);
	cr_expect_geq(lg.closed_ms - t, ENG_LINGER_MS - 50);
	cr_expect_lt(lg.closed_ms - t, ENG_LINGER_MS + 800);
	close(fd);
	eng_destroy(e);
}

Test(engine, close_linger_io_uring, .timeout = 20) { linger(ENG_BACKEND_IO_URING); }
Test(engine, close_linger_epoll, .timeout = 20) { linger(ENG_BACKEND_EPOLL); }

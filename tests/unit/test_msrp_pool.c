/* test_msrp_pool.c — outbound connections reused by authority and by hop (host, port,
 * tls, source address), on both backends. */
#include <criterion/criterion.h>
#include <errno.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine/eng.h"
#include "msrp/msrp_hdr.h"
#include "msrp/msrp_id.h"
#include "msrp/msrp_pool.h"
#include "msrp/msrp_uri.h"
#include "tests/lib/wait.h"

static sem_t done;
static eng_engine *e;
static struct msrp_worker *mw;
static struct msrp_pool *pool;
static _Atomic int port_a, port_b, port_dead;
static eng_listener *la, *lb;

static int wait_done(void) { return sem_wait_ms(&done, 5000); }

/* servers: answer every SEND with 200; a SEND with Message-ID "close" makes the server
 * close the connection */
static void s_head(struct msrp_conn *mc, const struct msrp_msg *m)
{
	cm_slice id = msrp_hdr_get(m, MSRP_H_MESSAGE_ID);
	if (id.len == 5 && memcmp(id.p, "close", 5) == 0)
		msrp_conn_close(mc);
	else
		msrp_conn_respond(mc, m, 200, CM_SLICE_NULL, NULL, 0);
}
static void s_body(struct msrp_conn *mc, eng_buf *b, cm_slice s) { (void)mc; (void)b; (void)s; }
static void s_end(struct msrp_conn *mc, enum msrp_flag f) { (void)mc; (void)f; }
static void s_close(struct msrp_conn *mc, int err) { (void)mc; (void)err; }
static const struct msrp_conn_ops s_ops = { .on_head = s_head, .on_body = s_body,
					    .on_end = s_end, .on_close = s_close };
static char last_peer[64];      /* the address the last accepted connection came from */
static void s_accept(eng_listener *l, eng_conn *c)
{
	(void)l;
	eng_conn_peer_str(c, last_peer, sizeof(last_peer));
	msrp_conn_new(mw, c, &s_ops, NULL);
}

/* the pool's own connections see nothing but responses here */
static _Atomic int pool_closes;
static void c_close(struct msrp_conn *mc, int err) { (void)mc; (void)err; pool_closes++; }
static const struct msrp_conn_ops c_ops = { .on_head = s_head, .on_body = s_body,
					    .on_end = s_end, .on_close = c_close };

static void init(eng_worker *w, void *arg)
{
	int err;
	struct msrp_conn_cfg cfg;
	(void)arg;
	msrp_conn_cfg_default(&cfg);
	mw = msrp_worker_new(w, &cfg);
	la = eng_listen(w, "127.0.0.1:0", 0, NULL, s_accept, NULL, &err);
	lb = eng_listen(w, "127.0.0.1:0", 0, NULL, s_accept, NULL, &err);
	eng_listener *ld = eng_listen(w, "127.0.0.1:0", 0, NULL, s_accept, NULL, &err);
	port_dead = eng_listener_port(ld);
	eng_listener_close(ld); /* nothing listens there any more */
	pool = msrp_pool_new(mw, NULL, NULL, &c_ops, NULL);
	port_b = eng_listener_port(lb);
	port_a = eng_listener_port(la);
}

static struct msrp_conn *got[16];
static int got_err[16];
static int got_status;

static void on_got(void *arg, struct msrp_conn *mc, int err)
{
	intptr_t i = (intptr_t)arg;
	got[i] = mc;
	got_err[i] = err;
	sem_post(&done);
}

static char uri_text[8][128];

static void do_get(eng_worker *w, void *arg, uint64_t i)
{
	struct msrp_uri u;
	(void)w; (void)arg;
	cr_assert_eq(msrp_uri_parse((cm_slice){ uri_text[i], strlen(uri_text[i]) }, &u), 0,
		     "%s", uri_text[i]);
	int rc = msrp_pool_get(pool, &u, on_got, (void *)(intptr_t)i);
	if (rc < 0) {
		got[i] = NULL;
		got_err[i] = rc;
		sem_post(&done);
	}
}

static void on_resp(struct msrp_conn *mc, void *arg, int status, const struct msrp_msg *r)
{
	(void)mc; (void)arg; (void)r;
	got_status = status;
	sem_post(&done);
}

static void do_send(eng_worker *w, void *arg, uint64_t i)
{
	(void)w;
	struct msrp_out m = {
		.tid = CM_SLICE_LIT("pool0001"), .method = MSRP_M_SEND,
		.to_path = CM_SLICE_LIT("msrp://127.0.0.1:1/x1;tcp"),
		.from_path = CM_SLICE_LIT("msrp://127.0.0.1:2/y2;tcp"),
		.message_id = CM_SLICE_LIT("m1"), .content_type = CM_SLICE_LIT("text/plain"),
	};
	cm_slice body = CM_SLICE_LIT("hello");
	if (arg) { /* the server closes the connection on this one */
		m.message_id = CM_SLICE_LIT("close");
		m.failure_report = MSRP_REPORT_NO;
		m.content_type = CM_SLICE_NULL;
		msrp_conn_request(got[i], &m, NULL, 0, MSRP_FLAG_END, NULL, NULL);
		sem_post(&done);
		return;
	}
	cr_assert_geq(msrp_conn_request(got[i], &m, &body, 1, MSRP_FLAG_END, on_resp, NULL), 0);
}

static struct msrp_hop hops[16];

static void do_get_hop(eng_worker *w, void *arg, uint64_t i)
{
	(void)w; (void)arg;
	int rc = msrp_pool_get_hop(pool, &hops[i], on_got, (void *)(intptr_t)i);
	if (rc < 0) {
		got[i] = NULL;
		got_err[i] = rc;
		sem_post(&done);
	}
}

static void get_hop(int i, const char *host, int port, int tls, const char *src)
{
	memset(&hops[i], 0, sizeof(hops[i]));
	snprintf(hops[i].host, sizeof(hops[i].host), "%s", host);
	hops[i].port = (uint16_t)port;
	hops[i].tls = tls;
	snprintf(hops[i].src, sizeof(hops[i].src), "%s", src);
	cr_assert_eq(eng_post(eng_worker_at(e, 0), do_get_hop, NULL, (uint64_t)i), 0);
	cr_assert_eq(wait_done(), 0);
}

static unsigned pool_n;
static void do_size(eng_worker *w, void *arg, uint64_t u)
{
	(void)w; (void)arg; (void)u;
	pool_n = msrp_pool_size(pool);
	sem_post(&done);
}

static void do_free(eng_worker *w, void *arg, uint64_t u)
{
	(void)w; (void)arg; (void)u;
	msrp_pool_free(pool);
	sem_post(&done);
}

static void get(int i, const char *fmt, int port)
{
	snprintf(uri_text[i], sizeof(uri_text[i]), fmt, port);
	cr_assert_eq(eng_post(eng_worker_at(e, 0), do_get, NULL, (uint64_t)i), 0);
	cr_assert_eq(wait_done(), 0);
}

static unsigned size_now(void)
{
	cr_assert_eq(eng_post(eng_worker_at(e, 0), do_size, NULL, 0), 0);
	cr_assert_eq(wait_done(), 0);
	return pool_n;
}

static void reuse(enum eng_backend be)
{
	struct eng_config cfg;
	char err[128];
	sem_init(&done, 0, 0);
	cr_assert_eq(msrp_id_init(), 0);
	eng_config_defaults(&cfg);
	cfg.backend = be;
	cfg.workers = 1;
	cfg.pin = 0;
	e = eng_create(&cfg, err, sizeof(err));
	cr_assert(e);
	cr_assert_eq(eng_start(e, init, NULL), 0);
	for (int i = 0; i < 200 && !port_a; i++)
		usleep(5000);

	/* two sessions behind the same authority share one connection */
	get(0, "msrp://127.0.0.1:%d/sessA;tcp", port_a);
	get(1, "MSRP://127.0.0.1:%d/otherSession;TCP", port_a);
	cr_assert(got[0] && got[1], "errors %d %d", got_err[0], got_err[1]);
	cr_expect_eq(got[0], got[1], "the same authority got two connections");
	cr_expect_eq(size_now(), 1);
	cr_assert_eq(eng_post(eng_worker_at(e, 0), do_send, NULL, 0), 0);
	cr_assert_eq(wait_done(), 0);
	cr_expect_eq(got_status, 200);

	/* another authority: another connection */
	get(2, "msrp://127.0.0.1:%d/sessB;tcp", port_b);
	cr_assert(got[2]);
	cr_expect_neq(got[2], got[0]);
	cr_expect_eq(size_now(), 2);

	/* nobody listening: the callback says so, and nothing stays in the pool */
	get(3, "msrp://127.0.0.1:%d/x;tcp", port_dead);
	cr_expect_null(got[3]);
	cr_expect_eq(got_err[3], -ECONNREFUSED);
	/* a name without a resolver, and a WebSocket URI (reached over its own connection) */
	get(4, "msrp://relay.example.com:%d/x;tcp", 2855);
	cr_expect_eq(got_err[4], -EHOSTUNREACH);
	get(5, "msrp://a.invalid:%d/x;ws", 1);
	cr_expect_eq(got_err[5], -EINVAL);
	cr_expect_eq(size_now(), 2);

	/* the server closes the first connection: it leaves the pool, the next get reconnects */
	cr_assert_eq(eng_post(eng_worker_at(e, 0), do_send, (void *)1, 0), 0);
	cr_assert_eq(wait_done(), 0);
	for (int i = 0; i < 200 && pool_closes < 1; i++)
		usleep(5000);
	cr_expect_eq(pool_closes, 1);
	cr_expect_eq(size_now(), 1);
	get(6, "msrp://127.0.0.1:%d/sessA;tcp", port_a);
	cr_assert(got[6], "reconnect failed: %d", got_err[6]);
	cr_expect_eq(size_now(), 2);

	/* hops: the URI's direct hop is the hop (host, port, tcp, no source) */
	get_hop(7, "127.0.0.1", port_a, 0, "");
	cr_expect_eq(got[7], got[6], "the direct hop of a URI and the same hop differ");
	cr_expect_eq(size_now(), 2);
	/* another source address: another connection, and the server sees that address */
	last_peer[0] = '\0';
	get_hop(8, "127.0.0.1", port_a, 0, "127.0.0.2");
	cr_assert(got[8], "error %d", got_err[8]);
	cr_expect_neq(got[8], got[6]);
	cr_expect_eq(size_now(), 3);
	for (int i = 0; i < 200 && !last_peer[0]; i++)
		usleep(5000);
	cr_expect_eq(strncmp(last_peer, "127.0.0.2:", 10), 0, "peer %s", last_peer);
	get_hop(9, "127.0.0.1", port_a, 0, "127.0.0.2");
	cr_expect_eq(got[9], got[8], "the same hop got two connections");
	cr_expect_eq(size_now(), 3);
	/* the source address that cannot be used, TLS without a context, no port */
	get_hop(10, "127.0.0.1", port_a, 0, "192.0.2.1");
	cr_expect_null(got[10]);
	cr_expect_eq(got_err[10], -EADDRNOTAVAIL);
	get_hop(11, "127.0.0.1", port_a, 0, "::1");
	cr_expect_eq(got_err[11], -EAFNOSUPPORT);
	get_hop(12, "127.0.0.1", port_a, 1, "");
	cr_expect_eq(got_err[12], -EPROTONOSUPPORT);
	get_hop(13, "127.0.0.1", 0, 0, "");
	cr_expect_eq(got_err[13], -EINVAL);
	get_hop(14, "", port_a, 0, "");
	cr_expect_eq(got_err[14], -EINVAL);
	cr_expect_eq(size_now(), 3);

	cr_assert_eq(eng_post(eng_worker_at(e, 0), do_free, NULL, 0), 0);
	cr_assert_eq(wait_done(), 0);
	usleep(100000);
	eng_destroy(e);
	msrp_worker_free(mw);
}

Test(msrp_pool, reuse_by_authority_io_uring, .timeout = 30) { reuse(ENG_BACKEND_IO_URING); }
Test(msrp_pool, reuse_by_authority_epoll, .timeout = 30) { reuse(ENG_BACKEND_EPOLL); }

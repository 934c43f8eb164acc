/* test_eng_connect_from.c — eng_connect_from() on both backends: the listener sees the
 * source address asked for; bad, foreign-family and non-local sources are refused. */
#include <criterion/criterion.h>
#include <errno.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "engine/eng.h"
#include "tests/lib/wait.h"

static sem_t ev;
static _Atomic int lport;
static char peer[64];           /* the peer address the listener saw */
static int connect_err = 1;
static int call_rc;
static eng_listener *lst;

static void srv_close(eng_conn *c, int err) { (void)c; (void)err; }
static const struct eng_conn_ops srv_ops = { .on_close = srv_close };

static void on_accept(eng_listener *l, eng_conn *c)
{
	(void)l;
	eng_conn_peer_str(c, peer, sizeof(peer));
	eng_conn_start(c, &srv_ops, NULL);
	eng_close(c);
	sem_post(&ev);
}

static void cli_connect(eng_conn *c, int err)
{
	connect_err = err;
	if (err == 0)
		eng_close(c);
	sem_post(&ev);
}
static void cli_close(eng_conn *c, int err) { (void)c; (void)err; }
static const struct eng_conn_ops cli_ops = { .on_connect = cli_connect, .on_close = cli_close };

static void init(eng_worker *w, void *arg)
{
	int err;
	(void)arg;
	lst = eng_listen(w, "127.0.0.1:0", 0, NULL, on_accept, NULL, &err);
	lport = lst ? eng_listener_port(lst) : -1;
}

static const char *src_asked;
static void do_connect(eng_worker *w, void *arg, uint64_t u)
{
	char hp[32];
	eng_conn *c = NULL;
	(void)arg; (void)u;
	snprintf(hp, sizeof(hp), "127.0.0.1:%d", lport);
	call_rc = eng_connect_from(w, hp, src_asked, NULL, NULL, &cli_ops, NULL, &c);
	sem_post(&ev);
}

static void do_connect6(eng_worker *w, void *arg, uint64_t u)
{
	eng_conn *c = NULL;
	(void)arg; (void)u;
	call_rc = eng_connect_from(w, "[::1]:9", "127.0.0.1", NULL, NULL, &cli_ops, NULL, &c);
	sem_post(&ev);
}

static void do_close_listener(eng_worker *w, void *arg, uint64_t u)
{
	(void)w; (void)arg; (void)u;
	eng_listener_close(lst);
	sem_post(&ev);
}

/* Connects from <src>; returns the call's result (0 when the connection was made). */
static int connect_from(eng_engine *e, const char *src)
{
	src_asked = src;
	peer[0] = '\0';
	connect_err = 1;
	cr_assert_eq(eng_post(eng_worker_at(e, 0), do_connect, NULL, 0), 0);
	cr_assert_eq(sem_wait_ms(&ev, 5000), 0);
	if (call_rc < 0)
		return call_rc;
	/* on_connect and on_accept, in either order */
	cr_assert_eq(sem_wait_ms(&ev, 5000), 0);
	cr_assert_eq(sem_wait_ms(&ev, 5000), 0);
	cr_assert_eq(connect_err, 0);
	return 0;
}

static void run(enum eng_backend be)
{
	struct eng_config cfg;
	char err[200];

	sem_init(&ev, 0, 0);
	lport = 0;
	eng_config_defaults(&cfg);
	cfg.backend = be;
	cfg.workers = 1;
	cfg.pin = 0;
	eng_engine *e = eng_create(&cfg, err, sizeof(err));
	cr_assert(e, "eng_create: %s", err);
	cr_assert_eq(eng_start(e, init, NULL), 0);
	for (int i = 0; i < 400 && !lport; i++)
		usleep(5000);
	cr_assert_gt(lport, 0);

	cr_assert_eq(connect_from(e, "127.0.0.2"), 0);
	cr_expect_eq(strncmp(peer, "127.0.0.2:", 10), 0, "peer %s", peer);
	cr_assert_eq(connect_from(e, "127.0.0.3"), 0);
	cr_expect_eq(strncmp(peer, "127.0.0.3:", 10), 0, "peer %s", peer);
	/* no source: the kernel's choice, which for 127.0.0.1 is 127.0.0.1 */
	cr_assert_eq(connect_from(e, ""), 0);
	cr_expect_eq(strncmp(peer, "127.0.0.1:", 10), 0, "peer %s", peer);
	cr_assert_eq(connect_from(e, NULL), 0);

	cr_expect_eq(connect_from(e, "not-an-ip"), -EINVAL);
	cr_expect_eq(connect_from(e, "127.0.0.1:5"), -EINVAL);
	cr_expect_eq(connect_from(e, "192.0.2.1"), -EADDRNOTAVAIL); /* TEST-NET-1: not ours */
	cr_assert_eq(eng_post(eng_worker_at(e, 0), do_connect6, NULL, 0), 0);
	cr_assert_eq(sem_wait_ms(&ev, 5000), 0);
	cr_expect_eq(call_rc, -EAFNOSUPPORT);

	cr_assert_eq(eng_post(eng_worker_at(e, 0), do_close_listener, NULL, 0), 0);
	cr_assert_eq(sem_wait_ms(&ev, 5000), 0);
	eng_destroy(e);
}

Test(eng_connect_from, source_address_io_uring, .timeout = 30) { run(ENG_BACKEND_IO_URING); }
Test(eng_connect_from, source_address_epoll, .timeout = 30) { run(ENG_BACKEND_EPOLL); }

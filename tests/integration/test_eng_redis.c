/* test_eng_redis.c — the engine's hiredis link (engine/eng_redis.c) against a real
 * redis-server on loopback, on both backends: commands pipelined and answered, AUTH with a
 * password and SELECT of a db before anything else, a wrong password refused (the link
 * dropped and retried, the command behind AUTH never run), the server restarted (down,
 * not up meanwhile, reconnected, up again),
 * and the link freed from inside one of its own callbacks. Run with --jobs 1. */
#include <criterion/criterion.h>
#include <hiredis/hiredis.h>
#include <string.h>
#include <unistd.h>

#include "engine/eng.h"
#include "engine/eng_redis.h"
#include "tests/lib/eng_job.h"
#include "tests/lib/redis_srv.h"

#define N 64

static struct {
	eng_engine *e;
	eng_worker *w;
	struct redis_srv redis;
	struct eng_redis *link;
	int ups, downs;
	int replies, nulls, errors;
	char last[64];
	struct eng_redis_cfg cfg;
	int free_in_cb;
} T;

static void on_up(void *arg) { (void)arg; T.ups++; }
static void on_down(void *arg) { (void)arg; T.downs++; }

static void on_reply(redisAsyncContext *ac, void *r, void *privdata)
{
	redisReply *rep = r;
	(void)ac;
	(void)privdata;
	if (!rep) {
		T.nulls++;
		return;
	}
	T.replies++;
	if (rep->type == REDIS_REPLY_ERROR)
		T.errors++;
	if (rep->type == REDIS_REPLY_STRING || rep->type == REDIS_REPLY_STATUS ||
	    rep->type == REDIS_REPLY_ERROR)
		snprintf(T.last, sizeof(T.last), "%.*s", (int)rep->len, rep->str);
	else if (rep->type == REDIS_REPLY_NIL)
		snprintf(T.last, sizeof(T.last), "(nil)");
	if (T.free_in_cb) {
		T.free_in_cb = 0;
		eng_redis_free(T.link); /* from inside its own handler */
		T.link = NULL;
	}
}

static void job_new(void *arg)
{
	(void)arg;
	T.link = eng_redis_new(T.w, &T.cfg);
}

static void job_free(void *arg)
{
	(void)arg;
	eng_redis_free(T.link);
	T.link = NULL;
}

static int rc_cmd;

static void job_new_get(void *arg)
{
	const char *g[] = { "GET", "k" };
	size_t l[] = { 3, 1 };
	job_new(arg);
	rc_cmd = eng_redis_cmd(T.link, on_reply, NULL, 2, g, l);
}
static const char *const *cmd_argv;
static void job_cmd(void *arg)
{
	int argc = *(int *)arg;
	size_t argl[8];
	for (int i = 0; i < argc; i++)
		argl[i] = strlen(cmd_argv[i]);
	rc_cmd = eng_redis_cmd(T.link, on_reply, NULL, argc, (const char **)cmd_argv, argl);
}

static int replies_at_least(void *arg);

/* Runs the command on the worker; its reply within 3 s (the reply's text into T.last). */
static void cmd(const char *const *argv, int argc)
{
	int want = T.replies + 1;
	cmd_argv = argv;
	cr_assert_eq(eng_job_run(T.w, job_cmd, &argc), 0);
	cr_assert_eq(rc_cmd, 0, "%s not queued", argv[0]);
	cr_assert_eq(eng_job_wait(T.w, replies_at_least, &want, 3000), 0, "%s: no reply",
		     argv[0]);
}

static int is_up(void *arg) { (void)arg; return T.link && eng_redis_up(T.link); }
static int ups_at_least(void *arg) { return T.ups >= *(int *)arg; }
static int replies_at_least(void *arg) { return T.replies >= *(int *)arg; }
static int downs_above(void *arg) { return T.downs > *(int *)arg; }
static int link_gone(void *arg) { (void)arg; return T.link == NULL; }

static void setup_be(enum eng_backend be)
{
	char err[200];
	memset(&T, 0, sizeof(T));
	T.redis.pid = -1;
	if (!redis_srv_available())
		cr_skip_test("no redis-server (Debian package redis-server)");
	T.e = eng_job_engine(be, err, sizeof(err));
	if (!T.e && be == ENG_BACKEND_IO_URING)
		cr_skip_test("io_uring unavailable here: %s", err);
	cr_assert(T.e, "engine: %s", err);
	T.w = eng_worker_at(T.e, 0);
	cr_assert_eq(redis_srv_start(&T.redis, 0), 0, "redis-server did not start");
	T.cfg = (struct eng_redis_cfg){ .host = "127.0.0.1", .port = T.redis.port,
					.what = "test", .up = on_up, .down = on_down };
}

static void setup_epoll(void) { setup_be(ENG_BACKEND_EPOLL); }
static void setup_uring(void) { setup_be(ENG_BACKEND_IO_URING); }

static void teardown(void)
{
	if (T.e && T.link)
		eng_job_run(T.w, job_free, NULL);
	if (T.e)
		eng_destroy(T.e);
	T.e = NULL;
	redis_srv_stop(&T.redis);
}

TestSuite(eng_redis_epoll, .init = setup_epoll, .fini = teardown, .timeout = 30);
TestSuite(eng_redis_uring, .init = setup_uring, .fini = teardown, .timeout = 30);

static void pipelined(void)
{
	cr_assert_eq(eng_job_run(T.w, job_new, NULL), 0);
	cr_assert_not_null(T.link);
	cr_assert_eq(eng_job_wait(T.w, is_up, NULL, 3000), 0, "not connected");
	/* many at once, one write: every reply comes, in order */
	static const char *const inc[] = { "INCR", "eng_redis:n" };
	int two = 2;
	for (int i = 0; i < N; i++) {
		cmd_argv = inc;
		cr_assert_eq(eng_job_run(T.w, job_cmd, &two), 0);
		cr_assert_eq(rc_cmd, 0);
	}
	int n = N;
	cr_assert_eq(eng_job_wait(T.w, replies_at_least, &n, 3000), 0);
	cr_expect_eq(T.replies, N);
	cmd((const char *const[]){ "GET", "eng_redis:n" }, 2);
	cr_expect_str_eq(T.last, "64");
	cr_expect_eq(T.ups, 1);
}

Test(eng_redis_epoll, pipelined_commands) { pipelined(); }
Test(eng_redis_uring, pipelined_commands) { pipelined(); }

/* A password and a db: AUTH and SELECT go first, so the first command already runs in db 3
 * as that user; a wrong password drops the link before anything runs unauthorised. */
static void auth_and_db(void)
{
	cr_assert_eq(redis_srv_cmd(&T.redis, 4, (const char *[]){ "CONFIG", "SET", "requirepass",
								    "s3cret", NULL }), 0);
	T.cfg.password = "s3cret";
	T.cfg.db = 3;
	cr_assert_eq(eng_job_run(T.w, job_new, NULL), 0);
	cmd((const char *const[]){ "SET", "k", "in-db-3" }, 3); /* queued behind AUTH/SELECT */
	cr_expect_str_eq(T.last, "OK");
	cmd((const char *const[]){ "GET", "k" }, 2);
	cr_expect_str_eq(T.last, "in-db-3");
	cr_assert_eq(eng_job_run(T.w, job_free, NULL), 0);
	T.cfg.db = 0;
	cr_assert_eq(eng_job_run(T.w, job_new, NULL), 0);
	cmd((const char *const[]){ "GET", "k" }, 2);
	cr_expect_str_eq(T.last, "(nil)", "db 0 does not have it");
	cr_assert_eq(eng_job_run(T.w, job_free, NULL), 0);

	/* a wrong password: the command behind AUTH gets no answer from Redis, the link goes */
	T.cfg.password = "wrong";
	int downs = T.downs, nulls = T.nulls;
	cr_assert_eq(eng_job_run(T.w, job_new_get, NULL), 0); /* GET queued behind AUTH */
	cr_assert_eq(rc_cmd, 0);
	cr_expect_eq(eng_job_wait(T.w, downs_above, &downs, 3000), 0, "the link did not drop");
	cr_expect(T.nulls > nulls || T.errors > 0, "the GET did not run authorised: rc %d, "
		  "nulls %d, errors %d, replies %d, last %s", rc_cmd, T.nulls, T.errors, T.replies,
		  T.last);
	cr_expect_str_neq(T.last, "in-db-3");
}

Test(eng_redis_epoll, auth_and_select_first) { auth_and_db(); }
Test(eng_redis_uring, auth_and_select_first) { auth_and_db(); }

static void job_is_up(void *arg)
{
	(void)arg;
	rc_cmd = eng_redis_up(T.link);
}

/* The server goes and comes back on the same port: down is told, the link is not up
 * meanwhile, it comes back by itself (up again) and works. */
static void restart(void)
{
	cr_assert_eq(eng_job_run(T.w, job_new, NULL), 0);
	cr_assert_eq(eng_job_wait(T.w, is_up, NULL, 3000), 0, "not connected");
	int port = T.redis.port, zero = 0;
	redis_srv_stop(&T.redis);
	cr_expect_eq(eng_job_wait(T.w, downs_above, &zero, 3000), 0, "no down");
	cr_expect_eq(T.downs, 1);
	cr_expect_eq(eng_job_run(T.w, job_is_up, NULL), 0);
	cr_expect_eq(rc_cmd, 0, "up while the server is gone");
	cr_assert_eq(redis_srv_start(&T.redis, port), 0, "redis-server did not restart");
	int want = 2;
	cr_assert_eq(eng_job_wait(T.w, ups_at_least, &want, 8000), 0, "not reconnected");
	cmd((const char *const[]){ "SET", "back", "yes" }, 3);
	cr_expect_str_eq(T.last, "OK");
}

Test(eng_redis_epoll, reconnects_after_a_restart) { restart(); }
Test(eng_redis_uring, reconnects_after_a_restart) { restart(); }

static void job_two_gets(void *arg)
{
	(void)arg;
	const char *x[] = { "GET", "x" }, *y[] = { "GET", "y" };
	size_t l[] = { 3, 1 };
	eng_redis_cmd(T.link, on_reply, NULL, 2, x, l);
	eng_redis_cmd(T.link, on_reply, NULL, 2, y, l);
}

/* Freed from inside its own reply callback: the rest of the handler must not touch it. */
static void free_in_callback(void)
{
	cr_assert_eq(eng_job_run(T.w, job_new, NULL), 0);
	cr_assert_eq(eng_job_wait(T.w, is_up, NULL, 3000), 0, "not connected");
	T.free_in_cb = 1;
	cr_assert_eq(eng_job_run(T.w, job_two_gets, NULL), 0); /* the second pending then */
	cr_assert_eq(eng_job_wait(T.w, link_gone, NULL, 3000), 0);
	usleep(50000);
	cr_expect_eq(T.replies + T.nulls, 2, "the second got its reply or its NULL");
}

Test(eng_redis_epoll, freed_from_its_own_callback) { free_in_callback(); }
Test(eng_redis_uring, freed_from_its_own_callback) { free_in_callback(); }

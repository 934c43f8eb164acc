/* test_creds_src.c — the credentials chain (msrp/msrp_creds_src.c) against a real
 * redis-server (tests/lib/redis_srv.c) and an HTTP hook (tests/lib/http_srv.c) on
 * 127.0.0.1, on both backends: found and not found in each, bad values, Redis refused,
 * frozen (timeout) and restarted (the link comes back), a slow hook (timeout), hook
 * errors (not cached), the cache (the hook is asked once; ttl 0 asks every time), Redis
 * then the hook, cancellation while pending, and the source freed with lookups pending
 * (from outside and from inside a callback).
 *
 * The source lives on the worker; the test reaches it through jobs (tests/lib/eng_job.h).
 * Redis is started and stopped by pid in each test; every wait is bounded. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine/eng.h"
#include "engine/eng_http.h"
#include "msrp/msrp_creds_src.h"
#include "tests/lib/eng_job.h"
#include "tests/lib/http_srv.h"
#include "tests/lib/redis_srv.h"

#define KEY "rcsgw:relay:ha1"
#define HA1_DAVE "0123456789ABCDEF0123456789abcdef"
#define NLK 8

/* One lookup and what came of it. */
struct lk {
	struct msrp_creds_req req;
	const char *user;
	int sync_rc;               /* msrp_creds_lookup() */
	int calls;
	int rc;                    /* the callback's */
	int inside;                /* the callback ran inside msrp_creds_lookup() */
	int free_in_cb;
	uint8_t ha1[16];
	uint64_t t0, t1;
};

static struct {
	eng_engine *e;
	eng_worker *w;
	struct msrp_creds_src *s;
	struct msrp_creds_src_cfg cfg;
	struct redis_srv redis;
	struct http_srv hook;
	char hook_url[96];
	int in_lookup;
	struct lk l[NLK];
	struct msrp_creds_stats st;
} T;

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void hex16(const char *hex, uint8_t out[16])
{
	for (int i = 0; i < 16; i++) {
		unsigned v;
		sscanf(hex + 2 * i, "%2x", &v);
		out[i] = (uint8_t)v;
	}
}

/* ---- jobs on the worker -------------------------------------------------------------------- */

static void on_answer(struct msrp_creds_req *req, void *arg, int rc, const uint8_t ha1[16])
{
	struct lk *l = arg;

	l->calls++;
	l->rc = rc;
	l->inside |= T.in_lookup || req != &l->req || msrp_creds_pending(req);
	l->t1 = mono_ms();
	if (rc == 0 && ha1)
		memcpy(l->ha1, ha1, 16);
	if (l->free_in_cb) {
		msrp_creds_src_free(T.s);
		T.s = NULL;
	}
}

static void job_new(void *arg)
{
	(void)arg;
	T.s = msrp_creds_src_new(T.w, &T.cfg);
}

static void job_free(void *arg)
{
	(void)arg;
	msrp_creds_src_free(T.s);
	T.s = NULL;
}

static void job_lookup(void *arg)
{
	struct lk *l = arg;

	l->calls = 0;
	l->rc = 1;
	l->t0 = mono_ms();
	T.in_lookup = 1;
	l->sync_rc = msrp_creds_lookup(T.s, (cm_slice){ l->user, strlen(l->user) }, &l->req,
				       on_answer, l, l->ha1);
	T.in_lookup = 0;
}

static void job_lookup_two(void *arg)
{
	job_lookup(arg);
	job_lookup((struct lk *)arg + 1);
}

static void job_cancel(void *arg)
{
	msrp_creds_cancel(&((struct lk *)arg)->req);
}

static void job_stats(void *arg)
{
	(void)arg;
	msrp_creds_src_stats(T.s, &T.st);
}

static int answered(void *arg)
{
	struct lk *l = arg;
	return l->sync_rc != 1 || l->calls > 0;
}

/* Looks <user> up in T.l[<i>] and waits for the answer (sync or callback). Returns the
 * answer: 0 / -errno. */
static int lookup(unsigned i, const char *user, int wait_ms)
{
	struct lk *l = &T.l[i];
	l->user = user;
	cr_assert_eq(eng_job_run(T.w, job_lookup, l), 0);
	cr_assert_eq(eng_job_wait(T.w, answered, l, wait_ms), 0, "%s: no answer in %d ms", user,
		     wait_ms);
	cr_assert_eq(l->inside, 0, "%s: callback inside the lookup", user);
	if (l->sync_rc != 1) {
		cr_assert_eq(l->calls, 0, "%s: answered now and called back", user);
		return l->sync_rc;
	}
	return l->rc;
}

static void stats(void)
{
	cr_assert_eq(eng_job_run(T.w, job_stats, NULL), 0);
}

/* ---- set-up --------------------------------------------------------------------------------- */

static void start_engine(enum eng_backend be)
{
	char err[200];

	T.e = eng_job_engine(be, err, sizeof(err));
	if (!T.e && be == ENG_BACKEND_IO_URING)
		cr_skip_test("io_uring unavailable here: %s", err);
	cr_assert(T.e, "engine: %s", err);
	T.w = eng_worker_at(T.e, 0);
}

static void redis_fill(void)
{
	const char *a[] = { "HSET", KEY, "alice", HTTP_SRV_HA1_ALICE, "dave", HA1_DAVE,
			    "eve", "not-hex", NULL };
	cr_assert_eq(redis_srv_cmd(&T.redis, 8, a), 0);
}

static void need_redis(void)
{
	if (!redis_srv_available())
		cr_skip_test("no redis-server (Debian package redis-server; scripts/deps.sh "
			     "installs it): Redis credential tests skipped");
	cr_assert_eq(redis_srv_start(&T.redis, 0), 0, "redis-server did not start");
	redis_fill();
	T.cfg.redis = T.redis.addr;
}

static void need_hook(void)
{
	cr_assert_eq(http_srv_start(&T.hook), 0, "hook server did not start");
	snprintf(T.hook_url, sizeof(T.hook_url), "%s/creds", T.hook.base);
	T.cfg.hook = T.hook_url;
}

static void create(void)
{
	cr_assert_eq(eng_job_run(T.w, job_new, NULL), 0);
	cr_assert(T.s, "msrp_creds_src_new failed");
}

static void setup_be(enum eng_backend be)
{
	memset(&T, 0, sizeof(T));
	T.redis.pid = -1;
	T.cfg.redis_key = KEY;
	T.cfg.realm = "rcsgw";
	T.cfg.timeout_ms = 400;
	T.cfg.cache_ttl_ms = 60000;
	T.hook.slow_ms = 2000;
	cr_assert_eq(eng_http_global_init(), 0);
	start_engine(be);
}

static void setup_epoll(void) { setup_be(ENG_BACKEND_EPOLL); }
static void setup_uring(void) { setup_be(ENG_BACKEND_IO_URING); }

static void teardown(void)
{
	if (T.e && T.s)
		eng_job_run(T.w, job_free, NULL);
	if (T.e)
		eng_destroy(T.e);
	T.e = NULL;
	redis_srv_stop(&T.redis);
	http_srv_stop(&T.hook);
}

/* ---- Redis ------------------------------------------------------------------------------------ */

static void t_redis_found_and_cached(void)
{
	uint8_t want[16];

	need_redis();
	create();
	hex16(HTTP_SRV_HA1_ALICE, want);
	cr_assert_eq(lookup(0, "alice", 3000), 0);
	cr_assert_eq(T.l[0].sync_rc, 1, "the first answer comes from Redis, later");
	cr_assert_arr_eq(T.l[0].ha1, want, 16);
	/* upper-case hex is taken too */
	hex16(HA1_DAVE, want);
	cr_assert_eq(lookup(1, "dave", 3000), 0);
	cr_assert_arr_eq(T.l[1].ha1, want, 16);
	/* cached now: answered at once, Redis not asked again */
	hex16(HTTP_SRV_HA1_ALICE, want);
	memset(T.l[2].ha1, 0, 16);
	cr_assert_eq(lookup(2, "alice", 1000), 0);
	cr_assert_eq(T.l[2].sync_rc, 0);
	cr_assert_arr_eq(T.l[2].ha1, want, 16);
	stats();
	cr_assert_eq(T.st.redis_asks, 2);
	cr_assert_eq(T.st.cache_hits, 1);
	cr_assert_eq(T.st.redis_fail, 0);
}

static void t_redis_not_found_and_bad_value(void)
{
	need_redis();
	create();
	cr_assert_eq(lookup(0, "nobody", 3000), -ENOENT);
	cr_assert_eq(T.l[0].sync_rc, 1);
	cr_assert_eq(lookup(1, "nobody", 1000), -ENOENT);
	cr_assert_eq(T.l[1].sync_rc, -ENOENT, "not found is cached");
	cr_assert_eq(lookup(2, "eve", 3000), -EIO);
	cr_assert_eq(lookup(3, "eve", 3000), -EIO);
	cr_assert_eq(T.l[3].sync_rc, 1, "failures are not cached");
	stats();
	cr_assert_eq(T.st.not_found, 2);
	cr_assert_eq(T.st.redis_fail, 2);
	cr_assert_eq(T.st.redis_asks, 3);
}

static void t_redis_refused(void)
{
	/* a port where nothing listens */
	cr_assert_eq(redis_srv_start(&T.redis, 0), 0);
	int port = T.redis.port;
	redis_srv_stop(&T.redis);
	snprintf(T.redis.addr, sizeof(T.redis.addr), "127.0.0.1:%d", port);
	T.cfg.redis = T.redis.addr;
	create();
	int rc = lookup(0, "alice", 3000);
	cr_assert_eq(rc, -EIO, "rc %d", rc);
	usleep(50 * 1000);
	rc = lookup(1, "alice", 3000);  /* the link is down (backoff): answered at once */
	cr_assert_eq(rc, -EIO, "rc %d", rc);
	stats();
	cr_assert_geq(T.st.redis_fail, 2);

	/* Redis comes up on that port: the link comes back by itself */
	cr_assert_eq(redis_srv_start(&T.redis, port), 0);
	redis_fill();
	uint64_t until = mono_ms() + 8000;
	do {
		usleep(50 * 1000);
		rc = lookup(2, "alice", 3000);
	} while (rc != 0 && mono_ms() < until);
	cr_assert_eq(rc, 0, "no reconnection to Redis");
}

static void t_redis_frozen_times_out(void)
{
	need_redis();
	create();
	cr_assert_eq(lookup(0, "alice", 3000), 0);   /* the link is up */
	redis_srv_pause(&T.redis, 1);
	cr_assert_eq(lookup(1, "dave", 3000), -ETIMEDOUT);
	uint64_t took = T.l[1].t1 - T.l[1].t0;
	cr_assert(took >= 350 && took < 1500, "timed out after %llu ms",
		  (unsigned long long)took);
	redis_srv_pause(&T.redis, 0);
	/* the link was dropped; a new one answers */
	int rc;
	uint64_t until = mono_ms() + 8000;
	do {
		usleep(50 * 1000);
		rc = lookup(2, "dave", 3000);
	} while (rc != 0 && mono_ms() < until);
	cr_assert_eq(rc, 0);
	stats();
	cr_assert_geq(T.st.redis_fail, 1);
}

#define NMANY 200

static struct lk many[NMANY];
static char many_names[NMANY][16];

static void job_many(void *arg)
{
	(void)arg;
	for (unsigned i = 0; i < NMANY; i++)
		job_lookup(&many[i]);
}

static int many_answered(void *arg)
{
	(void)arg;
	for (unsigned i = 0; i < NMANY; i++)
		if (!answered(&many[i]))
			return 0;
	return 1;
}

/* 200 lookups in flight on one link: half the users exist, every answer is the right one */
static void t_redis_many_at_once(void)
{
	need_redis();
	for (unsigned i = 0; i < NMANY; i += 2) {
		char hex[33];
		snprintf(many_names[i], sizeof(many_names[i]), "user%u", i);
		snprintf(hex, sizeof(hex), "%032x", i);
		const char *a[] = { "HSET", KEY, many_names[i], hex };
		cr_assert_eq(redis_srv_cmd(&T.redis, 4, a), 0);
	}
	for (unsigned i = 1; i < NMANY; i += 2)
		snprintf(many_names[i], sizeof(many_names[i]), "user%u", i);
	create();
	memset(many, 0, sizeof(many));
	for (unsigned i = 0; i < NMANY; i++)
		many[i].user = many_names[i];
	cr_assert_eq(eng_job_run(T.w, job_many, NULL), 0);
	cr_assert_eq(eng_job_wait(T.w, many_answered, NULL, 5000), 0);
	for (unsigned i = 0; i < NMANY; i++) {
		struct lk *l = &many[i];
		cr_assert_eq(l->sync_rc, 1, "%s: %d", l->user, l->sync_rc);
		cr_assert_eq(l->calls, 1);
		cr_assert_eq(l->inside, 0);
		if (i % 2) {
			cr_assert_eq(l->rc, -ENOENT, "%s: %d", l->user, l->rc);
			continue;
		}
		uint8_t want[16] = { 0 };
		want[15] = (uint8_t)i;
		want[14] = (uint8_t)(i >> 8);
		cr_assert_eq(l->rc, 0, "%s: %d", l->user, l->rc);
		cr_assert_arr_eq(l->ha1, want, 16, "%s: wrong HA1", l->user);
	}
	stats();
	cr_assert_eq(T.st.redis_asks, NMANY);
	cr_assert_eq(T.st.not_found, NMANY / 2);
}

/* ---- the hook ---------------------------------------------------------------------------------- */

static void t_hook_found_once(void)
{
	uint8_t want[16];

	need_hook();
	create();
	hex16(HTTP_SRV_HA1_ALICE, want);
	cr_assert_eq(lookup(0, "alice", 3000), 0);
	cr_assert_eq(T.l[0].sync_rc, 1);
	cr_assert_arr_eq(T.l[0].ha1, want, 16);
	cr_assert_str_eq(T.hook.last_realm, "rcsgw");
	cr_assert_eq(lookup(1, "alice", 1000), 0);
	cr_assert_eq(T.l[1].sync_rc, 0);
	cr_assert_arr_eq(T.l[1].ha1, want, 16);
	cr_assert_eq(atomic_load(&T.hook.alice_asks), 1, "the hook was asked again");
	cr_assert_eq(lookup(2, "nobody", 3000), -ENOENT);
	cr_assert_eq(lookup(3, "nobody", 1000), -ENOENT);
	cr_assert_eq(T.l[3].sync_rc, -ENOENT);
	cr_assert_eq(atomic_load(&T.hook.nobody_asks), 1);
	stats();
	cr_assert_eq(T.st.hook_asks, 2);
	cr_assert_eq(T.st.cache_hits, 2);
	cr_assert_eq(T.st.not_found, 2);
}

static void t_hook_no_cache(void)
{
	T.cfg.cache_ttl_ms = 0;
	need_hook();
	create();
	cr_assert_eq(lookup(0, "alice", 3000), 0);
	cr_assert_eq(lookup(1, "alice", 3000), 0);
	cr_assert_eq(T.l[1].sync_rc, 1);
	cr_assert_eq(atomic_load(&T.hook.alice_asks), 2);
}

static void t_hook_slow_and_errors(void)
{
	need_hook();
	create();
	cr_assert_eq(lookup(0, "slow", 3000), -ETIMEDOUT);
	uint64_t took = T.l[0].t1 - T.l[0].t0;
	cr_assert(took >= 350 && took < 1500, "timed out after %llu ms",
		  (unsigned long long)took);
	cr_assert_eq(lookup(1, "err", 3000), -EIO);
	cr_assert_eq(lookup(2, "junk", 3000), -EIO);
	cr_assert_eq(lookup(3, "err", 3000), -EIO);
	cr_assert_eq(T.l[3].sync_rc, 1, "failures are not cached");
	stats();
	cr_assert_eq(T.st.hook_fail, 4);
}

static void t_hook_refused(void)
{
	T.cfg.hook = "http://127.0.0.1:1/creds";
	create();
	cr_assert_eq(lookup(0, "alice", 3000), -EIO);
}

/* ---- the chain --------------------------------------------------------------------------------- */

static void t_redis_then_hook(void)
{
	uint8_t want[16];

	need_redis();
	need_hook();
	create();
	hex16(HTTP_SRV_HA1_CAROL, want);
	cr_assert_eq(lookup(0, "carol", 3000), 0);
	cr_assert_arr_eq(T.l[0].ha1, want, 16);
	cr_assert_eq(lookup(1, "alice", 3000), 0);
	cr_assert_eq(atomic_load(&T.hook.alice_asks), 0, "alice is in Redis");
	cr_assert_eq(lookup(2, "nobody", 3000), -ENOENT);
	stats();
	cr_assert_eq(T.st.redis_asks, 3);
	cr_assert_eq(T.st.hook_asks, 2);

	/* Redis frozen: its failure goes on to the hook, which finds carol... */
	T.cfg.cache_ttl_ms = 0;
	cr_assert_eq(eng_job_run(T.w, job_free, NULL), 0);
	create();
	redis_srv_pause(&T.redis, 1);
	cr_assert_eq(lookup(3, "carol", 3000), 0);
	/* ...but does not know "nobody": the answer is Redis's failure, not -ENOENT */
	redis_srv_pause(&T.redis, 0);
	redis_srv_stop(&T.redis);
	usleep(100 * 1000);
	int rc = lookup(4, "nobody", 3000);
	cr_assert_eq(rc, -EIO, "rc %d", rc);
}

/* ---- cancellation and free -------------------------------------------------------------------- */

static void t_cancel_pending(void)
{
	need_redis();
	need_hook();
	T.hook.slow_ms = 500;
	create();
	cr_assert_eq(lookup(0, "alice", 3000), 0);    /* link up */
	/* pending at the hook */
	T.l[1].user = "slow";
	cr_assert_eq(eng_job_run(T.w, job_lookup, &T.l[1]), 0);
	cr_assert_eq(T.l[1].sync_rc, 1);
	cr_assert_eq(eng_job_run(T.w, job_cancel, &T.l[1]), 0);
	cr_assert_eq(eng_job_run(T.w, job_cancel, &T.l[1]), 0);   /* again: harmless */
	/* pending at a frozen Redis */
	redis_srv_pause(&T.redis, 1);
	T.l[2].user = "dave";
	cr_assert_eq(eng_job_run(T.w, job_lookup, &T.l[2]), 0);
	cr_assert_eq(T.l[2].sync_rc, 1);
	cr_assert_eq(eng_job_run(T.w, job_cancel, &T.l[2]), 0);
	usleep(900 * 1000);
	redis_srv_pause(&T.redis, 0);
	cr_assert_eq(T.l[1].calls, 0, "cancelled hook lookup called back");
	cr_assert_eq(T.l[2].calls, 0, "cancelled Redis lookup called back");
	/* the request may be used again */
	cr_assert_eq(lookup(1, "carol", 3000), 0);
}

static void t_free_with_pending(void)
{
	need_redis();
	need_hook();
	T.hook.slow_ms = 300;
	create();
	cr_assert_eq(lookup(0, "alice", 3000), 0);
	redis_srv_pause(&T.redis, 1);
	T.l[1].user = "dave";      /* waits for the frozen Redis */
	T.l[2].user = "zed";       /* too */
	cr_assert_eq(eng_job_run(T.w, job_lookup, &T.l[1]), 0);
	cr_assert_eq(eng_job_run(T.w, job_lookup, &T.l[2]), 0);
	cr_assert_eq(T.l[1].sync_rc, 1);
	cr_assert_eq(eng_job_run(T.w, job_free, NULL), 0);
	usleep(800 * 1000);
	redis_srv_pause(&T.redis, 0);
	cr_assert_eq(T.l[1].calls + T.l[2].calls, 0, "called back after the free");
}

static void t_free_in_callback(void)
{
	need_hook();
	T.hook.slow_ms = 300;
	create();
	T.l[0].user = "carol";
	T.l[0].free_in_cb = 1;
	T.l[1].user = "slow";
	/* both in one job: carol's answer cannot free the source before slow is asked */
	cr_assert_eq(eng_job_run(T.w, job_lookup_two, T.l), 0);
	cr_assert_eq(T.l[1].sync_rc, 1);
	cr_assert_eq(eng_job_wait(T.w, answered, &T.l[0], 3000), 0);
	cr_assert_eq(T.l[0].rc, 0);
	cr_assert_null(T.s);
	usleep(600 * 1000);
	cr_assert_eq(T.l[1].calls, 0);
}

#define BOTH(name)                                                                         \
	Test(creds_epoll, name, .init = setup_epoll, .fini = teardown, .timeout = 40)     \
	{                                                                                  \
		t_##name();                                                                \
	}                                                                                  \
	Test(creds_uring, name, .init = setup_uring, .fini = teardown, .timeout = 40)     \
	{                                                                                  \
		t_##name();                                                                \
	}

BOTH(redis_found_and_cached)
BOTH(redis_not_found_and_bad_value)
BOTH(redis_refused)
BOTH(redis_frozen_times_out)
BOTH(redis_many_at_once)
BOTH(hook_found_once)
BOTH(hook_no_cache)
BOTH(hook_slow_and_errors)
BOTH(hook_refused)
BOTH(redis_then_hook)
BOTH(cancel_pending)
BOTH(free_with_pending)
BOTH(free_in_callback)

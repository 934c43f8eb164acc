/* test_msrp_creds.c — the credentials cache (msrp/msrp_creds_cache.c: hits, misses, "no
 * such user" answers, expiry, LRU eviction inside a set, names it refuses) and the file
 * path of the source chain (msrp/msrp_creds_src.c with only a credentials file: answers
 * now, never a callback), plus the configurations msrp_creds_src_new refuses. The Redis
 * and hook paths are in tests/integration/test_creds_src.c. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/eng.h"
#include "msrp/msrp_creds_cache.h"
#include "msrp/msrp_creds_src.h"
#include "tests/lib/eng_job.h"

static cm_slice S(const char *s)
{
	return (cm_slice){ s, strlen(s) };
}

static const uint8_t HA1_A[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
static const uint8_t HA1_B[16] = { 0xff, 0xee, 0xdd, 0xcc, 0xbb, 0xaa, 0x99, 0x88,
				   0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0x00 };

/* ---- cache ----------------------------------------------------------------------------------- */

Test(creds_cache, hit_miss_not_found_and_expiry)
{
	struct msrp_creds_cache *c = msrp_creds_cache_new(1000, 100);
	uint8_t h[16];

	cr_assert(c);
	cr_assert_eq(msrp_creds_cache_capacity(c), 1024);
	cr_assert_eq(msrp_creds_cache_get(c, S("alice"), 10, h), -EAGAIN);
	msrp_creds_cache_put(c, S("alice"), 10, HA1_A);
	msrp_creds_cache_put(c, S("bob"), 10, NULL);
	cr_assert_eq(msrp_creds_cache_used(c), 2);
	memset(h, 0, sizeof(h));
	cr_assert_eq(msrp_creds_cache_get(c, S("alice"), 109, h), 0);
	cr_assert_arr_eq(h, HA1_A, 16);
	cr_assert_eq(msrp_creds_cache_get(c, S("bob"), 109, h), -ENOENT);
	cr_assert_eq(msrp_creds_cache_get(c, S("alic"), 50, h), -EAGAIN);
	cr_assert_eq(msrp_creds_cache_get(c, S("alicE"), 50, h), -EAGAIN);
	/* the TTL runs from the put, hits do not extend it */
	cr_assert_eq(msrp_creds_cache_get(c, S("alice"), 110, h), -EAGAIN);
	cr_assert_eq(msrp_creds_cache_get(c, S("bob"), 500, h), -EAGAIN);
	cr_assert_eq(msrp_creds_cache_used(c), 0);
	/* a new answer replaces the old one */
	msrp_creds_cache_put(c, S("alice"), 200, NULL);
	msrp_creds_cache_put(c, S("alice"), 201, HA1_B);
	cr_assert_eq(msrp_creds_cache_used(c), 1);
	cr_assert_eq(msrp_creds_cache_get(c, S("alice"), 202, h), 0);
	cr_assert_arr_eq(h, HA1_B, 16);
	msrp_creds_cache_free(c);
}

Test(creds_cache, lru_inside_a_set)
{
	/* four entries: one set of MSRP_CREDS_CACHE_WAYS */
	struct msrp_creds_cache *c = msrp_creds_cache_new(1, 1000);
	char name[16];
	uint8_t h[16];

	cr_assert(c);
	cr_assert_eq(msrp_creds_cache_capacity(c), MSRP_CREDS_CACHE_WAYS);
	for (int i = 0; i < MSRP_CREDS_CACHE_WAYS; i++) {
		snprintf(name, sizeof(name), "u%d", i);
		msrp_creds_cache_put(c, S(name), 1, HA1_A);
	}
	cr_assert_eq(msrp_creds_cache_get(c, S("u0"), 2, h), 0);  /* u1 is now the oldest */
	msrp_creds_cache_put(c, S("new"), 3, HA1_B);
	cr_assert_eq(msrp_creds_cache_used(c), MSRP_CREDS_CACHE_WAYS);
	cr_assert_eq(msrp_creds_cache_get(c, S("u1"), 4, h), -EAGAIN);
	cr_assert_eq(msrp_creds_cache_get(c, S("u0"), 4, h), 0);
	cr_assert_eq(msrp_creds_cache_get(c, S("new"), 4, h), 0);
	cr_assert_arr_eq(h, HA1_B, 16);
	/* a stale entry goes before any fresh one */
	msrp_creds_cache_put(c, S("u2"), 5, HA1_A);   /* refresh u2 to expire later */
	msrp_creds_cache_put(c, S("late"), 1002, NULL); /* u0, u3, new are stale by now */
	cr_assert_eq(msrp_creds_cache_get(c, S("u2"), 1003, h), 0);
	cr_assert_eq(msrp_creds_cache_get(c, S("late"), 1003, h), -ENOENT);
	msrp_creds_cache_free(c);
}

Test(creds_cache, refused_names_and_arguments)
{
	struct msrp_creds_cache *c = msrp_creds_cache_new(16, 1000);
	char longname[MSRP_AUTH_NAME_MAX + 2];
	uint8_t h[16];

	cr_assert_null(msrp_creds_cache_new(16, 0));
	cr_assert_null(msrp_creds_cache_new(0, 10));
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	msrp_creds_cache_put(c, S(longname), 1, HA1_A);
	msrp_creds_cache_put(c, S(""), 1, HA1_A);
	cr_assert_eq(msrp_creds_cache_used(c), 0);
	cr_assert_eq(msrp_creds_cache_get(c, S(longname), 1, h), -EAGAIN);
	/* the longest name that is kept */
	longname[MSRP_AUTH_NAME_MAX] = '\0';
	msrp_creds_cache_put(c, S(longname), 1, HA1_A);
	cr_assert_eq(msrp_creds_cache_get(c, S(longname), 2, h), 0);
	msrp_creds_cache_free(c);
}

/* ---- the file path of the chain ----------------------------------------------------------- */

static struct msrp_creds creds;
static eng_engine *E;
static char path[64];

static void file_setup(void)
{
	char err[200];
	FILE *f;
	int fd;

	snprintf(path, sizeof(path), "/tmp/rcsgw-creds-XXXXXX");
	fd = mkstemp(path);
	cr_assert(fd >= 0);
	f = fdopen(fd, "w");
	cr_assert(f);
	fprintf(f, "# test\n"
		   "alice:rcsgw:0102030405060708090a0b0c0d0e0f10\n"
		   "bob:other:ffeeddccbbaa99887766554433221100\n");
	fclose(f);
	cr_assert_eq(msrp_creds_load(&creds, path, err, sizeof(err)), 0, "%s", err);
	E = eng_job_engine(ENG_BACKEND_EPOLL, err, sizeof(err));
	cr_assert(E, "%s", err);
}

static void file_teardown(void)
{
	if (E)
		eng_destroy(E);
	E = NULL;
	msrp_creds_free(&creds);
	if (path[0])
		unlink(path);
}

static int called;

static void never(struct msrp_creds_req *req, void *arg, int rc, const uint8_t ha1[16])
{
	(void)req, (void)arg, (void)rc, (void)ha1;
	called++;
}

struct file_run {
	struct msrp_creds_src_cfg cfg;
	int rc_alice, rc_bob, rc_nobody, rc_empty, rc_long;
	uint8_t ha1[16];
	struct msrp_creds_stats st;
	int created;
};

static void job_file(void *arg)
{
	struct file_run *r = arg;
	struct msrp_creds_req req;
	uint8_t other[16];
	char longname[MSRP_AUTH_NAME_MAX + 2];

	memset(&req, 0, sizeof(req));
	struct msrp_creds_src *s = msrp_creds_src_new(eng_self(), &r->cfg);
	r->created = s != NULL;
	if (!s)
		return;
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	r->rc_alice = msrp_creds_lookup(s, S("alice"), &req, never, NULL, r->ha1);
	r->rc_bob = msrp_creds_lookup(s, S("bob"), &req, never, NULL, other);
	r->rc_nobody = msrp_creds_lookup(s, S("nobody"), &req, never, NULL, other);
	r->rc_empty = msrp_creds_lookup(s, S(""), &req, never, NULL, other);
	r->rc_long = msrp_creds_lookup(s, S(longname), &req, never, NULL, other);
	msrp_creds_cancel(&req);   /* not pending: harmless */
	msrp_creds_src_stats(s, &r->st);
	msrp_creds_src_free(s);
}

Test(creds_src, file_only_answers_now, .init = file_setup, .fini = file_teardown)
{
	static const uint8_t want[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
	struct file_run r = { .cfg = { .file = &creds, .realm = "rcsgw", .timeout_ms = 100,
				       .cache_ttl_ms = 1000 } };

	cr_assert_eq(msrp_creds_src_any(&r.cfg), 1);
	cr_assert_eq(eng_job_run(eng_worker_at(E, 0), job_file, &r), 0);
	cr_assert(r.created);
	cr_assert_eq(r.rc_alice, 0);
	cr_assert_arr_eq(r.ha1, want, 16);
	cr_assert_eq(r.rc_bob, -ENOENT, "bob is in another realm");
	cr_assert_eq(r.rc_nobody, -ENOENT);
	cr_assert_eq(r.rc_empty, -ENOENT);
	cr_assert_eq(r.rc_long, -ENOENT);
	cr_assert_eq(r.st.file_hits, 1);
	cr_assert_eq(r.st.not_found, 4);
	cr_assert_eq(r.st.cache_hits + r.st.redis_asks + r.st.hook_asks, 0);
	usleep(50 * 1000);
	cr_assert_eq(called, 0);
}

Test(creds_src, configurations, .init = file_setup, .fini = file_teardown)
{
	struct msrp_creds empty = { 0 };
	struct file_run r = { .cfg = { .file = &empty, .realm = "rcsgw", .timeout_ms = 100 } };

	cr_assert_eq(msrp_creds_src_any(&r.cfg), 0);
	r.cfg.redis = "";
	r.cfg.hook = "";
	cr_assert_eq(msrp_creds_src_any(&r.cfg), 0);
	r.cfg.hook = "http://127.0.0.1:9/creds";
	cr_assert_eq(msrp_creds_src_any(&r.cfg), 1);

	/* no source at all: everyone is unknown */
	r.cfg.hook = NULL;
	cr_assert_eq(eng_job_run(eng_worker_at(E, 0), job_file, &r), 0);
	cr_assert(r.created);
	cr_assert_eq(r.rc_alice, -ENOENT);

	/* refused: Redis that is not host:port, a hook without a timeout */
	r.cfg.redis = "no-port-here";
	cr_assert_eq(eng_job_run(eng_worker_at(E, 0), job_file, &r), 0);
	cr_assert_eq(r.created, 0);
	r.cfg.redis = "127.0.0.1:99999";
	cr_assert_eq(eng_job_run(eng_worker_at(E, 0), job_file, &r), 0);
	cr_assert_eq(r.created, 0);
	r.cfg.redis = NULL;
	r.cfg.hook = "http://127.0.0.1:9/creds";
	r.cfg.timeout_ms = 0;
	cr_assert_eq(eng_job_run(eng_worker_at(E, 0), job_file, &r), 0);
	cr_assert_eq(r.created, 0);
}

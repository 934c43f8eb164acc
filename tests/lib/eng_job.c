/* eng_job.c — test code on an engine worker (eng_job.h). */
#include <criterion/criterion.h>
#include <errno.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "engine/eng.h"
#include "tests/lib/eng_job.h"
#include "tests/lib/redis_srv.h"
#include "tests/lib/wait.h"

struct job {
	void (*fn)(void *arg);
	void *arg;
	sem_t done;
};

static void job_main(eng_worker *w, void *arg, uint64_t u64)
{
	struct job *j = arg;

	(void)w;
	(void)u64;
	j->fn(j->arg);
	sem_post(&j->done);
}

static void nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int eng_job_run(eng_worker *w, void (*fn)(void *arg), void *arg)
{
	struct job j = { .fn = fn, .arg = arg };
	int rc = -1;

	sem_init(&j.done, 0, 0);
	for (int i = 0; i < 100 && rc < 0; i++) {
		rc = eng_post(w, job_main, &j, 0);
		if (rc < 0)
			nap_ms(10);
	}
	if (rc < 0) {
		sem_destroy(&j.done);
		return -1;
	}
	if (sem_wait_ms(&j.done, 10000) < 0) {
		fprintf(stderr, "eng_job: a job did not finish within 10 s\n");
		abort();
	}
	sem_destroy(&j.done);
	return 0;
}

struct check_job {
	int (*check)(void *arg);
	void *arg;
	int ok;
};

static void check_main(void *arg)
{
	struct check_job *c = arg;
	c->ok = c->check(c->arg);
}

int eng_job_wait(eng_worker *w, int (*check)(void *arg), void *arg, int ms)
{
	struct check_job c = { .check = check, .arg = arg };

	for (int waited = 0;; waited += 5) {
		if (eng_job_run(w, check_main, &c) < 0)
			return -1;
		if (c.ok)
			return 0;
		if (waited >= ms)
			return -1;
		nap_ms(5);
	}
}

eng_engine *eng_job_engine(int backend, char *err, size_t errlen)
{
	struct eng_config cfg;

	eng_config_defaults(&cfg);
	cfg.backend = (enum eng_backend)backend;
	cfg.workers = 1;
	cfg.pin = 0;
	cfg.bufs_max = 256;
	cfg.buf_ring_entries = 64;
	cfg.max_conns = 64;
	eng_engine *e = eng_create(&cfg, err, errlen);
	if (!e)
		return NULL;
	if (eng_start(e, NULL, NULL) < 0) {
		snprintf(err, errlen, "eng_start failed");
		eng_destroy(e);
		return NULL;
	}
	return e;
}

eng_engine *eng_job_with_redis(struct redis_srv *r, eng_worker **w)
{
	char err[200];
	r->pid = -1;
	if (!redis_srv_available())
		cr_skip_test("no redis-server (Debian package redis-server)");
	eng_engine *e = eng_job_engine(ENG_BACKEND_EPOLL, err, sizeof(err));
	cr_assert(e, "engine: %s", err);
	*w = eng_worker_at(e, 0);
	cr_assert_eq(redis_srv_start(r, 0), 0, "redis-server did not start");
	return e;
}

/* eng_job.h — running test code on an engine worker, so that the test reads and changes
 * the worker's objects on their own thread, with bounded waits. */
#ifndef TESTS_ENG_JOB_H
#define TESTS_ENG_JOB_H

#include "engine/eng-t.h"

/* Runs <fn>(<arg>) on worker <w> and waits for it. 0, or -1 when the mailbox stays full
 * for a second. A job that does not end within 10 s aborts the test process (its frame
 * is still referenced by the worker). */
int eng_job_run(eng_worker *w, void (*fn)(void *arg), void *arg);

/* Runs <check>(<arg>) on <w> every 5 ms until it returns non-zero (0) or <ms> pass (-1). */
int eng_job_wait(eng_worker *w, int (*check)(void *arg), void *arg, int ms);

/* An engine of one unpinned worker on <backend> (enum eng_backend), started. NULL with
 * <err> filled when it cannot be created (io_uring refused here, for one). */
eng_engine *eng_job_engine(int backend, char *err, size_t errlen);

/* For a criterion test's set-up: the test skipped without redis-server; else an epoll
 * job engine (its worker into *<w>) and redis-server <r> started (asserted). */
struct redis_srv;
eng_engine *eng_job_with_redis(struct redis_srv *r, eng_worker **w);

#endif

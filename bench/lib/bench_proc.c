/* bench_proc.c — shared-port listeners and synchronous signals. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/lib/bench_args.h"
#include "bench/lib/bench_cpu.h"
#include "bench/lib/bench_proc.h"

void bench_listen_init(struct bench_listen *bl, const char *hostport, unsigned nworkers,
		       eng_tls_ctx *tls, eng_accept_fn on_accept, void *udata)
{
	memset(bl, 0, sizeof(*bl));
	bl->hostport = hostport;
	bl->tls = tls;
	bl->on_accept = on_accept;
	bl->udata = udata;
	bl->nworkers = nworkers;
	pthread_mutex_init(&bl->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&bl->cv, &ca);
	pthread_condattr_destroy(&ca);
}

void bench_listen_fini(struct bench_listen *bl)
{
	pthread_cond_destroy(&bl->cv);
	pthread_mutex_destroy(&bl->mu);
}

static struct timespec deadline_in(unsigned ms)
{
	uint64_t t = bench_now_ns() + (uint64_t)ms * 1000000u;
	return (struct timespec){ .tv_sec = (time_t)(t / 1000000000u),
				  .tv_nsec = (long)(t % 1000000000u) };
}

/* Records one worker's outcome and wakes the waiters. Called with <mu> held. */
static void report(struct bench_listen *bl, int err, int port)
{
	if (err < 0 && !bl->err)
		bl->err = err;
	if (port > 0 && !bl->port)
		bl->port = port;
	bl->done++;
	pthread_cond_broadcast(&bl->cv);
}

void bench_listen_worker(struct bench_listen *bl, eng_worker *w)
{
	char hp[80];
	const char *where = bl->hostport;
	int err = 0;

	pthread_mutex_lock(&bl->mu);
	if (eng_worker_index(w) != 0) {
		struct timespec until = deadline_in(5000);
		while (!bl->port && !bl->err &&
		       pthread_cond_timedwait(&bl->cv, &bl->mu, &until) != ETIMEDOUT)
			;
		if (!bl->port) {
			report(bl, bl->err ? bl->err : -ETIMEDOUT, 0);
			pthread_mutex_unlock(&bl->mu);
			return;
		}
		if (bench_with_port(bl->hostport, bl->port, hp, sizeof(hp)) < 0) {
			report(bl, -EINVAL, 0);
			pthread_mutex_unlock(&bl->mu);
			return;
		}
		where = hp;
	}
	pthread_mutex_unlock(&bl->mu);

	eng_listener *l = eng_listen(w, where, ENG_LISTEN_REUSEPORT, bl->tls, bl->on_accept,
				     bl->udata, &err);
	pthread_mutex_lock(&bl->mu);
	if (!l) {
		fprintf(stderr, "worker %u: listen %s: %s\n", eng_worker_index(w), where,
			strerror(-err));
		report(bl, err, 0);
	} else {
		report(bl, 0, eng_listener_port(l));
	}
	pthread_mutex_unlock(&bl->mu);
}

int bench_listen_wait(struct bench_listen *bl, unsigned timeout_ms)
{
	struct timespec until = deadline_in(timeout_ms);
	int rc;

	pthread_mutex_lock(&bl->mu);
	while (bl->done < bl->nworkers &&
	       pthread_cond_timedwait(&bl->cv, &bl->mu, &until) != ETIMEDOUT)
		;
	if (bl->err)
		rc = bl->err;
	else if (bl->done < bl->nworkers)
		rc = -ETIMEDOUT;
	else
		rc = bl->port;
	pthread_mutex_unlock(&bl->mu);
	return rc;
}

void *bench_calloc_lines(size_t n, size_t size)
{
	if (n && size > (SIZE_MAX - 63) / n)
		return NULL;
	size_t bytes = (n * size + 63) & ~(size_t)63;
	void *p = aligned_alloc(64, bytes ? bytes : 64);
	if (p)
		memset(p, 0, bytes ? bytes : 64);
	return p;
}

void bench_signals_block(void)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

int bench_signals_wait_until(uint64_t deadline_ns)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	for (;;) {
		uint64_t now = bench_now_ns();
		if (now >= deadline_ns)
			return 0;
		uint64_t left = deadline_ns - now;
		if (left > 3600ull * 1000000000u)
			left = 3600ull * 1000000000u;
		struct timespec ts = { .tv_sec = (time_t)(left / 1000000000u),
				       .tv_nsec = (long)(left % 1000000000u) };
		int sig = sigtimedwait(&set, NULL, &ts);
		if (sig > 0)
			return sig;
		if (errno != EAGAIN && errno != EINTR)
			return -errno;
	}
}

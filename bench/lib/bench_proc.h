/* bench_proc.h — process plumbing shared by the bench tools: one listener per worker on
 * one port, and signals taken synchronously by the main thread. */
#ifndef BENCH_PROC_H
#define BENCH_PROC_H

#include <pthread.h>
#include <stdint.h>

#include "engine/eng.h"

/* Listening on every worker with SO_REUSEPORT. With port 0 in <hostport> the kernel picks
 * the port for worker 0; the other workers then bind that same port. */
struct bench_listen {
	const char *hostport;
	eng_tls_ctx *tls;
	eng_accept_fn on_accept;
	void *udata;
	unsigned nworkers;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int port;                  /* worker 0's bound port, 0 until known */
	unsigned done;             /* workers that listen (or failed) */
	int err;                   /* first failure, -errno */
};

void bench_listen_init(struct bench_listen *bl, const char *hostport, unsigned nworkers,
		       eng_tls_ctx *tls, eng_accept_fn on_accept, void *udata);
void bench_listen_fini(struct bench_listen *bl);
/* From each worker's init function: listens on <w> (worker 0 first; the others wait up to
 * 5 s for its port). */
void bench_listen_worker(struct bench_listen *bl, eng_worker *w);
/* Main thread: waits up to <timeout_ms> until every worker listens. The port, or -errno
 * (-ETIMEDOUT when a worker never reported). */
int bench_listen_wait(struct bench_listen *bl, unsigned timeout_ms);

/* <n> zeroed elements of <size> bytes aligned on 64 (cache line): for arrays of per-worker
 * structs declared _Alignas(64), which calloc() does not align. free() releases it. */
void *bench_calloc_lines(size_t n, size_t size);

/* Blocks SIGINT and SIGTERM in the calling thread (call before eng_start so that the
 * workers inherit the mask) and ignores SIGPIPE. */
void bench_signals_block(void);
/* Waits for SIGINT / SIGTERM until CLOCK_MONOTONIC reaches <deadline_ns> (UINT64_MAX:
 * forever). The signal number, or 0 at the deadline. */
int bench_signals_wait_until(uint64_t deadline_ns);

#endif

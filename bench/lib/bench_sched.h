/* bench_sched.h — the open-loop schedule of a load generator worker: <n> slots (connections,
 * pairs) share a rate; message k of slot j is due at t0 + (k * n + j) * period, so the load
 * is even over the slots and over time. A timerfd on the worker's ring (armed at the next due
 * time, absolute, but at most every BENCH_SCHED_MIN_TICK_NS) wakes the owner, whose <fire>
 * sends what is due. Messages due within one tick leave together; their stamps stay their
 * scheduled times, so the tick shows in the latency (at most its length), never hides. */
#ifndef BENCH_SCHED_H
#define BENCH_SCHED_H

#include <stdint.h>

#include "engine/eng.h"

#define BENCH_SCHED_MIN_TICK_NS 50000u  /* at most 20 000 wake-ups per second and worker */

struct bench_sched {
	int tfd;                   /* -1 until bench_sched_init */
	eng_poll poll;
	uint64_t t0;               /* schedule origin, CLOCK_MONOTONIC ns */
	uint64_t m_due;            /* messages of this worker due so far */
	double period_ns;          /* between two messages of this worker */
	unsigned n;                /* slots */
	void (*fire)(struct bench_sched *s, uint64_t now); /* send what is due now */
	void *arg;                 /* the owner's */
};

/* <rate> messages/s over <n> slots. 0, or -errno (timerfd). */
int bench_sched_init(struct bench_sched *s, double rate, unsigned n,
		     void (*fire)(struct bench_sched *s, uint64_t now), void *arg);
void bench_sched_fini(struct bench_sched *s);
/* On the worker's thread: the schedule starts at <t0>. 0, or -errno. */
int bench_sched_start(struct bench_sched *s, eng_worker *w, uint64_t t0);

/* Messages of slot <j> due so far. */
static inline uint64_t bench_sched_due(const struct bench_sched *s, unsigned j)
{
	return s->m_due > j ? (s->m_due - j + s->n - 1) / s->n : 0;
}

/* When message <k> of slot <j> is due. */
static inline uint64_t bench_sched_at(const struct bench_sched *s, uint64_t k, unsigned j)
{
	return s->t0 + (uint64_t)((double)(k * s->n + j) * s->period_ns);
}

#endif

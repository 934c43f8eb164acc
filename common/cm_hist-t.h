/* cm_hist-t.h — a latency histogram of fixed buckets, kept by one thread (see cm_hist.h).
 *
 * The bounds are the same for every histogram of the project, in microseconds: 0.5 ms,
 * 1 ms, 2.5 ms, 5 ms, 10 ms, 25 ms, 50 ms, 100 ms, 250 ms, 500 ms, 1 s, 2.5 s, 5 s, 10 s,
 * then +Inf. 128 bytes: plain integers, written by their owner only; another thread reads
 * them through the owner (the /metrics gather), never directly. */
#ifndef CM_HIST_T_H
#define CM_HIST_T_H

#include <stdint.h>

#define CM_HIST_BOUNDS 14          /* finite bounds; bucket[CM_HIST_BOUNDS] is +Inf */

struct cm_hist {
	uint64_t bucket[CM_HIST_BOUNDS + 1]; /* observations per bucket (not cumulative) */
	uint64_t sum_us;                     /* of all observations, microseconds */
};

#endif

/* cm_hist.h — adding to a struct cm_hist (cm_hist-t.h) and reading its bounds.
 *
 * An add is a short walk over the bounds (the usual latencies stop within the first few)
 * and two increments: fit for the message path. Owner's thread only. */
#ifndef CM_HIST_H
#define CM_HIST_H

#include "common/cm_hist-t.h"

/* Bound <i> (0 .. CM_HIST_BOUNDS - 1) in microseconds: an observation of at most this many
 * goes in bucket <i> or an earlier one. */
static inline uint64_t cm_hist_le_us(unsigned i)
{
	static const uint32_t le[CM_HIST_BOUNDS] = {
		500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
		1000000, 2500000, 5000000, 10000000,
	};
	return i < CM_HIST_BOUNDS ? le[i] : UINT64_MAX;
}

/* Counts one observation of <us> microseconds. */
static inline void cm_hist_add(struct cm_hist *h, uint64_t us)
{
	unsigned i = 0;
	while (i < CM_HIST_BOUNDS && us > cm_hist_le_us(i))
		i++;
	h->bucket[i]++;
	h->sum_us += us;
}

/* Observations counted so far. */
static inline uint64_t cm_hist_count(const struct cm_hist *h)
{
	uint64_t n = 0;
	for (unsigned i = 0; i <= CM_HIST_BOUNDS; i++)
		n += h->bucket[i];
	return n;
}

#endif

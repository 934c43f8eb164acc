/* bench_hist.c — log-linear histogram: bucket bounds, merge, percentiles. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench/lib/bench_hist.h"

int bench_hist_init(struct bench_hist *h)
{
	memset(h, 0, sizeof(*h));
	h->counts = calloc(BENCH_HIST_BUCKETS, sizeof(*h->counts));
	if (!h->counts)
		return -ENOMEM;
	h->min = UINT64_MAX;
	return 0;
}

void bench_hist_free(struct bench_hist *h)
{
	free(h->counts);
	h->counts = NULL;
}

void bench_hist_reset(struct bench_hist *h)
{
	memset(h->counts, 0, BENCH_HIST_BUCKETS * sizeof(*h->counts));
	h->total = 0;
	h->sum = 0;
	h->min = UINT64_MAX;
	h->max = 0;
}

/* Inverse of bench_hist_index(): bucket <idx> = shift * HALF + mantissa, where the
 * mantissa lies in [HALF, 2 * HALF) once shift > 0. */
uint64_t bench_hist_lowest(unsigned idx)
{
	if (idx < 2 * BENCH_HIST_HALF)
		return idx;
	unsigned shift = idx / BENCH_HIST_HALF - 1;
	uint64_t mant = idx - shift * BENCH_HIST_HALF;
	return mant << shift;
}

uint64_t bench_hist_highest(unsigned idx)
{
	if (idx < 2 * BENCH_HIST_HALF)
		return idx;
	unsigned shift = idx / BENCH_HIST_HALF - 1;
	return bench_hist_lowest(idx) + ((UINT64_C(1) << shift) - 1);
}

void bench_hist_merge(struct bench_hist *into, const struct bench_hist *from)
{
	if (!from->total)
		return;
	for (unsigned i = 0; i < BENCH_HIST_BUCKETS; i++)
		into->counts[i] += from->counts[i];
	into->total += from->total;
	into->sum += from->sum;
	if (from->min < into->min)
		into->min = from->min;
	if (from->max > into->max)
		into->max = from->max;
}

uint64_t bench_hist_percentile(const struct bench_hist *h, double p)
{
	if (!h->total)
		return 0;
	if (p <= 0)
		return h->min;
	if (p >= 100)
		return h->max;
	uint64_t rank = (uint64_t)ceil(p / 100.0 * (double)h->total);
	if (rank == 0)
		rank = 1;
	uint64_t seen = 0;
	for (unsigned i = 0; i < BENCH_HIST_BUCKETS; i++) {
		seen += h->counts[i];
		if (seen >= rank) {
			uint64_t v = bench_hist_highest(i);
			if (v > h->max)
				v = h->max;
			if (v < h->min)
				v = h->min;
			return v;
		}
	}
	return h->max;
}

double bench_hist_mean(const struct bench_hist *h)
{
	return h->total ? (double)(h->sum / (long double)h->total) : 0.0;
}

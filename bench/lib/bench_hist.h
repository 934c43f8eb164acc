/* bench_hist.h — a log-linear latency histogram (HdrHistogram-like bucketing).
 *
 * Values are unsigned 64-bit (nanoseconds in the tools). Below 2^BENCH_HIST_SUB_BITS every
 * value has its own bucket; above, each power of two is cut into 2^(BENCH_HIST_SUB_BITS-1)
 * equal buckets, so a bucket is at most 1/2^(BENCH_HIST_SUB_BITS-1) of its values wide
 * (0.8 % with 8 bits). Recording is one count-leading-zeros, a shift and an increment:
 * no allocation after bench_hist_init(). One histogram per thread; merge at the end. */
#ifndef BENCH_HIST_H
#define BENCH_HIST_H

#include <stdint.h>

#define BENCH_HIST_SUB_BITS 8                                   /* precision: 2^(8-1) buckets per octave */
#define BENCH_HIST_HALF     (1u << (BENCH_HIST_SUB_BITS - 1))   /* buckets per octave */
#define BENCH_HIST_BUCKETS  ((64 - BENCH_HIST_SUB_BITS + 2) * BENCH_HIST_HALF)

struct bench_hist {
	uint64_t *counts;          /* BENCH_HIST_BUCKETS counters */
	uint64_t total;            /* values recorded */
	uint64_t min, max;         /* exact extremes (min UINT64_MAX while empty) */
	long double sum;           /* for the mean */
};

/* Allocates the counters. 0, or -ENOMEM. */
int bench_hist_init(struct bench_hist *h);
void bench_hist_free(struct bench_hist *h);
void bench_hist_reset(struct bench_hist *h);

/* Bucket of <v>, and the lowest / highest value that bucket holds. */
static inline unsigned bench_hist_index(uint64_t v)
{
	unsigned msb = v ? 63u - (unsigned)__builtin_clzll(v) : 0;
	unsigned shift = msb >= BENCH_HIST_SUB_BITS ? msb - (BENCH_HIST_SUB_BITS - 1) : 0;
	return shift * BENCH_HIST_HALF + (unsigned)(v >> shift);
}
uint64_t bench_hist_lowest(unsigned idx);
uint64_t bench_hist_highest(unsigned idx);

static inline void bench_hist_record_n(struct bench_hist *h, uint64_t v, uint64_t n)
{
	h->counts[bench_hist_index(v)] += n;
	h->total += n;
	h->sum += (long double)v * (long double)n;
	if (v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
}

static inline void bench_hist_record(struct bench_hist *h, uint64_t v)
{
	bench_hist_record_n(h, v, 1);
}

/* Adds <from>'s counts to <into>. */
void bench_hist_merge(struct bench_hist *into, const struct bench_hist *from);

/* The value at percentile <p> (0..100): the highest value of the bucket holding the
 * ceil(p/100 * total)-th smallest value, capped at the exact max (HdrHistogram's
 * "highest equivalent value"). 0 when empty. */
uint64_t bench_hist_percentile(const struct bench_hist *h, double p);
double bench_hist_mean(const struct bench_hist *h);

#endif

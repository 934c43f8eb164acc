/* bench_cpu.h — clocks and CPU accounting for the bench tools.
 *
 * CPU time comes from /proc/<pid>/task/<tid>/schedstat, whose first field is the time the
 * task spent on a CPU in nanoseconds (/proc/<pid>/stat ticks are 10 ms: too coarse for
 * runs of a few seconds). A process's CPU is the sum over its live threads, so a thread
 * that exits inside a measured window takes its share with it: measure long-lived
 * processes (the tools here keep their threads for the whole run). */
#ifndef BENCH_CPU_H
#define BENCH_CPU_H

#include <stdint.h>
#include <sys/types.h>
#include <time.h>

/* CLOCK_MONOTONIC in nanoseconds (the clock the message stamps use). */
static inline uint64_t bench_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* On-CPU nanoseconds of all threads of process <pid> (0: this process), or -errno when
 * the process (or schedstat) cannot be read. */
int64_t bench_cpu_ns(pid_t pid);

/* The machine's CPU time so far from the "cpu" line of /proc/stat, in clock ticks (USER_HZ):
 * <busy> (everything but idle and iowait) and <total>. 0, or -errno. Ticks are 10 ms: good
 * enough over a window of seconds for "how many cores were busy, by anyone". */
int bench_machine_ticks(uint64_t *busy, uint64_t *total);

/* Sleeps until CLOCK_MONOTONIC reaches <deadline_ns> (restarts after signals). */
void bench_sleep_until(uint64_t deadline_ns);

/* On-CPU nanoseconds of the <n> processes <pids>, summed; -errno when one cannot be read,
 * -ENOENT when <n> is 0. */
int64_t bench_cpu_ns_sum(const pid_t *pids, unsigned n);

/* CPU over a measured window: this process, the system under test (a set of processes,
 * summed), one more process (a peer), and the machine as a whole. */
struct bench_meter {
	const pid_t *sut;          /* in: the SUT's processes (<nsut> may be 0) */
	unsigned nsut;
	pid_t peer;                /* in: 0 for none */
	double secs;               /* out: the window's length */
	int64_t gen_ns, sut_ns;    /* out: CPU ns over the window; < 0 unknown */
	double gen_cores, sut_cores, peer_cores, machine_cores; /* out: < 0 unknown */
	int64_t g0, s0, p0;        /* private */
	uint64_t mb0, mt0, t0;
	int m_ok;
};

void bench_meter_begin(struct bench_meter *m);
void bench_meter_end(struct bench_meter *m);
/* Cores kept busy by processes other than the three measured (the noise), >= 0. */
double bench_meter_others(const struct bench_meter *m);

/* Microseconds of CPU per message: <ns> over <msgs>, or -1 when either is unknown or 0. */
static inline double bench_us_per_msg(int64_t ns, uint64_t msgs)
{
	return ns >= 0 && msgs ? (double)ns / 1000.0 / (double)msgs : -1;
}

#endif

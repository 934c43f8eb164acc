/* bench_cpu.c — per-process CPU time from schedstat, monotonic sleeps. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "bench/lib/bench_cpu.h"

/* First field of one schedstat file, or -errno. */
static int64_t task_cpu(const char *path)
{
	FILE *f = fopen(path, "re");
	unsigned long long ns;

	if (!f)
		return -errno;
	int n = fscanf(f, "%llu", &ns);
	fclose(f);
	return n == 1 ? (int64_t)ns : -EIO;
}

int64_t bench_cpu_ns(pid_t pid)
{
	char dir[64], path[128];
	int64_t sum = 0;
	int found = 0;

	if (pid > 0)
		snprintf(dir, sizeof(dir), "/proc/%d/task", (int)pid);
	else
		snprintf(dir, sizeof(dir), "/proc/self/task");
	DIR *d = opendir(dir);
	if (!d)
		return -errno;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "%s/%.20s/schedstat", dir, de->d_name);
		int64_t ns = task_cpu(path);
		if (ns < 0)
			continue; /* the thread just exited */
		sum += ns;
		found = 1;
	}
	closedir(d);
	return found ? sum : -ENOENT;
}

int bench_machine_ticks(uint64_t *busy, uint64_t *total)
{
	FILE *f = fopen("/proc/stat", "re");
	unsigned long long v[10] = { 0 };

	if (!f)
		return -errno;
	int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
		       &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9]);
	fclose(f);
	if (n < 4)
		return -EIO;
	/* user nice system idle iowait irq softirq steal [guest guest_nice: inside user/nice] */
	uint64_t all = 0;
	for (int i = 0; i < 8 && i < n; i++)
		all += v[i];
	*total = all;
	*busy = all - v[3] - v[4];
	return 0;
}

void bench_sleep_until(uint64_t deadline_ns)
{
	struct timespec ts = { .tv_sec = (time_t)(deadline_ns / 1000000000u),
			       .tv_nsec = (long)(deadline_ns % 1000000000u) };
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

int64_t bench_cpu_ns_sum(const pid_t *pids, unsigned n)
{
	int64_t sum = 0;
	for (unsigned i = 0; i < n; i++) {
		int64_t v = bench_cpu_ns(pids[i]);
		if (v < 0)
			return v;
		sum += v;
	}
	return n ? sum : -ENOENT;
}

void bench_meter_begin(struct bench_meter *m)
{
	m->g0 = bench_cpu_ns(0);
	m->s0 = bench_cpu_ns_sum(m->sut, m->nsut);
	m->p0 = m->peer > 0 ? bench_cpu_ns(m->peer) : -1;
	m->m_ok = bench_machine_ticks(&m->mb0, &m->mt0) == 0;
	m->t0 = bench_now_ns();
}

/* CPU seconds per second between <a> and <b> over <ns>, or -1. */
static double cores(int64_t a, int64_t b, uint64_t ns)
{
	return a >= 0 && b >= a && ns ? (double)(b - a) / (double)ns : -1;
}

void bench_meter_end(struct bench_meter *m)
{
	uint64_t t1 = bench_now_ns(), mb1 = 0, mt1 = 0;
	int64_t g1 = bench_cpu_ns(0), s1 = bench_cpu_ns_sum(m->sut, m->nsut);
	int64_t p1 = m->peer > 0 ? bench_cpu_ns(m->peer) : -1;
	uint64_t ns = t1 - m->t0;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	m->secs = (double)ns / 1e9;
	m->gen_ns = m->g0 >= 0 && g1 >= m->g0 ? g1 - m->g0 : -1;
	m->sut_ns = m->s0 >= 0 && s1 >= m->s0 ? s1 - m->s0 : -1;
	m->gen_cores = cores(m->g0, g1, ns);
	m->sut_cores = cores(m->s0, s1, ns);
	m->peer_cores = cores(m->p0, p1, ns);
	m->machine_cores = -1;
	if (m->m_ok && bench_machine_ticks(&mb1, &mt1) == 0 && mt1 > m->mt0 && ncpu > 0)
		m->machine_cores = (double)(mb1 - m->mb0) / (double)(mt1 - m->mt0) * (double)ncpu;
}

double bench_meter_others(const struct bench_meter *m)
{
	double o = m->machine_cores;
	o -= m->gen_cores > 0 ? m->gen_cores : 0;
	o -= m->sut_cores > 0 ? m->sut_cores : 0;
	o -= m->peer_cores > 0 ? m->peer_cores : 0;
	return o > 0 ? o : 0;
}

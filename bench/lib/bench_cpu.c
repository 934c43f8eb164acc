/* bench_cpu.c — per-process CPU time from schedstat, monotonic sleeps. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

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

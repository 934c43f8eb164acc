/* proc.c — see proc.h. */
#include "tests/lib/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

long long proc_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

pid_t proc_spawn(char *const argv[], char *const env_add[], int *out_fd, int *err_fd,
		 void (*pre_exec)(void))
{
	int out[2] = { -1, -1 }, err[2] = { -1, -1 };

	if (out_fd && pipe2(out, O_CLOEXEC) < 0)
		return -1;
	if (err_fd && pipe2(err, O_CLOEXEC) < 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (out_fd)
			dup2(out[1], 1);
		if (err_fd)
			dup2(err[1], 2);
		for (size_t i = 0; env_add && env_add[i]; i++)
			putenv(env_add[i]);
		setpgid(0, 0);
		if (pre_exec)
			pre_exec();
		execv(argv[0], argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	if (out_fd) {
		close(out[1]);
		*out_fd = out[0];
	}
	if (err_fd) {
		close(err[1]);
		*err_fd = err[0];
	}
	return pid;
}

int proc_read_line(int fd, char *buf, size_t len, int timeout_ms)
{
	long long end = proc_now_ms() + timeout_ms;
	size_t n = 0;

	while (n + 1 < len) {
		int left = (int)(end - proc_now_ms());
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (left <= 0 || poll(&p, 1, left) <= 0)
			return -1;
		char ch;
		ssize_t r = read(fd, &ch, 1);
		if (r <= 0)
			return -1;
		if (ch == '\n')
			break;
		buf[n++] = ch;
	}
	buf[n] = '\0';
	return (int)n;
}

size_t proc_read_all(int fd, char *buf, size_t len, int timeout_ms)
{
	long long end = proc_now_ms() + timeout_ms;
	size_t n = 0;

	while (n + 1 < len) {
		int left = (int)(end - proc_now_ms());
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (left <= 0 || poll(&p, 1, left) <= 0)
			break;
		ssize_t r = read(fd, buf + n, len - 1 - n);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	return n;
}

int proc_wait(pid_t pid, int timeout_ms)
{
	long long end = proc_now_ms() + timeout_ms;
	int st;

	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			return st;
		if (r < 0)
			return -1;
		if (proc_now_ms() >= end)
			return -1;
		usleep(5000);
	}
}

int proc_stop(pid_t pid, int sig, int timeout_ms)
{
	if (pid <= 0)
		return -1;
	kill(pid, sig);
	int st = proc_wait(pid, timeout_ms);
	if (st == -1) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	return st;
}

long proc_rss_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

const char *proc_bin(const char *name)
{
	static _Thread_local char path[512];
	const char *b = getenv("RCSGW_BUILD");
	snprintf(path, sizeof(path), "%s/%s", b && *b ? b : "build", name);
	return path;
}

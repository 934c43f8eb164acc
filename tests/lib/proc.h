/* proc.h — child processes for integration tests: spawn with extra environment, read
 * their output lines with a deadline, stop them, look at their memory. */
#ifndef TESTS_PROC_H
#define TESTS_PROC_H

#include <sys/types.h>

/* CLOCK_MONOTONIC in milliseconds: the tests' deadlines. */
long long proc_now_ms(void);

/* Starts <argv> (argv[0] a path) with the test's environment plus <env_add> ("K=V",
 * NULL-terminated, may be NULL). With <out_fd>/<err_fd> non-NULL the child's stdout/stderr
 * are pipes whose read ends are returned there; else they are inherited. <pre_exec>, when
 * not NULL, runs in the child just before exec (e.g. to install a seccomp filter).
 * Returns the pid or -1. */
pid_t proc_spawn(char *const argv[], char *const env_add[], int *out_fd, int *err_fd,
		 void (*pre_exec)(void));

/* Reads one line (without the newline) from <fd> into <buf> within <timeout_ms>.
 * Returns its length, or -1 on EOF/timeout. */
int proc_read_line(int fd, char *buf, size_t len, int timeout_ms);

/* Reads what <fd> has until EOF or <timeout_ms> into <buf> (NUL-terminated). */
size_t proc_read_all(int fd, char *buf, size_t len, int timeout_ms);

/* Sends <sig> and waits up to <timeout_ms> for the exit; then SIGKILL. Returns the exit
 * status as waitpid gives it, or -1 when it had to be killed. */
int proc_stop(pid_t pid, int sig, int timeout_ms);

/* Waits up to <timeout_ms> for <pid> to exit by itself; status as waitpid, -1 on time-out. */
int proc_wait(pid_t pid, int timeout_ms);

/* Resident set size of <pid> in KiB, -1 when unknown. */
long proc_rss_kb(pid_t pid);

/* The path of a built binary: $RCSGW_BUILD/<name> (default build/<name>). */
const char *proc_bin(const char *name);

#endif

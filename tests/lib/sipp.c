/* sipp.c — see sipp.h. */
#include "tests/lib/sipp.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/lib/proc.h"
#include "tests/lib/rcsgw_proc.h"

#define READY_MS 5000                      /* how long a UAS may take to bind */

int sipp_available(void)
{
	const char *dir = sipp_scenario("");

	return access(SIPP_BIN, X_OK) == 0 && access(dir, R_OK | X_OK) == 0;
}

const char *sipp_scenario(const char *name)
{
	static _Thread_local char path[PATH_MAX];
	const char *src = getenv("RCSGW_SRCDIR");

	snprintf(path, sizeof(path), "%s/tests/peers/sipp/%s", src && *src ? src : ".", name);
	return path;
}

/* 0 when a UDP socket can be bound to 127.0.0.1:<port> now, else -errno. */
static int udp_free(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc = 0;

	if (fd < 0)
		return -errno;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

int sipp_free_port(void)
{
	int rc = -EADDRINUSE;

	for (int attempt = 0; attempt < 20; attempt++) {
		int port = free_tcp_port();
		if (port < 0)
			return port;
		rc = udp_free(port);
		if (rc == 0)
			return port;
	}
	return rc;
}

int sipp_logdir_new(char *dir, size_t len)
{
	const char *tmp = getenv("TMPDIR");
	int n = snprintf(dir, len, "%s/rcsgw-sipp.XXXXXX", tmp && *tmp ? tmp : "/tmp");

	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	if (!mkdtemp(dir)) {
		int rc = -errno;
		dir[0] = '\0';
		return rc;
	}
	return 0;
}

void sipp_logdir_remove(const char *dir)
{
	const char *keep = getenv("RCSGW_KEEP_SIPP");
	char path[PATH_MAX];
	DIR *d;

	if (!dir || !dir[0])
		return;
	if (keep && strcmp(keep, "1") == 0) {
		fprintf(stderr, "sipp: logs kept in %s\n", dir);
		return;
	}
	d = opendir(dir);
	if (!d)
		return;
	for (struct dirent *e; (e = readdir(d));) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	if (rmdir(dir) < 0)
		fprintf(stderr, "sipp: log dir %s left behind: %s\n", dir, strerror(errno));
}

/* What the child does before exec: die with the test, work in the log dir, and send its
 * output to the pipe (stderr joins stdout) or to sipp.out. The parent fills this in just
 * before the fork; the child gets its own copy. */
static _Thread_local struct {
	char dir[PATH_MAX];
	int to_pipe;
} child;

static void child_setup(void)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (chdir(child.dir) < 0)
		_exit(126);
	if (!child.to_pipe) {
		int fd = open(SIPP_LOG_OUT, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0)
			_exit(126);
		dup2(fd, 1);
	}
	dup2(1, 2);
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (null >= 0)
		dup2(null, 0);
}

/* Whether process <pid> holds the socket of inode <ino>. */
static int holds_socket(pid_t pid, unsigned long ino)
{
	char path[64], link[64], want[40];
	int found = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	snprintf(want, sizeof(want), "socket:[%lu]", ino);
	DIR *d = opendir(path);
	if (!d)
		return 0;
	for (struct dirent *e; !found && (e = readdir(d));) {
		char fd_path[sizeof(path) + 260];
		snprintf(fd_path, sizeof(fd_path), "%s/%s", path, e->d_name);
		ssize_t n = readlink(fd_path, link, sizeof(link) - 1);
		if (n > 0) {
			link[n] = '\0';
			found = strcmp(link, want) == 0;
		}
	}
	closedir(d);
	return found;
}

/* 1 when /proc/net/<proto> shows a socket of <pid> bound to 127.0.0.1 or 0.0.0.0 port
 * <port> in state <state> (hex: 07 unconnected UDP, 0A listening TCP). */
static int port_bound(pid_t pid, const char *proto, int port, unsigned state)
{
	char path[32], line[512];
	int found = 0;

	snprintf(path, sizeof(path), "/proc/net/%s", proto);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f)) {
		unsigned addr, lport, st;
		unsigned long ino;
		if (sscanf(line, " %*d: %8x:%4x %*x:%*x %2x %*x:%*x %*x:%*x %*x %*u %*u %lu",
			   &addr, &lport, &st, &ino) != 4)
			continue;
		found = (int)lport == port && st == state &&
			(addr == 0 || addr == htonl(INADDR_LOOPBACK)) && holds_socket(pid, ino);
	}
	fclose(f);
	return found;
}

/* Whether <pid> runs sipp already: until its exec, the child holds the test's sockets. */
static int is_sipp(pid_t pid)
{
	char path[64], comm[32] = "";

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	if (!fgets(comm, sizeof(comm), f))
		comm[0] = '\0';
	fclose(f);
	return strcmp(comm, "sipp\n") == 0;
}

/* Waits until the UAS <pid> has its port bound. 0, or -EADDRINUSE / -ECHILD (it exited:
 * could not bind / another reason) or -ETIMEDOUT. */
static int wait_bound(pid_t pid, int port, int tcp)
{
	for (int waited = 0; waited < READY_MS; waited += 10) {
		int st;
		if (waitpid(pid, &st, WNOHANG) == pid)
			return WIFEXITED(st) && WEXITSTATUS(st) == 254 ? -EADDRINUSE : -ECHILD;
		if (is_sipp(pid) && (tcp ? port_bound(pid, "tcp", port, 0x0A) :
					   port_bound(pid, "udp", port, 0x07)))
			return 0;
		usleep(10 * 1000);
	}
	return -ETIMEDOUT;
}

pid_t sipp_start(const char *scenario, const char *remote, int local_port,
		 const char *const *keys, const char *logdir, int *out_fd)
{
	/* the trace sipp writes, the option naming its file, the file */
	static const char *const traces[][3] = {
		{ "-trace_err", "-error_file", SIPP_LOG_ERRORS },
		{ "-trace_logs", "-log_file", SIPP_LOG_ACTIONS },
		{ "-trace_msg", "-message_file", SIPP_LOG_MESSAGES },
		{ "-trace_screen", "-screen_file", SIPP_LOG_SCREEN },
		{ "-trace_calldebug", "-calldebug_file", SIPP_LOG_CALLDEBUG },
	};
	enum { NTRACES = sizeof(traces) / sizeof(traces[0]) };
	char sf[PATH_MAX], ports[16], file[NTRACES][PATH_MAX + 32];
	char *argv[16 + 3 * NTRACES + 3 * SIPP_MAX_PAIRS];
	const char *transport = "u1";
	int n = 0, npairs = 0;

	if (!scenario || !logdir || (!remote && local_port <= 0) || local_port < 0 ||
	    local_port > 65535)
		return -EINVAL;
	if (!realpath(strchr(scenario, '/') ? scenario : sipp_scenario(scenario), sf) ||
	    !realpath(logdir, child.dir))
		return -errno;
	for (; keys && keys[2 * npairs]; npairs++) {
		if (npairs == SIPP_MAX_PAIRS)
			return -E2BIG;
		if (!keys[2 * npairs + 1] || !keys[2 * npairs][0])
			return -EINVAL;
		if (strcmp(keys[2 * npairs], "-t") == 0)
			transport = keys[2 * npairs + 1];
	}
	/* left alone, sipp takes the first free port from 5060 up: one a test may be about to
	 * use */
	if (!local_port && (local_port = sipp_free_port()) < 0)
		return local_port;
	snprintf(ports, sizeof(ports), "%d", local_port);

	argv[n++] = SIPP_BIN;
	argv[n++] = "-sf";
	argv[n++] = sf;
	if (remote)
		argv[n++] = (char *)remote;
	argv[n++] = "-i";
	argv[n++] = "127.0.0.1";
	argv[n++] = "-p";
	argv[n++] = ports;
	argv[n++] = "-m";
	argv[n++] = "1";
	argv[n++] = "-nostdin";
	argv[n++] = "-t";
	argv[n++] = (char *)transport;
	for (int i = 0; i < NTRACES; i++) {
		snprintf(file[i], sizeof(file[i]), "%s/%s", child.dir, traces[i][2]);
		argv[n++] = (char *)traces[i][0];
		argv[n++] = (char *)traces[i][1];
		argv[n++] = file[i];
	}
	for (int i = 0; i < npairs; i++) {
		const char *name = keys[2 * i];
		if (strcmp(name, "-t") == 0)
			continue;
		if (name[0] == '-') {
			argv[n++] = (char *)name;
		} else if (name[0] == '$') {
			argv[n++] = "-set";
			argv[n++] = (char *)name + 1;
		} else {
			argv[n++] = "-key";
			argv[n++] = (char *)name;
		}
		argv[n++] = (char *)keys[2 * i + 1];
	}
	argv[n] = NULL;

	child.to_pipe = out_fd != NULL;
	pid_t pid = proc_spawn(argv, NULL, out_fd, NULL, child_setup);
	if (pid < 0)
		return -EAGAIN;
	if (!remote) {
		int rc = wait_bound(pid, local_port, transport[0] != 'u');
		if (rc < 0) {
			if (rc == -ETIMEDOUT)
				sipp_stop(pid, 1000);
			if (out_fd)
				close(*out_fd);
			return rc;
		}
	}
	return pid;
}

/* rcsgw_stop() waits, and kills what outlives the wait, the way sipp_wait() and
 * sipp_stop() say; signal 0 sends nothing. */
int sipp_wait(pid_t pid, int timeout_ms)
{
	return pid > 0 ? rcsgw_stop(pid, 0, timeout_ms) : -ECHILD;
}

int sipp_stop(pid_t pid, int timeout_ms)
{
	return pid > 0 ? rcsgw_stop(pid, SIGTERM, timeout_ms) : 0;
}

/* Opens <logdir>/<file> for reading, or NULL. */
static FILE *open_log(const char *logdir, const char *file)
{
	char path[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s/%s", logdir, file) >= (int)sizeof(path))
		return NULL;
	return fopen(path, "r");
}

int sipp_log_find(const char *logdir, const char *re, char *out, size_t len)
{
	regex_t rx;
	regmatch_t m[2];
	char line[4096];
	int rc = -ENOENT;

	if (len == 0 || regcomp(&rx, re, REG_EXTENDED) != 0)
		return -EINVAL;
	FILE *f = open_log(logdir, SIPP_LOG_ACTIONS);
	while (f && rc == -ENOENT && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\r\n")] = '\0';
		if (regexec(&rx, line, 2, m, 0) != 0)
			continue;
		regmatch_t *g = rx.re_nsub > 0 && m[1].rm_so >= 0 ? &m[1] : &m[0];
		size_t n = (size_t)(g->rm_eo - g->rm_so);
		if (n >= len) {
			rc = -ENOSPC;
			break;
		}
		memcpy(out, line + g->rm_so, n);
		out[n] = '\0';
		rc = (int)n;
	}
	if (f)
		fclose(f);
	regfree(&rx);
	return rc;
}

int sipp_log_wait(const char *logdir, const char *re, char *out, size_t len, int timeout_ms)
{
	struct timespec start, now;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		int rc = sipp_log_find(logdir, re, out, len);
		if (rc != -ENOENT)
			return rc;
		clock_gettime(CLOCK_MONOTONIC, &now);
		long long ms = (now.tv_sec - start.tv_sec) * 1000LL +
			       (now.tv_nsec - start.tv_nsec) / 1000000;
		if (ms >= timeout_ms)
			return -ETIMEDOUT;
		usleep(10 * 1000);
	}
}

size_t sipp_log_tail(const char *logdir, const char *file, char *buf, size_t len)
{
	size_t n = 0;

	if (len == 0)
		return 0;
	FILE *f = open_log(logdir, file);
	if (f) {
		if (fseek(f, 0, SEEK_END) == 0) {
			long size = ftell(f);
			fseek(f, size > (long)len - 1 ? size - (long)len + 1 : 0, SEEK_SET);
		}
		n = fread(buf, 1, len - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	return n;
}

void sipp_log_report(const char *logdir, const char *who)
{
	static const char *const files[] = { SIPP_LOG_ERRORS, SIPP_LOG_CALLDEBUG,
						     SIPP_LOG_OUT };
	char buf[2048];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (sipp_log_tail(logdir, files[i], buf, sizeof(buf)) > 0)
			fprintf(stderr, "--- %s: %s/%s (end)\n%s\n", who, logdir, files[i], buf);
}

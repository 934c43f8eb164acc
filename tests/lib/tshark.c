/* tshark.c — see tshark.h. */
#include "tests/lib/tshark.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/lib/proc.h"

#define START_MS  5000                     /* dumpcap opening lo */
#define STOP_MS   5000                     /* dumpcap writing out the file */
#define DECODE_MS 20000                    /* tshark reading a test's capture */
#define MAX_RULES 16                       /* -d rules in one extra_decode_as */

int tshark_available(void)
{
	return access(TSHARK_BIN, X_OK) == 0 && access(DUMPCAP_BIN, X_OK) == 0;
}

static long long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void dumpcap_setup(void)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
}

/* A UDP socket of 127.0.0.1 that the stop marker is sent to (and from); its port into
 * c->mark_port. 0 or -errno. */
static int mark_open(struct tshark_cap *c)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);

	c->mark_fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (c->mark_fd < 0)
		return -errno;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(c->mark_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(c->mark_fd, (struct sockaddr *)&sa, &sl) < 0) {
		int rc = -errno;
		close(c->mark_fd);
		c->mark_fd = -1;
		return rc;
	}
	c->mark_port = ntohs(sa.sin_port);
	return 0;
}

static int wait_marker(struct tshark_cap *c, int again_ms);

int tshark_start(struct tshark_cap *c, const char *filter, const char *dir)
{
	char line[512], said[2048] = "", cfilter[2048];
	size_t said_len = 0;
	char *argv[12];
	int n = 0, rc;

	c->pid = -1;
	c->err_fd = -1;
	c->mark_fd = -1;
	if (snprintf(c->dir, sizeof(c->dir), "%s", dir) >= (int)sizeof(c->dir))
		return -ENAMETOOLONG;
	snprintf(c->file, sizeof(c->file), "%s/capture.pcapng", dir);
	unlink(c->file);
	rc = mark_open(c);
	if (rc < 0)
		return rc;
	if (filter && snprintf(cfilter, sizeof(cfilter), "(%s) or (udp dst port %d)", filter,
			       c->mark_port) >= (int)sizeof(cfilter)) {
		tshark_stop(c);
		return -E2BIG;
	}
	argv[n++] = DUMPCAP_BIN;
	argv[n++] = "-i";
	argv[n++] = "lo";
	argv[n++] = "-w";
	argv[n++] = c->file;
	if (filter) {
		argv[n++] = "-f";
		argv[n++] = cfilter;
	}
	argv[n] = NULL;

	c->pid = proc_spawn(argv, NULL, NULL, &c->err_fd, dumpcap_setup);
	if (c->pid < 0) {
		c->pid = -1;
		tshark_stop(c);
		return -EAGAIN;
	}
	/* it reports the open interface on stderr; anything else first is kept for the
	 * error message */
	long long end = now_ms() + START_MS;
	for (;;) {
		long long left = end - now_ms();
		int r = left > 0 ? proc_read_line(c->err_fd, line, sizeof(line), (int)left) : -1;
		if (r < 0)
			break;
		/* "Capturing on" comes before the kernel hands packets over: a first marker in
		 * the file is the proof that what follows is captured */
		if (strstr(line, "Capturing on")) {
			if (wait_marker(c, 100) == 0)
				return 0;
			break;
		}
		said_len += (size_t)snprintf(said + said_len, sizeof(said) - said_len, "%s\n",
					     line);
		if (said_len >= sizeof(said))
			said_len = sizeof(said) - 1;
	}
	int exited = waitpid(c->pid, NULL, WNOHANG) == c->pid;
	if (exited)
		c->pid = -1;
	tshark_stop(c);
	fprintf(stderr, "dumpcap did not start capturing:\n%s", said);
	if (strstr(said, "ermission") || strstr(said, "not permitted"))
		return -EPERM;
	return exited ? -ECHILD : -ETIMEDOUT;
}

/* Whether the capture file holds the <len> bytes of <mark>, looking from *<from> on; moves
 * *<from> past what was looked at (but for a mark's length, which the next look sees
 * again). */
static int file_has(const char *path, const char *mark, size_t len, long *from)
{
	char buf[65536];
	int found = 0;
	FILE *f = fopen(path, "rb");

	if (!f)
		return 0;
	while (!found && fseek(f, *from, SEEK_SET) == 0) {
		size_t n = fread(buf, 1, sizeof(buf), f);
		if (n < len)
			break;
		found = memmem(buf, n, mark, len) != NULL;
		*from += (long)(n - len + 1);
		if (n < sizeof(buf))
			break;
	}
	fclose(f);
	return found;
}

/* Sends a datagram with a unique payload to the marker port and waits until dumpcap has
 * it in the file: dumpcap flushes the file before it reports a packet count on stderr,
 * and lo delivers in order, so all that was sent before it is on disk then. The kernel
 * hands captured packets over in blocks, late: a capture stopped without this loses the
 * last few hundred milliseconds. At the start the capture itself may not be on yet when
 * dumpcap says so (what is sent then is lost): the marker goes again every <again_ms>
 * (0: once) until one is in the file. 0, or -ETIMEDOUT. */
static int wait_marker(struct tshark_cap *c, int again_ms)
{
	static unsigned seq;
	struct sockaddr_in to = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)c->mark_port) };
	char mark[64], junk[512];
	long from = 0;

	/* one text for every datagram of this wait: any one of them in the file will do */
	int len = snprintf(mark, sizeof(mark), "rcsgw-capture-mark-%d-%u-%lld", (int)getpid(),
			   ++seq, now_ms());
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	long long end = now_ms() + STOP_MS, next = 0;
	for (;;) {
		if (now_ms() >= next) {
			if (sendto(c->mark_fd, mark, (size_t)len, 0, (struct sockaddr *)&to,
				   sizeof(to)) < 0)
				return -errno;
			next = again_ms ? now_ms() + again_ms : end;
		}
		if (file_has(c->file, mark, (size_t)len, &from))
			return 0;
		long long left = (next < end ? next : end) - now_ms();
		struct pollfd p = { .fd = c->err_fd, .events = POLLIN };
		if (now_ms() >= end)
			return -ETIMEDOUT;
		if (poll(&p, 1, left > 0 ? (int)left : 0) > 0 &&
		    read(c->err_fd, junk, sizeof(junk)) <= 0)
			return -ETIMEDOUT;
	}
}

int tshark_stop(struct tshark_cap *c)
{
	struct stat st;
	int rc = 0;

	if (c->pid > 0) {
		rc = wait_marker(c, 0);
		kill(c->pid, SIGINT);
		if (proc_wait(c->pid, STOP_MS) == -1) {
			kill(c->pid, SIGKILL);
			waitpid(c->pid, NULL, 0);
			rc = -ETIMEDOUT;
		}
		c->pid = -1;
		if (rc == 0 && stat(c->file, &st) < 0)
			rc = -EIO;
	}
	if (c->err_fd >= 0) {
		close(c->err_fd);
		c->err_fd = -1;
	}
	if (c->mark_fd >= 0) {
		close(c->mark_fd);
		c->mark_fd = -1;
	}
	return rc;
}

/* tshark's stderr (a warning about root, or why it refused a filter) goes to a file of
 * the capture dir; the parent names it just before the fork, the child has its copy. */
static _Thread_local char tshark_err_path[PATH_MAX + 32];

static void tshark_setup(void)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	int fd = open(tshark_err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd >= 0)
		dup2(fd, 2);
}

/* Runs tshark on the capture with the -d rules of <decode> and display filter <filter>;
 * <fields>: one frame number a line, else tshark's summary lines. Counts the lines of its
 * output, and keeps the first <len>-1 bytes in <buf> when <buf> is not NULL. Returns the
 * count or -errno. */
static int decode(struct tshark_cap *c, const char *decode_as, const char *filter, int fields,
		  char *buf, size_t len)
{
	char rules[1024], chunk[4096], dfilter[2048], *save = NULL;
	char *argv[16 + 2 * MAX_RULES];
	int n = 0, lines = 0, out_fd, rc;
	size_t kept = 0;

	if (c->pid > 0)
		return -EBUSY;
	if ((decode_as && snprintf(rules, sizeof(rules), "%s", decode_as) >= (int)sizeof(rules)) ||
	    (filter && strlen(filter) + 64 > sizeof(dfilter)))
		return -E2BIG;
	argv[n++] = TSHARK_BIN;
	argv[n++] = "-r";
	argv[n++] = c->file;
	argv[n++] = "-n";                  /* no name resolution */
	for (char *r = decode_as ? strtok_r(rules, " ", &save) : NULL; r;
	     r = strtok_r(NULL, " ", &save)) {
		if (n >= 4 + 2 * MAX_RULES)
			return -E2BIG;
		argv[n++] = "-d";
		argv[n++] = r;
	}
	/* the stop marker is not the caller's traffic */
	if (filter)
		snprintf(dfilter, sizeof(dfilter), "(%s) && !(udp.dstport == %d)", filter,
			 c->mark_port);
	else
		snprintf(dfilter, sizeof(dfilter), "!(udp.dstport == %d)", c->mark_port);
	argv[n++] = "-Y";
	argv[n++] = dfilter;
	if (fields) {
		argv[n++] = "-T";
		argv[n++] = "fields";
		argv[n++] = "-e";
		argv[n++] = "frame.number";
	}
	argv[n] = NULL;

	snprintf(tshark_err_path, sizeof(tshark_err_path), "%s/tshark.err", c->dir);
	pid_t pid = proc_spawn(argv, NULL, &out_fd, NULL, tshark_setup);
	if (pid < 0)
		return -EAGAIN;
	long long end = now_ms() + DECODE_MS;
	for (;;) {
		long long left = end - now_ms();
		struct pollfd p = { .fd = out_fd, .events = POLLIN };
		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			break;
		ssize_t got = read(out_fd, chunk, sizeof(chunk));
		if (got <= 0)
			break;
		for (ssize_t i = 0; i < got; i++)
			lines += chunk[i] == '\n';
		if (buf && kept + 1 < len) {
			size_t take = (size_t)got < len - 1 - kept ? (size_t)got : len - 1 - kept;
			memcpy(buf + kept, chunk, take);
			kept += take;
		}
	}
	if (buf && len)
		buf[kept] = '\0';
	close(out_fd);
	int st = proc_wait(pid, 1000);
	if (st == -1) {
		proc_stop(pid, SIGKILL, 1000);
		return -ETIMEDOUT;
	}
	rc = WIFEXITED(st) && WEXITSTATUS(st) == 0 ? lines : -EINVAL;
	if (rc < 0) {
		char err[1024] = "";
		FILE *f = fopen(tshark_err_path, "r");
		if (f) {
			err[fread(err, 1, sizeof(err) - 1, f)] = '\0';
			fclose(f);
		}
		fprintf(stderr, "tshark -r %s failed:\n%s\n", c->file, err);
	}
	return rc;
}

int tshark_count(struct tshark_cap *c, const char *extra_decode_as, const char *display_filter)
{
	return decode(c, extra_decode_as, display_filter, 1, NULL, 0);
}

int tshark_summary(struct tshark_cap *c, const char *extra_decode_as,
		   const char *display_filter, char *buf, size_t len)
{
	return decode(c, extra_decode_as, display_filter, 0, buf, len);
}

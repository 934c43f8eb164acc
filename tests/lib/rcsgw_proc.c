/* rcsgw_proc.c — run the daemon, wait for ports, a small blocking HTTP/1.1 client. */
#include "tests/lib/rcsgw_proc.h"

#include "engine/eng.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static long long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int ms_left(long long deadline)
{
	long long d = deadline - mono_ms();
	return d < 0 ? 0 : d > 1000000 ? 1000000 : (int)d;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* ---- the daemon ------------------------------------------------------------------------ */

/* environ with <over> applied: a NULL-terminated array of pointers into environ and <over>
 * (the strings are not copied). */
static char **env_build(const char *const *over)
{
	size_t n = 0, no = 0;
	while (environ && environ[n])
		n++;
	while (over && over[no])
		no++;
	char **env = calloc(n + no + 1, sizeof(*env));
	if (!env)
		return NULL;
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		size_t nl = strcspn(environ[i], "=");
		int replaced = 0;
		for (size_t j = 0; j < no; j++)
			if (strncmp(over[j], environ[i], nl) == 0 && over[j][nl] == '=')
				replaced = 1;
		if (!replaced)
			env[k++] = environ[i];
	}
	for (size_t j = 0; j < no; j++)
		env[k++] = (char *)over[j];
	env[k] = NULL;
	return env;
}

pid_t rcsgw_spawn(const char *const *env_overrides, const char *config_path, int *stderr_fd)
{
	const char *build = getenv("RCSGW_BUILD");
	char bin[4096];
	char *argv[4];
	int errp[2] = { -1, -1 }, efd[2] = { -1, -1 }, devnull = -1, rc;

	for (size_t j = 0; env_overrides && env_overrides[j]; j++)
		if (!strchr(env_overrides[j], '='))
			return -EINVAL;
	snprintf(bin, sizeof(bin), "%s/rcsgw", build && *build ? build : "build");
	argv[0] = bin;
	argv[1] = config_path ? "-c" : NULL;
	argv[2] = (char *)config_path;
	argv[3] = NULL;

	char **env = env_build(env_overrides);
	if (!env)
		return -ENOMEM;
	devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (devnull < 0 || pipe2(errp, O_CLOEXEC) < 0 ||
	    (stderr_fd && pipe2(efd, O_CLOEXEC) < 0)) {
		rc = -errno;
		goto out;
	}
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		rc = -errno;
		goto out;
	}
	if (pid == 0) {
		/* only async-signal-safe calls from here */
		int e;
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		if (dup2(devnull, 0) < 0 || (stderr_fd && dup2(efd[1], 2) < 0)) {
			e = errno;
		} else {
			execve(bin, argv, env);
			e = errno;
		}
		ssize_t w = write(errp[1], &e, sizeof(e));
		(void)w;
		_exit(127);
	}
	/* the exec reports failure through <errp>; success closes it (close-on-exec) */
	close(errp[1]);
	errp[1] = -1;
	int cerr;
	ssize_t got;
	while ((got = read(errp[0], &cerr, sizeof(cerr))) < 0 && errno == EINTR)
		;
	if (got == (ssize_t)sizeof(cerr)) {
		waitpid(pid, NULL, 0);
		rc = -cerr;
		goto out;
	}
	if (stderr_fd) {
		*stderr_fd = efd[0];
		efd[0] = -1;
	}
	rc = pid;
out:
	for (int i = 0; i < 2; i++) {
		if (errp[i] >= 0)
			close(errp[i]);
		if (efd[i] >= 0)
			close(efd[i]);
	}
	if (devnull >= 0)
		close(devnull);
	free(env);
	return rc;
}

static int exit_code(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return -EINVAL;
}

int rcsgw_stop(pid_t pid, int sig, int timeout_ms)
{
	long long deadline = mono_ms() + timeout_ms;
	int st;

	if (pid <= 0)
		return -EINVAL;
	if (kill(pid, sig) < 0 && errno != ESRCH)
		return -errno;
	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			return exit_code(st);
		if (r < 0 && errno != EINTR)
			return -errno;
		if (mono_ms() >= deadline)
			break;
		sleep_ms(10);
	}
	kill(pid, SIGKILL);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return -ETIMEDOUT;
}

/* ---- sockets ------------------------------------------------------------------------------ */

/* <host>:<port> (numeric) as a socket address, by the engine's own parser. */
static int sockaddr_of(const char *host, int port, struct sockaddr_storage *ss, socklen_t *len)
{
	char hp[INET6_ADDRSTRLEN + 16];

	if (port < 0 || port > 65535)
		return -EINVAL;
	snprintf(hp, sizeof(hp), strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, port);
	return eng_parse_hostport(hp, ss, len);
}

/* A non-blocking socket connected to <host>:<port> within <deadline>, or -errno. */
static int connect_by(const char *host, int port, long long deadline)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int rc = sockaddr_of(host, port, &ss, &len);

	if (rc < 0)
		return rc;
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&ss, len) < 0) {
		if (errno != EINPROGRESS) {
			rc = -errno;
			close(fd);
			return rc;
		}
		struct pollfd p = { fd, POLLOUT, 0 };
		int n;
		while ((n = poll(&p, 1, ms_left(deadline))) < 0 && errno == EINTR)
			;
		int soerr = 0;
		socklen_t sl = sizeof(soerr);
		if (n == 0) {
			close(fd);
			return -ETIMEDOUT;
		}
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
		if (n < 0 || soerr) {
			close(fd);
			return n < 0 ? -EIO : -soerr;
		}
	}
	return fd;
}

int wait_port(const char *host, int port, int timeout_ms)
{
	long long deadline = mono_ms() + timeout_ms;

	for (;;) {
		int fd = connect_by(host, port, deadline);
		if (fd >= 0) {
			close(fd);
			return 0;
		}
		if (fd == -EINVAL)
			return fd;
		if (mono_ms() >= deadline)
			return -ETIMEDOUT;
		sleep_ms(10);
	}
}

int free_tcp_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = 0 };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), rc;

	if (fd < 0)
		return -errno;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
		rc = -errno;
	else
		rc = ntohs(sa.sin_port);
	close(fd);
	return rc;
}

/* ---- HTTP client -------------------------------------------------------------------------- */

struct buf {
	char *p;
	size_t len, cap;
};

static int buf_add(struct buf *b, const void *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *np = realloc(b->p, cap);
		if (!np)
			return -ENOMEM;
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

/* Sends <n> bytes of <p> by <deadline>. 1 when the peer started answering before all was
 * sent (the rest is left), 0 when all was sent, -errno. */
static int send_all(int fd, const char *p, size_t n, long long deadline, int stop_on_answer)
{
	while (n) {
		struct pollfd pf = { fd, POLLOUT | (stop_on_answer ? POLLIN : 0), 0 };
		int r = poll(&pf, 1, ms_left(deadline));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -ETIMEDOUT;
		if (stop_on_answer && (pf.revents & (POLLIN | POLLHUP | POLLERR)))
			return 1;
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			if (errno == EPIPE || errno == ECONNRESET)
				return 1; /* the peer gave up on us: its answer may be there */
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Decodes a chunked body of <n> bytes at <p> into <out>. 0, or -EPROTO. */
static int dechunk(const char *p, size_t n, struct buf *out)
{
	const char *end = p + n;

	for (;;) {
		char *e;
		const char *crlf = memmem(p, (size_t)(end - p), "\r\n", 2);
		if (!crlf)
			return -EPROTO;
		unsigned long sz = strtoul(p, &e, 16);
		if (e == p)
			return -EPROTO;
		p = crlf + 2;
		if (sz == 0)
			return 0; /* trailers ignored */
		if ((size_t)(end - p) < sz + 2)
			return -EPROTO;
		if (buf_add(out, p, sz) < 0)
			return -ENOMEM;
		p += sz + 2;
	}
}

char *http_header(const char *h, const char *name)
{
	size_t nl = strlen(name);

	while (h && *h) {
		const char *eol = strstr(h, "\r\n");
		size_t ll = eol ? (size_t)(eol - h) : strlen(h);
		if (ll > nl && strncasecmp(h, name, nl) == 0 && h[nl] == ':') {
			const char *v = h + nl + 1, *ve = h + ll;
			while (v < ve && (*v == ' ' || *v == '\t'))
				v++;
			while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
				ve--;
			char *s = malloc((size_t)(ve - v) + 1);
			if (s) {
				memcpy(s, v, (size_t)(ve - v));
				s[ve - v] = '\0';
			}
			return s;
		}
		h = eol ? eol + 2 : NULL;
	}
	return NULL;
}

/* Parses the answer in <in>; see http_request. */
static int parse_answer(const struct buf *in, int head_only, int *status, char **resp_headers,
			char **resp_body)
{
	const char *p = in->p, *end = in->p + in->len;
	int st;

	for (;;) {
		const char *he = memmem(p, (size_t)(end - p), "\r\n\r\n", 4);
		if (!he || sscanf(p, "HTTP/1.%*d %d", &st) != 1)
			return -EPROTO;
		const char *hs = (const char *)memchr(p, '\n', (size_t)(he - p) + 2) + 1;
		if (st >= 100 && st < 200) { /* 100 Continue and friends */
			p = he + 4;
			continue;
		}
		struct buf hb = { 0 }, bb = { 0 };
		size_t hl = (size_t)(he + 2 - hs);
		if (buf_add(&hb, hs, hl) < 0 || buf_add(&bb, "", 0) < 0) {
			free(hb.p);
			free(bb.p);
			return -ENOMEM;
		}
		const char *body = he + 4;
		size_t blen = (size_t)(end - body);
		char *te = http_header(hb.p, "Transfer-Encoding");
		char *cl = http_header(hb.p, "Content-Length");
		int rc = 0;
		if (head_only || st == 204 || st == 304) {
			/* no body */
		} else if (te && strcasecmp(te, "chunked") == 0) {
			rc = dechunk(body, blen, &bb);
		} else if (cl) {
			unsigned long long want = strtoull(cl, NULL, 10);
			if (want > blen)
				rc = -EPROTO;
			else
				rc = buf_add(&bb, body, (size_t)want);
		} else {
			rc = buf_add(&bb, body, blen);
		}
		free(te);
		free(cl);
		if (rc < 0) {
			free(hb.p);
			free(bb.p);
			return rc;
		}
		*status = st;
		if (resp_headers)
			*resp_headers = hb.p;
		else
			free(hb.p);
		if (resp_body)
			*resp_body = bb.p;
		else
			free(bb.p);
		return 0;
	}
}

int http_request_len(const char *host, int port, const char *method, const char *path,
		     const char *headers, const char *body, size_t body_len, int *status,
		     char **resp_headers, char **resp_body, int timeout_ms)
{
	long long deadline = mono_ms() + timeout_ms;
	struct buf req = { 0 }, in = { 0 };
	char line[512];
	int rc, fd;

	if (resp_headers)
		*resp_headers = NULL;
	if (resp_body)
		*resp_body = NULL;
	*status = 0;
	int chunked = headers && strcasestr(headers, "Transfer-Encoding:") != NULL;
	int v6 = strchr(host, ':') != NULL;
	snprintf(line, sizeof(line), "%s %s HTTP/1.1\r\nHost: %s%s%s:%d\r\nConnection: close\r\n",
		 method, path, v6 ? "[" : "", host, v6 ? "]" : "", port);
	rc = buf_add(&req, line, strlen(line));
	if (!rc && headers && *headers) {
		size_t hl = strlen(headers);
		rc = buf_add(&req, headers, hl);
		if (!rc && (hl < 2 || strcmp(headers + hl - 2, "\r\n") != 0))
			rc = buf_add(&req, "\r\n", 2);
	}
	if (!rc && body && !chunked) {
		snprintf(line, sizeof(line), "Content-Length: %zu\r\n", body_len);
		rc = buf_add(&req, line, strlen(line));
	}
	if (!rc)
		rc = buf_add(&req, "\r\n", 2);
	if (rc < 0)
		goto out;

	fd = connect_by(host, port, deadline);
	if (fd < 0) {
		rc = fd;
		goto out;
	}
	rc = send_all(fd, req.p, req.len, deadline, 0);
	if (rc == 0 && body && body_len)
		rc = send_all(fd, body, body_len, deadline, 1);
	if (rc < 0) {
		close(fd);
		goto out;
	}
	/* read until the server closes (Connection: close) */
	for (;;) {
		char chunk[16384];
		struct pollfd pf = { fd, POLLIN, 0 };
		int r = poll(&pf, 1, ms_left(deadline));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			rc = r == 0 ? -ETIMEDOUT : -errno;
			break;
		}
		ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0 && errno == ECONNRESET && in.len) {
			n = 0; /* reset after an answer (body we did not send): keep the answer */
		}
		if (n < 0) {
			rc = -errno;
			break;
		}
		if (n == 0) {
			rc = 0;
			break;
		}
		if ((rc = buf_add(&in, chunk, (size_t)n)) < 0)
			break;
	}
	close(fd);
	if (rc == 0)
		rc = in.len ? parse_answer(&in, strcmp(method, "HEAD") == 0, status, resp_headers,
					   resp_body)
			    : -ECONNRESET;
out:
	free(req.p);
	free(in.p);
	return rc;
}

int http_request(const char *host, int port, const char *method, const char *path,
		 const char *headers, const char *body, int *status, char **resp_headers,
		 char **resp_body, int timeout_ms)
{
	return http_request_len(host, port, method, path, headers, body, body ? strlen(body) : 0,
				status, resp_headers, resp_body, timeout_ms);
}

/* 1 when each name="value" pair of <want> (comma-separated) is in the label set <set>
 * (between the braces of a sample, <len> bytes). */
static int labels_have(const char *set, size_t len, const char *want)
{
	char have[1024], pair[256];
	if (len + 3 > sizeof(have))
		return 0;
	snprintf(have, sizeof(have), ",%.*s,", (int)len, set);
	while (*want) {
		size_t n = strcspn(want, ",");
		if (n + 3 > sizeof(pair))
			return 0;
		snprintf(pair, sizeof(pair), ",%.*s,", (int)n, want);
		if (!strstr(have, pair))
			return 0;
		want += n + (want[n] == ',');
	}
	return 1;
}

double http_metric_sum_where(int port, const char *headers, const char *name,
			     const char *labels)
{
	char *body = NULL;
	int st = 0;
	double sum = 0;
	size_t nl = strlen(name);
	if (http_request("127.0.0.1", port, "GET", "/metrics", headers, NULL, &st, NULL, &body,
			 5000) < 0 || st != 200) {
		free(body);
		return -1;
	}
	for (const char *p = body; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (strncmp(p, name, nl) || (p[nl] != '{' && p[nl] != ' '))
			continue;
		const char *v = p[nl] == '{' ? strchr(p, '}') : p + nl;
		if (!v)
			continue;
		if (labels && (p[nl] != '{' || !labels_have(p + nl + 1, (size_t)(v - p - nl - 1),
							     labels)))
			continue;
		sum += strtod(v + 1 + (*v == '}'), NULL);
	}
	free(body);
	return sum;
}

double http_metric_sum(int port, const char *headers, const char *name)
{
	return http_metric_sum_where(port, headers, name, NULL);
}

/* rcsgw_proc.h — helpers for integration tests: run the real daemon, wait for its ports,
 * talk HTTP/1.1 to it with a small blocking client.
 *
 * Every wait is bounded by a timeout. Return convention: 0 (or a value) on success, -errno
 * on failure (-ETIMEDOUT when a timeout passed). */
#ifndef RCSGW_PROC_H
#define RCSGW_PROC_H

#include <stddef.h>
#include <sys/types.h>

/* Starts "$RCSGW_BUILD/rcsgw" (RCSGW_BUILD defaults to "build") with "-c <config_path>"
 * when <config_path> is not NULL, in the test's environment plus <env_overrides> (NULL or a
 * NULL-terminated list of "NAME=value"; "NAME=" sets an empty value). stdin is /dev/null.
 * When <stderr_fd> is not NULL the daemon's stderr goes to a pipe whose read end (close-on-
 * exec) is stored there, else it is inherited. The daemon gets SIGKILL if the test process
 * dies. Returns the pid, or -errno. */
pid_t rcsgw_spawn(const char *const *env_overrides, const char *config_path, int *stderr_fd);

/* Sends <sig> to <pid> and waits up to <timeout_ms> for it to exit; past that, SIGKILL and
 * reap. Returns the exit status (0..255), 128 + n when killed by signal n (as a shell says
 * it), or -ETIMEDOUT (it needed the SIGKILL), or -errno. */
int rcsgw_stop(pid_t pid, int sig, int timeout_ms);

/* Waits until a TCP connect to <host>:<port> (numeric IPv4 or IPv6) succeeds. 0 or
 * -ETIMEDOUT. */
int wait_port(const char *host, int port, int timeout_ms);

/* A TCP port of 127.0.0.1 that was free a moment ago (bound to port 0, then closed). Prefer
 * port 0 where the server can report what it bound. -errno on failure. */
int free_tcp_port(void);

/* One HTTP/1.1 request with "Connection: close" to <host>:<port>: "<method> <path>", the
 * Host header, then <headers> (NULL or "Name: value\r\n" lines; a missing final CRLF is
 * added), then Content-Length and <body> when <body> is not NULL (unless <headers> has a
 * Transfer-Encoding, in which case <body> is sent as it is). The whole exchange is bounded
 * by <timeout_ms>. When the server answers before taking the whole body (a 413), the rest
 * is not sent and the answer is read.
 * On 0: *<status> is the status code; *<resp_headers> (may be NULL) the header block after
 * the status line, NUL-terminated; *<resp_body> (may be NULL) the body (chunked decoded),
 * NUL-terminated. Both are malloc'ed: the caller frees them. */
int http_request(const char *host, int port, const char *method, const char *path,
		 const char *headers, const char *body, int *status, char **resp_headers,
		 char **resp_body, int timeout_ms);

/* Same, with a body of <body_len> bytes (may hold NULs); <body_len> of 0 with a NULL <body>
 * sends none. */
int http_request_len(const char *host, int port, const char *method, const char *path,
		     const char *headers, const char *body, size_t body_len, int *status,
		     char **resp_headers, char **resp_body, int timeout_ms);

/* The sum of the samples of metric <name> (every label set, or the one without labels) in
 * GET /metrics of the API at 127.0.0.1:<port>, sent with <headers> (NULL or an
 * Authorization line). -1 when /metrics did not answer. */
double http_metric_sum(int port, const char *headers, const char *name);
/* The same over the samples whose labels include each pair of <labels>
 * ('direction="in",method="SEND"'; NULL: every sample). */
double http_metric_sum_where(int port, const char *headers, const char *name,
			     const char *labels);

/* The value of header <name> (case-insensitive) in a header block from http_request, as a
 * malloc'ed string without surrounding blanks, or NULL. */
char *http_header(const char *resp_headers, const char *name);

#endif

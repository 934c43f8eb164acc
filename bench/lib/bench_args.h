/* bench_args.h — command-line value parsing shared by the bench tools.
 *
 * Every parser returns 0, or -EINVAL with *<out> untouched; the caller prints its usage. */
#ifndef BENCH_ARGS_H
#define BENCH_ARGS_H

#include <stddef.h>
#include <stdint.h>

#include "engine/eng-t.h"

/* An unsigned integer with an optional suffix: k, m, g (×1000 each when <binary> is 0,
 * ×1024 each when it is 1: "64k" bytes = 65536). Range [<min>, <max>]. */
int bench_parse_u64(const char *s, int binary, uint64_t min, uint64_t max, uint64_t *out);

/* Seconds as a decimal ("10", "0.5") or with a unit ("250ms", "2s"), in nanoseconds. */
int bench_parse_duration(const char *s, uint64_t *out_ns);

/* "auto", "io_uring" (or "uring") or "epoll". */
int bench_parse_backend(const char *s, enum eng_backend *out);

/* Checks that <s> is a numeric host:port the engine accepts. */
int bench_check_hostport(const char *s);

/* <hostport> with its port replaced by <port>, into <buf> ("127.0.0.1:0" → "127.0.0.1:4242",
 * "[::1]:0" → "[::1]:4242"). */
int bench_with_port(const char *hostport, int port, char *buf, size_t len);

/* A process id (1 .. 2^30) into *(pid_t *)<dst>. 0, or -EINVAL. */
int bench_parse_pid(const char *s, void *dst);

/* Table-driven command line: each entry names a long option and where its value goes. */
enum bench_opt_kind {
	BENCH_OPT_FLAG,            /* no value: *(int *)dst = 1 */
	BENCH_OPT_UNFLAG,          /* no value: *(int *)dst = 0 */
	BENCH_OPT_STR,             /* *(const char **)dst = the argument */
	BENCH_OPT_HOSTPORT,        /* the same, checked by bench_check_hostport */
	BENCH_OPT_U64,             /* *(uint64_t *)dst in [min, max], k/m/g = x1000 */
	BENCH_OPT_BYTES,           /* the same with k/m/g = x1024 */
	BENCH_OPT_DURATION,        /* *(uint64_t *)dst in ns, in [min, max] */
	BENCH_OPT_BACKEND,         /* *(enum eng_backend *)dst */
	BENCH_OPT_FN,              /* fn(argument, dst): 0, or < 0 for a bad value */
};

struct bench_opt {
	const char *name;
	enum bench_opt_kind kind;
	void *dst;
	uint64_t min, max;
	int (*fn)(const char *arg, void *dst);
};

/* Parses argv[1..] (argv[0] is the mode) against the <n> entries of <opts>; "--help" is
 * always known. 0 when done, 1 when --help was asked, 2 on a bad option or value (a message
 * naming it on stderr, prefixed with <prog>). Values that are not given are left alone. */
int bench_opts_parse(const char *prog, int argc, char **argv, const struct bench_opt *opts,
		     unsigned n);

#endif

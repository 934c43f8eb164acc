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

#endif

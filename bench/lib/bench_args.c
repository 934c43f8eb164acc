/* bench_args.c — command-line value parsing. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>
#include <netinet/in.h>

#include "bench/lib/bench_args.h"
#include "engine/eng.h"

int bench_parse_u64(const char *s, int binary, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	uint64_t mult = 1, k = binary ? 1024 : 1000;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	switch (*end) {
	case '\0':
		break;
	case 'k': case 'K':
		mult = k;
		end++;
		break;
	case 'm': case 'M':
		mult = k * k;
		end++;
		break;
	case 'g': case 'G':
		mult = k * k * k;
		end++;
		break;
	default:
		return -EINVAL;
	}
	if (*end != '\0' || (v && mult > UINT64_MAX / v))
		return -EINVAL;
	uint64_t r = (uint64_t)v * mult;
	if (r < min || r > max)
		return -EINVAL;
	*out = r;
	return 0;
}

int bench_parse_duration(const char *s, uint64_t *out_ns)
{
	char *end;
	double scale = 1e9;

	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || !isfinite(v) || v < 0)
		return -EINVAL;
	if (strcmp(end, "ms") == 0)
		scale = 1e6;
	else if (strcmp(end, "us") == 0)
		scale = 1e3;
	else if (*end && strcmp(end, "s") != 0)
		return -EINVAL;
	if (v * scale > 1e15) /* about 11 days: surely a typo */
		return -EINVAL;
	*out_ns = (uint64_t)(v * scale);
	return 0;
}

int bench_parse_backend(const char *s, enum eng_backend *out)
{
	if (strcasecmp(s, "auto") == 0)
		*out = ENG_BACKEND_AUTO;
	else if (strcasecmp(s, "io_uring") == 0 || strcasecmp(s, "uring") == 0)
		*out = ENG_BACKEND_IO_URING;
	else if (strcasecmp(s, "epoll") == 0)
		*out = ENG_BACKEND_EPOLL;
	else
		return -EINVAL;
	return 0;
}

int bench_check_hostport(const char *s)
{
	struct sockaddr_storage ss;
	socklen_t len;
	return eng_parse_hostport(s, &ss, &len);
}

int bench_with_port(const char *hostport, int port, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl;

	if (port < 0 || port > 65535 || eng_parse_hostport(hostport, &ss, &sl) < 0)
		return -EINVAL;
	if (ss.ss_family == AF_INET)
		((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
	else
		((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
	eng_sockaddr_str(&ss, buf, len);
	return 0;
}

int bench_parse_pid(const char *s, void *dst)
{
	uint64_t v;
	if (bench_parse_u64(s, 0, 1, 1u << 30, &v) < 0)
		return -EINVAL;
	*(pid_t *)dst = (pid_t)v;
	return 0;
}

/* One option's value into its destination. 0, or -EINVAL. */
static int opt_value(const struct bench_opt *o, const char *arg)
{
	switch (o->kind) {
	case BENCH_OPT_FLAG:
		*(int *)o->dst = 1;
		return 0;
	case BENCH_OPT_UNFLAG:
		*(int *)o->dst = 0;
		return 0;
	case BENCH_OPT_STR:
		*(const char **)o->dst = arg;
		return 0;
	case BENCH_OPT_HOSTPORT:
		if (bench_check_hostport(arg) < 0)
			return -EINVAL;
		*(const char **)o->dst = arg;
		return 0;
	case BENCH_OPT_U64:
	case BENCH_OPT_BYTES:
		return bench_parse_u64(arg, o->kind == BENCH_OPT_BYTES, o->min, o->max, o->dst);
	case BENCH_OPT_DURATION: {
		uint64_t ns;
		if (bench_parse_duration(arg, &ns) < 0 || ns < o->min || ns > o->max)
			return -EINVAL;
		*(uint64_t *)o->dst = ns;
		return 0;
	}
	case BENCH_OPT_BACKEND:
		return bench_parse_backend(arg, o->dst);
	case BENCH_OPT_FN:
		return o->fn(arg, o->dst) < 0 ? -EINVAL : 0;
	}
	return -EINVAL;
}

int bench_opts_parse(const char *prog, int argc, char **argv, const struct bench_opt *opts,
		     unsigned n)
{
	struct option *lo = calloc(n + 2, sizeof(*lo));
	int opt, rc = 0;

	if (!lo)
		return 2;
	for (unsigned i = 0; i < n; i++) {
		int noval = opts[i].kind == BENCH_OPT_FLAG || opts[i].kind == BENCH_OPT_UNFLAG;
		lo[i] = (struct option){ opts[i].name, noval ? no_argument : required_argument,
					 NULL, 256 + (int)i };
	}
	lo[n] = (struct option){ "help", no_argument, NULL, 256 + (int)n };
	optind = 1;
	while (rc == 0 && (opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (opt == 256 + (int)n) {
			rc = 1;
		} else if (opt < 256 || opt > 256 + (int)n) {
			rc = 2; /* getopt said why */
		} else if (opt_value(&opts[opt - 256], optarg) < 0) {
			fprintf(stderr, "%s: bad value for --%s: '%s'\n", prog, opts[opt - 256].name,
				optarg);
			rc = 2;
		}
	}
	if (rc == 0 && optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", prog, argv[optind]);
		rc = 2;
	}
	free(lo);
	return rc;
}

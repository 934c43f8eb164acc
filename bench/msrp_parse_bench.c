/* msrp_parse_bench.c — micro-benchmark of the MSRP frame parser (msrp/msrp_parse.c).
 *
 *   msrp_parse_bench [--duration SEC | --frames N] [--read BYTES] [--body text|binary]
 *                    [--sizes 200,2k,64k,1m] [--json]
 *
 * For each body size, a stream of pipelined SEND frames (To-Path, From-Path, Message-ID,
 * Byte-Range, Content-Type, the body, the end-line: what a relay receives) of at least
 * 4 MiB is built once, then parsed over and over, fed in pieces of --read bytes (default
 * 16 KiB, a receive buffer; 0: the whole stream in one call) so that heads and end-lines
 * straddle pieces as they do on a socket. Every event is consumed the way a relay would:
 * HEAD reads To-Path, BODY slices are summed (not copied). Runs for --duration per size
 * (default 1 s) or for --frames frames per size. Reports frames/s, wire bytes/s (whole
 * frames) and ns per frame, measured with CLOCK_MONOTONIC over the run; the process's CPU
 * time over the same run is reported too, so that a noisy machine shows.
 *
 * Body text (default): lines of 76 printable bytes and CRLF, the worst realistic case for
 * the end-line search (one CR per 78 bytes); binary: pseudo-random bytes (one CR in 256). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/lib/bench_args.h"
#include "msrp/msrp_hdr.h"
#include "msrp/msrp_parse.h"

static uint64_t now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A one-buffer pool: what the connection layer's engine buffers look like to the parser. */
static char *pool_buf;
static size_t pool_cap;
static int pool_used;
static uint64_t pool_gets;

static void *pool_alloc(void *ctx, size_t *cap)
{
	(void)ctx;
	if (pool_used || *cap > pool_cap)
		return NULL;
	pool_used = 1;
	pool_gets++;
	*cap = pool_cap;
	return pool_buf;
}

static void pool_release(void *ctx, void *p)
{
	(void)ctx;
	(void)p;
	pool_used = 0;
}

struct stream {
	char *p;
	size_t len;
	uint64_t frames;
};

/* Pipelined frames with <body_len>-byte bodies, at least <min_len> bytes in all. */
static int build_stream(struct stream *s, size_t body_len, size_t min_len, int binary)
{
	uint64_t n = min_len / (body_len + 300) + 1, x = 0x9e3779b97f4a7c15ull;
	size_t cap = (size_t)n * (body_len + 512), off = 0;
	char *body = malloc(body_len ? body_len : 1);

	s->p = malloc(cap);
	if (!s->p || !body)
		return -ENOMEM;
	for (size_t i = 0; i < body_len; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		if (binary)
			body[i] = (char)(x >> 24);
		else if (i % 78 == 76)
			body[i] = '\r';
		else if (i % 78 == 77)
			body[i] = '\n';
		else
			body[i] = (char)(' ' + (x >> 24) % 95);
	}
	for (uint64_t f = 0; f < n; f++) {
		int h = snprintf(s->p + off, cap - off,
				 "MSRP t%07" PRIu64 "x SEND\r\n"
				 "To-Path: msrp://relay.example.com:2855/s8Xqk3n9Lm2;tcp "
				 "msrp://bob.example.com:8888/9di4eae923wzd;tcp\r\n"
				 "From-Path: msrp://alicepc.example.com:7777/iau39soe2843z;tcp\r\n"
				 "Message-ID: m%011" PRIu64 "\r\n"
				 "Byte-Range: 1-%zu/%zu\r\n"
				 "Content-Type: application/octet-stream\r\n\r\n",
				 f % 10000000, f, body_len, body_len);

		off += (size_t)h;
		memcpy(s->p + off, body, body_len);
		off += body_len;
		off += (size_t)snprintf(s->p + off, cap - off, "\r\n-------t%07" PRIu64 "x$\r\n",
					f % 10000000);
	}
	free(body);
	s->len = off;
	s->frames = n;
	return 0;
}

struct result {
	uint64_t frames, bytes, body_bytes, ns, cpu_ns, splits;
};

/* Parses <s> once in pieces of <rd> bytes (0: whole). Returns frames seen, -1 on error. */
static int64_t parse_stream(struct msrp_parser *p, const struct stream *s, size_t rd,
			    uint64_t *body_sum, uint64_t *touch)
{
	struct msrp_ev ev;
	int64_t frames = 0;

	for (size_t a = 0; a < s->len;) {
		size_t n = rd && s->len - a > rd ? rd : s->len - a;
		const char *d = s->p + a;

		for (;;) {
			size_t used = msrp_parse(p, d, n, &ev);

			d += used, n -= used;
			switch (ev.type) {
			case MSRP_EV_NEED_MORE:
				goto next;
			case MSRP_EV_HEAD:
				*touch += msrp_hdr_get(&ev.msg, MSRP_H_TO_PATH).len;
				break;
			case MSRP_EV_BODY:
				*body_sum += ev.body.len;
				*touch += (unsigned char)ev.body.p[0];
				break;
			case MSRP_EV_END:
				frames++;
				break;
			case MSRP_EV_ERROR:
				fprintf(stderr, "parse error %d: %s\n", ev.status, ev.reason);
				return -1;
			}
		}
next:
		a += rd && s->len - a > rd ? rd : s->len - a;
	}
	return frames;
}

static int bench_size(size_t body_len, uint64_t duration_ns, uint64_t want_frames, size_t rd,
		      int binary, struct result *r)
{
	struct msrp_parse_stats st = { 0 };
	struct msrp_parse_cfg cfg = {
		.alloc = pool_alloc, .release = pool_release, .ctx = NULL, .stats = &st,
	};
	struct msrp_parser p;
	struct stream s;
	uint64_t t0, c0, touch = 0, body_sum = 0;

	msrp_parse_limits_default(&cfg.limits);
	cfg.limits.max_body = 64u << 20;
	if (build_stream(&s, body_len, 4u << 20, binary) < 0)
		return -ENOMEM;
	msrp_parser_init(&p, &cfg);
	memset(r, 0, sizeof(*r));
	/* warm the caches and the branch predictors once */
	if (parse_stream(&p, &s, rd, &body_sum, &touch) != (int64_t)s.frames)
		return -EPROTO;
	body_sum = 0;
	memset(&st, 0, sizeof(st));
	t0 = now_ns(CLOCK_MONOTONIC);
	c0 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
	for (;;) {
		int64_t f = parse_stream(&p, &s, rd, &body_sum, &touch);

		if (f != (int64_t)s.frames)
			return -EPROTO;
		r->frames += (uint64_t)f;
		r->bytes += s.len;
		r->ns = now_ns(CLOCK_MONOTONIC) - t0;
		if (want_frames ? r->frames >= want_frames : r->ns >= duration_ns)
			break;
	}
	r->cpu_ns = now_ns(CLOCK_PROCESS_CPUTIME_ID) - c0;
	r->body_bytes = body_sum;
	r->splits = st.heads_split;
	if (st.frames != r->frames || body_sum != r->frames * body_len || touch == 0)
		return -EPROTO;
	msrp_parser_free(&p);
	free(s.p);
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: msrp_parse_bench [--duration SEC | --frames N] [--read BYTES] "
			"[--body text|binary] [--sizes 200,2k,64k,1m] [--json]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "duration", required_argument, NULL, 'd' },
		{ "frames", required_argument, NULL, 'n' },
		{ "read", required_argument, NULL, 'r' },
		{ "body", required_argument, NULL, 'b' },
		{ "sizes", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t duration_ns = 1000000000u, frames = 0, rd = 16384, sizes[8];
	size_t nsizes = 0;
	int binary = 0, json = 0, opt;
	char *list = NULL;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'd':
			if (bench_parse_duration(optarg, &duration_ns) < 0 || !duration_ns)
				usage();
			break;
		case 'n':
			if (bench_parse_u64(optarg, 0, 1, UINT64_MAX, &frames) < 0)
				usage();
			break;
		case 'r':
			if (bench_parse_u64(optarg, 1, 0, 1u << 30, &rd) < 0)
				usage();
			break;
		case 'b':
			if (strcmp(optarg, "binary") == 0)
				binary = 1;
			else if (strcmp(optarg, "text") != 0)
				usage();
			break;
		case 's':
			list = optarg;
			break;
		case 'j':
			json = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (list) {
		for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
			if (nsizes == 8 || bench_parse_u64(tok, 1, 0, 256u << 20, &sizes[nsizes]) < 0)
				usage();
			nsizes++;
		}
	} else {
		sizes[0] = 200, sizes[1] = 2048, sizes[2] = 65536, sizes[3] = 1u << 20;
		nsizes = 4;
	}
	pool_cap = 16384;
	pool_buf = malloc(pool_cap);
	if (!pool_buf)
		return 1;
	if (json)
		printf("[\n");
	else
		printf("# msrp_parse_bench: body %s, read %" PRIu64 " bytes, parser %zu bytes\n"
		       "%10s %14s %12s %12s %10s %8s %10s\n", binary ? "binary" : "text", rd,
		       sizeof(struct msrp_parser), "body", "frames/s", "MB/s", "GB/s body",
		       "ns/frame", "cpu %", "split hds");
	for (size_t i = 0; i < nsizes; i++) {
		struct result r;
		double sec, fps, mbps, gbody;
		int rc = bench_size((size_t)sizes[i], duration_ns, frames, (size_t)rd, binary, &r);

		if (rc < 0) {
			fprintf(stderr, "size %" PRIu64 ": %s\n", sizes[i], strerror(-rc));
			return 1;
		}
		sec = (double)r.ns / 1e9;
		fps = (double)r.frames / sec;
		mbps = (double)r.bytes / sec / 1e6;
		gbody = (double)r.body_bytes / sec / 1e9;
		if (json)
			printf("  {\"body\": %" PRIu64 ", \"read\": %" PRIu64 ", \"binary\": %d, "
			       "\"frames\": %" PRIu64 ", \"seconds\": %.6f, \"frames_per_s\": %.0f, "
			       "\"bytes_per_s\": %.0f, \"ns_per_frame\": %.1f, \"cpu_share\": %.3f, "
			       "\"heads_split\": %" PRIu64 "}%s\n", sizes[i], rd, binary, r.frames, sec,
			       fps, mbps * 1e6, 1e9 / fps, (double)r.cpu_ns / (double)r.ns, r.splits,
			       i + 1 < nsizes ? "," : "");
		else
			printf("%10" PRIu64 " %14.0f %12.1f %12.2f %10.1f %8.1f %10" PRIu64 "\n",
			       sizes[i], fps, mbps, gbody, 1e9 / fps,
			       100.0 * (double)r.cpu_ns / (double)r.ns, r.splits);
	}
	if (json)
		printf("]\n");
	free(pool_buf);
	return 0;
}

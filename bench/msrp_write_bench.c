/* msrp_write_bench.c — micro-benchmark of the MSRP serializer (msrp/msrp_write.c) and of
 * a relay's parse + re-serialize step.
 *
 *   msrp_write_bench [--duration SEC] [--sizes 200,2k,64k,1m] [--json]
 *
 * For each body size, three measurements, each for --duration (default 1 s):
 *   send     what a sender does per frame without copying the body: the head
 *            (msrp_write_head), the check that the end-line is not in the body
 *            (msrp_write_body_has_endline, a scan of the body) and the tail;
 *   frame    the whole frame copied into one buffer (msrp_write_frame);
 *   relay    parse a received frame (msrp_parse: HEAD, BODY slices, END) and write the head
 *            a relay forwards (To-Path without its first URI, From-Path with ours in
 *            front) and the tail; the body is forwarded as the slices (not copied).
 * Reports frames/s and body bytes/s from CLOCK_MONOTONIC, and ns per frame. Bodies are
 * text lines of 76 bytes and CRLF (the worst realistic case for end-line scans). */
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
#include "msrp/msrp_write.h"

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static char *make_body(size_t len)
{
	char *b = malloc(len ? len : 1);
	for (size_t i = 0; i < len; i++)
		b[i] = (i % 78 == 76) ? '\r' : (i % 78 == 77) ? '\n' : (char)('a' + i % 26);
	return b;
}

static volatile size_t sink; /* keeps the work from being optimised away */

static const struct msrp_range *range_of(size_t len, struct msrp_range *r)
{
	r->start = 1;
	r->end = (int64_t)len;
	r->total = (int64_t)len;
	return r;
}

static void out_of(struct msrp_out *m, struct msrp_range *r, size_t len)
{
	memset(m, 0, sizeof(*m));
	m->tid = CM_SLICE_LIT("a786hjs2");
	m->method = MSRP_M_SEND;
	m->to_path = CM_SLICE_LIT("msrp://relay.example.com:2855/jshA7weztas;tcp "
				  "msrp://bob.example.com:8888/9di4eae923wzd;tcp");
	m->from_path = CM_SLICE_LIT("msrp://alice.example.com:7654/iau39soe2843z;tcp");
	m->message_id = CM_SLICE_LIT("12339sdqwer");
	m->byte_range = range_of(len, r);
	m->content_type = CM_SLICE_LIT("text/plain");
}

/* One frame a sender writes, zero-copy. */
static double bench_send(const char *body, size_t len, uint64_t dur)
{
	char head[1024], tail[64];
	struct msrp_out m;
	struct msrp_range r;
	cm_slice b = { body, len };
	uint64_t n = 0, t0 = now_ns(), t;

	out_of(&m, &r, len);
	do {
		for (int i = 0; i < 64; i++) {
			ssize_t h = msrp_write_head(head, sizeof(head), &m, MSRP_FLAG_END);
			int clash = msrp_write_body_has_endline(m.tid, &b, 1);
			ssize_t tl = msrp_write_tail(tail, sizeof(tail), m.tid, MSRP_FLAG_END);
			sink += (size_t)h + (size_t)tl + (size_t)clash;
		}
		n += 64;
		t = now_ns();
	} while (t - t0 < dur);
	return (double)n * 1e9 / (double)(t - t0);
}

/* The whole frame copied into one buffer. */
static double bench_frame(const char *body, size_t len, uint64_t dur, char *buf, size_t cap)
{
	struct msrp_out m;
	struct msrp_range r;
	cm_slice b = { body, len };
	uint64_t n = 0, t0 = now_ns(), t;

	out_of(&m, &r, len);
	do {
		for (int i = 0; i < 8; i++)
			sink += (size_t)msrp_write_frame(buf, cap, &m, &b, 1, MSRP_FLAG_END);
		n += 8;
		t = now_ns();
	} while (t - t0 < dur);
	return (double)n * 1e9 / (double)(t - t0);
}

/* Parse one received frame and write what a relay forwards (head and tail). */
static double bench_relay(const char *frame, size_t flen, uint64_t dur)
{
	struct msrp_parse_stats st = { 0 };
	struct msrp_parse_cfg cfg = { .stats = &st };
	struct msrp_parser p;
	static struct msrp_ev ev;
	char head[1024], tail[64], from[512];
	uint64_t n = 0, t0 = now_ns(), t;

	msrp_parse_limits_default(&cfg.limits);
	cfg.limits.max_body = 1u << 30;
	msrp_parser_init(&p, &cfg);
	do {
		const char *d = frame;
		size_t left = flen, body = 0;
		struct msrp_out m;
		memset(&m, 0, sizeof(m));
		for (;;) {
			size_t used = msrp_parse(&p, d, left, &ev);
			d += used;
			left -= used;
			if (ev.type == MSRP_EV_NEED_MORE || ev.type == MSRP_EV_ERROR)
				break;
			if (ev.type == MSRP_EV_HEAD) {
				/* To-Path minus its first URI, From-Path with ours first */
				cm_slice to = msrp_hdr_get(&ev.msg, MSRP_H_TO_PATH), u;
				msrp_path_next(&to, &u);
				while (to.len && *to.p == ' ')
					to.p++, to.len--;
				cm_slice fp = msrp_hdr_get(&ev.msg, MSRP_H_FROM_PATH);
				int fl = snprintf(from, sizeof(from), "msrp://relay.example.com:2855/jshA7weztas;tcp %.*s",
						  (int)fp.len, fp.p);
				m.tid = ev.msg.tid;
				m.method = MSRP_M_SEND;
				m.to_path = to;
				m.from_path = (cm_slice){ from, (size_t)fl };
				m.message_id = msrp_hdr_get(&ev.msg, MSRP_H_MESSAGE_ID);
				m.content_type = msrp_hdr_get(&ev.msg, MSRP_H_CONTENT_TYPE);
				sink += (size_t)msrp_write_head(head, sizeof(head), &m, MSRP_FLAG_END);
			} else if (ev.type == MSRP_EV_BODY) {
				body += ev.body.len;
			} else if (ev.type == MSRP_EV_END) {
				sink += body + (size_t)msrp_write_tail(tail, sizeof(tail), m.tid, ev.flag);
				break;
			}
		}
		n++;
		t = (n & 15) ? t0 : now_ns();
	} while ((n & 15) || t - t0 < dur);
	msrp_parser_free(&p);
	return (double)n * 1e9 / (double)(t - t0);
}

static void usage(void)
{
	fprintf(stderr, "usage: msrp_write_bench [--duration SEC] [--sizes 200,2k,64k,1m] [--json]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "duration", required_argument, NULL, 'd' },
		{ "sizes", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t dur = 1000000000u, sizes[8] = { 200, 2048, 65536, 1u << 20 }, v;
	size_t nsizes = 4;
	int json = 0, c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			if (bench_parse_u64(optarg, 0, 1, 3600, &v) < 0)
				usage();
			dur = v * 1000000000u;
			break;
		case 's':
			nsizes = 0;
			for (char *tok = strtok(optarg, ","); tok; tok = strtok(NULL, ",")) {
				if (nsizes == 8 || bench_parse_u64(tok, 1, 0, 256u << 20, &sizes[nsizes]) < 0)
					usage();
				nsizes++;
			}
			break;
		case 'j':
			json = 1;
			break;
		default:
			usage();
		}
	}
	if (!json)
		printf("# msrp_write_bench: frames/s (ns per frame), body GB/s\n"
		       "%9s %24s %24s %24s\n", "body", "send (zero-copy)", "frame (copied)",
		       "relay (parse+rewrite)");
	else
		printf("[\n");
	for (size_t i = 0; i < nsizes; i++) {
		size_t len = (size_t)sizes[i];
		char *body = make_body(len);
		size_t cap = len + 1024;
		char *buf = malloc(cap);
		struct msrp_out m;
		struct msrp_range r;
		cm_slice b = { body, len };
		out_of(&m, &r, len);
		ssize_t flen = msrp_write_frame(buf, cap, &m, &b, 1, MSRP_FLAG_END);
		if (flen < 0 || (size_t)flen > cap) {
			fprintf(stderr, "cannot build a %zu-byte frame\n", len);
			return 1;
		}
		double s = bench_send(body, len, dur);
		double f = bench_frame(body, len, dur, buf + 0, cap);
		/* the frame buffer was overwritten by identical frames: still a valid frame */
		double rl = bench_relay(buf, (size_t)flen, dur);
		if (json)
			printf("  {\"body\": %zu, \"send_fps\": %.0f, \"frame_fps\": %.0f, "
			       "\"relay_fps\": %.0f}%s\n", len, s, f, rl, i + 1 < nsizes ? "," : "");
		else
			printf("%9zu %12.0f (%7.1f ns) %12.0f (%7.1f ns) %12.0f (%7.1f ns)   %.2f / %.2f / %.2f GB/s\n",
			       len, s, 1e9 / s, f, 1e9 / f, rl, 1e9 / rl, s * (double)len / 1e9,
			       f * (double)len / 1e9, rl * (double)len / 1e9);
		free(body);
		free(buf);
	}
	if (json)
		printf("]\n");
	return 0;
}

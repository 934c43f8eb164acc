/* test_msrp_chunk.c — msrp/msrp_chunk: a 1 MiB message in 2 KiB chunks, bodies in many
 * pieces, three messages interleaved on one stream, streaming '*' totals, aborting ('#')
 * between chunks and inside one, the RFC 4975 §5.1 frames, tids that avoid the body,
 * small buffers, empty messages. Chunks are written to a byte stream, split back into
 * frames by a small test-only splitter (or by the real parser, msrp_parse, cut at random
 * places), and reassembled by msrp_reasm. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msrp/msrp_chunk.h"
#include "msrp/msrp_hdr.h"
#include "msrp/msrp_parse.h"
#include "msrp/msrp_reasm.h"
#include "msrp/msrp_write.h"

#define S(lit) CM_SLICE_LIT(lit)

/* Deterministic tids: "t" and 7 digits; a list first when given. */
struct tidgen {
	unsigned n;
	const char *const *list;
	unsigned nlist;
};

static int tid_next(void *arg, char *buf, size_t len)
{
	struct tidgen *g = arg;
	unsigned i = g->n++;

	if (i < g->nlist)
		return snprintf(buf, len, "%s", g->list[i]);
	return snprintf(buf, len, "t%07u", i);
}

static uint32_t lcg_state = 777;

static uint32_t lcg(void)
{
	lcg_state = lcg_state * 1103515245u + 12345u;
	return lcg_state >> 8;
}

/* A growing byte stream: what would go on one connection. */
struct stream {
	char *p;
	size_t len, cap;
};

static void st_put(struct stream *s, const void *p, size_t len)
{
	if (s->len + len > s->cap) {
		s->cap = (s->len + len) * 2;
		s->p = realloc(s->p, s->cap);
		cr_assert(s->p);
	}
	memcpy(s->p + s->len, p, len);
	s->len += len;
}

/* Sends one chunk: head, body slices, tail (or <tail_override>). */
static void st_chunk(struct stream *s, const struct msrp_chunk_out *o, const cm_slice *body,
		     const char *tail_override)
{
	st_put(s, o->head.p, o->head.len);
	for (unsigned i = 0; i < o->nbody; i++)
		st_put(s, body[i].p, body[i].len);
	if (tail_override)
		st_put(s, tail_override, strlen(tail_override));
	else
		st_put(s, o->tail.p, o->tail.len);
}

/* One frame found in a stream. */
struct frame {
	char tid[40];
	cm_slice msgid, ctype, body;
	struct msrp_range br;
	char flag;
};

static const char *find(const char *p, const char *end, const char *what)
{
	size_t n = strlen(what);

	for (; p + n <= end; p++) {
		if (!memcmp(p, what, n))
			return p;
	}
	return NULL;
}

static int64_t num_or_star(const char **pp)
{
	const char *p = *pp;
	int64_t v = 0;

	if (*p == '*') {
		*pp = p + 1;
		return -1;
	}
	while (*p >= '0' && *p <= '9')
		v = v * 10 + (*p++ - '0');
	*pp = p;
	return v;
}

/* Splits the frame at <*pos> of <s> (frames written by msrp_write: one space after colons,
 * headers known). Returns 1 with <f> filled, 0 at the end of the stream. */
static int next_frame(const struct stream *s, size_t *pos, struct frame *f)
{
	const char *p = s->p + *pos, *end = s->p + s->len, *eol, *q;
	char endline[64];

	if (p >= end)
		return 0;
	memset(f, 0, sizeof(*f));
	cr_assert(!memcmp(p, "MSRP ", 5), "frame start at %zu", *pos);
	q = memchr(p + 5, ' ', (size_t)(end - p - 5));
	cr_assert(q);
	memcpy(f->tid, p + 5, (size_t)(q - p - 5));
	cr_assert(!memcmp(q, " SEND\r\n", 7));
	p = q + 7;
	snprintf(endline, sizeof(endline), "-------%s", f->tid);
	for (;;) {
		if (!memcmp(p, endline, strlen(endline))) {          /* no body */
			p += strlen(endline);
			f->flag = *p;
			cr_assert(!memcmp(p + 1, "\r\n", 2));
			*pos = (size_t)(p + 3 - s->p);
			return 1;
		}
		if (!memcmp(p, "\r\n", 2)) {                           /* body follows */
			char tail[64];
			const char *t;

			p += 2;
			snprintf(tail, sizeof(tail), "\r\n-------%s", f->tid);
			t = find(p, end, tail);
			cr_assert(t, "no end-line for %s", f->tid);
			f->body = (cm_slice){ p, (size_t)(t - p) };
			t += strlen(tail);
			f->flag = *t;
			cr_assert(!memcmp(t + 1, "\r\n", 2));
			*pos = (size_t)(t + 3 - s->p);
			return 1;
		}
		eol = find(p, end, "\r\n");
		cr_assert(eol);
		if (!memcmp(p, "Message-ID: ", 12)) {
			f->msgid = (cm_slice){ p + 12, (size_t)(eol - p - 12) };
		} else if (!memcmp(p, "Content-Type: ", 14)) {
			f->ctype = (cm_slice){ p + 14, (size_t)(eol - p - 14) };
		} else if (!memcmp(p, "Byte-Range: ", 12)) {
			q = p + 12;
			f->br.start = (uint64_t)num_or_star(&q);
			cr_assert_eq(*q++, '-');
			f->br.end = num_or_star(&q);
			cr_assert_eq(*q++, '/');
			f->br.total = num_or_star(&q);
		}
		p = eol + 2;
	}
}

/* Feeds one frame to <r> (the body in pieces of 1000 bytes). The verdict of end(). */
static int reasm_frame(struct msrp_reasm *r, const struct frame *f, struct msrp_reasm_msg *m)
{
	struct msrp_reasm_chunk ck;
	int rc = msrp_reasm_begin(r, f->msgid, &f->br, f->ctype, 0, &ck);

	for (size_t off = 0; rc == 0 && off < f->body.len; off += 1000) {
		size_t n = f->body.len - off < 1000 ? f->body.len - off : 1000;

		rc = msrp_reasm_data(r, &ck, f->body.p + off, n);
	}
	return msrp_reasm_end(r, &ck, (enum msrp_flag)f->flag, m);
}

static struct msrp_reasm *mk_reasm(void)
{
	struct msrp_reasm *r = msrp_reasm_create(NULL);

	cr_assert(r);
	return r;
}

static void msg_init(struct msrp_chunk_msg *m, const char *msgid, struct tidgen *g)
{
	memset(m, 0, sizeof(*m));
	m->to_path = S("msrp://bob.example.com:8888/9di4eae923wzd;tcp");
	m->from_path = S("msrp://alicepc.example.com:7777/iau39soe2843z;tcp");
	m->message_id = (cm_slice){ msgid, strlen(msgid) };
	m->content_type = S("application/octet-stream");
	m->tid_fn = tid_next;
	m->tid_arg = g;
}

static char *random_bytes(size_t n)
{
	char *p = malloc(n);

	cr_assert(p);
	for (size_t i = 0; i < n; i++)
		p[i] = (char)lcg();
	return p;
}

Test(msrp_chunk, one_mib_in_2k_chunks)
{
	enum { LEN = 1 << 20, CH = 2048 };
	char *data = random_bytes(LEN);
	cm_slice whole = { data, LEN };
	struct tidgen g = { 0 };
	struct msrp_chunk_msg m;
	struct msrp_chunker c;
	struct msrp_chunk_out o;
	struct msrp_reasm *r = mk_reasm();
	struct msrp_reasm_msg out;
	struct stream s = { 0 };
	struct frame f;
	cm_slice body[4];
	char buf[1024];
	size_t pos = 0;
	unsigned n = 0;
	int rc;

	msg_init(&m, "big-1", &g);
	m.total = LEN;
	m.body = &whole;
	m.nbody = 1;
	m.chunk_size = CH;
	m.success_report = MSRP_REPORT_YES;
	cr_assert_eq(msrp_chunk_init(&c, &m), 0);
	while ((rc = msrp_chunk_next(&c, buf, sizeof(buf), body, 4, &o)) == 1) {
		cr_assert_eq(o.range.start, (uint64_t)n * CH + 1);
		cr_assert_eq(o.range.end, (int64_t)(n + 1) * CH);
		cr_assert_eq(o.range.total, LEN);
		cr_assert_eq(o.body_len, CH);
		cr_assert_eq(o.nbody, 1);
		cr_assert_eq(body[0].p, data + (size_t)n * CH);       /* zero-copy */
		cr_assert_eq(o.flag, n == LEN / CH - 1 ? MSRP_FLAG_END : MSRP_FLAG_MORE);
		cr_assert_eq(o.tid_len, 8);
		st_chunk(&s, &o, body, NULL);
		n++;
	}
	cr_assert_eq(rc, 0);
	cr_assert_eq(n, LEN / CH);
	cr_assert(msrp_chunk_done(&c));
	cr_assert_eq(msrp_chunk_next(&c, buf, sizeof(buf), body, 4, &o), 0);

	/* every chunk a fresh tid, all of them whole frames, the message back in one piece */
	n = 0;
	while (next_frame(&s, &pos, &f)) {
		char want[16];

		snprintf(want, sizeof(want), "t%07u", n);
		cr_assert_str_eq(f.tid, want);
		rc = reasm_frame(r, &f, &out);
		cr_assert_eq(rc, ++n == LEN / CH ? MSRP_REASM_COMPLETE : MSRP_REASM_OK);
	}
	cr_assert_eq(out.len, LEN);
	cr_assert(!memcmp(out.data, data, LEN));
	cr_assert_str_eq(out.message_id, "big-1");
	cr_assert_str_eq(out.content_type, "application/octet-stream");
	msrp_reasm_msg_free(&out);
	msrp_reasm_destroy(r);
	free(s.p);
	free(data);
}

/* A body in hundreds of pieces of every size; a chunk spans pieces, or is cut short when
 * it would need more slices than the caller's array holds. */
Test(msrp_chunk, body_in_pieces)
{
	enum { LEN = 300000 };
	char *data = random_bytes(LEN);
	cm_slice pieces[400];
	unsigned np = 0;
	size_t off = 0;
	struct tidgen g = { 0 };
	struct msrp_chunk_msg m;
	struct msrp_chunker c;
	struct msrp_chunk_out o;
	struct msrp_reasm *r = mk_reasm();
	struct msrp_reasm_msg out;
	struct stream s = { 0 };
	struct frame f;
	cm_slice body[3];
	char buf[1024];
	uint64_t next = 1;
	size_t pos = 0;
	int rc;

	while (off < LEN) {
		size_t n = lcg() % 3000;   /* empty pieces too */

		if (n > LEN - off || np == 399)
			n = LEN - off;
		pieces[np++] = (cm_slice){ data + off, n };
		off += n;
	}
	msg_init(&m, "pieces", &g);
	m.total = LEN;
	m.body = pieces;
	m.nbody = np;
	m.chunk_size = 4096;
	cr_assert_eq(msrp_chunk_init(&c, &m), 0);
	while ((rc = msrp_chunk_next(&c, buf, sizeof(buf), body, 3, &o)) == 1) {
		uint64_t sum = 0;

		cr_assert_eq(o.range.start, next);
		for (unsigned i = 0; i < o.nbody; i++) {
			cr_assert_gt(body[i].len, 0);
			sum += body[i].len;
		}
		cr_assert_eq(sum, o.body_len);
		cr_assert_leq(o.body_len, 4096);
		cr_assert(o.body_len == 4096 || o.nbody == 3 || o.flag == MSRP_FLAG_END);
		cr_assert_eq(o.range.end, (int64_t)(next + o.body_len - 1));
		next += o.body_len;
		st_chunk(&s, &o, body, NULL);
	}
	cr_assert_eq(rc, 0);
	cr_assert_eq(next, LEN + 1);
	while (next_frame(&s, &pos, &f))
		rc = reasm_frame(r, &f, &out);
	cr_assert_eq(rc, MSRP_REASM_COMPLETE);
	cr_assert_eq(out.len, LEN);
	cr_assert(!memcmp(out.data, data, LEN));
	msrp_reasm_msg_free(&out);
	msrp_reasm_destroy(r);
	free(s.p);
	free(data);
}

/* §7.1.1: chunks of three messages interleaved on one connection. */
Test(msrp_chunk, interleave_three)
{
	static const size_t lens[3] = { 100000, 5000, 1 };
	static const char *const ids[3] = { "msg-a", "msg-b", "msg-c" };
	char *data[3];
	cm_slice whole[3];
	struct tidgen g = { 0 };
	struct msrp_chunker c[3];
	struct msrp_chunk_out o;
	struct msrp_reasm *r = mk_reasm();
	struct msrp_reasm_msg out;
	struct stream s = { 0 };
	struct frame f;
	cm_slice body[4];
	char buf[1024];
	size_t pos = 0;
	unsigned active = 3, done = 0, turns = 0;
	char order[64] = "";

	for (int i = 0; i < 3; i++) {
		struct msrp_chunk_msg m;

		data[i] = random_bytes(lens[i]);
		whole[i] = (cm_slice){ data[i], lens[i] };
		msg_init(&m, ids[i], &g);
		m.total = (int64_t)lens[i];
		m.body = &whole[i];
		m.nbody = 1;
		m.chunk_size = 2048;
		cr_assert_eq(msrp_chunk_init(&c[i], &m), 0);
	}
	/* round robin, as the connection layer does */
	while (active) {
		active = 0;
		for (int i = 0; i < 3; i++) {
			int rc = msrp_chunk_next(&c[i], buf, sizeof(buf), body, 4, &o);

			cr_assert_geq(rc, 0);
			if (rc == 1) {
				st_chunk(&s, &o, body, NULL);
				if (turns < sizeof(order) - 1)
					order[turns] = (char)('a' + i);
				turns++;
				active++;
			}
		}
	}
	cr_assert_eq(strncmp(order, "abcababaa", 9), 0, "order %s", order);
	cr_assert_eq(turns, 49 + 3 + 1);
	while (next_frame(&s, &pos, &f)) {
		int rc = reasm_frame(r, &f, &out);

		cr_assert_geq(rc, 0);
		if (rc == MSRP_REASM_COMPLETE) {
			int i = out.message_id[4] - 'a';

			cr_assert_eq(out.len, lens[i]);
			cr_assert(!memcmp(out.data, data[i], lens[i]));
			msrp_reasm_msg_free(&out);
			done++;
		}
	}
	cr_assert_eq(done, 3);
	cr_assert_eq(msrp_reasm_pending(r), 0);
	for (int i = 0; i < 3; i++)
		free(data[i]);
	msrp_reasm_destroy(r);
	free(s.p);
}

/* '#' between chunks: an empty chunk with range-end '*' closes the message. */
Test(msrp_chunk, abort_between_chunks)
{
	enum { LEN = 10000 };
	char *data = random_bytes(LEN);
	cm_slice whole = { data, LEN };
	struct tidgen g = { 0 };
	struct msrp_chunk_msg m;
	struct msrp_chunker c;
	struct msrp_chunk_out o;
	struct msrp_reasm *r = mk_reasm();
	struct msrp_reasm_msg out;
	struct stream s = { 0 };
	struct frame f;
	cm_slice body[2];
	char buf[1024];
	size_t pos = 0;
	int rc = 0;

	msg_init(&m, "to-abort", &g);
	m.total = LEN;
	m.body = &whole;
	m.nbody = 1;
	m.chunk_size = 2048;
	cr_assert_eq(msrp_chunk_init(&c, &m), 0);
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(msrp_chunk_next(&c, buf, sizeof(buf), body, 2, &o), 1);
		st_chunk(&s, &o, body, NULL);
	}
	cr_assert_eq(msrp_chunk_abort(&c, 0), 1);
	cr_assert_eq(msrp_chunk_abort(&c, 0), -EALREADY);
	cr_assert_eq(msrp_chunk_next(&c, buf, sizeof(buf), body, 2, &o), 1);
	cr_assert_eq(o.flag, MSRP_FLAG_ABORT);
	cr_assert_eq(o.nbody, 0);
	cr_assert_eq(o.range.start, 4097);
	cr_assert_eq(o.range.end, -1);
	cr_assert_eq(o.range.total, LEN);
	cr_assert(memmem(o.head.p, o.head.len, "Byte-Range: 4097-*/10000\r\n", 26));
	st_chunk(&s, &o, body, NULL);
	cr_assert_eq(msrp_chunk_next(&c, buf, sizeof(buf), body, 2, &o), 0);
	cr_assert(msrp_chunk_done(&c));

	while (next_frame(&s, &pos, &f))
		rc = reasm_frame(r, &f, &out);
	cr_assert_eq(rc, MSRP_REASM_ABORTED);
	cr_assert_eq(msrp_reasm_pending(r), 0);
	msrp_reasm_destroy(r);
	free(s.p);
	free(data);
}

/* '#' inside the chunk being sent: its tail carries the flag, nothing else is owed. */
Test(msrp_chunk, abort_inflight_and_before_start)
{
	char data[5000];
	cm_slice whole = { data, sizeof(data) };
	struct tidgen g = { 0 };
	struct msrp_chunk_msg m;
	struct msrp_chunker c;
	struct msrp_chunk_out o;
	struct msrp_reasm *r = mk_reasm();
	struct msrp_reasm_msg out;
	struct stream s = { 0 };
	struct frame f;
	cm_slice body[2];
	char buf[1024], tail[MSRP_TAIL_MAX + 1];
	size_t pos = 0;
	ssize_t tl;
	int rc = 0;

	memset(data, 'q', sizeof(data));
	msg_init(&m, "inflight", &g);
	m.total = sizeof(data);
	m.body = &whole;
	m.nbody = 1;
	cr_assert_eq(msrp_chunk_init(&c, &m), 0);
	cr_assert_eq(msrp_chunk_next(&c, buf, sizeof(buf), body, 2, &o), 1);
	st_chunk(&s, &o, body, NULL);
	cr_assert_eq(msrp_chunk_next(&c, buf, sizeof(buf), body, 2, &o), 1);
	cr_assert_eq(msrp_chunk_abort(&c, 1), 0);
	tl = msrp_write_tail(tail, sizeof(tail), (cm_slice){ o.tid, o.tid_len }, MSRP_FLAG_ABORT);
	cr_assert_gt(tl, 0);
	tail[tl] = '\0';
	st_chunk(&s, &o, body, tail);
	cr_assert_eq(msrp_chunk_next(&c, buf, sizeof(buf), body, 2, &o), 0);
	while (next_frame(&s, &pos, &f))
		rc = reasm_frame(r, &f, &out);
	cr_assert_eq(rc, MSRP_REASM_ABORTED);

	/* aborted before its first chunk: nothing goes out */
	cr_assert_eq(msrp_chunk_init(&c, &m), 0);
	cr_assert_eq(msrp_chunk_abort(&c, 0), 0);
	cr_assert_eq(msrp_chunk_next(&c, buf, sizeof(buf), body, 2, &o), 0);
	cr_assert_eq(msrp_chunk_abort(&c, 0), -EALREADY);
	msrp_reasm_destroy(r);
	free(s.p);
}

/* Total unknown: '*' until the last chunk, which is held back until the body is final. */
Test(msrp_chunk, streaming_star_total)
{
	char *data = random_bytes(1500);
	cm_slice pieces[3] = { { data, 1000 }, { data + 1000, 400 }, { data + 1400, 100 } };
	struct tidgen g = { 0 };
	struct msrp_chunk_msg m;
	struct msrp_chunker c;
	struct msrp_chunk_out o;
	struct msrp_reasm *r = mk_reasm();
	struct msrp_reasm_msg out;
	struct stream s = { 0 };
	struct frame f;
	cm_slice body[4];
	char buf[1024];
	size_t pos = 0;
	int rc = 0;

	msg_init(&m, "stream", &g);
	m.total = -1;
	m.body = pieces;
	m.nbody = 1;
	m.chunk_size = 400;
	cr_assert_eq(msrp_chunk_init(&c, &m), 0);
	cr_assert_eq(msrp_chunk_next(&c, buf, sizeof(buf), body, 4, &o), 1);
	cr_assert(memmem(o.head.p, o.head.len, "Byte-Range: 1-400/*\r\n", 21));
	st_chunk(&s, &o, body, NULL);
	cr_assert_eq(msrp_chunk_next(&c, buf, sizeof(buf), body, 4, &o), 1);
	cr_assert(memmem(o.head.p, o.head.len, "Byte-Range: 401-800/*\r\n", 23));
	st_chunk(&s, &o, body, NULL);
	/* 200 bytes left, maybe the last ones: held back */
	cr_assert_eq(msrp_chunk_next(&c, buf, sizeof(buf), body, 4, &o), -EAGAIN);
	cr_assert_eq(msrp_chunk_feed(&c, pieces, 2, 0), 0);
	cr_assert_eq(msrp_chunk_next(&c, buf, sizeof(buf), body, 4, &o), 1);
	cr_assert(memmem(o.head.p, o.head.len, "Byte-Range: 801-1200/*\r\n", 24));
	cr_assert_eq(o.nbody, 2);                 /* across two pieces */
	st_chunk(&s, &o, body, NULL);
	/* exactly one chunk's worth left, not final: still held back */
	cr_assert_eq(msrp_chunk_next(&c, buf, sizeof(buf), body, 4, &o), -EAGAIN);
	cr_assert_eq(msrp_chunk_feed(&c, pieces, 1, 0), -EINVAL);
	cr_assert_eq(msrp_chunk_feed(&c, pieces, 3, 1), 0);
	cr_assert_eq(msrp_chunk_next(&c, buf, sizeof(buf), body, 4, &o), 1);
	cr_assert_eq(o.flag, MSRP_FLAG_END);
	cr_assert(memmem(o.head.p, o.head.len, "Byte-Range: 1201-1500/1500\r\n", 28));
	st_chunk(&s, &o, body, NULL);
	cr_assert_eq(msrp_chunk_next(&c, buf, sizeof(buf), body, 4, &o), 0);

	while (next_frame(&s, &pos, &f))
		rc = reasm_frame(r, &f, &out);
	cr_assert_eq(rc, MSRP_REASM_COMPLETE);
	cr_assert_eq(out.len, 1500);
	cr_assert(!memcmp(out.data, data, 1500));
	msrp_reasm_msg_free(&out);
	msrp_reasm_destroy(r);
	free(s.p);
	free(data);
}

/* A known total whose body arrives later: waits, then refuses a final body that is short. */
Test(msrp_chunk, known_total_fed_later)
{
	char data[3000];
	cm_slice pieces[2] = { { data, 1000 }, { data + 1000, 1500 } };
	struct tidgen g = { 0 };
	struct msrp_chunk_msg m;
	struct msrp_chunker c;
	struct msrp_chunk_out o;
	cm_slice body[4];
	char buf[1024];

	memset(data, 'k', sizeof(data));
	msg_init(&m, "later", &g);
	m.total = 3000;
	m.chunk_size = 2000;
	cr_assert_eq(msrp_chunk_init(&c, &m), 0);
	cr_assert_eq(msrp_chunk_next(&c, buf, sizeof(buf), body, 4, &o), -EAGAIN);
	cr_assert_eq(msrp_chunk_feed(&c, pieces, 1, 0), 0);
	cr_assert_eq(msrp_chunk_next(&c, buf, sizeof(buf), body, 4, &o), -EAGAIN);
	cr_assert_eq(msrp_chunk_feed(&c, pieces, 2, 0), 0);
	cr_assert_eq(msrp_chunk_next(&c, buf, sizeof(buf), body, 4, &o), 1);
	cr_assert_eq(o.body_len, 2000);
	cr_assert_eq(msrp_chunk_feed(&c, pieces, 2, 1), 0);
	cr_assert_eq(msrp_chunk_next(&c, buf, sizeof(buf), body, 4, &o), -EINVAL);
	/* more than the total */
	cm_slice too_much = { data, 3000 };

	cr_assert_eq(msrp_chunk_feed(&c, (cm_slice[]){ pieces[0], pieces[1], too_much }, 3, 1),
		     -EINVAL);
}

/* RFC 4975 §5.1 with MSRP_CHUNK_F_END_STAR: range-end '*' and '+', then 5-8/8 and '$'. */
Test(msrp_chunk, rfc4975_s5_1_frames)
{
	static const char *const tids[] = { "dkei38sd", "dkei38ia" };
	struct tidgen g = { 0, tids, 2 };
	cm_slice whole = S("abcdEFGH");
	struct msrp_chunk_msg m;
	struct msrp_chunker c;
	struct msrp_chunk_out o;
	struct stream s = { 0 };
	cm_slice body[2];
	char buf[1024];
	static const char want[] =
		"MSRP dkei38sd SEND\r\n"
		"To-Path: msrp://alice.example.com:7777/iau39soe2843z;tcp\r\n"
		"From-Path: msrp://bob.example.com:8888/9di4eae923wzd;tcp\r\n"
		"Message-ID: 4564dpWd\r\n"
		"Byte-Range: 1-*/8\r\n"
		"Content-Type: text/plain\r\n"
		"\r\n"
		"abcd\r\n"
		"-------dkei38sd+\r\n"
		"MSRP dkei38ia SEND\r\n"
		"To-Path: msrp://alice.example.com:7777/iau39soe2843z;tcp\r\n"
		"From-Path: msrp://bob.example.com:8888/9di4eae923wzd;tcp\r\n"
		"Message-ID: 4564dpWd\r\n"
		"Byte-Range: 5-8/8\r\n"
		"Content-Type: text/plain\r\n"
		"\r\n"
		"EFGH\r\n"
		"-------dkei38ia$\r\n";

	msg_init(&m, "4564dpWd", &g);
	m.to_path = S("msrp://alice.example.com:7777/iau39soe2843z;tcp");
	m.from_path = S("msrp://bob.example.com:8888/9di4eae923wzd;tcp");
	m.content_type = S("text/plain");
	m.total = 8;
	m.body = &whole;
	m.nbody = 1;
	m.chunk_size = 4;
	m.flags = MSRP_CHUNK_F_END_STAR;
	cr_assert_eq(msrp_chunk_init(&c, &m), 0);
	while (msrp_chunk_next(&c, buf, sizeof(buf), body, 2, &o) == 1)
		st_chunk(&s, &o, body, NULL);
	cr_assert_eq(s.len, strlen(want));
	cr_assert(!memcmp(s.p, want, s.len), "%.*s", (int)s.len, s.p);
	free(s.p);
}

/* §7.1: a chunk whose body holds "-------<tid>" gets another tid. */
Test(msrp_chunk, tid_avoids_body)
{
	struct tidgen g = { 0 };
	cm_slice whole = S("text\r\n-------t0000000$\r\nmore text");
	struct msrp_chunk_msg m;
	struct msrp_chunker c;
	struct msrp_chunk_out o;
	cm_slice body[2];
	char buf[1024];

	msg_init(&m, "trap", &g);
	m.total = (int64_t)whole.len;
	m.body = &whole;
	m.nbody = 1;
	cr_assert_eq(msrp_chunk_init(&c, &m), 0);
	cr_assert_eq(msrp_chunk_next(&c, buf, sizeof(buf), body, 2, &o), 1);
	cr_assert_str_eq(o.tid, "t0000001");
	cr_assert(memmem(o.tail.p, o.tail.len, "-------t0000001$", 16));
}

/* A buffer too small: -ENOSPC and nothing consumed. */
Test(msrp_chunk, small_buffer)
{
	struct tidgen g = { 0 };
	cm_slice whole = S("0123456789");
	struct msrp_chunk_msg m;
	struct msrp_chunker c;
	struct msrp_chunk_out o;
	cm_slice body[2];
	char buf[1024];

	msg_init(&m, "small", &g);
	m.total = 10;
	m.body = &whole;
	m.nbody = 1;
	cr_assert_eq(msrp_chunk_init(&c, &m), 0);
	cr_assert_eq(msrp_chunk_next(&c, buf, 100, body, 2, &o), -ENOSPC);
	cr_assert_eq(c.sent, 0);
	cr_assert_eq(msrp_chunk_next(&c, buf, sizeof(buf), body, 2, &o), 1);
	cr_assert_eq(o.range.start, 1);
	cr_assert_eq(o.flag, MSRP_FLAG_END);
	cr_assert_eq(msrp_chunk_next(&c, buf, sizeof(buf), body, 0, &o), 0);
}

/* An empty message: one chunk "1-0/0" '$'; without Content-Type, no body part at all. */
Test(msrp_chunk, empty_message)
{
	struct tidgen g = { 0 };
	struct msrp_chunk_msg m;
	struct msrp_chunker c;
	struct msrp_chunk_out o;
	struct msrp_reasm *r = mk_reasm();
	struct msrp_reasm_msg out;
	struct stream s = { 0 };
	struct frame f;
	char buf[1024];
	size_t pos = 0;

	msg_init(&m, "empty", &g);
	m.total = 0;
	cr_assert_eq(msrp_chunk_init(&c, &m), 0);
	cr_assert_eq(msrp_chunk_next(&c, buf, sizeof(buf), NULL, 0, &o), 1);
	cr_assert_eq(o.flag, MSRP_FLAG_END);
	cr_assert(memmem(o.head.p, o.head.len, "Byte-Range: 1-0/0\r\n", 19));
	st_chunk(&s, &o, NULL, NULL);
	cr_assert(next_frame(&s, &pos, &f));
	cr_assert_eq(reasm_frame(r, &f, &out), MSRP_REASM_COMPLETE);
	cr_assert_eq(out.len, 0);
	msrp_reasm_msg_free(&out);

	m.content_type = CM_SLICE_NULL;
	cr_assert_eq(msrp_chunk_init(&c, &m), 0);
	cr_assert_eq(msrp_chunk_next(&c, buf, sizeof(buf), NULL, 0, &o), 1);
	cr_assert_eq(o.tail.len, 0);
	cr_assert(o.head.len > 20 && !memcmp(o.head.p + o.head.len - 18, "-------t0000001$\r\n", 18));
	msrp_reasm_destroy(r);
	free(s.p);
}

/* Success-Report and Failure-Report and MIME headers go into every chunk. */
Test(msrp_chunk, headers_in_every_chunk)
{
	static const struct msrp_hdr mime[] = {
		{ .name = S("Content-Disposition"), .value = S("attachment; filename=\"a.bin\"") },
	};
	struct tidgen g = { 0 };
	char data[5000];
	cm_slice whole = { data, sizeof(data) };
	struct msrp_chunk_msg m;
	struct msrp_chunker c;
	struct msrp_chunk_out o;
	cm_slice body[2];
	char buf[1024];
	unsigned n = 0;

	memset(data, 'z', sizeof(data));
	msg_init(&m, "hdrs", &g);
	m.total = sizeof(data);
	m.body = &whole;
	m.nbody = 1;
	m.success_report = MSRP_REPORT_YES;
	m.failure_report = MSRP_REPORT_PARTIAL;
	m.mime = mime;
	m.nmime = 1;
	cr_assert_eq(msrp_chunk_init(&c, &m), 0);
	while (msrp_chunk_next(&c, buf, sizeof(buf), body, 2, &o) == 1) {
		static const char h[] = "Success-Report: yes\r\nFailure-Report: partial\r\n"
					"Content-Disposition: attachment; filename=\"a.bin\"\r\n"
					"Content-Type: application/octet-stream\r\n\r\n";

		cr_assert(memmem(o.head.p, o.head.len, h, sizeof(h) - 1), "chunk %u", n);
		n++;
	}
	cr_assert_eq(n, 3);
}

Test(msrp_chunk, init_refuses)
{
	struct tidgen g = { 0 };
	cm_slice whole = S("abc");
	struct msrp_chunk_msg m, ok;
	struct msrp_chunker c;

	msg_init(&ok, "x", &g);
	ok.total = 3;
	ok.body = &whole;
	ok.nbody = 1;
	cr_assert_eq(msrp_chunk_init(&c, &ok), 0);
	m = ok;
	m.message_id = CM_SLICE_NULL;
	cr_assert_eq(msrp_chunk_init(&c, &m), -EINVAL);
	m = ok;
	m.to_path = CM_SLICE_NULL;
	cr_assert_eq(msrp_chunk_init(&c, &m), -EINVAL);
	m = ok;
	m.content_type = CM_SLICE_NULL;
	cr_assert_eq(msrp_chunk_init(&c, &m), -EINVAL);
	m = ok;
	m.tid_fn = NULL;
	cr_assert_eq(msrp_chunk_init(&c, &m), -EINVAL);
	m = ok;
	m.total = 2;               /* less than the pieces */
	cr_assert_eq(msrp_chunk_init(&c, &m), -EINVAL);
	m = ok;
	m.total = -2;
	cr_assert_eq(msrp_chunk_init(&c, &m), -EINVAL);
	m = ok;
	m.success_report = MSRP_REPORT_PARTIAL;
	cr_assert_eq(msrp_chunk_init(&c, &m), -EINVAL);
}

static void *head_alloc(void *ctx, size_t *cap)
{
	(void)ctx;
	return malloc(*cap);
}

static void head_release(void *ctx, void *p)
{
	(void)ctx;
	free(p);
}

/* Three interleaved messages whose bodies hold end-line lookalikes, written by the chunker,
 * read back by the frame parser from a stream cut at random places, reassembled. */
Test(msrp_chunk, through_the_parser)
{
	static const char *const ids[3] = { "msgAAAA1", "msgBBBB2", "msgCCCC3" };
	static const size_t lens[3] = { 70000, 9000, 3 };
	char *data[3];
	cm_slice whole[3];
	struct tidgen g = { 0 };
	struct msrp_chunker c[3];
	struct msrp_chunk_out o;
	struct msrp_reasm *r = mk_reasm();
	struct msrp_reasm_msg out;
	struct msrp_reasm_chunk ck;
	struct stream s = { 0 };
	cm_slice body[4];
	char buf[1024];
	unsigned active = 3, done = 0, heads = 0, ends = 0;
	struct msrp_parse_stats pst = { 0 };
	struct msrp_parse_cfg pcfg = { .alloc = head_alloc, .release = head_release,
				       .stats = &pst };
	struct msrp_parser p;
	struct msrp_ev ev;
	size_t pos = 0;
	int rc = 0;

	for (int i = 0; i < 3; i++) {
		struct msrp_chunk_msg m;

		data[i] = random_bytes(lens[i]);
		/* lookalikes: the end-lines of the tids this test will use, and near misses */
		for (size_t off = 100; off + 40 < lens[i]; off += 1500) {
			int l = snprintf(data[i] + off, 40, "\r\n-------t%07u%c\r\n",
					 (unsigned)(off / 1500) % 60, "$+#"[off % 3]);

			data[i][off + (size_t)l] = '-';
		}
		whole[i] = (cm_slice){ data[i], lens[i] };
		msg_init(&m, ids[i], &g);
		m.total = i == 1 ? -1 : (int64_t)lens[i];
		m.body = &whole[i];
		m.nbody = 1;
		m.body_final = 1;
		m.chunk_size = 2048;
		m.failure_report = MSRP_REPORT_PARTIAL;
		cr_assert_eq(msrp_chunk_init(&c[i], &m), 0);
	}
	while (active) {
		active = 0;
		for (int i = 0; i < 3; i++) {
			rc = msrp_chunk_next(&c[i], buf, sizeof(buf), body, 4, &o);
			cr_assert_geq(rc, 0);
			if (rc == 1) {
				st_chunk(&s, &o, body, NULL);
				active++;
			}
		}
	}

	msrp_parse_limits_default(&pcfg.limits);
	msrp_parser_init(&p, &pcfg);
	while (pos < s.len) {
		size_t cut = 1 + lcg() % 700, n;
		const char *d = s.p + pos;

		if (cut > s.len - pos)
			cut = s.len - pos;
		pos += cut;
		for (;;) {
			n = msrp_parse(&p, d, cut, &ev);
			d += n;
			cut -= n;
			if (ev.type == MSRP_EV_NEED_MORE)
				break;
			cr_assert_neq(ev.type, MSRP_EV_ERROR, "parser: %s", ev.reason);
			if (ev.type == MSRP_EV_HEAD) {
				struct msrp_range br;
				enum msrp_report fr;

				cr_assert(ev.msg.is_request && ev.msg.method == MSRP_M_SEND);
				cr_assert_eq(msrp_hdr_range(msrp_hdr_get(&ev.msg, MSRP_H_BYTE_RANGE), &br),
					     0);
				cr_assert_eq(msrp_hdr_ident(msrp_hdr_get(&ev.msg, MSRP_H_MESSAGE_ID)),
					     0);
				cr_assert_eq(msrp_hdr_failure_report(
						     msrp_hdr_get(&ev.msg, MSRP_H_FAILURE_REPORT), &fr),
					     0);
				cr_assert_eq(fr, MSRP_REPORT_PARTIAL);
				rc = msrp_reasm_begin(r, msrp_hdr_get(&ev.msg, MSRP_H_MESSAGE_ID), &br,
						      msrp_hdr_get(&ev.msg, MSRP_H_CONTENT_TYPE), 0,
						      &ck);
				cr_assert_eq(rc, 0);
				heads++;
			} else if (ev.type == MSRP_EV_BODY) {
				cr_assert_eq(msrp_reasm_data(r, &ck, ev.body.p, ev.body.len), 0);
			} else if (ev.type == MSRP_EV_END) {
				rc = msrp_reasm_end(r, &ck, ev.flag, &out);
				cr_assert_geq(rc, 0);
				ends++;
				if (rc == MSRP_REASM_COMPLETE) {
					int i = out.message_id[3] - 'A';

					cr_assert_eq(out.len, lens[i]);
					cr_assert(!memcmp(out.data, data[i], lens[i]), "message %d", i);
					cr_assert_str_eq(out.content_type, "application/octet-stream");
					msrp_reasm_msg_free(&out);
					done++;
				}
			}
		}
	}
	cr_assert(msrp_parser_idle(&p));
	cr_assert_eq(heads, ends);
	cr_assert_eq(heads, 35 + 5 + 1);
	cr_assert_eq(done, 3);
	msrp_parser_free(&p);
	for (int i = 0; i < 3; i++)
		free(data[i]);
	msrp_reasm_destroy(r);
	free(s.p);
}

/* RFC 5547 resumption: a transfer breaks after some chunks; the receiver keeps the run of
 * bytes from the first on (msrp_reasm_take_prefix), the sender starts again after what it
 * knows arrived (msrp_chunk_skip, a new Message-ID), the new reassembler begins with the
 * kept bytes (msrp_reasm_seed) and the message comes out whole. */
Test(msrp_chunk, a_broken_transfer_resumes_from_its_kept_bytes)
{
	enum { LEN = 200000, CS = 4096 };
	char *data = random_bytes(LEN);
	cm_slice piece = { data, LEN }, body[2];
	struct tidgen g = { 0 };
	struct msrp_chunk_msg m;
	struct msrp_chunker c;
	struct msrp_chunk_out o;
	struct msrp_reasm *r = mk_reasm();
	struct msrp_reasm_msg out, kept;
	struct stream s = { 0 };
	struct frame f;
	char buf[1024];
	size_t pos = 0;
	uint64_t total = 0;
	int rc;

	msg_init(&m, "first-try", &g);
	m.total = LEN;
	m.body = &piece;
	m.nbody = 1;
	m.chunk_size = CS;
	cr_assert_eq(msrp_chunk_init(&c, &m), 0);
	for (int i = 0; i < 20; i++) { /* 20 chunks go out, then the connection breaks */
		cr_assert_eq(msrp_chunk_next(&c, buf, sizeof(buf), body, 2, &o), 1);
		st_chunk(&s, &o, body, NULL);
	}
	/* chunk 11 is lost: the run from byte 1 is 10 chunks, whatever came after it */
	for (int i = 0; next_frame(&s, &pos, &f); i++)
		if (i != 10)
			cr_assert_eq(reasm_frame(r, &f, &out), MSRP_REASM_OK);
	cr_assert_eq(msrp_reasm_take_prefix(r, &kept, &total), 1);
	cr_expect_eq(kept.len, 10 * CS);
	cr_expect_eq(total, LEN);
	cr_expect_str_eq(kept.message_id, "first-try");
	cr_expect(!memcmp(kept.data, data, kept.len));
	cr_expect_eq(msrp_reasm_pending(r), 0, "the broken message is gone");
	cr_expect_eq(msrp_reasm_take_prefix(r, &out, &total), 0, "nothing more to take");
	msrp_reasm_destroy(r);
	free(s.p);
	s = (struct stream){ 0 };
	pos = 0;

	/* the sender knows of 8 chunks (their 200s came): it resumes from byte 8 * CS + 1 */
	msg_init(&m, "second-try", &g);
	m.total = LEN;
	m.body = &piece;
	m.nbody = 1;
	m.chunk_size = CS;
	cr_assert_eq(msrp_chunk_init(&c, &m), 0);
	cr_assert_eq(msrp_chunk_skip(&c, 8 * CS), 0);
	cr_assert_eq(msrp_chunk_next(&c, buf, sizeof(buf), body, 2, &o), 1);
	cr_expect_eq(o.range.start, 8 * CS + 1);
	cr_expect_eq(o.range.total, LEN);
	cr_expect_eq(body[0].p, data + 8 * CS);
	cr_expect_eq(msrp_chunk_skip(&c, 1), -EINVAL, "only before the first chunk");
	st_chunk(&s, &o, body, NULL);
	while ((rc = msrp_chunk_next(&c, buf, sizeof(buf), body, 2, &o)) == 1)
		st_chunk(&s, &o, body, NULL);
	cr_assert_eq(rc, 0);

	r = mk_reasm();
	cr_assert_eq(msrp_reasm_seed(r, kept.data, kept.len, total), 0);
	kept.data = NULL;
	msrp_reasm_msg_free(&kept);
	while (next_frame(&s, &pos, &f))
		rc = reasm_frame(r, &f, &out);
	cr_assert_eq(rc, MSRP_REASM_COMPLETE);
	cr_assert_eq(out.len, LEN);
	cr_expect(!memcmp(out.data, data, LEN), "the kept bytes and the rest, in place");
	cr_expect_str_eq(out.message_id, "second-try");
	msrp_reasm_msg_free(&out);

	/* refusals */
	cr_expect_eq(msrp_reasm_seed(r, malloc(8), 8, 8), -EINVAL);
	cr_expect_eq(msrp_reasm_seed(r, malloc(8), 0, 8), -EINVAL);
	cr_assert_eq(msrp_reasm_seed(r, malloc(8), 8, 100), 0); /* never used: destroy frees it */
	msrp_reasm_destroy(r);
	cr_assert_eq(msrp_chunk_init(&c, &m), 0);
	cr_expect_eq(msrp_chunk_skip(&c, LEN), -EINVAL);
	m.total = -1;
	cr_assert_eq(msrp_chunk_init(&c, &m), 0);
	cr_expect_eq(msrp_chunk_skip(&c, 10), -EINVAL, "a '*' total cannot be resumed");
	free(s.p);
	free(data);
}

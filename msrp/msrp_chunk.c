/* msrp_chunk.c — outgoing messages cut into SEND chunks (RFC 4975 §5.1, §7.1, §7.1.1).
 * See msrp_chunk.h. */
#include "msrp/msrp_chunk.h"

#include <errno.h>
#include <string.h>

#include "msrp/msrp_write.h"

#define CHUNK_SIZE_MAX (1u << 31)

/* Bytes in the pieces of <c> from the current position on, up to <limit>. */
static uint64_t bytes_left(const struct msrp_chunker *c, uint64_t limit)
{
	uint64_t n = 0;
	size_t off = c->off;

	for (unsigned i = c->idx; i < c->m.nbody && n < limit; i++, off = 0)
		n += c->m.body[i].len - off;
	return n;
}

/* Sum of every piece. */
static uint64_t bytes_all(const cm_slice *body, unsigned n)
{
	uint64_t t = 0;

	for (unsigned i = 0; i < n; i++)
		t += body[i].len;
	return t;
}

int msrp_chunk_init(struct msrp_chunker *c, const struct msrp_chunk_msg *m)
{
	if (!c || !m || !m->to_path.len || !m->from_path.len || !m->message_id.len || !m->tid_fn)
		return -EINVAL;
	if (m->total < -1 || (m->nbody && !m->body) || m->chunk_size > CHUNK_SIZE_MAX)
		return -EINVAL;
	if ((unsigned)m->success_report > MSRP_REPORT_NO ||
	    (unsigned)m->failure_report > MSRP_REPORT_PARTIAL)
		return -EINVAL;
	if (m->total != 0 && !m->content_type.len)
		return -EINVAL;         /* §7.1: a body needs a Content-Type */
	if (m->total >= 0 && bytes_all(m->body, m->nbody) > (uint64_t)m->total)
		return -EINVAL;
	memset(c, 0, sizeof(*c));
	c->m = *m;
	if (!c->m.chunk_size)
		c->m.chunk_size = MSRP_CHUNK_SIZE_DEFAULT;
	if (c->m.total >= 0 && bytes_all(m->body, m->nbody) == (uint64_t)m->total)
		c->m.body_final = 1;
	c->state = MSRP_CHUNK_ACTIVE;
	return 0;
}

int msrp_chunk_feed(struct msrp_chunker *c, const cm_slice *body, unsigned nbody, int final)
{
	if (!c || nbody < c->m.nbody || (nbody && !body))
		return -EINVAL;
	if (c->m.total >= 0 && bytes_all(body, nbody) > (uint64_t)c->m.total)
		return -EINVAL;
	c->m.body = body;
	c->m.nbody = nbody;
	c->m.body_final = c->m.body_final || final;
	return 0;
}

int msrp_chunk_skip(struct msrp_chunker *c, uint64_t n)
{
	if (!c || c->nchunks || c->state != MSRP_CHUNK_ACTIVE || c->m.total < 0 ||
	    n >= (uint64_t)c->m.total || bytes_all(c->m.body, c->m.nbody) < n)
		return -EINVAL;
	uint64_t left = n;
	unsigned idx = 0;
	while (left && idx < c->m.nbody) {
		if (c->m.body[idx].len > left)
			break;
		left -= c->m.body[idx++].len;
	}
	c->idx = idx;
	c->off = (size_t)left;
	c->sent = n;
	return 0;
}

/* Writes head and tail of the chunk described by <o> into <buf>, fills out->head/tail.
 * 0, -ENOSPC, -EINVAL. */
static int emit(char *buf, size_t len, const struct msrp_out *o, enum msrp_flag flag,
		struct msrp_chunk_out *out)
{
	char tail[MSRP_TAIL_MAX];
	ssize_t h, t = 0;

	h = msrp_write_head(buf, len, o, flag);
	if (h < 0)
		return (int)h;
	if (o->content_type.len) {
		t = msrp_write_tail(tail, sizeof(tail), o->tid, flag);
		if (t < 0)
			return (int)t;
	}
	if ((size_t)h + (size_t)t > len)
		return -ENOSPC;
	memcpy(buf + h, tail, (size_t)t);
	out->head = (cm_slice){ buf, (size_t)h };
	out->tail = (cm_slice){ buf + h, (size_t)t };
	return 0;
}

/* The description common to every chunk of <c>. */
static void chunk_out_base(const struct msrp_chunker *c, struct msrp_out *o,
			   struct msrp_chunk_out *out)
{
	*o = (struct msrp_out){
		.tid = { out->tid, out->tid_len },
		.method = MSRP_M_SEND,
		.to_path = c->m.to_path,
		.from_path = c->m.from_path,
		.message_id = c->m.message_id,
		.byte_range = &out->range,
		.success_report = c->m.success_report,
		.failure_report = c->m.failure_report,
		.mime = c->m.mime,
		.nmime = c->m.nmime,
		.content_type = c->m.content_type,
	};
}

static int next_abort(struct msrp_chunker *c, char *buf, size_t len,
		      struct msrp_chunk_out *out)
{
	struct msrp_out o;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = msrp_write_pick_tid(c->m.tid_fn, c->m.tid_arg, NULL, 0, out->tid, sizeof(out->tid));
	if (rc < 0)
		return rc;
	out->tid_len = (size_t)rc;
	out->range = (struct msrp_range){ c->sent + 1, -1, c->m.total };
	out->flag = MSRP_FLAG_ABORT;
	chunk_out_base(c, &o, out);
	rc = emit(buf, len, &o, MSRP_FLAG_ABORT, out);
	if (rc < 0)
		return rc;
	c->nchunks++;
	c->state = MSRP_CHUNK_DONE;
	return 1;
}

int msrp_chunk_next(struct msrp_chunker *c, char *buf, size_t len, cm_slice *body,
		    unsigned body_max, struct msrp_chunk_out *out)
{
	uint64_t want, n = 0;
	unsigned idx, nb = 0;
	size_t off;
	int last, rc;
	struct msrp_out o;

	if (!c || !out || (!buf && len))
		return -EINVAL;
	if (c->state == MSRP_CHUNK_DONE)
		return 0;
	if (c->state == MSRP_CHUNK_ABORTING)
		return next_abort(c, buf, len, out);

	want = c->m.chunk_size;
	if (c->m.total >= 0 && (uint64_t)c->m.total - c->sent < want)
		want = (uint64_t)c->m.total - c->sent;
	if (want && (!body || !body_max))
		return -EINVAL;

	/* gather up to <want> bytes from the current position, as slices of the pieces */
	idx = c->idx;
	off = c->off;
	while (n < want && idx < c->m.nbody && nb < body_max) {
		cm_slice s = c->m.body[idx];
		size_t avail = s.len - off, take;

		if (!avail) {
			idx++;
			off = 0;
			continue;
		}
		take = (uint64_t)avail < want - n ? avail : (size_t)(want - n);
		body[nb++] = (cm_slice){ s.p + off, take };
		n += take;
		off += take;
		if (off == s.len) {
			idx++;
			off = 0;
		}
	}

	if (c->m.total >= 0) {
		last = c->sent + n == (uint64_t)c->m.total;
		if (!last && n < want && nb < body_max)
			return c->m.body_final ? -EINVAL : -EAGAIN;  /* the pieces ran out */
	} else {
		struct msrp_chunker after = *c;

		after.idx = idx;
		after.off = off;
		if (bytes_left(&after, 1))
			last = 0;
		else if (c->m.body_final)
			last = 1;
		else
			return -EAGAIN;  /* hold back: this could be the last chunk */
	}

	memset(out, 0, sizeof(*out));
	rc = msrp_write_pick_tid(c->m.tid_fn, c->m.tid_arg, body, nb, out->tid, sizeof(out->tid));
	if (rc < 0)
		return rc;
	out->tid_len = (size_t)rc;
	out->flag = last ? MSRP_FLAG_END : MSRP_FLAG_MORE;
	out->range.start = c->sent + 1;
	out->range.end = !last && (c->m.flags & MSRP_CHUNK_F_END_STAR) ? -1 : (int64_t)(c->sent + n);
	out->range.total = c->m.total >= 0 ? c->m.total : last ? (int64_t)(c->sent + n) : -1;
	out->nbody = nb;
	out->body_len = n;
	chunk_out_base(c, &o, out);
	rc = emit(buf, len, &o, out->flag, out);
	if (rc < 0)
		return rc;

	c->idx = idx;
	c->off = off;
	c->sent += n;
	c->nchunks++;
	if (last)
		c->state = MSRP_CHUNK_DONE;
	return 1;
}

int msrp_chunk_abort(struct msrp_chunker *c, int inflight)
{
	if (!c)
		return -EINVAL;
	if (c->state == MSRP_CHUNK_ABORTING)
		return -EALREADY;
	if (c->state == MSRP_CHUNK_DONE) {
		/* the last chunk may still be on its way: its tail can become '#' */
		if (inflight && c->nchunks)
			return 0;
		return -EALREADY;
	}
	if (inflight || !c->nchunks) {
		c->state = MSRP_CHUNK_DONE;
		return 0;
	}
	c->state = MSRP_CHUNK_ABORTING;
	return 1;
}

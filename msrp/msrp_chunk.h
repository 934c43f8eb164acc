/* msrp_chunk.h — splitting an outgoing message into SEND chunks (RFC 4975 §5.1, §7.1,
 * §7.1.1): Byte-Range start-end/total, '+' on every chunk but the last, '$' on the last,
 * '#' to abort; a fresh transaction id per chunk that does not occur in its body.
 *
 * One struct msrp_chunker per outgoing message, owned by the caller (no allocation). The
 * connection layer keeps several and calls msrp_chunk_next() on them in turn, so that
 * chunks of different messages interleave on one connection (§7.1.1). Each call writes the
 * chunk's head and tail into the caller's buffer and points the body slices at the
 * caller's data (zero-copy); the caller sends head, body slices, tail in that order and
 * must keep the data alive until they are sent.
 *
 * Engine-independent: pure functions over the caller's memory. */
#ifndef MSRP_CHUNK_H
#define MSRP_CHUNK_H

#include <stddef.h>

#include "common/cm_slice-t.h"
#include "msrp/msrp-t.h"

/* Sets up <c> for the message <m> (copied; the memory behind its slices and body stays the
 * caller's and must outlive the chunker). With <m>->total >= 0 the body pieces given must
 * add up to it once complete; with -1 the body streams in through msrp_chunk_feed() and
 * the total is written '*' until the last chunk. 0, or -EINVAL: empty To-Path, From-Path
 * or Message-ID, no Content-Type for a non-empty message, no tid generator, a total
 * smaller than the pieces given, a chunk size of more than 2^31, Success-Report
 * "partial". */
int msrp_chunk_init(struct msrp_chunker *c, const struct msrp_chunk_msg *m);

/* Streaming: <body> is now the whole list of pieces, <nbody> of them: the ones given
 * before (same contents, the array may have moved) then the new ones. <final>: nothing will
 * be added. 0, or -EINVAL when <nbody> shrank, or when the pieces exceed a known total. */
int msrp_chunk_feed(struct msrp_chunker *c, const cm_slice *body, unsigned nbody, int final);

/* Resuming (RFC 5547 a=file-range): the first <n> body bytes are the peer's already, so
 * the first chunk starts at byte <n> + 1 (its Byte-Range says so) and they are never sent.
 * Before any chunk only, with a known total and the pieces given up to there. 0, or
 * -EINVAL (a chunk was produced, the total is '*', <n> is the total or more, or the pieces
 * given hold fewer than <n> bytes). */
int msrp_chunk_skip(struct msrp_chunker *c, uint64_t n);

/* Produces the next chunk of <c>: head and tail written into <buf> (<len> bytes; the head
 * is at most a few hundred bytes plus the paths and MIME headers), the body as up to
 * <body_max> slices into <body> (a chunk is cut short when it would need more), everything
 * described in <out>. A chunk carries at most chunk_size body bytes; '+' unless it is the
 * last, '$' for the last, '#' for the one msrp_chunk_abort() asked for.
 * Returns 1 (a chunk is in <out>), 0 (nothing more: the message is done), -EAGAIN
 * (streaming: more body is needed first; a chunk is held back until a byte beyond it is
 * known, so that the last chunk never comes out empty), -ENOSPC (<buf> too small; nothing
 * consumed: call again with more room), -EINVAL (<body_max> 0, the pieces ended before a
 * known total), -EEXIST or the generator's -errno (no usable tid, see
 * msrp_write_pick_tid()). */
int msrp_chunk_next(struct msrp_chunker *c, char *buf, size_t len, cm_slice *body,
		    unsigned body_max, struct msrp_chunk_out *out);

/* Aborts the message (§7.1.1 '#'). <inflight> not 0: the caller ends the chunk it is
 * sending with msrp_write_tail(out.tid, '#') instead of out.tail, so no chunk is owed; 0:
 * between chunks, the next msrp_chunk_next() gives a chunk with an empty body, range-end
 * '*' and flag '#' (an interrupted chunk that carried no byte, a shape §7.1 allows).
 * Returns 1 when that '#' chunk is owed, 0 when nothing needs to go out (nothing was sent
 * yet, or <inflight>), -EALREADY when the message was already done or aborted. */
int msrp_chunk_abort(struct msrp_chunker *c, int inflight);

/* 1 when the last chunk was produced (or the message aborted), else 0. */
static inline int msrp_chunk_done(const struct msrp_chunker *c)
{
	return c->state == MSRP_CHUNK_DONE;
}

#endif

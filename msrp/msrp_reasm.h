/* msrp_reasm.h — reassembly of incoming chunks into whole messages (RFC 4975 §5.1, §7.3,
 * §8.5), for the user agent and the gateway; the relay path never reassembles.
 *
 * One reassembler per session. Chunks may come in any order, overlap or repeat: bytes are
 * written where their Byte-Range puts them as they stream in, so the chunk received last
 * wins where chunks overlap. The total may be '*' until some chunk (at the latest the '$'
 * one) tells it. A message is complete when the '$' chunk has been seen and bytes 1..total
 * are all covered; '#' aborts it.
 *
 * Bounded: <max_message> bytes per message, <max_chunks> chunks per message,
 * MSRP_REASM_RANGES disjoint ranges per message, <max_partial> messages at once,
 * <max_buffered> bytes allocated for all of them (a peer announcing large totals cannot
 * claim max_partial x max_message), and <timeout_ms> of silence per message (the caller drives time: msrp_reasm_expire()). A chunk
 * past a bound drops its message alone and its verdict asks for 413; later chunks of that
 * message get the same verdict without allocating (recently finished Message-IDs are
 * remembered, MSRP_REASM_DEAD of them, for <timeout_ms>).
 *
 * Memory: malloc, not pools (reassembly serves the UA and the gateway, not the relay's hot
 * path). A message whose total is known is gathered into one buffer of exactly that size,
 * allocated with its first chunk; with a '*' total the buffer grows with the bytes, by at
 * most <grow_step> at a time (doubling below that), never beyond <max_message>.
 *
 * Per chunk, in the parser's order:
 *
 *     msrp_reasm_begin()    headers parsed: Message-ID, Byte-Range, Content-Type
 *     msrp_reasm_data()     each body piece, in order (may be skipped once begin failed)
 *     msrp_reasm_end()      end-line seen: its flag; the verdict for the response
 *
 * and msrp_reasm_code() turns any of their returns into the response code. Not thread-safe:
 * the session's worker alone uses it. */
#ifndef MSRP_REASM_H
#define MSRP_REASM_H

#include <stddef.h>
#include <stdint.h>

#include "common/cm_slice-t.h"
#include "msrp/msrp-t.h"

/* Verdicts of msrp_reasm_end() (errors are -errno). */
#define MSRP_REASM_OK       0   /* chunk stored, message not complete yet */
#define MSRP_REASM_COMPLETE 1   /* message complete: it is in <out>, the caller owns it */
#define MSRP_REASM_ABORTED  2   /* '#': the message was dropped */
#define MSRP_REASM_LATE     3   /* chunk of a message already delivered or aborted: ignored */

/* Fills <cfg> with the MSRP_REASM_*_DEFAULT values. */
void msrp_reasm_cfg_defaults(struct msrp_reasm_cfg *cfg);

/* A reassembler with the bounds of <cfg> (copied; zero fields take the defaults;
 * max_partial is capped at MSRP_REASM_PARTIAL_MAX). NULL when out of memory. */
struct msrp_reasm *msrp_reasm_create(const struct msrp_reasm_cfg *cfg);

/* Frees <r> and every partial message in it. NULL is fine. */
void msrp_reasm_destroy(struct msrp_reasm *r);

/* A chunk of message <msgid> covering <br> starts (its <ctype> is kept from the first chunk
 * that has one); <now_ms> stamps the message's activity. Fills <ck>. Returns 0, or the
 * -errno verdict that msrp_reasm_end() will repeat (the caller may skip the body then):
 * -EINVAL (Message-ID empty or longer than MSRP_TID_MAX, a Byte-Range that does not fit
 * itself or the message's earlier chunks: 400), -EMSGSIZE (beyond max_message: 413),
 * -E2BIG (beyond max_chunks: 413), -EBUSY (max_partial messages already in progress:
 * 413), -ENOBUFS (its buffer would pass max_buffered: 413), -ENOMEM (413). A chunk of a recently finished message gives 0 and end() says
 * MSRP_REASM_LATE (or repeats the error that dropped it). */
int msrp_reasm_begin(struct msrp_reasm *r, cm_slice msgid, const struct msrp_range *br,
		     cm_slice ctype, uint64_t now_ms, struct msrp_reasm_chunk *ck);

/* <len> more body bytes of the chunk <ck>. 0, or the -errno verdict (as for begin, and
 * -EINVAL for bytes beyond the chunk's range-end or the known total); after an error the
 * rest of the body is ignored cheaply. */
int msrp_reasm_data(struct msrp_reasm *r, struct msrp_reasm_chunk *ck, const void *p,
		    size_t len);

/* The chunk <ck> ended with <flag>. Returns MSRP_REASM_OK, MSRP_REASM_COMPLETE (the whole
 * message is in <out>: its data and content type now belong to the caller, see
 * msrp_reasm_msg_free()), MSRP_REASM_ABORTED, MSRP_REASM_LATE, or the -errno verdict of
 * the chunk (-E2BIG also when the message is split into more than MSRP_REASM_RANGES
 * disjoint ranges; -ESTALE when the message was expired while the chunk streamed: 413). */
int msrp_reasm_end(struct msrp_reasm *r, struct msrp_reasm_chunk *ck, enum msrp_flag flag,
		   struct msrp_reasm_msg *out);

/* Resuming a transfer that broke (RFC 5547 a=file-range). Of the messages in progress whose
 * total is known, the one with the longest run of bytes from its first on: its bytes
 * 1..n go to the caller in <out> (data of n bytes — allocated for the whole total, so
 * msrp_reasm_seed() can take it back as it is —, content type, Message-ID), *<total> gets
 * its total, and the message is dropped. 1 when one was taken, 0 when none has a first byte
 * (nothing changed). Bytes of a chunk still streaming count only once its end-line came. */
int msrp_reasm_take_prefix(struct msrp_reasm *r, struct msrp_reasm_msg *out, uint64_t *total);

/* The first <len> bytes of a message of <total> bytes, kept from a transfer that broke
 * (<data>: malloc'd, at least <len> bytes; taken by <r> in every case): the next message that
 * starts here with that total (a new Message-ID: the resumed transfer) begins with them,
 * and its chunks bring the rest (from byte <len> + 1 on, or earlier: the later bytes win).
 * One seed at a time (a second replaces the first); msrp_reasm_destroy() frees one never
 * used. 0, or -EINVAL (<len> 0 or not below <total>; <data> freed). */
int msrp_reasm_seed(struct msrp_reasm *r, void *data, uint64_t len, uint64_t total);

/* The seed msrp_reasm_seed() gave that no message took yet, back to the caller: 1 (its
 * data, length and total in the out-parameters; the caller frees *<data>), 0 (none). */
int msrp_reasm_take_seed(struct msrp_reasm *r, void **data, uint64_t *len, uint64_t *total);

/* The response code for a verdict: 200 for the ones >= 0, 400 for -EINVAL, 413 for the
 * other errors. */
int msrp_reasm_code(int verdict);

/* Drops the messages with no chunk for timeout_ms before <now_ms>; <cb>(<arg>, Message-ID)
 * is told each one (may be NULL). Returns how many. */
unsigned msrp_reasm_expire(struct msrp_reasm *r, uint64_t now_ms,
			   void (*cb)(void *arg, cm_slice msgid), void *arg);

/* When msrp_reasm_expire() will next have something to drop (ms, same clock as now_ms);
 * UINT64_MAX when no message is in progress. For arming the caller's timer. */
uint64_t msrp_reasm_next_expiry(const struct msrp_reasm *r);

/* Messages in progress. */
unsigned msrp_reasm_pending(const struct msrp_reasm *r);

/* Copies the counters of <r>. */
void msrp_reasm_stats(const struct msrp_reasm *r, struct msrp_reasm_stats *out);

/* Frees what msrp_reasm_end() handed over and zeroes <m>. */
void msrp_reasm_msg_free(struct msrp_reasm_msg *m);

#endif

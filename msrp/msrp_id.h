/* msrp_id.h — identifiers that rcsgw mints (session-ids, transaction ids, Message-IDs) and
 * the shard of a session-id.
 *
 * A session-id minted here carries the shard that owns the session (DESIGN.md §1), so that
 * a frame is routed with no table look-up, and 100 random bits (RFC 4975 §14.1 asks for at
 * least 80). Its form, MSRP_ID_SESSION_LEN characters of the lower-case base32 alphabet
 * "a-z2-7" (RFC 4648 §6, all of them unreserved, so valid in a session-id and in a URI):
 *
 *   'r'  shard(2)  random(20)  check(1)
 *
 * shard: 10 bits, the top two zero; check: the sum of (2 x position + 1) x value over the
 * 23 characters before it, modulo 32 (odd weights: any single changed character is seen),
 * so that a foreign id is rarely taken for ours.
 * Ids of peers get -1 from msrp_id_shard(); the caller then hashes them with
 * msrp_id_hash() (keyed SipHash-2-4: peers cannot aim their ids at one shard).
 *
 * Randomness comes from getrandom(2) through a per-thread buffer (see msrp_id.c). Every
 * function may be called from any thread, without a lock. */
#ifndef MSRP_ID_H
#define MSRP_ID_H

#include <stddef.h>
#include <stdint.h>

#include "common/cm_slice-t.h"
#include "msrp/msrp-t.h"

/* Draws the per-process SipHash key of msrp_id_hash() and registers the fork handler that
 * empties the calling thread's random buffer in a child. Call it once at start-up, before
 * the workers start; later calls do nothing. The other functions call it themselves when
 * needed, so forgetting it costs nothing but the error report. 0, or -errno of
 * getrandom(2) (then msrp_id_hash() aborts and the minting functions fail). */
int msrp_id_init(void);

/* Mints a session-id owned by <shard> (0..255) into <buf>: MSRP_ID_SESSION_LEN characters
 * and a NUL. Returns MSRP_ID_SESSION_LEN, -EINVAL when <shard> > 255, -ENOSPC when <len>
 * < MSRP_ID_SESSION_LEN + 1, or -errno of getrandom(2). */
int msrp_id_session(unsigned shard, char *buf, size_t len);

/* The shard of <session_id> among <nshards> workers when it has the form of the ids
 * msrp_id_session() mints: its shard when that is below <nshards>, else that shard modulo
 * <nshards> (an id minted by a node or a run with more workers: every caller agrees on the
 * result). -1 when it is not ours, or when <nshards> is 0. Reads session_id.len bytes, no
 * more. */
int msrp_id_shard(cm_slice session_id, unsigned nshards);

/* SipHash-2-4 (wolfSSL) of <id> under the per-process key: stable within a process, unknown
 * to peers. For ids that msrp_id_shard() does not recognise: shard = hash % nshards. */
uint64_t msrp_id_hash(cm_slice id);

/* The shard of <session_id> among <nshards> (>= 1) workers, whoever minted it: ours carry
 * it (msrp_id_shard()), the others get msrp_id_hash() % <nshards>. The one function that
 * both the owner of a new session and the router of its frames call. */
unsigned msrp_id_route(cm_slice session_id, unsigned nshards);

/* Mints a transaction id (RFC 4975 §9 ident, ALPHANUM 3*31ident-char) into <buf>:
 * MSRP_ID_TID_LEN characters (80 random bits, so that the end-line "-------<tid>" of a frame
 * cannot be guessed by whoever writes its body) and a NUL. Cheap enough for one call per
 * frame sent. Returns MSRP_ID_TID_LEN, -ENOSPC, or -errno of getrandom(2). */
int msrp_id_tid(char *buf, size_t len);

/* Mints a Message-ID (ident) into <buf>: MSRP_ID_MSGID_LEN characters (120 random bits:
 * unique across nodes, as deduplication by Message-ID needs) and a NUL. Returns
 * MSRP_ID_MSGID_LEN, -ENOSPC, or -errno of getrandom(2). */
int msrp_id_message(char *buf, size_t len);

#endif

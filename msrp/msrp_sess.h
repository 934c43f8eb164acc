/* msrp_sess.h — the MSRP sessions one worker owns, by session-id, and the connection each
 * is bound to (RFC 4975 §5.4, §7.3: a session lives on one connection; a request for it
 * that arrives on another gets 506).
 *
 * Worker-local, no locks. The ids are hashed with the process's keyed SipHash
 * (msrp_id_hash): a peer choosing ids cannot flood one bucket. Entries are the caller's
 * memory (embed struct msrp_sess in the relay's or user agent's session object): the table
 * allocates only its buckets. */
#ifndef MSRP_SESS_H
#define MSRP_SESS_H

#include <stdint.h>

#include "common/cm_slice-t.h"
#include "msrp/msrp-t.h"

struct msrp_conn;

#define MSRP_SESS_ID_MAX 64        /* bytes of a session-id we keep (ours are 24) */

struct msrp_sess {
	struct msrp_sess *hnext;       /* bucket chain */
	struct msrp_conn *conn;        /* bound connection, NULL while unbound */
	struct msrp_sess *cnext, **cprev; /* the bound connection's list */
	uint64_t hash;
	uint8_t idlen;
	char id[MSRP_SESS_ID_MAX];
};

/* The sessions bound to one connection: the connection's owner keeps one next to it. */
struct msrp_sess_list {
	struct msrp_sess *head;
};

struct msrp_sess_table {
	struct msrp_sess **buckets;
	uint32_t mask;
	uint32_t count;
};

/* Makes a table of <buckets> (rounded up to a power of two). 0 or -ENOMEM. */
int msrp_sess_table_init(struct msrp_sess_table *t, uint32_t buckets);
/* Frees the buckets (entries are the caller's). */
void msrp_sess_table_fini(struct msrp_sess_table *t);

/* Enters <s> under <id>, unbound. 0, -EEXIST when the id is taken, -EINVAL when it is empty
 * or longer than MSRP_SESS_ID_MAX. */
int msrp_sess_add(struct msrp_sess_table *t, struct msrp_sess *s, cm_slice id);
/* Takes <s> out (it must be in <t>). */
void msrp_sess_remove(struct msrp_sess_table *t, struct msrp_sess *s);
/* The session of <id>, or NULL. */
struct msrp_sess *msrp_sess_find(const struct msrp_sess_table *t, cm_slice id);

/* The session a request is for: the session-id of the first URI of its To-Path (that URI is
 * ours). NULL when the path or URI is malformed or no session has that id. */
struct msrp_sess *msrp_sess_of_request(const struct msrp_sess_table *t, const struct msrp_msg *m);

/* A request for <s> arrived on <mc>, whose bound sessions are <list>: binds an unbound
 * session to <mc> (§5.4: the first request binds it). Returns 0 when <s> is (now) bound to
 * <mc>, or 506 when it is bound to another connection — the status to answer. */
int msrp_sess_bind(struct msrp_sess *s, struct msrp_conn *mc, struct msrp_sess_list *list);
/* Unbinds <s> (the peer may bind it again from a new connection). */
void msrp_sess_unbind(struct msrp_sess *s);
/* The connection of <list> is going away: its sessions become unbound. Returns how many. */
unsigned msrp_sess_unbind_all(struct msrp_sess_list *list);
/* The sessions of <list> (walks it: for listings, not the message path). */
unsigned msrp_sess_list_count(const struct msrp_sess_list *list);

#endif

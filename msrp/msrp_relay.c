/* msrp_relay.c — the MSRP relay of RFC 4976 on one worker (see msrp_relay.h).
 *
 * Pieces, in the order a request meets them:
 *   rconn   the relay's state of one connection (accepted, or opened by the pool): the
 *           sessions it AUTHed, the inbound frame being forwarded, and — as a destination —
 *           the frame being written on it and the frames waiting for their turn.
 *   route   what the To-Path asks for: 481, 403, the session of our client, or a peer.
 *   fwd     one inbound frame on its way: its head rewritten once into a template, its body
 *           streamed (zero-copy) into pieces of at most max_fwd_chunk bytes, each piece a
 *           request of its own on the destination with a fresh transaction id.
 *   otx     what a piece needs when its response comes back: where the failure REPORT goes.
 *   xmsg    a piece for a session of another worker, through that worker's mailbox.
 * rconns are kept on a free list until the relay is freed and carry a generation: an otx
 * or a mailbox message that outlived its connection finds it dead, never freed memory. */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "common/cm_log.h"
#include "common/cm_time.h"
#include "msrp/msrp_creds_src.h"
#include "msrp/msrp_egress.h"
#include "msrp/msrp_hdr.h"
#include "msrp/msrp_id.h"
#include "msrp/msrp_pool.h"
#include "msrp/msrp_relay.h"
#include "msrp/msrp_report.h"
#include "msrp/msrp_sess.h"
#include "msrp/msrp_ua.h"
#include "msrp/msrp_uri.h"
#include "msrp/msrp_write.h"

#define LIMIT_SLOTS 65536          /* per-user and per-IP counters (hashed, shared) */
#define MAX_LOCALS 64              /* local addresses recognised in our URIs */
#define MAX_PORTS 16               /* listener ports recognised in our URIs */
#define MAX_WORKERS 256            /* shards a session-id can name */
#define HEAD_OUT 20480             /* bytes of a rewritten head (max_head + our URIs) */
#define CROSS_PIECE (64u << 10)    /* body bytes per piece crossing workers, at most */
#define HELD_PAUSE (1u << 20)      /* bytes held for one source (its frames waiting for a
				    * destination, with a per-frame and per-piece overhead) that
				    * pause its reading; it resumes below half of that */
#define HELD_FRAME 512             /* overhead charged per waiting frame */
#define HELD_PIECE 64              /* ... and per waiting piece of body */
#define USE_PATH_MAX 512
#define FWD_INLINE 1024            /* bytes of template and rinfo kept inside a fwd */
#define OTX_INLINE 448             /* bytes of rinfo kept inside an otx */
#define FREE_KEEP 4096             /* fwds and otxs kept for reuse per worker */
#define ORIGIN_NODE 0x10000u       /* origin.worker of a piece from another node: bits 8..15
				    * its node (r->peers), 0..7 its worker there */
#define PEERS_MAX 64               /* other nodes a worker remembers (their REPORTs) */
#define NODE_PIECE_VERSION 1

/* The status of a forwarding that failed on our side: no next hop to be had (no pool, a ;ws
 * client, the egress hook or the connect refused), the outgoing connection lost before the
 * next hop answered (msrp_conn's local 503: MSRP has no such code), a write refused, the
 * other worker's mailbox full. It goes in the response when the previous hop has not had
 * its 200 yet (an AUTH, whose response goes end to end; the first piece of a frame crossing
 * workers), else in the failure REPORT its Failure-Report asks for (yes or partial:
 * RFC 4975 §5.3, msrp_report.h).
 *
 * Implementation choice. RFC 4975 §10 defines the codes (IANA: 403 Action-not-allowed,
 * 408 Transaction-did-not-complete-in-allotted-time, 481 Session-does-not-exist) and
 * RFC 4976 §6 what a relay refuses (403: a request it is not authorized to carry; 481: a
 * session it does not have), but neither names a code for a hop that cannot be reached or
 * that goes away mid-transaction. 403 is kept for it: 408 stays what it says, no response
 * within msrp.transaction_timeout from a next hop that is still there
 * (relay/failure_report_408_when_the_next_hop_is_silent); 481 stays the session that is
 * gone (a SEND for a client whose connection closed). A sender thus tells "this relay could
 * not carry it" (403) from "the next hop is silent" (408). Tests:
 * faults/relay_receiver_gone_with_transactions_open, relay_peers (a hop on a closed port). */
#define FWD_FAILED 403

/* ---- shared ------------------------------------------------------------------------- */

struct local_addr {
	int family;
	unsigned char a[16];
};

struct msrp_relay_shared {
	struct msrp_relay_cfg cfg;
	char realm[MSRP_AUTH_REALM_MAX + 1];
	char public_host[MSRP_URI_HOST_MAX + 1];
	struct msrp_auth_cfg auth;
	eng_engine *e;
	unsigned nworkers;
	struct local_addr locals[MAX_LOCALS];
	unsigned nlocals;
	_Atomic uint32_t ports[MAX_PORTS];
	_Atomic(struct msrp_relay *) workers[MAX_WORKERS];
	_Atomic uint32_t per_user[LIMIT_SLOTS];
	_Atomic uint32_t per_ip[LIMIT_SLOTS];
};

/* ---- per worker --------------------------------------------------------------------- */

struct fwd;

#define RC_DEAD    0x01            /* on_close ran: only the free list holds it */
#define RC_SKIP    0x02            /* the inbound frame is not forwarded (answered, refused) */
#define RC_PAUSED  0x04            /* we paused its reading (frames waiting elsewhere) */
#define RC_POOLED  0x08            /* a connection of the pool (we opened it) */
#define RC_SEEN    0x10            /* it sent a frame (only a first frame may move it) */
#define RC_UA      0x20            /* the inbound frame is for a user-agent session */

struct rconn {
	struct msrp_conn *mc;
	struct msrp_relay *r;
	uint32_t gen;
	uint32_t slot;                 /* its index in r->rcs (for ever: rconns are reused) */
	uint16_t auth_fail;
	uint8_t flags;
	uint8_t pending_auth;          /* a credentials look-up runs for it */
	struct msrp_sess_list sess;    /* sessions it AUTHed */
	struct msrp_ua_conn uc;        /* the user agent's state of it (its sessions bound here) */
	struct fwd *in;                /* inbound frame being forwarded */
	uint64_t held;                 /* bytes held for its frames that wait (HELD_PAUSE) */
	uint64_t xheld;                /* bytes of its pieces in other workers, not yet given
					* back (X_CREDIT) */
	struct fwd *out_cur;           /* the frame whose piece is being written on it */
	struct fwd *wait_head, **wait_tail; /* frames waiting to be written on it */
	struct pauth *auth;            /* AUTH waiting for its credentials */
	struct rconn *free_next;
	struct rconn *lnext, **lprev;  /* the relay's live connections */
};

struct rsess {
	struct msrp_sess s;            /* first: msrp_sess -> rsess */
	struct rconn *owner;
	eng_timer exp;
	uint64_t expires_ms;           /* wall clock (the cluster's record says it) */
	uint16_t user_slot, ip_slot;
	char user[];                   /* who AUTHed for it */
};

struct msrp_relay {
	struct msrp_relay_shared *sh;
	eng_worker *w;
	struct msrp_worker *mw;
	struct msrp_pool *pool;
	struct msrp_creds_src *creds;
	const struct msrp_creds *file; /* the credentials file when <creds> is NULL */
	int have_creds;                /* any credentials source: else AUTH gets 403 */
	struct msrp_egress *egress;
	struct msrp_ua *ua;            /* the worker's user agent, or NULL */
	struct msrp_relay_repl repl;   /* the cluster's (issue 8); .arg NULL: none */
	struct msrp_relay_fwd node;    /* the cluster's routing to other nodes; .arg NULL: none */
	char (*peers)[MSRP_RELAY_NODE_MAX + 1]; /* nodes that sent us pieces (ORIGIN_NODE) */
	unsigned npeers;
	unsigned index;
	struct msrp_sess_table sessions;
	struct rconn *rc_free;
	struct rconn *live;            /* every rconn not released */
	struct rconn **rcs;            /* every rconn ever made (REPORTs from other nodes name
					* their origin by index and generation) */
	uint32_t nrcs, crcs;
	struct fwd *fwd_free;          /* reused fwds (fwd_alloc) */
	struct xmsg *credit_retry;     /* X_CREDITs the mailbox refused */
	eng_timer credit_timer;
	struct otx *otx_free;          /* reused otxs of OTX_INLINE bytes */
	uint32_t nfwd_free, notx_free;
	struct msrp_relay_stats st;
};

/* Who sent a request and how to answer it, carried by a frame on its way (fwd), by its
 * pieces awaiting responses (otx) and across workers (xmsg): the REPORT or response goes
 * to <rc> (generation <gen>) on worker <worker>; the paths and ids are in an rinfo buffer of
 * rto_len + rfrom_len + msgid_len + otid_len bytes (From-Path as received, our URI,
 * Message-ID, the request's tid). */
struct origin {
	unsigned worker;
	struct rconn *rc;
	uint32_t gen;
	enum msrp_method method;
	enum msrp_report fr;
	uint16_t rto_len, rfrom_len, msgid_len, otid_len;
};

static size_t origin_len(const struct origin *o)
{
	return (size_t)o->rto_len + o->rfrom_len + o->msgid_len + o->otid_len;
}

/* The form of the frame being forwarded: its method, whether it has a Byte-Range and a
 * body, and the template of its head (see struct fwd). */
struct shape {
	char method_name[16];
	int has_range;                 /* a Byte-Range header came (or must go out) */
	int range_kept;                /* no piece can differ from it: the received Byte-Range
					* line stays in the template as it came */
	int has_body;
	size_t tmpl_len, range_at, range_end;
};

/* One piece of body waiting for its destination: a reference into a receive buffer, or a
 * heap copy (<b> NULL). */
struct pend {
	eng_buf *b;
	char *p;
	uint32_t len;
};

enum dkind { D_LOCAL = 0, D_REMOTE, D_POOL, D_DROP };

/* A frame waiting for its next hop to be chosen (egress) and connected (pool). */
struct pool_wait {
	struct msrp_relay *r;
	struct fwd *f;                 /* NULL when the fwd went away before the connection */
	struct msrp_egress_req ereq;
};

struct fwd {
	struct msrp_relay *r;
	struct rconn *src;             /* NULL for a piece that came from another worker */
	uint32_t src_gen;
	struct origin o;               /* where failure REPORTs go */
	enum dkind dkind;
	struct rconn *dst;             /* D_LOCAL once known */
	unsigned dworker;              /* D_REMOTE */
	char dsid[MSRP_SESS_ID_MAX + 1];
	uint8_t dsidlen;
	struct pool_wait *pw;          /* D_POOL while the connection opens */
	struct shape sh;
	struct msrp_range orig;        /* of the received chunk ('*' as -1) */
	uint64_t k;                    /* body bytes per piece, 0: no limit */
	uint64_t off;                  /* body bytes taken in */
	uint64_t emitted;              /* body bytes written to the destination */
	uint64_t piece_start;          /* offset of the open piece */
	int piece_open;
	char tid[MSRP_TID_MAX + 1];
	uint8_t tidlen;
	int ended;                     /* the source's frame ended, with <flag> */
	enum msrp_flag flag;
	int active;                    /* owns dst: writes go straight out */
	int flushing;                  /* fwd_flush() is writing what waited */
	int reported;                  /* its failure REPORT went: not twice */
	int ack;                       /* D_REMOTE: the session's worker answers the previous
					* hop once it knows the session (first piece) */
	int node;                      /* D_REMOTE on another node of the cluster (the pieces
					* go there through msrp_relay_fwd, dworker is ours) */
	struct nframe *nf;             /* ... their common fate */
	int failed;                    /* gave up: bytes are dropped */
	struct pend *pend;
	uint32_t npend, cpend;
	uint64_t pend_bytes;
	uint64_t charged;              /* bytes charged to the source's <held> */
	uint32_t credit;               /* from another worker: bytes to give back when done */
	char *cbuf;                    /* a whole piece being assembled (WebSocket, other worker) */
	size_t clen, ccap;
	struct fwd *qnext;
	/* the head after the start line, paths rewritten; the Byte-Range line goes at
	 * sh.range_at, where the received one was taken out up to sh.range_end */
	char *tmpl;
	char *rinfo;                   /* see struct origin */
	char *heap;                    /* template and rinfo when they did not fit <inl> */
	/* nothing below is cleared when a fwd is reused */
	char inl[FWD_INLINE];
};

/* The pieces of one frame sent to another node (issue 8): after the first that fails, the
 * rest are not sent and no more REPORTs go. Held by the fwd and by each piece on its way. */
struct nframe {
	uint32_t refs;
	uint8_t failed;
};

static void nframe_put(struct nframe *nf)
{
	if (nf && !--nf->refs)
		free(nf);
}

/* A forwarded piece awaiting its response. */
struct otx {
	struct msrp_relay *r;
	struct otx *next;              /* free list */
	struct origin o;
	int has_range;
	int big;                       /* data is longer than OTX_INLINE: not reused */
	struct msrp_range range;
	char data[];                   /* rinfo */
};

static void fwd_free(struct fwd *f);
static void dst_release(struct rconn *d);
struct origin;
static void give_credit(struct msrp_relay *r, const struct origin *o, uint32_t credit);
static void rconn_release(struct rconn *rc);

/* ---- small helpers ------------------------------------------------------------------ */

static uint32_t slot_of(cm_slice s)
{
	return (uint32_t)(msrp_id_hash(s) & (LIMIT_SLOTS - 1));
}

static int limit_take(_Atomic uint32_t *c, uint32_t max)
{
	uint32_t v = atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
	if (v >= max) {
		atomic_fetch_sub_explicit(c, 1, memory_order_relaxed);
		return -1;
	}
	return 0;
}

static void limit_give(_Atomic uint32_t *c)
{
	atomic_fetch_sub_explicit(c, 1, memory_order_relaxed);
}

static int slice_ieq_str(cm_slice a, const char *b)
{
	size_t n = strlen(b);
	return a.len == n && strncasecmp(a.p, b, n) == 0;
}

/* Path URIs of <v> into <out> (at most <max>), count returned; -1 when malformed. */
static int path_split(cm_slice v, cm_slice *out, int max)
{
	cm_slice rest = v, u;
	int n = 0;
	if (!v.p)
		return -1;
	while (msrp_path_next(&rest, &u) > 0) {
		if (n == max)
			return -1;
		out[n++] = u;
	}
	return n;
}

/* ---- our URIs ----------------------------------------------------------------------- */

static void locals_load(struct msrp_relay_shared *sh)
{
	struct ifaddrs *ifa = NULL;
	if (getifaddrs(&ifa) < 0)
		return;
	for (struct ifaddrs *i = ifa; i && sh->nlocals < MAX_LOCALS; i = i->ifa_next) {
		if (!i->ifa_addr)
			continue;
		struct local_addr *l = &sh->locals[sh->nlocals];
		if (i->ifa_addr->sa_family == AF_INET) {
			l->family = AF_INET;
			memcpy(l->a, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, 4);
			sh->nlocals++;
		} else if (i->ifa_addr->sa_family == AF_INET6) {
			l->family = AF_INET6;
			memcpy(l->a, &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, 16);
			sh->nlocals++;
		}
	}
	freeifaddrs(ifa);
}

void msrp_relay_note_port(struct msrp_relay_shared *sh, int port)
{
	for (unsigned i = 0; i < MAX_PORTS; i++) {
		uint32_t v = atomic_load_explicit(&sh->ports[i], memory_order_relaxed);
		if (v == (uint32_t)port)
			return;
		if (v == 0) {
			uint32_t zero = 0;
			if (atomic_compare_exchange_strong(&sh->ports[i], &zero, (uint32_t)port) ||
			    zero == (uint32_t)port)
				return;
		}
	}
}

/* 1 when <u> names this relay: one of our ports, and our public host or a local address. */
static int uri_is_ours(const struct msrp_relay_shared *sh, const struct msrp_uri *u)
{
	int port_ok = 0;
	for (unsigned i = 0; i < MAX_PORTS && !port_ok; i++) {
		uint32_t v = atomic_load_explicit(&sh->ports[i], memory_order_relaxed);
		if (!v)
			break;
		port_ok = v == u->port;
	}
	if (!port_ok)
		return 0;
	if (sh->public_host[0] && u->host.len == strlen(sh->public_host) &&
	    strncasecmp(u->host.p, sh->public_host, u->host.len) == 0)
		return 1;
	if (u->host_type == MSRP_HOST_NAME)
		return slice_ieq_str(u->host, "localhost");
	char tmp[64];
	unsigned char a[16];
	if (u->host.len >= sizeof(tmp))
		return 0;
	memcpy(tmp, u->host.p, u->host.len);
	tmp[u->host.len] = '\0';
	int fam = u->host_type == MSRP_HOST_IPV4 ? AF_INET : AF_INET6;
	if (inet_pton(fam, tmp, a) != 1)
		return 0;
	for (unsigned i = 0; i < sh->nlocals; i++)
		if (sh->locals[i].family == fam &&
		    memcmp(sh->locals[i].a, a, fam == AF_INET ? 4 : 16) == 0)
			return 1;
	return 0;
}

/* The URI of a new session on <rc>: scheme by the connection's security, host ours as the
 * client reached it, transport tcp or ws. Its length, or -1. */
static int use_path_of(struct rconn *rc, const char *sid, char *buf, size_t len)
{
	const struct msrp_relay_shared *sh = rc->r->sh;
	eng_conn *c = msrp_conn_eng(rc->mc);
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[INET6_ADDRSTRLEN + 2];
	int port = 0;

	if (!c || getsockname(c->fd, (struct sockaddr *)&ss, &sl) < 0)
		return -1;
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
		port = ntohs(a->sin_port);
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		host[0] = '[';
		inet_ntop(AF_INET6, &a->sin6_addr, host + 1, sizeof(host) - 2);
		strcat(host, "]");
		port = ntohs(a->sin6_port);
	}
	int n = snprintf(buf, len, "%s://%s:%d/%s;%s", c->tls ? "msrps" : "msrp",
			 sh->public_host[0] ? sh->public_host : host, port, sid,
			 msrp_conn_is_ws(rc->mc) ? "ws" : "tcp");
	return n < 0 || (size_t)n >= len ? -1 : n;
}

/* ---- connections -------------------------------------------------------------------- */

static struct rconn *rconn_new(struct msrp_relay *r, struct msrp_conn *mc)
{
	struct rconn *rc = r->rc_free;
	uint32_t gen = 1, slot;
	if (rc) {
		r->rc_free = rc->free_next;
		gen = rc->gen + 1;
		slot = rc->slot;
	} else {
		if (r->nrcs == r->crcs) {
			uint32_t cap = r->crcs ? r->crcs * 2 : 64;
			struct rconn **n = realloc(r->rcs, cap * sizeof(*n));
			if (!n)
				return NULL;
			r->rcs = n;
			r->crcs = cap;
		}
		if (!(rc = malloc(sizeof(*rc))))
			return NULL;
		slot = r->nrcs;
		r->rcs[r->nrcs++] = rc;
	}
	memset(rc, 0, sizeof(*rc));
	rc->gen = gen;
	rc->slot = slot;
	rc->mc = mc;
	rc->r = r;
	rc->wait_tail = &rc->wait_head;
	rc->lnext = r->live;
	if (rc->lnext)
		rc->lnext->lprev = &rc->lnext;
	rc->lprev = &r->live;
	r->live = rc;
	msrp_conn_set_owner(mc, rc);
	return rc;
}

static void rconn_release(struct rconn *rc)
{
	struct msrp_relay *r = rc->r;
	*rc->lprev = rc->lnext;
	if (rc->lnext)
		rc->lnext->lprev = rc->lprev;
	rc->gen++;
	rc->flags = RC_DEAD;
	rc->mc = NULL;
	rc->free_next = r->rc_free;
	r->rc_free = rc;
}

static int rconn_alive(const struct rconn *rc, uint32_t gen)
{
	return rc && rc->gen == gen && !(rc->flags & RC_DEAD) && rc->mc;
}

/* The relay state of <mc>: the pool's connections get it when they open (pool_ready),
 * accepted ones (udata: the relay) on their first frame. NULL when out of memory. */
static int accepted_conn(struct msrp_conn *mc);

static struct rconn *rconn_of(struct msrp_conn *mc)
{
	struct rconn *rc = msrp_conn_owner(mc);
	if (rc)
		return rc;
	int accepted = accepted_conn(mc);
	/* accepted: udata is the relay; the pool's: udata is the pool, whose udata is */
	struct msrp_relay *r = accepted ? msrp_conn_udata(mc) : msrp_pool_udata(msrp_conn_udata(mc));
	/* a pool connection that speaks before the pool handed it out gets its state here */
	if (!r || !(rc = rconn_new(r, mc))) {
		msrp_conn_close(mc);
		return NULL;
	}
	if (!accepted)
		rc->flags |= RC_POOLED;
	return rc;
}

/* ---- sessions ----------------------------------------------------------------------- */


static void sess_destroy(struct msrp_relay *r, struct rsess *s)
{
	if (r->repl.arg) {
		char sid[MSRP_SESS_ID_MAX + 1];
		memcpy(sid, s->s.id, s->s.idlen);
		sid[s->s.idlen] = '\0';
		r->repl.over(r->repl.arg, sid);
	}
	msrp_sess_remove(&r->sessions, &s->s);
	msrp_sess_unbind(&s->s);
	eng_timer_cancel(&s->exp);
	limit_give(&r->sh->per_user[s->user_slot]);
	limit_give(&r->sh->per_ip[s->ip_slot]);
	free(s);
}

static void sess_expired(eng_timer *t)
{
	struct rsess *s = t->arg;
	struct msrp_relay *r = s->owner->r;
	r->st.sessions_expired++;
	sess_destroy(r, s);
}

/* ---- writing frames ----------------------------------------------------------------- */

static int send_bytes(struct rconn *d, const char *p, size_t len)
{
	struct iovec iov = { (void *)p, len };
	return msrp_conn_send_frame(d->mc, &iov, 1);
}

/* send_bytes() of a whole frame of ours (a response, a REPORT), counted by its start line. */
static int send_whole(struct rconn *d, const char *p, size_t len)
{
	int rc = send_bytes(d, p, len);
	if (rc >= 0)
		msrp_conn_count_frame_out(d->mc, p, len);
	return rc;
}

/* Writes a response to a request we hold copies of (an AUTH answered later). */
static void respond_copy(struct rconn *rc, cm_slice tid, int status, cm_slice to_path,
			 cm_slice from_path, const struct msrp_hdr *extra, unsigned nextra)
{
	char buf[HEAD_OUT];
	const char *reason = msrp_write_reason(status);
	ssize_t n = msrp_write_response(buf, sizeof(buf), tid, status,
					(cm_slice){ reason, strlen(reason) }, to_path, from_path,
					extra, nextra);
	if (n > 0 && (size_t)n <= sizeof(buf))
		send_whole(rc, buf, (size_t)n);
}

/* Sends a failure REPORT for a piece described by <o>-like fields, on the origin
 * connection when it is on this worker, else through the origin worker's mailbox. */
static void report_deliver(struct msrp_relay *r, unsigned worker, struct rconn *origin,
			   uint32_t gen, const char *frame, size_t len);

static void report_send(struct msrp_relay *r, unsigned worker, struct rconn *origin,
			uint32_t gen, cm_slice to_path, cm_slice from_path, cm_slice msgid,
			const struct msrp_range *range, int code)
{
	char buf[HEAD_OUT], tid[MSRP_ID_TID_LEN + 1];
	struct msrp_status st = { .ns = 0, .code = code };
	const char *reason = msrp_write_reason(code);
	st.comment = (cm_slice){ reason, strlen(reason) };
	if (msrp_id_tid(tid, sizeof(tid)) < 0)
		return;
	ssize_t n = msrp_write_report(buf, sizeof(buf), (cm_slice){ tid, MSRP_ID_TID_LEN },
				      to_path, from_path, msgid, range, &st);
	if (n < 0 || (size_t)n > sizeof(buf))
		return;
	report_deliver(r, worker, origin, gen, buf, (size_t)n);
}

/* ---- otx: responses of forwarded pieces --------------------------------------------- */

static struct otx *otx_new(const struct fwd *f, const struct msrp_range *range)
{
	size_t dl = origin_len(&f->o);
	struct msrp_relay *r = f->r;
	struct otx *o;
	if (dl <= OTX_INLINE && r->otx_free) {
		o = r->otx_free;
		r->otx_free = o->next;
		r->notx_free--;
	} else if (!(o = malloc(sizeof(*o) + (dl <= OTX_INLINE ? OTX_INLINE : dl)))) {
		return NULL;
	}
	o->big = dl > OTX_INLINE;
	o->r = f->r;
	o->o = f->o;
	o->has_range = f->sh.has_range;
	o->range = *range;
	memcpy(o->data, f->rinfo, dl);
	return o;
}

static void forward_auth_response(struct otx *o, int status, const struct msrp_msg *resp);

static void otx_release(struct otx *o)
{
	struct msrp_relay *r = o->r;
	if (o->big || r->notx_free >= FREE_KEEP) {
		free(o);
		return;
	}
	o->next = r->otx_free;
	r->otx_free = o;
	r->notx_free++;
}

/* The next hop answered a piece (or the transaction failed locally: 408, 503). */
static void otx_resp(struct msrp_conn *mc, void *arg, int status, const struct msrp_msg *resp)
{
	struct otx *o = arg;
	struct msrp_relay *r = o->r;
	(void)mc;
	if (o->o.method == MSRP_M_AUTH) {
		forward_auth_response(o, status, resp);
		otx_release(o);
		return;
	}
	struct msrp_report_in in = {
		.event = status == 408 && !resp ? MSRP_REV_TIMEOUT : MSRP_REV_RESPONSE,
		.method = o->o.method, .failure_report = o->o.fr, .code = status, .forwarded = 1,
	};
	struct msrp_report_out out;
	msrp_report_decide(&in, &out);
	if (status >= 300) {
		if (status == 408 && !resp)
			r->st.next_hop_timeouts++;
		else
			r->st.next_hop_errors++;
	}
	if (out.failure_report) {
		/* a connection lost (local 503, no MSRP code) is a failed forwarding */
		int code = !resp && status == 503 ? FWD_FAILED : out.code;
		report_send(r, o->o.worker, o->o.rc, o->o.gen,
			    (cm_slice){ o->data, o->o.rto_len },
			    (cm_slice){ o->data + o->o.rto_len, o->o.rfrom_len },
			    (cm_slice){ o->data + o->o.rto_len + o->o.rfrom_len, o->o.msgid_len },
			    o->has_range ? &o->range : NULL, code);
	}
	otx_release(o);
}

/* The failure REPORT of a request forwarded for origin <o> (its copies in <rinfo>) that the
 * Failure-Report asks for, with status <code>. */
static void origin_report(struct msrp_relay *r, const struct origin *o, const char *rinfo,
			  const struct msrp_range *range, int code)
{
	struct msrp_report_in in = { .event = MSRP_REV_RESPONSE, .method = o->method,
				     .failure_report = o->fr, .code = code, .forwarded = 1 };
	struct msrp_report_out out;
	msrp_report_decide(&in, &out);
	if (!out.failure_report)
		return;
	report_send(r, o->worker, o->rc, o->gen, (cm_slice){ rinfo, o->rto_len },
		    (cm_slice){ rinfo + o->rto_len, o->rfrom_len },
		    (cm_slice){ rinfo + o->rto_len + o->rfrom_len, o->msgid_len }, range, code);
}

/* A failure known before anything went out (no destination, mailbox full): the REPORT that
 * the Failure-Report asks for. */
static void fwd_report_failure(struct fwd *f, int code)
{
	if (f->reported)
		return;
	f->reported = 1;
	struct msrp_range range = f->orig;
	if (f->o.method == MSRP_M_AUTH) {
		if (f->o.worker == f->r->index && rconn_alive(f->o.rc, f->o.gen)) {
			struct otx *o = otx_new(f, &range);
			if (o) {
				forward_auth_response(o, code, NULL);
				otx_release(o);
			}
		}
		return;
	}
	origin_report(f->r, &f->o, f->rinfo, f->sh.has_range ? &range : NULL, code);
}

/* ---- fwd: emitting pieces ------------------------------------------------------------ */

static int cbuf_put(struct fwd *f, const char *p, size_t len)
{
	if (f->clen + len > f->ccap) {
		size_t cap = f->ccap ? f->ccap : 4096;
		while (cap < f->clen + len)
			cap *= 2;
		char *n = realloc(f->cbuf, cap);
		if (!n)
			return -ENOMEM;
		f->cbuf = n;
		f->ccap = cap;
	}
	memcpy(f->cbuf + f->clen, p, len);
	f->clen += len;
	return 0;
}

/* 1 when the pieces are assembled whole before they go (WebSocket destination, or a
 * destination on another worker). */
static int collecting(const struct fwd *f)
{
	return f->dkind == D_REMOTE || (f->dkind == D_LOCAL && msrp_conn_is_ws(f->dst->mc));
}

/* The range the open piece will carry: its start, its end when known. */
static struct msrp_range piece_range(const struct fwd *f, uint64_t len_known, int len_final)
{
	struct msrp_range rg = { .start = f->orig.start + f->piece_start, .total = f->orig.total };
	if (!f->k)
		return f->orig;  /* not split: the range as it came (a REPORT's is not its body's) */
	if (len_final)
		rg.end = (int64_t)(rg.start + len_known) - 1;
	else if (f->k && f->orig.end >= 0)
		rg.end = (int64_t)(f->orig.start + f->piece_start + f->k - 1) < f->orig.end ?
			 (int64_t)(f->orig.start + f->piece_start + f->k - 1) : f->orig.end;
	else
		rg.end = f->k ? -1 : f->orig.end;
	return rg;
}

static void emit(struct fwd *f, eng_buf *b, const char *p, size_t len);

/* Writes the head of a new piece (fresh tid, its Byte-Range). <len_final>: the piece's body
 * is known whole (<len_known> bytes): a collected or already-ended piece. */
static int piece_open(struct fwd *f, uint64_t len_known, int len_final)
{
	char head[HEAD_OUT];
	size_t n = 0;
	struct msrp_range rg = piece_range(f, len_known, len_final);

	struct rconn *d = f->dst;
	size_t ml = strlen(f->sh.method_name);
	if (f->sh.tmpl_len + ml + MSRP_TID_MAX + 128 > sizeof(head))
		return -E2BIG; /* before any transaction: nothing to undo */
	int track = f->dkind == D_LOCAL && f->o.fr != MSRP_REPORT_NO &&
		    f->o.method != MSRP_M_REPORT;
	struct otx *o = track ? otx_new(f, &rg) : NULL;

	/* a tid of ours (random: no body can hold its end-line by design, and peers cannot
	 * choose the keys of the transaction table) */
	if (msrp_id_tid(f->tid, sizeof(f->tid)) < 0) {
		if (o)
			otx_release(o);
		return -EIO;
	}
	f->tidlen = MSRP_ID_TID_LEN;
	int rc = o ? msrp_conn_txn_open(d->mc, (cm_slice){ f->tid, f->tidlen }, otx_resp, o) : 0;
	if (rc < 0 && o)
		otx_release(o); /* forwarded untracked (max_transactions): counted there */
	memcpy(head, "MSRP ", 5);
	memcpy(head + 5, f->tid, f->tidlen);
	n = 5 + f->tidlen;
	head[n++] = ' ';
	memcpy(head + n, f->sh.method_name, ml);
	n += ml;
	head[n++] = '\r';
	head[n++] = '\n';
	memcpy(head + n, f->tmpl, f->sh.range_at);
	n += f->sh.range_at;
	if (f->sh.has_range && !f->sh.range_kept) {
		memcpy(head + n, "Byte-Range: ", 12);
		n += 12;
		n += msrp_write_range(head + n, sizeof(head) - n, &rg);
		memcpy(head + n, "\r\n", 2);
		n += 2;
	}
	memcpy(head + n, f->tmpl + f->sh.range_end, f->sh.tmpl_len - f->sh.range_end);
	n += f->sh.tmpl_len - f->sh.range_end;

	f->piece_open = 1;
	f->clen = 0;
	if (f->piece_start)
		f->r->st.rechunked++;
	msrp_conn_count_request_out(d->mc, f->o.method); /* a request frame per piece */
	if (collecting(f))
		return cbuf_put(f, head, n);
	rc = send_bytes(d, head, n);
	return rc < 0 ? rc : 0;
}

struct xmsg;
static int cross_post_piece(struct fwd *f, enum msrp_flag flag);

/* Ends the open piece with <flag>. */
static void piece_close(struct fwd *f, enum msrp_flag flag)
{
	char tail[MSRP_TAIL_MAX + 2];
	ssize_t n;
	if (f->dkind == D_REMOTE) {
		/* the other worker writes head and tail itself: only the body crosses */
		f->piece_open = 0;
		cross_post_piece(f, flag);
		return;
	}
	if (f->sh.has_body)
		n = msrp_write_tail(tail, sizeof(tail), (cm_slice){ f->tid, f->tidlen }, flag);
	else
		n = snprintf(tail, sizeof(tail), "-------%.*s%c\r\n", (int)f->tidlen, f->tid,
			     (char)flag);
	f->piece_open = 0;
	if (n <= 0)
		return;
	if (collecting(f)) {
		if (cbuf_put(f, tail, (size_t)n) == 0) {
			struct iovec iov = { f->cbuf, f->clen };
			int rc = msrp_conn_send_frame(f->dst->mc, &iov, 1);
			eng_conn *sc = rconn_alive(f->src, f->src_gen) ? msrp_conn_eng(f->src->mc) :
									  NULL;
			eng_conn *dc = msrp_conn_eng(f->dst->mc);
			if (rc == 1 && sc && dc)
				eng_conn_wait_writable(sc, dc); /* a WebSocket client that lags */
		}
		f->clen = 0;
	} else {
		send_bytes(f->dst, tail, (size_t)n);
	}
	f->piece_start = f->emitted;
}

/* Writes <len> body bytes (in <b>, or to be copied) to the destination, in pieces of at
 * most f->k bytes: a full piece is closed with '+' when the next byte comes (at the end of
 * the frame it is closed with the frame's flag instead). */
static int pend_add(struct fwd *f, eng_buf *b, const char *p, size_t len);
static void dst_release(struct rconn *d);

/* <f> cannot go on (a write refused, out of memory). When part of a piece already went, the
 * destination's stream holds an unfinished frame that nothing can end: the destination is
 * closed (its peer learns of it, the other frames for it fail). The sender hears of it
 * through the REPORT its Failure-Report asks for. */
static void fwd_fail(struct fwd *f)
{
	if (f->failed)
		return;
	f->failed = 1;
	if (f->dkind == D_LOCAL && f->active && f->piece_open && f->dst->mc)
		msrp_conn_close(f->dst->mc);
	fwd_report_failure(f, FWD_FAILED);
}

/* A full piece went out and others wait for the destination: <f> goes to the back of the
 * line (fairness per piece: one big message does not hold a connection that others
 * share). 1 when it did. */
static int fwd_yield(struct fwd *f)
{
	struct rconn *d = f->dst;
	if (f->dkind != D_LOCAL || !f->active || f->flushing || !d->wait_head)
		return 0;
	f->active = 0;
	d->out_cur = NULL;
	*d->wait_tail = f;
	d->wait_tail = &f->qnext;
	dst_release(d);
	return 1;
}

static void emit(struct fwd *f, eng_buf *b, const char *p, size_t len)
{
	while (len && !f->failed) {
		if (f->piece_open && f->k && f->emitted - f->piece_start == f->k) {
			piece_close(f, MSRP_FLAG_MORE);
			if (fwd_yield(f) && !f->active) {
				/* the rest waits for its turn */
				if (pend_add(f, b, p, len) < 0)
					fwd_fail(f);
				return;
			}
		}
		if (!f->piece_open) {
			if (f->dkind == D_REMOTE)
				f->piece_open = 1;
			else if (piece_open(f, 0, 0) < 0) {
				fwd_fail(f);
				return;
			}
		}
		size_t n = len;
		if (f->k) {
			uint64_t room = f->k - (f->emitted - f->piece_start);
			if (n > room)
				n = (size_t)room;
		}
		int rc;
		if (collecting(f))
			rc = cbuf_put(f, p, n);
		else if (b)
			rc = msrp_conn_send_buf(f->dst->mc, b, (cm_slice){ p, n });
		else
			rc = send_bytes(f->dst, p, n);
		if (rc == 1 && rconn_alive(f->src, f->src_gen)) {
			eng_conn *sc = msrp_conn_eng(f->src->mc), *dc = msrp_conn_eng(f->dst->mc);
			if (sc && dc)
				eng_conn_wait_writable(sc, dc);
		}
		if (rc < 0) {
			fwd_fail(f);
			return;
		}
		f->emitted += n;
		f->r->st.fwd_bytes += n;
		p += n;
		len -= n;
	}
}

/* ---- fwd: waiting for the destination ------------------------------------------------ */

/* What waits is held against its source, all its frames together: past HELD_PAUSE the
 * source stops being read, below half of it it goes on. */
static void src_update(struct rconn *src)
{
	uint64_t h = src->held + src->xheld;
	eng_conn *sc = msrp_conn_eng(src->mc);
	if (!sc)
		return;
	if (h > HELD_PAUSE && !(src->flags & RC_PAUSED)) {
		eng_read_pause(sc);
		src->flags |= RC_PAUSED;
	} else if (h < HELD_PAUSE / 2 && (src->flags & RC_PAUSED)) {
		src->flags &= ~RC_PAUSED;
		eng_read_resume(sc);
	}
}

static void charge(struct fwd *f, uint64_t n)
{
	if (!rconn_alive(f->src, f->src_gen))
		return;
	f->src->held += n;
	f->charged += n;
	src_update(f->src);
}

static void uncharge(struct fwd *f)
{
	if (!f->charged || !rconn_alive(f->src, f->src_gen)) {
		f->charged = 0;
		return;
	}
	f->src->held -= f->charged;
	f->charged = 0;
	src_update(f->src);
}

static int pend_add(struct fwd *f, eng_buf *b, const char *p, size_t len)
{
	/* a small piece is copied: a reference would keep a whole receive buffer for it */
	if (b && len < b->cap / 8)
		b = NULL;
	if (f->npend == f->cpend) {
		uint32_t c = f->cpend ? f->cpend * 2 : 8;
		struct pend *n = realloc(f->pend, c * sizeof(*n));
		if (!n)
			return -ENOMEM;
		f->pend = n;
		f->cpend = c;
	}
	struct pend *e = &f->pend[f->npend];
	if (b) {
		eng_buf_ref(b);
		e->b = b;
		e->p = (char *)p;
	} else {
		if (!(e->p = malloc(len ? len : 1)))
			return -ENOMEM;
		memcpy(e->p, p, len);
		e->b = NULL;
	}
	e->len = (uint32_t)len;
	f->npend++;
	f->pend_bytes += len;
	charge(f, len + HELD_PIECE);
	return 0;
}

static void pend_clear(struct fwd *f)
{
	for (uint32_t i = 0; i < f->npend; i++) {
		if (f->pend[i].b)
			eng_buf_unref(f->r->w, f->pend[i].b);
		else
			free(f->pend[i].p);
	}
	f->npend = 0;
	f->pend_bytes = 0;
	uncharge(f);
}

/* The destination is ours: write what waited, then (when the frame ended) finish. */
static void fwd_flush(struct fwd *f)
{
	f->flushing = 1;
	for (uint32_t i = 0; i < f->npend && !f->failed; i++)
		emit(f, f->pend[i].b, f->pend[i].p, f->pend[i].len);
	f->flushing = 0;
	pend_clear(f);
}

/* Closes the last piece of an ended frame with the frame's flag (a frame with no body at
 * all is one piece). */
static void fwd_close_out(struct fwd *f)
{
	if (f->failed || f->dkind == D_DROP)
		return;
	if (!f->piece_open) {
		if (f->dkind == D_REMOTE)
			f->piece_open = 1;
		else if (piece_open(f, 0, 1) < 0)
			return;
	}
	piece_close(f, f->flag ? f->flag : MSRP_FLAG_END);
}

/* Takes <f> onto its free destination and writes what it holds. 1 when it also ended
 * there (then it is freed and the destination is free again), 0 when it goes on streaming. */
static int fwd_take(struct fwd *f)
{
	struct rconn *d = f->dst;
	d->out_cur = f;
	f->active = 1;
	fwd_flush(f);
	if (!f->ended)
		return 0; /* the rest streams in as it arrives (on_body) */
	fwd_close_out(f);
	d->out_cur = NULL;
	fwd_free(f);
	return 1;
}

/* <d> is free: the waiting frames go, in order, until one has to stream. A loop, not a
 * recursion: a long line cannot grow the stack. */
static void dst_release(struct rconn *d)
{
	while (!d->out_cur && d->wait_head) {
		struct fwd *f = d->wait_head;
		d->wait_head = f->qnext;
		if (!d->wait_head)
			d->wait_tail = &d->wait_head;
		f->qnext = NULL;
		fwd_take(f);
	}
}

/* The frame is done on its destination: its last piece goes, then the destination is the
 * next one's. */
static void fwd_finish(struct fwd *f)
{
	struct rconn *d = f->dkind == D_LOCAL ? f->dst : NULL;
	fwd_close_out(f);
	f->active = 0;
	if (d && d->out_cur == f) {
		d->out_cur = NULL;
		fwd_free(f);
		dst_release(d);
		return;
	}
	fwd_free(f);
}

/* <f> gets its destination (D_LOCAL, dst set): straight out when the destination is free,
 * else it waits in line. */
static void fwd_start_local(struct fwd *f)
{
	struct rconn *d = f->dst;
	if (d->out_cur || d->wait_head) {
		f->r->st.queued++;
		charge(f, HELD_FRAME);
		*d->wait_tail = f;
		d->wait_tail = &f->qnext;
		return;
	}
	if (fwd_take(f))
		dst_release(d);
}

/* <f> leaves the line of its destination (its source went before it could go). */
static void fwd_unqueue(struct fwd *f)
{
	struct rconn *d = f->dst;
	struct fwd **pp = &d->wait_head;
	while (*pp && *pp != f)
		pp = &(*pp)->qnext;
	if (!*pp)
		return;
	*pp = f->qnext;
	if (d->wait_tail == &f->qnext)
		d->wait_tail = pp;
	f->qnext = NULL;
}

/* ---- fwd: building --------------------------------------------------------------------- */

/* The template of <m>'s head with <npop> URIs taken off the front of To-Path and put, last
 * taken first, at the front of From-Path. */
/* Bytes the template of <m> takes at most (fwd_template). */
static size_t template_bound(const struct msrp_msg *m, const cm_slice *to, int npop)
{
	size_t n = 2;
	for (unsigned i = 0; i < m->nhdrs; i++)
		n += m->hdrs[i].name.len + m->hdrs[i].value.len + 4;
	for (int k = 0; k < npop; k++)
		n += to[k].len + 1;
	return n;
}

/* Writes the template into <t> (template_bound() bytes). */
static void fwd_template(struct fwd *f, char *t, const struct msrp_msg *m, const cm_slice *to,
			 int nto, int npop)
{
	size_t n = 0;
	int range_seen = 0;
	f->sh.range_at = f->sh.range_end = (size_t)-1;
	for (unsigned i = 0; i < m->nhdrs; i++) {
		const struct msrp_hdr *h = &m->hdrs[i];
		if (h->id == MSRP_H_TO_PATH && (int)i == m->first[MSRP_H_TO_PATH]) {
			memcpy(t + n, "To-Path: ", 9);
			n += 9;
			const char *start = to[npop].p;
			const char *end = to[nto - 1].p + to[nto - 1].len;
			memcpy(t + n, start, (size_t)(end - start));
			n += (size_t)(end - start);
		} else if (h->id == MSRP_H_FROM_PATH && (int)i == m->first[MSRP_H_FROM_PATH]) {
			memcpy(t + n, "From-Path: ", 11);
			n += 11;
			for (int k = npop - 1; k >= 0; k--) {
				memcpy(t + n, to[k].p, to[k].len);
				n += to[k].len;
				t[n++] = ' ';
			}
			memcpy(t + n, h->value.p, h->value.len);
			n += h->value.len;
		} else if (h->id == MSRP_H_BYTE_RANGE && !range_seen && !f->sh.range_kept) {
			range_seen = 1;
			f->sh.range_at = n;
			f->sh.range_end = n;  /* written per piece */
			continue;
		} else {
			memcpy(t + n, h->name.p, h->name.len);
			n += h->name.len;
			t[n++] = ':';
			t[n++] = ' ';
			memcpy(t + n, h->value.p, h->value.len);
			n += h->value.len;
		}
		t[n++] = '\r';
		t[n++] = '\n';
		if (h->id == MSRP_H_FROM_PATH && f->sh.range_at == (size_t)-1 && !f->sh.has_range) {
			/* where a Byte-Range goes if re-chunking needs one */
			f->sh.range_at = f->sh.range_end = n;
		}
	}
	if (m->has_body) {
		t[n++] = '\r';
		t[n++] = '\n';
	}
	if (f->sh.range_at == (size_t)-1)
		f->sh.range_at = f->sh.range_end = n;
	f->tmpl = t;
	f->sh.tmpl_len = n;
}

/* A cleared fwd, reused when one is at hand. */
static struct fwd *fwd_alloc(struct msrp_relay *r)
{
	struct fwd *f = r->fwd_free;
	if (f) {
		r->fwd_free = f->qnext;
		r->nfwd_free--;
	} else if (!(f = malloc(sizeof(*f)))) {
		return NULL;
	}
	memset(f, 0, offsetof(struct fwd, inl));
	f->r = r;
	return f;
}

/* Room for a template of <tl> bytes and an rinfo of <rl> bytes: inside <f> when they fit. */
static int fwd_buffers(struct fwd *f, size_t tl, size_t rl)
{
	char *b = f->inl;
	if (tl + rl > sizeof(f->inl)) {
		if (!(f->heap = malloc(tl + rl)))
			return -ENOMEM;
		b = f->heap;
	}
	f->tmpl = b;
	f->rinfo = b + tl;
	return 0;
}

static struct fwd *fwd_new(struct msrp_relay *r, struct rconn *src, const struct msrp_msg *m,
			   const cm_slice *to, int nto, int npop, uint64_t k)
{
	struct fwd *f = fwd_alloc(r);
	if (!f)
		return NULL;
	f->src = src;
	f->src_gen = src->gen;
	f->o.rc = src;
	f->o.gen = src->gen;
	f->o.worker = r->index;
	f->o.method = m->method;
	size_t ml = m->method_name.len < sizeof(f->sh.method_name) - 1 ?
		    m->method_name.len : sizeof(f->sh.method_name) - 1;
	memcpy(f->sh.method_name, m->method_name.p, ml);
	f->sh.method_name[ml] = '\0';
	f->sh.has_body = m->has_body;
	cm_slice v = msrp_hdr_get(m, MSRP_H_FAILURE_REPORT);
	if (!v.p || msrp_hdr_failure_report(v, &f->o.fr) < 0)
		f->o.fr = MSRP_REPORT_ABSENT;
	v = msrp_hdr_get(m, MSRP_H_BYTE_RANGE);
	if (v.p && msrp_hdr_range(v, &f->orig) == 0) {
		f->sh.has_range = 1;
		/* offsets of pieces are start + bytes: keep them far from overflowing */
		if (f->orig.start > ((uint64_t)1 << 62)) {
			fwd_free(f);
			return NULL;
		}
	} else {
		f->orig = (struct msrp_range){ .start = 1, .end = -1, .total = -1 };
	}
	f->k = m->has_body ? k : 0;
	/* a chunk that cannot be split keeps its Byte-Range line as it is (nothing to write
	 * per piece) */
	f->sh.range_kept = f->sh.has_range &&
			   (!f->k || (f->orig.end >= 0 &&
				      (uint64_t)(f->orig.end - (int64_t)f->orig.start + 1) <= f->k));
	/* REPORT paths and the response of a forwarded AUTH */
	cm_slice from = msrp_hdr_get(m, MSRP_H_FROM_PATH);
	cm_slice msgid = msrp_hdr_get(m, MSRP_H_MESSAGE_ID);
	size_t dl = from.len + to[0].len + msgid.len + m->tid.len;
	if (dl > UINT16_MAX || fwd_buffers(f, template_bound(m, to, npop), dl) < 0) {
		fwd_free(f);
		return NULL;
	}
	fwd_template(f, f->tmpl, m, to, nto, npop);
	if (f->k && !f->sh.has_range)
		f->sh.has_range = 1; /* pieces need ranges ("1-*" over "*" at worst) */
	f->o.rto_len = (uint16_t)from.len;
	f->o.rfrom_len = (uint16_t)to[0].len;
	f->o.msgid_len = (uint16_t)msgid.len;
	f->o.otid_len = (uint16_t)m->tid.len;
	memcpy(f->rinfo, from.p, from.len);
	memcpy(f->rinfo + from.len, to[0].p, to[0].len);
	if (msgid.len)
		memcpy(f->rinfo + from.len + to[0].len, msgid.p, msgid.len);
	memcpy(f->rinfo + from.len + to[0].len + msgid.len, m->tid.p, m->tid.len);
	return f;
}

static void fwd_free(struct fwd *f)
{
	if (f->pw)
		f->pw->f = NULL;
	pend_clear(f);
	free(f->pend);
	free(f->cbuf);
	free(f->heap);
	struct msrp_relay *r = f->r;
	nframe_put(f->nf);
	f->nf = NULL;
	if (f->credit) /* a piece of another worker's source: done with it */
		give_credit(r, &f->o, f->credit);
	if (r->nfwd_free >= FREE_KEEP) {
		free(f);
		return;
	}
	f->qnext = r->fwd_free;
	r->fwd_free = f;
	r->nfwd_free++;
}

/* ---- crossing workers ------------------------------------------------------------------ */

enum xkind { X_PIECE = 1, X_REPORT, X_CREDIT };

struct xmsg {
	struct xmsg *next;             /* X_CREDIT waiting to be posted again */
	enum xkind kind;
	struct origin o;
	/* X_PIECE */
	char sid[MSRP_SESS_ID_MAX + 1];
	uint8_t sidlen;
	struct shape sh;
	struct msrp_range range;       /* of this piece, final */
	enum msrp_flag flag;
	int ack;                       /* answer the previous hop (200 or 481) */
	struct nframe *nf;             /* a piece sent to another node: its frame's */
	uint32_t credit;               /* X_PIECE: bytes to give back to the origin when done;
					* X_CREDIT: bytes given back */
	size_t body_len;
	size_t len;                    /* of data: template, rinfo, body; X_REPORT: the frame */
	char data[];
};

static int deliver_piece(struct msrp_relay *r, struct xmsg *x);

static void xmsg_in(eng_worker *w, void *arg, uint64_t u64)
{
	struct xmsg *x = arg;
	/* the relay of this worker: the shared table knows it */
	struct msrp_relay_shared *sh = (struct msrp_relay_shared *)(uintptr_t)u64;
	struct msrp_relay *r = atomic_load_explicit(&sh->workers[eng_worker_index(w)],
						    memory_order_acquire);
	if (!r) {
		free(x);
		return;
	}
	if (x->kind == X_CREDIT) {
		if (rconn_alive(x->o.rc, x->o.gen)) {
			struct rconn *src = x->o.rc;
			src->xheld -= x->credit <= src->xheld ? x->credit : src->xheld;
			src_update(src);
		}
		free(x);
		return;
	}
	if (x->kind == X_REPORT) {
		if (rconn_alive(x->o.rc, x->o.gen)) {
			send_whole(x->o.rc, x->data, x->len);
			r->st.reports_sent++;
		} else {
			r->st.reports_lost++;
		}
		free(x);
		return;
	}
	r->st.fwd_cross_in++;
	deliver_piece(r, x);
}

static int post_to(struct msrp_relay *r, unsigned worker, struct xmsg *x)
{
	eng_worker *w = eng_worker_at(r->sh->e, worker);
	if (!w || eng_post(w, xmsg_in, x, (uint64_t)(uintptr_t)r->sh) < 0) {
		free(x);
		return -EAGAIN;
	}
	return 0;
}

/* Credits that could not be posted (mailbox full) are tried again a tick later: a source
 * waits for them to be read again. */
static void credit_retry(eng_timer *t);

static void give_credit(struct msrp_relay *r, const struct origin *o, uint32_t credit)
{
	if (!credit)
		return;
	struct xmsg *x = calloc(1, sizeof(*x));
	if (!x)
		return;
	x->kind = X_CREDIT;
	x->o = *o;
	x->credit = credit;
	eng_worker *w = eng_worker_at(r->sh->e, o->worker);
	if (w && eng_post(w, xmsg_in, x, (uint64_t)(uintptr_t)r->sh) == 0)
		return;
	x->next = r->credit_retry;
	r->credit_retry = x;
	if (!eng_timer_armed(&r->credit_timer))
		eng_timer_arm(r->w, &r->credit_timer, 1);
}

static void credit_retry(eng_timer *t)
{
	struct msrp_relay *r = t->arg;
	struct xmsg *list = r->credit_retry;
	r->credit_retry = NULL;
	while (list) {
		struct xmsg *x = list;
		list = x->next;
		eng_worker *w = eng_worker_at(r->sh->e, x->o.worker);
		if (w && eng_post(w, xmsg_in, x, (uint64_t)(uintptr_t)r->sh) == 0)
			continue;
		x->next = r->credit_retry;
		r->credit_retry = x;
	}
	if (r->credit_retry)
		eng_timer_arm(r->w, &r->credit_timer, 1);
}

static void node_report(struct msrp_relay *r, unsigned worker, struct rconn *origin,
			uint32_t gen, const char *frame, size_t len);

static void report_deliver(struct msrp_relay *r, unsigned worker, struct rconn *origin,
			   uint32_t gen, const char *frame, size_t len)
{
	if (worker & ORIGIN_NODE) {
		node_report(r, worker, origin, gen, frame, len);
		return;
	}
	if (worker == r->index) {
		if (rconn_alive(origin, gen)) {
			send_whole(origin, frame, len);
			r->st.reports_sent++;
		} else {
			r->st.reports_lost++;
		}
		return;
	}
	struct xmsg *x = malloc(sizeof(*x) + len);
	if (!x) {
		r->st.reports_lost++;
		return;
	}
	memset(x, 0, sizeof(*x));
	x->kind = X_REPORT;
	x->o.rc = origin;
	x->o.gen = gen;
	x->len = len;
	memcpy(x->data, frame, len);
	if (post_to(r, worker, x) < 0)
		r->st.reports_lost++;
}

/* The hop-by-hop response to a request that crossed workers, from its copies (<rinfo>:
 * From-Path, our URI, Message-ID, tid), sent on the origin connection when the
 * Failure-Report rules want one. */
static void fwd_answer(struct msrp_relay *r, const struct origin *o, const char *rinfo,
		       int status)
{
	char buf[HEAD_OUT];
	if (!msrp_report_respond(o->method, o->fr, status))
		return;
	const char *reason = msrp_write_reason(status);
	ssize_t n = msrp_write_response(
		buf, sizeof(buf),
		(cm_slice){ rinfo + o->rto_len + o->rfrom_len + o->msgid_len, o->otid_len }, status,
		(cm_slice){ reason, strlen(reason) }, (cm_slice){ rinfo + o->rto_len, o->rfrom_len },
		(cm_slice){ rinfo, o->rto_len }, NULL, 0);
	if (n > 0 && (size_t)n <= sizeof(buf))
		report_deliver(r, o->worker, o->rc, o->gen, buf, (size_t)n);
}

static int node_post(struct msrp_relay *r, struct xmsg *x);

/* 1 when a request for session <sid>, which no worker here holds, may be for a session of
 * another node of the cluster (the form of our ids, this worker's shard). */
static int node_routable(const struct msrp_relay *r, cm_slice sid)
{
	return r->node.arg && sid.len == MSRP_ID_SESSION_LEN &&
	       msrp_id_shard(sid, r->sh->nworkers) == (int)r->index;
}

/* Posts the collected body of the open piece (f->cbuf) to the session's worker. */
static int cross_post_piece(struct fwd *f, enum msrp_flag flag)
{
	size_t rl = origin_len(&f->o);
	size_t len = f->sh.tmpl_len + rl + f->clen;
	struct xmsg *x = malloc(sizeof(*x) + len);
	uint64_t blen = f->clen;
	if (!x)
		return -ENOMEM;
	memset(x, 0, sizeof(*x));
	x->kind = X_PIECE;
	x->o = f->o;
	x->sh = f->sh;
	memcpy(x->sid, f->dsid, f->dsidlen);
	x->sidlen = f->dsidlen;
	x->range = piece_range(f, blen, 1);
	if (!f->k && !(f->piece_start || flag == MSRP_FLAG_MORE))
		x->range.end = f->orig.end >= 0 ? f->orig.end : x->range.end;
	x->flag = flag;
	x->ack = f->ack;
	f->ack = 0;
	x->body_len = blen;
	x->len = len;
	if (rconn_alive(f->src, f->src_gen)) {
		/* held against the source until the other worker is done with it */
		x->credit = (uint32_t)(blen + HELD_FRAME);
		f->src->xheld += x->credit;
		src_update(f->src);
	}
	memcpy(x->data, f->tmpl, f->sh.tmpl_len);
	memcpy(x->data + f->sh.tmpl_len, f->rinfo, rl);
	if (blen)
		memcpy(x->data + f->sh.tmpl_len + rl, f->cbuf, blen);
	f->clen = 0;
	f->piece_start = f->emitted;
	f->r->st.fwd_cross_out++;
	int ack = x->ack;
	uint32_t credit = x->credit;
	int prc;
	if (f->node) {
		if (!f->nf && (f->nf = calloc(1, sizeof(*f->nf))))
			f->nf->refs = 1;
		if (!f->nf || f->nf->failed) {
			prc = -ECANCELED; /* an earlier piece failed: told once, the rest dropped */
			if (f->nf)
				f->reported = 1;
		} else {
			x->nf = f->nf;
			f->nf->refs++;
			prc = node_post(f->r, x);
		}
		if (prc < 0) {
			nframe_put(x->nf);
			free(x);
		}
	} else {
		prc = post_to(f->r, f->dworker, x);
	}
	if (prc < 0) {
		if (credit && rconn_alive(f->src, f->src_gen)) {
			f->src->xheld -= credit;
			src_update(f->src);
		}
		f->r->st.cross_dropped++;
		if (ack)
			fwd_answer(f->r, &f->o, f->rinfo, FWD_FAILED);
		else
			fwd_report_failure(f, FWD_FAILED);
		f->failed = 1;
		return -EAGAIN;
	}
	return 0;
}

/* On the session's worker: a piece from another worker (or node), for our client. 200
 * (taken), 481 (no such session), 503 (out of memory). */
static int deliver_piece(struct msrp_relay *r, struct xmsg *x)
{
	struct msrp_sess *s = msrp_sess_find(&r->sessions, (cm_slice){ x->sid, x->sidlen });
	if (!s && !(x->o.worker & ORIGIN_NODE) && node_routable(r, (cm_slice){ x->sid, x->sidlen })) {
		/* from another worker here, for a session another node may hold: on there */
		if (node_post(r, x) < 0)
			msrp_relay_piece_done(r, (uint64_t)(uintptr_t)x, 503);
		return 200;
	}
	struct fwd *f = fwd_alloc(r);
	size_t rl = origin_len(&x->o);
	if (!f) {
		give_credit(r, &x->o, x->credit);
		free(x);
		return 503;
	}
	f->o = x->o;
	f->sh = x->sh;
	f->orig = x->range;
	f->credit = x->credit;
	if (fwd_buffers(f, x->sh.tmpl_len, rl) < 0) {
		fwd_free(f);
		free(x);
		return 503;
	}
	memcpy(f->tmpl, x->data, x->sh.tmpl_len);
	memcpy(f->rinfo, x->data + x->sh.tmpl_len, rl);
	int gone = !s || !((struct rsess *)s)->owner ||
		   (((struct rsess *)s)->owner->flags & RC_DEAD);
	if (x->ack)
		fwd_answer(r, &f->o, f->rinfo, gone ? 481 : 200);
	if (gone) {
		r->st.refused_481++;
		if (!x->ack && !(x->o.worker & ORIGIN_NODE)) /* a later piece: the previous hop
							       * already had its 200 (another
							       * node's hears the status) */
			fwd_report_failure(f, 481);
		fwd_free(f);
		free(x);
		return 481;
	}
	f->dkind = D_LOCAL;
	f->dst = ((struct rsess *)s)->owner;
	f->ended = 1;
	f->flag = x->flag;
	f->off = x->body_len;
	if (x->body_len && pend_add(f, NULL, x->data + x->sh.tmpl_len + rl, x->body_len) < 0) {
		fwd_free(f);
		free(x);
		return 503;
	}
	free(x);
	fwd_start_local(f);
	return 200;
}

/* ---- crossing nodes (issue 8) ----------------------------------------------------------
 *
 * A piece for a session of another node goes as a request (msrp_relay_fwd.piece) whose
 * answer says what became of it (the previous hop's answer and the source's credit wait for
 * it); a failure REPORT that the owner sends later comes back to the origin connection,
 * named by its index in r->rcs and its generation. Nodes of a cluster run the same build:
 * the piece's header is this struct as it is. */
struct wire_piece {
	uint8_t version, method, fr, flag;
	uint8_t ack, has_range, range_kept, has_body;
	uint16_t rto_len, rfrom_len, msgid_len, otid_len;
	uint32_t tmpl_len, range_at, range_end, gen;
	uint32_t sidlen, worker;       /* the origin's worker (its REPORTs go there) */
	uint64_t slot, body_len;
	uint64_t start;
	int64_t end, total;
	char method_name[16];
	char sid[MSRP_SESS_ID_MAX];
};

struct wire_report {
	uint64_t slot;
	uint32_t gen, pad;
};

static int node_post(struct msrp_relay *r, struct xmsg *x)
{
	struct wire_piece w;
	size_t n = sizeof(w) + x->len;
	char *buf = r->node.arg && x->o.worker < 256 ? malloc(n) : NULL;
	if (!buf)
		return -ENOMEM;
	memset(&w, 0, sizeof(w));
	w.version = NODE_PIECE_VERSION;
	w.method = (uint8_t)x->o.method;
	w.fr = (uint8_t)x->o.fr;
	w.flag = (uint8_t)x->flag;
	w.ack = (uint8_t)x->ack;
	w.has_range = (uint8_t)x->sh.has_range;
	w.range_kept = (uint8_t)x->sh.range_kept;
	w.has_body = (uint8_t)x->sh.has_body;
	w.rto_len = x->o.rto_len;
	w.rfrom_len = x->o.rfrom_len;
	w.msgid_len = x->o.msgid_len;
	w.otid_len = x->o.otid_len;
	w.tmpl_len = (uint32_t)x->sh.tmpl_len;
	w.range_at = (uint32_t)x->sh.range_at;
	w.range_end = (uint32_t)x->sh.range_end;
	/* the origin connection, maybe another worker's here: its slot is set once, when it is
	 * made, before any frame of it crossed */
	w.slot = x->o.rc ? x->o.rc->slot : UINT64_MAX;
	w.gen = x->o.gen;
	w.worker = x->o.worker;
	w.body_len = x->body_len;
	w.start = x->range.start;
	w.end = x->range.end;
	w.total = x->range.total;
	memcpy(w.method_name, x->sh.method_name, sizeof(w.method_name));
	w.sidlen = x->sidlen;
	memcpy(w.sid, x->sid, x->sidlen);
	memcpy(buf, &w, sizeof(w));
	memcpy(buf + sizeof(w), x->data, x->len);
	char sid[MSRP_SESS_ID_MAX + 1];
	memcpy(sid, x->sid, x->sidlen);
	sid[x->sidlen] = '\0';
	int rc = r->node.piece(r->node.arg, sid, r->index, buf, n, (uint64_t)(uintptr_t)x);
	free(buf);
	if (rc < 0)
		return rc; /* <x> is the caller's still */
	r->st.fwd_node_out++;
	return 0;
}

void msrp_relay_piece_done(struct msrp_relay *r, uint64_t token, int status)
{
	struct xmsg *x = (struct xmsg *)(uintptr_t)token;
	const char *rinfo = x->data + x->sh.tmpl_len;
	if (x->credit && x->o.worker != r->index) {
		give_credit(r, &x->o, x->credit); /* a source of another worker here */
	} else if (x->credit && rconn_alive(x->o.rc, x->o.gen)) {
		struct rconn *src = x->o.rc;
		src->xheld -= x->credit <= src->xheld ? x->credit : src->xheld;
		src_update(src);
	}
	int first = !x->nf || !x->nf->failed; /* the frame's first failure is told, once */
	if (status != 200) {
		r->st.node_failed++;
		if (x->nf)
			x->nf->failed = 1;
	}
	if (x->ack)
		fwd_answer(r, &x->o, rinfo, status);
	else if (status != 200 && first)
		origin_report(r, &x->o, rinfo, x->sh.has_range ? &x->range : NULL, status);
	nframe_put(x->nf);
	free(x);
}

/* The index of node <name> in r->peers (added when new), or -1 (full, out of memory). */
static int peer_index(struct msrp_relay *r, const char *name)
{
	for (unsigned i = 0; i < r->npeers; i++)
		if (!strcmp(r->peers[i], name))
			return (int)i;
	if (strlen(name) > MSRP_RELAY_NODE_MAX || r->npeers >= PEERS_MAX)
		return -1;
	if (!r->peers && !(r->peers = calloc(PEERS_MAX, sizeof(*r->peers))))
		return -1;
	memcpy(r->peers[r->npeers], name, strlen(name) + 1);
	return (int)r->npeers++;
}

int msrp_relay_piece_in(struct msrp_relay *r, const char *node, const void *data, size_t len)
{
	struct wire_piece w;
	if (len < sizeof(w))
		return 400;
	memcpy(&w, data, sizeof(w));
	uint64_t rest = len - sizeof(w);
	uint64_t rl = (uint64_t)w.rto_len + w.rfrom_len + w.msgid_len + w.otid_len;
	if (w.version != NODE_PIECE_VERSION || !w.sidlen || w.sidlen > MSRP_SESS_ID_MAX ||
	    !memchr(w.method_name, '\0', sizeof(w.method_name)) ||
	    (w.method != MSRP_M_SEND && w.method != MSRP_M_REPORT) ||
	    w.fr > MSRP_REPORT_PARTIAL ||
	    (w.flag != MSRP_FLAG_END && w.flag != MSRP_FLAG_MORE && w.flag != MSRP_FLAG_ABORT) ||
	    w.body_len > rest || (uint64_t)w.tmpl_len + rl + w.body_len != rest ||
	    w.range_at > w.range_end || w.range_end > w.tmpl_len || w.tmpl_len > HEAD_OUT ||
	    w.start < 1 || w.start > ((uint64_t)1 << 62) || w.worker > 0xff) {
		r->st.node_malformed++;
		return 400;
	}
	cm_slice sid = { w.sid, w.sidlen };
	if (msrp_id_shard(sid, r->sh->nworkers) != (int)r->index)
		return 481; /* the nodes of a cluster run as many workers each */
	int peer = peer_index(r, node);
	struct xmsg *x = malloc(sizeof(*x) + rest);
	if (!x)
		return 503;
	memset(x, 0, sizeof(*x));
	x->kind = X_PIECE;
	/* its REPORTs go back to <node>'s worker <worker> (unknown peer: lost, counted) */
	x->o.worker = ORIGIN_NODE | ((unsigned)(peer < 0 ? 0xff : peer) << 8) | w.worker;
	x->ack = 0; /* the origin answers the previous hop, from what this call returns */
	x->o.rc = (struct rconn *)(uintptr_t)w.slot; /* never looked at here: an index there */
	x->o.gen = w.gen;
	x->o.method = (enum msrp_method)w.method;
	x->o.fr = (enum msrp_report)w.fr;
	x->o.rto_len = w.rto_len;
	x->o.rfrom_len = w.rfrom_len;
	x->o.msgid_len = w.msgid_len;
	x->o.otid_len = w.otid_len;
	memcpy(x->sid, w.sid, w.sidlen);
	x->sidlen = (uint8_t)w.sidlen;
	memcpy(x->sh.method_name, w.method_name, sizeof(x->sh.method_name));
	x->sh.has_range = w.has_range;
	x->sh.range_kept = w.range_kept;
	x->sh.has_body = w.has_body;
	x->sh.tmpl_len = w.tmpl_len;
	x->sh.range_at = w.range_at;
	x->sh.range_end = w.range_end;
	x->range = (struct msrp_range){ .start = w.start, .end = w.end, .total = w.total };
	x->flag = (enum msrp_flag)w.flag;
	x->body_len = w.body_len;
	x->len = rest;
	memcpy(x->data, (const char *)data + sizeof(w), rest);
	r->st.fwd_node_in++;
	return deliver_piece(r, x);
}

static void node_report(struct msrp_relay *r, unsigned worker, struct rconn *origin,
			uint32_t gen, const char *frame, size_t len)
{
	unsigned peer = (worker >> 8) & 0xff;
	struct wire_report w = { .slot = (uint64_t)(uintptr_t)origin, .gen = gen };
	char *buf = r->node.arg && peer < r->npeers ? malloc(sizeof(w) + len) : NULL;
	if (!buf) {
		r->st.reports_lost++;
		return;
	}
	memcpy(buf, &w, sizeof(w));
	memcpy(buf + sizeof(w), frame, len);
	if (r->node.report(r->node.arg, r->peers[peer], worker & 0xff, buf, sizeof(w) + len) < 0)
		r->st.reports_lost++;
	else
		r->st.reports_sent++;
	free(buf);
}

void msrp_relay_report_in(struct msrp_relay *r, const void *data, size_t len)
{
	struct wire_report w;
	if (len <= sizeof(w)) {
		r->st.node_malformed++;
		return;
	}
	memcpy(&w, data, sizeof(w));
	struct rconn *rc = w.slot < r->nrcs ? r->rcs[w.slot] : NULL;
	if (rconn_alive(rc, w.gen))
		send_whole(rc, (const char *)data + sizeof(w), len - sizeof(w));
	else
		r->st.reports_lost++;
}

void msrp_relay_set_fwd(struct msrp_relay *r, const struct msrp_relay_fwd *h)
{
	if (h && h->arg)
		r->node = *h;
	else
		memset(&r->node, 0, sizeof(r->node));
}

/* ---- routing -------------------------------------------------------------------------- */

#define PATH_MAX_URIS 32

static void pool_ready(void *arg, struct msrp_conn *mc, int err);

/* <f> cannot reach its next hop: the REPORT the Failure-Report asks for, and its bytes go
 * nowhere. */
static void fwd_unreachable(struct fwd *f)
{
	fwd_report_failure(f, FWD_FAILED);
	f->dkind = D_DROP;
	f->failed = 1;
	pend_clear(f);
}

/* The next hop of <pw>'s frame is known: ask the pool for its connection. 0, or -1 when
 * it cannot be asked (then <pw> is freed and its frame no longer waits on it). */
static struct rconn *pool_rconn(struct msrp_relay *r, struct msrp_conn *mc);

static int pw_connect(struct pool_wait *pw, const struct msrp_hop *hop)
{
	/* the connection is there and nobody waits for it: no round through the loop */
	struct msrp_conn *open = msrp_pool_peek_hop(pw->r->pool, hop);
	struct rconn *d = open ? pool_rconn(pw->r, open) : NULL;
	if (d && pw->f) {
		struct fwd *f = pw->f;
		f->pw = NULL;
		free(pw);
		f->dkind = D_LOCAL;
		f->dst = d;
		fwd_start_local(f);
		return 0;
	}
	if (msrp_pool_get_hop(pw->r->pool, hop, pool_ready, pw) == 0)
		return 0;
	if (pw->f)
		pw->f->pw = NULL;
	free(pw);
	return -1;
}

static void egress_ready(struct msrp_egress_req *req, void *arg, int rc,
			 const struct msrp_hop *hop)
{
	struct pool_wait *pw = arg;
	(void)req;
	struct fwd *f = pw->f;
	if (rc < 0 || !f || !pw->r->pool) {
		free(pw);
	} else if (pw_connect(pw, hop) == 0) {
		return;
	}
	if (f) {
		f->pw = NULL;
		fwd_unreachable(f);
		if (f->ended)
			fwd_free(f);
	}
}

/* <f> goes to a peer at <next>: the egress rules (or hook) choose the hop, the pool gives
 * the connection. 0, or -1 when no hop can be had right now (the caller answers FWD_FAILED). */
static int fwd_route_peer(struct fwd *f, const struct msrp_uri *next)
{
	struct msrp_relay *r = f->r;
	struct pool_wait *pw;
	struct msrp_hop hop;
	int rc;

	if (!r->pool || !(pw = calloc(1, sizeof(*pw))))
		return -1;
	pw->r = r;
	pw->f = f;
	f->pw = pw;
	f->dkind = D_POOL;
	charge(f, HELD_FRAME);
	r->st.fwd_pool++;
	if (r->egress)
		rc = msrp_egress_route(r->egress, next, &pw->ereq, egress_ready, pw, &hop);
	else
		rc = msrp_hop_direct(next, &hop);
	if (rc == 1)
		return 0; /* the hook is asked */
	if (rc < 0) {
		f->pw = NULL;
		free(pw);
		return -1;
	}
	return pw_connect(pw, &hop);
}

static struct rconn *pool_rconn(struct msrp_relay *r, struct msrp_conn *mc)
{
	struct rconn *rc = msrp_conn_owner(mc);
	if (!rc && (rc = rconn_new(r, mc)))
		rc->flags |= RC_POOLED;
	return rc;
}

static void pool_ready(void *arg, struct msrp_conn *mc, int err)
{
	struct pool_wait *pw = arg;
	struct fwd *f = pw->f;
	struct rconn *d = mc && !err ? pool_rconn(pw->r, mc) : NULL;
	free(pw);
	if (!f)
		return;
	f->pw = NULL;
	if (!d) {
		fwd_unreachable(f);
		if (f->ended)
			fwd_free(f);
		return;
	}
	f->dkind = D_LOCAL;
	f->dst = d;
	fwd_start_local(f);
}

/* A session of ours for <u> (our URI): on this worker, NULL with *<remote> set to its
 * worker when another one owns it. */
static struct rsess *our_session(struct msrp_relay *r, cm_slice sid, int *remote)
{
	*remote = -1;
	if (!sid.len || sid.len > MSRP_SESS_ID_MAX)
		return NULL;
	int shard = msrp_id_shard(sid, r->sh->nworkers);
	if (shard < 0)
		return NULL;
	if ((unsigned)shard != r->index) {
		*remote = shard;
		return NULL;
	}
	return (struct rsess *)msrp_sess_find(&r->sessions, sid);
}

/* The session-id of a URI of ours in a To-Path, found without parsing the URI whole (one
 * per forwarded message): after "scheme://authority/", up to ';'. An id that is not one we
 * minted finds no session anyway (msrp_id_shard, then the table). Empty when none. */
static cm_slice uri_session_fast(cm_slice u)
{
	const char *end = u.p + u.len, *p = memchr(u.p, ':', u.len);
	if (!p || end - p < 3 || p[1] != '/' || p[2] != '/')
		return CM_SLICE_NULL;
	const char *slash = memchr(p + 3, '/', (size_t)(end - p - 3));
	if (!slash)
		return CM_SLICE_NULL;
	const char *semi = memchr(slash + 1, ';', (size_t)(end - slash - 1));
	return (cm_slice){ slash + 1, (size_t)((semi ? semi : end) - slash - 1) };
}

static const struct msrp_conn_ops relay_ops;

/* On the session's worker: a connection handed over with its first frame. Its relay state
 * comes with that frame, which msrp_conn_new() may already parse (rconn_of); the frame is for
 * a session of this worker, so it stays here. */
static void relay_adopt(eng_conn *c, void *arg)
{
	struct msrp_relay_shared *sh = arg;
	struct msrp_relay *r = atomic_load_explicit(&sh->workers[eng_worker_index(c->w)],
						    memory_order_acquire);
	if (!r) {
		eng_close(c);
		return;
	}
	r->st.handed_in++;
	msrp_conn_new(r->mw, c, &relay_ops, r);
}

/* DESIGN.md §1: a connection that carries a single session goes to the session's worker,
 * so that its frames need no mailbox. Taken as such: a connection whose first frame is for
 * a session of worker <to> and that holds nothing here (no session, no frame on its way, no
 * response awaited). 1 when it is handed (its frame with it), 0 when it stays. */
static int try_handover(struct rconn *rc, unsigned to)
{
	struct msrp_relay *r = rc->r;
	eng_worker *w = r->sh->e ? eng_worker_at(r->sh->e, to) : NULL;
	if (!w || (rc->flags & (RC_SEEN | RC_POOLED)) || rc->sess.head || rc->uc.sess.head ||
	    rc->uc.in || rc->in || rc->out_cur || rc->wait_head || rc->auth)
		return 0;
	if (msrp_conn_handover(rc->mc, w, relay_adopt, r->sh) < 0)
		return 0;
	r->st.handed_out++;
	msrp_conn_set_owner(rc->mc, NULL);
	rconn_release(rc);
	return 1;
}

/* Decides where the request <m> arriving on <rc> goes and starts forwarding it. Returns 0
 * (forwarding; the previous hop gets 200), 1 (the connection went to another worker with
 * the frame: nothing more to do here), 2 (for a session of the worker's user agent: its To-Path
 * is that session's URI alone), or the status to answer. */
static int node_routable(const struct msrp_relay *r, cm_slice sid);

static int route_request(struct rconn *rc, const struct msrp_msg *m)
{
	struct msrp_relay *r = rc->r;
	cm_slice to[PATH_MAX_URIS];
	struct msrp_uri u1;
	int nto = path_split(msrp_hdr_get(m, MSRP_H_TO_PATH), to, PATH_MAX_URIS);
	int remote, npop = 1, node = 0;

	if (nto < 1 || !msrp_hdr_get(m, MSRP_H_FROM_PATH).p)
		return 400;
	cm_slice sid = uri_session_fast(to[0]);
	struct rsess *s = our_session(r, sid, &remote);
	if (nto == 1 && !s) {
		/* an endpoint's session: the user agent's, here or on its worker */
		if (remote < 0 && r->ua && msrp_ua_owns(r->ua, sid))
			return 2;
		if (remote >= 0 && try_handover(rc, (unsigned)remote))
			return 1;
		return 481;
	}
	if (!s && remote < 0) {
		/* for the client of a session of the cluster that another node may hold: the
		 * pieces go there (issue 8) */
		if (nto != 2 || m->method == MSRP_M_AUTH || !node_routable(r, sid))
			return 481;
		node = 1;
	}
	if (nto < 2)
		return 481;   /* addressed to the relay itself: no session of an endpoint here */
	int outbound = s && s->owner == rc;
	if (outbound && msrp_uri_parse(to[1], &u1) < 0)
		return 400;
	/* the 403s below: requests this relay is not authorized to carry (RFC 4976 §6), which
	 * are not FWD_FAILED (a forwarding we could not do) even if they share its code */
	if (!outbound && m->method == MSRP_M_AUTH)
		return 403;   /* an AUTH goes on outwards only, from our own client */
	if (!outbound) {
		/* for our client: its URI must be the last one */
		if (nto != 2)
			return 403;
		if (!s && !node && try_handover(rc, (unsigned)remote))
			return 1;
	} else if (uri_is_ours(r->sh, &u1)) {
		/* the next hop is this relay again (both clients here) */
		sid = u1.session_id;
		s = our_session(r, sid, &remote);
		if (nto != 3 || m->method == MSRP_M_AUTH)
			return (!s && remote < 0) ? 481 : 403; /* an AUTH for our own client is
								 * nobody's */
		if (!s && remote < 0) {
			if (!node_routable(r, sid))
				return 481;
			node = 1; /* that client is another node's (the nodes share an address) */
		}
		npop = 2;
		outbound = 0;
	}
	uint64_t k = r->sh->cfg.max_fwd_chunk;
	if (!s && (remote >= 0 || node) && (!k || k > CROSS_PIECE))
		k = CROSS_PIECE; /* bodies cross workers in pieces of bounded size */
	struct fwd *f = fwd_new(r, rc, m, to, nto, npop, k);
	if (!f)
		return 400; /* a head or a range we cannot carry on (or out of memory) */
	r->st.fwd_requests++;
	rc->in = f;
	if (outbound) {
		if (fwd_route_peer(f, &u1) < 0) {
			rc->in = NULL;
			fwd_free(f);
			return FWD_FAILED; /* no next hop for that URI (a ;ws client, no pool) */
		}
	} else if (s) {
		if (!s->owner || (s->owner->flags & RC_DEAD)) {
			rc->in = NULL;
			fwd_free(f);
			return 481;
		}
		r->st.fwd_local++;
		f->dkind = D_LOCAL;
		f->dst = s->owner;
		fwd_start_local(f);
	} else {
		f->dkind = D_REMOTE;
		f->ack = 1;
		f->node = node;
		f->dworker = node ? r->index : (unsigned)remote;
		f->dsidlen = (uint8_t)sid.len;
		memcpy(f->dsid, sid.p, sid.len);
	}
	return 0;
}

/* ---- AUTH ----------------------------------------------------------------------------- */

/* An AUTH kept while its user's credentials are looked up. */
struct pauth {
	struct msrp_creds_req req;
	struct rconn *rc;
	uint32_t gen;
	cm_slice tid, to, from, authz, expires;
	int has_expires;
	int resuming;                  /* the cluster takes <rsid> over for it (repl.resume) */
	uint32_t exp;                  /* granted Expires, once verified */
	char rsid[MSRP_SESS_ID_MAX + 1];
	struct msrp_auth_result res;   /* the verified Digest (its user) */
	char data[];
};

static void auth_grant(struct pauth *pa, const char *sid);
static int limits_full(struct rconn *rc, cm_slice user);

static void auth_finish(struct pauth *pa, const uint8_t *ha1, int lookup_rc);

static void auth_creds_cb(struct msrp_creds_req *req, void *arg, int rc, const uint8_t ha1[16])
{
	struct pauth *pa = arg;
	(void)req;
	if (!rconn_alive(pa->rc, pa->gen)) {
		free(pa);
		return;
	}
	pa->rc->auth = NULL;
	auth_finish(pa, rc == 0 ? ha1 : NULL, rc);
}

static struct pauth *pauth_new(struct rconn *rc, const struct msrp_msg *m)
{
	cm_slice tid = m->tid, to = msrp_hdr_get(m, MSRP_H_TO_PATH),
		 from = msrp_hdr_get(m, MSRP_H_FROM_PATH),
		 authz = msrp_hdr_get(m, MSRP_H_AUTHORIZATION),
		 exp = msrp_hdr_get(m, MSRP_H_EXPIRES);
	size_t len = tid.len + to.len + from.len + authz.len + exp.len;
	struct pauth *pa = malloc(sizeof(*pa) + len + 1);
	char *p;
	if (!pa)
		return NULL;
	memset(pa, 0, sizeof(*pa));
	pa->rc = rc;
	pa->gen = rc->gen;
	p = pa->data;
#define KEEP(field, v)                                                                      \
	do {                                                                                \
		if ((v).len)                                                                \
			memcpy(p, (v).p, (v).len);                                          \
		pa->field = (cm_slice){ p, (v).len };                                       \
		p += (v).len;                                                               \
	} while (0)
	KEEP(tid, tid);
	KEEP(to, to);
	KEEP(from, from);
	KEEP(authz, authz);
	KEEP(expires, exp);
#undef KEEP
	pa->has_expires = exp.p != NULL;
	return pa;
}

static void auth_respond(struct pauth *pa, int status, const struct msrp_hdr *extra,
			 unsigned nextra)
{
	respond_copy(pa->rc, pa->tid, status, pa->to, pa->from, extra, nextra);
}

static void auth_challenge(struct pauth *pa, int stale)
{
	char ch[512];
	struct msrp_relay *r = pa->rc->r;
	int n = msrp_auth_challenge(&r->sh->auth, stale, ch, sizeof(ch));
	if (n < 0)
		return;
	struct msrp_hdr h = { .id = MSRP_H_WWW_AUTHENTICATE,
			      .name = CM_SLICE_LIT("WWW-Authenticate"),
			      .value = { ch, (size_t)n } };
	r->st.auth_challenged++;
	auth_respond(pa, 401, &h, 1);
}

/* A failed attempt: 401 again, or 403 and the connection closes after max_auth_failures. */
static void auth_failure(struct pauth *pa)
{
	struct rconn *rc = pa->rc;
	struct msrp_relay *r = rc->r;
	r->st.auth_failed++;
	if (++rc->auth_fail >= r->sh->cfg.max_auth_failures) {
		r->st.auth_refused++;
		auth_respond(pa, 403, NULL, 0);
		msrp_conn_close(rc->mc);
		return;
	}
	auth_challenge(pa, 0);
}

static void auth_finish(struct pauth *pa, const uint8_t *ha1, int lookup_rc)
{
	struct rconn *rc = pa->rc;
	struct msrp_relay *r = rc->r;
	const struct msrp_relay_cfg *cfg = &r->sh->cfg;
	struct msrp_auth_result *res = &pa->res;
	cm_slice to0 = msrp_write_path_first(pa->to);

	if (lookup_rc != 0 && lookup_rc != -ENOENT) {
		/* the credentials store failed: not the client's fault, no failure counted */
		auth_challenge(pa, 0);
		free(pa);
		return;
	}
	int v = msrp_auth_verify_ha1(&r->sh->auth, ha1, pa->authz, CM_SLICE_LIT("AUTH"), to0,
				     msrp_auth_now(), res);
	if (v == MSRP_AUTH_BAD) {
		r->st.auth_bad++;
		auth_respond(pa, 400, NULL, 0);
		free(pa);
		return;
	}
	if (v == MSRP_AUTH_STALE) {
		r->st.auth_stale++;
		auth_challenge(pa, 1);
		free(pa);
		return;
	}
	if (v != MSRP_AUTH_OK) {
		auth_failure(pa);
		free(pa);
		return;
	}
	/* digest-uri: the relay's URI as the client wrote it in To-Path */
	struct msrp_uri a, b;
	if (msrp_uri_parse((cm_slice){ res->uri, strlen(res->uri) }, &a) < 0 ||
	    msrp_uri_parse(to0, &b) < 0 || !msrp_uri_equal(&a, &b)) {
		auth_failure(pa);
		free(pa);
		return;
	}
	/* Expires (RFC 4976 §5: 423 outside the bounds) */
	uint32_t exp = cfg->default_expires_s;
	if (pa->has_expires) {
		if (msrp_hdr_expires(pa->expires, &exp) < 0) {
			r->st.auth_bad++;
			auth_respond(pa, 400, NULL, 0);
			free(pa);
			return;
		}
		if (exp < cfg->min_expires_s || exp > cfg->max_expires_s) {
			char num[16];
			int n = snprintf(num, sizeof(num), "%" PRIu32,
					 exp < cfg->min_expires_s ? cfg->min_expires_s :
					 cfg->max_expires_s);
			struct msrp_hdr h = {
				.id = exp < cfg->min_expires_s ? MSRP_H_MIN_EXPIRES : MSRP_H_MAX_EXPIRES,
				.name = exp < cfg->min_expires_s ? CM_SLICE_LIT("Min-Expires") :
								   CM_SLICE_LIT("Max-Expires"),
				.value = { num, (size_t)n } };
			r->st.auth_423++;
			auth_respond(pa, 423, &h, 1);
			free(pa);
			return;
		}
	}
	pa->exp = exp;
	/* a client of a session of the cluster binding again (its node died): the session its
	 * URI names is taken over if its owner is gone and it is this user's */
	if (r->repl.arg && b.session_id.len == MSRP_ID_SESSION_LEN &&
	    msrp_id_shard(b.session_id, r->sh->nworkers) == (int)r->index &&
	    !msrp_sess_find(&r->sessions, b.session_id) &&
	    !limits_full(rc, res->user)) { /* (refused later, it would be lost) */
		memcpy(pa->rsid, b.session_id.p, b.session_id.len);
		pa->rsid[b.session_id.len] = '\0';
		char user[MSRP_AUTH_NAME_MAX + 1];
		snprintf(user, sizeof(user), "%.*s", (int)res->user.len, res->user.p);
		if (r->repl.resume(r->repl.arg, pa->rsid, user, (uint64_t)(uintptr_t)pa) == 0) {
			pa->resuming = 1;
			rc->auth = pa;
			return;
		}
	}
	auth_grant(pa, NULL);
}

/* The per-user and per-IP limit slots of a session of <user> AUTHed on <rc>. */
static void limit_slots(struct rconn *rc, cm_slice user, uint32_t *us, uint32_t *is)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	eng_conn *c = msrp_conn_eng(rc->mc);
	cm_slice ipkey = CM_SLICE_NULL;
	if (c && eng_conn_peer(c, &ss, &sl) == 0)
		ipkey = ss.ss_family == AF_INET ?
			(cm_slice){ (const char *)&((struct sockaddr_in *)&ss)->sin_addr, 4 } :
			(cm_slice){ (const char *)&((struct sockaddr_in6 *)&ss)->sin6_addr, 16 };
	*us = slot_of(user);
	*is = slot_of(ipkey);
}

/* 1 when a limit would refuse a session of <user> on <rc> now (looked at, not taken). */
static int limits_full(struct rconn *rc, cm_slice user)
{
	const struct msrp_relay_cfg *cfg = &rc->r->sh->cfg;
	uint32_t us, is;
	limit_slots(rc, user, &us, &is);
	return rc->r->sessions.count >= cfg->max_sessions ||
	       atomic_load_explicit(&rc->r->sh->per_user[us], memory_order_relaxed) >=
		       cfg->max_per_user ||
	       atomic_load_explicit(&rc->r->sh->per_ip[is], memory_order_relaxed) >= cfg->max_per_ip;
}

/* The AUTH of <pa> verified (its Expires in pa->exp): the session, a new one or <sid> (taken
 * over), and the 200 with its Use-Path. Frees <pa>. */
static void auth_grant(struct pauth *pa, const char *sid_in)
{
	struct rconn *rc = pa->rc;
	struct msrp_relay *r = rc->r;
	const struct msrp_relay_cfg *cfg = &r->sh->cfg;
	struct msrp_auth_result *res = &pa->res;
	uint32_t exp = pa->exp;
	/* limits */
	uint32_t us, is;
	limit_slots(rc, res->user, &us, &is);
	if (r->sessions.count >= cfg->max_sessions) {
		r->st.auth_limited++;
		r->st.limited_sessions++;
		auth_respond(pa, 403, NULL, 0);
		free(pa);
		return;
	}
	if (limit_take(&r->sh->per_user[us], cfg->max_per_user) < 0) {
		r->st.auth_limited++;
		r->st.limited_user++;
		auth_respond(pa, 403, NULL, 0);
		free(pa);
		return;
	}
	if (limit_take(&r->sh->per_ip[is], cfg->max_per_ip) < 0) {
		limit_give(&r->sh->per_user[us]);
		r->st.auth_limited++;
		r->st.limited_ip++;
		auth_respond(pa, 403, NULL, 0);
		free(pa);
		return;
	}
	struct rsess *s = calloc(1, sizeof(*s) + res->user.len + 1);
	char sid[MSRP_ID_SESSION_LEN + 1], up[USE_PATH_MAX];
	int ul;
	if (sid_in)
		snprintf(sid, sizeof(sid), "%s", sid_in);
	if (!s || (!sid_in && msrp_id_session(r->index, sid, sizeof(sid)) < 0) ||
	    (ul = use_path_of(rc, sid, up, sizeof(up))) < 0 ||
	    msrp_sess_add(&r->sessions, &s->s, (cm_slice){ sid, MSRP_ID_SESSION_LEN }) < 0) {
		free(s);
		limit_give(&r->sh->per_user[us]);
		limit_give(&r->sh->per_ip[is]);
		auth_respond(pa, 403, NULL, 0);
		free(pa);
		return;
	}
	s->owner = rc;
	memcpy(s->user, res->user.p, res->user.len);
	s->expires_ms = cm_wall_ms() + (uint64_t)exp * 1000;
	s->user_slot = (uint16_t)us;
	s->ip_slot = (uint16_t)is;
	msrp_sess_bind(&s->s, rc->mc, &rc->sess);
	eng_timer_init(&s->exp, sess_expired, s);
	eng_timer_arm(r->w, &s->exp, (uint64_t)exp * 1000);
	r->st.auth_ok++;
	r->st.sessions++;
	if (sid_in)
		r->st.resumed++;
	if (r->repl.arg)
		r->repl.changed(r->repl.arg, sid);
	rc->auth_fail = 0;

	char num[16], info[1024];
	int nn = snprintf(num, sizeof(num), "%" PRIu32, exp);
	int ni = msrp_auth_info(res, info, sizeof(info));
	struct msrp_hdr h[3] = {
		{ .id = MSRP_H_USE_PATH, .name = CM_SLICE_LIT("Use-Path"),
		  .value = { up, (size_t)ul } },
		{ .id = MSRP_H_EXPIRES, .name = CM_SLICE_LIT("Expires"),
		  .value = { num, (size_t)nn } },
		{ .id = MSRP_H_AUTHENTICATION_INFO, .name = CM_SLICE_LIT("Authentication-Info"),
		  .value = { info, ni > 0 ? (size_t)ni : 0 } },
	};
	auth_respond(pa, 200, h, ni > 0 ? 3 : 2);
	free(pa);
}

static void auth_request(struct rconn *rc, const struct msrp_msg *m)
{
	struct msrp_relay *r = rc->r;
	cm_slice to[PATH_MAX_URIS];
	int nto = path_split(msrp_hdr_get(m, MSRP_H_TO_PATH), to, PATH_MAX_URIS);

	if (nto < 1 || !msrp_hdr_get(m, MSRP_H_FROM_PATH).p) {
		r->st.auth_bad++;
		msrp_conn_respond(rc->mc, m, 400, CM_SLICE_NULL, NULL, 0);
		return;
	}
	if (nto > 1) {
		/* for a relay further out: forwarded like a SEND from our client, its response
		 * comes back end to end (RFC 4976) */
		int st = route_request(rc, m);
		if (st) {
			msrp_conn_respond(rc->mc, m, st, CM_SLICE_NULL, NULL, 0);
			rc->flags |= RC_SKIP;
		} else {
			r->st.auth_forwarded++;
		}
		return;
	}
	rc->flags |= RC_SKIP; /* an AUTH has no body to forward */
	if (!r->have_creds) {
		r->st.auth_no_creds++;
		msrp_conn_respond(rc->mc, m, 403,
				  CM_SLICE_LIT("Action-not-allowed: no relay credentials"), NULL, 0);
		return;
	}
	if (rc->auth || rc->auth_fail >= r->sh->cfg.max_auth_failures) {
		r->st.auth_refused++;
		msrp_conn_respond(rc->mc, m, 403, CM_SLICE_NULL, NULL, 0);
		return;
	}
	struct pauth *pa = pauth_new(rc, m);
	if (!pa)
		return;
	if (!pa->authz.len) {
		auth_challenge(pa, 0);
		free(pa);
		return;
	}
	char user[MSRP_AUTH_NAME_MAX + 1];
	int ulen = msrp_auth_username(pa->authz, user, sizeof(user));
	if (ulen < 0) {
		r->st.auth_bad++;
		auth_respond(pa, 400, NULL, 0);
		free(pa);
		return;
	}
	uint8_t ha1[16];
	if (r->creds) {
		int lr = msrp_creds_lookup(r->creds, (cm_slice){ user, (size_t)ulen }, &pa->req,
					   auth_creds_cb, pa, ha1);
		if (lr == 1) {
			rc->auth = pa;
			return;
		}
		auth_finish(pa, lr == 0 ? ha1 : NULL, lr);
		return;
	}
	const uint8_t *h = msrp_creds_ha1(r->file, (cm_slice){ user, (size_t)ulen },
					  (cm_slice){ r->sh->realm, strlen(r->sh->realm) });
	auth_finish(pa, h, h ? 0 : -ENOENT);
}

/* The response to an AUTH we forwarded goes back to our client, end to end. */
static void forward_auth_response(struct otx *o, int status, const struct msrp_msg *resp)
{
	struct msrp_relay *r = o->r;
	if (o->o.worker != r->index || !rconn_alive(o->o.rc, o->o.gen))
		return;
	struct msrp_hdr extra[6];
	unsigned n = 0;
	static const enum msrp_hid keep[] = { MSRP_H_WWW_AUTHENTICATE, MSRP_H_AUTHENTICATION_INFO,
					      MSRP_H_USE_PATH, MSRP_H_EXPIRES,
					      MSRP_H_MIN_EXPIRES, MSRP_H_MAX_EXPIRES };
	for (unsigned i = 0; resp && i < sizeof(keep) / sizeof(keep[0]); i++) {
		cm_slice v = msrp_hdr_get(resp, keep[i]);
		if (v.p)
			extra[n++] = (struct msrp_hdr){ .id = keep[i],
				.name = { msrp_hdr_name(keep[i]), strlen(msrp_hdr_name(keep[i])) },
				.value = v };
	}
	/* a connection lost upstream: the forwarding failed */
	if (!resp && status == 503)
		status = FWD_FAILED;
	respond_copy(o->o.rc,
		     (cm_slice){ o->data + o->o.rto_len + o->o.rfrom_len + o->o.msgid_len, o->o.otid_len },
		     status, (cm_slice){ o->data + o->o.rto_len, o->o.rfrom_len },
		     (cm_slice){ o->data, o->o.rto_len }, extra, n);
}

/* The hop-by-hop 200 to the SEND <f> was made from (Failure-Report yes or absent), written
 * with copies from f->rinfo: To-Path the first URI of its From-Path, From-Path our URI. The
 * generic writer does the same with more checks; this is the one response of every
 * forwarded message. */
static void respond_ok(struct rconn *rc, const struct fwd *f)
{
	char buf[HEAD_OUT];
	cm_slice from = { f->rinfo, f->o.rto_len }, first, rest = from;
	cm_slice ours = { f->rinfo + f->o.rto_len, f->o.rfrom_len };
	cm_slice tid = { f->rinfo + origin_len(&f->o) - f->o.otid_len, f->o.otid_len };
	if (msrp_path_next(&rest, &first) <= 0 ||
	    first.len + ours.len + 2 * tid.len + 64 > sizeof(buf))
		return;
	size_t n = 0;
#define PUT(p, l) (memcpy(buf + n, (p), (l)), n += (l))
#define PUTS(lit) PUT(lit, sizeof(lit) - 1)
	PUTS("MSRP ");
	PUT(tid.p, tid.len);
	PUTS(" 200 OK\r\nTo-Path: ");
	PUT(first.p, first.len);
	PUTS("\r\nFrom-Path: ");
	PUT(ours.p, ours.len);
	PUTS("\r\n-------");
	PUT(tid.p, tid.len);
	PUTS("$\r\n");
#undef PUTS
#undef PUT
	send_whole(rc, buf, n);
}

/* ---- connection ops -------------------------------------------------------------------- */

/* An AUTH binding again a session of the cluster (msrp_relay_set_repl) that another worker
 * would own: the connection goes there with it, when it may (its first frame). 1: gone. */
static int auth_elsewhere(struct rconn *rc, const struct msrp_msg *m)
{
	cm_slice to[2];
	if (path_split(msrp_hdr_get(m, MSRP_H_TO_PATH), to, 2) != 1)
		return 0;
	cm_slice sid = uri_session_fast(to[0]);
	int shard = sid.len == MSRP_ID_SESSION_LEN ? msrp_id_shard(sid, rc->r->sh->nworkers) : -1;
	return shard >= 0 && (unsigned)shard != rc->r->index && try_handover(rc, (unsigned)shard);
}

static void relay_head(struct msrp_conn *mc, const struct msrp_msg *m)
{
	struct rconn *rc = rconn_of(mc);
	if (!rc)
		return;
	struct msrp_relay *r = rc->r;
	rc->flags &= ~(RC_SKIP | RC_UA);
	rc->in = NULL;
	switch (m->method) {
	case MSRP_M_AUTH:
		if (r->repl.arg && auth_elsewhere(rc, m))
			return; /* handed over: <rc> and <mc> are not ours any more */
		rc->flags |= RC_SEEN;
		auth_request(rc, m);
		return;
	case MSRP_M_SEND:
	case MSRP_M_REPORT: {
		int st = route_request(rc, m);
		if (st == 1)
			return; /* handed over: <rc> and <mc> are not ours any more */
		rc->flags |= RC_SEEN;
		if (st == 2) {
			rc->flags |= RC_UA;
			msrp_ua_head(r->ua, mc, &rc->uc, m); /* it answers, hop by hop */
			return;
		}
		if (st) {
			if (st == 481)
				r->st.refused_481++;
			else if (st == 403)
				r->st.refused_403++;
			else
				r->st.refused_400++;
			msrp_conn_respond(mc, m, st, CM_SLICE_NULL, NULL, 0);
			rc->flags |= RC_SKIP;
			return;
		}
		/* hop by hop; for a session of another worker, that worker answers */
		if (m->method != MSRP_M_SEND || (rc->in && rc->in->dkind == D_REMOTE))
			return;
		if (rc->in && msrp_report_failure_eff(rc->in->o.fr) == MSRP_REPORT_YES)
			respond_ok(rc, rc->in);
		else
			msrp_conn_respond(mc, m, 200, CM_SLICE_NULL, NULL, 0);
		return;
	}
	default:
		rc->flags |= RC_SKIP;
		return;
	}
}

static void relay_body(struct msrp_conn *mc, eng_buf *b, cm_slice body)
{
	struct rconn *rc = rconn_of(mc);
	if (rc && (rc->flags & RC_UA)) {
		msrp_ua_body(&rc->uc, body);
		return;
	}
	if (!rc || (rc->flags & RC_SKIP) || !rc->in)
		return;
	struct fwd *f = rc->in;
	f->off += body.len;
	if (f->failed || f->dkind == D_DROP)
		return;
	if (f->active || f->dkind == D_REMOTE) {
		emit(f, b, body.p, body.len);
		return;
	}
	if (pend_add(f, b, body.p, body.len) < 0)
		f->failed = 1;
}

static void relay_end(struct msrp_conn *mc, enum msrp_flag flag)
{
	struct rconn *rc = rconn_of(mc);
	if (rc && (rc->flags & RC_UA)) {
		rc->flags &= ~RC_UA;
		msrp_ua_end(&rc->uc, flag);
		return;
	}
	if (!rc || (rc->flags & RC_SKIP) || !rc->in) {
		if (rc)
			rc->flags &= ~RC_SKIP;
		return;
	}
	struct fwd *f = rc->in;
	rc->in = NULL;
	f->ended = 1;
	f->flag = flag;
	if (f->dkind == D_DROP || (f->failed && !f->active)) {
		if (f->dkind == D_LOCAL)
			fwd_unqueue(f); /* it may wait in line */
		fwd_free(f);
		return;
	}
	if (f->active || f->dkind == D_REMOTE) {
		fwd_finish(f);
		return;
	}
	/* waiting (busy destination or a connection being opened): finishes when it goes */
}

/* Frames waiting on <d> lose their destination. */
static void dst_gone(struct rconn *d)
{
	struct fwd *f = d->out_cur;
	d->out_cur = NULL;
	if (f) {
		f->active = 0;
		f->failed = 1;
		f->dkind = D_DROP;
		fwd_report_failure(f, FWD_FAILED);
		if (f->ended)
			fwd_free(f);
	}
	while ((f = d->wait_head)) {
		d->wait_head = f->qnext;
		f->qnext = NULL;
		f->dkind = D_DROP;
		f->failed = 1;
		fwd_report_failure(f, FWD_FAILED);
		pend_clear(f);
		if (f->ended)
			fwd_free(f);
	}
	d->wait_tail = &d->wait_head;
}

static void relay_close(struct msrp_conn *mc, int err)
{
	struct rconn *rc = msrp_conn_owner(mc); /* none: it never sent a frame, or was handed */
	if (!rc)
		return;
	struct msrp_relay *r = rc->r;
	struct fwd *f = rc->in;
	rc->in = NULL;
	rc->flags |= RC_DEAD;
	if (f) {
		/* the source went in the middle of a frame */
		f->src = NULL;
		if (f->active) {
			f->ended = 1;
			f->flag = MSRP_FLAG_ABORT;
			r->st.aborted++;
			fwd_finish(f);
		} else if (f->dkind == D_LOCAL) {
			fwd_unqueue(f); /* it was waiting in line */
			fwd_free(f);
		} else if (f->dkind == D_REMOTE && !f->failed) {
			/* what was collected goes with '#': the other side learns it was aborted */
			f->ended = 1;
			f->flag = MSRP_FLAG_ABORT;
			r->st.aborted++;
			fwd_finish(f);
		} else {
			fwd_free(f);
		}
	}
	dst_gone(rc);
	if (r->ua)
		msrp_ua_conn_closed(r->ua, &rc->uc, err);
	if (rc->auth && rc->auth->resuming) {
		rc->auth->rc = NULL; /* the cluster's answer finds it orphaned */
		rc->auth = NULL;
	} else if (rc->auth) {
		msrp_creds_cancel(&rc->auth->req);
		free(rc->auth);
		rc->auth = NULL;
	}
	while (rc->sess.head)
		sess_destroy(r, (struct rsess *)rc->sess.head);
	msrp_conn_set_owner(mc, NULL);
	rconn_release(rc);
}

/* Its relay sessions and the user agent's sessions bound to it. */
static uint32_t relay_sessions(struct msrp_conn *mc)
{
	struct rconn *rc = msrp_conn_owner(mc);
	return rc ? msrp_sess_list_count(&rc->sess) + msrp_sess_list_count(&rc->uc.sess) : 0;
}

static const struct msrp_conn_ops relay_ops = {
	.on_head = relay_head, .on_body = relay_body, .on_end = relay_end, .on_close = relay_close,
	.sessions = relay_sessions,
};

/* Accepted connections run these ops themselves; the pool's run the pool's, which call
 * these (and their udata is the pool's). */
static int accepted_conn(struct msrp_conn *mc)
{
	return msrp_conn_ops_of(mc) == &relay_ops;
}

const struct msrp_conn_ops *msrp_relay_ops(void)
{
	return &relay_ops;
}

/* ---- life cycle ------------------------------------------------------------------------ */

struct msrp_relay_shared *msrp_relay_shared_new(const struct msrp_relay_cfg *cfg,
						eng_engine *e, char *err, size_t errlen)
{
	struct msrp_relay_shared *sh = calloc(1, sizeof(*sh));
	if (!sh) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	sh->cfg = *cfg;
	snprintf(sh->realm, sizeof(sh->realm), "%s", cfg->realm ? cfg->realm : "rcsgw");
	snprintf(sh->public_host, sizeof(sh->public_host), "%s",
		 cfg->public_host ? cfg->public_host : "");
	sh->cfg.realm = sh->realm;
	sh->cfg.public_host = sh->public_host;
	if (!sh->cfg.max_auth_failures)
		sh->cfg.max_auth_failures = 3;
	if (msrp_auth_cfg_init(&sh->auth, (cm_slice){ sh->realm, strlen(sh->realm) },
			       cfg->nonce_ttl_s) < 0) {
		snprintf(err, errlen, "relay.realm \"%s\": not a usable Digest realm", sh->realm);
		free(sh);
		return NULL;
	}
	sh->e = e;
	sh->nworkers = e ? eng_nworkers(e) : 1;
	if (sh->nworkers > MAX_WORKERS) {
		snprintf(err, errlen, "the relay shards sessions over at most %d workers",
			 MAX_WORKERS);
		free(sh);
		return NULL;
	}
	locals_load(sh);
	return sh;
}

void msrp_relay_shared_free(struct msrp_relay_shared *sh)
{
	free(sh);
}

struct msrp_relay *msrp_relay_new(struct msrp_relay_shared *sh, eng_worker *w,
				  struct msrp_worker *mw)
{
	struct msrp_relay *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->sh = sh;
	r->w = w;
	r->mw = mw;
	r->index = eng_worker_index(w);
	r->file = sh->cfg.creds;
	r->have_creds = sh->cfg.have_creds;
	eng_timer_init(&r->credit_timer, credit_retry, r);
	if (msrp_sess_table_init(&r->sessions, 1024) < 0) {
		free(r);
		return NULL;
	}
	atomic_store_explicit(&sh->workers[r->index], r, memory_order_release);
	return r;
}

void msrp_relay_set_pool(struct msrp_relay *r, struct msrp_pool *pool) { r->pool = pool; }

void msrp_relay_stop(struct msrp_relay *r)
{
	/* a dying pool closes its connections without telling its owner: end ours now */
	struct rconn *rc = r->live, *next;
	for (; rc; rc = next) {
		next = rc->lnext;
		if ((rc->flags & RC_POOLED) && rc->mc) {
			relay_close(rc->mc, -ECANCELED);
			next = r->live; /* closing may have released others: start over */
		}
	}
}
void msrp_relay_set_creds(struct msrp_relay *r, struct msrp_creds_src *c) { r->creds = c; }

void msrp_relay_set_file(struct msrp_relay *r, const struct msrp_creds *file, int have)
{
	r->file = file;
	r->have_creds = have;
	if (r->creds)
		msrp_creds_src_set_file(r->creds, file);
}

void msrp_relay_set_repl(struct msrp_relay *r, const struct msrp_relay_repl *h)
{
	if (h && h->arg)
		r->repl = *h;
	else
		memset(&r->repl, 0, sizeof(r->repl));
}

int msrp_relay_binding(const struct msrp_relay *r, const char *sid,
		       struct msrp_relay_binding *out)
{
	size_t n = strlen(sid);
	const struct rsess *s = n <= MSRP_SESS_ID_MAX ?
		(const struct rsess *)msrp_sess_find(&r->sessions, (cm_slice){ sid, n }) : NULL;
	if (!s)
		return -ENOENT;
	memcpy(out->sid, sid, n + 1);
	out->user = s->user;
	out->expires_ms = s->expires_ms;
	return 0;
}

int msrp_relay_drop(struct msrp_relay *r, const char *sid)
{
	size_t n = strlen(sid);
	struct rsess *s = n <= MSRP_SESS_ID_MAX ?
		(struct rsess *)msrp_sess_find(&r->sessions, (cm_slice){ sid, n }) : NULL;
	if (!s)
		return -ENOENT;
	sess_destroy(r, s);
	return 0;
}

void msrp_relay_resumed(struct msrp_relay *r, uint64_t token, int ok)
{
	struct pauth *pa = (struct pauth *)(uintptr_t)token;
	if (!pa->rc || !rconn_alive(pa->rc, pa->gen)) {
		/* its connection went meanwhile: what was taken over goes again */
		if (ok && r->repl.arg)
			r->repl.over(r->repl.arg, pa->rsid);
		free(pa);
		return;
	}
	pa->rc->auth = NULL;
	pa->resuming = 0;
	if (ok && msrp_sess_find(&r->sessions, (cm_slice){ pa->rsid, strlen(pa->rsid) }))
		ok = 0; /* another connection bound it meanwhile */
	if (ok) {
		char sid[MSRP_SESS_ID_MAX + 1];
		memcpy(sid, pa->rsid, sizeof(sid));
		auth_grant(pa, sid);
		if (!msrp_sess_find(&r->sessions, (cm_slice){ sid, strlen(sid) }) && r->repl.arg)
			r->repl.over(r->repl.arg, sid); /* refused (a limit): it goes again */
		return;
	}
	r->st.resume_refused++;
	auth_grant(pa, NULL);
}
void msrp_relay_set_egress(struct msrp_relay *r, struct msrp_egress *e) { r->egress = e; }
void msrp_relay_set_ua(struct msrp_relay *r, struct msrp_ua *ua) { r->ua = ua; }

void msrp_relay_free(struct msrp_relay *r)
{
	if (!r)
		return;
	atomic_store_explicit(&r->sh->workers[r->index], NULL, memory_order_release);
	msrp_sess_table_fini(&r->sessions);
	while (r->rc_free) {
		struct rconn *rc = r->rc_free;
		r->rc_free = rc->free_next;
		free(rc);
	}
	free(r->rcs);
	free(r->peers);
	while (r->credit_retry) {
		struct xmsg *x = r->credit_retry;
		r->credit_retry = x->next;
		free(x);
	}
	while (r->fwd_free) {
		struct fwd *f = r->fwd_free;
		r->fwd_free = f->qnext;
		free(f);
	}
	while (r->otx_free) {
		struct otx *o = r->otx_free;
		r->otx_free = o->next;
		free(o);
	}
	free(r);
}

const struct msrp_relay_stats *msrp_relay_stats(const struct msrp_relay *r)
{
	return &r->st;
}

uint32_t msrp_relay_sessions(const struct msrp_relay *r)
{
	return r->sessions.count;
}

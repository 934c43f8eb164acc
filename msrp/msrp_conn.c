/* msrp_conn.c — MSRP over one engine connection, straight or through the WebSocket
 * transport (see msrp_conn.h). Both feed the same parser loop (conn_feed) and end the same
 * way (conn_end); a frame is assembled as one iovec list and sent as one WebSocket message,
 * or piece by piece on the engine connection. */
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/cm_hist.h"
#include "common/cm_log.h"
#include "engine/eng_hep.h"
#include "msrp/msrp_conn.h"
#include "msrp/msrp_hdr.h"
#include "msrp/msrp_id.h"
#include "msrp/msrp_parse.h"
#include "msrp/msrp_report.h"
#include "msrp/msrp_write.h"
#include "msrp/msrp_ws.h"

#define TXN_BUCKETS 16384          /* per worker; chains are short at any sane load */
#define HEAD_OUT_MAX 8192          /* bytes of a head we write (responses, requests) */
#define TAIL_OUT_MAX 128           /* bytes of an end-line ("-------" tid flag CRLF) */
#define IOV_STACK 32               /* iovecs of a frame kept on the stack */
#define TRACE_SID_MAX 64           /* bytes of a session id kept as a trace's correlation id */
#define HELD_LOOK_MS 250           /* while a head or body clock runs, whether rcsgw holds the
				    * connection's reading is looked at this often (at most a
				    * quarter of the clock's timeout) */

struct txn {
	struct txn *hnext;             /* bucket chain */
	struct txn *cnext, **cprev;    /* the connection's list */
	struct msrp_conn *mc;
	msrp_resp_fn fn;
	void *arg;
	eng_timer timer;
	uint64_t sent_us;              /* eng_now_us when it was opened (its round trip) */
	uint32_t hash;
	uint8_t tidlen;
	char tid[MSRP_TID_MAX];
};

struct hbuf {
	struct hbuf *next;
};

struct msrp_worker {
	eng_worker *w;
	struct msrp_conn_cfg cfg;
	struct msrp_parse_cfg pcfg;
	struct msrp_parse_stats pstats;
	struct msrp_conn_stats st;
	struct txn *buckets[TXN_BUCKETS];
	struct txn *txn_free;
	struct hbuf *hbuf_free;        /* head buffers of limits.max_head bytes */
	struct msrp_ws_stats wsst;     /* the WebSocket transports of its connections */
	/* the frame whose head is being handed to an owner (one at a time per worker): where
	 * it began in the bytes being parsed (NULL: in an earlier read), where those end, and
	 * a handover the owner asked for from on_head (msrp_conn_handover) */
	const struct msrp_conn *head_mc;
	const char *frame_start, *feed_end;
	const struct msrp_conn *ho_mc;
	eng_worker *ho_to;
	void (*ho_adopt)(eng_conn *c, void *arg);
	void *ho_arg;
	/* HEP tracing (eng_hep.h): NULL when off; a copy of a split head (max_head bytes) for
	 * the frame being traced, <tr_busy> while a feed holds it */
	eng_hep *hep;
	char *tr_head;
	int tr_busy;
};

#define MC_IN_FRAME  0x01  /* HEAD seen, END not yet */
#define MC_SKIP      0x02  /* the current frame is not the owner's (a response, a 501) */
#define MC_DEAD      0x04  /* the engine connection is gone: free when the call unwinds */
#define MC_SHUT      0x08  /* WebSocket: we closed or aborted it; nothing more in or out */

struct msrp_conn {
	eng_conn *c;                   /* TCP/TLS: the connection; NULL over WebSocket */
	struct msrp_ws *ws;            /* NULL: MSRP right on <c>; else the transport, allocated
					* with this struct (struct msrp_conn_ws) */
	struct msrp_worker *mw;
	const struct msrp_conn_ops *ops;
	void *udata;
	struct msrp_parser p;
	eng_timer timer;
	uint64_t last_io_ms;
	uint64_t head_since_ms;        /* 0: no partial head pending */
	uint64_t body_due_ms;          /* 0: no body pending (or no rule); else its deadline */
	uint32_t body_rem;             /* bytes x 1000 received short of one more ms of it */
	struct txn *txns;
	uint32_t ntxns;
	void *owner;                   /* the application's (msrp_conn_set_owner) */
	uint64_t frame_body;           /* body bytes of the frame being read */
	uint32_t max_frame;            /* the peer's profile's max_frame (0: limits alone) */
	uint16_t depth;                /* nesting of our engine callbacks */
	uint8_t flags;
	int close_err;
	struct eng_hep_addr tr_local, tr_peer; /* for tracing: read when first needed */
};

/* ---- counters by method and status ------------------------------------------------ */

const char *const msrp_conn_method_names[MSRP_CONN_METHODS] = { "SEND", "REPORT", "AUTH",
								 "other" };
const char *const msrp_conn_code_names[MSRP_CONN_CODES] = {
	"200", "400", "403", "408", "413", "415", "423", "481", "501", "506", "other",
};

unsigned msrp_conn_method_slot(enum msrp_method m)
{
	switch (m) {
	case MSRP_M_SEND: return 0;
	case MSRP_M_REPORT: return 1;
	case MSRP_M_AUTH: return 2;
	default: return 3;
	}
}

unsigned msrp_conn_code_slot(int code)
{
	switch (code) {
	case 200: return 0;
	case 400: return 1;
	case 403: return 2;
	case 408: return 3;
	case 413: return 4;
	case 415: return 5;
	case 423: return 6;
	case 481: return 7;
	case 501: return 8;
	case 506: return 9;
	default: return 10;
	}
}

void msrp_conn_count_request_out(struct msrp_conn *mc, enum msrp_method method)
{
	mc->mw->st.req_method[1][msrp_conn_method_slot(method)]++;
}

void msrp_conn_count_response_out(struct msrp_conn *mc, int status)
{
	mc->mw->st.resp_code[1][msrp_conn_code_slot(status)]++;
}

void msrp_conn_count_frame_out(struct msrp_conn *mc, const char *frame, size_t len)
{
	if (len < 8 || memcmp(frame, "MSRP ", 5))
		return;
	const char *p = memchr(frame + 5, ' ', len - 5);
	if (!p)
		return;
	p++;
	size_t n = 0, rest = len - (size_t)(p - frame);
	while (n < rest && p[n] != ' ' && p[n] != '\r')
		n++;
	if (n == 3 && p[0] >= '1' && p[0] <= '9' && p[1] >= '0' && p[1] <= '9' &&
	    p[2] >= '0' && p[2] <= '9') {
		msrp_conn_count_response_out(mc, (p[0] - '0') * 100 + (p[1] - '0') * 10 +
						 (p[2] - '0'));
		return;
	}
	enum msrp_method m = n == 4 && !memcmp(p, "SEND", 4)   ? MSRP_M_SEND
			   : n == 6 && !memcmp(p, "REPORT", 6) ? MSRP_M_REPORT
			   : n == 4 && !memcmp(p, "AUTH", 4)   ? MSRP_M_AUTH
							       : MSRP_M_OTHER;
	msrp_conn_count_request_out(mc, m);
}

/* ---- per worker ------------------------------------------------------------------- */

void msrp_conn_cfg_default(struct msrp_conn_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	msrp_parse_limits_default(&cfg->limits);
	cfg->txn_timeout_ms = 30000;
	cfg->max_txns = 256;
	cfg->idle_timeout_ms = 600000;
	cfg->head_timeout_ms = 30000;
	cfg->body_timeout_ms = 30000;
	cfg->body_min_rate = 512;
}

static void *hbuf_alloc(void *ctx, size_t *cap)
{
	struct msrp_worker *mw = ctx;
	size_t want = mw->cfg.limits.max_head;
	if (*cap > want)
		return NULL;
	*cap = want;
	if (mw->hbuf_free) {
		struct hbuf *h = mw->hbuf_free;
		mw->hbuf_free = h->next;
		return h;
	}
	return malloc(want < sizeof(struct hbuf) ? sizeof(struct hbuf) : want);
}

static void hbuf_release(void *ctx, void *p)
{
	struct msrp_worker *mw = ctx;
	struct hbuf *h = p;
	h->next = mw->hbuf_free; /* kept: as many as heads were ever split at once */
	mw->hbuf_free = h;
}

struct msrp_worker *msrp_worker_new(eng_worker *w, const struct msrp_conn_cfg *cfg)
{
	struct msrp_worker *mw = calloc(1, sizeof(*mw));
	if (!mw)
		return NULL;
	mw->w = w;
	mw->cfg = *cfg;
	mw->pcfg.limits = cfg->limits;
	mw->pcfg.alloc = hbuf_alloc;
	mw->pcfg.release = hbuf_release;
	mw->pcfg.ctx = mw;
	mw->pcfg.stats = &mw->pstats;
	if (eng_hep_wants(eng_worker_hep(w), ENG_HEP_MSRP) &&
	    (mw->tr_head = malloc(cfg->limits.max_head)))
		mw->hep = eng_worker_hep(w);
	return mw;
}

void msrp_worker_free(struct msrp_worker *mw)
{
	if (!mw)
		return;
	while (mw->hbuf_free) {
		struct hbuf *h = mw->hbuf_free;
		mw->hbuf_free = h->next;
		free(h);
	}
	while (mw->txn_free) {
		struct txn *t = mw->txn_free;
		mw->txn_free = t->hnext;
		free(t);
	}
	free(mw->tr_head);
	free(mw);
}

const struct msrp_conn_stats *msrp_worker_stats(const struct msrp_worker *mw) { return &mw->st; }
const struct msrp_parse_stats *msrp_worker_parse_stats(const struct msrp_worker *mw)
{
	return &mw->pstats;
}
const struct msrp_ws_stats *msrp_worker_ws_stats(const struct msrp_worker *mw)
{
	return &mw->wsst;
}
void *msrp_conn_udata(const struct msrp_conn *mc) { return mc->udata; }
void *msrp_conn_owner(const struct msrp_conn *mc) { return mc->owner; }
const struct msrp_conn_ops *msrp_conn_ops_of(const struct msrp_conn *mc) { return mc->ops; }
void msrp_conn_set_owner(struct msrp_conn *mc, void *owner) { mc->owner = owner; }
int msrp_conn_is_ws(const struct msrp_conn *mc) { return mc->ws != NULL; }
struct msrp_worker *msrp_conn_worker(const struct msrp_conn *mc) { return mc->mw; }
eng_conn *msrp_conn_eng(const struct msrp_conn *mc)
{
	return mc->ws ? msrp_ws_conn(mc->ws) : mc->c;
}

/* ---- transactions ------------------------------------------------------------------ */

/* The table holds our own transactions, under tids we minted (msrp_id_tid: random, unknown
 * to peers): a peer cannot place entries, only look one chain up with a tid it makes. So a
 * plain multiply-xor mix of the tid's bytes spreads them well enough, at a fraction of the
 * cost of the keyed hash (an insert per request, a look-up per response). */
static uint32_t txn_hash(const struct msrp_conn *mc, cm_slice tid)
{
	uint64_t h = (uintptr_t)mc * 0x9e3779b97f4a7c15ull ^ tid.len;
	size_t i = 0;
	for (; i + 8 <= tid.len; i += 8) {
		uint64_t w;
		memcpy(&w, tid.p + i, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdull;
		h ^= h >> 32;
	}
	for (; i < tid.len; i++)
		h = (h ^ (unsigned char)tid.p[i]) * 0x100000001b3ull;
	h ^= h >> 29;
	return (uint32_t)(h ^ (h >> 32));
}

static struct txn *txn_find(struct msrp_conn *mc, cm_slice tid)
{
	uint32_t h = txn_hash(mc, tid);
	for (struct txn *t = mc->mw->buckets[h & (TXN_BUCKETS - 1)]; t; t = t->hnext)
		if (t->hash == h && t->mc == mc && t->tidlen == tid.len &&
		    memcmp(t->tid, tid.p, tid.len) == 0)
			return t;
	return NULL;
}

static void txn_unlink(struct txn *t)
{
	struct msrp_worker *mw = t->mc->mw;
	struct txn **pp = &mw->buckets[t->hash & (TXN_BUCKETS - 1)];
	while (*pp != t)
		pp = &(*pp)->hnext;
	*pp = t->hnext;
	*t->cprev = t->cnext;
	if (t->cnext)
		t->cnext->cprev = t->cprev;
	t->mc->ntxns--;
	eng_timer_cancel(&t->timer);
	t->hnext = mw->txn_free;
	mw->txn_free = t;
}

/* Ends <t> with <status>: the owner's callback runs after <t> is gone. */
static void txn_finish(struct txn *t, int status, const struct msrp_msg *resp)
{
	struct msrp_conn *mc = t->mc;
	msrp_resp_fn fn = t->fn;
	void *arg = t->arg;
	txn_unlink(t);
	fn(mc, arg, status, resp);
}

static void txn_expired(eng_timer *tm)
{
	struct txn *t = tm->arg;
	t->mc->mw->st.txn_timeouts++;
	txn_finish(t, 408, NULL);
}

static struct txn *txn_new(struct msrp_conn *mc, cm_slice tid, msrp_resp_fn fn, void *arg)
{
	struct msrp_worker *mw = mc->mw;
	struct txn *t = mw->txn_free;
	if (t)
		mw->txn_free = t->hnext;
	else if (!(t = malloc(sizeof(*t))))
		return NULL;
	t->mc = mc;
	t->fn = fn;
	t->arg = arg;
	t->sent_us = eng_now_us(mw->w);
	t->tidlen = (uint8_t)tid.len;
	memcpy(t->tid, tid.p, tid.len);
	t->hash = txn_hash(mc, tid);
	struct txn **b = &mw->buckets[t->hash & (TXN_BUCKETS - 1)];
	t->hnext = *b;
	*b = t;
	t->cnext = mc->txns;
	if (t->cnext)
		t->cnext->cprev = &t->cnext;
	t->cprev = &mc->txns;
	mc->txns = t;
	mc->ntxns++;
	eng_timer_init(&t->timer, txn_expired, t);
	eng_timer_arm(mw->w, &t->timer, mw->cfg.txn_timeout_ms);
	return t;
}

/* ---- timers ------------------------------------------------------------------------ */

static int closing(const struct msrp_conn *mc)
{
	if (mc->flags & (MC_DEAD | MC_SHUT))
		return 1;
	if (!mc->ws)
		return (mc->c->flags & (ENG_CF_DEAD | ENG_CF_CLOSING)) != 0;
	const eng_conn *c = msrp_ws_conn(mc->ws);
	return msrp_ws_state(mc->ws) != MSRP_WS_S_OPEN || !c ||
	       (c->flags & (ENG_CF_DEAD | ENG_CF_CLOSING));
}

/* Cuts the connection off now with <err> (the owner's on_close tells it); on_close
 * follows from the engine (TCP) or from the WebSocket glue, never from inside this call's
 * caller for WebSocket. */
static void conn_abort(struct msrp_conn *mc, int err)
{
	if (!mc->ws) {
		eng_abort(mc->c, err);
		return;
	}
	if (!mc->close_err)
		mc->close_err = err;
	mc->flags |= MC_SHUT;
	msrp_ws_abort(mc->ws);
}

/* The nearest moment conn_timer has something to do for <mc>: a deadline, or the next
 * look at whether its reading is held while a head or body clock runs; UINT64_MAX: none. */
static uint64_t next_due(const struct msrp_conn *mc, uint64_t now)
{
	const struct msrp_conn_cfg *cfg = &mc->mw->cfg;
	uint64_t due = UINT64_MAX, look = HELD_LOOK_MS;

	if (mc->head_since_ms && cfg->head_timeout_ms) {
		due = mc->head_since_ms + cfg->head_timeout_ms;
		if (cfg->head_timeout_ms / 4 < look)
			look = cfg->head_timeout_ms / 4;
	}
	if (mc->body_due_ms) {
		if (mc->body_due_ms < due)
			due = mc->body_due_ms;
		if (cfg->body_timeout_ms / 4 < look)
			look = cfg->body_timeout_ms / 4;
	}
	if (due != UINT64_MAX && now + (look ? look : 1) < due)
		due = now + (look ? look : 1);
	if (cfg->idle_timeout_ms && mc->last_io_ms + cfg->idle_timeout_ms < due)
		due = mc->last_io_ms + cfg->idle_timeout_ms;
	return due;
}

/* Body bytes <n> came: every body_min_rate of them move the body's deadline a second
 * later, to at most body_timeout_ms from now (a rate, not a credit banked for a stall). */
static void body_credit(struct msrp_conn *mc, size_t n)
{
	const struct msrp_conn_cfg *cfg = &mc->mw->cfg;
	if (!mc->body_due_ms)
		return;
	uint64_t x = mc->body_rem + (uint64_t)n * 1000;
	mc->body_due_ms += x / cfg->body_min_rate;
	mc->body_rem = (uint32_t)(x % cfg->body_min_rate);
	if (mc->body_due_ms > mc->last_io_ms + cfg->body_timeout_ms)
		mc->body_due_ms = mc->last_io_ms + cfg->body_timeout_ms;
}

/* Gives the connection up while its peer may still be sending (the owner's on_close tells
 * it <err>): the answers to the frames before go out first, what the peer still sends is
 * read and dropped (eng_close_linger: a reset would make its kernel drop them). Over
 * WebSocket a close 1008 with <ws_reason> (1002 would blame the WebSocket framing; the
 * MSRP inside is what broke). */
static void give_up(struct msrp_conn *mc, int err, const char *ws_reason)
{
	mc->close_err = err;
	if (mc->ws) {
		mc->flags |= MC_SHUT;
		msrp_ws_close(mc->ws, 1008, ws_reason);
		return;
	}
	eng_close_linger(mc->c);
}

/* A body slower than body_min_rate: given up on as a broken stream is. */
static void body_cut(struct msrp_conn *mc)
{
	mc->mw->st.body_timeouts++;
	CM_LOG_RL(CM_LOG_INFO, "msrp: a frame body slower than msrp.body_min_rate: closed");
	give_up(mc, -ETIMEDOUT, "MSRP body too slow");
}

static void conn_timer(eng_timer *tm)
{
	struct msrp_conn *mc = tm->arg;
	struct msrp_worker *mw = mc->mw;
	uint64_t now = eng_now_ms(mw->w);

	if (closing(mc))
		return;
	eng_conn *ec = mc->ws ? msrp_ws_conn(mc->ws) : mc->c;
	if (ec && (ec->flags & (ENG_CF_PAUSED | ENG_CF_BP | ENG_CF_NOBUFS))) {
		/* not read by our choice (back-pressure: its answers, or the far side of a
		 * relayed session, do not drain): the head's clock starts again when reading
		 * does, the body's deadline is a whole body_timeout away from then at least */
		if (mc->head_since_ms)
			mc->head_since_ms = now;
		if (mc->body_due_ms && mc->body_due_ms < now + mw->cfg.body_timeout_ms)
			mc->body_due_ms = now + mw->cfg.body_timeout_ms;
	}
	if (mc->head_since_ms && mw->cfg.head_timeout_ms &&
	    now >= mc->head_since_ms + mw->cfg.head_timeout_ms) {
		mw->st.head_timeouts++;
		conn_abort(mc, -ETIMEDOUT);
		return;
	}
	if (mc->body_due_ms && now >= mc->body_due_ms) {
		body_cut(mc);
		return;
	}
	if (mw->cfg.idle_timeout_ms && now >= mc->last_io_ms + mw->cfg.idle_timeout_ms) {
		mw->st.idle_closed++;
		conn_abort(mc, -ETIMEDOUT);
		return;
	}
	uint64_t next = next_due(mc, now);
	if (next != UINT64_MAX)
		eng_timer_arm(mw->w, &mc->timer, next > now ? next - now : 0);
}

/* Arms the timer for the nearest deadline unless it is armed already (it re-checks). */
static void timer_update(struct msrp_conn *mc)
{
	struct msrp_worker *mw = mc->mw;
	uint64_t now = eng_now_ms(mw->w), due = next_due(mc, now);

	if (due == UINT64_MAX)
		return;
	if (eng_timer_armed(&mc->timer) && mc->timer.expires_ms <= due)
		return; /* it fires earlier and re-checks */
	eng_timer_arm(mw->w, &mc->timer, due > now ? due - now : 0);
}

/* ---- tracing (eng_hep.h) ------------------------------------------------------------- */

/* The session id of the last URI of the To-Path header in head text <h> (its path after
 * "//host:port/", up to ';'), or an empty slice: a traced frame's correlation id. */
static cm_slice head_session(cm_slice h)
{
	const char *p = h.p, *end = h.p + h.len;

	while (p < end) {
		const char *le = memchr(p, '\n', (size_t)(end - p));
		if (!le)
			le = end;
		if (le - p > 8 && !strncasecmp(p, "To-Path:", 8)) {
			const char *ve = le;
			while (ve > p && (ve[-1] == '\r' || ve[-1] == ' '))
				ve--;
			const char *u = ve;
			while (u > p + 8 && u[-1] != ' ')
				u--;
			/* u..ve: the last URI, "msrp://host:port/sid;tcp" */
			const char *sl = memchr(u, '/', (size_t)(ve - u));
			if (!sl || ve - sl < 2 || sl[1] != '/')
				return CM_SLICE_NULL;
			sl = memchr(sl + 2, '/', (size_t)(ve - sl - 2));
			if (!sl)
				return CM_SLICE_NULL;
			const char *se = memchr(sl + 1, ';', (size_t)(ve - sl - 1));
			return (cm_slice){ sl + 1, (size_t)((se ? se : ve) - sl - 1) };
		}
		p = le + 1;
	}
	return CM_SLICE_NULL;
}

/* Both ends of <mc>'s connection, read once (the local port once the connect is issued). */
static void trace_addrs(struct msrp_conn *mc)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	eng_conn *c;

	if (mc->tr_peer.family && mc->tr_local.port)
		return;
	if (!(c = msrp_conn_eng(mc)))
		return;
	if (!mc->tr_peer.family && eng_conn_peer(c, &ss, &sl) == 0)
		eng_hep_addr_from(&mc->tr_peer, &ss);
	sl = sizeof(ss);
	if (getsockname(c->fd, (struct sockaddr *)&ss, &sl) == 0)
		eng_hep_addr_from(&mc->tr_local, &ss);
}

/* Traces a frame: <n> pieces of <iov>, the first holding its head; <out> 1 when we send
 * it; <cut> when the pieces are only its start. */
static void trace_frame(struct msrp_conn *mc, const struct iovec *iov, unsigned n, int out,
			int cut)
{
	trace_addrs(mc);
	cm_slice sid = head_session((cm_slice){ iov[0].iov_base, iov[0].iov_len });
	if (sid.len > TRACE_SID_MAX)
		sid.len = TRACE_SID_MAX;
	eng_hep_trace(mc->mw->hep, ENG_HEP_MSRP, IPPROTO_TCP, out ? &mc->tr_local : &mc->tr_peer,
		      out ? &mc->tr_peer : &mc->tr_local, out, sid, iov, n, cut);
}

/* Traces what send_frame() sends when it is a whole frame: the first piece begins with
 * "MSRP <tid> " and the last ends with the end-line of that tid. The pieces of a frame a
 * relay streams (head, body pieces and end-line written apart) are not traced here. */
static void trace_sent(struct msrp_conn *mc, const struct iovec *iov, unsigned n)
{
	const char *h = iov[0].iov_base;
	size_t hl = iov[0].iov_len;

	while (n && !iov[n - 1].iov_len)
		n--;
	if (!n || hl < 8 || memcmp(h, "MSRP ", 5))
		return;
	const char *tid = h + 5, *te = memchr(tid, ' ', hl - 5);
	if (!te)
		return;
	size_t tl = (size_t)(te - tid);
	const char *l = iov[n - 1].iov_base;
	size_t ll = iov[n - 1].iov_len;
	if (ll < tl + 10 || memcmp(l + ll - 2, "\r\n", 2) ||
	    memcmp(l + ll - 3 - tl - 7, "-------", 7) || memcmp(l + ll - 3 - tl, tid, tl))
		return;
	trace_frame(mc, iov, n, 1, 0);
}

/* ---- sending ------------------------------------------------------------------------ */

/* Sends one MSRP frame made of the <n> pieces of <iov>: over WebSocket as one message
 * (RFC 7977 §4.2: one chunk per message), over TCP/TLS piece by piece (eng_send copies).
 * 0, 1 (the send queue is above its high watermark), or -errno. */
static int send_frame(struct msrp_conn *mc, const struct iovec *iov, unsigned n)
{
	int full = 0;

	mc->last_io_ms = eng_now_ms(mc->mw->w);
	if (mc->mw->hep && n)
		trace_sent(mc, iov, n);
	if (mc->ws)
		return msrp_ws_send_msg(mc->ws, iov, (int)n);
	for (unsigned i = 0; i < n; i++) {
		if (!iov[i].iov_len)
			continue;
		int rc = eng_send(mc->c, iov[i].iov_base, iov[i].iov_len);
		if (rc < 0)
			return rc;
		full |= rc;
	}
	/* written while its own bytes are parsed: answers to it (responses, REPORTs). A peer
	 * that sends and does not read them is not read any more until it has: its answers
	 * cannot pile up without bound */
	if (full && mc->depth)
		eng_conn_wait_writable(mc->c, mc->c);
	return full;
}

int msrp_conn_respond(struct msrp_conn *mc, const struct msrp_msg *req, int status,
		      cm_slice comment, const struct msrp_hdr *extra, unsigned nextra)
{
	char buf[HEAD_OUT_MAX];
	enum msrp_report fr = MSRP_REPORT_ABSENT;
	cm_slice v = msrp_hdr_get(req, MSRP_H_FAILURE_REPORT);
	if (v.p && msrp_hdr_failure_report(v, &fr) < 0)
		fr = MSRP_REPORT_ABSENT; /* unintelligible: the default ("yes") applies */

	if (!msrp_report_respond(req->method, fr, status))
		return 0;
	if (closing(mc))
		return -EPIPE;
	if (!comment.len) {
		const char *r = msrp_write_reason(status);
		comment = (cm_slice){ r, strlen(r) };
	}
	ssize_t n = msrp_write_response(buf, sizeof(buf), req->tid, status, comment,
					msrp_hdr_get(req, MSRP_H_TO_PATH),
					msrp_hdr_get(req, MSRP_H_FROM_PATH), extra, nextra);
	if (n < 0)
		return (int)n;
	if ((size_t)n > sizeof(buf))
		return -E2BIG;
	mc->mw->st.responses_out++;
	mc->mw->st.resp_code[1][msrp_conn_code_slot(status)]++;
	struct iovec iov = { buf, (size_t)n };
	return send_frame(mc, &iov, 1);
}

int msrp_conn_request(struct msrp_conn *mc, const struct msrp_out *m, const cm_slice *body,
		      unsigned nbody, enum msrp_flag flag, msrp_resp_fn fn, void *arg)
{
	char buf[HEAD_OUT_MAX], tail[TAIL_OUT_MAX];
	struct iovec stack_iov[IOV_STACK], *iov = stack_iov;
	struct txn *t = NULL;
	unsigned n = 0;
	int rc;

	if (closing(mc))
		return -EPIPE;
	if (m->method == MSRP_M_NONE)
		return -EINVAL;
	if (!m->content_type.len)
		nbody = 0; /* no Content-Type: no body, and no end-line of its own */
	if (nbody > IOV_MAX - 2)
		return -EINVAL;
	int expect = fn && msrp_report_expect_response(m->method, m->failure_report);
	if (expect && mc->ntxns >= mc->mw->cfg.max_txns) {
		mc->mw->st.txn_limit++;
		return -EAGAIN;
	}
	if (expect && txn_find(mc, m->tid))
		return -EEXIST;
	ssize_t hn = msrp_write_head(buf, sizeof(buf), m, flag);
	if (hn < 0)
		return (int)hn;
	if ((size_t)hn > sizeof(buf))
		return -E2BIG;
	ssize_t tn = 0;
	if (m->content_type.len) {
		tn = msrp_write_tail(tail, sizeof(tail), m->tid, flag);
		if (tn < 0)
			return (int)tn;
		if ((size_t)tn > sizeof(tail))
			return -E2BIG;
	}
	if (nbody + 2 > IOV_STACK && !(iov = malloc((nbody + 2) * sizeof(*iov))))
		return -ENOMEM;
	iov[n++] = (struct iovec){ buf, (size_t)hn };
	for (unsigned i = 0; i < nbody; i++)
		iov[n++] = (struct iovec){ (void *)body[i].p, body[i].len };
	if (tn)
		iov[n++] = (struct iovec){ tail, (size_t)tn };
	if (expect && !(t = txn_new(mc, m->tid, fn, arg))) {
		rc = -ENOMEM;
		goto out;
	}
	rc = send_frame(mc, iov, n);
	if (rc < 0) {
		if (t)
			txn_unlink(t);
		goto out;
	}
	mc->mw->st.requests_out++;
	mc->mw->st.req_method[1][msrp_conn_method_slot(m->method)]++;
out:
	if (iov != stack_iov)
		free(iov);
	return rc;
}

int msrp_conn_send_frame(struct msrp_conn *mc, const struct iovec *iov, unsigned n)
{
	if (closing(mc))
		return -EPIPE;
	return send_frame(mc, iov, n);
}

int msrp_conn_send_buf(struct msrp_conn *mc, eng_buf *b, cm_slice piece)
{
	if (mc->ws)
		return -EINVAL;
	if (closing(mc))
		return -EPIPE;
	mc->last_io_ms = eng_now_ms(mc->mw->w);
	return eng_send_buf(mc->c, b, (uint32_t)(piece.p - b->data), (uint32_t)piece.len);
}

int msrp_conn_txn_open(struct msrp_conn *mc, cm_slice tid, msrp_resp_fn fn, void *arg)
{
	if (closing(mc))
		return -EPIPE;
	if (mc->ntxns >= mc->mw->cfg.max_txns) {
		mc->mw->st.txn_limit++;
		return -EAGAIN;
	}
	if (txn_find(mc, tid))
		return -EEXIST;
	if (!txn_new(mc, tid, fn, arg))
		return -ENOMEM;
	mc->mw->st.requests_out++;
	return 0;
}

void msrp_conn_txn_cancel(struct msrp_conn *mc, cm_slice tid)
{
	struct txn *t = txn_find(mc, tid);
	if (t)
		txn_unlink(t);
}

void msrp_conn_close(struct msrp_conn *mc)
{
	if (!mc->ws) {
		eng_close(mc->c);
		return;
	}
	if (mc->flags & (MC_DEAD | MC_SHUT))
		return;
	mc->flags |= MC_SHUT;
	msrp_ws_close(mc->ws, 1000, NULL); /* the glue closes the connection after it */
}

/* ---- receiving ---------------------------------------------------------------------- */

static void free_mc(struct msrp_conn *mc)
{
	msrp_parser_free(&mc->p);
	free(mc);
}

/* A broken stream cannot be trusted: it is closed (give_up). The parser counted the kind
 * of error; the paths a response would need are not known for sure at this point, so none
 * is sent. */
static void stream_error(struct msrp_conn *mc, const struct msrp_ev *ev)
{
	mc->mw->st.stream_errors++;
	CM_LOG_RL(CM_LOG_INFO, "msrp: closing a broken stream: %s (%d)",
		  ev->reason ? ev->reason : "?", ev->status);
	give_up(mc, -EPROTO, "broken MSRP stream");
}

static void on_head(struct msrp_conn *mc, const struct msrp_msg *m)
{
	struct msrp_worker *mw = mc->mw;

	mc->flags |= MC_IN_FRAME;
	mc->flags &= ~MC_SKIP;
	if (!m->is_request) {
		mw->st.responses_in++;
		mw->st.resp_code[0][msrp_conn_code_slot(m->status)]++;
		mc->flags |= MC_SKIP;
		struct txn *t = txn_find(mc, m->tid);
		if (!t) {
			mw->st.responses_unmatched++;
			return;
		}
		cm_hist_add(&mw->st.txn_rtt, eng_now_us(mw->w) - t->sent_us);
		txn_finish(t, m->status, m);
		return;
	}
	if (m->method == MSRP_M_OTHER) {
		mw->st.requests_in++;
		mw->st.req_method[0][msrp_conn_method_slot(m->method)]++;
		mw->st.answered_501++;
		mc->flags |= MC_SKIP;
		msrp_conn_respond(mc, m, 501, CM_SLICE_NULL, NULL, 0);
		return;
	}
	mc->ops->on_head(mc, m);
	if (mw->ho_mc == mc)
		return; /* handed over: the adopter parses the frame again, and counts it */
	mw->st.requests_in++;
	mw->st.req_method[0][msrp_conn_method_slot(m->method)]++;
}

/* The owner asked from on_head for this connection to go to another worker: the frame goes
 * with it from its first byte (the adopter parses it again), the msrp_conn ends here
 * without on_close (the owner let go of it). */
static void handover_now(struct msrp_conn *mc)
{
	struct msrp_worker *mw = mc->mw;
	const char *from = mw->frame_start;
	mw->ho_mc = NULL;
	if (eng_handover_prefix(mc->c, mw->ho_to, mw->ho_adopt, mw->ho_arg, from,
				(size_t)(mw->feed_end - from)) < 0) {
		/* the owner already let go: nobody can carry on with it (it hears on_close
		 * for a connection it no longer knows) */
		eng_abort(mc->c, -EAGAIN);
		return;
	}
	mw->st.handovers++;
	/* whatever the engine still says of the old connection (a handover that fails later
	 * closes it) reaches nobody: <mc> is freed when this call unwinds */
	static const struct eng_conn_ops gone_ops;
	mc->c->ops = &gone_ops;
	mc->c->udata = NULL;
	eng_timer_cancel(&mc->timer);
	mc->flags |= MC_DEAD;
	mw->st.closed++;
}

int msrp_conn_handover(struct msrp_conn *mc, eng_worker *to,
		       void (*adopt)(eng_conn *c, void *arg), void *arg)
{
	struct msrp_worker *mw = mc->mw;
	if (mc->ws || mw->head_mc != mc || !mw->frame_start || mc->ntxns ||
	    (mc->c->flags & (ENG_CF_DEAD | ENG_CF_CLOSING | ENG_CF_HANDOVER |
			     ENG_CF_CONNECTING)))
		return -EINVAL;
	mw->ho_mc = mc;
	mw->ho_to = to;
	mw->ho_adopt = adopt;
	mw->ho_arg = arg;
	return 0;
}

/* Runs the parser over <len> bytes at <data> and hands what it finds on. <b> holds the
 * bytes (the owner may keep body slices that lie in it), or is NULL (WebSocket payload,
 * valid during the call only: owners copy bodies). Frees <mc> when it died meanwhile and
 * this was the outermost call. */
static void conn_feed(struct msrp_conn *mc, eng_buf *b, const char *data, size_t len)
{
	struct msrp_ev ev;

	struct msrp_worker *mw = mc->mw;
	const char *end = data + len;
	/* tracing: the frame whose head came in this call; its head (in <data> or copied from
	 * the parser's split head), then its bytes in <data> from <tr_from> on */
	struct iovec tr[2];
	const char *tr_from = NULL;
	int tr_copy = 0;

	mc->depth++;
	mc->last_io_ms = eng_now_ms(mw->w);
	while (!closing(mc)) {
		const char *start = data;
		int fresh = !(mc->flags & MC_IN_FRAME) && msrp_parser_idle(&mc->p);
		size_t n = msrp_parse(&mc->p, data, len, &ev);
		data += n;
		len -= n;
		if (ev.type == MSRP_EV_NEED_MORE)
			break;
		switch (ev.type) {
		case MSRP_EV_HEAD:
			mc->head_since_ms = 0;
			mc->frame_body = 0;
			/* the body's clock (msrp.body_timeout, msrp.body_min_rate) */
			mc->body_due_ms = mw->cfg.body_timeout_ms && mw->cfg.body_min_rate
						  ? mc->last_io_ms + mw->cfg.body_timeout_ms : 0;
			mc->body_rem = 0;
			mw->head_mc = mc;
			mw->frame_start = fresh && b ? start : NULL;
			mw->feed_end = end;
			if (mw->hep && !tr_from) {
				if (fresh) {
					tr[0] = (struct iovec){ (void *)start, (size_t)(data - start) };
					tr_from = data;
				} else if (mc->p.hbuf && !mw->tr_busy &&
					   mc->p.hlen <= mw->cfg.limits.max_head) {
					memcpy(mw->tr_head, mc->p.hbuf, mc->p.hlen);
					tr[0] = (struct iovec){ mw->tr_head, mc->p.hlen };
					tr_from = data;
					tr_copy = mw->tr_busy = 1;
				}
			}
			on_head(mc, &ev.msg);
			mw->head_mc = NULL;
			if (mw->ho_mc == mc) {
				/* the adopter parses (and traces) the frame again */
				tr_from = NULL;
				handover_now(mc);
			}
			break;
		case MSRP_EV_BODY:
			mc->frame_body += ev.body.len;
			body_credit(mc, ev.body.len);
			if (mc->max_frame && mc->frame_body > mc->max_frame) {
				/* as the parser's max_body would: the stream is given up */
				mw->pstats.errors[MSRP_PE_BODY]++;
				ev.status = 413;
				ev.err = MSRP_PE_BODY;
				ev.reason = "a body larger than the peer's max_frame";
				stream_error(mc, &ev);
				break;
			}
			if (!(mc->flags & MC_SKIP)) {
				int inside = b && ev.body.p >= b->data &&
					     ev.body.p < b->data + b->cap;
				mc->ops->on_body(mc, inside ? b : NULL, ev.body);
			}
			break;
		case MSRP_EV_END:
			if (tr_from) {
				tr[1] = (struct iovec){ (void *)tr_from, (size_t)(data - tr_from) };
				trace_frame(mc, tr, 2, 0, 0);
				tr_from = NULL;
				mw->tr_busy = tr_copy ? 0 : mw->tr_busy;
				tr_copy = 0;
			}
			if (!(mc->flags & MC_SKIP))
				mc->ops->on_end(mc, ev.flag);
			mc->flags &= ~(MC_IN_FRAME | MC_SKIP);
			break;
		case MSRP_EV_ERROR:
			stream_error(mc, &ev);
			break;
		default:
			break;
		}
	}
	if (tr_from) {
		/* the frame goes on in later reads: what this one had of it, cut */
		tr[1] = (struct iovec){ (void *)tr_from, (size_t)(end - tr_from) };
		trace_frame(mc, tr, 2, 0, 1);
	}
	if (tr_copy)
		mw->tr_busy = 0;
	if (!closing(mc)) {
		/* a head begun and not finished starts the head clock */
		if (!(mc->flags & MC_IN_FRAME) && !msrp_parser_idle(&mc->p)) {
			if (!mc->head_since_ms)
				mc->head_since_ms = mc->last_io_ms;
		} else {
			mc->head_since_ms = 0;
		}
		if (!(mc->flags & MC_IN_FRAME))
			mc->body_due_ms = 0; /* no body pending */
		timer_update(mc);
	}
	if (--mc->depth == 0 && (mc->flags & MC_DEAD))
		free_mc(mc);
}

static void conn_recv(eng_conn *c, eng_buf *b, uint32_t off, uint32_t len)
{
	conn_feed(c->udata, b, b->data + off, len);
}

/* The transport is gone (engine close, or the WebSocket glue's on_close): pending
 * transactions fail with 503, the owner hears it once, <mc> is freed once. */
static void conn_end(struct msrp_conn *mc, int err)
{
	struct msrp_worker *mw = mc->mw;

	mw->st.closed++;
	eng_timer_cancel(&mc->timer);
	mc->flags |= MC_DEAD;
	mc->depth++;
	while (mc->txns)
		txn_finish(mc->txns, 503, NULL); /* the connection is lost */
	if (mc->ops->on_close)
		mc->ops->on_close(mc, mc->close_err ? mc->close_err : err);
	if (--mc->depth == 0)
		free_mc(mc);
}

static void conn_close(eng_conn *c, int err)
{
	conn_end(c->udata, err);
}

void msrp_conn_describe(struct msrp_conn *mc, struct eng_conn_desc *d)
{
	d->protocol = "msrp";
	if (mc && mc->ops && mc->ops->sessions)
		d->sessions = mc->ops->sessions(mc);
}

static void conn_describe(eng_conn *c, struct eng_conn_desc *d)
{
	msrp_conn_describe(c->udata, d);
}

/* An accepted TLS connection's handshake is done: its first head is due from now (see
 * msrp_conn_new). */
static void conn_up(eng_conn *c, int err)
{
	struct msrp_conn *mc = c->udata;
	if (err < 0 || (c->flags & ENG_CF_OUTBOUND) || closing(mc) || mc->head_since_ms)
		return;
	mc->last_io_ms = eng_now_ms(mc->mw->w);
	mc->head_since_ms = mc->last_io_ms;
	timer_update(mc);
}

static const struct eng_conn_ops msrp_eng_ops = {
	.on_recv = conn_recv,
	.on_connect = conn_up,
	.on_close = conn_close,
	.describe = conn_describe,
};

struct msrp_conn *msrp_conn_new(struct msrp_worker *mw, eng_conn *c,
				const struct msrp_conn_ops *ops, void *udata)
{
	struct msrp_conn *mc = calloc(1, sizeof(*mc));
	if (!mc) {
		eng_close(c);
		return NULL;
	}
	mc->c = c;
	mc->mw = mw;
	mc->max_frame = eng_conn_max_frame(c);
	mc->ops = ops;
	mc->udata = udata;
	mc->last_io_ms = eng_now_ms(mw->w);
	/* RFC 4975 §5.4: who opens a connection sends a request at once (a SEND, or AUTH to a
	 * relay): a peer that connected and says nothing gets head_timeout, not idle_timeout.
	 * A TLS handshake has the engine's own deadline (engine.tls_handshake_timeout), when
	 * there is one: the first head is due from its end (conn_up); else from now */
	int handshaking = c->tls && !(c->flags & ENG_CF_TLS_READY) &&
			  eng_cfg(eng_of(mw->w))->tls_handshake_ms;
	if (!(c->flags & ENG_CF_OUTBOUND) && !handshaking)
		mc->head_since_ms = mc->last_io_ms;
	msrp_parser_init(&mc->p, &mw->pcfg);
	eng_timer_init(&mc->timer, conn_timer, mc);
	mw->st.conns++;
	timer_update(mc);
	eng_conn_start(c, &msrp_eng_ops, mc);
	return mc;
}

/* ---- over WebSocket ------------------------------------------------------------------ */

static void ws_open(void *ctx)
{
	struct msrp_conn *mc = ctx;
	mc->last_io_ms = eng_now_ms(mc->mw->w);
	if (!(msrp_ws_conn(mc->ws)->flags & ENG_CF_OUTBOUND))
		mc->head_since_ms = mc->last_io_ms; /* the first frame is due (see msrp_conn_new) */
	timer_update(mc); /* the MSRP clocks start with the WebSocket */
}

static void ws_data(void *ctx, const char *p, size_t len)
{
	conn_feed(ctx, NULL, p, len);
}

/* RFC 7977 §5: a WebSocket message carries whole MSRP frames; one that ends in the middle
 * of a frame breaks the stream. */
static void ws_msg_end(void *ctx)
{
	struct msrp_conn *mc = ctx;
	if (closing(mc) || msrp_parser_idle(&mc->p))
		return;
	struct msrp_ev ev = { .type = MSRP_EV_ERROR,
			      .reason = "an MSRP frame spread over WebSocket messages" };
	mc->mw->st.ws_split_frames++;
	stream_error(mc, &ev);
}

/* What the owner hears for a WebSocket that ended with <code>: 0 for a close handshake
 * (ours or the peer's), the connection's error when it just broke, -EPROTO when the
 * WebSocket failed (1002, 1007, 1009 ...), -ECONNREFUSED when it never opened. */
static int ws_err(const struct msrp_ws *ws, int code)
{
	switch (code) {
	case 0:
		return ws->conn_err ? ws->conn_err : -ECONNREFUSED;
	case 1000: case 1001: case 1005:
		return 0;
	case 1006:
		return ws->conn_err ? ws->conn_err : -ECONNRESET;
	default:
		return -EPROTO;
	}
}

static void ws_close(void *ctx, int code)
{
	struct msrp_conn *mc = ctx;
	conn_end(mc, ws_err(mc->ws, code));
}

/* An msrp_conn over WebSocket and its transport, allocated (and freed) together: free_mc()
 * frees the msrp_conn, the first member. */
struct msrp_conn_ws {
	struct msrp_conn mc;
	struct msrp_ws ws;
};

static const struct msrp_ws_ops msrp_ws_glue_ops = {
	.on_open = ws_open,
	.on_data = ws_data,
	.on_msg_end = ws_msg_end,
	.on_close = ws_close,
};

struct msrp_conn *msrp_conn_new_ws(struct msrp_worker *mw, eng_conn *c,
				   const struct msrp_ws_cfg *wcfg,
				   const struct msrp_conn_ops *ops, void *udata)
{
	struct msrp_conn_ws *mcw = calloc(1, sizeof(*mcw));
	if (!mcw) {
		eng_close(c);
		return NULL;
	}
	struct msrp_conn *mc = &mcw->mc;
	mc->max_frame = eng_conn_max_frame(c);
	mc->ws = &mcw->ws;
	mc->mw = mw;
	mc->ops = ops;
	mc->udata = udata;
	mc->last_io_ms = eng_now_ms(mw->w);
	msrp_parser_init(&mc->p, &mw->pcfg);
	eng_timer_init(&mc->timer, conn_timer, mc);
	mw->st.conns++;
	/* the upgrade has its own deadline (the glue's); bytes carried over may open the
	 * WebSocket and reach conn_feed from inside this call */
	if (msrp_ws_attach(mc->ws, c, wcfg, &msrp_ws_glue_ops, mc, &mw->wsst) < 0) {
		mw->st.closed++;
		free_mc(mc);
		return NULL;
	}
	return mc;
}

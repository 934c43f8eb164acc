/* msrp_ua.c — the MSRP side of a user agent's session (see msrp_ua.h).
 *
 * Pieces: the session (a struct msrp_sess in the UA's table, by our session-id), the
 * messages it sends (each a chunker over a copy of the body; chunks of all of them go out in
 * turn, RFC 4975 §7.1.1), what comes in on a connection for one of them (struct
 * msrp_ua_in: the reassembly cursor and the copies a late response needs), and the
 * transactions of sent chunks (struct ua_txn: they find their session again by its id, so a
 * closed session is simply not found). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "msrp/msrp_chunk.h"
#include "msrp/msrp_hdr.h"
#include "msrp/msrp_pool.h"
#include "msrp/msrp_reasm.h"
#include "msrp/msrp_report.h"
#include "msrp/msrp_ua.h"
#include "msrp/msrp_uri.h"
#include "msrp/msrp_write.h"

#define CHUNK_BODY_SLICES 8
#define CHUNK_BUF 8192             /* head and tail of one chunk */
#define COPY_MAX 4096              /* bytes of a path or id kept for a late answer */
#define BIND_TRIES 4               /* bindings again after a 481, 50, 100, 200, 400 ms later */
#define BIND_RETRY_MS 50

struct out_msg {
	struct out_msg *next;
	struct msrp_chunker ch;
	cm_slice piece;                /* the body, as the chunker's one piece */
	enum msrp_report fr;
	char msgid[MSRP_ID_MSGID_LEN + 1];
	char *ctype;
	char body[];
};

struct msrp_ua_sess {
	struct msrp_sess s;            /* first: the table's entry is the session */
	struct msrp_ua *ua;
	const struct msrp_ua_events *ev;
	void *arg;
	char *local_uri, *to_path;     /* one allocation */
	int active, ready, ended;
	char failed_id[MSRP_ID_MSGID_LEN + 1]; /* the last message told failed by us (not by a
					* REPORT): its other chunks' failures are not told again */
	char own_tag[sizeof(((struct msrp_hop *)0)->tag)]; /* its connection's, when it is its
					* own (msrp_ua_sess_cfg.share 0, active); else "" */
	struct msrp_conn *mc;          /* bound connection */
	struct msrp_reasm *reasm;
	eng_timer rtimer;              /* reassembly expiry */
	eng_timer btimer;              /* the binding SEND again (the peer not ready yet) */
	uint8_t bind_tries;
	struct out_msg *out_head, **out_tail;
	struct msrp_ua_in *in;         /* its request being received, if any */
	struct msrp_ua_conn *uc;       /* the state of its connection */
};

struct msrp_ua_in {
	struct msrp_ua_sess *s;
	struct msrp_ua_conn *uc;
	struct msrp_reasm_chunk ck;
	int verdict;                   /* an answer decided at the head (415 ...) or 0 */
	enum msrp_report fr, sr;
	char tid[MSRP_TID_MAX + 1];
	char *to, *from;               /* copies: our URI as the peer wrote it, its From-Path */
	struct held *held;             /* a SEND for a session looked for (s NULL meanwhile) */
	struct msrp_conn *mc;          /* its connection */
	char buf[];
};

/* A SEND for a session not here, held while it is looked for (cfg.find): its head's
 * fields, its body so far (MSRP_UA_HELD_MAX at most), whether its end came. */
struct held {
	struct held *next, **prev;     /* the UA's list */
	uint64_t token;                /* the search it waits for (one per session id) */
	struct msrp_ua *ua;
	struct msrp_ua_in *in;         /* the SEND's copies */
	char sid[MSRP_SESS_ID_MAX + 1];
	char msgid[MSRP_TID_MAX + 1];
	char ctype[128];
	char range[64];                /* Byte-Range as it came ("" none) */
	int has_body, ended, over;
	enum msrp_flag flag;
	char *body;
	size_t len;
};

/* The UA state of a connection the UA runs itself (msrp_ua_conn_ops, or its pool's): kept
 * on a list, because a dying pool closes its connections without calling back. */
struct ua_own {
	struct msrp_ua_conn uc;        /* first: the owner pointer is this */
	struct msrp_conn *mc;
	struct ua_own *next, **prev;
};

struct msrp_ua {
	eng_worker *w;
	struct ua_own *owned;
	struct msrp_worker *mw;
	struct msrp_pool *pool;
	struct msrp_ua_cfg cfg;
	struct msrp_sess_table sessions;
	struct msrp_ua_stats st;
	struct held *held;             /* SENDs held for sessions looked for, oldest first */
	struct held **held_tail;
	unsigned nheld;
	uint64_t next_token;
	/* own connections of sessions that ended, closed OWN_CLOSE_MS later (what the peer
	 * sent just before is read first: no reset), oldest first */
	struct own_close *closing, **closing_tail;
	eng_timer ctimer;
	uint64_t tag_seq;
};

#define OWN_CLOSE_MS 2000

struct own_close {
	struct own_close *next;
	uint64_t at;
	unsigned tries;                /* still opening when it was due: tried again */
	char tag[sizeof(((struct msrp_hop *)0)->tag)];
};

/* A chunk (or the binding SEND) waiting for its response. */
struct ua_txn {
	struct msrp_ua *ua;
	int bind;                      /* the empty SEND that binds an active session */
	char sid[MSRP_SESS_ID_MAX + 1];
	char msgid[MSRP_ID_MSGID_LEN + 1];
	uint64_t start, end;           /* the chunk's bytes (its Byte-Range) */
	uint8_t last;                  /* the message's last chunk ('$') */
};

/* An active session's connection being opened. */
struct ua_wait {
	struct msrp_ua *ua;
	char sid[MSRP_SESS_ID_MAX + 1];
};

static void pump(struct msrp_ua_sess *s);

/* ---- small helpers -------------------------------------------------------------------- */

static int tid_gen(void *arg, char *buf, size_t len)
{
	(void)arg;
	return msrp_id_tid(buf, len);
}

static struct msrp_ua_sess *sess_by_id(struct msrp_ua *ua, const char *sid)
{
	return (struct msrp_ua_sess *)msrp_sess_find(&ua->sessions,
						     (cm_slice){ sid, strlen(sid) });
}

static const char *sess_id(const struct msrp_ua_sess *s, char *buf)
{
	memcpy(buf, s->s.id, s->s.idlen);
	buf[s->s.idlen] = '\0';
	return buf;
}

/* The session ends because its connection did (or could not be had). */
static void sess_end(struct msrp_ua_sess *s, int err)
{
	if (s->ended)
		return;
	s->ended = 1;
	s->ua->st.ended++;
	if (s->ev->ended)
		s->ev->ended(s, s->arg, err);
}

static void report(struct msrp_ua_sess *s, const char *msgid, int status,
		   const struct msrp_range *range)
{
	if (status >= 300)
		s->ua->st.failures++;
	if (s->ev->report)
		s->ev->report(s, s->arg, msgid, status, range);
}

/* A failure of message <msgid> known here (a chunk's transaction failed, the message could
 * not be sent): told once per message, however many of its chunks fail with it. The peer's
 * REPORTs, which each name their bytes, go through report() as they come. */
static void report_failed(struct msrp_ua_sess *s, const char *msgid, int status)
{
	if (!strcmp(s->failed_id, msgid))
		return;
	snprintf(s->failed_id, sizeof(s->failed_id), "%s", msgid);
	report(s, msgid, status, NULL);
}

/* ---- sending -------------------------------------------------------------------------- */

static void txn_resp(struct msrp_conn *mc, void *arg, int status, const struct msrp_msg *resp)
{
	struct ua_txn *t = arg;
	struct msrp_ua_sess *s = sess_by_id(t->ua, t->sid);
	(void)mc;
	(void)resp;
	if (s && !s->ended) {
		if (t->bind) {
			if (status == 200) {
				s->ready = 1;
				s->ua->st.bound++;
				if (s->ev->ready)
					s->ev->ready(s, s->arg);
				pump(s);
			} else if (status == 481 && s->bind_tries < BIND_TRIES) {
				/* the passive side may not know the session yet: our connection and
				 * binding overtook the SIP answer that made it (RFC 6135 leaves the
				 * race open) — the binding again, a little later */
				eng_timer_arm(s->ua->w, &s->btimer, BIND_RETRY_MS << s->bind_tries);
				s->bind_tries++;
			} else {
				sess_end(s, -ECONNREFUSED);
			}
		} else if (status >= 300) {
			report_failed(s, t->msgid, status);
		} else if (status == 200) {
			if (s->ev->acked)
				s->ev->acked(s, s->arg, t->msgid, t->start, t->end);
			s = t->last ? sess_by_id(t->ua, t->sid) : NULL; /* acked() may end it */
			if (s && !s->ended && s->ev->done)
				s->ev->done(s, s->arg, t->msgid);
		}
	}
	free(t);
}

static struct ua_txn *txn_new(struct msrp_ua_sess *s, const char *msgid, int bind)
{
	struct ua_txn *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->ua = s->ua;
	t->bind = bind;
	sess_id(s, t->sid);
	snprintf(t->msgid, sizeof(t->msgid), "%s", msgid);
	return t;
}

/* Sends one chunk of <om>: 1 (sent), 0 (the message is done), -errno. */
static int send_chunk(struct msrp_ua_sess *s, struct out_msg *om)
{
	char buf[CHUNK_BUF];
	cm_slice body[CHUNK_BODY_SLICES];
	struct msrp_chunk_out out;
	int rc = msrp_chunk_next(&om->ch, buf, sizeof(buf), body, CHUNK_BODY_SLICES, &out);
	if (rc <= 0)
		return rc;
	struct iovec iov[CHUNK_BODY_SLICES + 2];
	unsigned n = 0;
	iov[n++] = (struct iovec){ (void *)out.head.p, out.head.len };
	for (unsigned i = 0; i < out.nbody; i++)
		iov[n++] = (struct iovec){ (void *)body[i].p, body[i].len };
	if (out.tail.len)
		iov[n++] = (struct iovec){ (void *)out.tail.p, out.tail.len };
	int tracked = msrp_report_expect_response(MSRP_M_SEND, om->fr);
	if (tracked) {
		struct ua_txn *t = txn_new(s, om->msgid, 0);
		if (t) {
			t->start = out.range.start;
			t->end = out.range.end >= 0 ? (uint64_t)out.range.end : 0;
			t->last = out.flag == MSRP_FLAG_END;
		}
		if (!t || msrp_conn_txn_open(s->mc, (cm_slice){ out.tid, out.tid_len }, txn_resp,
					     t) < 0)
			free(t); /* sent untracked: max_transactions (counted by the connection) */
	}
	rc = msrp_conn_send_frame(s->mc, iov, n);
	if (rc < 0)
		return rc;
	msrp_conn_count_request_out(s->mc, MSRP_M_SEND);
	s->ua->st.chunks_out++;
	if (!tracked && out.flag == MSRP_FLAG_END && s->ev->done)
		s->ev->done(s, s->arg, om->msgid); /* nothing more will be known of it */
	return 1;
}

static void out_free(struct out_msg *om)
{
	free(om->ctype);
	free(om);
}

int msrp_ua_backlog(const struct msrp_ua_sess *s)
{
	unsigned n = 0;
	for (const struct out_msg *om = s->out_head; om; om = om->next)
		n++;
	eng_conn *c = s->mc ? msrp_conn_eng(s->mc) : NULL;
	if (c && eng_sendq_bytes(c) >= eng_cfg(eng_of(c->w))->sendq_high)
		return -EBUSY;
	return (int)n;
}

/* Sends the chunks of every queued message, one of each in turn, until all are out. */
static void pump(struct msrp_ua_sess *s)
{
	while (s->ready && !s->ended && s->out_head) {
		struct out_msg **pp = &s->out_head;
		while (*pp) {
			struct out_msg *om = *pp;
			int rc = send_chunk(s, om);
			if (rc == 1) {
				pp = &om->next;
				continue;
			}
			if (rc < 0)
				report_failed(s, om->msgid, 503);
			*pp = om->next;
			out_free(om);
		}
		s->out_tail = &s->out_head;
		for (struct out_msg *om = s->out_head; om; om = om->next)
			s->out_tail = &om->next;
	}
}

int msrp_ua_send(struct msrp_ua_sess *s, cm_slice content_type, const void *body, size_t len,
		 enum msrp_report success_report, enum msrp_report failure_report,
		 char message_id[MSRP_ID_MSGID_LEN + 1])
{
	return msrp_ua_send_from(s, content_type, body, len, 0, success_report, failure_report,
				 message_id);
}

int msrp_ua_send_from(struct msrp_ua_sess *s, cm_slice content_type, const void *body,
		      size_t len, uint64_t skip, enum msrp_report success_report,
		      enum msrp_report failure_report, char message_id[MSRP_ID_MSGID_LEN + 1])
{
	if (s->ended)
		return -EPIPE;
	if (len && !content_type.len)
		return -EINVAL;
	struct out_msg *om = calloc(1, sizeof(*om) + (len ? len : 1));
	if (!om)
		return -ENOMEM;
	if (message_id[0]) /* the caller's (an ident, checked by the caller) */
		memcpy(om->msgid, message_id, strnlen(message_id, MSRP_ID_MSGID_LEN));
	else if (msrp_id_message(om->msgid, sizeof(om->msgid)) < 0)
		om->msgid[0] = '\0';
	if (!om->msgid[0] || !(om->ctype = strndup(content_type.p ? content_type.p : "", content_type.len))) {
		out_free(om);
		return -ENOMEM;
	}
	if (len)
		memcpy(om->body, body, len);
	om->piece = (cm_slice){ om->body, len };
	om->fr = failure_report;
	struct msrp_chunk_msg cm = {
		.to_path = { s->to_path, strlen(s->to_path) },
		.from_path = { s->local_uri, strlen(s->local_uri) },
		.message_id = { om->msgid, strlen(om->msgid) },
		.content_type = { om->ctype, content_type.len },
		.success_report = success_report,
		.failure_report = failure_report,
		.total = (int64_t)len,
		.body = &om->piece,
		.nbody = 1,
		.body_final = 1,
		.chunk_size = s->ua->cfg.chunk_size,
		.tid_fn = tid_gen,
	};
	if (msrp_chunk_init(&om->ch, &cm) < 0 || (skip && msrp_chunk_skip(&om->ch, skip) < 0)) {
		out_free(om);
		return -EINVAL;
	}
	memcpy(message_id, om->msgid, sizeof(om->msgid));
	*s->out_tail = om;
	s->out_tail = &om->next;
	s->ua->st.msgs_out++;
	pump(s);
	return 0;
}

/* ---- binding -------------------------------------------------------------------------- */

static struct msrp_ua_conn *conn_state(struct msrp_conn *mc);

static int bind_to(struct msrp_ua_sess *s, struct msrp_conn *mc, struct msrp_ua_conn *uc)
{
	int rc = msrp_sess_bind(&s->s, mc, &uc->sess);
	if (rc)
		return rc;
	s->mc = mc;
	s->uc = uc;
	return 0;
}

/* RFC 4975 §5.4: the side that connects sends first; an empty SEND binds the session.
 * 0, or -EIO (nothing sent: the caller ends the session, or refuses to open it). */
static int send_bind(struct msrp_ua_sess *s)
{
	char tid[MSRP_ID_TID_LEN + 1], msgid[MSRP_ID_MSGID_LEN + 1];
	struct msrp_range r = { .start = 1, .end = 0, .total = 0 };
	if (msrp_id_tid(tid, sizeof(tid)) < 0 || msrp_id_message(msgid, sizeof(msgid)) < 0)
		return -EIO;
	struct msrp_out m = {
		.tid = { tid, MSRP_ID_TID_LEN }, .method = MSRP_M_SEND,
		.to_path = { s->to_path, strlen(s->to_path) },
		.from_path = { s->local_uri, strlen(s->local_uri) },
		.message_id = { msgid, MSRP_ID_MSGID_LEN }, .byte_range = &r,
	};
	struct ua_txn *t = txn_new(s, msgid, 1);
	if (!t || msrp_conn_request(s->mc, &m, NULL, 0, MSRP_FLAG_END, txn_resp, t) < 0) {
		free(t);
		return -EIO;
	}
	return 0;
}

static void connected(void *arg, struct msrp_conn *mc, int err)
{
	struct ua_wait *wt = arg;
	struct msrp_ua_sess *s = sess_by_id(wt->ua, wt->sid);
	free(wt);
	if (!s || s->ended)
		return;
	struct msrp_ua_conn *uc = mc && !err ? conn_state(mc) : NULL;
	if (!uc || bind_to(s, mc, uc)) {
		sess_end(s, err ? err : -ENOMEM);
		return;
	}
	if (send_bind(s) < 0)
		sess_end(s, -EIO);
}

/* ---- sessions ------------------------------------------------------------------------- */

static void reasm_expire(eng_timer *t);
static int send_bind(struct msrp_ua_sess *s);

static void rebind(eng_timer *t)
{
	struct msrp_ua_sess *s = t->arg;
	if (!s->ended && !s->ready && s->mc && send_bind(s) < 0)
		sess_end(s, -EIO);
}

struct msrp_ua_sess *msrp_ua_open(struct msrp_ua *ua, const struct msrp_ua_sess_cfg *cfg,
				  const struct msrp_ua_events *ev, void *arg, int *err)
{
	struct msrp_uri lu, first;
	cm_slice rest = { cfg->to_path ? cfg->to_path : "", cfg->to_path ? strlen(cfg->to_path) : 0 };
	cm_slice u0;
	*err = -EINVAL;
	if (!cfg->local_uri || msrp_uri_parse((cm_slice){ cfg->local_uri, strlen(cfg->local_uri) },
					       &lu) < 0 || !lu.session_id.len)
		return NULL;
	if (msrp_path_next(&rest, &u0) <= 0 || msrp_uri_parse(u0, &first) < 0)
		return NULL;
	size_t ll = strlen(cfg->local_uri), tl = strlen(cfg->to_path);
	struct msrp_ua_sess *s = calloc(1, sizeof(*s));
	char *strs = malloc(ll + tl + 2);
	struct msrp_reasm *ra = msrp_reasm_create(&ua->cfg.reasm);
	*err = -ENOMEM;
	if (!s || !strs || !ra)
		goto fail;
	s->local_uri = strs;
	s->to_path = strs + ll + 1;
	memcpy(s->local_uri, cfg->local_uri, ll + 1);
	memcpy(s->to_path, cfg->to_path, tl + 1);
	s->ua = ua;
	s->ev = ev;
	s->arg = arg;
	s->active = cfg->active;
	s->reasm = ra;
	s->out_tail = &s->out_head;
	eng_timer_init(&s->rtimer, reasm_expire, s);
	eng_timer_init(&s->btimer, rebind, s);
	/* the id as it is in our URI (inside <s->local_uri>, kept) */
	cm_slice sid = { s->local_uri + (lu.session_id.p - cfg->local_uri), lu.session_id.len };
	int rc = msrp_sess_add(&ua->sessions, &s->s, sid);
	if (rc < 0) {
		*err = rc;
		goto fail;
	}
	ua->st.opened++;
	struct msrp_hop hop;
	int direct = msrp_hop_direct(&first, &hop) == 0;
	if (direct && !cfg->share && s->active) {
		/* a connection of its own, tagged by its id and this opening (a session opened
		 * again, as after a re-INVITE, gets a new one: the old one's close is due) */
		snprintf(hop.tag, sizeof(hop.tag), "%.*s.%llx", (int)(sid.len < 24 ? sid.len : 24),
			 sid.p, (unsigned long long)++ua->tag_seq);
		memcpy(s->own_tag, hop.tag, sizeof(s->own_tag));
	}
	if (s->active && ua->pool) {
		/* a connection to that hop already open and free: bound now, no wait for the
		 * pool's callback (which comes on the next timer tick) */
		struct msrp_conn *open = direct ? msrp_pool_peek_hop(ua->pool, &hop) : NULL;
		struct msrp_ua_conn *uc = open ? conn_state(open) : NULL;
		if (uc && bind_to(s, open, uc) == 0) {
			if (send_bind(s) == 0) {
				*err = 0;
				return s;
			}
			msrp_sess_unbind(&s->s);
			msrp_sess_remove(&ua->sessions, &s->s);
			*err = -EIO;
			goto fail;
		}
	}
	if (s->active) {
		struct ua_wait *wt = calloc(1, sizeof(*wt));
		if (!wt || !ua->pool) {
			free(wt);
			msrp_sess_remove(&ua->sessions, &s->s);
			*err = ua->pool ? -ENOMEM : -EINVAL;
			goto fail;
		}
		wt->ua = ua;
		sess_id(s, wt->sid);
		if (!direct || msrp_pool_get_hop(ua->pool, &hop, connected, wt) < 0) {
			free(wt);
			msrp_sess_remove(&ua->sessions, &s->s);
			*err = -EINVAL;
			goto fail;
		}
	}
	*err = 0;
	return s;
fail:
	msrp_reasm_destroy(ra);
	free(strs);
	free(s);
	return NULL;
}

/* <h> off its UA's list, freed (its SEND's copies stay). */
static void held_drop(struct held *h)
{
	struct msrp_ua *ua = h->ua;
	*h->prev = h->next;
	if (h->next)
		h->next->prev = h->prev;
	else
		ua->held_tail = h->prev;
	ua->nheld--;
	h->in->held = NULL;
	free(h->body);
	free(h);
}

static void in_free(struct msrp_ua_in *in)
{
	if (in->held)
		held_drop(in->held);
	if (in->uc && in->uc->in == in)
		in->uc->in = NULL;
	if (in->s && in->s->in == in)
		in->s->in = NULL;
	free(in);
}

void msrp_ua_close(struct msrp_ua_sess *s)
{
	struct msrp_ua *ua = s->ua;
	if (s->in)
		in_free(s->in);
	while (s->out_head) {
		/* accepted and never sent (the session never became ready): told failed, as
		 * its Failure-Report asks, rather than dropped without a word */
		struct out_msg *om = s->out_head;
		s->out_head = om->next;
		if (msrp_report_expect_response(MSRP_M_SEND, om->fr))
			report_failed(s, om->msgid, 503);
		out_free(om);
	}
	eng_timer_cancel(&s->rtimer);
	eng_timer_cancel(&s->btimer);
	msrp_sess_unbind(&s->s);
	msrp_sess_remove(&ua->sessions, &s->s);
	/* its own connection goes with it, a little later (the pool gives it to its tag only:
	 * nobody else is on it) */
	struct own_close *oc = s->own_tag[0] && ua->pool ? malloc(sizeof(*oc)) : NULL;
	if (oc) {
		oc->next = NULL;
		oc->tries = 0;
		oc->at = eng_now_ms(ua->w) + OWN_CLOSE_MS;
		memcpy(oc->tag, s->own_tag, sizeof(oc->tag));
		*ua->closing_tail = oc;
		ua->closing_tail = &oc->next;
		if (!eng_timer_armed(&ua->ctimer))
			eng_timer_arm(ua->w, &ua->ctimer, OWN_CLOSE_MS);
	}
	ua->st.incomplete += msrp_reasm_pending(s->reasm);
	msrp_reasm_destroy(s->reasm);
	ua->st.closed++;
	free(s->local_uri);
	free(s);
}

int msrp_ua_take_partial(struct msrp_ua_sess *s, struct msrp_reasm_msg *out, uint64_t *total)
{
	if (s->in) /* the chunk that was streaming: its bytes do not count */
		in_free(s->in);
	return msrp_reasm_take_prefix(s->reasm, out, total);
}

int msrp_ua_seed(struct msrp_ua_sess *s, void *data, uint64_t len, uint64_t total)
{
	return msrp_reasm_seed(s->reasm, data, len, total);
}

int msrp_ua_take_seed(struct msrp_ua_sess *s, void **data, uint64_t *len, uint64_t *total)
{
	return msrp_reasm_take_seed(s->reasm, data, len, total);
}

int msrp_ua_active(const struct msrp_ua_sess *s)
{
	return s->active;
}

int msrp_ua_ready(const struct msrp_ua_sess *s)
{
	return s->ready && !s->ended;
}

/* ---- receiving ------------------------------------------------------------------------ */

static void reasm_expire(eng_timer *t)
{
	struct msrp_ua_sess *s = t->arg;
	uint64_t now = eng_now_ms(s->ua->w);
	msrp_reasm_expire(s->reasm, now, NULL, NULL);
	uint64_t next = msrp_reasm_next_expiry(s->reasm);
	if (next != UINT64_MAX)
		eng_timer_arm(s->ua->w, &s->rtimer, next > now ? next - now : 0);
}

int msrp_ua_owns(const struct msrp_ua *ua, cm_slice session_id)
{
	return msrp_sess_find(&ua->sessions, session_id) != NULL ||
	       (ua->cfg.may_find && ua->cfg.may_find(ua->cfg.find_arg, session_id));
}

/* Answers the request whose copies are in <in> with <code> (Failure-Report rules). */
static void answer(struct msrp_conn *mc, const struct msrp_ua_in *in, int code)
{
	char buf[2 * COPY_MAX + 256];
	if (!msrp_report_respond(MSRP_M_SEND, in->fr, code))
		return;
	const char *reason = msrp_write_reason(code);
	ssize_t n = msrp_write_response(buf, sizeof(buf), (cm_slice){ in->tid, strlen(in->tid) },
					code, (cm_slice){ reason, strlen(reason) },
					(cm_slice){ in->to, strlen(in->to) },
					(cm_slice){ in->from, strlen(in->from) }, NULL, 0);
	if (n > 0 && (size_t)n <= sizeof(buf)) {
		struct iovec iov = { buf, (size_t)n };
		if (msrp_conn_send_frame(mc, &iov, 1) >= 0)
			msrp_conn_count_response_out(mc, code);
	}
}

/* The success REPORT of a whole message (RFC 4975 §7.1.2): back along its From-Path. */
static void success_report(struct msrp_ua_sess *s, const struct msrp_ua_in *in,
			   const struct msrp_reasm_msg *m)
{
	char buf[2 * COPY_MAX + 512], tid[MSRP_ID_TID_LEN + 1];
	struct msrp_range r = { .start = 1, .end = (int64_t)m->len, .total = (int64_t)m->len };
	struct msrp_status st = { .ns = 0, .code = 200, .comment = CM_SLICE_LIT("OK") };
	if (msrp_id_tid(tid, sizeof(tid)) < 0)
		return;
	ssize_t n = msrp_write_report(buf, sizeof(buf), (cm_slice){ tid, MSRP_ID_TID_LEN },
				      (cm_slice){ in->from, strlen(in->from) },
				      (cm_slice){ s->local_uri, strlen(s->local_uri) },
				      (cm_slice){ m->message_id, m->message_id_len }, &r, &st);
	if (n > 0 && (size_t)n <= sizeof(buf)) {
		struct iovec iov = { buf, (size_t)n };
		if (msrp_conn_send_frame(s->mc, &iov, 1) >= 0) {
			msrp_conn_count_request_out(s->mc, MSRP_M_REPORT);
			s->ua->st.success_reports_out++;
		}
	}
}

int msrp_ua_report_failure(struct msrp_ua_sess *s, const char *message_id, uint64_t len,
			   enum msrp_report failure_report, int code)
{
	if (s->ended || !s->mc)
		return -EPIPE;
	if (msrp_report_failure_eff(failure_report) == MSRP_REPORT_NO)
		return 0; /* the sender wanted none (RFC 4975 §7.1.2) */
	char buf[2 * COPY_MAX + 512], tid[MSRP_ID_TID_LEN + 1];
	struct msrp_range r = { .start = 1, .end = (int64_t)len, .total = (int64_t)len };
	struct msrp_status st = { .ns = 0, .code = code, .comment = CM_SLICE_NULL };
	if (msrp_id_tid(tid, sizeof(tid)) < 0)
		return -EIO;
	ssize_t n = msrp_write_report(buf, sizeof(buf), (cm_slice){ tid, MSRP_ID_TID_LEN },
				      (cm_slice){ s->to_path, strlen(s->to_path) },
				      (cm_slice){ s->local_uri, strlen(s->local_uri) },
				      (cm_slice){ message_id, strlen(message_id) }, &r, &st);
	if (n <= 0 || (size_t)n > sizeof(buf))
		return -ENOSPC;
	struct iovec iov = { buf, (size_t)n };
	if (msrp_conn_send_frame(s->mc, &iov, 1) < 0)
		return -EIO;
	msrp_conn_count_request_out(s->mc, MSRP_M_REPORT);
	return 0;
}

static void incoming_report(struct msrp_ua_sess *s, const struct msrp_msg *m)
{
	struct msrp_status st;
	cm_slice v = msrp_hdr_get(m, MSRP_H_STATUS), id = msrp_hdr_get(m, MSRP_H_MESSAGE_ID);
	char msgid[MSRP_TID_MAX + 1];
	s->ua->st.reports_in++;
	if (!v.p || !id.p || id.len > MSRP_TID_MAX || msrp_hdr_status(v, &st) < 0)
		return;
	memcpy(msgid, id.p, id.len);
	msgid[id.len] = '\0';
	struct msrp_range r;
	cm_slice br = msrp_hdr_get(m, MSRP_H_BYTE_RANGE);
	report(s, msgid, st.code, br.p && msrp_hdr_range(br, &r) == 0 ? &r : NULL);
}

/* The copies a SEND's late answer needs (its transaction, our URI as the peer wrote it
 * <to>, its From-Path, its report asks); NULL when they are too long (400 answered) or
 * out of memory. */
static struct msrp_ua_in *in_new(struct msrp_conn *mc, struct msrp_ua_conn *uc,
				 const struct msrp_msg *m, cm_slice to, cm_slice from)
{
	if (to.len > COPY_MAX || from.len > COPY_MAX) {
		msrp_conn_respond(mc, m, 400, CM_SLICE_NULL, NULL, 0);
		return NULL;
	}
	struct msrp_ua_in *in = calloc(1, sizeof(*in) + to.len + from.len + 2);
	if (!in)
		return NULL;
	in->uc = uc;
	in->mc = mc;
	in->to = in->buf;
	in->from = in->buf + to.len + 1;
	memcpy(in->to, to.p, to.len);
	memcpy(in->from, from.p, from.len);
	snprintf(in->tid, sizeof(in->tid), "%.*s", (int)m->tid.len, m->tid.p);
	cm_slice v = msrp_hdr_get(m, MSRP_H_FAILURE_REPORT);
	if (!v.p || msrp_hdr_failure_report(v, &in->fr) < 0)
		in->fr = MSRP_REPORT_ABSENT;
	v = msrp_hdr_get(m, MSRP_H_SUCCESS_REPORT);
	if (!v.p || msrp_hdr_success_report(v, &in->sr) < 0)
		in->sr = MSRP_REPORT_ABSENT;
	return in;
}

/* The answer to reassembly's verdict <v>, the bounds it hit counted. */
static int reasm_verdict(struct msrp_ua *ua, int v)
{
	if (v == -EMSGSIZE)
		ua->st.too_big++;
	else if (v == -E2BIG)
		ua->st.too_many_chunks++;
	return msrp_reasm_code(v);
}

/* SEND <in> of session <s> begins: its verdict so far (415, 400, reassembly's) or 0 (its
 * end says); it is the one received on its connection now. */
static void in_begin(struct msrp_ua_sess *s, struct msrp_ua_in *in, int has_body,
		     cm_slice ctype, cm_slice msgid, cm_slice range)
{
	struct msrp_ua *ua = s->ua;
	in->s = s;
	if (has_body && s->ev->accept && !s->ev->accept(s->arg, ctype)) {
		in->verdict = 415;
	} else if (has_body) {
		struct msrp_range r = { .start = 1, .end = -1, .total = -1 };
		if (range.p && msrp_hdr_range(range, &r) < 0)
			in->verdict = 400;
		else
			in->verdict = reasm_verdict(ua, msrp_reasm_begin(
				s->reasm, msgid, &r, ctype, eng_now_ms(ua->w), &in->ck));
		if (in->verdict == 200) {
			in->verdict = 0; /* the end says */
			if (!eng_timer_armed(&s->rtimer))
				eng_timer_arm(ua->w, &s->rtimer, ua->cfg.reasm.timeout_ms);
		}
	} else {
		in->verdict = 200; /* an empty SEND (binding, or keep-alive) */
	}
	ua->st.chunks_in++;
	in->uc->in = in;
	s->in = in;
}

/* 1 when SENDs for session <sid> are held (its search on its way). */
static int held_for(const struct msrp_ua *ua, cm_slice sid)
{
	for (const struct held *h = ua->held; h; h = h->next)
		if (strlen(h->sid) == sid.len && !memcmp(h->sid, sid.p, sid.len))
			return 1;
	return 0;
}

/* A SEND for session <sid>, not here: held while cfg.find looks for it. 0, or -1 (not
 * held: the caller answers 481). */
static int hold(struct msrp_ua *ua, struct msrp_conn *mc, struct msrp_ua_conn *uc,
		const struct msrp_msg *m, cm_slice to, cm_slice from, cm_slice sid)
{
	cm_slice ct = msrp_hdr_get(m, MSRP_H_CONTENT_TYPE), id = msrp_hdr_get(m, MSRP_H_MESSAGE_ID);
	cm_slice br = msrp_hdr_get(m, MSRP_H_BYTE_RANGE);
	struct held *h;
	if (!ua->cfg.find || sid.len > MSRP_SESS_ID_MAX || ct.len >= sizeof(h->ctype) ||
	    id.len >= sizeof(h->msgid) || br.len >= sizeof(h->range) ||
	    ua->nheld >= MSRP_UA_HELD_COUNT || !(h = calloc(1, sizeof(*h))))
		return -1;
	struct msrp_ua_in *in = in_new(mc, uc, m, to, from);
	if (!in) {
		free(h);
		return 0; /* answered 400 (or out of memory: nothing to answer with) */
	}
	h->ua = ua;
	h->in = in;
	h->has_body = m->has_body;
	memcpy(h->sid, sid.p, sid.len);
	memcpy(h->ctype, ct.p ? ct.p : "", ct.len);
	memcpy(h->msgid, id.p ? id.p : "", id.len);
	memcpy(h->range, br.p ? br.p : "", br.len);
	const struct held *same = ua->held; /* a search for that session on its way already */
	while (same && strcmp(same->sid, h->sid))
		same = same->next;
	h->token = same ? same->token : ++ua->next_token;
	if (!ua->held_tail)
		ua->held_tail = &ua->held;
	h->prev = ua->held_tail; /* last: they go on in the order they came */
	*ua->held_tail = h;
	ua->held_tail = &h->next;
	ua->nheld++;
	in->held = h;
	uc->in = in;
	ua->st.held++;
	if (!same)
		ua->cfg.find(ua->cfg.find_arg, h->sid, h->token);
	return 0;
}

static cm_slice held_slice(const char *s)
{
	return s[0] ? (cm_slice){ s, strlen(s) } : CM_SLICE_NULL;
}

void msrp_ua_end(struct msrp_ua_conn *uc, enum msrp_flag flag);

/* Held SEND <h> goes on: bound to session <s> (NULL: 481). */
static void held_go(struct held *h, struct msrp_ua_sess *s)
{
	struct msrp_ua *ua = h->ua;
	struct msrp_ua_in *in = h->in;
	struct msrp_ua_conn *uc = in->uc;
	int first = s && !s->mc;
	if (!s || s->ended || (first ? bind_to(s, in->mc, uc) != 0 : s->mc != in->mc)) {
		ua->st.answered_481++;
		if (h->ended) { /* answered now; else at its end */
			answer(in->mc, in, 481);
			in_free(in);
			return;
		}
		held_drop(h);
		in->verdict = 481;
		return;
	}
	ua->st.bound += first;
	char *body = h->body;
	size_t len = h->len;
	int ended = h->ended, over = h->over;
	enum msrp_flag flag = h->flag;
	struct msrp_ua_in *receiving = uc->in; /* a later frame on its way on the connection */
	h->body = NULL;
	in_begin(s, in, h->has_body, held_slice(h->ctype), held_slice(h->msgid),
		 held_slice(h->range));
	held_drop(h); /* it goes on as if it had just come */
	if (!in->verdict && over)
		in->verdict = 413;
	else if (!in->verdict && len && msrp_reasm_data(s->reasm, &in->ck, body, len) < 0)
		in->verdict = 400;
	free(body);
	if (first) {
		s->ready = 1;
		if (s->ev->ready)
			s->ev->ready(s, s->arg);
		pump(s);
	}
	if (ended && uc->in == in) {
		msrp_ua_end(uc, flag);
		if (receiving && receiving != in)
			uc->in = receiving; /* the frame after it is still coming */
	}
}

void msrp_ua_resume(struct msrp_ua *ua, uint64_t token, int found)
{
	for (;;) { /* oldest first; from the start each time: what runs may free others */
		struct held *h = ua->held;
		while (h && h->token != token)
			h = h->next;
		if (!h)
			return;
		held_go(h, found ? (struct msrp_ua_sess *)msrp_sess_find(
				    &ua->sessions, (cm_slice){ h->sid, strlen(h->sid) }) : NULL);
	}
}

void msrp_ua_head(struct msrp_ua *ua, struct msrp_conn *mc, struct msrp_ua_conn *uc,
		  const struct msrp_msg *m)
{
	cm_slice to = msrp_hdr_get(m, MSRP_H_TO_PATH), from = msrp_hdr_get(m, MSRP_H_FROM_PATH);
	cm_slice rest = to, u0, extra;
	struct msrp_uri u;
	if (uc->in && uc->in->held)
		uc->in = NULL; /* held, on the UA's list: answered when its session is found */
	else if (uc->in)
		in_free(uc->in);
	if (m->method != MSRP_M_SEND && m->method != MSRP_M_REPORT) {
		msrp_conn_respond(mc, m, 403, CM_SLICE_LIT("Action-not-allowed: not a relay"), NULL,
				  0);
		return;
	}
	if (!from.p || msrp_path_next(&rest, &u0) <= 0 || msrp_path_next(&rest, &extra) > 0 ||
	    msrp_uri_parse(u0, &u) < 0) {
		ua->st.answered_400++;
		msrp_conn_respond(mc, m, 400, CM_SLICE_NULL, NULL, 0);
		return;
	}
	struct msrp_ua_sess *s = (struct msrp_ua_sess *)msrp_sess_find(&ua->sessions,
									 u.session_id);
	if (m->method == MSRP_M_SEND && ((!s && ua->cfg.may_find &&
					   ua->cfg.may_find(ua->cfg.find_arg, u.session_id)) ||
					  held_for(ua, u.session_id)) &&
	    hold(ua, mc, uc, m, u0, from, u.session_id) == 0)
		return; /* maybe another node's that died: looked for (or behind one that is,
			 * even if the session came meanwhile: in the order they came) */
	if (!s || s->ended) {
		ua->st.answered_481++;
		msrp_conn_respond(mc, m, 481, CM_SLICE_NULL, NULL, 0);
		return;
	}
	int first = !s->mc;
	if (first && bind_to(s, mc, uc) == 0) {
		ua->st.bound++;
	} else if (s->mc != mc) {
		ua->st.answered_506++;
		msrp_conn_respond(mc, m, 506, CM_SLICE_NULL, NULL, 0);
		return;
	}
	if (m->method == MSRP_M_REPORT) {
		incoming_report(s, m);
	} else {
		/* a SEND: its answer comes at its end, when reassembly has had its say */
		struct msrp_ua_in *in = in_new(mc, uc, m, u0, from);
		if (!in)
			return;
		in_begin(s, in, m->has_body, msrp_hdr_get(m, MSRP_H_CONTENT_TYPE),
			 msrp_hdr_get(m, MSRP_H_MESSAGE_ID), msrp_hdr_get(m, MSRP_H_BYTE_RANGE));
	}
	if (first) {
		s->ready = 1;
		if (s->ev->ready)
			s->ev->ready(s, s->arg);
		pump(s);
	}
}

void msrp_ua_body(struct msrp_ua_conn *uc, cm_slice body)
{
	struct msrp_ua_in *in = uc->in;
	struct held *h = in ? in->held : NULL;
	if (h) { /* its session looked for: kept meanwhile */
		char *nb = h->len + body.len <= MSRP_UA_HELD_MAX ? realloc(h->body, h->len + body.len + 1)
								 : NULL;
		if (!nb) {
			h->over = 1;
			return;
		}
		memcpy(nb + h->len, body.p, body.len);
		h->body = nb;
		h->len += body.len;
		return;
	}
	if (!in || in->verdict || !in->s)
		return;
	int v = msrp_reasm_data(in->s->reasm, &in->ck, body.p, body.len);
	if (v < 0)
		in->verdict = reasm_verdict(in->s->ua, v);
}

void msrp_ua_end(struct msrp_ua_conn *uc, enum msrp_flag flag)
{
	struct msrp_ua_in *in = uc->in;
	if (!in)
		return;
	if (in->held) { /* answered once its session is found, or not */
		in->held->ended = 1;
		in->held->flag = flag;
		return;
	}
	struct msrp_ua_sess *s = in->s;
	if (!s) { /* looked for, not found */
		answer(in->mc, in, in->verdict ? in->verdict : 481);
		in_free(in);
		return;
	}
	struct msrp_ua *ua = s->ua;
	int code = in->verdict;
	struct msrp_reasm_msg msg = { 0 };
	int v = 0;
	if (!code) {
		v = msrp_reasm_end(s->reasm, &in->ck, flag, &msg);
		code = reasm_verdict(ua, v);
	}
	if (code == 415)
		ua->st.answered_415++;
	else if (code == 413)
		ua->st.answered_413++;
	else if (code == 400)
		ua->st.answered_400++;
	answer(s->mc, in, code);
	if (v == MSRP_REASM_COMPLETE) {
		ua->st.msgs_in++;
		if (msrp_report_success_eff(in->sr) == MSRP_REPORT_YES)
			success_report(s, in, &msg);
		msg.failure_report = in->fr;
		in_free(in); /* before the owner, who may close the session */
		if (s->ev->message)
			s->ev->message(s, s->arg, &msg);
		else
			msrp_reasm_msg_free(&msg);
		return;
	}
	in_free(in);
}

void msrp_ua_conn_closed(struct msrp_ua *ua, struct msrp_ua_conn *uc, int err)
{
	if (uc->in)
		in_free(uc->in);
	for (struct held *h = ua->held, *next; h; h = next) { /* its SENDs held: nothing now */
		next = h->next;
		if (h->in->uc == uc)
			in_free(h->in);
	}
	while (uc->sess.head) {
		struct msrp_ua_sess *s = (struct msrp_ua_sess *)uc->sess.head;
		msrp_sess_unbind(&s->s);
		s->mc = NULL;
		s->uc = NULL;
		sess_end(s, err ? err : -ECONNRESET);
	}
}

/* ---- connections given wholly to the UA ------------------------------------------------ */

/* The UA state of <mc>: its owner pointer, made on first sight (the pool's connections and
 * accepted ones alike when the UA runs them). */
static struct msrp_ua *ua_of(struct msrp_conn *mc);

static struct msrp_ua_conn *conn_state(struct msrp_conn *mc)
{
	struct ua_own *o = msrp_conn_owner(mc);
	struct msrp_ua *ua = ua_of(mc);
	if (o || !ua || !(o = calloc(1, sizeof(*o))))
		return o ? &o->uc : NULL;
	o->mc = mc;
	o->next = ua->owned;
	if (o->next)
		o->next->prev = &o->next;
	o->prev = &ua->owned;
	ua->owned = o;
	msrp_conn_set_owner(mc, o);
	return &o->uc;
}

static void own_free(struct ua_own *o)
{
	*o->prev = o->next;
	if (o->next)
		o->next->prev = o->prev;
	msrp_conn_set_owner(o->mc, NULL);
	free(o);
}

static void c_head(struct msrp_conn *mc, const struct msrp_msg *m)
{
	struct msrp_ua_conn *uc = conn_state(mc);
	struct msrp_ua *ua = ua_of(mc);
	if (uc && ua)
		msrp_ua_head(ua, mc, uc, m);
}

static void c_body(struct msrp_conn *mc, eng_buf *b, cm_slice body)
{
	struct msrp_ua_conn *uc = msrp_conn_owner(mc);
	(void)b;
	if (uc)
		msrp_ua_body(uc, body);
}

static void c_end(struct msrp_conn *mc, enum msrp_flag flag)
{
	struct msrp_ua_conn *uc = msrp_conn_owner(mc);
	if (uc)
		msrp_ua_end(uc, flag);
}

static void c_close(struct msrp_conn *mc, int err)
{
	struct ua_own *o = msrp_conn_owner(mc);
	if (!o)
		return;
	msrp_ua_conn_closed(ua_of(mc), &o->uc, err);
	own_free(o);
}

static uint32_t c_sessions(struct msrp_conn *mc)
{
	struct msrp_ua_conn *uc = msrp_conn_owner(mc);
	return uc ? msrp_sess_list_count(&uc->sess) : 0;
}

static const struct msrp_conn_ops ua_conn_ops = {
	.on_head = c_head, .on_body = c_body, .on_end = c_end, .on_close = c_close,
	.sessions = c_sessions,
};

const struct msrp_conn_ops *msrp_ua_conn_ops(void)
{
	return &ua_conn_ops;
}

/* Accepted connections carry the UA as udata; the pool's carry the pool, whose udata is
 * the UA (msrp_ua_new sets it). */
static struct msrp_ua *ua_of(struct msrp_conn *mc)
{
	void *u = msrp_conn_udata(mc);
	return msrp_conn_ops_of(mc) == &ua_conn_ops ? u : msrp_pool_udata(u);
}

/* ---- life cycle ----------------------------------------------------------------------- */

static void own_close_fire(eng_timer *t);

struct msrp_ua *msrp_ua_new(eng_worker *w, struct msrp_worker *mw, struct msrp_pool *pool,
			    const struct msrp_ua_cfg *cfg)
{
	struct msrp_ua *ua = calloc(1, sizeof(*ua));
	if (!ua)
		return NULL;
	ua->w = w;
	ua->mw = mw;
	ua->pool = pool;
	ua->cfg = *cfg;
	ua->closing_tail = &ua->closing;
	eng_timer_init(&ua->ctimer, own_close_fire, ua);
	if (!ua->cfg.chunk_size)
		ua->cfg.chunk_size = MSRP_CHUNK_SIZE_DEFAULT;
	if (msrp_sess_table_init(&ua->sessions, 256) < 0) {
		free(ua);
		return NULL;
	}
	if (pool && !msrp_pool_udata(pool))
		msrp_pool_set_udata(pool, ua); /* its connections find the UA through it */
	return ua;
}

static void own_close_fire(eng_timer *t)
{
	struct msrp_ua *ua = t->arg;
	uint64_t now = eng_now_ms(ua->w);
	while (ua->closing && ua->closing->at <= now) {
		struct own_close *oc = ua->closing;
		if (!(ua->closing = oc->next))
			ua->closing_tail = &ua->closing;
		if (ua->pool && msrp_pool_close_tag(ua->pool, oc->tag) == -EAGAIN &&
		    oc->tries++ < 5) { /* still opening: once it is open */
			oc->next = NULL;
			oc->at = now + OWN_CLOSE_MS;
			*ua->closing_tail = oc;
			ua->closing_tail = &oc->next;
			continue;
		}
		free(oc);
	}
	if (ua->closing)
		eng_timer_arm(ua->w, &ua->ctimer, ua->closing->at - now);
}

void msrp_ua_stop(struct msrp_ua *ua)
{
	if (!ua)
		return;
	for (uint32_t i = 0; i <= ua->sessions.mask; i++)
		while (ua->sessions.buckets[i])
			msrp_ua_close((struct msrp_ua_sess *)ua->sessions.buckets[i]);
	eng_timer_cancel(&ua->ctimer); /* (the pool closes what is left) */
	while (ua->closing) {
		struct own_close *oc = ua->closing;
		ua->closing = oc->next;
		free(oc);
	}
	ua->closing_tail = &ua->closing;
	while (ua->held) /* SENDs held for sessions looked for: never answered now */
		in_free(ua->held->in);
	while (ua->owned)
		own_free(ua->owned);
}

void msrp_ua_free(struct msrp_ua *ua)
{
	if (!ua)
		return;
	msrp_ua_stop(ua);
	msrp_sess_table_fini(&ua->sessions);
	free(ua);
}

const struct msrp_ua_stats *msrp_ua_stats(const struct msrp_ua *ua)
{
	return &ua->st;
}

/* dm_peer.c — one Diameter peer connection (dm_peer.h). */
#include "diameter/dm_peer.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>

#include "common/cm_hist.h"
#include "common/cm_log.h"
#include "diameter/dm_check.h"

#define CMD_CE 257
#define CMD_DW 280
#define CMD_DP 282
#define AVP_ORIGIN_HOST 264
#define AVP_RESULT_CODE 268
#define AVP_EXPERIMENTAL_RESULT 297
#define AVP_ORIGIN_REALM 296
#define CTRL_MAX 1024                  /* bytes of a CER, DWR, DPR or their answers */

struct preq {
	struct preq *next;
	struct dm_peer *p;
	uint64_t sent_us;              /* eng_now_us when it went (its round trip) */
	uint32_t hbh;
	dm_answer_fn fn;
	void *arg;
	eng_timer t;
};

struct dm_peer {
	eng_worker *w;
	eng_conn *c;
	struct dm_peer_cfg cfg;
	enum dm_peer_state st;
	uint8_t *rbuf;
	size_t rlen, rcap;
	struct preq *pending;
	uint32_t next_hbh, next_e2e;
	eng_timer wd;                  /* the watchdog (Tw) */
	eng_timer ce;                  /* the CER/CEA and DPA waits */
	int dwr_out;                   /* a DWR of ours waits for its DWA */
	int dropping;                  /* its connection is being closed: read no more */
	int dead;                      /* dm_peer_free() called inside a callback */
	unsigned busy;                 /* callbacks of the owner running (it may free <p>) */
	uint32_t rnd;                  /* xorshift state: the watchdog's jitter */
	char host[256], realm[256];
	uint32_t apps[64];             /* its applications (CER/CEA); APP_RELAY: all */
	unsigned napps;
	struct dm_peer_stats st_;
};

static const char *const state_names[] = { "connecting", "wait_cea", "wait_cer", "open",
					   "suspect", "closing", "closed" };

const char *dm_peer_state_name(enum dm_peer_state s)
{
	return (unsigned)s <= DM_PEER_CLOSED ? state_names[s] : "?";
}

static uint32_t tw(const struct dm_peer *p)
{
	return p->cfg.tw_ms ? p->cfg.tw_ms : 30000;
}

static uint32_t ce_wait(const struct dm_peer *p)
{
	return p->cfg.cer_timeout_ms ? p->cfg.cer_timeout_ms : 10000;
}

static void set_state(struct dm_peer *p, enum dm_peer_state st)
{
	if (p->st == st)
		return;
	p->st = st;
	if (p->cfg.state)
		p->cfg.state(p->cfg.arg, p, st);
}

/* Tw with up to ±2 s of jitter (RFC 3539 §3.4.1), never below 1 s... nor above Tw's worth
 * when Tw is short (tests): ±Tw/4 then. */
static void arm_watchdog(struct dm_peer *p)
{
	uint32_t j = tw(p) / 4 < 2000 ? tw(p) / 4 : 2000, r = p->rnd ? p->rnd : 1;
	r ^= r << 13;
	r ^= r >> 17;
	r ^= r << 5;
	p->rnd = r;
	r = j ? r % (2 * j + 1) : 0;
	eng_timer_arm(p->w, &p->wd, (uint64_t)tw(p) - j + r);
}

/* ---- counting ------------------------------------------------------------------------- */

const char *const dm_traffic_result_names[DM_TRAFFIC_RESULTS] = {
	"1xxx", "2xxx", "3xxx", "4xxx", "5xxx", "experimental", "none",
};

unsigned dm_traffic_cmd_slot(uint32_t code)
{
	unsigned i = 0;
	while (i < DM_DICT_BUILTIN_CMDS && dm_dict_builtin_cmd(i)->code != code)
		i++;
	return i;
}

/* The slot in dm_traffic.results of answer <m> (<n> bytes, its header read already): by
 * its Result-Code's thousands, else "experimental" for an Experimental-Result, else
 * "none" (no Result-Code, or one outside 1000..5999). */
static unsigned result_slot(const uint8_t *m, size_t n)
{
	struct dm_avp_iter it;
	struct dm_avp a;
	uint32_t rc, v;
	unsigned slot = DM_TRAFFIC_RESULTS - 1;
	dm_avp_iter_init(&it, m + DM_HDR_LEN, (uint32_t)(n - DM_HDR_LEN));
	while (dm_avp_next(&it, &a, &rc) == 1) {
		if (a.vendor)
			continue;
		if (a.code == AVP_RESULT_CODE && dm_get_u32(&a, &v) == 0)
			return v >= 1000 && v < 6000 ? v / 1000 - 1 : DM_TRAFFIC_RESULTS - 1;
		if (a.code == AVP_EXPERIMENTAL_RESULT)
			slot = DM_TRAFFIC_RESULTS - 2;
	}
	return slot;
}

/* Counts message <m> (<n> bytes, a header at least) received (<out> 0) or sent (1). */
static void count(struct dm_peer *p, const uint8_t *m, size_t n, int out)
{
	struct dm_traffic *t = p->cfg.traffic;
	if (!t || n < DM_HDR_LEN)
		return;
	unsigned c = dm_traffic_cmd_slot((uint32_t)m[5] << 16 | (uint32_t)m[6] << 8 | m[7]);
	if (m[4] & DM_FLAG_R) {
		t->requests[out][c]++;
		return;
	}
	t->answers[out][c]++;
	t->results[out][result_slot(m, n)]++;
}

static int send_msg(struct dm_peer *p, const uint8_t *m, size_t len)
{
	if (!p->c || eng_send(p->c, m, len) < 0)
		return -ENOTCONN;
	count(p, m, len, 1);
	return 0;
}

/* A control message of ours: CER/CEA/DWR/DWA/DPR/DPA. <rc> 0: a request; else an answer
 * to <req> with that Result-Code. */
static void send_ctrl(struct dm_peer *p, uint32_t code, const uint8_t *req, uint32_t rc,
		      uint32_t cause)
{
	uint8_t b[CTRL_MAX];
	struct dm_wbuf w;
	struct dm_hdr h = { .hop_by_hop = p->next_hbh, .end_to_end = p->next_e2e };
	uint32_t hrc;
	if (req)
		(void)dm_hdr_parse(req, DM_HDR_LEN, &h, &hrc); /* (checked already) */
	else
		p->next_hbh++, p->next_e2e++;
	uint32_t hbh = h.hop_by_hop, e2e = h.end_to_end;
	dm_w_init(&w, b, sizeof(b));
	/* an answer with a protocol error (3xxx: a CEA refusing an unknown peer) has E set */
	dm_w_hdr(&w, req ? (rc >= 3000 && rc < 4000 ? DM_FLAG_E : 0) : DM_FLAG_R, code, 0, hbh,
		 e2e);
	if (req)
		dm_w_u32(&w, AVP_RESULT_CODE, DM_AVP_M, 0, rc);
	dm_w_str(&w, AVP_ORIGIN_HOST, DM_AVP_M, 0, p->cfg.origin_host);
	dm_w_str(&w, 296, DM_AVP_M, 0, p->cfg.origin_realm);
	if (code == CMD_CE) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		static const uint8_t lo[4] = { 127, 0, 0, 1 };
		const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)&ss;
		if (!p->c || getsockname(p->c->fd, (struct sockaddr *)&ss, &sl) < 0)
			dm_w_address(&w, 257, DM_AVP_M, 0, 1, lo, 4); /* (required: 1*) */
		else if (ss.ss_family == AF_INET)
			dm_w_address(&w, 257, DM_AVP_M, 0, 1,
				     &((struct sockaddr_in *)&ss)->sin_addr, 4);
		else if (IN6_IS_ADDR_V4MAPPED(&a6->sin6_addr))
			dm_w_address(&w, 257, DM_AVP_M, 0, 1, a6->sin6_addr.s6_addr + 12, 4);
		else
			dm_w_address(&w, 257, DM_AVP_M, 0, 2, &a6->sin6_addr, 16);
		dm_w_u32(&w, 266, DM_AVP_M, 0, p->cfg.vendor_id);
		dm_w_str(&w, 269, 0, 0, p->cfg.product ? p->cfg.product : "rcsgw");
		/* a vendor's application (3GPP Cx, Sh) as Vendor-Specific-Application-Id, with
		 * Supported-Vendor-Id; the others as they are (RFC 6733 §5.3.1) */
		uint32_t vendors[8];
		unsigned nv = 0;
		for (unsigned i = 0; i < p->cfg.nauth; i++) {
			const struct dm_app_def *ap = dm_dict_app(p->cfg.dict, p->cfg.auth_apps[i]);
			uint32_t v = ap ? ap->vendor : 0;
			unsigned k = 0;
			while (k < nv && vendors[k] != v)
				k++;
			if (v && k == nv && nv < 8) {
				vendors[nv++] = v;
				dm_w_u32(&w, 265, DM_AVP_M, 0, v);
			}
		}
		for (unsigned i = 0; i < p->cfg.nauth; i++) {
			const struct dm_app_def *ap = dm_dict_app(p->cfg.dict, p->cfg.auth_apps[i]);
			/* an accounting application is an Acct-Application-Id (259) */
			uint32_t which = ap && ap->acct ? 259 : 258;
			if (ap && ap->vendor) {
				dm_w_group_begin(&w, 260, DM_AVP_M, 0);
				dm_w_u32(&w, 266, DM_AVP_M, 0, ap->vendor);
				dm_w_u32(&w, which, DM_AVP_M, 0, p->cfg.auth_apps[i]);
				dm_w_group_end(&w);
			} else {
				dm_w_u32(&w, which, DM_AVP_M, 0, p->cfg.auth_apps[i]);
			}
		}
	}
	if (code == CMD_DP && !req)
		dm_w_u32(&w, 273, DM_AVP_M, 0, cause);
	long n = dm_w_finish(&w);
	if (n > 0)
		send_msg(p, b, (size_t)n);
	else
		CM_WARN("diameter: peer %s: a control message (%u) could not be made (%ld)",
			p->host[0] ? p->host : "?", code, n);
}

/* Every request waiting told <status>. */
static void end_requests(struct dm_peer *p, int status)
{
	while (p->pending) {
		struct preq *q = p->pending;
		p->pending = q->next;
		eng_timer_cancel(&q->t);
		q->fn(q->arg, status, NULL, 0);
		free(q);
	}
}

/* The peer turned suspect: the requests waiting that the owner can send elsewhere are
 * told -ECONNRESET; the others stay (an answer may still come, and it is theirs). Without
 * cfg.failover, all of them go. */
static void fail_over(struct dm_peer *p)
{
	struct preq **pp = &p->pending;
	while (*pp && !p->dead) {
		struct preq *q = *pp;
		if (p->cfg.failover && !p->cfg.failover(p->cfg.arg, p, q->arg)) {
			pp = &q->next;
			continue;
		}
		*pp = q->next;
		eng_timer_cancel(&q->t);
		/* (the callback sends it elsewhere: it cannot add to this peer's list, a suspect
		 * one, nor take from it; if it frees the peer, p->dead ends the loop) */
		q->fn(q->arg, -ECONNRESET, NULL, 0);
		free(q);
	}
}

/* Timers stopped; every request waiting told <status>. */
static void end_all(struct dm_peer *p, int status)
{
	eng_timer_cancel(&p->wd);
	eng_timer_cancel(&p->ce);
	end_requests(p, status);
}

static void closed(struct dm_peer *p)
{
	end_all(p, -ECONNRESET);
	set_state(p, DM_PEER_CLOSED);
}

/* The connection closed: after what is queued (<graceful>: a DPA, a CEA refusing) or at
 * once (a peer gone silent may not read what is queued). Its on_close: closed(). */
static void drop(struct dm_peer *p, int graceful)
{
	p->dropping = 1;
	if (p->c && graceful)
		eng_close(p->c);
	else if (p->c)
		eng_abort(p->c, -ETIMEDOUT);
}

/* Around the owner's callbacks: it may free <p> inside (dm_peer_free then only marks it);
 * the outermost leave frees it. 1: <p> is gone. */
static void enter(struct dm_peer *p)
{
	p->busy++;
}

static void really_free(struct dm_peer *p);

static int leave(struct dm_peer *p)
{
	if (--p->busy || !p->dead)
		return 0;
	really_free(p);
	return 1;
}

static void ce_timeout(eng_timer *t)
{
	struct dm_peer *p = t->arg;
	if (p->st != DM_PEER_WAIT_CEA && p->st != DM_PEER_WAIT_CER && p->st != DM_PEER_CLOSING)
		return;
	CM_INFO("diameter: peer %s: no %s in time: closed", p->host[0] ? p->host : "?",
		p->st == DM_PEER_CLOSING ? "DPA" : "capabilities exchange");
	drop(p, 0);
}

static void wd_fire(eng_timer *t)
{
	struct dm_peer *p = t->arg;
	if (p->st == DM_PEER_SUSPECT) { /* another Tw of silence: down (RFC 3539 §3.4) */
		p->st_.unanswered_closes++;
		CM_WARN("diameter: peer %s: no answer to the watchdog: closed", p->host);
		drop(p, 0);
		return;
	}
	if (p->st != DM_PEER_OPEN)
		return;
	if (p->dwr_out) { /* no DWA within Tw: suspect, its requests failed over */
		CM_WARN("diameter: peer %s: no answer to the watchdog: suspect", p->host);
		p->st_.suspects++;
		arm_watchdog(p);
		enter(p);
		set_state(p, DM_PEER_SUSPECT); /* first: the requests go to other peers */
		if (!p->dead)
			fail_over(p);
		leave(p);
		return;
	}
	send_ctrl(p, CMD_DW, NULL, 0, 0);
	p->dwr_out = 1;
	p->st_.dwr_out++;
	arm_watchdog(p);
}

#define APP_RELAY 0xffffffffu

/* 1 when the CER <m> names an application we have (or one side is a relay, or we name
 * none: any). */
static int common_app(const struct dm_peer *p, const uint8_t *m, size_t n)
{
	struct dm_avp_iter it, in;
	struct dm_avp a, b;
	uint32_t rc, id;
	if (!p->cfg.nauth)
		return 1;
	for (unsigned i = 0; i < p->cfg.nauth; i++)
		if (p->cfg.auth_apps[i] == APP_RELAY)
			return 1;
	dm_avp_iter_init(&it, m + DM_HDR_LEN, (uint32_t)n - DM_HDR_LEN);
	while (dm_avp_next(&it, &a, &rc) == 1) {
		const struct dm_avp *x = &a;
		if (a.vendor)
			continue;
		if (a.code == 260) { /* Vendor-Specific-Application-Id: its application */
			dm_avp_iter_init(&in, a.data, a.data_len);
			while (dm_avp_next(&in, &b, &rc) == 1)
				if (!b.vendor && (b.code == 258 || b.code == 259))
					x = &b;
			if (x == &a)
				continue;
		} else if (a.code != 258 && a.code != 259) {
			continue;
		}
		if (dm_get_u32(x, &id) < 0)
			continue;
		if (id == APP_RELAY)
			return 1;
		for (unsigned i = 0; i < p->cfg.nauth; i++)
			if (p->cfg.auth_apps[i] == id)
				return 1;
	}
	return 0;
}

/* Of a CER or CEA <m>: its Origin-Host and Origin-Realm into p->host and p->realm, its
 * applications into p->apps, its Result-Code into <result> (0: none). */
static void take_host(struct dm_peer *p, const uint8_t *m, size_t n, uint32_t *result)
{
	struct dm_avp_iter it, in;
	struct dm_avp a, b;
	uint32_t rc, id;
	*result = 0;
	p->napps = 0;
	dm_avp_iter_init(&it, m + DM_HDR_LEN, (uint32_t)n - DM_HDR_LEN);
	while (dm_avp_next(&it, &a, &rc) == 1) {
		if (a.vendor)
			continue;
		if ((a.code == AVP_ORIGIN_HOST || a.code == AVP_ORIGIN_REALM) &&
		    a.data_len < sizeof(p->host)) {
			char *to = a.code == AVP_ORIGIN_HOST ? p->host : p->realm;
			memcpy(to, a.data, a.data_len);
			to[a.data_len] = '\0';
		} else if (a.code == AVP_RESULT_CODE) {
			dm_get_u32(&a, result);
		} else if (a.code == 258 || a.code == 259 || a.code == 260) {
			const struct dm_avp *x = &a;
			if (a.code == 260) { /* Vendor-Specific-Application-Id: its application */
				dm_avp_iter_init(&in, a.data, a.data_len);
				while (dm_avp_next(&in, &b, &rc) == 1)
					if (!b.vendor && (b.code == 258 || b.code == 259))
						x = &b;
			}
			if (x != &a || a.code != 260)
				if (dm_get_u32(x, &id) == 0 && p->napps < 64)
					p->apps[p->napps++] = id;
		}
	}
}

/* Request <m> answered with the error of <f>. */
static void answer_fault(struct dm_peer *p, const uint8_t *m, size_t n, const struct dm_fault *f)
{
	size_t cap = n + 1024; /* its Session-Id and the AVP at fault fit, with ours */
	uint8_t *b = malloc(cap);
	long an = b ? dm_answer_error(m, n, f, p->cfg.origin_host, p->cfg.origin_realm, b, cap)
		    : -ENOMEM;
	if (an > 0)
		send_msg(p, b, (size_t)an);
	else
		CM_LOG_RL(CM_LOG_WARN, "diameter: peer %s: no error answer could be made (%ld)",
			  p->host[0] ? p->host : "?", an);
	free(b);
}

static void on_message(struct dm_peer *p, const uint8_t *m, size_t n)
{
	struct dm_fault f;
	struct dm_hdr h;
	uint32_t rc;
	if (p->st == DM_PEER_OPEN || p->st == DM_PEER_SUSPECT)
		arm_watchdog(p); /* traffic: the watchdog waits again */
	/* requests are held against the dictionary (and answered when they fail); answers
	 * only need to be well framed — an error answer names bad AVPs in Failed-AVP by
	 * nature: its waiter reads it */
	uint32_t frc, ffo, ffl;
	/* every request names its sender once (RFC 6733 §6.3, §6.4: the base commands' and
	 * the applications' ABNF all have < Origin-Host > { Origin-Realm }) */
	static const char *const sender[] = { "Origin-Host", "Origin-Realm", NULL };
	int bad = (m[4] & DM_FLAG_R) ?
		dm_check(p->cfg.dict, m, n, p->cfg.lim, sender, &f) < 0 :
		dm_msg_check(m, n, p->cfg.lim, NULL, NULL, &frc, &ffo, &ffl, NULL) < 0;
	if (bad && !(m[4] & DM_FLAG_R))
		snprintf(f.what, sizeof(f.what), "malformed answer"), f.rc = frc;
	if (bad) {
		p->st_.malformed++;
		CM_LOG_RL(CM_LOG_WARN, "diameter: peer %s: malformed message (%u): %s",
			  p->host[0] ? p->host : "?", f.rc, f.what);
		if (m[4] & DM_FLAG_R)
			answer_fault(p, m, n, &f);
		return;
	}
	if (p->st == DM_PEER_SUSPECT) { /* it speaks again: failback (RFC 3539 §3.4.1) */
		p->dwr_out = 0;
		CM_INFO("diameter: peer %s answers again: open", p->host);
		enter(p);
		set_state(p, DM_PEER_OPEN);
		if (leave(p) || p->dead)
			return;
	}
	dm_hdr_parse(m, n, &h, &rc);
	count(p, m, n, 0);
	int req = (h.flags & DM_FLAG_R) != 0;
	uint32_t result;
	switch (h.code) {
	case CMD_CE:
		if (req && p->st == DM_PEER_WAIT_CER) {
			take_host(p, m, n, &result);
			eng_timer_cancel(&p->ce);
			if (!common_app(p, m, n)) { /* RFC 6733 §5.3: 5010, and the close */
				CM_WARN("diameter: peer %s shares no application with us: refused",
					p->host);
				send_ctrl(p, CMD_CE, m, 5010, 0);
				drop(p, 1);
				return;
			}
			uint32_t adm = DM_RC_SUCCESS;
			if (p->cfg.admit) {
				enter(p);
				adm = p->cfg.admit(p->cfg.arg, p);
				if (leave(p) || p->dead)
					return;
			}
			if (adm != DM_RC_SUCCESS) {
				CM_LOG_RL(CM_LOG_WARN, "diameter: peer %s refused (%u)", p->host,
					  adm);
				send_ctrl(p, CMD_CE, m, adm, 0);
				drop(p, 1);
				return;
			}
			send_ctrl(p, CMD_CE, m, DM_RC_SUCCESS, 0);
			set_state(p, DM_PEER_OPEN);
			if (!p->dead)
				arm_watchdog(p);
		} else if (!req && p->st == DM_PEER_WAIT_CEA) {
			take_host(p, m, n, &result);
			eng_timer_cancel(&p->ce);
			if (result != DM_RC_SUCCESS) {
				CM_LOG_RL(CM_LOG_WARN, "diameter: peer %s refused the capabilities "
					  "exchange (%u)", p->host, result);
				drop(p, 0);
				return;
			}
			set_state(p, DM_PEER_OPEN);
			if (!p->dead)
				arm_watchdog(p);
		} else if (req) {
			send_ctrl(p, CMD_CE, m, DM_RC_UNABLE_TO_COMPLY, 0);
		}
		return;
	case CMD_DW:
		if (req) {
			p->st_.dwr_in++;
			send_ctrl(p, CMD_DW, m, DM_RC_SUCCESS, 0);
		} else {
			p->dwr_out = 0;
			p->st_.dwa_in++;
		}
		return;
	case CMD_DP:
		if (req) {
			send_ctrl(p, CMD_DP, m, DM_RC_SUCCESS, 0);
			set_state(p, DM_PEER_CLOSING);
			drop(p, 1); /* the DPA goes first (eng_close sends what is queued) */
		} else if (p->st == DM_PEER_CLOSING) {
			drop(p, 1);
		}
		return;
	default:
		break;
	}
	if (req) {
		p->st_.requests_in++;
		if (p->st == DM_PEER_OPEN && p->cfg.request) {
			p->cfg.request(p->cfg.arg, p, m, n);
		} else {
			f = (struct dm_fault){ .rc = DM_RC_UNABLE_TO_COMPLY };
			snprintf(f.what, sizeof(f.what), "the peer connection is not open");
			answer_fault(p, m, n, &f);
		}
		return;
	}
	for (struct preq **pp = &p->pending; *pp; pp = &(*pp)->next)
		if ((*pp)->hbh == h.hop_by_hop) {
			struct preq *q = *pp;
			*pp = q->next;
			eng_timer_cancel(&q->t);
			p->st_.answers_in++;
			if (p->cfg.traffic)
				cm_hist_add(&p->cfg.traffic->rtt, eng_now_us(p->w) - q->sent_us);
			q->fn(q->arg, 0, m, n);
			free(q);
			return;
		}
	CM_LOG_RL(CM_LOG_INFO, "diameter: peer %s: an answer nobody waits for (hop-by-hop %u)",
		  p->host, h.hop_by_hop);
}

static void p_recv(eng_conn *c, eng_buf *b, uint32_t off, uint32_t len)
{
	struct dm_peer *p = c->udata;
	const uint8_t *in = (const uint8_t *)b->data + off;
	if (p->rlen + len > p->rcap) {
		size_t cap = p->rcap ? p->rcap : 4096;
		while (cap < p->rlen + len)
			cap *= 2;
		uint8_t *nb = realloc(p->rbuf, cap);
		if (!nb) {
			eng_abort(c, -ENOMEM);
			return;
		}
		p->rbuf = nb;
		p->rcap = cap;
	}
	memcpy(p->rbuf + p->rlen, in, len);
	p->rlen += len;
	size_t at = 0;
	enter(p);
	while (p->c && !p->dropping && !p->dead && p->rlen - at >= 4) {
		long n = dm_msg_length(p->rbuf + at, p->rlen - at, p->cfg.lim);
		if (n < 0) { /* the stream cannot be framed any more */
			p->st_.malformed++;
			CM_WARN("diameter: peer %s: a message that cannot be framed (%s): closed",
				p->host[0] ? p->host : "?", n == -EPROTO ? "version" : "length");
			eng_abort(c, -EPROTO);
			break;
		}
		if ((size_t)n > p->rlen - at)
			break;
		on_message(p, p->rbuf + at, (size_t)n);
		at += (size_t)n;
	}
	if (leave(p))
		return;
	if (at && at <= p->rlen) {
		memmove(p->rbuf, p->rbuf + at, p->rlen - at);
		p->rlen -= at;
	}
	/* a message begun has engine.frame_timeout to be whole, however it trickles in */
	if (p->c)
		eng_conn_frame(p->c, p->rlen > 0, p->cfg.slow_frames);
}

static void p_connect(eng_conn *c, int err)
{
	struct dm_peer *p = c->udata;
	if (err < 0)
		return; /* on_close follows */
	send_ctrl(p, CMD_CE, NULL, 0, 0);
	eng_timer_arm(p->w, &p->ce, ce_wait(p));
	enter(p);
	set_state(p, DM_PEER_WAIT_CEA);
	leave(p);
}

static void p_close(eng_conn *c, int err)
{
	struct dm_peer *p = c->udata;
	(void)err;
	p->c = NULL;
	enter(p);
	closed(p);
	leave(p);
}

static void p_describe(eng_conn *c, struct eng_conn_desc *d)
{
	(void)c;
	d->protocol = "diameter";
}

static const struct eng_conn_ops peer_ops = {
	.on_recv = p_recv, .on_connect = p_connect, .on_close = p_close, .describe = p_describe,
};

static void orphan_recv(eng_conn *c, eng_buf *b, uint32_t off, uint32_t len)
{
	(void)c; (void)b; (void)off; (void)len;
}
static void orphan_close(eng_conn *c, int err)
{
	(void)c; (void)err;
}
static const struct eng_conn_ops orphan_ops = { .on_recv = orphan_recv,
						.on_close = orphan_close, .describe = p_describe };

static struct dm_peer *peer_new(eng_worker *w, const struct dm_peer_cfg *cfg)
{
	struct dm_peer *p = calloc(1, sizeof(*p));
	uint32_t seed[2] = { 0, 0 };
	if (!p)
		return NULL;
	p->w = w;
	p->cfg = *cfg;
	eng_timer_init(&p->wd, wd_fire, p);
	eng_timer_init(&p->ce, ce_timeout, p);
	if (getrandom(seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed))
		seed[0] = (uint32_t)time(NULL);
	p->next_hbh = seed[0];
	p->rnd = seed[0] ^ seed[1] ^ 0x9e3779b9u;
	/* End-to-End: the low 12 bits of the time in the high bits, random below (§3) */
	p->next_e2e = (uint32_t)(time(NULL) & 0xfff) << 20 | (seed[1] & 0xfffff);
	return p;
}

struct dm_peer *dm_peer_connect(eng_worker *w, const char *hostport, const struct dm_peer_cfg *cfg)
{
	struct dm_peer *p = peer_new(w, cfg);
	if (!p)
		return NULL;
	p->st = DM_PEER_CONNECTING;
	if (eng_connect(w, hostport, NULL, NULL, &peer_ops, p, &p->c) < 0) {
		free(p);
		return NULL;
	}
	return p;
}

struct dm_peer *dm_peer_accept(eng_conn *c, const struct dm_peer_cfg *cfg)
{
	struct dm_peer *p = peer_new(c->w, cfg);
	if (!p)
		return NULL;
	p->c = c;
	p->st = DM_PEER_WAIT_CER;
	eng_timer_arm(p->w, &p->ce, ce_wait(p)); /* first: a CER may come inside the start */
	eng_conn_start(c, &peer_ops, p);
	return p;
}

static void req_timeout(eng_timer *t)
{
	struct preq *q = t->arg;
	struct dm_peer *p = q->p;
	for (struct preq **pp = &p->pending; *pp; pp = &(*pp)->next)
		if (*pp == q) {
			*pp = q->next;
			break;
		}
	p->st_.timeouts++;
	enter(p);
	q->fn(q->arg, -ETIMEDOUT, NULL, 0);
	free(q);
	leave(p);
}

static int request(struct dm_peer *p, uint8_t *msg, size_t len, uint32_t timeout_ms,
		   dm_answer_fn fn, void *arg, int again)
{
	if (len < DM_HDR_LEN || !(msg[4] & DM_FLAG_R))
		return -EINVAL;
	if (p->st != DM_PEER_OPEN || !p->c)
		return -ENOTCONN;
	struct preq *q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->p = p;
	q->hbh = p->next_hbh++;
	q->fn = fn;
	q->arg = arg;
	uint32_t e2e = again ? 0 : p->next_e2e++;
	for (int i = 0; i < 4; i++) {
		msg[12 + i] = (uint8_t)(q->hbh >> (24 - 8 * i));
		if (!again)
			msg[16 + i] = (uint8_t)(e2e >> (24 - 8 * i));
	}
	if (again)
		msg[4] |= DM_FLAG_T;
	if (send_msg(p, msg, len) < 0) {
		free(q);
		return -ENOTCONN;
	}
	p->st_.requests_out++;
	q->sent_us = eng_now_us(p->w);
	eng_timer_init(&q->t, req_timeout, q);
	eng_timer_arm(p->w, &q->t, timeout_ms);
	q->next = p->pending;
	p->pending = q;
	return 0;
}

int dm_peer_request(struct dm_peer *p, uint8_t *msg, size_t len, uint32_t timeout_ms,
		    dm_answer_fn fn, void *arg)
{
	return request(p, msg, len, timeout_ms, fn, arg, 0);
}

int dm_peer_resend(struct dm_peer *p, uint8_t *msg, size_t len, uint32_t timeout_ms,
		   dm_answer_fn fn, void *arg)
{
	return request(p, msg, len, timeout_ms, fn, arg, 1);
}

int dm_peer_send(struct dm_peer *p, const uint8_t *msg, size_t len)
{
	if (!p->c)
		return -ENOTCONN;
	if (len >= DM_HDR_LEN && !(msg[4] & DM_FLAG_R))
		p->st_.answers_out++;
	return send_msg(p, msg, len);
}

void dm_peer_disconnect(struct dm_peer *p, uint32_t cause)
{
	if (!p->c || p->st == DM_PEER_CLOSING)
		return;
	if (p->st != DM_PEER_OPEN) {
		drop(p, 0);
		return;
	}
	send_ctrl(p, CMD_DP, NULL, 0, cause);
	enter(p);
	set_state(p, DM_PEER_CLOSING);
	if (leave(p) || p->dead)
		return;
	eng_timer_cancel(&p->wd);
	eng_timer_arm(p->w, &p->ce, ce_wait(p));
}

static void really_free(struct dm_peer *p)
{
	eng_timer_cancel(&p->wd);
	eng_timer_cancel(&p->ce);
	free(p->rbuf);
	free(p);
}

void dm_peer_free(struct dm_peer *p)
{
	if (!p || p->dead)
		return;
	p->dead = 1;
	if (p->c) { /* closed now; its on_close comes later, to nobody */
		p->c->ops = &orphan_ops;
		p->c->udata = NULL;
		eng_abort(p->c, -ECANCELED);
		p->c = NULL;
	}
	enter(p);
	end_all(p, -ECANCELED);
	leave(p); /* frees it unless a callback of the owner still runs */
}

enum dm_peer_state dm_peer_state(const struct dm_peer *p)
{
	return p->st;
}

const char *dm_peer_host(const struct dm_peer *p)
{
	return p->host;
}

const char *dm_peer_realm(const struct dm_peer *p)
{
	return p->realm;
}

int dm_peer_has_app(const struct dm_peer *p, uint32_t app_id)
{
	if (!p->napps)
		return 1;
	for (unsigned i = 0; i < p->napps; i++)
		if (p->apps[i] == app_id || p->apps[i] == APP_RELAY)
			return 1;
	return 0;
}

unsigned dm_peer_pending(const struct dm_peer *p)
{
	unsigned n = 0;
	for (const struct preq *q = p->pending; q; q = q->next)
		n++;
	return n;
}

void dm_peer_stats(const struct dm_peer *p, struct dm_peer_stats *out)
{
	*out = p->st_;
}

/* sip_transport.c — the SIP transport of one worker: UDP sockets, TCP and TLS listeners,
 * accepted and opened connections, framing, the source of each message, sending, idle
 * closing (see sip_transport.h). */
#include "sip/sip_transport.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "engine/eng.h"
#include "engine/eng_hep.h"
#include "engine/eng_udp.h"
#include "sip/sip_hdr.h"
#include "sip/sip_parse.h"

#define SIP_TP_MAX_SOCKS 8         /* UDP sockets, and TCP/TLS listeners, per transport */
#define SIP_CLOSE_DEADLINE_MS 2000 /* a connection closed after a stream error has this long
				    * to take its last answer (400/413/505), then is cut */

struct sip_tconn;

struct sip_udp_sock {
	struct sip_transport *t;
	eng_udp *u;
	int family;                /* AF_INET or AF_INET6 */
	struct eng_hep_addr local; /* the address bound (a wildcard stays one), for tracing */
};

struct sip_transport {
	eng_worker *w;
	const struct sip_parse_cfg *pcfg;
	sip_transport_msg_fn on_msg;
	void *arg;
	struct sip_udp_sock udp[SIP_TP_MAX_SOCKS];
	unsigned nudp;
	eng_listener *lis[SIP_TP_MAX_SOCKS];
	unsigned nlis;
	struct sip_tconn *conns;   /* open and connecting TCP/TLS connections */
	uint32_t next_id;          /* the next connection number (never reused) */
	eng_tls_ctx *tls_server;   /* the caller's: "tls:" listeners */
	eng_tls_ctx *tls_client;   /* the caller's: outbound TLS */
	sip_transport_error_fn on_error;
	void *err_arg;
	sip_transport_msg_fn on_bad;   /* messages that did not parse, for a 400 */
	void *bad_arg;
	uint32_t idle_ms;          /* 0: connections never idle out */
	eng_hep *hep;              /* the worker's HEP tracing, NULL: off */
	struct sip_transport_stats st;
};

/* One TCP or TLS connection, accepted or opened. Bytes of an incomplete message wait in
 * <buf>. An opened one is <connecting> until on_connect: what is sent meanwhile waits in
 * the engine's queue (TLS: until the handshake is done), counted in <npend>/<pend_bytes>. */
struct sip_tconn {
	struct sip_transport *t;   /* NULL once the transport let it go */
	eng_conn *c;
	struct sip_dest peer;      /* address, kind (TCP or TLS), conn_id */
	struct sip_stream sp;
	struct sip_parse_cfg own_cfg;  /* sp's limits when the peer's profile lowers them */
	char *buf;
	size_t len, cap;
	int busy;                  /* inside on_recv: on_close only marks it <gone> */
	int gone;
	int connecting;            /* opened here, not up yet */
	int outbound;              /* opened here (by a send): its loss is told (on_error) */
	int closing;               /* closed by us, on_close still to come: no new sends */
	uint32_t npend;
	size_t pend_bytes;
	uint64_t last_ms;          /* the last traffic, for the idle timer */
	struct eng_hep_addr local; /* our end, read when first traced (family 0 until then) */
	eng_timer idle;
	struct sip_tconn *next, **pprev;
};

/* ---- tracing (eng_hep.h) --------------------------------------------------------------- */

/* The Call-ID of the message in <buf>[0..<len>) (its first one, compact form included), or
 * an empty slice: what a sent message is correlated by. Reads the head only. */
static cm_slice raw_call_id(const char *buf, size_t len)
{
	const char *p = buf, *end = buf + len;
	const char *eol = memchr(p, '\n', len); /* the start line */

	while (eol && eol + 1 < end) {
		p = eol + 1;
		eol = memchr(p, '\n', (size_t)(end - p));
		const char *le = eol ? eol : end;
		if (le - p <= 1)
			break; /* the blank line: end of the head */
		const char *colon = memchr(p, ':', (size_t)(le - p));
		if (!colon)
			continue;
		const char *ne = colon;
		while (ne > p && (ne[-1] == ' ' || ne[-1] == '\t'))
			ne--;
		if (sip_hdr_id(p, (size_t)(ne - p)) != SIP_H_CALL_ID)
			continue;
		const char *v = colon + 1, *ve = le;
		while (v < ve && (*v == ' ' || *v == '\t'))
			v++;
		while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t'))
			ve--;
		return (cm_slice){ v, (size_t)(ve - v) };
	}
	return CM_SLICE_NULL;
}

/* Our end of <tc>, read once. */
static const struct eng_hep_addr *tconn_local(struct sip_tconn *tc)
{
	if (!tc->local.family && tc->c) {
		struct sockaddr_storage ss;
		struct eng_hep_addr a;
		socklen_t sl = sizeof(ss);
		/* no port yet: the connect is still to be issued (kept unknown, asked again) */
		if (getsockname(tc->c->fd, (struct sockaddr *)&ss, &sl) == 0) {
			eng_hep_addr_from(&a, &ss);
			if (a.port)
				tc->local = a;
		}
	}
	return &tc->local;
}

/* Traces message <raw>[0..<len>) that came from (<out> 0) or goes to <peer>, our end
 * <local>, correlated by <m>'s Call-ID (NULL: found in <raw>). */
static void trace_sip(struct sip_transport *t, const char *raw, size_t len,
		      const struct sip_msg *m, const struct sockaddr_storage *peer,
		      const struct eng_hep_addr *local, uint8_t ip_proto, int out)
{
	struct eng_hep_addr pa;
	struct iovec iov = { (void *)raw, len };

	eng_hep_addr_from(&pa, peer);
	cm_slice corr = m ? sip_msg_hdr(m, SIP_H_CALL_ID) : raw_call_id(raw, len);
	if (!corr.p)
		corr = CM_SLICE_NULL;
	eng_hep_trace(t->hep, ENG_HEP_SIP, ip_proto, out ? local : &pa, out ? &pa : local, out,
		      corr, &iov, 1, 0);
}

/* ---- counters by method and status --------------------------------------------------- */

_Static_assert(SIP_M_INVITE == 1 && SIP_M_OTHER == SIP_M__COUNT - 1,
	       "requests counted at method - 1, other last");
const char *const sip_transport_method_names[SIP_TP_METHODS] = {
	"INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "REGISTER", "MESSAGE", "INFO", "PRACK",
	"UPDATE", "SUBSCRIBE", "NOTIFY", "REFER", "PUBLISH", "other",
};
const char *const sip_transport_code_names[SIP_TP_CODES] = {
	"100", "180", "183", "200", "202", "401", "403", "404", "407", "408", "480", "481",
	"486", "487", "488", "500", "503", "603", "1xx", "2xx", "3xx", "4xx", "5xx", "6xx",
};
#define CODE_CLASS_SLOT 18         /* "1xx": the first slot of the classes */

unsigned sip_transport_code_slot(int code)
{
	switch (code) {
	case 100: return 0;
	case 180: return 1;
	case 183: return 2;
	case 200: return 3;
	case 202: return 4;
	case 401: return 5;
	case 403: return 6;
	case 404: return 7;
	case 407: return 8;
	case 408: return 9;
	case 480: return 10;
	case 481: return 11;
	case 486: return 12;
	case 487: return 13;
	case 488: return 14;
	case 500: return 15;
	case 503: return 16;
	case 603: return 17;
	default:
		return CODE_CLASS_SLOT + (code < 100 ? 0 : code >= 699 ? 5 : (unsigned)code / 100 - 1);
	}
}

/* A message parsed and handed up. */
static void count_in(struct sip_transport *t, const struct sip_msg *m)
{
	if (m->kind == SIP_KIND_REQUEST)
		t->st.req_method[0][m->method ? m->method - 1 : SIP_TP_METHODS - 1]++;
	else
		t->st.resp_code[0][sip_transport_code_slot(m->status)]++;
}

/* A message of ours sent: its start line says what it is ("SIP/2.0 <code> ..." or
 * "<method> <uri> SIP/2.0"). */
static void count_out(struct sip_transport *t, const char *buf, size_t len)
{
	if (len >= 12 && !memcmp(buf, "SIP/2.0 ", 8)) {
		int code = (buf[8] - '0') * 100 + (buf[9] - '0') * 10 + (buf[10] - '0');
		t->st.resp_code[1][sip_transport_code_slot(code)]++;
		return;
	}
	size_t n = 0;
	while (n < len && n < 16 && buf[n] != ' ')
		n++;
	t->st.req_method[1][sip_method_of(buf, n) - 1]++;
}

/* ---- UDP ---------------------------------------------------------------------------- */

static void udp_recv(eng_udp *u, void *udata, const char *data, size_t len,
		     const struct sockaddr_storage *from, socklen_t fromlen)
{
	struct sip_udp_sock *s = udata;
	struct sip_transport *t = s->t;
	struct sip_msg m;
	struct sip_dest src;

	(void)u;
	int rc = sip_parse_msg(t->pcfg, data, len, &m);
	memset(&src, 0, sizeof(src));
	memcpy(&src.addr, from, fromlen <= sizeof(src.addr) ? fromlen : sizeof(src.addr));
	src.addrlen = fromlen;
	src.kind = SIP_TP_UDP;
	if (t->hep && !(rc != 0 && m.kind == SIP_KIND_KEEPALIVE))
		trace_sip(t, data, len, rc == 0 ? &m : NULL, &src.addr, &s->local, IPPROTO_UDP, 0);
	if (rc != 0) {
		if (m.kind == SIP_KIND_KEEPALIVE && m.err == SIP_PE_NONE) {
			t->st.keepalives++;
		} else {
			t->st.udp_bad++;
			if (t->on_bad && m.replyable)
				t->on_bad(t->bad_arg, data, len, &m, &src);
		}
		return;
	}
	t->st.udp_rx++;
	count_in(t, &m);
	t->on_msg(t->arg, data, len, &m, &src);
}

/* ---- TCP ---------------------------------------------------------------------------- */

static void tconn_free(struct sip_tconn *tc)
{
	free(tc->buf);
	free(tc);
}

static void tconn_unlink(struct sip_tconn *tc)
{
	if (!tc->pprev)
		return;
	*tc->pprev = tc->next;
	if (tc->next)
		tc->next->pprev = tc->pprev;
	tc->next = NULL;
	tc->pprev = NULL;
}

/* Keeps <data>[0..<len>) at the end of tc->buf, whose first bytes the stream parser has
 * seen already. 0, or -1 when the message would pass the bound (the parser's limit plus
 * one read) or memory runs out. */
static int tconn_keep(struct sip_tconn *tc, const char *data, size_t len)
{
	size_t need = tc->len + len;
	size_t bound = (size_t)tc->sp.cfg->limits.max_msg + eng_cfg(eng_of(tc->t->w))->buf_size;

	if (need > bound)
		return -1;
	if (need > tc->cap) {
		size_t cap = tc->cap ? tc->cap : 2048;
		while (cap < need)
			cap *= 2;
		char *nb = realloc(tc->buf, cap);
		if (!nb)
			return -1;
		tc->buf = nb;
		tc->cap = cap;
	}
	memcpy(tc->buf + tc->len, data, len);
	tc->len = need;
	return 0;
}

/* Parses what <data>[0..<len>) holds (tc->buf, or the received bytes when nothing waited)
 * and hands each message up. Returns the bytes consumed, or -1 on a stream error. Stops
 * early (returning what it consumed) when the connection went during a callback. */
static long tconn_parse(struct sip_tconn *tc, const char *data, size_t len)
{
	struct sip_transport *t = tc->t;
	size_t off = 0;
	struct sip_msg m;

	while (off < len && !tc->gone && tc->t) {
		long n = sip_stream_parse(&tc->sp, data + off, len - off, &m);
		if (n == SIP_AGAIN)
			break;
		if (n == SIP_ERROR) {
			/* the stream is lost; a request that can still be answered gets its 400
			 * (413, 505) before the connection closes */
			if (t->on_bad && m.replyable)
				t->on_bad(t->bad_arg, data + off,
					  len - off, &m, &tc->peer);
			return -1;
		}
		if (m.kind == SIP_KIND_KEEPALIVE) {
			t->st.keepalives++;
		} else {
			if (t->hep)
				trace_sip(t, data + off, (size_t)n, &m, &tc->peer.addr, tconn_local(tc),
					  IPPROTO_TCP, 0);
			t->st.tcp_rx++;
			count_in(t, &m);
			t->on_msg(t->arg, data + off, (size_t)n, &m, &tc->peer);
		}
		off += (size_t)n;
	}
	return (long)off;
}

static void tcp_recv(eng_conn *c, eng_buf *b, uint32_t off, uint32_t len)
{
	struct sip_tconn *tc = c->udata;
	const char *data = b->data + off;
	long n;

	if (!tc->t || tc->gone || tc->closing)
		return;
	tc->last_ms = eng_now_ms(tc->t->w);
	tc->busy = 1;
	if (tc->len == 0) {
		/* the common case: whole messages parsed in the received buffer, the rest kept */
		n = tconn_parse(tc, data, len);
		if (n >= 0 && !tc->gone && tc->t && (size_t)n < len &&
		    tconn_keep(tc, data + n, len - (size_t)n) != 0)
			n = -1;
	} else if (tconn_keep(tc, data, len) != 0) {
		n = -1;
	} else {
		n = tconn_parse(tc, tc->buf, tc->len);
		if (n > 0 && !tc->gone && tc->t) {
			memmove(tc->buf, tc->buf + n, tc->len - (size_t)n);
			tc->len -= (size_t)n;
		}
	}
	tc->busy = 0;
	if (tc->gone || !tc->t) {
		if (tc->gone)
			tconn_free(tc);
		return;
	}
	/* a message begun and not whole (its head, or its body after Content-Length) has
	 * engine.frame_timeout from its first byte, however slowly the rest trickles in */
	if (n >= 0)
		eng_conn_frame(c, tc->len > 0,
			       tc->sp.need ? &tc->t->st.slow_body : &tc->t->st.slow_head);
	if (n < 0) {
		/* the answer a bad request got (400, 413, 505) goes out first: the connection
		 * closes once its queue is flushed, reading no more */
		tc->t->st.stream_errors++;
		tc->closing = 1;
		/* a peer that does not read what is queued is cut off at the deadline */
		eng_timer_arm(tc->t->w, &tc->idle, SIP_CLOSE_DEADLINE_MS);
		/* what it still sends is read and dropped: a reset would lose the answer */
		eng_close_linger(c); /* on_close may run inside: <tc> is not used after */
	}
}

/* The transport lets go of <tc> (its connection is gone or going, <err> why): counted,
 * out of the list and of the timer wheel. One still connecting fails: the messages that
 * waited are lost. The error callback hears of it, and of an outbound connection that the
 * peer closed once up (requests sent on it cannot be answered there; one we close, idle or
 * broken, is not told), with <err> (-ECONNRESET for 0). */
static void tconn_drop(struct sip_tconn *tc, int err)
{
	struct sip_transport *t = tc->t;
	struct sip_dest dst = tc->peer;

	t->st.closes++;
	eng_timer_cancel(&tc->idle);
	tconn_unlink(tc);
	if (!tc->connecting && (!tc->outbound || tc->closing)) /* ours closed by us: not told */
		return;
	if (tc->connecting)
		t->st.connect_failures++;
	if (t->on_error)
		t->on_error(t->err_arg, &dst, err ? err : -ECONNRESET);
}

static void tcp_close(eng_conn *c, int err)
{
	struct sip_tconn *tc = c->udata;

	if (tc->t)
		tconn_drop(tc, err);
	tc->c = NULL;
	if (tc->busy)
		tc->gone = 1;
	else
		tconn_free(tc);
}

/* An opened connection is up (TLS: its handshake too), or an accepted TLS connection's
 * handshake is done. Failures are left to tcp_close, which follows. */
static void tcp_connected(eng_conn *c, int err)
{
	struct sip_tconn *tc = c->udata;
	struct sip_transport *t = tc->t;

	if (!t || err < 0)
		return;
	tc->last_ms = eng_now_ms(t->w);
	if (tc->connecting) {
		tc->connecting = 0; /* what waited goes out now, from the engine's queue */
		tc->npend = 0;
		tc->pend_bytes = 0;
		t->st.connects++;
	} else if (tc->peer.kind == SIP_TP_TLS) {
		t->st.tls_accepts++;
	}
}

static void tcp_describe(eng_conn *c, struct eng_conn_desc *d)
{
	(void)c;
	d->protocol = "sip";
}

static const struct eng_conn_ops tcp_ops = {
	.on_recv = tcp_recv,
	.on_connect = tcp_connected,
	.on_close = tcp_close,
	.describe = tcp_describe,
};

/* Aborts <tc>'s connection, already dropped from the transport; its on_close frees <tc>.
 * eng_abort() alone leaves a connect in flight, and on_close with it, until the kernel
 * gives up (minutes when SYNs go unanswered; never if the engine stops first, and then
 * <tc> leaks): a shutdown() of a socket in SYN-SENT ends the connect at once (Linux). */
static void tconn_let_go(struct sip_tconn *tc, int err)
{
	eng_conn *c = tc->c;

	tc->t = NULL;
	if (!c) { /* not reached: listed connections have theirs */
		tconn_free(tc);
		return;
	}
	eng_conn_frame(c, 0, NULL); /* its deadline counts into the transport's stats */
	if (tc->connecting)
		shutdown(c->fd, SHUT_RDWR);
	eng_abort(c, err); /* on_close may run inside: <tc> is not used after */
}

/* Closes <tc> when it had no traffic for idle_ms; else looks again when it would have. */
static void tconn_idle(eng_timer *tm)
{
	struct sip_tconn *tc = tm->arg;
	struct sip_transport *t = tc->t;
	eng_conn *c = tc->c;

	if (t && c && tc->closing) { /* the close after a stream error did not flush in time */
		eng_abort(c, -ETIMEDOUT);
		return;
	}
	if (!t || !c || !t->idle_ms)
		return;
	uint64_t now = eng_now_ms(t->w);
	if (!tc->connecting && eng_sendq_bytes(c) > 0) /* still writing: not idle */
		tc->last_ms = now;
	uint64_t quiet = now - tc->last_ms;
	if (quiet < t->idle_ms) {
		eng_timer_arm(t->w, tm, t->idle_ms - quiet);
		return;
	}
	if (tc->connecting) {
		/* the connect may hang for minutes in the kernel (SYNs unanswered): fail it now */
		tconn_drop(tc, -ETIMEDOUT);
		tconn_let_go(tc, -ETIMEDOUT);
		return;
	}
	t->st.idle_closed++;
	tc->closing = 1;
	eng_close(c); /* on_close may run inside: <tc> is not used after */
}

static void tconn_arm_idle(struct sip_tconn *tc)
{
	struct sip_transport *t = tc->t;

	tc->last_ms = eng_now_ms(t->w);
	if (t->idle_ms)
		eng_timer_arm(t->w, &tc->idle, t->idle_ms);
	else
		eng_timer_cancel(&tc->idle);
}

/* A connection of kind <kind> for <t>, with a new number, in the list. NULL when out of
 * memory. */
static struct sip_tconn *tconn_new(struct sip_transport *t, uint8_t kind)
{
	struct sip_tconn *tc = calloc(1, sizeof(*tc));

	if (!tc)
		return NULL;
	tc->t = t;
	sip_stream_init(&tc->sp, t->pcfg);
	eng_timer_init(&tc->idle, tconn_idle, tc);
	tc->peer.kind = kind;
	tc->peer.conn_id = t->next_id++;
	if (t->next_id == 0) /* 0 means "any": skipped, after 2^32 connections */
		t->next_id = 1;
	tc->next = t->conns;
	if (t->conns)
		t->conns->pprev = &tc->next;
	tc->pprev = &t->conns;
	t->conns = tc;
	return tc;
}

/* The peer's profile (engine.tcp_profiles) may allow less than the parser's limit: the
 * stream of <tc> then parses with a copy of the limits, so that a message over it is
 * refused like one over the parser's own (513 to a request, then the stream ends). */
static void tconn_limits(struct sip_tconn *tc)
{
	uint32_t max = tc->c ? eng_conn_max_frame(tc->c) : 0;
	if (!max || max >= tc->t->pcfg->limits.max_msg)
		return;
	tc->own_cfg = *tc->t->pcfg;
	tc->own_cfg.limits.max_msg = max;
	sip_stream_init(&tc->sp, &tc->own_cfg);
}

static void tcp_accept(eng_listener *l, eng_conn *c)
{
	struct sip_transport *t = l->udata;
	struct sip_tconn *tc = tconn_new(t, l->tls ? SIP_TP_TLS : SIP_TP_TCP);

	if (!tc) {
		t->st.accept_refused++;
		eng_close(c);
		return;
	}
	tc->c = c;
	tconn_limits(tc);
	tc->peer.addrlen = sizeof(tc->peer.addr);
	if (eng_conn_peer(c, &tc->peer.addr, &tc->peer.addrlen) != 0)
		tc->peer.addrlen = 0;
	t->st.accepts++;
	tconn_arm_idle(tc);
	eng_conn_start(c, &tcp_ops, tc);
}

static int same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return 0;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
		return x->sin6_port == y->sin6_port &&
		       memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
	}
	return 0;
}

/* The open (or connecting) connection numbered <conn_id>. */
static struct sip_tconn *tconn_by_id(const struct sip_transport *t, uint32_t conn_id)
{
	for (struct sip_tconn *tc = t->conns; tc; tc = tc->next) {
		if (tc->peer.conn_id == conn_id)
			return tc;
	}
	return NULL;
}

/* The connection a send to <dst> uses: the one dst->conn_id names while it is there, else
 * one of dst's kind to dst->addr that is open or connecting and not closing. */
static struct sip_tconn *tconn_find(const struct sip_transport *t, const struct sip_dest *dst)
{
	struct sip_tconn *tc = dst->conn_id ? tconn_by_id(t, dst->conn_id) : NULL;

	if (tc && tc->c && !tc->closing)
		return tc;
	for (tc = t->conns; tc; tc = tc->next) {
		if (tc->c && !tc->closing && tc->peer.kind == dst->kind &&
		    same_addr(&tc->peer.addr, &dst->addr))
			return tc;
	}
	return NULL;
}

/* Opens a connection of dst's kind to dst->addr (TLS: with <sni> when not NULL). The new
 * connection, or NULL with *<rc> = -errno. */
static struct sip_tconn *tconn_open(struct sip_transport *t, const struct sip_dest *dst,
				    const char *sni, int *rc)
{
	eng_tls_ctx *tls = dst->kind == SIP_TP_TLS ? t->tls_client : NULL;
	char hp[INET6_ADDRSTRLEN + 16];

	if (dst->kind == SIP_TP_TLS && !tls) {
		*rc = -EPROTONOSUPPORT;
		return NULL;
	}
	if (dst->addr.ss_family != AF_INET && dst->addr.ss_family != AF_INET6) {
		*rc = -ENOTCONN;
		t->st.tx_notconn++;
		return NULL;
	}
	struct sip_tconn *tc = tconn_new(t, dst->kind);
	if (!tc) {
		*rc = -ENOMEM;
		return NULL;
	}
	memcpy(&tc->peer.addr, &dst->addr, sizeof(tc->peer.addr));
	tc->peer.addrlen = dst->addrlen;
	tc->connecting = 1;
	tc->outbound = 1;
	eng_sockaddr_str(&dst->addr, hp, sizeof(hp));
	*rc = eng_connect(t->w, hp, tls, sni, &tcp_ops, tc, &tc->c);
	if (*rc < 0) {
		/* no on_close comes: the failure is the caller's, not the error callback's */
		tc->connecting = 0;
		tc->outbound = 0;
		tconn_unlink(tc);
		tconn_free(tc);
		t->st.connect_failures++;
		return NULL;
	}
	tconn_limits(tc);
	tconn_arm_idle(tc);
	return tc;
}

/* Queues <len> bytes of <buf> on <tc>: 0, or -errno. */
static int tconn_send(struct sip_tconn *tc, const char *buf, size_t len)
{
	if (tc->connecting &&
	    (tc->npend >= SIP_TP_PENDING_MAX || len > SIP_TP_PENDING_BYTES - tc->pend_bytes))
		return -ENOBUFS;
	int rc = eng_send(tc->c, buf, len);
	if (rc == -ENOBUFS) {
		/* part of the message may be queued: the stream cannot go on */
		eng_abort(tc->c, rc); /* on_close may run inside: <tc> is not used after */
		return rc;
	}
	if (rc < 0)
		return rc;
	tc->last_ms = eng_now_ms(tc->t->w);
	if (tc->connecting) {
		tc->npend++;
		tc->pend_bytes += len;
	}
	return 0; /* above sendq_high (1): queued all the same */
}

/* ---- the API ------------------------------------------------------------------------ */

struct sip_transport *sip_transport_new(eng_worker *w, const struct sip_parse_cfg *pcfg,
					sip_transport_msg_fn on_msg, void *arg)
{
	struct sip_transport *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->w = w;
	t->pcfg = pcfg;
	t->on_msg = on_msg;
	t->arg = arg;
	t->next_id = 1;
	t->hep = eng_hep_wants(eng_worker_hep(w), ENG_HEP_SIP) ? eng_worker_hep(w) : NULL;
	return t;
}

void sip_transport_set_tls(struct sip_transport *t, eng_tls_ctx *server, eng_tls_ctx *client)
{
	t->tls_server = server;
	t->tls_client = client;
}

void sip_transport_set_bad_cb(struct sip_transport *t, sip_transport_msg_fn fn, void *arg)
{
	t->on_bad = fn;
	t->bad_arg = arg;
}

void sip_transport_set_error_cb(struct sip_transport *t, sip_transport_error_fn fn, void *arg)
{
	t->on_error = fn;
	t->err_arg = arg;
}

void sip_transport_set_idle(struct sip_transport *t, uint32_t ms)
{
	t->idle_ms = ms;
	for (struct sip_tconn *tc = t->conns; tc; tc = tc->next)
		tconn_arm_idle(tc);
}

int sip_transport_listen(struct sip_transport *t, const char *spec, int reuseport, char *err,
			 size_t errlen)
{
	int flags = reuseport ? ENG_LISTEN_REUSEPORT : 0;
	struct sockaddr_storage ss;
	socklen_t sl;
	const char *hp;
	int e = 0;

	if (strncmp(spec, "udp:", 4) != 0 && strncmp(spec, "tcp:", 4) != 0 &&
	    strncmp(spec, "tls:", 4) != 0) {
		snprintf(err, errlen, "%s: expected udp:, tcp: or tls:host:port", spec);
		return -EINVAL;
	}
	eng_tls_ctx *tls = spec[1] == 'l' ? t->tls_server : NULL;
	if (spec[1] == 'l' && !tls) {
		snprintf(err, errlen, "%s: no server TLS context", spec);
		return -EINVAL;
	}
	hp = spec + 4;
	if (eng_parse_hostport(hp, &ss, &sl) != 0) {
		snprintf(err, errlen, "%s: not a numeric host:port", spec);
		return -EINVAL;
	}
	if (spec[0] == 'u') {
		if (t->nudp == SIP_TP_MAX_SOCKS) {
			snprintf(err, errlen, "%s: more than %d UDP sockets", spec, SIP_TP_MAX_SOCKS);
			return -ENOSPC;
		}
		struct sip_udp_sock *s = &t->udp[t->nudp];
		s->t = t;
		s->family = ss.ss_family;
		s->u = eng_udp_open(t->w, hp, flags, udp_recv, s, &e);
		if (!s->u) {
			snprintf(err, errlen, "%s: %s", spec, strerror(-e));
			return e ? e : -EIO;
		}
		eng_hep_addr_from(&s->local, &ss);
		s->local.port = (uint16_t)eng_udp_port(s->u);
		t->nudp++;
		return eng_udp_port(s->u);
	}
	if (t->nlis == SIP_TP_MAX_SOCKS) {
		snprintf(err, errlen, "%s: more than %d TCP/TLS listeners", spec, SIP_TP_MAX_SOCKS);
		return -ENOSPC;
	}
	eng_listener *l = eng_listen(t->w, hp, flags, tls, tcp_accept, t, &e);
	if (!l) {
		snprintf(err, errlen, "%s: %s", spec, strerror(-e));
		return e ? e : -EIO;
	}
	t->lis[t->nlis++] = l;
	return eng_listener_port(l);
}

int sip_transport_send_named(struct sip_transport *t, const char *buf, size_t len,
			     const struct sip_dest *dst, const char *sni)
{
	int rc = -EAFNOSUPPORT;

	if (dst->kind == SIP_TP_UDP) {
		for (unsigned i = 0; i < t->nudp; i++) {
			if (t->udp[i].family == dst->addr.ss_family) {
				rc = eng_udp_send(t->udp[i].u, buf, len,
						  (const struct sockaddr *)&dst->addr, dst->addrlen);
				if (rc == 0 && t->hep)
					trace_sip(t, buf, len, NULL, &dst->addr, &t->udp[i].local,
						  IPPROTO_UDP, 1);
				break;
			}
		}
	} else if (dst->kind == SIP_TP_TCP || dst->kind == SIP_TP_TLS) {
		struct sip_tconn *tc = tconn_find(t, dst);
		if (!tc && len > SIP_TP_PENDING_BYTES)
			rc = -ENOBUFS; /* could never wait for the connection: none opened */
		else if (!tc)
			tc = tconn_open(t, dst, sni, &rc);
		if (tc)
			rc = tconn_send(tc, buf, len);
		if (rc == 0 && t->hep) /* <tc> is there: a send that closes it fails */
			trace_sip(t, buf, len, NULL, &tc->peer.addr, tconn_local(tc), IPPROTO_TCP, 1);
	} else {
		rc = -EPROTONOSUPPORT;
	}
	if (rc == 0) {
		t->st.tx++;
		count_out(t, buf, len);
	} else {
		t->st.tx_errors++;
	}
	return rc;
}

int sip_transport_send(void *t, const char *buf, size_t len, const struct sip_dest *dst,
		       int reliable)
{
	(void)reliable;
	return sip_transport_send_named(t, buf, len, dst, NULL);
}

uint32_t sip_transport_conn_for(const struct sip_transport *t, const struct sip_dest *dst)
{
	if (dst->kind != SIP_TP_TCP && dst->kind != SIP_TP_TLS)
		return 0;
	const struct sip_tconn *tc = tconn_find(t, dst);
	return tc ? tc->peer.conn_id : 0;
}

int sip_transport_conn_open(const struct sip_transport *t, uint32_t conn_id)
{
	const struct sip_tconn *tc = conn_id ? tconn_by_id(t, conn_id) : NULL;

	return tc && tc->c;
}

const struct sip_transport_stats *sip_transport_stats(const struct sip_transport *t)
{
	return &t->st;
}

void sip_transport_engine_owns_listeners(struct sip_transport *t)
{
	t->nlis = 0;
}

void sip_transport_free(struct sip_transport *t)
{
	if (!t)
		return;
	for (unsigned i = 0; i < t->nudp; i++)
		eng_udp_close(t->udp[i].u);
	for (unsigned i = 0; i < t->nlis; i++)
		eng_listener_close(t->lis[i]);
	while (t->conns) {
		struct sip_tconn *tc = t->conns;
		tconn_unlink(tc);
		eng_timer_cancel(&tc->idle);
		tconn_let_go(tc, -ECONNABORTED);
	}
	free(t);
}

/* sip_transport.c — the SIP transport of one worker: UDP sockets, TCP listeners and their
 * connections, framing, the source of each message, and sending (see sip_transport.h). */
#include "sip/sip_transport.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/eng.h"
#include "engine/eng_udp.h"
#include "sip/sip_parse.h"

#define SIP_TP_MAX_SOCKS 8         /* UDP sockets, and TCP listeners, per transport */

struct sip_tconn;

struct sip_udp_sock {
	struct sip_transport *t;
	eng_udp *u;
	int family;                /* AF_INET or AF_INET6 */
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
	struct sip_tconn *conns;   /* open TCP connections */
	uint32_t next_id;          /* the next connection number (never reused) */
	struct sip_transport_stats st;
};

/* One accepted TCP connection. Bytes of an incomplete message wait in <buf>. */
struct sip_tconn {
	struct sip_transport *t;   /* NULL once the transport let it go */
	eng_conn *c;
	struct sip_dest peer;
	struct sip_stream sp;
	char *buf;
	size_t len, cap;
	int busy;                  /* inside on_recv: on_close only marks it <gone> */
	int gone;
	struct sip_tconn *next, **pprev;
};

/* ---- UDP ---------------------------------------------------------------------------- */

static void udp_recv(eng_udp *u, void *udata, const char *data, size_t len,
		     const struct sockaddr_storage *from, socklen_t fromlen)
{
	struct sip_udp_sock *s = udata;
	struct sip_transport *t = s->t;
	struct sip_msg m;
	struct sip_dest src;

	(void)u;
	if (sip_parse_msg(t->pcfg, data, len, &m) != 0) {
		if (m.kind == SIP_KIND_KEEPALIVE && m.err == SIP_PE_NONE)
			t->st.keepalives++;
		else
			t->st.udp_bad++;
		return;
	}
	memset(&src, 0, sizeof(src));
	memcpy(&src.addr, from, fromlen <= sizeof(src.addr) ? fromlen : sizeof(src.addr));
	src.addrlen = fromlen;
	src.kind = SIP_TP_UDP;
	t->st.udp_rx++;
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
	size_t bound = (size_t)tc->t->pcfg->limits.max_msg +
		       eng_cfg(eng_of(tc->t->w))->buf_size;

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
		if (n == SIP_ERROR)
			return -1;
		if (m.kind == SIP_KIND_KEEPALIVE) {
			t->st.keepalives++;
		} else {
			t->st.tcp_rx++;
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

	if (!tc->t || tc->gone)
		return;
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
	if (n < 0) {
		tc->t->st.stream_errors++;
		eng_abort(c, -EPROTO); /* on_close may run inside: <tc> is not used after */
	}
}

static void tcp_close(eng_conn *c, int err)
{
	struct sip_tconn *tc = c->udata;

	(void)err;
	if (tc->t) {
		tc->t->st.closes++;
		tconn_unlink(tc);
	}
	tc->c = NULL;
	if (tc->busy)
		tc->gone = 1;
	else
		tconn_free(tc);
}

static const struct eng_conn_ops tcp_ops = {
	.on_recv = tcp_recv,
	.on_close = tcp_close,
};

static void tcp_accept(eng_listener *l, eng_conn *c)
{
	struct sip_transport *t = l->udata;
	struct sip_tconn *tc = calloc(1, sizeof(*tc));

	if (!tc) {
		t->st.accept_refused++;
		eng_close(c);
		return;
	}
	tc->t = t;
	tc->c = c;
	sip_stream_init(&tc->sp, t->pcfg);
	tc->peer.addrlen = sizeof(tc->peer.addr);
	if (eng_conn_peer(c, &tc->peer.addr, &tc->peer.addrlen) != 0)
		tc->peer.addrlen = 0;
	tc->peer.kind = SIP_TP_TCP;
	tc->peer.conn_id = t->next_id++;
	if (t->next_id == 0) /* 0 means "any": skipped, after 2^32 connections */
		t->next_id = 1;
	tc->next = t->conns;
	if (t->conns)
		t->conns->pprev = &tc->next;
	tc->pprev = &t->conns;
	t->conns = tc;
	t->st.accepts++;
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

/* The open connection <dst> names: by conn_id, or with conn_id 0 by its address. */
static struct sip_tconn *tconn_find(const struct sip_transport *t, const struct sip_dest *dst)
{
	for (struct sip_tconn *tc = t->conns; tc; tc = tc->next) {
		if (dst->conn_id ? tc->peer.conn_id == dst->conn_id
				 : same_addr(&tc->peer.addr, &dst->addr))
			return tc;
	}
	return NULL;
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
	return t;
}

int sip_transport_listen(struct sip_transport *t, const char *spec, int reuseport, char *err,
			 size_t errlen)
{
	int flags = reuseport ? ENG_LISTEN_REUSEPORT : 0;
	struct sockaddr_storage ss;
	socklen_t sl;
	const char *hp;
	int e = 0;

	if (strncmp(spec, "udp:", 4) != 0 && strncmp(spec, "tcp:", 4) != 0) {
		snprintf(err, errlen, "%s: expected udp:host:port or tcp:host:port", spec);
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
		t->nudp++;
		return eng_udp_port(s->u);
	}
	if (t->nlis == SIP_TP_MAX_SOCKS) {
		snprintf(err, errlen, "%s: more than %d TCP listeners", spec, SIP_TP_MAX_SOCKS);
		return -ENOSPC;
	}
	eng_listener *l = eng_listen(t->w, hp, flags, NULL, tcp_accept, t, &e);
	if (!l) {
		snprintf(err, errlen, "%s: %s", spec, strerror(-e));
		return e ? e : -EIO;
	}
	t->lis[t->nlis++] = l;
	return eng_listener_port(l);
}

int sip_transport_send(void *arg, const char *buf, size_t len, const struct sip_dest *dst,
		       int reliable)
{
	struct sip_transport *t = arg;
	int rc = -EAFNOSUPPORT;

	(void)reliable;
	if (dst->kind == SIP_TP_UDP) {
		for (unsigned i = 0; i < t->nudp; i++) {
			if (t->udp[i].family == dst->addr.ss_family) {
				rc = eng_udp_send(t->udp[i].u, buf, len,
						  (const struct sockaddr *)&dst->addr, dst->addrlen);
				break;
			}
		}
	} else if (dst->kind == SIP_TP_TCP) {
		struct sip_tconn *tc = tconn_find(t, dst);
		if (!tc || !tc->c) {
			rc = -ENOTCONN;
			t->st.tx_notconn++;
		} else {
			rc = eng_send(tc->c, buf, len);
			if (rc > 0) /* above sendq_high: queued all the same */
				rc = 0;
		}
	} else {
		rc = -EPROTONOSUPPORT;
	}
	if (rc == 0)
		t->st.tx++;
	else
		t->st.tx_errors++;
	return rc;
}

int sip_transport_conn_open(const struct sip_transport *t, uint32_t conn_id)
{
	struct sip_dest d = { .kind = SIP_TP_TCP, .conn_id = conn_id };

	return conn_id != 0 && tconn_find(t, &d) != NULL;
}

const struct sip_transport_stats *sip_transport_stats(const struct sip_transport *t)
{
	return &t->st;
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
		eng_conn *c = tc->c;
		tconn_unlink(tc);
		tc->t = NULL; /* its on_close frees it, now or when the engine is done */
		if (c)
			eng_abort(c, -ECONNABORTED);
	}
	free(t);
}

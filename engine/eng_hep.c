/* eng_hep.c — HEP v3 encoder and per-worker sender (see eng_hep.h). */
#include "engine/eng_hep.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/cm_config-t.h"
#include "engine/eng.h"
#include "engine/eng_int.h"
#include "engine/eng_profile.h"

/* generic chunk types (vendor 0) */
enum {
	HEP_FAMILY = 1, HEP_IP_PROTO = 2, HEP_SRC4 = 3, HEP_DST4 = 4, HEP_SRC6 = 5, HEP_DST6 = 6,
	HEP_SPORT = 7, HEP_DPORT = 8, HEP_TS = 9, HEP_TS_US = 10, HEP_PROTO_TYPE = 11,
	HEP_CAPTURE_ID = 12, HEP_AUTH = 14, HEP_PAYLOAD = 15, HEP_CORR = 17,
};

#define CHUNK_HDR 6                /* vendor, type, length */

/* ---- the encoder -------------------------------------------------------------------- */

static char *put16(char *p, uint16_t v)
{
	p[0] = (char)(v >> 8);
	p[1] = (char)v;
	return p + 2;
}

static char *put32(char *p, uint32_t v)
{
	p = put16(p, (uint16_t)(v >> 16));
	return put16(p, (uint16_t)v);
}

/* A chunk of type <type> with the <len> bytes of <v>. */
static char *chunk(char *p, uint16_t type, const void *v, size_t len)
{
	p = put16(p, 0);
	p = put16(p, type);
	p = put16(p, (uint16_t)(CHUNK_HDR + len));
	memcpy(p, v, len);
	return p + len;
}

static char *chunk8(char *p, uint16_t type, uint8_t v)
{
	return chunk(p, type, &v, 1);
}

static char *chunk16(char *p, uint16_t type, uint16_t v)
{
	char b[2];
	put16(b, v);
	return chunk(p, type, b, 2);
}

static char *chunk32(char *p, uint16_t type, uint32_t v)
{
	char b[4];
	put32(b, v);
	return chunk(p, type, b, 4);
}

ssize_t eng_hep_head(char *buf, size_t cap, const struct eng_hep_msg *m, size_t plen)
{
	static const uint8_t zero[16];
	int fam = m->src.family ? m->src.family : m->dst.family;

	if ((fam != AF_INET && fam != AF_INET6) || m->auth.len > ENG_HEP_AUTH_MAX ||
	    m->corr.len > ENG_HEP_CORR_MAX)
		return -EINVAL;
	size_t alen = fam == AF_INET ? 4 : 16;
	/* an end of the other family (or unknown) is written as zeros of <fam> */
	const uint8_t *sa = m->src.family == fam ? m->src.addr : zero;
	const uint8_t *da = m->dst.family == fam ? m->dst.addr : zero;
	uint16_t sp = m->src.family == fam ? m->src.port : 0;
	uint16_t dp = m->dst.family == fam ? m->dst.port : 0;
	size_t need = 6 + 3 * (CHUNK_HDR + 1) + 2 * (CHUNK_HDR + alen) + 2 * (CHUNK_HDR + 2) +
		      3 * (CHUNK_HDR + 4) + (m->auth.len ? CHUNK_HDR + m->auth.len : 0) +
		      (m->corr.len ? CHUNK_HDR + m->corr.len : 0) + CHUNK_HDR;
	if (need > cap)
		return -ENOSPC;
	if (need + plen > ENG_HEP_MAX)
		return -E2BIG;
	char *p = buf;
	memcpy(p, "HEP3", 4);
	p = put16(p + 4, (uint16_t)(need + plen));
	p = chunk8(p, HEP_FAMILY, fam == AF_INET ? 2 : 10);
	p = chunk8(p, HEP_IP_PROTO, m->ip_proto);
	p = chunk(p, fam == AF_INET ? HEP_SRC4 : HEP_SRC6, sa, alen);
	p = chunk(p, fam == AF_INET ? HEP_DST4 : HEP_DST6, da, alen);
	p = chunk16(p, HEP_SPORT, sp);
	p = chunk16(p, HEP_DPORT, dp);
	p = chunk32(p, HEP_TS, m->ts_sec);
	p = chunk32(p, HEP_TS_US, m->ts_usec);
	p = chunk8(p, HEP_PROTO_TYPE, m->proto_type);
	p = chunk32(p, HEP_CAPTURE_ID, m->capture_id);
	if (m->auth.len)
		p = chunk(p, HEP_AUTH, m->auth.p, m->auth.len);
	if (m->corr.len)
		p = chunk(p, HEP_CORR, m->corr.p, m->corr.len);
	/* the payload last: a reader that hands "the rest of the packet" to a dissector gets
	 * exactly the message */
	p = put16(p, 0);
	p = put16(p, HEP_PAYLOAD);
	p = put16(p, (uint16_t)(CHUNK_HDR + plen));
	return p - buf;
}

ssize_t eng_hep_encode(char *buf, size_t cap, const struct eng_hep_msg *m, const void *p,
		       size_t plen)
{
	ssize_t n = eng_hep_head(buf, cap, m, plen);
	if (n < 0)
		return n;
	if ((size_t)n + plen > cap)
		return -ENOSPC;
	memcpy(buf + n, p, plen);
	return n + (ssize_t)plen;
}

void eng_hep_addr_from(struct eng_hep_addr *a, const struct sockaddr_storage *ss)
{
	memset(a, 0, sizeof(*a));
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)ss;
		a->family = AF_INET;
		a->port = ntohs(s4->sin_port);
		memcpy(a->addr, &s4->sin_addr, 4);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)ss;
		a->family = AF_INET6;
		a->port = ntohs(s6->sin6_port);
		memcpy(a->addr, &s6->sin6_addr, 16);
	}
}

/* ---- settings ------------------------------------------------------------------------ */

struct eng_hep_shared {
	struct sockaddr_storage to;    /* the collector */
	socklen_t tolen;
	uint32_t capture_id;
	unsigned protos;               /* ENG_HEP_SIP | ENG_HEP_MSRP */
	uint8_t msrp_type;
	char auth[ENG_HEP_AUTH_MAX];
	size_t auth_len;
	struct eng_profile *peers;     /* networks (eng_profile <match> syntax); none: all */
	unsigned npeers;
};

static int fail(char *err, size_t errlen, const char *what)
{
	if (errlen)
		snprintf(err, errlen, "%s", what);
	return -EINVAL;
}

int eng_hep_shared_new(const struct cm_config_trace *c, struct eng_hep_shared **out,
		       char *err, size_t errlen)
{
	char line[256];
	*out = NULL;
	if (!c->collector[0])
		return 0;
	struct eng_hep_shared *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	if (eng_parse_hostport(c->collector, &s->to, &s->tolen) < 0 ||
	    (s->to.ss_family == AF_INET && !((struct sockaddr_in *)&s->to)->sin_port) ||
	    (s->to.ss_family == AF_INET6 && !((struct sockaddr_in6 *)&s->to)->sin6_port)) {
		snprintf(line, sizeof(line), "trace.collector: \"%s\" is not a numeric host:port",
			 c->collector);
		goto bad;
	}
	s->capture_id = (uint32_t)c->capture_id;
	s->msrp_type = (uint8_t)c->msrp_type;
	if (strlen(c->password) > ENG_HEP_AUTH_MAX) {
		snprintf(line, sizeof(line), "trace.password: longer than %d bytes", ENG_HEP_AUTH_MAX);
		goto bad;
	}
	s->auth_len = strlen(c->password);
	memcpy(s->auth, c->password, s->auth_len);
	for (size_t i = 0; i < c->protocols.n; i++) {
		if (!strcmp(c->protocols.v[i], "sip"))
			s->protos |= ENG_HEP_SIP;
		else if (!strcmp(c->protocols.v[i], "msrp"))
			s->protos |= ENG_HEP_MSRP;
		else {
			snprintf(line, sizeof(line), "trace.protocols: \"%s\": expected sip or msrp",
				 c->protocols.v[i]);
			goto bad;
		}
	}
	if (c->peers.n && !(s->peers = calloc(c->peers.n, sizeof(*s->peers)))) {
		eng_hep_shared_free(s);
		return -ENOMEM;
	}
	for (size_t i = 0; i < c->peers.n; i++) {
		char why[160];
		/* an address or a network with an optional port: the <match> of a TCP profile,
		 * nothing after it */
		if (strchr(c->peers.v[i], ' ') ||
		    eng_profile_parse(c->peers.v[i], &s->peers[i], why, sizeof(why)) < 0) {
			snprintf(line, sizeof(line), "trace.peers: \"%s\": not an address or a "
				 "network (\"10.0.0.0/8\", \"[2001:db8::]/32:5060\", \"*:5060\")",
				 c->peers.v[i]);
			goto bad;
		}
		s->npeers++;
	}
	*out = s;
	return 0;
bad:
	eng_hep_shared_free(s);
	return fail(err, errlen, line);
}

void eng_hep_shared_free(struct eng_hep_shared *s)
{
	if (!s)
		return;
	free(s->peers);
	free(s);
}

/* ---- the sender ---------------------------------------------------------------------- */

struct eng_hep {
	const struct eng_hep_shared *s;
	eng_worker *w;
	int fd;
	int off;                   /* the worker stops: nothing more is sent */
	struct eng_hep_stats st;
	char head[ENG_HEP_HEAD_MAX];
};

#define IOV_MAX_HEP 16             /* payload pieces of one message, at most */

/* The worker stops: its tracer goes quiet, but stays until the worker is freed (protocol
 * layers keep its pointer, and connections closed after the stop hooks may still send). */
static void hep_stop(eng_worker *w, void *arg)
{
	eng_hep *h = arg;
	(void)w;
	h->off = 1;
}

void eng__hep_free(eng_worker *w)
{
	eng_hep *h = w->hep;
	if (!h)
		return;
	w->hep = NULL;
	close(h->fd);
	free(h);
}

int eng_hep_start(eng_worker *w, const struct eng_hep_shared *s)
{
	eng_hep *h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->s = s;
	h->w = w;
	h->fd = socket(s->to.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	/* connected: the kernel routes once, and an unreachable collector shows as send errors
	 * (counted) instead of going unnoticed */
	if (h->fd < 0 || connect(h->fd, (const struct sockaddr *)&s->to, s->tolen) < 0) {
		int rc = -errno;
		if (h->fd >= 0)
			close(h->fd);
		free(h);
		return rc;
	}
	int rc = eng_worker_on_stop(w, hep_stop, h);
	if (rc < 0) {
		close(h->fd);
		free(h);
		return rc;
	}
	w->hep = h;
	return 0;
}

eng_hep *eng_worker_hep(eng_worker *w)
{
	return w->hep;
}

int eng_hep_wants(const eng_hep *h, unsigned proto)
{
	return h && (h->s->protos & proto);
}

const struct eng_hep_stats *eng_hep_stats(const eng_hep *h)
{
	return &h->st;
}

/* 1 when <a> lies in one of the configured networks (or none is configured). */
static int peer_ok(const struct eng_hep_shared *s, const struct eng_hep_addr *a)
{
	struct sockaddr_storage ss;

	if (!s->npeers)
		return 1;
	memset(&ss, 0, sizeof(ss));
	if (a->family == AF_INET) {
		struct sockaddr_in *s4 = (void *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(a->port);
		memcpy(&s4->sin_addr, a->addr, 4);
	} else if (a->family == AF_INET6) {
		struct sockaddr_in6 *s6 = (void *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(a->port);
		memcpy(&s6->sin6_addr, a->addr, 16);
	} else {
		return 0;
	}
	return eng_profile_match(s->peers, s->npeers, &ss) != 0;
}

void eng_hep_trace(eng_hep *h, unsigned proto, uint8_t ip_proto,
		   const struct eng_hep_addr *src, const struct eng_hep_addr *dst, int out,
		   cm_slice corr, const struct iovec *iov, unsigned n, int cut_hint)
{
	const struct eng_hep_shared *s = h->s;
	struct iovec v[1 + IOV_MAX_HEP];
	struct eng_hep_msg m;
	struct timespec ts;

	if (h->off || !(s->protos & proto))
		return;
	if (!peer_ok(s, out ? dst : src)) {
		h->st.filtered++;
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	m.src = *src;
	m.dst = *dst;
	m.ip_proto = ip_proto;
	m.proto_type = proto == ENG_HEP_SIP ? ENG_HEP_TYPE_SIP : s->msrp_type;
	m.ts_sec = (uint32_t)ts.tv_sec;
	m.ts_usec = (uint32_t)(ts.tv_nsec / 1000);
	m.capture_id = s->capture_id;
	m.auth = (cm_slice){ s->auth, s->auth_len };
	m.corr = corr.len > ENG_HEP_CORR_MAX ? (cm_slice){ corr.p, ENG_HEP_CORR_MAX } : corr;

	size_t plen = 0;
	for (unsigned i = 0; i < n; i++)
		plen += iov[i].iov_len;
	/* room for the payload: what the chunks before it leave (they fit ENG_HEP_HEAD_MAX at
	 * their largest, a static assertion of eng_hep.h says, so that the first call can only
	 * fail for too big a payload) */
	ssize_t hn = eng_hep_head(h->head, sizeof(h->head), &m, 0);
	if (hn < 0) {
		h->st.dropped++;
		return;
	}
	size_t room = ENG_HEP_MAX - (size_t)hn;
	int cut = cut_hint || n > IOV_MAX_HEP;
	if (plen > room) {
		plen = room;
		cut = 1;
	}
	hn = eng_hep_head(h->head, sizeof(h->head), &m, plen);
	if (hn < 0) {
		h->st.dropped++;
		return;
	}
	unsigned k = 0;
	size_t left = plen;
	v[k++] = (struct iovec){ h->head, (size_t)hn };
	for (unsigned i = 0; i < n && i < IOV_MAX_HEP && left; i++) {
		size_t l = iov[i].iov_len < left ? iov[i].iov_len : left;
		if (!l)
			continue;
		v[k++] = (struct iovec){ iov[i].iov_base, l };
		left -= l;
	}
	if (left) {
		/* more pieces than a packet takes: the header announced <plen>, rewrite it */
		hn = eng_hep_head(h->head, sizeof(h->head), &m, plen - left);
		v[0].iov_len = (size_t)hn;
	}
	struct msghdr mh = { .msg_iov = v, .msg_iovlen = k };
	if (sendmsg(h->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
		h->st.dropped++;
		return;
	}
	h->st.sent++;
	if (cut)
		h->st.cut++;
}

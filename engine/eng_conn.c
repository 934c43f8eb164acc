/* eng_conn.c — connections: table, send queue, back-pressure, close, handover, listeners.
 *
 * The backend moves bytes; everything here is backend-neutral. A connection's slot is
 * reused only at the end of a loop iteration, so a pointer stays valid (flagged DEAD) for
 * the rest of the callback that closed it. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cm_log.h"
#include "engine/eng_int.h"
#include "engine/eng_profile.h"

/* ---- addresses ------------------------------------------------------------------------ */

int eng_parse_hostport(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon, *h = s;
	size_t hl;

	memset(ss, 0, sizeof(*ss));
	if (*s == '[') {
		const char *end = strchr(s, ']');
		if (!end || end[1] != ':')
			return -EINVAL;
		h = s + 1;
		hl = (size_t)(end - h);
		colon = end + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return -EINVAL;
		hl = (size_t)(colon - s);
	}
	if (hl >= sizeof(host))
		return -EINVAL;
	memcpy(host, h, hl);
	host[hl] = '\0';
	char *end;
	unsigned long port = strtoul(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || port > 65535)
		return -EINVAL;
	if (hl == 0 || strcmp(host, "*") == 0)
		strcpy(host, "0.0.0.0");

	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)port);
		*len = sizeof(*in4);
	} else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*in6);
	} else {
		return -EINVAL;
	}
	return 0;
}

const char *eng_sockaddr_str(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in4 = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &in4->sin_addr, a, sizeof(a));
		snprintf(buf, len, "%s:%u", a, ntohs(in4->sin_port));
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
		inet_ntop(AF_INET6, &in6->sin6_addr, a, sizeof(a));
		snprintf(buf, len, "[%s]:%u", a, ntohs(in6->sin6_port));
	} else {
		snprintf(buf, len, "?");
	}
	return buf;
}

int eng_conn_peer(const eng_conn *c, struct sockaddr_storage *ss, socklen_t *len)
{
	*len = sizeof(*ss);
	return getpeername(c->fd, (struct sockaddr *)ss, len) < 0 ? -errno : 0;
}

const char *eng_conn_peer_str(const eng_conn *c, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	if (eng_conn_peer(c, &ss, &sl) < 0) {
		snprintf(buf, len, "?");
		return buf;
	}
	return eng_sockaddr_str(&ss, buf, len);
}

/* ---- slots ----------------------------------------------------------------------------- */

static eng_conn *conn_new(eng_worker *w, int fd)
{
	uint32_t idx;

	if (w->nconn_free) {
		idx = w->conn_free[--w->nconn_free];
	} else {
		if (w->conns_used == w->conns_cap) {
			uint32_t cap = w->conns_cap * 2;
			eng_conn **t = realloc(w->conns, cap * sizeof(*t));
			if (!t)
				return NULL;
			w->conns = t;
			uint32_t *f = realloc(w->conn_free, cap * sizeof(*f));
			if (!f)
				return NULL;
			w->conn_free = f;
			memset(w->conns + w->conns_cap, 0, (cap - w->conns_cap) * sizeof(*t));
			w->conns_cap = cap;
		}
		idx = w->conns_used++;
	}
	eng_conn *c = w->conns[idx];
	if (!c) {
		c = calloc(1, sizeof(*c));
		if (!c) {
			w->conn_free[w->nconn_free++] = idx;
			return NULL;
		}
		w->conns[idx] = c;
	}
	uint32_t gen = c->gen + 1;
	memset(c, 0, sizeof(*c));
	c->gen = gen & 0xffffff;
	c->idx = idx;
	c->w = w;
	c->fd = fd;
	c->created_ms = w->now_ms;
	c->last_recv_ms = w->now_ms;
	w->st.conns++;
	atomic_store_explicit(&w->open_conns, w->st.conns, memory_order_relaxed);
	return c;
}

eng_conn *eng__conn_lookup(eng_worker *w, uint32_t idx, uint32_t gen)
{
	if (idx >= w->conns_used)
		return NULL;
	eng_conn *c = w->conns[idx];
	if (!c || c->gen != gen || (c->flags & ENG_CF_FREE))
		return NULL;
	return c;
}

/* Drops a list of segments and their buffer references. */
static void segs_drop(eng_worker *w, eng_seg *s)
{
	while (s) {
		eng_seg *n = s->next;
		eng_buf_unref(w, s->b);
		eng__seg_put(w, s);
		s = n;
	}
}

static void sendq_drop(eng_conn *c)
{
	segs_drop(c->w, c->sendq_head);
	c->sendq_head = c->sendq_tail = NULL;
	c->sendq_bytes = 0;
}

static void stash_drop(eng_conn *c)
{
	segs_drop(c->w, c->stash);
	c->stash = NULL;
}

/* ---- reading ------------------------------------------------------------------------- */

static int want_read(const eng_conn *c)
{
	if (c->flags & (ENG_CF_DEAD | ENG_CF_HANDOVER | ENG_CF_CONNECTING | ENG_CF_EOF))
		return 0;
	if (c->flags & ENG_CF_LINGER)
		return 1; /* read to drop, paused or not (eng_close_linger) */
	return (c->flags & ENG_CF_STARTED) && !(c->flags & (ENG_CF_PAUSED | ENG_CF_BP));
}

static void rearm_later(eng_conn *c)
{
	if (c->flags & ENG_CF_REARM_PEND)
		return;
	c->flags |= ENG_CF_REARM_PEND;
	c->rearm_next = c->w->rearm_pending;
	c->w->rearm_pending = c;
}

/* Arms or cancels reading to match what the flags want. Bytes held while paused are
 * delivered at the end of the iteration (eng__flush_pending), never from inside the call
 * that resumed reading. */
static void update_reading(eng_conn *c)
{
	if (want_read(c)) {
		if (c->stash)
			rearm_later(c); /* held bytes go first; reading resumes once they are out */
		else if (!(c->flags & (ENG_CF_READING | ENG_CF_CANCELING | ENG_CF_NOBUFS)))
			c->w->be->recv_arm(c);
	} else if ((c->flags & ENG_CF_READING) && !(c->flags & ENG_CF_CANCELING)) {
		c->flags |= ENG_CF_CANCELING;
		c->w->be->recv_cancel(c);
	}
}

void eng_read_pause(eng_conn *c)
{
	c->flags |= ENG_CF_PAUSED;
	update_reading(c);
}

void eng_read_resume(eng_conn *c)
{
	c->flags &= ~ENG_CF_PAUSED;
	update_reading(c);
}

static void waiter_unlink(eng_conn *f)
{
	eng_conn **pp = &f->waiting_on->waiters;
	while (*pp && *pp != f)
		pp = &(*pp)->wait_next;
	if (*pp)
		*pp = f->wait_next;
	f->wait_next = NULL;
	f->waiting_on = NULL;
}

void eng_conn_wait_writable(eng_conn *feeder, eng_conn *c)
{
	/* feeder == c is allowed: a connection that sends faster than it reads what it is
	 * answered stops being read until it has taken its answers */
	if (!(c->flags & ENG_CF_ABOVE_HIGH) || (c->flags & ENG_CF_DEAD))
		return;
	if (feeder->waiting_on == c)
		return;
	if (feeder->waiting_on)
		waiter_unlink(feeder);
	feeder->waiting_on = c;
	feeder->wait_next = c->waiters;
	c->waiters = feeder;
	/* until it has caught up, the feeder reads one buffer at a time: a multishot
	 * receive would keep filling buffers until its cancel lands */
	feeder->flags |= ENG_CF_BP | ENG_CF_SINGLESHOT;
	c->w->st.paused++;
	update_reading(feeder);
}

static void waiters_release(eng_conn *c)
{
	while (c->waiters) {
		eng_conn *f = c->waiters;
		c->waiters = f->wait_next;
		f->wait_next = NULL;
		f->waiting_on = NULL;
		f->flags &= ~ENG_CF_BP;
		update_reading(f);
	}
}

/* ---- closing ------------------------------------------------------------------------- */

static void maybe_handover(eng_conn *c);
static int handshake_cut(eng_conn *c, int res);

/* Sets (<at> > 0) or clears (0) the deadline of <c>, counted in *<count> when it passes. */
static void deadline_set(eng_conn *c, uint64_t at, uint64_t *count)
{
	if (!c->deadline_ms && at)
		c->w->deadlines++;
	else if (c->deadline_ms && !at)
		c->w->deadlines--;
	c->deadline_ms = at;
	c->deadline_count = at ? count : NULL;
}

static void maybe_finish(eng_conn *c)
{
	eng_worker *w = c->w;

	if (!(c->flags & ENG_CF_DEAD) ||
	    (c->flags & (ENG_CF_READING | ENG_CF_SENDING | ENG_CF_CONNECTING | ENG_CF_FREE)))
		return;
	w->be->conn_release(c);
	sendq_drop(c);
	stash_drop(c);
	if (c->tls)
		eng__tls_free(c);
	if (c->fd >= 0) {
		close(c->fd);
		c->fd = -1;
		w->st.closes++;
	}
	deadline_set(c, 0, NULL);
	c->flags |= ENG_CF_FREE;
	w->st.conns--;
	atomic_store_explicit(&w->open_conns, w->st.conns, memory_order_relaxed);
	if (c->ops && c->ops->on_close && !(c->flags & ENG_CF_HANDOVER))
		c->ops->on_close(c, c->err);
	if (c->flags & ENG_CF_REARM_PEND) {
		eng_conn **pp = &w->rearm_pending;
		while (*pp != c)
			pp = &(*pp)->rearm_next;
		*pp = c->rearm_next;
		c->flags &= ~ENG_CF_REARM_PEND;
	}
	/* the slot is reused after this iteration (see eng__flush_pending) */
	c->reap_next = w->reap;
	w->reap = c;
}

static void do_close(eng_conn *c, int err)
{
	if (c->flags & ENG_CF_DEAD)
		return;
	c->flags |= ENG_CF_DEAD;
	if (!c->err)
		c->err = err;
	if (c->waiting_on)
		waiter_unlink(c);
	waiters_release(c);
	if (c->flags & ENG_CF_SENDING)
		shutdown(c->fd, SHUT_RDWR); /* the send in flight fails fast */
	if ((c->flags & ENG_CF_READING) && !(c->flags & ENG_CF_CANCELING)) {
		c->flags |= ENG_CF_CANCELING;
		c->w->be->recv_cancel(c);
	}
	maybe_finish(c);
}

void eng_abort(eng_conn *c, int err)
{
	/* a connect still in the kernel (SYN unanswered) ends now, not at the kernel's own
	 * timeout, minutes away: shutdown() of a socket in SYN-SENT (Linux) */
	if ((c->flags & ENG_CF_CONNECTING) && !(c->flags & ENG_CF_DEAD) && c->fd >= 0)
		shutdown(c->fd, SHUT_RDWR);
	do_close(c, err ? err : -ECONNABORTED);
}

/* The queue of a closing connection is out: it closes, or when it lingers its write side
 * is shut and reading goes on (dropping) until the peer's EOF or ENG_LINGER_MS. */
static void close_flushed(eng_conn *c)
{
	if ((c->flags & (ENG_CF_LINGER | ENG_CF_EOF)) != ENG_CF_LINGER || c->fd < 0 ||
	    shutdown(c->fd, SHUT_WR) < 0) {
		do_close(c, 0);
		return;
	}
	if (c->flags & ENG_CF_WR_SHUT)
		return;
	c->flags |= ENG_CF_WR_SHUT;
	c->w->st.lingers++;
	deadline_set(c, c->w->now_ms + ENG_LINGER_MS, NULL);
	update_reading(c);
}

void eng_close(eng_conn *c)
{
	if (c->flags & (ENG_CF_DEAD | ENG_CF_CLOSING))
		return;
	c->flags |= ENG_CF_CLOSING;
	if (c->tls && (c->flags & ENG_CF_TLS_READY))
		eng__tls_shutdown(c);
	if (!c->sendq_head && !(c->flags & ENG_CF_SENDING))
		close_flushed(c);
}

void eng_close_linger(eng_conn *c)
{
	if (c->flags & (ENG_CF_DEAD | ENG_CF_CLOSING))
		return;
	c->flags |= ENG_CF_LINGER;
	c->flags &= ~(ENG_CF_PAUSED | ENG_CF_BP);
	if (c->waiting_on)
		waiter_unlink(c);
	stash_drop(c);
	deadline_set(c, 0, NULL); /* a frame's deadline no longer matters */
	eng_close(c);
	if (!(c->flags & ENG_CF_DEAD))
		update_reading(c);
}

/* ---- sending ------------------------------------------------------------------------- */

static void kick(eng_conn *c)
{
	if (c->flags & (ENG_CF_SENDING | ENG_CF_SEND_PEND | ENG_CF_CONNECTING | ENG_CF_DEAD))
		return;
	c->flags |= ENG_CF_SEND_PEND;
	c->pend_next = c->w->send_pending;
	c->w->send_pending = c;
}

static int queued(eng_conn *c)
{
	kick(c);
	if (c->sendq_bytes > c->w->e->cfg.sendq_high) {
		c->flags |= ENG_CF_ABOVE_HIGH;
		return 1;
	}
	return 0;
}

int eng__queue_copy(eng_conn *c, const void *p, size_t len)
{
	const char *src = p;

	if (c->flags & ENG_CF_DEAD)
		return -EPIPE;
	while (len) {
		eng_seg *t = c->sendq_tail;
		if (t && t->b->refs == 1 && t->b->used == t->off + t->len && t->b->used < t->b->cap) {
			uint32_t room = t->b->cap - t->b->used;
			uint32_t n = len < room ? (uint32_t)len : room;
			memcpy(t->b->data + t->b->used, src, n);
			t->b->used += n;
			t->len += n;
			c->sendq_bytes += n;
			src += n;
			len -= n;
			continue;
		}
		eng_buf *b = eng_buf_get(c->w);
		eng_seg *s = b ? eng__seg_get(c->w) : NULL;
		if (!s) {
			if (b)
				eng_buf_unref(c->w, b);
			return -ENOBUFS;
		}
		s->b = b;
		s->off = 0;
		s->len = 0;
		if (t)
			t->next = s;
		else
			c->sendq_head = s;
		c->sendq_tail = s;
	}
	return queued(c);
}

int eng_send(eng_conn *c, const void *p, size_t len)
{
	if (c->flags & (ENG_CF_DEAD | ENG_CF_CLOSING))
		return -EPIPE;
	if (c->tls)
		return eng__tls_send(c, p, len);
	return eng__queue_copy(c, p, len);
}

int eng_send_buf(eng_conn *c, eng_buf *b, uint32_t off, uint32_t len)
{
	if (c->flags & (ENG_CF_DEAD | ENG_CF_CLOSING))
		return -EPIPE;
	if (c->tls)
		return eng__tls_send(c, b->data + off, len);
	/* small pieces are packed (a 16 KiB buffer held for 200 bytes wastes the pool) */
	if (len < b->cap / 8)
		return eng__queue_copy(c, b->data + off, len);
	eng_seg *s = eng__seg_get(c->w);
	if (!s)
		return -ENOBUFS;
	eng_buf_ref(b);
	s->b = b;
	s->off = off;
	s->len = len;
	if (c->sendq_tail)
		c->sendq_tail->next = s;
	else
		c->sendq_head = s;
	c->sendq_tail = s;
	c->sendq_bytes += len;
	return queued(c);
}

void eng__send_done(eng_conn *c, int res)
{
	eng_worker *w = c->w;

	c->flags &= ~ENG_CF_SENDING;
	w->st.send_ops++;
	if (res < 0) {
		if (!handshake_cut(c, res))
			do_close(c, res);
		maybe_finish(c);
		return;
	}
	if (c->flags & ENG_CF_DEAD) {
		maybe_finish(c);
		return;
	}
	uint32_t n = (uint32_t)res;
	c->bytes_out += n;
	w->st.send_bytes += n;
	c->sendq_bytes -= n;
	while (n) {
		eng_seg *s = c->sendq_head;
		if (n < s->len) {
			s->off += n;
			s->len -= n;
			break;
		}
		n -= s->len;
		c->sendq_head = s->next;
		if (!c->sendq_head)
			c->sendq_tail = NULL;
		eng_buf_unref(w, s->b);
		eng__seg_put(w, s);
	}
	if (c->sendq_head)
		kick(c);
	if ((c->flags & ENG_CF_ABOVE_HIGH) && c->sendq_bytes < w->e->cfg.sendq_low) {
		c->flags &= ~ENG_CF_ABOVE_HIGH;
		waiters_release(c);
		if (c->ops && c->ops->on_writable)
			c->ops->on_writable(c);
	}
	if (!c->sendq_head) {
		if (c->flags & ENG_CF_HANDOVER)
			maybe_handover(c);
		else if (c->flags & ENG_CF_CLOSING)
			close_flushed(c);
	}
}

/* ---- receiving ------------------------------------------------------------------------ */

void eng__deliver(eng_conn *c, eng_buf *b, uint32_t off, uint32_t len)
{
	if ((c->flags & (ENG_CF_DEAD | ENG_CF_STARTED)) == ENG_CF_STARTED && c->ops->on_recv)
		c->ops->on_recv(c, b, off, len);
}

static void stash_add(eng_conn *c, eng_buf *b, uint32_t off, uint32_t len)
{
	eng_seg *s = eng__seg_get(c->w), **pp = &c->stash;
	if (!s) {
		do_close(c, -ENOBUFS);
		return;
	}
	eng_buf_ref(b);
	s->b = b;
	s->off = off;
	s->len = len;
	while (*pp)
		pp = &(*pp)->next;
	*pp = s;
}

/* Hands held bytes to the owner, in order, for as long as it wants to read. */
static void stash_deliver(eng_conn *c)
{
	while (c->stash && want_read(c)) {
		eng_seg *s = c->stash;
		c->stash = s->next;
		if (c->tls)
			eng__tls_recv(c, s->b, s->off, s->len);
		else
			eng__deliver(c, s->b, s->off, s->len);
		eng_buf_unref(c->w, s->b);
		eng__seg_put(c->w, s);
	}
}

void eng__recv(eng_conn *c, eng_buf *b, uint32_t len)
{
	eng_worker *w = c->w;

	b->used = b->cap; /* never appended to by a send queue */
	if (len < b->cap)
		c->flags &= ~ENG_CF_SINGLESHOT; /* the socket was drained: multishot again */
	w->st.recv_ops++;
	w->st.recv_bytes += len;
	c->bytes_in += len;
	c->last_recv_ms = w->now_ms;
	if (c->flags & (ENG_CF_DEAD | ENG_CF_LINGER))
		; /* dropped (lingering: nobody reads it) */
	else if ((c->flags & (ENG_CF_HANDOVER | ENG_CF_PAUSED | ENG_CF_BP)) || c->stash)
		stash_add(c, b, 0, len); /* held until resumed (or adopted), in order */
	else if (c->tls)
		eng__tls_recv(c, b, 0, len);
	else
		eng__deliver(c, b, 0, len);
	eng_buf_unref(w, b);
}

/* The peer went away (EOF or <res> error) during a TLS handshake: the owner hears it as a
 * failed handshake (on_connect with an error), not as a bare close. 1 when handled. */
static int handshake_cut(eng_conn *c, int res)
{
	if (!c->tls || (c->flags & (ENG_CF_TLS_READY | ENG_CF_DEAD | ENG_CF_HANDOVER | ENG_CF_CLOSING)))
		return 0;
	c->flags |= ENG_CF_EOF;
	eng__tls_handshake_done(c, res < 0 ? res : -ECONNRESET);
	if (!(c->flags & ENG_CF_DEAD))
		do_close(c, res < 0 ? res : -ECONNRESET); /* nothing more can be sent */
	return 1;
}

void eng__recv_end(eng_conn *c, int res)
{
	c->flags &= ~(ENG_CF_READING | ENG_CF_CANCELING);
	if (res == -ENOBUFS) {
		c->w->st.enobufs++;
		c->flags |= ENG_CF_NOBUFS;
		rearm_later(c);
	} else if (res != -ECANCELED && res != -EAGAIN && handshake_cut(c, res)) {
		;
	} else if (res == 0) {
		c->flags |= ENG_CF_EOF;
		if (c->flags & ENG_CF_HANDOVER)
			; /* the adopter will see EOF on its own read */
		else if (c->sendq_head || (c->flags & ENG_CF_SENDING))
			c->flags |= ENG_CF_CLOSING; /* flush what we owe, then close */
		else
			do_close(c, 0);
	} else if (res != -ECANCELED && res != -EAGAIN) {
		do_close(c, res);
	}
	if (c->flags & ENG_CF_DEAD)
		maybe_finish(c);
	else if (c->flags & ENG_CF_HANDOVER)
		maybe_handover(c);
	else
		update_reading(c);
}

/* ---- life cycle ---------------------------------------------------------------------- */

void eng_conn_start(eng_conn *c, const struct eng_conn_ops *ops, void *udata)
{
	c->ops = ops;
	c->udata = udata;
	c->flags |= ENG_CF_STARTED;
	/* bytes carried over from a handover come first (until the owner pauses, closes or
	 * hands over again: then the usual paths take the rest) */
	stash_deliver(c);
	if (!(c->flags & ENG_CF_DEAD))
		update_reading(c);
}

static void tune_socket(int fd)
{
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* The per-peer profile for <ss> on <w>'s engine: 1 + its index, or 0. With no_new, counted
 * and -EPERM. Sets the keep-alive of <fd> when the profile has one. */
static int profile_apply(eng_worker *w, int fd, const struct sockaddr_storage *ss)
{
	const struct eng_config *cfg = &w->e->cfg;
	unsigned i = eng_profile_match(cfg->profiles, cfg->nprofiles, ss);
	if (!i)
		return 0;
	const struct eng_profile *p = &cfg->profiles[i - 1];
	if (p->no_new) {
		w->st.profile_refused++;
		return -EPERM;
	}
	if (p->keepalive_s) {
		int on = 1, idle = (int)p->keepalive_s, intvl = idle / 3 ? idle / 3 : 1, cnt = 3;
		setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
		setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
		setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
		setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
	}
	return (int)i;
}

void eng__accepted(eng_listener *l, int fd)
{
	eng_worker *w = l->w;

	w->st.accepts++;
	if (l->closing || w->draining) {
		close(fd);
		return;
	}
	if (w->st.conns >= w->e->cfg.max_conns) {
		w->st.conn_limit++;
		CM_LOG_RL(CM_LOG_WARN, "worker %u: connection limit %u reached, refusing",
			  w->index, w->e->cfg.max_conns);
		close(fd);
		return;
	}
	int profile = 0;
	if (w->e->cfg.nprofiles) {
		/* the peer's address with the service port: ours, where it connected */
		struct sockaddr_storage ss, local;
		socklen_t sl = sizeof(ss), ll = sizeof(local);
		if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0 &&
		    getsockname(fd, (struct sockaddr *)&local, &ll) == 0 &&
		    local.ss_family == ss.ss_family) {
			if (ss.ss_family == AF_INET)
				((struct sockaddr_in *)&ss)->sin_port =
					((struct sockaddr_in *)&local)->sin_port;
			else if (ss.ss_family == AF_INET6)
				((struct sockaddr_in6 *)&ss)->sin6_port =
					((struct sockaddr_in6 *)&local)->sin6_port;
			profile = profile_apply(w, fd, &ss);
		}
		if (profile < 0) {
			CM_LOG_RL(CM_LOG_INFO, "worker %u: a connection from a no_new peer refused",
				  w->index);
			close(fd);
			return;
		}
	}
	tune_socket(fd);
	eng_conn *c = conn_new(w, fd);
	if (!c) {
		close(fd);
		return;
	}
	c->profile = (uint16_t)(profile > 0 ? profile : 0);
	if (l->tls && eng__tls_attach(c, l->tls, 1, NULL) < 0) {
		w->st.tls_failures++;
		c->flags |= ENG_CF_DEAD;
		maybe_finish(c);
		return;
	}
	/* a client that connects and never finishes its ClientHello (or sends it a byte at a
	 * time) holds a connection: the whole handshake has a deadline */
	if (l->tls && w->e->cfg.tls_handshake_ms)
		deadline_set(c, w->now_ms + w->e->cfg.tls_handshake_ms,
			     &w->st.tls_handshake_timeouts);
	l->on_accept(l, c);
}

/* Binds <fd> (of family <family>) to the numeric address <src>, port 0. The port is left
 * to connect() (IP_BIND_ADDRESS_NO_PORT), so that many connections from one source
 * address to different peers do not each hold an ephemeral port of their own. */
static int bind_source(int fd, int family, const char *src)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char hp[INET6_ADDRSTRLEN + 8];
	int one = 1;

	if (snprintf(hp, sizeof(hp), strchr(src, ':') ? "[%s]:0" : "%s:0", src) >= (int)sizeof(hp) ||
	    eng_parse_hostport(hp, &ss, &len) < 0)
		return -EINVAL;
	if (ss.ss_family != family)
		return -EAFNOSUPPORT;
#ifdef IP_BIND_ADDRESS_NO_PORT
	setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
#else
	(void)one;
#endif
	return bind(fd, (struct sockaddr *)&ss, len) < 0 ? -errno : 0;
}

int eng_connect(eng_worker *w, const char *hostport, eng_tls_ctx *tls, const char *sni,
		const struct eng_conn_ops *ops, void *udata, eng_conn **out)
{
	return eng_connect_from(w, hostport, NULL, tls, sni, ops, udata, out);
}

int eng_connect_from(eng_worker *w, const char *hostport, const char *src_ip, eng_tls_ctx *tls,
		     const char *sni, const struct eng_conn_ops *ops, void *udata, eng_conn **out)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int rc = eng_parse_hostport(hostport, &ss, &len);

	if (rc < 0)
		return rc;
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | eng__sock_flags(w), 0);
	if (fd < 0)
		return -errno;
	if (src_ip && *src_ip && (rc = bind_source(fd, ss.ss_family, src_ip)) < 0) {
		close(fd);
		return rc;
	}
	int profile = w->e->cfg.nprofiles ? profile_apply(w, fd, &ss) : 0;
	if (profile < 0) {
		close(fd);
		return profile;
	}
	tune_socket(fd);
	eng_conn *c = conn_new(w, fd);
	if (!c) {
		close(fd);
		return -ENOMEM;
	}
	c->profile = (uint16_t)profile;
	c->ops = ops;
	c->udata = udata;
	c->flags |= ENG_CF_OUTBOUND | ENG_CF_CONNECTING | ENG_CF_STARTED;
	if (tls && (rc = eng__tls_attach(c, tls, 0, sni)) < 0)
		goto fail;
	w->st.connects++;
	rc = w->be->connect(c, (struct sockaddr *)&ss, len);
	if (rc < 0)
		goto fail;
	if (out)
		*out = c;
	return 0;
fail:
	c->flags &= ~ENG_CF_CONNECTING;
	c->ops = NULL; /* the caller learns from the return value, not from on_close */
	c->flags |= ENG_CF_DEAD;
	maybe_finish(c);
	return rc;
}

void eng__connect_done(eng_conn *c, int res)
{
	c->flags &= ~ENG_CF_CONNECTING;
	if (res < 0 || (c->flags & ENG_CF_DEAD)) {
		if (res < 0 && c->ops && c->ops->on_connect && !(c->flags & ENG_CF_DEAD))
			c->ops->on_connect(c, res);
		do_close(c, res < 0 ? res : -ECANCELED);
		maybe_finish(c);
		return;
	}
	if (c->tls) {
		eng__tls_start(c); /* on_connect comes after the handshake */
	} else if (c->ops && c->ops->on_connect) {
		c->ops->on_connect(c, 0);
	}
	if (c->flags & ENG_CF_DEAD)
		return;
	if (c->sendq_head)
		kick(c);
	update_reading(c);
}

void eng__tls_handshake_done(eng_conn *c, int err)
{
	if (err < 0) {
		c->w->st.tls_failures++;
		if (c->ops && c->ops->on_connect && (c->flags & ENG_CF_STARTED))
			c->ops->on_connect(c, err);
		if (c->flags & ENG_CF_DEAD)
			return;
		/* the alert wolfSSL queued goes out before the close */
		if (!c->err)
			c->err = err;
		c->flags |= ENG_CF_CLOSING;
		if (!c->sendq_head && !(c->flags & ENG_CF_SENDING))
			do_close(c, err);
		return;
	}
	c->w->st.tls_handshakes++;
	c->flags |= ENG_CF_TLS_READY;
	if (c->deadline_count == &c->w->st.tls_handshake_timeouts)
		deadline_set(c, 0, NULL);
	if (c->ops && c->ops->on_connect && (c->flags & ENG_CF_STARTED))
		c->ops->on_connect(c, 0);
}

/* ---- handover ------------------------------------------------------------------------ */

struct handoff {
	int fd;
	uint32_t flags;
	uint16_t profile;
	uint64_t age_ms, bytes_in, bytes_out; /* kept across workers for listings */
	eng_tls *tls;
	void (*adopt)(eng_conn *c, void *arg);
	void *arg;
	size_t nbytes;
	char bytes[];
};

static void adopt_msg(eng_worker *w, void *arg, uint64_t u64)
{
	struct handoff *h = arg;
	(void)u64;
	eng_conn *c = w->stopping ? NULL : conn_new(w, h->fd);
	if (!c) {
		close(h->fd);
		if (h->tls) {
			/* a bare shell to free the TLS session through the usual path */
			eng_conn tmp = { .w = w, .tls = h->tls, .fd = -1 };
			eng__tls_free(&tmp);
		}
		free(h);
		return;
	}
	w->st.handovers_in++;
	c->flags |= h->flags & (ENG_CF_OUTBOUND | ENG_CF_TLS_READY);
	c->profile = h->profile;
	c->created_ms = w->now_ms > h->age_ms ? w->now_ms - h->age_ms : 0;
	c->bytes_in = h->bytes_in;
	c->bytes_out = h->bytes_out;
	c->tls = h->tls;
	if (c->tls)
		eng__tls_rebind(c);
	size_t off = 0;
	while (off < h->nbytes) {
		eng_buf *b = eng_buf_get(w);
		if (!b) {
			c->flags |= ENG_CF_DEAD;
			c->err = -ENOBUFS;
			c->flags |= ENG_CF_HANDOVER; /* no on_close: nobody owns it yet */
			maybe_finish(c);
			free(h);
			return;
		}
		size_t n = h->nbytes - off < b->cap ? h->nbytes - off : b->cap;
		memcpy(b->data, h->bytes + off, n);
		b->used = b->cap;
		stash_add(c, b, 0, (uint32_t)n);
		eng_buf_unref(w, b);
		off += n;
	}
	void (*adopt)(eng_conn *, void *) = h->adopt;
	void *aarg = h->arg;
	free(h);
	adopt(c, aarg);
}

static void maybe_handover(eng_conn *c)
{
	eng_worker *w = c->w;

	if (c->flags & (ENG_CF_READING | ENG_CF_CANCELING | ENG_CF_SENDING | ENG_CF_DEAD))
		return;
	if (c->sendq_head) {
		kick(c);
		return;
	}
	size_t n = 0;
	for (eng_seg *s = c->stash; s; s = s->next)
		n += s->len;
	struct handoff *h = malloc(sizeof(*h) + n);
	if (!h) {
		c->flags &= ~ENG_CF_HANDOVER; /* still ours: the owner hears on_close */
		do_close(c, -ENOMEM);
		return;
	}
	h->fd = c->fd;
	h->flags = c->flags;
	h->profile = c->profile;
	h->age_ms = w->now_ms - c->created_ms;
	h->bytes_in = c->bytes_in;
	h->bytes_out = c->bytes_out;
	h->tls = c->tls;
	h->adopt = c->adopt;
	h->arg = c->adopt_arg;
	h->nbytes = 0;
	for (eng_seg *s = c->stash; s; s = s->next) {
		memcpy(h->bytes + h->nbytes, s->b->data + s->off, s->len);
		h->nbytes += s->len;
	}
	if (eng_post(c->adopt_to, adopt_msg, h, 0) < 0) {
		free(h);
		c->flags &= ~ENG_CF_HANDOVER;
		do_close(c, -EAGAIN);
		return;
	}
	w->st.handovers_out++;
	/* the fd and TLS session now belong to the other worker */
	w->be->conn_release(c);
	c->fd = -1;
	c->tls = NULL;
	c->flags |= ENG_CF_DEAD;
	maybe_finish(c);
}

/* Puts a copy of <len> bytes at <p> in front of the held bytes. 0 or -ENOBUFS. */
static int stash_prepend(eng_conn *c, const char *p, size_t len)
{
	eng_seg *head = NULL, **tail = &head;
	while (len) {
		eng_buf *b = eng_buf_get(c->w);
		eng_seg *s = b ? eng__seg_get(c->w) : NULL;
		if (!s) {
			if (b)
				eng_buf_unref(c->w, b);
			segs_drop(c->w, head);
			return -ENOBUFS;
		}
		size_t n = len < b->cap ? len : b->cap;
		memcpy(b->data, p, n);
		b->used = b->cap;
		s->b = b;         /* the segment takes the buffer's one reference */
		s->off = 0;
		s->len = (uint32_t)n;
		s->next = NULL;
		*tail = s;
		tail = &s->next;
		p += n;
		len -= n;
	}
	*tail = c->stash;
	c->stash = head;
	return 0;
}

int eng_handover_prefix(eng_conn *c, eng_worker *to, void (*adopt)(eng_conn *c, void *arg),
			void *arg, const void *prefix, size_t len)
{
	if (c->flags & (ENG_CF_DEAD | ENG_CF_HANDOVER | ENG_CF_CONNECTING))
		return -EINVAL;
	if (len && stash_prepend(c, prefix, len) < 0)
		return -ENOBUFS;
	return eng_handover(c, to, adopt, arg);
}

int eng_handover(eng_conn *c, eng_worker *to, void (*adopt)(eng_conn *c, void *arg), void *arg)
{
	if (c->flags & (ENG_CF_DEAD | ENG_CF_HANDOVER | ENG_CF_CONNECTING))
		return -EINVAL;
	c->flags |= ENG_CF_HANDOVER;
	c->adopt = adopt;
	c->adopt_arg = arg;
	c->adopt_to = to;
	if (c->waiting_on)
		waiter_unlink(c);
	waiters_release(c);
	update_reading(c);
	maybe_handover(c);
	return 0;
}

/* ---- per iteration ------------------------------------------------------------------- */

int eng__bufs_available(const eng_worker *w)
{
	return w->nfree > 0 || w->ring_posted > 0 || w->nbufs < w->e->cfg.bufs_max;
}

void eng__flush_pending(eng_worker *w)
{
	/* held bytes first (their sends join this iteration's batch), then re-arms */
	if (w->rearm_pending) {
		eng_conn *list = w->rearm_pending;
		int bufs = eng__bufs_available(w);
		w->rearm_pending = NULL;
		while (list) {
			eng_conn *c = list;
			list = c->rearm_next;
			c->rearm_next = NULL;
			c->flags &= ~ENG_CF_REARM_PEND;
			if (c->flags & ENG_CF_DEAD)
				continue;
			stash_deliver(c);
			if (c->flags & ENG_CF_DEAD)
				continue;
			if ((c->flags & ENG_CF_NOBUFS) && !bufs) {
				rearm_later(c); /* still dry: try again next iteration */
				continue;
			}
			c->flags &= ~ENG_CF_NOBUFS;
			update_reading(c);
		}
	}
	while (w->send_pending) {
		eng_conn *c = w->send_pending;
		w->send_pending = c->pend_next;
		c->pend_next = NULL;
		c->flags &= ~ENG_CF_SEND_PEND;
		if ((c->flags & (ENG_CF_DEAD | ENG_CF_SENDING | ENG_CF_CONNECTING)) || !c->sendq_head)
			continue;
		c->flags |= ENG_CF_SENDING;
		w->be->send_start(c);
	}
	while (w->reap) {
		eng_conn *c = w->reap;
		w->reap = c->reap_next;
		w->conn_free[w->nconn_free++] = c->idx;
	}
}

void eng__conns_close_all(eng_worker *w, int err)
{
	for (uint32_t i = 0; i < w->conns_used; i++) {
		eng_conn *c = w->conns[i];
		if (c && !(c->flags & (ENG_CF_FREE | ENG_CF_DEAD)))
			do_close(c, err);
	}
}

void eng__conns_fini(eng_worker *w)
{
	/* the ring is gone or never ran: nothing is in flight; owners are not called */
	for (uint32_t i = 0; i < w->conns_used; i++) {
		eng_conn *c = w->conns[i];
		if (c && !(c->flags & ENG_CF_FREE)) {
			c->flags &= ~(ENG_CF_READING | ENG_CF_SENDING | ENG_CF_CONNECTING |
				      ENG_CF_CANCELING | ENG_CF_REARM_PEND);
			c->flags |= ENG_CF_DEAD;
			c->ops = NULL;
			maybe_finish(c);
		}
		free(c);
	}
	free(w->conns);
	free(w->conn_free);
	w->conns = NULL;
	w->conn_free = NULL;
	w->conns_used = w->conns_cap = w->nconn_free = 0;
	w->reap = NULL;
	w->rearm_pending = NULL;
	w->send_pending = NULL;
}

/* ---- listeners ----------------------------------------------------------------------- */

eng_listener *eng_listen(eng_worker *w, const char *hostport, int flags, eng_tls_ctx *tls,
			 eng_accept_fn on_accept, void *udata, int *err)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int one = 1, rc, fd = -1;
	unsigned slot;
	eng_listener *l = NULL;

	for (slot = 0; slot < ENG_MAX_LISTENERS && w->listeners[slot]; slot++)
		;
	if (slot == ENG_MAX_LISTENERS) {
		rc = -EMFILE;
		goto fail;
	}
	if ((rc = eng_parse_hostport(hostport, &ss, &len)) < 0)
		goto fail;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | eng__sock_flags(w), 0);
	if (fd < 0) {
		rc = -errno;
		goto fail;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if ((flags & ENG_LISTEN_REUSEPORT) &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0) {
		rc = -errno;
		goto fail;
	}
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 4096) < 0) {
		rc = -errno;
		goto fail;
	}
	l = calloc(1, sizeof(*l));
	if (!l) {
		rc = -ENOMEM;
		goto fail;
	}
	l->w = w;
	l->fd = fd;
	l->idx = slot;
	l->on_accept = on_accept;
	l->tls = tls;
	l->udata = udata;
	l->addrlen = sizeof(l->addr);
	getsockname(fd, (struct sockaddr *)&l->addr, &l->addrlen);
	w->listeners[slot] = l;
	if ((rc = w->be->listen_arm(l)) < 0) {
		w->listeners[slot] = NULL;
		free(l);
		goto fail;
	}
	l->armed = 1;
	return l;
fail:
	if (fd >= 0)
		close(fd);
	if (err)
		*err = rc;
	return NULL;
}

int eng_listener_port(const eng_listener *l)
{
	if (l->addr.ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)&l->addr)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)&l->addr)->sin6_port);
}

void eng_listener_close(eng_listener *l)
{
	if (l->closing)
		return;
	l->closing = 1;
	l->w->be->listen_disarm(l); /* closes the fd and frees <l> when the ring lets go */
}

/* Called by backends when a listener is fully released. */
void eng__listener_free(eng_listener *l)
{
	l->w->listeners[l->idx] = NULL;
	if (l->fd >= 0)
		close(l->fd);
	free(l);
}

/* ---- connections for the control plane ----------------------------------------------------- */

/* Listed: it has an owner, is not closed, and is not on its way to another worker. */
static int listed(const eng_conn *c)
{
	return c && (c->flags & ENG_CF_STARTED) &&
	       !(c->flags & (ENG_CF_FREE | ENG_CF_DEAD | ENG_CF_HANDOVER));
}

void eng_conns_each(eng_worker *w, void (*fn)(eng_conn *c, void *arg), void *arg)
{
	/* w->conns may grow (and move) under <fn>: indexed afresh each time */
	for (uint32_t i = 0; i < w->conns_used; i++)
		if (listed(w->conns[i]))
			fn(w->conns[i], arg);
}

eng_conn *eng_conn_find(eng_worker *w, uint32_t idx, uint32_t gen)
{
	eng_conn *c = eng__conn_lookup(w, idx, gen);
	return listed(c) ? c : NULL;
}

void eng_conn_info(eng_conn *c, struct eng_conn_info *out)
{
	struct eng_conn_desc d = { 0 };
	socklen_t sl;

	memset(out, 0, sizeof(*out));
	out->worker = c->w->index;
	out->idx = c->idx;
	out->gen = c->gen;
	out->state = c->flags & ENG_CF_CONNECTING ? "connecting"
		     : c->flags & ENG_CF_CLOSING ? "closing"
		     : c->tls && !(c->flags & ENG_CF_TLS_READY) ? "handshake" : "open";
	out->outbound = (c->flags & ENG_CF_OUTBOUND) != 0;
	sl = sizeof(out->local);
	if (getsockname(c->fd, (struct sockaddr *)&out->local, &sl) < 0)
		out->local.ss_family = 0;
	sl = sizeof(out->remote);
	if (getpeername(c->fd, (struct sockaddr *)&out->remote, &sl) < 0)
		out->remote.ss_family = 0;
	out->age_ms = c->w->now_ms - c->created_ms;
	out->idle_ms = c->w->now_ms - c->last_recv_ms;
	out->bytes_in = c->bytes_in;
	out->bytes_out = c->bytes_out;
	out->sendq_bytes = c->sendq_bytes;
	out->profile = c->profile;
	if (c->ops && c->ops->describe)
		c->ops->describe(c, &d);
	out->protocol = d.protocol ? d.protocol : "unknown";
	out->transport = d.transport ? d.transport : c->tls ? "tls" : "tcp";
	out->sessions = d.sessions;
}

const struct eng_profile *eng_conn_profile(const eng_conn *c)
{
	return c->profile ? &c->w->e->cfg.profiles[c->profile - 1] : NULL;
}

uint32_t eng_conn_max_frame(const eng_conn *c)
{
	return c->profile ? c->w->e->cfg.profiles[c->profile - 1].max_frame : 0;
}

void eng_conn_frame(eng_conn *c, int pending, uint64_t *count)
{
	eng_worker *w = c->w;

	if (c->deadline_count == &w->st.tls_handshake_timeouts)
		return; /* the handshake's deadline runs */
	if (!pending)
		deadline_set(c, 0, NULL);
	else if (c->deadline_ms)
		c->deadline_count = count;
	else if (w->e->cfg.frame_ms)
		deadline_set(c, w->now_ms + w->e->cfg.frame_ms, count);
}

/* Aborts <c> when its deadline passed; 1 when it did. */
static int deadline_check(eng_worker *w, eng_conn *c)
{
	if (!c->deadline_ms || w->now_ms < c->deadline_ms)
		return 0;
	if (c->flags & ENG_CF_WR_SHUT) { /* lingered long enough: the peer had its answer */
		deadline_set(c, 0, NULL);
		do_close(c, 0);
		return 1;
	}
	uint64_t *count = c->deadline_count;
	int tls = count == &w->st.tls_handshake_timeouts;
	if (count)
		(*count)++;
	deadline_set(c, 0, NULL);
	CM_LOG_RL(CM_LOG_INFO, "connection %u-%u-%u: %s not done in time: closed", w->index,
		  c->idx, c->gen, tls ? "TLS handshake" : "frame");
	eng_abort(c, -ETIMEDOUT);
	return 1;
}

/* Aborts <c> when bytes wait in its send queue and none went for send_stall_ms: a peer
 * that reads nothing (a slow reader holding the daemon's buffers). 1 when it did. */
static int stall_check(eng_worker *w, eng_conn *c)
{
	if (!c->sendq_bytes || c->bytes_out != c->stall_out) {
		c->stall_out = c->bytes_out;
		c->stall_since_ms = c->sendq_bytes ? w->now_ms : 0;
		return 0;
	}
	if (!c->stall_since_ms) {
		c->stall_since_ms = w->now_ms;
		return 0;
	}
	if (w->now_ms - c->stall_since_ms < w->e->cfg.send_stall_ms)
		return 0;
	w->st.send_stalls++;
	CM_LOG_RL(CM_LOG_INFO, "connection %u-%u-%u: %u bytes queued and none sent for %u ms: "
		  "closed", w->index, c->idx, c->gen, c->sendq_bytes, w->e->cfg.send_stall_ms);
	eng_abort(c, -ETIMEDOUT);
	return 1;
}

void eng__profile_sweep(eng_timer *t)
{
	eng_worker *w = t->arg;
	const struct eng_profile *v = w->e->cfg.profiles;
	uint64_t gap = w->now_ms - w->swept_ms;

	/* the send queues are looked at every quarter of send_stall_ms, at most every
	 * ENG_STALL_SWEEP_MS: that walk is over every connection */
	uint32_t every = w->e->cfg.send_stall_ms / 4 < ENG_STALL_SWEEP_MS
				 ? w->e->cfg.send_stall_ms / 4 : ENG_STALL_SWEEP_MS;
	int stall = w->e->cfg.send_stall_ms && w->now_ms - w->stall_swept_ms >= every;

	w->swept_ms = w->now_ms;
	if (stall)
		w->stall_swept_ms = w->now_ms;
	for (uint32_t i = 0; i < w->conns_used && (w->deadlines || w->e->profile_timers || stall);
	     i++) {
		eng_conn *c = w->conns[i];
		if (!c || (c->flags & (ENG_CF_FREE | ENG_CF_DEAD | ENG_CF_HANDOVER)))
			continue;
		if (stall && stall_check(w, c))
			continue;
		if ((c->flags & (ENG_CF_PAUSED | ENG_CF_BP | ENG_CF_NOBUFS)) || c->stash) {
			/* not read by our own choice (back-pressure, a pause, a handover's held
			 * bytes): its silence starts when reading does, its deadline moves on */
			c->last_recv_ms = w->now_ms;
			if (c->deadline_ms)
				c->deadline_ms += gap;
			continue;
		}
		if (deadline_check(w, c) || !c->profile)
			continue;
		const struct eng_profile *p = &v[c->profile - 1];
		int up = !(c->flags & ENG_CF_CONNECTING) && (!c->tls || (c->flags & ENG_CF_TLS_READY));
		const char *what = NULL;
		if (!up && (c->flags & ENG_CF_OUTBOUND) && p->connect_timeout_ms &&
		    w->now_ms - c->created_ms >= p->connect_timeout_ms)
			what = "connect";
		else if (p->read_timeout_ms && w->now_ms - c->last_recv_ms >= p->read_timeout_ms)
			what = "read";
		if (!what)
			continue;
		w->st.profile_timeouts++;
		CM_LOG_RL(CM_LOG_INFO, "connection %u-%u-%u: %s timeout of profile %s", w->index,
			  c->idx, c->gen, what, p->text);
		eng_abort(c, -ETIMEDOUT); /* (a connect in flight is shut down) */
	}
	eng_timer_arm(w, t, ENG_PROFILE_SWEEP_MS);
}

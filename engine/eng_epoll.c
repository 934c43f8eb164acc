/* eng_epoll.c — the epoll backend, for where io_uring is refused (default Docker and
 * Kubernetes seccomp profiles, kernel.io_uring_disabled) or asked for.
 *
 * Level-triggered readiness turned into the same completions as io_uring: reads into pool
 * buffers, one writev per connection per iteration, connect by EPOLLOUT. Completions
 * that happen inside a call (a cancel, a send that went through at once) are deferred to
 * the next iteration, so that the core never sees a completion inside its own request. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/cm_log.h"
#include "engine/eng_int.h"

#define EP_EVENTS     256
#define EP_READS_MAX  16     /* reads per connection per event, for fairness */

struct ep_done {
	uint32_t idx, gen;
	enum eng_op op;
	int res;
};

struct epstate {
	int epfd;
	struct epoll_event ev[EP_EVENTS];
	struct ep_done *done;        /* deferred completions */
	uint32_t ndone, done_cap;
	eng_listener *dead_listeners;
};

static struct epstate *EP(eng_worker *w) { return w->be_state; }

static void defer(eng_worker *w, eng_conn *c, enum eng_op op, int res)
{
	struct epstate *s = EP(w);
	if (s->ndone == s->done_cap) {
		uint32_t cap = s->done_cap ? s->done_cap * 2 : 64;
		struct ep_done *d = realloc(s->done, cap * sizeof(*d));
		if (!d) {
			CM_ERR("worker %u: out of memory for deferred completions", w->index);
			abort(); /* losing a completion would leak a connection forever */
		}
		s->done = d;
		s->done_cap = cap;
	}
	s->done[s->ndone++] = (struct ep_done){ c->idx, c->gen, op, res };
}

/* Sets the epoll interest of <c> from its flags; DEL when nothing is wanted. */
static void interest(eng_conn *c, uint32_t want_read, uint32_t want_write)
{
	struct epstate *s = EP(c->w);
	uint32_t was = c->flags & (ENG_CF_WANT_READ | ENG_CF_WANT_WRITE);
	uint32_t now = (want_read ? ENG_CF_WANT_READ : 0) | (want_write ? ENG_CF_WANT_WRITE : 0);

	if (was == now || c->fd < 0)
		return;
	struct epoll_event ev = { .events = (want_read ? EPOLLIN : 0) | (want_write ? EPOLLOUT : 0),
				  .data.u64 = ENG_UD(ENG_OP_CONN_EV, c->gen, c->idx) };
	int op = !was ? EPOLL_CTL_ADD : !now ? EPOLL_CTL_DEL : EPOLL_CTL_MOD;
	if (epoll_ctl(s->epfd, op, c->fd, &ev) < 0)
		CM_LOG_RL(CM_LOG_WARN, "epoll_ctl(%d) fd %d: %s", op, c->fd, strerror(errno));
	c->flags = (c->flags & ~(ENG_CF_WANT_READ | ENG_CF_WANT_WRITE)) | now;
}

static int e_init(eng_worker *w, char *err, size_t errlen)
{
	struct epstate *s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s->epfd < 0) {
		snprintf(err, errlen, "epoll_create1: %s", strerror(errno));
		free(s);
		return -errno;
	}
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = ENG_UD(ENG_OP_WAKE, 0, 0) };
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, w->wake_fd, &ev) < 0) {
		snprintf(err, errlen, "epoll_ctl eventfd: %s", strerror(errno));
		close(s->epfd);
		free(s);
		return -errno;
	}
	w->be_state = s;
	return 0;
}

static void e_fini(eng_worker *w)
{
	struct epstate *s = EP(w);
	if (!s)
		return;
	while (s->dead_listeners) {
		eng_listener *l = s->dead_listeners;
		s->dead_listeners = l->next;
		free(l);
	}
	close(s->epfd);
	free(s->done);
	free(s);
	w->be_state = NULL;
}

static int e_listen_arm(eng_listener *l)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = ENG_UD(ENG_OP_ACCEPT, 0, l->idx) };
	return epoll_ctl(EP(l->w)->epfd, EPOLL_CTL_ADD, l->fd, &ev) < 0 ? -errno : 0;
}

static void e_listen_disarm(eng_listener *l)
{
	struct epstate *s = EP(l->w);
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, l->fd, NULL);
	l->w->listeners[l->idx] = NULL;
	close(l->fd);
	l->fd = -1;
	/* freed at the end of the iteration: the accept loop may still hold it */
	l->next = s->dead_listeners;
	s->dead_listeners = l;
}

static void e_recv_arm(eng_conn *c)
{
	c->flags |= ENG_CF_READING;
	interest(c, 1, c->flags & ENG_CF_WANT_WRITE);
}

static void e_recv_cancel(eng_conn *c)
{
	interest(c, 0, c->flags & ENG_CF_WANT_WRITE);
	defer(c->w, c, ENG_OP_RECV, -ECANCELED);
}

/* Sends from the queue head; a result (bytes or error) is deferred as a completion. */
static void try_send(eng_conn *c)
{
	struct iovec iov[ENG_SEND_IOV];
	struct msghdr mh = { .msg_iov = iov };
	unsigned n = 0;

	for (eng_seg *s = c->sendq_head; s && n < ENG_SEND_IOV; s = s->next, n++) {
		iov[n].iov_base = s->b->data + s->off;
		iov[n].iov_len = s->len;
	}
	mh.msg_iovlen = n;
	ssize_t r = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		interest(c, c->flags & ENG_CF_WANT_READ, 1);
		return;
	}
	interest(c, c->flags & ENG_CF_WANT_READ, 0);
	defer(c->w, c, ENG_OP_SEND, r < 0 ? -errno : (int)r);
}

static void e_send_start(eng_conn *c)
{
	try_send(c);
}

static int e_connect(eng_conn *c, const struct sockaddr *sa, socklen_t len)
{
	if (connect(c->fd, sa, len) == 0) {
		defer(c->w, c, ENG_OP_CONNECT, 0);
		return 0;
	}
	if (errno != EINPROGRESS)
		return -errno;
	interest(c, 0, 1);
	return 0;
}

static void e_conn_release(eng_conn *c)
{
	interest(c, 0, 0);
}

static uint32_t to_epoll(uint32_t ev)
{
	return ((ev & POLLIN) ? EPOLLIN : 0) | ((ev & POLLOUT) ? EPOLLOUT : 0);
}

static int e_poll_arm(eng_poll *p)
{
	struct epoll_event ev = { .events = to_epoll(p->events),
				  .data.u64 = ENG_UD(ENG_OP_POLL, p->w->poll_gen[p->idx], p->idx) };
	return epoll_ctl(EP(p->w)->epfd, EPOLL_CTL_ADD, p->fd, &ev) < 0 ? -errno : 0;
}

static void e_poll_disarm(eng_poll *p)
{
	epoll_ctl(EP(p->w)->epfd, EPOLL_CTL_DEL, p->fd, NULL);
}

static void e_wake(eng_worker *to, eng_worker *from)
{
	if (from != to)
		eventfd_write(to->wake_fd, 1);
}

static void on_accept_ready(eng_worker *w, uint32_t idx)
{
	eng_listener *l = idx < ENG_MAX_LISTENERS ? w->listeners[idx] : NULL;

	for (int i = 0; l && !l->closing && i < 64; i++) {
		int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				CM_LOG_RL(CM_LOG_WARN, "accept: %s", strerror(errno));
			break;
		}
		eng__accepted(l, fd);
	}
}

static void on_readable(eng_conn *c)
{
	eng_worker *w = c->w;

	for (int i = 0; i < EP_READS_MAX; i++) {
		if ((c->flags & (ENG_CF_READING | ENG_CF_CANCELING | ENG_CF_DEAD)) != ENG_CF_READING)
			return;
		eng_buf *b = eng_buf_get(w);
		if (!b) {
			interest(c, 0, c->flags & ENG_CF_WANT_WRITE);
			eng__recv_end(c, -ENOBUFS);
			return;
		}
		ssize_t n = recv(c->fd, b->data, b->cap, MSG_DONTWAIT);
		if (n > 0) {
			eng__recv(c, b, (uint32_t)n);
			if ((uint32_t)n < b->cap)
				return; /* drained; level-triggered epoll tells if more came */
			continue;
		}
		eng_buf_unref(w, b);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return;
		int res = n == 0 ? 0 : -errno;
		interest(c, 0, c->flags & ENG_CF_WANT_WRITE);
		eng__recv_end(c, res);
		return;
	}
}

static void on_conn_event(eng_worker *w, uint64_t ud, uint32_t ev)
{
	eng_conn *c = eng__conn_lookup(w, ENG_UD_IDX(ud), ENG_UD_GEN(ud));
	if (!c)
		return;
	if (c->flags & ENG_CF_CONNECTING) {
		int err = 0;
		socklen_t len = sizeof(err);
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		interest(c, 0, 0);
		eng__connect_done(c, -err);
		return;
	}
	if ((ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) && (c->flags & ENG_CF_WANT_READ))
		on_readable(c);
	if ((ev & (EPOLLOUT | EPOLLHUP | EPOLLERR)) && (c->flags & ENG_CF_WANT_WRITE) &&
	    (c->flags & ENG_CF_SENDING) && !(c->flags & ENG_CF_FREE))
		try_send(c);
	/* hang-up while we want neither direction: stop hearing about it */
	if ((ev & (EPOLLHUP | EPOLLERR)) && !(c->flags & ENG_CF_FREE) &&
	    !(c->flags & (ENG_CF_READING | ENG_CF_SENDING)))
		interest(c, 0, 0);
}

static void run_deferred(eng_worker *w)
{
	struct epstate *s = EP(w);
	uint32_t n = s->ndone;

	/* completions deferred while these run wait for the next iteration */
	for (uint32_t i = 0; i < n; i++) {
		struct ep_done d = s->done[i];
		eng_conn *c = eng__conn_lookup(w, d.idx, d.gen);
		if (!c)
			continue;
		switch (d.op) {
		case ENG_OP_RECV:
			eng__recv_end(c, d.res);
			break;
		case ENG_OP_SEND:
			eng__send_done(c, d.res);
			break;
		case ENG_OP_CONNECT:
			eng__connect_done(c, d.res);
			break;
		default:
			break;
		}
	}
	if (s->ndone > n)
		memmove(s->done, s->done + n, (s->ndone - n) * sizeof(*s->done));
	s->ndone -= n;
}

static void e_run_once(eng_worker *w, int timeout_ms)
{
	struct epstate *s = EP(w);

	if (s->ndone)
		timeout_ms = 0;
	int n = epoll_wait(s->epfd, s->ev, EP_EVENTS, timeout_ms);
	w->st.submits++;
	eng__clock(w);
	if (n < 0 && errno != EINTR)
		CM_LOG_RL(CM_LOG_ERROR, "worker %u: epoll_wait: %s", w->index, strerror(errno));
	if (n > 0)
		w->st.completions += (uint64_t)n;
	for (int i = 0; i < n; i++) {
		uint64_t ud = s->ev[i].data.u64;
		uint64_t v;
		switch (ENG_UD_OP(ud)) {
		case ENG_OP_ACCEPT:
			on_accept_ready(w, ENG_UD_IDX(ud));
			break;
		case ENG_OP_CONN_EV:
			on_conn_event(w, ud, s->ev[i].events);
			break;
		case ENG_OP_POLL: {
			uint32_t ev = s->ev[i].events, re = 0;
			re |= (ev & EPOLLIN) ? POLLIN : 0;
			re |= (ev & EPOLLOUT) ? POLLOUT : 0;
			re |= (ev & EPOLLERR) ? POLLERR : 0;
			re |= (ev & EPOLLHUP) ? POLLHUP : 0;
			eng__poll_event(w, ENG_UD_IDX(ud), ENG_UD_GEN(ud), re, 1);
			break;
		}
		case ENG_OP_WAKE:
			if (read(w->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
				CM_LOG_RL(CM_LOG_WARN, "eventfd read: %s", strerror(errno));
			break;
		default:
			break;
		}
	}
	run_deferred(w);
}

static void e_flush(eng_worker *w)
{
	struct epstate *s = EP(w);
	while (s->dead_listeners) {
		eng_listener *l = s->dead_listeners;
		s->dead_listeners = l->next;
		free(l);
	}
}

const eng_backend_ops eng_epoll_ops = {
	.name = "epoll",
	.init = e_init,
	.fini = e_fini,
	.listen_arm = e_listen_arm,
	.listen_disarm = e_listen_disarm,
	.recv_arm = e_recv_arm,
	.recv_cancel = e_recv_cancel,
	.send_start = e_send_start,
	.connect = e_connect,
	.conn_release = e_conn_release,
	.poll_arm = e_poll_arm,
	.poll_disarm = e_poll_disarm,
	.wake = e_wake,
	.run_once = e_run_once,
	.flush = e_flush,
};

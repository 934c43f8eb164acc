/* eng_uring.c — the io_uring backend.
 *
 * One ring per worker, set up on the worker's own thread (SINGLE_ISSUER | DEFER_TASKRUN
 * when the kernel has them). Multishot accept, multishot recv on a provided-buffer ring
 * whose ids are the pool's buffer indexes, one send (or sendmsg over up to ENG_SEND_IOV
 * segments) in flight per connection, wake-ups by MSG_RING from other workers and by an
 * eventfd read from other threads. Every iteration submits its whole batch in one enter. */
#include <errno.h>
#include <liburing.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/cm_log.h"
#include "engine/eng_int.h"

#define BGID 0
#define WAKE_MSG_RING 1   /* generation field of a wake-up posted by MSG_RING */

/* Per in-flight send or connect: the kernel reads these until the completion. */
struct uctx {
	union {
		struct {
			struct msghdr mh;
			struct iovec iov[ENG_SEND_IOV];
		} send;
		struct sockaddr_storage sa;
	} u;
	struct uctx *next;
};

struct ustate {
	struct io_uring ring;
	struct io_uring_buf_ring *br;
	size_t br_size;
	uint32_t br_entries;
	uint32_t posted;           /* buffers the kernel holds */
	uint64_t wake_val;         /* eventfd read target */
	struct uctx *ctx_free;
	void **ctx_chunks;
	uint32_t nctx_chunks;
	unsigned setup_flags;
};

static struct ustate *US(eng_worker *w) { return w->be_state; }

int eng_uring_probe(char *why, size_t len)
{
	struct io_uring ring;
	int rc = io_uring_queue_init(4, &ring, 0);

	if (rc < 0) {
		snprintf(why, len, "io_uring_setup: %s%s", strerror(-rc),
			 rc == -EPERM ? " (seccomp or kernel.io_uring_disabled)" : "");
		return rc;
	}
	struct io_uring_probe *p = io_uring_get_probe_ring(&ring);
	int ok = p && io_uring_opcode_supported(p, IORING_OP_MSG_RING) &&
		 io_uring_opcode_supported(p, IORING_OP_SEND) &&
		 io_uring_opcode_supported(p, IORING_OP_ACCEPT);
	if (p)
		io_uring_free_probe(p);
	io_uring_queue_exit(&ring);
	if (!ok) {
		snprintf(why, len, "kernel io_uring lacks MSG_RING/SEND/ACCEPT");
		return -ENOSYS;
	}
	return 0;
}

static struct io_uring_sqe *sqe_get(eng_worker *w)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&US(w)->ring);
	while (!sqe) {
		io_uring_submit(&US(w)->ring); /* SQ full: push the batch so far */
		w->st.submits++;
		sqe = io_uring_get_sqe(&US(w)->ring);
	}
	return sqe;
}

static struct uctx *ctx_get(eng_worker *w)
{
	struct ustate *u = US(w);
	if (!u->ctx_free) {
		enum { N = 64 };
		struct uctx *c = calloc(N, sizeof(*c));
		void **chunks = c ? realloc(u->ctx_chunks, (u->nctx_chunks + 1) * sizeof(void *)) : NULL;
		if (!chunks) {
			free(c);
			return NULL;
		}
		u->ctx_chunks = chunks;
		u->ctx_chunks[u->nctx_chunks++] = c;
		for (unsigned i = 0; i < N; i++) {
			c[i].next = u->ctx_free;
			u->ctx_free = &c[i];
		}
	}
	struct uctx *c = u->ctx_free;
	u->ctx_free = c->next;
	return c;
}

static void ctx_put(eng_worker *w, struct uctx *c)
{
	c->next = US(w)->ctx_free;
	US(w)->ctx_free = c;
}

static void arm_wake(eng_worker *w)
{
	struct io_uring_sqe *sqe = sqe_get(w);
	io_uring_prep_read(sqe, w->wake_fd, &US(w)->wake_val, sizeof(US(w)->wake_val), 0);
	io_uring_sqe_set_data64(sqe, ENG_UD(ENG_OP_WAKE, 0, 0));
}

static int u_init(eng_worker *w, char *err, size_t errlen)
{
	struct ustate *u = calloc(1, sizeof(*u));
	struct io_uring_params p;
	const struct eng_config *cfg = &w->e->cfg;
	int rc;

	if (!u) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
	p.cq_entries = cfg->ring_entries * 4;
	p.flags |= IORING_SETUP_CQSIZE;
	rc = io_uring_queue_init_params(cfg->ring_entries, &u->ring, &p);
	if (rc == -EINVAL) {
		memset(&p, 0, sizeof(p));
		p.flags = IORING_SETUP_CQSIZE;
		p.cq_entries = cfg->ring_entries * 4;
		rc = io_uring_queue_init_params(cfg->ring_entries, &u->ring, &p);
	}
	if (rc < 0) {
		snprintf(err, errlen, "io_uring_queue_init: %s", strerror(-rc));
		free(u);
		return rc;
	}
	u->setup_flags = p.flags;
	w->be_state = u;

	u->br_entries = cfg->buf_ring_entries;
	u->br_size = u->br_entries * sizeof(struct io_uring_buf);
	u->br = mmap(NULL, u->br_size, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
	if (u->br == MAP_FAILED) {
		snprintf(err, errlen, "mmap buffer ring: %s", strerror(errno));
		u->br = NULL;
		return -ENOMEM;
	}
	io_uring_buf_ring_init(u->br);
	struct io_uring_buf_reg reg = { .ring_addr = (uintptr_t)u->br,
					.ring_entries = u->br_entries, .bgid = BGID };
	rc = io_uring_register_buf_ring(&u->ring, &reg, 0);
	if (rc < 0) {
		snprintf(err, errlen, "io_uring_register_buf_ring: %s", strerror(-rc));
		return rc;
	}
	arm_wake(w);
	w->be->flush(w);
	CM_DEBUG("worker %u: io_uring ring fd %d, flags 0x%x%s", w->index, u->ring.ring_fd,
		 u->setup_flags,
		 (u->setup_flags & IORING_SETUP_DEFER_TASKRUN) ? " (single issuer, defer taskrun)" : "");
	return 0;
}

static void u_fini(eng_worker *w)
{
	struct ustate *u = US(w);
	if (!u)
		return;
	if (u->ring.ring_fd >= 0)
		io_uring_queue_exit(&u->ring);
	if (u->br)
		munmap(u->br, u->br_size);
	for (uint32_t i = 0; i < u->nctx_chunks; i++)
		free(u->ctx_chunks[i]);
	free(u->ctx_chunks);
	free(u);
	w->be_state = NULL;
}

/* Keeps the provided-buffer ring full from the pool. */
static void u_flush(eng_worker *w)
{
	struct ustate *u = US(w);
	int mask = io_uring_buf_ring_mask(u->br_entries), added = 0;

	while (u->posted < u->br_entries) {
		eng_buf *b = eng__buf_take(w);
		if (!b)
			break;
		io_uring_buf_ring_add(u->br, b->data, b->cap, (unsigned short)b->idx, mask, added++);
		u->posted++;
	}
	w->ring_posted = u->posted;
	if (added)
		io_uring_buf_ring_advance(u->br, added);
}

static int u_listen_arm(eng_listener *l)
{
	struct io_uring_sqe *sqe = sqe_get(l->w);
	io_uring_prep_multishot_accept(sqe, l->fd, NULL, NULL, SOCK_CLOEXEC);
	io_uring_sqe_set_data64(sqe, ENG_UD(ENG_OP_ACCEPT, 0, l->idx));
	return 0;
}

static void u_listen_disarm(eng_listener *l)
{
	struct io_uring_sqe *sqe = sqe_get(l->w);
	io_uring_prep_cancel64(sqe, ENG_UD(ENG_OP_ACCEPT, 0, l->idx), 0);
	io_uring_sqe_set_data64(sqe, 0);
}

static void u_recv_arm(eng_conn *c)
{
	struct io_uring_sqe *sqe = sqe_get(c->w);
	if (c->flags & ENG_CF_SINGLESHOT)
		io_uring_prep_recv(sqe, c->fd, NULL, 0, 0);
	else
		io_uring_prep_recv_multishot(sqe, c->fd, NULL, 0, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = BGID;
	io_uring_sqe_set_data64(sqe, ENG_UD(ENG_OP_RECV, c->gen, c->idx));
	c->flags |= ENG_CF_READING;
}

static void u_recv_cancel(eng_conn *c)
{
	struct io_uring_sqe *sqe = sqe_get(c->w);
	io_uring_prep_cancel64(sqe, ENG_UD(ENG_OP_RECV, c->gen, c->idx), 0);
	io_uring_sqe_set_data64(sqe, 0);
}

static void u_send_start(eng_conn *c)
{
	eng_worker *w = c->w;
	struct uctx *x = ctx_get(w);
	if (!x) {
		c->flags &= ~ENG_CF_SENDING;
		eng_abort(c, -ENOMEM);
		return;
	}
	struct io_uring_sqe *sqe = sqe_get(w);
	eng_seg *s = c->sendq_head;

	if (!s->next) {
		io_uring_prep_send(sqe, c->fd, s->b->data + s->off, s->len, MSG_NOSIGNAL);
	} else {
		unsigned n = 0;
		for (; s && n < ENG_SEND_IOV; s = s->next, n++) {
			x->u.send.iov[n].iov_base = s->b->data + s->off;
			x->u.send.iov[n].iov_len = s->len;
		}
		memset(&x->u.send.mh, 0, sizeof(x->u.send.mh));
		x->u.send.mh.msg_iov = x->u.send.iov;
		x->u.send.mh.msg_iovlen = n;
		io_uring_prep_sendmsg(sqe, c->fd, &x->u.send.mh, MSG_NOSIGNAL);
	}
	io_uring_sqe_set_data64(sqe, ENG_UD(ENG_OP_SEND, c->gen, c->idx));
	c->backend_data = x;
}

static int u_connect(eng_conn *c, const struct sockaddr *sa, socklen_t len)
{
	struct uctx *x = ctx_get(c->w);
	if (!x)
		return -ENOMEM;
	memcpy(&x->u.sa, sa, len);
	struct io_uring_sqe *sqe = sqe_get(c->w);
	io_uring_prep_connect(sqe, c->fd, (struct sockaddr *)&x->u.sa, len);
	io_uring_sqe_set_data64(sqe, ENG_UD(ENG_OP_CONNECT, c->gen, c->idx));
	c->backend_data = x;
	return 0;
}

static void u_conn_release(eng_conn *c)
{
	(void)c; /* contexts go back at their completions */
}

static int u_poll_arm(eng_poll *p)
{
	struct io_uring_sqe *sqe = sqe_get(p->w);
	io_uring_prep_poll_multishot(sqe, p->fd, p->events);
	io_uring_sqe_set_data64(sqe, ENG_UD(ENG_OP_POLL, p->w->poll_gen[p->idx], p->idx));
	return 0;
}

static void u_poll_disarm(eng_poll *p)
{
	struct io_uring_sqe *sqe = sqe_get(p->w);
	io_uring_prep_poll_remove(sqe, ENG_UD(ENG_OP_POLL, p->w->poll_gen[p->idx], p->idx));
	io_uring_sqe_set_data64(sqe, 0);
}

static void u_wake(eng_worker *to, eng_worker *from)
{
	if (from && from != to && from->be == &eng_uring_ops && from->be_state) {
		struct io_uring_sqe *sqe = sqe_get(from);
		io_uring_prep_msg_ring(sqe, US(to)->ring.ring_fd, 0,
				       ENG_UD(ENG_OP_WAKE, WAKE_MSG_RING, 0), 0);
		io_uring_sqe_set_data64(sqe, 0);
		return;
	}
	if (from == to)
		return;
	eventfd_write(to->wake_fd, 1);
}

static void on_accept_cqe(eng_worker *w, struct io_uring_cqe *cqe)
{
	uint32_t idx = ENG_UD_IDX(cqe->user_data);
	eng_listener *l = idx < ENG_MAX_LISTENERS ? w->listeners[idx] : NULL;

	if (!l) {
		if (cqe->res >= 0)
			close(cqe->res);
		return;
	}
	if (cqe->res >= 0)
		eng__accepted(l, cqe->res);
	else if (cqe->res != -ECANCELED)
		CM_LOG_RL(CM_LOG_WARN, "accept: %s", strerror(-cqe->res));
	if (!(cqe->flags & IORING_CQE_F_MORE)) {
		if (l->closing)
			eng__listener_free(l);
		else
			u_listen_arm(l);
	}
}

static void on_recv_cqe(eng_worker *w, struct io_uring_cqe *cqe)
{
	struct ustate *u = US(w);
	eng_buf *b = NULL;

	if (cqe->flags & IORING_CQE_F_BUFFER) {
		b = eng__buf_at(w, cqe->flags >> IORING_CQE_BUFFER_SHIFT);
		u->posted--;
		w->ring_posted = u->posted;
		b->refs = 1;
	}
	eng_conn *c = eng__conn_lookup(w, ENG_UD_IDX(cqe->user_data), ENG_UD_GEN(cqe->user_data));
	if (!c) {
		if (b)
			eng_buf_unref(w, b);
		return;
	}
	if (cqe->res > 0 && b)
		eng__recv(c, b, (uint32_t)cqe->res);
	else if (b)
		eng_buf_unref(w, b);
	if (!(cqe->flags & IORING_CQE_F_MORE))
		eng__recv_end(c, cqe->res > 0 ? -EAGAIN : cqe->res);
}

static void dispatch(eng_worker *w, struct io_uring_cqe *cqe)
{
	uint64_t ud = cqe->user_data;
	eng_conn *c;

	switch (ENG_UD_OP(ud)) {
	case ENG_OP_NONE:
		break;
	case ENG_OP_ACCEPT:
		on_accept_cqe(w, cqe);
		break;
	case ENG_OP_RECV:
		on_recv_cqe(w, cqe);
		break;
	case ENG_OP_SEND:
		c = eng__conn_lookup(w, ENG_UD_IDX(ud), ENG_UD_GEN(ud));
		if (!c)
			break;
		ctx_put(w, c->backend_data);
		c->backend_data = NULL;
		if (cqe->res == -EAGAIN) { /* try again when writable */
			u_send_start(c);
			break;
		}
		eng__send_done(c, cqe->res);
		break;
	case ENG_OP_CONNECT:
		c = eng__conn_lookup(w, ENG_UD_IDX(ud), ENG_UD_GEN(ud));
		if (!c)
			break;
		ctx_put(w, c->backend_data);
		c->backend_data = NULL;
		eng__connect_done(c, cqe->res);
		break;
	case ENG_OP_POLL:
		eng__poll_event(w, ENG_UD_IDX(ud), ENG_UD_GEN(ud),
				cqe->res < 0 ? POLLERR : (uint32_t)cqe->res,
				!!(cqe->flags & IORING_CQE_F_MORE));
		break;
	case ENG_OP_WAKE:
		if (ENG_UD_GEN(ud) != WAKE_MSG_RING)
			arm_wake(w);
		break;
	default:
		break;
	}
}

static void u_run_once(eng_worker *w, int timeout_ms)
{
	struct ustate *u = US(w);
	struct io_uring_cqe *cqe;
	unsigned head, n = 0;
	int rc;

	if (timeout_ms == 0) {
		rc = io_uring_submit_and_get_events(&u->ring);
	} else if (timeout_ms < 0) {
		rc = io_uring_submit_and_wait(&u->ring, 1);
	} else {
		struct __kernel_timespec ts = { .tv_sec = timeout_ms / 1000,
						.tv_nsec = (long)(timeout_ms % 1000) * 1000000L };
		rc = io_uring_submit_and_wait_timeout(&u->ring, &cqe, 1, &ts, NULL);
	}
	w->st.submits++;
	eng__clock(w);
	if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EBUSY && rc != -EAGAIN)
		CM_LOG_RL(CM_LOG_ERROR, "worker %u: io_uring_enter: %s", w->index, strerror(-rc));
	io_uring_for_each_cqe(&u->ring, head, cqe) {
		dispatch(w, cqe);
		n++;
	}
	io_uring_cq_advance(&u->ring, n);
	w->st.completions += n;
}

const eng_backend_ops eng_uring_ops = {
	.name = "io_uring",
	.init = u_init,
	.fini = u_fini,
	.listen_arm = u_listen_arm,
	.listen_disarm = u_listen_disarm,
	.recv_arm = u_recv_arm,
	.recv_cancel = u_recv_cancel,
	.send_start = u_send_start,
	.connect = u_connect,
	.conn_release = u_conn_release,
	.poll_arm = u_poll_arm,
	.poll_disarm = u_poll_disarm,
	.wake = u_wake,
	.run_once = u_run_once,
	.flush = u_flush,
};

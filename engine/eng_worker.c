/* eng_worker.c — engine life cycle, the worker loop, mailboxes and the timer wheel. */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "common/cm_log.h"
#include "engine/eng_int.h"
#include "engine/eng_profile.h"

static _Thread_local eng_worker *tls_self;

void eng_config_defaults(struct eng_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->backend = ENG_BACKEND_AUTO;
	cfg->workers = 0;
	cfg->pin = 1;
	cfg->buf_size = 16384;
	cfg->bufs_max = 8192;
	cfg->buf_ring_entries = 1024;
	cfg->ring_entries = 1024;
	cfg->sendq_high = 256 * 1024;
	cfg->sendq_low = 64 * 1024;
	cfg->mailbox_size = 4096;
	cfg->timer_tick_ms = 10;
	cfg->max_conns = 262144;
	cfg->tls_handshake_ms = 10000;
	cfg->frame_ms = 30000;
	cfg->send_stall_ms = 60000;
}

static uint64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint64_t mono_ms(void)
{
	return mono_us() / 1000u;
}

/* One reading of the clock for both of the worker's times. */
static void clock_read(eng_worker *w)
{
	w->now_us = mono_us();
	w->now_ms = w->now_us / 1000u;
}

void eng__clock(eng_worker *w)
{
	clock_read(w);
}

/* ---- mailbox: bounded MPSC ring of cells with sequence numbers --------------------- */

int eng__mbox_init(struct eng_mbox *m, size_t size)
{
	m->cells = calloc(size, sizeof(*m->cells));
	if (!m->cells)
		return -ENOMEM;
	for (size_t i = 0; i < size; i++)
		atomic_init(&m->cells[i].seq, i);
	m->mask = size - 1;
	m->head = 0;
	atomic_init(&m->tail, 0);
	return 0;
}

void eng__mbox_fini(struct eng_mbox *m)
{
	free(m->cells);
	m->cells = NULL;
}

int eng__mbox_push(struct eng_mbox *m, eng_msg_fn fn, void *arg, uint64_t u64)
{
	size_t pos = atomic_load_explicit(&m->tail, memory_order_relaxed);
	struct eng_mbox_cell *cell;

	for (;;) {
		cell = &m->cells[pos & m->mask];
		size_t seq = atomic_load_explicit(&cell->seq, memory_order_acquire);
		intptr_t dif = (intptr_t)seq - (intptr_t)pos;
		if (dif == 0) {
			if (atomic_compare_exchange_weak_explicit(&m->tail, &pos, pos + 1,
								  memory_order_relaxed,
								  memory_order_relaxed))
				break;
		} else if (dif < 0) {
			return -EAGAIN; /* full */
		} else {
			pos = atomic_load_explicit(&m->tail, memory_order_relaxed);
		}
	}
	cell->fn = fn;
	cell->arg = arg;
	cell->u64 = u64;
	atomic_store_explicit(&cell->seq, pos + 1, memory_order_release);
	return 0;
}

unsigned eng__mbox_run(eng_worker *w, unsigned max)
{
	struct eng_mbox *m = &w->mbox;
	unsigned n = 0;

	while (n < max) {
		struct eng_mbox_cell *cell = &m->cells[m->head & m->mask];
		size_t seq = atomic_load_explicit(&cell->seq, memory_order_acquire);
		if (seq != m->head + 1)
			break;
		eng_msg_fn fn = cell->fn;
		void *arg = cell->arg;
		uint64_t u64 = cell->u64;
		atomic_store_explicit(&cell->seq, m->head + m->mask + 1, memory_order_release);
		m->head++;
		n++;
		fn(w, arg, u64);
	}
	w->st.mailbox_in += n;
	return n;
}

static int mbox_nonempty(eng_worker *w)
{
	struct eng_mbox *m = &w->mbox;
	struct eng_mbox_cell *cell = &m->cells[m->head & m->mask];
	return atomic_load_explicit(&cell->seq, memory_order_acquire) == m->head + 1;
}

int eng_post(eng_worker *to, eng_msg_fn fn, void *arg, uint64_t u64)
{
	if (eng__mbox_push(&to->mbox, fn, arg, u64) < 0) {
		atomic_fetch_add_explicit(&to->mbox_full, 1, memory_order_relaxed);
		return -EAGAIN;
	}
	/* posting to oneself needs no wake-up (the loop looks at the mailbox before it
	 * sleeps) and must not close the gate that other threads' wake-ups go through */
	if (to != tls_self && atomic_exchange(&to->wake_pending, 1) == 0)
		to->be->wake(to, tls_self);
	return 0;
}

/* ---- timer wheel ------------------------------------------------------------------- */

void eng_timer_init(eng_timer *t, eng_timer_fn fn, void *arg)
{
	t->next = NULL;
	t->pprev = NULL;
	t->expires_ms = 0;
	t->fn = fn;
	t->arg = arg;
}

static void timer_unlink(eng_timer *t)
{
	if (t->next)
		t->next->pprev = t->pprev;
	*t->pprev = t->next;
	t->next = NULL;
	t->pprev = NULL;
}

static void timer_link(eng_worker *w, eng_timer *t)
{
	uint32_t tick = w->e->cfg.timer_tick_ms;
	uint64_t at = (t->expires_ms + tick - 1) / tick;
	if (at <= w->wheel_tick)
		at = w->wheel_tick + 1; /* never into a slot already passed this round */
	eng_timer **slot = &w->wheel[at & (ENG_WHEEL_SLOTS - 1)];
	t->next = *slot;
	if (t->next)
		t->next->pprev = &t->next;
	*slot = t;
	t->pprev = slot;
}

void eng_timer_arm(eng_worker *w, eng_timer *t, uint64_t ms)
{
	if (t->pprev)
		timer_unlink(t);
	else
		w->timers_armed++;
	t->expires_ms = w->now_ms + ms;
	timer_link(w, t);
}

void eng_timer_cancel(eng_timer *t)
{
	if (!t->pprev)
		return;
	timer_unlink(t);
	eng_worker *w = eng_self();
	if (w && w->timers_armed)
		w->timers_armed--;
}

void eng__timers_run(eng_worker *w)
{
	uint32_t tick = w->e->cfg.timer_tick_ms;
	uint64_t now_tick = w->now_ms / tick;
	uint64_t steps = now_tick - w->wheel_tick;

	if (steps > ENG_WHEEL_SLOTS)
		steps = ENG_WHEEL_SLOTS; /* a long stall: every slot once is enough */
	for (uint64_t s = 0; s < steps && w->timers_armed; s++) {
		uint64_t at = now_tick - steps + 1 + s;
		eng_timer **slot = &w->wheel[at & (ENG_WHEEL_SLOTS - 1)];
		eng_timer *list = *slot;
		/* this slot counts as passed: timers armed by the callbacks below go to a
		 * later one, never back into the list being swept */
		w->wheel_tick = at;
		*slot = NULL;
		if (list)
			list->pprev = &list;
		while (list) {
			eng_timer *t = list;
			timer_unlink(t);
			if (t->expires_ms <= w->now_ms) {
				w->timers_armed--;
				t->fn(t);
			} else {
				timer_link(w, t); /* a later round: back into the (emptied) slot */
			}
		}
	}
	w->wheel_tick = now_tick;
}

int eng__timers_next_ms(eng_worker *w)
{
	if (!w->timers_armed)
		return -1;
	uint32_t tick = w->e->cfg.timer_tick_ms;
	uint64_t next = (w->wheel_tick + 1) * tick;
	return next > w->now_ms ? (int)(next - w->now_ms) : 0;
}

/* ---- engine -------------------------------------------------------------------------- */

static void worker_free(eng_worker *w)
{
	if (!w)
		return;
	if (w->conns)
		eng__conns_fini(w);
	eng__hep_free(w);
	for (unsigned i = 0; i < ENG_MAX_LISTENERS; i++)
		if (w->listeners[i])
			eng__listener_free(w->listeners[i]);
	if (w->be && w->be_state)
		w->be->fini(w);
	eng__pool_fini(w);
	eng__mbox_fini(&w->mbox);
	if (w->wake_fd >= 0)
		close(w->wake_fd);
	free(w);
}

static unsigned pick_cpu(unsigned i, cpu_set_t *set)
{
	unsigned n = 0;
	for (unsigned c = 0; c < CPU_SETSIZE; c++) {
		if (!CPU_ISSET(c, set))
			continue;
		if (n++ == i)
			return c;
	}
	return i;
}

eng_engine *eng_create(const struct eng_config *cfg, char *err, size_t errlen)
{
	eng_engine *e = calloc(1, sizeof(*e));
	cpu_set_t set;

	if (!e) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	e->cfg = *cfg;
	e->cfg.profiles = NULL;
	e->cfg.nprofiles = 0;
	if (cfg->nprofiles) {
		struct eng_profile *p = calloc(cfg->nprofiles, sizeof(*p));
		if (!p) {
			free(e);
			snprintf(err, errlen, "out of memory");
			return NULL;
		}
		memcpy(p, cfg->profiles, cfg->nprofiles * sizeof(*p));
		e->cfg.profiles = p;
		e->cfg.nprofiles = cfg->nprofiles;
		for (unsigned i = 0; i < cfg->nprofiles; i++)
			e->profile_timers |= p[i].connect_timeout_ms || p[i].read_timeout_ms;
	}
	CPU_ZERO(&set);
	if (sched_getaffinity(0, sizeof(set), &set) < 0 || CPU_COUNT(&set) == 0) {
		for (long c = 0; c < sysconf(_SC_NPROCESSORS_ONLN) && c < CPU_SETSIZE; c++)
			CPU_SET(c, &set);
	}
	if (e->cfg.workers == 0)
		e->cfg.workers = (unsigned)CPU_COUNT(&set);
	if (e->cfg.sendq_low >= e->cfg.sendq_high)
		e->cfg.sendq_low = e->cfg.sendq_high / 2;
	if (e->cfg.bufs_max > 65535)
		e->cfg.bufs_max = 65535;
	if (e->cfg.buf_ring_entries > e->cfg.bufs_max / 2) {
		uint32_t r = 16;
		while (r * 4 <= e->cfg.bufs_max)
			r *= 2;
		e->cfg.buf_ring_entries = r;
	}

	/* backend choice */
	char why[128];
	switch (cfg->backend) {
	case ENG_BACKEND_EPOLL:
		e->backend = ENG_BACKEND_EPOLL;
		snprintf(e->reason, sizeof(e->reason), "configured (engine.backend = epoll)");
		break;
	case ENG_BACKEND_IO_URING:
		if (eng_uring_probe(why, sizeof(why)) < 0) {
			snprintf(err, errlen, "engine.backend = io_uring, but %s", why);
			free(e);
			return NULL;
		}
		e->backend = ENG_BACKEND_IO_URING;
		snprintf(e->reason, sizeof(e->reason), "configured (engine.backend = io_uring)");
		break;
	default:
		if (eng_uring_probe(why, sizeof(why)) < 0) {
			e->backend = ENG_BACKEND_EPOLL;
			snprintf(e->reason, sizeof(e->reason), "io_uring unavailable: %s", why);
		} else {
			e->backend = ENG_BACKEND_IO_URING;
			snprintf(e->reason, sizeof(e->reason), "default (io_uring available)");
		}
	}

	e->n = e->cfg.workers;
	e->w = calloc(e->n, sizeof(*e->w));
	if (!e->w)
		goto oom;
	for (unsigned i = 0; i < e->n; i++) {
		/* its cross-thread fields sit on their own cache lines: calloc does not
		 * honour _Alignas(64) */
		size_t wsize = (sizeof(eng_worker) + 63) & ~(size_t)63;
		eng_worker *w = aligned_alloc(64, wsize);
		if (!w)
			goto oom;
		memset(w, 0, wsize);
		e->w[i] = w;
		w->e = e;
		w->index = i;
		w->wake_fd = -1;
		w->cpu = e->cfg.pin ? (int)pick_cpu(i % (unsigned)CPU_COUNT(&set), &set) : -1;
		w->be = e->backend == ENG_BACKEND_IO_URING ? &eng_uring_ops : &eng_epoll_ops;
		clock_read(w);
		w->wheel_tick = w->now_ms / e->cfg.timer_tick_ms;
		if (eng__mbox_init(&w->mbox, e->cfg.mailbox_size) < 0)
			goto oom;
		w->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (w->wake_fd < 0) {
			snprintf(err, errlen, "eventfd: %s", strerror(errno));
			goto fail;
		}
		w->pool = calloc(e->cfg.bufs_max, sizeof(*w->pool));
		w->conns_cap = 1024;
		w->conns = calloc(w->conns_cap, sizeof(*w->conns));
		w->conn_free = calloc(w->conns_cap, sizeof(*w->conn_free));
		if (!w->pool || !w->conns || !w->conn_free)
			goto oom;
	}
	return e;
oom:
	snprintf(err, errlen, "out of memory");
fail:
	if (e->w)
		for (unsigned i = 0; i < e->n; i++)
			worker_free(e->w[i]);
	free(e->w);
	free(e);
	return NULL;
}

/* The deferred work of this iteration, including what it defers again (bounded: the rest
 * waits for the next iteration). One at a time off the queue, so that any of them may
 * cancel another. */
static void run_deferred(eng_worker *w)
{
	for (int budget = 4096; budget > 0 && w->defer; budget--) {
		eng_defer *d = w->defer;
		w->defer = d->next;
		d->next = NULL;
		d->queued = 0;
		d->fn(d);
	}
}

void eng_defer_init(eng_defer *d, void (*fn)(eng_defer *d), void *arg)
{
	d->next = NULL;
	d->fn = fn;
	d->arg = arg;
	d->queued = 0;
}

void eng_defer_add(eng_worker *w, eng_defer *d)
{
	if (d->queued)
		return;
	d->queued = 1;
	d->next = w->defer;
	w->defer = d;
}

void eng_defer_cancel(eng_worker *w, eng_defer *d)
{
	if (!d->queued)
		return;
	for (eng_defer **pp = &w->defer; *pp; pp = &(*pp)->next)
		if (*pp == d) {
			*pp = d->next;
			break;
		}
	d->queued = 0;
	d->next = NULL;
}

static void worker_loop(eng_worker *w)
{
	while (!atomic_load_explicit(&w->stop_req, memory_order_acquire)) {
		if (atomic_load_explicit(&w->drain_req, memory_order_relaxed) && !w->draining) {
			w->draining = 1;
			for (unsigned i = 0; i < ENG_MAX_LISTENERS; i++)
				if (w->listeners[i])
					eng_listener_close(w->listeners[i]);
		}
		int timeout = eng__timers_next_ms(w);
		if (w->send_pending || w->defer || mbox_nonempty(w))
			timeout = 0;
		else if (w->rearm_pending)
			/* re-arms that wait for buffers poll gently instead of spinning */
			timeout = eng__bufs_available(w) ? 0 : (timeout < 0 || timeout > 1 ? 1 : timeout);
		w->be->run_once(w, timeout); /* reads the clock when its wait returns */
		w->st.loops++;
		/* re-open the wake-up gate before draining: a post that found it closed
		 * is seen by this drain (fence: the drain's loads stay after the store) */
		atomic_store(&w->wake_pending, 0);
		atomic_thread_fence(memory_order_seq_cst);
		eng__mbox_run(w, 1024);
		eng__timers_run(w);
		if (w->flush_fn)
			w->flush_fn(w, w->flush_arg);
		run_deferred(w);
		eng__flush_pending(w);
		w->be->flush(w);
	}
}

/* Stop: listeners and connections closed, owners told, in-flight ops given a moment. */
static void worker_wind_down(eng_worker *w)
{
	while (w->nstop) {
		w->nstop--;
		w->stop[w->nstop].fn(w, w->stop[w->nstop].arg);
	}
	w->stopping = 1;
	for (unsigned i = 0; i < ENG_MAX_LISTENERS; i++)
		if (w->listeners[i])
			eng_listener_close(w->listeners[i]);
	eng__conns_close_all(w, -ESHUTDOWN);
	uint64_t until = mono_ms() + 200;
	for (int i = 0; i < 100 && mono_ms() < until; i++) {
		run_deferred(w);
		eng__flush_pending(w);
		w->be->flush(w);
		w->be->run_once(w, w->st.conns ? 5 : 0);
		clock_read(w);
		if (!w->st.conns)
			break;
	}
	eng__flush_pending(w);
}

static void *worker_main(void *arg)
{
	eng_worker *w = arg;
	eng_engine *e = w->e;
	char name[16], err[160];

	tls_self = w;
	snprintf(name, sizeof(name), "w%u", w->index);
	cm_log_thread_name(name);
	pthread_setname_np(pthread_self(), name);
	if (w->cpu >= 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(w->cpu, &set);
		int rc = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
		if (rc != 0) {
			CM_WARN("worker %u: cannot pin to cpu %d: %s", w->index, w->cpu,
				strerror(rc));
			w->cpu = -1;
		}
	}
	/* the ring is made here: SINGLE_ISSUER wants its one submitter to create it */
	w->init_rc = w->be->init(w, err, sizeof(err));
	if (w->init_rc < 0)
		CM_ERR("worker %u: %s backend: %s", w->index, w->be->name, err);
	pthread_barrier_wait(&e->bar);
	pthread_barrier_wait(&e->bar);
	if (!e->go)
		return NULL;
	clock_read(w);
	/* always: a lingering close (eng_close_linger) has its deadline even with every
	 * timeout of the configuration off */
	w->swept_ms = w->stall_swept_ms = w->now_ms;
	eng_timer_init(&w->profile_sweep, eng__profile_sweep, w);
	eng_timer_arm(w, &w->profile_sweep, ENG_PROFILE_SWEEP_MS);
	if (e->init)
		e->init(w, e->init_arg);
	worker_loop(w);
	worker_wind_down(w);
	return NULL;
}

int eng_start(eng_engine *e, void (*init)(eng_worker *w, void *arg), void *arg)
{
	unsigned started = 0;
	int rc = 0;

	e->init = init;
	e->init_arg = arg;
	pthread_barrier_init(&e->bar, NULL, e->n + 1);
	e->bar_ready = 1;
	for (; started < e->n; started++) {
		rc = pthread_create(&e->w[started]->thread, NULL, worker_main, e->w[started]);
		if (rc != 0) {
			CM_ERR("worker %u: pthread_create: %s", started, strerror(rc));
			rc = -rc;
			break;
		}
	}
	if (started < e->n) {
		/* the threads that run wait at the barrier for parties that never come:
		 * nothing sane remains but to leave */
		CM_ERR("cannot start all workers");
		exit(1);
	}
	pthread_barrier_wait(&e->bar);
	e->go = 1;
	for (unsigned i = 0; i < e->n; i++)
		if (e->w[i]->init_rc < 0) {
			e->go = 0;
			rc = e->w[i]->init_rc;
		}
	pthread_barrier_wait(&e->bar);
	e->started = 1;
	if (!e->go) {
		for (unsigned i = 0; i < e->n; i++)
			pthread_join(e->w[i]->thread, NULL);
		e->started = 0;
		return rc;
	}
	return 0;
}

void eng_drain(eng_engine *e)
{
	for (unsigned i = 0; i < e->n; i++) {
		atomic_store(&e->w[i]->drain_req, 1);
		e->w[i]->be->wake(e->w[i], tls_self);
	}
}

uint64_t eng_open_conns(eng_engine *e)
{
	uint64_t n = 0;
	for (unsigned i = 0; i < e->n; i++)
		n += atomic_load_explicit(&e->w[i]->open_conns, memory_order_relaxed);
	return n;
}

void eng_stop(eng_engine *e)
{
	for (unsigned i = 0; i < e->n; i++) {
		atomic_store_explicit(&e->w[i]->stop_req, 1, memory_order_release);
		e->w[i]->be->wake(e->w[i], tls_self);
	}
}

void eng_destroy(eng_engine *e)
{
	if (!e)
		return;
	if (e->started) {
		eng_stop(e);
		for (unsigned i = 0; i < e->n; i++)
			pthread_join(e->w[i]->thread, NULL);
	}
	if (e->bar_ready)
		pthread_barrier_destroy(&e->bar);
	for (unsigned i = 0; i < e->n; i++)
		worker_free(e->w[i]);
	free(e->w);
	free((void *)e->cfg.profiles);
	free(e);
}

unsigned eng_nworkers(const eng_engine *e) { return e->n; }
eng_worker *eng_worker_at(eng_engine *e, unsigned i) { return i < e->n ? e->w[i] : NULL; }
eng_engine *eng_of(eng_worker *w) { return w->e; }
unsigned eng_worker_index(const eng_worker *w) { return w->index; }
int eng_worker_cpu(const eng_worker *w) { return w->cpu; }
const struct eng_config *eng_cfg(const eng_engine *e) { return &e->cfg; }
eng_worker *eng_self(void) { return tls_self; }
enum eng_backend eng_backend(const eng_engine *e) { return e->backend; }
const char *eng_backend_reason(const eng_engine *e) { return e->reason; }
void eng_worker_set_udata(eng_worker *w, void *udata) { w->udata = udata; }
void *eng_worker_udata(eng_worker *w) { return w->udata; }
uint64_t eng_now_ms(const eng_worker *w) { return w->now_ms; }
uint64_t eng_now_us(const eng_worker *w) { return w->now_us; }

const char *eng_backend_name(const eng_engine *e)
{
	return e->backend == ENG_BACKEND_IO_URING ? "io_uring" : "epoll";
}

int eng_worker_on_stop(eng_worker *w, void (*fn)(eng_worker *w, void *arg), void *arg)
{
	if (w->nstop == ENG_STOP_HOOKS)
		return -ENOSPC;
	w->stop[w->nstop].fn = fn;
	w->stop[w->nstop++].arg = arg;
	return 0;
}

void eng_worker_off_stop(eng_worker *w, void (*fn)(eng_worker *w, void *arg), void *arg)
{
	for (unsigned i = 0; i < w->nstop; i++)
		if (w->stop[i].fn == fn && w->stop[i].arg == arg) {
			memmove(&w->stop[i], &w->stop[i + 1], (w->nstop - i - 1) * sizeof(w->stop[0]));
			w->nstop--;
			return;
		}
}

void eng_worker_set_flush(eng_worker *w, void (*fn)(eng_worker *w, void *arg), void *arg)
{
	w->flush_fn = fn;
	w->flush_arg = arg;
}

void eng_worker_stats(eng_worker *w, struct eng_stats *out)
{
	*out = w->st;
	out->mailbox_full = atomic_load_explicit(&w->mbox_full, memory_order_relaxed);
	out->bufs_total = w->nbufs;
	out->bufs_free = w->nfree;
	out->bufs_posted = w->ring_posted;
	out->mailbox_depth = atomic_load_explicit(&w->mbox.tail, memory_order_acquire) -
			     w->mbox.head;
}

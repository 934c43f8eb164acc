/* eng_int.h — the engine's insides, shared by its files and its backends only. */
#ifndef ENG_INT_H
#define ENG_INT_H

#include <pthread.h>

#include "engine/eng.h"

/* user_data / epoll data: op in the top byte, generation, slot index in the low 32 bits. */
enum eng_op {
	ENG_OP_NONE = 0,       /* ignored completions (cancels, wake-up messages) */
	ENG_OP_ACCEPT,
	ENG_OP_RECV,
	ENG_OP_SEND,
	ENG_OP_CONNECT,
	ENG_OP_POLL,
	ENG_OP_WAKE,           /* eventfd read / MSG_RING from another worker */
	ENG_OP_CONN_EV,        /* epoll: readiness of a connection */
};

#define ENG_UD(op, gen, idx) (((uint64_t)(op) << 56) | ((uint64_t)((gen) & 0xffffff) << 32) | (uint32_t)(idx))
#define ENG_UD_OP(ud)        ((enum eng_op)((ud) >> 56))
#define ENG_UD_GEN(ud)       ((uint32_t)(((ud) >> 32) & 0xffffff))
#define ENG_UD_IDX(ud)       ((uint32_t)(ud))

#define ENG_MAX_LISTENERS 64
#define ENG_MAX_POLLS     256
#define ENG_WHEEL_SLOTS   512
#define ENG_SEND_IOV      64   /* segments per send */

/* The backend: how bytes move. Called on the worker's thread unless said otherwise. */
struct eng_backend_ops {
	const char *name;
	int (*init)(eng_worker *w, char *err, size_t errlen);
	void (*fini)(eng_worker *w);
	int (*listen_arm)(eng_listener *l);
	void (*listen_disarm)(eng_listener *l);     /* the backend closes the fd when done */
	void (*recv_arm)(eng_conn *c);               /* sets ENG_CF_READING */
	void (*recv_cancel)(eng_conn *c);            /* reading ends; eng__recv_end() follows */
	void (*send_start)(eng_conn *c);             /* queue not empty, no send in flight */
	int (*connect)(eng_conn *c, const struct sockaddr *sa, socklen_t len);
	void (*conn_release)(eng_conn *c);           /* nothing in flight: drop per-conn state */
	int (*poll_arm)(eng_poll *p);
	void (*poll_disarm)(eng_poll *p);
	void (*wake)(eng_worker *to, eng_worker *from); /* any thread; <from> NULL off-engine */
	/* Submits what is queued, waits up to <timeout_ms> (-1: forever) for completions and
	 * dispatches them all. */
	void (*run_once)(eng_worker *w, int timeout_ms);
	/* Called after each iteration's work, before run_once (refill rings and the like). */
	void (*flush)(eng_worker *w);
};

extern const eng_backend_ops eng_uring_ops;
extern const eng_backend_ops eng_epoll_ops;
/* Sockets are non-blocking for epoll; io_uring polls by itself and wants them blocking. */
#define eng__sock_flags(w) ((w)->be == &eng_epoll_ops ? SOCK_NONBLOCK : 0)
/* 0 when io_uring can be set up here, else -errno (and <why> says what failed). */
int eng_uring_probe(char *why, size_t len);

struct eng_mbox_cell {
	_Atomic size_t seq;
	eng_msg_fn fn;
	void *arg;
	uint64_t u64;
};

struct eng_mbox {
	struct eng_mbox_cell *cells;
	size_t mask;
	size_t head;                       /* consumer's, owner thread only */
	_Alignas(64) _Atomic size_t tail;  /* producers' */
};

struct eng_worker {
	/* ---- owner thread only ---- */
	eng_engine *e;
	unsigned index;
	int cpu;
	const eng_backend_ops *be;
	void *be_state;                    /* the backend's (ring, epoll fd) */
	uint64_t now_ms;
	uint64_t now_us;                   /* the same reading in microseconds (latencies) */
	eng_timer profile_sweep;           /* deadlines and per-peer profiles' timeouts */
	uint64_t swept_ms;                 /* the sweep's last run */
	uint64_t stall_swept_ms;           /* its last look at the send queues */
	uint32_t deadlines;                /* connections with a deadline_ms */
	int stopping;
	int draining;
	void *udata;
	struct eng_hep *hep;               /* HEP tracing (eng_hep.h), or NULL: off */
	void (*flush_fn)(eng_worker *w, void *arg);
	void *flush_arg;
	eng_defer *defer;                  /* eng_defer_add(), run at the end of the iteration */
	struct {
		void (*fn)(eng_worker *w, void *arg);
		void *arg;
	} stop[ENG_STOP_HOOKS];        /* eng_worker_on_stop, run last first */
	unsigned nstop;
	struct eng_stats st;

	/* buffers: pool[idx] for idx < nbufs; free list; chunks to free at exit */
	eng_buf **pool;
	uint32_t nbufs;
	eng_buf *buf_free;
	uint32_t nfree;
	uint32_t ring_posted;              /* buffers the kernel holds (io_uring) */
	void **chunks;
	uint32_t nchunks;

	/* connections: table of slots with a free list of indexes */
	eng_conn **conns;
	uint32_t conns_cap;
	uint32_t *conn_free;
	uint32_t nconn_free;
	uint32_t conns_used;
	eng_conn *send_pending;            /* connections whose queue waits for send_start */
	eng_conn *rearm_pending;           /* connections to re-arm reading (ENOBUFS) */
	eng_conn *reap;                    /* closed this iteration, slots freed at its end */
	eng_seg *seg_free;

	eng_listener *listeners[ENG_MAX_LISTENERS];
	eng_poll *polls[ENG_MAX_POLLS];
	uint32_t poll_gen[ENG_MAX_POLLS];

	/* timers */
	eng_timer *wheel[ENG_WHEEL_SLOTS];
	uint64_t wheel_tick;               /* last tick processed */
	uint32_t timers_armed;

	int wake_fd;                       /* eventfd for wake-ups from other threads */
	int init_rc;                       /* backend set-up result on the worker's thread */
	pthread_t thread;

	/* ---- touched by other threads ---- */
	_Alignas(64) struct eng_mbox mbox;
	_Alignas(64) _Atomic int wake_pending;
	_Atomic uint64_t open_conns;       /* relaxed mirror of st.conns for eng_open_conns() */
	_Atomic uint64_t mbox_full;        /* posts refused, counted by the posters */
	_Atomic int stop_req;
	_Atomic int drain_req;
};

struct eng_engine {
	struct eng_config cfg;     /* cfg.profiles: the engine's copy */
	int profile_timers;        /* a profile has a connect or read timeout: workers sweep */
	enum eng_backend backend;
	char reason[160];
	unsigned n;
	eng_worker **w;
	void (*init)(eng_worker *w, void *arg);
	void *init_arg;
	int started;
	pthread_barrier_t bar;      /* start-up: rings made, then go */
	int go;
	int bar_ready;
};

/* ---- core entry points for the backends ---- */

/* A connection was accepted on <l>. */
void eng__accepted(eng_listener *l, int fd);
/* <len> bytes arrived in <b> (one reference, given to the core). */
void eng__recv(eng_conn *c, eng_buf *b, uint32_t len);
/* Reading ended: 0 on EOF, -ECANCELED after recv_cancel, -ENOBUFS when the pool ran dry,
 * else -errno. */
void eng__recv_end(eng_conn *c, int res);
/* A send finished: <res> bytes sent or -errno. */
void eng__send_done(eng_conn *c, int res);
void eng__connect_done(eng_conn *c, int res);
/* The backend no longer owns anything of <c>; the core may close and free it. */
void eng__op_done(eng_conn *c);
eng_conn *eng__conn_lookup(eng_worker *w, uint32_t idx, uint32_t gen);
/* The worker's sweep: aborts the connections past their deadline (a TLS handshake's or a
 * frame's, eng_conn_frame) or their profile's connect or read timeout, then runs again in
 * ENG_PROFILE_SWEEP_MS. */
void eng__profile_sweep(eng_timer *t);
/* Frees the worker's HEP tracer (eng_hep.c), at the worker's end. */
void eng__hep_free(eng_worker *w);
void eng__poll_event(eng_worker *w, uint32_t idx, uint32_t gen, uint32_t revents, int more);
/* Buffer <idx> of the pool (provided-buffer id). */
static inline eng_buf *eng__buf_at(eng_worker *w, uint32_t idx) { return w->pool[idx]; }
/* A buffer taken from the free list for the provided ring (no reference yet). */
eng_buf *eng__buf_take(eng_worker *w);

/* ---- core internals shared between the core files ---- */

eng_seg *eng__seg_get(eng_worker *w);
void eng__seg_put(eng_worker *w, eng_seg *s);

/* Reads the clock into w->now_ms: backends call it when their wait returns, before
 * dispatching, so that callbacks see the time they run at, not the time the worker fell
 * asleep. */
void eng__clock(eng_worker *w);
int eng__mbox_init(struct eng_mbox *m, size_t size);
void eng__mbox_fini(struct eng_mbox *m);
int eng__mbox_push(struct eng_mbox *m, eng_msg_fn fn, void *arg, uint64_t u64);
/* Runs up to <max> messages; returns how many ran. */
unsigned eng__mbox_run(eng_worker *w, unsigned max);
void eng__timers_run(eng_worker *w);
int eng__timers_next_ms(eng_worker *w);  /* ms until the next tick with timers, -1: none */
void eng__pool_fini(eng_worker *w);
void eng__conns_fini(eng_worker *w);
void eng__conns_close_all(eng_worker *w, int err);
void eng__flush_pending(eng_worker *w);
void eng__listener_free(eng_listener *l);
/* 1 when a receive could get a buffer now. */
int eng__bufs_available(const eng_worker *w);
/* Appends a copy to the raw (ciphertext) queue, below TLS. Same return as eng_send. */
int eng__queue_copy(eng_conn *c, const void *p, size_t len);
/* Hands plaintext to the owner. */
void eng__deliver(eng_conn *c, eng_buf *b, uint32_t off, uint32_t len);

/* ---- TLS (eng_tls.c) ---- */
int eng__tls_attach(eng_conn *c, eng_tls_ctx *ctx, int server, const char *sni);
/* Ciphertext arrived: feeds the TLS session and delivers plaintext / finishes the
 * handshake (then calls eng__tls_handshake_done). */
void eng__tls_recv(eng_conn *c, eng_buf *b, uint32_t off, uint32_t len);
/* Encrypts <len> bytes into the raw queue. Same return as eng_send. */
int eng__tls_send(eng_conn *c, const void *p, size_t len);
/* Queues close_notify (best effort). */
void eng__tls_shutdown(eng_conn *c);
void eng__tls_free(eng_conn *c);
/* Starts the client handshake once TCP is connected. */
void eng__tls_start(eng_conn *c);
/* <c> now lives on another worker (handover): point the session at it. */
void eng__tls_rebind(eng_conn *c);
void eng__tls_handshake_done(eng_conn *c, int err);

#endif

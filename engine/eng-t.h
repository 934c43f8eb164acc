/* eng-t.h — types of the shared-nothing engine (no prototypes here, see eng.h).
 *
 * One eng_worker per core, each with its own ring (io_uring or epoll), buffer pool,
 * connections, timers and mailbox. Everything in a worker is touched by that worker's thread
 * alone, except its mailbox and its relaxed atomic counters. */
#ifndef ENG_T_H
#define ENG_T_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

typedef struct eng_engine eng_engine;
typedef struct eng_worker eng_worker;
typedef struct eng_conn eng_conn;
typedef struct eng_listener eng_listener;
typedef struct eng_buf eng_buf;
typedef struct eng_seg eng_seg;
typedef struct eng_timer eng_timer;
typedef struct eng_poll eng_poll;
typedef struct eng_tls_ctx eng_tls_ctx;
typedef struct eng_tls eng_tls;
typedef struct eng_backend_ops eng_backend_ops;
struct eng_profile;
struct eng_conn_desc;

enum eng_backend {
	ENG_BACKEND_AUTO = 0,   /* io_uring when it can be set up, else epoll */
	ENG_BACKEND_IO_URING,
	ENG_BACKEND_EPOLL,
};

/* Engine settings, filled from the config (section "engine") by the caller. */
struct eng_config {
	enum eng_backend backend;
	unsigned workers;          /* 0 = one per online CPU */
	int pin;                   /* pin worker i to the i-th CPU of the process's affinity set */
	uint32_t buf_size;         /* bytes per pool buffer (recv and send) */
	uint32_t bufs_max;         /* pool buffers per worker, at most (65535 max) */
	uint32_t buf_ring_entries; /* provided-buffer ring size per worker (power of two) */
	uint32_t ring_entries;     /* io_uring submission queue size */
	uint32_t sendq_high;       /* bytes queued on a connection that pause its feeders */
	uint32_t sendq_low;        /* bytes below which paused feeders resume */
	uint32_t mailbox_size;     /* messages per worker mailbox (power of two) */
	uint32_t timer_tick_ms;    /* timer wheel resolution */
	uint32_t max_conns;        /* connections per worker, at most */
	uint32_t tls_handshake_ms; /* an accepted TLS connection not through its handshake by
				    * then is aborted (0: no deadline) */
	uint32_t frame_ms;         /* a frame its owner reports pending (eng_conn_frame) for
				    * this long is aborted (0: no deadline) */
	uint32_t send_stall_ms;    /* a connection whose queued bytes do not move for this
				    * long (its peer reads nothing) is aborted (0: never) */
	const struct eng_profile *profiles; /* per-peer TCP profiles (eng_profile.h), copied */
	unsigned nprofiles;
};

/* A reference-counted pool buffer. Received bytes arrive in one; a send queue holds
 * references to them, so that a relay forwards without copying. */
struct eng_buf {
	char *data;
	uint32_t cap;
	uint32_t refs;
	uint32_t idx;              /* index in the worker's pool; also the provided-buffer id */
	uint32_t used;             /* bytes written, for buffers filled by eng_send() copies */
	eng_buf *next;             /* free list link */
};

/* One piece of a connection's send queue: <len> bytes of <b> from <off>. */
struct eng_seg {
	eng_buf *b;
	uint32_t off;
	uint32_t len;
	eng_seg *next;
};

/* What a connection's owner is told. All callbacks run on the owning worker's thread. */
struct eng_conn_ops {
	/* <len> bytes at <b->data + off> arrived (plaintext when TLS). The engine holds one
	 * reference on <b> for the call only: eng_buf_ref() it to keep the bytes. */
	void (*on_recv)(eng_conn *c, eng_buf *b, uint32_t off, uint32_t len);
	/* Outbound connection (or TLS handshake) done: <err> 0, or -errno / -EPROTO. On error
	 * on_close follows. May be NULL. */
	void (*on_connect)(eng_conn *c, int err);
	/* The send queue, after passing sendq_high, fell under sendq_low. May be NULL. */
	void (*on_writable)(eng_conn *c);
	/* The connection is gone (peer EOF: 0, else -errno); <c> is freed after the call. */
	void (*on_close)(eng_conn *c, int err);
	/* For listings (GET /v1/connections): fills what the owner knows. May be NULL. */
	void (*describe)(eng_conn *c, struct eng_conn_desc *d);
};

/* What a connection's owner says of it (eng_conn_ops.describe); zeroed before the call. */
struct eng_conn_desc {
	const char *protocol;      /* static: "msrp", "sip", "diameter"... NULL: unknown */
	const char *transport;     /* static, when not the engine's "tcp"/"tls": "ws", "wss" */
	uint32_t sessions;         /* sessions (or dialogs, peers) it carries */
};

/* One connection, as the control plane lists it (eng_conn_info()). */
struct eng_conn_info {
	uint32_t worker, idx, gen; /* its id: "<worker>-<idx>-<gen>" */
	const char *state;         /* "connecting", "handshake" (TLS), "open", "closing" */
	const char *protocol;      /* "unknown" when the owner does not say */
	const char *transport;     /* "tcp", "tls", or the owner's ("ws", "wss") */
	int outbound;
	struct sockaddr_storage local, remote; /* ss_family 0 when not known */
	uint64_t age_ms, idle_ms;  /* since it was made (or adopted), since its last read */
	uint64_t bytes_in, bytes_out, sendq_bytes;
	uint32_t sessions;
	unsigned profile;          /* 1 + its per-peer profile's index, 0: none */
};

#define ENG_CF_READING      0x0001 /* a recv (multishot or readiness) is armed */
#define ENG_CF_PAUSED       0x0002 /* the owner (or back-pressure) asked to stop reading */
#define ENG_CF_SENDING      0x0004 /* a send is in flight */
#define ENG_CF_CLOSING      0x0008 /* eng_close(): flush, then close */
#define ENG_CF_DEAD         0x0010 /* closed: waiting for in-flight ops to come back */
#define ENG_CF_CONNECTING   0x0020 /* outbound connect in flight */
#define ENG_CF_ABOVE_HIGH   0x0040 /* send queue passed sendq_high, on_writable owed */
#define ENG_CF_HANDOVER     0x0080 /* being handed to another worker */
#define ENG_CF_CANCELING    0x0100 /* a recv cancel is in flight */
#define ENG_CF_EOF          0x0200 /* the peer closed its side */
#define ENG_CF_OUTBOUND     0x0400 /* we connected (not accepted) */
#define ENG_CF_WANT_READ    0x0800 /* epoll: registered for EPOLLIN */
#define ENG_CF_WANT_WRITE   0x1000 /* epoll: registered for EPOLLOUT */
#define ENG_CF_SEND_PEND    0x2000 /* on the worker's send-pending list */
#define ENG_CF_REARM_PEND   0x4000 /* on the worker's re-arm list */
#define ENG_CF_TLS_READY    0x8000 /* TLS handshake done */
#define ENG_CF_STARTED     0x10000 /* eng_conn_start() called: the owner gets callbacks */
#define ENG_CF_BP          0x20000 /* paused by back-pressure (eng_conn_wait_writable) */
#define ENG_CF_FREE        0x40000 /* slot on the free list */
#define ENG_CF_NOBUFS      0x80000 /* reading stopped: the pool ran dry */
#define ENG_CF_SINGLESHOT 0x100000 /* read one buffer at a time (catching up after back-pressure) */
#define ENG_CF_LINGER    0x200000 /* eng_close_linger(): what arrives is read and dropped */
#define ENG_CF_WR_SHUT   0x400000 /* lingering: queue out, write side shut, the peer's EOF awaited */

struct eng_conn {
	eng_worker *w;
	const struct eng_conn_ops *ops;
	void *udata;               /* the owner's */
	int fd;
	uint32_t idx;              /* slot in the worker's connection table */
	uint32_t gen;              /* bumped when the slot is reused: stale completions */
	uint32_t flags;            /* ENG_CF_* */
	int err;                   /* first error seen, reported by on_close */
	uint32_t sendq_bytes;
	eng_seg *sendq_head, *sendq_tail;
	eng_conn *waiters;         /* connections paused until this one drains */
	eng_conn *wait_next;       /* link in the waiters list of <waiting_on> */
	eng_conn *waiting_on;
	eng_tls *tls;              /* NULL for plain TCP */
	void *backend_data;        /* the backend's per-connection state while busy */
	eng_conn *pend_next;       /* link in the worker's send-pending list */
	eng_conn *rearm_next;      /* link in the worker's re-arm list */
	eng_conn *reap_next;       /* link in the worker's list of slots freed this iteration */
	eng_seg *stash;            /* bytes read during a handover, delivered by the adopter */
	void (*adopt)(eng_conn *c, void *arg);
	void *adopt_arg;
	eng_worker *adopt_to;
	uint64_t bytes_in, bytes_out;
	uint64_t created_ms;
	uint64_t last_recv_ms;     /* the last bytes read (created_ms before any) */
	uint16_t profile;          /* 1 + its per-peer profile's index, 0: none */
	uint64_t deadline_ms;      /* aborted at this time (the handshake's or a frame's), 0: none */
	uint64_t *deadline_count;  /* incremented when it is (the owner's counter, or the engine's) */
	uint64_t stall_out;        /* bytes_out when the sweep last saw its queue move */
	uint64_t stall_since_ms;   /* since then its queue has not moved (0: empty or moving) */
};

typedef void (*eng_accept_fn)(eng_listener *l, eng_conn *c);

struct eng_listener {
	eng_worker *w;
	int fd;
	uint32_t idx;
	eng_accept_fn on_accept;
	eng_tls_ctx *tls;          /* accepted connections start a TLS server handshake */
	void *udata;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	int armed;
	int closing;
	eng_listener *next;
};

/* A timer of the worker's hashed wheel; embed it in the object it belongs to. */
typedef void (*eng_timer_fn)(eng_timer *t);

struct eng_timer {
	eng_timer *next, **pprev;  /* slot list; pprev NULL when not armed */
	uint64_t expires_ms;
	eng_timer_fn fn;
	void *arg;
};

/* Readiness of a foreign fd (c-ares, hiredis sockets) watched by the worker's ring. */
typedef void (*eng_poll_fn)(eng_poll *p, uint32_t revents);

struct eng_poll {
	eng_worker *w;
	int fd;
	uint32_t events;           /* POLLIN | POLLOUT */
	uint32_t idx;
	eng_poll_fn fn;
	void *arg;
	int armed;
};

/* A mailbox message: <fn>(<worker>, <arg>, <u64>) runs on the receiving worker. */
typedef void (*eng_msg_fn)(eng_worker *w, void *arg, uint64_t u64);

/* Per-worker counters (read by the worker itself, reported through its mailbox). */
struct eng_stats {
	uint64_t conns;            /* open now */
	uint64_t accepts;
	uint64_t connects;
	uint64_t closes;
	uint64_t recv_bytes, send_bytes;
	uint64_t recv_ops, send_ops;
	uint64_t submits;          /* ring submissions (batches) */
	uint64_t loops;
	uint64_t enobufs;          /* receives that found no free buffer */
	uint64_t paused;           /* back-pressure pauses */
	uint64_t mailbox_in;
	uint64_t mailbox_full;     /* posts refused because the mailbox was full */
	uint64_t handovers_in, handovers_out;
	uint64_t bufs_total, bufs_free;
	uint64_t bufs_posted;      /* lent to the kernel's provided-buffer ring */
	uint64_t conn_limit;       /* accepts refused at max_conns */
	uint64_t tls_handshakes, tls_failures;
	uint64_t profile_refused;  /* connections refused by a profile's no_new */
	uint64_t profile_timeouts; /* connections aborted by a profile's connect or read timeout */
	uint64_t tls_handshake_timeouts; /* accepted TLS connections aborted at tls_handshake_ms */
	uint64_t send_stalls;      /* connections aborted at send_stall_ms (a peer not reading) */
	uint64_t lingers;          /* closes that shut the write side and drained (eng_close_linger) */
	uint64_t completions;      /* completions (io_uring CQEs) or readiness events (epoll) */
	uint64_t mailbox_depth;    /* messages waiting in the worker's mailbox now */
};

#endif

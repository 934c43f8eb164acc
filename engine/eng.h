/* eng.h — the engine's API: workers, connections, buffers, timers, mailboxes.
 *
 * Completion style: the owner asks (listen, connect, send, close) and is called back
 * (on_accept, on_connect, on_recv, on_writable, on_close) on the worker's thread. The same
 * API stands on io_uring (eng_uring.c) and on epoll (eng_epoll.c).
 *
 * Return convention: 0 or a positive count on success, -errno on failure. */
#ifndef ENG_H
#define ENG_H

#include "engine/eng-t.h"

/* ---- engine and workers ------------------------------------------------------------- */

/* Fills <cfg> with the embedded defaults. */
void eng_config_defaults(struct eng_config *cfg);

/* Creates the engine and its workers' rings (not their threads). Chooses the backend: the
 * one asked for, or io_uring falling back to epoll when io_uring cannot be set up; the
 * reason is kept for eng_backend_reason(). NULL with <err> filled on failure. */
eng_engine *eng_create(const struct eng_config *cfg, char *err, size_t errlen);

/* Starts one thread per worker (pinned when cfg.pin). Each thread calls <init>(worker,
 * <arg>) before its loop, then runs until eng_stop(). */
int eng_start(eng_engine *e, void (*init)(eng_worker *w, void *arg), void *arg);

/* Asks every worker to close its listeners; connections go on. Any thread. */
void eng_drain(eng_engine *e);
/* Connections open on all workers (relaxed read, any thread). */
uint64_t eng_open_conns(eng_engine *e);
/* Asks every worker to stop (connections are closed). Any thread. */
void eng_stop(eng_engine *e);
/* Waits for the worker threads, then frees everything. */
void eng_destroy(eng_engine *e);

unsigned eng_nworkers(const eng_engine *e);
eng_worker *eng_worker_at(eng_engine *e, unsigned i);
eng_engine *eng_of(eng_worker *w);
unsigned eng_worker_index(const eng_worker *w);
int eng_worker_cpu(const eng_worker *w);          /* -1 when not pinned */
const struct eng_config *eng_cfg(const eng_engine *e);
/* The worker running on the calling thread, or NULL. */
eng_worker *eng_self(void);
enum eng_backend eng_backend(const eng_engine *e);
const char *eng_backend_name(const eng_engine *e);   /* "io_uring" or "epoll" */
const char *eng_backend_reason(const eng_engine *e); /* why that one */

/* A slot per worker for the layer above (its shard). Owner's thread only. */
void eng_worker_set_udata(eng_worker *w, void *udata);
void *eng_worker_udata(eng_worker *w);

/* Milliseconds of CLOCK_MONOTONIC, read once per loop iteration. */
uint64_t eng_now_ms(const eng_worker *w);
/* The same reading in microseconds: what latency histograms measure with (a request sent
 * in one iteration and answered in a later one: the time between their iterations). */
uint64_t eng_now_us(const eng_worker *w);

/* Copies the worker's counters. Owner's thread only (others ask through eng_post). */
void eng_worker_stats(eng_worker *w, struct eng_stats *out);

/* Called once per loop iteration after completions are handled and before the batch is
 * submitted: where a layer flushes what it coalesced. One hook per worker. */
void eng_worker_set_flush(eng_worker *w, void (*fn)(eng_worker *w, void *arg), void *arg);

/* Work deferred to the end of the current loop iteration (after completions, mailbox and
 * timers, before the batch is submitted): what a layer coalesced during the iteration goes
 * out once (a Redis link writes all the commands queued in the iteration with one send).
 * Embedded by its owner; eng_defer_add() queues it once (again once it ran: <fn> may add
 * it again, it then runs in the same pass). Owner's thread only. */
typedef struct eng_defer {
	struct eng_defer *next;
	void (*fn)(struct eng_defer *d);
	void *arg;
	int queued;
} eng_defer;
void eng_defer_init(eng_defer *d, void (*fn)(eng_defer *d), void *arg);
void eng_defer_add(eng_worker *w, eng_defer *d);
/* Takes <d> off the queue (before its owner frees it). */
void eng_defer_cancel(eng_worker *w, eng_defer *d);

/* Adds <fn>(<w>, <arg>), called on the worker's thread when it stops, before its
 * connections are closed: where a layer frees its per-worker resources (resolver, pool,
 * Redis link). Up to ENG_STOP_HOOKS per worker, run in the reverse order of their adding
 * (the layer above, added after the one below, lets go first). Worker's thread, before the
 * stop. 0, or -ENOSPC. */
#define ENG_STOP_HOOKS 8
int eng_worker_on_stop(eng_worker *w, void (*fn)(eng_worker *w, void *arg), void *arg);
/* Takes back the hook <fn>/<arg> (a layer whose start failed). */
void eng_worker_off_stop(eng_worker *w, void (*fn)(eng_worker *w, void *arg), void *arg);

/* ---- mailbox ---------------------------------------------------------------------- */

/* Queues <fn>(<to>, <arg>, <u64>) to run on worker <to>. Any thread. 0, or -EAGAIN when the
 * mailbox is full (counted on <to>): the caller decides (retry, refuse, drop and count).
 * Ownership of <arg> travels with the message. */
int eng_post(eng_worker *to, eng_msg_fn fn, void *arg, uint64_t u64);

/* ---- buffers ------------------------------------------------------------------------ */

/* A buffer from the worker's pool with one reference, or NULL when the pool is at
 * bufs_max. Owner's thread only. */
eng_buf *eng_buf_get(eng_worker *w);
static inline void eng_buf_ref(eng_buf *b) { b->refs++; }
/* Drops a reference; the last returns the buffer to the pool (and to the provided-buffer
 * ring when it is short). */
void eng_buf_unref(eng_worker *w, eng_buf *b);

/* ---- listeners and connections ------------------------------------------------------ */

/* Parses a numeric "host:port" ("1.2.3.4:5", "[::1]:5", "*:5", ":5"). 0 or -EINVAL. */
int eng_parse_hostport(const char *s, struct sockaddr_storage *ss, socklen_t *len);
/* "addr:port" of <ss> into <buf>. */
const char *eng_sockaddr_str(const struct sockaddr_storage *ss, char *buf, size_t len);

#define ENG_LISTEN_REUSEPORT 0x1  /* SO_REUSEPORT: one listener per worker on one address */

/* Listens on <hostport> ("0.0.0.0:2855", "[::1]:443", "*:5060"). Accepted connections
 * are given to <on_accept>, which must call eng_conn_start() (or eng_close()). With <tls>,
 * accepted connections run a TLS server handshake first and on_recv sees plaintext.
 * NULL with *<err> = -errno on failure. */
eng_listener *eng_listen(eng_worker *w, const char *hostport, int flags, eng_tls_ctx *tls,
			 eng_accept_fn on_accept, void *udata, int *err);
/* Stops accepting and closes the socket. */
void eng_listener_close(eng_listener *l);
/* The port actually bound (useful with port 0). */
int eng_listener_port(const eng_listener *l);

/* The peer's address (getpeername). 0 or -errno. */
int eng_conn_peer(const eng_conn *c, struct sockaddr_storage *ss, socklen_t *len);
/* The peer as "addr:port" into <buf>. */
const char *eng_conn_peer_str(const eng_conn *c, char *buf, size_t len);

/* ---- connections for the control plane (the owning worker's thread) ---- */

/* Calls <fn>(c, <arg>) for each connection of <w> that has an owner (started, not closed,
 * not being handed over). <fn> may close the connection it is given. */
void eng_conns_each(eng_worker *w, void (*fn)(eng_conn *c, void *arg), void *arg);
/* The connection of <w> with id <idx>-<gen> that eng_conns_each() would list, or NULL. */
eng_conn *eng_conn_find(eng_worker *w, uint32_t idx, uint32_t gen);
/* Fills <out> (its addresses by getsockname/getpeername, the rest from the engine and the
 * owner's describe). */
void eng_conn_info(eng_conn *c, struct eng_conn_info *out);
/* The per-peer profile of <c> (eng_profile.h), or NULL. */
const struct eng_profile *eng_conn_profile(const eng_conn *c);
/* The largest frame the protocol layer should take on <c>: its profile's max_frame, or 0
 * (the protocol's own limit). */
uint32_t eng_conn_max_frame(const eng_conn *c);
/* The frame deadline (eng_config.frame_ms), for owners whose peers send framed messages.
 * <pending> 1: <c> holds part of a frame (a message begun, not yet whole); 0: it does not.
 * The clock starts at the first call with 1 and stops at a call with 0: a peer that still
 * has not finished the frame frame_ms after it began is aborted (-ETIMEDOUT, on_close
 * follows) however often bytes trickle in, and *<count> (the owner's counter, on this
 * worker) is incremented. A call with 1 while the clock runs only changes <count> (a frame
 * that moved from its head to its body). The time <c> is not read by the engine's or its
 * owner's choice (paused, back-pressure, no buffers) does not count. No-op when frame_ms
 * is 0, and on an accepted TLS connection still in its handshake. */
void eng_conn_frame(eng_conn *c, int pending, uint64_t *count);

/* Gives an accepted (or adopted) connection its owner and starts reading. */
void eng_conn_start(eng_conn *c, const struct eng_conn_ops *ops, void *udata);

/* Connects to <hostport> (numeric address). on_connect reports the result. With <tls>, a
 * TLS client handshake follows (SNI <sni> when not NULL) and on_connect comes after it. */
int eng_connect(eng_worker *w, const char *hostport, eng_tls_ctx *tls, const char *sni,
		const struct eng_conn_ops *ops, void *udata, eng_conn **out);
/* The same from the local address <src_ip> (numeric, "127.0.0.2" or "::1", no port and no
 * brackets; NULL or "" = any): the socket is bound to it with port 0 before connecting, the
 * port chosen at connect time (IP_BIND_ADDRESS_NO_PORT). -EINVAL for a malformed address,
 * -EAFNOSUPPORT when its family is not <hostport>'s, -EADDRNOTAVAIL when no interface has
 * it; -EPERM when the peer's profile (engine.tcp_profiles) says no_new; on_connect is not
 * called then. eng_connect() is this with <src_ip> NULL. */
int eng_connect_from(eng_worker *w, const char *hostport, const char *src_ip, eng_tls_ctx *tls,
		     const char *sni, const struct eng_conn_ops *ops, void *udata, eng_conn **out);

/* Queues a copy of <len> bytes. Returns 1 when the queue is now above sendq_high (the
 * caller should pause its feeder: eng_conn_wait_writable), 0 otherwise, -errno when the
 * connection is closing or out of buffers. */
int eng_send(eng_conn *c, const void *p, size_t len);
/* Queues <len> bytes of <b> from <off> without copying (takes a reference). Same return. */
int eng_send_buf(eng_conn *c, eng_buf *b, uint32_t off, uint32_t len);

/* Bytes queued and not yet sent. */
static inline size_t eng_sendq_bytes(const eng_conn *c) { return c->sendq_bytes; }

/* Stops / resumes reading. Bytes already read may still arrive after a pause. */
void eng_read_pause(eng_conn *c);
void eng_read_resume(eng_conn *c);
/* Back-pressure: pauses <feeder> until <c>'s send queue falls under sendq_low. Does
 * nothing when <c>'s queue is not above sendq_high. <feeder> may be <c> itself: a
 * connection whose answers pile up (its peer sends and does not read) stops being read
 * until it has taken them. */
void eng_conn_wait_writable(eng_conn *feeder, eng_conn *c);

/* Sends what is queued, then closes. on_close follows. */
void eng_close(eng_conn *c);
/* As eng_close(), for a connection given up on while its peer may still be sending (a
 * broken stream, a frame over a limit): from now on what arrives is read and dropped,
 * never delivered; once the queue is out the write side is shut and the peer's EOF awaited
 * for at most ENG_LINGER_MS, then the connection closes. Closing with unread bytes would
 * answer them with a reset, which makes the peer's kernel drop the answer we sent last. */
#define ENG_LINGER_MS 1000
void eng_close_linger(eng_conn *c);
/* Closes now, dropping what is queued (a connect in flight is shut down: it ends at once).
 * on_close follows with <err>. */
void eng_abort(eng_conn *c, int err);

/* Hands <c> (its fd and bytes read but not yet delivered) to worker <to>: reading stops,
 * the send queue is flushed, then <adopt>(new conn on <to>, <arg>) runs there; the adopter
 * calls eng_conn_start(). On failure (mailbox full, <to> stopping) <c> is closed with
 * -EAGAIN. The old <c> must not be used after this call. */
int eng_handover(eng_conn *c, eng_worker *to, void (*adopt)(eng_conn *c, void *arg),
		 void *arg);
/* The same, with <len> bytes at <prefix> (copied now) delivered to the adopter before
 * anything held or read later: bytes the owner took from a read and gives back (a frame it
 * wants the other worker to parse whole). -EINVAL (dead, connecting, already handing over),
 * -ENOBUFS, or what eng_handover() returns. */
int eng_handover_prefix(eng_conn *c, eng_worker *to, void (*adopt)(eng_conn *c, void *arg),
			void *arg, const void *prefix, size_t len);

/* ---- timers ------------------------------------------------------------------------- */

void eng_timer_init(eng_timer *t, eng_timer_fn fn, void *arg);
/* (Re)arms <t> to fire in <ms> milliseconds (rounded up to the tick). */
void eng_timer_arm(eng_worker *w, eng_timer *t, uint64_t ms);
void eng_timer_cancel(eng_timer *t);
static inline int eng_timer_armed(const eng_timer *t) { return t->pprev != NULL; }

/* ---- foreign fds -------------------------------------------------------------------- */

/* Watches <fd> for <events> (POLLIN/POLLOUT) until eng_poll_stop(); <fn> gets revents. */
int eng_poll_start(eng_worker *w, eng_poll *p, int fd, uint32_t events, eng_poll_fn fn,
		   void *arg);
/* Changes the events watched. */
int eng_poll_update(eng_poll *p, uint32_t events);
void eng_poll_stop(eng_poll *p);

#endif

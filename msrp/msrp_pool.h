/* msrp_pool.h — outbound MSRP connections of one worker, reused by next hop (RFC 4975
 * §5.4: a connection is shared by the sessions whose next hop has the same authority and
 * transport; here the hop also says which local address the connection leaves from).
 *
 * msrp_pool_get_hop() gives the connection for a hop: the one open, the one being
 * opened (the caller waits with the others), or a new one: the host resolved (IP literals
 * as they are, names by A with the worker's resolver), TCP or TLS (msrps) connected from
 * the hop's source address, then an msrp_conn with the pool's ops. The callback always
 * comes later, from the loop, never inside the get. When a connection closes it leaves the pool; the next get opens
 * a new one. */
#ifndef MSRP_POOL_H
#define MSRP_POOL_H

#include "engine/eng_dns-t.h"
#include "engine/eng_tls-t.h"
#include "msrp/msrp-t.h"
#include "msrp/msrp_conn.h"

struct msrp_pool;

/* <mc> is the connection (NULL on failure, with <err>: -errno of the resolution or the
 * connect, -ECANCELED when the pool is freed). */
typedef void (*msrp_pool_cb)(void *arg, struct msrp_conn *mc, int err);

/* A pool on <mw>'s worker. Connections get <ops>/<udata> (their on_close runs after the
 * pool has let go of them). <dns> may be NULL (then only IP literals), <tls> is the client
 * context for msrps URIs (NULL: msrps fails with -EPROTONOSUPPORT). */
struct msrp_pool *msrp_pool_new(struct msrp_worker *mw, eng_dns *dns, eng_tls_ctx *tls,
				const struct msrp_conn_ops *ops, void *udata);
/* Waiters get -ECANCELED; open connections are closed. */
void msrp_pool_free(struct msrp_pool *p);

/* Where a connection goes: a next hop and the local address it leaves from. Connections
 * are reused by the whole of it (host, port, tls, src): the same peer reached from two
 * source addresses is two connections. */
struct msrp_hop {
	char host[MSRP_URI_HOST_MAX + 1]; /* a DNS name or an address (IPv6 without brackets) */
	uint16_t port;             /* 1..65535 */
	int tls;                   /* 1: TLS (msrps), 0: TCP */
	char src[48];              /* local address to connect from; "" = any */
	char tag[48];              /* "" shared by every caller of the hop; else a connection
				    * of its own for callers of that tag (a session's) */
};

/* The hop "direct" of <u>: its own host and port (MSRP_URI_DEFAULT_PORT when it has none),
 * TLS for msrps, no source address. 0, or -EINVAL for a URI that cannot be reached (;ws:
 * WebSocket clients are reached over their own inbound connection, RFC 7977). */
int msrp_hop_direct(const struct msrp_uri *u, struct msrp_hop *out);

/* Asks for the connection to the hop <h> (copied; it need not outlive the call). 0 (the
 * callback comes), -EINVAL for a hop without host or port, -EPROTONOSUPPORT for TLS when
 * the pool has no client context, -ENOMEM. A name is resolved (A) with the pool's
 * resolver (none: the callback gets -EHOSTUNREACH); a source address that is malformed,
 * of the other family or not local makes the callback's error (-EINVAL, -EAFNOSUPPORT,
 * -EADDRNOTAVAIL). */
int msrp_pool_get_hop(struct msrp_pool *p, const struct msrp_hop *h, msrp_pool_cb cb, void *arg);

/* Asks for the connection to the authority of <u>: msrp_pool_get_hop() of its hop
 * "direct" (msrp_hop_direct()). Same returns. */
int msrp_pool_get(struct msrp_pool *p, const struct msrp_uri *u, msrp_pool_cb cb, void *arg);

/* The open connection of hop <h> when there is one and nobody waits for it (a caller that
 * takes it then keeps the order of what it sends after what the waiters send), else NULL.
 * No callback: for the common case of a connection already there. */
struct msrp_conn *msrp_pool_peek_hop(struct msrp_pool *p, const struct msrp_hop *h);

/* Closes the open connection of tag <tag> (msrp_hop.tag, not "") that nobody waits for:
 * 1; -EAGAIN when it is still being opened (or waited for); 0 when there is none. */
int msrp_pool_close_tag(struct msrp_pool *p, const char *tag);

/* The <udata> given to msrp_pool_new() (or set later), for the owner of a pool connection
 * (whose own udata is the pool): msrp_pool_udata(msrp_conn_udata(mc)). */
void *msrp_pool_udata(const struct msrp_pool *p);
void msrp_pool_set_udata(struct msrp_pool *p, void *udata);

/* 1 when <mc> is an open connection of the pool (one that closed has left it). */
int msrp_pool_holds(const struct msrp_pool *p, const struct msrp_conn *mc);
/* Connections in the pool (open or opening). */
unsigned msrp_pool_size(const struct msrp_pool *p);

#endif

/* msrp_pool.h — outbound MSRP connections of one worker, reused by authority (RFC 4975
 * §5.4: a connection is shared by the sessions whose next hop has the same authority and
 * transport; the key is msrp_uri_authority_key()).
 *
 * msrp_pool_get() gives the connection for a URI's authority: the one open, the one being
 * opened (the caller waits with the others), or a new one: the host resolved (IP literals
 * as they are, names by A with the worker's resolver), TCP or TLS (msrps) connected, then
 * an msrp_conn with the pool's ops. The callback always comes later, from the loop, never
 * inside msrp_pool_get(). When a connection closes it leaves the pool; the next get opens
 * a new one. */
#ifndef MSRP_POOL_H
#define MSRP_POOL_H

#include "engine/eng_dns-t.h"
#include "engine/eng_tls-t.h"
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

/* Asks for the connection to the authority of <u>. 0 (the callback comes), -EINVAL for a
 * URI that cannot be reached (;ws: WebSocket clients are reached over their own inbound
 * connection, RFC 7977), -ENOMEM. */
int msrp_pool_get(struct msrp_pool *p, const struct msrp_uri *u, msrp_pool_cb cb, void *arg);

/* Connections in the pool (open or opening). */
unsigned msrp_pool_size(const struct msrp_pool *p);

#endif

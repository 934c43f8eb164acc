/* http_srv.h — a small HTTP server for tests (libmicrohttpd, one thread per connection)
 * on 127.0.0.1 and a free port, standing in for the hooks rcsgw calls.
 *
 * Routes (any method; the request body is read whole first):
 *   /echo          200, the request body back; 415 when Content-Type is not
 *                  application/json
 *   /status/N      status N, empty body
 *   /slow/MS       waits MS milliseconds (cut short by http_srv_stop), then 200 "late"
 *   /big           200 with HTTP_SRV_BIG_LEN bytes
 *   /hook          200; the body kept, in the order they came (a webhook receiver):
 *                  hook[0..nhook), up to HTTP_SRV_HOOK_MAX, kept across a stop and a start
 *                  until http_srv_hooks_free
 *   /hook/MS       the same after waiting MS milliseconds (cut short by http_srv_stop)
 *   /creds         a credentials hook (etc/rcsgw.conf, relay.credentials_hook): the JSON
 *                  {"user": U, "realm": R}; U "alice" and "carol": 200 {"ha1": their
 *                  HTTP_SRV_HA1_*}; "slow": waits slow_ms then answers like "alice";
 *                  "err": 500; "junk": 200 {"ha1": "zz"}; anyone else: 404; a body that
 *                  is not such JSON: 400. Counts the asks per user class. */
#ifndef TESTS_HTTP_SRV_H
#define TESTS_HTTP_SRV_H

#include <stdatomic.h>

#define HTTP_SRV_BIG_LEN   100000
#define HTTP_SRV_HOOK_MAX  256
#define HTTP_SRV_HA1_ALICE "00112233445566778899aabbccddeeff"
#define HTTP_SRV_HA1_CAROL "ffeeddccbbaa99887766554433221100"

struct http_srv {
	void *d;                   /* struct MHD_Daemon */
	int port;
	char base[64];             /* "http://127.0.0.1:PORT" */
	int slow_ms;               /* delay of the "slow" user of /creds */
	atomic_int quit;           /* cuts waits short */
	atomic_int requests;       /* every request answered or not */
	atomic_int creds_asks;     /* /creds requests */
	atomic_int alice_asks;
	atomic_int nobody_asks;    /* /creds asks answered 404 */
	char last_realm[64];       /* realm of the last /creds ask (racy; read when idle) */
	atomic_int nhook;          /* /hook requests (beyond HTTP_SRV_HOOK_MAX: counted only) */
	char *hook[HTTP_SRV_HOOK_MAX]; /* their bodies (NUL-terminated), in order */
};

/* Starts <s> (zeroed by the caller or not). 0, or -1. */
int http_srv_start(struct http_srv *s);
/* The same on 127.0.0.1:<port> (0: a free one), the address reused: a server stopped and
 * started again on its port, as a receiver that was down comes back. 0, or -1. */
int http_srv_start_at(struct http_srv *s, int port);
/* Frees the bodies kept by /hook and counts from 0 again. */
void http_srv_hooks_free(struct http_srv *s);
/* Stops it (waits for its threads: bounded by the pending waits, which stop at once).
 * Harmless when not started. */
void http_srv_stop(struct http_srv *s);

#endif

/* eng_http.h — asynchronous HTTP client of one worker (libcurl multi on the worker's loop).
 *
 * libcurl's sockets are watched with eng_poll and its timeout runs on an eng_timer, so a
 * request never blocks the worker. One client per worker, used by that worker's thread
 * only (creation included). Connections to a hook are kept and reused by libcurl.
 *
 * Process set-up: main calls eng_http_global_init() once, before the workers start (it
 * runs curl_global_init(), which is not thread-safe).
 *
 * Return convention: pointers are NULL on failure; statuses are an HTTP status (> 0) or a
 * negative errno. */
#ifndef ENG_HTTP_H
#define ENG_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "engine/eng-t.h"

#define ENG_HTTP_BODY_MAX   65536  /* bytes of a response body we keep; more: -EMSGSIZE */
#define ENG_HTTP_MAX_CONNS  32     /* connections of one client; more requests queue */

typedef struct eng_http eng_http;
typedef struct eng_http_req eng_http_req;

/* The end of a request. <status>: the HTTP status of the response, or -ETIMEDOUT (no
 * complete answer within the request's timeout), -ECONNREFUSED, -EMSGSIZE (body longer
 * than ENG_HTTP_BODY_MAX), -EIO (anything else: name resolution, TLS, protocol). <body>
 * (<len> bytes, followed by a NUL, "" when empty) belongs to the client and is valid
 * during the call only. A cancelled request gets no call. */
typedef void (*eng_http_cb)(void *arg, int status, const char *body, size_t len);

/* The end of a request made by eng_http_request(): as eng_http_cb, and <ctype> the
 * response's Content-Type (NULL when it had none, and with a negative <status>), valid
 * during the call only. */
typedef void (*eng_http_resp_cb)(void *arg, int status, const char *ctype, const char *body,
				 size_t len);

/* Once per process, before any worker runs: curl_global_init(). 0 or -EIO. */
int eng_http_global_init(void);

/* The client of worker <w>; call it on <w>'s thread. NULL when libcurl cannot be set up. */
eng_http *eng_http_new(eng_worker *w);

/* Frees the client. Pending requests end silently (no callback). Allowed from inside one
 * of its callbacks (the rest is then freed when that callback returns). NULL is accepted. */
void eng_http_free(eng_http *h);

/* POSTs <json> (copied; Content-Type: application/json) to <url> (http or https; no
 * redirects followed). <timeout_ms> bounds the whole exchange, connection included.
 * Returns the request, or NULL when it cannot start (client being freed, out of memory,
 * libcurl refuses the options). <cb>(<arg>, ...) then runs exactly once, later, from the
 * worker's loop and never inside this call, unless eng_http_cancel() comes first. The
 * request handle is invalid once its callback has started. */
eng_http_req *eng_http_post_json(eng_http *h, const char *url, const char *json,
				 uint32_t timeout_ms, eng_http_cb cb, void *arg);

/* <method> (GET, POST, PUT, PATCH, DELETE, upper case) to <url> with the request headers
 * <hdrs> (a NULL-terminated list of "Name: value" lines, copied; NULL: none) and <body>
 * (<len> bytes, copied, NUL bytes allowed; none when <len> is 0 — a POST, PUT or PATCH
 * then sends an empty body with Content-Length: 0). Only the headers given go out besides
 * libcurl's own (Host, User-Agent, Accept, Content-Length): no Expect, and no Content-Type
 * unless <hdrs> has one. Everything else as eng_http_post_json(): <timeout_ms>, no
 * redirects, one callback, never inside this call, cancellable. NULL also for another
 * method, a header line without "Name:" or with CR or LF in it, or <body> NULL with
 * <len> > 0. */
eng_http_req *eng_http_request(eng_http *h, const char *method, const char *url,
			       const char *const *hdrs, const void *body, size_t len,
			       uint32_t timeout_ms, eng_http_resp_cb cb, void *arg);

/* Drops a request whose callback has not started: no callback will come. */
void eng_http_cancel(eng_http_req *r);

/* Requests started and not yet ended or cancelled. */
unsigned eng_http_pending(const eng_http *h);

#endif

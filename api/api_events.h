/* api_events.h — events for applications: a bounded queue that any thread feeds, drained on
 * the api thread into webhooks (libcurl multi) and Server-Sent Events (GET /v1/events).
 *
 * Where things run:
 *   - api_event_publish(): the caller's thread (engine workers included). Lock-free: a few
 *     atomics and one slot of a bounded multi-producer queue; it never waits. When the
 *     queue is idle it writes to an eventfd once to wake the api thread.
 *   - everything else runs on the api thread, inside the loop of api_http.c: the queue is
 *     drained there, webhooks are sent by a libcurl multi handle whose sockets sit in an
 *     epoll fd of ours that the api loop watches (no thread of our own), and the SSE
 *     streams are libmicrohttpd responses from a callback, suspended while they have
 *     nothing to send.
 *
 * An event is held from its publication until every webhook has it (delivered, or given up
 * after api.webhook_retries further attempts); api.event_queue bounds the events held, so it
 * covers pending retries too; beyond it new events are dropped and counted. SSE streams read
 * the last API_EVENTS_RING events (a ring that holds them after delivery too): that is the
 * Last-Event-ID replay window and the lag after which a slow stream is cut off (counted).
 *
 * Webhooks: POST of the event's JSON (Content-Type: application/json) with
 *   X-Rcsgw-Event-Id: <the event's "id">
 *   X-Rcsgw-Timestamp: <the event's "timestamp">
 *   X-Rcsgw-Signature: sha256=<hex HMAC-SHA256 of the raw body under api.webhook_secret>
 *                      (only when the secret is set)
 * A 2xx delivers; anything else, or no answer within api.webhook_timeout, is tried again
 * after API_WEBHOOK_BACKOFF_MS << (attempt - 1), at most API_WEBHOOK_BACKOFF_MAX_MS, each
 * ±20 % at random (while the daemon drains, api_events_drain(): at once, then at most
 * API_WEBHOOK_DRAIN_BACKOFF_MS). Each URL has one request in flight at a time, taken in
 * publication order, so a URL gets the events in order: the later ones wait for an event
 * waiting for its retry (until it is delivered or given up).
 *
 * Return convention: 0 on success, -errno on failure. */
#ifndef API_EVENTS_H
#define API_EVENTS_H

#include <jansson.h>
#include <stdint.h>

#include "common/cm_config-t.h"

#define API_EVENTS_RING            256     /* recent events kept for SSE (replay, lag bound) */
#define API_SSE_RETRY_MS           2000    /* "retry:" sent to SSE clients at the start */
#define API_WEBHOOK_BACKOFF_MS     1000    /* wait before the first retry */
#define API_WEBHOOK_BACKOFF_MAX_MS 60000   /* cap of the back-off */
#define API_WEBHOOK_DRAIN_BACKOFF_MS 250   /* cap of the back-off while draining (SIGTERM) */

/* Publishes <event>, a JSON object with at least a string "type" (no CR or LF in it), and
 * takes its reference: the caller must neither use nor share it afterwards (it gets
 * "timestamp", RFC 3339 UTC with milliseconds, now, when it has none, and later "id", a
 * decimal string unique and increasing in this process, when it has none). Any thread,
 * never blocks. 0 (queued); -EINVAL (not such an object); -EAGAIN (api.event_queue events
 * already held: dropped and counted); -ENOTCONN (the API is not running: dropped, counted). */
int api_event_publish(json_t *event);

/* Events held now (published, not yet done with every webhook: queued, in flight, waiting
 * for a retry), any thread. The figure of the gauge rcsgw_events_held. */
int64_t api_events_held(void);

/* The daemon drains (SIGTERM, main thread): from the api thread's next turn, a webhook
 * delivery waiting for its retry is tried again at once and later failures wait at most
 * API_WEBHOOK_DRAIN_BACKOFF_MS, so that what is held can still go out before the deadline
 * of the drain (the caller waits for api_events_held() to reach 0). Each URL keeps its
 * order. Harmless when the API is not running. */
void api_events_drain(void);

/* What the API's bounds refused so far, any thread: events dropped because api.event_queue
 * were held already, GET /v1/events refused at api.sse_max_clients. */
void api_events_limit_hits(uint64_t *event_queue, uint64_t *sse_clients);

/* A reload (SIGHUP, main thread): api.webhooks, api.webhook_secret, api.webhook_timeout and
 * api.webhook_retries of <cfg> are handed to the api thread, which takes them at its next
 * turn: a URL kept keeps its queue, a new one gets the events published from then on, one
 * removed loses what it had not delivered (counted as failed); the group "webhooks"
 * reports it. 0; -EINVAL (a URL that is not http(s), <err> says which: nothing changes);
 * -ENOMEM; -ENOTCONN (the API is not running). */
struct cm_config;
int api_events_reload(const struct cm_config *cfg, char *err, size_t errlen);

/* ---- between the files of api/ only (api_http.c) ----------------------------------------- */

struct api_req;

/* At api_start (main thread, before the api thread runs): sets up the queue, the webhooks
 * and the SSE state from <cfg>->api. Returns an fd for the api loop to watch for reading
 * (an epoll fd; ready means api__events_run() has work), or -errno with <err> filled. */
int api__events_start(const struct cm_config *cfg, char *err, size_t errlen);

/* Api thread, at each turn of its loop before MHD_run(): takes the queue in, moves webhook
 * transfers on, resumes the SSE streams that have something to send. */
void api__events_run(void);

/* Api thread: milliseconds until api__events_run() has something to do, -1 for never. */
int api__events_timeout(void);

/* Api thread, when its loop ends, before the last MHD_run(): every SSE stream is resumed
 * and ends at its next callback (libmicrohttpd must not be stopped with connections
 * suspended). */
void api__events_shutdown(void);

/* Main thread, after the api thread is joined and the daemons stopped: no more events are
 * taken (publishers get -ENOTCONN), what is held is dropped (counted in
 * rcsgw_events_dropped_total, and logged once at warn level with its number), everything is
 * freed. Safe when not started. */
void api__events_stop(void);

/* GET /v1/events (api thread). */
void api__h_events(struct api_req *r);

#endif

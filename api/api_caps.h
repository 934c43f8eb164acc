/* api_caps.h — the REST route of RCS capability discovery (gateway/gw_caps.h):
 *
 *   GET /v1/capabilities/{uri}[?refresh=true]    what the user's device says it has
 */
#ifndef API_CAPS_H
#define API_CAPS_H

struct gw_caps;

/* The capability cache of worker <i> (any thread; NULL when that worker has none). */
typedef struct gw_caps *(*api_caps_at_fn)(unsigned i);

/* Registers the route (main thread, before api_start). <at> NULL: capability discovery is
 * off (the user agent is) and the route answers 503. <timeout_ms>: rcs.capability_timeout.
 * 0 or the -errno of api_routes_register(). */
int api_caps_register(api_caps_at_fn at, unsigned nworkers, unsigned timeout_ms);

#endif

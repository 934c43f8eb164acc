/* api_diameter.h — the REST routes of Diameter (/v1/diameter/...), its events
 * ("diameter.request") and its metrics and status (issue 9). */
#ifndef API_DIAMETER_H
#define API_DIAMETER_H

struct dm_svc;

/* Registers the routes and takes the requests received as events (main thread, before the
 * engine starts). <s> NULL: Diameter is off and the routes answer 503. 0 or the -errno of
 * api_routes_register(). */
int api_diameter_register(struct dm_svc *s);
/* After api_start: its status ("diameter": ready with every configured peer open, degraded
 * with some, not ready with none) and its metrics. 0 or -errno. */
int api_diameter_started(void);

#endif

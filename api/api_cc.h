/* api_cc.h — the REST routes of the contact centre (/v1/cc/...), its metrics and its status
 * (issue 10). Its events (cc.agent, cc.queued, cc.dispatched, cc.abandoned) are published by
 * the centre itself. */
#ifndef API_CC_H
#define API_CC_H

struct cc_svc;

/* Registers the routes (main thread, before the engine starts). <s> NULL: the centre is off
 * and the routes answer 503. 0 or the -errno of api_routes_register(). */
int api_cc_register(struct cc_svc *s);
/* After api_start: its status ("cc") and metrics (rcsgw_cc_*), when on. 0 or -errno. */
int api_cc_started(void);

#endif

/* api_gateway.h — the REST routes of the SIP MESSAGE ⇄ MSRP gateway (/v1/gateway/...). */
#ifndef API_GATEWAY_H
#define API_GATEWAY_H

struct gw_page_shared;
struct gw_ua_shared;

/* Registers the routes (main thread, before api_start). <sh> NULL: the gateway is off and
 * they answer 503. 0 or the -errno of api_routes_register(). */
int api_gateway_register(struct gw_page_shared *sh, struct gw_ua_shared *ua);

#endif

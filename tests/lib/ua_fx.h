/* ua_fx.h — the fixture of the user agent's end-to-end tests (test_ua.c, test_rcs.c): the
 * real daemon with its API, SIP (udp and tcp on one port) and MSRP on free loopback ports,
 * sipp (tests/peers/sipp/) as the phone on the SIP side, and the test as the phone's MSRP
 * endpoint (a listener that rcsgw connects to, or a client that connects to rcsgw). Events
 * are read from GET /v1/events. Criterion asserts inside: call from tests only, one
 * daemon at a time (--jobs 1). */
#ifndef TESTS_LIB_UA_FX_H
#define TESTS_LIB_UA_FX_H

#include <jansson.h>
#include <sys/types.h>

#include "tests/lib/msrp_client.h"
#include "tests/lib/sipp.h"
#include "tests/lib/sse.h"

struct ua_fx {
	pid_t pid;
	int api, sip, msrp;
	int uas_port;                  /* where ufx_start_uas() puts the phone (default sip + 1) */
	int ml_fd, ml_port;            /* the test's MSRP listener (the phone's endpoint) */
	struct sse_cli sse;
	char logdir[256];
	pid_t sipp;
	char auth[160];                /* "Authorization: Bearer <t>\r\n" the fixture's calls send
					* (set before ufx_up_with, with RCSGW_API_TOKENS), or "" */
};
extern struct ua_fx ufx;

/* Skips the test when sipp is not installed. */
void ufx_need_sipp(void);
/* Starts rcsgw (2 workers) with the fixture's settings and the environment <extra>
 * ("RCSGW_...=..." strings, NULL-terminated, may be NULL), its event stream and the MSRP
 * listener; ufx_up() with none (a suite's .init). */
void ufx_up_with(const char *const *extra);
void ufx_up(void);
/* Stops sipp, the stream and rcsgw (SIGTERM), and expects a clean exit (a suite's .fini). */
void ufx_down(void);

/* An API call; the body (JSON) parsed into *<out> when <out> is not NULL. The status. */
int ufx_api(const char *method, const char *path, const char *body, json_t **out,
	    char **headers);
/* DELETE /v1/sessions/<id> (asserted 204) and its session.ended event (within 5 s). */
void ufx_end_session(const char *id);
/* Member <key> of <o> as a string, "" when absent. */
const char *ufx_jstr(json_t *o, const char *key);
/* The next event <type> about session <id> (NULL: any) within <ms>, as JSON (asserts). */
json_t *ufx_event(const char *type, const char *id, int ms);

/* The sum over the workers of the counter <name> on /metrics, or its one value when it has
 * no labels (0 when absent). */
unsigned long ufx_metric_sum(const char *name);
/* The same over the samples whose labels include each pair of <labels>
 * ('direction="in",method="SEND"'). */
unsigned long ufx_metric_where(const char *name, const char *labels);

/* rcsgw connects to our MSRP listener within <ms>: that connection as <c>. */
void ufx_ml_accept(struct msrp_client *c, int ms);
/* Reads the next SEND (answering 200) into <f>. */
void ufx_read_send(struct msrp_client *c, struct mc_frame *f);

/* sipp as the called phone (scenario <scenario>, keys <more>: "$name", value, ..., NULL)
 * on ufx.uas_port, its MSRP endpoint our listener (session id "phone1sid"; "msrp_port" in
 * <more> names another port, a proxy in front of it). The phone's SIP URI. */
char *ufx_start_uas(const char *scenario, const char *const *more);
/* sipp as the calling phone, toward rcsgw (session id "phone2sid"). */
void ufx_start_uac(const char *scenario, const char *const *more);
/* Waits for sipp's exit and expects <want> (its log reported otherwise). */
void ufx_sipp_done(int want);

/* POST /v1/sessions from sip:bot@127.0.0.1 to <to> with the JSON members <extra>
 * (",\"k\":v..." or NULL): 201, state connecting. Its JSON. */
json_t *ufx_create(const char *to, const char *extra);
/* An outgoing session to a sipp phone running <scenario> (with <more> keys), up: rcsgw
 * connected to the phone's MSRP endpoint (<c>, the binding SEND read into <f>) and
 * session.established came. <to> NULL: the phone itself. The session's JSON. */
json_t *ufx_session_up(const char *scenario, const char *const *more, const char *to,
		       const char *extra, struct msrp_client *c, struct mc_frame *f);

/* Starts capturing the fixture's SIP and MSRP ports with tshark (skips the test when tshark
 * is missing or may not capture); <dec> gets the decode-as options that read them as SIP and
 * MSRP. */
struct tshark_cap;
void ufx_capture(struct tshark_cap *cap, char *dec, size_t declen);

#endif

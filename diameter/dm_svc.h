/* dm_svc.h — Diameter in the daemon (issue 9): the configuration's diameter section made
 * into a node (dm_node.h) on one worker, the node's worker (DM_SVC_WORKER), with the
 * dictionary (built in, plus diameter.dictionaries) that every thread may read.
 *
 * Life: dm_svc_new (main thread, before the engine starts) → dm_svc_worker_start on each
 * worker's thread (the node's makes the node) → dm_svc_shutdown (main thread: DPRs, waits
 * for the connections to end) → the engine stops (the node is freed on its worker) →
 * dm_svc_free. Return convention: 0 on success, -errno on failure. */
#ifndef DM_SVC_H
#define DM_SVC_H

#include <stdint.h>

#include "common/cm_config-t.h"
#include "diameter/dm_dict.h"
#include "diameter/dm_node.h"
#include "engine/eng.h"

#define DM_SVC_WORKER 0u

struct dm_svc;

/* From <cfg>->diameter: *<out> NULL when Diameter is off (origin_host empty). 0, or
 * -EINVAL/-ENOENT/-ENOMEM with <err> saying what in the configuration is wrong (a peer URI,
 * a dictionary file, an application not in the dictionary). */
int dm_svc_new(const struct cm_config *cfg, struct dm_svc **out, char *err, size_t errlen);
void dm_svc_free(struct dm_svc *s);

/* The application that takes the requests received (before the engine starts). */
void dm_svc_set_incoming(struct dm_svc *s,
			 void (*fn)(void *arg, uint64_t id, const char *peer, const uint8_t *m,
				    size_t n),
			 void *arg);

/* On each worker's thread at its start: the node's worker makes the node. 0 or -errno with
 * <err>. */
int dm_svc_worker_start(struct dm_svc *s, eng_worker *w, char *err, size_t errlen);

/* The node, on its worker's thread only (NULL before it started or after it stopped). */
struct dm_node *dm_svc_node(struct dm_svc *s);
const struct dm_dict *dm_svc_dict(const struct dm_svc *s);
const char *dm_svc_origin_host(const struct dm_svc *s);
const char *dm_svc_origin_realm(const struct dm_svc *s);
/* The first configured peer's realm ("" when none has one): the default Destination-Realm. */
const char *dm_svc_default_realm(const struct dm_svc *s);
uint32_t dm_svc_request_timeout_ms(const struct dm_svc *s);
/* A new Session-Id (RFC 6733 §8.8: "<origin_host>;<high 32 bits>;<low 32 bits>", the high
 * part the start's time, the low one a counter of this process). Any thread. */
void dm_svc_session_id(struct dm_svc *s, char *buf, size_t len);
/* An application id by dictionary name or number; 0 with -ENOENT when unknown. */
int dm_svc_app_id(const struct dm_svc *s, const char *name, uint32_t *id);

/* Main thread: DPR (Disconnect-Cause REBOOTING) to every peer through <e>'s node worker,
 * then waits up to <wait_ms> for their connections to end. 0, or -ETIMEDOUT. */
int dm_svc_shutdown(struct dm_svc *s, eng_engine *e, unsigned wait_ms);

/* ---- hooks in the messaging path (any worker) ------------------------------------------
 *
 * A question to the node on its worker, whose verdict comes back on the asking worker:
 *   DM_ALLOW  the answer's Result-Code (or Experimental-Result-Code) is 2xxx
 *   DM_DENY   it is 4xxx or 5xxx (Sh: the user is unknown or barred; Ro: credit refused)
 *   DM_FAILED no answer in time, no open peer, or a protocol error (3xxx)
 * <rc> is the Result-Code (0 without an answer). */
enum dm_verdict { DM_ALLOW = 0, DM_DENY, DM_FAILED };
typedef void (*dm_hook_fn)(eng_worker *w, void *arg, enum dm_verdict v, uint32_t rc);

/* Sh (TS 29.328/29.329): a UDR for Public-Identity <user> (Data-Reference IMSUserState).
 * 0 (<fn> runs later on <from>'s thread, once), -EAGAIN (the node's mailbox is full),
 * -ENOMEM. */
int dm_svc_sh_check(struct dm_svc *s, eng_worker *from, const char *user, dm_hook_fn fn,
		    void *arg);
/* Ro (RFC 4006 §6.1 event charging, 3GPP IMS Service-Context-Id 32260@3gpp.org): a CCR of
 * CC-Request-Type EVENT_REQUEST, Requested-Action DIRECT_DEBITING, one service-specific
 * unit, for one message of <sender> (Subscription-Id END_USER_SIP_URI). Same returns. */
int dm_svc_ro_charge(struct dm_svc *s, eng_worker *from, const char *sender, dm_hook_fn fn,
		     void *arg);
/* The hooks the configuration turns on (diameter.sh_check, ro_charging), and whether a
 * DM_FAILED verdict lets the message pass (diameter.hook_failure = allow). */
int dm_svc_sh_on(const struct dm_svc *s);
int dm_svc_ro_on(const struct dm_svc *s);
int dm_svc_fail_open(const struct dm_svc *s);
/* What the hooks sent and heard, by verdict (relaxed counters, any thread). */
struct dm_hook_stats {
	uint64_t sh_allowed, sh_denied, sh_failed, ro_allowed, ro_denied, ro_failed;
};
void dm_svc_hook_stats(const struct dm_svc *s, struct dm_hook_stats *out);

/* Any thread: configured peers open now, and configured peers (relaxed). */
unsigned dm_svc_open_peers(const struct dm_svc *s);
unsigned dm_svc_peers(const struct dm_svc *s);

#endif

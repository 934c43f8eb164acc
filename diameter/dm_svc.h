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
/* An application id by dictionary name or number; 0 with -ENOENT when unknown. */
int dm_svc_app_id(const struct dm_svc *s, const char *name, uint32_t *id);

/* Main thread: DPR (Disconnect-Cause REBOOTING) to every peer through <e>'s node worker,
 * then waits up to <wait_ms> for their connections to end. 0, or -ETIMEDOUT. */
int dm_svc_shutdown(struct dm_svc *s, eng_engine *e, unsigned wait_ms);

/* Any thread: open peers, and peers (relaxed). */
unsigned dm_svc_open_peers(const struct dm_svc *s);
unsigned dm_svc_peers(const struct dm_svc *s);

#endif

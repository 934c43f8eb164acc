/* dm_node.h — the Diameter node of the daemon (issue 9): its peers (RFC 6733 §2.1 "aaa://"
 * URIs of the configuration, connected as initiator and connected again Tc after they go;
 * others let in on a listener), the realm routing of the requests it sends (§6.1: to
 * Destination-Host when a peer of that identity is open, else to the first open peer of
 * Destination-Realm that has the application, in the order of the configuration: the
 * first is the primary, the others are taken while it is down and left when it is back),
 * failover (§5.5.4: a request whose peer went down or became suspect goes to another peer
 * of its realm with the T flag and its End-to-End Identifier; with none open it waits —
 * at its suspect peer, whose answer may still come, or for a peer to open — until its
 * deadline), the requests it receives (checked for this node's identity,
 * realm and applications, then handed to the application with an id; unanswered after a
 * timeout: answered with a configured Result-Code), and its end (DPR to every peer).
 *
 * Everything runs on one worker, the node's (the daemon's worker 0): other threads reach
 * it through that worker's mailbox. The layer above builds requests and answers from JSON
 * (dm_json.h) and hands bytes here.
 *
 * Return convention: 0 on success, -errno on failure. */
#ifndef DM_NODE_H
#define DM_NODE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "diameter/dm_dict.h"
#include "diameter/dm_msg.h"
#include "diameter/dm_peer.h"
#include "engine/eng.h"
#include "engine/eng_dns-t.h"

#define DM_PORT 3868                   /* RFC 6733 §2.1: aaa:// without a port */
#define DM_RC_TOO_BUSY 3004
#define DM_RC_UNABLE_TO_DELIVER 3002
#define DM_RC_REALM_NOT_SERVED 3003
#define DM_RC_APPLICATION_UNSUPPORTED 3007
#define DM_RC_UNKNOWN_PEER 3010

/* One peer of the configuration: "aaa://host[:port][;transport=tcp][;realm=R]". */
struct dm_node_peer_cfg {
	char uri[320];                 /* as written */
	char host[256];                /* its DiameterIdentity (a name), or an address */
	uint16_t port;
	char realm[256];               /* ";realm=": "" = learnt from its CEA */
};
/* Parses <uri> into <out>. 0, or -EINVAL with <err> saying why (not aaa://, aaas:// or a
 * transport other than tcp: not supported; a bad port or parameter). */
int dm_node_parse_peer(const char *uri, struct dm_node_peer_cfg *out, char *err,
		       size_t errlen);

struct dm_node_cfg {
	const char *origin_host, *origin_realm;
	const char *product;           /* Product-Name ("rcsgw") */
	uint32_t vendor_id;
	const uint32_t *apps;          /* Auth-Application-Ids advertised and served */
	unsigned napps;
	const struct dm_node_peer_cfg *peers;
	unsigned npeers;
	const char *listen;            /* "host:port" for peers that connect to us; "" none */
	/* Origin-Hosts let in on the listener besides the configured peers': shell patterns,
	 * case-insensitive ("*.ims.example.net", "*": any) */
	char *const *accept;
	unsigned naccept;
	uint32_t tw_ms;                /* watchdog (RFC 3539): 0 is 30 s */
	uint32_t tc_ms;                /* reconnection: 0 is 30 s (RFC 6733 §2.1) */
	uint32_t answer_timeout_ms;    /* a request received, unanswered: 0 is 5 s */
	uint32_t unanswered_rc;        /* ... then answered with: 0 is 5012 */
	unsigned max_incoming;         /* requests received waiting for their answers: 0 is 1024
	                                * (more: 3004 DIAMETER_TOO_BUSY) */
	unsigned max_pending;          /* requests of ours waiting for their answers: 0 is 65536
	                                * (more: -EBUSY) */
	const struct dm_dict *dict;
	const struct dm_limits *lim;   /* NULL: the defaults */
	const struct eng_dns_config *dns; /* for peers named, not numbered (NULL: defaults) */
	/* a request received for the application, checked: <id> to answer it with; <peer> the
	 * Origin-Host of the connection it came on. On the node's worker. NULL: answered
	 * 5012 at once */
	void (*incoming)(void *arg, uint64_t id, const char *peer, const uint8_t *m, size_t n);
	void *arg;
};

struct dm_node;

/* Creates the node on worker <w> (its thread): connects to every peer, listens. <cfg> and
 * what it points to must outlive the node. NULL with <err> filled. */
struct dm_node *dm_node_new(eng_worker *w, const struct dm_node_cfg *cfg, char *err,
			    size_t errlen);
/* Frees it: connections closed at once (dm_node_shutdown first for the DPRs), requests
 * waiting told -ECANCELED. */
void dm_node_free(struct dm_node *n);

/* The outcome of a request: <status> 0 with the answer's bytes and the Origin-Host of the
 * peer it came from; -ETIMEDOUT (no answer by its deadline); -EHOSTUNREACH (no open peer
 * for its Destination-Realm / Destination-Host and application when it was sent);
 * -ECANCELED (the node freed or shutting down). Once, on the node's worker, never inside
 * dm_node_request. */
typedef void (*dm_node_answer_fn)(void *arg, int status, const uint8_t *ans, size_t len,
				  const char *peer);
/* Sends request <msg> (<len> bytes, malloc'ed: taken in every case, freed here; its
 * identifiers set here) routed by its Destination-Host, Destination-Realm and
 * Application-Id, waiting <timeout_ms> at most. 0 (<fn> will be called), -EINVAL (not a
 * request, no Destination-Realm), -EBUSY (max_pending requests of ours wait already),
 * -ENOMEM, -ESHUTDOWN. */
int dm_node_request(struct dm_node *n, uint8_t *msg, size_t len, uint32_t timeout_ms,
		    dm_node_answer_fn fn, void *arg);

/* Answers the request received as <id>: the answer has its command, application, P flag
 * and identifiers; first its Session-Id (<avps>'s, else the request's); Result-Code <rc>
 * (0: 2001) unless <avps> has a Result-Code or an Experimental-Result; the E flag when the
 * Result-Code is 3xxx; this node's Origin-Host and Origin-Realm unless <avps> has them;
 * then the other AVPs of <avps> (<avps_len> bytes, written and padded). 0, -ENOENT (no such
 * request: never received, answered, timed out, or its connection ended), -ENOTCONN (its
 * peer is gone: dropped), -EMSGSIZE, -ENOMEM. */
int dm_node_answer(struct dm_node *n, uint64_t id, uint32_t rc, const uint8_t *avps,
		   size_t avps_len);

/* Sends a DPR (Disconnect-Cause <cause>: 0 REBOOTING, 1 BUSY, 2 DO_NOT_WANT_TO_TALK_TO_YOU)
 * to every open peer, stops connecting and listening; requests of ours waiting are told
 * -ECANCELED, requests received waiting for the application are answered for it first. dm_node_live() says when every connection has ended. */
void dm_node_shutdown(struct dm_node *n, uint32_t cause);
/* Connections not ended yet. */
unsigned dm_node_live(const struct dm_node *n);

/* The peers as a JSON array (GET /v1/diameter/peers): uri, host, realm, origin
 * ("configured" or "accepted"), state, since (RFC 3339), address, and their counters. */
json_t *dm_node_peers_json(struct dm_node *n);

struct dm_node_stats {
	uint64_t requests_out;         /* requests of ours sent (failovers counted apart) */
	uint64_t answers_in;           /* their answers */
	uint64_t timeouts;             /* ... none by the deadline */
	uint64_t no_route;             /* refused: no open peer for them */
	uint64_t failovers;            /* sent again through another peer (T flag) */
	uint64_t requests_in;          /* requests received for the application */
	uint64_t answers_out;          /* ... answered by it */
	uint64_t unanswered;           /* ... answered for it after answer_timeout */
	uint64_t refused_in;           /* requests received refused here (3002, 3003, 3004,
	                                * 3007, 5012 without an application) */
	uint64_t dropped_in;           /* ... whose connection ended before their answer */
	uint64_t too_busy_in;          /* ... of refused_in: 3004, max_incoming waiting */
	uint64_t busy_out;             /* requests of ours refused (-EBUSY): max_pending wait */
	uint64_t malformed;            /* malformed messages from peers (answered or closed) */
	uint64_t slow_frames;          /* connections cut off with a message unfinished at
					* engine.frame_timeout (slowloris) */
	uint64_t connects;             /* connections opened (capabilities exchanged) */
	uint64_t connect_failures;     /* connections that failed before being open */
	uint64_t watchdog_suspects;    /* peers found suspect by the watchdog */
	uint64_t peers_open;           /* gauge */
	uint64_t peers;                /* gauge: configured and accepted */
};
void dm_node_stats(const struct dm_node *n, struct dm_node_stats *out);
/* Its peers' messages by command and result, and their round trips; the node's worker. */
const struct dm_traffic *dm_node_traffic(const struct dm_node *n);
/* Open peers now; any thread (relaxed). */
unsigned dm_node_open_peers(const struct dm_node *n);
unsigned dm_node_peer_count(const struct dm_node *n);
/* Configured peers open now (accepted ones apart); any thread. */
unsigned dm_node_open_configured(const struct dm_node *n);

#endif

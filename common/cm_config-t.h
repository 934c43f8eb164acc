/* cm_config-t.h — types of the configuration (no prototypes here, see cm_config.h).
 *
 * The configuration is one struct cm_config with one nested struct per section of the file.
 * What keys exist, their types, defaults and bounds is said once, in the schema table of
 * cm_config.c (one struct cm_config_key per key): parsing, defaults, RCSGW_* environment
 * overrides, validation and the dump are all driven by it. Adding a key is one row there
 * plus one field here. */
#ifndef CM_CONFIG_T_H
#define CM_CONFIG_T_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A list of owned, NUL-terminated, non-empty strings (listen addresses, API tokens). */
struct cm_strlist {
	char **v;                  /* <n> strings, each malloc'ed; NULL when <n> is 0 */
	size_t n;
};

/* Value types of a key, and what the struct field behind it is. */
enum cm_cfg_type {
	CM_CFG_INT = 0,            /* int64_t within [min, max]; file: integer */
	CM_CFG_BOOL,               /* bool; file: true/false */
	CM_CFG_STRING,             /* char *, owned copy, never NULL after load ("" = unset) */
	CM_CFG_STRLIST,            /* struct cm_strlist; file: list or array of strings (or one
	                            * string), env: comma-separated, "" = empty list */
	CM_CFG_ENUM,               /* int: index of the value in the key's <names> */
	CM_CFG_DURATION,           /* int64_t milliseconds; file: integer ms or "500ms" "30s"
	                            * "5m" "1h" */
	CM_CFG_SIZE,               /* int64_t bytes; file: integer or "16k" "4M" "1G" (x1024) */
};

/* Flags of a key (struct cm_config_key.flags). */
#define CM_CFG_F_POW2   0x01u  /* CM_CFG_INT: the value must be a power of two */
#define CM_CFG_F_AUTO   0x02u  /* CM_CFG_INT: the string "auto" is accepted and stored as 0 */
#define CM_CFG_F_SECRET 0x04u  /* values are not printed by cm_config_dump() */

/* One row of the schema: one key of one section. */
struct cm_config_key {
	const char *section;       /* "engine" */
	const char *key;           /* "buffer_size" */
	enum cm_cfg_type type;
	unsigned flags;            /* CM_CFG_F_* */
	size_t off;                /* offset of the field in struct cm_config */
	int64_t min, max;          /* bounds of INT, DURATION and SIZE values (inclusive) */
	const char *const *names;  /* ENUM: allowed values, NULL-terminated; index = stored value */
	const char *def;           /* default, written as the environment would write it */
	const char *help;          /* one line for operators */
};

/* engine.backend (same order as enum eng_backend). */
enum cm_backend {
	CM_BACKEND_AUTO = 0,       /* io_uring when it can be set up, else epoll */
	CM_BACKEND_IO_URING,
	CM_BACKEND_EPOLL,
};

/* tls.min_version */
enum cm_tls_version {
	CM_TLS_1_2 = 0,
	CM_TLS_1_3,
};

/* log.format */
enum cm_log_format {
	CM_LOG_FMT_TEXT = 0,
	CM_LOG_FMT_JSON,
};

struct cm_config_engine {
	int backend;               /* enum cm_backend */
	int64_t workers;           /* 0 = auto: one per online CPU */
	bool pin;                  /* pin each worker to a CPU */
	int64_t buffer_size;       /* bytes per pool buffer */
	int64_t buffers_max;       /* pool buffers per worker */
	int64_t buffer_ring_entries; /* provided-buffer ring entries (power of two) */
	int64_t ring_entries;      /* io_uring submission queue entries (power of two) */
	int64_t sendq_high;        /* bytes queued on a connection that pause its feeders */
	int64_t sendq_low;         /* bytes below which paused feeders resume (< sendq_high) */
	int64_t mailbox_size;      /* messages per worker mailbox (power of two) */
	int64_t timer_tick_ms;     /* timer wheel resolution */
	int64_t max_conns;         /* connections per worker */
	int64_t drain_timeout_ms;  /* grace period for open connections at shutdown */
	int64_t tls_handshake_timeout_ms; /* accepted TLS handshake deadline (0: none) */
	int64_t frame_timeout_ms;  /* SIP/Diameter message deadline, first byte to last (0: none) */
	int64_t send_timeout_ms;   /* queued bytes not moving this long: closed (0: never) */
	struct cm_strlist tcp_profiles; /* per-peer TCP profiles (engine/eng_profile.h) */
};

struct cm_config_api {
	struct cm_strlist listen;  /* "host:port" of the REST API */
	struct cm_strlist tokens;  /* accepted bearer tokens; empty = no authentication */
	struct cm_strlist webhooks; /* http(s) URLs that get every event (POST JSON) */
	char *webhook_secret;      /* HMAC-SHA256 key of the signature header; "" = unsigned */
	int64_t webhook_timeout_ms; /* one delivery attempt */
	int64_t webhook_retries;   /* further attempts of a failed delivery (back-off) */
	int64_t event_queue;       /* events held for delivery, at most; more are dropped */
	int64_t sse_max_clients;   /* GET /v1/events streams at once */
	int64_t sse_keepalive_ms;  /* a comment line on an idle stream this often */
	int64_t per_ip_limit;      /* HTTP connections per client address (0: no limit) */
	int64_t head_timeout_ms;   /* a request's head and body deadline (0: none) */
};

struct cm_config_msrp {
	struct cm_strlist listen;  /* "host:port" for MSRP over TCP */
	int64_t max_line;          /* bytes of one start or header line */
	int64_t max_headers;       /* header lines per frame */
	int64_t max_head;          /* bytes of start line + headers */
	int64_t max_chunk;         /* body bytes of one frame */
	int64_t transaction_timeout_ms; /* a request without response fails with 408 */
	int64_t max_transactions;  /* requests awaiting a response per connection */
	int64_t idle_timeout_ms;   /* a connection without traffic is closed (0: never) */
	int64_t head_timeout_ms;   /* a frame head still incomplete after this is cut off */
	int64_t body_timeout_ms;   /* a frame body's first deadline (0: none) */
	int64_t body_min_rate;     /* bytes/s that move it a second later (0: no deadline) */
	struct cm_strlist ws_listen;  /* "host:port" for MSRP over WebSocket (RFC 7977) */
	struct cm_strlist wss_listen; /* "host:port" for MSRP over secure WebSocket (msrps TLS) */
	int64_t ws_max_message;    /* bytes of one incoming WebSocket message (> max_head) */
	int64_t chunk_size;        /* body bytes per chunk of messages rcsgw sends (<= max_chunk) */
	int64_t max_message;       /* bytes of one reassembled incoming message */
	int64_t max_chunks;        /* chunks of one reassembled incoming message */
	int64_t reassembly_timeout_ms; /* a message without a new chunk for this long is dropped */
};

struct cm_config_msrps {
	struct cm_strlist listen;  /* "host:port" for MSRP over TLS */
	char *cert;                /* PEM certificate chain file */
	char *key;                 /* PEM private key file */
	char *ca;                  /* PEM CA file to verify clients with */
	bool verify_client;        /* ask for and verify client certificates */
	struct cm_strlist sni_certs; /* "name:cert.pem:key.pem": another certificate for SNI name */
};

struct cm_config_relay {
	bool enabled;              /* AUTH and forwarding on the MSRP listeners (RFC 4976) */
	char *realm;               /* Digest realm */
	char *credentials_file;    /* htdigest file: user:realm:HA1 */
	char *credentials_redis;   /* "host:port" of a Redis holding HA1s; "" = none */
	char *credentials_redis_key; /* hash of user -> HA1 hex in that Redis */
	char *credentials_hook;    /* http(s) URL asked for a user's HA1; "" = none */
	struct cm_strlist egress;  /* "MATCH NEXTHOP [src=IP]" rules, first match wins */
	char *egress_hook;         /* http(s) URL asked for a next hop; "" = none */
	int64_t hook_timeout_ms;   /* an HTTP hook or Redis answer later than this fails */
	int64_t hook_cache_ttl_ms; /* answers of hooks and Redis are kept this long */
	int64_t nonce_ttl_ms;      /* a Digest nonce is fresh this long, then stale */
	int64_t max_auth_failures; /* failed AUTHs per connection before 403 and close */
	int64_t min_expires_ms;    /* Expires accepted, else 423 */
	int64_t max_expires_ms;
	int64_t default_expires_ms; /* granted when the AUTH carries no Expires */
	char *public_host;         /* host of the Use-Path; "" = the address the client reached */
	int64_t max_sessions;      /* relay sessions per worker */
	int64_t max_sessions_per_user;
	int64_t max_sessions_per_ip;
	int64_t max_forward_chunk; /* larger chunks are split before forwarding; 0 = never */
};

struct cm_config_sip {
	struct cm_strlist listen;  /* "udp:host:port", "tcp:host:port", "tls:host:port" */
	char *advertise;           /* host[:port] in Via and Contact; "" = the listen address,
				    * or the source address toward the peer for a wildcard one */
	char *outbound_proxy;      /* SIP URI every out-of-dialog request goes through; "" = none */
	struct cm_strlist credentials; /* "realm:user:password" for 401/407 challenges */
	char *user_agent;          /* User-Agent and Server header value; "" = none */
	int64_t t1_ms;             /* RFC 3261 T1 (RTT estimate) */
	int64_t t2_ms;             /* RFC 3261 T2 */
	int64_t max_transactions;  /* SIP transactions per worker */
	int64_t max_message;       /* bytes of one SIP message */
	char *tls_cert;            /* PEM certificate chain of tls: listeners */
	char *tls_key;
	char *tls_ca;              /* PEM CAs to verify servers with; "" = system */
};

enum cm_ua_setup {
	CM_UA_SETUP_ACTIVE = 0,
	CM_UA_SETUP_PASSIVE,
};

struct cm_config_ua {
	bool enabled;              /* the user agent: REST sessions, inbound INVITEs with MSRP */
	struct cm_strlist accept_types; /* offered when a request names none, and auto-answer */
	struct cm_strlist accept_wrapped_types; /* offered with message/cpim in accept-types */
	char *msrp_advertise;      /* host of our a=path URIs and c=; "" = as sip.advertise */
	int setup;                 /* enum cm_ua_setup: who connects when the offer says actpass */
	int64_t answer_timeout_ms; /* an incoming session not answered by then gets 480 */
	int64_t invite_timeout_ms; /* an outgoing INVITE without final answer is CANCELled */
	struct cm_strlist auto_answer; /* glob patterns of Request-URIs answered at once */
	int64_t max_sessions;      /* user-agent sessions per worker */
	int64_t max_queued;        /* messages queued by the API in a session not yet up */
	char *relay;               /* msrp(s):// URI of an MSRP relay sessions go through */
	char *relay_user;          /* Digest credentials for AUTH at it */
	char *relay_password;
};

/* gateway.unmatched */
enum cm_gw_unmatched {
	CM_GW_REJECT = 0,          /* answered gateway.reject_code */
	CM_GW_PROXY,               /* forwarded (sip.outbound_proxy, else the Request-URI) */
};

struct cm_config_gateway {
	bool enabled;              /* SIP MESSAGE (page mode) <-> MSRP sessions */
	struct cm_strlist rules;   /* "domain:D", "prefix:P", "header:NAME", "feature:TAG" */
	struct cm_strlist page_users; /* "domain:D", "prefix:P": INVITEs to them are answered */
	int unmatched;             /* enum cm_gw_unmatched: what becomes of the other MESSAGEs */
	int64_t reject_code;       /* answer to a MESSAGE that no rule converts */
	int64_t session_timeout_ms; /* no activity either way: BYE */
	int64_t message_timeout_ms; /* no MESSAGE from the page-mode side: BYE */
	int64_t max_queued;        /* MESSAGEs waiting for their session to come up */
	bool await_delivery;       /* answer a MESSAGE once the MSRP side reported, not at once */
	int64_t delivery_timeout_ms; /* ... and 408 when no report came by then */
};

struct cm_config_dns {
	struct cm_strlist servers; /* "1.2.3.4", "[::1]:5353"; empty = /etc/resolv.conf */
	int64_t timeout_ms;        /* first try per server (c-ares doubles it each round) */
};

struct cm_config_tls {
	int min_version;           /* enum cm_tls_version */
};

struct cm_config_log {
	int level;                 /* enum cm_log_level (common/cm_log.h) */
	int format;                /* enum cm_log_format */
	int64_t rate_limit;        /* lines per second per call site of CM_LOG_RL, 0 = no limit */
};

struct cm_config_rcs {
	bool delivery_notifications; /* answer positive-delivery requests with an IMDN at once */
	int64_t max_display_pending; /* received messages per session awaiting their display IMDN */
	struct cm_strlist services; /* RCS services in our feature tags: chat, standalone, ... */
	char *botversion;          /* +g.gsma.rcs.botversion of a chatbot platform; "" = none */
	int64_t capability_ttl_ms; /* a capability answer is reused this long */
	int64_t capability_timeout_ms; /* an OPTIONS without a final answer by then: 408 */
	int64_t capability_cache;  /* capability answers kept per worker */
	int64_t file_max;          /* bytes of a file sent or received (RFC 5547) */
	int64_t file_store_max;    /* bytes of received files kept for download */
	int64_t file_ttl_ms;       /* a received file is kept this long */
};

/* Redis of the cluster (issue 8, in progress: the node's heartbeat and status so far). */
struct cm_config_redis {
	char *url;                 /* redis://[user[:password]@]host[:port][/db]; "" = none */
};

struct cm_config_cluster {
	char *node_id;             /* this node's name in Redis; "" = the host name */
	char *advertise;           /* where other nodes reach it; "" = sip.advertise */
	int64_t heartbeat_ttl_ms;  /* the heartbeat key's lifetime (renewed every third) */
};

/* Diameter (issue 9): off while origin_host is empty. */
struct cm_config_diameter {
	char *origin_host, *origin_realm;
	struct cm_strlist peers;       /* aaa:// URIs */
	char *listen;
	struct cm_strlist accept, applications, dictionaries;
	int64_t tw_ms, tc_ms, request_timeout_ms, answer_timeout_ms;
	int64_t unanswered_result, max_incoming, max_pending;
	bool sh_check, ro_charging;    /* hooks of the gateway (off by default) */
	int hook_failure;              /* 0: deny (503), 1: allow */
	int64_t hook_timeout_ms;
};

/* The contact centre (issue 10): off unless enabled. */
struct cm_config_cc {
	bool enabled;
	int64_t offer_timeout_ms;      /* an agent's chat leg rings this long, then next agent */
	int64_t max_waiting;           /* items waiting at once; more are refused (486) */
	int64_t max_held;              /* a waiting customer's messages held for the agent */
	char *definitions;             /* a JSON file of flows and agents made at start; "" */
};

/* HEP v3 tracing of SIP and MSRP to a collector (issue 11): off while collector is empty. */
struct cm_config_trace {
	char *collector;               /* numeric "host:port" of the collector (Homer) */
	int64_t capture_id;            /* the capture agent id of every packet */
	char *password;                /* the authentication key chunk; "" = none */
	struct cm_strlist protocols;   /* "sip", "msrp" */
	struct cm_strlist peers;       /* networks whose messages are traced; empty = all */
	int64_t msrp_type;             /* the HEP protocol type given to MSRP */
};

struct cm_config {
	struct cm_config_engine engine;
	struct cm_config_api api;
	struct cm_config_msrp msrp;
	struct cm_config_msrps msrps;
	struct cm_config_relay relay;
	struct cm_config_sip sip;
	struct cm_config_ua ua;
	struct cm_config_gateway gateway;
	struct cm_config_rcs rcs;
	struct cm_config_dns dns;
	struct cm_config_tls tls;
	struct cm_config_log log;
	struct cm_config_redis redis;
	struct cm_config_cluster cluster;
	struct cm_config_diameter diameter;
	struct cm_config_cc cc;
	struct cm_config_trace trace;
};

#endif

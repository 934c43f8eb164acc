/* cm_config.c — schema-driven configuration: defaults, libconfig file, RCSGW_* environment,
 * cross-key rules, dump.
 *
 * Every key is one row of cm_schema[] below. A value is always parsed into a union
 * cfg_val first and committed into the struct only when it is valid, so that an error
 * leaves nothing half-written and owned memory is never leaked. */
#include <errno.h>
#include <inttypes.h>
#include <libconfig.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/cm_config.h"
#include "common/cm_log.h"

/* log.level is stored as the index of its name: keep both in the same order. */
_Static_assert(CM_LOG_ERROR == 0 && CM_LOG_WARN == 1 && CM_LOG_INFO == 2 && CM_LOG_DEBUG == 3,
               "log.level names follow enum cm_log_level");

/* ---- the schema ---------------------------------------------------------------------- */

/* Offset of field <f> of struct cm_config; does not compile (distinct pointer types) when
 * the field is not of type <T>, so that a row cannot point at a field of the wrong type. */
#define CM_FIELD(f, T) \
	(offsetof(struct cm_config, f) + 0 * sizeof(&((struct cm_config *)0)->f == (T *)0))

#define K_INT(s, k, f, def, lo, hi, fl, help) \
	{ s, k, CM_CFG_INT, (fl), CM_FIELD(f, int64_t), (lo), (hi), NULL, def, help }
#define K_BOOL(s, k, f, def, help) \
	{ s, k, CM_CFG_BOOL, 0, CM_FIELD(f, bool), 0, 1, NULL, def, help }
#define K_STR(s, k, f, def, fl, help) \
	{ s, k, CM_CFG_STRING, (fl), CM_FIELD(f, char *), 0, 0, NULL, def, help }
#define K_LIST(s, k, f, def, fl, help) \
	{ s, k, CM_CFG_STRLIST, (fl), CM_FIELD(f, struct cm_strlist), 0, 0, NULL, def, help }
#define K_ENUM(s, k, f, names, def, help) \
	{ s, k, CM_CFG_ENUM, 0, CM_FIELD(f, int), 0, 0, names, def, help }
#define K_DUR(s, k, f, def, lo, hi, help) \
	{ s, k, CM_CFG_DURATION, 0, CM_FIELD(f, int64_t), (lo), (hi), NULL, def, help }
#define K_SIZE(s, k, f, def, lo, hi, help) \
	{ s, k, CM_CFG_SIZE, 0, CM_FIELD(f, int64_t), (lo), (hi), NULL, def, help }

#define KIB 1024LL
#define MIB (1024LL * 1024)
#define GIB (1024LL * 1024 * 1024)

static const char *const backend_names[] = { "auto", "io_uring", "epoll", NULL };
static const char *const hook_failure_names[] = { "deny", "allow", NULL };
static const char *const tls_names[] = { "1.2", "1.3", NULL };
static const char *const level_names[] = { "error", "warn", "info", "debug", NULL };
static const char *const format_names[] = { "text", "json", NULL };
static const char *const ua_setup_names[] = { "active", "passive", NULL };
static const char *const unmatched_names[] = { "reject", "proxy", NULL };

static const struct cm_config_key cm_schema[] = {
	K_ENUM("engine", "backend", engine.backend, backend_names, "auto",
	       "I/O backend: io_uring, epoll, or auto (io_uring when the kernel allows it, else epoll)"),
	K_INT("engine", "workers", engine.workers, "auto", 1, 1024, CM_CFG_F_AUTO,
	      "worker threads, one per core: auto = one per online CPU"),
	K_BOOL("engine", "pin", engine.pin, "true",
	       "pin each worker thread to its own CPU"),
	K_SIZE("engine", "buffer_size", engine.buffer_size, "16k", 4 * KIB, 1 * MIB,
	       "bytes per pool buffer (receive and send)"),
	K_INT("engine", "buffers_max", engine.buffers_max, "8192", 64, 65535, 0,
	      "pool buffers per worker, at most"),
	K_INT("engine", "buffer_ring_entries", engine.buffer_ring_entries, "1024", 16, 32768,
	      CM_CFG_F_POW2, "provided-buffer ring entries per worker (power of two)"),
	K_INT("engine", "ring_entries", engine.ring_entries, "1024", 32, 32768, CM_CFG_F_POW2,
	      "io_uring submission queue entries per worker (power of two)"),
	K_SIZE("engine", "sendq_high", engine.sendq_high, "256k", 4 * KIB, 1 * GIB,
	       "bytes queued on a connection that pause the connections feeding it"),
	K_SIZE("engine", "sendq_low", engine.sendq_low, "64k", 0, 1 * GIB,
	       "bytes below which paused feeders resume (must be below sendq_high)"),
	K_INT("engine", "mailbox_size", engine.mailbox_size, "4096", 64, 1048576, CM_CFG_F_POW2,
	      "messages per worker mailbox (power of two)"),
	K_INT("engine", "timer_tick_ms", engine.timer_tick_ms, "10", 1, 1000, 0,
	      "timer wheel resolution in milliseconds"),
	K_INT("engine", "max_conns", engine.max_conns, "262144", 16, 16777216, 0,
	      "connections per worker, at most"),
	K_DUR("engine", "drain_timeout", engine.drain_timeout_ms, "10s", 0, 3600000,
	      "at shutdown, how long open connections may go on before they are closed"),
	K_DUR("engine", "tls_handshake_timeout", engine.tls_handshake_timeout_ms, "10s", 0,
	      3600000, "an accepted TLS connection not through its handshake by then is closed "
	      "(0: never)"),
	K_DUR("engine", "frame_timeout", engine.frame_timeout_ms, "30s", 0, 3600000,
	      "a SIP or Diameter message begun on a connection and not whole by then: the "
	      "connection is closed (0: never)"),
	K_DUR("engine", "send_timeout", engine.send_timeout_ms, "60s", 0, 3600000,
	      "a connection with bytes queued for its peer and none sent for this long (the "
	      "peer reads nothing) is closed (0: never)"),
	K_LIST("engine", "tcp_profiles", engine.tcp_profiles, "", 0,
	       "per-peer TCP profiles, first match wins: \"MATCH [connect_timeout=D] "
	       "[read_timeout=D] [max_frame=S] [keepalive=D] [no_new]\" (see rcsgw.conf)"),

	K_LIST("api", "listen", api.listen, "127.0.0.1:8080", 0,
	       "REST API listen addresses, host:port"),
	K_LIST("api", "tokens", api.tokens, "", CM_CFG_F_SECRET,
	       "accepted bearer tokens; empty = no authentication"),
	K_LIST("api", "webhooks", api.webhooks, "", 0,
	       "http(s) URLs that every event is POSTed to (JSON); empty = none"),
	K_STR("api", "webhook_secret", api.webhook_secret, "", CM_CFG_F_SECRET,
	      "HMAC-SHA256 key of the webhook signature header; empty = unsigned"),
	K_DUR("api", "webhook_timeout", api.webhook_timeout_ms, "5s", 100, 120000,
	      "one webhook delivery attempt fails after this long"),
	K_INT("api", "webhook_retries", api.webhook_retries, "5", 0, 100, 0,
	      "further attempts of a failed webhook delivery, with exponential back-off"),
	K_INT("api", "event_queue", api.event_queue, "10000", 16, 10000000, 0,
	      "events waiting for delivery, at most; beyond, new events are dropped (counted)"),
	K_INT("api", "sse_max_clients", api.sse_max_clients, "100", 0, 100000, 0,
	      "GET /v1/events streams at once; beyond: 503"),
	K_DUR("api", "sse_keepalive", api.sse_keepalive_ms, "15s", 100, 3600000,
	      "a comment line on an idle event stream this often (below the proxies' idle timeouts)"),
	K_INT("api", "per_ip_limit", api.per_ip_limit, "128", 0, 256, 0,
	      "HTTP connections from one client address at once, at most (0: no limit); "
	      "beyond, new ones are closed at once"),
	K_DUR("api", "head_timeout", api.head_timeout_ms, "30s", 0, 3600000,
	      "an HTTP request (head and announced body) not all in by then after its "
	      "connection opened: the connection is closed (0: never)"),

	K_LIST("msrp", "listen", msrp.listen, "0.0.0.0:2855", 0,
	       "MSRP over TCP listen addresses, host:port"),
	K_SIZE("msrp", "max_line", msrp.max_line, "8k", 256, 1 * MIB,
	       "bytes of one MSRP start or header line; longer: the stream is closed"),
	K_INT("msrp", "max_headers", msrp.max_headers, "64", 4, 64, 0,
	      "header lines per MSRP frame; more: the stream is closed"),
	K_SIZE("msrp", "max_head", msrp.max_head, "16k", 1 * KIB, 1 * MIB,
	       "bytes of an MSRP frame's start line and headers"),
	K_SIZE("msrp", "max_chunk", msrp.max_chunk, "16M", 1 * KIB, 1 * GIB,
	       "body bytes of one MSRP frame (chunk); more: 413 and the stream is closed"),
	K_DUR("msrp", "transaction_timeout", msrp.transaction_timeout_ms, "30s", 100, 600000,
	      "a request sent without response by then fails with a local 408"),
	K_INT("msrp", "max_transactions", msrp.max_transactions, "256", 1, 65536, 0,
	      "requests awaiting a response per connection"),
	K_DUR("msrp", "idle_timeout", msrp.idle_timeout_ms, "10m", 0, 86400000,
	      "an MSRP connection without traffic either way is closed; 0 = never"),
	K_DUR("msrp", "head_timeout", msrp.head_timeout_ms, "30s", 100, 3600000,
	      "a frame head still incomplete after this long is cut off (slow clients)"),
	K_DUR("msrp", "body_timeout", msrp.body_timeout_ms, "30s", 0, 3600000,
	      "a frame body is due this long after its head, plus a second per "
	      "msrp.body_min_rate bytes received; later: cut off (0: no body deadline)"),
	K_SIZE("msrp", "body_min_rate", msrp.body_min_rate, "512", 0, 1 * GIB,
	       "bytes per second a frame body must come at, at least (0: no body deadline)"),
	K_LIST("msrp", "ws_listen", msrp.ws_listen, "", 0,
	       "MSRP over WebSocket (RFC 7977) listen addresses, host:port; empty = none"),
	K_LIST("msrp", "wss_listen", msrp.wss_listen, "", 0,
	       "MSRP over secure WebSocket listen addresses (msrps certificate); empty = none"),
	K_SIZE("msrp", "ws_max_message", msrp.ws_max_message, "1M", 1 * KIB, 1 * GIB,
	       "bytes of one incoming WebSocket message (must be above msrp.max_head)"),
	K_SIZE("msrp", "chunk_size", msrp.chunk_size, "8k", 256, 1 * GIB,
	       "body bytes per chunk of the messages rcsgw sends (at most msrp.max_chunk)"),
	K_SIZE("msrp", "max_message", msrp.max_message, "16M", 1 * KIB, 4 * GIB,
	       "bytes of one incoming message that rcsgw reassembles; more: 413"),
	K_INT("msrp", "max_chunks", msrp.max_chunks, "16384", 1, 1048576, 0,
	      "chunks of one incoming message that rcsgw reassembles; more: 413"),
	K_DUR("msrp", "reassembly_timeout", msrp.reassembly_timeout_ms, "2m", 1000, 3600000,
	      "a message being reassembled that gets no chunk for this long is dropped"),

	K_LIST("msrps", "listen", msrps.listen, "", 0,
	       "MSRP over TLS listen addresses, host:port; empty = none"),
	K_STR("msrps", "cert", msrps.cert, "", 0,
	      "PEM certificate chain file (required when msrps.listen is set)"),
	K_STR("msrps", "key", msrps.key, "", 0,
	      "PEM private key file (required when msrps.listen is set)"),
	K_STR("msrps", "ca", msrps.ca, "", 0,
	      "PEM CA file that client certificates are verified against"),
	K_BOOL("msrps", "verify_client", msrps.verify_client, "false",
	       "ask for a client certificate and verify it against msrps.ca"),
	K_LIST("msrps", "sni_certs", msrps.sni_certs, "", 0,
	       "more certificates chosen by the client's SNI name: \"name:cert.pem:key.pem\""),

	K_BOOL("relay", "enabled", relay.enabled, "true",
	       "MSRP relay (RFC 4976) on the MSRP listeners: AUTH, then SEND/REPORT forwarding"),
	K_STR("relay", "realm", relay.realm, "rcsgw", 0,
	      "Digest realm of the relay's AUTH challenges"),
	K_STR("relay", "credentials_file", relay.credentials_file, "", 0,
	      "htdigest file (user:realm:HA1 lines, as the htdigest tool writes them)"),
	K_STR("relay", "credentials_redis", relay.credentials_redis, "", 0,
	      "host:port of a Redis whose hash relay.credentials_redis_key maps users to HA1"),
	K_STR("relay", "credentials_redis_key", relay.credentials_redis_key, "rcsgw:relay:ha1", 0,
	      "name of that Redis hash (field: user name, value: HA1 in hex)"),
	K_STR("relay", "credentials_hook", relay.credentials_hook, "", 0,
	      "http(s) URL that gets a POSTed JSON user and realm and answers the HA1"),
	K_LIST("relay", "egress", relay.egress, "", 0,
	       "next-hop rules, first match wins: \"MATCH NEXTHOP [src=IP]\" (see rcsgw.conf)"),
	K_STR("relay", "egress_hook", relay.egress_hook, "", 0,
	      "http(s) URL asked for the next hop of a destination no rule matched"),
	K_DUR("relay", "hook_timeout", relay.hook_timeout_ms, "2s", 10, 60000,
	      "an answer of a hook or of Redis later than this counts as a failure"),
	K_DUR("relay", "hook_cache_ttl", relay.hook_cache_ttl_ms, "60s", 0, 86400000,
	      "answers of hooks and Redis are kept this long; 0 = not kept"),
	K_DUR("relay", "nonce_ttl", relay.nonce_ttl_ms, "5m", 1000, 86400000,
	      "a Digest nonce is fresh this long, then the client is re-challenged (stale)"),
	K_INT("relay", "max_auth_failures", relay.max_auth_failures, "3", 1, 1000, 0,
	      "failed AUTH attempts per connection; the next one gets 403 and the connection closes"),
	K_DUR("relay", "min_expires", relay.min_expires_ms, "60s", 1000, 31536000000LL,
	      "shortest AUTH lifetime granted; a shorter Expires gets 423"),
	K_DUR("relay", "max_expires", relay.max_expires_ms, "12h", 1000, 31536000000LL,
	      "longest AUTH lifetime granted; a longer Expires gets 423"),
	K_DUR("relay", "default_expires", relay.default_expires_ms, "30m", 1000, 31536000000LL,
	      "AUTH lifetime granted when the request has no Expires"),
	K_STR("relay", "public_host", relay.public_host, "", 0,
	      "host written in Use-Path URIs; empty = the local address the client connected to"),
	K_INT("relay", "max_sessions", relay.max_sessions, "1000000", 1, 100000000, 0,
	      "relay sessions (successful AUTHs) per worker"),
	K_INT("relay", "max_sessions_per_user", relay.max_sessions_per_user, "100", 1, 100000000, 0,
	      "relay sessions of one authenticated user, all workers together"),
	K_INT("relay", "max_sessions_per_ip", relay.max_sessions_per_ip, "10000", 1, 100000000, 0,
	      "relay sessions from one client IP address, all workers together"),
	K_SIZE("relay", "max_forward_chunk", relay.max_forward_chunk, "64k", 0, 1 * GIB,
	       "body bytes of a forwarded chunk; a bigger one is re-chunked; 0 = never"),

	K_LIST("sip", "listen", sip.listen, "udp:0.0.0.0:5060,tcp:0.0.0.0:5060", 0,
	       "SIP listen addresses, transport:host:port (udp, tcp, tls)"),
	K_STR("sip", "advertise", sip.advertise, "", 0,
	      "host[:port] written in Via and Contact; empty = the listen address (for a "
	      "wildcard one, the source address toward each peer)"),
	K_STR("sip", "outbound_proxy", sip.outbound_proxy, "", 0,
	      "SIP URI that every out-of-dialog request is sent through; empty = none"),
	K_LIST("sip", "credentials", sip.credentials, "", CM_CFG_F_SECRET,
	       "realm:user:password answering 401/407 challenges (realm * = any)"),
	K_STR("sip", "user_agent", sip.user_agent, "rcsgw", 0,
	      "User-Agent and Server header value; empty = none"),
	K_DUR("sip", "t1", sip.t1_ms, "500ms", 50, 10000,
	      "RFC 3261 T1, the round-trip estimate that drives retransmissions"),
	K_DUR("sip", "t2", sip.t2_ms, "4s", 100, 60000,
	      "RFC 3261 T2, the longest retransmission interval (at least t1)"),
	K_INT("sip", "max_transactions", sip.max_transactions, "65536", 16, 4194304, 0,
	      "SIP transactions per worker, client and server; beyond: 503 (over UDP a non-INVITE "
	      "one lives 64*T1 = 32 s: 65536 is ~2000 MESSAGEs/s per worker sustained)"),
	K_SIZE("sip", "max_message", sip.max_message, "64k", 1 * KIB, 1 * MIB,
	       "bytes of one SIP message; longer: 413 or dropped"),
	K_STR("sip", "tls_cert", sip.tls_cert, "", 0,
	      "PEM certificate chain of the tls: SIP listeners"),
	K_STR("sip", "tls_key", sip.tls_key, "", 0, "PEM private key of the tls: SIP listeners"),
	K_STR("sip", "tls_ca", sip.tls_ca, "", 0,
	      "PEM CAs that SIP TLS servers are verified with; empty = the system's"),

	K_BOOL("ua", "enabled", ua.enabled, "true",
	       "the MSRP user agent: REST sessions and inbound INVITEs with MSRP media"),
	K_LIST("ua", "accept_types", ua.accept_types,
	       "text/plain,message/cpim,application/im-iscomposing+xml", 0,
	       "a=accept-types offered when the application names none, and of auto-answers"),
	K_LIST("ua", "accept_wrapped_types", ua.accept_wrapped_types, "*", 0,
	       "a=accept-wrapped-types offered with message/cpim (types accepted inside CPIM)"),
	K_STR("ua", "msrp_advertise", ua.msrp_advertise, "", 0,
	      "host[:port] of our MSRP URIs (a=path) and of c= (a port when a balancer or NAT "
	      "in front of msrp.listen forwards another); empty = as sip.advertise"),
	K_ENUM("ua", "setup", ua.setup, ua_setup_names, "active",
	       "RFC 6135 role taken when the offer says actpass: active (we connect) or passive"),
	K_DUR("ua", "answer_timeout", ua.answer_timeout_ms, "30s", 1000, 600000,
	      "an incoming session that no application answers by then gets 480"),
	K_DUR("ua", "invite_timeout", ua.invite_timeout_ms, "60s", 1000, 600000,
	      "an outgoing INVITE without a final answer by then is cancelled (408)"),
	K_LIST("ua", "auto_answer", ua.auto_answer, "", 0,
	       "Request-URI glob patterns (* and ?) answered at once with ua.accept_types"),
	K_INT("ua", "max_sessions", ua.max_sessions, "100000", 1, 10000000, 0,
	      "user-agent sessions per worker; beyond: 503"),
	K_INT("ua", "max_queued", ua.max_queued, "64", 0, 100000, 0,
	      "messages the API may queue in a session that is not established yet"),
	K_STR("ua", "relay", ua.relay, "", 0,
	      "MSRP relay (RFC 4976) that sessions go through, msrp://host:port;tcp; empty = none"),
	K_STR("ua", "relay_user", ua.relay_user, "", 0, "user name for AUTH at ua.relay"),
	K_STR("ua", "relay_password", ua.relay_password, "", CM_CFG_F_SECRET,
	      "password for AUTH at ua.relay"),

	K_BOOL("gateway", "enabled", gateway.enabled, "false",
	       "convert SIP MESSAGE (page mode) into MSRP sessions and back"),
	K_LIST("gateway", "rules", gateway.rules, "", 0,
	       "which MESSAGEs are converted: domain:D, prefix:P, header:NAME, feature:TAG; empty = all"),
	K_LIST("gateway", "page_users", gateway.page_users, "", 0,
	       "page-mode users (domain:D, prefix:P) whose INVITEs from RCS phones the gateway answers"),
	K_ENUM("gateway", "unmatched", gateway.unmatched, unmatched_names, "reject",
	       "MESSAGEs no rule converts: reject (reject_code) or proxy (sip.outbound_proxy, "
	       "else their Request-URI)"),
	K_INT("gateway", "reject_code", gateway.reject_code, "404", 400, 699, 0,
	      "the answer to a MESSAGE that no rule converts"),
	K_DUR("gateway", "session_timeout", gateway.session_timeout_ms, "10m", 1000, 86400000,
	      "a gateway session without activity either way for this long is ended (BYE)"),
	K_DUR("gateway", "message_timeout", gateway.message_timeout_ms, "5m", 1000, 86400000,
	      "a gateway session without a MESSAGE from the page-mode side for this long is ended"),
	K_INT("gateway", "max_queued", gateway.max_queued, "32", 1, 100000, 0,
	      "MESSAGEs queued per session until it is up; beyond: 503 with Retry-After"),
	K_BOOL("gateway", "await_delivery", gateway.await_delivery, "false",
	       "answer a MESSAGE with the MSRP outcome (200 or a mapped code) instead of 202 at once"),
	K_DUR("gateway", "delivery_timeout", gateway.delivery_timeout_ms, "30s", 100, 600000,
	      "with await_delivery: a MESSAGE without an MSRP outcome by then gets 408"),

	K_BOOL("rcs", "delivery_notifications", rcs.delivery_notifications, "true",
	       "answer a received message that asks for positive-delivery with an IMDN at once"),
	K_INT("rcs", "max_display_pending", rcs.max_display_pending, "64", 0, 100000, 0,
	      "received messages per session remembered for their display notification"),
	K_LIST("rcs", "services", rcs.services, "chat", 0,
	       "RCS services in the feature tags of our Contact (INVITE, 200, OPTIONS): chat, "
	       "standalone, largemsg, ft, fthttp, chatbot, geopush, ... (rcs/rcs_tags.c)"),
	K_STR("rcs", "botversion", rcs.botversion, "", 0,
	      "+g.gsma.rcs.botversion of a chatbot platform, e.g. \"#=1,#=2\"; empty = none"),
	K_DUR("rcs", "capability_ttl", rcs.capability_ttl_ms, "1h", 1000, 30LL * 86400000,
	      "a capability answer (GET /v1/capabilities) is reused this long"),
	K_DUR("rcs", "capability_timeout", rcs.capability_timeout_ms, "5s", 100, 32000,
	      "an OPTIONS without a final answer by then counts as 408"),
	K_INT("rcs", "capability_cache", rcs.capability_cache, "10000", 0, 10000000, 0,
	      "capability answers kept per worker (the oldest goes)"),
	K_SIZE("rcs", "file_max", rcs.file_max, "16M", 1 * KIB, 4 * GIB,
	       "bytes of one file transfer (upload and MSRP); msrp.max_message when smaller"),
	K_SIZE("rcs", "file_store_max", rcs.file_store_max, "256M", 1 * KIB, 64 * GIB,
	       "bytes of received files kept for GET /v1/files/{id} (the oldest go)"),
	K_DUR("rcs", "file_ttl", rcs.file_ttl_ms, "1h", 1000, 30LL * 86400000,
	      "a received file is kept this long"),

	K_STR("redis", "url", redis.url, "", CM_CFG_F_SECRET,
	      "the cluster's Redis, redis://[user[:password]@]host[:port][/db] or "
	      "sentinel://host[:port],.../master[/db]; empty = none (everything in memory)"),
	K_STR("cluster", "node_id", cluster.node_id, "", 0,
	      "this node's name in Redis ([A-Za-z0-9._-], 64 at most); empty = the host name"),
	K_STR("cluster", "advertise", cluster.advertise, "", 0,
	      "host:port where other nodes reach this one; empty = sip.advertise"),
	K_DUR("cluster", "heartbeat_ttl", cluster.heartbeat_ttl_ms, "3s", 300, 60000,
	      "lifetime of the node's heartbeat key in Redis (renewed every third of it)"),

	K_STR("diameter", "origin_host", diameter.origin_host, "", 0,
	      "this node's Diameter identity (Origin-Host); empty = Diameter off"),
	K_STR("diameter", "origin_realm", diameter.origin_realm, "", 0,
	      "this node's realm (Origin-Realm); empty = the origin_host after its first dot"),
	K_LIST("diameter", "peers", diameter.peers, "", 0,
	       "peers to connect to: aaa://host[:port][;transport=tcp][;realm=R], the first "
	       "of a realm its primary"),
	K_STR("diameter", "listen", diameter.listen, "", 0,
	      "host:port where peers may connect to this node; empty = none"),
	K_LIST("diameter", "accept", diameter.accept, "", 0,
	       "Origin-Hosts let in on the listener besides the peers' (patterns: \"*.realm\", \"*\")"),
	K_LIST("diameter", "applications", diameter.applications, "Sh,Credit-Control", 0,
	       "applications advertised and served (dictionary names or ids)"),
	K_LIST("diameter", "dictionaries", diameter.dictionaries, "", 0,
	       "JSON dictionary files loaded over the built-in one (vendors, AVPs, commands)"),
	K_DUR("diameter", "watchdog", diameter.tw_ms, "30s", 1000, 3600000,
	      "Tw of RFC 3539: a DWR after this much silence, suspect after as much again"),
	K_DUR("diameter", "reconnect", diameter.tc_ms, "30s", 100, 3600000,
	      "Tc of RFC 6733: a peer that went is connected again after it"),
	K_DUR("diameter", "request_timeout", diameter.request_timeout_ms, "5s", 10, 600000,
	      "a request sent without its answer by then: 504 at the API"),
	K_DUR("diameter", "answer_timeout", diameter.answer_timeout_ms, "5s", 10, 600000,
	      "a request received, not answered by the application by then: answered for it"),
	K_INT("diameter", "unanswered_result", diameter.unanswered_result, "5012", 1000, 5999, 0,
	      "the Result-Code of that answer (5012 DIAMETER_UNABLE_TO_COMPLY)"),
	K_INT("diameter", "max_incoming", diameter.max_incoming, "1024", 1, 1000000, 0,
	      "requests received waiting for the application; more are answered 3004"),
	K_INT("diameter", "max_pending", diameter.max_pending, "65536", 1, 10000000, 0,
	      "requests of this node waiting for answers (API and hooks); more: 503 / no verdict"),
	K_BOOL("diameter", "sh_check", diameter.sh_check, "false",
	       "Sh (UDR) for the sender before a gateway session is made and for the caller of "
	       "an incoming INVITE: refused = 403"),
	K_BOOL("diameter", "ro_charging", diameter.ro_charging, "false",
	       "the gateway charges each message by Ro (CCR event): refused = 403 on SIP, a "
	       "failure REPORT on MSRP"),
	K_ENUM("diameter", "hook_failure", diameter.hook_failure, hook_failure_names, "deny",
	       "without an answer (no peer, timeout, 3xxx): deny (503) or allow"),
	K_DUR("diameter", "hook_timeout", diameter.hook_timeout_ms, "2s", 10, 60000,
	      "how long a hook waits for its answer"),

	K_BOOL("cc", "enabled", cc.enabled, "false",
	       "the contact centre: flows and agents by the API, chats to a flow's uri queued"),
	K_DUR("cc", "offer_timeout", cc.offer_timeout_ms, "20s", 100, 600000,
	      "an agent's chat leg rings this long before the chat goes to the next agent"),
	K_INT("cc", "max_waiting", cc.max_waiting, "10000", 1, 1000000, 0,
	      "chats waiting for an agent at once; more are refused (486)"),
	K_INT("cc", "max_held", cc.max_held, "32", 0, 10000, 0,
	      "a waiting customer's messages held for the agent; more get a failure REPORT"),
	K_STR("cc", "definitions", cc.definitions, "", 0,
	      "a JSON file {\"flows\": [...], \"agents\": [...]} (the API's bodies) made at start"),

	K_STR("trace", "collector", trace.collector, "", 0,
	      "numeric host:port of a HEP v3 collector (Homer) that gets a copy of each SIP "
	      "and MSRP message over UDP; empty = no tracing"),
	K_INT("trace", "capture_id", trace.capture_id, "1", 0, 4294967295LL, 0,
	      "the capture agent id in every HEP packet"),
	K_STR("trace", "password", trace.password, "", CM_CFG_F_SECRET,
	      "the HEP authentication key (chunk 14); empty = none"),
	K_LIST("trace", "protocols", trace.protocols, "sip,msrp", 0,
	       "what is traced: sip, msrp"),
	K_LIST("trace", "peers", trace.peers, "", 0,
	       "networks (\"10.0.0.0/8\", \"[::1]\", \"*:5060\") whose messages are traced, by "
	       "the peer's address and port; empty = every peer"),
	K_INT("trace", "msrp_type", trace.msrp_type, "77", 2, 255, 0,
	      "the HEP protocol type of MSRP (the HEP spec assigns none; 1 is SIP)"),

	K_LIST("dns", "servers", dns.servers, "", 0,
	       "name servers (numeric, optional :port) of every look-up; empty = /etc/resolv.conf"),
	K_DUR("dns", "timeout", dns.timeout_ms, "2s", 10, 60000,
	      "first try of a DNS query per server; c-ares doubles it on each later round"),

	K_ENUM("tls", "min_version", tls.min_version, tls_names, "1.2",
	       "lowest TLS version accepted"),

	K_ENUM("log", "level", log.level, level_names, "info",
	       "lines of lower importance are not written"),
	K_ENUM("log", "format", log.format, format_names, "text",
	       "text lines, or one JSON object per line"),
	K_INT("log", "rate_limit", log.rate_limit, "10", 0, 1000000, 0,
	      "rate-limited lines (per-packet errors) per second per call site; 0 = unlimited"),
};

#define NKEYS (sizeof(cm_schema) / sizeof(cm_schema[0]))

const struct cm_config_key *cm_config_schema(size_t *n)
{
	*n = NKEYS;
	return cm_schema;
}

const struct cm_config_key *cm_config_find(const char *section, const char *key)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (!strcmp(cm_schema[i].section, section) && !strcmp(cm_schema[i].key, key))
			return &cm_schema[i];
	return NULL;
}

static int section_known(const char *section)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (!strcmp(cm_schema[i].section, section))
			return 1;
	return 0;
}

int cm_config_env_name(const struct cm_config_key *k, char *buf, size_t len)
{
	int n = snprintf(buf, len, "RCSGW_%s_%s", k->section, k->key);

	if (n < 0 || (size_t)n >= len)
		return -ENOSPC;
	for (int i = 6; i < n; i++)
		if (buf[i] >= 'a' && buf[i] <= 'z')
			buf[i] = (char)(buf[i] - 'a' + 'A');
	return n;
}

/* ---- values -------------------------------------------------------------------------- */

union cfg_val {
	int64_t i;                 /* INT, DURATION, SIZE */
	bool b;                    /* BOOL */
	int e;                     /* ENUM */
	char *s;                   /* STRING, owned */
	struct cm_strlist l;       /* STRLIST, owned */
};

static void *field_of(struct cm_config *c, const struct cm_config_key *k)
{
	return (char *)c + k->off;
}

static const void *cfield_of(const struct cm_config *c, const struct cm_config_key *k)
{
	return (const char *)c + k->off;
}

static void strlist_free(struct cm_strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* Moves <v> into the field of <k> in <c>, freeing the value it replaces. */
static void val_commit(struct cm_config *c, const struct cm_config_key *k, union cfg_val *v)
{
	void *f = field_of(c, k);

	switch (k->type) {
	case CM_CFG_INT:
	case CM_CFG_DURATION:
	case CM_CFG_SIZE:
		*(int64_t *)f = v->i;
		break;
	case CM_CFG_BOOL:
		*(bool *)f = v->b;
		break;
	case CM_CFG_ENUM:
		*(int *)f = v->e;
		break;
	case CM_CFG_STRING:
		free(*(char **)f);
		*(char **)f = v->s;
		break;
	case CM_CFG_STRLIST:
		strlist_free(f);
		*(struct cm_strlist *)f = v->l;
		break;
	}
}

/* Writes what <k> accepts, e.g. `an integer 64..65535`, into <buf>. */
static void describe_expected(const struct cm_config_key *k, char *buf, size_t len)
{
	size_t o;

	switch (k->type) {
	case CM_CFG_INT:
		snprintf(buf, len, "%s%s %" PRId64 "..%" PRId64,
		         (k->flags & CM_CFG_F_AUTO) ? "\"auto\" or " : "",
		         (k->flags & CM_CFG_F_POW2) ? "a power of two" : "an integer", k->min, k->max);
		break;
	case CM_CFG_BOOL:
		snprintf(buf, len, "true or false");
		break;
	case CM_CFG_STRING:
		snprintf(buf, len, "a string");
		break;
	case CM_CFG_STRLIST:
		snprintf(buf, len, "a list of non-empty strings");
		break;
	case CM_CFG_ENUM:
		o = (size_t)snprintf(buf, len, "one of");
		for (size_t i = 0; k->names[i] && o < len; i++)
			o += (size_t)snprintf(buf + o, len - o, "%s \"%s\"", i ? "," : "", k->names[i]);
		break;
	case CM_CFG_DURATION:
		snprintf(buf, len, "a duration %" PRId64 "..%" PRId64 " ms (or with a unit: 500ms, 30s, 5m, 1h)",
		         k->min, k->max);
		break;
	case CM_CFG_SIZE:
		snprintf(buf, len, "a size %" PRId64 "..%" PRId64 " bytes (or with a unit: 16k, 4M, 1G)",
		         k->min, k->max);
		break;
	}
}

/* Writes <s> into <buf> as a quoted string, control bytes escaped, cut after 48 bytes. */
static void quote(const char *s, char *buf, size_t len)
{
	size_t o = 0, i;

	if (len < 8) {
		if (len)
			buf[0] = '\0';
		return;
	}
	buf[o++] = '"';
	for (i = 0; s[i] && i < 48 && o + 6 < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch < 0x20 || ch == 0x7f)
			o += (size_t)snprintf(buf + o, len - o, "\\x%02x", ch);
		else if (ch == '"' || ch == '\\')
			o += (size_t)snprintf(buf + o, len - o, "\\%c", ch);
		else
			buf[o++] = (char)ch;
	}
	if (s[i] && o + 5 < len) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o++] = '"';
	buf[o] = '\0';
}

/* "expected ..., got ..." for a text value <s> refused by <k>. Returns -1. */
static int refuse_text(const struct cm_config_key *k, const char *s, char *msg, size_t len)
{
	char exp[256], got[128];

	describe_expected(k, exp, sizeof(exp));
	quote(s, got, sizeof(got));
	snprintf(msg, len, "expected %s, got %s", exp, got);
	return -1;
}

/* Parses the decimal digits at <*p> into <*out>, advancing <*p>. -1 when there is no digit
 * or the number passes INT64_MAX. */
static int parse_digits(const char **p, int64_t *out)
{
	const char *s = *p;
	int64_t v = 0;

	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		int d = *s - '0';
		if (v > (INT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*p = s;
	*out = v;
	return 0;
}

/* A whole-string integer with an optional sign; 0 or -1. */
static int parse_int64(const char *s, int64_t *out)
{
	int neg = 0;

	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	if (parse_digits(&s, out) < 0 || *s)
		return -1;
	if (neg)
		*out = -*out;
	return 0;
}

struct unit {
	const char *name;
	int64_t mult;
};

static const struct unit duration_units[] = {
	{ "", 1 }, { "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 }, { NULL, 0 },
};

static const struct unit size_units[] = {
	{ "", 1 }, { "b", 1 },
	{ "k", KIB }, { "kb", KIB }, { "kib", KIB },
	{ "m", MIB }, { "mb", MIB }, { "mib", MIB },
	{ "g", GIB }, { "gb", GIB }, { "gib", GIB },
	{ NULL, 0 },
};

/* Digits followed by one of <units> (case-insensitive); 0 or -1 (also on overflow). */
static int parse_with_unit(const char *s, const struct unit *units, int64_t *out)
{
	int64_t v;

	if (parse_digits(&s, &v) < 0)
		return -1;
	for (const struct unit *u = units; u->name; u++) {
		if (strcasecmp(s, u->name))
			continue;
		if (v > INT64_MAX / u->mult)
			return -1;
		*out = v * u->mult;
		return 0;
	}
	return -1;
}

static int is_pow2(int64_t v)
{
	return v > 0 && (v & (v - 1)) == 0;
}

/* Bounds (and power of two) of a number of <k>. */
static int in_range(const struct cm_config_key *k, int64_t v)
{
	if (v < k->min || v > k->max)
		return 0;
	return !(k->flags & CM_CFG_F_POW2) || is_pow2(v);
}

/* Splits the comma-separated <s> into <l>, trimming blanks around elements. "" (or blanks)
 * is the empty list; an empty element is refused. 0 or -1 with <msg>. */
static int split_list(const char *s, struct cm_strlist *l, char *msg, size_t len)
{
	size_t n = 1;
	const char *p = s;

	l->v = NULL;
	l->n = 0;
	while (*p == ' ' || *p == '\t')
		p++;
	if (!*p)
		return 0;
	for (const char *q = s; *q; q++)
		n += *q == ',';
	l->v = calloc(n, sizeof(*l->v));
	if (!l->v) {
		snprintf(msg, len, "out of memory");
		return -1;
	}
	for (p = s;; p++) {
		const char *end = strchr(p, ',');
		const char *b = p, *e = end ? end : p + strlen(p);
		while (b < e && (*b == ' ' || *b == '\t'))
			b++;
		while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if (b == e) {
			char got[128];
			quote(s, got, sizeof(got));
			snprintf(msg, len, "expected a comma-separated list of non-empty strings, got %s", got);
			strlist_free(l);
			return -1;
		}
		l->v[l->n] = strndup(b, (size_t)(e - b));
		if (!l->v[l->n]) {
			snprintf(msg, len, "out of memory");
			strlist_free(l);
			return -1;
		}
		l->n++;
		if (!end)
			return 0;
		p = end;
	}
}

/* Parses <s>, written as in the environment, as a value of <k> into <v>. Also used for the
 * schema's defaults and for string values in the file. 0, or -1 with <msg>. */
static int parse_text(const struct cm_config_key *k, const char *s, union cfg_val *v,
                      char *msg, size_t len)
{
	switch (k->type) {
	case CM_CFG_INT:
		if ((k->flags & CM_CFG_F_AUTO) && !strcasecmp(s, "auto")) {
			v->i = 0;
			return 0;
		}
		if (parse_int64(s, &v->i) < 0 || !in_range(k, v->i))
			return refuse_text(k, s, msg, len);
		return 0;
	case CM_CFG_DURATION:
		if (parse_with_unit(s, duration_units, &v->i) < 0 || !in_range(k, v->i))
			return refuse_text(k, s, msg, len);
		return 0;
	case CM_CFG_SIZE:
		if (parse_with_unit(s, size_units, &v->i) < 0 || !in_range(k, v->i))
			return refuse_text(k, s, msg, len);
		return 0;
	case CM_CFG_BOOL:
		if (!strcasecmp(s, "true") || !strcasecmp(s, "yes") || !strcasecmp(s, "on") || !strcmp(s, "1"))
			v->b = true;
		else if (!strcasecmp(s, "false") || !strcasecmp(s, "no") || !strcasecmp(s, "off") || !strcmp(s, "0"))
			v->b = false;
		else
			return refuse_text(k, s, msg, len);
		return 0;
	case CM_CFG_ENUM:
		for (int i = 0; k->names[i]; i++) {
			if (!strcasecmp(s, k->names[i])) {
				v->e = i;
				return 0;
			}
		}
		return refuse_text(k, s, msg, len);
	case CM_CFG_STRING:
		v->s = strdup(s);
		if (!v->s) {
			snprintf(msg, len, "out of memory");
			return -1;
		}
		return 0;
	case CM_CFG_STRLIST:
		return split_list(s, &v->l, msg, len);
	}
	snprintf(msg, len, "bad schema type %d", (int)k->type);
	return -1;
}

/* What the file holds in <s>, for "got ..." */
static void describe_setting(const config_setting_t *s, char *buf, size_t len)
{
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		snprintf(buf, len, "%lld", config_setting_get_int64(s));
		break;
	case CONFIG_TYPE_FLOAT:
		snprintf(buf, len, "%g", config_setting_get_float(s));
		break;
	case CONFIG_TYPE_BOOL:
		snprintf(buf, len, "%s", config_setting_get_bool(s) ? "true" : "false");
		break;
	case CONFIG_TYPE_STRING:
		quote(config_setting_get_string(s), buf, len);
		break;
	case CONFIG_TYPE_GROUP:
		snprintf(buf, len, "a group");
		break;
	default:
		snprintf(buf, len, "a list");
		break;
	}
}

static int refuse_setting(const struct cm_config_key *k, const config_setting_t *s,
                          char *msg, size_t len)
{
	char exp[256], got[128];

	describe_expected(k, exp, sizeof(exp));
	describe_setting(s, got, sizeof(got));
	snprintf(msg, len, "expected %s, got %s", exp, got);
	return -1;
}

/* Parses the file setting <s> as a value of <k> into <v>. A string is read as the
 * environment's value would be; a number given to an enum is matched as its text (so that
 * `min_version = 1.3;` works). 0, or -1 with <msg> and <*line> set to the key's line. */
static int parse_setting(const struct cm_config_key *k, const config_setting_t *s,
                         union cfg_val *v, char *msg, size_t len, unsigned *line)
{
	char num[64];
	int t = config_setting_type(s);

	*line = config_setting_source_line(s);
	if (t == CONFIG_TYPE_STRING)
		return parse_text(k, config_setting_get_string(s), v, msg, len);

	switch (k->type) {
	case CM_CFG_INT:
	case CM_CFG_DURATION:
	case CM_CFG_SIZE:
		if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64)
			return refuse_setting(k, s, msg, len);
		v->i = config_setting_get_int64(s);
		if (!in_range(k, v->i))
			return refuse_setting(k, s, msg, len);
		return 0;
	case CM_CFG_BOOL:
		if (t != CONFIG_TYPE_BOOL)
			return refuse_setting(k, s, msg, len);
		v->b = config_setting_get_bool(s) != 0;
		return 0;
	case CM_CFG_ENUM:
		if (t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64)
			snprintf(num, sizeof(num), "%lld", config_setting_get_int64(s));
		else if (t == CONFIG_TYPE_FLOAT)
			snprintf(num, sizeof(num), "%g", config_setting_get_float(s));
		else
			return refuse_setting(k, s, msg, len);
		for (int i = 0; k->names[i]; i++) {
			if (!strcmp(num, k->names[i])) {
				v->e = i;
				return 0;
			}
		}
		return refuse_setting(k, s, msg, len);
	case CM_CFG_STRING:
		return refuse_setting(k, s, msg, len);
	case CM_CFG_STRLIST:
		break;
	}

	if (t != CONFIG_TYPE_LIST && t != CONFIG_TYPE_ARRAY)
		return refuse_setting(k, s, msg, len);
	v->l.n = 0;
	v->l.v = NULL;
	int n = config_setting_length(s);
	if (n == 0)
		return 0;
	v->l.v = calloc((size_t)n, sizeof(*v->l.v));
	if (!v->l.v) {
		snprintf(msg, len, "out of memory");
		return -1;
	}
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		const char *str = config_setting_type(e) == CONFIG_TYPE_STRING ?
		                  config_setting_get_string(e) : NULL;
		if (!str || !*str) {
			char got[128];
			describe_setting(e, got, sizeof(got));
			/* the key's line: libconfig 1.5 gives a list element the line of the
			 * token after it */
			snprintf(msg, len, "expected a list of non-empty strings, got %s at index %d", got, i);
			strlist_free(&v->l);
			return -1;
		}
		v->l.v[i] = strdup(str);
		if (!v->l.v[i]) {
			snprintf(msg, len, "out of memory");
			strlist_free(&v->l);
			return -1;
		}
		v->l.n++;
	}
	return 0;
}

/* ---- defaults ------------------------------------------------------------------------ */

void cm_config_defaults(struct cm_config *c)
{
	char msg[512];

	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < NKEYS; i++) {
		const struct cm_config_key *k = &cm_schema[i];
		union cfg_val v;
		if (parse_text(k, k->def, &v, msg, sizeof(msg)) < 0) {
			/* a malformed default is a bug of the schema (or no memory at start-up) */
			fprintf(stderr, "rcsgw: BUG: default of %s.%s: %s\n", k->section, k->key, msg);
			abort();
		}
		val_commit(c, k, &v);
	}
}

void cm_config_free(struct cm_config *c)
{
	for (size_t i = 0; i < NKEYS; i++) {
		const struct cm_config_key *k = &cm_schema[i];
		if (k->type == CM_CFG_STRING)
			free(*(char **)field_of(c, k));
		else if (k->type == CM_CFG_STRLIST)
			strlist_free(field_of(c, k));
	}
	memset(c, 0, sizeof(*c));
}

/* ---- loading ------------------------------------------------------------------------- */

enum origin_kind { ORIG_DEFAULT = 0, ORIG_FILE, ORIG_ENV };

/* Where the value of a key came from, for messages about cross-key rules. */
struct origin {
	enum origin_kind kind;
	const char *file;          /* ORIG_FILE: owned by the libconfig config_t of the load */
	unsigned line;
};

struct load {
	struct cm_config *c;
	char *err;
	size_t errlen;
	config_t cfg;
	struct origin orig[NKEYS];
};

__attribute__((format(printf, 2, 3)))
static int failf(struct load *L, const char *fmt, ...)
{
	va_list ap;

	if (L->errlen) {
		va_start(ap, fmt);
		vsnprintf(L->err, L->errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* Edit distance of two short strings (both under 64 bytes), else a large number. */
static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[64], prev, tmp;

	if (la >= 64 || lb >= 64)
		return 1000;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t best = prev + (a[i - 1] != b[j - 1]);
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			tmp = row[j];
			row[j] = best;
			prev = tmp;
		}
	}
	return row[lb];
}

/* " (did you mean X?)" for the unknown <section>.<key> (<key> NULL: an unknown section),
 * or "". */
static void suggest(const char *section, const char *key, char *buf, size_t len)
{
	size_t best = 3;
	const struct cm_config_key *hit = NULL;
	int sec_only = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < NKEYS; i++) {
		const struct cm_config_key *k = &cm_schema[i];
		size_t d;
		if (!key) {
			/* a misspelt section, or a key written outside its section */
			if ((d = distance(section, k->section)) < best) {
				best = d;
				hit = k;
				sec_only = 1;
			} else if (!hit && !strcmp(section, k->key)) {
				hit = k;
			}
		} else if (!strcmp(section, k->section)) {
			if ((d = distance(key, k->key)) < best) {
				best = d;
				hit = k;
			}
		} else if (!hit && !strcmp(key, k->key)) {
			hit = k;       /* the right key in the wrong section */
		}
	}
	if (hit && sec_only)
		snprintf(buf, len, " (did you mean %s?)", hit->section);
	else if (hit)
		snprintf(buf, len, " (did you mean %s.%s?)", hit->section, hit->key);
}

static const char *file_of(const config_setting_t *s, const char *path)
{
	const char *f = config_setting_source_file(s);
	return f ? f : path;
}

/* Reads <path> and applies every setting of it. */
static int apply_file(struct load *L, const char *path)
{
	char msg[512], hint[128];
	char *dir = strdup(path);
	int ok, io_errno;

	if (!dir)
		return failf(L, "%s: out of memory", path);
	char *slash = strrchr(dir, '/');
	if (slash) {
		/* @include "x" resolves beside the file ("/" stays "/") */
		if (slash == dir)
			slash[1] = '\0';
		else
			slash[0] = '\0';
		config_set_include_dir(&L->cfg, dir);
	}
	errno = 0;
	ok = config_read_file(&L->cfg, path);
	io_errno = errno;
	free(dir);
	if (!ok) {
		if (config_error_type(&L->cfg) == CONFIG_ERR_FILE_IO)
			return failf(L, "%s: cannot read: %s", path,
			             io_errno ? strerror(io_errno) : config_error_text(&L->cfg));
		return failf(L, "%s:%d: %s",
		             config_error_file(&L->cfg) ? config_error_file(&L->cfg) : path,
		             config_error_line(&L->cfg), config_error_text(&L->cfg));
	}

	const config_setting_t *root = config_root_setting(&L->cfg);
	for (int i = 0; i < config_setting_length(root); i++) {
		const config_setting_t *sec = config_setting_get_elem(root, (unsigned)i);
		const char *sname = config_setting_name(sec);
		const char *sfile = file_of(sec, path);

		if (!section_known(sname)) {
			suggest(sname, NULL, hint, sizeof(hint));
			return failf(L, "%s:%u: %s: unknown section%s", sfile,
			             config_setting_source_line(sec), sname, hint);
		}
		if (!config_setting_is_group(sec)) {
			describe_setting(sec, msg, sizeof(msg));
			return failf(L, "%s:%u: %s: expected a group { key = value; ... }, got %s",
			             sfile, config_setting_source_line(sec), sname, msg);
		}
		for (int j = 0; j < config_setting_length(sec); j++) {
			const config_setting_t *s = config_setting_get_elem(sec, (unsigned)j);
			const char *kname = config_setting_name(s);
			const struct cm_config_key *k = cm_config_find(sname, kname);
			union cfg_val v;
			unsigned line;

			if (!k) {
				suggest(sname, kname, hint, sizeof(hint));
				return failf(L, "%s:%u: %s.%s: unknown key%s", file_of(s, path),
				             config_setting_source_line(s), sname, kname, hint);
			}
			if (parse_setting(k, s, &v, msg, sizeof(msg), &line) < 0)
				return failf(L, "%s:%u: %s.%s: %s", file_of(s, path), line, sname, kname, msg);
			val_commit(L->c, k, &v);
			L->orig[k - cm_schema] = (struct origin){ ORIG_FILE, file_of(s, path), line };
		}
	}
	return 0;
}

/* Applies every RCSGW_<SECTION>_<KEY> variable of <envp>. */
static int apply_env(struct load *L, char *const *envp)
{
	char name[128], msg[512];

	for (; envp && *envp; envp++) {
		const char *var = *envp, *eq = strchr(var, '=');
		const struct cm_config_key *k = NULL;
		size_t nlen;

		if (strncmp(var, "RCSGW_", 6) || !eq)
			continue;
		nlen = (size_t)(eq - var);
		for (size_t i = 0; i < NKEYS && !k; i++) {
			int n = cm_config_env_name(&cm_schema[i], name, sizeof(name));
			if (n > 0 && (size_t)n == nlen && !memcmp(var, name, nlen))
				k = &cm_schema[i];
		}
		if (k) {
			union cfg_val v;
			if (parse_text(k, eq + 1, &v, msg, sizeof(msg)) < 0)
				return failf(L, "environment %.*s: %s", (int)nlen, var, msg);
			val_commit(L->c, k, &v);
			L->orig[k - cm_schema] = (struct origin){ ORIG_ENV, NULL, 0 };
			continue;
		}

		/* RCSGW_<SECTION>_* of a known section, yet no key of it: a typo */
		for (size_t i = 0; i < NKEYS; i++) {
			int n = cm_config_env_name(&cm_schema[i], name, sizeof(name));
			size_t plen = 6 + strlen(cm_schema[i].section) + 1;
			if (n > 0 && nlen > plen && !memcmp(var, name, plen)) {
				const struct cm_config_key *best = NULL;
				size_t bestd = 3;
				char vname[128];
				snprintf(vname, sizeof(vname), "%.*s", (int)nlen, var);
				for (size_t j = 0; j < NKEYS; j++) {
					size_t d;
					if (cm_config_env_name(&cm_schema[j], name, sizeof(name)) > 0 &&
					    (d = distance(vname, name)) < bestd) {
						bestd = d;
						best = &cm_schema[j];
					}
				}
				if (best) {
					cm_config_env_name(best, name, sizeof(name));
					return failf(L, "environment %s: no such key in section %s (did you mean %s?)",
					             vname, cm_schema[i].section, name);
				}
				return failf(L, "environment %s: no such key in section %s",
				             vname, cm_schema[i].section);
			}
		}
	}
	return 0;
}

/* "rcsgw.conf:12: engine.sendq_low", "environment RCSGW_ENGINE_SENDQ_LOW" or
 * "engine.sendq_low" (a default), for the key <k>. */
static void where(const struct load *L, const struct cm_config_key *k, char *buf, size_t len)
{
	const struct origin *o = &L->orig[k - cm_schema];
	char name[128];

	if (o->kind == ORIG_FILE) {
		snprintf(buf, len, "%s:%u: %s.%s", o->file, o->line, k->section, k->key);
	} else if (o->kind == ORIG_ENV) {
		cm_config_env_name(k, name, sizeof(name));
		snprintf(buf, len, "environment %s", name);
	} else {
		snprintf(buf, len, "%s.%s", k->section, k->key);
	}
}

/* Two keys out of order (lo must be below hi): name the key that was set, or the one
 * chosen by blame_hi when both (or neither) were. */
static int order_fail(struct load *L, const char *lsec, const char *lkey, int64_t lo,
                      const char *hsec, const char *hkey, int64_t hi, int blame_hi)
{
	const struct cm_config_key *kl = cm_config_find(lsec, lkey);
	const struct cm_config_key *kh = cm_config_find(hsec, hkey);
	int lset = L->orig[kl - cm_schema].kind != ORIG_DEFAULT;
	int hset = L->orig[kh - cm_schema].kind != ORIG_DEFAULT;
	char at[512];

	if (lset == hset ? blame_hi : hset) {
		where(L, kh, at, sizeof(at));
		return failf(L, "%s: %" PRId64 " must be above %s.%s (%" PRId64 ")", at, hi, lsec,
		             lkey, lo);
	}
	where(L, kl, at, sizeof(at));
	return failf(L, "%s: %" PRId64 " must be below %s.%s (%" PRId64 ")", at, lo, hsec, hkey,
	             hi);
}

/* The rules between keys, once every source is applied. */
static int validate(struct load *L)
{
	const struct cm_config *c = L->c;
	char at[512];

	if (c->engine.sendq_low >= c->engine.sendq_high)
		return order_fail(L, "engine", "sendq_low", c->engine.sendq_low, "engine",
		                  "sendq_high", c->engine.sendq_high, 0);
	if (c->msrps.listen.n && (!c->msrps.cert[0] || !c->msrps.key[0])) {
		where(L, cm_config_find("msrps", "listen"), at, sizeof(at));
		return failf(L, "%s: msrps.cert and msrps.key are required when msrps.listen is set", at);
	}
	if (c->msrp.wss_listen.n && (!c->msrps.cert[0] || !c->msrps.key[0])) {
		where(L, cm_config_find("msrp", "wss_listen"), at, sizeof(at));
		return failf(L, "%s: msrps.cert and msrps.key are required when msrp.wss_listen is set",
		             at);
	}
	/* a WebSocket message carries a whole frame: the message size is blamed when both
	 * were set */
	if (c->msrp.ws_max_message <= c->msrp.max_head)
		return order_fail(L, "msrp", "max_head", c->msrp.max_head, "msrp", "ws_max_message",
		                  c->msrp.ws_max_message, 1);
	for (size_t i = 0; i < c->msrps.sni_certs.n; i++) {
		const char *v = c->msrps.sni_certs.v[i], *a = strchr(v, ':');
		const char *b = a ? strchr(a + 1, ':') : NULL;
		if (!a || a == v || !b || b == a + 1 || !b[1] || strchr(b + 1, ':')) {
			where(L, cm_config_find("msrps", "sni_certs"), at, sizeof(at));
			return failf(L, "%s: element %zu: expected \"name:cert.pem:key.pem\", got \"%s\"",
			             at, i, v);
		}
	}
	if (c->msrp.chunk_size > c->msrp.max_chunk) {
		where(L, cm_config_find("msrp", "chunk_size"), at, sizeof(at));
		return failf(L, "%s: %" PRId64 " must not be above msrp.max_chunk (%" PRId64 ")",
		             at, c->msrp.chunk_size, c->msrp.max_chunk);
	}
	if (c->relay.min_expires_ms > c->relay.default_expires_ms ||
	    c->relay.default_expires_ms > c->relay.max_expires_ms) {
		/* blame a key that was set: default_expires, else the bound that was */
		const struct cm_config_key *k = cm_config_find("relay", "default_expires");
		if (L->orig[k - cm_schema].kind == ORIG_DEFAULT)
			k = cm_config_find("relay", c->relay.min_expires_ms > c->relay.default_expires_ms ?
			                   "min_expires" : "max_expires");
		where(L, k, at, sizeof(at));
		return failf(L, "%s: need relay.min_expires <= relay.default_expires <= "
		             "relay.max_expires (%" PRId64 " <= %" PRId64 " <= %" PRId64 " ms)", at,
		             c->relay.min_expires_ms, c->relay.default_expires_ms,
		             c->relay.max_expires_ms);
	}
	if (c->msrps.verify_client && !c->msrps.ca[0]) {
		where(L, cm_config_find("msrps", "verify_client"), at, sizeof(at));
		return failf(L, "%s: msrps.ca is required when msrps.verify_client is true", at);
	}
	if (c->sip.t1_ms > c->sip.t2_ms)
		return order_fail(L, "sip", "t1", c->sip.t1_ms, "sip", "t2", c->sip.t2_ms, 0);
	for (size_t i = 0; i < c->sip.listen.n; i++) {
		const char *v = c->sip.listen.v[i];
		int tls = !strncmp(v, "tls:", 4);
		if (strncmp(v, "udp:", 4) && strncmp(v, "tcp:", 4) && !tls) {
			where(L, cm_config_find("sip", "listen"), at, sizeof(at));
			return failf(L, "%s: element %zu: expected udp:, tcp: or tls: then host:port, "
			             "got \"%s\"", at, i, v);
		}
		if (tls && (!c->sip.tls_cert[0] || !c->sip.tls_key[0])) {
			where(L, cm_config_find("sip", "listen"), at, sizeof(at));
			return failf(L, "%s: sip.tls_cert and sip.tls_key are required for %s", at, v);
		}
	}
	for (size_t i = 0; i < c->gateway.page_users.n; i++) {
		const char *v = c->gateway.page_users.v[i];
		if ((strncmp(v, "domain:", 7) && strncmp(v, "prefix:", 7)) || !v[7]) {
			where(L, cm_config_find("gateway", "page_users"), at, sizeof(at));
			return failf(L, "%s: element %zu: expected domain: or prefix: and a value, got "
			             "\"%s\"", at, i, v);
		}
	}
	for (size_t i = 0; i < c->gateway.rules.n; i++) {
		const char *v = c->gateway.rules.v[i];
		if ((strncmp(v, "domain:", 7) && strncmp(v, "prefix:", 7) && strncmp(v, "header:", 7) &&
		     strncmp(v, "feature:", 8)) || !strchr(v, ':')[1]) {
			where(L, cm_config_find("gateway", "rules"), at, sizeof(at));
			return failf(L, "%s: element %zu: expected domain:, prefix:, header: or feature: "
			             "and a value, got \"%s\"", at, i, v);
		}
	}
	if (c->ua.relay[0] && (!c->ua.relay_user[0] || !c->ua.relay_password[0])) {
		where(L, cm_config_find("ua", "relay"), at, sizeof(at));
		return failf(L, "%s: ua.relay_user and ua.relay_password are required with ua.relay",
		             at);
	}
	for (size_t i = 0; i < c->sip.credentials.n; i++) {
		const char *v = c->sip.credentials.v[i], *a = strchr(v, ':');
		const char *b = a ? strchr(a + 1, ':') : NULL;
		if (!a || a == v || !b || b == a + 1) {
			where(L, cm_config_find("sip", "credentials"), at, sizeof(at));
			return failf(L, "%s: element %zu: expected \"realm:user:password\"", at, i);
		}
	}
	return 0;
}

int cm_config_load_env(struct cm_config *c, const char *path, char *const *envp,
                       char *err, size_t errlen)
{
	struct load L = { .c = c, .err = err, .errlen = err ? errlen : 0 };
	int rc = 0;

	if (L.errlen)
		err[0] = '\0';
	cm_config_defaults(c);
	config_init(&L.cfg);
	if (path)
		rc = apply_file(&L, path);
	if (rc == 0)
		rc = apply_env(&L, envp);
	if (rc == 0)
		rc = validate(&L);
	config_destroy(&L.cfg);
	if (rc < 0)
		cm_config_free(c);
	return rc;
}

int cm_config_load(struct cm_config *c, const char *path, char *err, size_t errlen)
{
	return cm_config_load_env(c, path, environ, err, errlen);
}

/* ---- dump ---------------------------------------------------------------------------- */

/* Writes <s> as a libconfig string literal. */
static void dump_string(const char *s, FILE *out)
{
	fputc('"', out);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		switch (ch) {
		case '"':  fputs("\\\"", out); break;
		case '\\': fputs("\\\\", out); break;
		case '\n': fputs("\\n", out); break;
		case '\r': fputs("\\r", out); break;
		case '\t': fputs("\\t", out); break;
		case '\f': fputs("\\f", out); break;
		default:
			if (ch < 0x20 || ch == 0x7f)
				fprintf(out, "\\x%02x", ch);
			else
				fputc(ch, out);
		}
	}
	fputc('"', out);
}

static void dump_value(const struct cm_config *c, const struct cm_config_key *k, FILE *out)
{
	const void *f = cfield_of(c, k);
	int secret = (k->flags & CM_CFG_F_SECRET) != 0;
	int e;

	switch (k->type) {
	case CM_CFG_INT:
		if ((k->flags & CM_CFG_F_AUTO) && *(const int64_t *)f == 0)
			fputs("\"auto\";", out);
		else
			fprintf(out, "%" PRId64 ";", *(const int64_t *)f);
		break;
	case CM_CFG_DURATION:
		fprintf(out, "%" PRId64 "; # ms", *(const int64_t *)f);
		break;
	case CM_CFG_SIZE:
		fprintf(out, "%" PRId64 "; # bytes", *(const int64_t *)f);
		break;
	case CM_CFG_BOOL:
		fputs(*(const bool *)f ? "true;" : "false;", out);
		break;
	case CM_CFG_ENUM:
		e = *(const int *)f;
		for (int i = 0; k->names[i]; i++)
			if (i == e)
				dump_string(k->names[i], out);
		fputc(';', out);
		break;
	case CM_CFG_STRING:
		dump_string(secret ? "<redacted>" : (*(char *const *)f ? *(char *const *)f : ""), out);
		fputc(';', out);
		break;
	case CM_CFG_STRLIST: {
		const struct cm_strlist *l = f;
		fputs("[", out);
		for (size_t i = 0; i < l->n; i++) {
			fputs(i ? ", " : " ", out);
			dump_string(secret ? "<redacted>" : l->v[i], out);
		}
		fputs(" ];", out);
		break;
	}
	}
}

int cm_config_same(const struct cm_config *a, const struct cm_config *b,
		   const struct cm_config_key *k)
{
	const void *fa = cfield_of(a, k), *fb = cfield_of(b, k);

	switch (k->type) {
	case CM_CFG_INT:
	case CM_CFG_DURATION:
	case CM_CFG_SIZE:
		return *(const int64_t *)fa == *(const int64_t *)fb;
	case CM_CFG_BOOL:
		return *(const bool *)fa == *(const bool *)fb;
	case CM_CFG_ENUM:
		return *(const int *)fa == *(const int *)fb;
	case CM_CFG_STRING: {
		const char *sa = *(char *const *)fa, *sb = *(char *const *)fb;
		return !strcmp(sa ? sa : "", sb ? sb : "");
	}
	case CM_CFG_STRLIST: {
		const struct cm_strlist *la = fa, *lb = fb;
		if (la->n != lb->n)
			return 0;
		for (size_t i = 0; i < la->n; i++)
			if (strcmp(la->v[i], lb->v[i]))
				return 0;
		return 1;
	}
	}
	return 0;
}

int cm_config_dump(const struct cm_config *c, FILE *out)
{
	fputs("# rcsgw effective configuration (defaults, then the file, then RCSGW_* variables)\n",
	      out);
	for (size_t i = 0; i < NKEYS; i++) {
		const char *sec = cm_schema[i].section;
		size_t first = 0;

		while (strcmp(cm_schema[first].section, sec))
			first++;
		if (first != i)
			continue;          /* section already written */
		fprintf(out, "\n%s = {\n", sec);
		for (size_t j = i; j < NKEYS; j++) {
			if (strcmp(cm_schema[j].section, sec))
				continue;
			fprintf(out, "\t%s = ", cm_schema[j].key);
			dump_value(c, &cm_schema[j], out);
			fputc('\n', out);
		}
		fputs("};\n", out);
	}
	if (fflush(out) == EOF || ferror(out))
		return -EIO;
	return 0;
}

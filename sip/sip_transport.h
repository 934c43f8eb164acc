/* sip_transport.h — the SIP transport of one worker (RFC 3261 §18), under sip_txn.
 *
 * Receives: UDP datagrams (eng_udp) parsed whole with sip_parse_msg(); TCP connections
 * (eng_listen) framed by Content-Length with one sip_stream each. Every message that parses
 * goes up through on_msg with the bytes it was parsed from and where it came from. What does
 * not parse is counted and dropped: no 400 from here, the transaction layer or the TU decides.
 * A TCP stream that cannot be trusted any more (§18.3) is closed and counted. Keep-alive
 * CRLFs (RFC 5626 §3.5.1) are counted and otherwise ignored.
 *
 * Sends: UDP from the first listening socket of the destination's family; TCP on the
 * connection named by dst->conn_id while it is open, or, with conn_id 0, on an open
 * connection to dst->addr. Outbound TCP connections are not opened here (-ENOTCONN).
 *
 * Connections are named by a per-transport (so per-worker) number, never reused, given in
 * struct sip_dest.conn_id. Threads: everything on the owning worker's thread. */
#ifndef SIP_TRANSPORT_H
#define SIP_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include "engine/eng-t.h"
#include "sip/sip-t.h"
#include "sip/sip_txn.h"

struct sip_transport;

/* A message arrived: <m> parsed from exactly <raw>[0..<len>) (valid during the call only),
 * received from <src> (address, kind, conn_id). */
typedef void (*sip_transport_msg_fn)(void *arg, const char *raw, size_t len,
				     const struct sip_msg *m, const struct sip_dest *src);

/* Counters of one transport (plain integers: its worker writes them). */
struct sip_transport_stats {
	uint64_t udp_rx;           /* datagrams parsed and handed up */
	uint64_t udp_bad;          /* datagrams that did not parse: dropped */
	uint64_t tcp_rx;           /* stream messages handed up */
	uint64_t keepalives;       /* keep-alive CRLFs (datagrams and stream reports) */
	uint64_t accepts;          /* TCP connections accepted */
	uint64_t accept_refused;   /* ... closed at once (no memory) */
	uint64_t closes;           /* TCP connections gone, for any reason */
	uint64_t stream_errors;    /* TCP connections closed for a bad stream */
	uint64_t tx;               /* messages sent */
	uint64_t tx_errors;        /* sends refused (the -errno went to the caller) */
	uint64_t tx_notconn;       /* ... of which no such open connection */
};

/* A transport on worker <w> with the worker's parser settings <pcfg> (which must outlive
 * it). <on_msg>(<arg>, ...) gets every message. NULL when out of memory. */
struct sip_transport *sip_transport_new(eng_worker *w, const struct sip_parse_cfg *pcfg,
					sip_transport_msg_fn on_msg, void *arg);

/* Listens on <spec>: "udp:host:port" or "tcp:host:port" (numeric host, as
 * eng_parse_hostport: "127.0.0.1:5060", "[::1]:0", "*:5060"). <reuseport> asks for
 * SO_REUSEPORT (one socket per worker on one address). Returns the port bound (> 0, useful
 * with port 0), or -errno with <err> filled. */
int sip_transport_listen(struct sip_transport *t, const char *spec, int reuseport, char *err,
			 size_t errlen);

/* Sends <len> bytes of <buf> (copied before it returns) to <dst>: struct sip_tp's send,
 * with <t> the struct sip_transport. dst->kind says which transport; <reliable> is not
 * needed. 0, or -errno: -ENOTCONN when the connection is gone (or was never ours),
 * -EAFNOSUPPORT when no UDP socket of dst's family listens, -EPROTONOSUPPORT for TLS/WS. */
int sip_transport_send(void *t, const char *buf, size_t len, const struct sip_dest *dst,
		       int reliable);

/* 1 when connection <conn_id> is open. */
int sip_transport_conn_open(const struct sip_transport *t, uint32_t conn_id);

const struct sip_transport_stats *sip_transport_stats(const struct sip_transport *t);

/* Closes the sockets and the connections (no on_msg after it) and frees <t>. */
void sip_transport_free(struct sip_transport *t);

#endif

/* eng_hep.h — HEP v3 (HEP3/EEP) export of the signalling a worker sends and receives to a
 * capture collector (Homer): an encoder, and one non-blocking UDP sender per worker.
 *
 * A HEP3 packet is "HEP3", its total length (16 bits, network order), then chunks of
 * vendor id (16) / type id (16) / chunk length (16, header included) / value. Vendor 0
 * (generic) chunks written here, in this order:
 *   1 IP family (8: AF_INET 2, AF_INET6 10)    2 IP protocol (8: 17 UDP, 6 TCP)
 *   3/4 source/destination IPv4 (32), or 5/6 source/destination IPv6 (128)
 *   7/8 source/destination port (16)           9/10 time, seconds and microseconds (32)
 *   11 protocol type (8: 1 SIP, MSRP as configured)   12 capture agent id (32)
 *   14 authentication key (string, when set)   17 correlation id (string, when not empty)
 *   15 payload (the message as on the wire), always last
 * Numbers are in network byte order.
 *
 * A packet is at most ENG_HEP_MAX bytes (one UDP datagram over IPv4). A message longer than
 * what is left for the payload is cut to fit and sent (the collector keeps its start line
 * and headers, which is what tracing is for), and counted in eng_hep_stats.cut.
 *
 * Sending never blocks: one sendmsg(2) with MSG_DONTWAIT per message on the worker's own
 * connected UDP socket, the payload taken from the caller's pieces (no copy). A packet the
 * kernel refuses (buffer full, collector unreachable) is dropped and counted. Worker
 * thread only, except eng_hep_shared_*() (main thread, at start). */
#ifndef ENG_HEP_H
#define ENG_HEP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "common/cm_slice-t.h"
#include "engine/eng-t.h"

struct cm_config_trace;

#define ENG_HEP_MAX      65507    /* bytes of one HEP packet, at most */
#define ENG_HEP_HEAD_MAX 1024     /* bytes of every chunk but the payload's data, at most */
#define ENG_HEP_AUTH_MAX 128      /* bytes of the authentication key, at most */
#define ENG_HEP_CORR_MAX 256      /* bytes of a correlation id kept (cut beyond) */

/* The chunks but the payload's data, at their largest (IPv6 addresses, the longest key and
 * correlation id), fit in ENG_HEP_HEAD_MAX: 6-byte "HEP3" + length, then each chunk's 6-byte
 * header with its value. */
_Static_assert(6 + 6 * 15 + 1 + 1 + 16 + 16 + 2 + 2 + 4 + 4 + 1 + 4 + ENG_HEP_AUTH_MAX +
		       ENG_HEP_CORR_MAX <= ENG_HEP_HEAD_MAX,
	       "ENG_HEP_HEAD_MAX is too small for the largest chunks");

#define ENG_HEP_TYPE_SIP  1       /* protocol type of SIP (HEP3 spec) */
#define ENG_HEP_TYPE_MSRP 0x4d    /* default protocol type of MSRP: the spec assigns none */

#define ENG_HEP_SIP  0x1u         /* trace.protocols "sip" */
#define ENG_HEP_MSRP 0x2u         /* trace.protocols "msrp" */

/* One end of a traced message: family 0 when unknown (then written as the other end's
 * family with a zero address and port). */
struct eng_hep_addr {
	uint8_t family;            /* AF_INET, AF_INET6, or 0 */
	uint16_t port;             /* host order */
	uint8_t addr[16];          /* 4 bytes for AF_INET */
};

/* What goes into the chunks before the payload. */
struct eng_hep_msg {
	struct eng_hep_addr src, dst;
	uint8_t ip_proto;          /* IPPROTO_UDP, IPPROTO_TCP */
	uint8_t proto_type;        /* chunk 11 */
	uint32_t ts_sec, ts_usec;
	uint32_t capture_id;
	cm_slice auth;             /* chunk 14 when not empty (at most ENG_HEP_AUTH_MAX) */
	cm_slice corr;             /* chunk 17 when not empty (at most ENG_HEP_CORR_MAX) */
};

/* Writes into <buf> (<cap> bytes) the packet header and every chunk of <m>, then the header
 * of the payload chunk for <plen> payload bytes, which the caller puts right after: the
 * bytes written, or -ENOSPC (<cap> too small), -E2BIG (the packet would pass ENG_HEP_MAX),
 * -EINVAL (no usable family, or auth/corr too long). */
ssize_t eng_hep_head(char *buf, size_t cap, const struct eng_hep_msg *m, size_t plen);

/* The whole packet with its payload <p>[0..<plen>): its length, or as eng_hep_head(). */
ssize_t eng_hep_encode(char *buf, size_t cap, const struct eng_hep_msg *m, const void *p,
		       size_t plen);

/* <ss> (AF_INET or AF_INET6; anything else: family 0) as an eng_hep_addr. */
void eng_hep_addr_from(struct eng_hep_addr *a, const struct sockaddr_storage *ss);

/* ---- the per-worker sender ------------------------------------------------------------ */

typedef struct eng_hep eng_hep;
struct eng_hep_shared;

struct eng_hep_stats {
	uint64_t sent;             /* HEP packets the kernel took */
	uint64_t dropped;          /* ... refused (socket buffer full, ICMP errors): lost */
	uint64_t filtered;         /* messages not traced: their peer is outside trace.peers */
	uint64_t cut;              /* messages sent cut to fit one packet */
};

/* The settings of section "trace", checked: 0 with *<out> NULL when trace.collector is
 * empty (tracing off), 0 with *<out> set, or -EINVAL with one line in <err> (a collector
 * that is not a numeric host:port, an unknown protocol, a bad network). Main thread. */
int eng_hep_shared_new(const struct cm_config_trace *c, struct eng_hep_shared **out,
		       char *err, size_t errlen);
void eng_hep_shared_free(struct eng_hep_shared *s);

/* Opens worker <w>'s socket toward the collector of <s> (which must outlive the workers)
 * and makes it the worker's (eng_worker_hep): call from the worker's init, before the
 * protocol layers start. Closed by a stop hook. 0 or -errno (tracing stays off there). */
int eng_hep_start(eng_worker *w, const struct eng_hep_shared *s);

/* The worker's sender, or NULL when tracing is off there: the protocols keep it and test
 * it before doing any work for tracing. */
eng_hep *eng_worker_hep(eng_worker *w);

/* 1 when <h> traces protocol <proto> (ENG_HEP_SIP, ENG_HEP_MSRP). */
int eng_hep_wants(const eng_hep *h, unsigned proto);

/* Traces one message of <proto> between <src> and <dst> (<out>: sent by us, so <dst> is the
 * peer; else <src> is) over <ip_proto>, its bytes the <n> pieces of <iov>, <corr> its
 * correlation id (may be empty): filtered by the peer, encoded, sent, counted. <cut_hint>
 * says the pieces are already only the start of the message (counted as cut). */
void eng_hep_trace(eng_hep *h, unsigned proto, uint8_t ip_proto,
		   const struct eng_hep_addr *src, const struct eng_hep_addr *dst, int out,
		   cm_slice corr, const struct iovec *iov, unsigned n, int cut_hint);

const struct eng_hep_stats *eng_hep_stats(const eng_hep *h);

#endif

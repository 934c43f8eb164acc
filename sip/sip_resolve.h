/* sip_resolve.h — locating SIP servers (RFC 3263 §4) on the worker's resolver (eng_dns).
 *
 * A sip: or sips: URI (a Request-URI, an outbound proxy, a Route's URI) becomes an ordered
 * list of targets to try, each an address, a port and a transport (UDP, TCP or TLS; SCTP,
 * WS and the rest are skipped). The steps, chosen by sip_resolve_plan():
 *   - the host (or the ;maddr= that replaces it) is an address: no DNS at all;
 *   - a name with a port: A and AAAA of the name;
 *   - a name, the transport given by ;transport=, no port: SRV of that transport, then A
 *     and AAAA of each SRV target;
 *   - a name and nothing else: NAPTR of the name (services SIP+D2U, SIP+D2T, SIPS+D2T, only
 *     SIPS+D2T for sips:; flag "s"), SRV of each usable record's replacement, then A and
 *     AAAA. No NAPTR (or none usable, or the query failed: a time-out there costs one
 *     more round): SRV of _sip._udp and _sip._tcp (sips: _sips._tcp), in the order of
 *     preference.
 * No SRV record anywhere: A and AAAA of the name itself on the default port (5060, TLS 5061)
 * with the default transport: UDP for sip:, TLS for sips: (§4.1). SRV records of one
 * answer are ordered by priority and weight (eng_dns_srv_sort); a target's IPv4 addresses
 * come before its IPv6 ones; a target that resolves to nothing is skipped; a target seen
 * twice (same address, port and transport) is kept once.
 *
 * <prefer_tcp> (the request is too large for UDP, RFC 3261 §18.1.1): reliable targets (TCP,
 * TLS) move before the UDP ones, order otherwise kept, and where the transport is the
 * default one (sip:, nothing in DNS) TCP comes first with UDP after it. An explicit
 * ;transport= is never overridden.
 *
 * Threads: everything runs on the thread of the resolver's worker. Callbacks come from that
 * worker's loop (eng_dns callbacks), never from inside sip_resolve().
 *
 * Return convention: as written on each function; errors are -errno. */
#ifndef SIP_RESOLVE_H
#define SIP_RESOLVE_H

#include <stddef.h>
#include <stdint.h>

#include "common/cm_slice-t.h"
#include "engine/eng_dns-t.h"
#include "sip/sip_txn.h"

#define SIP_RESOLVE_MAX      16    /* targets of one resolution, at most */
#define SIP_RESOLVE_SRV_MAX  6     /* SRV queries of one resolution (NAPTR records used) */
#define SIP_PORT_DEFAULT     5060  /* sip: over UDP and TCP */
#define SIP_PORT_TLS_DEFAULT 5061  /* TLS (sips:) */

/* One place to try. */
struct sip_target {
	struct sip_dest dest;      /* address and port, kind (UDP/TCP/TLS), conn_id 0 */
	char host[256];            /* the URI's host (not the SRV target, not maddr), NUL-
	                            * terminated, IPv6 without brackets: the name to send in
	                            * TLS SNI and to check the certificate against (RFC 5922) */
};

/* The outcome of an asynchronous resolution: <err> 0 with <n> >= 1 <targets> in the order
 * to try them (valid during the call only: copy what you keep), or <err> < 0 with <n> 0:
 *   -ENOENT      the name or its records do not exist (NXDOMAIN, nothing usable)
 *   -ETIMEDOUT, -EAGAIN, -ECONNREFUSED, -EPROTO, -EIO   as eng_dns_cb says (DNS trouble,
 *                when nothing could be found because of it)
 *   -ECANCELED   the resolver was freed: this call then comes from inside eng_dns_free()
 * The request is over when this runs: the callback may start a new one on the same
 * <req>, or free the memory that holds it. */
typedef void (*sip_resolve_cb)(void *arg, int err, const struct sip_target *targets,
			       unsigned n);

/* A resolution in progress, embedded by the caller. Zero it before its first use. */
struct sip_resolve_req {
	struct sip_resolve_job *job;   /* NULL: idle */
};

/* What resolving a URI takes, worked out from the URI alone. */
enum sip_resolve_step {
	SIP_RESOLVE_NUMERIC = 0,   /* an address: no DNS */
	SIP_RESOLVE_ADDRS,         /* a name with a port: A/AAAA */
	SIP_RESOLVE_SRV,           /* a name, the transport known, no port: SRV, then A/AAAA */
	SIP_RESOLVE_NAPTR,         /* a name alone: NAPTR, then SRV, then A/AAAA */
};

struct sip_resolve_plan {
	enum sip_resolve_step step;
	int secure;                /* sips: (TLS only) */
	int fixed;                 /* the transport came from ;transport= */
	uint8_t kinds[2];          /* enum sip_tp_kind in order of preference: the SRV
	                            * services asked when NAPTR says nothing (or for step
	                            * SRV, the one asked) */
	unsigned nkinds;
	unsigned ndefault;         /* kinds[0 .. ndefault) are tried when DNS gives no SRV
	                            * (and for steps NUMERIC and ADDRS) */
	uint16_t port;             /* the URI's port, 0 when absent */
	char name[256];            /* what is resolved: maddr or host, no brackets */
	char host[256];            /* the URI's host, no brackets (struct sip_target.host) */
	struct eng_dns_addr addr;  /* step NUMERIC: the address (ttl 0) */
};

/* Works out from the URI text <uri> (sip: or sips:, exactly the URI, no blanks or <>)
 * how to resolve it, with <prefer_tcp> as above, into *<plan>. No DNS, no allocation.
 * 0, -EINVAL (not a sip/sips URI, malformed, a maddr that is not a host, a name longer
 * than 253 bytes, sips: with ;transport=udp), or -EPROTONOSUPPORT (;transport= other than
 * udp, tcp or tls). */
int sip_resolve_plan(cm_slice uri, int prefer_tcp, struct sip_resolve_plan *plan);

/* Resolves <uri> (as sip_resolve_plan) into at most min(<max>, SIP_RESOLVE_MAX) targets.
 *   n > 0  the host is numeric: no DNS, the <n> targets (1, or 2 with <prefer_tcp> on a
 *       sip: URI without ;transport=) are in <out>[0 .. n). <cb> is not called, <req>
 *       stays idle.
 *   0   <cb>(<arg>, ...) runs exactly once later, from the worker's loop, unless
 *       sip_resolve_cancel(<req>) comes first. <out> is not used (may be NULL).
 *   -errno  <cb> never runs: -EINVAL (bad URI, <max> 0, <out> NULL for a numeric host,
 *       <dns> or <cb> NULL for a name), -EBUSY
 *       (<req> is in use), -EPROTONOSUPPORT, -ENOMEM, or eng_dns_query()'s refusal.
 * <req> must stay where it is while a resolution runs. <dns> may be NULL when the URIs
 * are numeric. Worker thread of <dns> only. One allocation per resolution that needs DNS,
 * freed when its last query has answered (even after a cancel). */
int sip_resolve(eng_dns *dns, struct sip_resolve_req *req, cm_slice uri, int prefer_tcp,
		sip_resolve_cb cb, void *arg, struct sip_target *out, unsigned max);

/* Stops the resolution of <req>: its callback will not run. Queries in flight are left to
 * finish inside the resolver and their answers dropped. A no-op on an idle <req> (never
 * started, finished, or already cancelled), also from inside the callback. */
void sip_resolve_cancel(struct sip_resolve_req *req);

/* 1 while <req> has a resolution whose callback is owed. */
static inline int sip_resolve_busy(const struct sip_resolve_req *req)
{
	return req->job != NULL;
}

#endif

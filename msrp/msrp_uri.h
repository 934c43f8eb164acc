/* msrp_uri.h — MSRP URIs (RFC 4975 §6, §9; RFC 7977 for the ";ws" transport): parsing,
 * comparison per §6.1, formatting, and the authority key used for connection reuse.
 *
 *   MSRP-URI    = msrp-scheme "://" authority ["/" session-id] ";" transport
 *                 *( ";" URI-parameter )
 *   msrp-scheme = "msrp" / "msrps"
 *   authority   = [ userinfo "@" ] host [ ":" port ]          (RFC 3986 §3.2)
 *   session-id  = 1*( unreserved / "+" / "=" / "/" )
 *   transport   = "tcp" / 1*ALPHANUM                          ("ws": RFC 7977)
 *   URI-parameter = token ["=" token]
 *
 * Everything here is reentrant, allocates nothing and may run on any thread. */
#ifndef MSRP_URI_H
#define MSRP_URI_H

#include <stddef.h>

#include "common/cm_slice-t.h"
#include "msrp/msrp-t.h"

/* Parses the URI <s>, which must be exactly one URI (no blanks around it: a path header is
 * split on SP by its caller). Reads s.p[0 .. s.len-1] and never beyond; s.p may be NULL
 * when s.len is 0.
 *
 * 0: <out> is filled; its slices point into <s> (valid as long as <s> is), absent parts are
 * empty slices (p NULL), an absent port is 0. -EINVAL: <s> is not a URI this parser takes,
 * and <out> is left in an unspecified state. Beyond the grammar above, rcsgw refuses:
 *   - a host that is neither an IPv4 address (RFC 3986 dec-octets: no leading zeros), an
 *     IPv6 literal (RFC 3986 IPv6address; IPvFuture and zone ids are refused), nor a DNS
 *     name (labels of 1..63 letters, digits and '-', not beginning or ending with '-',
 *     no trailing dot, at most MSRP_URI_HOST_MAX characters, a last label that is not all
 *     digits: RFC 1123 §2.1 — so that "1.2.3.256" is an error and not a name);
 *   - a port that is empty, 0, above 65535 or longer than 5 digits;
 *   - a transport longer than MSRP_URI_TRANSPORT_MAX characters;
 *   - a userinfo with a bad %-escape (RFC 3986 §2.1).
 * An IP address without a port is accepted (§6.2 asks for a port there when *resolving*;
 * the grammar allows it, and the resolver applies §6.2). */
int msrp_uri_parse(cm_slice s, struct msrp_uri *out);

/* 1 when <a> and <b> designate the same resource per RFC 4975 §6.1, else 0:
 *   1. scheme: msrp vs msrps (case does not matter; the parser folded it into <secure>);
 *   2. authority: the userinfo is not considered; IP addresses are compared as addresses
 *      ([::1] equals [0:0:0:0:0:0:0:1]; an address never equals a name, nor an IPv4
 *      address an IPv6 one); names as case-insensitive strings. No %-decoding is needed:
 *      the parser takes no '%' in a host;
 *   3. port: must match exactly when either URI has one; an explicit port never equals an
 *      absent one (no default port applies here);
 *   4. session-id: case-sensitive; absent never equals present;
 *   5. transport: case-insensitive; different transports never match.
 * URI parameters after the transport are not compared: §6.1 has no rule for them.
 * <a> and <b> come from msrp_uri_parse() (or hold what it would produce). */
int msrp_uri_equal(const struct msrp_uri *a, const struct msrp_uri *b);

/* Writes <u> as a URI into <buf>, with snprintf's contract: at most <len> - 1 characters
 * and a NUL when <len> > 0 (<buf> may be NULL when <len> is 0); returns the length of the
 * whole URI, NUL excluded, so a result >= <len> means it was cut. The scheme is written in
 * lower case, every other part as parsed (IPv6 hosts between brackets, the port only when
 * present, the parameters as they came), so that msrp_uri_parse() of the output is
 * msrp_uri_equal() to <u>. */
size_t msrp_uri_format(const struct msrp_uri *u, char *buf, size_t len);

/* Writes the connection-reuse key of <u> (RFC 4975 §5.4: a connection is reused for URIs
 * of the same authority and transport) into <buf>, snprintf's contract as above:
 *   "<scheme>:<host>:<port>;<transport>", e.g. "msrps:bob.example.com:8888;tcp",
 *   "msrp:[2001:db8::1]:2855;ws"
 * scheme, host and transport in lower case, IPv6 addresses in their RFC 5952 text form,
 * userinfo, session-id and parameters left out. The port is the URI's own; when the URI
 * has none, MSRP_URI_DEFAULT_PORT (2855, the port IANA registered for MSRP in RFC 4975
 * §15): RFC 4975 gives msrp URIs no default port for comparison (§6.1), and SDP always
 * carries the port, so this only happens for hand-written relay URIs, where §6.2 falls
 * back to 2855 when the name has no SRV record. A buffer of MSRP_URI_KEY_MAX bytes always
 * holds a key. */
size_t msrp_uri_authority_key(const struct msrp_uri *u, char *buf, size_t len);

/* Parses the IPv6 address <s> (RFC 3986 IPv6address, no brackets) into <addr>, network
 * order. 0 or -EINVAL. */
int msrp_uri_ip6_parse(cm_slice s, unsigned char addr[16]);

#endif

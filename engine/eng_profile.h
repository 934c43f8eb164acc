/* eng_profile.h — per-peer TCP profiles (engine.tcp_profiles): what the engine does with the
 * connections of a peer, chosen by the peer's address, first matching rule wins.
 *
 * A rule is "<match> [<key>=<value>]... [no_new]":
 *   <match>             "*" (any peer), an address or a network, with a port or not:
 *                       "10.0.0.7", "10.0.0.0/8", "10.0.0.0/8:5061", "*:2855",
 *                       "2001:db8::/32", "[2001:db8::1]:2855", "[2001:db8::]/32:2855";
 *                       the port is the connection's service port: the peer's for the
 *                       connections we open, ours (where it connected) for those we accept
 *   connect_timeout=D   an outbound connection (TLS handshake included) not up by then is
 *                       aborted (ETIMEDOUT)
 *   read_timeout=D      a connection from which nothing was read for D is aborted
 *   max_frame=S         the largest frame (SIP message, MSRP chunk) the protocol layer takes
 *                       on it; the protocol's own limit still applies when smaller
 *   keepalive=D         TCP keep-alive: first probe after D idle, then every D/3 (at least
 *                       1 s), 3 probes
 *   no_new              no new connection with the peer: accepts are closed at once,
 *                       connects fail with EPERM (connections open already stay)
 * D is a duration "<n>ms", "<n>s", "<n>m" or "<n>" (milliseconds); S a size "<n>", "<n>k",
 * "<n>m" (binary multiples). Keys may come in any order, once each.
 *
 * Thread: the rules are parsed on the main thread at start and read-only afterwards. */
#ifndef ENG_PROFILE_H
#define ENG_PROFILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define ENG_PROFILES_MAX     64   /* rules, at most */
#define ENG_PROFILE_TEXT     96   /* bytes of a rule kept for listings (cut beyond) */
#define ENG_PROFILE_SWEEP_MS 250  /* how often a worker checks connect and read timeouts */
#define ENG_STALL_SWEEP_MS  1000  /* ... and send queues that do not move (send_stall_ms),
				   * every quarter of it and at most this often */

struct eng_profile {
	char text[ENG_PROFILE_TEXT]; /* the rule's <match>, as written, for listings */
	int family;                /* AF_INET, AF_INET6, or AF_UNSPEC for "*" */
	uint8_t addr[16];          /* the network (host bits cleared) */
	uint8_t prefix;            /* bits of <addr> that must match */
	uint16_t port;             /* 0: any */
	uint32_t connect_timeout_ms; /* 0: none */
	uint32_t read_timeout_ms;  /* 0: none */
	uint32_t max_frame;        /* 0: the protocol's own limit */
	uint32_t keepalive_s;      /* 0: the system's default (no SO_KEEPALIVE set) */
	int no_new;
};

/* Parses <rule> into <p>. 0, or -EINVAL with one line in <err>. */
int eng_profile_parse(const char *rule, struct eng_profile *p, char *err, size_t errlen);

/* 1 + the index of the first of <n> rules of <v> that matches <ss> (the peer's IPv4 or IPv6
 * address with the service port; an IPv4-mapped IPv6 address matches IPv4 rules), or 0. */
unsigned eng_profile_match(const struct eng_profile *v, unsigned n,
			   const struct sockaddr_storage *ss);

#endif

/* eng_dns-t.h — types of the per-worker asynchronous DNS resolver (prototypes in eng_dns.h).
 *
 * One resolver (a c-ares channel) per worker, driven by the worker's ring: its sockets are
 * eng_poll watches, its timeouts one eng_timer. Answers are parsed by c-ares's own parsers
 * and handed to the caller typed (A/AAAA addresses, SRV and NAPTR records). */
#ifndef ENG_DNS_T_H
#define ENG_DNS_T_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

typedef struct eng_dns eng_dns;

/* Record types that can be asked for (values are the DNS RR type codes). */
enum eng_dns_type {
	ENG_DNS_A = 1,
	ENG_DNS_AAAA = 28,
	ENG_DNS_SRV = 33,
	ENG_DNS_NAPTR = 35,
};

#define ENG_DNS_MAX_SERVERS 8      /* entries of eng_dns_config.servers, at most */
#define ENG_DNS_NAME_MAX    253    /* bytes of a query name, trailing dot not counted */
#define ENG_DNS_MAX_ADDRS   64     /* A/AAAA addresses delivered per answer, at most */
#define ENG_DNS_MAX_RECORDS 64     /* SRV/NAPTR records delivered per answer, at most */

/* Resolver settings, filled by eng_dns_config_defaults() then from the config (section
 * "dns") by the caller. */
struct eng_dns_config {
	/* Name servers: "1.2.3.4", "1.2.3.4:5353", "::1", "[::1]:5353" (numeric only).
	 * <nservers> 0: the system's (/etc/resolv.conf, read once by eng_dns_new). The strings
	 * are read by eng_dns_new only; the caller keeps ownership. */
	const char *const *servers;
	size_t nservers;
	uint32_t timeout_ms;       /* first try's timeout per server; c-ares doubles it on each
	                            * later round over the servers [10, 60000] */
	uint32_t tries;            /* rounds over the servers [1, 16] */
	uint32_t max_pending;      /* queries in flight per resolver; more are refused with
	                            * -EAGAIN [1, 1048576] */
	uint32_t cache_entries;    /* positive A/AAAA cache entries; 0 = no cache [0, 65536] */
	uint32_t cache_max_ttl_s;  /* cached answers live min(TTL, this) seconds [1, 86400] */
	int edns;                  /* advertise EDNS0 (UDP payload 1232): large SRV/NAPTR sets
	                            * without a TCP retry */
};

/* One A or AAAA address. */
struct eng_dns_addr {
	int family;                /* AF_INET or AF_INET6 */
	uint32_t ttl;              /* seconds left (from the answer, or what the cache has left) */
	union {
		struct in_addr v4;
		struct in6_addr v6;
	} a;
};

/* One SRV record (RFC 2782). */
struct eng_dns_srv {
	uint16_t priority;
	uint16_t weight;
	uint16_t port;
	const char *target;        /* NUL-terminated, no trailing dot; "" or "." = no service */
};

/* One NAPTR record (RFC 3403). Strings are NUL-terminated, possibly empty. */
struct eng_dns_naptr {
	uint16_t order;
	uint16_t preference;
	const char *flags;         /* "s", "a", "u", "p" or "" */
	const char *service;       /* "SIP+D2T", "SIPS+D2T", … */
	const char *regexp;
	const char *replacement;   /* domain name, no trailing dot; "" when none */
};

/* What a callback gets. Everything it points to (the arrays, the strings, <name>) is valid
 * during the callback only: copy what you keep. The callback may reorder the arrays in place
 * (eng_dns_srv_sort, eng_dns_naptr_sort). */
struct eng_dns_result {
	enum eng_dns_type type;
	const char *name;          /* the name as asked */
	unsigned n;                /* records in the array of <type>; 0 on error */
	unsigned timeouts;         /* tries that timed out before this outcome */
	int truncated;             /* the answer had more records than delivered */
	int cached;                /* 1: served from the resolver's cache */
	struct eng_dns_addr *addrs;    /* A, AAAA; NULL otherwise */
	struct eng_dns_srv *srv;       /* SRV; NULL otherwise */
	struct eng_dns_naptr *naptr;   /* NAPTR; NULL otherwise */
};

/* The outcome of eng_dns_query(), on the resolver's worker thread. <status>:
 *   0            answer in <res> (res->n >= 1)
 *   -ENOENT      NXDOMAIN, or the name has no record of that type (NODATA)
 *   -ETIMEDOUT   no answer within the tries
 *   -ECANCELED   eng_dns_free() was called
 *   -EPROTO      an answer that c-ares cannot parse, a format error
 *   -EAGAIN      SERVFAIL from every server (temporary, try later)
 *   -ECONNREFUSED  the servers refused the query (REFUSED) or their port is closed
 *   -ENOMEM, -EINVAL (name c-ares refuses), -EOPNOTSUPP (NOTIMP), -EIO (anything else)
 * <res> is never NULL (on error, n is 0 and the arrays are NULL). */
typedef void (*eng_dns_cb)(eng_dns *d, int status, const struct eng_dns_result *res,
			   void *arg);

/* Counters of one resolver (owner's thread). */
struct eng_dns_stats {
	uint64_t queries;          /* accepted by eng_dns_query() */
	uint64_t refused;          /* eng_dns_query() failures (-EAGAIN at max_pending, …) */
	uint64_t sent;             /* handed to c-ares (cache misses) */
	uint64_t answers;          /* callbacks with status 0 */
	uint64_t errors;           /* callbacks with another status */
	uint64_t timeouts;         /* of which -ETIMEDOUT */
	uint64_t cache_hits;
	uint64_t cache_inserts;
	uint64_t cache_evictions;  /* live entries pushed out by new ones */
	uint64_t sockets_opened;   /* c-ares sockets watched */
	uint64_t tcp_sockets;      /* of which TCP (truncated answers, large records) */
	uint64_t socket_table_full;/* sockets that could not be watched */
	uint32_t pending;          /* callbacks owed now */
	uint32_t cache_used;       /* cache entries in use now */
};

#endif

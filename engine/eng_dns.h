/* eng_dns.h — asynchronous DNS on the worker's ring (c-ares), one resolver per worker.
 *
 * Everything here runs on the resolver's worker thread (the one that created it) and never
 * blocks it, except eng_dns_new() which reads /etc/resolv.conf once when no servers are
 * configured. Callbacks run on that thread, from the worker's loop, never from inside
 * eng_dns_query().
 *
 * Return convention: 0 on success, -errno on failure. */
#ifndef ENG_DNS_H
#define ENG_DNS_H

#include <sys/socket.h>

#include "engine/eng-t.h"
#include "engine/eng_dns-t.h"

/* Fills <cfg> with the embedded defaults: system servers, 2000 ms, 2 tries, 4096 pending,
 * a 256-entry cache capped at 300 s, EDNS on. */
void eng_dns_config_defaults(struct eng_dns_config *cfg);

/* Creates the resolver of worker <w>; call it on <w>'s thread (from the eng_start() init or
 * a message). <cfg> is copied (its server strings are read now and not kept). NULL with
 * <err> filled when the config is invalid or c-ares cannot be set up. */
eng_dns *eng_dns_new(eng_worker *w, const struct eng_dns_config *cfg, char *err, size_t errlen);

/* Frees the resolver. Every query still owed a callback gets it, with -ECANCELED, before
 * eng_dns_free() returns; never later. Called from inside one of this resolver's callbacks,
 * the resolver is freed (and the others cancelled) as soon as that callback returns, before
 * control goes back to the worker's loop. Queries made by callbacks during the cancellation
 * are refused (-ECANCELED). A second call is a no-op. Worker thread only; free every
 * resolver before eng_stop() (e.g. from a shutdown message), the engine does not. NULL is
 * accepted. */
void eng_dns_free(eng_dns *d);

/* Asks for the <type> records of <name> (a fully qualified name; no search list applies;
 * a trailing dot is optional). 0: <cb>(<d>, status, res, <arg>) runs exactly once later on
 * this thread. -errno: <cb> never runs (-EINVAL bad name or type, -EAGAIN max_pending
 * reached, -ECANCELED the resolver is being freed, -ENOMEM, -ECONNREFUSED no usable server).
 * A and AAAA answers are served from the cache while their TTL lasts (callback one or
 * two timer ticks later, i.e. within 2 x engine.timer_tick_ms; res->cached = 1). */
int eng_dns_query(eng_dns *d, const char *name, enum eng_dns_type type, eng_dns_cb cb,
		  void *arg);

/* The worker the resolver belongs to. */
eng_worker *eng_dns_worker(const eng_dns *d);

/* A per-resolver PRNG seed (for eng_dns_srv_sort) seeded from getrandom() at creation. */
unsigned *eng_dns_seed(eng_dns *d);

/* Copies the resolver's counters. Worker thread only. */
void eng_dns_stats(const eng_dns *d, struct eng_dns_stats *out);

/* Drops every cache entry. */
void eng_dns_cache_flush(eng_dns *d);

/* Orders <n> SRV records for trying, per RFC 2782: ascending priority, and within one
 * priority a weighted random order (weight 0 records first in the draw, so rarely chosen
 * ahead of weighted ones). <seed> is a rand_r() state (eng_dns_seed() or the caller's).
 * In place; O(n^2), meant for the <= ENG_DNS_MAX_RECORDS of one answer. */
void eng_dns_srv_sort(struct eng_dns_srv *recs, unsigned n, unsigned *seed);

/* Orders <n> NAPTR records by ascending order, then preference (RFC 3403); stable. */
void eng_dns_naptr_sort(struct eng_dns_naptr *recs, unsigned n);

/* <a> with <port> as a socket address. Returns the address length. */
socklen_t eng_dns_addr_sockaddr(const struct eng_dns_addr *a, uint16_t port,
				struct sockaddr_storage *ss);

/* <a> as text ("127.0.0.7", "::7") into <buf>; returns <buf>. */
const char *eng_dns_addr_str(const struct eng_dns_addr *a, char *buf, size_t len);

/* "A", "AAAA", "SRV", "NAPTR" or "?". */
const char *eng_dns_type_name(enum eng_dns_type type);

#endif

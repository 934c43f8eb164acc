/* dnsmasq.h — a throw-away dnsmasq for DNS tests: 127.0.0.1, a free port (UDP and TCP),
 * the zone "test." answered locally (names it does not know are NXDOMAIN, nothing is
 * forwarded), the records the test gives, no hosts file, no resolv.conf. It dies with the
 * test process and is stopped by pid. Tests that need it skip when there is no binary
 * (Debian package dnsmasq-base; scripts/deps.sh installs it). */
#ifndef TESTS_DNSMASQ_H
#define TESTS_DNSMASQ_H

#include <sys/types.h>

struct dnsmasq {
	pid_t pid;                 /* -1 / 0 when not running */
	int port;
	char addr[32];             /* "127.0.0.1:PORT", for eng_dns_config.servers */
	char dir[64];              /* its temp dir (config, log) */
};

/* The binary: $RCSGW_DNSMASQ or /usr/sbin/dnsmasq. */
const char *dnsmasq_path(void);

/* 1 when dnsmasq_path() is executable. */
int dnsmasq_available(void);

/* Starts one serving <records> (dnsmasq.conf lines, '\n'-separated, e.g.
 * "srv-host=_sip._udp.x.test,pbx.x.test,5060,10,0") with a TTL of 60 s, and waits until it
 * accepts TCP on its port (5 s at most). 0, or -1 (then its log went to stderr). */
int dnsmasq_start(struct dnsmasq *m, const char *records);

/* Stops it (SIGTERM, SIGKILL after 2 s) and removes its temp dir. Harmless when not
 * running. */
void dnsmasq_stop(struct dnsmasq *m);

#endif

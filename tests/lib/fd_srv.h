/* fd_srv.h — a throw-away freeDiameterd (Debian package freediameter) for integration
 * tests, as ../shared/PEERS.md says it must be run: a self-signed certificate for the TLS
 * settings it insists on (no TLS is used), the acl_wl extension letting plain-TCP peers
 * whose Origin-Host matches <allow> in, no SCTP. It binds 0.0.0.0:3868 whatever it is told
 * (FD_SRV_PORT): one at a time. */
#ifndef TESTS_FD_SRV_H
#define TESTS_FD_SRV_H

#include <sys/types.h>

#define FD_SRV_PORT 3868
#define FD_SRV_BIN "/usr/bin/freeDiameterd"

struct fd_srv {
	pid_t pid;                 /* -1 when not running */
	char dir[64];              /* its configuration, certificate, log (fd.log) */
};

/* 1 when freeDiameterd and its acl_wl extension are installed. */
int fd_srv_available(void);
/* Starts it as <identity> in <realm>, letting in peers matching <allow> ("*.test.local"),
 * and waits until it listens (5 s). 0, or -1 (its log then on stderr). */
int fd_srv_start(struct fd_srv *s, const char *identity, const char *realm, const char *allow);
/* SIGTERM (a DPR to its peers), SIGKILL after 3 s; its files removed. Harmless when not
 * running. */
void fd_srv_stop(struct fd_srv *s);
/* SIGKILL now (a peer gone without a word). */
void fd_srv_kill(struct fd_srv *s);

#endif

/* redis_srv.h — a throw-away redis-server for tests: 127.0.0.1, a free port, no
 * persistence, dies with the test process; stopped by pid. Tests that need it skip when
 * there is no redis-server (Debian package redis-server; scripts/deps.sh installs it). */
#ifndef TESTS_REDIS_SRV_H
#define TESTS_REDIS_SRV_H

#include <stddef.h>
#include <sys/types.h>

struct redis_srv {
	pid_t pid;                 /* -1 / 0 when not running */
	int port;
	char addr[32];             /* "127.0.0.1:PORT" */
	char dir[64];              /* its files (a replica's dump.rdb, a Sentinel's config) */
};

/* 1 when a redis-server binary is there ($RCSGW_TEST_REDIS_SERVER or /usr/bin/redis-server;
 * not RCSGW_REDIS_*: the daemons the tests start inherit the environment, and would read
 * that as an unknown key of their section "redis"). */
int redis_srv_available(void);

/* Starts a server on <port> (0: a free one) and waits until it answers PING (5 s at
 * most). 0, or -1. */
int redis_srv_start(struct redis_srv *r, int port);

/* The same with more arguments for redis-server (NULL-terminated, may be NULL), e.g.
 * "--replicaof", "127.0.0.1", "6379". */
int redis_srv_start_args(struct redis_srv *r, int port, const char *const *extra);

/* A Sentinel (redis-server --sentinel) on a free port watching the master at 127.0.0.1:
 * <master_port> under <name>, quorum 1, down after 1 s, failover timeout 3 s; its config
 * file in a directory of its own (removed by redis_srv_stop). 0 or -1. */
int redis_srv_start_sentinel(struct redis_srv *r, int master_port, const char *name);

/* Stops it (SIGTERM, then SIGKILL after 2 s). Harmless when not running. */
void redis_srv_stop(struct redis_srv *r);

/* Freezes (SIGSTOP) or thaws (SIGCONT) it: connections stay open, nothing answers. */
void redis_srv_pause(struct redis_srv *r, int pause);

/* Runs one command given as argv (binary-safe strings, NUL-terminated) on a fresh
 * connection. 0 when Redis answered other than with an error, else -1. */
int redis_srv_cmd(struct redis_srv *r, int argc, const char **argv);

/* The cluster's record of session <id> (rcsgw:state:<id>, unpacked: free it with
 * rcsgw__session__free_unpacked) or NULL, and its ownership (rcsgw:own:<id>): the owner
 * into <owner> ("" none or a tombstone), the epoch into <epoch> (-1 none). Asserts the
 * connection. */
struct Rcsgw__Session;
struct Rcsgw__Session *redis_srv_session(const struct redis_srv *r, const char *id,
					  char *owner, size_t olen, long long *epoch);

#endif

/* dm_ocs.h — a Diameter server for integration tests of the daemon's Sh and Ro hooks:
 * another rcsgw with diameter.listen (Debian's freeDiameterd has no Sh or Ro application,
 * PEERS.md), whose application is a thread of the test reading its event stream and
 * answering every UDR with <sh_rc> and every CCR with <ro_rc> through its API (0: leaves
 * it unanswered). */
#ifndef TESTS_DM_OCS_H
#define TESTS_DM_OCS_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/types.h>

#include "tests/lib/sse.h"

struct dm_ocs {
	pid_t pid;                 /* -1 when not running */
	int api, dport;            /* its API and its Diameter listener on 127.0.0.1 */
	struct sse_cli sse;
	pthread_t t;
	_Atomic int stop, sh_rc, ro_rc, udrs, ccrs;
};
#define DM_OCS_INIT { .pid = -1 }

/* Starts it as ocs.test.local, letting in peers of *.test.local, answering 2001 to both
 * until told otherwise. 0 or -errno. */
int dm_ocs_start(struct dm_ocs *o);
/* The same on API port <api> and Diameter port <dport> (0: a free one): a peer that was
 * gone comes back where its peers look for it. */
int dm_ocs_start_at(struct dm_ocs *o, int api, int dport);
/* Stops the thread and kills the daemon. Harmless when not running. */
void dm_ocs_stop(struct dm_ocs *o);
/* "RCSGW_DIAMETER_PEERS=aaa://127.0.0.1:<dport>;realm=test.local" into <buf>. */
const char *dm_ocs_peer_env(const struct dm_ocs *o, char *buf, size_t len);
/* Waits up to <ms> until the rcsgw whose API is 127.0.0.1:<api> has an open peer. 1 if so. */
int dm_ocs_wait_open(int api, int ms);

#endif

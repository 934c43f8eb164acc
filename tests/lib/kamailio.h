/* kamailio.h — Kamailio 5.6 as a real peer for integration tests: an MSRP relay
 * (tests/peers/kamailio-msrp.cfg, kam_start) or a stateless SIP MESSAGE forwarder
 * (tests/peers/kamailio-message.cfg, kam_msg_start).
 *
 * Runs /usr/sbin/kamailio in the foreground with the config (found under $RCSGW_SRCDIR,
 * default the current directory), on 127.0.0.1 and a free port, with its output in a log
 * file in a temporary run dir. The config's parameters are Kamailio defines (see the top of
 * each .cfg): pass them as "NAME=VALUE", strings with their quotes
 * ("MSRP_REALM=\"example.net\""). Return convention: 0 or -errno. */
#ifndef TESTS_KAMAILIO_H
#define TESTS_KAMAILIO_H

#include <stddef.h>
#include <sys/types.h>

#define KAM_BIN "/usr/sbin/kamailio"

struct kam_peer {
	pid_t pid;                   /* the main process (-1 when not running) */
	int port;                    /* its port on 127.0.0.1 (MSRP: TCP, MESSAGE: UDP) */
	char uri[64];                /* "msrp://127.0.0.1:<port>;tcp": the relay URI for AUTH;
				      * for the forwarder "sip:127.0.0.1:<port>" */
	char hostport[32];           /* "127.0.0.1:<port>" for mc_connect() or sipp */
	char rundir[128];            /* temp dir: kamailio.log, kamailio.pid */
	char log[160];               /* its stdout + stderr */
};

/* Whether the kamailio binary and the MSRP config are there (tests skip visibly when not). */
int kam_available(void);

/* The same for the MESSAGE forwarder's config. */
int kam_msg_available(void);

/* Starts Kamailio with <defines> (NULL or a NULL-terminated list of "NAME=VALUE"; MSRP_ADDR
 * and MSRP_PORT are set here) and waits up to <timeout_ms> until it accepts connections.
 * On failure nothing is left running or on disk, and the tail of its log goes to stderr.
 * The process gets SIGKILL when the test process dies. */
int kam_start(struct kam_peer *k, const char *const *defines, int timeout_ms);

/* Starts the stateless MESSAGE forwarder on a free UDP port of 127.0.0.1 (MSG_ADDR and
 * MSG_PORT set here) sending every MESSAGE to <dest> ("127.0.0.1:5080", or any SIP URI
 * host part with parameters: "127.0.0.1:5080;transport=udp"), which becomes MSG_DEST
 * "sip:<dest>"; <defines> as for kam_start() (MSG_CHILDREN, MSG_DEBUG). Waits up to
 * <timeout_ms> until the port is bound. Same clean-up on failure as kam_start(); stop it
 * with kam_stop(). -EINVAL when <dest> is missing or too long. */
int kam_msg_start(struct kam_peer *k, const char *dest, const char *const *defines,
		  int timeout_ms);

/* SIGTERM, then after <timeout_ms> SIGKILL to its whole process group; removes the run dir
 * (kept when RCSGW_KEEP_KAMAILIO=1). Returns 0 when it stopped on SIGTERM, -ETIMEDOUT
 * when it had to be killed. Safe on a peer that is not running (returns 0). */
int kam_stop(struct kam_peer *k, int timeout_ms);

/* Reads at most <len>-1 bytes of the end of its log into <buf> (NUL-terminated). */
void kam_log_tail(const struct kam_peer *k, char *buf, size_t len);

#endif

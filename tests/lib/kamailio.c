/* kamailio.c — see kamailio.h. */
#include "tests/lib/kamailio.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/lib/proc.h"
#include "tests/lib/rcsgw_proc.h"
#include "tests/lib/sipp.h"

#define KAM_MAX_DEFINES 24

#define CFG_MSRP "kamailio-msrp.cfg"
#define CFG_MESSAGE "kamailio-message.cfg"

/* The path of config <name> in tests/peers/, in a buffer the next call overwrites. */
static const char *cfg_path(const char *name)
{
	static char path[512];
	const char *src = getenv("RCSGW_SRCDIR");

	snprintf(path, sizeof(path), "%s/tests/peers/%s", src && *src ? src : ".", name);
	return path;
}

static int cfg_available(const char *name)
{
	return access(KAM_BIN, X_OK) == 0 && access(cfg_path(name), R_OK) == 0;
}

int kam_available(void)
{
	return cfg_available(CFG_MSRP);
}

int kam_msg_available(void)
{
	return cfg_available(CFG_MESSAGE);
}

static void die_with_parent(void)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
}

/* The run dir holds only what kam_start() names: the log and the pid file. */
static void remove_rundir(struct kam_peer *k)
{
	const char *keep = getenv("RCSGW_KEEP_KAMAILIO");
	char pidfile[200];

	if (!k->rundir[0] || (keep && strcmp(keep, "1") == 0))
		return;
	snprintf(pidfile, sizeof(pidfile), "%s/kamailio.pid", k->rundir);
	unlink(pidfile);
	unlink(k->log);
	if (rmdir(k->rundir) < 0)
		fprintf(stderr, "kamailio: run dir %s left behind: %s\n", k->rundir, strerror(errno));
	k->rundir[0] = '\0';
}

void kam_log_tail(const struct kam_peer *k, char *buf, size_t len)
{
	FILE *f = fopen(k->log, "r");
	size_t n = 0;

	buf[0] = '\0';
	if (!f || len < 2)
		goto out;
	if (fseek(f, 0, SEEK_END) == 0) {
		long size = ftell(f);
		long from = size > (long)len - 1 ? size - (long)len + 1 : 0;
		fseek(f, from, SEEK_SET);
	}
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
out:
	if (f)
		fclose(f);
}

/* 1 when someone holds UDP port <port> of 127.0.0.1: a bind of our own (without
 * SO_REUSEADDR) finds it taken. */
static int udp_taken(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), taken;

	if (fd < 0)
		return 0;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	taken = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno == EADDRINUSE;
	close(fd);
	return taken;
}

/* 0 once it accepts on TCP k->port (or, with <udp>, has UDP k->port bound), or -ECHILD
 * (it exited: port taken, bad config) or -ETIMEDOUT. */
static int wait_listening(struct kam_peer *k, int udp, int timeout_ms)
{
	for (int waited = 0; waited < timeout_ms; waited += 100) {
		if (udp ? udp_taken(k->port) : wait_port("127.0.0.1", k->port, 100) == 0)
			return 0;
		if (waitpid(k->pid, NULL, WNOHANG) == k->pid) {
			k->pid = -1;
			return -ECHILD;
		}
		if (udp)
			usleep(100 * 1000);
	}
	return -ETIMEDOUT;
}

/* What differs between the configs: the file, the defines that carry the listen address
 * and port, the transport of the port and the URI scheme. */
struct cfg_kind {
	const char *file;
	const char *addr_define;     /* "MSRP_ADDR=127.0.0.1" */
	const char *port_define;     /* "MSRP_PORT" */
	int udp;                     /* the port is UDP (else TCP) */
};

static const struct cfg_kind kind_msrp = { CFG_MSRP, "MSRP_ADDR=127.0.0.1", "MSRP_PORT", 0 };
static const struct cfg_kind kind_message = { CFG_MESSAGE, "MSG_ADDR=127.0.0.1", "MSG_PORT", 1 };

/* Starts Kamailio with config <kind>, <defines> then <extra> (NULL or one more define); the
 * port is chosen and k->port, k->hostport filled in before the start. */
static int start_cfg(struct kam_peer *k, const struct cfg_kind *kind, const char *const *defines,
		     const char *extra, int timeout_ms)
{
	const char *tmp = getenv("TMPDIR");
	char d_port[32];
	char *argv[18 + 2 * KAM_MAX_DEFINES];
	int n = 0, rc;

	k->pid = -1;
	if (!cfg_available(kind->file))
		return -ENOENT;
	snprintf(k->rundir, sizeof(k->rundir), "%s/rcsgw-kam.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(k->rundir)) {
		k->rundir[0] = '\0';
		return -errno;
	}
	snprintf(k->log, sizeof(k->log), "%s/kamailio.log", k->rundir);
	k->port = kind->udp ? sipp_free_port() : free_tcp_port();
	if (k->port < 0) {
		rc = k->port;
		remove_rundir(k);
		return rc;
	}
	snprintf(d_port, sizeof(d_port), "%s=%d", kind->port_define, k->port);
	snprintf(k->hostport, sizeof(k->hostport), "127.0.0.1:%d", k->port);

	char pidfile[200];
	snprintf(pidfile, sizeof(pidfile), "%s/kamailio.pid", k->rundir);
	/* the shell only redirects the output to the log, then becomes kamailio (same pid) */
	argv[n++] = "/bin/sh";
	argv[n++] = "-c";
	argv[n++] = "log=$1; shift; exec \"$@\" >\"$log\" 2>&1 </dev/null";
	argv[n++] = "sh";
	argv[n++] = k->log;
	argv[n++] = KAM_BIN;
	argv[n++] = "-f";
	argv[n++] = (char *)cfg_path(kind->file);
	argv[n++] = "-DD";           /* no daemon: the pid we hold is the main process */
	argv[n++] = "-E";
	argv[n++] = "-Y";
	argv[n++] = k->rundir;
	argv[n++] = "-P";
	argv[n++] = pidfile;
	argv[n++] = "-m";
	argv[n++] = "128";
	for (int i = 0; defines && defines[i]; i++) {
		if (i == KAM_MAX_DEFINES) {
			remove_rundir(k);
			return -E2BIG;
		}
		argv[n++] = "-A";
		argv[n++] = (char *)defines[i];
	}
	if (extra) {
		argv[n++] = "-A";
		argv[n++] = (char *)extra;
	}
	argv[n++] = "-A";
	argv[n++] = (char *)kind->addr_define;
	argv[n++] = "-A";
	argv[n++] = d_port;
	argv[n] = NULL;

	k->pid = proc_spawn(argv, NULL, NULL, NULL, die_with_parent);
	if (k->pid < 0) {
		k->pid = -1;
		remove_rundir(k);
		return -EAGAIN;
	}
	rc = wait_listening(k, kind->udp, timeout_ms);
	if (rc < 0) {
		char tail[2048];
		kam_log_tail(k, tail, sizeof(tail));
		fprintf(stderr, "kamailio did not start (%s):\n%s\n", strerror(-rc), tail);
		kam_stop(k, 1000);
	}
	return rc;
}

int kam_start(struct kam_peer *k, const char *const *defines, int timeout_ms)
{
	memset(k, 0, sizeof(*k));
	int rc = start_cfg(k, &kind_msrp, defines, NULL, timeout_ms);
	if (rc == 0)
		snprintf(k->uri, sizeof(k->uri), "msrp://127.0.0.1:%d;tcp", k->port);
	return rc;
}

int kam_msg_start(struct kam_peer *k, const char *dest, const char *const *defines,
		  int timeout_ms)
{
	char d_dest[160];

	memset(k, 0, sizeof(*k));
	k->pid = -1;
	if (!dest || !*dest ||
	    snprintf(d_dest, sizeof(d_dest), "MSG_DEST=\"sip:%s\"", dest) >= (int)sizeof(d_dest))
		return -EINVAL;
	int rc = start_cfg(k, &kind_message, defines, d_dest, timeout_ms);
	if (rc == 0)
		snprintf(k->uri, sizeof(k->uri), "sip:127.0.0.1:%d", k->port);
	return rc;
}

int kam_stop(struct kam_peer *k, int timeout_ms)
{
	int rc = 0;

	if (k->pid > 0) {
		pid_t pg = k->pid;   /* proc_spawn made it a process group leader */
		kill(k->pid, SIGTERM);
		if (proc_wait(k->pid, timeout_ms) == -1) {
			rc = -ETIMEDOUT;
			kill(-pg, SIGKILL);
			waitpid(k->pid, NULL, 0);
		}
		/* its workers should be gone with it; whatever is left is killed */
		if (kill(-pg, 0) == 0) {
			usleep(100 * 1000);
			kill(-pg, SIGKILL);
		}
		k->pid = -1;
	}
	remove_rundir(k);
	return rc;
}

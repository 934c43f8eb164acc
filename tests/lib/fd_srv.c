/* fd_srv.c — the throw-away freeDiameterd of fd_srv.h. */
#include "tests/lib/fd_srv.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/lib/proc.h"
#include "tests/lib/rcsgw_proc.h"

#define ACL_EXT "/usr/lib/freeDiameter/acl_wl.fdx"

int fd_srv_available(void)
{
	return access(FD_SRV_BIN, X_OK) == 0 && access(ACL_EXT, R_OK) == 0;
}

static void dump_log(const struct fd_srv *s)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "tail -20 %s/fd.log >&2", s->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "fd_srv: no log in %s\n", s->dir);
}

int fd_srv_start(struct fd_srv *s, const char *identity, const char *realm, const char *allow)
{
	char path[128], cmd[512];
	s->pid = -1;
	snprintf(s->dir, sizeof(s->dir), "/tmp/rcsgw-fd.XXXXXX");
	if (!mkdtemp(s->dir))
		return -1;
	snprintf(cmd, sizeof(cmd),
		 "openssl req -x509 -newkey rsa:2048 -nodes -keyout %s/key.pem -out %s/cert.pem "
		 "-days 2 -subj /CN=%s >/dev/null 2>&1", s->dir, s->dir, identity);
	if (system(cmd) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/acl.conf", s->dir);
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fprintf(f, "ALLOW_IPSEC %s\n", allow);
	fclose(f);
	snprintf(path, sizeof(path), "%s/fd.conf", s->dir);
	if (!(f = fopen(path, "w")))
		return -1;
	fprintf(f, "Identity = \"%s\";\nRealm = \"%s\";\nPort = %d;\nSecPort = 0;\nNo_SCTP;\n"
		"No_IPv6;\nTLS_Cred = \"%s/cert.pem\", \"%s/key.pem\";\nTLS_CA = \"%s/cert.pem\";\n"
		"LoadExtension = \"%s\" : \"%s/acl.conf\";\n",
		identity, realm, FD_SRV_PORT, s->dir, s->dir, s->dir, ACL_EXT, s->dir);
	fclose(f);
	/* its output to a file of its own (a pipe nobody reads would fill) */
	snprintf(cmd, sizeof(cmd), "exec %s -c %s/fd.conf > %s/fd.log 2>&1", FD_SRV_BIN, s->dir,
		 s->dir);
	char *argv[] = { "/bin/sh", "-c", cmd, NULL };
	s->pid = proc_spawn(argv, NULL, NULL, NULL, NULL);
	if (s->pid < 0)
		return -1;
	if (wait_port("127.0.0.1", FD_SRV_PORT, 5000) < 0) {
		dump_log(s);
		fd_srv_stop(s);
		return -1;
	}
	return 0;
}

static void rm_dir(struct fd_srv *s)
{
	char cmd[128];
	if (!s->dir[0])
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", s->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "fd_srv: %s left behind\n", s->dir);
	s->dir[0] = '\0';
}

void fd_srv_stop(struct fd_srv *s)
{
	if (s->pid > 0)
		proc_stop(s->pid, SIGTERM, 3000);
	s->pid = -1;
	rm_dir(s);
}

void fd_srv_kill(struct fd_srv *s)
{
	if (s->pid > 0)
		proc_stop(s->pid, SIGKILL, 3000);
	s->pid = -1;
}

/* dnsmasq.c — the throw-away dnsmasq of dnsmasq.h. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/lib/dnsmasq.h"
#include "tests/lib/proc.h"

const char *dnsmasq_path(void)
{
	const char *p = getenv("RCSGW_DNSMASQ");
	return p && *p ? p : "/usr/sbin/dnsmasq";
}

int dnsmasq_available(void)
{
	return access(dnsmasq_path(), X_OK) == 0;
}

static void loopback(struct sockaddr_in *a, int port)
{
	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_port = htons((uint16_t)port);
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
}

/* A UDP port of 127.0.0.1 that TCP can bind as well, right now; -1 when none is found. */
static int pick_port(void)
{
	for (int attempt = 0; attempt < 16; attempt++) {
		struct sockaddr_in a;
		socklen_t al = sizeof(a);
		int port = -1;
		int u = socket(AF_INET, SOCK_DGRAM, 0);
		int t = socket(AF_INET, SOCK_STREAM, 0);
		loopback(&a, 0);
		if (u >= 0 && t >= 0 && bind(u, (struct sockaddr *)&a, sizeof(a)) == 0 &&
		    getsockname(u, (struct sockaddr *)&a, &al) == 0 &&
		    bind(t, (struct sockaddr *)&a, sizeof(a)) == 0)
			port = ntohs(a.sin_port);
		if (u >= 0)
			close(u);
		if (t >= 0)
			close(t);
		if (port > 0)
			return port;
	}
	return -1;
}

static int accepts_tcp(int port)
{
	struct sockaddr_in a;
	int s = socket(AF_INET, SOCK_STREAM, 0);
	loopback(&a, port);
	int ok = s >= 0 && connect(s, (struct sockaddr *)&a, sizeof(a)) == 0;
	if (s >= 0)
		close(s);
	return ok;
}

static void path_in(const struct dnsmasq *m, const char *file, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", m->dir, file);
}

static int write_conf(const struct dnsmasq *m, const char *records)
{
	char conf[96], log[96], pid[96];
	path_in(m, "dnsmasq.conf", conf, sizeof(conf));
	path_in(m, "dnsmasq.log", log, sizeof(log));
	path_in(m, "dnsmasq.pid", pid, sizeof(pid));
	FILE *f = fopen(conf, "w");
	if (!f)
		return -1;
	fprintf(f, "port=%d\nlisten-address=127.0.0.1\nbind-interfaces\nno-resolv\nno-hosts\n"
		   "local=/test/\nlocal-ttl=60\nlog-facility=%s\npid-file=%s\n%s\n",
		m->port, log, pid, records ? records : "");
	if (geteuid() == 0)
		fprintf(f, "user=root\n");   /* else it drops to nobody: no log, no pid file */
	return fclose(f) == 0 ? 0 : -1;
}

static void dump_log(const struct dnsmasq *m)
{
	char log[96], buf[2048];
	path_in(m, "dnsmasq.log", log, sizeof(log));
	FILE *f = fopen(log, "r");
	if (!f)
		return;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	fprintf(stderr, "dnsmasq log (%s):\n%s\n", m->dir, buf);
}

static void die_with_parent(void)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
}

int dnsmasq_start(struct dnsmasq *m, const char *records)
{
	memset(m, 0, sizeof(*m));
	m->pid = -1;
	snprintf(m->dir, sizeof(m->dir), "/tmp/rcsgw-dnsmasq-XXXXXX");
	if (!mkdtemp(m->dir)) {
		m->dir[0] = '\0';
		return -1;
	}
	for (int attempt = 0; attempt < 3; attempt++) {
		char conf[96], conf_arg[128];
		m->port = pick_port();
		if (m->port < 0 || write_conf(m, records) < 0)
			break;
		path_in(m, "dnsmasq.conf", conf, sizeof(conf));
		snprintf(conf_arg, sizeof(conf_arg), "--conf-file=%s", conf);
		snprintf(m->addr, sizeof(m->addr), "127.0.0.1:%d", m->port);
		char *argv[] = { (char *)dnsmasq_path(), "--keep-in-foreground", conf_arg, NULL };
		m->pid = proc_spawn(argv, NULL, NULL, NULL, die_with_parent);
		if (m->pid <= 0)
			break;
		for (int i = 0; i < 250; i++) {
			if (accepts_tcp(m->port))
				return 0;
			if (proc_wait(m->pid, 20) >= 0) {   /* it died: the port was taken? */
				m->pid = -1;
				break;
			}
		}
		if (m->pid > 0)
			proc_stop(m->pid, SIGKILL, 2000);
		m->pid = -1;
	}
	dump_log(m);
	dnsmasq_stop(m);
	return -1;
}

void dnsmasq_stop(struct dnsmasq *m)
{
	if (m->pid > 0)
		proc_stop(m->pid, SIGTERM, 2000);
	m->pid = -1;
	if (m->dir[0]) {
		static const char *const files[] = { "dnsmasq.conf", "dnsmasq.log", "dnsmasq.pid" };
		for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
			char p[96];
			path_in(m, files[i], p, sizeof(p));
			unlink(p);
		}
		rmdir(m->dir);
		m->dir[0] = '\0';
	}
}

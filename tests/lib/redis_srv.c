/* redis_srv.c — the throw-away redis-server of redis_srv.h. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "shards/session.pb-c.h"
#include "tests/lib/proc.h"
#include "tests/lib/redis_srv.h"

static const char *bin(void)
{
	const char *p = getenv("RCSGW_TEST_REDIS_SERVER");
	return p && *p ? p : "/usr/bin/redis-server";
}

int redis_srv_available(void)
{
	return access(bin(), X_OK) == 0;
}

static int free_tcp_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof(a);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int s = socket(AF_INET, SOCK_STREAM, 0);
	if (s < 0)
		return -1;
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(s, (struct sockaddr *)&a, &al) < 0) {
		close(s);
		return -1;
	}
	close(s);
	return ntohs(a.sin_port);
}

static void die_with_parent(void)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
}

static int answers(struct redis_srv *r)
{
	struct timeval tv = { 0, 200 * 1000 };
	redisContext *c = redisConnectWithTimeout("127.0.0.1", r->port, tv);
	int ok = 0;
	if (c && !c->err) {
		redisReply *rep = redisCommand(c, "PING");
		ok = rep && rep->type == REDIS_REPLY_STATUS;
		freeReplyObject(rep);
	}
	if (c)
		redisFree(c);
	return ok;
}

int redis_srv_start(struct redis_srv *r, int port)
{
	return redis_srv_start_args(r, port, NULL);
}

/* Runs <argv> as the server on <port> and waits until it answers PING (5 s). 0, or -1
 * (it died — its port taken? — or never answered: stopped). */
static int spawn_wait(struct redis_srv *r, char *const argv[], int port)
{
	r->port = port;
	snprintf(r->addr, sizeof(r->addr), "127.0.0.1:%d", port);
	r->pid = proc_spawn(argv, NULL, NULL, NULL, die_with_parent);
	if (r->pid <= 0)
		return -1;
	for (int i = 0; i < 250; i++) {
		if (answers(r))
			return 0;
		if (proc_wait(r->pid, 20) >= 0) {
			r->pid = -1;
			return -1;
		}
	}
	if (r->pid > 0)
		proc_stop(r->pid, SIGKILL, 2000);
	r->pid = -1;
	return -1;
}

/* A directory of its own for <r>'s files (a replica's dump.rdb, a Sentinel's config). */
static int make_dir(struct redis_srv *r)
{
	if (r->dir[0])
		return 0;
	snprintf(r->dir, sizeof(r->dir), "/tmp/rcsgw-redis.XXXXXX");
	if (!mkdtemp(r->dir))
		return r->dir[0] = '\0', -1;
	return 0;
}

int redis_srv_start_args(struct redis_srv *r, int port, const char *const *extra)
{
	if (make_dir(r) < 0)
		return -1;
	for (int attempt = 0; attempt < 3; attempt++) {
		int p = port ? port : free_tcp_port();
		char ps[16];
		if (p <= 0)
			return -1;
		snprintf(ps, sizeof(ps), "%d", p);
		char *argv[32] = { (char *)bin(), "--port", ps, "--bind", "127.0.0.1",
				   "--save", "", "--appendonly", "no", "--logfile", "/dev/null",
				   "--daemonize", "no", "--dir", r->dir, NULL };
		for (int i = 0, n = 15; extra && extra[i] && n < 31; i++)
			argv[n++] = (char *)extra[i];
		if (spawn_wait(r, argv, p) == 0)
			return 0;
		if (port)
			break;
	}
	return -1;
}

int redis_srv_start_sentinel(struct redis_srv *r, int master_port, const char *name)
{
	char conf[128];
	if (make_dir(r) < 0)
		return -1;
	snprintf(conf, sizeof(conf), "%s/sentinel.conf", r->dir);
	FILE *f = fopen(conf, "w");
	if (!f)
		return -1;
	fprintf(f, "sentinel monitor %s 127.0.0.1 %d 1\n"
		   "sentinel down-after-milliseconds %s 1000\n"
		   "sentinel failover-timeout %s 3000\n", name, master_port, name, name);
	fclose(f);
	for (int attempt = 0; attempt < 3; attempt++) {
		int p = free_tcp_port();
		char ps[16];
		if (p <= 0)
			return -1;
		snprintf(ps, sizeof(ps), "%d", p);
		char *argv[] = { (char *)bin(), conf, "--sentinel", "--port", ps, "--bind",
				 "127.0.0.1", "--logfile", "/dev/null", "--daemonize", "no", NULL };
		if (spawn_wait(r, argv, p) == 0)
			return 0;
	}
	return -1;
}

void redis_srv_stop(struct redis_srv *r)
{
	if (r->pid > 0) {
		kill(r->pid, SIGCONT);
		proc_stop(r->pid, SIGTERM, 2000);
	}
	r->pid = -1;
	if (r->dir[0]) {
		DIR *d = opendir(r->dir);
		struct dirent *e;
		char path[384];
		while (d && (e = readdir(d))) {
			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", r->dir, e->d_name);
			unlink(path);
		}
		if (d)
			closedir(d);
		rmdir(r->dir);
		r->dir[0] = '\0';
	}
}

void redis_srv_pause(struct redis_srv *r, int pause)
{
	if (r->pid > 0)
		kill(r->pid, pause ? SIGSTOP : SIGCONT);
}

int redis_srv_cmd(struct redis_srv *r, int argc, const char **argv)
{
	struct timeval tv = { 1, 0 };
	redisContext *c = redisConnectWithTimeout("127.0.0.1", r->port, tv);
	int rc = -1;
	if (c && !c->err) {
		redisSetTimeout(c, tv);
		redisReply *rep = redisCommandArgv(c, argc, argv, NULL);
		rc = rep && rep->type != REDIS_REPLY_ERROR ? 0 : -1;
		freeReplyObject(rep);
	}
	if (c)
		redisFree(c);
	return rc;
}

struct Rcsgw__Session *redis_srv_session(const struct redis_srv *r, const char *id,
					  char *owner, size_t olen, long long *epoch)
{
	redisContext *c = redisConnect("127.0.0.1", r->port);
	cr_assert(c && !c->err, "no connection to redis-server");
	redisReply *q = redisCommand(c, "GET rcsgw:state:%s", id);
	Rcsgw__Session *s = NULL;
	if (q && q->type == REDIS_REPLY_STRING)
		s = rcsgw__session__unpack(NULL, q->len, (const uint8_t *)q->str);
	freeReplyObject(q);
	q = redisCommand(c, "HMGET rcsgw:own:%s node epoch", id);
	owner[0] = '\0';
	*epoch = -1;
	if (q && q->type == REDIS_REPLY_ARRAY && q->elements == 2 &&
	    q->element[0]->type == REDIS_REPLY_STRING) {
		snprintf(owner, olen, "%s", q->element[0]->str);
		*epoch = atoll(q->element[1]->str);
	}
	freeReplyObject(q);
	redisFree(c);
	return s;
}

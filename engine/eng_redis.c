/* eng_redis.c — a hiredis async link on a worker's engine (eng_redis.h). */
#include "engine/eng_redis.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cm_log.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define DRAIN_MAX 16                   /* extra reads while the socket stays readable */

struct eng_redis {
	eng_worker *w;
	struct eng_redis_cfg cfg;       /* its strings point into <strs> */
	char *strs;
	char host[64];                 /* where it connects (eng_redis_retarget changes it) */
	int port;
	char name[300];
	redisAsyncContext *ac;         /* NULL while down */
	int dying;                     /* <ac> is being freed: ask nothing more of it */
	int connected;
	unsigned gen;                  /* connections begun */
	eng_poll poll;
	uint32_t poll_events;          /* watched now; 0: not watched */
	eng_defer flush;               /* the commands of this iteration written at its end */
	int flushing;                  /* in that write: what it leaves waits for POLLOUT */
	eng_timer retry;
	uint32_t backoff_ms;
	unsigned busy;                 /* depth of our handlers on the stack */
	int dead;                      /* eng_redis_free() asked while busy */
};

static void destroy(struct eng_redis *r);

static void enter(struct eng_redis *r)
{
	r->busy++;
}

static void leave(struct eng_redis *r)
{
	if (--r->busy == 0 && r->dead)
		destroy(r);
}

static void on_io(eng_poll *p, uint32_t revents);

static void watch(struct eng_redis *r, uint32_t events)
{
	if (!r->ac || events == r->poll_events)
		return;
	int rc = 0;
	if (!events)
		eng_poll_stop(&r->poll);
	else if (!r->poll_events)
		rc = eng_poll_start(r->w, &r->poll, r->ac->c.fd, events, on_io, r);
	else
		rc = eng_poll_update(&r->poll, events);
	if (rc < 0) {
		/* the commands on this link time out with their owners, who drop it */
		CM_LOG_RL(CM_LOG_ERROR, "%s: redis %s: watch fd %d: %s", r->cfg.what, r->name,
			  r->ac->c.fd, strerror(-rc));
		if (r->poll_events)
			eng_poll_stop(&r->poll);
		r->poll_events = 0;
		return;
	}
	r->poll_events = events;
}

static void ev_add_read(void *p)
{
	struct eng_redis *r = p;
	watch(r, r->poll_events | POLLIN);
}

static void ev_del_read(void *p)
{
	struct eng_redis *r = p;
	watch(r, r->poll_events & ~(uint32_t)POLLIN);
}

static void ev_add_write(void *p)
{
	struct eng_redis *r = p;
	/* connected: the commands queued in this iteration go in one write at its end (no
	 * poll for writability, which the socket nearly always has); connecting, or what that
	 * write could not take: POLLOUT */
	if (r->ac && (r->ac->c.flags & REDIS_CONNECTED) && !r->flushing)
		eng_defer_add(r->w, &r->flush);
	else
		watch(r, r->poll_events | POLLOUT);
}

static void handle(struct eng_redis *r, uint32_t revents, int flush);

static void on_flush(eng_defer *d)
{
	struct eng_redis *r = d->arg;
	if (!r->dying)
		handle(r, 0, 1);
}

static void ev_del_write(void *p)
{
	struct eng_redis *r = p;
	watch(r, r->poll_events & ~(uint32_t)POLLOUT);
}

static void arm_retry(struct eng_redis *r)
{
	if (r->dead || eng_timer_armed(&r->retry))
		return;
	eng_timer_arm(r->w, &r->retry, r->backoff_ms);
	r->backoff_ms = r->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : r->backoff_ms * 2;
}

/* hiredis lets go of the context (after the NULL replies): the link is down. */
static void ev_cleanup(void *p)
{
	struct eng_redis *r = p;
	int was = r->connected;
	if (r->poll_events)
		eng_poll_stop(&r->poll);
	r->poll_events = 0;
	r->ac = NULL;
	r->dying = 0;
	r->connected = 0;
	arm_retry(r);
	if (was && !r->dead && r->cfg.down)
		r->cfg.down(r->cfg.arg);
}

static void on_connect(const redisAsyncContext *ac, int status)
{
	struct eng_redis *r = ac->data;
	if (status == REDIS_OK) {
		r->backoff_ms = BACKOFF_MIN_MS;
		r->connected = 1;
		CM_INFO("%s: redis %s: connected", r->cfg.what, r->name);
		if (r->cfg.up)
			r->cfg.up(r->cfg.arg);
	} else {
		r->dying = 1;
		CM_LOG_RL(CM_LOG_WARN, "%s: redis %s: %s (retry in %u ms)", r->cfg.what, r->name,
			  ac->errstr, r->backoff_ms);
	}
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
	struct eng_redis *r = ac->data;
	r->dying = 1;
	if (status != REDIS_OK && !r->dead)
		CM_LOG_RL(CM_LOG_WARN, "%s: redis %s: link lost: %s", r->cfg.what, r->name,
			  ac->errstr);
}

static void on_io(eng_poll *p, uint32_t revents)
{
	handle(p->arg, revents, 0);
}

/* What the socket is ready for (<revents>), or the write at the end of the iteration
 * (<flush>), under the owner's hold. */
static void handle(struct eng_redis *r, uint32_t revents, int flush)
{
	redisAsyncContext *ac = r->ac;
	if (!ac || r->dead)
		return;
	void (*release)(void *) = r->cfg.release;
	void *arg = r->cfg.arg;
	if (r->cfg.hold)
		r->cfg.hold(arg);
	enter(r);
	int fd = ac->c.fd;
	if (flush) {
		r->flushing = 1;
		redisAsyncHandleWrite(ac);
		r->flushing = 0;
	} else if ((revents & (POLLOUT | POLLERR | POLLHUP)) && (r->poll_events & POLLOUT)) {
		redisAsyncHandleWrite(ac);
	}
	if (r->ac == ac && !r->dead && (revents & (POLLIN | POLLERR | POLLHUP)) &&
	    (r->poll_events & POLLIN))
		redisAsyncHandleRead(ac);
	/* io_uring's multishot poll reports edges: read on while bytes wait */
	for (int i = 0; !flush && i < DRAIN_MAX; i++) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		if (r->ac != ac || r->dead || !(r->poll_events & POLLIN) || poll(&pfd, 1, 0) != 1)
			break;
		redisAsyncHandleRead(ac);
	}
	leave(r);
	if (release) /* last: the owner may free itself, and <r>, now */
		release(arg);
}

/* AUTH's or SELECT's answer: an error drops the link (what follows would run unauthorised,
 * or in db 0). */
static void on_setup(redisAsyncContext *ac, void *reply, void *privdata)
{
	struct eng_redis *r = ac->data;
	redisReply *rep = reply;
	if (!rep || rep->type != REDIS_REPLY_ERROR || r->dead)
		return;
	CM_LOG_RL(CM_LOG_ERROR, "%s: redis %s: %s: %s", r->cfg.what, r->name,
		  (const char *)privdata, rep->str);
	eng_redis_drop(r);
}

static void set_name(struct eng_redis *r)
{
	snprintf(r->name, sizeof(r->name), strchr(r->host, ':') ? "[%s]:%d" : "%s:%d", r->host,
		 r->port);
}

static void connect_now(struct eng_redis *r)
{
	if (!r->host[0])
		return; /* idle: nowhere to go yet */
	redisAsyncContext *ac = redisAsyncConnect(r->host, r->port);
	if (!ac || ac->err) {
		CM_LOG_RL(CM_LOG_WARN, "%s: redis %s: %s (retry in %u ms)", r->cfg.what, r->name,
			  ac ? ac->errstr : "out of memory", r->backoff_ms);
		if (ac)
			redisAsyncFree(ac);
		arm_retry(r);
		return;
	}
	r->ac = ac;
	r->dying = 0;
	r->gen++; /* the commands taken from now on go on this connection */
	ac->data = r;
	ac->ev.data = r;
	ac->ev.addRead = ev_add_read;
	ac->ev.delRead = ev_del_read;
	ac->ev.addWrite = ev_add_write;
	ac->ev.delWrite = ev_del_write;
	ac->ev.cleanup = ev_cleanup;
	redisAsyncSetDisconnectCallback(ac, on_disconnect);
	redisAsyncSetConnectCallback(ac, on_connect); /* watches for writable: connected */
	if (r->cfg.password) {
		const char *av[3] = { "AUTH", r->cfg.user, r->cfg.password };
		size_t al[3] = { 4, strlen(r->cfg.user), strlen(r->cfg.password) };
		int n = r->cfg.user[0] ? 3 : 2;
		if (n == 2) {
			av[1] = r->cfg.password;
			al[1] = al[2];
		}
		redisAsyncCommandArgv(ac, on_setup, (void *)"AUTH", n, av, al);
	}
	if (r->cfg.db) {
		char db[16];
		int dl = snprintf(db, sizeof(db), "%u", r->cfg.db);
		const char *av[2] = { "SELECT", db };
		size_t al[2] = { 6, (size_t)dl };
		redisAsyncCommandArgv(ac, on_setup, (void *)"SELECT", 2, av, al);
	}
}

static void on_retry(eng_timer *t)
{
	struct eng_redis *r = t->arg;
	if (r->dead || r->ac)
		return;
	enter(r);
	connect_now(r);
	leave(r);
}

struct eng_redis *eng_redis_new(eng_worker *w, const struct eng_redis_cfg *cfg)
{
	struct eng_redis *r = calloc(1, sizeof(*r));
	const char *host = cfg->host ? cfg->host : "", *user = cfg->user ? cfg->user : "";
	const char *what = cfg->what ? cfg->what : "redis";
	size_t hl = strlen(host) + 1, ul = strlen(user) + 1, wl = strlen(what) + 1;
	size_t pl = cfg->password ? strlen(cfg->password) + 1 : 0;
	if (!r || !(r->strs = malloc(hl + ul + wl + pl + 1))) {
		free(r);
		return NULL;
	}
	r->w = w;
	r->cfg = *cfg;
	char *p = r->strs;
	r->cfg.host = memcpy(p, host, hl);
	r->cfg.user = memcpy(p += hl, user, ul);
	r->cfg.what = memcpy(p += ul, what, wl);
	r->cfg.password = pl ? memcpy(p + wl, cfg->password, pl) : NULL;
	if (!cfg->idle)
		snprintf(r->host, sizeof(r->host), "%s", host);
	r->port = cfg->port;
	set_name(r);
	r->backoff_ms = BACKOFF_MIN_MS;
	eng_timer_init(&r->retry, on_retry, r);
	eng_defer_init(&r->flush, on_flush, r);
	connect_now(r);
	return r;
}

static void destroy(struct eng_redis *r)
{
	r->dead = 1;
	eng_timer_cancel(&r->retry);
	eng_defer_cancel(r->w, &r->flush);
	if (r->ac) {
		redisAsyncContext *ac = r->ac;
		r->dying = 1;
		redisAsyncFree(ac); /* NULL replies to what is in flight, then ev_cleanup */
		r->ac = NULL;
	}
	if (r->poll_events)
		eng_poll_stop(&r->poll);
	free(r->strs);
	free(r);
}

void eng_redis_free(struct eng_redis *r)
{
	if (!r || r->dead)
		return;
	if (r->busy) {
		r->dead = 1; /* leave() finishes it */
		return;
	}
	destroy(r);
}

int eng_redis_cmd(struct eng_redis *r, redisCallbackFn *fn, void *privdata, int argc,
		 const char **argv, const size_t *argl)
{
	if (!r->ac || r->dying || r->dead)
		return -EIO;
	if (redisAsyncCommandArgv(r->ac, fn, privdata, argc, argv, argl) != REDIS_OK)
		return -EIO;
	return 0;
}

unsigned eng_redis_generation(const struct eng_redis *r)
{
	return r->gen;
}

int eng_redis_up(const struct eng_redis *r)
{
	return r->connected && r->ac && !r->dying;
}

void eng_redis_drop(struct eng_redis *r)
{
	if (r->ac && !r->dying) {
		/* the NULL replies run now: the owner may free itself, or <r>, from them */
		void (*release)(void *) = r->cfg.release;
		void *arg = r->cfg.arg;
		if (r->cfg.hold)
			r->cfg.hold(arg);
		enter(r);
		r->dying = 1;
		redisAsyncFree(r->ac);
		leave(r);
		if (release)
			release(arg);
	}
}

int eng_redis_retarget(struct eng_redis *r, const char *host, int port)
{
	if (!host || !*host || strlen(host) >= sizeof(r->host) || port <= 0 || port > 65535)
		return -EINVAL;
	if (!strcmp(host, r->host) && port == r->port && (r->ac || eng_timer_armed(&r->retry)))
		return 0;
	snprintf(r->host, sizeof(r->host), "%s", host);
	r->port = port;
	set_name(r);
	r->backoff_ms = BACKOFF_MIN_MS;
	if (r->ac) {
		eng_redis_drop(r); /* its cleanup arms the retry: to the new place */
		return 0;
	}
	eng_timer_cancel(&r->retry);
	enter(r);
	connect_now(r);
	leave(r);
	return 0;
}

const char *eng_redis_name(const struct eng_redis *r)
{
	return r->name;
}

/* test_sh_node.c — node heartbeats and fenced session ownership in a real redis-server
 * (shards/sh_node.c): a session taken at epoch 1, refused to another node while its owner
 * lives, taken over at epoch 2 once the owner's heartbeat expired — only by a claim that
 * names the epoch it saw —, the old owner's writes fenced out when it comes back, two nodes
 * racing for a dead owner's session with one winner, and a release. Run with --jobs 1. */
#include <criterion/criterion.h>
#include <errno.h>
#include <hiredis/hiredis.h>
#include <string.h>
#include <unistd.h>

#include "engine/eng.h"
#include "engine/eng_redis.h"
#include "shards/sh_node.h"
#include "tests/lib/eng_job.h"
#include "tests/lib/redis_srv.h"

#define TTL 500

struct answer {
	int done, rc;
	unsigned long long epoch;
	char owner[SH_NODE_ID_MAX + 1];
};

static struct {
	eng_engine *e;
	eng_worker *w;
	struct redis_srv redis;
	struct eng_redis *link;
	struct sh_node *a, *b, *c, *d;
	char got[64];
	int got_done;
} T;

static void appended(void *arg, int rc, const char *const *entries, size_t n)
{
	struct answer *x = arg;
	x->rc = rc < 0 ? rc : n == 1 && entries[0] ? 1 : 0; /* NULL: fenced */
	snprintf(x->owner, sizeof(x->owner), "%s", rc == 1 && n == 1 && entries[0] ?
		 entries[0] : ""); /* the entry id */
	x->done = 1;
}

static void unkept(void *arg, int rc)
{
	struct answer *x = arg;
	x->rc = rc;
	x->done = 1;
}

static void answered(void *arg, int rc, uint64_t epoch, const char *owner)
{
	struct answer *x = arg;
	x->rc = rc;
	x->epoch = epoch;
	snprintf(x->owner, sizeof(x->owner), "%s", owner ? owner : "");
	x->done = 1;
}

/* A node; <inc> its incarnation (NULL: this process's). */
static struct sh_node *mk_inc(const char *id, const char *inc)
{
	struct sh_node_cfg c = { .node_id = id, .advertise = "127.0.0.1:5060", .ttl_ms = TTL,
				 .prefix = "t:", .incarnation = inc };
	return sh_node_new(T.w, T.link, &c);
}

static struct sh_node *mk(const char *id)
{
	return mk_inc(id, NULL);
}

static void job_up(void *arg)
{
	(void)arg;
	struct eng_redis_cfg c = { .host = "127.0.0.1", .port = T.redis.port, .what = "test" };
	T.link = eng_redis_new(T.w, &c);
	T.a = mk("node-a");
	T.b = mk("node-b");
}

static void job_down(void *arg)
{
	(void)arg;
	sh_node_free(T.a);
	sh_node_free(T.b);
	sh_node_free(T.c);
	sh_node_free(T.d);
	T.a = T.b = T.c = T.d = NULL;
	eng_redis_free(T.link);
	T.link = NULL;
}

static int both_alive(void *arg)
{
	(void)arg;
	return T.a && T.b && sh_node_alive(T.a) && sh_node_alive(T.b);
}

static int is_done(void *arg) { return ((struct answer *)arg)->done; }

struct op {
	struct sh_node **n;
	int kind; /* 0 claim, 1 write, 2 release, 3 append, 4 unkeep (data: the entry), 5 append
		   * again (data: the message and its Message-ID) */
	const char *sid;
	unsigned long long epoch;
	const char *data;
	struct answer *x;
	int rc;
};

static void job_op(void *arg)
{
	struct op *o = arg;
	o->x->done = 0;
	if (o->kind == 0)
		o->rc = sh_node_claim(*o->n, o->sid, o->epoch, answered, o->x);
	else if (o->kind == 1)
		o->rc = sh_node_write(*o->n, o->sid, o->epoch, o->data, strlen(o->data), 60000,
				      answered, o->x);
	else if (o->kind == 2)
		o->rc = sh_node_release(*o->n, o->sid, o->epoch, answered, o->x);
	else if (o->kind == 3 || o->kind == 5)
		o->rc = sh_node_append(*o->n, &(struct sh_node_append_item){ o->sid, o->epoch,
			o->data, strlen(o->data), o->data, o->kind == 5 }, 1, 60000, appended,
			o->x);
	else
		o->rc = sh_node_unkeep(*o->n, o->sid, &o->data, 1, unkept, o->x);
}

/* Runs one operation and waits for its answer. */
static struct answer run(struct sh_node **n, int kind, const char *sid, unsigned long long epoch,
			 const char *data)
{
	struct answer x = { 0 };
	struct op o = { n, kind, sid, epoch, data, &x, 0 };
	cr_assert_eq(eng_job_run(T.w, job_op, &o), 0);
	cr_assert_eq(o.rc, 0, "not asked: %d", o.rc);
	cr_assert_eq(eng_job_wait(T.w, is_done, &x, 3000), 0, "no answer");
	return x;
}

static void on_get(redisAsyncContext *ac, void *reply, void *privdata)
{
	redisReply *r = reply;
	(void)ac;
	(void)privdata;
	if (r && r->type == REDIS_REPLY_INTEGER)
		snprintf(T.got, sizeof(T.got), "%lld", r->integer);
	else
		snprintf(T.got, sizeof(T.got), "%s",
			 r && r->type == REDIS_REPLY_STRING ? r->str : "(none)");
	T.got_done = 1;
}

/* <cmd> <key> [<field>], its answer into T.got. */
static void key_cmd(const char *cmd, const char *key, const char *field)
{
	const char *av[3] = { cmd, key, field };
	size_t al[3] = { strlen(cmd), strlen(key), field ? strlen(field) : 0 };
	T.got_done = 0;
	eng_redis_cmd(T.link, on_get, NULL, field ? 3 : 2, av, al);
}

static void job_get(void *arg)
{
	key_cmd("GET", arg, NULL);
}

static int got_done(void *arg) { (void)arg; return T.got_done; }

static void job_exists(void *arg)
{
	key_cmd("EXISTS", arg, NULL);
}

static void job_ghost(void *arg)
{
	(void)arg;
	const char *av[6] = { "HSET", "t:own:s2", "node", "ghost", "epoch", "5" };
	size_t al[6];
	for (int i = 0; i < 6; i++)
		al[i] = strlen(av[i]);
	T.got_done = 0;
	eng_redis_cmd(T.link, on_get, NULL, 6, av, al);
	T.c = mk("node-c");
	T.d = mk("node-d");
}

static struct answer rc_race, rd_race;
static void job_race(void *arg)
{
	(void)arg;
	rc_race.done = rd_race.done = 0;
	sh_node_claim(T.c, "s2", 5, answered, &rc_race);
	sh_node_claim(T.d, "s2", 5, answered, &rd_race);
}

static int race_done(void *arg) { (void)arg; return rc_race.done && rd_race.done; }

static void job_free_a(void *arg)
{
	(void)arg;
	sh_node_free(T.a);
	T.a = NULL;
}

static void job_new_a(void *arg)
{
	(void)arg;
	T.a = mk("node-a");
}

static struct sh_node **taker = &T.b; /* who takes over and sweeps */

static void setup(void)
{
	memset(&T, 0, sizeof(T));
	taker = &T.b;
	T.e = eng_job_with_redis(&T.redis, &T.w);
	cr_assert_eq(eng_job_run(T.w, job_up, NULL), 0);
	cr_assert(T.link && T.a && T.b);
	cr_assert_eq(eng_job_wait(T.w, both_alive, NULL, 3000), 0, "no heartbeat taken");
}

static void teardown(void)
{
	if (T.e)
		eng_job_run(T.w, job_down, NULL);
	if (T.e)
		eng_destroy(T.e);
	T.e = NULL;
	redis_srv_stop(&T.redis);
}

TestSuite(sh_node, .init = setup, .fini = teardown, .timeout = 30);

Test(sh_node, ownership_is_fenced)
{
	struct answer x = run(&T.a, 0, "s1", 0, NULL);
	cr_expect(x.rc == 1 && x.epoch == 1, "taken at epoch 1: %d %llu", x.rc, x.epoch);
	x = run(&T.a, 0, "s1", 0, NULL);
	cr_expect(x.rc == 1 && x.epoch == 1, "its owner keeps it");
	x = run(&T.b, 0, "s1", 1, NULL);
	cr_expect(x.rc == 0 && x.epoch == 1, "refused while node-a lives");
	cr_expect_str_eq(x.owner, "node-a");
	x = run(&T.a, 1, "s1", 1, "state-from-a");
	cr_expect_eq(x.rc, 1);
	x = run(&T.b, 1, "s1", 1, "state-from-b");
	cr_expect_eq(x.rc, 0, "only the owner writes");

	/* node-a dies: its heartbeat expires; node-b takes over, naming the epoch it saw */
	cr_assert_eq(eng_job_run(T.w, job_free_a, NULL), 0);
	usleep((TTL + 200) * 1000);
	x = run(&T.b, 0, "s1", 0, NULL);
	cr_expect(x.rc == 0 && x.epoch == 1, "a claim that saw nothing does not take it over");
	x = run(&T.b, 0, "s1", 1, NULL);
	cr_expect(x.rc == 1 && x.epoch == 2, "taken over at epoch 2: %d %llu", x.rc, x.epoch);

	/* node-a comes back after its pause: fenced out */
	cr_assert_eq(eng_job_run(T.w, job_new_a, NULL), 0);
	x = run(&T.a, 1, "s1", 1, "stale-from-a");
	cr_expect(x.rc == 0 && x.epoch == 2, "the old epoch is fenced out");
	cr_expect_str_eq(x.owner, "node-b");
	x = run(&T.b, 1, "s1", 2, "state-from-b");
	cr_expect_eq(x.rc, 1);
	cr_assert_eq(eng_job_run(T.w, job_get, "t:state:s1"), 0);
	cr_assert_eq(eng_job_wait(T.w, got_done, NULL, 3000), 0);
	cr_expect_str_eq(T.got, "state-from-b");

	/* let go: a tombstone fences whoever still thinks it owns the session */
	x = run(&T.a, 2, "s1", 2, NULL);
	cr_expect_eq(x.rc, 0, "not node-a's to release");
	x = run(&T.b, 2, "s1", 2, NULL);
	cr_expect_eq(x.rc, 1);
	x = run(&T.a, 0, "s1", 0, NULL);
	cr_expect(x.rc == 0 && x.epoch == 2, "a session that ended is claimed again");
	cr_expect_str_eq(x.owner, "");
	x = run(&T.b, 1, "s1", 2, "after-its-end");
	cr_expect_eq(x.rc, 0, "a session that ended is written again");
	cr_assert_eq(eng_job_run(T.w, job_exists, "t:state:s1"), 0);
	cr_assert_eq(eng_job_wait(T.w, got_done, NULL, 3000), 0);
	cr_expect_str_eq(T.got, "0");
}

Test(sh_node, two_nodes_racing_for_a_dead_owner_one_wins)
{
	cr_assert_eq(eng_job_run(T.w, job_ghost, NULL), 0);
	cr_assert_eq(eng_job_wait(T.w, got_done, NULL, 3000), 0);
	cr_assert_eq(eng_job_run(T.w, job_race, NULL), 0);
	cr_assert_eq(eng_job_wait(T.w, race_done, NULL, 3000), 0);
	cr_expect_eq(rc_race.rc + rd_race.rc, 1, "exactly one wins: %d %d", rc_race.rc,
		     rd_race.rc);
	struct answer *won = rc_race.rc == 1 ? &rc_race : &rd_race;
	struct answer *lost = rc_race.rc == 1 ? &rd_race : &rc_race;
	cr_expect_eq(won->epoch, 6);
	cr_expect_eq(lost->epoch, 6);
	cr_expect_str_eq(lost->owner, rc_race.rc == 1 ? "node-c" : "node-d");
}

Test(sh_node, bad_ids_are_refused)
{
	struct sh_node_cfg c = { .node_id = "a b", .ttl_ms = TTL };
	cr_expect_null(sh_node_new(T.w, T.link, &c));
	c.node_id = "ok";
	c.ttl_ms = 10;
	cr_expect_null(sh_node_new(T.w, T.link, &c), "a ttl below 300 ms");
}

static struct {
	int done, rc;
	unsigned long long epoch;
	char owner[SH_NODE_ID_MAX + 1], rec[64];
	char pending[256];             /* "entry=data;" of each pending message */
	size_t npending;
} tk;

static void took(void *arg, int rc, uint64_t epoch, const char *owner, const char *rec,
		 size_t len, const struct sh_node_pending *p, size_t np)
{
	(void)arg;
	tk.rc = rc;
	tk.epoch = epoch;
	snprintf(tk.owner, sizeof(tk.owner), "%s", owner ? owner : "");
	snprintf(tk.rec, sizeof(tk.rec), "%.*s", (int)len, rec ? rec : "");
	tk.pending[0] = '\0';
	tk.npending = np;
	for (size_t i = 0; i < np; i++) {
		size_t n = strlen(tk.pending);
		snprintf(tk.pending + n, sizeof(tk.pending) - n, "%s=%.*s;", p[i].entry,
			 (int)p[i].len, p[i].data);
	}
	tk.done = 1;
}

static void job_take(void *arg)
{
	tk.done = 0;
	cr_assert_eq(sh_node_takeover(*taker, arg, took, NULL), 0);
}

static int took_done(void *arg) { (void)arg; return tk.done; }

/* Node a appends <m> to <sid> at epoch 1 (<kind> 3, or 5: again); its entry id into
 * <entry>. */
static void append_ok(int kind, const char *sid, const char *m, char entry[SH_NODE_ID_MAX + 1])
{
	struct answer x = run(&T.a, kind, sid, 1, m);
	cr_assert_eq(x.rc, 1, "append %s: %d", m, x.rc);
	snprintf(entry, SH_NODE_ID_MAX + 1, "%s", x.owner);
}

/* A takeover: refused while the owner lives, then the session and its record in one step
 * (epoch + 1); nothing to take over for a session nobody owns, nor for one this node owns
 * already (in memory or over: not to be revived). */
Test(sh_node, a_takeover_brings_the_record_along)
{
	struct answer x = run(&T.a, 0, "s3", 0, NULL);
	cr_assert_eq(x.rc, 1);
	x = run(&T.a, 1, "s3", 1, "record-of-s3");
	cr_assert_eq(x.rc, 1);
	cr_assert_eq(eng_job_run(T.w, job_take, "s3"), 0);
	cr_assert_eq(eng_job_wait(T.w, took_done, NULL, 3000), 0);
	cr_expect(tk.rc == 0 && !strcmp(tk.owner, "node-a"), "node-a lives: %d %s", tk.rc, tk.owner);
	cr_assert_eq(eng_job_run(T.w, job_free_a, NULL), 0);
	usleep((TTL + 200) * 1000);
	cr_assert_eq(eng_job_run(T.w, job_take, "s3"), 0);
	cr_assert_eq(eng_job_wait(T.w, took_done, NULL, 3000), 0);
	cr_expect_eq(tk.rc, 1);
	cr_expect_eq(tk.epoch, 2);
	cr_expect_str_eq(tk.rec, "record-of-s3");
	cr_assert_eq(eng_job_run(T.w, job_take, "s3"), 0); /* ours already: not revived */
	cr_assert_eq(eng_job_wait(T.w, took_done, NULL, 3000), 0);
	cr_expect_eq(tk.rc, -ENOENT);
	cr_assert_eq(eng_job_run(T.w, job_take, "nobody-owns-this"), 0);
	cr_assert_eq(eng_job_wait(T.w, took_done, NULL, 3000), 0);
	cr_expect_eq(tk.rc, -ENOENT);
}

static struct {
	int done, rc;
	char ids[256];
} sw;

static void on_swept(void *arg, int rc, const char *const *ids, size_t n)
{
	(void)arg;
	sw.rc = rc;
	sw.ids[0] = '\0';
	for (size_t i = 0; i < n; i++)
		snprintf(sw.ids + strlen(sw.ids), sizeof(sw.ids) - strlen(sw.ids), "%s;", ids[i]);
	sw.done = 1;
}

static void job_sweep(void *arg)
{
	(void)arg;
	sw.done = 0;
	cr_assert_eq(sh_node_sweep(*taker, 8, on_swept, NULL), 0);
}

static int swept_done(void *arg) { (void)arg; return sw.done; }

/* Durable delivery's stream: messages appended by the owner (fenced against another node
 * while the owner lives), one removed once confirmed; a sweep finds the session once its
 * owner is dead (not before); a takeover brings the others back in order with their entry
 * ids (and the session is no longer a dead node's); a release deletes the stream. */
Test(sh_node, pending_messages_come_back_with_a_takeover)
{
	struct answer x = run(&T.a, 0, "s9", 0, NULL);
	cr_assert_eq(x.rc, 1);
	x = run(&T.a, 3, "s9", 0, "m1"); /* epoch 0: ours, the claim's epoch not known yet */
	cr_assert_eq(x.rc, 1, "append m1: %d", x.rc);
	char e1[SH_NODE_ID_MAX + 1];
	snprintf(e1, sizeof(e1), "%s", x.owner);
	char e2[SH_NODE_ID_MAX + 1], e3[SH_NODE_ID_MAX + 1];
	append_ok(3, "s9", "m2", e2);
	append_ok(3, "s9", "m3", e3);
	x = run(&T.b, 3, "s9", 0, "not-b's");
	cr_expect_eq(x.rc, 0, "node-b appended to node-a's session");
	x = run(&T.a, 3, "s9", 7, "wrong-epoch");
	cr_expect_eq(x.rc, 0, "an append at another epoch was taken");
	x = run(&T.a, 4, "s9", 0, e2); /* m2 confirmed */
	cr_expect_eq(x.rc, 1);

	cr_assert_eq(eng_job_run(T.w, job_sweep, NULL), 0);
	cr_assert_eq(eng_job_wait(T.w, swept_done, NULL, 3000), 0);
	cr_expect_str_eq(sw.ids, "", "a live node's session swept");
	cr_assert_eq(eng_job_run(T.w, job_free_a, NULL), 0);
	usleep((TTL + 200) * 1000);
	cr_assert_eq(eng_job_run(T.w, job_sweep, NULL), 0);
	cr_assert_eq(eng_job_wait(T.w, swept_done, NULL, 3000), 0);
	cr_expect_eq(sw.rc, 1);
	cr_expect_str_eq(sw.ids, "s9;", "the dead node's session with pending messages");
	cr_assert_eq(eng_job_run(T.w, job_take, "s9"), 0);
	cr_assert_eq(eng_job_wait(T.w, took_done, NULL, 3000), 0);
	cr_assert_eq(tk.rc, 1);
	cr_expect_eq(tk.npending, 2);
	char want[256];
	snprintf(want, sizeof(want), "%s=m1;%s=m3;", e1, e3);
	cr_expect_str_eq(tk.pending, want);

	cr_assert_eq(eng_job_run(T.w, job_sweep, NULL), 0); /* node-b's now: not swept */
	cr_assert_eq(eng_job_wait(T.w, swept_done, NULL, 3000), 0);
	cr_expect_str_eq(sw.ids, "");
	x = run(&T.b, 2, "s9", 2, NULL);
	cr_expect_eq(x.rc, 1);
	cr_assert_eq(eng_job_run(T.w, job_exists, "t:msgs:s9"), 0);
	cr_assert_eq(eng_job_wait(T.w, got_done, NULL, 3000), 0);
	cr_expect_str_eq(T.got, "0", "the stream outlived its session");
}

static void job_flush_scripts(void *arg)
{
	(void)arg;
	const char *av[2] = { "SCRIPT", "FLUSH" };
	size_t al[2] = { 6, 5 };
	T.got_done = 0;
	eng_redis_cmd(T.link, on_get, NULL, 2, av, al);
}

/* The scripts run by EVALSHA: a server that lost them (SCRIPT FLUSH, a failover to a
 * replica that never loaded them) fails one request, and the next loads them again. */
Test(sh_node, scripts_lost_by_the_server_are_loaded_again)
{
	struct answer x = run(&T.a, 0, "s10", 0, NULL);
	cr_assert_eq(x.rc, 1);
	cr_assert_eq(eng_job_run(T.w, job_flush_scripts, NULL), 0);
	cr_assert_eq(eng_job_wait(T.w, got_done, NULL, 3000), 0);
	x = run(&T.a, 1, "s10", 1, "after-flush");
	cr_expect_eq(x.rc, -EIO, "NOSCRIPT: %d", x.rc);
	x = run(&T.a, 1, "s10", 1, "after-flush");
	cr_expect_eq(x.rc, 1, "loaded again: %d", x.rc);
	cr_assert_eq(eng_job_run(T.w, job_get, "t:state:s10"), 0);
	cr_assert_eq(eng_job_wait(T.w, got_done, NULL, 3000), 0);
	cr_expect_str_eq(T.got, "after-flush");
}

static void job_del(void *arg)
{
	key_cmd("DEL", arg, NULL);
}

static void job_owner(void *arg)
{
	key_cmd("HGET", arg, "node");
}

static void redis_do(void (*job)(void *), const char *key)
{
	cr_assert_eq(eng_job_run(T.w, job, (void *)key), 0);
	cr_assert_eq(eng_job_wait(T.w, got_done, NULL, 3000), 0);
}

/* Redis lost a session's ownership (restarted without persistence, or its TTL ran out):
 * the owner's next write or append takes it back at the epoch it names, before another
 * node could claim it as nobody's. */
Test(sh_node, ownership_lost_by_redis_is_taken_back_by_its_owner)
{
	struct answer x = run(&T.a, 0, "s4", 0, NULL);
	cr_assert_eq(x.rc, 1);
	redis_do(job_del, "t:own:s4");
	x = run(&T.a, 1, "s4", 1, "state-again");
	cr_expect_eq(x.rc, 1, "the owner's write was fenced: %d", x.rc);
	redis_do(job_owner, "t:own:s4");
	cr_expect_str_eq(T.got, "node-a");
	x = run(&T.b, 0, "s4", 1, NULL);
	cr_expect(x.rc == 0 && !strcmp(x.owner, "node-a"), "node-b took it: %d", x.rc);
	redis_do(job_del, "t:own:s4");
	x = run(&T.a, 3, "s4", 1, "m1");
	cr_expect_eq(x.rc, 1, "the owner's append was fenced: %d", x.rc);
	redis_do(job_owner, "t:own:s4");
	cr_expect_str_eq(T.got, "node-a");
}

/* An append made again (its answer lost, or Redis maybe lost it) is found by its
 * Message-ID when the stream has it: one entry, not two. */
Test(sh_node, an_append_made_again_is_not_doubled)
{
	struct answer x = run(&T.a, 0, "s6", 0, NULL);
	cr_assert_eq(x.rc, 1);
	char e1[SH_NODE_ID_MAX + 1], e[SH_NODE_ID_MAX + 1];
	append_ok(3, "s6", "m1", e1);
	append_ok(5, "s6", "m1", e);
	cr_expect_str_eq(e, e1, "appended twice");
	append_ok(5, "s6", "m2", e);
	cr_expect_str_neq(e, e1, "another message found as m1");
	redis_do(job_del, "t:msgs:s6"); /* Redis lost it: appended anew */
	append_ok(5, "s6", "m1", e);
	cr_expect_str_neq(e, e1);
}

static void job_restart_a(void *arg)
{
	(void)arg;
	T.c = mk_inc("node-a", "run1");
}

static void job_restarted_a(void *arg)
{
	(void)arg;
	T.d = mk_inc("node-a", "run2");
}

/* A node restarted with the same id (its heartbeat never stopped long enough to look
 * dead) sweeps and takes over what its earlier run left with messages pending, as it would
 * a dead node's; the earlier run is fenced; its own sessions are not taken over twice. */
Test(sh_node, a_restarted_node_takes_over_what_its_earlier_run_left)
{
	cr_assert_eq(eng_job_run(T.w, job_restart_a, NULL), 0);
	struct answer x = run(&T.c, 0, "s5", 0, NULL);
	cr_assert_eq(x.rc, 1);
	x = run(&T.c, 1, "s5", 1, "record-of-s5");
	cr_assert_eq(x.rc, 1);
	x = run(&T.c, 3, "s5", 1, "m1");
	cr_assert_eq(x.rc, 1);
	cr_assert_eq(eng_job_run(T.w, job_restarted_a, NULL), 0);
	x = run(&T.d, 0, "s7", 0, NULL); /* this run's, with a pending message: not swept */
	cr_assert_eq(x.rc, 1);
	x = run(&T.d, 3, "s7", 1, "m7");
	cr_assert_eq(x.rc, 1);
	taker = &T.d;
	cr_assert_eq(eng_job_run(T.w, job_sweep, NULL), 0);
	cr_assert_eq(eng_job_wait(T.w, swept_done, NULL, 3000), 0);
	cr_expect_str_eq(sw.ids, "s5;", "swept: %s", sw.ids);
	cr_assert_eq(eng_job_run(T.w, job_take, "s5"), 0);
	cr_assert_eq(eng_job_wait(T.w, took_done, NULL, 3000), 0);
	cr_expect_eq(tk.rc, 1, "not taken over: %d", tk.rc);
	cr_expect_eq(tk.epoch, 2);
	cr_expect_str_eq(tk.rec, "record-of-s5");
	cr_expect_eq(tk.npending, 1);
	x = run(&T.c, 1, "s5", 1, "stale");
	cr_expect_eq(x.rc, 0, "the earlier run wrote after the takeover");
	cr_assert_eq(eng_job_run(T.w, job_take, "s5"), 0);
	cr_assert_eq(eng_job_wait(T.w, took_done, NULL, 3000), 0);
	cr_expect_eq(tk.rc, -ENOENT, "taken over twice: %d", tk.rc);
	taker = &T.b;
}

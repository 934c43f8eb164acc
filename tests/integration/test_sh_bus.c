/* test_sh_bus.c — requests between nodes through Redis streams (shards/sh_bus.c) with a
 * real redis-server: a request answered (now, and later by a handler that keeps it), bytes
 * intact both ways; no answer by the deadline; a request read after its deadline dropped
 * unanswered; the limits refused before anything is sent. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "engine/eng.h"
#include "engine/eng_redis.h"
#include "shards/sh_bus.h"
#include "tests/lib/eng_job.h"
#include "tests/lib/redis_srv.h"

static struct {
	eng_engine *e;
	eng_worker *w;
	struct redis_srv redis;
	struct eng_redis *writer;
	struct sh_bus *a, *b;
	struct sh_bus_call *kept;      /* a request b answers later */
	unsigned handled;
	int done, status, rc;
	char got[64];
	size_t got_len;
} T;

/* b's handler: "echo" answered at once (the bytes reversed), "later" kept. */
static void handle(void *arg, struct sh_bus_call *call, const char *kind, const void *data,
		   size_t len)
{
	(void)arg;
	T.handled++;
	if (!strcmp(kind, "later")) {
		T.kept = call;
		return;
	}
	char out[64];
	for (size_t i = 0; i < len && i < sizeof(out); i++)
		out[i] = ((const char *)data)[len - 1 - i];
	sh_bus_answer(call, 200, out, len < sizeof(out) ? len : sizeof(out));
}

static struct sh_bus *bus(const char *node, unsigned worker, sh_bus_handler h)
{
	struct eng_redis_cfg c = { .host = "127.0.0.1", .port = T.redis.port, .what = "bus" };
	struct sh_bus_cfg bc = { .node_id = node, .worker = worker, .prefix = "t:",
				 .handler = h };
	struct sh_bus *b = sh_bus_new(T.w, &c, T.writer, &bc);
	cr_assert(b);
	return b;
}

static void job_up(void *arg)
{
	(void)arg;
	struct eng_redis_cfg c = { .host = "127.0.0.1", .port = T.redis.port, .what = "test" };
	T.writer = eng_redis_new(T.w, &c);
	T.a = bus("node-a", 0, NULL);
	T.b = bus("node-b", 1, handle);
}

static void job_down(void *arg)
{
	(void)arg;
	if (T.kept)
		sh_bus_answer(T.kept, 200, NULL, 0);
	sh_bus_free(T.a);
	sh_bus_free(T.b);
	eng_redis_free(T.writer);
}

static void replied(void *arg, int status, const void *data, size_t len)
{
	(void)arg;
	T.status = status;
	T.got_len = len < sizeof(T.got) ? len : sizeof(T.got);
	memcpy(T.got, data ? data : "", T.got_len);
	T.done = 1;
}

struct ask {
	const char *node, *kind, *data;
	size_t len;
	unsigned worker, timeout_ms;
};

static void job_ask(void *arg)
{
	const struct ask *q = arg;
	T.done = 0;
	T.rc = sh_bus_request(T.a, q->node, q->worker, q->kind, q->data, q->len, q->timeout_ms,
			      replied, NULL);
}

static int is_done(void *arg) { (void)arg; return T.done; }

/* a asks; the answer (or its absence) within <ms>. */
static void ask(const char *node, unsigned worker, const char *kind, const char *data,
		size_t len, unsigned timeout_ms)
{
	struct ask q = { node, kind, data, len, worker, timeout_ms };
	cr_assert_eq(eng_job_run(T.w, job_ask, &q), 0);
	cr_assert_eq(T.rc, 0, "not sent: %d", T.rc);
	cr_assert_eq(eng_job_wait(T.w, is_done, NULL, timeout_ms + 2000), 0, "no end");
}

static int a_idle(void *arg)
{
	(void)arg;
	struct sh_bus_stats s;
	sh_bus_stats(T.a, &s);
	return eng_redis_up(T.writer) && s.waiting == 0;
}

static void setup(void)
{
	memset(&T, 0, sizeof(T));
	T.e = eng_job_with_redis(&T.redis, &T.w);
	cr_assert_eq(eng_job_run(T.w, job_up, NULL), 0);
	cr_assert_eq(eng_job_wait(T.w, a_idle, NULL, 3000), 0, "no link to Redis");
}

static void teardown(void)
{
	if (T.e) {
		eng_job_run(T.w, job_down, NULL);
		eng_destroy(T.e);
	}
	T.e = NULL;
	redis_srv_stop(&T.redis);
}

TestSuite(sh_bus, .init = setup, .fini = teardown, .timeout = 30);

Test(sh_bus, a_request_is_answered_with_its_bytes_intact)
{
	static const char data[] = { 'a', '\0', 'b', 'c' };
	ask("node-b", 1, "echo", data, sizeof(data), 2000);
	cr_expect_eq(T.status, 200);
	cr_expect(T.got_len == 4 && !memcmp(T.got, "cb\0a", 4), "answer: %.*s", (int)T.got_len,
		  T.got);
	struct sh_bus_stats s;
	sh_bus_stats(T.a, &s);
	cr_expect(s.sent == 1 && s.answered == 1 && s.waiting == 0);
	sh_bus_stats(T.b, &s);
	cr_expect(s.received == 1 && s.replied == 1);
}

static void job_answer_kept(void *arg)
{
	(void)arg;
	sh_bus_answer(T.kept, 202, "later", 5);
	T.kept = NULL;
}

static int kept(void *arg) { (void)arg; return T.kept != NULL; }

Test(sh_bus, a_handler_may_answer_later)
{
	struct ask q = { "node-b", "later", "x", 1, 1, 3000 };
	cr_assert_eq(eng_job_run(T.w, job_ask, &q), 0);
	cr_assert_eq(T.rc, 0);
	cr_assert_eq(eng_job_wait(T.w, kept, NULL, 2000), 0, "the request did not come");
	usleep(200 * 1000);
	cr_expect_eq(T.done, 0, "answered before the handler did");
	cr_assert_eq(eng_job_run(T.w, job_answer_kept, NULL), 0);
	cr_assert_eq(eng_job_wait(T.w, is_done, NULL, 2000), 0, "no answer");
	cr_expect_eq(T.status, 202);
	cr_expect(T.got_len == 5 && !memcmp(T.got, "later", 5));
}

Test(sh_bus, nobody_answers_by_the_deadline)
{
	ask("node-x", 0, "echo", "q", 1, 300); /* nobody reads that inbox */
	cr_expect_eq(T.status, -ETIMEDOUT);
	ask("node-b", 0, "echo", "q", 1, 300); /* node-b has no worker 0 reading */
	cr_expect_eq(T.status, -ETIMEDOUT);
	struct sh_bus_stats s;
	sh_bus_stats(T.a, &s);
	cr_expect(s.timeouts == 2 && s.waiting == 0);
}

static void job_late_reader(void *arg)
{
	(void)arg;
	sh_bus_free(T.b);
	T.b = bus("node-b", 2, handle);
}

static int b_read(void *arg)
{
	(void)arg;
	struct sh_bus_stats s;
	sh_bus_stats(T.b, &s);
	return s.expired + s.received > 0;
}

/* A request that waited in the inbox past its deadline (its reader came late): dropped,
 * not done — its requester was told it timed out. */
Test(sh_bus, a_request_read_after_its_deadline_is_dropped)
{
	ask("node-b", 2, "echo", "q", 1, 200);
	cr_expect_eq(T.status, -ETIMEDOUT);
	cr_assert_eq(eng_job_run(T.w, job_late_reader, NULL), 0);
	cr_assert_eq(eng_job_wait(T.w, b_read, NULL, 3000), 0, "the inbox was not read");
	struct sh_bus_stats s;
	sh_bus_stats(T.b, &s);
	cr_expect_eq(s.expired, 1);
	cr_expect_eq(T.handled, 0, "a request past its deadline was handled");
}

static void job_refused(void *arg)
{
	(void)arg;
	static char big[SH_BUS_DATA_MAX + 1];
	T.rc = sh_bus_request(T.a, "node-b", 1, "echo", big, sizeof(big), 100, replied, NULL);
	cr_expect_eq(T.rc, -EMSGSIZE);
	T.rc = sh_bus_request(T.a, "bad node", 1, "echo", "", 0, 100, replied, NULL);
	cr_expect_eq(T.rc, -EINVAL);
	T.rc = sh_bus_request(T.a, "node-b", 1, "bad kind", "", 0, 100, replied, NULL);
	cr_expect_eq(T.rc, -EINVAL);
}

Test(sh_bus, what_cannot_go_is_refused_at_once)
{
	cr_assert_eq(eng_job_run(T.w, job_refused, NULL), 0);
	struct sh_bus_stats s;
	sh_bus_stats(T.a, &s);
	cr_expect(s.refused == 1 && s.sent == 0, "refused %llu", (unsigned long long)s.refused);
}

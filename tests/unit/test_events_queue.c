/* test_events_queue.c — the inside of api/api_events.c, included to reach its static
 * functions: the multi-producer queue (order, wrap-around, contention), the back-off, the
 * checks of api_event_publish(), timestamps and where a Last-Event-ID resumes. */
#include <criterion/criterion.h>

#include "api/api_events.c"

/* A queue of <cap> cells without the rest of the API. */
static void queue_up(uint64_t cap)
{
	q.cells = calloc(cap, sizeof(*q.cells));
	cr_assert(q.cells);
	for (uint64_t i = 0; i < cap; i++)
		atomic_init(&q.cells[i].seq, i);
	q.mask = cap - 1;
	q.tail = 0;
	atomic_store(&q.head, 0);
}

static void queue_down(void)
{
	for (json_t *j; (j = q_pop());)
		json_decref(j);
	free(q.cells);
	q.cells = NULL;
}

Test(events_queue, order_and_wrap_around)
{
	queue_up(16);
	for (int round = 0; round < 5; round++) {
		for (int i = 0; i < 16; i++)
			cr_assert_eq(q_push(json_integer(round * 100 + i)), 0);
		json_t *extra = json_integer(-1);
		cr_expect_eq(q_push(extra), -EAGAIN, "a 17th event in 16 cells");
		json_decref(extra);
		for (int i = 0; i < 16; i++) {
			json_t *j = q_pop();
			cr_assert(j);
			cr_expect_eq(json_integer_value(j), round * 100 + i);
			json_decref(j);
		}
		cr_expect_null(q_pop());
	}
	queue_down();
}

#define PRODUCERS 4
#define PER_PRODUCER 20000

static void *producer(void *arg)
{
	int base = (int)(intptr_t)arg * PER_PRODUCER;
	for (int i = 0; i < PER_PRODUCER; i++) {
		json_t *j = json_integer(base + i);
		while (q_push(j) < 0)
			sched_yield();
	}
	return NULL;
}

Test(events_queue, producers_at_once, .timeout = 30)
{
	pthread_t t[PRODUCERS];
	int last[PRODUCERS];
	int got = 0;

	queue_up(64);
	for (int i = 0; i < PRODUCERS; i++) {
		last[i] = -1;
		pthread_create(&t[i], NULL, producer, (void *)(intptr_t)i);
	}
	while (got < PRODUCERS * PER_PRODUCER) {
		json_t *j = q_pop();
		if (!j) {
			sched_yield();
			continue;
		}
		int v = (int)json_integer_value(j);
		int p = v / PER_PRODUCER;
		/* each producer's events come out in the order it put them in */
		cr_assert_eq(v % PER_PRODUCER, last[p] + 1, "producer %d: %d after %d", p,
			     v % PER_PRODUCER, last[p]);
		last[p]++;
		json_decref(j);
		got++;
	}
	for (int i = 0; i < PRODUCERS; i++)
		pthread_join(t[i], NULL);
	cr_expect_null(q_pop());
	queue_down();
}

Test(events_queue, backoff_doubles_capped_with_jitter)
{
	ev.rnd = 0x9e3779b97f4a7c15ull;
	for (int k = 0; k < 200; k++) {
		for (unsigned a = 1; a <= 12; a++) {
			uint64_t nominal = (uint64_t)API_WEBHOOK_BACKOFF_MS << (a - 1);
			if (nominal > API_WEBHOOK_BACKOFF_MAX_MS)
				nominal = API_WEBHOOK_BACKOFF_MAX_MS;
			uint64_t d = backoff_ms(a);
			cr_assert(d >= nominal * 8 / 10 && d <= nominal * 12 / 10,
				  "attempt %u: %llu ms", a, (unsigned long long)d);
		}
	}
	/* the jitter spreads */
	uint64_t lo = UINT64_MAX, hi = 0;
	for (int k = 0; k < 200; k++) {
		uint64_t d = backoff_ms(1);
		lo = d < lo ? d : lo;
		hi = d > hi ? d : hi;
	}
	cr_expect_gt(hi - lo, 200);
}

Test(events_queue, publish_refuses_bad_events_and_stopped_api)
{
	cr_expect_eq(api_event_publish(json_pack("{s:s}", "type", "")), -EINVAL);
	cr_expect_eq(api_event_publish(json_pack("{s:s}", "type", "a\rb")), -EINVAL);
	cr_expect_eq(api_event_publish(json_pack("{s:s,s:i}", "type", "a", "timestamp", 3)),
		     -EINVAL);
	cr_expect_eq(api_event_publish(json_pack("{s:s}", "type", "fine")), -ENOTCONN);
	cr_expect_eq(CNT_GET(dropped), 1);
	cr_expect_eq(atomic_load(&q.users), 0);
}

Test(events_queue, rfc3339_timestamps)
{
	char ts[40];
	unsigned Y, M, D, h, m, s, ms;
	char z = 0;

	cm_rfc3339_ms(cm_wall_ms(), ts, sizeof(ts));
	cr_expect_eq(strlen(ts), 24, "%s", ts);
	cr_expect_eq(sscanf(ts, "%4u-%2u-%2uT%2u:%2u:%2u.%3u%c", &Y, &M, &D, &h, &m, &s, &ms, &z),
		     8, "%s", ts);
	cr_expect_eq(z, 'Z');
	cr_expect(Y >= 2024 && M >= 1 && M <= 12 && D >= 1 && D <= 31 && h < 24 && m < 60);
}

Test(events_queue, last_event_id_positions)
{
	ev.id_base = 1000000;
	ev.last_pos = 10;
	cr_expect_eq(sse_start_pos(NULL), 11, "no header: live");
	cr_expect_eq(sse_start_pos("1000003"), 4, "after event 3");
	cr_expect_eq(sse_start_pos("1000010"), 11, "after the newest: live");
	cr_expect_eq(sse_start_pos("1000099"), 11, "from the future: live");
	cr_expect_eq(sse_start_pos("42"), 1, "an earlier run: the whole ring");
	cr_expect_eq(sse_start_pos("x1"), 11, "junk: live");
	cr_expect_eq(sse_start_pos("-5"), 11);
	cr_expect_eq(sse_start_pos(""), 11);
	ev.last_pos = 1000;
	cr_expect_eq(ring_oldest(), 1000 - API_EVENTS_RING + 1);
	cr_expect_eq(sse_start_pos("1000003"), ring_oldest(), "older than the ring: all of it");
	cr_expect_eq(sse_start_pos("1000900"), 901);
}

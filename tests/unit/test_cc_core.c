/* test_cc_core.c — the contact centre's rules (callcenter/cc_core.c) with simulated agents
 * and customers, time given by the test: both chat policies, calls to the agent idle
 * longest, a chat in wrap-up holding its slot, an agent that does not answer, an agent who
 * logs out mid-chat, a customer who hangs up while queued, max_wait, external dispatch,
 * priorities, and the counters adding up. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "callcenter/cc_core.h"

/* What the centre asked for, in order. */
static struct rec {
	char log[64][96];
	unsigned n;
	unsigned events[8]; /* by type: agent, queued, dispatched, abandoned */
} R;

static void r_add(const char *fmt, const char *a, uint64_t id, const char *b)
{
	if (R.n < 64)
		snprintf(R.log[R.n++], sizeof(R.log[0]), fmt, a, (unsigned long long)id, b);
}

static void on_offer(void *arg, uint64_t id, enum cc_kind kind, const char *customer,
		     const char *agent, const char *location)
{
	(void)arg;
	(void)customer;
	(void)location;
	r_add("offer %s %llu %s", kind == CC_CHAT ? "chat" : "call", id, agent);
}

static void on_dropped(void *arg, uint64_t id, const char *reason)
{
	(void)arg;
	r_add("%sdropped %llu %s", "", id, reason);
}

static void on_recalled(void *arg, uint64_t id, const char *agent)
{
	(void)arg;
	r_add("%srecalled %llu %s", "", id, agent);
}

static void on_event(void *arg, json_t *ev)
{
	(void)arg;
	const char *t = json_string_value(json_object_get(ev, "type"));
	const char *types[] = { "cc.agent", "cc.queued", "cc.dispatched", "cc.abandoned" };
	for (unsigned i = 0; t && i < 4; i++)
		R.events[i] += !strcmp(t, types[i]);
	json_decref(ev);
}

static struct cc_center *C;

static void setup(void)
{
	memset(&R, 0, sizeof(R));
	struct cc_ops ops = { .offer = on_offer, .dropped = on_dropped, .recalled = on_recalled,
			      .event = on_event };
	C = cc_new(&ops);
	cr_assert(C);
}

static void teardown(void)
{
	cc_free(C);
}

TestSuite(cc_core, .init = setup, .fini = teardown);

static void flow(const char *id, const char *skill, int prio, enum cc_policy p,
		 enum cc_dispatch d, uint32_t max_wait_s)
{
	struct cc_flow_cfg f = { .priority = prio, .policy = p, .dispatch = d,
				 .max_wait_s = max_wait_s };
	snprintf(f.id, sizeof(f.id), "%s", id);
	snprintf(f.skill, sizeof(f.skill), "%s", skill);
	cr_assert_eq(cc_flow_set(C, &f, 0), 0);
}

static void agent(const char *id, const char *skill, unsigned max_chats, uint32_t wrapup_s,
		  int voice, uint64_t now)
{
	struct cc_agent_cfg a = { .nskills = 1, .max_chats = max_chats, .wrapup_s = wrapup_s };
	snprintf(a.id, sizeof(a.id), "%s", id);
	snprintf(a.skills[0], sizeof(a.skills[0]), "%s", skill);
	snprintf(a.chat, sizeof(a.chat), "msrp://agents.test/%s", id);
	if (voice)
		snprintf(a.voice, sizeof(a.voice), "sip:%s@agents.test", id);
	cr_assert_eq(cc_agent_set(C, &a, now), 0);
	cr_assert_eq(cc_agent_login(C, id, now), 0);
}

/* The last record, or "". */
static const char *last(void)
{
	return R.n ? R.log[R.n - 1] : "";
}

static const char *state_of(const char *id)
{
	static char s[16];
	json_t *j = cc_agent_json(C, id, 0);
	snprintf(s, sizeof(s), "%s", json_string_value(json_object_get(j, "state")));
	json_decref(j);
	return s;
}

Test(cc_core, balancing_spreads_chats)
{
	flow("sales", "sales", 0, CC_BALANCING, CC_INTERNAL, 0);
	agent("a1", "sales", 4, 0, 0, 0);
	agent("a2", "sales", 4, 0, 0, 0);
	int64_t ids[4];
	for (int i = 0; i < 4; i++) {
		ids[i] = cc_enqueue(C, "sales", CC_CHAT, "sip:c@x", 10 + i);
		cr_assert_gt(ids[i], 0);
	}
	cr_expect_str_eq(R.log[0], "offer chat 1 a1");
	cr_expect_str_eq(R.log[1], "offer chat 2 a2");
	cr_expect_str_eq(R.log[2], "offer chat 3 a1");
	cr_expect_str_eq(R.log[3], "offer chat 4 a2");
	for (int i = 0; i < 4; i++)
		cr_assert_eq(cc_answered(C, (uint64_t)ids[i], i % 2 ? "a2" : "a1", 20), 0);
	cr_expect_eq(cc_answered(C, (uint64_t)ids[0], "a1", 21), -EINVAL, "answered already");
	cr_expect_str_eq(state_of("a1"), "inchat");
	json_t *j = cc_agent_json(C, "a2", 20);
	cr_expect_eq(json_integer_value(json_object_get(j, "chats")), 2);
	json_decref(j);
}

Test(cc_core, full_load_fills_an_agent_first)
{
	flow("sales", "sales", 0, CC_FULL_LOAD, CC_INTERNAL, 0);
	agent("a1", "sales", 3, 0, 0, 0);
	agent("a2", "sales", 3, 0, 0, 0);
	for (int i = 0; i < 4; i++)
		cc_enqueue(C, "sales", CC_CHAT, "sip:c@x", 10);
	cr_expect_str_eq(R.log[0], "offer chat 1 a1");
	cr_expect_str_eq(R.log[1], "offer chat 2 a1");
	cr_expect_str_eq(R.log[2], "offer chat 3 a1");
	cr_expect_str_eq(R.log[3], "offer chat 4 a2");
}

Test(cc_core, calls_take_the_whole_agent_and_go_to_the_one_idle_longest)
{
	flow("support", "support", 0, CC_BALANCING, CC_INTERNAL, 0);
	agent("a1", "support", 4, 0, 1, 100); /* idle since 100 */
	agent("a2", "support", 4, 0, 1, 50);  /* idle since 50: longest */
	int64_t call = cc_enqueue(C, "support", CC_CALL, "sip:caller@x", 200);
	cr_expect_str_eq(last(), "offer call 1 a2");
	cr_assert_eq(cc_answered(C, (uint64_t)call, "a2", 210), 0);
	cr_expect_str_eq(state_of("a2"), "incall");
	/* a chat cannot go to an agent in a call; a call not to one with a chat */
	int64_t chat = cc_enqueue(C, "support", CC_CHAT, "sip:c@x", 220);
	cr_expect_str_eq(last(), "offer chat 2 a1");
	cr_assert_eq(cc_answered(C, (uint64_t)chat, "a1", 221), 0);
	unsigned before = R.n;
	int64_t call2 = cc_enqueue(C, "support", CC_CALL, "sip:caller2@x", 230);
	cr_expect_eq(R.n, before, "nobody can take a call now: %s", last());
	/* a2's call ends (no wrap-up): the waiting call goes to it */
	cr_assert_eq(cc_ended(C, (uint64_t)call, 240), 0);
	cr_expect_str_eq(last(), "offer call 3 a2");
	cr_expect_eq(call2, 3);
}

Test(cc_core, a_chat_in_wrapup_holds_its_slot)
{
	flow("sales", "sales", 0, CC_BALANCING, CC_INTERNAL, 0);
	agent("a1", "sales", 1, 5, 0, 0);
	int64_t c1 = cc_enqueue(C, "sales", CC_CHAT, "sip:c1@x", 10);
	cc_answered(C, (uint64_t)c1, "a1", 11);
	int64_t c2 = cc_enqueue(C, "sales", CC_CHAT, "sip:c2@x", 12);
	cr_expect_str_eq(last(), "offer chat 1 a1", "c2 waits: the only slot is taken");
	cc_ended(C, (uint64_t)c1, 1000);
	cr_expect_str_eq(state_of("a1"), "wrapup");
	cr_expect_str_eq(last(), "offer chat 1 a1", "c2 waits: the slot is in wrap-up");
	uint64_t due = cc_tick(C, 3000);
	cr_expect_eq(due, 3000, "wrap-up ends in 3 s: %llu", (unsigned long long)due);
	cc_tick(C, 6000);
	cr_expect_str_eq(last(), "offer chat 2 a1");
	cr_expect_eq(c2, 2);
}

Test(cc_core, an_agent_that_does_not_answer_is_skipped)
{
	flow("sales", "sales", 0, CC_BALANCING, CC_INTERNAL, 0);
	agent("a1", "sales", 4, 0, 0, 0);
	agent("a2", "sales", 4, 0, 0, 5);
	int64_t id = cc_enqueue(C, "sales", CC_CHAT, "sip:c@x", 10);
	cr_expect_str_eq(last(), "offer chat 1 a1");
	cr_expect_eq(cc_refused(C, (uint64_t)id, "a2", 15), -EINVAL, "not a2's");
	cr_assert_eq(cc_refused(C, (uint64_t)id, "a1", 20), 0);
	cr_expect_str_eq(last(), "offer chat 1 a2");
	/* a2 does not answer either: every agent had it, a new round begins with a1 — after a
	 * pause (no loop of offers to agents that refuse at once) */
	cr_assert_eq(cc_refused(C, (uint64_t)id, "a2", 30), 0);
	cr_expect_str_eq(last(), "offer chat 1 a2", "no offer yet");
	uint64_t due = cc_tick(C, 31);
	cr_expect_eq(due, CC_ROUND_PAUSE_MS - 1, "the next round in %llu ms", (unsigned long long)due);
	cc_tick(C, 30 + CC_ROUND_PAUSE_MS);
	cr_expect_str_eq(last(), "offer chat 1 a1");
	cr_expect_eq(cc_answered(C, (uint64_t)id, "a2", 2041), -EINVAL, "withdrawn from a2");
	cr_assert_eq(cc_answered(C, (uint64_t)id, "a1", 2042), 0);
	json_t *q = cc_queue_json(C, 2043);
	cr_expect_eq(json_array_size(q), 0);
	json_decref(q);
}

Test(cc_core, a_chat_handed_back_waits_anew_for_max_wait)
{
	flow("sales", "sales", 0, CC_BALANCING, CC_INTERNAL, 120);
	agent("a1", "sales", 4, 0, 0, 0);
	int64_t id = cc_enqueue(C, "sales", CC_CHAT, "sip:c@x", 1000);
	cc_answered(C, (uint64_t)id, "a1", 1500);
	cr_assert_eq(cc_agent_logout(C, "a1", 600000), 0); /* 10 minutes later, nobody free */
	cc_tick(C, 600001);
	json_t *q = cc_queue_json(C, 600001);
	cr_expect_eq(json_array_size(q), 1, "still waiting: its wait starts again");
	json_decref(q);
	cc_tick(C, 600000 + 120000);
	cr_expect_str_eq(last(), "dropped 1 max_wait");
}

Test(cc_core, an_offer_withdrawn_at_logout_is_recalled)
{
	flow("support", "support", 0, CC_BALANCING, CC_INTERNAL, 0);
	agent("a1", "support", 4, 0, 1, 0);
	int64_t call = cc_enqueue(C, "support", CC_CALL, "sip:caller@x", 10);
	cr_expect_str_eq(last(), "offer call 1 a1");
	agent("a2", "support", 4, 0, 1, 20);
	cr_assert_eq(cc_agent_logout(C, "a1", 30), 0);
	cr_expect_str_eq(R.log[R.n - 2], "recalled 1 a1");
	cr_expect_str_eq(last(), "offer call 1 a2");
	cr_expect_eq(cc_answered(C, (uint64_t)call, "a1", 31), -EINVAL, "a1's late pick-up");
	cr_assert_eq(cc_answered(C, (uint64_t)call, "a2", 32), 0);
	cr_expect_str_eq(state_of("a2"), "incall");
	cr_expect_str_eq(state_of("a1"), "offline");
}

Test(cc_core, an_agent_logging_out_mid_chat_hands_it_on)
{
	flow("sales", "sales", 0, CC_BALANCING, CC_INTERNAL, 0);
	agent("a1", "sales", 4, 0, 0, 0);
	int64_t id = cc_enqueue(C, "sales", CC_CHAT, "sip:c@x", 10);
	cc_answered(C, (uint64_t)id, "a1", 11);
	int64_t later = cc_enqueue(C, "sales", CC_CHAT, "sip:c2@x", 12);
	cc_answered(C, (uint64_t)later, "a1", 13);
	agent("a2", "sales", 1, 0, 0, 20);
	cr_assert_eq(cc_agent_logout(C, "a1", 30), 0);
	/* both recalled; the one that came first goes first to the only free slot */
	cr_expect_str_eq(R.log[2], "recalled 1 a1");
	cr_expect_str_eq(R.log[3], "recalled 2 a1");
	cr_expect_str_eq(R.log[4], "offer chat 1 a2");
	cr_expect_eq(R.n, 5, "the second waits: %s", last());
	cr_expect_str_eq(state_of("a1"), "offline");
	cr_expect_eq(cc_agent_del(C, "a2", 31), -EBUSY, "logged in");
	cr_expect_eq(cc_agent_del(C, "a1", 31), 0);
	cr_expect_eq(cc_agent_login(C, "a1", 32), -ENOENT);
}

Test(cc_core, a_customer_who_hangs_up_while_queued_is_abandoned)
{
	flow("sales", "sales", 0, CC_BALANCING, CC_INTERNAL, 0);
	int64_t id = cc_enqueue(C, "sales", CC_CHAT, "sip:c@x", 10);
	cr_assert_eq(cc_abandon(C, (uint64_t)id, 500), 0);
	cr_expect_str_eq(last(), "dropped 1 customer_gone");
	cr_expect_eq(R.events[3], 1, "cc.abandoned");
	cr_expect_eq(cc_abandon(C, (uint64_t)id, 501), -ENOENT);
	struct cc_stats st;
	cc_stats(C, &st);
	cr_expect_eq(st.abandoned, 1);
	cr_expect_eq(st.waiting, 0);
}

Test(cc_core, max_wait_ends_the_wait)
{
	flow("sales", "sales", 0, CC_BALANCING, CC_INTERNAL, 2);
	cc_enqueue(C, "sales", CC_CHAT, "sip:c@x", 1000);
	cr_expect_eq(cc_tick(C, 2000), 1000);
	cc_tick(C, 3000);
	cr_expect_str_eq(last(), "dropped 1 max_wait");
	struct cc_stats st;
	cc_stats(C, &st);
	cr_expect_eq(st.timed_out, 1);
}

Test(cc_core, external_dispatch_waits_for_the_application)
{
	flow("vip", "vip", 0, CC_BALANCING, CC_EXTERNAL, 0);
	agent("a1", "vip", 4, 0, 0, 0);
	agent("b1", "other", 4, 0, 0, 0);
	int64_t id = cc_enqueue(C, "vip", CC_CHAT, "sip:c@x", 10);
	cr_expect_eq(R.n, 0, "not offered by itself: %s", last());
	cr_expect_eq(cc_dispatch_to(C, (uint64_t)id, "b1", 20), -EBUSY, "not its skill");
	cr_expect_eq(cc_dispatch_to(C, (uint64_t)id, "nobody", 20), -ENOENT);
	cr_expect_eq(cc_dispatch_to(C, (uint64_t)id, "a1", 20), 0);
	cr_expect_str_eq(last(), "offer chat 1 a1");
	cr_expect_eq(cc_dispatch_to(C, (uint64_t)id, "a1", 21), -EINVAL, "not waiting any more");
}

Test(cc_core, priority_then_arrival)
{
	flow("low", "s", 1, CC_BALANCING, CC_INTERNAL, 0);
	flow("high", "s", 5, CC_BALANCING, CC_INTERNAL, 0);
	cc_enqueue(C, "low", CC_CHAT, "sip:l1@x", 10);
	cc_enqueue(C, "low", CC_CHAT, "sip:l2@x", 11);
	cc_enqueue(C, "high", CC_CHAT, "sip:h1@x", 12);
	json_t *q = cc_queue_json(C, 20);
	cr_assert_eq(json_array_size(q), 3);
	cr_expect_eq(json_integer_value(json_object_get(json_array_get(q, 0), "id")), 3);
	cr_expect_eq(json_integer_value(json_object_get(json_array_get(q, 1), "id")), 1);
	json_decref(q);
	agent("a1", "s", 1, 0, 0, 30);
	cr_expect_str_eq(last(), "offer chat 3 a1");
}

Test(cc_core, bad_values_and_counters)
{
	struct cc_flow_cfg f = { 0 };
	cr_expect_eq(cc_flow_set(C, &f, 0), -EINVAL, "no id");
	snprintf(f.id, sizeof(f.id), "a b");
	snprintf(f.skill, sizeof(f.skill), "s");
	cr_expect_eq(cc_flow_set(C, &f, 0), -EINVAL, "a blank in the id");
	struct cc_agent_cfg a = { .max_chats = 65 };
	snprintf(a.id, sizeof(a.id), "a1");
	cr_expect_eq(cc_agent_set(C, &a, 0), -EINVAL, "max_chats above 64");
	cr_expect_eq(cc_enqueue(C, "none", CC_CHAT, "sip:c@x", 0), -ENOENT);
	flow("sales", "sales", 0, CC_BALANCING, CC_INTERNAL, 0);
	agent("a1", "sales", 2, 0, 0, 0);
	int64_t x = cc_enqueue(C, "sales", CC_CHAT, "sip:c@x", 1);
	int64_t y = cc_enqueue(C, "sales", CC_CHAT, "sip:d@x", 2);
	cc_answered(C, (uint64_t)x, "a1", 3);
	cc_refused(C, (uint64_t)y, "a1", 4);
	cc_ended(C, (uint64_t)x, 5);
	int64_t z = cc_enqueue(C, "sales", CC_CHAT, "sip:e@x", 6);
	cr_assert_eq(cc_flow_del(C, "sales", 7), 0);
	struct cc_stats st;
	cc_stats(C, &st);
	cr_expect_eq(st.queued, 3);
	cr_expect_eq(st.answered, 1);
	cr_expect_eq(st.refused, 1);
	cr_expect_eq(st.ended, 1);
	cr_expect_eq(st.abandoned, 2, "y and z: their flow went");
	cr_expect_eq(st.waiting, 0);
	cr_expect_str_eq(state_of("a1"), "free");
	(void)z;
}

/* ---- a day in the centre: 1 000 chats and 200 calls over 5 minutes across 50 agents ---- */

#define SIM_ITEMS 1200
enum { ACT_NONE, ACT_ANSWER, ACT_REFUSE, ACT_END, ACT_HANGUP };
static struct {
	uint64_t due[SIM_ITEMS + 1];
	int act[SIM_ITEMS + 1];
	int kind[SIM_ITEMS + 1];
	char agent[SIM_ITEMS + 1][CC_ID_MAX + 1];
	uint64_t now;
	uint32_t rnd;
	unsigned offers, recalls, recalls_active, drops;
} S;

static uint32_t sim_rand(void)
{
	S.rnd ^= S.rnd << 13;
	S.rnd ^= S.rnd >> 17;
	S.rnd ^= S.rnd << 5;
	return S.rnd;
}

static void sim_offer(void *arg, uint64_t id, enum cc_kind kind, const char *customer,
		      const char *agent, const char *location)
{
	(void)arg;
	(void)customer;
	(void)location;
	cr_assert(id <= SIM_ITEMS);
	S.offers++;
	S.kind[id] = kind;
	snprintf(S.agent[id], sizeof(S.agent[id]), "%s", agent);
	/* one offer in ten is not answered (after 1 s), the others are (after 0.5 s) */
	S.act[id] = sim_rand() % 10 == 0 ? ACT_REFUSE : ACT_ANSWER;
	S.due[id] = S.now + (S.act[id] == ACT_REFUSE ? 1000 : 500);
}

static void sim_dropped(void *arg, uint64_t id, const char *reason)
{
	(void)arg;
	(void)reason;
	S.drops++;
	S.act[id] = ACT_NONE;
}

static void sim_recalled(void *arg, uint64_t id, const char *agent)
{
	(void)arg;
	(void)agent;
	S.recalls++;
	S.recalls_active += S.act[id] == ACT_END; /* (taken, not only offered) */
	S.act[id] = ACT_NONE; /* it waits again: the next offer schedules it */
}

static void sim_event(void *arg, json_t *ev)
{
	(void)arg;
	json_decref(ev);
}

Test(cc_core, a_day_of_chats_and_calls_leaves_every_agent_free_and_every_item_counted,
     .timeout = 60)
{
	struct cc_ops ops = { .offer = sim_offer, .dropped = sim_dropped, .recalled = sim_recalled,
			      .event = sim_event };
	struct cc_center *c = cc_new(&ops);
	cr_assert(c);
	memset(&S, 0, sizeof(S));
	S.rnd = 2463534242u;
	struct cc_flow_cfg fc = { .id = "chat", .skill = "chat", .max_wait_s = 120 };
	struct cc_flow_cfg fv = { .id = "voice", .skill = "voice", .priority = 1,
				  .max_wait_s = 180 };
	cr_assert_eq(cc_flow_set(c, &fc, 0), 0);
	cr_assert_eq(cc_flow_set(c, &fv, 0), 0);
	for (int i = 0; i < 50; i++) {
		struct cc_agent_cfg a = { .nskills = 1, .wrapup_s = 2 };
		snprintf(a.id, sizeof(a.id), "agent%02d", i);
		snprintf(a.skills[0], sizeof(a.skills[0]), "chat");
		snprintf(a.chat, sizeof(a.chat), "msrp://agents.test/%d", i);
		if (i < 20) { /* twenty take calls too */
			snprintf(a.skills[a.nskills++], sizeof(a.skills[0]), "voice");
			snprintf(a.voice, sizeof(a.voice), "sip:agent%02d@agents.test", i);
		}
		cr_assert_eq(cc_agent_set(c, &a, 0), 0);
		cr_assert_eq(cc_agent_login(c, a.id, 0), 0);
	}
	/* arrivals spread over 300 s */
	uint64_t arrive[SIM_ITEMS];
	int akind[SIM_ITEMS];
	for (int i = 0; i < SIM_ITEMS; i++) {
		arrive[i] = sim_rand() % 300000;
		akind[i] = i < 1000 ? CC_CHAT : CC_CALL;
	}
	unsigned arrived = 0;
	for (S.now = 0; S.now <= 1200000; S.now += 100) {
		for (int i = 0; i < SIM_ITEMS; i++)
			if (arrive[i] >= S.now && arrive[i] < S.now + 100) {
				int64_t id = cc_enqueue(c, akind[i] == CC_CALL ? "voice" : "chat",
							(enum cc_kind)akind[i], "sip:customer@x",
							S.now);
				cr_assert_gt(id, 0);
				arrived++;
				/* one customer in twenty hangs up if still waiting after 20 s */
				if (sim_rand() % 20 == 0 && S.act[id] == ACT_NONE) {
					S.act[id] = ACT_HANGUP;
					S.due[id] = S.now + 20000;
				}
			}
		/* five agents log out at 100 s and back in at 150 s */
		if (S.now == 100000 || S.now == 150000)
			for (int i = 45; i < 50; i++) {
				char id[24];
				snprintf(id, sizeof(id), "agent%02d", i);
				if (S.now == 100000)
					cr_assert_eq(cc_agent_logout(c, id, S.now), 0);
				else
					cr_assert_eq(cc_agent_login(c, id, S.now), 0);
			}
		for (uint64_t id = 1; id <= SIM_ITEMS; id++) {
			if (S.act[id] == ACT_NONE || S.due[id] > S.now)
				continue;
			int act = S.act[id];
			S.act[id] = ACT_NONE;
			switch (act) {
			case ACT_ANSWER:
				cr_assert_eq(cc_answered(c, id, S.agent[id], S.now), 0, "item %llu",
					     (unsigned long long)id);
				S.act[id] = ACT_END;
				S.due[id] = S.now + (S.kind[id] == CC_CALL ? 10000 + sim_rand() % 110000
									   : 5000 + sim_rand() % 55000);
				break;
			case ACT_REFUSE:
				cr_assert_eq(cc_refused(c, id, S.agent[id], S.now), 0);
				break;
			case ACT_END:
				cr_assert_eq(cc_ended(c, id, S.now), 0);
				break;
			case ACT_HANGUP: /* (taken meanwhile: its chat or call ends) */
				cr_assert_eq(cc_abandon(c, id, S.now), 0);
				break;
			}
		}
		cc_tick(c, S.now);
	}
	cr_assert_eq(arrived, SIM_ITEMS);
	struct cc_stats st;
	cc_stats(c, &st);
	cr_expect_eq(st.waiting, 0);
	cr_expect_eq(st.agents_free, 50, "every agent free again: %u free, %u busy, %u offline",
		     st.agents_free, st.agents_busy, st.agents_offline);
	cr_expect_eq(st.queued, SIM_ITEMS);
	cr_expect_eq(st.queued, st.ended + st.abandoned, "%llu queued, %llu ended, %llu abandoned",
		     (unsigned long long)st.queued, (unsigned long long)st.ended,
		     (unsigned long long)st.abandoned);
	cr_expect_geq(st.dispatched, st.answered + st.refused, "every answer or refusal was of an "
		      "offer");
	cr_expect_eq(st.answered, st.ended + S.recalls_active, "every chat or call taken ended, or was "
		     "taken back from an agent who logged out (and taken again)");
	cr_expect_geq(st.refused, 1);
	cr_expect_geq(S.recalls, 1, "agents logged out mid-chat");
	json_t *q = cc_queue_json(c, S.now);
	cr_expect_eq(json_array_size(q), 0);
	json_decref(q);
	json_t *ag = cc_agents_json(c, S.now);
	size_t i;
	json_t *a;
	json_array_foreach(ag, i, a)
		cr_expect_eq(json_array_size(json_object_get(a, "items")), 0, "%s holds items",
			     json_string_value(json_object_get(a, "id")));
	json_decref(ag);
	cc_free(c);
}

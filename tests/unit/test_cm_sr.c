/* test_cm_sr.c — the status and reports table: changes and their reports, the hook, probes,
 * the ring of reports, readiness, names, and writers on several threads. */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "common/cm_sr.h"

static void init(void)
{
	cm_sr_reset();
	cm_log_setup(CM_LOG_ERROR, 0, 0); /* changes and reports are logged too */
}

TestSuite(cm_sr, .init = init, .fini = cm_sr_reset);

static struct {
	int calls;
	char group[CM_SR_NAME_MAX];
	enum cm_sr_state from, to;
	char details[CM_SR_TEXT_MAX];
} seen;

static void hook(const char *group, enum cm_sr_state from, enum cm_sr_state to,
		 const char *details, void *arg)
{
	cr_expect_eq(arg, &seen);
	seen.calls++;
	snprintf(seen.group, sizeof(seen.group), "%s", group);
	seen.from = from;
	seen.to = to;
	snprintf(seen.details, sizeof(seen.details), "%s", details);
}

static int reports(const char *group, struct cm_sr_report *out)
{
	return cm_sr_reports(group, 0, out, CM_SR_REPORTS);
}

Test(cm_sr, changes_are_reported_and_hooked_details_alone_are_not)
{
	struct cm_sr_report r[CM_SR_REPORTS];
	struct cm_sr_status st;

	cm_sr_on_change(hook, &seen);
	cr_assert_eq(cm_sr_set("redis", CM_SR_READY, "connected to %s", "a:1"), 0);
	cr_expect_eq(seen.calls, 0, "a first status is no change");

	cr_assert_eq(cm_sr_set("redis", CM_SR_READY, "connected to %s", "b:2"), 0);
	cr_expect_eq(seen.calls, 0, "same state: no change");
	cr_assert_eq(cm_sr_get("redis", &st), 0);
	cr_expect_str_eq(st.details, "connected to b:2", "but the details are new");
	cr_expect_eq(st.changes, 1);

	cr_assert_eq(cm_sr_set("redis", CM_SR_DEGRADED, "lost"), 0);
	cr_expect_eq(seen.calls, 1);
	cr_expect_eq(seen.from, CM_SR_READY);
	cr_expect_eq(seen.to, CM_SR_DEGRADED);
	cr_expect_str_eq(seen.details, "lost");
	cr_expect_str_eq(seen.group, "redis");
	cr_assert_eq(cm_sr_get("redis", &st), 0);
	cr_expect_eq(st.state, CM_SR_DEGRADED);
	cr_expect_eq(st.changes, 2);
	cr_expect_gt(st.since_ms, 1700000000000ull, "wall clock");

	cr_assert_eq(reports("redis", r), 2);
	cr_expect_str_eq(r[0].text, "ready: connected to a:1");
	cr_expect_eq(r[0].level, CM_LOG_INFO);
	cr_expect_str_eq(r[1].text, "ready -> degraded: lost");
	cr_expect_eq(r[1].level, CM_LOG_WARN);
	cr_expect_lt(r[0].seq, r[1].seq);

	/* a first status that is "not ready" is reported, with no hook call (no change) */
	cr_assert_eq(cm_sr_set("diameter", CM_SR_NOT_READY, NULL), 0);
	cr_expect_eq(seen.calls, 1);
	cr_assert_eq(reports("diameter", r), 1);
	cr_expect_str_eq(r[0].text, "not_ready");
	cr_expect_eq(cm_sr_get("nope", &st), -ENOENT);
	cr_expect_eq(cm_sr_reports("nope", 0, r, 1), -ENOENT);
}

Test(cm_sr, the_ring_keeps_the_newest_and_after_and_max_select)
{
	struct cm_sr_report r[CM_SR_REPORTS];
	char want[32];

	for (int i = 0; i < CM_SR_REPORTS * 2 + 5; i++)
		cr_assert_eq(cm_sr_report("cc", CM_LOG_INFO, "n%d", i), 0);
	cr_assert_eq(reports("cc", r), CM_SR_REPORTS);
	snprintf(want, sizeof(want), "n%d", CM_SR_REPORTS + 5);
	cr_expect_str_eq(r[0].text, want, "the oldest kept");
	snprintf(want, sizeof(want), "n%d", CM_SR_REPORTS * 2 + 4);
	cr_expect_str_eq(r[CM_SR_REPORTS - 1].text, want, "the newest last");
	for (int i = 1; i < CM_SR_REPORTS; i++)
		cr_expect_eq(r[i].seq, r[i - 1].seq + 1);

	uint64_t after = r[CM_SR_REPORTS - 4].seq;
	cr_assert_eq(cm_sr_reports("cc", after, r, CM_SR_REPORTS), 3, "those after <after>");
	cr_expect_eq(r[0].seq, after + 1);
	cr_assert_eq(cm_sr_reports("cc", 0, r, 2), 2, "at most <max>: the newest");
	cr_expect_str_eq(r[1].text, want);
	cr_expect_eq(cm_sr_reports("cc", 0, r, 0), 0);

	/* a long text is cut, not refused */
	char big[CM_SR_TEXT_MAX * 2];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	cr_assert_eq(cm_sr_report("cc", CM_LOG_ERROR, "%s", big), 0);
	cr_assert_eq(cm_sr_reports("cc", 0, r, 1), 1);
	cr_expect_eq(strlen(r[0].text), CM_SR_TEXT_MAX - 1);
	cr_expect_eq(r[0].level, CM_LOG_ERROR);
}

static int probe_calls;

static enum cm_sr_state probe(void *arg, char *details, size_t len)
{
	probe_calls++;
	snprintf(details, len, "%d open", *(int *)arg);
	return *(int *)arg ? CM_SR_READY : CM_SR_NOT_READY;
}

Test(cm_sr, probes_are_polled_and_readiness_ignores_degraded_and_disabled)
{
	int open = 0;
	struct cm_sr_status st;

	cm_sr_on_change(hook, &seen);
	cr_assert_eq(cm_sr_probe("diameter", probe, &open), 0);
	cr_expect_eq(cm_sr_get("diameter", &st), 0, "made when the probe is set");
	cr_expect_eq(st.state, CM_SR_NOT_READY);
	cm_sr_poll();
	cr_expect_eq(probe_calls, 1);
	cr_expect_eq(cm_sr_ready(), 0);
	cr_assert_eq(cm_sr_get("diameter", &st), 0);
	cr_expect_str_eq(st.details, "0 open");

	open = 2;
	cm_sr_poll();
	cr_expect_eq(cm_sr_ready(), 1);
	cr_expect_eq(seen.calls, 1, "not_ready (first, from the probe's making) -> ready");
	cr_expect_eq(seen.to, CM_SR_READY);

	cm_sr_set("relay", CM_SR_DEGRADED, "no credentials");
	cm_sr_set("cc", CM_SR_DISABLED, NULL);
	cr_expect_eq(cm_sr_ready(), 1, "degraded and disabled are not 'not ready'");

	/* a removed probe is not polled; the status stays */
	cr_assert_eq(cm_sr_probe("diameter", NULL, NULL), 0);
	open = 0;
	cm_sr_poll();
	cr_expect_eq(probe_calls, 2);
	cr_expect_eq(cm_sr_ready(), 1);

	struct cm_sr_status all[CM_SR_GROUPS_MAX];
	cr_assert_eq(cm_sr_list(all, CM_SR_GROUPS_MAX), 3);
	cr_expect_str_eq(all[0].group, "diameter");
	cr_expect_str_eq(all[1].group, "relay");
	cr_expect_str_eq(all[2].group, "cc");
	cr_expect_eq(cm_sr_list(all, 1), 3, "the count, when fewer fit");
}

Test(cm_sr, names_states_and_the_table_bound)
{
	char name[CM_SR_NAME_MAX + 1];

	cr_expect_eq(cm_sr_set(NULL, CM_SR_READY, NULL), -EINVAL);
	cr_expect_eq(cm_sr_set("", CM_SR_READY, NULL), -EINVAL);
	cr_expect_eq(cm_sr_set("Redis", CM_SR_READY, NULL), -EINVAL);
	cr_expect_eq(cm_sr_set("a b", CM_SR_READY, NULL), -EINVAL);
	cr_expect_eq(cm_sr_set("ok", (enum cm_sr_state)7, NULL), -EINVAL);
	cr_expect_eq(cm_sr_report("a/b", CM_LOG_INFO, "x"), -EINVAL);
	memset(name, 'a', CM_SR_NAME_MAX);
	name[CM_SR_NAME_MAX] = '\0';
	cr_expect_eq(cm_sr_set(name, CM_SR_READY, NULL), -EINVAL, "32 bytes is too long");
	name[CM_SR_NAME_MAX - 1] = '\0';
	cr_expect_eq(cm_sr_set(name, CM_SR_READY, NULL), 0, "31 is fine");
	for (int i = 1; i < CM_SR_GROUPS_MAX; i++) {
		char g[16];
		snprintf(g, sizeof(g), "g%d", i);
		cr_assert_eq(cm_sr_set(g, CM_SR_READY, NULL), 0);
	}
	cr_expect_eq(cm_sr_set("one_more", CM_SR_READY, NULL), -ENOSPC);
	cr_expect_eq(cm_sr_report("one_more", CM_LOG_INFO, "x"), -ENOSPC);
	cr_expect_eq(cm_sr_probe("one_more", probe, NULL), -ENOSPC);
	cr_expect_str_eq(cm_sr_state_name(CM_SR_NOT_READY), "not_ready");
	cr_expect_str_eq(cm_sr_state_name(CM_SR_DISABLED), "disabled");
	cr_expect_str_eq(cm_sr_level_name(CM_LOG_WARN), "warning");
}

#define THREADS 4
#define EACH    2000

static void *writer(void *arg)
{
	const char *group = arg;
	for (int i = 0; i < EACH; i++) {
		cm_sr_set(group, i % 2 ? CM_SR_READY : CM_SR_DEGRADED, "round %d", i);
		cm_sr_report(group, CM_LOG_INFO, "report %d", i);
	}
	return NULL;
}

static _Atomic int hook_calls;

static void count_hook(const char *group, enum cm_sr_state from, enum cm_sr_state to,
		       const char *details, void *arg)
{
	(void)group;
	(void)details;
	(void)arg;
	cr_expect_neq(from, to);
	hook_calls++;
}

Test(cm_sr, writers_on_several_threads)
{
	static const char *const groups[THREADS] = { "sip", "msrp", "sip", "msrp" };
	pthread_t t[THREADS];
	struct cm_sr_report r[CM_SR_REPORTS];

	cm_sr_on_change(count_hook, NULL);
	for (int i = 0; i < THREADS; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, writer, (void *)groups[i]), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	cr_assert_eq(reports("sip", r), CM_SR_REPORTS);
	for (int i = 1; i < CM_SR_REPORTS; i++)
		cr_expect_gt(r[i].seq, r[i - 1].seq, "in order");
	struct cm_sr_status a, b;
	cm_sr_get("sip", &a);
	cm_sr_get("msrp", &b);
	/* every change but each group's first status reached the hook once */
	cr_expect_gt(a.changes, 1);
	cr_expect_eq((uint64_t)hook_calls, a.changes - 1 + b.changes - 1);
}

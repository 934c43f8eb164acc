/* cm_sr.c — status and reports of the subsystems (cm_sr.h). One table under one mutex;
 * each group keeps its reports in a ring of CM_SR_REPORTS. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "common/cm_sr.h"
#include "common/cm_time.h"

struct group {
	struct cm_sr_status st;
	cm_sr_probe_fn probe;
	void *probe_arg;
	struct cm_sr_report ring[CM_SR_REPORTS];
	unsigned head;             /* next slot written */
	unsigned n;                /* reports held */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct group groups[CM_SR_GROUPS_MAX];
static unsigned ngroups;
static uint64_t last_seq;
static cm_sr_change_fn hook;
static void *hook_arg;

static const char *const state_names[] = { "not_ready", "ready", "degraded", "disabled" };

const char *cm_sr_state_name(enum cm_sr_state st)
{
	return (unsigned)st < 4 ? state_names[st] : "unknown";
}

const char *cm_sr_level_name(enum cm_log_level lvl)
{
	switch (lvl) {
	case CM_LOG_ERROR:
		return "error";
	case CM_LOG_WARN:
		return "warning";
	case CM_LOG_INFO:
		return "info";
	default:
		return "debug";
	}
}

static int name_ok(const char *s)
{
	size_t n = 0;
	if (!s)
		return 0;
	for (; s[n]; n++)
		if (n + 1 >= CM_SR_NAME_MAX ||
		    !((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= '0' && s[n] <= '9') || s[n] == '_'))
			return 0;
	return n > 0;
}

/* <name>'s group, made (not ready, no details) when new. Under the lock. */
static struct group *group_at(const char *name)
{
	for (unsigned i = 0; i < ngroups; i++)
		if (strcmp(groups[i].st.group, name) == 0)
			return &groups[i];
	if (ngroups == CM_SR_GROUPS_MAX)
		return NULL;
	struct group *g = &groups[ngroups++];
	memset(g, 0, sizeof(*g));
	snprintf(g->st.group, sizeof(g->st.group), "%s", name);
	g->st.state = CM_SR_NOT_READY;
	g->st.since_ms = cm_wall_ms();
	return g;
}

/* Appends a report to <g>. Under the lock. */
static void ring_add(struct group *g, enum cm_log_level lvl, const char *text)
{
	struct cm_sr_report *r = &g->ring[g->head];
	r->seq = ++last_seq;
	r->time_ms = cm_wall_ms();
	r->level = lvl;
	snprintf(r->text, sizeof(r->text), "%s", text);
	g->head = (g->head + 1) % CM_SR_REPORTS;
	if (g->n < CM_SR_REPORTS)
		g->n++;
}

/* Sets the state and details of <name>; on a change, reports it and calls the hook. */
static int set_status(const char *name, enum cm_sr_state st, const char *details)
{
	char text[CM_SR_TEXT_MAX + 32]; /* cut to CM_SR_TEXT_MAX in the ring */
	enum cm_sr_state from;
	cm_sr_change_fn fn;
	void *arg;

	if (!name_ok(name) || (unsigned)st > CM_SR_DISABLED)
		return -EINVAL;
	pthread_mutex_lock(&lock);
	struct group *g = group_at(name);
	if (!g) {
		pthread_mutex_unlock(&lock);
		return -ENOSPC;
	}
	from = g->st.state;
	snprintf(g->st.details, sizeof(g->st.details), "%s", details ? details : "");
	/* the first status set is reported as it is, later ones as changes */
	int first = g->st.changes == 0, changed = from != st;
	if (first || changed) {
		g->st.state = st;
		g->st.since_ms = cm_wall_ms();
		g->st.changes++;
		if (first)
			snprintf(text, sizeof(text), "%s%s%s", cm_sr_state_name(st),
				 g->st.details[0] ? ": " : "", g->st.details);
		else
			snprintf(text, sizeof(text), "%s -> %s%s%s", cm_sr_state_name(from),
				 cm_sr_state_name(st), g->st.details[0] ? ": " : "", g->st.details);
		ring_add(g, st == CM_SR_NOT_READY || st == CM_SR_DEGRADED ? CM_LOG_WARN : CM_LOG_INFO,
			 text);
	}
	fn = hook;
	arg = hook_arg;
	pthread_mutex_unlock(&lock);
	if (!first && !changed)
		return 0;
	CM_LOG(st == CM_SR_NOT_READY || st == CM_SR_DEGRADED ? CM_LOG_WARN : CM_LOG_INFO,
	       "status: %s: %s", name, text);
	if (fn && changed && !first) /* a first status is no change of one */
		fn(name, from, st, details ? details : "", arg);
	return 0;
}

int cm_sr_set(const char *group, enum cm_sr_state st, const char *fmt, ...)
{
	char details[CM_SR_TEXT_MAX] = "";
	if (fmt) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(details, sizeof(details), fmt, ap);
		va_end(ap);
	}
	return set_status(group, st, details);
}

int cm_sr_report(const char *group, enum cm_log_level lvl, const char *fmt, ...)
{
	char text[CM_SR_TEXT_MAX];
	va_list ap;

	if (!name_ok(group) || !fmt)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&lock);
	struct group *g = group_at(group);
	if (g)
		ring_add(g, lvl, text);
	pthread_mutex_unlock(&lock);
	if (!g)
		return -ENOSPC;
	CM_LOG(lvl, "%s: %s", group, text);
	return 0;
}

int cm_sr_probe(const char *group, cm_sr_probe_fn fn, void *arg)
{
	if (!name_ok(group))
		return -EINVAL;
	pthread_mutex_lock(&lock);
	struct group *g = group_at(group);
	if (g) {
		g->probe = fn;
		g->probe_arg = arg;
	}
	pthread_mutex_unlock(&lock);
	return g ? 0 : -ENOSPC;
}

void cm_sr_poll(void)
{
	struct {
		char name[CM_SR_NAME_MAX];
		cm_sr_probe_fn fn;
		void *arg;
	} p[CM_SR_GROUPS_MAX];
	unsigned n = 0;

	pthread_mutex_lock(&lock);
	for (unsigned i = 0; i < ngroups; i++)
		if (groups[i].probe) {
			memcpy(p[n].name, groups[i].st.group, CM_SR_NAME_MAX);
			p[n].fn = groups[i].probe;
			p[n].arg = groups[i].probe_arg;
			n++;
		}
	pthread_mutex_unlock(&lock);
	for (unsigned i = 0; i < n; i++) {
		char details[CM_SR_TEXT_MAX] = "";
		enum cm_sr_state st = p[i].fn(p[i].arg, details, sizeof(details));
		set_status(p[i].name, st, details);
	}
}

void cm_sr_on_change(cm_sr_change_fn fn, void *arg)
{
	pthread_mutex_lock(&lock);
	hook = fn;
	hook_arg = arg;
	pthread_mutex_unlock(&lock);
}

unsigned cm_sr_list(struct cm_sr_status *out, unsigned max)
{
	pthread_mutex_lock(&lock);
	unsigned n = ngroups;
	for (unsigned i = 0; i < n && i < max; i++)
		out[i] = groups[i].st;
	pthread_mutex_unlock(&lock);
	return n;
}

int cm_sr_get(const char *group, struct cm_sr_status *out)
{
	int rc = -ENOENT;
	pthread_mutex_lock(&lock);
	for (unsigned i = 0; group && i < ngroups; i++)
		if (strcmp(groups[i].st.group, group) == 0) {
			*out = groups[i].st;
			rc = 0;
			break;
		}
	pthread_mutex_unlock(&lock);
	return rc;
}

int cm_sr_reports(const char *group, uint64_t after, struct cm_sr_report *out, unsigned max)
{
	int rc = -ENOENT;
	pthread_mutex_lock(&lock);
	for (unsigned i = 0; group && i < ngroups; i++) {
		const struct group *g = &groups[i];
		if (strcmp(g->st.group, group) != 0)
			continue;
		/* the newest <max> of those after <after>, oldest first */
		unsigned skip = 0, take = 0;
		for (unsigned k = 0; k < g->n; k++) {
			const struct cm_sr_report *r =
				&g->ring[(g->head + CM_SR_REPORTS - g->n + k) % CM_SR_REPORTS];
			if (r->seq > after)
				take++;
			else
				skip++;
		}
		if (take > max) {
			skip += take - max;
			take = max;
		}
		for (unsigned k = 0; k < take; k++)
			out[k] = g->ring[(g->head + CM_SR_REPORTS - g->n + skip + k) % CM_SR_REPORTS];
		rc = (int)take;
		break;
	}
	pthread_mutex_unlock(&lock);
	return rc;
}

int cm_sr_ready(void)
{
	int ready = 1;
	pthread_mutex_lock(&lock);
	for (unsigned i = 0; i < ngroups; i++)
		ready &= groups[i].st.state != CM_SR_NOT_READY;
	pthread_mutex_unlock(&lock);
	return ready;
}

void cm_sr_reset(void)
{
	pthread_mutex_lock(&lock);
	ngroups = 0;
	last_seq = 0;
	hook = NULL;
	hook_arg = NULL;
	pthread_mutex_unlock(&lock);
}

/* cm_sr.h — status and reports of the daemon's subsystems ("groups": engine, sip, msrp,
 * relay, ua, gateway, redis, diameter, cc, webhooks).
 *
 * Each group has a status (not ready / ready / degraded / disabled) with a line of details,
 * the time it took that status, and a bounded log of timestamped reports (the oldest go
 * first). A change of status is itself a report, logged, and handed to the change hook
 * (the API turns it into the event "status.changed").
 *
 * A group's status is set by its owner (cm_sr_set), or read by a probe that the API's
 * thread polls (cm_sr_probe, cm_sr_poll) for states that are cheaper to read than to
 * push (a Redis link's state, the open Diameter peers).
 *
 * Threads: every function may be called from any thread. One mutex guards the table; it is
 * taken on status changes and reports, which are rare (a peer lost, a reload), never per
 * message. Probes and the change hook run without the lock held.
 *
 * Return convention: 0 on success, -errno on failure. */
#ifndef CM_SR_H
#define CM_SR_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "common/cm_log.h"

#define CM_SR_GROUPS_MAX  32  /* groups, at most */
#define CM_SR_NAME_MAX    32  /* bytes of a group's name, NUL included */
#define CM_SR_TEXT_MAX   240  /* bytes of details or of a report, NUL included (cut beyond) */
#define CM_SR_REPORTS     64  /* reports kept per group */

enum cm_sr_state {
	CM_SR_NOT_READY = 0,  /* cannot take its traffic (starting, its peer never reached) */
	CM_SR_READY,          /* working */
	CM_SR_DEGRADED,       /* working with less (a peer of several lost, Redis away) */
	CM_SR_DISABLED,       /* off by configuration: counts for nothing */
};

/* What a probe returns: a state, with <details> (<len> bytes, NUL-terminated) filled or
 * left empty. */
typedef enum cm_sr_state (*cm_sr_probe_fn)(void *arg, char *details, size_t len);

/* Called, outside the lock, once per change of a group's status (not for its first). */
typedef void (*cm_sr_change_fn)(const char *group, enum cm_sr_state from, enum cm_sr_state to,
				const char *details, void *arg);

struct cm_sr_status {
	char group[CM_SR_NAME_MAX];
	enum cm_sr_state state;
	char details[CM_SR_TEXT_MAX];
	uint64_t since_ms;         /* wall clock (ms since the epoch) of the last change */
	uint64_t changes;          /* changes of state since the group was made */
};

struct cm_sr_report {
	uint64_t seq;              /* increasing across all groups, from 1 */
	uint64_t time_ms;          /* wall clock, ms since the epoch */
	enum cm_log_level level;   /* CM_LOG_ERROR, _WARN or _INFO */
	char text[CM_SR_TEXT_MAX];
};

/* "not_ready", "ready", "degraded", "disabled". */
const char *cm_sr_state_name(enum cm_sr_state st);
/* "error", "warning", "info" ("debug" for CM_LOG_DEBUG). */
const char *cm_sr_level_name(enum cm_log_level lvl);

/* Sets <group>'s status (the group is made on first use, 1..31 bytes of [a-z0-9_]) and its
 * details (printf <fmt>, may be NULL for none). A change of state is reported, logged and
 * given to the hook; new details alone only replace the old ones.
 * 0; -EINVAL (bad name or state); -ENOSPC (CM_SR_GROUPS_MAX groups exist). */
__attribute__((format(printf, 3, 4)))
int cm_sr_set(const char *group, enum cm_sr_state st, const char *fmt, ...);

/* Adds a report to <group>'s log (made not ready when new) and writes it to the log at
 * <lvl>. 0, -EINVAL, -ENOSPC. */
__attribute__((format(printf, 3, 4)))
int cm_sr_report(const char *group, enum cm_log_level lvl, const char *fmt, ...);

/* <fn>(<arg>) gives <group>'s status at each cm_sr_poll() from now on (made not ready when
 * new); <fn> NULL stops the probe and leaves the status as it was. <arg> must stay valid
 * until the probe is removed. 0, -EINVAL, -ENOSPC. */
int cm_sr_probe(const char *group, cm_sr_probe_fn fn, void *arg);

/* Runs every probe, outside the lock, and sets what they return. */
void cm_sr_poll(void);

/* The hook for changes (one; NULL removes it). */
void cm_sr_on_change(cm_sr_change_fn fn, void *arg);

/* Copies the groups' statuses into <out> (at most <max>), in the order the groups were
 * made; returns how many groups there are. */
unsigned cm_sr_list(struct cm_sr_status *out, unsigned max);

/* Copies <group>'s status. 0, -ENOENT. */
int cm_sr_get(const char *group, struct cm_sr_status *out);

/* Copies <group>'s last reports, oldest first, at most <max>, with seq > <after>; returns
 * how many were copied, or -ENOENT. */
int cm_sr_reports(const char *group, uint64_t after, struct cm_sr_report *out, unsigned max);

/* 1 when no group is not ready (degraded and disabled groups do not count), else 0. */
int cm_sr_ready(void);

/* Forgets every group, probe and report, and the hook (tests; a daemon's restart in one
 * process). */
void cm_sr_reset(void);

#endif

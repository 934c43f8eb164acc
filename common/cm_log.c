/* cm_log.c — line building, the CM_LOG_RL gate, and the one write(2) per line.
 *
 * The settings are relaxed atomics read on every call, so that cm_log_setup() may run while
 * workers log. A line is built in a stack buffer of CM_LOG_LINE_MAX bytes; JSON lines go
 * through jansson (json_dumpb into the same buffer), never through hand-written escaping. */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/cm_time.h"
#include "common/cm_log.h"

_Atomic int cm_log_max_level = CM_LOG_INFO;

static _Atomic int log_json;                   /* 0 text, 1 JSON */
static _Atomic unsigned log_rate = 10;         /* CM_LOG_RL lines per second per site */
static _Atomic int log_fd = 2;
static _Thread_local char log_thread[CM_LOG_THREAD_MAX];

#define RL_COUNT_BITS 24                       /* low bits of cm_log_site.window */
#define RL_COUNT_MASK ((UINT64_C(1) << RL_COUNT_BITS) - 1)
#define RL_SEC_MASK   ((UINT64_C(1) << (64 - RL_COUNT_BITS)) - 1)

static const char *const level_text[] = { "ERROR", "WARN", "INFO", "DEBUG" };
static const char *const level_json[] = { "error", "warn", "info", "debug" };

void cm_log_setup(enum cm_log_level lvl, int json, unsigned rate_per_sec)
{
	if ((int)lvl < CM_LOG_ERROR)
		lvl = CM_LOG_ERROR;
	if (lvl > CM_LOG_DEBUG)
		lvl = CM_LOG_DEBUG;
	if (rate_per_sec > RL_COUNT_MASK)
		rate_per_sec = (unsigned)RL_COUNT_MASK;
	atomic_store_explicit(&cm_log_max_level, (int)lvl, memory_order_relaxed);
	atomic_store_explicit(&log_json, json != 0, memory_order_relaxed);
	atomic_store_explicit(&log_rate, rate_per_sec, memory_order_relaxed);
}

void cm_log_set_fd(int fd)
{
	atomic_store_explicit(&log_fd, fd, memory_order_relaxed);
}

void cm_log_thread_name(const char *name)
{
	if (!name) {
		log_thread[0] = '\0';
		return;
	}
	snprintf(log_thread, sizeof(log_thread), "%s", name);
}

static const char *thread_tag(void)
{
	if (!log_thread[0])
		snprintf(log_thread, sizeof(log_thread), "t%d", (int)gettid());
	return log_thread;
}

/* ---- rate limiting ------------------------------------------------------------------- */

int cm_log_rl_pass_at(struct cm_log_site *site, uint64_t now_sec, unsigned rate,
                      uint64_t *suppressed)
{
	if (rate) {
		uint64_t sec = now_sec & RL_SEC_MASK;
		uint64_t old = atomic_load_explicit(&site->window, memory_order_relaxed);
		uint64_t next;

		if (rate > RL_COUNT_MASK)
			rate = (unsigned)RL_COUNT_MASK;
		do {
			if ((old >> RL_COUNT_BITS) == sec) {
				if ((old & RL_COUNT_MASK) >= rate) {
					/* over budget: only a counter is touched, nothing is formatted */
					atomic_fetch_add_explicit(&site->suppressed, 1, memory_order_relaxed);
					return 0;
				}
				next = old + 1;
			} else {
				next = (sec << RL_COUNT_BITS) | 1;   /* first line of a new second */
			}
		} while (!atomic_compare_exchange_weak_explicit(&site->window, &old, next,
		                                                memory_order_relaxed,
		                                                memory_order_relaxed));
	}
	*suppressed = atomic_exchange_explicit(&site->suppressed, 0, memory_order_relaxed);
	return 1;
}

int cm_log_rl_pass(struct cm_log_site *site, uint64_t *suppressed)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return cm_log_rl_pass_at(site, (uint64_t)ts.tv_sec,
	                         atomic_load_explicit(&log_rate, memory_order_relaxed), suppressed);
}

/* ---- line building ------------------------------------------------------------------- */

/* "2026-11-26T06:52:01.123Z" into <buf> (at least 32 bytes). */
static void timestamp(char *buf, size_t len)
{
	cm_rfc3339_ms(cm_wall_ms(), buf, len);
}

/* Where to cut <s> to at most <max> bytes without splitting a UTF-8 sequence. */
static size_t utf8_cut(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return len;
	while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
		max--;
	return max;
}

/* Replaces each byte of <s> that is not part of valid UTF-8 by '?', in place. */
static void utf8_scrub(char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c = (unsigned char)s[i];
		size_t n, j;
		uint32_t cp, min;

		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xE0) == 0xC0) {
			n = 2, cp = c & 0x1F, min = 0x80;
		} else if ((c & 0xF0) == 0xE0) {
			n = 3, cp = c & 0x0F, min = 0x800;
		} else if ((c & 0xF8) == 0xF0) {
			n = 4, cp = c & 0x07, min = 0x10000;
		} else {
			s[i++] = '?';
			continue;
		}
		for (j = 1; j < n && i + j < len; j++) {
			unsigned char d = (unsigned char)s[i + j];
			if ((d & 0xC0) != 0x80)
				break;
			cp = cp << 6 | (d & 0x3F);
		}
		if (j < n || cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
			s[i++] = '?';
			continue;
		}
		i += n;
	}
}

/* Builds the text line into <line> (CM_LOG_LINE_MAX bytes); returns its length. */
static size_t build_text(char *line, enum cm_log_level lvl, const char *ts, const char *msg,
                         size_t mlen, uint64_t suppressed)
{
	char sfx[64] = "";
	size_t o, slen = 0, room, n;

	if (suppressed)
		slen = (size_t)snprintf(sfx, sizeof(sfx), " (%" PRIu64 " similar suppressed)", suppressed);
	o = (size_t)snprintf(line, CM_LOG_LINE_MAX, "%s %-5s [%s] ", ts, level_text[lvl], thread_tag());
	room = CM_LOG_LINE_MAX - 1 - o - slen;    /* the prefix is ~60 bytes at most */

	n = mlen;
	if (n > room)
		n = utf8_cut(msg, mlen, room - 3);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)msg[i];
		line[o++] = (c < 0x20 && c != '\t') || c == 0x7f ? '?' : (char)c;
	}
	if (n < mlen) {
		memcpy(line + o, "...", 3);
		o += 3;
	}
	memcpy(line + o, sfx, slen);
	o += slen;
	line[o++] = '\n';
	return o;
}

/* Serializes <o> with "msg" set to the first <mlen> bytes of <msg>, followed by "..." when
 * <cut>, into <line> (CM_LOG_LINE_MAX - 1 bytes used at most). Returns the size the JSON
 * text needs (more than fits means it did not fit), 0 when jansson failed. */
static size_t json_try(json_t *o, char *line, const char *msg, size_t mlen, int cut)
{
	char tmp[CM_LOG_LINE_MAX + 4];
	json_t *m;

	if (cut) {
		memcpy(tmp, msg, mlen);
		memcpy(tmp + mlen, "...", 3);
		m = json_stringn(tmp, mlen + 3);
	} else {
		m = json_stringn(msg, mlen);
	}
	if (json_object_set_new(o, "msg", m) < 0)
		return 0;
	return json_dumpb(o, line, CM_LOG_LINE_MAX - 1, JSON_COMPACT);
}

/* Builds the JSON line into <line> (CM_LOG_LINE_MAX bytes). When it does not fit, <msg> is
 * cut (at a UTF-8 boundary, followed by "...") to the longest prefix that fits, found by
 * bisection: escaping can make a byte of <msg> one to six bytes of JSON, so the cut point
 * cannot be told in advance. Returns the length, or 0 when jansson failed (no memory). */
static size_t build_json(char *line, enum cm_log_level lvl, const char *ts, char *msg,
                         size_t mlen, uint64_t suppressed)
{
	const size_t max = CM_LOG_LINE_MAX - 1;      /* room for the newline */
	char thread[CM_LOG_THREAD_MAX];
	size_t tlen = strlen(thread_tag()), need, lo, hi;
	json_t *o;

	memcpy(thread, thread_tag(), tlen + 1);
	utf8_scrub(thread, tlen);
	utf8_scrub(msg, mlen);

	o = json_object();
	if (!o ||
	    json_object_set_new(o, "ts", json_string(ts)) < 0 ||
	    json_object_set_new(o, "level", json_string(level_json[lvl])) < 0 ||
	    json_object_set_new(o, "thread", json_string(thread)) < 0 ||
	    json_object_set_new(o, "msg", json_string("")) < 0 ||
	    (suppressed &&
	     json_object_set_new(o, "suppressed", json_integer((json_int_t)suppressed)) < 0)) {
		json_decref(o);
		return 0;
	}

	need = json_try(o, line, msg, mlen, 0);
	if (need > max) {
		/* invariant: a cut at <lo> fits, one at <hi> does not */
		lo = 0;
		hi = mlen;
		while (hi - lo > 1) {
			size_t mid = lo + (hi - lo) / 2;
			need = json_try(o, line, msg, utf8_cut(msg, mlen, mid), 1);
			if (need == 0)
				break;
			if (need <= max)
				lo = mid;
			else
				hi = mid;
		}
		need = json_try(o, line, msg, utf8_cut(msg, mlen, lo), 1);
	}
	json_decref(o);
	if (need == 0 || need > max)
		return 0;
	line[need] = '\n';
	return need + 1;
}

static void write_line(const char *line, size_t len)
{
	int fd = atomic_load_explicit(&log_fd, memory_order_relaxed);

	while (len > 0) {
		ssize_t n = write(fd, line, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return;            /* nowhere to report a failing log */
		}
		line += n;
		len -= (size_t)n;
	}
}

void cm_log_emit(enum cm_log_level lvl, uint64_t suppressed, const char *fmt, ...)
{
	char msg[CM_LOG_LINE_MAX], line[CM_LOG_LINE_MAX], ts[48];
	size_t mlen, len = 0;
	va_list ap;
	int n;

	if ((int)lvl < CM_LOG_ERROR || lvl > CM_LOG_DEBUG)
		lvl = CM_LOG_ERROR;
	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		mlen = (size_t)snprintf(msg, sizeof(msg), "(unformattable log message: %s)", fmt);
	else
		mlen = (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1;
	if (mlen >= sizeof(msg))
		mlen = sizeof(msg) - 1;

	timestamp(ts, sizeof(ts));
	if (atomic_load_explicit(&log_json, memory_order_relaxed))
		len = build_json(line, lvl, ts, msg, mlen, suppressed);
	if (len == 0)
		len = build_text(line, lvl, ts, msg, mlen, suppressed);
	write_line(line, len);
}

/* cm_log.h — logging: one line per call, written with a single write(2), text or JSON.
 *
 *   2026-11-26T06:52:01.123Z INFO  [w1] message
 *   {"ts":"2026-11-26T06:52:01.123Z","level":"info","thread":"w1","msg":"message"}
 *
 * A line is at most CM_LOG_LINE_MAX bytes, newline included: a longer message is cut and
 * ends with "...", so that a line stays one write(2) that lines of other threads cannot split
 * (pipes keep writes up to PIPE_BUF whole). Control characters of a text message become
 * '?', so that a message cannot forge lines; JSON messages keep them (escaped by jansson),
 * invalid UTF-8 bytes become '?'.
 *
 * The CM_* macros evaluate their arguments and format only when the level is enabled.
 * Everything here may be called from any thread; the hot path takes no lock. */
#ifndef CM_LOG_H
#define CM_LOG_H

#include <stdatomic.h>
#include <stdint.h>

enum cm_log_level {
	CM_LOG_ERROR = 0,
	CM_LOG_WARN,
	CM_LOG_INFO,
	CM_LOG_DEBUG,
};

#define CM_LOG_LINE_MAX 2048       /* bytes of a line, newline included */
#define CM_LOG_THREAD_MAX 16       /* bytes of a thread tag, NUL included */

/* Per call site state of CM_LOG_RL (a static in each expansion; zero-initialised). */
struct cm_log_site {
	_Atomic uint64_t window;   /* second << 24 | lines written in that second */
	_Atomic uint64_t suppressed; /* lines dropped since the last line written */
};

/* The most verbose level written (relaxed: read on every CM_* call). */
extern _Atomic int cm_log_max_level;

/* Sets the level, the format (<json> non-zero: JSON lines) and the CM_LOG_RL budget
 * <rate_per_sec> (lines per second per call site, 0 = no limit). Any thread, any time. */
void cm_log_setup(enum cm_log_level lvl, int json, unsigned rate_per_sec);

/* Writes lines to <fd> from now on (default 2, stderr). The caller keeps <fd> open. */
void cm_log_set_fd(int fd);

/* Names the calling thread in its lines ("w1"; cut to 15 bytes). NULL: back to the
 * default, "t<tid>". */
void cm_log_thread_name(const char *name);

/* Formats and writes one line at <lvl>, with " (<suppressed> similar suppressed)" appended
 * when <suppressed> is not 0. Does not check the level: use the macros. */
void cm_log_emit(enum cm_log_level lvl, uint64_t suppressed, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* CM_LOG_RL's gate: 1 when the site may write a line now (<*suppressed> then holds the
 * lines it dropped since its last line, and is reset), 0 when its budget for this second is
 * spent (the line is counted as suppressed). */
int cm_log_rl_pass(struct cm_log_site *site, uint64_t *suppressed);

/* cm_log_rl_pass() at second <now_sec> of a monotonic clock, with a budget of <rate>
 * (0 = no limit): the clock and the rate are arguments so that tests can drive them. */
int cm_log_rl_pass_at(struct cm_log_site *site, uint64_t now_sec, unsigned rate,
                      uint64_t *suppressed);

static inline int cm_log_enabled(enum cm_log_level lvl)
{
	return (int)lvl <= atomic_load_explicit(&cm_log_max_level, memory_order_relaxed);
}

#define CM_LOG(lvl, ...)                                                                   \
	do {                                                                               \
		if (cm_log_enabled(lvl))                                                   \
			cm_log_emit((lvl), 0, __VA_ARGS__);                                \
	} while (0)

#define CM_ERR(...)   CM_LOG(CM_LOG_ERROR, __VA_ARGS__)
#define CM_WARN(...)  CM_LOG(CM_LOG_WARN, __VA_ARGS__)
#define CM_INFO(...)  CM_LOG(CM_LOG_INFO, __VA_ARGS__)
#define CM_DEBUG(...) CM_LOG(CM_LOG_DEBUG, __VA_ARGS__)

/* Rate-limited CM_LOG for errors that a peer can trigger at will (one per packet): at most
 * log.rate_limit lines per second from this call site; the next line written after some
 * were dropped tells how many. */
#define CM_LOG_RL(lvl, ...)                                                                \
	do {                                                                               \
		static struct cm_log_site cm_log_site_;                                    \
		uint64_t cm_log_sup_;                                                      \
		if (cm_log_enabled(lvl) && cm_log_rl_pass(&cm_log_site_, &cm_log_sup_))   \
			cm_log_emit((lvl), cm_log_sup_, __VA_ARGS__);                      \
	} while (0)

#endif

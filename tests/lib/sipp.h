/* sipp.h — sipp 3.6 (Debian sip-tester) as a SIP peer for integration tests: a phone that
 * calls rcsgw or answers it, driven by the scenarios of tests/peers/sipp/ (each one says at
 * its top what it sends, what it expects, its parameters and what it logs).
 *
 * One sipp process runs one call (-m 1) on 127.0.0.1 and writes everything into a log dir
 * that the test owns: errors.log (-trace_err), logs.log (the scenario's <log> actions,
 * -trace_logs), messages.log (every message sent and received, -trace_msg), screen.log (the
 * final statistics, -trace_screen), calldebug.log (aborted calls) and sipp.out (its stdout
 * and stderr). A scenario hands values to the test by logging "name=value" lines.
 *
 * Return convention: 0 or a value on success, -errno on failure. */
#ifndef TESTS_SIPP_H
#define TESTS_SIPP_H

#include <stddef.h>
#include <sys/types.h>

#define SIPP_BIN "/usr/bin/sipp"

/* files of a log dir */
#define SIPP_LOG_ERRORS   "errors.log"     /* unexpected messages, failed checks */
#define SIPP_LOG_ACTIONS  "logs.log"       /* the scenario's <log> lines */
#define SIPP_LOG_MESSAGES "messages.log"   /* each SIP message sent and received */
#define SIPP_LOG_SCREEN   "screen.log"     /* final statistics screen */
#define SIPP_LOG_CALLDEBUG "calldebug.log" /* the messages of each aborted call */
#define SIPP_LOG_OUT      "sipp.out"       /* stdout + stderr (when not given to the caller) */

#define SIPP_MAX_PAIRS 32                  /* name/value pairs sipp_start() takes */

/* 1 when the sipp binary and tests/peers/sipp/ are there (tests skip visibly if not). */
int sipp_available(void);

/* The path of scenario <name> ("uas_msrp.xml") in $RCSGW_SRCDIR/tests/peers/sipp/ (default
 * source dir: the current one), in a buffer of the calling thread that the next call
 * overwrites. */
const char *sipp_scenario(const char *name);

/* A port of 127.0.0.1 that was free for both UDP and TCP a moment ago: for a sipp UAS
 * (which needs its port known in advance) whatever the transport. -errno on failure. */
int sipp_free_port(void);

/* Creates a fresh log dir under $TMPDIR (default /tmp) into <dir> (<len> bytes).
 * 0 or -errno. */
int sipp_logdir_new(char *dir, size_t len);

/* Removes <dir> and the files in it (kept when RCSGW_KEEP_SIPP=1, its path then goes to
 * stderr). Harmless on "" or a dir already gone. */
void sipp_logdir_remove(const char *dir);

/* Starts sipp with scenario <scenario> (a name in tests/peers/sipp/, or a path when it has
 * a '/'), as a UAC calling <remote> ("127.0.0.1:5060"), or as a UAS when <remote> is NULL,
 * bound to 127.0.0.1:<local_port> (0 for a UAC: a free one). It runs one call (-m 1) with
 * -nostdin, over UDP (-t u1) unless told otherwise, its logs into <logdir> (which must
 * exist; it is also sipp's working directory).
 *
 * <keys> (NULL, or NULL-terminated name, value pairs) become options after those above,
 * by the first character of the name:
 *   "msrp_port", "5000"  ->  -key msrp_port 5000   a [msrp_port] keyword (required ones)
 *   "$hold_ms", "200"    ->  -set hold_ms 200      a global variable (ones with defaults)
 *   "-t", "t1"           ->  -t t1                 any sipp option with one value (the
 *                                                  transport, -s, -recv_timeout, ...)
 * sipp refuses to start on a [keyword] nobody gave and on a -set of a variable that the
 * scenario does not declare.
 *
 * With <out_fd> not NULL, sipp's stdout and stderr go to a pipe whose read end is returned
 * there (the caller reads it, or sipp blocks once it is full; close it after sipp_wait);
 * else to <logdir>/sipp.out. A UAS is started when its port is bound (within 5 s), so a
 * UAC started next finds it. The process gets SIGKILL when the test process dies.
 * Returns its pid, or -errno: -EINVAL (a bad argument, a UAS without a port), -E2BIG (too
 * many pairs), -EADDRINUSE (the UAS could not bind), -ECHILD (it exited at once: see
 * <logdir>/sipp.out), -ETIMEDOUT (its port never showed). */
pid_t sipp_start(const char *scenario, const char *remote, int local_port,
		 const char *const *keys, const char *logdir, int *out_fd);

/* Waits up to <timeout_ms> for sipp <pid> to end by itself. Returns its exit status: 0 all
 * calls succeeded, 1 one failed, 97 internal stop, 99 no call processed, 255 fatal error,
 * 254 bind error, 128 + n when signal n killed it; or -ETIMEDOUT (it was then killed), or
 * -ECHILD (no such child). */
int sipp_wait(pid_t pid, int timeout_ms);

/* Stops sipp <pid> (SIGTERM, SIGKILL after <timeout_ms>) and reaps it: for a UAS that still
 * waits for a call. Returns the status as sipp_wait() does (-ETIMEDOUT: it needed the
 * SIGKILL). Harmless on a pid <= 0 (returns 0). */
int sipp_stop(pid_t pid, int timeout_ms);

/* Looks for POSIX extended regex <re> in the lines of <logdir>/logs.log, first line first.
 * On a match copies its first subexpression (or, when <re> has none or it did not take
 * part, the whole match) NUL-terminated into <out> and returns its length. -ENOENT (no
 * matching line, or no file yet), -EINVAL (a bad <re>), -ENOSPC (<out> too small). */
int sipp_log_find(const char *logdir, const char *re, char *out, size_t len);

/* The same, polling until a line matches or <timeout_ms> passes (-ETIMEDOUT): for a value
 * logged while the call goes on (sipp writes each <log> line at once). */
int sipp_log_wait(const char *logdir, const char *re, char *out, size_t len, int timeout_ms);

/* Reads the last <len>-1 bytes of <logdir>/<file> (SIPP_LOG_*) into <buf>, NUL-terminated.
 * Returns the bytes read (0 when the file is missing or empty). */
size_t sipp_log_tail(const char *logdir, const char *file, char *buf, size_t len);

/* Writes to stderr the ends of errors.log, calldebug.log and sipp.out of <logdir>, headed
 * by <who>: what a failing test shows. */
void sipp_log_report(const char *logdir, const char *who);

#endif

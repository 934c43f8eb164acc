/* test_log.c — common/cm_log: text and JSON lines, levels, rate limiting, truncation,
 * concurrent writers. Each criterion test runs in its own process, so the global log
 * settings of one test do not leak into the next. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/cm_log.h"

static int out_fd = -1;

/* Sends the log to a fresh temporary file. */
static void capture(void)
{
	char path[] = "/tmp/rcsgw-log-XXXXXX";

	out_fd = mkstemp(path);
	cr_assert(out_fd >= 0);
	unlink(path);
	cm_log_set_fd(out_fd);
}

/* Everything logged so far, NUL-terminated (free it). */
static char *captured(size_t *len)
{
	off_t size = lseek(out_fd, 0, SEEK_END);
	char *buf = malloc((size_t)size + 1);

	cr_assert(buf);
	cr_assert_eq(pread(out_fd, buf, (size_t)size, 0), size);
	buf[size] = '\0';
	if (len)
		*len = (size_t)size;
	return buf;
}

static size_t count_lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* "2026-11-26T06:52:01.123Z" at <s>. */
static int is_timestamp(const char *s)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";

	for (size_t i = 0; shape[i]; i++) {
		if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
			return 0;
	}
	return 1;
}

/* Parses the one JSON line in <s> and returns the object (decref it). */
static json_t *parse_line(const char *s)
{
	json_error_t e;
	size_t len = strlen(s);

	cr_assert_gt(len, 0);
	cr_assert_eq(s[len - 1], '\n', "line not terminated: %s", s);
	cr_assert_eq(count_lines(s), 1, "more than one line: %s", s);
	json_t *o = json_loads(s, 0, &e);
	cr_assert(o, "not JSON (%s): %s", e.text, s);
	cr_assert(json_is_object(o));
	return o;
}

Test(log, text_line)
{
	capture();
	cm_log_setup(CM_LOG_INFO, 0, 10);
	cm_log_thread_name("w1");
	CM_INFO("hello %d %s", 42, "world");

	char *s = captured(NULL);
	cr_assert(is_timestamp(s), "%s", s);
	cr_expect_str_eq(s + 24, " INFO  [w1] hello 42 world\n");
	free(s);
}

Test(log, text_levels_are_padded)
{
	capture();
	cm_log_setup(CM_LOG_DEBUG, 0, 10);
	cm_log_thread_name("main");
	CM_ERR("e");
	CM_WARN("w");
	CM_INFO("i");
	CM_DEBUG("d");

	char *s = captured(NULL);
	cr_assert_eq(count_lines(s), 4, "%s", s);
	cr_expect(strstr(s, "Z ERROR [main] e\n"));
	cr_expect(strstr(s, "Z WARN  [main] w\n"));
	cr_expect(strstr(s, "Z INFO  [main] i\n"));
	cr_expect(strstr(s, "Z DEBUG [main] d\n"));
	free(s);
}

Test(log, text_control_characters_cannot_forge_lines)
{
	capture();
	cm_log_thread_name("w2");
	CM_WARN("peer said: %s", "a\nZ ERROR [w0] forged\r\x7f\tend");

	char *s = captured(NULL);
	cr_assert_eq(count_lines(s), 1, "%s", s);
	cr_expect_str_eq(s + 24, " WARN  [w2] peer said: a?Z ERROR [w0] forged??\tend\n");
	free(s);
}

Test(log, thread_names)
{
	char want[64];

	capture();
	CM_INFO("default");
	cm_log_thread_name("a-very-long-thread-name");
	CM_INFO("long");
	cm_log_thread_name(NULL);
	CM_INFO("reset");

	char *s = captured(NULL);
	snprintf(want, sizeof(want), " INFO  [t%d] default\n", (int)gettid());
	cr_expect(strstr(s, want), "%s", s);
	cr_expect(strstr(s, " INFO  [a-very-long-thr] long\n"), "%s", s);
	snprintf(want, sizeof(want), " INFO  [t%d] reset\n", (int)gettid());
	cr_expect(strstr(s, want), "%s", s);
	free(s);
}

Test(log, json_line)
{
	capture();
	cm_log_setup(CM_LOG_INFO, 1, 10);
	cm_log_thread_name("w1");
	CM_WARN("quote \" backslash \\ newline \n tab \t ctl \x01 utf8 \xc3\xa9 n=%d", 7);

	char *s = captured(NULL);
	json_t *o = parse_line(s);
	cr_expect_eq(json_object_size(o), 4, "%s", s);
	cr_assert(json_is_string(json_object_get(o, "ts")));
	cr_expect(is_timestamp(json_string_value(json_object_get(o, "ts"))));
	cr_expect_eq(strlen(json_string_value(json_object_get(o, "ts"))), 24);
	cr_expect_str_eq(json_string_value(json_object_get(o, "level")), "warn");
	cr_expect_str_eq(json_string_value(json_object_get(o, "thread")), "w1");
	cr_expect_str_eq(json_string_value(json_object_get(o, "msg")),
	                 "quote \" backslash \\ newline \n tab \t ctl \x01 utf8 \xc3\xa9 n=7");
	/* the keys in the documented order */
	cr_expect(!strncmp(s, "{\"ts\":\"", 7), "%s", s);
	cr_expect(strstr(s, "\",\"level\":\"warn\",\"thread\":\"w1\",\"msg\":\""), "%s", s);
	json_decref(o);
	free(s);
}

Test(log, json_levels)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };

	capture();
	cm_log_setup(CM_LOG_DEBUG, 1, 10);
	CM_ERR("x");
	CM_WARN("x");
	CM_INFO("x");
	CM_DEBUG("x");

	char *s = captured(NULL), *line = s;
	for (int i = 0; i < 4; i++) {
		char *nl = strchr(line, '\n');
		cr_assert(nl);
		char save = nl[1];
		nl[1] = '\0';
		json_t *o = parse_line(line);
		cr_expect_str_eq(json_string_value(json_object_get(o, "level")), names[i]);
		json_decref(o);
		nl[1] = save;
		line = nl + 1;
	}
	free(s);
}

Test(log, json_invalid_utf8_becomes_question_marks)
{
	capture();
	cm_log_setup(CM_LOG_INFO, 1, 10);
	cm_log_thread_name("w\xff");
	/* a stray continuation byte, a truncated sequence, an overlong '/', a surrogate */
	CM_INFO("a\x80" "b\xc3" "c\xc0\xaf" "d\xed\xa0\x80" "e\xf0\x9f\x98\x80");

	char *s = captured(NULL);
	json_t *o = parse_line(s);
	cr_expect_str_eq(json_string_value(json_object_get(o, "thread")), "w?");
	cr_expect_str_eq(json_string_value(json_object_get(o, "msg")),
	                 "a?b?c??d???e\xf0\x9f\x98\x80");
	json_decref(o);
	free(s);
}

static int evaluated;

static int side_effect(void)
{
	return ++evaluated;
}

Test(log, level_filtering)
{
	capture();
	cm_log_setup(CM_LOG_WARN, 0, 10);
	CM_DEBUG("debug %d", side_effect());
	CM_INFO("info %d", side_effect());
	cr_expect_eq(evaluated, 0, "arguments evaluated for a disabled level");
	CM_LOG_RL(CM_LOG_INFO, "rl info %d", side_effect());
	cr_expect_eq(evaluated, 0);
	CM_WARN("warn %d", side_effect());
	CM_ERR("error %d", side_effect());
	cr_expect_eq(evaluated, 2);
	cr_expect(!cm_log_enabled(CM_LOG_INFO));
	cr_expect(cm_log_enabled(CM_LOG_WARN));

	char *s = captured(NULL);
	cr_expect_eq(count_lines(s), 2, "%s", s);
	cr_expect(strstr(s, "WARN  ["));
	cr_expect(strstr(s, "ERROR ["));
	cr_expect_null(strstr(s, "info"));
	free(s);

	cm_log_setup(CM_LOG_ERROR, 0, 10);
	CM_WARN("no");
	cm_log_setup(CM_LOG_DEBUG, 0, 10);
	CM_DEBUG("yes");
	s = captured(NULL);
	cr_expect_eq(count_lines(s), 3, "%s", s);
	cr_expect_null(strstr(s, "no\n"));
	cr_expect(strstr(s, "] yes\n"));
	free(s);
}

Test(log, rate_gate_counts_per_second)
{
	struct cm_log_site site = { 0 };
	uint64_t sup = 99;
	int passed = 0;

	for (int i = 0; i < 10; i++)
		passed += cm_log_rl_pass_at(&site, 100, 3, &sup);
	cr_expect_eq(passed, 3);
	cr_expect_eq(atomic_load(&site.suppressed), 7);

	/* the next second: the first line carries the count, once */
	cr_expect_eq(cm_log_rl_pass_at(&site, 101, 3, &sup), 1);
	cr_expect_eq(sup, 7);
	cr_expect_eq(cm_log_rl_pass_at(&site, 101, 3, &sup), 1);
	cr_expect_eq(sup, 0);
	cr_expect_eq(cm_log_rl_pass_at(&site, 101, 3, &sup), 1);
	cr_expect_eq(cm_log_rl_pass_at(&site, 101, 3, &sup), 0);

	/* no limit: always passes, and still hands over what was suppressed before */
	cr_expect_eq(cm_log_rl_pass_at(&site, 101, 0, &sup), 1);
	cr_expect_eq(sup, 1);
	for (int i = 0; i < 1000; i++)
		cr_assert_eq(cm_log_rl_pass_at(&site, 101, 0, &sup), 1);

	/* a later second, not just the next one */
	cr_expect_eq(cm_log_rl_pass_at(&site, 5000, 1, &sup), 1);
	cr_expect_eq(cm_log_rl_pass_at(&site, 5000, 1, &sup), 0);
	cr_expect_eq(cm_log_rl_pass_at(&site, 5001, 1, &sup), 1);
	cr_expect_eq(sup, 1);
}

static uint64_t mono_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec;
}

/* One call site, used <n> times. */
static void burst(int n)
{
	for (int i = 0; i < n; i++)
		CM_LOG_RL(CM_LOG_ERROR, "bad packet %d", i);
}

static void wait_next_second(void)
{
	uint64_t s = mono_sec();

	while (mono_sec() == s)
		usleep(5000);
}

Test(log, rate_limited_macro_text)
{
	capture();
	cm_log_setup(CM_LOG_INFO, 0, 3);
	cm_log_thread_name("w1");

	/* all ten calls within one second of the monotonic clock */
	wait_next_second();
	uint64_t before = mono_sec();
	burst(10);
	cr_assert_eq(mono_sec(), before, "the burst crossed a second: machine too slow?");

	char *s = captured(NULL);
	cr_expect_eq(count_lines(s), 3, "%s", s);
	cr_expect(strstr(s, "] bad packet 0\n"));
	cr_expect(strstr(s, "] bad packet 2\n"));
	cr_expect_null(strstr(s, "bad packet 3"));
	cr_expect_null(strstr(s, "suppressed"));
	free(s);

	wait_next_second();
	burst(1);
	s = captured(NULL);
	cr_expect_eq(count_lines(s), 4, "%s", s);
	cr_expect(strstr(s, "] bad packet 0 (7 similar suppressed)\n"), "%s", s);
	free(s);
}

Test(log, rate_limited_macro_json)
{
	capture();
	cm_log_setup(CM_LOG_INFO, 1, 1);

	wait_next_second();
	uint64_t before = mono_sec();
	burst(5);
	cr_assert_eq(mono_sec(), before, "the burst crossed a second: machine too slow?");
	wait_next_second();
	burst(1);

	char *s = captured(NULL);
	cr_assert_eq(count_lines(s), 2, "%s", s);
	json_t *o = parse_line(strchr(s, '\n') + 1);
	cr_expect_str_eq(json_string_value(json_object_get(o, "msg")), "bad packet 0");
	cr_expect_eq(json_integer_value(json_object_get(o, "suppressed")), 4);
	json_decref(o);
	free(s);
}

Test(log, rate_limit_sites_are_separate)
{
	capture();
	cm_log_setup(CM_LOG_INFO, 0, 1);
	wait_next_second();
	for (int i = 0; i < 5; i++) {
		CM_LOG_RL(CM_LOG_WARN, "site A");
		CM_LOG_RL(CM_LOG_WARN, "site B");
	}
	char *s = captured(NULL);
	cr_expect_eq(count_lines(s), 2, "%s", s);
	cr_expect(strstr(s, "] site A\n"));
	cr_expect(strstr(s, "] site B\n"));
	free(s);
}

Test(log, truncation_text)
{
	char big[5000];
	size_t len;

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	capture();
	cm_log_setup(CM_LOG_INFO, 0, 10);
	CM_INFO("%s", big);
	char *s = captured(&len);
	cr_expect_eq(count_lines(s), 1);
	cr_expect_eq(len, CM_LOG_LINE_MAX);
	cr_expect(!strcmp(s + len - 5, "x...\n"), "%s", s + len - 10);
	free(s);
}

Test(log, truncation_text_keeps_suppressed_count_and_utf8)
{
	char big[4001];
	struct cm_log_site site = { 0 };
	uint64_t sup;
	size_t len;

	/* 2-byte characters, so that a cut at an odd offset would split one */
	for (size_t i = 0; i + 1 < sizeof(big); i += 2)
		memcpy(big + i, "\xc3\xa9", 2);
	big[sizeof(big) - 1] = '\0';
	capture();
	cm_log_rl_pass_at(&site, 1, 1, &sup);
	cm_log_rl_pass_at(&site, 1, 1, &sup);
	cr_assert_eq(cm_log_rl_pass_at(&site, 2, 1, &sup), 1);
	cm_log_emit(CM_LOG_ERROR, sup, "%s", big);
	char *s = captured(&len);
	cr_expect_leq(len, CM_LOG_LINE_MAX);
	cr_expect_eq(count_lines(s), 1);
	const char *tail = "... (1 similar suppressed)\n";
	size_t tl = strlen(tail);
	cr_assert(len > tl && !strcmp(s + len - tl, tail), "%s", s + len - 40);
	/* the byte before "..." ends a whole "é" */
	cr_expect_eq((unsigned char)s[len - tl - 1], 0xa9);
	cr_expect_eq((unsigned char)s[len - tl - 2], 0xc3);
	free(s);
}

Test(log, truncation_json_with_escapes)
{
	char big[3000];
	size_t len;

	/* each control byte becomes six bytes of JSON (\u0001) */
	memset(big, '\x01', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	capture();
	cm_log_setup(CM_LOG_INFO, 1, 10);
	CM_INFO("%s", big);
	char *s = captured(&len);
	cr_expect_leq(len, CM_LOG_LINE_MAX);
	cr_expect_gt(len, CM_LOG_LINE_MAX - 16);
	json_t *o = parse_line(s);
	const char *msg = json_string_value(json_object_get(o, "msg"));
	size_t ml = strlen(msg);
	cr_assert_gt(ml, 100);
	cr_expect_str_eq(msg + ml - 3, "...");
	cr_expect_eq(msg[ml - 4], '\x01');
	json_decref(o);
	free(s);
}

Test(log, truncation_json_utf8)
{
	char big[5001];
	size_t len;

	for (size_t i = 0; i + 1 < sizeof(big); i += 2)
		memcpy(big + i, "\xc3\xa9", 2);
	big[sizeof(big) - 1] = '\0';
	capture();
	cm_log_setup(CM_LOG_INFO, 1, 10);
	CM_INFO("%s", big);
	char *s = captured(&len);
	cr_expect_leq(len, CM_LOG_LINE_MAX);
	json_t *o = parse_line(s);       /* jansson refuses invalid UTF-8: a clean cut */
	const char *msg = json_string_value(json_object_get(o, "msg"));
	cr_expect_str_eq(msg + strlen(msg) - 5, "\xc3\xa9...");
	json_decref(o);
	free(s);
}

/* ---- concurrent writers -------------------------------------------------------------- */

#define THREADS 4
#define LINES   500

static void *writer(void *arg)
{
	char name[16];

	snprintf(name, sizeof(name), "w%d", (int)(intptr_t)arg);
	cm_log_thread_name(name);
	for (int i = 0; i < LINES; i++)
		CM_INFO("line %d of %s %s", i, name,
		        "padding padding padding padding padding padding padding padding");
	return NULL;
}

Test(log, threads_do_not_interleave)
{
	pthread_t t[THREADS];
	int seen[THREADS] = { 0 };

	capture();
	cm_log_setup(CM_LOG_INFO, 0, 10);
	for (int i = 0; i < THREADS; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, writer, (void *)(intptr_t)i), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);

	char *s = captured(NULL), *save = NULL;
	cr_assert_eq(count_lines(s), THREADS * LINES);
	for (char *line = strtok_r(s, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		int w, n, w2;
		cr_assert(is_timestamp(line), "%s", line);
		cr_assert_eq(sscanf(line + 24, " INFO  [w%d] line %d of w%d ", &w, &n, &w2), 3, "%s", line);
		cr_assert(w == w2 && w >= 0 && w < THREADS, "%s", line);
		cr_assert_eq(n, seen[w], "%s", line);
		seen[w]++;
		size_t ll = strlen(line);
		cr_assert(ll > 8 && !strcmp(line + ll - 8, " padding"), "%s", line);
	}
	for (int i = 0; i < THREADS; i++)
		cr_expect_eq(seen[i], LINES);
	free(s);
}

static void *rl_writer(void *arg)
{
	(void)arg;
	burst(2000);
	return NULL;
}

Test(log, rate_limit_across_threads)
{
	pthread_t t[THREADS];

	capture();
	cm_log_setup(CM_LOG_INFO, 0, 5);
	uint64_t start = mono_sec();
	for (int i = 0; i < THREADS; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, rl_writer, NULL), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	uint64_t seconds = mono_sec() - start + 1;

	char *s = captured(NULL);
	size_t lines = count_lines(s);
	cr_expect_geq(lines, 5);
	cr_expect_leq(lines, 5 * seconds, "%zu lines in %lu s", lines, (unsigned long)seconds);
	free(s);
}

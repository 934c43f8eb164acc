/* test_bench_aggregate.c — `make bench`'s aggregation (bench/aggregate.jq, run by jq as
 * bench/suite.sh runs it): known runs in, the medians (odd and even counts), min, max, run
 * counts, per-run values and the ratios out. The source tree is $RCSGW_SRCDIR (default: the
 * current directory, as `make test` runs it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <jansson.h>

static const char runs[] =
	"{\"scenario\":\"relay\",\"system\":\"rcsgw\",\"phase\":\"peak\",\"msgs_per_s\":300,\"lat\":9,\"run\":1,\"label\":\"rcsgw\"}\n"
	"{\"scenario\":\"relay\",\"system\":\"ref\",\"phase\":\"peak\",\"msgs_per_s\":100}\n"
	"{\"scenario\":\"relay\",\"system\":\"rcsgw\",\"phase\":\"peak\",\"msgs_per_s\":100,\"lat\":null,\"run\":2}\n"
	"{\"scenario\":\"relay\",\"system\":\"ref\",\"phase\":\"peak\",\"msgs_per_s\":400}\n"
	"{\"scenario\":\"relay\",\"system\":\"rcsgw\",\"phase\":\"peak\",\"msgs_per_s\":200,\"lat\":5,\"seq\":7}\n"
	"{\"scenario\":\"relay\",\"system\":\"ref\",\"phase\":\"peak\",\"msgs_per_s\":200}\n"
	"{\"scenario\":\"relay\",\"system\":\"ref\",\"phase\":\"peak\",\"msgs_per_s\":800}\n"
	"{\"scenario\":\"memory\",\"system\":\"rcsgw\",\"phase\":\"idle\",\"b\":1000.5}\n";

static const char spec[] =
	"[{\"name\":\"rcsgw/ref\",\"num\":[\"relay\",\"rcsgw\",\"peak\",\"msgs_per_s\"],"
	"\"den\":[\"relay\",\"ref\",\"peak\",\"msgs_per_s\"],\"target\":\">= 1\"},"
	"{\"name\":\"missing\",\"num\":[\"relay\",\"rcsgw\",\"light\",\"msgs_per_s\"],"
	"\"den\":[\"relay\",\"ref\",\"peak\",\"msgs_per_s\"]}]";

/* bench/aggregate.jq over <in>, parsed. */
static json_t *aggregate(const char *in)
{
	char path[] = "/tmp/test_bench_aggregate.XXXXXX", cmd[1024];
	int fd = mkstemp(path);
	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, in, strlen(in)), (ssize_t)strlen(in));
	close(fd);
	const char *src = getenv("RCSGW_SRCDIR");
	snprintf(cmd, sizeof(cmd), "jq -s -c --argjson spec '%s' -f '%s/bench/aggregate.jq' '%s'",
		 spec, src && *src ? src : ".", path);
	FILE *p = popen(cmd, "r");
	cr_assert(p, "cannot run jq");
	json_error_t err;
	json_t *j = json_loadf(p, 0, &err);
	int rc = pclose(p);
	unlink(path);
	cr_assert_eq(rc, 0, "jq failed (is jq installed? make deps)");
	cr_assert(j, "not JSON: %s", err.text);
	return j;
}

static double fig(json_t *g, const char *key, const char *what)
{
	json_t *v = json_object_get(json_object_get(json_object_get(g, "figures"), key), what);
	cr_assert(json_is_number(v), "%s.%s missing", key, what);
	return json_number_value(v);
}

Test(bench_aggregate, medians_min_max_and_counts_per_group_in_order_of_first_run)
{
	json_t *j = aggregate(runs);
	json_t *gs = json_object_get(j, "groups");
	cr_assert_eq(json_array_size(gs), 3);
	json_t *a = json_array_get(gs, 0), *b = json_array_get(gs, 1), *m = json_array_get(gs, 2);
	cr_expect_str_eq(json_string_value(json_object_get(a, "system")), "rcsgw");
	cr_expect_str_eq(json_string_value(json_object_get(b, "system")), "ref");
	cr_expect_str_eq(json_string_value(json_object_get(m, "scenario")), "memory");
	cr_expect_eq(json_integer_value(json_object_get(a, "runs")), 3);
	cr_expect_eq(json_integer_value(json_object_get(b, "runs")), 4);
	/* odd count: the middle one; even count: the mean of the two middle ones */
	cr_expect_eq(fig(a, "msgs_per_s", "median"), 200);
	cr_expect_eq(fig(a, "msgs_per_s", "min"), 100);
	cr_expect_eq(fig(a, "msgs_per_s", "max"), 300);
	cr_expect_eq(fig(b, "msgs_per_s", "median"), 300);
	cr_expect_eq(fig(b, "msgs_per_s", "min"), 100);
	cr_expect_eq(fig(b, "msgs_per_s", "max"), 800);
	cr_expect_eq(fig(b, "msgs_per_s", "n"), 4);
	/* a figure missing (null) in one run: over the others, and null in its place */
	cr_expect_eq(fig(a, "lat", "median"), 7);
	cr_expect_eq(fig(a, "lat", "n"), 2);
	json_t *lat = json_object_get(json_object_get(a, "values"), "lat");
	cr_assert_eq(json_array_size(lat), 3);
	cr_expect(json_is_null(json_array_get(lat, 1)));
	cr_expect_eq(json_number_value(json_array_get(lat, 2)), 5);
	/* the scripts' counters and strings are not figures */
	json_t *f = json_object_get(a, "figures");
	cr_expect_null(json_object_get(f, "run"));
	cr_expect_null(json_object_get(f, "seq"));
	cr_expect_null(json_object_get(f, "label"));
	cr_expect_eq(fig(m, "b", "median"), 1000.5);
	json_decref(j);
}

Test(bench_aggregate, ratios_of_medians_with_the_range_of_the_per_run_ratios)
{
	json_t *j = aggregate(runs);
	json_t *rs = json_object_get(j, "ratios");
	cr_assert_eq(json_array_size(rs), 2);
	json_t *r = json_array_get(rs, 0);
	cr_expect_str_eq(json_string_value(json_object_get(r, "target")), ">= 1");
	cr_expect_eq(json_number_value(json_object_get(r, "num_median")), 200);
	cr_expect_eq(json_number_value(json_object_get(r, "den_median")), 300);
	cr_expect_float_eq(json_number_value(json_object_get(r, "value")), 200.0 / 300.0, 1e-12);
	/* run i against run i: 300/100, 100/400, 200/200 (the reference's 4th run has no pair) */
	json_t *pr = json_object_get(r, "per_run");
	cr_assert_eq(json_array_size(pr), 3);
	cr_expect_eq(json_number_value(json_array_get(pr, 0)), 3);
	cr_expect_eq(json_number_value(json_array_get(pr, 1)), 0.25);
	cr_expect_eq(json_number_value(json_array_get(pr, 2)), 1);
	cr_expect_eq(json_number_value(json_object_get(r, "min")), 0.25);
	cr_expect_eq(json_number_value(json_object_get(r, "max")), 3);
	/* a group that was not measured: no value, no runs */
	json_t *miss = json_array_get(rs, 1);
	cr_expect(json_is_null(json_object_get(miss, "value")));
	cr_expect_eq(json_array_size(json_object_get(miss, "per_run")), 0);
	json_decref(j);
}

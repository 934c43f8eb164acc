/* fuzz_msrp_egress.c — libFuzzer target of the relay.egress rule parser
 * (msrp_egress_rules_parse(), msrp/msrp_egress.c).
 *
 * The input is split at '\n' into rules, each copied into a heap string of exactly its
 * length plus the NUL (reads past it stop ASan). Properties: the parser returns 0 with a
 * table of as many rules as lines, or -EINVAL with a message that names a rule index in
 * range; it never crashes or leaks (the table is freed). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cm_config-t.h"
#include "msrp/msrp_egress.h"

#include "tests/fuzz/fuzz_check.h"

#define MAX_RULES 16


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *v[MAX_RULES];
	struct cm_strlist l = { v, 0 };
	struct msrp_egress_rules *r = NULL;
	char err[512];
	size_t start = 0;

	for (size_t i = 0; i <= size && l.n < MAX_RULES; i++) {
		if (i < size && data[i] != '\n')
			continue;
		size_t len = i - start;
		v[l.n] = malloc(len + 1);
		CHECK(v[l.n]);
		memcpy(v[l.n], data + start, len);
		v[l.n][len] = '\0';
		l.n++;
		start = i + 1;
	}
	err[0] = '\0';
	int rc = msrp_egress_rules_parse(&l, &r, err, sizeof(err));
	if (rc == 0) {
		CHECK(r != NULL || l.n == 0);
		if (r)
			CHECK(msrp_egress_rules_count(r) == l.n);
		msrp_egress_rules_free(r);
	} else {
		unsigned idx;
		CHECK(rc == -EINVAL || rc == -ENOMEM);
		if (rc == -EINVAL) {
			CHECK(sscanf(err, "relay.egress[%u]", &idx) == 1);
			CHECK(idx < l.n);
		}
	}
	for (size_t i = 0; i < l.n; i++)
		free(v[i]);
	return 0;
}

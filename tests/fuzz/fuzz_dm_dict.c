/* fuzz_dm_dict.c — libFuzzer target for Diameter dictionary files (diameter/dm_dict.c,
 * dm_dict_load_text): the input, NUL-terminated, loaded into a fresh built-in dictionary.
 * Loaded or refused (then with a sentence saying where), the dictionary stays whole: every
 * built-in AVP is still found by name and by code, and every AVP found by name is the one
 * found by its code. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "diameter/dm_dict.h"

#include "tests/fuzz/fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	CHECK(text);
	memcpy(text, data, size);
	text[size] = '\0';
	struct dm_dict *d = dm_dict_new();
	CHECK(d);
	size_t before, nc, np, after;
	dm_dict_counts(d, &before, &nc, &np);
	char err[512] = "";
	int rc = dm_dict_load_text(d, text, "fuzz.json", err, sizeof(err));
	CHECK(rc == 0 || ((rc == -EINVAL || rc == -ENOMEM) && err[0]));
	dm_dict_counts(d, &after, &nc, &np);
	CHECK(after >= before);
	const struct dm_avp_def *oh = dm_dict_avp_named(d, "Origin-Host");
	CHECK(oh && oh->code == 264 && dm_dict_avp(d, 264, 0) == oh);
	const struct dm_avp_def *ui = dm_dict_avp(d, 700, DM_VENDOR_3GPP);
	CHECK(ui && !strcmp(ui->name, "User-Identity"));
	const struct dm_cmd_def *c = dm_dict_cmd_named(d, "CER");
	CHECK(c && c->code == 257);
	dm_dict_free(d);
	free(text);
	return 0;
}

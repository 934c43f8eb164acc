/* fuzz_cc_json.c — libFuzzer target for the contact centre's flows and agents in JSON
 * (callcenter/cc_json.c: the API's bodies and cc.definitions): the input, parsed by jansson,
 * read as a flow and as an agent (with and without a path id). Taken or refused (then with
 * a sentence), what is taken holds to its bounds: ids 1..63 bytes, NUL-terminated fields,
 * 1..16 skills, max_chats 1..64, known policy and dispatch. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "callcenter/cc_json.h"

#include "tests/fuzz/fuzz_check.h"

static int bounded(const char *s, size_t cap)
{
	return memchr(s, '\0', cap) != NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	if (!j)
		return 0;
	for (int with_path = 0; with_path < 2; with_path++) {
		const char *pid = with_path ? "path-id" : NULL;
		struct cc_flow_cfg f;
		struct cc_agent_cfg a;
		char err[256] = "";
		if (cc_flow_from_json(j, pid, &f, err, sizeof(err)) == 0) {
			CHECK(bounded(f.id, sizeof(f.id)) && f.id[0]);
			CHECK(!with_path || !strcmp(f.id, "path-id"));
			CHECK(bounded(f.skill, sizeof(f.skill)) && f.skill[0]);
			CHECK(bounded(f.queued_text, sizeof(f.queued_text)));
			CHECK(bounded(f.uri, sizeof(f.uri)) && bounded(f.announce_uri,
								      sizeof(f.announce_uri)));
			CHECK(f.policy == CC_BALANCING || f.policy == CC_FULL_LOAD);
			CHECK(f.dispatch == CC_INTERNAL || f.dispatch == CC_EXTERNAL);
		} else {
			CHECK(err[0]);
		}
		err[0] = '\0';
		if (cc_agent_from_json(j, pid, &a, err, sizeof(err)) == 0) {
			CHECK(bounded(a.id, sizeof(a.id)) && a.id[0]);
			CHECK(a.nskills >= 1 && a.nskills <= CC_SKILLS_MAX);
			for (unsigned i = 0; i < a.nskills; i++)
				CHECK(bounded(a.skills[i], sizeof(a.skills[i])) && a.skills[i][0]);
			CHECK(a.max_chats >= 1 && a.max_chats <= CC_MAX_CHATS_LIMIT);
			CHECK(a.voice[0] || a.chat[0]);
		} else {
			CHECK(err[0]);
		}
	}
	json_decref(j);
	return 0;
}

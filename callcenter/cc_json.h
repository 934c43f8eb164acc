/* cc_json.h — flows and agents from JSON (the API's bodies, cc.definitions): the fields of
 * api/openapi.yaml's CcFlowIn and CcAgentIn, checked and bounded. Any thread. */
#ifndef CC_JSON_H
#define CC_JSON_H

#include <jansson.h>
#include <stddef.h>

#include "callcenter/cc_core.h"

/* Object <j> into <f>; <path_id> (NULL or "": none) is the id the path names, which the
 * body's "id" must equal when it has one. 0, or -1 with <err> naming the field. */
int cc_flow_from_json(json_t *j, const char *path_id, struct cc_flow_cfg *f, char *err,
		      size_t len);
int cc_agent_from_json(json_t *j, const char *path_id, struct cc_agent_cfg *a, char *err,
		       size_t len);

/* A definitions file: {"flows": [...], "agents": [...]} (both optional, nothing else). Into
 * malloc'd arrays (*<flows>, *<agents>: the caller frees them). 0, or -1 with <err> (the
 * file, and the flow or agent at fault). */
int cc_definitions_load(const char *path, struct cc_flow_cfg **flows, size_t *nflows,
			struct cc_agent_cfg **agents, size_t *nagents, char *err, size_t len);

#endif

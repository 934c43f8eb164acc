/* cc_json.c — flows and agents from JSON (see cc_json.h). */
#include "callcenter/cc_json.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sip/sip_hdr.h"

static int fail(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -1;
}

static int only(json_t *j, const char *const *allowed, char *err, size_t len)
{
	const char *k;
	json_t *v;
	if (!json_is_object(j))
		return fail(err, len, "not a JSON object");
	json_object_foreach(j, k, v) {
		unsigned i = 0;
		while (allowed[i] && strcmp(k, allowed[i]))
			i++;
		if (!allowed[i])
			return fail(err, len, "unknown field '%.64s'", k);
	}
	return 0;
}

/* String member <k> into <out> (<cap> bytes with the NUL); absent or null: left as it is. */
static int str_field(json_t *j, const char *k, char *out, size_t cap, char *err, size_t len)
{
	json_t *v = json_object_get(j, k);
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v) || json_string_length(v) >= cap)
		return fail(err, len, "field '%s' must be a string of at most %zu bytes", k,
			    cap - 1);
	memcpy(out, json_string_value(v), json_string_length(v) + 1);
	return 0;
}

static int int_field(json_t *j, const char *k, long long lo, long long hi, long long *out,
		     char *err, size_t len)
{
	json_t *v = json_object_get(j, k);
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
		return fail(err, len, "field '%s' must be an integer from %lld to %lld", k, lo, hi);
	*out = json_integer_value(v);
	return 0;
}

/* <uri> ("" allowed) is a sip: or sips: URI with a host. */
static int uri_field(const char *k, const char *uri, char *err, size_t len)
{
	struct sip_uri u;
	if (!*uri || (sip_uri_parse((cm_slice){ uri, strlen(uri) }, &u) == 0 && u.host.len &&
		      (u.scheme == SIP_SCHEME_SIP || u.scheme == SIP_SCHEME_SIPS)))
		return 0;
	return fail(err, len, "field '%s' must be a sip: URI with a host", k);
}

/* <uri> ("" allowed) is an absolute URI fit for a header (scheme ":" then printable
 * characters without blanks, quotes or angle brackets): an announcement, http: or sip:. */
static int abs_uri_field(const char *k, const char *uri, char *err, size_t len)
{
	size_t i = 0;
	if (!*uri)
		return 0;
	while ((uri[i] >= 'a' && uri[i] <= 'z') || (uri[i] >= 'A' && uri[i] <= 'Z') ||
	       (i && ((uri[i] >= '0' && uri[i] <= '9') || uri[i] == '+' || uri[i] == '-' ||
		      uri[i] == '.')))
		i++;
	int ok = i > 0 && uri[i] == ':' && uri[i + 1];
	for (i++; ok && uri[i]; i++)
		ok = (unsigned char)uri[i] > ' ' && (unsigned char)uri[i] < 0x7f &&
		     !strchr("<>\"", uri[i]);
	return ok ? 0 : fail(err, len, "field '%s' must be an absolute URI (http: or sip:)", k);
}

/* The body's id or the path's (both: the same). */
static int body_id(json_t *j, const char *path_id, char *id, char *err, size_t len)
{
	char bid[CC_ID_MAX + 1] = "";
	if (str_field(j, "id", bid, sizeof(bid), err, len) < 0)
		return -1;
	if (path_id && *path_id && bid[0] && strcmp(bid, path_id))
		return fail(err, len, "field 'id' says another id than the path");
	snprintf(id, CC_ID_MAX + 1, "%s", path_id && *path_id ? path_id : bid);
	return *id ? 0 : fail(err, len, "field 'id' is missing");
}

int cc_flow_from_json(json_t *j, const char *path_id, struct cc_flow_cfg *f, char *err,
		      size_t len)
{
	static const char *const fields[] = { "id", "skill", "priority", "max_wait_s",
					      "chat_dispatch_policy", "dispatch", "queued_text",
					      "announce_uri", "uri", NULL };
	long long prio = 0, wait = 0;
	char pol[16] = "balancing", dis[16] = "internal";
	memset(f, 0, sizeof(*f));
	if (only(j, fields, err, len) < 0 || body_id(j, path_id, f->id, err, len) < 0 ||
	    str_field(j, "skill", f->skill, sizeof(f->skill), err, len) < 0 ||
	    int_field(j, "priority", -1000000, 1000000, &prio, err, len) < 0 ||
	    int_field(j, "max_wait_s", 0, 7 * 86400, &wait, err, len) < 0 ||
	    str_field(j, "chat_dispatch_policy", pol, sizeof(pol), err, len) < 0 ||
	    str_field(j, "dispatch", dis, sizeof(dis), err, len) < 0 ||
	    str_field(j, "queued_text", f->queued_text, sizeof(f->queued_text), err, len) < 0 ||
	    str_field(j, "announce_uri", f->announce_uri, sizeof(f->announce_uri), err, len) < 0 ||
	    str_field(j, "uri", f->uri, sizeof(f->uri), err, len) < 0 ||
	    uri_field("uri", f->uri, err, len) < 0 ||
	    abs_uri_field("announce_uri", f->announce_uri, err, len) < 0)
		return -1;
	if (!f->skill[0])
		return fail(err, len, "field 'skill' is missing");
	f->priority = (int)prio;
	f->max_wait_s = (uint32_t)wait;
	if (strcmp(pol, "balancing") && strcmp(pol, "full-load"))
		return fail(err, len, "field 'chat_dispatch_policy' is 'balancing' or 'full-load'");
	f->policy = pol[0] == 'b' ? CC_BALANCING : CC_FULL_LOAD;
	if (strcmp(dis, "internal") && strcmp(dis, "external"))
		return fail(err, len, "field 'dispatch' is 'internal' or 'external'");
	f->dispatch = dis[0] == 'i' ? CC_INTERNAL : CC_EXTERNAL;
	return 0;
}

int cc_agent_from_json(json_t *j, const char *path_id, struct cc_agent_cfg *a, char *err,
		       size_t len)
{
	static const char *const fields[] = { "id", "skills", "voice_location", "chat_location",
					      "max_chats", "wrapup_s", NULL };
	long long maxc = 4, wrap = 0;
	memset(a, 0, sizeof(*a));
	if (only(j, fields, err, len) < 0 || body_id(j, path_id, a->id, err, len) < 0 ||
	    str_field(j, "voice_location", a->voice, sizeof(a->voice), err, len) < 0 ||
	    str_field(j, "chat_location", a->chat, sizeof(a->chat), err, len) < 0 ||
	    uri_field("voice_location", a->voice, err, len) < 0 ||
	    uri_field("chat_location", a->chat, err, len) < 0 ||
	    int_field(j, "max_chats", 1, CC_MAX_CHATS_LIMIT, &maxc, err, len) < 0 ||
	    int_field(j, "wrapup_s", 0, 86400, &wrap, err, len) < 0)
		return -1;
	json_t *sk = json_object_get(j, "skills"), *v;
	size_t i;
	if (!json_is_array(sk) || !json_array_size(sk) || json_array_size(sk) > CC_SKILLS_MAX)
		return fail(err, len, "field 'skills' must be an array of 1 to %d strings",
			    CC_SKILLS_MAX);
	json_array_foreach(sk, i, v) {
		if (!json_is_string(v) || !json_string_length(v) ||
		    json_string_length(v) > CC_ID_MAX)
			return fail(err, len, "field 'skills' holds strings of 1 to %d bytes",
				    CC_ID_MAX);
		memcpy(a->skills[i], json_string_value(v), json_string_length(v) + 1);
	}
	a->nskills = (unsigned)json_array_size(sk);
	if (!a->voice[0] && !a->chat[0])
		return fail(err, len, "give the agent a 'chat_location' or a 'voice_location'");
	a->max_chats = (unsigned)maxc;
	a->wrapup_s = (uint32_t)wrap;
	return 0;
}

/* Each element of array <arr> (<what>: "flows" or "agents") into a malloc'd array. */
static int each(const char *path, json_t *arr, const char *what, void **out, size_t *n,
		size_t size, char *err, size_t len)
{
	*out = NULL;
	*n = 0;
	if (!arr || json_is_null(arr))
		return 0;
	if (!json_is_array(arr))
		return fail(err, len, "%s: '%s' must be an array", path, what);
	if (!json_array_size(arr))
		return 0;
	char *v = calloc(json_array_size(arr), size);
	if (!v)
		return fail(err, len, "%s: out of memory", path);
	size_t i;
	json_t *o;
	char why[256];
	json_array_foreach(arr, i, o) {
		int rc = what[0] == 'f'
				 ? cc_flow_from_json(o, NULL, (struct cc_flow_cfg *)(void *)(v + i * size),
						     why, sizeof(why))
				 : cc_agent_from_json(o, NULL,
						      (struct cc_agent_cfg *)(void *)(v + i * size),
						      why, sizeof(why));
		if (rc < 0) {
			free(v);
			return fail(err, len, "%s: %s[%zu]: %s", path, what, i, why);
		}
	}
	*out = v;
	*n = json_array_size(arr);
	return 0;
}

int cc_definitions_load(const char *path, struct cc_flow_cfg **flows, size_t *nflows,
			struct cc_agent_cfg **agents, size_t *nagents, char *err, size_t len)
{
	static const char *const fields[] = { "flows", "agents", NULL };
	json_error_t je;
	*flows = NULL;
	*agents = NULL;
	*nflows = *nagents = 0;
	json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (!j)
		return fail(err, len, "%s:%d: %s", path, je.line, je.text);
	char why[256];
	int rc = only(j, fields, why, sizeof(why));
	if (rc < 0)
		fail(err, len, "%s: %s", path, why);
	if (rc == 0)
		rc = each(path, json_object_get(j, "flows"), "flows", (void **)flows, nflows,
			  sizeof(**flows), err, len);
	if (rc == 0)
		rc = each(path, json_object_get(j, "agents"), "agents", (void **)agents, nagents,
			  sizeof(**agents), err, len);
	json_decref(j);
	if (rc < 0) {
		free(*flows);
		*flows = NULL;
		*nflows = 0;
	}
	return rc;
}

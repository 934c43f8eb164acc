/* rcs_composing.c — isComposing documents (RFC 3994). See rcs_composing.h for the form and
 * the contracts; the XML goes through rcs_xml. */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <strings.h>

#include "rcs/rcs_composing.h"
#include "rcs/rcs_xml.h"

#define NS RCS_COMPOSING_NS

enum { N_ROOT = 1, N_STATE, N_LASTACTIVE, N_CONTENTTYPE, N_REFRESH };

static const struct rcs_xml_node composing_nodes[] = {
	{ N_ROOT, 0, NS, "isComposing", 0 },
	{ N_STATE, N_ROOT, NS, "state", 1 },
	{ N_LASTACTIVE, N_ROOT, NS, "lastactive", 1 },
	{ N_CONTENTTYPE, N_ROOT, NS, "contenttype", 1 },
	{ N_REFRESH, N_ROOT, NS, "refresh", 1 },
};

struct composing_pctx {
	struct rcs_composing *out;
	unsigned seen;   /* 1 << node id of the elements met */
};

static int composing_start(void *c, int id, const char **attrs)
{
	struct composing_pctx *x = c;

	(void)attrs;
	if (x->seen & (1u << id))
		return -EINVAL;
	x->seen |= 1u << id;
	return 0;
}

static int composing_end(void *c, int id, cm_slice text)
{
	struct composing_pctx *x = c;
	struct rcs_composing *o = x->out;
	uint64_t v;
	int rc;

	switch (id) {
	case N_STATE:
		if (text.len == 6 && strncasecmp(text.p, "active", 6) == 0)
			o->active = 1;
		else if (text.len == 4 && strncasecmp(text.p, "idle", 4) == 0)
			o->active = 0;
		else
			return -EINVAL;
		return 0;
	case N_LASTACTIVE:
		return rcs_xml_copy(o->lastactive, sizeof(o->lastactive), text);
	case N_CONTENTTYPE:
		return rcs_xml_copy(o->contenttype, sizeof(o->contenttype), text);
	case N_REFRESH:
		rc = rcs_xml_uint(text, UINT_MAX, &v);
		if (rc < 0)
			return rc;
		if (v == 0)
			return -EINVAL;   /* xs:positiveInteger */
		o->refresh = (unsigned)v;
		return 0;
	default:
		return 0;
	}
}

static const struct rcs_xml_doc composing_doc = {
	composing_nodes, sizeof(composing_nodes) / sizeof(composing_nodes[0]), composing_start,
	composing_end,
};

int rcs_composing_parse(const char *p, size_t len, struct rcs_composing *out)
{
	struct composing_pctx x = { .out = out };
	int rc;

	memset(out, 0, sizeof(*out));
	rc = rcs_xml_parse(p, len, &composing_doc, &x);
	if (rc == 0 && !(x.seen & (1u << N_STATE)))
		rc = -EINVAL;
	if (rc != 0)
		memset(out, 0, sizeof(*out));
	return rc;
}

long rcs_composing_write(char *buf, size_t cap, const struct rcs_composing *in)
{
	struct rcs_xml_w w;

	rcs_xml_w_init(&w, buf, cap);
	if (!in || (in->active != 0 && in->active != 1)) {
		w.err = -EINVAL;
		return rcs_xml_w_end(&w);
	}
	rcs_xml_w_raw(&w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
			  "<isComposing xmlns=\"" NS "\">\n  <state>");
	rcs_xml_w_raw(&w, in->active ? "active" : "idle");
	rcs_xml_w_raw(&w, "</state>\n");
	if (in->lastactive[0])
		rcs_xml_w_elem(&w, "  ", "lastactive", in->lastactive, sizeof(in->lastactive));
	if (in->contenttype[0])
		rcs_xml_w_elem(&w, "  ", "contenttype", in->contenttype, sizeof(in->contenttype));
	if (in->refresh)
		rcs_xml_w_uint_elem(&w, "  ", "refresh", in->refresh);
	rcs_xml_w_raw(&w, "</isComposing>\n");
	return rcs_xml_w_end(&w);
}

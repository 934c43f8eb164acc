/* rcs_imdn.c — IMDN documents and Disposition-Notification values (RFC 5438). See
 * rcs_imdn.h for the forms and the contracts; the XML goes through rcs_xml. */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "rcs/rcs_imdn.h"
#include "rcs/rcs_xml.h"

#define NS RCS_IMDN_NS
#define NKINDS 3
#define NSTATUS 7

static const char *const kind_names[NKINDS + 1] = {
	[RCS_IMDN_DELIVERY] = "delivery",
	[RCS_IMDN_DISPLAY] = "display",
	[RCS_IMDN_PROCESSING] = "processing",
};

static const char *const status_names[NSTATUS + 1] = {
	[RCS_IMDN_DELIVERED] = "delivered",
	[RCS_IMDN_FAILED] = "failed",
	[RCS_IMDN_FORBIDDEN] = "forbidden",
	[RCS_IMDN_ERROR] = "error",
	[RCS_IMDN_DISPLAYED] = "displayed",
	[RCS_IMDN_PROCESSED] = "processed",
	[RCS_IMDN_STORED] = "stored",
};

#define BIT(st) (1u << (st))
/* The statuses each kind takes (RFC 5438 §7.2.1). */
static const unsigned kind_statuses[NKINDS + 1] = {
	[RCS_IMDN_DELIVERY] = BIT(RCS_IMDN_DELIVERED) | BIT(RCS_IMDN_FAILED) |
			      BIT(RCS_IMDN_FORBIDDEN) | BIT(RCS_IMDN_ERROR),
	[RCS_IMDN_DISPLAY] = BIT(RCS_IMDN_DISPLAYED) | BIT(RCS_IMDN_FORBIDDEN) |
			     BIT(RCS_IMDN_ERROR),
	[RCS_IMDN_PROCESSING] = BIT(RCS_IMDN_PROCESSED) | BIT(RCS_IMDN_STORED) |
				BIT(RCS_IMDN_FORBIDDEN) | BIT(RCS_IMDN_ERROR),
};

const char *rcs_imdn_kind_name(enum rcs_imdn_kind k)
{
	return (unsigned)k >= 1 && (unsigned)k <= NKINDS ? kind_names[k] : "";
}

const char *rcs_imdn_status_name(enum rcs_imdn_status st)
{
	return (unsigned)st >= 1 && (unsigned)st <= NSTATUS ? status_names[st] : "";
}

int rcs_imdn_status_allowed(enum rcs_imdn_kind k, enum rcs_imdn_status st)
{
	return (unsigned)k >= 1 && (unsigned)k <= NKINDS && (unsigned)st >= 1 &&
	       (unsigned)st <= NSTATUS && (kind_statuses[k] & BIT(st)) != 0;
}

/* ---- parsing ----------------------------------------------------------------------------- */

/* Node ids: the notification of kind k is NOTIF + k, its <status> STATUS + k, and the
 * status element s inside that VALUE + 10 * k + s. */
enum { N_IMDN = 1, N_MSGID, N_DATETIME, N_RURI, N_ORURI, NOTIF = 10, STATUS = 20, VALUE = 100 };

#define VALUES(k)                                                                          \
	{ VALUE + 10 * (k) + RCS_IMDN_DELIVERED, STATUS + (k), NS, "delivered", 0 },       \
	{ VALUE + 10 * (k) + RCS_IMDN_FAILED, STATUS + (k), NS, "failed", 0 },             \
	{ VALUE + 10 * (k) + RCS_IMDN_FORBIDDEN, STATUS + (k), NS, "forbidden", 0 },       \
	{ VALUE + 10 * (k) + RCS_IMDN_ERROR, STATUS + (k), NS, "error", 0 },               \
	{ VALUE + 10 * (k) + RCS_IMDN_DISPLAYED, STATUS + (k), NS, "displayed", 0 },       \
	{ VALUE + 10 * (k) + RCS_IMDN_PROCESSED, STATUS + (k), NS, "processed", 0 },       \
	{ VALUE + 10 * (k) + RCS_IMDN_STORED, STATUS + (k), NS, "stored", 0 }

static const struct rcs_xml_node imdn_nodes[] = {
	{ N_IMDN, 0, NS, "imdn", 0 },
	{ N_MSGID, N_IMDN, NS, "message-id", 1 },
	{ N_DATETIME, N_IMDN, NS, "datetime", 1 },
	{ N_RURI, N_IMDN, NS, "recipient-uri", 1 },
	{ N_ORURI, N_IMDN, NS, "original-recipient-uri", 1 },
	{ NOTIF + RCS_IMDN_DELIVERY, N_IMDN, NS, "delivery-notification", 0 },
	{ NOTIF + RCS_IMDN_DISPLAY, N_IMDN, NS, "display-notification", 0 },
	{ NOTIF + RCS_IMDN_PROCESSING, N_IMDN, NS, "processing-notification", 0 },
	{ STATUS + RCS_IMDN_DELIVERY, NOTIF + RCS_IMDN_DELIVERY, NS, "status", 0 },
	{ STATUS + RCS_IMDN_DISPLAY, NOTIF + RCS_IMDN_DISPLAY, NS, "status", 0 },
	{ STATUS + RCS_IMDN_PROCESSING, NOTIF + RCS_IMDN_PROCESSING, NS, "status", 0 },
	VALUES(RCS_IMDN_DELIVERY),
	VALUES(RCS_IMDN_DISPLAY),
	VALUES(RCS_IMDN_PROCESSING),
};

struct imdn_pctx {
	struct rcs_imdn *out;
	unsigned seen;   /* BIT(node id) of the singular elements met, for N_IMDN..STATUS+3 */
};

static int imdn_start(void *c, int id, const char **attrs)
{
	struct imdn_pctx *x = c;

	(void)attrs;
	if (id >= VALUE) {
		int k = (id - VALUE) / 10, st = (id - VALUE) % 10;

		if (x->out->status)
			return -EINVAL;   /* two statuses */
		if (!rcs_imdn_status_allowed((enum rcs_imdn_kind)k, (enum rcs_imdn_status)st))
			return -EINVAL;
		x->out->status = (enum rcs_imdn_status)st;
		return 0;
	}
	if (x->seen & BIT(id))
		return -EINVAL;   /* repeated */
	x->seen |= BIT(id);
	if (id > NOTIF && id <= NOTIF + NKINDS) {
		if (x->out->kind)
			return -EINVAL;   /* two notifications */
		x->out->kind = (enum rcs_imdn_kind)(id - NOTIF);
	}
	return 0;
}

static int imdn_end(void *c, int id, cm_slice text)
{
	struct imdn_pctx *x = c;
	struct rcs_imdn *o = x->out;

	switch (id) {
	case N_MSGID:
		return rcs_xml_copy(o->message_id, sizeof(o->message_id), text);
	case N_DATETIME:
		return rcs_xml_copy(o->datetime, sizeof(o->datetime), text);
	case N_RURI:
		return rcs_xml_copy(o->recipient_uri, sizeof(o->recipient_uri), text);
	case N_ORURI:
		return rcs_xml_copy(o->original_recipient_uri, sizeof(o->original_recipient_uri),
				    text);
	default:
		return 0;
	}
}

static const struct rcs_xml_doc imdn_doc = {
	imdn_nodes, sizeof(imdn_nodes) / sizeof(imdn_nodes[0]), imdn_start, imdn_end,
};

int rcs_imdn_parse(const char *p, size_t len, struct rcs_imdn *out)
{
	struct imdn_pctx x = { .out = out };
	int rc;

	memset(out, 0, sizeof(*out));
	rc = rcs_xml_parse(p, len, &imdn_doc, &x);
	if (rc == 0 && (!out->message_id[0] || !out->datetime[0] || !out->kind || !out->status))
		rc = -EINVAL;
	if (rc != 0)
		memset(out, 0, sizeof(*out));
	return rc;
}

/* ---- writing ----------------------------------------------------------------------------- */

long rcs_imdn_write(char *buf, size_t cap, const struct rcs_imdn *in)
{
	struct rcs_xml_w w;
	const char *kind;

	rcs_xml_w_init(&w, buf, cap);
	if (!in || !rcs_imdn_status_allowed(in->kind, in->status) || !in->message_id[0] ||
	    !in->datetime[0]) {
		w.err = -EINVAL;
		return rcs_xml_w_end(&w);
	}
	kind = rcs_imdn_kind_name(in->kind);
	rcs_xml_w_raw(&w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
			  "<imdn xmlns=\"" NS "\">\n");
	rcs_xml_w_elem(&w, "  ", "message-id", in->message_id, sizeof(in->message_id));
	rcs_xml_w_elem(&w, "  ", "datetime", in->datetime, sizeof(in->datetime));
	if (in->recipient_uri[0])
		rcs_xml_w_elem(&w, "  ", "recipient-uri", in->recipient_uri,
			       sizeof(in->recipient_uri));
	if (in->original_recipient_uri[0])
		rcs_xml_w_elem(&w, "  ", "original-recipient-uri", in->original_recipient_uri,
			       sizeof(in->original_recipient_uri));
	rcs_xml_w_raw(&w, "  <");
	rcs_xml_w_raw(&w, kind);
	rcs_xml_w_raw(&w, "-notification>\n    <status>\n      <");
	rcs_xml_w_raw(&w, rcs_imdn_status_name(in->status));
	rcs_xml_w_raw(&w, "/>\n    </status>\n  </");
	rcs_xml_w_raw(&w, kind);
	rcs_xml_w_raw(&w, "-notification>\n</imdn>\n");
	return rcs_xml_w_end(&w);
}

/* ---- Disposition-Notification ------------------------------------------------------------ */

static const struct {
	const char *name;
	unsigned flag;
} dn_tokens[] = {
	{ "positive-delivery", RCS_DN_POSITIVE_DELIVERY },
	{ "negative-delivery", RCS_DN_NEGATIVE_DELIVERY },
	{ "display", RCS_DN_DISPLAY },
	{ "processing", RCS_DN_PROCESSING },
};
#define DN_ALL (RCS_DN_POSITIVE_DELIVERY | RCS_DN_NEGATIVE_DELIVERY | RCS_DN_DISPLAY | \
		RCS_DN_PROCESSING)

static int dn_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

unsigned rcs_imdn_dn_parse(const char *p, size_t len)
{
	unsigned flags = 0;
	size_t i = 0;

	if (!p)
		return 0;
	while (i < len) {
		size_t b = i, e;

		while (i < len && p[i] != ',')
			i++;
		e = i++;   /* past the comma */
		while (b < e && dn_ws(p[b]))
			b++;
		while (e > b && dn_ws(p[e - 1]))
			e--;
		for (size_t k = 0; k < sizeof(dn_tokens) / sizeof(dn_tokens[0]); k++)
			if (strlen(dn_tokens[k].name) == e - b &&
			    strncasecmp(p + b, dn_tokens[k].name, e - b) == 0)
				flags |= dn_tokens[k].flag;
	}
	return flags;
}

long rcs_imdn_dn_write(char *buf, size_t cap, unsigned flags)
{
	struct rcs_xml_w w;
	int first = 1;

	rcs_xml_w_init(&w, buf, cap);
	if (flags == 0 || (flags & ~DN_ALL)) {
		w.err = -EINVAL;
		return rcs_xml_w_end(&w);
	}
	for (size_t k = 0; k < sizeof(dn_tokens) / sizeof(dn_tokens[0]); k++) {
		if (!(flags & dn_tokens[k].flag))
			continue;
		if (!first)
			rcs_xml_w_raw(&w, ", ");
		rcs_xml_w_raw(&w, dn_tokens[k].name);
		first = 0;
	}
	return rcs_xml_w_end(&w);
}

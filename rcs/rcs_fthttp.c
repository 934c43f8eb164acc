/* rcs_fthttp.c — the file transfer over HTTP descriptor (GSMA RCC.07). See rcs_fthttp.h for
 * the form and the contracts; the XML goes through rcs_xml. */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <strings.h>

#include "rcs/rcs_fthttp.h"
#include "rcs/rcs_xml.h"

#define NS    RCS_FTHTTP_NS
#define AM_NS RCS_FTHTTP_AM_NS

enum { N_FILE = 1, N_INFO, N_SIZE, N_NAME, N_CTYPE, N_DATA, N_PLAYLEN };

static const struct rcs_xml_node ft_nodes[] = {
	{ N_FILE, 0, NS, "file", 0 },
	{ N_INFO, N_FILE, NS, "file-info", 0 },
	{ N_SIZE, N_INFO, NS, "file-size", 1 },
	{ N_NAME, N_INFO, NS, "file-name", 1 },
	{ N_CTYPE, N_INFO, NS, "content-type", 1 },
	{ N_DATA, N_INFO, NS, "data", 0 },
	{ N_PLAYLEN, N_INFO, AM_NS, "playing-length", 1 },
};

struct ft_pctx {
	struct rcs_fthttp *out;
	struct rcs_ft_info *cur;   /* the part of the open <file-info>, NULL outside one */
	unsigned seen;             /* 1 << node id of the children of <cur> met */
};

/* The trimmed value of the attribute <name> of <attrs>, empty when absent. */
static cm_slice attr(const char **attrs, const char *name)
{
	const char *v = rcs_xml_attr(attrs, name);

	return rcs_xml_trim(v ? (cm_slice){ v, strlen(v) } : (cm_slice){ "", 0 });
}

static int slice_ieq(cm_slice s, const char *lit)
{
	size_t n = strlen(lit);

	return s.len == n && strncasecmp(s.p, lit, n) == 0;
}

static int info_start(struct ft_pctx *x, const char **attrs)
{
	cm_slice type = attr(attrs, "type"), disp;
	struct rcs_ft_info *fi;

	if (slice_ieq(type, "file"))
		fi = &x->out->file;
	else if (slice_ieq(type, "thumbnail"))
		fi = &x->out->thumbnail;
	else
		return RCS_XML_SKIP;   /* a kind of part we do not know */
	if (fi->present)
		return -EINVAL;
	fi->present = 1;
	x->cur = fi;
	x->seen = 0;
	if (fi != &x->out->file)
		return 0;
	disp = attr(attrs, "file-disposition");
	if (slice_ieq(disp, "render"))
		strcpy(fi->disposition, "render");
	else if (slice_ieq(disp, "attachment") || slice_ieq(disp, "attach"))
		strcpy(fi->disposition, "attachment");
	return 0;
}

static int ft_start(void *c, int id, const char **attrs)
{
	struct ft_pctx *x = c;
	int rc;

	if (id == N_FILE)
		return 0;
	if (id == N_INFO)
		return info_start(x, attrs);
	if (x->seen & (1u << id))
		return -EINVAL;   /* a child of <file-info> repeated */
	x->seen |= 1u << id;
	if (id != N_DATA)
		return 0;
	rc = rcs_xml_copy(x->cur->url, sizeof(x->cur->url), attr(attrs, "url"));
	if (rc == 0)
		rc = rcs_xml_copy(x->cur->until, sizeof(x->cur->until), attr(attrs, "until"));
	return rc;
}

static int ft_end(void *c, int id, cm_slice text)
{
	struct ft_pctx *x = c;
	struct rcs_ft_info *fi = x->cur;
	int is_file = fi == &x->out->file;
	uint64_t v;
	int rc;

	switch (id) {
	case N_INFO:
		x->cur = NULL;
		return fi->url[0] ? 0 : -EINVAL;
	case N_SIZE:
		return rcs_xml_uint(text, UINT64_MAX, &fi->size);
	case N_NAME:
		return is_file ? rcs_xml_copy(fi->name, sizeof(fi->name), text) : 0;
	case N_CTYPE:
		return rcs_xml_copy(fi->content_type, sizeof(fi->content_type), text);
	case N_PLAYLEN:
		if (!is_file)
			return 0;
		rc = rcs_xml_uint(text, UINT_MAX, &v);
		if (rc == 0)
			fi->playing_length = (unsigned)v;
		return rc;
	default:
		return 0;
	}
}

static const struct rcs_xml_doc ft_doc = {
	ft_nodes, sizeof(ft_nodes) / sizeof(ft_nodes[0]), ft_start, ft_end,
};

int rcs_fthttp_parse(const char *p, size_t len, struct rcs_fthttp *out)
{
	struct ft_pctx x = { .out = out };
	int rc;

	memset(out, 0, sizeof(*out));
	rc = rcs_xml_parse(p, len, &ft_doc, &x);
	if (rc == 0 && !out->file.present)
		rc = -EINVAL;
	if (rc != 0)
		memset(out, 0, sizeof(*out));
	return rc;
}

/* ---- writing ----------------------------------------------------------------------------- */

/* One <file-info> of <fi>, of type <type>. */
static void w_info(struct rcs_xml_w *w, const struct rcs_ft_info *fi, const char *type)
{
	rcs_xml_w_raw(w, "  <file-info type=\"");
	rcs_xml_w_raw(w, type);
	rcs_xml_w_raw(w, "\"");
	if (fi->disposition[0]) {
		rcs_xml_w_raw(w, " file-disposition=\"");
		rcs_xml_w_raw(w, fi->disposition);   /* checked: render or attachment */
		rcs_xml_w_raw(w, "\"");
	}
	rcs_xml_w_raw(w, ">\n");
	rcs_xml_w_uint_elem(w, "    ", "file-size", fi->size);
	if (fi->name[0])
		rcs_xml_w_elem(w, "    ", "file-name", fi->name, sizeof(fi->name));
	if (fi->content_type[0])
		rcs_xml_w_elem(w, "    ", "content-type", fi->content_type,
			       sizeof(fi->content_type));
	if (fi->playing_length)
		rcs_xml_w_uint_elem(w, "    ", "am:playing-length", fi->playing_length);
	rcs_xml_w_raw(w, "    <data url=\"");
	rcs_xml_w_text(w, fi->url, sizeof(fi->url));
	rcs_xml_w_raw(w, "\"");
	if (fi->until[0]) {
		rcs_xml_w_raw(w, " until=\"");
		rcs_xml_w_text(w, fi->until, sizeof(fi->until));
		rcs_xml_w_raw(w, "\"");
	}
	rcs_xml_w_raw(w, "/>\n  </file-info>\n");
}

static int disposition_ok(const char *d, size_t size)
{
	size_t n = strnlen(d, size);

	return n < size && (n == 0 || strcmp(d, "render") == 0 || strcmp(d, "attachment") == 0);
}

long rcs_fthttp_write(char *buf, size_t cap, const struct rcs_fthttp *in)
{
	struct rcs_xml_w w;
	const struct rcs_ft_info *th;

	rcs_xml_w_init(&w, buf, cap);
	if (!in || !in->file.present || !in->file.url[0] ||
	    !disposition_ok(in->file.disposition, sizeof(in->file.disposition))) {
		w.err = -EINVAL;
		return rcs_xml_w_end(&w);
	}
	th = in->thumbnail.present ? &in->thumbnail : NULL;
	if (th && (!th->url[0] || th->name[0] || th->disposition[0] || th->playing_length)) {
		w.err = -EINVAL;
		return rcs_xml_w_end(&w);
	}
	rcs_xml_w_raw(&w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<file xmlns=\"" NS "\"");
	if (in->file.playing_length)
		rcs_xml_w_raw(&w, " xmlns:am=\"" AM_NS "\"");
	rcs_xml_w_raw(&w, ">\n");
	if (th)
		w_info(&w, th, "thumbnail");
	w_info(&w, &in->file, "file");
	rcs_xml_w_raw(&w, "</file>\n");
	return rcs_xml_w_end(&w);
}

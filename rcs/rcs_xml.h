/* rcs_xml.h — what the XML bodies of the RCS layer share (IMDN, isComposing, FT over HTTP):
 * a bounded reader on expat and an escaping writer. Nothing here knows a body; each body
 * (rcs_imdn.c, rcs_composing.c, rcs_fthttp.c) describes the elements it knows in a table
 * and is called back for those only.
 *
 * Reader. expat in namespace mode (XML_ParserCreateNS), so elements are matched on their
 * namespace name and local name whatever prefix the document uses. It refuses what an RCS
 * body never needs and what the classic XML attacks are made of:
 *   - a DOCTYPE (so no internal subset, no entity declarations, no external entities:
 *     "billion laughs" and XXE stop at the "<!DOCTYPE"), with -EINVAL;
 *   - more than RCS_XML_MAX_BYTES of input, elements nested deeper than RCS_XML_MAX_DEPTH,
 *     more than RCS_XML_MAX_ELEMENTS elements, more than RCS_XML_TEXT_MAX bytes of text in
 *     an element whose text is wanted, with -E2BIG.
 * The root must be an element of the table with parent 0, else -EINVAL (another kind of
 * document, or the right name in the wrong namespace). Below it, an element the table does
 * not know under its parent is skipped with all it holds, as are its attributes: unknown
 * extensions pass (forward compatibility). The text of an element is the character data
 * directly inside it (CDATA sections included, that of child elements not), with the XML
 * white space (SP, TAB, LF, CR) at both ends removed: the bodies' values are tokens, URIs,
 * dates and names, where surrounding white space carries nothing.
 *
 * Writer. It counts as it goes (rcs_wbuf.h), so a NULL buffer gives the length needed;
 * bytes land in the buffer only while they fit. Values are escaped: & < > " ' as
 * entities, TAB, LF and CR as character references (so they survive attribute-value
 * normalisation and CR survives line-end normalisation). A value that is not UTF-8, or
 * holds a character XML 1.0 does not allow (controls other than TAB/LF/CR, U+FFFE,
 * U+FFFF), makes the whole write -EINVAL. */
#ifndef RCS_XML_H
#define RCS_XML_H

#include <stddef.h>
#include <stdint.h>

#include "common/cm_slice-t.h"
#include "rcs/rcs_wbuf.h"

#define RCS_XML_MAX_BYTES    65536 /* input bytes of one document */
#define RCS_XML_MAX_DEPTH    16    /* nesting of elements, the root at depth 1 */
#define RCS_XML_MAX_ELEMENTS 512   /* elements of one document, skipped ones included */
#define RCS_XML_TEXT_MAX     1024  /* bytes of text kept for one element (after the lead
				      * white space) */

#define RCS_XML_SKIP 1 /* from rcs_xml_doc.start: skip this element and all it holds */

/* An element a body knows: its <name> in namespace <ns> ("" for none) as a child of the
 * element <parent> (0: the root). */
struct rcs_xml_node {
	int id;            /* > 0, unique in its table */
	int parent;        /* id of the parent element, 0 for the root */
	const char *ns;    /* namespace name, compared exactly */
	const char *name;  /* local name, compared exactly */
	int text;          /* 1: collect its text for end() */
};

/* A kind of document: the elements it knows and what to do with them. Each call gets the
 * <ctx> given to rcs_xml_parse(). */
struct rcs_xml_doc {
	const struct rcs_xml_node *nodes;
	size_t n;
	/* At the start tag of a known element <id>; <attrs> as expat gives them: name, value,
	 * ..., NULL, names of attributes without a prefix bare, the others "<ns> <local>".
	 * 0 to go on, RCS_XML_SKIP to skip the element (end() is then not called for it nor
	 * for anything inside), or a negative errno that stops the parse and is returned. */
	int (*start)(void *ctx, int id, const char **attrs);
	/* At the end tag of a known element <id> that was not skipped, with its text (empty
	 * unless the node says text; trimmed, NUL-terminated at <text>.len). 0, or a negative
	 * errno that stops the parse and is returned. */
	int (*end)(void *ctx, int id, cm_slice text);
};

/* Parses the document <p>[0..<len>) (UTF-8, or what its XML declaration or BOM says and
 * expat knows) against <doc>, calling back with <ctx>. <p> need not be NUL-terminated and
 * is not read past <len>. Returns 0; -EINVAL (not well-formed, not namespace-well-formed,
 * a DOCTYPE, a root <doc> does not know, or an error of a callback); -E2BIG (the limits
 * above, or of a callback); -ENOMEM (expat could not allocate). Nothing is kept: each call
 * makes and frees its own parser, so any thread may call it. */
int rcs_xml_parse(const char *p, size_t len, const struct rcs_xml_doc *doc, void *ctx);

/* The value of the attribute <name> without a prefix in <attrs> (as given to start()), or
 * NULL. */
const char *rcs_xml_attr(const char **attrs, const char *name);

/* <s> without XML white space at either end. */
cm_slice rcs_xml_trim(cm_slice s);

/* Copies <s> and a NUL into <dst>[0..<size>): 0, or -E2BIG when <s>.len >= <size> (<dst>
 * untouched). */
int rcs_xml_copy(char *dst, size_t size, cm_slice s);

/* <s> (trimmed) as a decimal number of at most <max>: 0; -EINVAL when it is empty or not
 * all digits; -E2BIG above <max>. */
int rcs_xml_uint(cm_slice s, uint64_t max, uint64_t *out);

/* 1 when <s>[0..<n>) is UTF-8 made only of characters XML 1.0 allows, else 0. */
int rcs_xml_valid(const char *s, size_t n);

/* ---- writer ---------------------------------------------------------------------------- */

/* A document being written into <buf>[0..<cap>) (<buf> may be NULL: counted only), on the
 * counting buffer of the rcs/ writers (rcs_wbuf.h). */
struct rcs_xml_w {
	struct rcs_wbuf b;
	int err;      /* 0, or -EINVAL once a value was refused */
};

void rcs_xml_w_init(struct rcs_xml_w *w, char *buf, size_t cap);

/* Markup, as is (the caller's literal). */
void rcs_xml_w_raw(struct rcs_xml_w *w, const char *s);

/* The value <s>, escaped. <size> is the size of the array that holds it: a value with no
 * NUL within <size> bytes is refused (-EINVAL), as is one that rcs_xml_valid() refuses. */
void rcs_xml_w_text(struct rcs_xml_w *w, const char *s, size_t size);

/* <v> in decimal. */
void rcs_xml_w_uint(struct rcs_xml_w *w, uint64_t v);

/* A line "<indent><name>value</name>\n": <name> as is, the value <s> (in an array of
 * <size> bytes) escaped as by rcs_xml_w_text(). */
void rcs_xml_w_elem(struct rcs_xml_w *w, const char *indent, const char *name, const char *s,
		    size_t size);

/* The same line with <v> in decimal for value. */
void rcs_xml_w_uint_elem(struct rcs_xml_w *w, const char *indent, const char *name,
			 uint64_t v);

/* The end of the document: its length (a NUL follows it in the buffer); -EINVAL when a
 * value was refused; -ENOSPC when the length + 1 is more than <cap> with a buffer (which
 * then holds "" when <cap> > 0). With a NULL buffer, the length the document needs (one
 * byte more for the NUL). */
long rcs_xml_w_end(struct rcs_xml_w *w);

/* <s>[0..<n>) escaped as by rcs_xml_w_text(), and a NUL, into <buf>[0..<cap>): the
 * escaped length, or -EINVAL, -ENOSPC as rcs_xml_w_end(). */
long rcs_xml_escape(char *buf, size_t cap, const char *s, size_t n);

#endif

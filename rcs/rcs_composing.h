/* rcs_composing.h — the isComposing indication of message composition (RFC 3994 §§ 5-6),
 * application/im-iscomposing+xml:
 *
 *	<isComposing xmlns="urn:ietf:params:xml:ns:im-iscomposing">
 *	  <state>active</state>                       required: "active" or "idle" (any case)
 *	  <lastactive>2003-01-27T10:43:00Z</lastactive>          optional
 *	  <contenttype>text/plain</contenttype>                  optional
 *	  <refresh>90</refresh>                       optional, a positive number of seconds
 *	</isComposing>
 *
 * Any namespace prefix; elements of other namespaces and unknown ones are skipped (the
 * schema's xs:any), the order of the children is not checked, each at most once (else
 * -EINVAL). Text values lose the white space at their ends (rcs_xml.h). The writer emits
 * the same shape in the schema's order (state, lastactive, contenttype, refresh; the
 * optional ones when set), and what it writes reads back to the same fields. */
#ifndef RCS_COMPOSING_H
#define RCS_COMPOSING_H

#include <stddef.h>

#include "rcs/rcs_composing-t.h"

#define RCS_COMPOSING_NS "urn:ietf:params:xml:ns:im-iscomposing"

/* Parses <p>[0..<len>) into *<out> (all zero again on failure). 0; -EINVAL (not
 * well-formed, a DOCTYPE, not an isComposing in its namespace, no <state> or another state,
 * a <refresh> that is not a positive number, an element repeated); -E2BIG (a value longer
 * than its field, a refresh above UINT_MAX, or the limits of rcs_xml.h); -ENOMEM. */
int rcs_composing_parse(const char *p, size_t len, struct rcs_composing *out);

/* Writes the document of *<in> and a NUL into <buf>[0..<cap>). Its length; the length
 * needed (without the NUL) when <buf> is NULL; -ENOSPC when <cap> is below the length + 1
 * (<buf> then holds "" when <cap> > 0); -EINVAL when <in>->active is neither 0 nor 1, or
 * a string has no NUL within its array or is not valid XML text (rcs_xml.h). */
long rcs_composing_write(char *buf, size_t cap, const struct rcs_composing *in);

#endif

/* rcs_fthttp.h — the file transfer over HTTP descriptor, application/vnd.gsma.rcs-ft-http+xml
 * (GSMA RCC.07 / RCS Universal Profile): what the HTTP content server answers an upload
 * with, and what the sender then passes to the recipient in a chat message.
 *
 *	<file xmlns="urn:gsma:params:xml:ns:rcs:rcs:fthttp"
 *	      xmlns:am="urn:gsma:params:xml:ns:rcs:rcs:rram">
 *	  <file-info type="thumbnail">                              optional
 *	    <file-size>7427</file-size>
 *	    <content-type>image/jpeg</content-type>
 *	    <data url="https://ft.example.com/t/123" until="2024-05-01T10:00:00Z"/>
 *	  </file-info>
 *	  <file-info type="file" file-disposition="render">         required
 *	    <file-size>183524</file-size>
 *	    <file-name>photo.jpg</file-name>
 *	    <content-type>image/jpeg</content-type>
 *	    <am:playing-length>12</am:playing-length>               audio messages
 *	    <data url="https://ft.example.com/f/123" until="2024-05-01T10:00:00Z"/>
 *	  </file-info>
 *	</file>
 *
 * Read with any prefixes. A <file-info> whose type is neither "file" nor "thumbnail" is
 * skipped, as are elements and attributes this code does not know (hashes, branded URLs,
 * <file-exist>, ...). Each present part needs a non-empty data url; the other children
 * are optional (size 0, strings empty when absent) and at most once each, as is each
 * part. file-disposition "render" is kept, "attachment" (or the older "attach") reads as
 * "attachment", any other value as empty; in a thumbnail it, <file-name> and
 * <am:playing-length> are not kept. Values lose the white space at their ends (rcs_xml.h).
 *
 * The writer emits the shape above, the am namespace only when a playing length is set,
 * file-size always, the other optional values when set; what it writes reads back to the
 * same fields. */
#ifndef RCS_FTHTTP_H
#define RCS_FTHTTP_H

#include <stddef.h>

#include "rcs/rcs_fthttp-t.h"

#define RCS_FTHTTP_NS    "urn:gsma:params:xml:ns:rcs:rcs:fthttp"
#define RCS_FTHTTP_AM_NS "urn:gsma:params:xml:ns:rcs:rcs:rram"   /* audio messaging */

/* Parses <p>[0..<len>) into *<out> (all zero again on failure). 0; -EINVAL (not
 * well-formed, a DOCTYPE, not a <file> in its namespace, no file part, a part without data
 * url, a part or one of its children repeated, a size or playing length that is not a
 * number); -E2BIG (a value longer than its field, a size above UINT64_MAX, a playing length
 * above UINT_MAX, or the limits of rcs_xml.h); -ENOMEM. */
int rcs_fthttp_parse(const char *p, size_t len, struct rcs_fthttp *out);

/* Writes the descriptor of *<in> and a NUL into <buf>[0..<cap>): the thumbnail first when
 * present, then the file. Its length; the length needed (without the NUL) when <buf> is
 * NULL; -ENOSPC when <cap> is below the length + 1 (<buf> then holds "" when <cap> > 0);
 * -EINVAL when the file is not present, a present part has an empty url, a disposition is
 * not "", "render" or "attachment", the thumbnail has a name, disposition or playing
 * length, or a string has no NUL within its array or is not valid XML text (rcs_xml.h). */
long rcs_fthttp_write(char *buf, size_t cap, const struct rcs_fthttp *in);

#endif

/* rcs_imdn.h — Instant Message Disposition Notifications (RFC 5438): the message/imdn+xml
 * document (§7) and the imdn.Disposition-Notification header value (§6.2).
 *
 * The document read (namespace urn:ietf:params:xml:ns:imdn, any prefix):
 *
 *	<imdn xmlns="urn:ietf:params:xml:ns:imdn">
 *	  <message-id>34jk324j</message-id>                      required, not empty
 *	  <datetime>2008-04-04T12:16:49-05:00</datetime>          required, not empty
 *	  <recipient-uri>im:bob@example.com</recipient-uri>       optional
 *	  <original-recipient-uri>im:bob@example.com</original-recipient-uri>   optional
 *	  <subject>..</subject>                                   optional, not kept
 *	  <delivery-notification>            or display-, processing-: exactly one
 *	    <status><delivered/></status>    exactly one status, one that the kind takes
 *	  </delivery-notification>
 *	</imdn>
 *
 * Elements of other namespaces (and unknown ones of ours, such as a <reason> in <status>)
 * are skipped wherever they are; the order of the children is not checked. A status
 * element this code does not know counts as no status. Text values lose the white space
 * at their ends (rcs_xml.h). Each of the elements above at most once, else -EINVAL.
 *
 * The writer emits the same shape (recipient URIs when not empty), UTF-8, values escaped
 * (rcs_xml.h); what it writes, rcs_imdn_parse() reads back to the same fields. */
#ifndef RCS_IMDN_H
#define RCS_IMDN_H

#include <stddef.h>

#include "rcs/rcs_imdn-t.h"

#define RCS_IMDN_NS "urn:ietf:params:xml:ns:imdn"

/* Parses the message/imdn+xml document <p>[0..<len>) into *<out> (all zero again on
 * failure). 0; -EINVAL (not well-formed, a DOCTYPE, not an imdn in our namespace, a
 * required element missing or empty, one repeated, two notifications, a status that does
 * not belong to the kind); -E2BIG (a value longer than its field, or the limits of
 * rcs_xml.h); -ENOMEM. */
int rcs_imdn_parse(const char *p, size_t len, struct rcs_imdn *out);

/* Writes the document of *<in> and a NUL into <buf>[0..<cap>). Its length; the length
 * needed (without the NUL) when <buf> is NULL; -ENOSPC when <cap> is below the length + 1
 * (<buf> then holds "" when <cap> > 0); -EINVAL when the kind is out of range, the status
 * does not belong to it, message_id or datetime is empty, a string has no NUL within its
 * array or is not valid XML text (rcs_xml.h). */
long rcs_imdn_write(char *buf, size_t cap, const struct rcs_imdn *in);

/* The flags of a Disposition-Notification header value <p>[0..<len>) (RFC 5438 §6.2:
 * "positive-delivery, negative-delivery, display"): comma-separated tokens, white space
 * around them and case ignored, unknown and empty ones ignored. 0 when none is known. */
unsigned rcs_imdn_dn_parse(const char *p, size_t len);

/* The header value of <flags> (RCS_DN_*), tokens in the order positive-delivery,
 * negative-delivery, display, processing joined by ", ", and a NUL, into <buf>[0..<cap>).
 * Its length (needed length when <buf> is NULL), -ENOSPC as rcs_imdn_write(), -EINVAL
 * when <flags> is 0 or has a bit outside RCS_DN_*. */
long rcs_imdn_dn_write(char *buf, size_t cap, unsigned flags);

/* "delivered", "failed", "forbidden", "error", "displayed", "processed", "stored"; ""
 * out of range. */
const char *rcs_imdn_status_name(enum rcs_imdn_status st);

/* "delivery", "display", "processing"; "" out of range. */
const char *rcs_imdn_kind_name(enum rcs_imdn_kind k);

/* 1 when the kind <k> takes the status <st> (RFC 5438 §7.2.1), else 0. */
int rcs_imdn_status_allowed(enum rcs_imdn_kind k, enum rcs_imdn_status st);

#endif

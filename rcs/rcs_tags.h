/* rcs_tags.h — RCS feature tags in SIP Contact and Accept-Contact values (RFC 3840 §9,
 * RFC 3841 §10, as GSMA RCC.07 uses them), read and written.
 *
 *   Contact: <sip:+15551234@10.0.0.1:5060;transport=tcp>;+g.3gpp.icsi-ref="urn%3Aurn-7%3A
 *            3gpp-service.ims.icsi.oma.cpm.session,urn%3Aurn-7%3A3gpp-service.ims.icsi.oma.
 *            cpm.filetransfer";+g.3gpp.iari-ref="urn%3Aurn-7%3A3gpp-application.ims.iari.
 *            rcs.fthttp";+g.gsma.rcs.botversion="#=1,#=2"
 *   Accept-Contact: *;+g.3gpp.icsi-ref="urn%3Aurn-7%3A3gpp-service.ims.icsi.oma.cpm.session"
 *
 * Reading: the value is split into its comma-separated elements (commas inside quotes and
 * <> do not split: sip_list_next()), each read as a name-addr, an addr-spec or "*" with
 * parameters (sip_addr_parse(); parameters inside <> belong to the URI and are not feature
 * tags). Of the parameters (names compared case-insensitively):
 *   - +g.3gpp.icsi-ref and +g.3gpp.iari-ref: a quoted, comma-separated list of URNs (a
 *     single unquoted token is taken too); each is %-decoded (%3A or %3a, or sent as ':'
 *     unencoded) and compared case-insensitively with the table (rcs_tags.c) under its own
 *     tag; a URN that matches none — an unknown one, an ICSI under iari-ref, a negated
 *     "!urn...", a bad %-escape — is counted in nother; empty items are skipped;
 *   - +g.gsma.rcs.isbot and +g.gsma.rcs.cpm.pager-large: flags, set when bare or ="TRUE";
 *   - +g.gsma.rcs.botversion: the value of the first one that leaves something, its
 *     quotes removed; a value with a control character, '"' or '\' is passed over; one
 *     longer than 31 bytes keeps its leading whole comma-separated versions that fit
 *     (none: passed over);
 *   - any other parameter is ignored (+sip.instance, expires, require, explicit, ...).
 * A tag given several times, and all elements of the value, are merged.
 *
 * Writing: the feature parameters of a set of services, as clients send them: ICSI values
 * joined in one +g.3gpp.icsi-ref, IARI values in one +g.3gpp.iari-ref, ':' sent as %3A,
 * in bit order; then the flags; then the botversion. For appending to a Contact value.
 *
 * Nothing is allocated; everything is bounded (sip_addr_parse() takes at most 64
 * parameters per element) and reentrant. */
#ifndef RCS_TAGS_H
#define RCS_TAGS_H

#include <stddef.h>

#include "rcs/rcs_tags-t.h"

/* Parses the feature parameters in <len> bytes of one Contact or Accept-Contact header
 * value (the whole value after the colon; a "<uri>" or "*" first, then ;params; a
 * comma-separated list of values is allowed and all are merged) into *<out>. Reads
 * <p>[0..<len>) only (<p> may be NULL when <len> is 0). Returns 0 (an empty value gives
 * empty *<out>), or -EINVAL when an element is malformed: unbalanced quotes or < >, no
 * URI or '*' before the parameters, or a malformed or 65th parameter; *<out> is then
 * empty. */
int rcs_tags_parse(const char *p, size_t len, struct rcs_tags *out);

/* Writes the feature parameters for <services> (and <botversion> when not NULL or empty)
 * as ";+g.3gpp.icsi-ref=\"...\";+g.3gpp.iari-ref=\"...\"..." and a NUL into
 * <buf>[0..<cap>). Returns the length (NUL excluded); with <buf> NULL, the length needed;
 * -ENOSPC when <cap> is too small (<buf> then holds "" when <cap> > 0); -EINVAL when
 * <services> has a bit outside RCS_SVC_ALL, or <botversion> is longer than 31 bytes or
 * holds a control character, '"' or '\'. Writes nothing for 0 services and no botversion
 * (returns 0; the NUL still needs <cap> >= 1 when <buf> is not NULL). */
long rcs_tags_write(char *buf, size_t cap, unsigned services, const char *botversion);

/* "chat", "standalone", "largemsg", "ft", "fthttp", "chatbot", "geopush", "deferred",
 * "groupchat", "systemmsg", "mmtel", "rcse-im", "rcse-ft", "ftthumb", "ftstandfw",
 * "ftsms", "geosms", "chatbot-sa", "pager-large" for one bit (RCS_SVC_*), NULL
 * otherwise (0, several bits, an unknown bit). */
const char *rcs_svc_name(unsigned bit);

/* The bit for a name above (<name>[0..<len>), case-insensitive), 0 when unknown. */
unsigned rcs_svc_from_name(const char *name, size_t len);

#endif

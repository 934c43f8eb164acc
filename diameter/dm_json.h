/* dm_json.h — Diameter AVPs to and from JSON by dictionary name (issue 9: the API's custom
 * requests, and the events of incoming ones). A list of AVPs is a JSON array of one-member
 * objects {"<AVP name>": value}, the value by the AVP's type:
 *
 *   Unsigned32/64, Integer32/64     a number (an Unsigned64 above 2^63 - 1: a decimal string)
 *   Float32/64                      a number
 *   Enumerated                      one of its names, or a number
 *   OctetString                     a string (its UTF-8 bytes) or {"hex": "0a1b..."}
 *   UTF8String, DiameterIdentity,   a string
 *   DiameterURI
 *   Address                         "192.0.2.1" or "2001:db8::1"
 *   Time                            "2026-11-27T08:00:00Z", or Unix seconds
 *   Grouped                         an array of AVPs, as above
 *
 * An AVP the dictionary does not know: {"code": n, "vendor": v, "mandatory": b, "hex": ".."}
 * ("vendor" and "mandatory" optional) in its place. Read back, OctetStrings that are not
 * printable UTF-8 come as {"hex"}. */
#ifndef DM_JSON_H
#define DM_JSON_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "diameter/dm_dict.h"
#include "diameter/dm_msg.h"

/* Writes the AVPs of <avps> into <w> (after its header). 0, or -EINVAL with <err> naming
 * the AVP and what is wrong with it (the writer's own errors come at dm_w_finish()). */
int dm_json_write(const struct dm_dict *d, const json_t *avps, struct dm_wbuf *w, char *err,
		  size_t errlen);
/* The AVPs of region <p> (<len> bytes: a message's after its header, or a Grouped AVP's
 * data) as a JSON array. NULL: malformed (dm_msg_check() first) or out of memory. */
json_t *dm_json_read(const struct dm_dict *d, const uint8_t *p, uint32_t len);

#endif

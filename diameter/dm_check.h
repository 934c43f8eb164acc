/* dm_check.h — a received Diameter message held against the dictionary, and the error
 * answer that RFC 6733 §7 asks for when it does not hold (issue 9: malformed input is
 * answered with the right Result-Code and Failed-AVP, and counted by the caller).
 *
 *   framing, header and AVP lengths (dm_msg_check)   5011 5015 3008 5014 3009
 *   a request of a command the dictionary lacks      3001 DIAMETER_COMMAND_UNSUPPORTED
 *   an AVP with M set that the dictionary lacks      5001 DIAMETER_AVP_UNSUPPORTED
 *   a value of the wrong length for its type         5014 DIAMETER_INVALID_AVP_LENGTH
 *   a value its type does not allow (an Enumerated   5004 DIAMETER_INVALID_AVP_VALUE
 *   value not named, a UTF8String that is not
 *   UTF-8, a DiameterIdentity or DiameterURI
 *   that is not visible ASCII, an Address of a
 *   family with the wrong length)
 *   an AVP the caller requires, missing              5005 DIAMETER_MISSING_AVP
 *   an AVP the caller requires, more than once       5009 DIAMETER_AVP_OCCURS_TOO_MANY_TIMES
 */
#ifndef DM_CHECK_H
#define DM_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "diameter/dm_dict.h"
#include "diameter/dm_msg.h"

#define DM_RC_AVP_UNSUPPORTED 5001
#define DM_RC_AVP_OCCURS_TOO_MANY_TIMES 5009

struct dm_fault {
	uint32_t rc;                   /* the Result-Code; DM_RC_SUCCESS when none */
	uint32_t off, len;             /* the AVP to name in Failed-AVP (bytes of the message;
					* len 0: none) */
	uint32_t missing_code, missing_vendor; /* 5005: the AVP to name (its code, empty) */
	uint8_t whole;                 /* the AVP at fault is well formed (a value refused):
					* named whole; else by its header alone */
	char what[160];                /* for Error-Message and the logs */
};

/* Checks message <p> (<len> bytes, as framed) against <d>: the first fault found into
 * <f>. <required> (may be NULL) names AVPs that must be at the top level once ("Origin-Host",
 * ...; NULL-ended). 0 when it holds, -EBADMSG otherwise. */
int dm_check(const struct dm_dict *d, const uint8_t *p, size_t len, const struct dm_limits *lim,
	     const char *const *required, struct dm_fault *f);

/* The error answer to request <req> (<req_len> bytes) for fault <f>, into <out> (<cap>
 * bytes): the request's command, application and identifiers, R cleared, E set for the
 * protocol errors (3xxx), its Session-Id first when it had one, then Origin-Host
 * <origin_host>, Origin-Realm <origin_realm>, Result-Code, Error-Message, and Failed-AVP
 * with the AVP at fault as it came (or, for 5005, the missing one, empty). Its length, or
 * -ENOSPC, -EINVAL (<req> has no readable header). */
long dm_answer_error(const uint8_t *req, size_t req_len, const struct dm_fault *f,
		     const char *origin_host, const char *origin_realm, uint8_t *out, size_t cap);

/* The outcome of answer <m> (<n> bytes, framed): its Result-Code, else the
 * Experimental-Result-Code inside its Experimental-Result (3GPP applications answer so),
 * else 0. */
uint32_t dm_answer_result(const uint8_t *m, size_t n);

#endif

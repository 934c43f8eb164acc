/* dm_msg.h — Diameter messages (RFC 6733 §3 header, §4 AVPs), read in place from the bytes
 * received (zero copy, every length checked against what is there and against limits) and
 * written into a caller's buffer. Issue 9, first piece: the codec; the dictionary, the peer
 * state machine and the API come next (off until then: nothing in the daemon uses it yet).
 *
 *   header   version 1 | message length (24 bits, the whole message, a multiple of 4)
 *            flags R P E T | command code (24 bits) | Application-ID | Hop-by-Hop | End-to-End
 *   AVP      code (32) | flags V M P | length (24 bits: header, vendor and data, not the
 *            padding) | [Vendor-ID when V] | data | padding to a multiple of 4
 *
 * A reader hands back the Result-Code that RFC 6733 §7.1 asks for when a message or an AVP
 * is malformed, and where (the offset of the AVP to name in Failed-AVP). */
#ifndef DM_MSG_H
#define DM_MSG_H

#include <stddef.h>
#include <stdint.h>

#define DM_HDR_LEN 20
#define DM_VERSION 1

#define DM_FLAG_R 0x80 /* request */
#define DM_FLAG_P 0x40 /* proxiable */
#define DM_FLAG_E 0x20 /* error (answers) */
#define DM_FLAG_T 0x10 /* potentially retransmitted */

#define DM_AVP_V 0x80  /* Vendor-ID present */
#define DM_AVP_M 0x40  /* mandatory */
#define DM_AVP_P 0x20  /* reserved (was end-to-end security) */

#define DM_AVP_HDR 8   /* code, flags, length */
#define DM_AVP_HDR_V 12 /* ... and Vendor-ID */

/* Result-Codes of RFC 6733 §7.1 that the codec hands back. */
#define DM_RC_SUCCESS 2001
#define DM_RC_COMMAND_UNSUPPORTED 3001
#define DM_RC_INVALID_HDR_BITS 3008
#define DM_RC_INVALID_AVP_BITS 3009
#define DM_RC_INVALID_AVP_VALUE 5004
#define DM_RC_MISSING_AVP 5005
#define DM_RC_UNSUPPORTED_VERSION 5011
#define DM_RC_UNABLE_TO_COMPLY 5012
#define DM_RC_INVALID_BIT_IN_HEADER 5013
#define DM_RC_INVALID_AVP_LENGTH 5014
#define DM_RC_INVALID_MESSAGE_LENGTH 5015

struct dm_limits {
	uint32_t max_message;          /* bytes of a message (0: DM_DEFAULT_MAX_MESSAGE) */
	uint32_t max_avps;             /* AVPs in a message, all levels (0: DM_DEFAULT_MAX_AVPS) */
	unsigned max_depth;            /* nesting of Grouped AVPs (0: DM_DEFAULT_MAX_DEPTH) */
};
#define DM_DEFAULT_MAX_MESSAGE (1u << 20)
#define DM_DEFAULT_MAX_AVPS 4096
#define DM_DEFAULT_MAX_DEPTH 8
#define DM_MAX_DEPTH 16                /* what any limit may say */

struct dm_hdr {
	uint8_t version, flags;
	uint32_t length;               /* of the whole message */
	uint32_t code;                 /* 24 bits */
	uint32_t app_id, hop_by_hop, end_to_end;
};

struct dm_avp {
	uint32_t code, vendor;         /* vendor 0 when the V bit is clear */
	uint8_t flags;
	uint32_t length;               /* the AVP Length field (no padding) */
	const uint8_t *data;           /* in the message */
	uint32_t data_len;
	uint32_t off;                  /* of the AVP's first byte in its region */
};

/* How long the message whose first bytes are <p> (<len> of them) is, once its first 4 bytes
 * are there: > 0 its length (whether all of it is there or not), 0 not enough bytes yet,
 * -EPROTO (not version 1), -EMSGSIZE (a length below the header, not a multiple of 4, or
 * above <lim>'s max_message). A stream reader frames messages with it. */
long dm_msg_length(const uint8_t *p, size_t len, const struct dm_limits *lim);

/* The header of the message at <p> (<len> >= DM_HDR_LEN bytes). 0, or -EBADMSG with
 * *<rc> the Result-Code to answer: 5011 (version), 5015 (length), 3008 (E on a request;
 * the reserved flag bits are ignored, as RFC 6733 §3 says). With DM_HDR_LEN bytes, <h>
 * holds the fields as they came even then (an error answer takes its identifiers). */
int dm_hdr_parse(const uint8_t *p, size_t len, struct dm_hdr *h, uint32_t *rc);

/* The AVPs of a region — a message's (after its header) or a Grouped AVP's data — one by
 * one. */
struct dm_avp_iter {
	const uint8_t *p;
	uint32_t len, off;
};
void dm_avp_iter_init(struct dm_avp_iter *it, const uint8_t *p, uint32_t len);
/* The next AVP into <a>: 1, 0 at the end of the region, or -EBADMSG (*<rc> 5014: a length
 * below the AVP's header or past the region; 3009: reserved flag bits set), it->off then
 * the offset of the AVP at fault. The last AVP of a region may lack its padding. */
int dm_avp_next(struct dm_avp_iter *it, struct dm_avp *a, uint32_t *rc);

/* Walks a whole message once: the header and every AVP, into Grouped ones when
 * <is_grouped>(arg, code, vendor) says 1 (NULL: none is), within <lim>. 0, or -EBADMSG
 * with *<rc> the Result-Code and *<fail_off>/<fail_len> the bytes of the AVP to name in
 * Failed-AVP (0/0: none, the message itself is at fault; 5008... not here). Also counts
 * the AVPs into *<navps> (may be NULL). */
int dm_msg_check(const uint8_t *p, size_t len, const struct dm_limits *lim,
		 int (*is_grouped)(void *arg, uint32_t code, uint32_t vendor), void *arg,
		 uint32_t *rc, uint32_t *fail_off, uint32_t *fail_len, uint32_t *navps);

/* Values of the base types (RFC 6733 §4.2, §4.3). Each returns 0, or -EINVAL (the data's
 * length is not the type's: answer 5014). */
int dm_get_u32(const struct dm_avp *a, uint32_t *v);
int dm_get_u64(const struct dm_avp *a, uint64_t *v);
int dm_get_i32(const struct dm_avp *a, int32_t *v);
int dm_get_i64(const struct dm_avp *a, int64_t *v);
int dm_get_f32(const struct dm_avp *a, float *v);
int dm_get_f64(const struct dm_avp *a, double *v);
/* Address (§4.3.1): an address family (IANA: 1 IPv4, 2 IPv6) and its bytes (4 or 16; other
 * families: whatever follows, at most 255 bytes). */
int dm_get_address(const struct dm_avp *a, uint16_t *family, const uint8_t **addr,
		   uint32_t *alen);
/* Time (§4.3.1): NTP seconds since 1900 as Unix seconds (the era after 2036 included). */
int dm_get_time(const struct dm_avp *a, int64_t *unix_s);

/* ---- writing ---------------------------------------------------------------------------- */

/* A message built into <buf> (<cap> bytes): the header first, then AVPs, Grouped ones
 * between begin and end; any error sticks (the rest does nothing) and dm_w_finish() says
 * it. */
struct dm_wbuf {
	uint8_t *buf;
	size_t cap, len;
	int err;                       /* 0, -ENOSPC, -EINVAL */
	unsigned depth;
	size_t open[DM_MAX_DEPTH];     /* offsets of the Grouped AVPs begun */
};
void dm_w_init(struct dm_wbuf *w, uint8_t *buf, size_t cap);
void dm_w_hdr(struct dm_wbuf *w, uint8_t flags, uint32_t code, uint32_t app_id,
	      uint32_t hop_by_hop, uint32_t end_to_end);
/* An AVP of <len> bytes of <data>; V set (and <vendor> written) when <vendor> != 0. */
void dm_w_avp(struct dm_wbuf *w, uint32_t code, uint8_t flags, uint32_t vendor,
	      const void *data, size_t len);
/* <len> bytes of AVPs written before (whole, padded: <len> a multiple of 4), as they are. */
void dm_w_raw(struct dm_wbuf *w, const void *avps, size_t len);
void dm_w_u32(struct dm_wbuf *w, uint32_t code, uint8_t flags, uint32_t vendor, uint32_t v);
void dm_w_u64(struct dm_wbuf *w, uint32_t code, uint8_t flags, uint32_t vendor, uint64_t v);
void dm_w_f32(struct dm_wbuf *w, uint32_t code, uint8_t flags, uint32_t vendor, float v);
void dm_w_f64(struct dm_wbuf *w, uint32_t code, uint8_t flags, uint32_t vendor, double v);
void dm_w_str(struct dm_wbuf *w, uint32_t code, uint8_t flags, uint32_t vendor,
	      const char *s);
void dm_w_address(struct dm_wbuf *w, uint32_t code, uint8_t flags, uint32_t vendor,
		  uint16_t family, const void *addr, size_t alen);
void dm_w_time(struct dm_wbuf *w, uint32_t code, uint8_t flags, uint32_t vendor,
	       int64_t unix_s);
void dm_w_group_begin(struct dm_wbuf *w, uint32_t code, uint8_t flags, uint32_t vendor);
void dm_w_group_end(struct dm_wbuf *w);
/* The message's length written into its header. Its length, or -ENOSPC (<cap> too small),
 * -EINVAL (no header, a group left open, an AVP too long for 24 bits). */
long dm_w_finish(struct dm_wbuf *w);

#endif

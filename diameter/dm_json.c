/* dm_json.c — Diameter AVPs to and from JSON by dictionary name (dm_json.h). */
#include "diameter/dm_json.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cm_hex.h"

#define FAIL(...)                                                                           \
	do {                                                                                \
		snprintf(err, errlen, __VA_ARGS__);                                         \
		return -EINVAL;                                                             \
	} while (0)

/* <s> of even length in hex into <out> (at most <cap> bytes): its length, or -1. */
static long unhex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = strlen(s);
	if (n % 2 || n / 2 > cap)
		return -1;
	for (size_t i = 0; i < n; i += 2) {
		int hi = cm_hexval((unsigned char)s[i]), lo = cm_hexval((unsigned char)s[i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	return (long)(n / 2);
}

static json_t *hexof(const uint8_t *p, uint32_t n)
{
	static const char digits[] = "0123456789abcdef";
	char *s = malloc((size_t)n * 2 + 1);
	if (!s)
		return NULL;
	for (uint32_t i = 0; i < n; i++) {
		s[2 * i] = digits[p[i] >> 4];
		s[2 * i + 1] = digits[p[i] & 15];
	}
	s[2 * (size_t)n] = '\0';
	json_t *j = json_pack("{s:s}", "hex", s);
	free(s);
	return j;
}

/* "YYYY-MM-DDTHH:MM:SSZ" into Unix seconds. 0 or -1. */
static int parse_time(const char *s, int64_t *out)
{
	struct tm tm = { 0 };
	char z = 0;
	int n = 0;
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%c%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
		   &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &z, &n) != 7 || z != 'Z' || s[n])
		return -1;
	if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
	    tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*out = (int64_t)timegm(&tm);
	return 0;
}

static int write_list(const struct dm_dict *d, const json_t *avps, struct dm_wbuf *w,
		      unsigned depth, char *err, size_t errlen);

/* An AVP the dictionary does not know: {"code", "vendor"?, "mandatory"?, "hex"}. */
static int write_raw(const json_t *o, struct dm_wbuf *w, char *err, size_t errlen)
{
	const json_t *c = json_object_get(o, "code"), *v = json_object_get(o, "vendor");
	const char *hex = json_string_value(json_object_get(o, "hex"));
	uint8_t buf[4096];
	long n;
	if (!json_is_integer(c) || json_integer_value(c) < 0 || json_integer_value(c) > UINT32_MAX ||
	    (v && (!json_is_integer(v) || json_integer_value(v) < 0 ||
		   json_integer_value(v) > UINT32_MAX)) ||
	    !hex || (n = unhex(hex, buf, sizeof(buf))) < 0)
		FAIL("an AVP by number is {\"code\": n, \"vendor\": v, \"mandatory\": b, \"hex\": "
		     "\"..\"} (at most 4096 bytes)");
	dm_w_avp(w, (uint32_t)json_integer_value(c),
		 json_is_true(json_object_get(o, "mandatory")) ? DM_AVP_M : 0,
		 v ? (uint32_t)json_integer_value(v) : 0, buf, (size_t)n);
	return 0;
}

static int write_one(const struct dm_dict *d, const char *name, const json_t *val,
		     struct dm_wbuf *w, unsigned depth, char *err, size_t errlen)
{
	const struct dm_avp_def *a = dm_dict_avp_named(d, name);
	if (!a)
		FAIL("%s: no such AVP in the dictionary (give it by {\"code\", \"hex\"})", name);
	uint8_t fl = a->mandatory ? DM_AVP_M : 0;
	json_int_t iv = json_integer_value(val);
	switch (a->type) {
	case DM_T_GROUPED:
		if (!json_is_array(val))
			FAIL("%s: Grouped: an array of AVPs", name);
		if (depth + 1 >= DM_MAX_DEPTH)
			FAIL("%s: Grouped AVPs nested too deep", name);
		dm_w_group_begin(w, a->code, fl, a->vendor);
		if (write_list(d, val, w, depth + 1, err, errlen) < 0)
			return -EINVAL;
		dm_w_group_end(w);
		return 0;
	case DM_T_U32:
		if (!json_is_integer(val) || iv < 0 || iv > UINT32_MAX)
			FAIL("%s: Unsigned32: a number from 0 to 4294967295", name);
		dm_w_u32(w, a->code, fl, a->vendor, (uint32_t)iv);
		return 0;
	case DM_T_I32:
	case DM_T_ENUM: {
		int32_t v;
		if (json_is_string(val) && a->type == DM_T_ENUM) {
			if (dm_dict_enum_value(a, json_string_value(val), &v) < 0)
				FAIL("%s: no value named %s", name, json_string_value(val));
		} else if (json_is_integer(val) && iv >= INT32_MIN && iv <= INT32_MAX) {
			v = (int32_t)iv;
		} else {
			FAIL("%s: %s: a number of 32 bits%s", name, dm_type_name(a->type),
			     a->type == DM_T_ENUM ? " or one of its names" : "");
		}
		uint32_t u;
		memcpy(&u, &v, 4);
		dm_w_u32(w, a->code, fl, a->vendor, u);
		return 0;
	}
	case DM_T_U64: {
		uint64_t v;
		char *end;
		if (json_is_integer(val) && iv >= 0) {
			v = (uint64_t)iv;
		} else if (json_is_string(val) && json_string_value(val)[0] >= '0' &&
			   json_string_value(val)[0] <= '9') {
			errno = 0;
			v = strtoull(json_string_value(val), &end, 10);
			if (errno || *end)
				FAIL("%s: Unsigned64: not a number of 64 bits", name);
		} else {
			FAIL("%s: Unsigned64: a number (or its decimal string)", name);
		}
		dm_w_u64(w, a->code, fl, a->vendor, v);
		return 0;
	}
	case DM_T_I64:
		if (!json_is_integer(val))
			FAIL("%s: Integer64: a number", name);
		dm_w_u64(w, a->code, fl, a->vendor, (uint64_t)iv);
		return 0;
	case DM_T_F32:
	case DM_T_F64:
		if (!json_is_number(val) ||
		    (a->type == DM_T_F32 && (json_number_value(val) > 3.4028234663852886e38 ||
					     json_number_value(val) < -3.4028234663852886e38)))
			FAIL("%s: %s: a number (in its range)", name, dm_type_name(a->type));
		if (a->type == DM_T_F32)
			dm_w_f32(w, a->code, fl, a->vendor, (float)json_number_value(val));
		else
			dm_w_f64(w, a->code, fl, a->vendor, json_number_value(val));
		return 0;
	case DM_T_ADDRESS: {
		uint8_t ad[16];
		const char *s = json_string_value(val);
		if (s && inet_pton(AF_INET, s, ad) == 1)
			dm_w_address(w, a->code, fl, a->vendor, 1, ad, 4);
		else if (s && inet_pton(AF_INET6, s, ad) == 1)
			dm_w_address(w, a->code, fl, a->vendor, 2, ad, 16);
		else
			FAIL("%s: Address: an IPv4 or IPv6 address in a string", name);
		return 0;
	}
	case DM_T_TIME: {
		int64_t t;
		if (json_is_integer(val))
			t = iv;
		else if (!json_is_string(val) || parse_time(json_string_value(val), &t) < 0)
			FAIL("%s: Time: \"YYYY-MM-DDTHH:MM:SSZ\" or Unix seconds", name);
		/* 32-bit NTP seconds in RFC 4330's two eras: 1968-01-20 to 2104-02-26 */
		if (t < -61505152LL || t > 4233462143LL)
			FAIL("%s: Time: outside what 32-bit NTP seconds hold (1968 to 2104)", name);
		dm_w_time(w, a->code, fl, a->vendor, t);
		return 0;
	}
	case DM_T_OCTETS:
		if (json_is_object(val)) {
			const char *hex = json_string_value(json_object_get(val, "hex"));
			uint8_t *buf = hex ? malloc(strlen(hex) / 2 + 1) : NULL;
			long n = buf ? unhex(hex, buf, strlen(hex) / 2 + 1) : -1;
			if (n < 0) {
				free(buf);
				FAIL("%s: OctetString: a string or {\"hex\": \"..\"}", name);
			}
			dm_w_avp(w, a->code, fl, a->vendor, buf, (size_t)n);
			free(buf);
			return 0;
		}
		__attribute__((fallthrough)); /* a string: its bytes */
	case DM_T_UTF8:
	case DM_T_IDENTITY:
	case DM_T_URI:
		if (!json_is_string(val))
			FAIL("%s: %s: a string", name, dm_type_name(a->type));
		dm_w_avp(w, a->code, fl, a->vendor, json_string_value(val), json_string_length(val));
		return 0;
	default:
		FAIL("%s: a type this build does not write", name);
	}
}

static int write_list(const struct dm_dict *d, const json_t *avps, struct dm_wbuf *w,
		      unsigned depth, char *err, size_t errlen)
{
	size_t i;
	json_t *o;
	if (!json_is_array(avps))
		FAIL("AVPs: an array of {\"<AVP name>\": value}");
	json_array_foreach((json_t *)avps, i, o) {
		if (!json_is_object(o))
			FAIL("AVPs[%zu]: an object {\"<AVP name>\": value}", i);
		if (json_object_get(o, "code")) {
			if (write_raw(o, w, err, errlen) < 0)
				return -EINVAL;
			continue;
		}
		if (json_object_size(o) != 1)
			FAIL("AVPs[%zu]: one AVP per object", i);
		const char *name = json_object_iter_key(json_object_iter(o));
		if (write_one(d, name, json_object_iter_value(json_object_iter(o)), w, depth, err,
			      errlen) < 0)
			return -EINVAL;
	}
	return 0;
}

int dm_json_write(const struct dm_dict *d, const json_t *avps, struct dm_wbuf *w, char *err,
		  size_t errlen)
{
	return write_list(d, avps, w, 0, err, errlen);
}

/* ---- reading ----------------------------------------------------------------------------- */

/* 1 when <p> (<n>) is UTF-8 without control characters (a string in JSON). */
static int printable(const uint8_t *p, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) /* (tabs and line ends: XML bodies read as text) */
		if ((p[i] < 0x20 && p[i] != '\t' && p[i] != '\n' && p[i] != '\r') || p[i] == 0x7f)
			return 0;
	json_t *j = json_stringn((const char *)p, n); /* jansson checks the UTF-8 */
	int ok = j != NULL;
	json_decref(j);
	return ok;
}

static json_t *read_list(const struct dm_dict *d, const uint8_t *p, uint32_t len,
			 unsigned depth);

static json_t *value_of(const struct dm_dict *d, const struct dm_avp_def *a,
			const struct dm_avp *v, unsigned depth)
{
	uint32_t u32;
	uint64_t u64;
	int32_t i32;
	int64_t i64;
	float f;
	double x;
	switch (a->type) {
	case DM_T_GROUPED:
		return depth + 1 < DM_MAX_DEPTH ? read_list(d, v->data, v->data_len, depth + 1) : NULL;
	case DM_T_U32:
		return dm_get_u32(v, &u32) == 0 ? json_integer(u32) : NULL;
	case DM_T_I32:
		return dm_get_i32(v, &i32) == 0 ? json_integer(i32) : NULL;
	case DM_T_ENUM: {
		if (dm_get_i32(v, &i32) < 0)
			return NULL;
		const char *n = dm_dict_enum_name(a, i32);
		return n ? json_string(n) : json_integer(i32);
	}
	case DM_T_U64:
		if (dm_get_u64(v, &u64) < 0)
			return NULL;
		if (u64 <= INT64_MAX)
			return json_integer((json_int_t)u64);
		char num[24];
		snprintf(num, sizeof(num), "%" PRIu64, u64);
		return json_string(num);
	case DM_T_I64:
		return dm_get_i64(v, &i64) == 0 ? json_integer(i64) : NULL;
	case DM_T_F32:
		return dm_get_f32(v, &f) == 0 ? json_real(f) : NULL;
	case DM_T_F64:
		return dm_get_f64(v, &x) == 0 ? json_real(x) : NULL;
	case DM_T_ADDRESS: {
		uint16_t fam;
		const uint8_t *ad;
		uint32_t al;
		char s[INET6_ADDRSTRLEN];
		if (dm_get_address(v, &fam, &ad, &al) < 0)
			return NULL;
		if ((fam == 1 && inet_ntop(AF_INET, ad, s, sizeof(s))) ||
		    (fam == 2 && inet_ntop(AF_INET6, ad, s, sizeof(s))))
			return json_string(s);
		return hexof(v->data, v->data_len);
	}
	case DM_T_TIME: {
		char s[32];
		struct tm tm;
		if (dm_get_time(v, &i64) < 0)
			return NULL;
		time_t t = (time_t)i64;
		if (!gmtime_r(&t, &tm) || !strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%SZ", &tm))
			return json_integer(i64);
		return json_string(s);
	}
	default: /* strings and octets */
		if (printable(v->data, v->data_len))
			return json_stringn((const char *)v->data, v->data_len);
		return hexof(v->data, v->data_len);
	}
}

static json_t *read_list(const struct dm_dict *d, const uint8_t *p, uint32_t len,
			 unsigned depth)
{
	json_t *arr = json_array();
	struct dm_avp_iter it;
	struct dm_avp v;
	uint32_t rc;
	int r;
	if (!arr)
		return NULL;
	dm_avp_iter_init(&it, p, len);
	while ((r = dm_avp_next(&it, &v, &rc)) == 1) {
		const struct dm_avp_def *a = dm_dict_avp(d, v.code, v.vendor);
		json_t *val = a ? value_of(d, a, &v, depth) : NULL, *o;
		if (a && val) {
			o = json_object();
			if (o && json_object_set_new(o, a->name, val) < 0) {
				json_decref(o);
				o = NULL;
			}
		} else {
			json_decref(val); /* unknown, or not of its type: as bytes */
			o = json_pack("{s:I, s:I, s:b}", "code", (json_int_t)v.code, "vendor",
				      (json_int_t)v.vendor, "mandatory", (v.flags & DM_AVP_M) != 0);
			json_t *h = hexof(v.data, v.data_len);
			if (o && h)
				json_object_set(o, "hex", json_object_get(h, "hex"));
			json_decref(h);
		}
		if (!o || json_array_append_new(arr, o) < 0) {
			json_decref(arr);
			return NULL;
		}
	}
	if (r < 0) {
		json_decref(arr);
		return NULL;
	}
	return arr;
}

json_t *dm_json_read(const struct dm_dict *d, const uint8_t *p, uint32_t len)
{
	return read_list(d, p, len, 0);
}

/* dm_dict.h — the Diameter dictionary (issue 9): AVPs (name, code, vendor, type, flags,
 * named values of Enumerated ones), commands and applications, looked up by name or by
 * code. Built in: the base protocol (RFC 6733), credit control (RFC 4006: Ro/Gy), and the
 * 3GPP Sh (TS 29.328/29.329) and Cx (TS 29.228/29.229) AVPs and commands an RCS gateway
 * needs; more from JSON files (dm_dict_load). Read-only once loaded: any thread may read. */
#ifndef DM_DICT_H
#define DM_DICT_H

#include <stddef.h>
#include <stdint.h>

enum dm_type {
	DM_T_OCTETS = 0,               /* OctetString */
	DM_T_I32, DM_T_I64, DM_T_U32, DM_T_U64, DM_T_F32, DM_T_F64,
	DM_T_GROUPED,
	DM_T_ADDRESS, DM_T_TIME, DM_T_UTF8, DM_T_IDENTITY, DM_T_URI,
	DM_T_ENUM,                     /* Integer32 with named values */
	DM_T_N
};
/* "OctetString", "Integer32", ... as RFC 6733 §4.2–4.3 names them. */
const char *dm_type_name(enum dm_type t);
/* The type named <s>, or -1. */
int dm_type_of(const char *s);

#define DM_VENDOR_3GPP 10415

struct dm_enum_val {
	const char *name;
	int32_t value;
};

struct dm_avp_def {
	const char *name;
	uint32_t code, vendor;
	enum dm_type type;
	uint8_t mandatory;             /* the M bit set when it is sent */
	const struct dm_enum_val *vals; /* DM_T_ENUM: named values (NULL-name-ended), or NULL */
};

struct dm_cmd_def {
	const char *name;              /* "Capabilities-Exchange", "Credit-Control", ... */
	const char *req, *ans;         /* "CER", "CEA" (NULL: none) */
	uint32_t code, app_id;
	uint8_t proxiable;
};

struct dm_app_def {
	const char *name;              /* "Base", "Credit-Control", "Sh", "Cx" */
	uint32_t id, vendor;
	uint8_t acct;                  /* an accounting application (Acct-Application-Id) */
};

struct dm_dict;

/* The built-in dictionary. NULL: out of memory. */
struct dm_dict *dm_dict_new(void);
void dm_dict_free(struct dm_dict *d);
/* Loads the JSON dictionary file <path> into <d>:
 *   {"vendors": [{"id": 10415, "name": "3GPP"}],
 *    "applications": [{"id": 16777217, "name": "Sh", "vendor": 10415, "acct": false}],
 *    "commands": [{"name": "User-Data", "code": 306, "application": "Sh", "proxiable": true,
 *                  "request": "UDR", "answer": "UDA"}],
 *    "avps": [{"name": "User-Identity", "code": 700, "vendor": 10415, "type": "Grouped",
 *              "mandatory": true},
 *             {"name": "Data-Reference", "code": 703, "vendor": 10415,
 *              "type": "Enumerated", "values": {"RepositoryData": 0, "IMSPublicIdentity": 10}}]}
 * (every key optional; "vendor" a number or a vendor's name). A name or a code (with its
 * vendor) already there is an error. 0, or -EINVAL/-ENOENT/-ENOMEM with <err> saying
 * where and what. */
int dm_dict_load(struct dm_dict *d, const char *path, char *err, size_t errlen);
/* ... the same from JSON text (<src> names it in errors). */
int dm_dict_load_text(struct dm_dict *d, const char *json, const char *src, char *err,
		      size_t errlen);

const struct dm_avp_def *dm_dict_avp(const struct dm_dict *d, uint32_t code, uint32_t vendor);
const struct dm_avp_def *dm_dict_avp_named(const struct dm_dict *d, const char *name);
/* A command by its name (with or without "-Request"/"-Answer", or its abbreviation:
 * "CER", "CCR", "UDR"…, as the dictionary knows them) or by its code and application. */
const struct dm_cmd_def *dm_dict_cmd_named(const struct dm_dict *d, const char *name);
const struct dm_cmd_def *dm_dict_cmd(const struct dm_dict *d, uint32_t code, uint32_t app_id);
const struct dm_app_def *dm_dict_app_named(const struct dm_dict *d, const char *name);
const struct dm_app_def *dm_dict_app(const struct dm_dict *d, uint32_t id);
/* The named value of Enumerated <a> (-ENOENT: none of that name). */
int dm_dict_enum_value(const struct dm_avp_def *a, const char *name, int32_t *v);
const char *dm_dict_enum_name(const struct dm_avp_def *a, int32_t v);
/* The commands of the built-in dictionary (base, Credit-Control, Cx, Sh), for counters by
 * command: command <i>, 0 .. DM_DICT_BUILTIN_CMDS - 1 (NULL past them). */
#define DM_DICT_BUILTIN_CMDS 18
const struct dm_cmd_def *dm_dict_builtin_cmd(unsigned i);
/* How many AVPs, commands and applications it holds. */
void dm_dict_counts(const struct dm_dict *d, size_t *navps, size_t *ncmds, size_t *napps);
/* For dm_msg_check(): 1 when <code>/<vendor> is a Grouped AVP of <arg> (a dm_dict). */
int dm_dict_is_grouped(void *arg, uint32_t code, uint32_t vendor);

#endif

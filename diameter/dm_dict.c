/* dm_dict.c — the Diameter dictionary (dm_dict.h): built-in tables and JSON files. Codes
 * and types from RFC 6733 §4.5 and §8, RFC 4006 §8, 3GPP TS 29.329 §6.3 and 29.229 §6.3. */
#include "diameter/dm_dict.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/cm_hash.h"

#define V3 DM_VENDOR_3GPP

static const char *const type_names[DM_T_N] = {
	"OctetString", "Integer32", "Integer64", "Unsigned32", "Unsigned64", "Float32",
	"Float64", "Grouped", "Address", "Time", "UTF8String", "DiameterIdentity",
	"DiameterURI", "Enumerated",
};

const char *dm_type_name(enum dm_type t)
{
	return (unsigned)t < DM_T_N ? type_names[t] : "?";
}

int dm_type_of(const char *s)
{
	for (int i = 0; i < DM_T_N; i++)
		if (!strcmp(type_names[i], s))
			return i;
	return -1;
}

/* ---- built-in tables ----------------------------------------------------------------- */

static const struct dm_enum_val disconnect_cause[] = {
	{ "REBOOTING", 0 }, { "BUSY", 1 }, { "DO_NOT_WANT_TO_TALK_TO_YOU", 2 }, { NULL, 0 } };
static const struct dm_enum_val auth_session_state[] = {
	{ "STATE_MAINTAINED", 0 }, { "NO_STATE_MAINTAINED", 1 }, { NULL, 0 } };
static const struct dm_enum_val auth_request_type[] = {
	{ "AUTHENTICATE_ONLY", 1 }, { "AUTHORIZE_ONLY", 2 }, { "AUTHORIZE_AUTHENTICATE", 3 },
	{ NULL, 0 } };
static const struct dm_enum_val re_auth_request_type[] = {
	{ "AUTHORIZE_ONLY", 0 }, { "AUTHORIZE_AUTHENTICATE", 1 }, { NULL, 0 } };
static const struct dm_enum_val termination_cause[] = {
	{ "DIAMETER_LOGOUT", 1 }, { "DIAMETER_SERVICE_NOT_PROVIDED", 2 },
	{ "DIAMETER_BAD_ANSWER", 3 }, { "DIAMETER_ADMINISTRATIVE", 4 },
	{ "DIAMETER_LINK_BROKEN", 5 }, { "DIAMETER_AUTH_EXPIRED", 6 },
	{ "DIAMETER_USER_MOVED", 7 }, { "DIAMETER_SESSION_TIMEOUT", 8 }, { NULL, 0 } };
static const struct dm_enum_val accounting_record_type[] = {
	{ "EVENT_RECORD", 1 }, { "START_RECORD", 2 }, { "INTERIM_RECORD", 3 },
	{ "STOP_RECORD", 4 }, { NULL, 0 } };
static const struct dm_enum_val redirect_host_usage[] = {
	{ "DONT_CACHE", 0 }, { "ALL_SESSION", 1 }, { "ALL_REALM", 2 }, { "REALM_AND_APPLICATION", 3 },
	{ "ALL_APPLICATION", 4 }, { "ALL_HOST", 5 }, { "ALL_USER", 6 }, { NULL, 0 } };
static const struct dm_enum_val cc_request_type[] = {
	{ "INITIAL_REQUEST", 1 }, { "UPDATE_REQUEST", 2 }, { "TERMINATION_REQUEST", 3 },
	{ "EVENT_REQUEST", 4 }, { NULL, 0 } };
static const struct dm_enum_val requested_action[] = {
	{ "DIRECT_DEBITING", 0 }, { "REFUND_ACCOUNT", 1 }, { "CHECK_BALANCE", 2 },
	{ "PRICE_ENQUIRY", 3 }, { NULL, 0 } };
static const struct dm_enum_val subscription_id_type[] = {
	{ "END_USER_E164", 0 }, { "END_USER_IMSI", 1 }, { "END_USER_SIP_URI", 2 },
	{ "END_USER_NAI", 3 }, { "END_USER_PRIVATE", 4 }, { NULL, 0 } };
static const struct dm_enum_val final_unit_action[] = {
	{ "TERMINATE", 0 }, { "REDIRECT", 1 }, { "RESTRICT_ACCESS", 2 }, { NULL, 0 } };
static const struct dm_enum_val multiple_services_indicator[] = {
	{ "MULTIPLE_SERVICES_NOT_SUPPORTED", 0 }, { "MULTIPLE_SERVICES_SUPPORTED", 1 },
	{ NULL, 0 } };
static const struct dm_enum_val cc_failure_handling[] = {
	{ "TERMINATE", 0 }, { "CONTINUE", 1 }, { "RETRY_AND_TERMINATE", 2 }, { NULL, 0 } };
static const struct dm_enum_val data_reference[] = {
	{ "RepositoryData", 0 }, { "IMSPublicIdentity", 10 }, { "IMSUserState", 11 },
	{ "S-CSCFName", 12 }, { "InitialFilterCriteria", 13 }, { "LocationInformation", 14 },
	{ "UserState", 15 }, { "ChargingInformation", 16 }, { "MSISDN", 17 },
	{ "PSIActivation", 18 }, { "DSAI", 19 }, { "ServiceLevelTraceInfo", 21 },
	{ "IPAddressSecureBindingInformation", 22 }, { "ServicePriorityLevel", 23 },
	{ "SMSRegistrationInfo", 24 }, { "UEReachabilityForIP", 25 }, { "TADSinformation", 26 },
	{ "STN-SR", 27 }, { "UE-SRVCC-Capability", 28 }, { "ExtendedPriority", 29 },
	{ "CSRN", 30 }, { "ReferenceLocationInformation", 31 }, { "IMSI", 32 },
	{ "IMSPrivateUserIdentity", 33 }, { NULL, 0 } };
static const struct dm_enum_val subs_req_type[] = {
	{ "Subscribe", 0 }, { "Unsubscribe", 1 }, { NULL, 0 } };
static const struct dm_enum_val identity_set[] = {
	{ "ALL_IDENTITIES", 0 }, { "REGISTERED_IDENTITIES", 1 }, { "IMPLICIT_IDENTITIES", 2 },
	{ "ALIAS_IDENTITIES", 3 }, { NULL, 0 } };
static const struct dm_enum_val server_assignment_type[] = {
	{ "NO_ASSIGNMENT", 0 }, { "REGISTRATION", 1 }, { "RE_REGISTRATION", 2 },
	{ "UNREGISTERED_USER", 3 }, { "TIMEOUT_DEREGISTRATION", 4 },
	{ "USER_DEREGISTRATION", 5 }, { "TIMEOUT_DEREGISTRATION_STORE_SERVER_NAME", 6 },
	{ "USER_DEREGISTRATION_STORE_SERVER_NAME", 7 }, { "ADMINISTRATIVE_DEREGISTRATION", 8 },
	{ "AUTHENTICATION_FAILURE", 9 }, { "AUTHENTICATION_TIMEOUT", 10 },
	{ "DEREGISTRATION_TOO_MUCH_DATA", 11 }, { NULL, 0 } };
static const struct dm_enum_val user_authorization_type[] = {
	{ "REGISTRATION", 0 }, { "DE_REGISTRATION", 1 }, { "REGISTRATION_AND_CAPABILITIES", 2 },
	{ NULL, 0 } };
static const struct dm_enum_val user_data_already_available[] = {
	{ "USER_DATA_NOT_AVAILABLE", 0 }, { "USER_DATA_ALREADY_AVAILABLE", 1 }, { NULL, 0 } };

#define A(n, c, v, t, m) { n, c, v, t, m, NULL }
#define E(n, c, v, m, vals) { n, c, v, DM_T_ENUM, m, vals }

static const struct dm_avp_def builtin_avps[] = {
	/* RFC 6733 */
	A("User-Name", 1, 0, DM_T_UTF8, 1),
	A("Class", 25, 0, DM_T_OCTETS, 1),
	A("Session-Timeout", 27, 0, DM_T_U32, 1),
	A("Proxy-State", 33, 0, DM_T_OCTETS, 1),
	A("Acct-Session-Id", 44, 0, DM_T_OCTETS, 1),
	A("Acct-Multi-Session-Id", 50, 0, DM_T_UTF8, 1),
	A("Event-Timestamp", 55, 0, DM_T_TIME, 1),
	A("Acct-Interim-Interval", 85, 0, DM_T_U32, 1),
	A("Host-IP-Address", 257, 0, DM_T_ADDRESS, 1),
	A("Auth-Application-Id", 258, 0, DM_T_U32, 1),
	A("Acct-Application-Id", 259, 0, DM_T_U32, 1),
	A("Vendor-Specific-Application-Id", 260, 0, DM_T_GROUPED, 1),
	E("Redirect-Host-Usage", 261, 0, 1, redirect_host_usage),
	A("Redirect-Max-Cache-Time", 262, 0, DM_T_U32, 1),
	A("Session-Id", 263, 0, DM_T_UTF8, 1),
	A("Origin-Host", 264, 0, DM_T_IDENTITY, 1),
	A("Supported-Vendor-Id", 265, 0, DM_T_U32, 1),
	A("Vendor-Id", 266, 0, DM_T_U32, 1),
	A("Firmware-Revision", 267, 0, DM_T_U32, 0),
	A("Result-Code", 268, 0, DM_T_U32, 1),
	A("Product-Name", 269, 0, DM_T_UTF8, 0),
	A("Session-Binding", 270, 0, DM_T_U32, 1),
	A("Session-Server-Failover", 271, 0, DM_T_ENUM, 1),
	A("Multi-Round-Time-Out", 272, 0, DM_T_U32, 1),
	E("Disconnect-Cause", 273, 0, 1, disconnect_cause),
	E("Auth-Request-Type", 274, 0, 1, auth_request_type),
	A("Auth-Grace-Period", 276, 0, DM_T_U32, 1),
	E("Auth-Session-State", 277, 0, 1, auth_session_state),
	A("Origin-State-Id", 278, 0, DM_T_U32, 1),
	A("Failed-AVP", 279, 0, DM_T_GROUPED, 1),
	A("Proxy-Host", 280, 0, DM_T_IDENTITY, 1),
	A("Error-Message", 281, 0, DM_T_UTF8, 0),
	A("Route-Record", 282, 0, DM_T_IDENTITY, 1),
	A("Destination-Realm", 283, 0, DM_T_IDENTITY, 1),
	A("Proxy-Info", 284, 0, DM_T_GROUPED, 1),
	E("Re-Auth-Request-Type", 285, 0, 1, re_auth_request_type),
	A("Accounting-Sub-Session-Id", 287, 0, DM_T_U64, 1),
	A("Authorization-Lifetime", 291, 0, DM_T_U32, 1),
	A("Redirect-Host", 292, 0, DM_T_URI, 1),
	A("Destination-Host", 293, 0, DM_T_IDENTITY, 1),
	A("Error-Reporting-Host", 294, 0, DM_T_IDENTITY, 0),
	E("Termination-Cause", 295, 0, 1, termination_cause),
	A("Origin-Realm", 296, 0, DM_T_IDENTITY, 1),
	A("Experimental-Result", 297, 0, DM_T_GROUPED, 1),
	A("Experimental-Result-Code", 298, 0, DM_T_U32, 1),
	A("Inband-Security-Id", 299, 0, DM_T_U32, 1),
	E("Accounting-Record-Type", 480, 0, 1, accounting_record_type),
	A("Accounting-Realtime-Required", 483, 0, DM_T_ENUM, 1),
	A("Accounting-Record-Number", 485, 0, DM_T_U32, 1),
	/* RFC 4006 (Ro/Gy) */
	A("CC-Correlation-Id", 411, 0, DM_T_OCTETS, 0),
	A("CC-Input-Octets", 412, 0, DM_T_U64, 1),
	A("CC-Money", 413, 0, DM_T_GROUPED, 1),
	A("CC-Output-Octets", 414, 0, DM_T_U64, 1),
	A("CC-Request-Number", 415, 0, DM_T_U32, 1),
	E("CC-Request-Type", 416, 0, 1, cc_request_type),
	A("CC-Service-Specific-Units", 417, 0, DM_T_U64, 1),
	A("CC-Session-Failover", 418, 0, DM_T_ENUM, 1),
	A("CC-Sub-Session-Id", 419, 0, DM_T_U64, 1),
	A("CC-Time", 420, 0, DM_T_U32, 1),
	A("CC-Total-Octets", 421, 0, DM_T_U64, 1),
	A("Check-Balance-Result", 422, 0, DM_T_ENUM, 1),
	A("Cost-Information", 423, 0, DM_T_GROUPED, 1),
	A("Cost-Unit", 424, 0, DM_T_UTF8, 1),
	A("Currency-Code", 425, 0, DM_T_U32, 1),
	A("Credit-Control", 426, 0, DM_T_ENUM, 1),
	E("Credit-Control-Failure-Handling", 427, 0, 1, cc_failure_handling),
	A("Direct-Debiting-Failure-Handling", 428, 0, DM_T_ENUM, 1),
	A("Exponent", 429, 0, DM_T_I32, 1),
	A("Final-Unit-Indication", 430, 0, DM_T_GROUPED, 1),
	A("Granted-Service-Unit", 431, 0, DM_T_GROUPED, 1),
	A("Rating-Group", 432, 0, DM_T_U32, 1),
	A("Redirect-Server", 434, 0, DM_T_GROUPED, 1),
	A("Redirect-Server-Address", 435, 0, DM_T_UTF8, 1),
	E("Requested-Action", 436, 0, 1, requested_action),
	A("Requested-Service-Unit", 437, 0, DM_T_GROUPED, 1),
	A("Service-Identifier", 439, 0, DM_T_U32, 1),
	A("Service-Parameter-Info", 440, 0, DM_T_GROUPED, 0),
	A("Service-Parameter-Type", 441, 0, DM_T_U32, 0),
	A("Service-Parameter-Value", 442, 0, DM_T_OCTETS, 0),
	A("Subscription-Id", 443, 0, DM_T_GROUPED, 1),
	A("Subscription-Id-Data", 444, 0, DM_T_UTF8, 1),
	A("Unit-Value", 445, 0, DM_T_GROUPED, 1),
	A("Used-Service-Unit", 446, 0, DM_T_GROUPED, 1),
	A("Value-Digits", 447, 0, DM_T_I64, 1),
	A("Validity-Time", 448, 0, DM_T_U32, 1),
	E("Final-Unit-Action", 449, 0, 1, final_unit_action),
	E("Subscription-Id-Type", 450, 0, 1, subscription_id_type),
	A("Tariff-Time-Change", 451, 0, DM_T_TIME, 1),
	A("Tariff-Change-Usage", 452, 0, DM_T_ENUM, 1),
	E("Multiple-Services-Indicator", 455, 0, 1, multiple_services_indicator),
	A("Multiple-Services-Credit-Control", 456, 0, DM_T_GROUPED, 1),
	A("G-S-U-Pool-Reference", 457, 0, DM_T_GROUPED, 1),
	A("G-S-U-Pool-Identifier", 453, 0, DM_T_U32, 1),
	A("CC-Unit-Type", 454, 0, DM_T_ENUM, 1),
	A("User-Equipment-Info", 458, 0, DM_T_GROUPED, 0),
	A("User-Equipment-Info-Type", 459, 0, DM_T_ENUM, 0),
	A("User-Equipment-Info-Value", 460, 0, DM_T_OCTETS, 0),
	A("Service-Context-Id", 461, 0, DM_T_UTF8, 1),
	/* 3GPP Cx (TS 29.229) */
	A("Visited-Network-Identifier", 600, V3, DM_T_OCTETS, 1),
	A("Public-Identity", 601, V3, DM_T_UTF8, 1),
	A("Server-Name", 602, V3, DM_T_UTF8, 1),
	A("Server-Capabilities", 603, V3, DM_T_GROUPED, 1),
	A("Mandatory-Capability", 604, V3, DM_T_U32, 1),
	A("Optional-Capability", 605, V3, DM_T_U32, 1),
	A("Cx-User-Data", 606, V3, DM_T_OCTETS, 1),
	A("SIP-Number-Auth-Items", 607, V3, DM_T_U32, 1),
	A("SIP-Authentication-Scheme", 608, V3, DM_T_UTF8, 1),
	A("SIP-Authenticate", 609, V3, DM_T_OCTETS, 1),
	A("SIP-Authorization", 610, V3, DM_T_OCTETS, 1),
	A("SIP-Authentication-Context", 611, V3, DM_T_OCTETS, 1),
	A("SIP-Auth-Data-Item", 612, V3, DM_T_GROUPED, 1),
	A("SIP-Item-Number", 613, V3, DM_T_U32, 1),
	E("Server-Assignment-Type", 614, V3, 1, server_assignment_type),
	A("Deregistration-Reason", 615, V3, DM_T_GROUPED, 1),
	A("Reason-Code", 616, V3, DM_T_ENUM, 1),
	A("Reason-Info", 617, V3, DM_T_UTF8, 1),
	A("Charging-Information", 618, V3, DM_T_GROUPED, 1),
	A("Primary-Event-Charging-Function-Name", 619, V3, DM_T_URI, 1),
	A("Secondary-Event-Charging-Function-Name", 620, V3, DM_T_URI, 1),
	A("Primary-Charging-Collection-Function-Name", 621, V3, DM_T_URI, 1),
	A("Secondary-Charging-Collection-Function-Name", 622, V3, DM_T_URI, 1),
	E("User-Authorization-Type", 623, V3, 1, user_authorization_type),
	E("User-Data-Already-Available", 624, V3, 1, user_data_already_available),
	A("Confidentiality-Key", 625, V3, DM_T_OCTETS, 1),
	A("Integrity-Key", 626, V3, DM_T_OCTETS, 1),
	A("Supported-Features", 628, V3, DM_T_GROUPED, 0),
	A("Feature-List-ID", 629, V3, DM_T_U32, 0),
	A("Feature-List", 630, V3, DM_T_U32, 0),
	A("Supported-Applications", 631, V3, DM_T_GROUPED, 0),
	A("Associated-Identities", 632, V3, DM_T_GROUPED, 0),
	A("Originating-Request", 633, V3, DM_T_ENUM, 1),
	A("Wildcarded-Public-Identity", 634, V3, DM_T_UTF8, 0),
	/* 3GPP Sh (TS 29.329) */
	A("User-Identity", 700, V3, DM_T_GROUPED, 1),
	A("MSISDN", 701, V3, DM_T_OCTETS, 1),
	A("User-Data", 702, V3, DM_T_OCTETS, 1),
	E("Data-Reference", 703, V3, 1, data_reference),
	A("Service-Indication", 704, V3, DM_T_OCTETS, 1),
	E("Subs-Req-Type", 705, V3, 1, subs_req_type),
	A("Requested-Domain", 706, V3, DM_T_ENUM, 1),
	A("Current-Location", 707, V3, DM_T_ENUM, 1),
	E("Identity-Set", 708, V3, 1, identity_set),
	A("Expiry-Time", 709, V3, DM_T_TIME, 0),
	A("Send-Data-Indication", 710, V3, DM_T_ENUM, 0),
	A("DSAI-Tag", 711, V3, DM_T_OCTETS, 1),
	A("Repository-Data-ID", 715, V3, DM_T_GROUPED, 0),
	A("Sequence-Number", 716, V3, DM_T_U32, 0),
};

static const struct dm_cmd_def builtin_cmds[] = {
	{ "Capabilities-Exchange", "CER", "CEA", 257, 0, 0 },
	{ "Re-Auth", "RAR", "RAA", 258, 0, 1 },
	{ "Accounting", "ACR", "ACA", 271, 3, 1 },
	{ "Credit-Control", "CCR", "CCA", 272, 4, 1 },
	{ "Abort-Session", "ASR", "ASA", 274, 0, 1 },
	{ "Session-Termination", "STR", "STA", 275, 0, 1 },
	{ "Device-Watchdog", "DWR", "DWA", 280, 0, 0 },
	{ "Disconnect-Peer", "DPR", "DPA", 282, 0, 0 },
	{ "User-Authorization", "UAR", "UAA", 300, 16777216, 1 },
	{ "Server-Assignment", "SAR", "SAA", 301, 16777216, 1 },
	{ "Location-Info", "LIR", "LIA", 302, 16777216, 1 },
	{ "Multimedia-Auth", "MAR", "MAA", 303, 16777216, 1 },
	{ "Registration-Termination", "RTR", "RTA", 304, 16777216, 1 },
	{ "Push-Profile", "PPR", "PPA", 305, 16777216, 1 },
	{ "User-Data", "UDR", "UDA", 306, 16777217, 1 },
	{ "Profile-Update", "PUR", "PUA", 307, 16777217, 1 },
	{ "Subscribe-Notifications", "SNR", "SNA", 308, 16777217, 1 },
	{ "Push-Notification", "PNR", "PNA", 309, 16777217, 1 },
};

static const struct dm_app_def builtin_apps[] = {
	{ "Base", 0, 0, 0 },
	{ "Base-Accounting", 3, 0, 1 },
	{ "Credit-Control", 4, 0, 0 },
	{ "Cx", 16777216, V3, 0 },
	{ "Sh", 16777217, V3, 0 },
};

/* ---- the dictionary ----------------------------------------------------------------------- */

struct dm_dict {
	struct dm_avp_def *avps;
	size_t navps, cavps;
	struct dm_cmd_def *cmds;
	size_t ncmds, ccmds;
	struct dm_app_def *apps;
	size_t napps, capps;
	struct vendor {
		char *name;
		uint32_t id;
	} *vendors;
	size_t nvendors;
	/* open addressing, indexes + 1 into avps (0: empty); twice the AVPs at least */
	uint32_t *by_code, *by_name;
	size_t mask;
	char **owned;                  /* strings and tables of loaded definitions */
	size_t nowned, cowned;
};

static uint64_t code_key(uint32_t code, uint32_t vendor)
{
	uint64_t k = (uint64_t)vendor << 32 | code;
	return cm_fnv1a64(&k, sizeof(k));
}

static int rehash(struct dm_dict *d)
{
	size_t cap = 64;
	while (cap < d->navps * 2 + 2)
		cap *= 2;
	uint32_t *bc = calloc(cap, sizeof(*bc)), *bn = calloc(cap, sizeof(*bn));
	if (!bc || !bn) {
		free(bc);
		free(bn);
		return -ENOMEM;
	}
	free(d->by_code);
	free(d->by_name);
	d->by_code = bc;
	d->by_name = bn;
	d->mask = cap - 1;
	for (size_t i = 0; i < d->navps; i++) {
		const struct dm_avp_def *a = &d->avps[i];
		size_t h = code_key(a->code, a->vendor) & d->mask;
		while (bc[h])
			h = (h + 1) & d->mask;
		bc[h] = (uint32_t)i + 1;
		h = cm_fnv1a64(a->name, strlen(a->name)) & d->mask;
		while (bn[h])
			h = (h + 1) & d->mask;
		bn[h] = (uint32_t)i + 1;
	}
	return 0;
}

#define GROW(arr, n, cap)                                                                   \
	do {                                                                                \
		if ((n) == (cap)) {                                                         \
			size_t c_ = (cap) ? (cap) * 2 : 32;                                 \
			void *p_ = realloc((arr), c_ * sizeof(*(arr)));                     \
			if (!p_)                                                            \
				return -ENOMEM;                                             \
			(arr) = p_;                                                         \
			(cap) = c_;                                                         \
		}                                                                           \
	} while (0)

static int add_avp(struct dm_dict *d, const struct dm_avp_def *a)
{
	GROW(d->avps, d->navps, d->cavps);
	d->avps[d->navps++] = *a;
	return 0;
}

static int add_cmd(struct dm_dict *d, const struct dm_cmd_def *c)
{
	GROW(d->cmds, d->ncmds, d->ccmds);
	d->cmds[d->ncmds++] = *c;
	return 0;
}

static int add_app(struct dm_dict *d, const struct dm_app_def *a)
{
	GROW(d->apps, d->napps, d->capps);
	d->apps[d->napps++] = *a;
	return 0;
}

/* <p> kept until the dictionary goes; NULL (and freed) when it cannot be. */
static void *own(struct dm_dict *d, void *p)
{
	if (!p)
		return NULL;
	if (d->nowned == d->cowned) {
		size_t c = d->cowned ? d->cowned * 2 : 64;
		char **n = realloc(d->owned, c * sizeof(*n));
		if (!n) {
			free(p);
			return NULL;
		}
		d->owned = n;
		d->cowned = c;
	}
	d->owned[d->nowned++] = p;
	return p;
}

struct dm_dict *dm_dict_new(void)
{
	struct dm_dict *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	int rc = 0;
	for (size_t i = 0; !rc && i < sizeof(builtin_avps) / sizeof(builtin_avps[0]); i++)
		rc = add_avp(d, &builtin_avps[i]);
	for (size_t i = 0; !rc && i < sizeof(builtin_cmds) / sizeof(builtin_cmds[0]); i++)
		rc = add_cmd(d, &builtin_cmds[i]);
	for (size_t i = 0; !rc && i < sizeof(builtin_apps) / sizeof(builtin_apps[0]); i++)
		rc = add_app(d, &builtin_apps[i]);
	if (rc || rehash(d) < 0) {
		dm_dict_free(d);
		return NULL;
	}
	return d;
}

void dm_dict_free(struct dm_dict *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->nowned; i++)
		free(d->owned[i]);
	free(d->owned);
	free(d->vendors);
	free(d->avps);
	free(d->cmds);
	free(d->apps);
	free(d->by_code);
	free(d->by_name);
	free(d);
}

const struct dm_avp_def *dm_dict_avp(const struct dm_dict *d, uint32_t code, uint32_t vendor)
{
	for (size_t h = code_key(code, vendor) & d->mask; d->by_code[h]; h = (h + 1) & d->mask) {
		const struct dm_avp_def *a = &d->avps[d->by_code[h] - 1];
		if (a->code == code && a->vendor == vendor)
			return a;
	}
	return NULL;
}

const struct dm_avp_def *dm_dict_avp_named(const struct dm_dict *d, const char *name)
{
	for (size_t h = cm_fnv1a64(name, strlen(name)) & d->mask; d->by_name[h];
	     h = (h + 1) & d->mask) {
		const struct dm_avp_def *a = &d->avps[d->by_name[h] - 1];
		if (!strcmp(a->name, name))
			return a;
	}
	return NULL;
}

int dm_dict_is_grouped(void *arg, uint32_t code, uint32_t vendor)
{
	const struct dm_avp_def *a = dm_dict_avp(arg, code, vendor);
	return a && a->type == DM_T_GROUPED;
}

const struct dm_cmd_def *dm_dict_cmd_named(const struct dm_dict *d, const char *name)
{
	size_t n = strlen(name);
	size_t base = n;
	if (n > 8 && !strcmp(name + n - 8, "-Request"))
		base = n - 8;
	else if (n > 7 && !strcmp(name + n - 7, "-Answer"))
		base = n - 7;
	for (size_t i = 0; i < d->ncmds; i++) {
		const struct dm_cmd_def *c = &d->cmds[i];
		if ((strlen(c->name) == base && !strncmp(c->name, name, base)) ||
		    (c->req && !strcasecmp(c->req, name)) || (c->ans && !strcasecmp(c->ans, name)))
			return c;
	}
	return NULL;
}

const struct dm_cmd_def *dm_dict_cmd(const struct dm_dict *d, uint32_t code, uint32_t app_id)
{
	const struct dm_cmd_def *any = NULL;
	for (size_t i = 0; i < d->ncmds; i++)
		if (d->cmds[i].code == code) {
			if (d->cmds[i].app_id == app_id)
				return &d->cmds[i];
			any = any ? any : &d->cmds[i];
		}
	return any && any->app_id == 0 ? any : NULL; /* base commands run in any application */
}

const struct dm_app_def *dm_dict_app_named(const struct dm_dict *d, const char *name)
{
	for (size_t i = 0; i < d->napps; i++)
		if (!strcasecmp(d->apps[i].name, name))
			return &d->apps[i];
	return NULL;
}

const struct dm_app_def *dm_dict_app(const struct dm_dict *d, uint32_t id)
{
	for (size_t i = 0; i < d->napps; i++)
		if (d->apps[i].id == id)
			return &d->apps[i];
	return NULL;
}

int dm_dict_enum_value(const struct dm_avp_def *a, const char *name, int32_t *v)
{
	for (const struct dm_enum_val *e = a->vals; e && e->name; e++)
		if (!strcmp(e->name, name)) {
			*v = e->value;
			return 0;
		}
	return -ENOENT;
}

const char *dm_dict_enum_name(const struct dm_avp_def *a, int32_t v)
{
	for (const struct dm_enum_val *e = a->vals; e && e->name; e++)
		if (e->value == v)
			return e->name;
	return NULL;
}

_Static_assert(sizeof(builtin_cmds) / sizeof(builtin_cmds[0]) == DM_DICT_BUILTIN_CMDS,
	       "DM_DICT_BUILTIN_CMDS counts the built-in commands");

const struct dm_cmd_def *dm_dict_builtin_cmd(unsigned i)
{
	return i < DM_DICT_BUILTIN_CMDS ? &builtin_cmds[i] : NULL;
}

void dm_dict_counts(const struct dm_dict *d, size_t *navps, size_t *ncmds, size_t *napps)
{
	*navps = d->navps;
	*ncmds = d->ncmds;
	*napps = d->napps;
}

/* ---- JSON files --------------------------------------------------------------------------- */

#define FAIL(...)                                                                           \
	do {                                                                                \
		snprintf(err, errlen, __VA_ARGS__);                                         \
		return -EINVAL;                                                             \
	} while (0)

static char *sdup(struct dm_dict *d, const char *s)
{
	return own(d, strdup(s));
}

/* A vendor given as a number or a name. 0 or -EINVAL. */
static int vendor_of(const struct dm_dict *d, const json_t *v, uint32_t *out)
{
	if (!v) {
		*out = 0;
		return 0;
	}
	if (json_is_integer(v) && json_integer_value(v) >= 0 &&
	    json_integer_value(v) <= UINT32_MAX) {
		*out = (uint32_t)json_integer_value(v);
		return 0;
	}
	if (json_is_string(v)) {
		if (!strcmp(json_string_value(v), "3GPP")) {
			*out = DM_VENDOR_3GPP;
			return 0;
		}
		for (size_t i = 0; i < d->nvendors; i++)
			if (!strcmp(d->vendors[i].name, json_string_value(v))) {
				*out = d->vendors[i].id;
				return 0;
			}
	}
	return -EINVAL;
}

static int u32_of(const json_t *v, uint32_t max, uint32_t *out)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > max)
		return -EINVAL;
	*out = (uint32_t)json_integer_value(v);
	return 0;
}

static int load_avp(struct dm_dict *d, const json_t *o, size_t i, const char *src, char *err,
		    size_t errlen)
{
	const char *name = json_string_value(json_object_get(o, "name"));
	const char *type = json_string_value(json_object_get(o, "type"));
	struct dm_avp_def a = { .mandatory = 1 };
	int t;
	if (!json_is_object(o) || !name || !*name)
		FAIL("%s: avps[%zu]: an object with a \"name\"", src, i);
	if (u32_of(json_object_get(o, "code"), UINT32_MAX, &a.code) < 0)
		FAIL("%s: AVP %s: \"code\" is not a number of 32 bits", src, name);
	if (vendor_of(d, json_object_get(o, "vendor"), &a.vendor) < 0)
		FAIL("%s: AVP %s: \"vendor\" is neither a number nor a known vendor", src, name);
	if (!type || (t = dm_type_of(type)) < 0)
		FAIL("%s: AVP %s: \"type\" is not one of RFC 6733's (\"Unsigned32\", \"Grouped\", "
		     "...)", src, name);
	a.type = (enum dm_type)t;
	if (json_object_get(o, "mandatory"))
		a.mandatory = json_is_true(json_object_get(o, "mandatory"));
	if (dm_dict_avp_named(d, name) || dm_dict_avp(d, a.code, a.vendor))
		FAIL("%s: AVP %s (code %u, vendor %u) is there already", src, name, a.code, a.vendor);
	const json_t *vals = json_object_get(o, "values");
	if (vals) {
		if (a.type != DM_T_ENUM || !json_is_object(vals))
			FAIL("%s: AVP %s: \"values\" (an object) only for Enumerated", src, name);
		size_t n = json_object_size(vals), k = 0;
		struct dm_enum_val *ev = own(d, calloc(n + 1, sizeof(*ev)));
		const char *key;
		json_t *val;
		if (!ev)
			return -ENOMEM;
		json_object_foreach((json_t *)vals, key, val) {
			if (!json_is_integer(val) || json_integer_value(val) < INT32_MIN ||
			    json_integer_value(val) > INT32_MAX)
				FAIL("%s: AVP %s: value %s is not an Integer32", src, name, key);
			if (!(ev[k].name = sdup(d, key)))
				return -ENOMEM;
			ev[k++].value = (int32_t)json_integer_value(val);
		}
		a.vals = ev;
	}
	if (!(a.name = sdup(d, name)))
		return -ENOMEM;
	return add_avp(d, &a);
}

int dm_dict_load_text(struct dm_dict *d, const char *text, const char *src, char *err,
		      size_t errlen)
{
	json_error_t je;
	json_t *root = json_loads(text, 0, &je);
	int rc = 0;
	if (!root || !json_is_object(root)) {
		snprintf(err, errlen, "%s:%d: %s", src, root ? 1 : je.line,
			 root ? "not a JSON object" : je.text);
		json_decref(root);
		return -EINVAL;
	}
	size_t i;
	json_t *o;
	json_array_foreach(json_object_get(root, "vendors"), i, o) {
		const char *name = json_string_value(json_object_get(o, "name"));
		uint32_t id;
		if (!name || u32_of(json_object_get(o, "id"), UINT32_MAX, &id) < 0) {
			snprintf(err, errlen, "%s: vendors[%zu]: {\"id\": number, \"name\": string}",
				 src, i);
			rc = -EINVAL;
			goto out;
		}
		struct vendor *nv = realloc(d->vendors, (d->nvendors + 1) * sizeof(*nv));
		if (!nv || !(name = sdup(d, name))) {
			if (nv)
				d->vendors = nv;
			rc = -ENOMEM;
			goto out;
		}
		d->vendors = nv;
		d->vendors[d->nvendors++] = (struct vendor){ (char *)name, id };
	}
	json_array_foreach(json_object_get(root, "applications"), i, o) {
		const char *name = json_string_value(json_object_get(o, "name"));
		struct dm_app_def a = { 0 };
		if (!name || u32_of(json_object_get(o, "id"), UINT32_MAX, &a.id) < 0 ||
		    vendor_of(d, json_object_get(o, "vendor"), &a.vendor) < 0) {
			snprintf(err, errlen, "%s: applications[%zu]: {\"id\": number, \"name\": "
				 "string, \"vendor\"?, \"acct\"?}", src, i);
			rc = -EINVAL;
			goto out;
		}
		if (dm_dict_app_named(d, name) || dm_dict_app(d, a.id)) {
			snprintf(err, errlen, "%s: application %s (%u) is there already", src, name,
				 a.id);
			rc = -EINVAL;
			goto out;
		}
		a.acct = json_is_true(json_object_get(o, "acct"));
		if (!(a.name = sdup(d, name)) || add_app(d, &a) < 0) {
			rc = -ENOMEM;
			goto out;
		}
	}
	json_array_foreach(json_object_get(root, "avps"), i, o) {
		if ((rc = load_avp(d, o, i, src, err, errlen)) < 0)
			goto out;
		if ((rc = rehash(d)) < 0) /* the next ones look this one up */
			goto out;
	}
	json_array_foreach(json_object_get(root, "commands"), i, o) {
		const char *name = json_string_value(json_object_get(o, "name"));
		const char *app = json_string_value(json_object_get(o, "application"));
		const char *rq = json_string_value(json_object_get(o, "request"));
		const char *an = json_string_value(json_object_get(o, "answer"));
		const struct dm_app_def *ad = app ? dm_dict_app_named(d, app) : dm_dict_app(d, 0);
		struct dm_cmd_def c = { 0 };
		if (!name || u32_of(json_object_get(o, "code"), 0xffffff, &c.code) < 0 || !ad) {
			snprintf(err, errlen, "%s: commands[%zu]: {\"name\", \"code\" (24 bits), "
				 "\"application\" (a known one's name)}", src, i);
			rc = -EINVAL;
			goto out;
		}
		if (dm_dict_cmd_named(d, name) || (rq && dm_dict_cmd_named(d, rq)) ||
		    (an && dm_dict_cmd_named(d, an))) {
			snprintf(err, errlen, "%s: command %s is there already", src, name);
			rc = -EINVAL;
			goto out;
		}
		c.app_id = ad->id;
		c.proxiable = !json_is_false(json_object_get(o, "proxiable"));
		if (!(c.name = sdup(d, name)) || (rq && !(c.req = sdup(d, rq))) ||
		    (an && !(c.ans = sdup(d, an))) || add_cmd(d, &c) < 0) {
			rc = -ENOMEM;
			goto out;
		}
	}
out:
	json_decref(root);
	if (rc == -ENOMEM)
		snprintf(err, errlen, "%s: out of memory", src);
	return rc;
}

int dm_dict_load(struct dm_dict *d, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -ENOENT;
	}
	char *buf = NULL;
	size_t len = 0, cap = 0, n;
	char chunk[4096];
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (len + n + 1 > cap || !buf) {
			size_t c = (len + n + 1) * 2;
			char *nb = c <= (16u << 20) ? realloc(buf, c) : NULL;
			if (!nb) {
				free(buf);
				fclose(f);
				snprintf(err, errlen, "%s: too big, or out of memory", path);
				return -ENOMEM;
			}
			buf = nb;
			cap = c;
		}
		memcpy(buf + len, chunk, n);
		len += n;
	}
	fclose(f);
	if (!buf) {
		snprintf(err, errlen, "%s: empty", path);
		return -EINVAL;
	}
	buf[len] = '\0';
	int rc = dm_dict_load_text(d, buf, path, err, errlen);
	free(buf);
	return rc;
}

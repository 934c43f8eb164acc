/* rcs_tags.c — RCS feature tags in Contact / Accept-Contact values: the table of services,
 * the reader (on the SIP layer's list, address and parameter scanners) and the writer. See
 * rcs_tags.h for the forms and the contracts.
 *
 * The URNs are those RCS clients send (GSMA RCC.07 / RCS Universal Profile; the same
 * strings appear in Android's and rcsjta's feature-tag tables). */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <strings.h>

#include "rcs/rcs_tags.h"
#include "rcs/rcs_wbuf.h"
#include "sip/sip_hdr.h"

#define ICSI_PREFIX "urn:urn-7:3gpp-service.ims.icsi."
#define IARI_PREFIX "urn:urn-7:3gpp-application.ims.iari."
#define URN_MAX     96      /* a decoded URN longer than this matches nothing */

enum kind {
	K_ICSI,                 /* a value of +g.3gpp.icsi-ref: ICSI_PREFIX <what> */
	K_IARI,                 /* a value of +g.3gpp.iari-ref: IARI_PREFIX <what> */
	K_FLAG,                 /* a boolean feature tag named <what> */
};

static const struct svc {
	unsigned bit;
	const char *name;       /* rcs_svc_name(); NULL: an alias, read but never written */
	enum kind kind;
	const char *what;
} svcs[] = {
	{ RCS_SVC_CHAT, "chat", K_ICSI, "oma.cpm.session" },
	{ RCS_SVC_STANDALONE, "standalone", K_ICSI, "oma.cpm.msg" },
	{ RCS_SVC_LARGEMSG, "largemsg", K_ICSI, "oma.cpm.largemsg" },
	{ RCS_SVC_FT, "ft", K_ICSI, "oma.cpm.filetransfer" },
	{ RCS_SVC_FTHTTP, "fthttp", K_IARI, "rcs.fthttp" },
	{ RCS_SVC_CHATBOT, "chatbot", K_IARI, "rcs.chatbot" },
	{ RCS_SVC_CHATBOT, NULL, K_FLAG, "+g.gsma.rcs.isbot" },
	{ RCS_SVC_GEOPUSH, "geopush", K_IARI, "rcs.geopush" },
	{ RCS_SVC_DEFERRED, "deferred", K_ICSI, "oma.cpm.deferred" },
	{ RCS_SVC_GROUPCHAT, "groupchat", K_ICSI, "oma.cpm.session.group" },
	{ RCS_SVC_SYSTEMMSG, "systemmsg", K_ICSI, "oma.cpm.systemmsg" },
	{ RCS_SVC_MMTEL, "mmtel", K_ICSI, "mmtel" },
	{ RCS_SVC_RCSE_IM, "rcse-im", K_IARI, "rcse.im" },
	{ RCS_SVC_RCSE_FT, "rcse-ft", K_IARI, "rcse.ft" },
	{ RCS_SVC_FTTHUMB, "ftthumb", K_IARI, "rcs.ftthumb" },
	{ RCS_SVC_FTSTANDFW, "ftstandfw", K_IARI, "rcs.ftstandfw" },
	{ RCS_SVC_FTSMS, "ftsms", K_IARI, "rcs.ftsms" },
	{ RCS_SVC_GEOSMS, "geosms", K_IARI, "rcs.geosms" },
	{ RCS_SVC_CHATBOT_SA, "chatbot-sa", K_IARI, "rcs.chatbot.sa" },
	{ RCS_SVC_PAGER_LARGE, "pager-large", K_FLAG, "+g.gsma.rcs.cpm.pager-large" },
};

#define NSVCS (sizeof(svcs) / sizeof(svcs[0]))

static const char *const prefixes[] = { [K_ICSI] = ICSI_PREFIX, [K_IARI] = IARI_PREFIX };
static const char *const ref_names[] = { [K_ICSI] = "+g.3gpp.icsi-ref",
					 [K_IARI] = "+g.3gpp.iari-ref" };

#define BOTVERSION "+g.gsma.rcs.botversion"

static int slice_ieq(const char *p, size_t n, const char *lit)
{
	return strlen(lit) == n && (n == 0 || strncasecmp(p, lit, n) == 0);
}

const char *rcs_svc_name(unsigned bit)
{
	for (size_t i = 0; i < NSVCS; i++)
		if (svcs[i].bit == bit && svcs[i].name)
			return svcs[i].name;
	return NULL;
}

unsigned rcs_svc_from_name(const char *name, size_t len)
{
	if (!name)
		return 0;
	for (size_t i = 0; i < NSVCS; i++)
		if (svcs[i].name && slice_ieq(name, len, svcs[i].name))
			return svcs[i].bit;
	return 0;
}

/* ---- reading ------------------------------------------------------------------------- */

/* 1 when <s>[0..<n>) may be a botversion value: no control character, '"' or '\'. */
static int botversion_ok(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (sip_cis(s[i], SIP_C_CTL) || s[i] == '"' || s[i] == '\\')
			return 0;
	return 1;
}

/* The parameter value <v> without its quotes when it has them. */
static cm_slice unquote(cm_slice v)
{
	if (v.len >= 2 && v.p[0] == '"')
		return (cm_slice){ v.p + 1, v.len - 2 };
	return v;
}

/* The bit of the %-encoded URN <u> given under tag <k>, 0 when it matches none. */
static unsigned urn_bit(cm_slice u, enum kind k)
{
	char d[URN_MAX];
	size_t n = 0, pl = strlen(prefixes[k]);

	for (size_t i = 0; i < u.len; i++, n++) {
		int hi, lo;

		if (n == sizeof(d))
			return 0;
		if (u.p[i] != '%') {
			d[n] = u.p[i];
			continue;
		}
		if (u.len - i < 3 || (hi = rcs_hexval(u.p[i + 1])) < 0 ||
		    (lo = rcs_hexval(u.p[i + 2])) < 0)
			return 0;
		d[n] = (char)(hi << 4 | lo);
		i += 2;
	}
	if (n <= pl || strncasecmp(d, prefixes[k], pl) != 0)
		return 0;
	for (size_t i = 0; i < NSVCS; i++)
		if (svcs[i].kind == k && slice_ieq(d + pl, n - pl, svcs[i].what))
			return svcs[i].bit;
	return 0;
}

/* Each URN of the icsi-ref / iari-ref value <v> (tag <k>) into *<t>. */
static void take_refs(cm_slice v, enum kind k, struct rcs_tags *t)
{
	const char *s = v.p, *e = v.p + v.len;

	while (s < e) {
		const char *c = memchr(s, ',', (size_t)(e - s)), *ie = c ? c : e;
		unsigned bit;

		while (s < ie && sip_cis(*s, SIP_C_LWS))
			s++;
		while (ie > s && sip_cis(ie[-1], SIP_C_LWS))
			ie--;
		if (ie > s) {
			bit = urn_bit((cm_slice){ s, (size_t)(ie - s) }, k);
			t->services |= bit;
			if (!bit && t->nother < UINT_MAX)
				t->nother++;
		}
		s = c ? c + 1 : e;
	}
}

/* The first botversion value <v> (unquoted) into t->botversion, cut after the last whole
 * version that fits. */
static void take_botversion(cm_slice v, struct rcs_tags *t)
{
	size_t n = v.len;

	if (t->botversion[0] || !botversion_ok(v.p, v.len))
		return;
	if (n >= sizeof(t->botversion)) {
		for (n = sizeof(t->botversion) - 1; n > 0 && v.p[n] != ','; n--)
			;
	}
	memcpy(t->botversion, v.p, n);
	t->botversion[n] = '\0';
}

/* One parameter <n>[=<v>] of an element into *<t>. */
static void take_param(cm_slice n, cm_slice v, struct rcs_tags *t)
{
	cm_slice u = unquote(v);

	if (slice_ieq(n.p, n.len, ref_names[K_ICSI]) && v.p) {
		take_refs(u, K_ICSI, t);
	} else if (slice_ieq(n.p, n.len, ref_names[K_IARI]) && v.p) {
		take_refs(u, K_IARI, t);
	} else if (slice_ieq(n.p, n.len, BOTVERSION) && v.p) {
		take_botversion(u, t);
	} else if (!v.p || slice_ieq(u.p, u.len, "TRUE")) {
		for (size_t i = 0; i < NSVCS; i++)
			if (svcs[i].kind == K_FLAG && slice_ieq(n.p, n.len, svcs[i].what))
				t->services |= svcs[i].bit;
	}
}

int rcs_tags_parse(const char *p, size_t len, struct rcs_tags *out)
{
	cm_slice rest = { p, p ? len : 0 }, elem, n, v;
	struct sip_addr a;
	int r;

	memset(out, 0, sizeof(*out));
	while ((r = sip_list_next(&rest, &elem)) == 1) {
		cm_slice params;

		if (sip_addr_parse(elem, &a) < 0) {
			r = -EINVAL;
			break;
		}
		params = a.params;
		while ((r = sip_param_next(&params, &n, &v)) == 1)
			take_param(n, v, out);
		if (r < 0)
			break;
	}
	if (r < 0) {
		memset(out, 0, sizeof(*out));
		return -EINVAL;
	}
	return 0;
}

/* ---- writing ------------------------------------------------------------------------- */

/* ";<tag>=\"<urn>,<urn>...\"" for the services of <services> of kind <k>, nothing when
 * there are none. */
static void w_refs(struct rcs_wbuf *w, unsigned services, enum kind k)
{
	const char *pre = prefixes[k];
	int first = 1;

	for (size_t i = 0; i < NSVCS; i++) {
		if (svcs[i].kind != k || !svcs[i].name || !(services & svcs[i].bit))
			continue;
		rcs_wbuf_str(w, first ? ";" : ",");
		if (first) {
			rcs_wbuf_str(w, ref_names[k]);
			rcs_wbuf_str(w, "=\"");
		}
		first = 0;
		for (const char *c = pre; *c; c++) {
			if (*c == ':')
				rcs_wbuf_pct(w, ':');
			else
				rcs_wbuf_put(w, c, 1);
		}
		rcs_wbuf_str(w, svcs[i].what);
	}
	if (!first)
		rcs_wbuf_str(w, "\"");
}

long rcs_tags_write(char *buf, size_t cap, unsigned services, const char *botversion)
{
	size_t bl = botversion ? strlen(botversion) : 0;
	struct rcs_wbuf w;

	if ((services & ~RCS_SVC_ALL) || bl >= sizeof(((struct rcs_tags *)0)->botversion) ||
	    !botversion_ok(botversion, bl))
		return -EINVAL;
	rcs_wbuf_init(&w, buf, cap);
	w_refs(&w, services, K_ICSI);
	w_refs(&w, services, K_IARI);
	for (size_t i = 0; i < NSVCS; i++) {
		if (svcs[i].kind == K_FLAG && svcs[i].name && (services & svcs[i].bit)) {
			rcs_wbuf_str(&w, ";");
			rcs_wbuf_str(&w, svcs[i].what);
		}
	}
	if (bl) {
		rcs_wbuf_str(&w, ";" BOTVERSION "=\"");
		rcs_wbuf_put(&w, botversion, bl);
		rcs_wbuf_str(&w, "\"");
	}
	return rcs_wbuf_end(&w);
}

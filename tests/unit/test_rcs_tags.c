/* test_rcs_tags.c — RCS feature tags in Contact / Accept-Contact values (rcs/rcs_tags.c).
 *
 * Inputs are Contact values of the shapes RCS clients send (the strings of Android's and
 * rcsjta's feature-tag tables and of a REGISTER Contact with +sip.instance, reg-id and
 * several URNs per tag), Accept-Contact "*" values, and malformed ones; every input is
 * read from a copy that ends at a PROT_NONE page (tests/lib/guard.h), and so is every
 * prefix of a long one. The writer is checked whole against the form clients send, read
 * back for every service, and cut at every capacity below its length. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "rcs/rcs_tags.h"
#include "tests/lib/guard.h"

#define ICSI "urn%3Aurn-7%3A3gpp-service.ims.icsi."
#define IARI "urn%3Aurn-7%3A3gpp-application.ims.iari."

/* The Contact of the brief's example: chat, FT over MSRP, FT over HTTP, bot versions. */
#define CONTACT_UP                                                                         \
	"<sip:+15551234@10.0.0.1:5060;transport=tcp>;+g.3gpp.icsi-ref=\"" ICSI              \
	"oma.cpm.session," ICSI "oma.cpm.filetransfer\";+g.3gpp.iari-ref=\"" IARI            \
	"rcs.fthttp\";+g.gsma.rcs.botversion=\"#=1,#=2\""

/* A REGISTER Contact as a UP client builds it: +sip.instance holds <> inside its quotes,
 * "rcs.geosm" is a misspelt URN (counted as unknown). */
#define CONTACT_REG                                                                        \
	"<sip:+15550001@192.0.2.7:41234;transport=tls;ob>;+sip.instance=\"<urn:uuid:"        \
	"2f1e6c52-0c3a-4b8e-9d59-1b8f6a1c0d11>\";+g.3gpp.icsi-ref=\"" ICSI "oma.cpm.session," \
	ICSI "oma.cpm.session.group," ICSI "oma.cpm.msg," ICSI "oma.cpm.largemsg," ICSI      \
	"oma.cpm.systemmsg," ICSI "oma.cpm.filetransfer\";+g.3gpp.iari-ref=\"" IARI          \
	"rcs.ftthumb," IARI "rcs.fthttp," IARI "rcs.ftsms," IARI "rcs.chatbot.sa," IARI      \
	"rcse.im," IARI "rcs.geopush," IARI "rcs.geosm\";+g.gsma.rcs.cpm.pager-large;"       \
	"+g.gsma.rcs.botversion=\"#=1,#=2\";reg-id=1;expires=600000"

/* rcs_tags_parse() on a guarded copy of <s>; the result into *<t>. */
static int parse(const char *s, struct rcs_tags *t)
{
	size_t n = strlen(s);
	const char *g = guard_copy(s, n);
	int r = rcs_tags_parse(g, n, t);

	guard_release(g);
	return r;
}

/* <s> parses to <services>, <bv> and <nother>. */
static void expect(const char *s, unsigned services, const char *bv, unsigned nother)
{
	struct rcs_tags t;

	cr_assert_eq(parse(s, &t), 0, "%s", s);
	cr_assert_eq(t.services, services, "%s: %#x, want %#x", s, t.services, services);
	cr_assert_str_eq(t.botversion, bv, "%s", s);
	cr_assert_eq(t.nother, nother, "%s: nother %u", s, t.nother);
}

static void expect_einval(const char *s)
{
	struct rcs_tags t;

	memset(&t, 0x5a, sizeof(t));
	cr_assert_eq(parse(s, &t), -EINVAL, "%s", s);
	cr_assert(t.services == 0 && t.botversion[0] == '\0' && t.nother == 0, "%s", s);
}

/* ---- reading ------------------------------------------------------------------------- */

Test(rcs_tags, up_contact)
{
	expect(CONTACT_UP, RCS_SVC_CHAT | RCS_SVC_FT | RCS_SVC_FTHTTP, "#=1,#=2", 0);
}

Test(rcs_tags, register_contact_many_urns)
{
	expect(CONTACT_REG,
	       RCS_SVC_CHAT | RCS_SVC_GROUPCHAT | RCS_SVC_STANDALONE | RCS_SVC_LARGEMSG |
		       RCS_SVC_SYSTEMMSG | RCS_SVC_FT | RCS_SVC_FTTHUMB | RCS_SVC_FTHTTP |
		       RCS_SVC_FTSMS | RCS_SVC_CHATBOT_SA | RCS_SVC_RCSE_IM | RCS_SVC_GEOPUSH |
		       RCS_SVC_PAGER_LARGE,
	       "#=1,#=2", 1);
}

Test(rcs_tags, accept_contact_star)
{
	expect("*;+g.3gpp.icsi-ref=\"" ICSI "oma.cpm.session\"", RCS_SVC_CHAT, "", 0);
	expect("*;+g.3gpp.icsi-ref=\"" ICSI "oma.cpm.msg\";require;explicit", RCS_SVC_STANDALONE,
	       "", 0);
	/* Accept-Contact with two ac-values, folded, the second a chatbot */
	expect("*;+g.3gpp.icsi-ref=\"" ICSI "oma.cpm.session\",\r\n *;+g.3gpp.iari-ref=\"" IARI
	       "rcs.chatbot\";require;explicit",
	       RCS_SVC_CHAT | RCS_SVC_CHATBOT, "", 0);
	expect("*", 0, "", 0);
}

Test(rcs_tags, case_and_encoding)
{
	/* lower-case escapes, URN and tag name in any case */
	expect("<sip:a@b>;+G.3GPP.ICSI-REF=\"urn%3aurn-7%3a3GPP-Service.IMS.icsi.OMA.CPM.Session\"",
	       RCS_SVC_CHAT, "", 0);
	/* sent without escapes (':' inside the quotes), as some clients do */
	expect("<sip:a@b>;+g.3gpp.iari-ref=\"urn:urn-7:3gpp-application.ims.iari.rcs.chatbot\"",
	       RCS_SVC_CHATBOT, "", 0);
	/* other letters escaped too */
	expect("<sip:a@b>;+g.3gpp.iari-ref=\"urn%3Aurn%2D7%3A3gpp-application.ims.iari.rcs%2Efthttp\"",
	       RCS_SVC_FTHTTP, "", 0);
	/* a single value as a bare token */
	expect("<sip:a@b>;+g.3gpp.icsi-ref=" ICSI "oma.cpm.largemsg", RCS_SVC_LARGEMSG, "", 0);
	/* blanks around the items and empty items */
	expect("<sip:a@b>;+g.3gpp.icsi-ref=\" " ICSI "oma.cpm.session , ," ICSI "mmtel \"",
	       RCS_SVC_CHAT | RCS_SVC_MMTEL, "", 0);
	/* blanks around ';' and '=' */
	expect("<sip:a@b> ; +g.3gpp.iari-ref = \"" IARI "rcs.geopush\"", RCS_SVC_GEOPUSH, "", 0);
}

Test(rcs_tags, android_feature_tag_strings)
{
	/* the standalone tag Android sends: three ICSIs and the pager-large flag */
	expect("<sip:+15551234@example.com>;+g.3gpp.icsi-ref=\"" ICSI "oma.cpm.msg," ICSI
	       "oma.cpm.largemsg," ICSI "oma.cpm.deferred\";+g.gsma.rcs.cpm.pager-large",
	       RCS_SVC_STANDALONE | RCS_SVC_LARGEMSG | RCS_SVC_DEFERRED | RCS_SVC_PAGER_LARGE, "",
	       0);
	/* a chatbot: isbot flag and botversion */
	expect("<sip:bot@botplatform.example.com>;+g.3gpp.iari-ref=\"" IARI
	       "rcs.chatbot\";+g.gsma.rcs.isbot;+g.gsma.rcs.botversion=\"#=1\"",
	       RCS_SVC_CHATBOT, "#=1", 0);
	/* RCS-e: chat, FT and presence (rcse.dp is not in the table) */
	expect("\"Bob\" <sip:bob@example.com>;+g.3gpp.iari-ref=\"" IARI "rcse.im," IARI
	       "rcse.ft," IARI "rcse.dp\";+g.oma.sip-im",
	       RCS_SVC_RCSE_IM | RCS_SVC_RCSE_FT, "", 1);
}

Test(rcs_tags, same_tag_several_times_and_elements_merged)
{
	expect("<sip:a@b>;+g.3gpp.iari-ref=\"" IARI "rcs.fthttp\";+g.3gpp.iari-ref=\"" IARI
	       "rcs.geopush\";+g.3gpp.icsi-ref=\"" ICSI "oma.cpm.session\";+g.3gpp.icsi-ref=\""
	       ICSI "oma.cpm.session\"",
	       RCS_SVC_FTHTTP | RCS_SVC_GEOPUSH | RCS_SVC_CHAT, "", 0);
	/* two Contact values in one header, and an addr-spec without <> */
	expect("<sip:a@10.0.0.1>;+g.3gpp.icsi-ref=\"" ICSI "oma.cpm.session\", sip:a@10.0.0.2;"
	       "+g.3gpp.iari-ref=\"" IARI "rcs.ftstandfw\";expires=60",
	       RCS_SVC_CHAT | RCS_SVC_FTSTANDFW, "", 0);
	/* the first botversion counts */
	expect("<sip:a@b>;+g.gsma.rcs.botversion=\"#=1\", <sip:c@d>;+g.gsma.rcs.botversion=\"#=2\"",
	       0, "#=1", 0);
}

Test(rcs_tags, unknown_urns_counted)
{
	/* an unknown ICSI and IARI, an ICSI under iari-ref, a negated value, a bad escape, a
	 * URN without the 3GPP prefix, one too long to be any */
	expect("<sip:a@b>;+g.3gpp.icsi-ref=\"" ICSI "gsma.callcomposer," ICSI
	       "oma.cpm.session\";+g.3gpp.iari-ref=\"" IARI "gsma-is," ICSI "oma.cpm.msg,!" IARI
	       "rcs.fthttp," IARI "rcs.geo%ZZpush,urn%3Aurn-7%3Aother.fthttp," IARI
	       "rcs.fthttpfthttpfthttpfthttpfthttpfthttpfthttpfthttpfthttpfthttpfthttp\"",
	       RCS_SVC_CHAT, "", 7);
	/* a prefix alone matches nothing; a value of the table under another tag neither */
	expect("<sip:a@b>;+g.3gpp.icsi-ref=\"" ICSI "\";+g.3gpp.icsi-ref=\"rcs.fthttp\"", 0, "", 2);
}

Test(rcs_tags, params_inside_the_uri_are_not_tags)
{
	/* URI parameters (';' inside <>) that look like feature tags */
	expect("<sip:+1555@10.0.0.1;transport=tcp;+g.3gpp.icsi-ref=" ICSI
	       "oma.cpm.session;+g.gsma.rcs.isbot>;+g.3gpp.iari-ref=\"" IARI "rcs.fthttp\"",
	       RCS_SVC_FTHTTP, "", 0);
	/* a display name with ';', '<' and ',' in its quotes */
	expect("\"A;+g.gsma.rcs.isbot <x>, y\" <sip:a@b>;+g.gsma.rcs.cpm.pager-large",
	       RCS_SVC_PAGER_LARGE, "", 0);
}

Test(rcs_tags, flags)
{
	expect("<sip:a@b>;+g.gsma.rcs.isbot", RCS_SVC_CHATBOT, "", 0);
	expect("<sip:a@b>;+g.gsma.rcs.isbot=\"TRUE\"", RCS_SVC_CHATBOT, "", 0);
	expect("<sip:a@b>;+g.gsma.rcs.isbot=\"FALSE\"", 0, "", 0);
	expect("<sip:a@b>;+G.GSMA.RCS.CPM.PAGER-LARGE=true", RCS_SVC_PAGER_LARGE, "", 0);
	/* a bare icsi-ref or botversion says nothing */
	expect("<sip:a@b>;+g.3gpp.icsi-ref;+g.gsma.rcs.botversion", 0, "", 0);
}

Test(rcs_tags, botversion_values)
{
	expect("<sip:a@b>;+g.gsma.rcs.botversion=\"#=1,#=2\"", 0, "#=1,#=2", 0);
	/* longer than 31 bytes: the whole versions that fit */
	expect("<sip:a@b>;+g.gsma.rcs.botversion=\"#=1,#=2,#=3,#=4,#=5,#=6,#=7,#=10,#=11\"",
	       0, "#=1,#=2,#=3,#=4,#=5,#=6,#=7", 0);
	/* a comma right at byte 31: 31 bytes kept */
	expect("<sip:a@b>;+g.gsma.rcs.botversion=\"#=1,#=2,#=3,#=4,#=5,#=6,#=7,#=8,#=9\"", 0,
	       "#=1,#=2,#=3,#=4,#=5,#=6,#=7,#=8", 0);
	expect("<sip:a@b>;+g.gsma.rcs.botversion=\"#=1,#=2,#=3,#=4,#=5,#=6,#=7,#=\"", 0,
	       "#=1,#=2,#=3,#=4,#=5,#=6,#=7,#=", 0);
	expect("<sip:a@b>;+g.gsma.rcs.botversion=\"0123456789012345678901234567890123\"", 0, "",
	       0);
	/* a quoted-pair inside is not kept; an empty one lets a later one in */
	expect("<sip:a@b>;+g.gsma.rcs.botversion=\"#=\\\"1\";+g.gsma.rcs.botversion=\"#=2\"", 0,
	       "#=2", 0);
	expect("<sip:a@b>;+g.gsma.rcs.botversion=\"\";+g.gsma.rcs.botversion=\"#=2\"", 0, "#=2",
	       0);
}

Test(rcs_tags, empty_values)
{
	struct rcs_tags t;

	expect("", 0, "", 0);
	expect("  ,  ", 0, "", 0);
	cr_assert_eq(rcs_tags_parse(NULL, 0, &t), 0);
	cr_assert_eq(t.services, 0);
	expect("<sip:a@b>", 0, "", 0);
}

Test(rcs_tags, malformed)
{
	expect_einval("<sip:a@b>;+g.3gpp.icsi-ref=\"" ICSI "oma.cpm.session");   /* quote */
	expect_einval("<sip:a@b;+g.3gpp.icsi-ref=\"" ICSI "oma.cpm.session\"");  /* no '>' */
	expect_einval("sip:a@b>;+g.gsma.rcs.isbot");                             /* stray '>' */
	expect_einval("<sip:a@b>>;+g.gsma.rcs.isbot");
	expect_einval("<sip:a@b>;+g.gsma.rcs.isbot>");
	expect_einval("\"Bob <sip:a@b>;+g.gsma.rcs.isbot");                       /* display */
	expect_einval("<sip:a@b>;+g.gsma.rcs.isbot,<sip:c@d");                   /* 2nd elem */
	expect_einval(";+g.gsma.rcs.isbot");                                     /* no URI */
	expect_einval("<sip:a@b>;");                                             /* empty param */
	expect_einval("<sip:a@b>;=x");
	expect_einval("<sip:a@b>;+g.3gpp.icsi-ref=\"x\"y");                      /* after quote */
	expect_einval("<sip:a@b> junk;+g.gsma.rcs.isbot");
	expect_einval("*junk");
}

Test(rcs_tags, too_many_params)
{
	char v[2048];
	size_t n = (size_t)snprintf(v, sizeof(v), "<sip:a@b>;+g.gsma.rcs.isbot");

	for (int i = 0; i < 62; i++)
		n += (size_t)snprintf(v + n, sizeof(v) - n, ";p%d", i);
	cr_assert(n < sizeof(v));
	expect(v, RCS_SVC_CHATBOT, "", 0);                 /* 63 parameters */
	snprintf(v + n, sizeof(v) - n, ";q");
	expect(v, RCS_SVC_CHATBOT, "", 0);                 /* 64 */
	snprintf(v + n, sizeof(v) - n, ";q;r");
	expect_einval(v);                                  /* 65 */
}

/* Every prefix of a real value, each against the guard page: no read past its end, and
 * the result is 0 or -EINVAL with the services a subset of the whole value's. */
Test(rcs_tags, every_prefix_guarded)
{
	static const char *const vals[] = { CONTACT_UP, CONTACT_REG };

	for (size_t k = 0; k < 2; k++) {
		size_t len = strlen(vals[k]);
		struct rcs_tags whole;

		cr_assert_eq(parse(vals[k], &whole), 0);
		for (size_t n = 0; n <= len; n++) {
			const char *g = guard_copy(vals[k], n);
			struct rcs_tags t;
			int r = rcs_tags_parse(g, n, &t);

			guard_release(g);
			cr_assert(r == 0 || r == -EINVAL, "prefix %zu: %d", n, r);
			cr_assert_eq(t.services & ~whole.services, 0, "prefix %zu", n);
		}
	}
}

/* ---- writing ------------------------------------------------------------------------- */

Test(rcs_tags, write_as_clients_send)
{
	static const char want[] =
		";+g.3gpp.icsi-ref=\"" ICSI "oma.cpm.session," ICSI "oma.cpm.filetransfer\""
		";+g.3gpp.iari-ref=\"" IARI "rcs.fthttp\";+g.gsma.rcs.botversion=\"#=1,#=2\"";
	char buf[512];
	long n = rcs_tags_write(buf, sizeof(buf), RCS_SVC_CHAT | RCS_SVC_FT | RCS_SVC_FTHTTP,
				"#=1,#=2");

	cr_assert_eq(n, (long)strlen(want));
	cr_assert_str_eq(buf, want);
	cr_assert_eq(rcs_tags_write(NULL, 0, RCS_SVC_CHAT | RCS_SVC_FT | RCS_SVC_FTHTTP,
				    "#=1,#=2"), n);
	/* the brief's Contact is exactly "<uri>" followed by this */
	cr_assert_str_eq(strchr(CONTACT_UP, '>') + 1, want);

	n = rcs_tags_write(buf, sizeof(buf), RCS_SVC_CHATBOT | RCS_SVC_PAGER_LARGE, NULL);
	cr_assert_str_eq(buf, ";+g.3gpp.iari-ref=\"" IARI "rcs.chatbot\";+g.gsma.rcs.cpm.pager-large");
	cr_assert_eq(n, (long)strlen(buf));
	n = rcs_tags_write(buf, sizeof(buf), 0, "#=1");
	cr_assert_str_eq(buf, ";+g.gsma.rcs.botversion=\"#=1\"");
}

Test(rcs_tags, write_nothing)
{
	char buf[4] = "xyz";

	cr_assert_eq(rcs_tags_write(buf, sizeof(buf), 0, NULL), 0);
	cr_assert_str_eq(buf, "");
	cr_assert_eq(rcs_tags_write(buf, sizeof(buf), 0, ""), 0);
	cr_assert_eq(rcs_tags_write(NULL, 0, 0, NULL), 0);
}

/* Each service alone, and all of them, read back from "*" + the text and from a Contact. */
Test(rcs_tags, write_read_back)
{
	for (unsigned bit = 1; bit <= RCS_SVC_ALL + 1; bit <<= 1) {
		unsigned set = bit > RCS_SVC_ALL ? RCS_SVC_ALL : bit;
		char buf[2048], val[2100];
		struct rcs_tags t;
		long n = rcs_tags_write(buf, sizeof(buf), set, "#=1,#=2");

		cr_assert(n > 0 && (size_t)n < sizeof(buf), "%#x", set);
		snprintf(val, sizeof(val), "*%s", buf);
		expect(val, set, "#=1,#=2", 0);
		snprintf(val, sizeof(val), "\"Name\" <sip:+15551234@example.com;user=phone>%s", buf);
		cr_assert_eq(parse(val, &t), 0);
		cr_assert_eq(t.services, set);
		if (bit > RCS_SVC_ALL)
			break;
	}
}

/* -ENOSPC at every capacity below length + 1, "" left in the buffer; exact fit works. */
Test(rcs_tags, write_enospc_every_cap)
{
	char want[2048], buf[2048];
	long n = rcs_tags_write(want, sizeof(want), RCS_SVC_ALL, "#=1,#=2");

	cr_assert(n > 0);
	for (size_t cap = 0; cap <= (size_t)n; cap++) {
		memset(buf, 'x', sizeof(buf));
		cr_assert_eq(rcs_tags_write(buf, cap, RCS_SVC_ALL, "#=1,#=2"), -ENOSPC, "cap %zu",
			     cap);
		if (cap)
			cr_assert_eq(buf[0], '\0');
		cr_assert_eq(buf[cap], 'x', "wrote past cap %zu", cap);
	}
	cr_assert_eq(rcs_tags_write(buf, (size_t)n + 1, RCS_SVC_ALL, "#=1,#=2"), n);
	cr_assert_str_eq(buf, want);
}

Test(rcs_tags, write_refusals)
{
	char buf[512];

	cr_assert_eq(rcs_tags_write(buf, sizeof(buf), RCS_SVC_ALL + 1, NULL), -EINVAL);
	cr_assert_eq(rcs_tags_write(buf, sizeof(buf), 0x80000000u, NULL), -EINVAL);
	cr_assert_eq(rcs_tags_write(buf, sizeof(buf), 0, "0123456789012345678901234567890x"),
		     -EINVAL);   /* 32 bytes */
	cr_assert_eq(rcs_tags_write(buf, sizeof(buf), 0, "012345678901234567890123456789x"),
		     (long)strlen(";+g.gsma.rcs.botversion=\"\"") + 31);
	cr_assert_eq(rcs_tags_write(buf, sizeof(buf), 0, "#=\"1"), -EINVAL);
	cr_assert_eq(rcs_tags_write(buf, sizeof(buf), 0, "#=\\1"), -EINVAL);
	cr_assert_eq(rcs_tags_write(buf, sizeof(buf), 0, "#=1\r\n"), -EINVAL);
}

/* ---- names --------------------------------------------------------------------------- */

Test(rcs_tags, names)
{
	static const char *const want[] = { "chat", "standalone", "largemsg", "ft", "fthttp",
					    "chatbot", "geopush", "deferred", "groupchat",
					    "systemmsg", "mmtel", "rcse-im", "rcse-ft", "ftthumb",
					    "ftstandfw", "ftsms", "geosms", "chatbot-sa",
					    "pager-large" };
	unsigned seen = 0;

	cr_assert_eq(sizeof(want) / sizeof(want[0]), 19);
	for (unsigned i = 0; i < 19; i++) {
		unsigned bit = 1u << i;
		const char *n = rcs_svc_name(bit);
		char up[32];

		cr_assert(n, "bit %#x", bit);
		cr_assert_str_eq(n, want[i]);
		cr_assert_eq(rcs_svc_from_name(n, strlen(n)), bit);
		for (size_t k = 0; k <= strlen(n); k++)
			up[k] = (char)(n[k] >= 'a' && n[k] <= 'z' ? n[k] - 32 : n[k]);
		cr_assert_eq(rcs_svc_from_name(up, strlen(up)), bit);
		seen |= bit;
	}
	cr_assert_eq(seen, RCS_SVC_ALL);
	cr_assert_null(rcs_svc_name(0));
	cr_assert_null(rcs_svc_name(RCS_SVC_CHAT | RCS_SVC_FT));
	cr_assert_null(rcs_svc_name(RCS_SVC_ALL + 1));
	cr_assert_eq(rcs_svc_from_name("chatx", 5), 0);
	cr_assert_eq(rcs_svc_from_name("chat", 3), 0);
	cr_assert_eq(rcs_svc_from_name("", 0), 0);
	cr_assert_eq(rcs_svc_from_name(NULL, 0), 0);
	cr_assert_eq(rcs_svc_from_name("fthttp,", 6), RCS_SVC_FTHTTP);
}

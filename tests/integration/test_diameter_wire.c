/* test_diameter_wire.c — what rcsgw's Diameter codec writes, decoded by an independent
 * dissector (issue 9): messages built with diameter/dm_msg.c and, for the applications'
 * ones, from JSON by AVP name (dm_json.c), sent over a TCP connection on loopback while
 * dumpcap captures it; tshark must find every message, no malformed frame and no error,
 * and the AVPs (base, Ro, the 3GPP vendor's Sh ones, a Grouped one inside another) with
 * the values that went in. */
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "diameter/dm_dict.h"
#include "diameter/dm_json.h"
#include "diameter/dm_msg.h"
#include "tests/lib/dm_samples.h"
#include "tests/lib/rcsgw_proc.h"
#include "tests/lib/tshark.h"

static struct tshark_cap cap = TSHARK_CAP_INIT;
static char cap_dir[64];

static void down(void)
{
	tshark_stop(&cap);
	if (cap_dir[0]) {
		char cmd[128];
		snprintf(cmd, sizeof(cmd), "rm -rf %s", cap_dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", cap_dir);
	}
}

TestSuite(diameter_wire, .fini = down, .timeout = 60);

/* A message of command <cmd> with <avps> (JSON text) into <buf>: its length. */
static long from_json(struct dm_dict *d, const char *cmd, uint8_t flags, const char *avps,
		      uint8_t *buf, size_t cap_len)
{
	const struct dm_cmd_def *c = dm_dict_cmd_named(d, cmd);
	json_t *j = json_loads(avps, 0, NULL);
	struct dm_wbuf w;
	char err[256] = "";
	cr_assert(c && j, "%s", cmd);
	dm_w_init(&w, buf, cap_len);
	dm_w_hdr(&w, flags | (c->proxiable ? DM_FLAG_P : 0), c->code, c->app_id, 0x1234,
		 0x5678);
	cr_assert_eq(dm_json_write(d, j, &w, err, sizeof(err)), 0, "%s", err);
	json_decref(j);
	long n = dm_w_finish(&w);
	cr_assert_gt(n, 0);
	return n;
}

Test(diameter_wire, tshark_decodes_what_the_codec_writes)
{
	if (!tshark_available())
		cr_skip_test("tshark/dumpcap missing (make deps)");
	struct dm_dict *d = dm_dict_new();
	cr_assert(d);
	int port = free_tcp_port();
	int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	cr_assert(ls >= 0);
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	cr_assert_eq(bind(ls, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(ls, 4), 0);

	snprintf(cap_dir, sizeof(cap_dir), "/tmp/rcsgw-dmwire.XXXXXX");
	cr_assert_not_null(mkdtemp(cap_dir));
	char filter[64];
	snprintf(filter, sizeof(filter), "tcp port %d", port);
	int rc = tshark_start(&cap, filter, cap_dir);
	if (rc == -EPERM)
		cr_skip_test("no permission to capture on lo (root or dumpcap with CAP_NET_RAW)");
	cr_assert_eq(rc, 0, "dumpcap: %s", strerror(-rc));

	int cs = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_eq(connect(cs, (struct sockaddr *)&sa, sizeof(sa)), 0);
	int as = accept(ls, NULL, NULL);
	cr_assert(as >= 0);

	uint8_t m[8][2048];
	long n[8];
	int k = 0;
	struct dm_wbuf w;
	static const uint8_t lo[4] = { 127, 0, 0, 1 };
	/* CER, by hand */
	dm_w_init(&w, m[k], sizeof(m[k]));
	dm_w_hdr(&w, DM_FLAG_R, 257, 0, 1, 1);
	dm_w_str(&w, 264, DM_AVP_M, 0, "rcsgw.test");
	dm_w_str(&w, 296, DM_AVP_M, 0, "test");
	dm_w_address(&w, 257, DM_AVP_M, 0, 1, lo, 4);
	dm_w_u32(&w, 266, DM_AVP_M, 0, 0);
	dm_w_str(&w, 269, 0, 0, "rcsgw");
	dm_w_u32(&w, 265, DM_AVP_M, 0, DM_VENDOR_3GPP);
	dm_w_group_begin(&w, 260, DM_AVP_M, 0);
	dm_w_u32(&w, 266, DM_AVP_M, 0, DM_VENDOR_3GPP);
	dm_w_u32(&w, 258, DM_AVP_M, 0, 16777217);
	dm_w_group_end(&w);
	dm_w_u32(&w, 258, DM_AVP_M, 0, 4);
	n[k++] = dm_w_finish(&w);
	/* DWR and DPR, from JSON */
	n[k] = from_json(d, "DWR", DM_FLAG_R,
			 "[{\"Origin-Host\": \"rcsgw.test\"}, {\"Origin-Realm\": \"test\"}]", m[k],
			 sizeof(m[k]));
	k++;
	/* a Ro CCR (event) with a Grouped AVP and a Time */
	n[k] = from_json(d, "CCR", DM_FLAG_R,
			 "[{\"Session-Id\": \"rcsgw.test;1;42\"}, {\"Origin-Host\": \"rcsgw.test\"},"
			 " {\"Origin-Realm\": \"test\"}, {\"Destination-Realm\": \"ocs.test\"},"
			 " {\"Auth-Application-Id\": 4}, {\"Service-Context-Id\": \"32274@3gpp.org\"},"
			 " {\"CC-Request-Type\": \"EVENT_REQUEST\"}, {\"CC-Request-Number\": 0},"
			 " {\"Requested-Action\": \"DIRECT_DEBITING\"},"
			 " {\"Event-Timestamp\": \"2026-11-27T08:00:00Z\"},"
			 " {\"Subscription-Id\": [{\"Subscription-Id-Type\": \"END_USER_SIP_URI\"},"
			 "   {\"Subscription-Id-Data\": \"sip:alice@ims.test\"}]},"
			 " {\"Requested-Service-Unit\": [{\"CC-Service-Specific-Units\": 1}]}]",
			 m[k], sizeof(m[k]));
	k++;
	/* an Sh UDR: the 3GPP vendor's AVPs, one Grouped */
	n[k] = from_json(d, "UDR", DM_FLAG_R, DM_SAMPLE_UDR_JSON, m[k], sizeof(m[k]));
	k++;
	/* an error answer naming the AVP at fault */
	n[k] = from_json(d, "CCA", 0,
			 "[{\"Session-Id\": \"rcsgw.test;1;42\"}, {\"Result-Code\": 5004},"
			 " {\"Origin-Host\": \"rcsgw.test\"}, {\"Origin-Realm\": \"test\"},"
			 " {\"Failed-AVP\": [{\"CC-Request-Type\": 9}]},"
			 " {\"Error-Message\": \"CC-Request-Type: no such value\"}]", m[k], sizeof(m[k]));
	m[k][4] |= DM_FLAG_E;
	k++;
	n[k] = from_json(d, "DPR", DM_FLAG_R,
			 "[{\"Origin-Host\": \"rcsgw.test\"}, {\"Origin-Realm\": \"test\"},"
			 " {\"Disconnect-Cause\": \"DO_NOT_WANT_TO_TALK_TO_YOU\"}]", m[k], sizeof(m[k]));
	k++;
	uint8_t sink[16384];
	for (int i = 0; i < k; i++) { /* one message per segment: one frame each */
		cr_assert_eq(send(cs, m[i], (size_t)n[i], 0), n[i]);
		usleep(20000);
		cr_assert_gt(recv(as, sink, sizeof(sink), 0), 0);
	}
	close(cs);
	close(as);
	close(ls);
	cr_assert_eq(tshark_stop(&cap), 0);

	char as_d[64], buf[8192];
	snprintf(as_d, sizeof(as_d), "tcp.port==%d,diameter", port);
	int frames = tshark_summary(&cap, as_d, "diameter", buf, sizeof(buf));
	cr_expect_eq(frames, k, "Diameter frames: %d of %d\n%s", frames, k, buf);
	int bad = tshark_summary(&cap, as_d, TSHARK_BAD, buf, sizeof(buf));
	cr_expect_eq(bad, 0, "malformed or in error:\n%s", buf);
	struct {
		const char *filter;
		int want;
	} f[] = {
		{ "diameter.cmd.code == 257 && diameter.flags.request == 1", 1 },
		{ "diameter.Origin-Host == \"rcsgw.test\"", k },
		{ "diameter.Host-IP-Address.IPv4 == 127.0.0.1", 1 },
		{ "diameter.Product-Name == \"rcsgw\"", 1 },
		{ "diameter.cmd.code == 272 && diameter.applicationId == 4", 2 },
		{ "diameter.Subscription-Id-Data == \"sip:alice@ims.test\"", 1 },
		{ "diameter.CC-Request-Type == 4", 1 },
		{ "diameter.Event-Timestamp", 1 },
		{ "diameter.cmd.code == 306 && diameter.applicationId == 16777217", 1 },
		{ "diameter.Public-Identity == \"sip:alice@ims.test\"", 1 },
		{ "diameter.Data-Reference == 0", 1 },
		{ "diameter.Result-Code == 5004 && diameter.flags.error == 1", 1 },
		{ "diameter.Disconnect-Cause == 2", 1 },
	};
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		int got = tshark_count(&cap, as_d, f[i].filter);
		cr_expect_eq(got, f[i].want, "%s: %d frames, %d wanted", f[i].filter, got, f[i].want);
	}
	dm_dict_free(d);
}

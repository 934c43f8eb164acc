/* test_dm_node.c — the Diameter node's pure part (diameter/dm_node.c): the peers' aaa://
 * URIs of the configuration. The routing, failover and requests received run against real
 * nodes in tests/integration/test_diameter_daemon.c. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "diameter/dm_msg.h"
#include "diameter/dm_node.h"

Test(dm_node, peer_uris)
{
	struct dm_node_peer_cfg p;
	char err[256];
	cr_assert_eq(dm_node_parse_peer("aaa://hss1.ims.example.net", &p, err, sizeof(err)), 0,
		     "%s", err);
	cr_expect_str_eq(p.host, "hss1.ims.example.net");
	cr_expect_eq(p.port, 3868);
	cr_expect_str_eq(p.realm, "");
	cr_assert_eq(dm_node_parse_peer("AAA://10.0.0.9:3869;transport=tcp;realm=ims.example.net",
					&p, err, sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(p.host, "10.0.0.9");
	cr_expect_eq(p.port, 3869);
	cr_expect_str_eq(p.realm, "ims.example.net");
	cr_assert_eq(dm_node_parse_peer("aaa://[2001:db8::7]:3870;protocol=diameter", &p, err,
					sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(p.host, "2001:db8::7");
	cr_expect_eq(p.port, 3870);

	const char *bad[] = {
		"aaas://hss:5658",            /* TLS: not supported */
		"http://hss",
		"aaa://",
		"aaa://hss:0",
		"aaa://hss:70000",
		"aaa://hss:x",
		"aaa://hss;transport=sctp",   /* not supported */
		"aaa://hss;realm",
		"aaa://hss;realm=",
		"aaa://hss;colour=blue",
		"aaa://[::1",
		"aaa://hss/path",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		cr_expect_eq(dm_node_parse_peer(bad[i], &p, err, sizeof(err)), -EINVAL, "%s",
			     bad[i]);
		cr_expect(strstr(err, bad[i]) != NULL, "the error names the URI: %s", err);
	}
}

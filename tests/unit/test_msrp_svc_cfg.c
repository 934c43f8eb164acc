/* test_msrp_svc_cfg.c — the [msrp] keys reach the MSRP endpoint's configuration: parser
 * limits, transactions and timeouts for every connection, chunk size and reassembly bounds
 * for the applications that send and receive whole messages. */
#include <criterion/criterion.h>

#include "common/cm_config.h"
#include "msrp/msrp_svc.h"

Test(msrp_svc_cfg, keys_reach_the_endpoint)
{
	char *env[] = { "RCSGW_MSRP_MAX_LINE=2k", "RCSGW_MSRP_MAX_HEADERS=20",
			"RCSGW_MSRP_MAX_HEAD=4k", "RCSGW_MSRP_MAX_CHUNK=1M",
			"RCSGW_MSRP_TRANSACTION_TIMEOUT=7s", "RCSGW_MSRP_MAX_TRANSACTIONS=9",
			"RCSGW_MSRP_IDLE_TIMEOUT=1m", "RCSGW_MSRP_HEAD_TIMEOUT=3s",
			"RCSGW_MSRP_WS_MAX_MESSAGE=64k", "RCSGW_MSRP_CHUNK_SIZE=4k",
			"RCSGW_MSRP_MAX_MESSAGE=2M", "RCSGW_MSRP_MAX_CHUNKS=512",
			"RCSGW_MSRP_REASSEMBLY_TIMEOUT=45s", NULL };
	struct cm_config c;
	struct msrp_svc_cfg s;
	char err[256];

	cr_assert_eq(cm_config_load_env(&c, NULL, env, err, sizeof(err)), 0, "%s", err);
	msrp_svc_cfg_from(&s, &c);
	cr_expect_eq(s.conn.limits.max_line, 2048);
	cr_expect_eq(s.conn.limits.max_headers, 20);
	cr_expect_eq(s.conn.limits.max_head, 4096);
	cr_expect_eq(s.conn.limits.max_body, 1048576);
	cr_expect_eq(s.conn.txn_timeout_ms, 7000);
	cr_expect_eq(s.conn.max_txns, 9);
	cr_expect_eq(s.conn.idle_timeout_ms, 60000);
	cr_expect_eq(s.conn.head_timeout_ms, 3000);
	cr_expect_eq(s.ws_cfg.max_msg, 65536);
	cr_expect_eq(s.chunk_size, 4096);
	cr_expect_eq(s.reasm.max_message, 2097152);
	cr_expect_eq(s.reasm.max_chunks, 512);
	cr_expect_eq(s.reasm.timeout_ms, 45000);
	cr_expect_null(s.relay, "the relay is attached by the daemon, not by the mapping");
	cm_config_free(&c);
}

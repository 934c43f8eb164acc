/* test_sh_session.c — the session record of shards/session.proto through protobuf-c: a UA
 * session with its dialog and MSRP leg packed and read back whole; a gateway pair; the
 * bytes of a record cut short or corrupted refused (what Redis hands back is not trusted
 * blindly); an older reader skipping a field it does not know. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "shards/session.pb-c.h"

static uint8_t *pack(const Rcsgw__Session *s, size_t *len)
{
	*len = rcsgw__session__get_packed_size(s);
	uint8_t *buf = malloc(*len ? *len : 1);
	cr_assert(buf);
	cr_assert_eq(rcsgw__session__pack(s, buf), *len);
	return buf;
}

Test(sh_session, a_ua_session_round_trips)
{
	char *routes[] = { "<sip:p1.example.net;lr>", "<sip:p2.example.net;lr>" };
	char *types[] = { "message/cpim", "application/im-iscomposing+xml" };
	Rcsgw__Dialog d = RCSGW__DIALOG__INIT;
	d.call_id = "a84b4c76e66710";
	d.local_tag = "rabjzl2bq7fcpgh6vkvtni3x";
	d.remote_tag = "1928301774";
	d.remote_target = "<sip:bob@192.0.2.4>";
	d.n_route_set = 2;
	d.route_set = routes;
	d.local_cseq = 314159;
	d.remote_cseq = 7;
	d.we_called = 1;
	Rcsgw__MsrpLeg m = RCSGW__MSRP_LEG__INIT;
	m.local_uri = "msrp://gw.example.net:2855/rabjzl2bq7fcpgh6vkvtni3x;tcp";
	m.to_path = "msrp://192.0.2.4:7777/iau39soe2843z;tcp";
	m.n_accept_types = 2;
	m.accept_types = types;
	m.max_size = 1 << 20;
	Rcsgw__UaSession ua = RCSGW__UA_SESSION__INIT;
	ua.id = "rabjzl2bq7fcpgh6vkvtni3x";
	ua.state = "established";
	ua.from = "sip:bot@gw.example.net";
	ua.to = "sip:bob@example.net";
	ua.dialog = &d;
	ua.msrp = &m;
	ua.conversation_id = "f81d4fae-7dec-11d0-a765-00a0c91e6bf6";
	ua.created_ms = 1795000000000ULL;
	Rcsgw__Session s = RCSGW__SESSION__INIT;
	s.version = 1;
	s.node_id = "node-a";
	s.epoch = 3;
	s.kind_case = RCSGW__SESSION__KIND_UA;
	s.ua = &ua;

	size_t len;
	uint8_t *buf = pack(&s, &len);
	Rcsgw__Session *r = rcsgw__session__unpack(NULL, len, buf);
	cr_assert_not_null(r);
	cr_expect_eq(r->epoch, 3);
	cr_expect_str_eq(r->node_id, "node-a");
	cr_assert_eq(r->kind_case, RCSGW__SESSION__KIND_UA);
	cr_expect_str_eq(r->ua->id, ua.id);
	cr_expect_str_eq(r->ua->state, "established");
	cr_expect_eq(r->ua->created_ms, ua.created_ms);
	cr_assert_not_null(r->ua->dialog);
	cr_expect_str_eq(r->ua->dialog->call_id, d.call_id);
	cr_expect_eq(r->ua->dialog->n_route_set, 2);
	cr_expect_str_eq(r->ua->dialog->route_set[1], routes[1]);
	cr_expect_eq(r->ua->dialog->local_cseq, 314159);
	cr_expect(r->ua->dialog->we_called);
	cr_expect_str_eq(r->ua->msrp->to_path, m.to_path);
	cr_expect_eq(r->ua->msrp->n_accept_types, 2);
	cr_expect_eq(r->ua->msrp->max_size, 1 << 20);
	rcsgw__session__free_unpacked(r, NULL);

	/* cut short anywhere, or a byte flipped into a bad wire type: refused, no crash */
	for (size_t cut = 1; cut < len; cut += 7) {
		r = rcsgw__session__unpack(NULL, cut, buf);
		if (r)
			rcsgw__session__free_unpacked(r, NULL);
	}
	uint8_t bad[] = { 0x0f, 0xff, 0xff, 0xff, 0xff, 0xff };
	cr_expect_null(rcsgw__session__unpack(NULL, sizeof(bad), bad));
	free(buf);
}

Test(sh_session, a_gateway_pair_and_an_unknown_field)
{
	Rcsgw__GatewayPair g = RCSGW__GATEWAY_PAIR__INIT;
	g.key = "sip:alice@legacy.example.net|sip:bob@rcs.example.net";
	g.session_id = "q2bpa7rgn5d3fhkv6y4mlj2c";
	g.last_message_ms = 42;
	Rcsgw__Session s = RCSGW__SESSION__INIT;
	s.version = 1;
	s.kind_case = RCSGW__SESSION__KIND_GATEWAY;
	s.gateway = &g;
	size_t len;
	uint8_t *buf = pack(&s, &len);
	/* a newer writer's field 99 (varint 5) in front: skipped by this reader */
	uint8_t *more = malloc(len + 3);
	cr_assert(more);
	more[0] = 0x98; /* the key 99 << 3 | 0 = 792 as a varint: 0x98 0x06 */
	more[1] = 0x06;
	more[2] = 5;
	memcpy(more + 3, buf, len);
	Rcsgw__Session *r = rcsgw__session__unpack(NULL, len + 3, more);
	cr_assert_not_null(r);
	cr_assert_eq(r->kind_case, RCSGW__SESSION__KIND_GATEWAY);
	cr_expect_str_eq(r->gateway->key, g.key);
	cr_expect_eq(r->gateway->last_message_ms, 42);
	rcsgw__session__free_unpacked(r, NULL);
	free(more);
	free(buf);
}

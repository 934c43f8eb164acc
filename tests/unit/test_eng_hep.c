/* test_eng_hep.c — the HEP v3 encoder (engine/eng_hep.c): packets written byte for byte
 * from the HEP3 chunk layout (vendor 0, type, length with its 6-byte header, value; numbers
 * in network order), for IPv4 and IPv6, and its bounds; the trace settings' checks. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "common/cm_config-t.h"
#include "engine/eng_hep.h"

static void addr4(struct eng_hep_addr *a, const char *ip, uint16_t port)
{
	memset(a, 0, sizeof(*a));
	a->family = AF_INET;
	a->port = port;
	cr_assert_eq(inet_pton(AF_INET, ip, a->addr), 1);
}

static void addr6(struct eng_hep_addr *a, const char *ip, uint16_t port)
{
	memset(a, 0, sizeof(*a));
	a->family = AF_INET6;
	a->port = port;
	cr_assert_eq(inet_pton(AF_INET6, ip, a->addr), 1);
}

static void expect_bytes(const char *got, size_t n, const unsigned char *want, size_t wn)
{
	cr_assert_eq(n, wn, "length %zu, want %zu", n, wn);
	for (size_t i = 0; i < n; i++)
		cr_expect_eq((unsigned char)got[i], want[i], "byte %zu: %02x, want %02x", i,
			     (unsigned char)got[i], want[i]);
}

Test(hep, ipv4_udp_sip_with_correlation_id)
{
	struct eng_hep_msg m = {
		.ip_proto = IPPROTO_UDP, .proto_type = ENG_HEP_TYPE_SIP, .ts_sec = 0x65000001,
		.ts_usec = 123456, .capture_id = 2001, .corr = CM_SLICE_LIT("abc"),
	};
	static const unsigned char want[] = {
		'H', 'E', 'P', '3', 0x00, 0x6e,                    /* 110 bytes */
		0, 0, 0, 1, 0, 7, 2,                               /* IP family: IPv4 */
		0, 0, 0, 2, 0, 7, 17,                              /* IP protocol: UDP */
		0, 0, 0, 3, 0, 10, 192, 0, 2, 1,                   /* source IPv4 */
		0, 0, 0, 4, 0, 10, 192, 0, 2, 2,                   /* destination IPv4 */
		0, 0, 0, 7, 0, 8, 0x13, 0xc4,                      /* source port 5060 */
		0, 0, 0, 8, 0, 8, 0x13, 0xc5,                      /* destination port 5061 */
		0, 0, 0, 9, 0, 10, 0x65, 0, 0, 1,                  /* seconds */
		0, 0, 0, 10, 0, 10, 0, 0x01, 0xe2, 0x40,           /* microseconds 123456 */
		0, 0, 0, 11, 0, 7, 1,                              /* protocol type: SIP */
		0, 0, 0, 12, 0, 10, 0, 0, 0x07, 0xd1,              /* capture id 2001 */
		0, 0, 0, 17, 0, 9, 'a', 'b', 'c',                  /* correlation id */
		0, 0, 0, 15, 0, 8, 'h', 'i',                       /* payload */
	};
	char buf[256];

	addr4(&m.src, "192.0.2.1", 5060);
	addr4(&m.dst, "192.0.2.2", 5061);
	ssize_t n = eng_hep_encode(buf, sizeof(buf), &m, "hi", 2);
	cr_assert_gt(n, 0, "%zd", n);
	expect_bytes(buf, (size_t)n, want, sizeof(want));
	/* the head alone ends where the payload begins */
	cr_expect_eq(eng_hep_head(buf, sizeof(buf), &m, 2), (ssize_t)sizeof(want) - 2);
}

Test(hep, ipv6_tcp_msrp_with_auth_key)
{
	struct eng_hep_msg m = {
		.ip_proto = IPPROTO_TCP, .proto_type = ENG_HEP_TYPE_MSRP, .ts_sec = 1,
		.ts_usec = 2, .capture_id = 0xfedcba98, .auth = CM_SLICE_LIT("pw"),
	};
	static const unsigned char want[] = {
		'H', 'E', 'P', '3', 0x00, 0x83,                    /* 131 bytes */
		0, 0, 0, 1, 0, 7, 10,                              /* IP family: IPv6 */
		0, 0, 0, 2, 0, 7, 6,                               /* IP protocol: TCP */
		0, 0, 0, 5, 0, 22, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
		0, 0, 0, 6, 0, 22, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, /* ::1 */
		0, 0, 0, 7, 0, 8, 0x0b, 0x27,                      /* source port 2855 */
		0, 0, 0, 8, 0, 8, 0xc3, 0x50,                      /* destination port 50000 */
		0, 0, 0, 9, 0, 10, 0, 0, 0, 1,
		0, 0, 0, 10, 0, 10, 0, 0, 0, 2,
		0, 0, 0, 11, 0, 7, 0x4d,                           /* protocol type: MSRP (ours) */
		0, 0, 0, 12, 0, 10, 0xfe, 0xdc, 0xba, 0x98,
		0, 0, 0, 14, 0, 8, 'p', 'w',                       /* authentication key */
		0, 0, 0, 15, 0, 6,                                 /* an empty payload */
	};
	char buf[256];

	addr6(&m.src, "2001:db8::1", 2855);
	addr6(&m.dst, "::1", 50000);
	ssize_t n = eng_hep_encode(buf, sizeof(buf), &m, "", 0);
	cr_assert_gt(n, 0, "%zd", n);
	expect_bytes(buf, (size_t)n, want, sizeof(want));
}

Test(hep, unknown_end_is_written_as_zeros_of_the_other_family)
{
	struct eng_hep_msg m = { .ip_proto = IPPROTO_UDP, .proto_type = 1 };
	char buf[256];

	addr4(&m.dst, "10.1.2.3", 9);
	ssize_t n = eng_hep_encode(buf, sizeof(buf), &m, "x", 1);
	cr_assert_gt(n, 0);
	static const unsigned char src[] = { 0, 0, 0, 3, 0, 10, 0, 0, 0, 0 };
	static const unsigned char sport[] = { 0, 0, 0, 7, 0, 8, 0, 0 };
	cr_expect(!memcmp(buf + 6 + 14, src, sizeof(src)));
	cr_expect(!memcmp(buf + 6 + 14 + 20, sport, sizeof(sport)));
	m.dst.family = 0;
	cr_expect_eq(eng_hep_encode(buf, sizeof(buf), &m, "x", 1), -EINVAL, "no family at all");
}

Test(hep, bounds)
{
	static char big[ENG_HEP_MAX];
	struct eng_hep_msg m = { .ip_proto = IPPROTO_UDP, .proto_type = 1 };
	char buf[256];

	addr4(&m.src, "127.0.0.1", 1);
	addr4(&m.dst, "127.0.0.1", 2);
	ssize_t h = eng_hep_head(buf, sizeof(buf), &m, 0);
	cr_assert_gt(h, 0);
	cr_expect_eq(eng_hep_head(buf, (size_t)h - 1, &m, 0), -ENOSPC);
	/* the largest payload that fits, and one byte more */
	cr_expect_eq(eng_hep_head(buf, sizeof(buf), &m, ENG_HEP_MAX - (size_t)h), h);
	cr_expect_eq(eng_hep_head(buf, sizeof(buf), &m, ENG_HEP_MAX - (size_t)h + 1), -E2BIG);
	cr_expect_eq(eng_hep_encode(buf, sizeof(buf), &m, big, 300), -ENOSPC);
	m.corr = (cm_slice){ big, ENG_HEP_CORR_MAX + 1 };
	cr_expect_eq(eng_hep_head(buf, sizeof(buf), &m, 0), -EINVAL);

	/* the largest chunks of all (IPv6, the longest key and correlation id) fit the head
	 * buffer a worker's tracer has */
	char head[ENG_HEP_HEAD_MAX];
	memset(big, 'k', ENG_HEP_CORR_MAX);
	struct eng_hep_msg l = { .ip_proto = IPPROTO_TCP, .proto_type = 77,
				 .auth = { big, ENG_HEP_AUTH_MAX },
				 .corr = { big, ENG_HEP_CORR_MAX } };
	l.src.family = l.dst.family = AF_INET6;
	cr_expect_gt(eng_hep_head(head, sizeof(head), &l, 0), 0);
}

static int shared(const char *collector, const char *proto, const char *peer, char *err)
{
	char *protos[] = { (char *)proto }, *peers[] = { (char *)peer };
	struct cm_config_trace c = {
		.collector = (char *)collector, .capture_id = 7, .password = "",
		.protocols = { protos, proto ? 1 : 0 }, .peers = { peers, peer ? 1 : 0 },
		.msrp_type = 77,
	};
	struct eng_hep_shared *s = NULL;
	int rc = eng_hep_shared_new(&c, &s, err, 256);
	cr_expect_eq(rc == 0 && collector[0], s != NULL);
	eng_hep_shared_free(s);
	return rc;
}

Test(hep, settings_are_checked)
{
	char err[256];
	cr_expect_eq(shared("", "sip", NULL, err), 0, "off");
	cr_expect_eq(shared("127.0.0.1:9060", "sip", "10.0.0.0/8", err), 0, "%s", err);
	cr_expect_eq(shared("[::1]:9060", "msrp", "*:5060", err), 0, "%s", err);
	cr_expect_eq(shared("collector:9060", "sip", NULL, err), -EINVAL);
	cr_expect(strstr(err, "trace.collector") != NULL, "%s", err);
	cr_expect_eq(shared("127.0.0.1:0", "sip", NULL, err), -EINVAL, "no port");
	cr_expect_eq(shared("127.0.0.1:9060", "diameter", NULL, err), -EINVAL);
	cr_expect(strstr(err, "trace.protocols") != NULL, "%s", err);
	cr_expect_eq(shared("127.0.0.1:9060", "sip", "10.0.0.0/99", err), -EINVAL);
	cr_expect(strstr(err, "trace.peers") != NULL, "%s", err);
	cr_expect_eq(shared("127.0.0.1:9060", "sip", "10.0.0.0/8 no_new", err), -EINVAL);
}

/* test_trace.c — HEP v3 tracing (trace.*, engine/eng_hep.h) end to end: the real daemon
 * (the user agent's fixture, tests/lib/ua_fx.h) traces to a UDP port of this test, sipp is
 * the phone on the SIP side and the test its MSRP endpoint. What the test's socket receives
 * is written to a pcap file (IPv4/UDP headers made here) and read back by tshark: tshark
 * 4.0 has no HEP dissector, so tests/peers/tshark/hep3.lua reads the chunks and hands each
 * payload to Wireshark's own SIP or MSRP dissector, which judge it (malformed frames and
 * error expert items fail the test). Run with --jobs 1. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "tests/lib/msrp_client.h"
#include "tests/lib/proc.h"
#include "tests/lib/tshark.h"
#include "tests/lib/ua_fx.h"

#define HOST "127.0.0.1"
#define LUA "tests/peers/tshark/hep3.lua"
#define MSRP_TYPE 77                   /* trace.msrp_type's default */

TestSuite(trace, .fini = ufx_down, .timeout = 90);

/* The collector: a UDP socket of 127.0.0.1 and the pcap file its datagrams go to. */
static struct {
	int fd, port;
	char dir[64], pcap[96];
	unsigned packets;
} col;

static void collector_open(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);

	col.fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	cr_assert(col.fd >= 0);
	int big = 4 << 20;
	setsockopt(col.fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(col.fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(getsockname(col.fd, (struct sockaddr *)&sa, &sl), 0);
	col.port = ntohs(sa.sin_port);
	snprintf(col.dir, sizeof(col.dir), "/tmp/rcsgw-trace-XXXXXX");
	cr_assert(mkdtemp(col.dir));
	snprintf(col.pcap, sizeof(col.pcap), "%s/hep.pcap", col.dir);
	col.packets = 0;
}

static void put16(unsigned char *p, unsigned v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
}

/* Reads the datagrams that come within <quiet_ms> of each other into the pcap file
 * (LINKTYPE_IPV4: an IPv4 and a UDP header made here before each, checksums left 0). */
static void collector_drain(int quiet_ms)
{
	static unsigned char pkt[28 + 65536];
	FILE *f = fopen(col.pcap, "wb");
	cr_assert(f);
	uint32_t gh[6] = { 0xa1b2c3d4, 2 | (4u << 16), 0, 0, sizeof(pkt), 228 };
	fwrite(gh, sizeof(gh), 1, f);
	for (;;) {
		struct pollfd p = { col.fd, POLLIN, 0 };
		if (poll(&p, 1, quiet_ms) <= 0)
			break;
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(col.fd, pkt + 28, sizeof(pkt) - 28, 0, (struct sockaddr *)&from,
				     &fl);
		if (n < 0)
			break;
		memset(pkt, 0, 28);
		pkt[0] = 0x45;
		put16(pkt + 2, (unsigned)(28 + n));
		pkt[8] = 64;
		pkt[9] = 17;
		memcpy(pkt + 12, &from.sin_addr, 4);
		uint32_t lo = htonl(INADDR_LOOPBACK);
		memcpy(pkt + 16, &lo, 4);
		put16(pkt + 20, ntohs(from.sin_port));
		put16(pkt + 22, (unsigned)col.port);
		put16(pkt + 24, (unsigned)(8 + n));
		struct timeval tv;
		gettimeofday(&tv, NULL);
		uint32_t rh[4] = { (uint32_t)tv.tv_sec, (uint32_t)tv.tv_usec, (uint32_t)(28 + n),
				   (uint32_t)(28 + n) };
		fwrite(rh, sizeof(rh), 1, f);
		fwrite(pkt, (size_t)(28 + n), 1, f);
		col.packets++;
	}
	fclose(f);
}

static void collector_close(void)
{
	close(col.fd);
	unlink(col.pcap);
	rmdir(col.dir);
}

/* The frames of the capture that display filter <filter> keeps, as tshark decodes them with
 * the HEP3 dissector on the collector's port; their summaries into <out> when not NULL. */
static int count(const char *filter, char *out, size_t outlen)
{
	char dec[64], pref[48];
	static char buf[1 << 16];
	snprintf(dec, sizeof(dec), "udp.port==%d,hep3", col.port);
	snprintf(pref, sizeof(pref), "hep3.msrp_type:%d", MSRP_TYPE);
	char *argv[] = { TSHARK_BIN, "-n", "-r", col.pcap, "-X", "lua_script:" LUA, "-o", pref,
			 "-d", dec, "-Y", (char *)filter, NULL };
	int ofd;
	pid_t pid = proc_spawn(argv, NULL, &ofd, NULL, NULL);
	cr_assert(pid > 0);
	size_t n = proc_read_all(ofd, buf, sizeof(buf), 20000);
	close(ofd);
	cr_assert_eq(proc_wait(pid, 5000), 0, "tshark failed on %s", filter);
	int lines = 0;
	for (size_t i = 0; i < n; i++)
		lines += buf[i] == '\n';
	if (out && outlen) {
		size_t k = n < outlen - 1 ? n : outlen - 1;
		memcpy(out, buf, k);
		out[k] = '\0';
	}
	return lines;
}

static void need_tools(void)
{
	ufx_need_sipp();
	if (access(TSHARK_BIN, X_OK) != 0)
		cr_skip_test("tshark is not installed");
}

/* A session to a sipp phone, a message to it, its end: SIP over UDP both ways, MSRP both
 * ways (SENDs from rcsgw, 200s from the test). The session's id into <id>. */
static void traffic(char *id, size_t idlen)
{
	const char *to = ufx_start_uas("uas_msrp.xml", NULL);
	json_t *s = ufx_create(to, NULL);
	snprintf(id, idlen, "%s", ufx_jstr(s, "id"));
	json_decref(s);
	struct msrp_client c;
	struct mc_frame *f = malloc(sizeof(*f));
	cr_assert(f);
	ufx_ml_accept(&c, 5000);
	ufx_read_send(&c, f);
	json_decref(ufx_event("session.established", id, 5000));
	char path[128];
	snprintf(path, sizeof(path), "/v1/sessions/%s/messages", id);
	cr_assert_eq(ufx_api("POST", path, "{\"content_type\":\"text/plain\",\"body\":\"traced\"}",
			     NULL, NULL), 202);
	ufx_read_send(&c, f);
	cr_expect_eq(f->body_len, 6);
	ufx_end_session(id);
	ufx_sipp_done(0);
	mc_close(&c);
	free(f);
}

static void up(const char *protocols, const char *peers)
{
	static char c[64], p[96], pr[96];
	snprintf(c, sizeof(c), "RCSGW_TRACE_COLLECTOR=" HOST ":%d", col.port);
	snprintf(p, sizeof(p), "RCSGW_TRACE_PEERS=%s", peers);
	snprintf(pr, sizeof(pr), "RCSGW_TRACE_PROTOCOLS=%s", protocols);
	const char *env[] = { c, p, pr, "RCSGW_TRACE_CAPTURE_ID=2001",
			      "RCSGW_TRACE_PASSWORD=hep-secret", NULL };
	ufx_up_with(env);
}

/* rcsgw tracing <protocols> of <peers> to the collector, the traffic, what came of it. */
static void run(const char *protocols, const char *peers)
{
	char id[64];
	need_tools();
	collector_open();
	up(protocols, peers);
	traffic(id, sizeof(id));
	collector_drain(500);
}

Test(trace, sip_and_msrp_decode_as_hep_with_their_addresses)
{
	char q[256], sum[4096];
	run("sip,msrp", "");
	cr_assert_gt(col.packets, 8, "only %u HEP packets", col.packets);

	/* every packet is HEP3, nothing in it is malformed, each carries SIP or MSRP */
	cr_expect_eq(count("hep3", NULL, 0), (int)col.packets);
	int bad = count(TSHARK_BAD, sum, sizeof(sum));
	cr_expect_eq(bad, 0, "%d malformed or broken packets:\n%s", bad, sum);
	int nsip = count("hep3.proto_type == 1 && sip", NULL, 0);
	int nmsrp = count("hep3.proto_type == 77 && msrp", NULL, 0);
	cr_expect_eq(nsip + nmsrp, (int)col.packets, "%d SIP + %d MSRP of %u", nsip, nmsrp,
		     col.packets);
	cr_expect_eq(count("hep3.capture_id == 2001 && hep3.auth_key == \"hep-secret\" && "
			   "hep3.family == 2", NULL, 0), (int)col.packets);

	/* SIP: the INVITE rcsgw sent from its port to the phone's, its 200 back; the Call-ID
	 * is the correlation id */
	snprintf(q, sizeof(q), "sip.Method == \"INVITE\" && hep3.ip_proto == 17 && "
		 "hep3.src_ip4 == 127.0.0.1 && hep3.src_port == %d && hep3.dst_ip4 == 127.0.0.1 && "
		 "hep3.dst_port == %d && hep3.correlation_id == sip.Call-ID", ufx.sip, ufx.uas_port);
	cr_expect_eq(count(q, NULL, 0), 1, "%s", q);
	snprintf(q, sizeof(q), "sip.Status-Code == 200 && sip.CSeq.method == \"INVITE\" && "
		 "hep3.src_port == %d && hep3.dst_port == %d", ufx.uas_port, ufx.sip);
	cr_expect_eq(count(q, NULL, 0), 1, "%s", q);
	snprintf(q, sizeof(q), "sip.Method == \"BYE\" && hep3.src_port == %d", ufx.sip);
	cr_expect_eq(count(q, NULL, 0), 1, "%s", q);

	/* MSRP: the binding SEND and the message, from rcsgw to our listener over TCP, their
	 * 200s back; correlated by the phone's session id (To-Path) */
	snprintf(q, sizeof(q), "msrp.method == \"SEND\" && hep3.ip_proto == 6 && "
		 "hep3.dst_port == %d && hep3.correlation_id == \"phone1sid\"", ufx.ml_port);
	cr_expect_eq(count(q, NULL, 0), 2, "%s", q);
	snprintf(q, sizeof(q), "msrp.content.type == \"text/plain\" && msrp contains \"traced\" "
		 "&& hep3.dst_port == %d", ufx.ml_port);
	cr_expect_eq(count(q, NULL, 0), 1, "%s", q);
	snprintf(q, sizeof(q), "msrp.status.code == 200 && hep3.src_port == %d", ufx.ml_port);
	cr_expect_eq(count(q, NULL, 0), 2, "%s", q);

	/* the counters say the same */
	cr_expect_eq(ufx_metric_sum("rcsgw_trace_hep_sent_total"), col.packets);
	cr_expect_eq(ufx_metric_sum("rcsgw_trace_hep_dropped_total"), 0);
	cr_expect_eq(ufx_metric_sum("rcsgw_trace_hep_filtered_total"), 0);
	collector_close();
}

Test(trace, protocols_keep_msrp_only)
{
	run("msrp", "127.0.0.0/8");
	cr_expect_eq(col.packets, 4, "%u HEP packets", col.packets);
	cr_expect_eq(count("hep3.proto_type == 77 && msrp", NULL, 0), 4);
	cr_expect_eq(count("sip", NULL, 0), 0);
	collector_close();
}

Test(trace, peers_outside_the_networks_are_left_out)
{
	run("sip,msrp", "10.0.0.0/8,[2001:db8::]/32");
	cr_expect_eq(col.packets, 0, "%u HEP packets for peers on 127.0.0.1", col.packets);
	cr_expect_gt(ufx_metric_sum("rcsgw_trace_hep_filtered_total"), 8);
	cr_expect_eq(ufx_metric_sum("rcsgw_trace_hep_sent_total"), 0);
	collector_close();
}

/* rcs_msg_bench.c — micro-benchmark of the RCS content layer (rcs/rcs_msg.c on the CPIM,
 * IMDN and isComposing codecs): what the user agent adds per message when RCS is in play.
 *
 *   rcs_msg_bench [--duration SEC] [--runs N] [--json]
 *
 * Operations, each on fixed inputs built once:
 *   wrap           a 100-byte text message into CPIM with imdn.Message-ID and a
 *                  Disposition-Notification (a REST send that asks for IMDNs)
 *   unwrap         a received CPIM message of that shape read (rcs_msg_parse) and its
 *                  message.received event built as JSON (rcs_msg_event), then freed
 *   imdn_build     a delivery notification: IMDN XML written and wrapped in CPIM
 *   imdn_read      a received IMDN in CPIM read (expat) and its event built
 *   composing_read an isComposing indication read (expat)
 * Each operation runs for --duration (default 0.3 s) --runs times (default 5); reported:
 * ns per operation, median (min–max) over the runs, from CLOCK_MONOTONIC, and the
 * process's CPU time over each run as a check on a noisy machine. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rcs/rcs_msg.h"

static uint64_t now_ns(clockid_t clk)
{
	struct timespec ts;
	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#define SL(s) ((cm_slice){ (s), strlen(s) })

static char body100[101];
static char *cpim_in, *imdn_in;
static size_t cpim_in_len, imdn_in_len;
static volatile size_t sink; /* keeps results alive */

static const char composing_in[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	"<isComposing xmlns=\"urn:ietf:params:xml:ns:im-iscomposing\">"
	"<state>active</state><contenttype>text/plain</contenttype><refresh>60</refresh>"
	"</isComposing>";

static void op_wrap(void)
{
	struct rcs_msg_out o = {
		.from = SL("sip:bot@gw.example.net"), .to = SL("sip:+15551234@ims.example.net"),
		.message_id = SL("Wq3b7kLm2Xa9PzT4vN8cR1dE"),
		.dn = RCS_DN_POSITIVE_DELIVERY | RCS_DN_DISPLAY, .content_type = SL("text/plain"),
		.body = body100, .len = 100, .now_ms = 1764151200123LL,
	};
	char *out;
	long n = rcs_msg_wrap(&o, &out);
	sink += (size_t)n;
	free(out);
}

static struct rcs_msg_in in;

static void op_unwrap(void)
{
	rcs_msg_parse(SL("message/cpim"), cpim_in, cpim_in_len, &in);
	json_t *ev = rcs_msg_event(&in, "msrp-1");
	sink += json_object_size(ev);
	json_decref(ev);
}

static void op_imdn_build(void)
{
	static const struct rcs_imdn n = {
		.message_id = "Wq3b7kLm2Xa9PzT4vN8cR1dE", .datetime = "2026-11-26T10:00:00.000Z",
		.recipient_uri = "sip:+15551234@ims.example.net",
		.kind = RCS_IMDN_DELIVERY, .status = RCS_IMDN_DELIVERED,
	};
	char *out;
	long k = rcs_msg_imdn(SL("sip:+15551234@ims.example.net"), SL("sip:bot@gw.example.net"),
			      SL("Nq3b7kLm2Xa9PzT4vN8cR1dE"), &n, 1764151200123LL, &out);
	sink += (size_t)k;
	free(out);
}

static void op_imdn_read(void)
{
	const char *type;
	rcs_msg_parse(SL("message/cpim"), imdn_in, imdn_in_len, &in);
	json_t *ev = rcs_msg_imdn_event(&in, &type);
	sink += json_object_size(ev);
	json_decref(ev);
}

static void op_composing_read(void)
{
	rcs_msg_parse(SL(RCS_CT_COMPOSING), composing_in, sizeof(composing_in) - 1, &in);
	sink += (size_t)in.kind;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	double dur = 0.3;
	int runs = 5, json = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--duration") && i + 1 < argc)
			dur = atof(argv[++i]);
		else if (!strcmp(argv[i], "--runs") && i + 1 < argc)
			runs = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--json"))
			json = 1;
		else {
			fprintf(stderr, "usage: %s [--duration SEC] [--runs N] [--json]\n", argv[0]);
			return 2;
		}
	}
	if (dur <= 0 || runs < 1 || runs > 100) {
		fprintf(stderr, "--duration > 0, --runs 1..100\n");
		return 2;
	}
	memset(body100, 'x', 100);
	/* the received inputs: what rcsgw's own builders write (they parse back, tested) */
	struct rcs_msg_out o = {
		.from = SL("sip:+15551234@ims.example.net"), .to = SL("sip:bot@gw.example.net"),
		.message_id = SL("Wq3b7kLm2Xa9PzT4vN8cR1dE"),
		.dn = RCS_DN_POSITIVE_DELIVERY | RCS_DN_DISPLAY, .content_type = SL("text/plain"),
		.body = body100, .len = 100, .now_ms = 1764151200123LL,
	};
	long n = rcs_msg_wrap(&o, &cpim_in);
	struct rcs_imdn im = {
		.message_id = "Wq3b7kLm2Xa9PzT4vN8cR1dE", .datetime = "2026-11-26T10:00:00.000Z",
		.recipient_uri = "sip:+15551234@ims.example.net",
		.kind = RCS_IMDN_DELIVERY, .status = RCS_IMDN_DELIVERED,
	};
	long m = rcs_msg_imdn(SL("sip:+15551234@ims.example.net"), SL("sip:bot@gw.example.net"),
			      SL("Nq3b7kLm2Xa9PzT4vN8cR1dE"), &im, 1764151200123LL, &imdn_in);
	if (n < 0 || m < 0) {
		fprintf(stderr, "inputs: %ld %ld\n", n, m);
		return 1;
	}
	cpim_in_len = (size_t)n;
	imdn_in_len = (size_t)m;
	static const struct {
		const char *name;
		void (*fn)(void);
	} ops[] = {
		{ "wrap", op_wrap },
		{ "unwrap", op_unwrap },
		{ "imdn_build", op_imdn_build },
		{ "imdn_read", op_imdn_read },
		{ "composing_read", op_composing_read },
	};
	if (json)
		printf("{\"ops\":[");
	else
		printf("%-15s %12s %12s %12s %10s\n", "operation", "ns/op p50", "min", "max",
		       "cpu/wall");
	for (size_t k = 0; k < sizeof(ops) / sizeof(ops[0]); k++) {
		double ns[100], cpu_ratio = 0;
		for (int r = 0; r < runs; r++) {
			uint64_t t0 = now_ns(CLOCK_MONOTONIC), c0 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
			uint64_t end = t0 + (uint64_t)(dur * 1e9), count = 0, t;
			do {
				for (int b = 0; b < 64; b++)
					ops[k].fn();
				count += 64;
			} while ((t = now_ns(CLOCK_MONOTONIC)) < end);
			uint64_t c1 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
			ns[r] = (double)(t - t0) / (double)count;
			cpu_ratio += (double)(c1 - c0) / (double)(t - t0) / runs;
		}
		qsort(ns, (size_t)runs, sizeof(ns[0]), cmp_d);
		double med = runs % 2 ? ns[runs / 2] : (ns[runs / 2 - 1] + ns[runs / 2]) / 2;
		if (json)
			printf("%s{\"op\":\"%s\",\"ns_p50\":%.1f,\"ns_min\":%.1f,\"ns_max\":%.1f,"
			       "\"cpu_per_wall\":%.2f}", k ? "," : "", ops[k].name, med, ns[0],
			       ns[runs - 1], cpu_ratio);
		else
			printf("%-15s %12.1f %12.1f %12.1f %10.2f\n", ops[k].name, med, ns[0],
			       ns[runs - 1], cpu_ratio);
	}
	if (json)
		printf("],\"runs\":%d,\"duration_s\":%.2f}\n", runs, dur);
	free(cpim_in);
	free(imdn_in);
	return sink == 0; /* never 0: the work was done */
}

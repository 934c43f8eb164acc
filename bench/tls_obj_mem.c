/* tls_obj_mem.c — what one TLS session object of the wolfSSL that rcsgw links costs in memory,
 * before any byte is exchanged: the floor under make bench's "idle TLS session" figure.
 *
 *   tls_obj_mem [--objects N] [--json]
 *
 * Makes a server context as engine/eng_tls does (TLS 1.2 and 1.3, no certificate needed for
 * this), then N objects with wolfSSL_new(), and reports the growth of the process's VmRSS
 * over them divided by N (bytes per object), with the wolfSSL version. The objects are freed
 * before exiting. Exit 0; 1 when wolfSSL cannot be set up; 2 on bad arguments. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include "bench/lib/bench_args.h"

static long rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kib = -1;
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmRSS:", 6))
			kib = atol(line + 6);
	fclose(f);
	return kib;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "objects", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t n = 5000;
	int json = 0, o;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (o == 'n' && bench_parse_u64(optarg, 0, 1, 1000000, &n) == 0)
			continue;
		if (o == 'j') {
			json = 1;
			continue;
		}
		fprintf(stderr, "usage: tls_obj_mem [--objects N (1..1000000)] [--json]\n");
		return 2;
	}
	if (wolfSSL_Init() != WOLFSSL_SUCCESS)
		return 1;
	WOLFSSL_CTX *ctx = wolfSSL_CTX_new(wolfSSLv23_server_method());
	WOLFSSL **v = calloc((size_t)n, sizeof(*v));
	if (!ctx || !v)
		return 1;
	long before = rss_kib();
	for (uint64_t i = 0; i < n; i++)
		if (!(v[i] = wolfSSL_new(ctx))) {
			fprintf(stderr, "tls_obj_mem: wolfSSL_new failed at %llu\n",
				(unsigned long long)i);
			return 1;
		}
	long after = rss_kib();
	double per = (double)(after - before) * 1024.0 / (double)n;
	if (json)
		printf("{\"objects\":%llu,\"bytes_per_object\":%.0f,\"wolfssl\":\"%s\"}\n",
		       (unsigned long long)n, per, wolfSSL_lib_version());
	else
		printf("wolfSSL %s: %llu objects, %.0f bytes each (VmRSS %ld -> %ld KiB)\n",
		       wolfSSL_lib_version(), (unsigned long long)n, per, before, after);
	for (uint64_t i = 0; i < n; i++)
		wolfSSL_free(v[i]);
	free(v);
	wolfSSL_CTX_free(ctx);
	wolfSSL_Cleanup();
	return 0;
}

/* rcsgwctl — command line client of rcsgw's REST API (libcurl + jansson).
 *
 *   rcsgwctl [-a HOST:PORT] [-t TOKEN] [--json] status | metrics | get PATH
 *
 * The API address defaults to the first of RCSGW_API_LISTEN (0.0.0.0 and :: become
 * loopback), else 127.0.0.1:8080; the token to the first of RCSGW_API_TOKENS.
 * Exit codes: 0 success, 1 the daemon answered with an error or did not answer, 2 usage. */
#include <curl/curl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cm_version.h"

struct body {
	char *p;
	size_t len;
};

static size_t on_data(char *ptr, size_t size, size_t n, void *arg)
{
	struct body *b = arg;
	size_t add = size * n;
	char *np = realloc(b->p, b->len + add + 1);
	if (!np)
		return 0;
	memcpy(np + b->len, ptr, add);
	b->p = np;
	b->len += add;
	b->p[b->len] = '\0';
	return add;
}

/* The first element of a comma-separated env list, into <buf>. */
static const char *env_first(const char *name, char *buf, size_t len)
{
	const char *v = getenv(name);
	if (!v || !*v)
		return NULL;
	size_t n = strcspn(v, ",");
	if (n >= len)
		n = len - 1;
	memcpy(buf, v, n);
	buf[n] = '\0';
	return buf;
}

static void default_api(char *buf, size_t len)
{
	char first[192];
	if (!env_first("RCSGW_API_LISTEN", first, sizeof(first))) {
		snprintf(buf, len, "127.0.0.1:8080");
		return;
	}
	if (strncmp(first, "0.0.0.0:", 8) == 0)
		snprintf(buf, len, "127.0.0.1:%s", first + 8);
	else if (strncmp(first, "[::]:", 5) == 0)
		snprintf(buf, len, "[::1]:%s", first + 5);
	else if (first[0] == '*' && first[1] == ':')
		snprintf(buf, len, "127.0.0.1:%s", first + 2);
	else
		snprintf(buf, len, "%s", first);
}

/* GET <path>; returns the HTTP status (0 when there was no answer) and the body. */
static long http_get(const char *api, const char *token, const char *path, struct body *out)
{
	char url[512], auth[512];
	struct curl_slist *hdrs = NULL;
	long code = 0;

	snprintf(url, sizeof(url), "http://%s%s", api, path);
	CURL *h = curl_easy_init();
	if (!h)
		return 0;
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "rcsgwctl/" RCSGW_VERSION);
	if (token) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
		hdrs = curl_slist_append(hdrs, auth);
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	}
	CURLcode rc = curl_easy_perform(h);
	if (rc == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	else
		fprintf(stderr, "rcsgwctl: %s: %s\n", url, curl_easy_strerror(rc));
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
	return code;
}

static void print_error(long code, const struct body *b)
{
	json_t *j = b->p ? json_loads(b->p, 0, NULL) : NULL;
	const char *msg = j ? json_string_value(json_object_get(json_object_get(j, "error"), "message")) : NULL;
	fprintf(stderr, "rcsgwctl: HTTP %ld: %s\n", code, msg ? msg : (b->p ? b->p : ""));
	json_decref(j);
}

static int print_status(const struct body *b)
{
	json_error_t e;
	json_t *j = json_loads(b->p ? b->p : "", 0, &e);
	if (!j) {
		fprintf(stderr, "rcsgwctl: status is not JSON: %s\n", e.text);
		return 1;
	}
	json_t *eng = json_object_get(j, "engine");
	printf("rcsgw %s, up %lld s\n", json_string_value(json_object_get(j, "version")),
	       (long long)json_integer_value(json_object_get(j, "uptime_s")));
	printf("backend: %s (%s)\n", json_string_value(json_object_get(eng, "backend")),
	       json_string_value(json_object_get(eng, "backend_reason")));
	size_t i;
	json_t *w;
	json_array_foreach(json_object_get(eng, "workers"), i, w) {
		printf("worker %lld: cpu %lld, %lld connections\n",
		       (long long)json_integer_value(json_object_get(w, "index")),
		       (long long)json_integer_value(json_object_get(w, "cpu")),
		       (long long)json_integer_value(json_object_get(w, "connections")));
	}
	const char *k;
	json_t *v;
	json_object_foreach(json_object_get(j, "subsystems"), k, v)
		printf("%s: %s\n", k, json_string_value(v));
	json_decref(j);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: rcsgwctl [-a HOST:PORT] [-t TOKEN] [--json] status | metrics | get PATH\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "api", required_argument, NULL, 'a' },
		{ "token", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char api[256], tokbuf[512];
	const char *token = env_first("RCSGW_API_TOKENS", tokbuf, sizeof(tokbuf));
	int json = 0, c;

	default_api(api, sizeof(api));
	while ((c = getopt_long(argc, argv, "a:t:jh", opts, NULL)) != -1) {
		switch (c) {
		case 'a': snprintf(api, sizeof(api), "%s", optarg); break;
		case 't': token = optarg; break;
		case 'j': json = 1; break;
		case 'V': printf("rcsgwctl %s\n", RCSGW_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[optind], *path;
	if (strcmp(cmd, "status") == 0)
		path = "/v1/status";
	else if (strcmp(cmd, "metrics") == 0)
		path = "/metrics";
	else if (strcmp(cmd, "get") == 0 && optind + 1 < argc && argv[optind + 1][0] == '/')
		path = argv[optind + 1];
	else {
		usage(stderr);
		return 2;
	}

	curl_global_init(CURL_GLOBAL_DEFAULT);
	struct body b = { 0 };
	long code = http_get(api, token, path, &b);
	int rc = 1;
	if (code == 200) {
		if (strcmp(cmd, "status") == 0 && !json)
			rc = print_status(&b);
		else {
			fwrite(b.p ? b.p : "", 1, b.len, stdout);
			rc = 0;
		}
	} else if (code) {
		print_error(code, &b);
	}
	free(b.p);
	curl_global_cleanup();
	return rc;
}

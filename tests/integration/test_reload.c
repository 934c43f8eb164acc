/* test_reload.c — SIGHUP against the running daemon: the relay's credentials file read
 * again (a new user AUTHs), webhooks set (events reach the new URL), cc.definitions read
 * again (a new flow), the log level changed; a changed key that needs a restart named in
 * the reports of the group "config"; a configuration that does not load changes nothing
 * and leaves the daemon running. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdatomic.h>
#include <sys/types.h>
#include <unistd.h>

#include "tests/lib/http_srv.h"
#include "tests/lib/msrp_client.h"
#include "tests/lib/rcsgw_proc.h"

#define REALM "reload.test"

static pid_t pid = -1;
static struct http_srv hs;
static char dir[64], conf[128], htfile[128], defs[128];
static int msrp_port, api_port;

static void fini(void)
{
	if (pid > 0)
		rcsgw_stop(pid, SIGTERM, 5000);
	pid = -1;
	http_srv_stop(&hs);
	if (dir[0]) {
		char cmd[160];
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		cr_expect_eq(system(cmd), 0);
	}
}

TestSuite(reload, .fini = fini, .timeout = 60);

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	cr_assert(f, "%s", path);
	fputs(text, f);
	fclose(f);
}

/* The htdigest file with <users> (space-separated; each one's password is its name), the
 * hashes by md5sum. */
static void write_users(const char *users)
{
	char cmd[1024];
	snprintf(cmd, sizeof(cmd),
		 ": > %s; for u in %s; do printf '%%s:%%s:%%s\\n' $u " REALM
		 " $(printf '%%s' \"$u:" REALM ":$u\" | md5sum | cut -d' ' -f1) >> %s; done",
		 htfile, users, htfile);
	cr_assert_eq(system(cmd), 0);
}

static void write_conf(const char *level, const char *webhooks, const char *max_chunk)
{
	char text[1024];
	snprintf(text, sizeof(text),
		 "log = { level = \"%s\"; };\n"
		 "relay = { realm = \"" REALM "\"; credentials_file = \"%s\"; };\n"
		 "api = { webhooks = [ %s ]; webhook_retries = 0; };\n"
		 "cc = { enabled = true; definitions = \"%s\"; };\n"
		 "msrp = { max_chunk = \"%s\"; };\n",
		 level, htfile, webhooks, defs, max_chunk);
	write_file(conf, text);
}

static void write_defs(const char *flows)
{
	char text[1024];
	snprintf(text, sizeof(text), "{\"flows\": [%s]}", flows);
	write_file(defs, text);
}

static int api(const char *method, const char *path, const char *body, json_t **out)
{
	int status = 0;
	char *resp = NULL;
	if (http_request("127.0.0.1", api_port, method, path, NULL, body, &status, NULL, &resp,
			 3000) < 0)
		return -1;
	if (out)
		*out = json_loads(resp ? resp : "", 0, NULL);
	free(resp);
	return status;
}

/* AUTH as <user> (password: its name): the final status. */
static int auth_as(const char *user)
{
	struct msrp_client c;
	char hp[32], relay[64];
	snprintf(hp, sizeof(hp), "127.0.0.1:%d", msrp_port);
	snprintf(relay, sizeof(relay), "msrp://127.0.0.1:%d;tcp", msrp_port);
	cr_assert_eq(mc_connect(&c, hp, 3000), 0);
	struct mc_auth a = { relay, "msrp://127.0.0.1:9/abcd;tcp", user, user, 0 };
	struct mc_auth_result r;
	int rc = mc_auth(&c, &a, &r, 3000);
	mc_close(&c);
	return rc < 0 ? rc : r.status;
}

/* The reports of the group "config" as one string (freed by the caller). */
static char *config_reports(void)
{
	json_t *j = NULL;
	cr_assert_eq(api("GET", "/v1/reports/config", NULL, &j), 200);
	char *s = json_dumps(j, 0);
	json_decref(j);
	return s;
}

/* Waits up to 5 s for the reports of "config" to hold <n> times <what>; they are returned
 * (freed by the caller). */
static char *wait_reports(const char *what, int n)
{
	for (int i = 0; i < 100; i++) {
		char *s = config_reports();
		int k = 0;
		for (const char *p = s; (p = strstr(p, what)); p++)
			k++;
		if (k >= n)
			return s;
		free(s);
		usleep(50000);
	}
	cr_assert_fail("not %d times \"%s\" in the reports of config", n, what);
	return NULL;
}

Test(reload, sighup_applies_what_it_can_and_names_the_rest)
{
	cr_assert_eq(http_srv_start(&hs), 0);
	snprintf(dir, sizeof(dir), "/tmp/rcsgw-reload.XXXXXX");
	cr_assert(mkdtemp(dir));
	snprintf(conf, sizeof(conf), "%s/rcsgw.conf", dir);
	snprintf(htfile, sizeof(htfile), "%s/users.htdigest", dir);
	snprintf(defs, sizeof(defs), "%s/cc.json", dir);
	write_users("alice");
	write_defs("{\"id\": \"f1\", \"skill\": \"s\"}");
	write_conf("warn", "", "1M");

	msrp_port = free_tcp_port();
	api_port = free_tcp_port();
	char e_msrp[64], e_api[64];
	snprintf(e_msrp, sizeof(e_msrp), "RCSGW_MSRP_LISTEN=127.0.0.1:%d", msrp_port);
	snprintf(e_api, sizeof(e_api), "RCSGW_API_LISTEN=127.0.0.1:%d", api_port);
	const char *env[] = { e_msrp, e_api, "RCSGW_SIP_LISTEN=", "RCSGW_ENGINE_WORKERS=2",
			      "RCSGW_ENGINE_PIN=false", NULL };
	pid = rcsgw_spawn(env, conf, NULL);
	cr_assert(pid > 0);
	cr_assert_eq(wait_port("127.0.0.1", api_port, 5000), 0);
	cr_assert_eq(wait_port("127.0.0.1", msrp_port, 5000), 0);

	cr_expect_eq(auth_as("alice"), 200);
	cr_expect_neq(auth_as("bob"), 200, "bob is not in the file yet");
	cr_expect_eq(api("GET", "/v1/cc/flows/f2", NULL, NULL), 404);
	json_t *j = NULL;
	cr_assert_eq(api("GET", "/v1/status/webhooks", NULL, &j), 200);
	cr_expect_str_eq(json_string_value(json_object_get(j, "status")), "disabled");
	json_decref(j);

	/* the files change: bob, flow f2, a webhook, the log level, and a key of a restart */
	write_users("alice bob");
	write_defs("{\"id\": \"f1\", \"skill\": \"s\"}, {\"id\": \"f2\", \"skill\": \"t\"}");
	char hooks[256];
	snprintf(hooks, sizeof(hooks), "\"%s/status/200\"", hs.base);
	write_conf("debug", hooks, "2M");
	cr_assert_eq(kill(pid, SIGHUP), 0);
	char *rep = wait_reports("SIGHUP: changed", 1);
	cr_expect(strstr(rep, "SIGHUP: reloaded relay: 2 credentials, 0 egress rules, webhooks, "
			      "cc.definitions, log"), "%s", rep);
	cr_expect(strstr(rep, "SIGHUP: changed, applied at the next restart: msrp.max_chunk"),
		  "%s", rep);
	free(rep);

	cr_expect_eq(auth_as("bob"), 200, "bob AUTHs after the reload");
	cr_expect_eq(auth_as("alice"), 200);
	for (int i = 0; i < 50 && api("GET", "/v1/cc/flows/f2", NULL, NULL) != 200; i++)
		usleep(50000);
	cr_expect_eq(api("GET", "/v1/cc/flows/f2", NULL, NULL), 200, "flow f2 of the new file");
	cr_assert_eq(api("GET", "/v1/status/webhooks", NULL, &j), 200);
	cr_expect_str_eq(json_string_value(json_object_get(j, "status")), "ready");
	cr_expect_str_eq(json_string_value(json_object_get(j, "details")), "1 URLs, 0 failing");
	json_decref(j);
	cr_assert_eq(api("GET", "/v1/status/relay", NULL, &j), 200);
	cr_expect(strstr(json_string_value(json_object_get(j, "details")), "2 credentials"));
	json_decref(j);
	/* an event now goes to the new URL */
	int before = atomic_load(&hs.requests);
	cr_assert_eq(api("PUT", "/v1/cc/agents/a1", "{\"skills\":[\"s\"],\"chat_location\":"
			 "\"sip:a1@127.0.0.1:9\"}", NULL), 201);
	cr_assert_eq(api("POST", "/v1/cc/agents/a1/login", NULL, NULL), 200);
	for (int i = 0; i < 60 && atomic_load(&hs.requests) == before; i++)
		usleep(50000);
	cr_expect_gt(atomic_load(&hs.requests), before, "no event reached the new webhook");

	/* a configuration that does not load: nothing changes, the daemon goes on */
	write_file(conf, "log = { level = \"loud\"; };\n");
	cr_assert_eq(kill(pid, SIGHUP), 0);
	rep = wait_reports("SIGHUP: not reloaded: ", 1);
	free(rep);
	cr_assert_eq(api("GET", "/v1/status/config", NULL, &j), 200);
	cr_expect_str_eq(json_string_value(json_object_get(j, "status")), "degraded");
	json_decref(j);
	j = NULL; /* (the loop below lets go of the last one it read) */
	cr_expect_eq(api("GET", "/healthz", NULL, NULL), 200);
	cr_expect_eq(auth_as("bob"), 200, "the last good credentials stay");

	/* a second URL next to the first: the first is kept, the new one fails (500) */
	snprintf(hooks, sizeof(hooks), "\"%s/status/200\", \"%s/status/500\"", hs.base, hs.base);
	write_conf("debug", hooks, "2M");
	cr_assert_eq(kill(pid, SIGHUP), 0);
	/* msrp.max_chunk still differs from what runs: said again */
	rep = wait_reports("SIGHUP: changed, applied at the next restart: msrp.max_chunk", 2);
	free(rep);
	cr_assert_eq(api("POST", "/v1/cc/agents/a1/logout", NULL, NULL), 200);
	const char *st = "";
	for (int i = 0; i < 60; i++) {
		json_decref(j);
		cr_assert_eq(api("GET", "/v1/status/webhooks", NULL, &j), 200);
		st = json_string_value(json_object_get(j, "details"));
		if (!strcmp(st, "2 URLs, 1 failing"))
			break;
		usleep(50000);
	}
	cr_expect_str_eq(st, "2 URLs, 1 failing");
	cr_expect_str_eq(json_string_value(json_object_get(j, "status")), "degraded");
	json_decref(j);
	cr_assert_eq(api("GET", "/v1/reports/webhooks", NULL, &j), 200);
	rep = json_dumps(j, 0);
	cr_expect(strstr(rep, "reloaded: 2 URLs (1 kept, 1 added, 0 removed)"), "%s", rep);
	cr_expect(strstr(rep, "/status/500 failing: HTTP 500"), "%s", rep);
	free(rep);
	json_decref(j);
}

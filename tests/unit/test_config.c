/* test_config.c — common/cm_config: defaults, file, environment, errors, sample, dump.
 *
 * Run from the repository root (etc/rcsgw.conf is read from there). */
#include <criterion/criterion.h>
#include <errno.h>
#include <libconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cm_config.h"
#include "common/cm_log.h"

#define SAMPLE "etc/rcsgw.conf"

/* Writes <text> to a fresh temporary file; its path goes into <path> (64 bytes). */
static void write_conf(char *path, const char *text)
{
	strcpy(path, "/tmp/rcsgw-test-XXXXXX.conf");
	int fd = mkstemps(path, 5);
	cr_assert(fd >= 0);
	size_t len = strlen(text);
	cr_assert(write(fd, text, len) == (ssize_t)len);
	close(fd);
}

/* Loads <text> (NULL: no file) with <envp>; 0 or -1 with <err>. */
static int load(struct cm_config *c, const char *text, char **envp, char *path, char *err,
                size_t errlen)
{
	int rc;

	if (!text)
		return cm_config_load_env(c, NULL, envp, err, errlen);
	write_conf(path, text);
	rc = cm_config_load_env(c, path, envp, err, errlen);
	unlink(path);
	return rc;
}

/* Loads <text>, expects failure, and checks that the message starts with "<file>:<line>: "
 * and contains <needle>. */
static void expect_file_error(const char *text, int line, const char *needle)
{
	struct cm_config c;
	char path[64], err[512], prefix[128];

	cr_assert_eq(load(&c, text, NULL, path, err, sizeof(err)), -1, "accepted: %s", text);
	snprintf(prefix, sizeof(prefix), "%s:%d: ", path, line);
	cr_expect(!strncmp(err, prefix, strlen(prefix)), "message <%s> should start with <%s>",
	          err, prefix);
	cr_expect(strstr(err, needle) != NULL, "message <%s> should contain <%s>", err, needle);
	/* a failed load leaves nothing behind */
	static const struct cm_config zero;
	cr_expect(!memcmp(&c, &zero, sizeof(c)), "config not zeroed after an error");
}

static void expect_env_error(char **envp, const char *message)
{
	struct cm_config c;
	char err[512];

	cr_assert_eq(cm_config_load_env(&c, NULL, envp, err, sizeof(err)), -1, "accepted %s", envp[0]);
	cr_expect_str_eq(err, message);
}

static char *dump_str(const struct cm_config *c)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cr_assert(f);
	cr_assert_eq(cm_config_dump(c, f), 0);
	fclose(f);
	return buf;
}

/* ---- schema and defaults ------------------------------------------------------------- */

Test(config, schema_is_consistent)
{
	size_t n;
	const struct cm_config_key *k = cm_config_schema(&n);
	char a[128], b[128];

	cr_assert_gt(n, 20);
	for (size_t i = 0; i < n; i++) {
		cr_expect(k[i].help && k[i].help[0], "%s.%s has no help", k[i].section, k[i].key);
		cr_expect(k[i].def != NULL);
		cr_expect(k[i].min <= k[i].max);
		cr_expect(k[i].type != CM_CFG_ENUM || (k[i].names && k[i].names[0]));
		cr_expect_eq(cm_config_find(k[i].section, k[i].key), &k[i]);
		cr_assert_gt(cm_config_env_name(&k[i], a, sizeof(a)), 0);
		for (size_t j = i + 1; j < n; j++) {
			cm_config_env_name(&k[j], b, sizeof(b));
			cr_expect_str_neq(a, b, "two keys share the variable %s", a);
		}
		/* the rows of a section are contiguous, so that the dump groups them */
		if (i > 1 && strcmp(k[i].section, k[i - 1].section))
			for (size_t j = 0; j + 1 < i; j++)
				cr_expect_str_neq(k[j].section, k[i].section, "section %s split",
				                  k[i].section);
	}
	cr_expect_null(cm_config_find("engine", "nope"));
	cr_expect_eq(cm_config_env_name(cm_config_find("engine", "buffer_ring_entries"), a, 8),
	             -ENOSPC);
	cr_expect_eq(cm_config_env_name(cm_config_find("engine", "buffer_ring_entries"), a,
	                                sizeof(a)), 32);
	cr_expect_str_eq(a, "RCSGW_ENGINE_BUFFER_RING_ENTRIES");
}

static void check_defaults(const struct cm_config *c)
{
	cr_expect_eq(c->engine.backend, CM_BACKEND_AUTO);
	cr_expect_eq(c->engine.workers, 0);
	cr_expect_eq(c->engine.pin, true);
	cr_expect_eq(c->engine.buffer_size, 16384);
	cr_expect_eq(c->engine.buffers_max, 8192);
	cr_expect_eq(c->engine.buffer_ring_entries, 1024);
	cr_expect_eq(c->engine.ring_entries, 1024);
	cr_expect_eq(c->engine.sendq_high, 262144);
	cr_expect_eq(c->engine.sendq_low, 65536);
	cr_expect_eq(c->engine.mailbox_size, 4096);
	cr_expect_eq(c->engine.timer_tick_ms, 10);
	cr_expect_eq(c->engine.max_conns, 262144);
	cr_expect_eq(c->engine.drain_timeout_ms, 10000);
	cr_assert_eq(c->api.listen.n, 1);
	cr_expect_str_eq(c->api.listen.v[0], "127.0.0.1:8080");
	cr_expect_eq(c->api.tokens.n, 0);
	cr_expect_null(c->api.tokens.v);
	cr_assert_eq(c->msrp.listen.n, 1);
	cr_expect_str_eq(c->msrp.listen.v[0], "0.0.0.0:2855");
	cr_expect_eq(c->msrps.listen.n, 0);
	cr_expect_str_eq(c->msrps.cert, "");
	cr_expect_str_eq(c->msrps.key, "");
	cr_expect_str_eq(c->msrps.ca, "");
	cr_expect_eq(c->msrps.verify_client, false);
	cr_assert_eq(c->sip.listen.n, 2);
	cr_expect_str_eq(c->sip.listen.v[0], "udp:0.0.0.0:5060");
	cr_expect_str_eq(c->sip.listen.v[1], "tcp:0.0.0.0:5060");
	cr_expect_eq(c->tls.min_version, CM_TLS_1_2);
	cr_expect_eq(c->log.level, CM_LOG_INFO);
	cr_expect_eq(c->log.format, CM_LOG_FMT_TEXT);
	cr_expect_eq(c->log.rate_limit, 10);
}

Test(config, defaults)
{
	struct cm_config c;

	cm_config_defaults(&c);
	check_defaults(&c);
	cm_config_free(&c);
	cm_config_free(&c);        /* twice is harmless */
}

Test(config, load_without_file_or_env_is_defaults)
{
	struct cm_config c;
	char err[256] = "x";
	char *env[] = { "PATH=/bin", "RCSGW_BUILD=build", "HOME=/root", NULL };

	cr_assert_eq(cm_config_load_env(&c, NULL, NULL, err, sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(err, "");
	check_defaults(&c);
	cm_config_free(&c);
	/* variables outside the sections of the schema are not ours */
	cr_assert_eq(cm_config_load_env(&c, NULL, env, err, sizeof(err)), 0, "%s", err);
	check_defaults(&c);
	cm_config_free(&c);
	/* no room for a message is fine */
	cr_assert_eq(cm_config_load_env(&c, NULL, NULL, NULL, 0), 0);
	cm_config_free(&c);
}

Test(config, load_uses_process_environment)
{
	struct cm_config c;
	char err[256];

	setenv("RCSGW_ENGINE_BACKEND", "epoll", 1);
	cr_assert_eq(cm_config_load(&c, NULL, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(c.engine.backend, CM_BACKEND_EPOLL);
	cm_config_free(&c);
	unsetenv("RCSGW_ENGINE_BACKEND");
}

/* ---- the file ------------------------------------------------------------------------ */

Test(config, file_every_type)
{
	struct cm_config c;
	char path[64], err[512];
	const char *text =
		"engine = {\n"
		"  backend = \"io_uring\";\n"          /* enum */
		"  workers = 8;\n"                     /* int with auto */
		"  pin = false;\n"                     /* bool */
		"  buffer_size = 65536;\n"             /* size as an integer */
		"  buffers_max = 0x100;\n"             /* int, hex */
		"  buffer_ring_entries = 2048;\n"      /* power of two */
		"  ring_entries = 32;\n"
		"  sendq_high = \"1M\";\n"             /* size with a unit */
		"  sendq_low = \"512k\";\n"
		"  mailbox_size = 1048576;\n"
		"  timer_tick_ms = 1;\n"
		"  max_conns = 16777216;\n"
		"  drain_timeout = \"5m\";\n"          /* duration with a unit */
		"};\n"
		"api = { listen = [ \"127.0.0.1:9000\", \"[::1]:9000\" ]; tokens = ( \"s3cret\" ); };\n"
		"msrp = { listen = \"0.0.0.0:2855, 0.0.0.0:2856\"; };\n"  /* one string, split */
		"msrps = { listen = [ \"0.0.0.0:2856\" ]; cert = \"/c.pem\"; key = \"/k.pem\";\n"
		"          ca = \"/ca.pem\"; verify_client = true; };\n"
		"sip = { listen = [ ]; };\n"
		"tls = { min_version = 1.3; };\n"     /* a number given to an enum */
		"log = { level = \"DEBUG\"; format = \"json\"; rate_limit = 0; };\n";

	cr_assert_eq(load(&c, text, NULL, path, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(c.engine.backend, CM_BACKEND_IO_URING);
	cr_expect_eq(c.engine.workers, 8);
	cr_expect_eq(c.engine.pin, false);
	cr_expect_eq(c.engine.buffer_size, 65536);
	cr_expect_eq(c.engine.buffers_max, 256);
	cr_expect_eq(c.engine.buffer_ring_entries, 2048);
	cr_expect_eq(c.engine.ring_entries, 32);
	cr_expect_eq(c.engine.sendq_high, 1048576);
	cr_expect_eq(c.engine.sendq_low, 524288);
	cr_expect_eq(c.engine.mailbox_size, 1048576);
	cr_expect_eq(c.engine.timer_tick_ms, 1);
	cr_expect_eq(c.engine.max_conns, 16777216);
	cr_expect_eq(c.engine.drain_timeout_ms, 300000);
	cr_assert_eq(c.api.listen.n, 2);
	cr_expect_str_eq(c.api.listen.v[0], "127.0.0.1:9000");
	cr_expect_str_eq(c.api.listen.v[1], "[::1]:9000");
	cr_assert_eq(c.api.tokens.n, 1);
	cr_expect_str_eq(c.api.tokens.v[0], "s3cret");
	cr_assert_eq(c.msrp.listen.n, 2);
	cr_expect_str_eq(c.msrp.listen.v[0], "0.0.0.0:2855");
	cr_expect_str_eq(c.msrp.listen.v[1], "0.0.0.0:2856");
	cr_assert_eq(c.msrps.listen.n, 1);
	cr_expect_str_eq(c.msrps.cert, "/c.pem");
	cr_expect_str_eq(c.msrps.key, "/k.pem");
	cr_expect_str_eq(c.msrps.ca, "/ca.pem");
	cr_expect_eq(c.msrps.verify_client, true);
	cr_expect_eq(c.sip.listen.n, 0);
	cr_expect_eq(c.tls.min_version, CM_TLS_1_3);
	cr_expect_eq(c.log.level, CM_LOG_DEBUG);
	cr_expect_eq(c.log.format, CM_LOG_FMT_JSON);
	cr_expect_eq(c.log.rate_limit, 0);
	cm_config_free(&c);
}

Test(config, file_partial_keeps_other_defaults)
{
	struct cm_config c;
	char path[64], err[512];

	cr_assert_eq(load(&c, "engine = { workers = \"auto\"; };\nlog = { };\n", NULL, path, err,
	                  sizeof(err)), 0, "%s", err);
	check_defaults(&c);
	cm_config_free(&c);
	cr_assert_eq(load(&c, "# nothing but a comment\n", NULL, path, err, sizeof(err)), 0, "%s", err);
	check_defaults(&c);
	cm_config_free(&c);
}

Test(config, sizes_and_durations_with_units)
{
	static const struct { const char *text; int64_t want; } sizes[] = {
		{ "4096", 4096 }, { "\"4096\"", 4096 }, { "\"16k\"", 16384 }, { "\"16K\"", 16384 },
		{ "\"16KiB\"", 16384 }, { "\"16kb\"", 16384 }, { "\"1M\"", 1048576 },
		{ "\"1mib\"", 1048576 }, { "\"8192b\"", 8192 },
	};
	static const struct { const char *text; int64_t want; } durs[] = {
		{ "0", 0 }, { "1500", 1500 }, { "\"500ms\"", 500 }, { "\"30s\"", 30000 },
		{ "\"5m\"", 300000 }, { "\"1h\"", 3600000 }, { "\"2S\"", 2000 }, { "\"250\"", 250 },
	};
	struct cm_config c;
	char path[64], err[512], text[128];

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		snprintf(text, sizeof(text), "engine = { buffer_size = %s; };", sizes[i].text);
		cr_assert_eq(load(&c, text, NULL, path, err, sizeof(err)), 0, "%s: %s", text, err);
		cr_expect_eq(c.engine.buffer_size, sizes[i].want, "%s", text);
		cm_config_free(&c);
	}
	for (size_t i = 0; i < sizeof(durs) / sizeof(durs[0]); i++) {
		snprintf(text, sizeof(text), "engine = { drain_timeout = %s; };", durs[i].text);
		cr_assert_eq(load(&c, text, NULL, path, err, sizeof(err)), 0, "%s: %s", text, err);
		cr_expect_eq(c.engine.drain_timeout_ms, durs[i].want, "%s", text);
		cm_config_free(&c);
	}
	/* the large units go past 32 bits without the libconfig L suffix */
	cr_assert_eq(load(&c, "engine = { sendq_high = \"1G\"; };", NULL, path, err, sizeof(err)), 0,
	             "%s", err);
	cr_expect_eq(c.engine.sendq_high, 1073741824);
	cm_config_free(&c);
}

Test(config, include_resolves_beside_the_file)
{
	struct cm_config c;
	char dir[] = "/tmp/rcsgw-inc-XXXXXX", main_path[128], sub_path[128], err[512];
	FILE *f;

	cr_assert(mkdtemp(dir));
	snprintf(main_path, sizeof(main_path), "%s/main.conf", dir);
	snprintf(sub_path, sizeof(sub_path), "%s/log.conf", dir);
	f = fopen(sub_path, "w");
	fputs("log = {\n  level = \"loud\";\n};\n", f);
	fclose(f);
	f = fopen(main_path, "w");
	fputs("engine = { workers = 2; };\n@include \"log.conf\"\n", f);
	fclose(f);
	cr_assert_eq(cm_config_load_env(&c, main_path, NULL, err, sizeof(err)), -1);
	/* the error names the included file, where the bad value is */
	cr_expect(strstr(err, "log.conf:2: log.level: expected one of \"error\", \"warn\", \"info\", "
	                      "\"debug\", got \"loud\"") != NULL, "%s", err);
	unlink(sub_path);
	unlink(main_path);
	rmdir(dir);
}

/* ---- the environment ----------------------------------------------------------------- */

Test(config, env_every_type)
{
	struct cm_config c;
	char err[512];
	char *env[] = {
		"RCSGW_ENGINE_BACKEND=epoll",
		"RCSGW_ENGINE_WORKERS=3",
		"RCSGW_ENGINE_PIN=no",
		"RCSGW_ENGINE_BUFFER_SIZE=32k",
		"RCSGW_ENGINE_BUFFERS_MAX=100",
		"RCSGW_ENGINE_BUFFER_RING_ENTRIES=16",
		"RCSGW_ENGINE_RING_ENTRIES=32768",
		"RCSGW_ENGINE_SENDQ_HIGH=2M",
		"RCSGW_ENGINE_SENDQ_LOW=1048576",
		"RCSGW_ENGINE_MAILBOX_SIZE=64",
		"RCSGW_ENGINE_TIMER_TICK_MS=1000",
		"RCSGW_ENGINE_MAX_CONNS=16",
		"RCSGW_ENGINE_DRAIN_TIMEOUT=30s",
		"RCSGW_ENGINE_TLS_HANDSHAKE_TIMEOUT=3s",
		"RCSGW_ENGINE_FRAME_TIMEOUT=0",
		"RCSGW_ENGINE_SEND_TIMEOUT=90s",
		"RCSGW_API_PER_IP_LIMIT=8",
		"RCSGW_API_HEAD_TIMEOUT=2s",
		"RCSGW_ENGINE_TCP_PROFILES=10.0.0.0/8 no_new, *:2855 read_timeout=60s",
		"RCSGW_API_LISTEN=127.0.0.1:9000, [::1]:9000",
		"RCSGW_API_TOKENS=abc,def",
		"RCSGW_API_WEBHOOKS=http://127.0.0.1:9/a,https://example.net/b",
		"RCSGW_API_WEBHOOK_SECRET=s3cret",
		"RCSGW_API_WEBHOOK_TIMEOUT=2s",
		"RCSGW_API_WEBHOOK_RETRIES=3",
		"RCSGW_API_EVENT_QUEUE=500",
		"RCSGW_API_SSE_MAX_CLIENTS=7",
		"RCSGW_API_SSE_KEEPALIVE=20s",
		"RCSGW_MSRP_LISTEN=",
		"RCSGW_MSRP_MAX_LINE=1k",
		"RCSGW_MSRP_MAX_HEADERS=10",
		"RCSGW_MSRP_MAX_HEAD=4k",
		"RCSGW_MSRP_MAX_CHUNK=64k",
		"RCSGW_MSRP_TRANSACTION_TIMEOUT=5s",
		"RCSGW_MSRP_MAX_TRANSACTIONS=8",
		"RCSGW_MSRP_IDLE_TIMEOUT=0",
		"RCSGW_MSRP_HEAD_TIMEOUT=2500ms",
		"RCSGW_MSRP_BODY_TIMEOUT=7s",
		"RCSGW_MSRP_BODY_MIN_RATE=2k",
		"RCSGW_MSRP_WS_LISTEN=127.0.0.1:8081",
		"RCSGW_MSRP_WSS_LISTEN=0.0.0.0:8443",
		"RCSGW_MSRP_WS_MAX_MESSAGE=64k",
		"RCSGW_MSRP_CHUNK_SIZE=4k",
		"RCSGW_MSRP_MAX_MESSAGE=1M",
		"RCSGW_MSRP_MAX_CHUNKS=100",
		"RCSGW_MSRP_REASSEMBLY_TIMEOUT=5s",
		"RCSGW_RELAY_ENABLED=false",
		"RCSGW_RELAY_REALM=example.net",
		"RCSGW_RELAY_CREDENTIALS_FILE=/etc/rcsgw/relay.htdigest",
		"RCSGW_RELAY_CREDENTIALS_REDIS=127.0.0.1:6379",
		"RCSGW_RELAY_CREDENTIALS_REDIS_KEY=creds",
		"RCSGW_RELAY_CREDENTIALS_HOOK=http://127.0.0.1:9/ha1",
		"RCSGW_RELAY_EGRESS=.example.net tls:10.0.0.1:2856 src=10.0.0.2,* direct",
		"RCSGW_RELAY_EGRESS_HOOK=http://127.0.0.1:9/egress",
		"RCSGW_RELAY_HOOK_TIMEOUT=500ms",
		"RCSGW_RELAY_HOOK_CACHE_TTL=0",
		"RCSGW_RELAY_NONCE_TTL=1m",
		"RCSGW_RELAY_MAX_AUTH_FAILURES=5",
		"RCSGW_RELAY_MIN_EXPIRES=10s",
		"RCSGW_RELAY_MAX_EXPIRES=1h",
		"RCSGW_RELAY_DEFAULT_EXPIRES=20m",
		"RCSGW_RELAY_PUBLIC_HOST=relay.example.net",
		"RCSGW_RELAY_MAX_SESSIONS=1000",
		"RCSGW_RELAY_MAX_SESSIONS_PER_USER=7",
		"RCSGW_RELAY_MAX_SESSIONS_PER_IP=70",
		"RCSGW_RELAY_MAX_FORWARD_CHUNK=0",
		"RCSGW_MSRPS_LISTEN=0.0.0.0:2856",
		"RCSGW_MSRPS_CERT=/etc/rcsgw/cert.pem",
		"RCSGW_MSRPS_KEY=/etc/rcsgw/key.pem",
		"RCSGW_MSRPS_CA=/etc/rcsgw/ca.pem",
		"RCSGW_MSRPS_VERIFY_CLIENT=on",
		"RCSGW_MSRPS_SNI_CERTS=alt.example.com:/etc/rcsgw/alt.pem:/etc/rcsgw/alt.key",
		"RCSGW_SIP_LISTEN=tls:0.0.0.0:5061",
		"RCSGW_SIP_ADVERTISE=gw.example.net:5061",
		"RCSGW_SIP_OUTBOUND_PROXY=sip:pcscf.example.net;transport=tcp",
		"RCSGW_SIP_CREDENTIALS=ims.example.net:gw:pa:ss,*:any:x",
		"RCSGW_SIP_USER_AGENT=gw/1",
		"RCSGW_SIP_T1=250ms",
		"RCSGW_SIP_T2=2s",
		"RCSGW_SIP_MAX_TRANSACTIONS=100",
		"RCSGW_SIP_MAX_MESSAGE=8k",
		"RCSGW_SIP_TLS_CERT=/etc/rcsgw/sip.pem",
		"RCSGW_SIP_TLS_KEY=/etc/rcsgw/sip.key",
		"RCSGW_SIP_TLS_CA=/etc/rcsgw/ca.pem",
		"RCSGW_UA_ENABLED=no",
		"RCSGW_UA_ACCEPT_TYPES=text/plain",
		"RCSGW_UA_ACCEPT_WRAPPED_TYPES=text/plain,message/imdn+xml",
		"RCSGW_UA_MSRP_ADVERTISE=msrp.example.net",
		"RCSGW_UA_SETUP=passive",
		"RCSGW_UA_ANSWER_TIMEOUT=10s",
		"RCSGW_UA_INVITE_TIMEOUT=20s",
		"RCSGW_UA_AUTO_ANSWER=sip:bot@*,sip:echo@*",
		"RCSGW_UA_MAX_SESSIONS=50",
		"RCSGW_UA_MAX_QUEUED=3",
		"RCSGW_UA_RELAY=msrp://relay.example.net:2855;tcp",
		"RCSGW_UA_RELAY_USER=gw",
		"RCSGW_UA_RELAY_PASSWORD=pw",
		"RCSGW_GATEWAY_ENABLED=yes",
		"RCSGW_GATEWAY_RULES=domain:ims.example.net,feature:+g.3gpp.icsi-ref",
		"RCSGW_GATEWAY_PAGE_USERS=prefix:sip:legacy",
		"RCSGW_GATEWAY_UNMATCHED=proxy",
		"RCSGW_GATEWAY_REJECT_CODE=403",
		"RCSGW_GATEWAY_SESSION_TIMEOUT=1m",
		"RCSGW_GATEWAY_MESSAGE_TIMEOUT=30s",
		"RCSGW_GATEWAY_MAX_QUEUED=4",
		"RCSGW_GATEWAY_AWAIT_DELIVERY=true",
		"RCSGW_GATEWAY_DELIVERY_TIMEOUT=5s",
		"RCSGW_RCS_DELIVERY_NOTIFICATIONS=false",
		"RCSGW_RCS_MAX_DISPLAY_PENDING=8",
		"RCSGW_RCS_SERVICES=chat,fthttp",
		"RCSGW_RCS_BOTVERSION=#=1",
		"RCSGW_RCS_CAPABILITY_TTL=10m",
		"RCSGW_RCS_CAPABILITY_TIMEOUT=2s",
		"RCSGW_RCS_CAPABILITY_CACHE=500",
		"RCSGW_RCS_FILE_MAX=8M",
		"RCSGW_RCS_FILE_STORE_MAX=64M",
		"RCSGW_RCS_FILE_TTL=30m",
		"RCSGW_REDIS_URL=redis://:pw@10.0.0.7:6380/2",
		"RCSGW_CLUSTER_NODE_ID=gw-1",
		"RCSGW_CLUSTER_ADVERTISE=10.0.0.1:5060",
		"RCSGW_CLUSTER_HEARTBEAT_TTL=5s",
		"RCSGW_DIAMETER_ORIGIN_HOST=gw1.ims.example.net",
		"RCSGW_DIAMETER_ORIGIN_REALM=ims.example.net",
		"RCSGW_DIAMETER_PEERS=aaa://hss1.ims.example.net;realm=ims.example.net,aaa://10.0.0.9:3869",
		"RCSGW_DIAMETER_LISTEN=0.0.0.0:3868",
		"RCSGW_DIAMETER_ACCEPT=*",
		"RCSGW_DIAMETER_APPLICATIONS=Sh,4",
		"RCSGW_DIAMETER_DICTIONARIES=/etc/rcsgw/dict.json",
		"RCSGW_DIAMETER_WATCHDOG=6s",
		"RCSGW_DIAMETER_RECONNECT=10s",
		"RCSGW_DIAMETER_REQUEST_TIMEOUT=3s",
		"RCSGW_DIAMETER_ANSWER_TIMEOUT=2s",
		"RCSGW_DIAMETER_UNANSWERED_RESULT=3004",
		"RCSGW_DIAMETER_MAX_INCOMING=10",
		"RCSGW_DIAMETER_MAX_PENDING=20",
		"RCSGW_DIAMETER_SH_CHECK=true",
		"RCSGW_DIAMETER_RO_CHARGING=yes",
		"RCSGW_DIAMETER_HOOK_FAILURE=allow",
		"RCSGW_DIAMETER_HOOK_TIMEOUT=1500ms",
		"RCSGW_CC_ENABLED=true",
		"RCSGW_CC_OFFER_TIMEOUT=3s",
		"RCSGW_CC_MAX_WAITING=50",
		"RCSGW_CC_MAX_HELD=7",
		"RCSGW_CC_DEFINITIONS=/etc/rcsgw/cc.json",
		"RCSGW_TRACE_COLLECTOR=127.0.0.1:9060",
		"RCSGW_TRACE_CAPTURE_ID=4000000000",
		"RCSGW_TRACE_PASSWORD=hep-key",
		"RCSGW_TRACE_PROTOCOLS=msrp",
		"RCSGW_TRACE_PEERS=10.0.0.0/8,[::1]",
		"RCSGW_TRACE_MSRP_TYPE=200",
		"RCSGW_DNS_SERVERS=10.0.0.53,[::1]:5353",
		"RCSGW_DNS_TIMEOUT=500ms",
		"RCSGW_TLS_MIN_VERSION=1.3",
		"RCSGW_LOG_LEVEL=warn",
		"RCSGW_LOG_FORMAT=json",
		"RCSGW_LOG_RATE_LIMIT=100",
		NULL,
	};
	size_t n;

	cm_config_schema(&n);
	cr_assert_eq(n, sizeof(env) / sizeof(env[0]) - 1, "one variable per key in this test");
	cr_assert_eq(cm_config_load_env(&c, NULL, env, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(c.engine.backend, CM_BACKEND_EPOLL);
	cr_expect_eq(c.engine.workers, 3);
	cr_expect_str_eq(c.redis.url, "redis://:pw@10.0.0.7:6380/2");
	cr_expect_str_eq(c.cluster.node_id, "gw-1");
	cr_expect_str_eq(c.cluster.advertise, "10.0.0.1:5060");
	cr_expect_eq(c.cluster.heartbeat_ttl_ms, 5000);
	cr_expect_str_eq(c.diameter.origin_host, "gw1.ims.example.net");
	cr_assert_eq(c.diameter.peers.n, 2);
	cr_expect_str_eq(c.diameter.peers.v[1], "aaa://10.0.0.9:3869");
	cr_expect_eq(c.diameter.tw_ms, 6000);
	cr_expect_eq(c.diameter.unanswered_result, 3004);
	cr_expect_eq(c.diameter.max_pending, 20);
	cr_expect(c.diameter.sh_check && c.diameter.ro_charging);
	cr_expect_eq(c.diameter.hook_failure, 1);
	cr_expect_eq(c.diameter.hook_timeout_ms, 1500);
	cr_expect(c.cc.enabled);
	cr_expect_eq(c.cc.offer_timeout_ms, 3000);
	cr_expect_eq(c.cc.max_waiting, 50);
	cr_expect_eq(c.cc.max_held, 7);
	cr_expect_str_eq(c.cc.definitions, "/etc/rcsgw/cc.json");
	cr_expect_str_eq(c.trace.collector, "127.0.0.1:9060");
	cr_expect_eq(c.trace.capture_id, 4000000000LL);
	cr_expect_str_eq(c.trace.password, "hep-key");
	cr_assert_eq(c.trace.protocols.n, 1);
	cr_expect_str_eq(c.trace.protocols.v[0], "msrp");
	cr_assert_eq(c.trace.peers.n, 2);
	cr_expect_str_eq(c.trace.peers.v[1], "[::1]");
	cr_expect_eq(c.trace.msrp_type, 200);
	cr_expect_eq(c.engine.pin, false);
	cr_expect_eq(c.engine.buffer_size, 32768);
	cr_expect_eq(c.engine.buffers_max, 100);
	cr_expect_eq(c.engine.buffer_ring_entries, 16);
	cr_expect_eq(c.engine.ring_entries, 32768);
	cr_expect_eq(c.engine.sendq_high, 2097152);
	cr_expect_eq(c.engine.sendq_low, 1048576);
	cr_expect_eq(c.engine.mailbox_size, 64);
	cr_expect_eq(c.engine.timer_tick_ms, 1000);
	cr_expect_eq(c.engine.max_conns, 16);
	cr_expect_eq(c.engine.drain_timeout_ms, 30000);
	cr_expect_eq(c.engine.tls_handshake_timeout_ms, 3000);
	cr_expect_eq(c.engine.frame_timeout_ms, 0);
	cr_expect_eq(c.engine.send_timeout_ms, 90000);
	cr_expect_eq(c.api.per_ip_limit, 8);
	cr_expect_eq(c.api.head_timeout_ms, 2000);
	cr_assert_eq(c.engine.tcp_profiles.n, 2);
	cr_expect_str_eq(c.engine.tcp_profiles.v[1], "*:2855 read_timeout=60s");
	cr_assert_eq(c.api.listen.n, 2);
	cr_expect_str_eq(c.api.listen.v[0], "127.0.0.1:9000");
	cr_expect_str_eq(c.api.listen.v[1], "[::1]:9000");
	cr_assert_eq(c.api.tokens.n, 2);
	cr_expect_str_eq(c.api.tokens.v[0], "abc");
	cr_expect_str_eq(c.api.tokens.v[1], "def");
	cr_assert_eq(c.api.webhooks.n, 2);
	cr_expect_str_eq(c.api.webhooks.v[1], "https://example.net/b");
	cr_expect_str_eq(c.api.webhook_secret, "s3cret");
	cr_expect_eq(c.api.webhook_timeout_ms, 2000);
	cr_expect_eq(c.api.webhook_retries, 3);
	cr_expect_eq(c.api.event_queue, 500);
	cr_expect_eq(c.api.sse_max_clients, 7);
	cr_expect_eq(c.api.sse_keepalive_ms, 20000);
	cr_expect_eq(c.msrp.listen.n, 0);
	cr_expect_null(c.msrp.listen.v);
	cr_expect_eq(c.msrp.max_line, 1024);
	cr_expect_eq(c.msrp.max_headers, 10);
	cr_expect_eq(c.msrp.max_head, 4096);
	cr_expect_eq(c.msrp.max_chunk, 65536);
	cr_expect_eq(c.msrp.transaction_timeout_ms, 5000);
	cr_expect_eq(c.msrp.max_transactions, 8);
	cr_expect_eq(c.msrp.idle_timeout_ms, 0);
	cr_expect_eq(c.msrp.head_timeout_ms, 2500);
	cr_expect_eq(c.msrp.body_timeout_ms, 7000);
	cr_expect_eq(c.msrp.body_min_rate, 2048);
	cr_assert_eq(c.msrp.ws_listen.n, 1);
	cr_expect_str_eq(c.msrp.ws_listen.v[0], "127.0.0.1:8081");
	cr_assert_eq(c.msrp.wss_listen.n, 1);
	cr_expect_str_eq(c.msrp.wss_listen.v[0], "0.0.0.0:8443");
	cr_expect_eq(c.msrp.ws_max_message, 65536);
	cr_assert_eq(c.msrps.listen.n, 1);
	cr_expect_str_eq(c.msrps.listen.v[0], "0.0.0.0:2856");
	cr_expect_str_eq(c.msrps.cert, "/etc/rcsgw/cert.pem");
	cr_expect_str_eq(c.msrps.key, "/etc/rcsgw/key.pem");
	cr_expect_str_eq(c.msrps.ca, "/etc/rcsgw/ca.pem");
	cr_expect_eq(c.msrps.verify_client, true);
	cr_assert_eq(c.msrps.sni_certs.n, 1);
	cr_expect_str_eq(c.msrps.sni_certs.v[0], "alt.example.com:/etc/rcsgw/alt.pem:/etc/rcsgw/alt.key");
	cr_assert_eq(c.sip.listen.n, 1);
	cr_expect_str_eq(c.sip.listen.v[0], "tls:0.0.0.0:5061");
	cr_expect_str_eq(c.sip.advertise, "gw.example.net:5061");
	cr_expect_str_eq(c.sip.outbound_proxy, "sip:pcscf.example.net;transport=tcp");
	cr_assert_eq(c.sip.credentials.n, 2);
	cr_expect_str_eq(c.sip.credentials.v[0], "ims.example.net:gw:pa:ss");
	cr_expect_str_eq(c.sip.user_agent, "gw/1");
	cr_expect_eq(c.sip.t1_ms, 250);
	cr_expect_eq(c.sip.t2_ms, 2000);
	cr_expect_eq(c.sip.max_transactions, 100);
	cr_expect_eq(c.sip.max_message, 8192);
	cr_expect_str_eq(c.sip.tls_cert, "/etc/rcsgw/sip.pem");
	cr_expect_str_eq(c.sip.tls_key, "/etc/rcsgw/sip.key");
	cr_expect_str_eq(c.sip.tls_ca, "/etc/rcsgw/ca.pem");
	cr_expect_eq(c.ua.enabled, false);
	cr_assert_eq(c.ua.accept_types.n, 1);
	cr_expect_str_eq(c.ua.msrp_advertise, "msrp.example.net");
	cr_expect_eq(c.ua.setup, CM_UA_SETUP_PASSIVE);
	cr_expect_eq(c.ua.answer_timeout_ms, 10000);
	cr_expect_eq(c.ua.invite_timeout_ms, 20000);
	cr_assert_eq(c.ua.auto_answer.n, 2);
	cr_expect_str_eq(c.ua.auto_answer.v[1], "sip:echo@*");
	cr_expect_eq(c.ua.max_sessions, 50);
	cr_expect_eq(c.ua.max_queued, 3);
	cr_expect_eq(c.gateway.enabled, true);
	cr_assert_eq(c.gateway.rules.n, 2);
	cr_expect_str_eq(c.gateway.rules.v[1], "feature:+g.3gpp.icsi-ref");
	cr_expect_eq(c.gateway.reject_code, 403);
	cr_expect_eq(c.gateway.unmatched, CM_GW_PROXY);
	cr_assert_eq(c.gateway.page_users.n, 1);
	cr_expect_eq(c.gateway.session_timeout_ms, 60000);
	cr_expect_eq(c.gateway.message_timeout_ms, 30000);
	cr_expect_eq(c.gateway.max_queued, 4);
	cr_expect_eq(c.gateway.await_delivery, true);
	cr_expect_eq(c.gateway.delivery_timeout_ms, 5000);
	cr_assert_eq(c.ua.accept_wrapped_types.n, 2);
	cr_expect_str_eq(c.ua.accept_wrapped_types.v[1], "message/imdn+xml");
	cr_expect_eq(c.rcs.delivery_notifications, false);
	cr_expect_eq(c.rcs.max_display_pending, 8);
	cr_assert_eq(c.rcs.services.n, 2);
	cr_expect_str_eq(c.rcs.services.v[1], "fthttp");
	cr_expect_str_eq(c.rcs.botversion, "#=1");
	cr_expect_eq(c.rcs.capability_ttl_ms, 600000);
	cr_expect_eq(c.rcs.capability_timeout_ms, 2000);
	cr_expect_eq(c.rcs.capability_cache, 500);
	cr_expect_eq(c.rcs.file_max, 8 << 20);
	cr_expect_eq(c.rcs.file_store_max, 64 << 20);
	cr_expect_eq(c.rcs.file_ttl_ms, 1800000);
	cr_assert_eq(c.dns.servers.n, 2);
	cr_expect_str_eq(c.dns.servers.v[1], "[::1]:5353");
	cr_expect_eq(c.dns.timeout_ms, 500);
	cr_expect_str_eq(c.ua.relay, "msrp://relay.example.net:2855;tcp");
	cr_expect_str_eq(c.ua.relay_user, "gw");
	cr_expect_str_eq(c.ua.relay_password, "pw");
	cr_expect_eq(c.tls.min_version, CM_TLS_1_3);
	cr_expect_eq(c.log.level, CM_LOG_WARN);
	cr_expect_eq(c.log.format, CM_LOG_FMT_JSON);
	cr_expect_eq(c.log.rate_limit, 100);
	cr_expect_eq(c.msrp.chunk_size, 4096);
	cr_expect_eq(c.msrp.max_message, 1048576);
	cr_expect_eq(c.msrp.max_chunks, 100);
	cr_expect_eq(c.msrp.reassembly_timeout_ms, 5000);
	cr_expect_eq(c.relay.enabled, false);
	cr_expect_str_eq(c.relay.realm, "example.net");
	cr_expect_str_eq(c.relay.credentials_file, "/etc/rcsgw/relay.htdigest");
	cr_expect_str_eq(c.relay.credentials_redis, "127.0.0.1:6379");
	cr_expect_str_eq(c.relay.credentials_redis_key, "creds");
	cr_expect_str_eq(c.relay.credentials_hook, "http://127.0.0.1:9/ha1");
	cr_assert_eq(c.relay.egress.n, 2);
	cr_expect_str_eq(c.relay.egress.v[0], ".example.net tls:10.0.0.1:2856 src=10.0.0.2");
	cr_expect_str_eq(c.relay.egress.v[1], "* direct");
	cr_expect_str_eq(c.relay.egress_hook, "http://127.0.0.1:9/egress");
	cr_expect_eq(c.relay.hook_timeout_ms, 500);
	cr_expect_eq(c.relay.hook_cache_ttl_ms, 0);
	cr_expect_eq(c.relay.nonce_ttl_ms, 60000);
	cr_expect_eq(c.relay.max_auth_failures, 5);
	cr_expect_eq(c.relay.min_expires_ms, 10000);
	cr_expect_eq(c.relay.max_expires_ms, 3600000);
	cr_expect_eq(c.relay.default_expires_ms, 1200000);
	cr_expect_str_eq(c.relay.public_host, "relay.example.net");
	cr_expect_eq(c.relay.max_sessions, 1000);
	cr_expect_eq(c.relay.max_sessions_per_user, 7);
	cr_expect_eq(c.relay.max_sessions_per_ip, 70);
	cr_expect_eq(c.relay.max_forward_chunk, 0);
	cm_config_free(&c);
}

Test(config, env_overrides_file)
{
	struct cm_config c;
	char path[64], err[512];
	char *env[] = { "RCSGW_API_LISTEN=127.0.0.1:9000", "RCSGW_ENGINE_WORKERS=auto",
	                "RCSGW_MSRPS_CA=", "RCSGW_API_TOKENS=", NULL };

	cr_assert_eq(load(&c, "engine = { workers = 4; };\n"
	                      "api = { listen = [ \"0.0.0.0:8080\" ]; tokens = [ \"t\" ]; };\n"
	                      "msrps = { ca = \"/ca.pem\"; };\n",
	                  env, path, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(c.engine.workers, 0);
	cr_assert_eq(c.api.listen.n, 1);
	cr_expect_str_eq(c.api.listen.v[0], "127.0.0.1:9000");
	cr_expect_eq(c.api.tokens.n, 0);
	cr_expect_str_eq(c.msrps.ca, "");
	cm_config_free(&c);
}

Test(config, env_errors_name_the_variable)
{
	char *workers[] = { "RCSGW_ENGINE_WORKERS=lots", NULL };
	char *zero[] = { "RCSGW_ENGINE_WORKERS=0", NULL };
	char *backend[] = { "RCSGW_ENGINE_BACKEND=kqueue", NULL };
	char *pin[] = { "RCSGW_ENGINE_PIN=maybe", NULL };
	char *size[] = { "RCSGW_ENGINE_BUFFER_SIZE=16q", NULL };
	char *dur[] = { "RCSGW_ENGINE_DRAIN_TIMEOUT=2h", NULL };
	char *pow2[] = { "RCSGW_ENGINE_RING_ENTRIES=1000", NULL };
	char *list[] = { "RCSGW_API_LISTEN=a,,b", NULL };
	char *empty[] = { "RCSGW_ENGINE_MAX_CONNS=", NULL };
	char *typo[] = { "RCSGW_ENGINE_WROKERS=4", NULL };
	char *unknown[] = { "RCSGW_LOG_DESTINATION=syslog", NULL };

	expect_env_error(workers, "environment RCSGW_ENGINE_WORKERS: expected \"auto\" or an integer "
	                          "1..1024, got \"lots\"");
	expect_env_error(zero, "environment RCSGW_ENGINE_WORKERS: expected \"auto\" or an integer "
	                       "1..1024, got \"0\"");
	expect_env_error(backend, "environment RCSGW_ENGINE_BACKEND: expected one of \"auto\", "
	                          "\"io_uring\", \"epoll\", got \"kqueue\"");
	expect_env_error(pin, "environment RCSGW_ENGINE_PIN: expected true or false, got \"maybe\"");
	expect_env_error(size, "environment RCSGW_ENGINE_BUFFER_SIZE: expected a size 4096..1048576 "
	                       "bytes (or with a unit: 16k, 4M, 1G), got \"16q\"");
	expect_env_error(dur, "environment RCSGW_ENGINE_DRAIN_TIMEOUT: expected a duration "
	                      "0..3600000 ms (or with a unit: 500ms, 30s, 5m, 1h), got \"2h\"");
	expect_env_error(pow2, "environment RCSGW_ENGINE_RING_ENTRIES: expected a power of two "
	                       "32..32768, got \"1000\"");
	expect_env_error(list, "environment RCSGW_API_LISTEN: expected a comma-separated list of "
	                       "non-empty strings, got \"a,,b\"");
	expect_env_error(empty, "environment RCSGW_ENGINE_MAX_CONNS: expected an integer "
	                        "16..16777216, got \"\"");
	expect_env_error(typo, "environment RCSGW_ENGINE_WROKERS: no such key in section engine "
	                       "(did you mean RCSGW_ENGINE_WORKERS?)");
	expect_env_error(unknown, "environment RCSGW_LOG_DESTINATION: no such key in section log");
}

Test(config, env_error_after_file_frees_everything)
{
	struct cm_config c;
	char path[64], err[512];
	char *env[] = { "RCSGW_ENGINE_MAX_CONNS=huge", NULL };

	cr_assert_eq(load(&c, "api = { tokens = [ \"a\", \"b\" ]; };\nmsrps = { cert = \"x\"; };\n",
	                  env, path, err, sizeof(err)), -1);
	cr_expect(strstr(err, "RCSGW_ENGINE_MAX_CONNS") != NULL, "%s", err);
	cr_expect_null(c.api.tokens.v);
	cr_expect_null(c.msrps.cert);
}

/* ---- file errors --------------------------------------------------------------------- */

Test(config, error_message_format_exact)
{
	struct cm_config c;
	char path[64], err[512], want[256];

	cr_assert_eq(load(&c, "# a comment\n\nengine = {\n  pin = true;\n  workers = \"lots\";\n};\n",
	                  NULL, path, err, sizeof(err)), -1);
	snprintf(want, sizeof(want),
	         "%s:5: engine.workers: expected \"auto\" or an integer 1..1024, got \"lots\"", path);
	cr_expect_str_eq(err, want);
}

Test(config, error_syntax)
{
	expect_file_error("engine = {\n  workers = ;\n};\n", 2, "syntax error");
	expect_file_error("engine = { workers = 1; workers = 2; };\n", 1, "duplicate setting");
}

Test(config, error_missing_file)
{
	struct cm_config c;
	char err[512];

	cr_assert_eq(cm_config_load_env(&c, "/nonexistent/rcsgw.conf", NULL, err, sizeof(err)), -1);
	cr_expect_str_eq(err, "/nonexistent/rcsgw.conf: cannot read: No such file or directory");
}

Test(config, error_unknown_section_and_key)
{
	expect_file_error("log = { level = \"info\"; };\n\nenigne = { workers = 2; };\n", 3,
	                  "enigne: unknown section (did you mean engine?)");
	expect_file_error("workers = 2;\n", 1, "workers: unknown section (did you mean engine.workers?)");
	expect_file_error("bogus = { };\n", 1, "bogus: unknown section");
	expect_file_error("engine = {\n  workers = 2;\n  wrokers = 2;\n};\n", 3,
	                  "engine.wrokers: unknown key (did you mean engine.workers?)");
	expect_file_error("engine = {\n  cert = \"x\";\n};\n", 2,
	                  "engine.cert: unknown key (did you mean msrps.cert?)");
	expect_file_error("log = {\n  flavour = 1;\n};\n", 2, "log.flavour: unknown key");
	expect_file_error("engine = {\n  sub = { workers = 2; };\n};\n", 2, "engine.sub: unknown key");
	expect_file_error("\nengine = 4;\n", 2, "engine: expected a group { key = value; ... }, got 4");
}

Test(config, error_bad_values)
{
	/* int */
	expect_file_error("engine = {\n buffers_max = 63;\n};", 2,
	                  "engine.buffers_max: expected an integer 64..65535, got 63");
	expect_file_error("engine = {\n buffers_max = 1.5;\n};", 2,
	                  "engine.buffers_max: expected an integer 64..65535, got 1.5");
	expect_file_error("engine = {\n buffers_max = true;\n};", 2,
	                  "engine.buffers_max: expected an integer 64..65535, got true");
	expect_file_error("engine = {\n buffers_max = [ 1 ];\n};", 2,
	                  "engine.buffers_max: expected an integer 64..65535, got a list");
	expect_file_error("engine = {\n workers = 2000;\n};", 2,
	                  "engine.workers: expected \"auto\" or an integer 1..1024, got 2000");
	expect_file_error("engine = {\n workers = -1;\n};", 2,
	                  "engine.workers: expected \"auto\" or an integer 1..1024, got -1");
	expect_file_error("engine = {\n mailbox_size = 100;\n};", 2,
	                  "engine.mailbox_size: expected a power of two 64..1048576, got 100");
	expect_file_error("engine = {\n buffer_ring_entries = 65536;\n};", 2,
	                  "engine.buffer_ring_entries: expected a power of two 16..32768, got 65536");
	expect_file_error("log = {\n rate_limit = -5;\n};", 2,
	                  "log.rate_limit: expected an integer 0..1000000, got -5");
	/* bool */
	expect_file_error("engine = {\n pin = 1;\n};", 2, "engine.pin: expected true or false, got 1");
	expect_file_error("engine = {\n pin = \"sometimes\";\n};", 2,
	                  "engine.pin: expected true or false, got \"sometimes\"");
	/* enum */
	expect_file_error("engine = {\n backend = \"kqueue\";\n};", 2,
	                  "engine.backend: expected one of \"auto\", \"io_uring\", \"epoll\", got \"kqueue\"");
	expect_file_error("tls = {\n min_version = 1.1;\n};", 2,
	                  "tls.min_version: expected one of \"1.2\", \"1.3\", got 1.1");
	expect_file_error("log = {\n format = true;\n};", 2,
	                  "log.format: expected one of \"text\", \"json\", got true");
	/* string */
	expect_file_error("msrps = {\n cert = 5;\n};", 2, "msrps.cert: expected a string, got 5");
	expect_file_error("msrps = {\n cert = [ \"a\" ];\n};", 2,
	                  "msrps.cert: expected a string, got a list");
	/* lists: the line of the key, the index of the element */
	expect_file_error("api = {\n listen = [\n  \"a:1\",\n  \"\"\n ];\n};", 2,
	                  "api.listen: expected a list of non-empty strings, got \"\" at index 1");
	expect_file_error("api = {\n listen = ( \"a:1\",\n 8080 );\n};", 2,
	                  "api.listen: expected a list of non-empty strings, got 8080 at index 1");
	expect_file_error("api = {\n listen = 8080;\n};", 2,
	                  "api.listen: expected a list of non-empty strings, got 8080");
	expect_file_error("api = {\n listen = { a = 1; };\n};", 2,
	                  "api.listen: expected a list of non-empty strings, got a group");
	/* sizes and durations */
	expect_file_error("engine = {\n buffer_size = \"16q\";\n};", 2,
	                  "engine.buffer_size: expected a size 4096..1048576 bytes (or with a unit: "
	                  "16k, 4M, 1G), got \"16q\"");
	expect_file_error("engine = {\n buffer_size = \"2M\";\n};", 2, "got \"2M\"");
	expect_file_error("engine = {\n buffer_size = 100;\n};", 2, "got 100");
	expect_file_error("engine = {\n buffer_size = \" 16k\";\n};", 2, "got \" 16k\"");
	expect_file_error("engine = {\n buffer_size = \"k\";\n};", 2, "got \"k\"");
	expect_file_error("engine = {\n buffer_size = \"-16k\";\n};", 2, "got \"-16k\"");
	expect_file_error("engine = {\n sendq_high = \"99999999999999999999k\";\n};", 2,
	                  "got \"99999999999999999999k\"");
	expect_file_error("engine = {\n sendq_high = \"9000000000G\";\n};", 2, "got \"9000000000G\"");
	expect_file_error("engine = {\n drain_timeout = \"2h\";\n};", 2,
	                  "engine.drain_timeout: expected a duration 0..3600000 ms (or with a unit: "
	                  "500ms, 30s, 5m, 1h), got \"2h\"");
	expect_file_error("engine = {\n drain_timeout = \"10 s\";\n};", 2, "got \"10 s\"");
	expect_file_error("engine = {\n drain_timeout = \"3d\";\n};", 2, "got \"3d\"");
	expect_file_error("engine = {\n drain_timeout = -1;\n};", 2, "got -1");
}

Test(config, error_long_or_binary_value_is_quoted_and_cut)
{
	expect_file_error("engine = {\n backend = \"\\x01\\\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\";\n};",
	                  2, "got \"\\x01\\\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...\"");
}

Test(config, watermarks)
{
	struct cm_config c;
	char path[64], err[512], want[256];
	char *env_low[] = { "RCSGW_ENGINE_SENDQ_LOW=1M", NULL };

	/* low >= high: the low watermark is blamed where it was set */
	cr_assert_eq(load(&c, "engine = {\n sendq_high = \"64k\";\n sendq_low = \"64k\";\n};\n", NULL,
	                  path, err, sizeof(err)), -1);
	snprintf(want, sizeof(want),
	         "%s:3: engine.sendq_low: 65536 must be below engine.sendq_high (65536)", path);
	cr_expect_str_eq(err, want);
	/* only the high one set, under the default low: it is the one blamed */
	cr_assert_eq(load(&c, "engine = {\n\n sendq_high = 8192;\n};\n", NULL, path, err,
	                  sizeof(err)), -1);
	snprintf(want, sizeof(want),
	         "%s:3: engine.sendq_high: 8192 must be above engine.sendq_low (65536)", path);
	cr_expect_str_eq(err, want);
	/* from the environment */
	expect_env_error(env_low, "environment RCSGW_ENGINE_SENDQ_LOW: 1048576 must be below "
	                          "engine.sendq_high (262144)");
	/* just below is fine */
	cr_assert_eq(load(&c, "engine = { sendq_high = 65537; };\n", NULL, path, err, sizeof(err)), 0,
	             "%s", err);
	cm_config_free(&c);
}

Test(config, msrps_rules)
{
	char *no_cert[] = { "RCSGW_MSRPS_LISTEN=0.0.0.0:2856", NULL };
	char *no_ca[] = { "RCSGW_MSRPS_VERIFY_CLIENT=true", NULL };
	char *ok[] = { "RCSGW_MSRPS_LISTEN=0.0.0.0:2856", "RCSGW_MSRPS_CERT=c", "RCSGW_MSRPS_KEY=k",
	               NULL };
	struct cm_config c;
	char err[512];

	expect_env_error(no_cert, "environment RCSGW_MSRPS_LISTEN: msrps.cert and msrps.key are "
	                          "required when msrps.listen is set");
	expect_env_error(no_ca, "environment RCSGW_MSRPS_VERIFY_CLIENT: msrps.ca is required when "
	                        "msrps.verify_client is true");
	cr_assert_eq(cm_config_load_env(&c, NULL, ok, err, sizeof(err)), 0, "%s", err);
	cm_config_free(&c);
}

Test(config, sip_rules)
{
	char *bad_tp[] = { "RCSGW_SIP_LISTEN=sctp:0.0.0.0:5060", NULL };
	char *no_cert[] = { "RCSGW_SIP_LISTEN=udp:0.0.0.0:5060,tls:0.0.0.0:5061", NULL };
	char *t1t2[] = { "RCSGW_SIP_T1=5s", NULL };
	char *creds[] = { "RCSGW_SIP_CREDENTIALS=realm:user:pw,nouser", NULL };
	char *relay[] = { "RCSGW_UA_RELAY=msrp://r.example:2855;tcp", NULL };
	char *rule[] = { "RCSGW_GATEWAY_RULES=domain:a.example,host:b", NULL };
	char *ok[] = { "RCSGW_SIP_LISTEN=tls:0.0.0.0:5061", "RCSGW_SIP_TLS_CERT=c",
	               "RCSGW_SIP_TLS_KEY=k", "RCSGW_SIP_CREDENTIALS=*:u:p:w:", NULL };
	struct cm_config c;
	char err[512];

	expect_env_error(bad_tp, "environment RCSGW_SIP_LISTEN: element 0: expected udp:, tcp: or "
	                         "tls: then host:port, got \"sctp:0.0.0.0:5060\"");
	expect_env_error(no_cert, "environment RCSGW_SIP_LISTEN: sip.tls_cert and sip.tls_key are "
	                          "required for tls:0.0.0.0:5061");
	expect_env_error(t1t2, "environment RCSGW_SIP_T1: 5000 must be below sip.t2 (4000)");
	expect_env_error(creds, "environment RCSGW_SIP_CREDENTIALS: element 1: expected "
	                        "\"realm:user:password\"");
	expect_env_error(relay, "environment RCSGW_UA_RELAY: ua.relay_user and ua.relay_password "
	                        "are required with ua.relay");
	expect_env_error(rule, "environment RCSGW_GATEWAY_RULES: element 1: expected domain:, "
	                       "prefix:, header: or feature: and a value, got \"host:b\"");
	cr_assert_eq(cm_config_load_env(&c, NULL, ok, err, sizeof(err)), 0, "%s", err);
	cm_config_free(&c);
}

Test(config, msrp_ws_rules)
{
	char *wss_no_cert[] = { "RCSGW_MSRP_WSS_LISTEN=0.0.0.0:8443", NULL };
	char *small_msg[] = { "RCSGW_MSRP_WS_MAX_MESSAGE=16k", NULL };
	char *big_head[] = { "RCSGW_MSRP_MAX_HEAD=1M", NULL };
	char *ok[] = { "RCSGW_MSRP_WSS_LISTEN=0.0.0.0:8443", "RCSGW_MSRPS_CERT=c",
	               "RCSGW_MSRPS_KEY=k", "RCSGW_MSRP_WS_LISTEN=127.0.0.1:8081",
	               "RCSGW_MSRP_WS_MAX_MESSAGE=17k", NULL };
	struct cm_config c;
	char err[512];

	cr_expect_eq(cm_config_load_env(&c, NULL, (char *[]){ NULL }, err, sizeof(err)), 0);
	cr_expect_eq(c.msrp.ws_listen.n, 0);
	cr_expect_eq(c.msrp.wss_listen.n, 0);
	cr_expect_eq(c.msrp.ws_max_message, 1048576);
	cm_config_free(&c);
	expect_env_error(wss_no_cert, "environment RCSGW_MSRP_WSS_LISTEN: msrps.cert and msrps.key "
	                              "are required when msrp.wss_listen is set");
	/* a message must hold a whole head: the key that was set is blamed */
	expect_env_error(small_msg, "environment RCSGW_MSRP_WS_MAX_MESSAGE: 16384 must be above "
	                            "msrp.max_head (16384)");
	expect_env_error(big_head, "environment RCSGW_MSRP_MAX_HEAD: 1048576 must be below "
	                           "msrp.ws_max_message (1048576)");
	cr_assert_eq(cm_config_load_env(&c, NULL, ok, err, sizeof(err)), 0, "%s", err);
	cm_config_free(&c);
}

Test(config, chunk_and_expires_rules)
{
	char *big_chunk[] = { "RCSGW_MSRP_CHUNK_SIZE=64k", "RCSGW_MSRP_MAX_CHUNK=32k", NULL };
	char *short_max[] = { "RCSGW_RELAY_MAX_EXPIRES=10m", NULL };
	char *long_min[] = { "RCSGW_RELAY_MIN_EXPIRES=1h", NULL };
	char *ok[] = { "RCSGW_MSRP_CHUNK_SIZE=32k", "RCSGW_MSRP_MAX_CHUNK=32k",
	               "RCSGW_RELAY_MIN_EXPIRES=30m", "RCSGW_RELAY_MAX_EXPIRES=30m", NULL };
	struct cm_config c;
	char err[512];

	expect_env_error(big_chunk, "environment RCSGW_MSRP_CHUNK_SIZE: 65536 must not be above "
	                            "msrp.max_chunk (32768)");
	expect_env_error(short_max, "environment RCSGW_RELAY_MAX_EXPIRES: need relay.min_expires <= "
	                            "relay.default_expires <= relay.max_expires (60000 <= 1800000 "
	                            "<= 600000 ms)");
	expect_env_error(long_min, "environment RCSGW_RELAY_MIN_EXPIRES: need relay.min_expires <= "
	                           "relay.default_expires <= relay.max_expires (3600000 <= 1800000 "
	                           "<= 43200000 ms)");
	cr_assert_eq(cm_config_load_env(&c, NULL, ok, err, sizeof(err)), 0, "%s", err);
	cm_config_free(&c);
}

Test(config, short_error_buffer_is_safe)
{
	struct cm_config c;
	char path[64], err[8];

	memset(err, 'x', sizeof(err));
	cr_assert_eq(load(&c, "engine = { workers = \"lots\"; };", NULL, path, err, sizeof(err)), -1);
	cr_expect_eq(err[7], '\0');
	cr_assert_eq(load(&c, "engine = { workers = \"lots\"; };", NULL, path, NULL, 100), -1);
}

/* ---- the sample and the dump --------------------------------------------------------- */

Test(config, sample_documents_and_sets_every_key)
{
	size_t n;
	const struct cm_config_key *k = cm_config_schema(&n);
	config_t lc;
	char name[128], path[128];
	FILE *f = fopen(SAMPLE, "r");
	char *text = NULL;
	size_t cap = 0;

	cr_assert(f, SAMPLE " not found: run the tests from the repository root");
	cr_assert_gt(getdelim(&text, &cap, '\0', f), 0);
	fclose(f);

	config_init(&lc);
	cr_assert(config_read_file(&lc, SAMPLE), "%s:%d: %s", SAMPLE, config_error_line(&lc),
	          config_error_text(&lc));
	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s.%s", k[i].section, k[i].key);
		cr_expect(config_lookup(&lc, path) != NULL, SAMPLE " does not set %s", path);
		cm_config_env_name(&k[i], name, sizeof(name));
		cr_expect(strstr(text, name) != NULL, SAMPLE " does not name %s", name);
	}
	config_destroy(&lc);
	free(text);
}

Test(config, sample_shows_the_defaults)
{
	struct cm_config def, sample;
	char err[512];

	cr_assert_eq(cm_config_load_env(&sample, SAMPLE, NULL, err, sizeof(err)), 0, "%s", err);
	cm_config_defaults(&def);
	char *a = dump_str(&def), *b = dump_str(&sample);
	cr_expect_str_eq(b, a, "the values of " SAMPLE " differ from the embedded defaults");
	free(a);
	free(b);
	cm_config_free(&def);
	cm_config_free(&sample);
}

Test(config, dump_reads_back_the_same)
{
	struct cm_config c, back;
	char path[64], err[512];
	char *env[] = { "RCSGW_ENGINE_WORKERS=12", "RCSGW_MSRPS_CERT=/a \"quoted\"\\path\t.pem",
	                "RCSGW_MSRPS_KEY=k", "RCSGW_MSRPS_LISTEN=0.0.0.0:1,0.0.0.0:2",
	                "RCSGW_LOG_FORMAT=json", "RCSGW_ENGINE_DRAIN_TIMEOUT=90s",
	                "RCSGW_ENGINE_BACKEND=epoll", "RCSGW_ENGINE_PIN=false", NULL };

	cr_assert_eq(cm_config_load_env(&c, NULL, env, err, sizeof(err)), 0, "%s", err);
	char *a = dump_str(&c);
	cr_expect(strstr(a, "engine = {\n") != NULL, "%s", a);
	cr_expect(strstr(a, "\tworkers = 12;\n") != NULL, "%s", a);
	cr_expect(strstr(a, "\tdrain_timeout = 90000; # ms\n") != NULL, "%s", a);
	cr_expect(strstr(a, "\tlisten = [ \"0.0.0.0:1\", \"0.0.0.0:2\" ];\n") != NULL, "%s", a);
	cr_expect(strstr(a, "\ttokens = [ ];\n") != NULL, "%s", a);
	cr_assert_eq(load(&back, a, NULL, path, err, sizeof(err)), 0, "%s\n%s", err, a);
	cr_expect_str_eq(back.msrps.cert, "/a \"quoted\"\\path\t.pem");
	char *b = dump_str(&back);
	cr_expect_str_eq(b, a);
	free(a);
	free(b);
	cm_config_free(&c);
	cm_config_free(&back);
}

Test(config, dump_redacts_tokens)
{
	struct cm_config c;
	char err[512];
	char *env[] = { "RCSGW_API_TOKENS=hunter2,swordfish", NULL };

	cr_assert_eq(cm_config_load_env(&c, NULL, env, err, sizeof(err)), 0, "%s", err);
	char *a = dump_str(&c);
	cr_expect_null(strstr(a, "hunter2"));
	cr_expect_null(strstr(a, "swordfish"));
	cr_expect(strstr(a, "\ttokens = [ \"<redacted>\", \"<redacted>\" ];\n") != NULL, "%s", a);
	free(a);
	cm_config_free(&c);
}

Test(config, dump_reports_write_errors)
{
	struct cm_config c;
	FILE *f = fopen("/dev/full", "w");

	if (!f)
		cr_skip_test("no /dev/full");
	setvbuf(f, NULL, _IONBF, 0);
	cm_config_defaults(&c);
	cr_expect_eq(cm_config_dump(&c, f), -EIO);
	fclose(f);
	cm_config_free(&c);
}

Test(config, sni_certs_format)
{
	struct cm_config c;
	char err[512];
	char *bad[] = { "RCSGW_MSRPS_SNI_CERTS=alt.example.com:/only-cert.pem", NULL };
	cr_expect_eq(cm_config_load_env(&c, NULL, bad, err, sizeof(err)), -1);
	cr_expect(strstr(err, "RCSGW_MSRPS_SNI_CERTS") || strstr(err, "msrps.sni_certs"), "%s", err);
	cr_expect(strstr(err, "name:cert.pem:key.pem"), "%s", err);
	char *good[] = { "RCSGW_MSRPS_SNI_CERTS=a.example:/a.pem:/a.key,b.example:/b.pem:/b.key", NULL };
	cr_assert_eq(cm_config_load_env(&c, NULL, good, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(c.msrps.sni_certs.n, 2);
	cm_config_free(&c);
}

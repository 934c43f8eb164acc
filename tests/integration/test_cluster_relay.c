/* test_cluster_relay.c — the MSRP relay in a cluster (issue 8): two relay nodes on one
 * redis-server, the independent test client (tests/lib/msrp_client) as their clients. A
 * session's binding is written to Redis (a RelayBinding: its id, user and Expires, owned by
 * the node that gave it); when that node is killed with -9, its client AUTHs at another
 * node naming the URI it had and gets the same session back (taken over at epoch 2), and
 * frames reach it there; another user naming that URI gets a session of its own. Run with
 * --jobs 1. */
#include <criterion/criterion.h>
#include <errno.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "msrp/msrp_id.h"
#include "shards/session.pb-c.h"
#include "tests/lib/msrp_client.h"
#include "tests/lib/rcsgw_proc.h"
#include "tests/lib/redis_srv.h"

#define REALM "relay.test"
#define IO_MS 3000
#define URI_A "msrp://127.0.0.1:40001/aaaa1;tcp"
#define URI_C "msrp://127.0.0.1:40003/cccc3;tcp"

static struct redis_srv R = { .pid = -1 };
static char htfile[64];

struct rnode {
	pid_t pid;
	int port, api;
	char hostport[32], uri[64];
};
static struct rnode NA = { .pid = -1 }, NB = { .pid = -1 };
static struct msrp_client ca = { .fd = -1 }, cb = { .fd = -1 }, cc = { .fd = -1 };

static void down(void)
{
	mc_close(&ca);
	mc_close(&cb);
	mc_close(&cc);
	if (NA.pid > 0)
		rcsgw_stop(NA.pid, SIGKILL, 2000);
	if (NB.pid > 0) {
		int st = rcsgw_stop(NB.pid, SIGINT, 5000);
		cr_expect_eq(st, 0, "node b exited with %d", st);
	}
	NA.pid = NB.pid = -1;
	redis_srv_stop(&R);
	if (htfile[0])
		unlink(htfile);
}

TestSuite(cluster_relay, .fini = down, .timeout = 60);

/* Two users, as the htdigest tool writes them (hashes by md5sum). */
static void write_htdigest(void)
{
	char cmd[512];
	snprintf(htfile, sizeof(htfile), "/tmp/rcsgw-crelay-%d.htdigest", (int)getpid());
	snprintf(cmd, sizeof(cmd),
		 "for u in alice:wonderland bob:builder; do n=${u%%%%:*}; p=${u#*:}; "
		 "printf '%%s:%%s:%%s\\n' $n " REALM " $(printf '%%s' \"$n:" REALM ":$p\" | "
		 "md5sum | cut -d' ' -f1); done > %s", htfile);
	cr_assert_eq(system(cmd), 0, "cannot write %s", htfile);
}

static void start_node(struct rnode *n, const char *id)
{
	static char e[6][128];
	n->port = free_tcp_port();
	n->api = free_tcp_port();
	snprintf(n->hostport, sizeof(n->hostport), "127.0.0.1:%d", n->port);
	snprintf(n->uri, sizeof(n->uri), "msrp://127.0.0.1:%d;tcp", n->port);
	snprintf(e[0], sizeof(e[0]), "RCSGW_MSRP_LISTEN=%s", n->hostport);
	snprintf(e[1], sizeof(e[1]), "RCSGW_RELAY_CREDENTIALS_FILE=%s", htfile);
	snprintf(e[2], sizeof(e[2]), "RCSGW_API_LISTEN=127.0.0.1:%d", n->api);
	snprintf(e[3], sizeof(e[3]), "RCSGW_REDIS_URL=redis://127.0.0.1:%d", R.port);
	snprintf(e[4], sizeof(e[4]), "RCSGW_CLUSTER_NODE_ID=%s", id);
	const char *env[] = { e[0], e[1], e[2], e[3], e[4], "RCSGW_RELAY_REALM=" REALM,
			      "RCSGW_SIP_LISTEN=", "RCSGW_ENGINE_WORKERS=2",
			      "RCSGW_ENGINE_PIN=false", "RCSGW_LOG_LEVEL=warn",
			      "RCSGW_CLUSTER_HEARTBEAT_TTL=600ms", NULL };
	n->pid = rcsgw_spawn(env, NULL, NULL);
	cr_assert(n->pid > 0);
	cr_assert_eq(wait_port("127.0.0.1", n->port, 5000), 0, "the relay does not listen");
	cr_assert_eq(wait_port("127.0.0.1", n->api, 5000), 0, "the API does not listen");
}

static void up(void)
{
	if (!redis_srv_available())
		cr_skip_test("no redis-server (Debian package redis-server)");
	cr_assert_eq(redis_srv_start(&R, 0), 0, "redis-server did not start");
	write_htdigest();
	start_node(&NA, "relay-a");
	start_node(&NB, "relay-b");
}

/* AUTH on <c> (connected to <hp>) with To-Path <to> as <user>; the Use-Path into <up>. */
static void auth(struct msrp_client *c, const char *hp, const char *to, const char *client,
		 const char *user, const char *pass, char *up, size_t len)
{
	if (c->fd < 0) {
		int rc = mc_connect(c, hp, IO_MS);
		cr_assert_eq(rc, 0, "connect %s: %s", hp, strerror(-rc));
	}
	struct mc_auth a = { to, client, user, pass, 0 };
	struct mc_auth_result r;
	int rc = mc_auth(c, &a, &r, IO_MS);
	cr_assert_eq(rc, 0, "AUTH: %s", strerror(-rc));
	cr_assert_eq(r.status, 200, "AUTH ended with %d", r.status);
	snprintf(up, len, "%s", r.use_path);
}

/* The session-id of a Use-Path (between the last '/' and ';'). */
static void sid_of(const char *up, char *sid, size_t len)
{
	const char *s = strrchr(up, '/'), *e = s ? strchr(s, ';') : NULL;
	cr_assert(s && e, "a Use-Path: %s", up);
	snprintf(sid, len, "%.*s", (int)(e - s - 1), s + 1);
}

/* The relay record of <sid> and its owner (asserts it comes within 3 s when <want>). */
static Rcsgw__Session *record(const char *sid, char *owner, size_t olen, long long *epoch)
{
	return redis_srv_session(&R, sid, owner, olen, epoch);
}

static void wait_owner(const char *sid, const char *want, long long want_epoch)
{
	char owner[80] = "";
	long long epoch = -1;
	for (int i = 0; i < 60; i++) {
		Rcsgw__Session *s = record(sid, owner, sizeof(owner), &epoch);
		int ok = s && s->kind_case == RCSGW__SESSION__KIND_RELAY &&
			 !strcmp(s->relay->session_id, sid) && !strcmp(s->relay->user, "alice") &&
			 s->relay->expires_ms > 0 && !strcmp(owner, want) && epoch == want_epoch;
		if (s)
			rcsgw__session__free_unpacked(s, NULL);
		if (ok)
			return;
		usleep(50000);
	}
	cr_assert_fail("no relay record of %s owned by %s at epoch %lld (owner %s, epoch %lld)",
		       sid, want, want_epoch, owner, epoch);
}

static unsigned long metric(int api, const char *name)
{
	char url[96], cmd[256];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics", api);
	snprintf(cmd, sizeof(cmd), "curl -s %s | awk '$1 ~ /^%s/ {s += $2} END {print s+0}'", url,
		 name);
	FILE *p = popen(cmd, "r");
	unsigned long v = 0;
	if (p) {
		if (fscanf(p, "%lu", &v) != 1)
			v = 0;
		pclose(p);
	}
	return v;
}

/* bob AUTHs at B (on cb) naming session <sid>'s URI: he gets a session of his own. */
static void bob_names(const char *sid)
{
	char to[256], up[1024], got[64];
	snprintf(to, sizeof(to), "msrp://127.0.0.1:%d/%s;tcp", NB.port, sid);
	auth(&cb, NB.hostport, to, "msrp://127.0.0.1:40002/bbbb2;tcp", "bob", "builder", up,
	     sizeof(up));
	sid_of(up, got, sizeof(got));
	cr_expect_str_neq(got, sid);
}

Test(cluster_relay, a_client_binds_again_at_another_node_after_its_node_died, .timeout = 90)
{
	up();
	char up_a[1024], up_a2[1024], up_c[1024], sid[64], sid2[64], to[256];
	auth(&ca, NA.hostport, NA.uri, URI_A, "alice", "wonderland", up_a, sizeof(up_a));
	sid_of(up_a, sid, sizeof(sid));
	wait_owner(sid, "relay-a", 1);

	/* node A dies with its connections; its heartbeat expires */
	cr_expect_eq(rcsgw_stop(NA.pid, SIGKILL, 2000), 128 + SIGKILL);
	NA.pid = -1;
	mc_close(&ca);
	usleep(900 * 1000);

	/* another user naming that URI first gets a session of his own, and alice's record is
	 * left as it was (looked at, not taken) */
	bob_names(sid);
	wait_owner(sid, "relay-a", 1);
	mc_close(&cb);
	snprintf(to, sizeof(to), "msrp://127.0.0.1:%d/%s;tcp", NB.port, sid);

	/* the client binds again at B naming the URI it had (B's address: the nodes of a real
	 * cluster share one) */
	auth(&ca, NB.hostport, to, URI_A, "alice", "wonderland", up_a2, sizeof(up_a2));
	sid_of(up_a2, sid2, sizeof(sid2));
	cr_expect_str_eq(sid2, sid, "the same session: %s", up_a2);
	wait_owner(sid, "relay-b", 2);
	cr_expect_eq(metric(NB.api, "rcsgw_relay_resumed_total"), 1);

	/* it works: C (another client of B) sends to A through both sessions */
	auth(&cc, NB.hostport, NB.uri, URI_C, "bob", "builder", up_c, sizeof(up_c));
	char tp[2304];
	snprintf(tp, sizeof(tp), "%s %s %s", up_c, up_a2, URI_A);
	struct mc_send s = { .to_path = tp, .from_path = URI_C, .message_id = "resumed1",
			     .content_type = "text/plain", .body = "after the death", .body_len = 15 };
	cr_assert_eq(mc_send_send(&cc, "tresume1", &s), 0);
	struct mc_frame *f = malloc(sizeof(*f));
	cr_assert(f);
	int rc;
	do { /* C's 200 comes too; A gets the SEND */
		rc = mc_read_frame(&ca, f, IO_MS);
	} while (rc == 0 && !f->is_request);
	cr_assert_eq(rc, 0, "A got nothing: %s", strerror(-rc));
	cr_expect_str_eq(f->method, "SEND");
	cr_expect(f->body_len == 15 && !memcmp(f->body, "after the death", 15));
	cr_expect_str_eq(mc_header(f, "To-Path"), URI_A);

	/* bob naming alice's URI gets a session of his own */
	bob_names(sid);
	wait_owner(sid, "relay-b", 2); /* alice's stays as it was */

	/* A's connection goes: its session ends, its ownership is let go */
	mc_close(&ca);
	char owner[80] = "x";
	long long epoch;
	for (int i = 0; i < 60 && owner[0]; i++) {
		usleep(50000);
		Rcsgw__Session *r = record(sid, owner, sizeof(owner), &epoch);
		if (r)
			rcsgw__session__free_unpacked(r, NULL);
	}
	cr_expect(!owner[0], "released: %s", owner);
	free(f);
}

/* The next request on <c> (responses passed over) into <f>. */
static void next_request(struct msrp_client *c, struct mc_frame *f)
{
	int rc;
	do
		rc = mc_read_frame(c, f, IO_MS);
	while (rc == 0 && !f->is_request);
	cr_assert_eq(rc, 0, "no request: %s", strerror(-rc));
}

/* Cross-node routing (issue 8): a peer that reaches node B (a balancer in front of the
 * nodes) sends to the client of a session that node A holds: B passes the frame on to A
 * through Redis, in pieces of 64 KiB at most; the peer's 200 comes once A took it; a failure
 * REPORT that A sends later comes back to the peer's connection at B; a session nobody owns
 * is 481. */
Test(cluster_relay, frames_at_another_node_reach_the_owners_client, .timeout = 90)
{
	up();
	char up_a[1024], sid[64], tp[1200];
	auth(&ca, NA.hostport, NA.uri, URI_A, "alice", "wonderland", up_a, sizeof(up_a));
	sid_of(up_a, sid, sizeof(sid));
	wait_owner(sid, "relay-a", 1);
	int rc = mc_connect(&cc, NB.hostport, IO_MS); /* the peer, at B */
	cr_assert_eq(rc, 0);
	struct mc_frame *f = malloc(sizeof(*f));
	cr_assert(f);
	snprintf(tp, sizeof(tp), "%s %s", up_a, URI_A);

	/* one message: the peer's 200, A gets it with the relay's URI first in From-Path */
	struct mc_send s = { .to_path = tp, .from_path = URI_C, .message_id = "xnode1",
			     .content_type = "text/plain", .body = "hello across", .body_len = 12 };
	cr_assert_eq(mc_send_send(&cc, "txnode1", &s), 0);
	cr_assert_eq(mc_read_frame(&cc, f, IO_MS), 0);
	cr_expect(!f->is_request && f->status == 200, "the peer's answer: %d", f->status);
	next_request(&ca, f);
	struct mc_frame *g = malloc(sizeof(*g));
	cr_assert(g);
	cr_expect_eq(mc_read_frame(&cc, g, 300), -ETIMEDOUT, "one answer only: %s", g->buf);
	free(g);
	cr_expect(f->body_len == 12 && !memcmp(f->body, "hello across", 12));
	cr_expect_str_eq(mc_header(f, "To-Path"), URI_A);
	char fp[1200];
	snprintf(fp, sizeof(fp), "%s %s", up_a, URI_C);
	cr_expect_str_eq(mc_header(f, "From-Path"), fp);
	cr_assert_eq(mc_send_response(&ca, f, 200, NULL), 0);

	/* A refuses the next one: the failure REPORT reaches the peer at B */
	s.message_id = "xnode2";
	cr_assert_eq(mc_send_send(&cc, "txnode2", &s), 0);
	next_request(&ca, f);
	cr_assert_eq(mc_send_response(&ca, f, 400, "not today"), 0);
	do
		rc = mc_read_frame(&cc, f, IO_MS);
	while (rc == 0 && !(f->is_request && !strcmp(f->method, "REPORT")));
	cr_assert_eq(rc, 0, "no REPORT at the peer: %s", strerror(-rc));
	cr_expect_str_eq(mc_header(f, "Message-ID"), "xnode2");
	cr_expect(strstr(mc_header(f, "Status"), "400") != NULL, "Status: %s",
		  mc_header(f, "Status"));

	/* 150 000 bytes in one chunk: they reach A in pieces that add up */
	size_t big = 150000, got = 0;
	char *frame = malloc(big + 2048), *body = malloc(big);
	cr_assert(frame && body);
	for (size_t i = 0; i < big; i++)
		body[i] = (char)('a' + i % 26);
	int hl = snprintf(frame, 2048, "MSRP txnode3 SEND\r\nTo-Path: %s\r\nFrom-Path: %s\r\n"
			  "Message-ID: xnode3\r\nByte-Range: 1-%zu/%zu\r\n"
			  "Content-Type: text/plain\r\n\r\n", tp, URI_C, big, big);
	memcpy(frame + hl, body, big);
	int tl = snprintf(frame + hl + big, 64, "\r\n-------txnode3$\r\n");
	cr_assert_eq(mc_send_raw(&cc, frame, (size_t)hl + big + (size_t)tl), 0);
	int pieces = 0, same = 1;
	while (got < big) {
		next_request(&ca, f);
		cr_assert_str_eq(mc_header(f, "Message-ID"), "xnode3");
		long start = atol(mc_header(f, "Byte-Range"));
		same &= start == (long)got + 1 && !memcmp(f->body, body + got, f->body_len);
		got += f->body_len;
		pieces++;
		cr_assert_eq(mc_send_response(&ca, f, 200, NULL), 0);
	}
	cr_expect_eq(got, big);
	cr_expect(same, "the pieces follow each other and carry the bytes sent");
	cr_expect_geq(pieces, 3, "pieces of 64 KiB at most: %d", pieces);
	cr_expect_eq(f->flag, '$');
	free(frame);
	free(body);

	/* a session of the cluster's form nobody owns: 481 */
	char none[64], tp2[1200];
	int shard = msrp_id_shard((cm_slice){ sid, strlen(sid) }, 2);
	cr_assert(shard >= 0);
	cr_assert_gt(msrp_id_session((unsigned)shard, none, sizeof(none)), 0);
	snprintf(tp2, sizeof(tp2), "msrp://127.0.0.1:%d/%s;tcp %s", NB.port, none, URI_A);
	s.to_path = tp2;
	s.message_id = "xnode4";
	cr_assert_eq(mc_send_send(&cc, "txnode4", &s), 0);
	do /* (the 200 of the big one first) */
		rc = mc_read_frame(&cc, f, IO_MS);
	while (rc == 0 && (f->is_request || strcmp(f->tid, "txnode4")));
	cr_assert_eq(rc, 0);
	cr_expect_eq(f->status, 481, "nobody's session: %d", f->status);
	cr_expect(metric(NB.api, "rcsgw_relay_forwarded_to_nodes_total") >= 5);
	cr_expect(metric(NA.api, "rcsgw_relay_forwarded_from_nodes_total") >= 5);
	free(f);
	int st = rcsgw_stop(NA.pid, SIGINT, 5000); /* a clean stop (sanitizers: nothing left) */
	NA.pid = -1;
	cr_expect_eq(st, 0, "node a exited with %d", st);
}

/* test_eng_profile.c — per-peer TCP profiles: the rule parser (good rules, every error), the
 * matcher (networks, ports, IPv6, mapped IPv4, first match), and the engine applying them on
 * both backends: a connect to a peer that never answers the SYN aborted at connect_timeout,
 * a connect to a no_new peer refused, the profile shown in eng_conn_info. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "engine/eng.h"
#include "engine/eng_profile.h"
#include "tests/lib/wait.h"

static struct eng_profile parse_ok(const char *rule)
{
	struct eng_profile p;
	char err[160] = "";
	cr_assert_eq(eng_profile_parse(rule, &p, err, sizeof(err)), 0, "%s: %s", rule, err);
	return p;
}

static void parse_bad(const char *rule, const char *why)
{
	struct eng_profile p;
	char err[160] = "";
	cr_expect_eq(eng_profile_parse(rule, &p, err, sizeof(err)), -EINVAL, "%s parsed", rule);
	cr_expect(strstr(err, why), "%s: \"%s\" does not say \"%s\"", rule, err, why);
}

Test(eng_profile, rules)
{
	struct eng_profile p = parse_ok("10.1.2.3/8:5061 connect_timeout=2s read_timeout=250ms "
					"max_frame=64k keepalive=1m no_new");
	cr_expect_eq(p.family, AF_INET);
	cr_expect_eq(p.prefix, 8);
	cr_expect_eq(p.addr[0], 10);
	cr_expect_eq(p.addr[1], 0, "host bits cleared");
	cr_expect_eq(p.port, 5061);
	cr_expect_eq(p.connect_timeout_ms, 2000);
	cr_expect_eq(p.read_timeout_ms, 250);
	cr_expect_eq(p.max_frame, 65536);
	cr_expect_eq(p.keepalive_s, 60);
	cr_expect(p.no_new);
	cr_expect_str_eq(p.text, "10.1.2.3/8:5061");

	p = parse_ok("  *  read_timeout=1500 ");
	cr_expect_eq(p.family, AF_UNSPEC);
	cr_expect_eq(p.read_timeout_ms, 1500, "a bare number is milliseconds");
	p = parse_ok("*:2855 max_frame=1M");
	cr_expect_eq(p.port, 2855);
	cr_expect_eq(p.max_frame, 1048576);
	p = parse_ok("192.0.2.7");
	cr_expect_eq(p.prefix, 32);
	p = parse_ok("2001:db8::1/32");
	cr_expect_eq(p.family, AF_INET6);
	cr_expect_eq(p.prefix, 32);
	cr_expect_eq(p.port, 0);
	cr_expect_eq(p.addr[15], 0);
	p = parse_ok("[2001:db8::1]:2855");
	cr_expect_eq(p.prefix, 128);
	cr_expect_eq(p.port, 2855);
	p = parse_ok("[::]/0:5060");
	cr_expect_eq(p.prefix, 0);

	parse_bad("", "empty");
	parse_bad("10.0.0.0/33", "prefix length");
	parse_bad("10.0.0.0/", "prefix length");
	parse_bad("10.0.0.300", "IPv4");
	parse_bad("[2001:db8::1", "]");
	parse_bad("[]:5", "not an address");
	parse_bad("10.0.0.1:0", "port");
	parse_bad("10.0.0.1:65536", "port");
	parse_bad("10.0.0.1:5x", "unexpected");
	parse_bad("* read_timeout", "read_timeout: expected a duration");
	parse_bad("* read_timeout=5h", "duration");
	parse_bad("* max_frame=5s", "size");
	parse_bad("* keepalive=500ms", "at least 1s");
	parse_bad("* keepalive=5000000000", "duration");
	parse_bad("* max_frame=4096m", "size");
	parse_bad("* linger=5", "unknown key");
	parse_bad("* no_new no_new", "twice");
	parse_bad("* read_timeout=1s read_timeout=2s", "twice");
	parse_bad(NULL, "no rule");
}

static struct sockaddr_storage addr(const char *ip, int port)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	if (strchr(ip, ':')) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		inet_pton(AF_INET6, ip, &a->sin6_addr);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		inet_pton(AF_INET, ip, &a->sin_addr);
	}
	return ss;
}

Test(eng_profile, first_match_wins)
{
	struct eng_profile v[5] = {
		parse_ok("10.1.0.0/16:5061 no_new"),
		parse_ok("10.0.0.0/8 keepalive=30s"),
		parse_ok("2001:db8::/32"),
		parse_ok("192.0.2.128/25"),
		parse_ok("*:2855"),
	};
	struct {
		const char *ip;
		int port;
		unsigned want;
	} cases[] = {
		{ "10.1.9.9", 5061, 1 },
		{ "10.1.9.9", 5060, 2 },  /* the port of rule 1 does not match */
		{ "10.200.0.1", 1, 2 },
		{ "11.0.0.1", 2855, 5 },
		{ "11.0.0.1", 2856, 0 },
		{ "2001:db8:ffff::1", 7, 3 },
		{ "2001:db9::1", 7, 0 },
		{ "::ffff:10.2.3.4", 9, 2 }, /* IPv4-mapped: the IPv4 rules */
		{ "192.0.2.200", 9, 4 },
		{ "192.0.2.100", 9, 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sockaddr_storage ss = addr(cases[i].ip, cases[i].port);
		cr_expect_eq(eng_profile_match(v, 5, &ss), cases[i].want, "%s:%d", cases[i].ip,
			     cases[i].port);
	}
	struct sockaddr_storage unix_ss = { .ss_family = AF_UNIX };
	cr_expect_eq(eng_profile_match(v, 5, &unix_ss), 0);
	struct sockaddr_storage any = addr("10.1.9.9", 5061);
	cr_expect_eq(eng_profile_match(v, 0, &any), 0);
}

/* ---- the engine with profiles ------------------------------------------------------------- */

static sem_t ev;
static int lfd = -1, lport;        /* a listener whose backlog is full: SYNs go unanswered */
static int call_rc, connect_err, close_err;
static struct eng_conn_info info;
static long long t_connect, t_closed;

static long long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void cli_connect(eng_conn *c, int err)
{
	(void)c;
	connect_err = err;
}

static void cli_close(eng_conn *c, int err)
{
	(void)c;
	close_err = err;
	t_closed = mono_ms();
	sem_post(&ev);
}

static const struct eng_conn_ops cli_ops = { .on_connect = cli_connect, .on_close = cli_close };

static void do_connect(eng_worker *w, void *arg, uint64_t port)
{
	char hp[32];
	eng_conn *c = NULL;
	(void)arg;
	snprintf(hp, sizeof(hp), "127.0.0.1:%d", (int)port);
	t_connect = mono_ms();
	call_rc = eng_connect(w, hp, NULL, NULL, &cli_ops, NULL, &c);
	if (call_rc == 0)
		eng_conn_info(c, &info);
	sem_post(&ev);
}

static struct eng_stats st;

static void do_stats(eng_worker *w, void *arg, uint64_t u)
{
	(void)arg;
	(void)u;
	eng_worker_stats(w, &st);
	sem_post(&ev);
}

/* Fills the backlog of a listener that never accepts, so that a further SYN is dropped. */
static void blackhole(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_eq(bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(listen(lfd, 0), 0);
	getsockname(lfd, (struct sockaddr *)&a, &len);
	lport = ntohs(a.sin_port);
	/* backlog 0 takes one connection (two on some kernels): fill it, non-blocking */
	for (int i = 0; i < 4; i++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		connect(fd, (struct sockaddr *)&a, sizeof(a));
	}
	usleep(100000);
}

static void run(enum eng_backend be)
{
	struct eng_config cfg;
	char err[200], rule_a[64], rule_b[64];

	blackhole();
	/* the blackhole's port: connect_timeout; port 9: no_new */
	snprintf(rule_a, sizeof(rule_a), "127.0.0.1:%d connect_timeout=700ms", lport);
	snprintf(rule_b, sizeof(rule_b), "127.0.0.1:9 no_new");
	struct eng_profile v[2] = { parse_ok(rule_a), parse_ok(rule_b) };
	sem_init(&ev, 0, 0);
	eng_config_defaults(&cfg);
	cfg.backend = be;
	cfg.workers = 1;
	cfg.pin = 0;
	cfg.profiles = v;
	cfg.nprofiles = 2;
	eng_engine *e = eng_create(&cfg, err, sizeof(err));
	cr_assert(e, "eng_create: %s", err);
	memset(v, 0, sizeof(v)); /* the engine has its copy */
	cr_assert_eq(eng_start(e, NULL, NULL), 0);

	cr_assert_eq(eng_post(eng_worker_at(e, 0), do_connect, NULL, (uint64_t)lport), 0);
	cr_assert_eq(sem_wait_ms(&ev, 5000), 0);
	cr_assert_eq(call_rc, 0);
	cr_expect_str_eq(info.state, "connecting");
	cr_expect_eq(info.profile, 1);
	cr_expect(info.outbound);
	cr_assert_eq(sem_wait_ms(&ev, 5000), 0, "the connect was not cut at its timeout");
	long long took = t_closed - t_connect;
	cr_expect(took >= 650 && took < 2000, "aborted after %lld ms, 700 wanted", took);
	cr_expect_eq(close_err, -ETIMEDOUT, "%s", strerror(-close_err));
	cr_expect_eq(connect_err, 0, "on_close tells, not on_connect: %d", connect_err);

	cr_assert_eq(eng_post(eng_worker_at(e, 0), do_connect, NULL, 9), 0);
	cr_assert_eq(sem_wait_ms(&ev, 5000), 0);
	cr_expect_eq(call_rc, -EPERM, "no_new: %d", call_rc);

	cr_assert_eq(eng_post(eng_worker_at(e, 0), do_stats, NULL, 0), 0);
	cr_assert_eq(sem_wait_ms(&ev, 5000), 0);
	cr_expect_eq(st.profile_timeouts, 1);
	cr_expect_eq(st.profile_refused, 1);
	eng_destroy(e);
	close(lfd);
}

Test(eng_profile, connect_timeout_and_no_new_io_uring, .timeout = 30) { run(ENG_BACKEND_IO_URING); }
Test(eng_profile, connect_timeout_and_no_new_epoll, .timeout = 30) { run(ENG_BACKEND_EPOLL); }

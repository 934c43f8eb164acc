/* test_dns.c — the per-worker c-ares resolver (engine/eng_dns.c) against a real dnsmasq on
 * 127.0.0.1, on both backends: A, AAAA, SRV, NAPTR, NXDOMAIN/NODATA, the TTL cache, a
 * truncated answer retried over TCP, timeouts against a silent server, malformed answers
 * from a lying one, 200 queries in flight, cancellation by eng_dns_free (from outside and
 * from inside a callback), and the RFC 2782 / RFC 3403 orderings.
 *
 * Each test starts its own dnsmasq (config written into a fresh temp dir, free port) and
 * stops it by pid in the fixture's fini; the child also dies with the test process
 * (PR_SET_PDEATHSIG). Without /usr/sbin/dnsmasq (package dnsmasq-base) the tests that need
 * it skip, saying so. Every wait is bounded. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "engine/eng.h"
#include "engine/eng_dns.h"
#include "tests/lib/wait.h"

#define DNSMASQ_DEFAULT "/usr/sbin/dnsmasq"
#define BIG_ADDRS 40           /* A records of big.test: > 512 bytes, so TC without EDNS */
#define MAXQ 256

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* ---- dnsmasq ------------------------------------------------------------------------- */

static struct {
	pid_t pid;
	int port;
	char dir[64];
	char conf[96];
	char log[96];
} dm = { .pid = -1 };

static const char *dnsmasq_path(void)
{
	const char *p = getenv("RCSGW_DNSMASQ");
	return p && *p ? p : DNSMASQ_DEFAULT;
}

/* A port free for both UDP and TCP on 127.0.0.1 right now. */
static int free_port(void)
{
	for (int tries = 0; tries < 20; tries++) {
		struct sockaddr_in a = { .sin_family = AF_INET };
		socklen_t al = sizeof(a);
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		int u = socket(AF_INET, SOCK_DGRAM, 0);
		if (u < 0)
			return -1;
		if (bind(u, (struct sockaddr *)&a, sizeof(a)) < 0 ||
		    getsockname(u, (struct sockaddr *)&a, &al) < 0) {
			close(u);
			return -1;
		}
		int t = socket(AF_INET, SOCK_STREAM, 0);
		int ok = t >= 0 && bind(t, (struct sockaddr *)&a, sizeof(a)) == 0;
		if (t >= 0)
			close(t);
		close(u);
		if (ok)
			return ntohs(a.sin_port);
	}
	return -1;
}

static int write_conf(int port)
{
	FILE *f = fopen(dm.conf, "w");
	if (!f)
		return -1;
	fprintf(f,
		"port=%d\n"
		"listen-address=127.0.0.1\n"
		"bind-interfaces\n"
		"no-resolv\n"
		"no-hosts\n"
		"local=/test/\n"
		"local-ttl=60\n"
		"address=/a.test/127.0.0.7\n"
		"host-record=v6.test,::7\n"
		"srv-host=_msrp._tcp.x.test,relay1.x.test,2855,10,60\n"
		"srv-host=_msrp._tcp.x.test,relay2.x.test,2855,20,40\n"
		"naptr-record=x.test,10,50,s,SIP+D2T,,_sip._tcp.x.test\n",
		port);
	for (int i = 1; i <= BIG_ADDRS; i++)
		fprintf(f, "address=/big.test/127.0.1.%d\n", i);
	if (geteuid() == 0)
		fprintf(f, "user=root\n");   /* else it drops to nobody and cannot write its pid */
	return fclose(f);
}

static int tcp_ready(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int s = socket(AF_INET, SOCK_STREAM, 0);
	if (s < 0)
		return 0;
	int ok = connect(s, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(s);
	return ok;
}

/* Removes the temp dir (dnsmasq keeps its open log file, now nameless). */
static void dm_clean_dir(void)
{
	if (dm.dir[0]) {
		unlink(dm.conf);
		unlink(dm.log);
		rmdir(dm.dir);
		dm.dir[0] = '\0';
	}
}

static void dm_stop(void)
{
	if (dm.pid > 0) {
		kill(dm.pid, SIGTERM);
		int st;
		uint64_t until = mono_ms() + 2000;
		while (waitpid(dm.pid, &st, WNOHANG) == 0) {
			if (mono_ms() > until) {
				kill(dm.pid, SIGKILL);
				waitpid(dm.pid, &st, 0);
				break;
			}
			sleep_ms(10);
		}
		dm.pid = -1;
	}
	dm_clean_dir();
}

/* Starts dnsmasq; 0 when it answers on dm.port. Skips the test when there is no binary. */
static int dm_start(void)
{
	const char *bin = dnsmasq_path();
	if (access(bin, X_OK) != 0)
		cr_skip_test("dnsmasq not found at %s (Debian package dnsmasq-base; "
			     "scripts/deps.sh installs it): DNS tests skipped", bin);
	snprintf(dm.dir, sizeof(dm.dir), "/tmp/rcsgw-dns-XXXXXX");
	if (!mkdtemp(dm.dir)) {
		dm.dir[0] = '\0';
		return -1;
	}
	snprintf(dm.conf, sizeof(dm.conf), "%s/dnsmasq.conf", dm.dir);
	snprintf(dm.log, sizeof(dm.log), "%s/dnsmasq.log", dm.dir);
	atexit(dm_stop);

	for (int attempt = 0; attempt < 3; attempt++) {
		int port = free_port();
		if (port < 0 || write_conf(port) < 0)
			return -1;
		pid_t parent = getpid();
		pid_t pid = fork();
		if (pid < 0)
			return -1;
		if (pid == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() != parent)
				_exit(127);
			int fd = open(dm.log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
			if (fd >= 0) {
				dup2(fd, 1);
				dup2(fd, 2);
				close(fd);
			}
			char conf_arg[128];
			snprintf(conf_arg, sizeof(conf_arg), "--conf-file=%s", dm.conf);
			execl(bin, "dnsmasq", "--no-daemon", conf_arg, (char *)NULL);
			_exit(127);
		}
		dm.pid = pid;
		dm.port = port;
		uint64_t until = mono_ms() + 5000;
		int st;
		while (mono_ms() < until) {
			if (waitpid(pid, &st, WNOHANG) == pid) {
				dm.pid = -1;   /* died (port taken meanwhile?): try another port */
				break;
			}
			if (tcp_ready(port)) {
				dm_clean_dir();   /* nothing is left behind if the test crashes */
				return 0;
			}
			sleep_ms(10);
		}
		if (dm.pid > 0) {
			kill(dm.pid, SIGKILL);
			waitpid(dm.pid, &st, 0);
			dm.pid = -1;
		}
	}
	return -1;
}

/* The log of a dnsmasq that did not come up. */
static void dm_dump_log(void)
{
	char buf[2048];
	FILE *f = dm.log[0] ? fopen(dm.log, "r") : NULL;
	if (!f)
		return;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	cr_log_info("dnsmasq log:\n%s", buf);
}

/* ---- a silent UDP server: takes queries and never answers ------------------------------- */

static int hole_fd = -1;

static int hole_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof(a);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	hole_fd = socket(AF_INET, SOCK_DGRAM, 0);
	cr_assert(hole_fd >= 0);
	cr_assert_eq(bind(hole_fd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(getsockname(hole_fd, (struct sockaddr *)&a, &al), 0);
	return ntohs(a.sin_port);
}

/* ---- a broken server: answers every query with a malformed answer section -------------- */

static int liar_fd = -1;
static pthread_t liar_thread;
static int liar_running;
static _Atomic int liar_quit;

/* Echoes the query back as a response (QR set, one answer announced) followed by a cut
 * resource record, for 5 s at most. */
static void *liar_main(void *arg)
{
	(void)arg;
	uint64_t until = mono_ms() + 5000;
	while (mono_ms() < until && !liar_quit) {
		struct pollfd pfd = { .fd = liar_fd, .events = POLLIN };
		if (poll(&pfd, 1, 50) != 1)
			continue;
		unsigned char buf[600];
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(liar_fd, buf, 512, 0, (struct sockaddr *)&from, &fl);
		if (n < 12)
			continue;
		buf[2] |= 0x80;                 /* QR: a response */
		buf[6] = 0;                     /* ANCOUNT = 1 */
		buf[7] = 1;
		static const unsigned char cut_rr[] = { 0xc0, 0x0c, 0x00, 0x01, 0x00 };
		memcpy(buf + n, cut_rr, sizeof(cut_rr));
		sendto(liar_fd, buf, (size_t)n + sizeof(cut_rr), 0, (struct sockaddr *)&from, fl);
	}
	return NULL;
}

static int liar_start(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof(a);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	liar_fd = socket(AF_INET, SOCK_DGRAM, 0);
	cr_assert(liar_fd >= 0);
	cr_assert_eq(bind(liar_fd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(getsockname(liar_fd, (struct sockaddr *)&a, &al), 0);
	cr_assert_eq(pthread_create(&liar_thread, NULL, liar_main, NULL), 0);
	liar_running = 1;
	return ntohs(a.sin_port);
}

static void liar_stop(void)
{
	liar_quit = 1;
	if (liar_running)
		pthread_join(liar_thread, NULL);
	liar_running = 0;
	if (liar_fd >= 0)
		close(liar_fd);
	liar_fd = -1;
}

/* ---- the engine, one worker, one resolver ------------------------------------------------ */

/* What a callback saw, copied out of the result. */
struct tq {
	int done;
	int status;
	int sync_rc;               /* eng_dns_query()'s own result */
	int wrong_thread;
	int inside_query;          /* ran inside eng_dns_query(): forbidden */
	int calls;
	unsigned seq;              /* order of completion */
	unsigned n;
	int cached, truncated;
	enum eng_dns_type type;
	char name[64];
	struct eng_dns_addr addrs[ENG_DNS_MAX_ADDRS];
	struct {
		uint16_t priority, weight, port;
		char target[64];
	} srv[8];
	struct {
		uint16_t order, preference;
		char flags[8], service[32], regexp[64], replacement[64];
	} naptr[4];
	uint64_t t0, t1;
	int free_in_cb;            /* the callback frees the resolver */
	int requery_rc;            /* eng_dns_query() from inside the callback */
	int requery;               /* ask for it */
};

static struct {
	enum eng_backend be;
	eng_engine *e;
	eng_worker *w;
	eng_dns *d;
	struct eng_dns_config cfg;
	char srv[2][64];
	const char *servers[2];
	char err[256];
	pthread_mutex_t mu;
	pthread_cond_t cv;
	unsigned seq;
	int in_query;
	struct tq q[MAXQ];
	struct tq extra[MAXQ];     /* queries made from callbacks */
	unsigned nextra;
} H = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

static void copy_str(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src ? src : "(null)");
}

static void on_result(eng_dns *d, int status, const struct eng_dns_result *res, void *arg);

static void on_result(eng_dns *d, int status, const struct eng_dns_result *res, void *arg)
{
	struct tq *t = arg;

	pthread_mutex_lock(&H.mu);
	t->calls++;
	t->status = status;
	t->wrong_thread |= eng_self() != H.w || d != H.d || !res;
	t->inside_query |= H.in_query;
	t->seq = ++H.seq;
	t->t1 = mono_ms();
	if (res) {
		t->n = res->n;
		t->cached = res->cached;
		t->truncated = res->truncated;
		t->type = res->type;
		copy_str(t->name, sizeof(t->name), res->name);
		for (unsigned i = 0; res->addrs && i < res->n && i < ENG_DNS_MAX_ADDRS; i++)
			t->addrs[i] = res->addrs[i];
		for (unsigned i = 0; res->srv && i < res->n && i < 8; i++) {
			t->srv[i].priority = res->srv[i].priority;
			t->srv[i].weight = res->srv[i].weight;
			t->srv[i].port = res->srv[i].port;
			copy_str(t->srv[i].target, sizeof(t->srv[i].target), res->srv[i].target);
		}
		for (unsigned i = 0; res->naptr && i < res->n && i < 4; i++) {
			t->naptr[i].order = res->naptr[i].order;
			t->naptr[i].preference = res->naptr[i].preference;
			copy_str(t->naptr[i].flags, sizeof(t->naptr[i].flags), res->naptr[i].flags);
			copy_str(t->naptr[i].service, sizeof(t->naptr[i].service),
				 res->naptr[i].service);
			copy_str(t->naptr[i].regexp, sizeof(t->naptr[i].regexp),
				 res->naptr[i].regexp);
			copy_str(t->naptr[i].replacement, sizeof(t->naptr[i].replacement),
				 res->naptr[i].replacement);
		}
	}
	pthread_mutex_unlock(&H.mu);

	if (t->requery && H.nextra < MAXQ) {
		struct tq *x = &H.extra[H.nextra++];
		x->t0 = mono_ms();
		x->sync_rc = eng_dns_query(d, "a.test", ENG_DNS_A, on_result, x);
		t->requery_rc = x->sync_rc;
		if (x->sync_rc < 0)
			x->done = 1;
	}
	if (t->free_in_cb) {
		eng_dns_free(d);
		H.d = NULL;
	}
	pthread_mutex_lock(&H.mu);
	t->done = 1;
	pthread_cond_broadcast(&H.cv);
	pthread_mutex_unlock(&H.mu);
}

/* Runs <fn>(<arg>) on the worker and waits for it (bounded). */
struct job {
	void (*fn)(void *arg);
	void *arg;
	sem_t done;
};

static void job_run(eng_worker *w, void *arg, uint64_t u64)
{
	struct job *j = arg;
	(void)w;
	(void)u64;
	j->fn(j->arg);
	sem_post(&j->done);
}


static int on_worker(void (*fn)(void *arg), void *arg)
{
	struct job j = { .fn = fn, .arg = arg };
	sem_init(&j.done, 0, 0);
	int rc = -1;
	for (int i = 0; i < 100 && rc < 0; i++) {
		rc = eng_post(H.w, job_run, &j, 0);
		if (rc < 0)
			sleep_ms(10);
	}
	if (rc < 0)
		return -1;
	rc = sem_wait_ms(&j.done, 10000);
	if (rc < 0) {
		/* <j> is still referenced by the worker: never return into a dead frame */
		cr_log_error("worker job did not finish within 10 s");
		abort();
	}
	sem_destroy(&j.done);
	return 0;
}

static void job_new(void *arg)
{
	(void)arg;
	H.d = eng_dns_new(H.w, &H.cfg, H.err, sizeof(H.err));
}

static void job_free(void *arg)
{
	(void)arg;
	eng_dns_free(H.d);
	H.d = NULL;
}

/* Engine with one worker on the test's backend (skips when io_uring is refused here). */
static void engine_start(void)
{
	struct eng_config cfg;
	char err[200];

	eng_config_defaults(&cfg);
	cfg.backend = H.be;
	cfg.workers = 1;
	cfg.pin = 0;
	cfg.bufs_max = 256;
	cfg.buf_ring_entries = 64;
	cfg.max_conns = 64;
	H.e = eng_create(&cfg, err, sizeof(err));
	if (!H.e && H.be == ENG_BACKEND_IO_URING)
		cr_skip_test("io_uring unavailable here: %s", err);
	cr_assert(H.e, "eng_create: %s", err);
	cr_assert_eq(eng_start(H.e, NULL, NULL), 0);
	H.w = eng_worker_at(H.e, 0);
}

/* The resolver with H.cfg (servers from H.srv). 0, or -1 with H.err. */
static int resolver_new(unsigned nservers)
{
	for (unsigned i = 0; i < nservers; i++)
		H.servers[i] = H.srv[i];
	H.cfg.servers = H.servers;
	H.cfg.nservers = nservers;
	cr_assert_eq(on_worker(job_new, NULL), 0);
	return H.d ? 0 : -1;
}

/* dnsmasq + engine + a resolver pointed at dnsmasq. */
static void start_all(void)
{
	if (dm_start() < 0) {
		dm_dump_log();
		cr_assert_fail("dnsmasq did not start (%s)", dnsmasq_path());
	}
	engine_start();
	snprintf(H.srv[0], sizeof(H.srv[0]), "127.0.0.1:%d", dm.port);
	cr_assert_eq(resolver_new(1), 0, "eng_dns_new: %s", H.err);
}

static void setup_common(enum eng_backend be)
{
	H.be = be;
	H.seq = 0;
	H.nextra = 0;
	memset(H.q, 0, sizeof(H.q));
	memset(H.extra, 0, sizeof(H.extra));
	eng_dns_config_defaults(&H.cfg);
	H.cfg.timeout_ms = 1000;
	H.cfg.tries = 2;
}

static void setup_uring(void) { setup_common(ENG_BACKEND_IO_URING); }
static void setup_epoll(void) { setup_common(ENG_BACKEND_EPOLL); }

static void teardown(void)
{
	if (H.e && H.d)
		on_worker(job_free, NULL);
	if (H.e)
		eng_destroy(H.e);
	H.e = NULL;
	H.w = NULL;
	dm_stop();
	if (hole_fd >= 0)
		close(hole_fd);
	hole_fd = -1;
	liar_stop();
}

/* ---- issuing queries -------------------------------------------------------------------- */

struct qjob {
	struct tq *t;
	const char *name;
	enum eng_dns_type type;
	unsigned count;            /* > 1: names "<i>.<name>" */
	char names[MAXQ][64];
};

static void job_query(void *arg)
{
	struct qjob *j = arg;
	for (unsigned i = 0; i < j->count; i++) {
		struct tq *t = &j->t[i];
		const char *name = j->name;
		if (j->count > 1) {
			snprintf(j->names[i], sizeof(j->names[i]), "h%u.%s", i, j->name);
			name = j->names[i];
		}
		t->t0 = mono_ms();
		H.in_query = 1;
		t->sync_rc = eng_dns_query(H.d, name, j->type, on_result, t);
		H.in_query = 0;
		if (t->sync_rc < 0) {
			pthread_mutex_lock(&H.mu);
			t->done = 1;
			pthread_mutex_unlock(&H.mu);
		}
	}
}

/* Waits until <n> tq from <t> are done; 0, or -1 after <ms>. */
static int wait_done(struct tq *t, unsigned n, int ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&H.mu);
	for (;;) {
		unsigned done = 0;
		for (unsigned i = 0; i < n; i++)
			done += t[i].done ? 1 : 0;
		if (done == n)
			break;
		if (pthread_cond_timedwait(&H.cv, &H.mu, &ts) == ETIMEDOUT) {
			pthread_mutex_unlock(&H.mu);
			return -1;
		}
	}
	pthread_mutex_unlock(&H.mu);
	return 0;
}

static struct qjob qj;

/* Issues <count> queries into H.q[from...] in one worker job. */
static void issue(unsigned from, const char *name, enum eng_dns_type type, unsigned count)
{
	qj.t = &H.q[from];
	qj.name = name;
	qj.type = type;
	qj.count = count;
	cr_assert_eq(on_worker(job_query, &qj), 0);
}

/* One query, waited for. */
static struct tq *ask(unsigned slot, const char *name, enum eng_dns_type type)
{
	issue(slot, name, type, 1);
	cr_assert_eq(wait_done(&H.q[slot], 1, 10000), 0, "no answer for %s %s", name,
		     eng_dns_type_name(type));
	struct tq *t = &H.q[slot];
	cr_assert_eq(t->sync_rc, 0, "eng_dns_query(%s): %s", name, strerror(-t->sync_rc));
	cr_assert_eq(t->calls, 1);
	cr_assert_not(t->wrong_thread);
	cr_assert_not(t->inside_query, "callback ran inside eng_dns_query");
	return t;
}

static void get_stats(void *arg)
{
	eng_dns_stats(H.d, arg);
}

static struct eng_dns_stats stats(void)
{
	struct eng_dns_stats st;
	memset(&st, 0, sizeof(st));
	cr_assert_eq(on_worker(get_stats, &st), 0);
	return st;
}

/* Each test body runs on io_uring and on epoll. */
#define DNS_TEST(name)                                                                     \
	static void name##_body(void);                                                     \
	Test(dns_io_uring, name, .init = setup_uring, .fini = teardown, .timeout = 60)     \
	{                                                                                  \
		name##_body();                                                             \
	}                                                                                  \
	Test(dns_epoll, name, .init = setup_epoll, .fini = teardown, .timeout = 60)        \
	{                                                                                  \
		name##_body();                                                             \
	}                                                                                  \
	static void name##_body(void)

/* ---- the tests ------------------------------------------------------------------------------ */

DNS_TEST(a_record_and_cache)
{
	char buf[64];

	start_all();
	struct tq *t = ask(0, "a.test", ENG_DNS_A);
	cr_assert_eq(t->status, 0, "a.test: %s", strerror(-t->status));
	cr_assert_eq(t->type, ENG_DNS_A);
	cr_assert_str_eq(t->name, "a.test");
	cr_assert_eq(t->n, 1);
	cr_assert_eq(t->addrs[0].family, AF_INET);
	cr_assert_str_eq(eng_dns_addr_str(&t->addrs[0], buf, sizeof(buf)), "127.0.0.7");
	cr_assert_eq(t->addrs[0].ttl, 60);
	cr_assert_eq(t->cached, 0);

	struct sockaddr_storage ss;
	socklen_t sl = eng_dns_addr_sockaddr(&t->addrs[0], 2855, &ss);
	cr_assert_eq(sl, sizeof(struct sockaddr_in));
	cr_assert_eq(ntohs(((struct sockaddr_in *)&ss)->sin_port), 2855);

	/* again, other case and a trailing dot: from the cache, no packet sent */
	struct eng_dns_stats st0 = stats();
	t = ask(1, "A.Test.", ENG_DNS_A);
	cr_assert_eq(t->status, 0);
	cr_assert_eq(t->cached, 1);
	cr_assert_eq(t->n, 1);
	cr_assert_str_eq(eng_dns_addr_str(&t->addrs[0], buf, sizeof(buf)), "127.0.0.7");
	cr_assert(t->addrs[0].ttl >= 59 && t->addrs[0].ttl <= 60, "ttl %u", t->addrs[0].ttl);
	cr_assert_str_eq(t->name, "A.Test.");
	struct eng_dns_stats st1 = stats();
	cr_assert_eq(st1.sent, st0.sent);
	cr_assert_eq(st1.cache_hits, st0.cache_hits + 1);
	cr_assert_eq(st1.cache_used, 1);
	cr_assert_eq(st1.pending, 0);
}

DNS_TEST(aaaa_record)
{
	char buf[64];

	start_all();
	struct tq *t = ask(0, "v6.test", ENG_DNS_AAAA);
	cr_assert_eq(t->status, 0, "v6.test: %s", strerror(-t->status));
	cr_assert_eq(t->n, 1);
	cr_assert_eq(t->addrs[0].family, AF_INET6);
	cr_assert_str_eq(eng_dns_addr_str(&t->addrs[0], buf, sizeof(buf)), "::7");
	cr_assert_eq(t->addrs[0].ttl, 60);
}

DNS_TEST(srv_records)
{
	start_all();
	struct tq *t = ask(0, "_msrp._tcp.x.test", ENG_DNS_SRV);
	cr_assert_eq(t->status, 0, "SRV: %s", strerror(-t->status));
	cr_assert_eq(t->n, 2);
	int seen1 = 0, seen2 = 0;
	for (unsigned i = 0; i < 2; i++) {
		cr_assert_eq(t->srv[i].port, 2855);
		if (!strcmp(t->srv[i].target, "relay1.x.test")) {
			seen1++;
			cr_assert_eq(t->srv[i].priority, 10);
			cr_assert_eq(t->srv[i].weight, 60);
		} else if (!strcmp(t->srv[i].target, "relay2.x.test")) {
			seen2++;
			cr_assert_eq(t->srv[i].priority, 20);
			cr_assert_eq(t->srv[i].weight, 40);
		} else {
			cr_assert_fail("unexpected SRV target %s", t->srv[i].target);
		}
	}
	cr_assert(seen1 == 1 && seen2 == 1);
	/* not cached (no TTL from c-ares 1.18's SRV parser): asked again on the wire */
	struct eng_dns_stats st0 = stats();
	t = ask(1, "_msrp._tcp.x.test", ENG_DNS_SRV);
	cr_assert_eq(t->status, 0);
	cr_assert_eq(t->cached, 0);
	cr_assert_eq(stats().sent, st0.sent + 1);
}

DNS_TEST(naptr_record)
{
	start_all();
	struct tq *t = ask(0, "x.test", ENG_DNS_NAPTR);
	cr_assert_eq(t->status, 0, "NAPTR: %s", strerror(-t->status));
	cr_assert_eq(t->n, 1);
	cr_assert_eq(t->naptr[0].order, 10);
	cr_assert_eq(t->naptr[0].preference, 50);
	cr_assert_str_eq(t->naptr[0].flags, "s");
	cr_assert_str_eq(t->naptr[0].service, "SIP+D2T");
	cr_assert_str_eq(t->naptr[0].regexp, "");
	cr_assert_str_eq(t->naptr[0].replacement, "_sip._tcp.x.test");
}

DNS_TEST(nxdomain_and_nodata)
{
	start_all();
	struct tq *t = ask(0, "nx.test", ENG_DNS_A);
	cr_assert_eq(t->status, -ENOENT, "NXDOMAIN: %d", t->status);
	cr_assert_eq(t->n, 0);
	t = ask(1, "v6.test", ENG_DNS_A);          /* the name exists, no A */
	cr_assert_eq(t->status, -ENOENT, "NODATA: %d", t->status);
	t = ask(2, "nosuch.x.test", ENG_DNS_SRV);
	cr_assert_eq(t->status, -ENOENT);
	t = ask(3, "x.test", ENG_DNS_A);           /* has NAPTR only */
	cr_assert_eq(t->status, -ENOENT);
	/* a name outside dnsmasq's zones: REFUSED (no upstream) */
	t = ask(4, "example.invalid", ENG_DNS_A);
	cr_assert_eq(t->status, -ECONNREFUSED, "REFUSED: %d", t->status);
	cr_assert_eq(stats().cache_used, 0);
}

DNS_TEST(truncated_answer_over_tcp)
{
	H.cfg.edns = 0;       /* 40 A records do not fit 512 bytes: TC, then TCP */
	start_all();
	struct tq *t = ask(0, "big.test", ENG_DNS_A);
	cr_assert_eq(t->status, 0, "big.test: %s", strerror(-t->status));
	cr_assert_eq(t->n, BIG_ADDRS);
	cr_assert_eq(t->truncated, 0);
	struct eng_dns_stats st = stats();
	cr_assert_geq(st.tcp_sockets, 1);
	/* more addresses than a cache entry holds: not cached */
	cr_assert_eq(st.cache_used, 0);
}

DNS_TEST(timeout_against_silent_server)
{
	engine_start();
	snprintf(H.srv[0], sizeof(H.srv[0]), "127.0.0.1:%d", hole_port());
	H.cfg.timeout_ms = 200;
	H.cfg.tries = 1;
	cr_assert_eq(resolver_new(1), 0, "eng_dns_new: %s", H.err);
	struct tq *t = ask(0, "a.test", ENG_DNS_A);
	uint64_t took = t->t1 - t->t0;
	cr_assert_eq(t->status, -ETIMEDOUT, "status %d", t->status);
	cr_assert(took >= 150 && took < 1500, "timed out after %llu ms",
		  (unsigned long long)took);
	struct eng_dns_stats st = stats();
	cr_assert_eq(st.timeouts, 1);
	cr_assert_eq(st.pending, 0);
}

DNS_TEST(malformed_answer_is_eproto)
{
	engine_start();
	snprintf(H.srv[0], sizeof(H.srv[0]), "127.0.0.1:%d", liar_start());
	H.cfg.edns = 0;             /* no OPT record in the query the liar echoes */
	H.cfg.tries = 1;
	cr_assert_eq(resolver_new(1), 0, "eng_dns_new: %s", H.err);
	struct tq *t = ask(0, "a.test", ENG_DNS_A);
	cr_assert_eq(t->status, -EPROTO, "status %d", t->status);
	cr_assert_eq(t->n, 0);
	t = ask(1, "_sip._udp.a.test", ENG_DNS_SRV);
	cr_assert_eq(t->status, -EPROTO, "status %d", t->status);
	t = ask(2, "a.test", ENG_DNS_NAPTR);
	cr_assert_eq(t->status, -EPROTO, "status %d", t->status);
	cr_assert_eq(stats().cache_used, 0);
}

DNS_TEST(second_server_after_silent_first)
{
	if (dm_start() < 0)
		cr_assert_fail("dnsmasq did not start");
	engine_start();
	snprintf(H.srv[0], sizeof(H.srv[0]), "127.0.0.1:%d", hole_port());
	snprintf(H.srv[1], sizeof(H.srv[1]), "127.0.0.1:%d", dm.port);
	H.cfg.timeout_ms = 200;
	H.cfg.tries = 1;
	cr_assert_eq(resolver_new(2), 0, "eng_dns_new: %s", H.err);
	struct tq *t = ask(0, "a.test", ENG_DNS_A);
	cr_assert_eq(t->status, 0, "status %d", t->status);
	cr_assert_eq(t->n, 1);
}

DNS_TEST(many_concurrent_queries)
{
	start_all();
	issue(0, "a.test", ENG_DNS_A, 200);
	cr_assert_eq(wait_done(H.q, 200, 20000), 0, "not all 200 answered in 20 s");
	for (unsigned i = 0; i < 200; i++) {
		struct tq *t = &H.q[i];
		cr_assert_eq(t->sync_rc, 0, "query %u: %s", i, strerror(-t->sync_rc));
		cr_assert_eq(t->calls, 1, "query %u: %d callbacks", i, t->calls);
		cr_assert_eq(t->status, 0, "query %u: %s", i, strerror(-t->status));
		cr_assert_eq(t->n, 1);
		cr_assert_eq(t->addrs[0].a.v4.s_addr, htonl(0x7f000007));
		cr_assert_not(t->wrong_thread);
		cr_assert_not(t->inside_query);
	}
	struct eng_dns_stats st = stats();
	cr_assert_eq(st.answers, 200);
	cr_assert_eq(st.pending, 0);
	cr_assert_eq(st.cache_used, 200);
}

struct free_check {
	unsigned owed;
	unsigned done_after;
	int requery_rc;
};

static void job_free_and_count(void *arg)
{
	struct free_check *fc = arg;
	eng_dns_free(H.d);
	H.d = NULL;
	pthread_mutex_lock(&H.mu);
	fc->done_after = 0;
	for (unsigned i = 0; i < fc->owed; i++)
		fc->done_after += H.q[i].done ? 1 : 0;
	pthread_mutex_unlock(&H.mu);
}

DNS_TEST(cancel_on_free)
{
	engine_start();
	snprintf(H.srv[0], sizeof(H.srv[0]), "127.0.0.1:%d", hole_port());
	H.cfg.timeout_ms = 5000;
	H.cfg.tries = 1;
	H.cfg.max_pending = 10;
	cr_assert_eq(resolver_new(1), 0, "eng_dns_new: %s", H.err);

	issue(0, "a.test", ENG_DNS_A, 10);
	for (unsigned i = 0; i < 10; i++)
		cr_assert_eq(H.q[i].sync_rc, 0);
	/* the 11th is refused: max_pending */
	issue(10, "a.test", ENG_DNS_A, 1);
	cr_assert_eq(H.q[10].sync_rc, -EAGAIN);
	cr_assert_eq(H.q[10].calls, 0);
	/* one callback asks again while being cancelled: refused */
	H.q[3].requery = 1;

	struct free_check fc = { .owed = 10 };
	cr_assert_eq(on_worker(job_free_and_count, &fc), 0);
	cr_assert_eq(fc.done_after, 10, "only %u of 10 callbacks ran before free returned",
		     fc.done_after);
	for (unsigned i = 0; i < 10; i++) {
		cr_assert_eq(H.q[i].calls, 1);
		cr_assert_eq(H.q[i].status, -ECANCELED, "query %u: %d", i, H.q[i].status);
		cr_assert_not(H.q[i].wrong_thread);
	}
	cr_assert_eq(H.q[3].requery_rc, -ECANCELED);
	/* nothing arrives later */
	sleep_ms(100);
	for (unsigned i = 0; i < 10; i++)
		cr_assert_eq(H.q[i].calls, 1);
}

/* q0 then q1..q5 in one go (q0's callback may free the resolver as soon as the job ends) */
static void job_six(void *arg)
{
	static const char *names[6] = { "a.test", "b1.a.test", "b2.a.test", "b3.a.test",
					"b4.a.test", "b5.a.test" };
	(void)arg;
	for (unsigned i = 0; i < 6; i++)
		H.q[i].sync_rc = eng_dns_query(H.d, names[i], ENG_DNS_A, on_result, &H.q[i]);
}

DNS_TEST(free_from_inside_a_callback)
{
	start_all();
	/* q0 answers first and frees the resolver; q1..q5 are cancelled, each called once */
	H.q[0].free_in_cb = 1;
	cr_assert_eq(on_worker(job_six, NULL), 0);
	for (unsigned i = 0; i < 6; i++)
		cr_assert_eq(H.q[i].sync_rc, 0);
	cr_assert_eq(wait_done(H.q, 6, 10000), 0);
	cr_assert_null(H.d);
	unsigned free_seq = H.q[0].seq;
	cr_assert_eq(H.q[0].status, 0);
	for (unsigned i = 0; i < 6; i++) {
		cr_assert_eq(H.q[i].calls, 1, "query %u: %d callbacks", i, H.q[i].calls);
		if (H.q[i].seq > free_seq)
			cr_assert_eq(H.q[i].status, -ECANCELED, "query %u: %d", i, H.q[i].status);
		else
			cr_assert_eq(H.q[i].status, 0);
	}
	sleep_ms(100);
	for (unsigned i = 0; i < 6; i++)
		cr_assert_eq(H.q[i].calls, 1);
}

DNS_TEST(query_from_inside_a_callback)
{
	start_all();
	H.q[0].requery = 1;
	struct tq *t = ask(0, "v6.test", ENG_DNS_AAAA);
	cr_assert_eq(t->status, 0);
	cr_assert_eq(t->requery_rc, 0);
	cr_assert_eq(wait_done(H.extra, 1, 10000), 0);
	cr_assert_eq(H.extra[0].calls, 1);
	cr_assert_eq(H.extra[0].status, 0);
	cr_assert_eq(H.extra[0].n, 1);
}

DNS_TEST(bad_arguments)
{
	engine_start();

	/* invalid server strings and bounds are refused with a message */
	static const char *bad[] = { "localhost", "1.2.3.4:0", "1.2.3.4:70000", "[::1",
				     "1.2.3.4:53x", "" };
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(H.srv[0], sizeof(H.srv[0]), "%s", bad[i]);
		cr_assert_eq(resolver_new(1), -1, "server \"%s\" accepted", bad[i]);
		cr_assert(strstr(H.err, "dns.servers"), "err: %s", H.err);
	}
	eng_dns_config_defaults(&H.cfg);
	H.cfg.tries = 0;
	cr_assert_eq(resolver_new(0), -1);
	cr_assert(strstr(H.err, "dns.tries"), "err: %s", H.err);

	/* good forms, IPv6 included */
	eng_dns_config_defaults(&H.cfg);
	snprintf(H.srv[0], sizeof(H.srv[0]), "[::1]:5353");
	snprintf(H.srv[1], sizeof(H.srv[1]), "::1");
	cr_assert_eq(resolver_new(2), 0, "eng_dns_new: %s", H.err);

	char longname[300];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	issue(0, longname, ENG_DNS_A, 1);
	cr_assert_eq(H.q[0].sync_rc, -EINVAL);
	issue(1, "", ENG_DNS_A, 1);
	cr_assert_eq(H.q[1].sync_rc, -EINVAL);
	issue(2, "a.test", (enum eng_dns_type)15, 1);
	cr_assert_eq(H.q[2].sync_rc, -EINVAL);
	sleep_ms(50);
	for (unsigned i = 0; i < 3; i++)
		cr_assert_eq(H.q[i].calls, 0);
}

/* ---- sorting (no server needed) ------------------------------------------------------------ */

Test(dns_sort, srv_priority_then_weight)
{
	unsigned seed = 12345;
	unsigned first60 = 0, zero_first = 0;
	const int rounds = 20000;

	for (int r = 0; r < rounds; r++) {
		struct eng_dns_srv recs[] = {
			{ .priority = 20, .weight = 0, .port = 1, .target = "c" },
			{ .priority = 10, .weight = 40, .port = 2, .target = "b" },
			{ .priority = 30, .weight = 5, .port = 3, .target = "d" },
			{ .priority = 10, .weight = 60, .port = 4, .target = "a" },
			{ .priority = 10, .weight = 0, .port = 5, .target = "z" },
		};
		eng_dns_srv_sort(recs, 5, &seed);
		cr_assert_eq(recs[0].priority, 10);
		cr_assert_eq(recs[1].priority, 10);
		cr_assert_eq(recs[2].priority, 10);
		cr_assert_str_eq(recs[3].target, "c");
		cr_assert_str_eq(recs[4].target, "d");
		if (!strcmp(recs[0].target, "a"))
			first60++;
		if (!strcmp(recs[0].target, "z"))
			zero_first++;
	}
	/* P(a first) = 60/101, P(z first) = 1/101 */
	double pa = (double)first60 / rounds;
	double pz = (double)zero_first / rounds;
	cr_assert(pa > 0.55 && pa < 0.64, "weight 60 first in %.3f of draws", pa);
	cr_assert(pz < 0.03, "weight 0 first in %.3f of draws", pz);
}

Test(dns_sort, srv_all_zero_weights_and_edge_sizes)
{
	unsigned seed = 7;
	eng_dns_srv_sort(NULL, 0, &seed);
	struct eng_dns_srv one = { .priority = 1, .target = "x" };
	eng_dns_srv_sort(&one, 1, &seed);
	cr_assert_str_eq(one.target, "x");
	struct eng_dns_srv recs[] = {
		{ .priority = 5, .target = "a" },
		{ .priority = 5, .target = "b" },
		{ .priority = 1, .target = "c" },
	};
	eng_dns_srv_sort(recs, 3, &seed);
	cr_assert_str_eq(recs[0].target, "c");
	cr_assert_eq(recs[1].priority, 5);
	cr_assert_eq(recs[2].priority, 5);
	cr_assert_neq(strcmp(recs[1].target, recs[2].target), 0);
}

Test(dns_sort, naptr_order_then_preference)
{
	struct eng_dns_naptr recs[] = {
		{ .order = 20, .preference = 10, .service = "d" },
		{ .order = 10, .preference = 50, .service = "b" },
		{ .order = 10, .preference = 10, .service = "a" },
		{ .order = 10, .preference = 50, .service = "c" },
	};
	eng_dns_naptr_sort(recs, 4);
	cr_assert_str_eq(recs[0].service, "a");
	cr_assert_str_eq(recs[1].service, "b");
	cr_assert_str_eq(recs[2].service, "c");
	cr_assert_str_eq(recs[3].service, "d");
}

/* engfwd.c — the bare TCP (or TLS) forwarder on the engine: the "physical limit" that the
 * relay benchmarks are read against, and a plumbing peer for integration tests.
 *
 *   engfwd --listen HOST:PORT --to HOST:PORT [--backend auto|io_uring|epoll] [--workers N]
 *          [--no-pin] [--sendq-high BYTES] [--sendq-low BYTES]
 *          [--tls-cert FILE --tls-key FILE] [--to-tls [--tls-ca FILE]]
 *
 * Each accepted connection gets an outbound one to --to on the same worker; bytes go both
 * ways without a copy (eng_send_buf) and a destination whose queue passes --sendq-high
 * pauses its source until it falls under --sendq-low. Bytes that arrive before the outbound
 * connect completes are queued on it. When either side closes, the other is closed after
 * what it was given is flushed.
 *
 * stdout: exactly one line once every worker listens:
 *   ready port=<bound port> backend=<io_uring|epoll> workers=<n>
 * SIGTERM / SIGINT: stop, then one stats line on stderr. Exit 0, 1 on a run-time failure,
 * 2 on bad arguments. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/lib/bench_args.h"
#include "bench/lib/bench_proc.h"
#include "common/cm_log.h"
#include "engine/eng.h"
#include "engine/eng_tls.h"

/* One forwarded connection: the accepted side and the outbound side, owned by one worker.
 * A side's pointer goes NULL when its on_close ran; the pair is freed when both did. */
struct fwd_pair {
	eng_conn *cli;             /* accepted from the client */
	eng_conn *srv;             /* connected to --to */
	struct fwd_worker *fw;
	struct fwd_pair *prev, *next; /* the worker's live list (freed at exit if still there) */
};

/* Per-worker state and counters; written by its worker only, read by main after join. */
struct fwd_worker {
	_Alignas(64) uint64_t conns;   /* client connections accepted */
	uint64_t connect_errors;       /* outbound connects that failed */
	uint64_t bytes_up;             /* client → --to */
	uint64_t bytes_down;           /* --to → client */
	uint64_t pauses;               /* sources paused by a full destination */
	uint64_t send_errors;          /* forwards refused (out of buffers) */
	struct fwd_pair *live;
	struct fwd_pair *free_pairs;
};

static struct {
	const char *listen;
	const char *to;
	struct eng_config cfg;
	eng_tls_ctx *tls_server;       /* for accepted connections (--tls-cert/--tls-key) */
	eng_tls_ctx *tls_client;       /* for outbound connections (--to-tls) */
	struct fwd_worker *fw;         /* one per worker */
	struct bench_listen bl;
} G;

/* ---- pairs ------------------------------------------------------------------------- */

static struct fwd_pair *pair_get(struct fwd_worker *fw)
{
	struct fwd_pair *p = fw->free_pairs;
	if (p)
		fw->free_pairs = p->next;
	else if (!(p = malloc(sizeof(*p))))
		return NULL;
	memset(p, 0, sizeof(*p));
	p->fw = fw;
	p->next = fw->live;
	if (fw->live)
		fw->live->prev = p;
	fw->live = p;
	return p;
}

static void pair_put(struct fwd_pair *p)
{
	struct fwd_worker *fw = p->fw;
	if (p->prev)
		p->prev->next = p->next;
	else
		fw->live = p->next;
	if (p->next)
		p->next->prev = p->prev;
	p->prev = NULL;
	p->next = fw->free_pairs;
	fw->free_pairs = p;
}

static void pairs_free(struct fwd_pair *p)
{
	while (p) {
		struct fwd_pair *n = p->next;
		free(p);
		p = n;
	}
}

/* ---- forwarding -------------------------------------------------------------------- */

/* Forwards <len> bytes of <b> from <src> to <dst> (zero-copy) and pauses <src> while
 * <dst> is above its high watermark. A destination that is closing refuses the bytes:
 * they are dropped, the pair is going away. */
static void forward(struct fwd_worker *fw, eng_conn *src, eng_conn *dst, eng_buf *b,
		    uint32_t off, uint32_t len)
{
	if (!dst)
		return;
	int rc = eng_send_buf(dst, b, off, len);
	if (rc == 1) {
		uint32_t was = src->flags & ENG_CF_BP;
		eng_conn_wait_writable(src, dst);
		if (!was && (src->flags & ENG_CF_BP))
			fw->pauses++;
	} else if (rc < 0 && rc != -EPIPE) {
		fw->send_errors++;
		CM_LOG_RL(CM_LOG_WARN, "forward: %s, closing the pair", strerror(-rc));
		eng_abort(src, rc);
	}
}

static void cli_recv(eng_conn *c, eng_buf *b, uint32_t off, uint32_t len)
{
	struct fwd_pair *p = c->udata;
	p->fw->bytes_up += len;
	forward(p->fw, c, p->srv, b, off, len);
}

static void srv_recv(eng_conn *c, eng_buf *b, uint32_t off, uint32_t len)
{
	struct fwd_pair *p = c->udata;
	p->fw->bytes_down += len;
	forward(p->fw, c, p->cli, b, off, len);
}

static void srv_connect(eng_conn *c, int err)
{
	struct fwd_pair *p = c->udata;
	if (err < 0) {
		p->fw->connect_errors++;
		CM_LOG_RL(CM_LOG_WARN, "connect %s: %s", G.to, strerror(-err));
	}
}

/* A side is gone: close the other one (it flushes what it was given first). <p> may be
 * freed inside eng_close() (the other side's on_close), so it is not touched after. */
static void cli_close(eng_conn *c, int err)
{
	struct fwd_pair *p = c->udata;
	(void)err;
	p->cli = NULL;
	if (p->srv)
		eng_close(p->srv);
	else
		pair_put(p);
}

static void srv_close(eng_conn *c, int err)
{
	struct fwd_pair *p = c->udata;
	(void)err;
	p->srv = NULL;
	if (p->cli)
		eng_close(p->cli);
	else
		pair_put(p);
}

static const struct eng_conn_ops cli_ops = {
	.on_recv = cli_recv,
	.on_close = cli_close,
};

static const struct eng_conn_ops srv_ops = {
	.on_recv = srv_recv,
	.on_connect = srv_connect,
	.on_close = srv_close,
};

static void on_accept(eng_listener *l, eng_conn *c)
{
	struct fwd_worker *fw = &G.fw[eng_worker_index(l->w)];
	struct fwd_pair *p = pair_get(fw);

	if (!p) {
		eng_close(c);
		return;
	}
	fw->conns++;
	/* outbound first: the client's bytes can only arrive once reading starts below */
	int rc = eng_connect(l->w, G.to, G.tls_client, NULL, &srv_ops, p, &p->srv);
	if (rc < 0) {
		fw->connect_errors++;
		CM_LOG_RL(CM_LOG_WARN, "connect %s: %s", G.to, strerror(-rc));
		p->srv = NULL;
		pair_put(p);
		eng_close(c);
		return;
	}
	p->cli = c;
	eng_conn_start(c, &cli_ops, p);
}

static void worker_init(eng_worker *w, void *arg)
{
	(void)arg;
	bench_listen_worker(&G.bl, w);
}

/* ---- command line ------------------------------------------------------------------ */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: engfwd --listen HOST:PORT --to HOST:PORT [--backend auto|io_uring|epoll]\n"
		"              [--workers N] [--no-pin] [--sendq-high BYTES] [--sendq-low BYTES]\n"
		"              [--tls-cert FILE --tls-key FILE] [--to-tls [--tls-ca FILE]]\n"
		"  --listen      where clients connect (port 0: the kernel picks; see the ready line)\n"
		"  --to          where each client connection is forwarded (numeric address)\n"
		"  --workers     worker threads (0 = one per CPU of the affinity set; default 0)\n"
		"  --no-pin      do not pin workers to CPUs\n"
		"  --sendq-high  queued bytes on a destination that pause its source (default %u)\n"
		"  --sendq-low   queued bytes under which the source resumes (default %u)\n"
		"  --tls-cert/--tls-key  accept TLS (PEM certificate chain and key)\n"
		"  --to-tls      connect to --to with TLS; --tls-ca verifies the server against\n"
		"                these CAs (without it the server is not verified)\n"
		"prints 'ready port=<port> backend=<name> workers=<n>' once listening; SIGTERM stops.\n",
		256 * 1024, 64 * 1024);
}

enum { OPT_LISTEN = 256, OPT_TO, OPT_BACKEND, OPT_WORKERS, OPT_NO_PIN, OPT_SQ_HIGH, OPT_SQ_LOW,
       OPT_TLS_CERT, OPT_TLS_KEY, OPT_TO_TLS, OPT_TLS_CA, OPT_HELP };

static const struct option long_opts[] = {
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "to", required_argument, NULL, OPT_TO },
	{ "backend", required_argument, NULL, OPT_BACKEND },
	{ "workers", required_argument, NULL, OPT_WORKERS },
	{ "no-pin", no_argument, NULL, OPT_NO_PIN },
	{ "sendq-high", required_argument, NULL, OPT_SQ_HIGH },
	{ "sendq-low", required_argument, NULL, OPT_SQ_LOW },
	{ "tls-cert", required_argument, NULL, OPT_TLS_CERT },
	{ "tls-key", required_argument, NULL, OPT_TLS_KEY },
	{ "to-tls", no_argument, NULL, OPT_TO_TLS },
	{ "tls-ca", required_argument, NULL, OPT_TLS_CA },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

static int bad(const char *opt, const char *val)
{
	fprintf(stderr, "engfwd: bad value for --%s: '%s'\n", opt, val);
	usage(stderr);
	return 2;
}

int main(int argc, char **argv)
{
	const char *tls_cert = NULL, *tls_key = NULL, *tls_ca = NULL;
	int to_tls = 0, sq_high_set = 0, sq_low_set = 0, opt;
	uint64_t v;
	char err[256];

	eng_config_defaults(&G.cfg);
	while ((opt = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		switch (opt) {
		case OPT_LISTEN:
			if (bench_check_hostport(optarg) < 0)
				return bad("listen", optarg);
			G.listen = optarg;
			break;
		case OPT_TO:
			if (bench_check_hostport(optarg) < 0)
				return bad("to", optarg);
			G.to = optarg;
			break;
		case OPT_BACKEND:
			if (bench_parse_backend(optarg, &G.cfg.backend) < 0)
				return bad("backend", optarg);
			break;
		case OPT_WORKERS:
			if (bench_parse_u64(optarg, 0, 0, 1024, &v) < 0)
				return bad("workers", optarg);
			G.cfg.workers = (unsigned)v;
			break;
		case OPT_NO_PIN:
			G.cfg.pin = 0;
			break;
		case OPT_SQ_HIGH:
			if (bench_parse_u64(optarg, 1, 1, UINT32_MAX, &v) < 0)
				return bad("sendq-high", optarg);
			G.cfg.sendq_high = (uint32_t)v;
			sq_high_set = 1;
			break;
		case OPT_SQ_LOW:
			if (bench_parse_u64(optarg, 1, 0, UINT32_MAX, &v) < 0)
				return bad("sendq-low", optarg);
			G.cfg.sendq_low = (uint32_t)v;
			sq_low_set = 1;
			break;
		case OPT_TLS_CERT:
			tls_cert = optarg;
			break;
		case OPT_TLS_KEY:
			tls_key = optarg;
			break;
		case OPT_TO_TLS:
			to_tls = 1;
			break;
		case OPT_TLS_CA:
			tls_ca = optarg;
			break;
		case OPT_HELP:
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc || !G.listen || !G.to) {
		fprintf(stderr, "engfwd: --listen and --to are required\n");
		usage(stderr);
		return 2;
	}
	if (!tls_cert != !tls_key) {
		fprintf(stderr, "engfwd: --tls-cert and --tls-key go together\n");
		return 2;
	}
	if (tls_ca && !to_tls) {
		fprintf(stderr, "engfwd: --tls-ca needs --to-tls\n");
		return 2;
	}
	if (sq_high_set && !sq_low_set && G.cfg.sendq_low >= G.cfg.sendq_high)
		G.cfg.sendq_low = G.cfg.sendq_high / 4;
	if (G.cfg.sendq_low >= G.cfg.sendq_high) {
		fprintf(stderr, "engfwd: --sendq-low (%u) must be below --sendq-high (%u)\n",
			G.cfg.sendq_low, G.cfg.sendq_high);
		return 2;
	}

	int rc = 1;
	eng_engine *e = NULL;
	if (tls_cert) {
		struct eng_tls_config tc = { .cert_file = tls_cert, .key_file = tls_key };
		if (!(G.tls_server = eng_tls_ctx_new(&tc, 1, err, sizeof(err)))) {
			fprintf(stderr, "engfwd: TLS server context: %s\n", err);
			goto out;
		}
	}
	if (to_tls) {
		struct eng_tls_config tc = { .ca_file = tls_ca, .verify_peer = tls_ca != NULL };
		if (!(G.tls_client = eng_tls_ctx_new(&tc, 0, err, sizeof(err)))) {
			fprintf(stderr, "engfwd: TLS client context: %s\n", err);
			goto out;
		}
	}

	bench_signals_block();
	e = eng_create(&G.cfg, err, sizeof(err));
	if (!e) {
		fprintf(stderr, "engfwd: %s\n", err);
		goto out;
	}
	unsigned n = eng_nworkers(e);
	G.fw = bench_calloc_lines(n, sizeof(*G.fw));
	if (!G.fw) {
		fprintf(stderr, "engfwd: out of memory\n");
		goto out;
	}
	bench_listen_init(&G.bl, G.listen, n, G.tls_server, on_accept, NULL);
	if ((rc = eng_start(e, worker_init, NULL)) < 0) {
		fprintf(stderr, "engfwd: cannot start the workers: %s\n", strerror(-rc));
		rc = 1;
		goto out_bl;
	}
	int port = bench_listen_wait(&G.bl, 10000);
	if (port < 0) {
		fprintf(stderr, "engfwd: cannot listen on %s: %s\n", G.listen, strerror(-port));
		rc = 1;
		goto out_bl;
	}
	printf("ready port=%d backend=%s workers=%u\n", port, eng_backend_name(e), n);
	fflush(stdout);
	CM_DEBUG("engfwd: backend %s: %s", eng_backend_name(e), eng_backend_reason(e));

	int sig = bench_signals_wait_until(UINT64_MAX);
	(void)sig;
	rc = 0;
out_bl:
	eng_destroy(e);
	e = NULL;
	bench_listen_fini(&G.bl);
	if (G.fw) {
		struct fwd_worker t = { 0 };
		for (unsigned i = 0; i < n; i++) {
			t.conns += G.fw[i].conns;
			t.connect_errors += G.fw[i].connect_errors;
			t.bytes_up += G.fw[i].bytes_up;
			t.bytes_down += G.fw[i].bytes_down;
			t.pauses += G.fw[i].pauses;
			t.send_errors += G.fw[i].send_errors;
			pairs_free(G.fw[i].live);
			pairs_free(G.fw[i].free_pairs);
		}
		if (rc == 0)
			fprintf(stderr,
				"engfwd: stats conns=%" PRIu64 " connect_errors=%" PRIu64
				" bytes=%" PRIu64 " bytes_up=%" PRIu64 " bytes_down=%" PRIu64
				" pauses=%" PRIu64 " send_errors=%" PRIu64 "\n",
				t.conns, t.connect_errors, t.bytes_up + t.bytes_down, t.bytes_up,
				t.bytes_down, t.pauses, t.send_errors);
		free(G.fw);
	}
out:
	eng_destroy(e);
	eng_tls_ctx_free(G.tls_server);
	eng_tls_ctx_free(G.tls_client);
	return rc;
}

/* rcsgw — the daemon: config, engine, control plane, signals.
 *
 *   rcsgw [-c FILE] [--check-config [-v]] [--version] [--help]
 *
 * Exit codes: 0 clean stop, 1 start-up failure, 2 bad command line or configuration. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "common/cm_config.h"
#include "common/cm_log.h"
#include "common/cm_version.h"
#include "engine/eng.h"
#include "engine/eng_tls.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: rcsgw [-c FILE] [--check-config [-v]] [--version] [--help]\n"
		"\n"
		"  -c, --config FILE   configuration file (libconfig syntax; see etc/rcsgw.conf).\n"
		"                      Without it rcsgw runs on its embedded defaults.\n"
		"      --check-config  load and validate the configuration, then exit\n"
		"                      (0 valid, 2 invalid); with -v print the effective config\n"
		"  -v, --verbose       with --check-config: print the effective configuration\n"
		"      --version       print the version and exit\n"
		"  -h, --help          this text\n"
		"\n"
		"Every key can be overridden by an environment variable RCSGW_<SECTION>_<KEY>,\n"
		"e.g. RCSGW_API_LISTEN=127.0.0.1:9000 or RCSGW_ENGINE_BACKEND=epoll.\n"
		"Signals: SIGTERM drains (stop accepting, let connections finish up to\n"
		"engine.drain_timeout), SIGINT stops at once.\n");
}

static void eng_config_from(struct eng_config *ec, const struct cm_config *cfg)
{
	eng_config_defaults(ec);
	switch (cfg->engine.backend) {
	case CM_BACKEND_IO_URING: ec->backend = ENG_BACKEND_IO_URING; break;
	case CM_BACKEND_EPOLL: ec->backend = ENG_BACKEND_EPOLL; break;
	default: ec->backend = ENG_BACKEND_AUTO; break;
	}
	ec->workers = (unsigned)cfg->engine.workers;
	ec->pin = cfg->engine.pin;
	ec->buf_size = (uint32_t)cfg->engine.buffer_size;
	ec->bufs_max = (uint32_t)cfg->engine.buffers_max;
	ec->buf_ring_entries = (uint32_t)cfg->engine.buffer_ring_entries;
	ec->ring_entries = (uint32_t)cfg->engine.ring_entries;
	ec->sendq_high = (uint32_t)cfg->engine.sendq_high;
	ec->sendq_low = (uint32_t)cfg->engine.sendq_low;
	ec->mailbox_size = (uint32_t)cfg->engine.mailbox_size;
	ec->timer_tick_ms = (uint32_t)cfg->engine.timer_tick_ms;
	ec->max_conns = (uint32_t)cfg->engine.max_conns;
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void worker_init(eng_worker *w, void *arg)
{
	(void)arg;
	CM_DEBUG("worker %u up on cpu %d", eng_worker_index(w), eng_worker_cpu(w));
}

/* Waits for SIGTERM (drain) or SIGINT (stop). Returns the signal. */
static int wait_signal(const sigset_t *set)
{
	for (;;) {
		int sig;
		if (sigwait(set, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			CM_INFO("SIGHUP: configuration reload is not supported; restart to apply");
			continue;
		}
		return sig;
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = NULL;
	int check = 0, verbose = 0, c;
	struct cm_config cfg;
	char err[512];

	while ((c = getopt_long(argc, argv, "c:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'c': path = optarg; break;
		case 'C': check = 1; break;
		case 'v': verbose = 1; break;
		case 'V': printf("rcsgw %s\n", RCSGW_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "rcsgw: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}

	memset(&cfg, 0, sizeof(cfg));
	if (cm_config_load(&cfg, path, err, sizeof(err)) < 0) {
		fprintf(stderr, "rcsgw: %s\n", err);
		cm_config_free(&cfg);
		return 2;
	}
	if (check) {
		if (verbose)
			cm_config_dump(&cfg, stdout);
		fprintf(stderr, "rcsgw: configuration %s is valid\n", path ? path : "(embedded defaults)");
		cm_config_free(&cfg);
		return 0;
	}
	cm_log_setup((enum cm_log_level)cfg.log.level, cfg.log.format == CM_LOG_FMT_JSON,
		     (unsigned)cfg.log.rate_limit);
	cm_log_thread_name("main");

	/* Signals go to this thread alone: block them before any thread exists. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	eng_tls_global_init();

	struct eng_config ec;
	eng_config_from(&ec, &cfg);
	eng_engine *e = eng_create(&ec, err, sizeof(err));
	if (!e) {
		CM_ERR("engine: %s", err);
		cm_config_free(&cfg);
		return 1;
	}
	CM_INFO("rcsgw %s starting: %s backend (%s), %u workers%s", RCSGW_VERSION,
		eng_backend_name(e), eng_backend_reason(e), eng_nworkers(e),
		ec.pin ? ", pinned" : "");
	if (eng_start(e, worker_init, NULL) < 0) {
		CM_ERR("engine: workers did not start");
		eng_destroy(e);
		cm_config_free(&cfg);
		return 1;
	}
	if (api_start(&cfg, e, err, sizeof(err)) < 0) {
		CM_ERR("api: %s", err);
		eng_destroy(e);
		cm_config_free(&cfg);
		return 1;
	}
	for (size_t i = 0; i < cfg.api.listen.n; i++)
		CM_INFO("api listening on http://%s/v1/status", cfg.api.listen.v[i]);

	int sig = wait_signal(&set);
	if (sig == SIGTERM) {
		uint64_t deadline = now_ms() + (uint64_t)cfg.engine.drain_timeout_ms;
		CM_INFO("SIGTERM: draining (no new connections; up to %lld ms for %llu open)",
			(long long)cfg.engine.drain_timeout_ms,
			(unsigned long long)eng_open_conns(e));
		eng_drain(e);
		/* a second SIGTERM or a SIGINT cuts the drain short */
		sigset_t pending;
		while (eng_open_conns(e) > 0 && now_ms() < deadline) {
			usleep(20000);
			sigpending(&pending);
			if (sigismember(&pending, SIGINT) || sigismember(&pending, SIGTERM))
				break;
		}
		if (eng_open_conns(e) > 0)
			CM_WARN("drain: %llu connections still open, closing them",
				(unsigned long long)eng_open_conns(e));
	} else {
		CM_INFO("SIGINT: stopping");
	}
	api_stop();
	eng_destroy(e);
	CM_INFO("stopped");
	cm_config_free(&cfg);
	return 0;
}

/* test_relay_pool_exit.c — the daemon stops cleanly after its relay used its pool.
 *
 * A dying pool closes its connections without calling its owner back (msrp_pool_free marks
 * it dying first), so the relay ends its own state of those connections before the pool
 * goes (msrp_relay_stop). Without that, the relay state made for each pool connection
 * leaked: LeakSanitizer reported it under `make asan` and the daemon exited with 1.
 *
 * The next hop here is a bare listening socket of the test: the relay's pool connects to it
 * and writes the SEND, which is all this needs. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/lib/msrp_client.h"
#include "tests/lib/rcsgw_proc.h"

/* HA1 of "pool:pool.test:pw", by `printf pool:pool.test:pw | md5sum` */
#define CREDS_LINE "pool:pool.test:"

static pid_t pid = -1;
static int lfd = -1, pfd = -1;
static char creds[96];
static struct msrp_client cl = { .fd = -1 };

static void fini(void)
{
	mc_close(&cl);
	if (pid > 0)
		rcsgw_stop(pid, SIGKILL, 2000);
	if (lfd >= 0)
		close(lfd);
	if (pfd >= 0)
		close(pfd);
	if (creds[0])
		unlink(creds);
}

TestSuite(relay_pool_exit, .fini = fini, .timeout = 15);

Test(relay_pool_exit, clean_stop_after_forwarding_through_the_pool)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof(a);
	char cmd[256], env_l[64], env_c[128], env_a[64], relay[64], up[1024], to[1400], buf[4096];

	/* the next hop: a socket that only listens and reads */
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert(lfd >= 0 && bind(lfd, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(lfd, 4) == 0);
	cr_assert_eq(getsockname(lfd, (struct sockaddr *)&a, &al), 0);

	snprintf(creds, sizeof(creds), "/tmp/rcsgw-pool-exit-%d.htdigest", (int)getpid());
	snprintf(cmd, sizeof(cmd), "{ printf '" CREDS_LINE "'; printf pool:pool.test:pw | md5sum"
		 " | cut -c1-32; } > %s", creds);
	cr_assert_eq(system(cmd), 0);
	int port = free_tcp_port(), api = free_tcp_port();
	snprintf(env_l, sizeof(env_l), "RCSGW_MSRP_LISTEN=127.0.0.1:%d", port);
	snprintf(env_c, sizeof(env_c), "RCSGW_RELAY_CREDENTIALS_FILE=%s", creds);
	snprintf(env_a, sizeof(env_a), "RCSGW_API_LISTEN=127.0.0.1:%d", api);
	const char *env[] = { env_l, env_c, env_a, "RCSGW_RELAY_REALM=pool.test",
			      "RCSGW_SIP_LISTEN=", "RCSGW_ENGINE_PIN=false", "RCSGW_LOG_LEVEL=warn", NULL };
	pid = rcsgw_spawn(env, NULL, NULL);
	cr_assert_gt(pid, 0);
	cr_assert_eq(wait_port("127.0.0.1", port, 5000), 0);

	snprintf(relay, sizeof(relay), "127.0.0.1:%d", port);
	cr_assert_eq(mc_connect(&cl, relay, 3000), 0);
	snprintf(relay, sizeof(relay), "msrp://127.0.0.1:%d;tcp", port);
	struct mc_auth au = { relay, "msrp://127.0.0.1:40001/poolc;tcp", "pool", "pw", 0 };
	struct mc_auth_result r;
	cr_assert_eq(mc_auth(&cl, &au, &r, 3000), 0);
	cr_assert_eq(r.status, 200);
	snprintf(up, sizeof(up), "%s", r.use_path);

	snprintf(to, sizeof(to), "%s msrp://127.0.0.1:%d/peer1;tcp msrp://127.0.0.1:40002/b;tcp",
		 up, ntohs(a.sin_port));
	struct mc_send s = { .to_path = to, .from_path = "msrp://127.0.0.1:40001/poolc;tcp",
			     .message_id = "p1", .content_type = "text/plain", .body = "x",
			     .body_len = 1 };
	cr_assert_eq(mc_send_send(&cl, "tpool001", &s), 0);
	static struct mc_frame f;
	cr_assert_eq(mc_read_frame(&cl, &f, 3000), 0);
	cr_assert_eq(f.status, 200);

	/* the pool connected and wrote the SEND */
	struct pollfd p = { .fd = lfd, .events = POLLIN };
	cr_assert_eq(poll(&p, 1, 3000), 1, "the relay did not connect to the next hop");
	pfd = accept(lfd, NULL, NULL);
	cr_assert_geq(pfd, 0);
	p.fd = pfd;
	cr_assert_eq(poll(&p, 1, 3000), 1);
	ssize_t n = recv(pfd, buf, sizeof(buf) - 1, 0);
	cr_assert_gt(n, 0);
	buf[n] = '\0';
	cr_assert_not_null(strstr(buf, " SEND\r\n"), "got: %s", buf);

	/* the stop: exit status 0, no sanitizer report */
	mc_close(&cl);
	int st = rcsgw_stop(pid, SIGINT, 5000);
	pid = -1;
	cr_assert_eq(st, 0, "rcsgw exited with %d after using its pool", st);
}

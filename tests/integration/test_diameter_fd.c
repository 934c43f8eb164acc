/* test_diameter_fd.c — rcsgw's Diameter peer (diameter/dm_peer.c) against an independent
 * one, freeDiameterd (Debian's freediameter, run by tests/lib/fd_srv): the capabilities
 * exchange opens the connection (its Origin-Host learnt), an Sh request is answered by it
 * (3002: Debian ships no Sh extension, PEERS.md) and matched to ours, the watchdog is
 * answered, our DPR closes the connection; connected again, freeDiameterd's own shutdown
 * (its DPR) closes it from its side; connected again and killed with -9, the connection's
 * end reaches us and a request hears it (not its deadline). */
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "diameter/dm_check.h"
#include "diameter/dm_dict.h"
#include "diameter/dm_json.h"
#include "diameter/dm_peer.h"
#include "engine/eng.h"
#include "tests/lib/dm_samples.h"
#include "tests/lib/fd_srv.h"
#include "tests/lib/eng_job.h"
#include "tests/lib/wait.h"

static struct fd_srv fd = { .pid = -1 };
static eng_engine *e;
static struct dm_dict *dict;
static struct dm_peer *peer;
static sem_t ev, done;
static _Atomic int state = -1;
static int last_status;
static uint32_t last_rc;
static struct dm_peer_stats st;
static char host[256];

static void down(void)
{
	fd_srv_stop(&fd);
}

TestSuite(diameter_fd, .fini = down, .timeout = 60);

static void on_state(void *arg, struct dm_peer *p, enum dm_peer_state s)
{
	(void)arg;
	(void)p;
	state = (int)s;
	sem_post(&ev);
}

static const uint32_t apps[] = { 16777217 };

static void do_connect(eng_worker *w, void *arg, uint64_t u)
{
	(void)arg;
	(void)u;
	char hp[32];
	snprintf(hp, sizeof(hp), "127.0.0.1:%d", FD_SRV_PORT);
	struct dm_peer_cfg c = { .origin_host = "rcsgw.test.local", .origin_realm = "test.local",
				 .product = "rcsgw", .vendor_id = 0, .auth_apps = apps, .nauth = 1,
				 .tw_ms = 1000, .cer_timeout_ms = 5000, .dict = dict,
				 .state = on_state };
	dm_peer_free(peer); /* the one before, closed */
	peer = dm_peer_connect(w, hp, &c);
	cr_assert_not_null(peer);
}

static void on_answer(void *arg, int status, const uint8_t *m, size_t n)
{
	(void)arg;
	last_status = status;
	last_rc = status == 0 ? dm_answer_result(m, n) : 0;
	sem_post(&done);
}

static void do_udr(eng_worker *w, void *arg, uint64_t u)
{
	(void)w;
	(void)arg;
	(void)u;
	static uint8_t b[2048];
	json_t *j = json_loads(DM_SAMPLE_UDR_JSON, 0, NULL);
	struct dm_wbuf wb;
	char err[128];
	dm_w_init(&wb, b, sizeof(b));
	dm_w_hdr(&wb, DM_FLAG_R | DM_FLAG_P, 306, 16777217, 0, 0);
	cr_assert_eq(dm_json_write(dict, j, &wb, err, sizeof(err)), 0, "%s", err);
	json_decref(j);
	long n = dm_w_finish(&wb);
	cr_assert_gt(n, 0);
	int rc = dm_peer_request(peer, b, (size_t)n, u ? 10000 : 3000, on_answer, NULL);
	if (rc < 0) { /* (the connection gone already: said so at once) */
		last_status = rc;
		sem_post(&done);
	}
}

static void do_stats(eng_worker *w, void *arg, uint64_t u)
{
	(void)w;
	(void)arg;
	(void)u;
	dm_peer_stats(peer, &st);
	snprintf(host, sizeof(host), "%s", dm_peer_host(peer));
	sem_post(&done);
}

static void do_disconnect(eng_worker *w, void *arg, uint64_t u)
{
	(void)w;
	(void)arg;
	(void)u;
	dm_peer_disconnect(peer, 0);
}

static void do_free(eng_worker *w, void *arg, uint64_t u)
{
	(void)w;
	(void)arg;
	(void)u;
	dm_peer_free(peer);
	peer = NULL;
	sem_post(&done);
}

static void post(eng_msg_fn fn, uint64_t u)
{
	cr_assert_eq(eng_post(eng_worker_at(e, 0), fn, NULL, u), 0);
}

static int wait_state(int want, int ms)
{
	for (int i = 0; i < ms / 100 && state != want; i++)
		sem_wait_ms(&ev, 100);
	return state == want;
}

/* Connects and waits for the capabilities exchange. freeDiameterd sometimes leaves a CER
 * unanswered just after it starts or while it closes the last connection (seen on a loaded
 * machine): as a peer does after Tc, this connects once more then. */
static int connect_open(void)
{
	post(do_connect, 0);
	if (wait_state(DM_PEER_OPEN, 5000))
		return 1;
	fprintf(stderr, "diameter_fd: not open at once (%d): connecting again\n", state);
	post(do_connect, 0);
	return wait_state(DM_PEER_OPEN, 10000);
}

Test(diameter_fd, capabilities_request_watchdog_and_both_ways_of_closing)
{
	if (!fd_srv_available())
		cr_skip_test("freeDiameterd missing (Debian package freediameter: make deps)");
	cr_assert_eq(fd_srv_start(&fd, "fd.test.local", "test.local", "*.test.local"), 0,
		     "freeDiameterd did not start");
	char err[128];
	sem_init(&ev, 0, 0);
	sem_init(&done, 0, 0);
	e = eng_job_engine(ENG_BACKEND_AUTO, err, sizeof(err));
	cr_assert(e, "%s", err);
	dict = dm_dict_new();

	cr_assert(connect_open(), "not open: %d", state);
	post(do_stats, 0);
	cr_assert_eq(sem_wait_ms(&done, 3000), 0);
	cr_expect_str_eq(host, "fd.test.local", "its Origin-Host from its CEA");

	post(do_udr, 0);
	cr_assert_eq(sem_wait_ms(&done, 5000), 0);
	cr_expect_eq(last_status, 0, "an answer: %d", last_status);
	cr_expect_eq(last_rc, 3002, "DIAMETER_UNABLE_TO_DELIVER (no Sh here): %u", last_rc);

	usleep(2500 * 1000); /* idle: our watchdog asks, it answers */
	post(do_stats, 0);
	cr_assert_eq(sem_wait_ms(&done, 3000), 0);
	cr_expect(st.dwr_out >= 1 && st.dwa_in + 1 >= st.dwr_out && st.dwa_in >= 1,
		  "%llu DWR, %llu DWA", (unsigned long long)st.dwr_out,
		  (unsigned long long)st.dwa_in);
	cr_expect_eq(st.malformed, 0);
	cr_expect_eq(state, DM_PEER_OPEN);

	post(do_disconnect, 0); /* our DPR, its DPA */
	cr_expect(wait_state(DM_PEER_CLOSED, 5000), "after our DPR: %d", state);

	/* again; then it stops: its DPR */
	cr_assert(connect_open(), "not open again: %d", state);
	fd_srv_stop(&fd);
	cr_expect(wait_state(DM_PEER_CLOSED, 5000), "after its shutdown: %d", state);

	/* again, and killed while a request of ours waits: it hears the connection went */
	cr_assert_eq(fd_srv_start(&fd, "fd.test.local", "test.local", "*.test.local"), 0);
	cr_assert(connect_open(), "not open a third time: %d", state);
	fd_srv_kill(&fd);
	post(do_udr, 1);
	cr_assert_eq(sem_wait_ms(&done, 12000), 0);
	cr_expect(last_status == -ECONNRESET || last_status == -ENOTCONN,
		  "the request: %d (not its deadline: the connection's end)", last_status);
	cr_expect(wait_state(DM_PEER_CLOSED, 5000), "after its kill: %d", state);

	post(do_free, 0);
	cr_assert_eq(sem_wait_ms(&done, 3000), 0);
	eng_destroy(e);
	dm_dict_free(dict);
}

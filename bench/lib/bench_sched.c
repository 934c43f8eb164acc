/* bench_sched.c — open-loop schedule on a timerfd. */
#include <errno.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "bench/lib/bench_cpu.h"
#include "bench/lib/bench_sched.h"

int bench_sched_init(struct bench_sched *s, double rate, unsigned n,
		     void (*fire)(struct bench_sched *s, uint64_t now), void *arg)
{
	s->n = n;
	s->period_ns = 1e9 / rate;
	s->fire = fire;
	s->arg = arg;
	s->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	return s->tfd < 0 ? -errno : 0;
}

void bench_sched_fini(struct bench_sched *s)
{
	if (s->tfd >= 0)
		close(s->tfd);
	s->tfd = -1;
}

static void arm_at(int tfd, uint64_t at)
{
	struct itimerspec its = { .it_value = { .tv_sec = (time_t)(at / 1000000000u),
						.tv_nsec = (long)(at % 1000000000u) } };
	if (!at)
		its.it_value.tv_nsec = 1; /* zero would disarm */
	timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

static void tick(eng_poll *p, uint32_t revents)
{
	struct bench_sched *s = p->arg;
	uint64_t exp;
	(void)revents;

	if (read(s->tfd, &exp, sizeof(exp)) < 0 && errno != EAGAIN)
		return;
	uint64_t now = bench_now_ns();
	if (now >= s->t0) {
		s->m_due = (uint64_t)((double)(now - s->t0) / s->period_ns) + 1;
		s->fire(s, now);
	}
	uint64_t next = s->t0 + (uint64_t)((double)s->m_due * s->period_ns);
	if (next < now + BENCH_SCHED_MIN_TICK_NS)
		next = now + BENCH_SCHED_MIN_TICK_NS;
	arm_at(s->tfd, next);
}

int bench_sched_start(struct bench_sched *s, eng_worker *w, uint64_t t0)
{
	s->t0 = t0;
	s->m_due = 0;
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0); /* wake at the schedule, not 50 µs late */
	int rc = eng_poll_start(w, &s->poll, s->tfd, POLLIN, tick, s);
	if (rc < 0)
		return rc;
	arm_at(s->tfd, t0);
	return 0;
}

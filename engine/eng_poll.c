/* eng_poll.c — readiness of foreign fds (c-ares, hiredis) on the worker's ring. */
#include <errno.h>

#include "engine/eng_int.h"

int eng_poll_start(eng_worker *w, eng_poll *p, int fd, uint32_t events, eng_poll_fn fn, void *arg)
{
	unsigned i;

	for (i = 0; i < ENG_MAX_POLLS && w->polls[i]; i++)
		;
	if (i == ENG_MAX_POLLS)
		return -EMFILE;
	p->w = w;
	p->fd = fd;
	p->events = events;
	p->fn = fn;
	p->arg = arg;
	p->idx = i;
	w->polls[i] = p;
	w->poll_gen[i] = (w->poll_gen[i] + 1) & 0xffffff;
	int rc = w->be->poll_arm(p);
	if (rc < 0) {
		w->polls[i] = NULL;
		return rc;
	}
	p->armed = 1;
	return 0;
}

int eng_poll_update(eng_poll *p, uint32_t events)
{
	eng_worker *w = p->w;
	if (!p->armed)
		return -EINVAL;
	if (events == p->events)
		return 0;
	w->be->poll_disarm(p);
	w->poll_gen[p->idx] = (w->poll_gen[p->idx] + 1) & 0xffffff;
	p->events = events;
	return w->be->poll_arm(p);
}

void eng_poll_stop(eng_poll *p)
{
	eng_worker *w = p->w;
	if (!p->armed)
		return;
	w->be->poll_disarm(p);
	w->poll_gen[p->idx] = (w->poll_gen[p->idx] + 1) & 0xffffff;
	w->polls[p->idx] = NULL;
	p->armed = 0;
}

void eng__poll_event(eng_worker *w, uint32_t idx, uint32_t gen, uint32_t revents, int more)
{
	eng_poll *p = idx < ENG_MAX_POLLS ? w->polls[idx] : NULL;
	if (!p || w->poll_gen[idx] != gen)
		return;
	p->fn(p, revents);
	/* a one-shot end (io_uring multishot poll stopped): arm again if still wanted */
	if (!more && w->polls[idx] == p && w->poll_gen[idx] == gen)
		w->be->poll_arm(p);
}

/* eng_udp.c — UDP sockets on a worker (see eng_udp.h). */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "engine/eng.h"
#include "engine/eng_udp.h"

struct eng_udp {
	eng_worker *w;
	int fd;
	int port;
	eng_poll poll;
	eng_timer more;                /* the bound was hit: read on at the next tick */
	eng_udp_recv_fn fn;
	void *udata;
	int depth;                     /* inside our callbacks */
	int closing;                   /* eng_udp_close() came from a callback */
	struct eng_udp_stats st;
	/* receive batch: ENG_UDP_BATCH buffers one byte longer than a datagram may be, so that
	 * a truncated one is seen */
	struct mmsghdr msgs[ENG_UDP_BATCH];
	struct iovec iov[ENG_UDP_BATCH];
	struct sockaddr_storage from[ENG_UDP_BATCH];
	char *bufs;
};

#define SLOT (ENG_UDP_MAX_DGRAM + 1)

static void udp_free(eng_udp *u)
{
	eng_timer_cancel(&u->more);
	eng_poll_stop(&u->poll);
	close(u->fd);
	free(u->bufs);
	free(u);
}

/* Reads what is there, up to ENG_UDP_MAX_PER_WAKE datagrams; the rest waits for the next
 * tick (readiness may not fire again for data already queued). */
static void drain(eng_udp *u)
{
	unsigned got = 0;
	int more = 0;
	u->depth++;
	while (got < ENG_UDP_MAX_PER_WAKE && !u->closing) {
		for (unsigned i = 0; i < ENG_UDP_BATCH; i++) {
			u->iov[i] = (struct iovec){ u->bufs + (size_t)i * SLOT, SLOT };
			u->msgs[i].msg_hdr = (struct msghdr){
				.msg_name = &u->from[i], .msg_namelen = sizeof(u->from[i]),
				.msg_iov = &u->iov[i], .msg_iovlen = 1 };
			u->msgs[i].msg_len = 0;
		}
		int n = recvmmsg(u->fd, u->msgs, ENG_UDP_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			break; /* EAGAIN: drained (other errors: ICMP news of a peer, nothing to do) */
		for (int i = 0; i < n && !u->closing; i++) {
			size_t len = u->msgs[i].msg_len;
			if (len > ENG_UDP_MAX_DGRAM || (u->msgs[i].msg_hdr.msg_flags & MSG_TRUNC)) {
				u->st.rx_truncated++;
				continue;
			}
			u->st.rx++;
			u->st.rx_bytes += len;
			u->fn(u, u->udata, u->iov[i].iov_base, len, &u->from[i],
			      u->msgs[i].msg_hdr.msg_namelen);
		}
		got += (unsigned)n;
		if (n < ENG_UDP_BATCH)
			break;
		more = got >= ENG_UDP_MAX_PER_WAKE;
	}
	if (--u->depth == 0 && u->closing) {
		udp_free(u);
		return;
	}
	if (more && !u->closing)
		eng_timer_arm(u->w, &u->more, 0);
}

static void on_ready(eng_poll *p, uint32_t revents)
{
	(void)revents;
	drain(p->arg);
}

static void on_more(eng_timer *t)
{
	drain(t->arg);
}

eng_udp *eng_udp_open(eng_worker *w, const char *hostport, int flags, eng_udp_recv_fn fn,
		      void *udata, int *err)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int one = 1;
	eng_udp *u;

	if (eng_parse_hostport(hostport, &ss, &sl) < 0) {
		*err = -EINVAL;
		return NULL;
	}
	if (!(u = calloc(1, sizeof(*u))) || !(u->bufs = malloc((size_t)SLOT * ENG_UDP_BATCH))) {
		free(u);
		*err = -ENOMEM;
		return NULL;
	}
	u->w = w;
	eng_timer_init(&u->more, on_more, u);
	u->fn = fn;
	u->udata = udata;
	u->fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (u->fd < 0)
		goto fail;
	if ((flags & ENG_LISTEN_REUSEPORT) &&
	    setsockopt(u->fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0)
		goto fail;
	/* room for bursts (best effort: the kernel caps it at net.core.rmem_max) */
	int rcvbuf = ENG_UDP_RCVBUF;
	setsockopt(u->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (bind(u->fd, (struct sockaddr *)&ss, sl) < 0)
		goto fail;
	sl = sizeof(ss);
	if (getsockname(u->fd, (struct sockaddr *)&ss, &sl) < 0)
		goto fail;
	u->port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port :
					       ((struct sockaddr_in6 *)&ss)->sin6_port);
	int rc = eng_poll_start(w, &u->poll, u->fd, POLLIN, on_ready, u);
	if (rc < 0) {
		errno = -rc;
		goto fail;
	}
	*err = 0;
	return u;
fail:
	*err = -errno;
	if (u->fd >= 0)
		close(u->fd);
	free(u->bufs);
	free(u);
	return NULL;
}

int eng_udp_send(eng_udp *u, const void *p, size_t len, const struct sockaddr *to,
		 socklen_t tolen)
{
	ssize_t n = sendto(u->fd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL, to, tolen);
	if (n < 0 || (size_t)n != len) {
		u->st.tx_dropped++;
		return n < 0 ? -errno : -EMSGSIZE;
	}
	u->st.tx++;
	u->st.tx_bytes += len;
	return 0;
}

int eng_udp_port(const eng_udp *u)
{
	return u->port;
}

const struct eng_udp_stats *eng_udp_stats(const eng_udp *u)
{
	return &u->st;
}

void eng_udp_close(eng_udp *u)
{
	if (!u)
		return;
	if (u->depth) {
		u->closing = 1; /* freed when the callback returns */
		return;
	}
	udp_free(u);
}

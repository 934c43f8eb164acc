/* eng_udp.h — UDP sockets on a worker (SIP over UDP, RFC 3261 §18): datagrams received as
 * they come, sent at once.
 *
 * Readiness through the worker's eng_poll (both backends): on POLLIN the socket is read
 * with recvmmsg(2) until it is empty or a bound per wake-up (fairness with the worker's
 * other work), each datagram handed to the owner with its source address. Sending is a
 * non-blocking sendto(2): UDP has no queue to keep, a datagram that the kernel refuses
 * (socket buffer full) is dropped and counted — SIP's retransmissions are the recovery.
 * With ENG_LISTEN_REUSEPORT every worker opens its own socket on the same address and the
 * kernel spreads senders over them. Worker thread only. */
#ifndef ENG_UDP_H
#define ENG_UDP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "engine/eng-t.h"

#define ENG_UDP_MAX_DGRAM 65535    /* bytes of the largest datagram received */
#define ENG_UDP_BATCH 16           /* datagrams per recvmmsg(2) call */
#define ENG_UDP_MAX_PER_WAKE 256   /* datagrams read per readiness event, at most */
#define ENG_UDP_RCVBUF (4 << 20)   /* receive buffer asked for (capped by rmem_max) */

typedef struct eng_udp eng_udp;

/* <data>/<len> valid during the call only; <from> the sender. */
typedef void (*eng_udp_recv_fn)(eng_udp *u, void *udata, const char *data, size_t len,
				const struct sockaddr_storage *from, socklen_t fromlen);

struct eng_udp_stats {
	uint64_t rx, tx;               /* datagrams */
	uint64_t rx_bytes, tx_bytes;
	uint64_t rx_truncated;         /* longer than ENG_UDP_MAX_DGRAM: dropped */
	uint64_t tx_dropped;           /* refused by the kernel (EAGAIN, ENOBUFS ...) */
};

/* Binds "host:port" (numeric, as eng_parse_hostport; port 0 picks one) on worker <w>,
 * <flags> ENG_LISTEN_REUSEPORT or 0. NULL with *<err> = -errno. */
eng_udp *eng_udp_open(eng_worker *w, const char *hostport, int flags, eng_udp_recv_fn fn,
		      void *udata, int *err);
/* Sends one datagram to <to>. 0, or -errno (dropped, counted). */
int eng_udp_send(eng_udp *u, const void *p, size_t len, const struct sockaddr *to,
		 socklen_t tolen);
/* The port bound. */
int eng_udp_port(const eng_udp *u);
const struct eng_udp_stats *eng_udp_stats(const eng_udp *u);
/* Stops watching, closes the socket, frees <u> (also from inside its own callback). */
void eng_udp_close(eng_udp *u);

#endif

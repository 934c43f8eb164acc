/* bench_ua.c — load on rcsgw's MSRP user agent through its REST API, on the engine.
 *
 * The generator plays every part around rcsgw, on one engine worker (one thread):
 *
 *   - the application: --concurrency HTTP/1.1 keep-alive connections to --api, one request
 *     in flight on each (no pipelining), a small response reader of its own (bench_http.c:
 *     status line, Content-Length, Connection: close; chunked answers are bad answers);
 *     request bodies are made with jansson (the message body is a template made once by
 *     jansson, whose body characters, hex digits and letters, need no escaping);
 *   - the far end's SIP UAS on UDP (--sip-listen): parsed with plain string searches,
 *     independent of rcsgw's sip/. The Request-URI of each session, "sip:s<k>@HOST:PORT",
 *     carries the session's index <k>. An INVITE gets a 200 at once (no 180) with an SDP
 *     answer "a=setup:passive", "a=path:msrp://<--msrp-listen>/s<k>;tcp"; a retransmitted
 *     INVITE gets the same 200 again; the ACK is taken; a BYE gets 200;
 *   - the far end's MSRP endpoint (--msrp-listen): rcsgw connects to it (a connection of
 *     each session's own, as its a=connection:new says, closed when it ends) and every
 *     SEND gets a 200.
 *     Frames are split with bm_frame_split (bench_msrp.c, independent of msrp/). The empty
 *     SEND whose To-Path is "…/s<k>;tcp" binds session <k>: it is up.
 *
 * ua-setup: each HTTP connection runs sessions one after the other: POST /v1/sessions →
 * 201 {"id"} → the binding SEND arrives (set-up latency = arrival − the POST's write) →
 * DELETE /v1/sessions/{id} → 204 (its BYE is answered by the UAS) → the next POST. With
 * --hold the sessions stay (no DELETE until the end), for rcsgw's memory per live session.
 *
 * ua-send: sets up --sessions sessions (as --hold), then each HTTP connection POSTs
 * messages, one after the other, to the sessions in turn (message <seq> goes to the
 * (seq mod live)-th live session). A body of --size bytes is 16 hex digits of send stamp
 * (CLOCK_MONOTONIC ns when the POST was written), 16 of sequence, 8 of session index, then
 * letters picked by (sequence, session). The MSRP side checks each body byte for byte, the
 * session it came in, and duplicates; latency = arrival − stamp. At the end every session
 * is deleted.
 *
 * ua-send --imdn: each message asks for a delivery notification (its message_id "b" + 16 hex
 * digits of sequence, "disposition_notification":["positive-delivery"]), so rcsgw wraps it
 * in CPIM; the far end (its SDP takes message/cpim, wrapping text/plain and
 * message/imdn+xml) checks the body inside the CPIM and answers with an IMDN "delivered"
 * SEND on the same connection; a GET /v1/events stream (HTTP/1.0: not chunked) reads
 * rcsgw's message.delivered events: IMDN round trip = event read − POST written.
 *
 * ua-sink: the far end alone, for load that reaches rcsgw some other way (the SIP MESSAGE
 * gateway: page-mode MESSAGEs from sipp become MSRP sessions toward us). No API, no
 * verification of bodies. Sessions are keyed on the INVITE's Call-ID (any Request-URI
 * user), each new Call-ID gets the next index <k> and its answer hands out the MSRP URI
 * "…/s<k>;tcp", which finds the session again when SENDs come. It counts message SENDs
 * (a whole message = the chunk ending in '$') and their body bytes; the window starts
 * --warmup after the first message SEND and lasts --duration; it ends once --count
 * messages arrived, or, after the window, when none came for --idle.
 *
 * Exit status: 0; 3 when something failed (see bench/README.md); 1; 2 bad arguments. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "bench/lib/bench_args.h"
#include "bench/lib/bench_cpu.h"
#include "bench/lib/bench_hist.h"
#include "bench/lib/bench_http.h"
#include "bench/lib/bench_msrp.h"
#include "bench/lib/bench_proc.h"
#include "bench/lib/bench_ua.h"
#include "engine/eng.h"
#include "engine/eng_udp.h"

#define BODY_HDR      40                 /* stamp 16 + seq 16 + session 8 hex digits */
#define PAT_SPAN      4096               /* pattern start offsets */
#define ID_MAX        48                 /* bytes of an rcsgw session id, NUL included */
#define HTTP_RX_CAP   8192               /* bytes of one HTTP answer, at most */
#define REP_CAP       (32 * 1024)        /* MSRP 200s built before one eng_send */
#define SIP_BUF       4096               /* one SIP response */
#define TICK_MS       20                 /* time-outs and reconnections checked this often */
#define MAX_SESSIONS  1000000
#define MAX_CONC      1024
#define SINK_BODY_MAX (1u << 20)         /* ua-sink: bytes of one frame's body, at most */
#define SINK_SESSIONS 100000             /* ua-sink: --sessions by default */

enum phase { PH_IDLE, PH_SETUP, PH_SEND, PH_DELETE };
enum op { OP_NONE, OP_CREATE, OP_DELETE, OP_MSG };

#define SF_POSTED   0x001u   /* POST /v1/sessions written */
#define SF_CREATED  0x002u   /* its 201 came: id known */
#define SF_UP       0x004u   /* its binding SEND arrived */
#define SF_FAILED   0x008u   /* non-201, time-out, or its HTTP connection lost */
#define SF_DONE     0x010u   /* resolved (up, failed or timed out): counted once */
#define SF_INVITED  0x020u   /* its INVITE answered 200 */
#define SF_ACKED    0x040u   /* its ACK came */
#define SF_DEL      0x080u   /* DELETE written */
#define SF_BYE      0x100u   /* its BYE answered */
#define SF_GONE     0x200u   /* its DELETE answered 204 */

struct ua_sess {
	uint64_t t_post;           /* when its POST was written (ua-sink: its INVITE came), ns */
	uint64_t cid;              /* ua-sink: hash of its INVITE's Call-ID */
	uint32_t flags;            /* SF_* */
	uint32_t slot;             /* the HTTP connection that created it */
	char id[ID_MAX];           /* rcsgw's id, "" until the 201 */
};

/* One HTTP connection to the API. */
struct ua_slot {
	eng_conn *c;
	uint32_t idx;
	int connected;
	int op;                    /* the request in flight, OP_NONE when idle */
	int waiting;               /* its session's 201 came; waiting for the binding SEND */
	int reconnect;             /* the connection went: open another at the next tick */
	int counted;               /* its first connection was counted (a_connected) */
	uint32_t k;                /* session of the request in flight, or waited for */
	int64_t del_k;             /* a session to DELETE before anything else, -1 none */
	uint64_t t_sent;           /* when the request in flight was written */
	char *rx;                  /* the answer so far */
	uint32_t rx_len;
};

/* One MSRP connection accepted from rcsgw. */
struct ua_mconn {
	eng_conn *c;
	char *rx;                  /* unfinished frame carried over */
	uint32_t rx_len, rx_cap, hint;
	struct ua_mconn *next;
};

/* Worker-side counters, read by main after the worker is joined. */
struct ua_stats {
	uint64_t posted, created, up, up_win, up_late, non_201, bad_answers, timeouts;
	uint64_t http_timeouts, http_errors, http_reconnects;
	uint64_t del_sent, del_errors;
	uint64_t invites, invite_retrans, acks, byes, bye_retrans, cancels, sip_stray, sip_other;
	uint64_t msrp_conns, msrp_lost, msrp_other, bind_dup, unknown_sess;
	uint64_t msg_posted, msg_202, msg_other, delivered, msgs_win, verify_errors, chunked,
		duplicates;
	uint64_t bytes, bytes_win, invite_refused; /* ua-sink */
	/* ua-send --imdn: IMDNs sent, their 200s and other answers; events read (delivered,
	 * failed, about no message of ours, in the window), SSE streams lost or unreadable */
	uint64_t imdn_sent, imdn_acked, imdn_refused, ev_delivered, ev_failed, ev_unknown,
		ev_win, ev_dup, sse_lost, sse_bad;
	int first_status, first_del_status, first_msg_status;
};

static struct {
	/* options */
	const char *api, *sip_listen, *msrp_listen, *token;
	uint64_t nsess, conc, size, duration_ns, warmup_ns, timeout_ns, drain_ns;
	int hold, json, send_mode, sink, imdn;
	uint64_t count, idle_ns;   /* ua-sink: messages expected (0: unknown), end when quiet */
	pid_t sut_pid;
	struct eng_config cfg;
	/* set up before the worker starts */
	char sip_host[64], msrp_host[64];
	char auth_hdr[300];        /* "Authorization: Bearer …\r\n" or "" */
	char *tmpl;                /* ua-send: the JSON body of a message */
	size_t tmpl_len, tmpl_body; /* its length; where the message body starts in it */
	size_t tmpl_mid;           /* --imdn: where the message_id's 16 hex digits are */
	uint8_t *pat;              /* PAT_SPAN + size letters */
	struct ua_sess *ss;
	struct ua_slot *slots;
	uint32_t *live;            /* ua-send: sessions up, in index order */
	uint32_t nlive;
	/* the worker's */
	eng_worker *w;
	eng_udp *udp;
	int sip_port, msrp_port;
	char sip_hp[80];           /* host:port of our UAS, in the Request-URIs */
	enum phase phase;
	uint64_t gen;              /* of the phase being run */
	int hold_now;              /* sessions set up now stay up */
	uint32_t next_sess, del_next;
	uint64_t next_seq;
	uint8_t *seen;             /* ua-send: a bit per sequence delivered */
	uint64_t seen_cap;         /* bits */
	uint64_t *t_msg;           /* --imdn: when each sequence was POSTed (seen_cap of them) */
	uint8_t *ev_seen;          /* --imdn: a bit per sequence whose event came */
	eng_conn *sse;             /* --imdn: GET /v1/events */
	char *sse_rx;              /* its unfinished line */
	uint32_t sse_len;
	int sse_head;              /* its HTTP head was read */
	int sse_type;              /* the event being read: 1 delivered, 2 failed, 0 other */
	char *out;                 /* a request being built */
	size_t out_cap;
	char *rep;                 /* MSRP 200s being built */
	size_t rep_len;
	struct ua_mconn *mconns;
	uint32_t *cidtab;          /* ua-sink: open addressing, Call-ID hash -> k + 1 (0 empty) */
	uint64_t cidmask;
	eng_timer tick;
	struct bench_hist setup_lat, api_lat, lat, imdn_lat;
	struct ua_stats st;
	struct bench_listen bl;
	/* shared with main */
	_Atomic uint64_t a_connected, a_quiet, a_progress, a_accepted, a_delivered, a_deleted,
		a_del_up, a_byes, a_up;
	_Atomic uint64_t a_sse, a_events; /* --imdn: stream open (1) or gone (2); events read */
	_Atomic int64_t a_udp;     /* the UAS's port, or -errno */
	_Atomic uint64_t win_start, win_end;
	_Atomic uint64_t a_first, a_last; /* ua-sink: arrival of the first and last message, ns */
	_Atomic int stop_new, stopping;
} U;

static inline void bump(_Atomic uint64_t *a)
{
	atomic_store_explicit(a, atomic_load_explicit(a, memory_order_relaxed) + 1,
			      memory_order_relaxed);
}

static inline int stop_new(void)
{
	return atomic_load_explicit(&U.stop_new, memory_order_relaxed);
}

static inline int stopping(void)
{
	return atomic_load_explicit(&U.stopping, memory_order_relaxed);
}

static inline int in_window(uint64_t now)
{
	return now >= atomic_load_explicit(&U.win_start, memory_order_relaxed) &&
	       now < atomic_load_explicit(&U.win_end, memory_order_relaxed);
}

static inline uint32_t pat_off(uint64_t seq, uint32_t k)
{
	return (uint32_t)((seq * 2654435761u + (uint64_t)k * 40503u) & (PAT_SPAN - 1));
}

/* "s<digits>" at <p> (<n> bytes, ending at '@', ';' or the end) → the index, or -1. */
static int64_t sess_index(const char *p, size_t n)
{
	uint64_t v = 0;
	size_t i = 1;
	if (n < 2 || p[0] != 's')
		return -1;
	for (; i < n && p[i] >= '0' && p[i] <= '9' && i < 12; i++)
		v = v * 10 + (uint64_t)(p[i] - '0');
	if (i == 1 || (i < n && p[i] != '@' && p[i] != ';'))
		return -1;
	return v < U.nsess ? (int64_t)v : -1;
}

/* ---- SUT memory --------------------------------------------------------------------------- */

/* VmRSS of <pid> in KiB, or -1. */
static int64_t rss_kib(pid_t pid)
{
	char path[64], line[256];
	long long v = -1;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %lld", &v) == 1)
			break;
	fclose(f);
	return v;
}

/* ---- HTTP requests ------------------------------------------------------------------------ */

static void slot_next(struct ua_slot *s);
static void sess_resolve(struct ua_slot *s, uint32_t k, uint32_t how);

/* Writes <n> bytes of U.out on <s>'s connection as request <op> about session <k>. */
static void req_send(struct ua_slot *s, int op, uint32_t k, size_t n, uint64_t now)
{
	s->op = op;
	s->k = k;
	s->t_sent = now;
	int rc = eng_send(s->c, U.out, n);
	if (rc < 0)
		eng_abort(s->c, rc); /* on_close fails the request */
}

static void post_create(struct ua_slot *s, uint32_t k)
{
	char to[160], body[512];
	struct ua_sess *ss = &U.ss[k];

	snprintf(to, sizeof(to), "sip:s%" PRIu32 "@%s", k, U.sip_hp);
	json_t *j = json_pack("{s:s, s:s}", "from", "sip:rcsbench@127.0.0.1", "to", to);
	size_t bl = j ? json_dumpb(j, body, sizeof(body), JSON_COMPACT | JSON_PRESERVE_ORDER) : 0;
	json_decref(j);
	int n = snprintf(U.out, U.out_cap, "POST /v1/sessions HTTP/1.1\r\nHost: %s\r\n%s"
			 "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n", U.api,
			 U.auth_hdr, bl);
	if (!bl || bl > sizeof(body) || n < 0 || (size_t)n + bl > U.out_cap) {
		/* cannot happen with the lengths parse() allows: stop rather than spin */
		fprintf(stderr, "rcsbench: cannot build POST /v1/sessions\n");
		ss->flags |= SF_POSTED;
		U.st.bad_answers++;
		sess_resolve(s, k, SF_FAILED);
		atomic_store(&U.stop_new, 1);
		return;
	}
	memcpy(U.out + n, body, bl);
	uint64_t now = bench_now_ns();
	ss->t_post = now;
	ss->flags |= SF_POSTED;
	ss->slot = s->idx;
	U.st.posted++;
	req_send(s, OP_CREATE, k, (size_t)n + bl, now);
}

static void post_delete(struct ua_slot *s, uint32_t k)
{
	struct ua_sess *ss = &U.ss[k];
	int n = snprintf(U.out, U.out_cap, "DELETE /v1/sessions/%s HTTP/1.1\r\nHost: %s\r\n%s\r\n",
			 ss->id, U.api, U.auth_hdr);
	ss->flags |= SF_DEL;
	U.st.del_sent++;
	req_send(s, OP_DELETE, k, (size_t)n, bench_now_ns());
}

/* Makes room for sequence <seq> in the bitmap of delivered messages. 0, or -ENOMEM. */
static int seen_grow(uint64_t seq)
{
	if (seq < U.seen_cap)
		return 0;
	uint64_t cap = U.seen_cap ? U.seen_cap * 2 : 1u << 20;
	while (cap <= seq)
		cap *= 2;
	uint8_t *p = realloc(U.seen, cap / 8);
	if (!p)
		return -ENOMEM;
	memset(p + U.seen_cap / 8, 0, (cap - U.seen_cap) / 8);
	U.seen = p;
	if (U.imdn) {
		uint64_t *t = realloc(U.t_msg, cap * sizeof(*t));
		if (t)
			U.t_msg = t;
		uint8_t *e = t ? realloc(U.ev_seen, cap / 8) : NULL;
		if (!e)
			return -ENOMEM;
		memset(e + U.seen_cap / 8, 0, (cap - U.seen_cap) / 8);
		U.ev_seen = e;
	}
	U.seen_cap = cap;
	return 0;
}

static void post_msg(struct ua_slot *s)
{
	uint64_t seq = U.next_seq;
	uint32_t k = U.live[seq % U.nlive];
	if (seen_grow(seq) < 0) {
		fprintf(stderr, "rcsbench: out of memory\n");
		atomic_store(&U.stop_new, 1);
		return;
	}
	U.next_seq++;
	int n = snprintf(U.out, U.out_cap, "POST /v1/sessions/%s/messages HTTP/1.1\r\nHost: %s\r\n"
			 "%sContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
			 U.ss[k].id, U.api, U.auth_hdr, U.tmpl_len);
	char *b = U.out + n;
	memcpy(b, U.tmpl, U.tmpl_body);
	b += U.tmpl_body;
	uint64_t now = bench_now_ns();
	bm_put_hex(b, now, 16);
	bm_put_hex(b + 16, seq, 16);
	bm_put_hex(b + 32, k, 8);
	memcpy(b + BODY_HDR, U.pat + pat_off(seq, k), U.size - BODY_HDR);
	memcpy(b + U.size, U.tmpl + U.tmpl_body + U.size, U.tmpl_len - U.tmpl_body - U.size);
	if (U.imdn) {
		bm_put_hex(U.out + n + U.tmpl_mid, seq, 16);
		U.t_msg[seq] = now;
	}
	U.st.msg_posted++;
	req_send(s, OP_MSG, k, (size_t)n + U.tmpl_len, now);
}

/* ---- phases ------------------------------------------------------------------------------- */

/* The phase has nothing left to start and every connection is idle: tell main. */
static void check_quiet(void)
{
	if (atomic_load_explicit(&U.a_quiet, memory_order_relaxed) == U.gen)
		return;
	int more = 0;
	switch (U.phase) {
	case PH_SETUP:
		more = !stop_new() && U.next_sess < U.nsess;
		break;
	case PH_SEND:
		more = !stop_new() && U.nlive;
		break;
	case PH_DELETE:
		more = U.del_next < U.nsess;
		break;
	case PH_IDLE:
		return;
	}
	if (more)
		return;
	for (uint64_t i = 0; i < U.conc; i++) {
		const struct ua_slot *s = &U.slots[i];
		if (s->op != OP_NONE || s->waiting || s->del_k >= 0)
			return;
	}
	atomic_store(&U.a_quiet, U.gen);
}

/* Session <k> is resolved (up, failed or timed out): counted once; its slot goes on. */
static void sess_resolve(struct ua_slot *s, uint32_t k, uint32_t how)
{
	struct ua_sess *ss = &U.ss[k];
	ss->flags |= SF_DONE | how;
	if (s->waiting && s->k == k)
		s->waiting = 0;
	if (!U.hold_now && (ss->flags & (SF_CREATED | SF_DEL)) == SF_CREATED)
		s->del_k = k; /* up or not: what rcsgw created goes */
	bump(&U.a_progress);
}

/* Which request comes next on an idle connection. */
static void slot_next(struct ua_slot *s)
{
	if (!s->c || !s->connected || s->op != OP_NONE || stopping())
		return;
	if (s->del_k >= 0) {
		uint32_t k = (uint32_t)s->del_k;
		s->del_k = -1;
		post_delete(s, k);
		return;
	}
	if (s->waiting)
		return;
	switch (U.phase) {
	case PH_SETUP:
		if (!stop_new() && U.next_sess < U.nsess) {
			post_create(s, U.next_sess++);
			return;
		}
		break;
	case PH_SEND:
		if (!stop_new() && U.nlive) {
			post_msg(s);
			return;
		}
		break;
	case PH_DELETE:
		while (U.del_next < U.nsess) {
			uint32_t k = U.del_next++;
			if ((U.ss[k].flags & (SF_CREATED | SF_DEL)) == SF_CREATED) {
				post_delete(s, k);
				return;
			}
		}
		break;
	case PH_IDLE:
		return;
	}
	check_quiet();
}

/* Mailbox message from main: phase <u64 & 0xff>, generation <u64 >> 8>. */
static void cmd_phase(eng_worker *w, void *arg, uint64_t u64)
{
	(void)w;
	(void)arg;
	U.phase = (enum phase)(u64 & 0xff);
	U.gen = u64 >> 8;
	U.hold_now = U.hold || U.send_mode;
	if (U.phase == PH_SEND) {
		U.nlive = 0;
		for (uint32_t k = 0; k < U.nsess; k++)
			if ((U.ss[k].flags & (SF_CREATED | SF_UP | SF_FAILED)) == (SF_CREATED | SF_UP))
				U.live[U.nlive++] = k;
	}
	if (U.phase == PH_SEND)
		bench_hist_reset(&U.api_lat); /* POST -> 202 only */
	if (U.phase == PH_DELETE)
		U.del_next = 0;
	for (uint64_t i = 0; i < U.conc; i++)
		slot_next(&U.slots[i]);
	check_quiet();
}

/* ---- HTTP answers ------------------------------------------------------------------------- */

/* The "id" of a 201's JSON body into <id>. 0, or -1. */
static int created_id(const struct bench_http_ans *a, char id[ID_MAX])
{
	json_t *j = json_loadb(a->body, a->body_len, 0, NULL);
	const char *v = json_string_value(json_object_get(j, "id"));
	int rc = v && *v && strlen(v) < ID_MAX && !strpbrk(v, "/?# \r\n") ? 0 : -1;
	if (rc == 0)
		strcpy(id, v);
	json_decref(j);
	return rc;
}

static void first(int *slot, int status)
{
	if (!*slot)
		*slot = status;
}

/* The request in flight on <s> failed without an answer (connection lost, time-out). */
static void op_failed(struct ua_slot *s)
{
	int op = s->op;
	s->op = OP_NONE;
	switch (op) {
	case OP_CREATE:
		sess_resolve(s, s->k, SF_FAILED);
		break;
	case OP_DELETE:
		U.st.del_errors++;
		bump(&U.a_progress);
		break;
	case OP_MSG:
		U.st.msg_other++;
		bump(&U.a_progress);
		break;
	}
}

static void on_answer(struct ua_slot *s, const struct bench_http_ans *a)
{
	uint64_t now = bench_now_ns();
	int op = s->op;
	uint32_t k = s->k;
	struct ua_sess *ss = &U.ss[k];

	s->op = OP_NONE;
	bump(&U.a_progress);
	switch (op) {
	case OP_CREATE:
		bench_hist_record(&U.api_lat, now - s->t_sent);
		if (a->status != 201 || created_id(a, ss->id) < 0) {
			if (a->status == 201) {
				U.st.bad_answers++;
			} else {
				U.st.non_201++;
				first(&U.st.first_status, a->status);
			}
			sess_resolve(s, k, SF_FAILED);
			break;
		}
		ss->flags |= SF_CREATED;
		U.st.created++;
		if (ss->flags & SF_UP)
			sess_resolve(s, k, 0);
		else
			s->waiting = 1;
		break;
	case OP_DELETE:
		if (a->status == 204 || a->status == 200) {
			ss->flags |= SF_GONE;
			bump(&U.a_deleted);
			if (ss->flags & SF_UP)
				bump(&U.a_del_up); /* a BYE is owed */
		} else {
			U.st.del_errors++;
			first(&U.st.first_del_status, a->status);
		}
		break;
	case OP_MSG:
		if (in_window(now))
			bench_hist_record(&U.api_lat, now - s->t_sent);
		if (a->status == 202) {
			U.st.msg_202++;
			bump(&U.a_accepted);
		} else {
			U.st.msg_other++;
			first(&U.st.first_msg_status, a->status);
		}
		break;
	default:
		U.st.bad_answers++; /* an answer to nothing */
		break;
	}
}

static void h_recv(eng_conn *c, eng_buf *b, uint32_t off, uint32_t len)
{
	struct ua_slot *s = c->udata;
	struct bench_http_ans a;

	if (s->rx_len + len > HTTP_RX_CAP) {
		U.st.bad_answers++;
		op_failed(s);
		eng_abort(c, -EMSGSIZE);
		return;
	}
	memcpy(s->rx + s->rx_len, b->data + off, len);
	s->rx_len += len;
	while (s->c == c && s->rx_len) {
		int rc = bench_http_parse(s->rx, s->rx_len, HTTP_RX_CAP, &a);
		if (rc == 0)
			return;
		if (rc < 0 || s->op == OP_NONE) {
			if (U.st.bad_answers++ == 0)
				fprintf(stderr, "rcsbench: an API answer this reader does not take: "
					"'%.60s'\n", s->rx);
			op_failed(s);
			eng_abort(c, -EPROTO);
			return;
		}
		on_answer(s, &a);
		memmove(s->rx, s->rx + a.total, s->rx_len - a.total);
		s->rx_len -= a.total;
		if (a.close) {
			eng_close(c); /* the next request goes on a new connection */
			return;
		}
		slot_next(s);
	}
}

static void h_connect(eng_conn *c, int err)
{
	struct ua_slot *s = c->udata;
	if (err < 0)
		return; /* on_close follows */
	if (!s->counted)
		bump(&U.a_connected);
	s->counted = 1;
	s->connected = 1;
	s->reconnect = 0;
	slot_next(s);
}

static void h_close(eng_conn *c, int err)
{
	struct ua_slot *s = c->udata;
	(void)err;
	if (s->c != c)
		return;
	s->c = NULL;
	s->rx_len = 0;
	if (s->op != OP_NONE) {
		U.st.http_errors++;
		op_failed(s);
	}
	s->connected = 0;
	s->reconnect = 1; /* the next tick */
}

static const struct eng_conn_ops h_ops = {
	.on_recv = h_recv,
	.on_connect = h_connect,
	.on_close = h_close,
};

static void slot_connect(struct ua_slot *s)
{
	int rc = eng_connect(U.w, U.api, NULL, NULL, &h_ops, s, &s->c);
	if (rc < 0) {
		s->c = NULL;
		s->reconnect = 1;
	}
}

/* Time-outs, reconnections, and the end of a phase when it came from a time-out. */
static void on_tick(eng_timer *t)
{
	uint64_t now = bench_now_ns();
	for (uint64_t i = 0; i < U.conc && !stopping(); i++) {
		struct ua_slot *s = &U.slots[i];
		if (!s->c && s->reconnect) {
			U.st.http_reconnects++;
			slot_connect(s);
		}
		if (s->op != OP_NONE && now - s->t_sent > U.timeout_ns) {
			U.st.http_timeouts++;
			op_failed(s);
			eng_abort(s->c, -ETIMEDOUT);
		} else if (s->waiting && now - U.ss[s->k].t_post > U.timeout_ns) {
			U.st.timeouts++;
			sess_resolve(s, s->k, SF_FAILED);
			slot_next(s);
		}
	}
	check_quiet();
	if (!stopping())
		eng_timer_arm(U.w, t, TICK_MS);
}

/* ---- SIP UAS ------------------------------------------------------------------------------ */

/* A header line <h> (<n> bytes, no CRLF) named <name> or compact <c> (0: none)? */
static int hdr_is(const char *h, size_t n, const char *name, char c)
{
	size_t l = strlen(name);
	const char *q;
	if (n > l && strncasecmp(h, name, l) == 0)
		q = h + l;
	else if (c && n > 1 && (h[0] | 0x20) == c)
		q = h + 1;
	else
		return 0;
	while (q < h + n && (*q == ' ' || *q == '\t'))
		q++;
	return q < h + n && *q == ':';
}

struct sbuf {
	char *p;
	size_t len, cap;
	int over;
};

static void put(struct sbuf *b, const char *s, size_t n)
{
	if (b->len + n > b->cap) {
		b->over = 1;
		return;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void putf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= b->cap - b->len)
		b->over = 1;
	else
		b->len += (size_t)n;
}

/* Answers request <m> (its head ends at <hend>, before the empty line) with <code>: its Via, From, To (with
 * our tag when it has none), Call-ID and CSeq; with <sdp> the answer of session <k>. */
static void sip_answer(const char *m, const char *hend, int code, const char *reason, int64_t k,
		       int sdp, const struct sockaddr_storage *to, socklen_t tolen)
{
	char buf[SIP_BUF], body[1024];
	struct sbuf b = { buf, 0, sizeof(buf), 0 };
	const char *h = memchr(m, '\n', (size_t)(hend - m));

	putf(&b, "SIP/2.0 %d %s\r\n", code, reason);
	while (h && ++h < hend) {
		const char *nl = memchr(h, '\n', (size_t)(hend - h));
		if (!nl)
			break;
		size_t n = (size_t)(nl - h) - (nl > h && nl[-1] == '\r');
		if (hdr_is(h, n, "via", 'v') || hdr_is(h, n, "from", 'f') ||
		    hdr_is(h, n, "call-id", 'i') || hdr_is(h, n, "cseq", 0)) {
			put(&b, h, n);
			put(&b, "\r\n", 2);
		} else if (hdr_is(h, n, "to", 't')) {
			put(&b, h, n);
			if (!memmem(h, n, ";tag=", 5))
				putf(&b, ";tag=b%" PRId64, k);
			put(&b, "\r\n", 2);
		}
		h = nl;
	}
	int blen = 0;
	if (sdp) {
		blen = snprintf(body, sizeof(body),
				"v=0\r\no=- %" PRId64 " 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"
				"m=message %d TCP/MSRP *\r\na=accept-types:%s\r\n%s"
				"a=path:msrp://%s:%d/s%" PRId64 ";tcp\r\na=setup:passive\r\n",
				k, U.msrp_host, U.msrp_host, U.msrp_port,
				U.imdn ? "message/cpim text/plain" : "text/plain",
				U.imdn ? "a=accept-wrapped-types:text/plain message/imdn+xml\r\n" : "",
				U.msrp_host, U.msrp_port, k);
		putf(&b, "Contact: <sip:s%" PRId64 "@%s>\r\nContent-Type: application/sdp\r\n", k,
		     U.sip_hp);
	}
	putf(&b, "Content-Length: %d\r\n\r\n", blen);
	put(&b, body, (size_t)blen);
	if (b.over) {
		U.st.sip_other++;
		return;
	}
	eng_udp_send(U.udp, buf, b.len, (const struct sockaddr *)to, tolen);
}

/* The value of header <name> (compact <c>) of request <m> (head up to <hend>), blanks
 * trimmed, length in *<n>; NULL when it has none. */
static const char *hdr_value(const char *m, const char *hend, const char *name, char c,
			     size_t *n)
{
	const char *h = memchr(m, '\n', (size_t)(hend - m));
	while (h && ++h < hend) {
		const char *nl = memchr(h, '\n', (size_t)(hend - h));
		if (!nl)
			break;
		size_t l = (size_t)(nl - h) - (nl > h && nl[-1] == '\r');
		if (hdr_is(h, l, name, c)) {
			const char *v = memchr(h, ':', l) + 1, *e = h + l;
			while (v < e && (*v == ' ' || *v == '\t'))
				v++;
			while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
				e--;
			*n = (size_t)(e - v);
			return v;
		}
		h = nl;
	}
	return NULL;
}

/* 64-bit FNV-1a of <p>[0, <n>): Call-IDs come from rcsgw, no flooding to fear here. */
static uint64_t fnv1a(const char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)p[i]) * 0x100000001b3ull;
	return h ? h : 1;
}

/* ua-sink: the session of request <m> by its Call-ID; with <create> (an INVITE) a new one
 * when the Call-ID is new. Its index, -1 when there is none (or no Call-ID), -2 when a new
 * one would pass --sessions. */
static int64_t sink_sess(const char *m, const char *hend, int create, uint64_t now)
{
	size_t n = 0;
	const char *cid = hdr_value(m, hend, "call-id", 'i', &n);
	if (!cid || !n)
		return -1;
	uint64_t h = fnv1a(cid, n), i = h & U.cidmask;
	for (; U.cidtab[i]; i = (i + 1) & U.cidmask)
		if (U.ss[U.cidtab[i] - 1].cid == h)
			return U.cidtab[i] - 1;
	if (!create)
		return -1;
	if (U.next_sess >= U.nsess)
		return -2;
	uint32_t k = U.next_sess++;
	U.ss[k].cid = h;
	U.ss[k].t_post = now;
	U.ss[k].flags = SF_POSTED;
	U.cidtab[i] = k + 1;
	return k;
}

static void on_sip(eng_udp *u, void *udata, const char *m, size_t len,
		   const struct sockaddr_storage *from, socklen_t fromlen)
{
	(void)u;
	(void)udata;
	const char *hend = memmem(m, len, "\r\n\r\n", 4);
	const char *sp1 = memchr(m, ' ', len);
	if (!hend || !sp1 || (len >= 8 && memcmp(m, "SIP/2.0 ", 8) == 0)) {
		U.st.sip_other++; /* a response, or not SIP */
		return;
	}
	hend += 2; /* the last header's CRLF stays in */
	const char *ruri = sp1 + 1, *sp2 = memchr(ruri, ' ', (size_t)(hend - ruri));
	size_t mlen = (size_t)(sp1 - m);
	int64_t k = -1;
	if (U.sink)
		k = sink_sess(m, hend, mlen == 6 && memcmp(m, "INVITE", 6) == 0, bench_now_ns());
	else if (sp2 && sp2 - ruri > 4 && strncasecmp(ruri, "sip:", 4) == 0)
		k = sess_index(ruri + 4, (size_t)(sp2 - ruri - 4));
	struct ua_sess *ss = k >= 0 ? &U.ss[k] : NULL;
	if (ss && !(ss->flags & SF_POSTED))
		ss = NULL;

	if (mlen == 6 && memcmp(m, "INVITE", 6) == 0) {
		if (!ss && k == -2) {
			U.st.invite_refused++; /* ua-sink: --sessions reached */
			sip_answer(m, hend, 503, "Service Unavailable", k, 0, from, fromlen);
			return;
		}
		if (!ss) {
			U.st.sip_stray++;
			sip_answer(m, hend, 404, "Not Found", k, 0, from, fromlen);
			return;
		}
		if (ss->flags & SF_INVITED) {
			U.st.invite_retrans++;
		} else {
			ss->flags |= SF_INVITED;
			U.st.invites++;
		}
		sip_answer(m, hend, 200, "OK", k, 1, from, fromlen);
	} else if (mlen == 3 && memcmp(m, "ACK", 3) == 0) {
		if (!ss)
			U.st.sip_stray++;
		else if (!(ss->flags & SF_ACKED))
			U.st.acks++;
		if (ss)
			ss->flags |= SF_ACKED;
	} else if (mlen == 3 && memcmp(m, "BYE", 3) == 0) {
		sip_answer(m, hend, ss ? 200 : 481, ss ? "OK" : "Call Does Not Exist", k, 0, from,
			   fromlen);
		if (!ss) {
			U.st.sip_stray++;
		} else if (ss->flags & SF_BYE) {
			U.st.bye_retrans++;
		} else {
			ss->flags |= SF_BYE;
			U.st.byes++;
			bump(&U.a_byes);
		}
	} else if (mlen == 6 && memcmp(m, "CANCEL", 6) == 0) {
		U.st.cancels++;
		sip_answer(m, hend, 200, "OK", k, 0, from, fromlen);
	} else {
		U.st.sip_other++;
		sip_answer(m, hend, 501, "Not Implemented", k, 0, from, fromlen);
	}
}

/* ---- MSRP endpoint ------------------------------------------------------------------------ */

static void rep_flush(struct ua_mconn *mc)
{
	if (U.rep_len && mc->c) {
		int rc = eng_send(mc->c, U.rep, U.rep_len);
		if (rc < 0 && rc != -EPIPE)
			eng_abort(mc->c, rc);
	}
	U.rep_len = 0;
}

/* Queues the 200 to SEND <f>: To-Path the sender (first From-Path URI), From-Path us (first
 * To-Path URI). */
static void rep_200(struct ua_mconn *mc, const struct bm_frame *f, const char *to,
		    uint32_t tolen)
{
	const char *fp = "";
	uint32_t fplen = 0;
	if (bm_header(f, "From-Path", &fp, &fplen) == 0)
		fplen = bm_first_uri(fp, fplen);
	size_t need = 2 * f->tid_len + fplen + tolen + 64;
	if (need > REP_CAP)
		return;
	if (U.rep_len + need > REP_CAP)
		rep_flush(mc);
	U.rep_len += (size_t)snprintf(U.rep + U.rep_len, REP_CAP - U.rep_len,
				      "MSRP %.*s 200 OK\r\nTo-Path: %.*s\r\nFrom-Path: %.*s\r\n"
				      "-------%.*s$\r\n", (int)f->tid_len, f->tid, (int)fplen, fp,
				      (int)tolen, to, (int)f->tid_len, f->tid);
}

/* Session <k>'s binding SEND arrived. */
static void sess_up(uint32_t k, uint64_t now)
{
	struct ua_sess *ss = &U.ss[k];
	if (ss->flags & SF_UP) {
		U.st.bind_dup++;
		return;
	}
	ss->flags |= SF_UP;
	U.st.up++;
	bump(&U.a_up);
	bump(&U.a_progress);
	if (ss->flags & SF_DONE) {
		U.st.up_late++; /* after its time-out */
		return;
	}
	bench_hist_record(&U.setup_lat, now - ss->t_post);
	if (in_window(now))
		U.st.up_win++;
	if (ss->flags & SF_CREATED) {
		struct ua_slot *s = &U.slots[ss->slot];
		sess_resolve(s, k, 0);
		slot_next(s);
	}
}

/* --imdn: the text/plain body inside CPIM message <f> (its imdn.Message-ID "b" + 16 hex
 * digits into *<mid>), length in *<len>; NULL when it is not that. */
static const char *cpim_body(const struct bm_frame *f, uint32_t *len, uint64_t *mid)
{
	static const char idh[] = "\r\nimdn.Message-ID: b";
	const char *ct, *p = f->body, *end = f->body + f->body_len;
	uint32_t ctlen;
	if (bm_header(f, "Content-Type", &ct, &ctlen) < 0 || ctlen != 12 ||
	    memcmp(ct, "message/cpim", 12) != 0)
		return NULL;
	const char *h = memmem(p, f->body_len, "\r\n\r\n", 4); /* the CPIM headers' end */
	const char *m = h ? memmem(h + 4, (size_t)(end - h - 4), "\r\n\r\n", 4) : NULL;
	const char *i = h ? memmem(p, (size_t)(h - p + 2), idh, sizeof(idh) - 1) : NULL;
	if (!m || !i || bm_get_hex(i + sizeof(idh) - 1, 16, mid) < 0 ||
	    !memmem(h + 2, (size_t)(m - h), "\r\nContent-Type: text/plain\r\n", 28))
		return NULL;
	*len = (uint32_t)(end - m - 4);
	return m + 4;
}

/* --imdn: queues on <mc> an IMDN "delivered" (RFC 5438 §7.2.1.1, message/imdn+xml in
 * message/cpim) about message "b<seq>" that SEND <f> of session <k> brought. */
static void imdn_send(struct ua_mconn *mc, const struct bm_frame *f, uint64_t seq, uint32_t k)
{
	const char *fp = "", *tp = "";
	uint32_t fplen = 0, tplen = 0;
	char hex[17], dt[32], xml[512], cpim[1024];
	if (bm_header(f, "From-Path", &fp, &fplen) == 0)
		fplen = bm_first_uri(fp, fplen);
	if (bm_header(f, "To-Path", &tp, &tplen) == 0)
		tplen = bm_first_uri(tp, tplen);
	bm_put_hex(hex, seq, 16);
	hex[16] = 0;
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(dt, sizeof(dt), "%Y-%m-%dT%H:%M:%SZ", &tm);
	int xl = snprintf(xml, sizeof(xml),
			  "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n"
			  "<imdn xmlns=\"urn:ietf:params:xml:ns:imdn\"><message-id>b%s</message-id>"
			  "<datetime>%s</datetime><delivery-notification><status><delivered/>"
			  "</status></delivery-notification></imdn>\r\n", hex, dt);
	int cl = snprintf(cpim, sizeof(cpim),
			  "From: <sip:s%" PRIu32 "@%s>\r\nTo: <sip:rcsbench@127.0.0.1>\r\n"
			  "NS: imdn <urn:ietf:params:imdn>\r\nimdn.Message-ID: n%s\r\n"
			  "DateTime: %s\r\n\r\nContent-Type: message/imdn+xml\r\n"
			  "Content-Disposition: notification\r\nContent-Length: %d\r\n\r\n%s", k,
			  U.sip_hp, hex, dt, xl, xml);
	size_t need = (size_t)cl + fplen + tplen + 200;
	if (xl <= 0 || cl <= 0 || (size_t)cl >= sizeof(cpim) || need > REP_CAP)
		return;
	if (U.rep_len + need > REP_CAP)
		rep_flush(mc);
	U.rep_len += (size_t)snprintf(U.rep + U.rep_len, REP_CAP - U.rep_len,
				      "MSRP i%s SEND\r\nTo-Path: %.*s\r\nFrom-Path: %.*s\r\n"
				      "Message-ID: n%s\r\nByte-Range: 1-%d/%d\r\n"
				      "Content-Type: message/cpim\r\n\r\n%s\r\n-------i%s$\r\n", hex,
				      (int)fplen, fp, (int)tplen, tp, hex, cl, cl, cpim, hex);
	U.st.imdn_sent++;
}

/* A message SEND (body <f>) arrived for session <k>: check it (and, --imdn, answer it with
 * an IMDN on <mc>). */
static void deliver(struct ua_mconn *mc, uint32_t k, const struct bm_frame *f, uint64_t now)
{
	uint64_t stamp, seq, id, mid = UINT64_MAX;
	const char *ct, *body = f->body;
	uint32_t ctlen, blen = f->body_len;

	if (f->flag != '$') {
		U.st.chunked++; /* rcsgw cut it (msrp.chunk_size): its last piece fails below */
		return;
	}
	if (U.imdn) {
		body = cpim_body(f, &blen, &mid);
		ct = "text/plain"; /* checked inside */
		ctlen = 10;
	} else if (bm_header(f, "Content-Type", &ct, &ctlen) < 0) {
		body = NULL;
	}
	if (!body || blen != U.size || bm_get_hex(body, 16, &stamp) < 0 ||
	    bm_get_hex(body + 16, 16, &seq) < 0 || bm_get_hex(body + 32, 8, &id) < 0 ||
	    id != k || seq >= U.next_seq || !U.nlive || U.live[seq % U.nlive] != k ||
	    (U.imdn && mid != seq) || ctlen != 10 || memcmp(ct, "text/plain", 10) != 0 ||
	    memcmp(body + BODY_HDR, U.pat + pat_off(seq, k), U.size - BODY_HDR) != 0) {
		U.st.verify_errors++;
		return;
	}
	if (U.seen[seq / 8] & (1u << (seq % 8))) {
		U.st.duplicates++;
		return;
	}
	U.seen[seq / 8] |= (uint8_t)(1u << (seq % 8));
	U.st.delivered++;
	bump(&U.a_delivered);
	if (in_window(now)) {
		bench_hist_record(&U.lat, now > stamp ? now - stamp : 0);
		U.st.msgs_win++;
	}
	if (U.imdn)
		imdn_send(mc, f, seq, k);
}

/* ua-sink: a message SEND (or a piece of one) arrived. The first whole message opens the
 * window: --warmup later, for --duration. */
static void sink_deliver(const struct bm_frame *f, uint64_t now)
{
	int whole = f->flag == '$';
	if (whole && !atomic_load_explicit(&U.a_first, memory_order_relaxed)) {
		atomic_store(&U.win_end, now + U.warmup_ns + U.duration_ns);
		atomic_store(&U.win_start, now + U.warmup_ns);
		atomic_store(&U.a_first, now);
	}
	int win = in_window(now);
	U.st.bytes += f->body_len;
	U.st.bytes_win += win ? f->body_len : 0;
	if (!whole) {
		U.st.chunked++; /* '+' or '#': rcsgw cut it (msrp.chunk_size) */
		return;
	}
	U.st.delivered++;
	U.st.msgs_win += win;
	bump(&U.a_delivered);
	atomic_store_explicit(&U.a_last, now, memory_order_relaxed);
}

static void on_frame(struct ua_mconn *mc, const struct bm_frame *f, uint64_t now)
{
	const char *v;
	uint32_t vlen;

	if (f->code && U.imdn && f->tid_len == 17 && f->tid[0] == 'i') {
		if (f->code == 200) /* rcsgw's answer to one of our IMDNs */
			U.st.imdn_acked++;
		else
			U.st.imdn_refused++;
		return;
	}
	if (f->code || f->method_len != 4 || memcmp(f->method, "SEND", 4) != 0) {
		U.st.msrp_other++; /* responses, REPORTs: nothing to answer */
		return;
	}
	if (bm_header(f, "To-Path", &v, &vlen) < 0) {
		U.st.unknown_sess++;
		return;
	}
	vlen = bm_first_uri(v, vlen);
	rep_200(mc, f, v, vlen);
	const char *sl = memrchr(v, '/', vlen);
	int64_t k = sl ? sess_index(sl + 1, (size_t)(v + vlen - sl - 1)) : -1;
	if (k < 0 || !(U.ss[k].flags & SF_POSTED)) {
		U.st.unknown_sess++;
		return;
	}
	if (!f->body_len)
		sess_up((uint32_t)k, now);
	else if (U.sink)
		sink_deliver(f, now);
	else
		deliver(mc, (uint32_t)k, f, now);
}

/* Splits and handles the frames of <p>[0, <len>). Bytes consumed, or -1 (not MSRP). */
static long m_consume(struct ua_mconn *mc, const char *p, size_t len, uint64_t now)
{
	size_t used = 0;
	struct bm_frame f;
	while (used < len) {
		int n = bm_frame_split(p + used, len - used, &f, &mc->hint);
		if (n == 0)
			break;
		if (n < 0) {
			fprintf(stderr, "rcsbench: malformed MSRP from rcsgw: '%.40s'\n", p + used);
			return -1;
		}
		on_frame(mc, &f, now);
		used += (size_t)n;
	}
	return (long)used;
}

/* Keeps <n> bytes of an unfinished frame. 0, or -1 past the bound. */
static int m_stash(struct ua_mconn *mc, const char *p, size_t n)
{
	if (mc->rx_len + n > mc->rx_cap) {
		size_t cap = mc->rx_cap ? mc->rx_cap : 65536;
		while (cap < mc->rx_len + n)
			cap *= 2;
		if (cap > 4 * ((U.sink ? SINK_BODY_MAX : U.size) + BM_HEAD_MAX) + 65536)
			return -1;
		char *nb = realloc(mc->rx, cap);
		if (!nb)
			return -1;
		mc->rx = nb;
		mc->rx_cap = (uint32_t)cap;
	}
	memcpy(mc->rx + mc->rx_len, p, n);
	mc->rx_len += (uint32_t)n;
	return 0;
}

static void m_recv(eng_conn *c, eng_buf *b, uint32_t off, uint32_t len)
{
	struct ua_mconn *mc = c->udata;
	const char *p = b->data + off;
	uint64_t now = bench_now_ns();
	long used;

	if (mc->rx_len == 0) {
		used = m_consume(mc, p, len, now);
		if (used >= 0 && (uint32_t)used < len && m_stash(mc, p + used, len - (size_t)used) < 0)
			used = -1;
	} else {
		used = m_stash(mc, p, len) < 0 ? -1 : m_consume(mc, mc->rx, mc->rx_len, now);
		if (used > 0) {
			memmove(mc->rx, mc->rx + used, mc->rx_len - (size_t)used);
			mc->rx_len -= (uint32_t)used;
		}
	}
	rep_flush(mc);
	if (used < 0) {
		U.st.verify_errors++;
		eng_abort(c, -EPROTO);
	}
}

static void m_close(eng_conn *c, int err)
{
	struct ua_mconn *mc = c->udata;
	mc->c = NULL;
	/* rcsgw closes a session's own connection (a=connection:new) when the session ends:
	 * a clean close is that; an error is a loss */
	if (!stopping() && err) {
		U.st.msrp_lost++;
		if (err)
			fprintf(stderr, "rcsbench: rcsgw's MSRP connection lost: %s\n", strerror(-err));
	}
}

static const struct eng_conn_ops m_ops = {
	.on_recv = m_recv,
	.on_close = m_close,
};

static void m_accept(eng_listener *l, eng_conn *c)
{
	struct ua_mconn *mc = calloc(1, sizeof(*mc));
	(void)l;
	if (!mc) {
		eng_close(c);
		return;
	}
	mc->c = c;
	mc->next = U.mconns;
	U.mconns = mc;
	U.st.msrp_conns++;
	eng_conn_start(c, &m_ops, mc);
}

/* ---- --imdn: rcsgw's event stream ------------------------------------------------------- */

#define SSE_LINE_MAX 65536

/* One line of GET /v1/events (no line break): the HTTP head, then SSE fields. */
static void sse_line(const char *l, size_t n, uint64_t now)
{
	static const char mid[] = "\"message_id\":\"b";
	uint64_t seq;
	if (!U.sse_head) {
		if (n >= 12 && !memcmp(l, "HTTP/1.", 7) && memcmp(l + 9, "200", 3) != 0) {
			U.st.sse_bad++;
			fprintf(stderr, "rcsbench: GET /v1/events: '%.*s'\n", (int)n, l);
		} else if (n == 0) {
			U.sse_head = 1;
			atomic_store(&U.a_sse, 1);
		}
		return;
	}
	if (n == 0) { /* the end of an event */
		U.sse_type = 0;
		return;
	}
	if (n > 7 && !memcmp(l, "event: ", 7)) {
		U.sse_type = n == 24 && !memcmp(l + 7, "message.delivered", 17) ? 1
			     : n == 21 && !memcmp(l + 7, "message.failed", 14) ? 2 : 0;
		return;
	}
	if (!U.sse_type || n < 6 || memcmp(l, "data: ", 6) != 0)
		return;
	const char *m = memmem(l, n, mid, sizeof(mid) - 1);
	if (!m || (size_t)(l + n - m) < sizeof(mid) - 1 + 16 ||
	    bm_get_hex(m + sizeof(mid) - 1, 16, &seq) < 0 || seq >= U.next_seq) {
		U.st.ev_unknown++;
		return;
	}
	if (U.sse_type == 2) {
		U.st.ev_failed++;
		bump(&U.a_events);
		return;
	}
	if (U.ev_seen[seq / 8] & (1u << (seq % 8))) {
		U.st.ev_dup++;
		return;
	}
	U.ev_seen[seq / 8] |= (uint8_t)(1u << (seq % 8));
	U.st.ev_delivered++;
	bump(&U.a_events);
	bump(&U.a_progress);
	if (in_window(now)) {
		bench_hist_record(&U.imdn_lat, now - U.t_msg[seq]);
		U.st.ev_win++;
	}
}

static void sse_recv(eng_conn *c, eng_buf *b, uint32_t off, uint32_t len)
{
	uint64_t now = bench_now_ns();
	const char *p = b->data + off, *end = p + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p);
		if (U.sse_len + n > SSE_LINE_MAX) {
			U.st.sse_bad++;
			eng_abort(c, -EMSGSIZE);
			return;
		}
		memcpy(U.sse_rx + U.sse_len, p, n);
		U.sse_len += (uint32_t)n;
		if (!nl)
			break;
		size_t ln = U.sse_len - (U.sse_len && U.sse_rx[U.sse_len - 1] == '\r');
		sse_line(U.sse_rx, ln, now);
		U.sse_len = 0;
		p = nl + 1;
	}
}

static void sse_connected(eng_conn *c, int err)
{
	char req[400];
	if (err < 0)
		return; /* on_close follows */
	int n = snprintf(req, sizeof(req), "GET /v1/events HTTP/1.0\r\nHost: %s\r\n%s"
			 "Accept: text/event-stream\r\n\r\n", U.api, U.auth_hdr);
	if (eng_send(c, req, (size_t)n) < 0)
		eng_abort(c, -EIO);
}

static void sse_close(eng_conn *c, int err)
{
	(void)c;
	(void)err;
	U.sse = NULL;
	if (!stopping()) {
		U.st.sse_lost++;
		fprintf(stderr, "rcsbench: the event stream closed\n");
	}
	atomic_store(&U.a_sse, 2);
}

static const struct eng_conn_ops sse_ops = {
	.on_recv = sse_recv,
	.on_connect = sse_connected,
	.on_close = sse_close,
};

/* ---- the worker --------------------------------------------------------------------------- */

/* The worker stops (eng_destroy): the tick and the UAS go. */
static void ua_stop(eng_worker *w, void *arg)
{
	(void)w;
	(void)arg;
	eng_timer_cancel(&U.tick);
	if (U.udp)
		eng_udp_close(U.udp);
	U.udp = NULL;
}

static void ua_init(eng_worker *w, void *arg)
{
	int err = 0;
	(void)arg;

	U.w = w;
	eng_worker_on_stop(w, ua_stop, NULL);
	bench_listen_worker(&U.bl, w);
	pthread_mutex_lock(&U.bl.mu);
	U.msrp_port = U.bl.port;
	pthread_mutex_unlock(&U.bl.mu);
	U.udp = eng_udp_open(w, U.sip_listen, 0, on_sip, NULL, &err);
	if (!U.udp) {
		atomic_store(&U.a_udp, err ? err : -EIO);
		return;
	}
	U.sip_port = eng_udp_port(U.udp);
	snprintf(U.sip_hp, sizeof(U.sip_hp), "%s:%d", U.sip_host, U.sip_port);
	atomic_store(&U.a_udp, U.sip_port);
	for (uint64_t i = 0; i < U.conc; i++)
		slot_connect(&U.slots[i]);
	if (U.imdn && eng_connect(w, U.api, NULL, NULL, &sse_ops, NULL, &U.sse) < 0)
		atomic_store(&U.a_sse, 2);
	eng_timer_init(&U.tick, on_tick, NULL);
	eng_timer_arm(w, &U.tick, TICK_MS);
}

/* ---- main thread -------------------------------------------------------------------------- */

/* Waits until <done>() or <deadline>, or, with <stall_ns>, until no progress was made for
 * that long. 1 done, 0 deadline or stalled, -1 signal. */
static int wait_for(int (*done)(void), uint64_t deadline, uint64_t stall_ns)
{
	uint64_t last = atomic_load(&U.a_progress), last_t = bench_now_ns();
	for (;;) {
		if (done())
			return 1;
		uint64_t now = bench_now_ns();
		if (now >= deadline)
			return 0;
		uint64_t p = atomic_load(&U.a_progress);
		if (p != last) {
			last = p;
			last_t = now;
		} else if (stall_ns && now - last_t > stall_ns) {
			fprintf(stderr, "rcsbench: no progress for %.1f s: giving up\n",
				(double)stall_ns / 1e9);
			return 0;
		}
		uint64_t until = now + 2000000u < deadline ? now + 2000000u : deadline;
		if (bench_signals_wait_until(until))
			return -1;
	}
}

static uint64_t cur_gen;
static int quiet(void) { return atomic_load(&U.a_quiet) == cur_gen; }
static int all_connected(void)
{
	int64_t udp = atomic_load(&U.a_udp);
	return (udp > 0 && atomic_load(&U.a_connected) == U.conc) || udp < 0;
}
static int all_delivered(void) { return atomic_load(&U.a_delivered) >= atomic_load(&U.a_accepted); }
static int all_byes(void) { return atomic_load(&U.a_byes) >= atomic_load(&U.a_del_up); }
static int sse_known(void) { return atomic_load(&U.a_sse) != 0; }
static int all_events(void)
{
	return atomic_load(&U.a_events) >= atomic_load(&U.a_delivered) || atomic_load(&U.a_sse) == 2;
}

/* Runs phase <ph> and waits until it is quiet (bounded by <deadline> and the stall rule). */
static int phase(eng_engine *e, enum phase ph, uint64_t deadline)
{
	cur_gen++;
	if (eng_post(eng_worker_at(e, 0), cmd_phase, NULL, cur_gen << 8 | ph) < 0)
		return 0;
	return wait_for(quiet, deadline, 2 * U.timeout_ns + 1000000000u);
}

struct ua_result {
	struct bench_meter m;
	double window_s;
	int64_t rss0, rss1;        /* KiB: before the first session, with the sessions up */
	uint64_t live_at_rss;      /* sessions up when rss1 was read */
	struct ua_stats st;
	uint64_t deleted, byes;
	uint64_t bye_missing;      /* sessions up and deleted (204) whose BYE never came */
	int64_t setup_failed;      /* ua-send: sessions that did not come up */
	const char *backend;
	int signalled;
};

static double us(uint64_t ns) { return (double)ns / 1000.0; }
static json_t *num_or_null(double v) { return v >= 0 ? json_real(v) : json_null(); }

static uint64_t setup_failures(const struct ua_stats *st)
{
	return st->non_201 + st->timeouts + st->http_timeouts + st->http_errors + st->bad_answers;
}

static double rss_per_session(const struct ua_result *r)
{
	if (!U.hold || r->rss0 < 0 || r->rss1 < 0 || !r->live_at_rss || r->rss1 < r->rss0)
		return -1;
	return (double)(r->rss1 - r->rss0) * 1024.0 / (double)r->live_at_rss;
}

static void hist_json(json_t *o, const char *pfx, const struct bench_hist *h)
{
	char k[32];
	static const struct { const char *name; double p; } ps[] = {
		{ "p50", 50 }, { "p99", 99 }, { "p999", 99.9 },
	};
	for (unsigned i = 0; i < 3; i++) {
		snprintf(k, sizeof(k), "%s_%s_us", pfx, ps[i].name);
		json_object_set_new(o, k, json_real(us(bench_hist_percentile(h, ps[i].p))));
	}
	snprintf(k, sizeof(k), "%s_max_us", pfx);
	json_object_set_new(o, k, json_real(us(h->total ? h->max : 0)));
}

static void hist_text(const char *label, const struct bench_hist *h, const char *what)
{
	printf("  %-15s p50 %.1f  p99 %.1f  p99.9 %.1f  max %.1f (%s)\n", label,
	       us(bench_hist_percentile(h, 50)), us(bench_hist_percentile(h, 99)),
	       us(bench_hist_percentile(h, 99.9)), us(h->total ? h->max : 0), what);
}

#define JI(o, k, v) json_object_set_new((o), (k), json_integer((json_int_t)(v)))

/* The far end's SIP and MSRP lines of the text summary. */
static void far_end_text(const struct ua_stats *st)
{
	printf("  SIP             INVITEs %" PRIu64 " (+%" PRIu64 " retransmitted, %" PRIu64
	       " refused), ACKs %" PRIu64 ", BYEs %" PRIu64 " (+%" PRIu64 "), stray %" PRIu64
	       ", other %" PRIu64 "\n", st->invites, st->invite_retrans, st->invite_refused,
	       st->acks, st->byes, st->bye_retrans, st->sip_stray, st->sip_other + st->cancels);
	printf("  MSRP            %" PRIu64 " connection(s) from rcsgw (%" PRIu64 " lost), "
	       "unknown session %" PRIu64 ", double bind %" PRIu64 ", other frames %" PRIu64
	       "\n", st->msrp_conns, st->msrp_lost, st->unknown_sess, st->bind_dup,
	       st->msrp_other);
}

/* The far end's SIP and MSRP keys of the JSON line. */
static void far_end_json(json_t *o, const struct ua_stats *st)
{
	JI(o, "invites", st->invites);
	JI(o, "invite_retrans", st->invite_retrans);
	JI(o, "invite_refused", st->invite_refused);
	JI(o, "acks", st->acks);
	JI(o, "byes", st->byes);
	JI(o, "bye_retrans", st->bye_retrans);
	JI(o, "sip_stray", st->sip_stray);
	JI(o, "sip_other", st->sip_other + st->cancels);
	JI(o, "msrp_conns", st->msrp_conns);
	JI(o, "msrp_lost", st->msrp_lost);
	JI(o, "unknown_session", st->unknown_sess);
	JI(o, "double_bind", st->bind_dup);
	JI(o, "msrp_other", st->msrp_other);
}

/* The CPU lines of the text summary: generator and rcsgw per <per> ("msg", "session"),
 * from <gen_us> and <sut_us>. */
static void cpu_text(const struct ua_result *r, const char *per, double gen_us, double sut_us)
{
	const struct bench_meter *m = &r->m;
	printf("  CPU generator   %.2f us/%s (%.0f %% of a core)\n", gen_us, per,
	       m->gen_cores * 100);
	if (U.sut_pid > 0 && sut_us >= 0)
		printf("  CPU rcsgw       %.2f us/%s (%.0f %% of a core, pid %d)\n", sut_us, per,
		       m->sut_cores * 100, (int)U.sut_pid);
	else if (U.sut_pid > 0)
		printf("  CPU rcsgw       n/a (pid %d gone or unreadable)\n", (int)U.sut_pid);
}

/* The CPU and memory keys of the JSON line, per <per>. */
static void cpu_json(json_t *o, const struct ua_result *r, const char *per, double gen_us,
		     double sut_us)
{
	const struct bench_meter *m = &r->m;
	char k[40];
	snprintf(k, sizeof(k), "gen_cpu_us_per_%s", per);
	json_object_set_new(o, k, num_or_null(gen_us));
	json_object_set_new(o, "gen_cpu_cores", num_or_null(m->gen_cores));
	json_object_set_new(o, "sut_pid", U.sut_pid > 0 ? json_integer(U.sut_pid) : json_null());
	snprintf(k, sizeof(k), "sut_cpu_us_per_%s", per);
	json_object_set_new(o, k, U.sut_pid > 0 ? num_or_null(sut_us) : json_null());
	json_object_set_new(o, "sut_cpu_cores", U.sut_pid > 0 ? num_or_null(m->sut_cores)
							       : json_null());
	json_object_set_new(o, "sut_rss0_kib", r->rss0 >= 0 ? json_integer(r->rss0) : json_null());
	json_object_set_new(o, "sut_rss_kib", r->rss1 >= 0 ? json_integer(r->rss1) : json_null());
}

/* The last keys (noise, interruption), then <o> printed as one line and released. */
static void json_finish(json_t *o, const struct ua_result *r)
{
	const struct bench_meter *m = &r->m;
	json_object_set_new(o, "machine_cores", num_or_null(m->machine_cores));
	json_object_set_new(o, "others_cores", m->machine_cores >= 0
						       ? json_real(bench_meter_others(m))
						       : json_null());
	json_object_set_new(o, "interrupted", json_boolean(r->signalled));
	char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
	json_decref(o);
	if (s)
		puts(s);
	free(s);
}

static void report(const struct ua_result *r)
{
	const struct ua_stats *st = &r->st;
	const struct bench_meter *m = &r->m;
	uint64_t n = U.send_mode ? st->msgs_win : st->up_win;
	double rate = r->window_s > 0 ? (double)n / r->window_s : 0;
	double gen_us = bench_us_per_msg(m->gen_ns, n), sut_us = bench_us_per_msg(m->sut_ns, n);
	uint64_t lost = st->msg_202 > st->delivered ? st->msg_202 - st->delivered : 0;

	if (!U.json) {
		const char *mode = U.send_mode ? "ua-send" : "ua-setup";
		printf("rcsbench %s -> api %s  (UAS sip %s, msrp %s:%d), backend=%s\n", mode, U.api,
		       U.sip_hp, U.msrp_host, U.msrp_port, r->backend);
		if (!U.send_mode) {
			printf("  load            %" PRIu64 " sessions, %" PRIu64 " in flight%s\n",
			       U.nsess, U.conc, U.hold ? ", held (no DELETE until the end)"
						   : ", each DELETEd once up");
			printf("  window          %.2f s\n", r->window_s);
			printf("  sessions/s      %.0f established (%" PRIu64 " in the window, %" PRIu64
			       " in all, %" PRIu64 " late)\n", rate, st->up_win, st->up, st->up_late);
			hist_text("set-up us", &U.setup_lat, "POST written -> binding SEND arrived");
			hist_text("POST -> 201 us", &U.api_lat, "API answer");
		} else {
			printf("  load            %" PRIu64 " sessions (%" PRIu32 " up), %" PRIu64
			       " requests in flight, %" PRIu64 "-byte bodies\n", U.nsess, U.nlive,
			       U.conc, U.size);
			printf("  window          %.2f s (after %.2f s warm-up)\n", r->window_s,
			       (double)U.warmup_ns / 1e9);
			printf("  msgs/s          %.0f delivered\n", rate);
			hist_text("latency us", &U.lat, "POST written -> SEND arrived");
			hist_text("POST -> 202 us", &U.api_lat, "API answer");
			printf("  messages        posted %" PRIu64 ", 202 %" PRIu64 ", other %" PRIu64
			       " (first %d), delivered %" PRIu64 ", lost %" PRIu64 "\n", st->msg_posted,
			       st->msg_202, st->msg_other, st->first_msg_status, st->delivered, lost);
			printf("  body checks     verify errors %" PRIu64 " (chunked %" PRIu64
			       "), duplicates %" PRIu64 "\n", st->verify_errors, st->chunked,
			       st->duplicates);
			if (U.imdn) {
				hist_text("IMDN round trip us", &U.imdn_lat,
					  "POST written -> message.delivered read");
				printf("  IMDNs           sent %" PRIu64 " (200 %" PRIu64 ", other %" PRIu64
				       "); events delivered %" PRIu64 " (%" PRIu64 " in the window), "
				       "failed %" PRIu64 ", unknown %" PRIu64 ", duplicate %" PRIu64
				       "; stream lost %" PRIu64 ", bad %" PRIu64 "\n", st->imdn_sent,
				       st->imdn_acked, st->imdn_refused, st->ev_delivered, st->ev_win,
				       st->ev_failed, st->ev_unknown, st->ev_dup, st->sse_lost,
				       st->sse_bad);
			}
		}
		printf("  failures        %" PRIu64 " set-ups: non-201 %" PRIu64 " (first %d), "
		       "time-outs %" PRIu64 ", HTTP time-outs %" PRIu64 ", connections lost %"
		       PRIu64 ", bad answers %" PRIu64 "\n", setup_failures(st), st->non_201,
		       st->first_status, st->timeouts, st->http_timeouts, st->http_errors,
		       st->bad_answers);
		printf("  DELETE          %" PRIu64 " sent, %" PRIu64 " answered 204, errors %" PRIu64
		       " (first %d); BYE missing for %" PRIu64 "\n", st->del_sent, r->deleted,
		       st->del_errors, st->first_del_status, r->bye_missing);
		far_end_text(st);
		cpu_text(r, U.send_mode ? "msg" : "session", gen_us, sut_us);
		int mem = r->rss0 >= 0 && r->rss1 >= 0;
		if (mem && U.hold)
			printf("  rcsgw memory    VmRSS %" PRId64 " -> %" PRId64 " KiB with %" PRIu64
			       " sessions up: %.0f B per live session\n", r->rss0, r->rss1,
			       r->live_at_rss, rss_per_session(r));
		else if (mem)
			printf("  rcsgw memory    VmRSS %" PRId64 " KiB before, %" PRId64 " KiB %s\n",
			       r->rss0, r->rss1, U.send_mode ? "with the sessions up"
							: "after (ended sessions linger in rcsgw)");
		printf("  CPU others      %.2f cores (machine-wide %.2f)\n", bench_meter_others(m),
		       m->machine_cores);
		return;
	}
	json_t *o = json_object();
	json_object_set_new(o, "mode", json_string(U.send_mode ? "ua-send" : "ua-setup"));
	json_object_set_new(o, "api", json_string(U.api));
	json_object_set_new(o, "backend", json_string(r->backend));
	JI(o, "sessions", U.nsess);
	JI(o, "concurrency", U.conc);
	json_object_set_new(o, "window_s", json_real(r->window_s));
	if (!U.send_mode) {
		json_object_set_new(o, "hold", json_boolean(U.hold));
		JI(o, "posts", st->posted);
		JI(o, "created", st->created);
		JI(o, "established", st->up_win);
		JI(o, "established_total", st->up);
		JI(o, "late", st->up_late);
		json_object_set_new(o, "sessions_per_s", json_real(rate));
		hist_json(o, "setup", &U.setup_lat);
		hist_json(o, "api", &U.api_lat);
	} else {
		JI(o, "live", U.nlive);
		JI(o, "size", U.size);
		json_object_set_new(o, "warmup_s", json_real((double)U.warmup_ns / 1e9));
		JI(o, "msgs", st->msgs_win);
		json_object_set_new(o, "msgs_per_s", json_real(rate));
		hist_json(o, "lat", &U.lat);
		hist_json(o, "api", &U.api_lat);
		JI(o, "posted", st->msg_posted);
		JI(o, "api_202", st->msg_202);
		JI(o, "api_other", st->msg_other);
		JI(o, "first_other_status", st->first_msg_status);
		JI(o, "delivered_total", st->delivered);
		JI(o, "lost", lost);
		JI(o, "verify_errors", st->verify_errors);
		JI(o, "chunked", st->chunked);
		JI(o, "duplicates", st->duplicates);
		JI(o, "setup_failed", r->setup_failed);
		json_object_set_new(o, "imdn", json_boolean(U.imdn));
		if (U.imdn) {
			hist_json(o, "imdn", &U.imdn_lat);
			json_object_set_new(o, "imdn_per_s", json_real(r->window_s > 0
					? (double)st->ev_win / r->window_s : 0));
			JI(o, "imdn_sent", st->imdn_sent);
			JI(o, "imdn_acked", st->imdn_acked);
			JI(o, "imdn_refused", st->imdn_refused);
			JI(o, "events_delivered", st->ev_delivered);
			JI(o, "events_failed", st->ev_failed);
			JI(o, "events_unknown", st->ev_unknown);
			JI(o, "events_duplicate", st->ev_dup);
			JI(o, "imdn_missing", st->delivered > st->ev_delivered
						     ? st->delivered - st->ev_delivered : 0);
			JI(o, "sse_lost", st->sse_lost);
			JI(o, "sse_bad", st->sse_bad);
		}
	}
	JI(o, "failures", setup_failures(st));
	JI(o, "non_201", st->non_201);
	JI(o, "first_status", st->first_status);
	JI(o, "timeouts", st->timeouts);
	JI(o, "http_timeouts", st->http_timeouts);
	JI(o, "http_errors", st->http_errors);
	JI(o, "http_reconnects", st->http_reconnects);
	JI(o, "bad_answers", st->bad_answers);
	far_end_json(o, st);
	JI(o, "deletes", st->del_sent);
	JI(o, "deleted", r->deleted);
	JI(o, "delete_errors", st->del_errors);
	JI(o, "first_delete_status", st->first_del_status);
	JI(o, "bye_missing", r->bye_missing);
	cpu_json(o, r, U.send_mode ? "msg" : "session", gen_us, sut_us);
	json_object_set_new(o, "sut_rss_per_session_b", num_or_null(rss_per_session(r)));
	json_finish(o, r);
}

/* ua-sink: what counts as an error (exit 3). */
static uint64_t sink_errors(const struct ua_stats *st)
{
	return st->sip_stray + st->sip_other + st->invite_refused + st->unknown_sess +
	       st->bind_dup + st->msrp_lost + st->verify_errors;
}

static void report_sink(const struct ua_result *r)
{
	const struct ua_stats *st = &r->st;
	double rate = r->window_s > 0 ? (double)st->msgs_win / r->window_s : 0;
	double gen_us = bench_us_per_msg(r->m.gen_ns, st->msgs_win);
	double sut_us = bench_us_per_msg(r->m.sut_ns, st->msgs_win);
	uint64_t missing = U.count > st->delivered ? U.count - st->delivered : 0;
	uint64_t extra = U.count && st->delivered > U.count ? st->delivered - U.count : 0;

	if (!U.json) {
		printf("rcsbench ua-sink (UAS sip %s, msrp %s:%d), backend=%s\n", U.sip_hp,
		       U.msrp_host, U.msrp_port, r->backend);
		printf("  window          %.2f s, from %.2f s after the first message\n",
		       r->window_s, (double)U.warmup_ns / 1e9);
		printf("  msgs/s          %.0f received (%" PRIu64 " in the window, %" PRIu64
		       " in all", rate, st->msgs_win, st->delivered);
		if (U.count)
			printf(", %" PRIu64 " expected: %" PRIu64 " missing, %" PRIu64 " extra",
			       U.count, missing, extra);
		printf(")\n  bytes           %" PRIu64 " in the window, %" PRIu64 " in all (%"
		       PRIu64 " chunks of cut messages)\n", st->bytes_win, st->bytes, st->chunked);
		printf("  sessions        %" PRIu64 " up\n", st->up);
		hist_text("set-up us", &U.setup_lat, "INVITE came -> binding SEND arrived");
		far_end_text(st);
		printf("  errors          %" PRIu64 " (malformed MSRP %" PRIu64 ")\n",
		       sink_errors(st), st->verify_errors);
		cpu_text(r, "msg", gen_us, sut_us);
		if (r->rss0 >= 0 && r->rss1 >= 0)
			printf("  rcsgw memory    VmRSS %" PRId64 " KiB before, %" PRId64 " KiB after\n",
			       r->rss0, r->rss1);
		printf("  CPU others      %.2f cores (machine-wide %.2f)\n",
		       bench_meter_others(&r->m), r->m.machine_cores);
		return;
	}
	json_t *o = json_object();
	json_object_set_new(o, "mode", json_string("ua-sink"));
	json_object_set_new(o, "backend", json_string(r->backend));
	json_object_set_new(o, "sip", json_string(U.sip_hp));
	json_object_set_new(o, "warmup_s", json_real((double)U.warmup_ns / 1e9));
	json_object_set_new(o, "window_s", json_real(r->window_s));
	json_object_set_new(o, "count", U.count ? json_integer((json_int_t)U.count) : json_null());
	JI(o, "msgs", st->msgs_win);
	json_object_set_new(o, "msgs_per_s", json_real(rate));
	JI(o, "msgs_total", st->delivered);
	JI(o, "missing", missing);
	JI(o, "extra", extra);
	JI(o, "bytes", st->bytes_win);
	JI(o, "bytes_total", st->bytes);
	JI(o, "chunks", st->chunked);
	JI(o, "sessions", st->up);
	hist_json(o, "setup", &U.setup_lat);
	far_end_json(o, st);
	JI(o, "malformed", st->verify_errors);
	JI(o, "errors", sink_errors(st));
	cpu_json(o, r, "msg", gen_us, sut_us);
	json_finish(o, r);
}

/* The JSON body of a message, made once: {"content_type":"text/plain","body":"xx…"}; the
 * <size> body characters are rewritten per message. 0, or -1. */
static int make_template(void)
{
	char *body = malloc(U.size + 1);
	if (!body)
		return -1;
	memset(body, 'x', U.size);
	body[U.size] = 0;
	json_t *j = json_pack("{s:s, s:s}", "content_type", "text/plain", "body", body);
	if (j && U.imdn) {
		json_object_set_new(j, "message_id", json_string("b0000000000000000"));
		json_object_set_new(j, "disposition_notification",
				    json_pack("[s]", "positive-delivery"));
	}
	free(body);
	U.tmpl = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(j);
	if (!U.tmpl)
		return -1;
	U.tmpl_len = strlen(U.tmpl);
	const char *at = strstr(U.tmpl, "\"body\":\"");
	if (!at)
		return -1;
	U.tmpl_body = (size_t)(at - U.tmpl) + 8;
	const char *mid = strstr(U.tmpl, "\"message_id\":\"b");
	if (U.imdn && (!mid || mid < at))
		return -1;
	U.tmpl_mid = U.imdn ? (size_t)(mid - U.tmpl) + 15 : 0;
	return U.tmpl_body + U.size < U.tmpl_len ? 0 : -1;
}

static int setup_run(void)
{
	U.pat = malloc(PAT_SPAN + U.size);
	U.ss = calloc(U.nsess, sizeof(*U.ss));
	U.slots = calloc(U.conc ? U.conc : 1, sizeof(*U.slots));
	U.live = U.send_mode ? calloc(U.nsess, sizeof(*U.live)) : NULL;
	U.out_cap = 2048 + U.size + 256;
	U.out = malloc(U.out_cap);
	U.rep = malloc(REP_CAP);
	if (!U.pat || !U.ss || !U.slots || (U.send_mode && !U.live) || !U.out || !U.rep)
		return -1;
	if (U.sink) {
		uint64_t cap = 2;
		while (cap < 2 * U.nsess)
			cap *= 2;
		if (!(U.cidtab = calloc(cap, sizeof(*U.cidtab))))
			return -1;
		U.cidmask = cap - 1;
	}
	for (size_t i = 0, x = 0x5bd1e995; i < PAT_SPAN + U.size; i++) {
		x = x * 1103515245u + 12345u;
		U.pat[i] = (uint8_t)('a' + (x >> 16) % 26);
	}
	for (uint64_t i = 0; i < U.conc; i++) {
		U.slots[i].idx = (uint32_t)i;
		U.slots[i].del_k = -1;
		if (!(U.slots[i].rx = malloc(HTTP_RX_CAP)))
			return -1;
	}
	if (bench_hist_init(&U.setup_lat) < 0 || bench_hist_init(&U.api_lat) < 0 ||
	    bench_hist_init(&U.lat) < 0 || bench_hist_init(&U.imdn_lat) < 0)
		return -1;
	if (U.imdn && !(U.sse_rx = malloc(SSE_LINE_MAX)))
		return -1;
	if (U.send_mode && make_template() < 0)
		return -1;
	return 0;
}

static void teardown(void)
{
	for (uint64_t i = 0; U.slots && i < U.conc; i++)
		free(U.slots[i].rx);
	while (U.mconns) {
		struct ua_mconn *mc = U.mconns;
		U.mconns = mc->next;
		free(mc->rx);
		free(mc);
	}
	bench_hist_free(&U.setup_lat);
	bench_hist_free(&U.api_lat);
	bench_hist_free(&U.lat);
	bench_hist_free(&U.imdn_lat);
	free(U.sse_rx);
	free(U.t_msg);
	free(U.ev_seen);
	free(U.pat);
	free(U.ss);
	free(U.slots);
	free(U.live);
	free(U.out);
	free(U.rep);
	free(U.seen);
	free(U.tmpl);
	free(U.cidtab);
}

/* A result with nothing known yet. */
#define UA_RESULT_INIT                                                                      \
	{ .rss0 = -1, .rss1 = -1, .m.machine_cores = -1, .m.gen_ns = -1, .m.sut_ns = -1,     \
	  .m.gen_cores = -1, .m.sut_cores = -1 }

/* Stops the worker of <e> (NULL: none), frees everything; returns <rc>. */
static int finish(eng_engine *e, int rc)
{
	atomic_store(&U.stopping, 1);
	eng_destroy(e);
	bench_listen_fini(&U.bl);
	teardown();
	return rc;
}

/* Checks --sut-pid and allocates; then starts the worker (UAS, MSRP listener, the API
 * connections) and waits until it is up. The engine, or NULL (said why; what was started
 * is stopped). *<r> gets the backend, rcsgw's RSS before the load and a fresh meter. */
static eng_engine *start_worker(struct ua_result *r)
{
	char err[256];
	if (U.sut_pid > 0 && bench_cpu_ns(U.sut_pid) < 0) {
		fprintf(stderr, "rcsbench: cannot read /proc/%d/task/*/schedstat\n", (int)U.sut_pid);
		return NULL;
	}
	if (setup_run() < 0) {
		fprintf(stderr, "rcsbench: out of memory\n");
		return NULL;
	}
	bench_signals_block();
	U.cfg.workers = 1;
	eng_engine *e = eng_create(&U.cfg, err, sizeof(err));
	if (!e) {
		fprintf(stderr, "rcsbench: %s\n", err);
		return NULL;
	}
	r->backend = eng_backend_name(e);
	bench_listen_init(&U.bl, U.msrp_listen, 1, NULL, m_accept, NULL);
	if (eng_start(e, ua_init, NULL) < 0) {
		fprintf(stderr, "rcsbench: cannot start the worker\n");
		goto fail;
	}
	if (bench_listen_wait(&U.bl, 10000) < 0) {
		fprintf(stderr, "rcsbench: cannot listen on %s\n", U.msrp_listen);
		goto fail;
	}
	int up = wait_for(all_connected, bench_now_ns() + 10000000000ull, 0);
	if (up <= 0 || atomic_load(&U.a_udp) < 0) {
		if (atomic_load(&U.a_udp) < 0)
			fprintf(stderr, "rcsbench: cannot open udp %s: %s\n", U.sip_listen,
				strerror((int)-atomic_load(&U.a_udp)));
		else if (up == 0)
			fprintf(stderr, "rcsbench: %" PRIu64 " of %" PRIu64 " connections to %s up\n",
				(uint64_t)atomic_load(&U.a_connected), U.conc, U.api);
		goto fail;
	}
	if (U.sut_pid > 0)
		r->rss0 = rss_kib(U.sut_pid);
	r->m = (struct bench_meter){ .sut = &U.sut_pid, .nsut = U.sut_pid > 0, .gen_ns = -1,
				     .sut_ns = -1, .gen_cores = -1, .sut_cores = -1,
				     .machine_cores = -1 };
	return e;
fail:
	atomic_store(&U.stopping, 1);
	eng_destroy(e);
	return NULL;
}

static int run(void)
{
	int rc = 1, sig = 0;
	struct ua_result r = UA_RESULT_INIT;

	atomic_store(&U.win_start, 0);
	atomic_store(&U.win_end, UINT64_MAX);
	eng_engine *e = start_worker(&r);
	if (!e)
		goto out;

	if (!U.send_mode) {
		/* ua-setup: the window is the whole set-up phase (or --duration) */
		uint64_t t0 = bench_now_ns();
		uint64_t dl = U.duration_ns ? t0 + U.duration_ns : UINT64_MAX;
		bench_meter_begin(&r.m);
		int ok = phase(e, PH_SETUP, dl);
		bench_meter_end(&r.m);
		r.window_s = r.m.secs;
		sig = ok < 0;
		if (ok == 0 && !sig && bench_now_ns() >= dl) {
			/* --duration: sessions still in set-up finish, outside the window */
			atomic_store(&U.win_end, bench_now_ns());
			atomic_store(&U.stop_new, 1);
			sig = wait_for(quiet, bench_now_ns() + U.timeout_ns + U.drain_ns,
				       2 * U.timeout_ns) < 0;
		}
		if (U.hold && !sig && U.sut_pid > 0) {
			bench_sleep_until(bench_now_ns() + 500000000u); /* let rcsgw settle */
			r.live_at_rss = atomic_load(&U.a_up);
		}
		if (U.sut_pid > 0)
			r.rss1 = rss_kib(U.sut_pid);
	} else {
		/* ua-send: sessions up first, outside any measure */
		sig = phase(e, PH_SETUP, UINT64_MAX) < 0;
		if (U.sut_pid > 0) {
			r.rss1 = rss_kib(U.sut_pid);
			r.live_at_rss = atomic_load(&U.a_up);
		}
		if (!sig && U.imdn && (wait_for(sse_known, bench_now_ns() + U.timeout_ns, 0) <= 0 ||
				       atomic_load(&U.a_sse) != 1)) {
			fprintf(stderr, "rcsbench: GET /v1/events did not open\n");
			U.st.sse_bad++;
		} else if (!sig && atomic_load(&U.a_up) == 0) {
			fprintf(stderr, "rcsbench: no session came up\n");
		} else if (!sig) {
			uint64_t t0 = bench_now_ns();
			uint64_t ws = t0 + U.warmup_ns, we = ws + U.duration_ns;
			atomic_store(&U.win_start, ws);
			atomic_store(&U.win_end, we);
			cur_gen++;
			if (eng_post(eng_worker_at(e, 0), cmd_phase, NULL, cur_gen << 8 | PH_SEND) < 0)
				goto out;
			sig = bench_signals_wait_until(ws) != 0;
			if (!sig) {
				bench_meter_begin(&r.m);
				sig = bench_signals_wait_until(we) != 0;
				bench_meter_end(&r.m);
			}
			uint64_t t1 = bench_now_ns();
			if (sig && t1 < we)
				atomic_store(&U.win_end, t1);
			r.window_s = (double)((sig && t1 < we ? t1 : we) - ws) / 1e9;
			atomic_store(&U.stop_new, 1);
			if (!sig && wait_for(quiet, bench_now_ns() + U.timeout_ns + U.drain_ns,
					     2 * U.timeout_ns) >= 0)
				sig = wait_for(all_delivered, bench_now_ns() + U.drain_ns, 0) < 0;
			if (!sig && U.imdn)
				sig = wait_for(all_events, bench_now_ns() + U.drain_ns, 0) < 0;
		}
	}
	/* every session that rcsgw created goes (ua-setup without --hold: already done) */
	if (!sig)
		sig = phase(e, PH_DELETE, UINT64_MAX) < 0;
	if (!sig)
		sig = wait_for(all_byes, bench_now_ns() + U.drain_ns, 0) < 0;
	r.signalled = sig;
	atomic_store(&U.stopping, 1);
	eng_destroy(e);
	e = NULL;

	r.st = U.st;
	r.deleted = atomic_load(&U.a_deleted);
	r.byes = atomic_load(&U.a_byes);
	for (uint64_t k = 0; k < U.nsess; k++)
		if ((U.ss[k].flags & (SF_UP | SF_GONE | SF_BYE)) == (SF_UP | SF_GONE))
			r.bye_missing++;
	if (U.send_mode)
		r.setup_failed = (int64_t)U.nsess - (int64_t)U.nlive;
	report(&r);
	fflush(stdout);
	const struct ua_stats *st = &r.st;
	int bad = setup_failures(st) || st->del_errors || r.bye_missing || st->sip_stray ||
		  st->unknown_sess || st->bind_dup || st->msrp_lost;
	if (U.send_mode)
		bad = bad || st->msg_other || st->verify_errors || st->duplicates ||
		      st->msg_202 > st->delivered || r.setup_failed;
	if (U.imdn)
		bad = bad || st->imdn_refused || st->ev_failed || st->ev_unknown || st->ev_dup ||
		      st->sse_lost || st->sse_bad || st->ev_delivered < st->delivered ||
		      st->imdn_sent < st->delivered;
	rc = bad ? 3 : 0;
	if ((U.send_mode ? st->msgs_win : st->up_win) == 0) {
		fprintf(stderr, "rcsbench: nothing %s inside the window\n",
			U.send_mode ? "delivered" : "established");
		rc = 1;
	}
	if (sig)
		rc = 1;
out:
	return finish(e, rc);
}

static int sink_first(void) { return atomic_load(&U.a_first) != 0; }
static int sink_all(void) { return U.count && atomic_load(&U.a_delivered) >= U.count; }
/* After the window: --count messages came, or none for --idle. */
static int sink_done(void)
{
	return sink_all() || bench_now_ns() - atomic_load(&U.a_last) >= U.idle_ns;
}

/* ua-sink: the worker plays the far end; this thread waits for the first message, measures
 * the window (cut short when --count came) and waits for the rest. */
static int run_sink(void)
{
	int rc = 1, sig = 0;
	struct ua_result r = UA_RESULT_INIT;

	atomic_store(&U.win_start, UINT64_MAX); /* nothing is in it until the first message */
	atomic_store(&U.win_end, 0);
	eng_engine *e = start_worker(&r);
	if (!e)
		goto out;
	fprintf(stderr, "rcsbench ua-sink: ready sip=%s msrp=%s:%d\n", U.sip_hp, U.msrp_host,
		U.msrp_port);
	fflush(stderr);
	int got = wait_for(sink_first, bench_now_ns() + U.timeout_ns, 0);
	sig = got < 0;
	if (got == 0)
		fprintf(stderr, "rcsbench ua-sink: no message within %.1f s\n",
			(double)U.timeout_ns / 1e9);
	if (got > 0) {
		uint64_t ws = atomic_load(&U.win_start), we = atomic_load(&U.win_end);
		int all = wait_for(sink_all, ws, 0);
		uint64_t t1 = bench_now_ns();
		if (all == 0) {
			bench_meter_begin(&r.m);
			all = wait_for(sink_all, we, 0);
			bench_meter_end(&r.m);
			t1 = bench_now_ns();
		}
		sig = all < 0;
		if (t1 < we) /* cut short: what comes later is outside */
			atomic_store(&U.win_end, t1 > ws ? t1 : ws);
		r.window_s = t1 > ws ? (double)((t1 < we ? t1 : we) - ws) / 1e9 : 0;
		if (!sig)
			sig = wait_for(sink_done, bench_now_ns() + U.timeout_ns, 0) < 0;
	}
	if (U.sut_pid > 0)
		r.rss1 = rss_kib(U.sut_pid);
	r.signalled = sig;
	atomic_store(&U.stopping, 1);
	eng_destroy(e);
	e = NULL;
	r.st = U.st;
	report_sink(&r);
	fflush(stdout);
	rc = sink_errors(&r.st) || (U.count && r.st.delivered != U.count) ? 3 : 0;
	if (!r.st.delivered || sig)
		rc = 1;
out:
	return finish(e, rc);
}

/* ---- command line ------------------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: rcsbench ua-setup --api HOST:PORT --sip-listen HOST:PORT --msrp-listen HOST:PORT\n"
		"         --sessions N --concurrency C [--duration SEC] [--hold] [--timeout SEC]\n"
		"         [--drain SEC] [--token T] [--sut-pid PID] [--json] [--backend B] [--no-pin]\n"
		"       rcsbench ua-send --api HOST:PORT --sip-listen HOST:PORT --msrp-listen HOST:PORT\n"
		"         --sessions S --concurrency C --size BYTES --duration SEC [--warmup SEC]\n"
		"         [--imdn] [--timeout SEC] [--drain SEC] [--token T] [--sut-pid PID] [--json] ...\n"
		"       rcsbench ua-sink --sip-listen HOST:PORT --msrp-listen HOST:PORT --duration SEC\n"
		"         [--warmup SEC] [--count N] [--idle SEC] [--timeout SEC] [--sessions MAX]\n"
		"         [--sut-pid PID] [--json] [--backend B] [--no-pin]\n"
		"The generator is rcsgw's far end: a SIP UAS on UDP --sip-listen (INVITE -> 200 with\n"
		"a=setup:passive and an a=path to --msrp-listen) and an MSRP endpoint that answers\n"
		"every SEND 200; ua-setup and ua-send drive the REST API at --api over C keep-alive\n"
		"connections.\n"
		"ua-setup: POST /v1/sessions -> binding SEND arrived (set-up latency) -> DELETE, C at\n"
		"  a time, N in all (or until --duration); --hold keeps them up (no DELETE until the\n"
		"  end) and reports rcsgw's RSS per live session.\n"
		"ua-send: S sessions up, then POST .../messages (--size >= %d bytes of text/plain),\n"
		"  C at a time, spread over the sessions; each body checked at the MSRP endpoint.\n"
		"  --imdn: each asks for a delivery IMDN (in CPIM), which the far end sends back;\n"
		"  the IMDN round trip is POST written -> message.delivered read on /v1/events.\n"
		"ua-sink: the far end alone (load comes through rcsgw's SIP MESSAGE gateway): any\n"
		"  INVITE (sessions by Call-ID, at most MAX, default %d); counts messages and\n"
		"  bytes; the window starts --warmup (1 s) after the first message; ends once N\n"
		"  messages came (--count), or, after the window, when none came for --idle (1 s),\n"
		"  or --timeout (10 s) later; 'rcsbench ua-sink: ready sip=H:P msrp=H:P' goes to\n"
		"  stderr once it listens.\n"
		"Addresses are IPv4; port 0 for --sip-listen / --msrp-listen picks one. Exit 0; 3 when\n"
		"sessions or messages failed; 1 failure; 2 bad arguments.\n", BODY_HDR, SINK_SESSIONS);
}

static int parse(int argc, char **argv)
{
	eng_config_defaults(&U.cfg);
	U.warmup_ns = 1000000000u;
	U.timeout_ns = 10000000000ull;
	U.drain_ns = 5000000000ull;
	U.idle_ns = 1000000000u;
	U.conc = U.sink ? 0 : 1;
	U.nsess = U.sink ? SINK_SESSIONS : 0;
	enum { API = 1, SINK = 2, ALL = 3 };  /* the modes an option is for */
	const struct {
		struct bench_opt o;
		unsigned modes;
	} all[] = {
		{ { "api", BENCH_OPT_HOSTPORT, &U.api, 0, 0, NULL }, API },
		{ { "sip-listen", BENCH_OPT_HOSTPORT, &U.sip_listen, 0, 0, NULL }, ALL },
		{ { "msrp-listen", BENCH_OPT_HOSTPORT, &U.msrp_listen, 0, 0, NULL }, ALL },
		{ { "sessions", BENCH_OPT_U64, &U.nsess, 1, MAX_SESSIONS, NULL }, ALL },
		{ { "concurrency", BENCH_OPT_U64, &U.conc, 1, MAX_CONC, NULL }, API },
		{ { "size", BENCH_OPT_BYTES, &U.size, BODY_HDR, 512u << 10, NULL }, API },
		{ { "duration", BENCH_OPT_DURATION, &U.duration_ns, 1, UINT64_MAX, NULL }, ALL },
		{ { "warmup", BENCH_OPT_DURATION, &U.warmup_ns, 0, UINT64_MAX, NULL }, ALL },
		{ { "timeout", BENCH_OPT_DURATION, &U.timeout_ns, 1000000, UINT64_MAX, NULL }, ALL },
		{ { "drain", BENCH_OPT_DURATION, &U.drain_ns, 0, UINT64_MAX, NULL }, API },
		{ { "hold", BENCH_OPT_FLAG, &U.hold, 0, 0, NULL }, API },
		{ { "imdn", BENCH_OPT_FLAG, &U.imdn, 0, 0, NULL }, API },
		{ { "token", BENCH_OPT_STR, &U.token, 0, 0, NULL }, API },
		{ { "count", BENCH_OPT_U64, &U.count, 1, UINT64_MAX, NULL }, SINK },
		{ { "idle", BENCH_OPT_DURATION, &U.idle_ns, 1000000, UINT64_MAX, NULL }, SINK },
		{ { "sut-pid", BENCH_OPT_FN, &U.sut_pid, 0, 0, bench_parse_pid }, ALL },
		{ { "json", BENCH_OPT_FLAG, &U.json, 0, 0, NULL }, ALL },
		{ { "backend", BENCH_OPT_BACKEND, &U.cfg.backend, 0, 0, NULL }, ALL },
		{ { "no-pin", BENCH_OPT_UNFLAG, &U.cfg.pin, 0, 0, NULL }, ALL },
	};
	struct bench_opt opts[sizeof(all) / sizeof(all[0])];
	unsigned n = 0;
	for (unsigned i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (all[i].modes & (U.sink ? SINK : API))
			opts[n++] = all[i].o;
	int rc = bench_opts_parse("rcsbench", argc, argv, opts, n);
	if (rc == 1)
		usage(stdout);
	else if (rc)
		usage(stderr);
	return rc;
}

/* The host of IPv4 <hostport> into <host>, refusing the wildcard (it goes into URIs). */
static int v4_host(const char *hostport, char *host, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	if (eng_parse_hostport(hostport, &ss, &sl) < 0 || ss.ss_family != AF_INET ||
	    ((struct sockaddr_in *)&ss)->sin_addr.s_addr == htonl(INADDR_ANY))
		return -1;
	char buf[64];
	eng_sockaddr_str(&ss, buf, sizeof(buf));
	char *colon = strrchr(buf, ':');
	if (!colon || (size_t)(colon - buf) >= len)
		return -1;
	memcpy(host, buf, (size_t)(colon - buf));
	host[colon - buf] = 0;
	return 0;
}

int bench_ua_main(int argc, char **argv)
{
	memset(&U, 0, sizeof(U));
	U.send_mode = strcmp(argv[0], "ua-send") == 0;
	U.sink = strcmp(argv[0], "ua-sink") == 0;
	int rc = parse(argc, argv);
	const char *why = NULL;

	if (rc)
		return rc == 1 ? 0 : rc;
	if (U.sink && (!U.sip_listen || !U.msrp_listen || !U.duration_ns))
		why = "--sip-listen, --msrp-listen and --duration are required";
	else if (!U.sink && (!U.api || !U.sip_listen || !U.msrp_listen || !U.nsess))
		why = "--api, --sip-listen, --msrp-listen and --sessions are required";
	else if (U.send_mode && (!U.size || !U.duration_ns))
		why = "--size and --duration are required";
	else if (U.imdn && !U.send_mode)
		why = "--imdn is for ua-send";
	else if (v4_host(U.sip_listen, U.sip_host, sizeof(U.sip_host)) < 0 ||
		 v4_host(U.msrp_listen, U.msrp_host, sizeof(U.msrp_host)) < 0)
		why = "--sip-listen and --msrp-listen must be IPv4 addresses (not 0.0.0.0)";
	else if (U.token && (strlen(U.token) > 200 || strpbrk(U.token, "\r\n")))
		why = "--token is too long or has a line break";
	if (why) {
		fprintf(stderr, "rcsbench %s: %s\n", argv[0], why);
		return 2;
	}
	if (U.token)
		snprintf(U.auth_hdr, sizeof(U.auth_hdr), "Authorization: Bearer %s\r\n", U.token);
	return U.sink ? run_sink() : run();
}

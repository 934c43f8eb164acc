/* gw_ua.c — the MSRP user agent: SIP calls with MSRP media for applications (see gw_ua.h).
 *
 * Pieces, in the order of this file: the process-wide part (gw_ua_shared); one worker's
 * SIP stack (transport, transactions) and the routing of SIP messages to the worker that
 * owns their session; sessions (struct gw_sess) and their JSON; outgoing calls (INVITE, its
 * answers, digest, ACK, CANCEL); incoming calls (INVITE, answer, reject, 2xx retransmission);
 * in-dialog requests (BYE, re-INVITE); the MSRP side (msrp_ua events); the operations the API
 * asks for.
 *
 * RFC 3261 rules kept here rather than in the transaction layer (which leaves 2xx to the
 * TU): a UAS retransmits its 2xx to an INVITE over UDP from T1 doubling to T2 until the ACK,
 * and ends the call with a BYE when no ACK came within 64*T1 (§13.3.1.4); a UAC ACKs every
 * 2xx retransmission again (§13.2.2.4); a CANCEL is sent only once a provisional response
 * came (§9.1), and a 2xx that crosses our CANCEL is ACKed and ended with a BYE (§15). */
#include <arpa/inet.h>
#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/coding.h>
#include <wolfssl/wolfcrypt/hash.h>

#include "common/cm_hash.h"
#include "common/cm_log.h"
#include "common/cm_time.h"
#include "diameter/dm_svc.h"
#include "engine/eng_dns.h"
#include "engine/eng_tls.h"
#include "gateway/gw_ua.h"
#include "msrp/msrp_pool.h"
#include "msrp/msrp_reasm.h"
#include "msrp/msrp_svc.h"
#include "msrp/msrp_ua.h"
#include "msrp/msrp_uri.h"
#include "msrp/msrp_auth.h"
#include "msrp/msrp_hdr.h"
#include "sip/sdp.h"
#include "sip/sdp_msrp.h"
#include "sip/sip_dialog.h"
#include "sip/sip_digest.h"
#include "sip/sip_hdr.h"
#include "sip/sip_parse.h"
#include "sip/sip_resolve.h"
#include "sip/sip_transport.h"
#include "sip/sip_txn.h"
#include "sip/sip_write.h"
#include "rcs/rcs_filesel.h"
#include "rcs/rcs_tags.h"
#include "gateway/gw_files.h"
#include "shards/session.pb-c.h"

#define SIP_BUF 16384              /* bytes of a request or response we write */
#define SDP_BUF 4096               /* bytes of an SDP we write */
#define GW_AUTH_TRIES 2            /* 401/407 answered this many times per request */
#define GW_TARGETS 4               /* RFC 3263 targets of an INVITE tried in turn */
#define GW_BIND_MS 32000           /* a call up whose MSRP session is not bound by then ends */
#define GW_REBIND_MS 10000         /* cluster: a peer whose connection broke binds again by
				    * then (here, or at another node that asks for the session) */
#define GW_SEEN 32                 /* received Message-IDs remembered per session */
#define ALLOW "INVITE, ACK, CANCEL, BYE, OPTIONS"
#define CONTACT_MAX 1024           /* bytes of our Contact value, feature tags included */
/* RCC.07: a 1-to-1 chat is asked for by the CPM session ICSI */
#define CHAT_ACCEPT_CONTACT "*;+g.3gpp.icsi-ref=\"urn%3Aurn-7%3A3gpp-service.ims.icsi.oma.cpm.session\""

/* ---- the process-wide part ----------------------------------------------------------- */

struct gw_ua_shared {
	eng_engine *e;
	unsigned n;
	gw_publish_fn publish;
	int enabled;
	struct cm_strlist listen;      /* sip.listen with ports 0 replaced by the ones chosen */
	char advertise[256];           /* sip.advertise */
	char msrp_host[256];           /* ua.msrp_advertise, else as advertise */
	int msrp_port_adv;             /* ua.msrp_advertise's port, 0: msrp.listen's */
	char proxy[GW_UA_MAX_URI];     /* sip.outbound_proxy */
	char user_agent[128];
	char *types;                   /* ua.accept_types, space-separated */
	char *wtypes;                  /* ua.accept_wrapped_types, space-separated */
	int dn_auto;                   /* rcs.delivery_notifications */
	uint32_t max_disp;             /* rcs.max_display_pending */
	unsigned services;             /* rcs.services, RCS_SVC_* */
	char tags[512];                /* their feature tags: ";+g.3gpp.icsi-ref=..." */
	struct cm_strlist auto_answer;
	int setup_passive;
	uint32_t answer_ms, invite_ms, max_sessions, max_queued;
	struct msrp_ua_cfg msrp;       /* msrp.chunk_size and the reassembly bounds */
	char relay[GW_UA_MAX_URI];     /* ua.relay: every session through it; "" = none */
	char relay_user[128], relay_pass[256];
	struct eng_dns_config dns;     /* dns.servers (the config's strings), dns.timeout */
	struct sip_txn_cfg txn;
	struct sip_limits limits;
	struct sip_digest_creds *creds;
	eng_tls_ctx *tls_server;       /* tls: listeners (sip.tls_cert, sip.tls_key) */
	eng_tls_ctx *tls_client;       /* TLS toward servers (verified against sip.tls_ca) */
	struct gw_ua_hooks hooks[GW_UA_MAX_HOOKS]; /* the contact centre's, the page-mode
					* gateway's, in the order they were added */
	void *hooks_arg[GW_UA_MAX_HOOKS];
	unsigned nhooks;
	gw_ua_takeover_fn takeover;    /* the cluster's: a dead node's session taken over */
	gw_ua_handoff_fn handoff;      /* ... a live node's, whose MSRP peer came here */
	gw_ua_forward_fn forward;      /* ... a live node's: its in-dialog requests passed on */
	gw_ua_remote_send_fn remote_send; /* ... what we send for requests passed on to us */
	gw_ua_pager_fn pager;          /* MESSAGEs for rcsgw itself (gw_pager.c) */
	void *pager_arg;
	struct gw_files *files;        /* received files (RFC 5547), NULL: refused */
	struct dm_svc *dm;             /* diameter.sh_check: Sh before an incoming session */
	_Atomic(struct gw_ua *) *workers;
	_Atomic int ports[3];          /* udp, tcp, tls: worker 0's first listener */
};

/* ---- one worker ---------------------------------------------------------------------- */

struct gw_sess;

struct gw_ua {
	unsigned nheld;                /* in-dialog requests held for a takeover now */
	const char *moved_to;          /* gw_ua_fenced(): the node its session is let go to */
	struct gw_ua_shared *sh;
	eng_worker *w;
	unsigned index;
	struct sip_transport *tp;
	struct sip_txn_layer *txl;
	struct sip_parse_stats pstats;
	struct sip_parse_cfg pcfg;
	struct msrp_ua *mua;
	struct msrp_pool *pool;
	struct msrp_svc *svc;
	eng_dns *dns;                  /* RFC 3263 look-ups of Request-URIs and proxies */
	struct gw_relay *relay;        /* ua.relay's AUTH state, NULL without one */
	struct gw_msgreq *msgreqs;     /* the gateway's MESSAGEs on their way */
	int msrp_port;
	struct msrp_sess_table sessions; /* by id (the entry is struct gw_sess's first member) */
	uint32_t nsess;                /* in the table: alive and lingering */
	uint32_t nlive;                /* not over yet (what ua.max_sessions bounds) */
	struct gw_ua_stats st;
	struct gw_ua_repl repl;        /* the cluster's replication, if any */
	struct sip_msg scratch;        /* a message of ours parsed again (single thread) */
	struct rcs_msg_in rin;         /* a received message unwrapped (single thread) */
	char wbuf[SIP_BUF];            /* what is being written (one at a time: single thread) */
};

enum gw_state {
	ST_CONNECTING = 0,
	ST_RINGING,
	ST_ESTABLISHED,
	ST_ENDING,
	ST_ENDED,
	ST_FAILED,
};

_Static_assert(ST_FAILED + 1 == GW_UA_STATES, "a name per state");
const char *const gw_ua_state_names[GW_UA_STATES] = {
	"connecting", "ringing", "established", "ending", "ended", "failed",
};

/* A message the application sent before the session was up. */
struct gw_queued {
	struct gw_queued *next;
	int sr, fr;
	int wrap;                      /* -1: in CPIM if the peer takes the type only so */
	uint64_t skip;                 /* gw_ua_msg.skip */
	char msgid[MSRP_ID_MSGID_LEN + 1];
	char *ctype;
	size_t len;
	char body[];
};

/* What a session needs while it is not over (about 6 KiB: a lingering session keeps the
 * rest, some 2 KiB). */
struct gw_call {
	struct sdp_msrp_media peer;    /* the peer's MSRP stream, slices into gw_sess.peer_sdp */
	struct sip_dialog dlg;
};

struct gw_sess {
	struct msrp_sess ent;          /* first: the table's entry is the session */
	struct gw_ua *ua;
	char id[GW_UA_ID_LEN + 1];
	uint8_t state;                 /* enum gw_state */
	uint8_t incoming;
	uint8_t got_provisional;       /* a 1xx came (a CANCEL may go) */
	uint8_t cancel_wanted;         /* the application ended it before any 1xx */
	uint8_t announced;             /* session.established published */
	uint8_t rebinding;             /* its peer's connection broke: waiting for it again */
	uint8_t handing;               /* being handed on to another node (gw_ua_handing) */
	uint8_t auth_tries;
	uint8_t acked;                 /* incoming: the ACK of our 2xx came */
	uint8_t call;                  /* signalling only (the contact centre's calls): the
					* SDP goes through as it is, no MSRP; up at the ACK */
	uint8_t freed_pending;         /* lingered out while transactions still name it */
	int sip_code;
	const char *ended_by, *reason; /* static strings */
	char *from, *to, *ruri, *hdrs; /* one allocation (strs) */
	char *strs;
	char types[GW_UA_MAX_TYPES_LEN + 1]; /* our accept-types, space-separated */
	char peer_types[512];
	uint32_t ntx;                  /* client transactions whose context is this session */
	struct sip_txn *inv;           /* the INVITE's transaction while no final answer */
	char *inv_msg;                 /* outgoing: the INVITE we sent; incoming: the one we got */
	size_t inv_len;
	uint32_t inv_cseq;
	struct sip_dest dest;          /* outgoing: where requests go; incoming: the INVITE's source */
	struct sip_resolve_req rr;     /* outgoing: the look-up of where the INVITE goes */
	struct sip_dest targets[GW_TARGETS]; /* ... its outcome, tried in turn */
	uint8_t ntargets, tidx;
	uint8_t got_response;          /* the current target answered something */
	uint8_t relay_wait;            /* waits for the relay's Use-Path (on relay->waiters) */
	struct gw_sess *rnext, **rprev;
	char *our_sdp, *peer_sdp;
	size_t our_sdp_len, peer_sdp_len;
	struct gw_call *c;             /* the call's state, freed when the session is over */
	int have_dlg;
	char *ack_msg;                 /* outgoing: the ACK, sent again for each 2xx */
	size_t ack_len;
	struct sip_dest ack_dest;
	struct msrp_ua_sess *ms;
	struct gw_queued *q_head, **q_tail;
	uint32_t nq;
	eng_timer timer;               /* answer / invite timeout, linger */
	eng_timer rtx;                 /* incoming over UDP: our 2xx again until the ACK */
	uint32_t rtx_ms, rtx_total;
	uint64_t created_ms;           /* wall clock */
	uint64_t msgs_out, msgs_in;
	const struct gw_ua_owner *owner; /* NULL: the API's (events); else the gateway's */
	void *owner_arg;
	struct gw_disp *disp;          /* received messages awaiting their display IMDN, oldest first */
	uint32_t ndisp;
	char *ft_attrs;                /* RFC 5547 a= lines of our SDP ("name:value\n"...), or NULL */
	uint8_t sendonly;              /* a file we send: our offer is sendonly */
	uint8_t ft_in;                 /* a file offered to us: its message is a file */
	char *adopted_leg;             /* taken over: the MSRP leg's local URI, NUL, To-Path */
	char *ft_seed;                 /* a resumed file offered to us: its bytes kept so far, */
	uint64_t ft_seed_len, ft_seed_total; /* ... given to the MSRP session once open */
	uint64_t *seen;                /* hashes of the last GW_SEEN Message-IDs received (a ring,
					* made with the first message): a message delivered again
					* (a sender's node died before our 200 reached it) is
					* answered but not passed on twice */
	uint8_t seen_next;
};

/* A received message that asked for a display notification (RFC 5438 §5.2). */
struct gw_disp {
	struct gw_disp *next;
	uint8_t sent;                  /* the notification went */
	char dt[RCS_IMDN_DT_MAX + 1];  /* its DateTime */
	char *peer, *us;               /* its CPIM From (where the IMDN goes) and To */
	char id[];                     /* its imdn.Message-ID, then peer and us */
};

static void sess_publish(struct gw_sess *s, const char *type, json_t *ev);
static void rtx_fire(eng_timer *t);
static int final_answer(struct gw_sess *s, int status, const struct sip_hdr *h, unsigned n,
			cm_slice body);
static void sess_over(struct gw_sess *s, enum gw_state st, const char *by, const char *reason,
		      int code);
static int send_bye(struct gw_sess *s);
static void relay_unwait(struct gw_sess *s);
static unsigned relay_uris(const struct gw_ua *ua, cm_slice *out, unsigned max);

/* A MESSAGE of the gateway on its way (the context of its client transaction). */
struct gw_msgreq {
	void (*done)(void *arg, int status);
	void (*done_resp)(void *arg, int status, const struct sip_msg *resp); /* or this */
	void *arg;
	struct gw_msgreq *next, **prev; /* the worker's, told 503 when it stops */
};

/* ---- small helpers --------------------------------------------------------------------- */

static void rfc3339(uint64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	snprintf(buf, len, "%04u-%02u-%02uT%02u:%02u:%02u.%03uZ", (unsigned)(tm.tm_year + 1900) % 10000u,
		 (unsigned)(tm.tm_mon + 1) % 100u, (unsigned)tm.tm_mday % 100u,
		 (unsigned)tm.tm_hour % 100u, (unsigned)tm.tm_min % 100u,
		 (unsigned)tm.tm_sec % 100u, (unsigned)(ms % 1000));
}

static cm_slice sl(const char *s)
{
	return (cm_slice){ s, s ? strlen(s) : 0 };
}

static int slice_eq_str(cm_slice a, const char *b)
{
	size_t n = strlen(b);
	return a.len == n && !memcmp(a.p, b, n);
}

static char *dup_slice(cm_slice s)
{
	char *p = malloc(s.len + 1);
	if (p) {
		if (s.len)
			memcpy(p, s.p, s.len);
		p[s.len] = '\0';
	}
	return p;
}

/* 1 when <u> is printable ASCII (RFC 3261 §25.1: a URI escapes everything else), so that it
 * can go into JSON and SIP as it is. */
static int uri_text_ok(cm_slice u)
{
	for (size_t i = 0; i < u.len; i++)
		if ((unsigned char)u.p[i] <= 0x20 || (unsigned char)u.p[i] >= 0x7f)
			return 0;
	return u.len > 0;
}

/* The value of header line <name> in <lines> ("Name: value\n"... as s->hdrs keeps them), its
 * name compared without case; CM_SLICE_NULL when none. */
static cm_slice hdr_line(const char *lines, const char *name)
{
	size_t nl = strlen(name);
	for (const char *p = lines; p && *p;) {
		const char *e = strchr(p, '\n');
		size_t ll = e ? (size_t)(e - p) : strlen(p);
		if (ll > nl + 1 && !strncasecmp(p, name, nl) && p[nl] == ':') {
			const char *v = p + nl + 1;
			while (*v == ' ')
				v++;
			return (cm_slice){ v, ll - (size_t)(v - p) };
		}
		p = e ? e + 1 : NULL;
	}
	return CM_SLICE_NULL;
}

static int has_hdr_line(const char *lines, const char *name)
{
	return hdr_line(lines, name).p != NULL;
}

static uint32_t rand32(void)
{
	uint32_t v = 0;
	if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v))
		v = (uint32_t)cm_wall_ms() * 2654435761u;
	return v;
}

/* A random (version 4) UUID, RFC 4122 §4.4, as OMA CPM wants for Conversation-ID and
 * Contribution-ID. */
void gw_ua_uuid(char out[37])
{
	unsigned char b[16];
	for (int i = 0; i < 16; i += 4) {
		uint32_t v = rand32();
		memcpy(b + i, &v, 4);
	}
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
		 b[13], b[14], b[15]);
}

/* The session-id inside <s> at <off>, when it has the form of ours: its worker, else -1. */
static int shard_at(const struct gw_ua_shared *sh, cm_slice s, size_t off)
{
	if (s.len < off + GW_UA_ID_LEN)
		return -1;
	return msrp_id_shard((cm_slice){ s.p + off, GW_UA_ID_LEN }, sh->n);
}

/* ---- the process-wide part ----------------------------------------------------------- */

/* A "kind:host:0" listen spec gets a port chosen now, the same for every worker (each binds
 * it with SO_REUSEPORT), and the same for udp and tcp on one host when both ask for 0. */
static int pick_port(const char *hostport)
{
	struct sockaddr_storage ss;
	socklen_t len;
	if (eng_parse_hostport(hostport, &ss, &len) < 0)
		return -EINVAL;
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int port = -1;
	if (bind(fd, (struct sockaddr *)&ss, len) == 0 && getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
		port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
						: ntohs(((struct sockaddr_in *)&ss)->sin_port);
	close(fd);
	return port > 0 ? port : -EADDRNOTAVAIL;
}

static int listen_copy(struct gw_ua_shared *sh, const struct cm_strlist *in, char *err,
		       size_t errlen)
{
	sh->listen.v = calloc(in->n ? in->n : 1, sizeof(char *));
	if (!sh->listen.v)
		return -ENOMEM;
	int chosen = 0;
	for (size_t i = 0; i < in->n; i++) {
		const char *v = in->v[i];
		size_t n = strlen(v);
		char *c = NULL;
		if (n > 6 && !strcmp(v + n - 2, ":0")) {
			if (!chosen) {
				chosen = pick_port(v + 4);
				if (chosen < 0) {
					snprintf(err, errlen, "sip.listen %s: %s", v, strerror(-chosen));
					return chosen;
				}
			}
			if ((c = malloc(n + 8)))
				snprintf(c, n + 8, "%.*s%d", (int)(n - 1), v, chosen);
		} else {
			c = strdup(v);
		}
		if (!c)
			return -ENOMEM;
		sh->listen.v[sh->listen.n++] = c;
	}
	return 0;
}

static char *join_list(const struct cm_strlist *l)
{
	size_t n = 1;
	for (size_t i = 0; i < l->n; i++)
		n += strlen(l->v[i]) + 1;
	char *s = calloc(1, n), *p = s;
	for (size_t i = 0; s && i < l->n; i++)
		p += sprintf(p, "%s%s", i ? " " : "", l->v[i]);
	return s;
}

struct gw_ua_shared *gw_ua_shared_new(const struct cm_config *cfg, eng_engine *e,
				      gw_publish_fn publish, char *err, size_t errlen)
{
	struct gw_ua_shared *sh = calloc(1, sizeof(*sh));
	if (!sh) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	sh->e = e;
	sh->n = eng_nworkers(e);
	sh->publish = publish;
	sh->enabled = cfg->ua.enabled;
	snprintf(sh->advertise, sizeof(sh->advertise), "%s", cfg->sip.advertise);
	snprintf(sh->msrp_host, sizeof(sh->msrp_host), "%s",
		 cfg->ua.msrp_advertise[0] ? cfg->ua.msrp_advertise : cfg->sip.advertise);
	char *colon = strrchr(sh->msrp_host, ':');
	if (colon && !strchr(sh->msrp_host, ']') && strchr(sh->msrp_host, ':') == colon) {
		/* host:port: the port is ua.msrp_advertise's (a balancer or NAT in front of
		 * msrp.listen), never sip.advertise's */
		if (cfg->ua.msrp_advertise[0])
			sh->msrp_port_adv = atoi(colon + 1);
		*colon = '\0';
	}
	snprintf(sh->proxy, sizeof(sh->proxy), "%s", cfg->sip.outbound_proxy);
	snprintf(sh->user_agent, sizeof(sh->user_agent), "%s", cfg->sip.user_agent);
	sh->types = join_list(&cfg->ua.accept_types);
	sh->wtypes = join_list(&cfg->ua.accept_wrapped_types);
	sh->dn_auto = cfg->rcs.delivery_notifications;
	sh->max_disp = (uint32_t)cfg->rcs.max_display_pending;
	for (size_t i = 0; i < cfg->rcs.services.n; i++) {
		const char *v = cfg->rcs.services.v[i];
		unsigned bit = rcs_svc_from_name(v, strlen(v));
		if (!bit) {
			snprintf(err, errlen, "rcs.services: unknown service '%s' (chat, standalone, "
				 "largemsg, ft, fthttp, chatbot, geopush)", v);
			goto fail;
		}
		sh->services |= bit;
	}
	if (rcs_tags_write(sh->tags, sizeof(sh->tags), sh->services, cfg->rcs.botversion) < 0) {
		snprintf(err, errlen, "rcs.services / rcs.botversion: the feature tags do not fit");
		goto fail;
	}
	sh->auto_answer.v = calloc(cfg->ua.auto_answer.n + 1, sizeof(char *));
	sh->workers = calloc(sh->n, sizeof(*sh->workers));
	sh->creds = calloc(1, sizeof(*sh->creds));
	if (!sh->types || !sh->wtypes || !sh->auto_answer.v || !sh->workers || !sh->creds) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < cfg->ua.auto_answer.n; i++)
		if ((sh->auto_answer.v[sh->auto_answer.n] = strdup(cfg->ua.auto_answer.v[i])))
			sh->auto_answer.n++;
	sh->setup_passive = cfg->ua.setup == CM_UA_SETUP_PASSIVE;
	sh->answer_ms = (uint32_t)cfg->ua.answer_timeout_ms;
	sh->invite_ms = (uint32_t)cfg->ua.invite_timeout_ms;
	sh->max_sessions = (uint32_t)cfg->ua.max_sessions;
	sh->max_queued = (uint32_t)cfg->ua.max_queued;
	eng_dns_config_defaults(&sh->dns);
	sh->dns.servers = (const char *const *)cfg->dns.servers.v;
	sh->dns.nservers = cfg->dns.servers.n;
	sh->dns.timeout_ms = (uint32_t)cfg->dns.timeout_ms;
	snprintf(sh->relay, sizeof(sh->relay), "%s", cfg->ua.relay);
	snprintf(sh->relay_user, sizeof(sh->relay_user), "%s", cfg->ua.relay_user);
	snprintf(sh->relay_pass, sizeof(sh->relay_pass), "%s", cfg->ua.relay_password);
	sh->msrp.chunk_size = (uint32_t)cfg->msrp.chunk_size;
	msrp_reasm_cfg_defaults(&sh->msrp.reasm);
	sh->msrp.reasm.max_message = (uint64_t)cfg->msrp.max_message;
	sh->msrp.reasm.max_chunks = (uint32_t)cfg->msrp.max_chunks;
	sh->msrp.reasm.timeout_ms = (uint32_t)cfg->msrp.reassembly_timeout_ms;
	sip_txn_cfg_default(&sh->txn);
	sh->txn.t1_ms = (uint32_t)cfg->sip.t1_ms;
	sh->txn.t2_ms = (uint32_t)cfg->sip.t2_ms;
	sh->txn.max_txns = (uint32_t)cfg->sip.max_transactions;
	sh->txn.max_msg = (uint32_t)cfg->sip.max_message;
	sip_parse_limits_default(&sh->limits);
	sh->limits.max_msg = (uint32_t)cfg->sip.max_message;
	if (sip_digest_creds_parse(sh->creds, (const char *const *)cfg->sip.credentials.v,
				   cfg->sip.credentials.n, err, errlen) < 0)
		goto fail;
	if (sh->proxy[0]) {
		struct sip_uri u;
		if (sip_uri_parse(sl(sh->proxy), &u) < 0) {
			snprintf(err, errlen, "sip.outbound_proxy: not a SIP URI: %s", sh->proxy);
			goto fail;
		}
	}
	struct msrp_uri ru;
	if (sh->relay[0] && (msrp_uri_parse(sl(sh->relay), &ru) < 0 || ru.session_id.len)) {
		snprintf(err, errlen, "ua.relay: not a relay's MSRP URI: %s", sh->relay);
		goto fail;
	}
	if (listen_copy(sh, &cfg->sip.listen, err, errlen) < 0)
		goto fail;
	int tls_listen = 0;
	for (size_t i = 0; i < sh->listen.n; i++)
		tls_listen |= !strncmp(sh->listen.v[i], "tls:", 4);
	int v13 = cfg->tls.min_version == CM_TLS_1_3;
	if (tls_listen) {
		struct eng_tls_config tc = { .cert_file = cfg->sip.tls_cert,
					     .key_file = cfg->sip.tls_key,
					     .min_version = v13 ? ENG_TLS_V13 : ENG_TLS_V12 };
		char terr[256];
		if (!(sh->tls_server = eng_tls_ctx_new(&tc, 1, terr, sizeof(terr)))) {
			snprintf(err, errlen, "sip.tls_cert/sip.tls_key: %s", terr);
			goto fail;
		}
	}
	struct eng_tls_config cc = { .ca_file = cfg->sip.tls_ca[0] ? cfg->sip.tls_ca : NULL,
				     .verify_peer = 1,
				     .min_version = v13 ? ENG_TLS_V13 : ENG_TLS_V12 };
	char cerr[256];
	if (!(sh->tls_client = eng_tls_ctx_new(&cc, 0, cerr, sizeof(cerr))))
		CM_WARN("sip: no TLS client context (%s): sips: targets will fail", cerr);
	return sh;
fail:
	gw_ua_shared_free(sh);
	return NULL;
}

void gw_ua_shared_free(struct gw_ua_shared *sh)
{
	if (!sh)
		return;
	for (size_t i = 0; i < sh->listen.n; i++)
		free(sh->listen.v[i]);
	free(sh->listen.v);
	for (size_t i = 0; i < sh->auto_answer.n; i++)
		free(sh->auto_answer.v[i]);
	free(sh->auto_answer.v);
	free(sh->types);
	free(sh->wtypes);
	free(sh->creds);
	if (sh->tls_server)
		eng_tls_ctx_free(sh->tls_server);
	if (sh->tls_client)
		eng_tls_ctx_free(sh->tls_client);
	free((void *)sh->workers);
	free(sh);
}

struct gw_ua *gw_ua_at(struct gw_ua_shared *sh, unsigned i)
{
	return i < sh->n ? atomic_load_explicit(&sh->workers[i], memory_order_acquire) : NULL;
}

unsigned gw_ua_nworkers(const struct gw_ua_shared *sh)
{
	return sh->n;
}

int gw_ua_worker_of(const struct gw_ua_shared *sh, const char *id)
{
	size_t n = id ? strlen(id) : 0;
	if (n != GW_UA_ID_LEN)
		return -1;
	return msrp_id_shard((cm_slice){ id, n }, sh->n);
}

int gw_ua_enabled(const struct gw_ua_shared *sh)
{
	return sh && sh->enabled;
}

int gw_ua_sip_port(const struct gw_ua_shared *sh, const char *kind)
{
	int i = !strcmp(kind, "udp") ? 0 : !strcmp(kind, "tcp") ? 1 : !strcmp(kind, "tls") ? 2 : -1;
	return i < 0 ? 0 : atomic_load(&sh->ports[i]);
}

int gw_ua_mint(unsigned worker, char id[GW_UA_ID_LEN + 1])
{
	int rc = msrp_id_session(worker, id, GW_UA_ID_LEN + 1);
	return rc < 0 ? rc : 0;
}

/* ---- addresses ------------------------------------------------------------------------- */

static int kind_index(uint8_t kind)
{
	kind &= SIP_TP_KIND_MASK;
	return kind == SIP_TP_TCP ? 1 : kind == SIP_TP_TLS ? 2 : 0;
}

static const char *kind_via(uint8_t kind)
{
	kind &= SIP_TP_KIND_MASK;
	return kind == SIP_TP_TCP ? "TCP" : kind == SIP_TP_TLS ? "TLS" : "UDP";
}

/* The listen spec of <kind> ("udp:host:port"), or NULL. */
static const char *listen_of(const struct gw_ua_shared *sh, uint8_t kind)
{
	kind &= SIP_TP_KIND_MASK;
	const char *pre = kind == SIP_TP_TCP ? "tcp:" : kind == SIP_TP_TLS ? "tls:" : "udp:";
	for (size_t i = 0; i < sh->listen.n; i++)
		if (!strncmp(sh->listen.v[i], pre, 4))
			return sh->listen.v[i];
	return NULL;
}

/* Our host toward <d> for Via, Contact, a=path and c=: sip.advertise (ua.msrp_advertise for
 * <msrp>), else the listen address when it is not a wildcard, else the source address the
 * kernel picks toward <d>. IPv6 in brackets when <brackets>. */
static void local_host(const struct gw_ua *ua, const struct sip_dest *d, int msrp, int brackets,
		       char *buf, size_t len)
{
	const struct gw_ua_shared *sh = ua->sh;
	const char *adv = msrp ? sh->msrp_host : sh->advertise;
	if (adv[0]) {
		snprintf(buf, len, "%s", adv);
		if (!msrp) {
			char *c = strrchr(buf, ':');
			if (c && !strchr(buf, ']') && strchr(buf, ':') == c)
				*c = '\0';
		}
		return;
	}
	const char *spec = listen_of(sh, d->kind);
	struct sockaddr_storage ss;
	socklen_t sl_ = sizeof(ss);
	if (spec && eng_parse_hostport(spec + 4, &ss, &sl_) == 0) {
		int wild = ss.ss_family == AF_INET6
				   ? !memcmp(&((struct sockaddr_in6 *)&ss)->sin6_addr, &in6addr_any,
					     sizeof(struct in6_addr))
				   : ((struct sockaddr_in *)&ss)->sin_addr.s_addr == htonl(INADDR_ANY);
		if (!wild)
			goto print;
	}
	/* a wildcard: the address a datagram toward <d> would leave from */
	sl_ = sizeof(ss);
	int fd = socket(d->addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (const struct sockaddr *)&d->addr, d->addrlen) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl_) < 0) {
		if (fd >= 0)
			close(fd);
		snprintf(buf, len, "127.0.0.1");
		return;
	}
	close(fd);
print:;
	char a[INET6_ADDRSTRLEN];
	if (ss.ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, a, sizeof(a));
		snprintf(buf, len, brackets ? "[%s]" : "%s", a);
	} else {
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, a, sizeof(a));
		snprintf(buf, len, "%s", a);
	}
}

/* Our SIP port for <kind>: sip.advertise's when it names one, else the listener's. */
static int local_port(const struct gw_ua *ua, uint8_t kind)
{
	const char *adv = ua->sh->advertise, *c = strrchr(adv, ':');
	if (adv[0] && c && (strchr(adv, ']') ? c > strchr(adv, ']') : strchr(adv, ':') == c))
		return atoi(c + 1);
	int p = atomic_load(&ua->sh->ports[kind_index(kind)]);
	return p ? p : atomic_load(&ua->sh->ports[0]);
}

/* Where a request for the URI <uri> goes (RFC 3263 §4 for an address: its port or 5060/5061,
 * its ;transport or UDP, TLS for sips:). -EINVAL (not a SIP URI), -EHOSTUNREACH (a host
 * name: no resolver in this path yet). */
static int dest_of_uri(const struct gw_ua *ua, cm_slice uri, struct sip_dest *d)
{
	struct sip_uri u;
	if (uri.len && uri.p[0] == '<') {
		const char *gt = memchr(uri.p, '>', uri.len);
		if (!gt)
			return -EINVAL;
		uri = (cm_slice){ uri.p + 1, (size_t)(gt - uri.p - 1) };
	}
	if (sip_uri_parse(uri, &u) < 0)
		return -EINVAL;
	if (u.scheme == SIP_SCHEME_TEL) /* a number: only a proxy knows where it goes */
		return -EHOSTUNREACH;
	memset(d, 0, sizeof(*d));
	d->worker = (uint16_t)ua->index;
	d->kind = u.scheme == SIP_SCHEME_SIPS ? SIP_TP_TLS : SIP_TP_UDP;
	if (u.transport.len == 3 && !strncasecmp(u.transport.p, "tcp", 3))
		d->kind = u.scheme == SIP_SCHEME_SIPS ? SIP_TP_TLS : SIP_TP_TCP;
	else if (u.transport.len == 3 && !strncasecmp(u.transport.p, "tls", 3))
		d->kind = SIP_TP_TLS;
	cm_slice host = u.maddr.len ? u.maddr : u.host;
	char h[INET6_ADDRSTRLEN + 2];
	if (host.len >= sizeof(h))
		return -EHOSTUNREACH;
	if (host.len > 2 && host.p[0] == '[')
		host = (cm_slice){ host.p + 1, host.len - 2 };
	memcpy(h, host.p, host.len);
	h[host.len] = '\0';
	uint16_t port = u.port ? u.port : (d->kind == SIP_TP_TLS ? 5061 : 5060);
	struct sockaddr_in *a4 = (struct sockaddr_in *)&d->addr;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&d->addr;
	if (inet_pton(AF_INET, h, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(port);
		d->addrlen = sizeof(*a4);
	} else if (inet_pton(AF_INET6, h, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(port);
		d->addrlen = sizeof(*a6);
	} else {
		return -EHOSTUNREACH;
	}
	return 0;
}

/* ---- the worker's SIP stack and the routing between workers ---------------------------- */

/* A message that reached worker A for a session of worker B, or bytes that B sends on a
 * connection of A: copied through the mailbox. */
struct xsip {
	struct gw_ua_shared *sh;
	struct sip_dest dest;
	int send;                      /* 1: send these bytes; 0: take them in */
	size_t len;
	char raw[];
};

static void x_in(eng_worker *w, void *arg, uint64_t u64);

static int cross(struct gw_ua *ua, unsigned to, int send, const char *raw, size_t len,
		 const struct sip_dest *d)
{
	struct xsip *x = malloc(sizeof(*x) + len);
	eng_worker *w = eng_worker_at(eng_of(ua->w), to);
	if (!x || !w) {
		free(x);
		ua->st.sip_cross_dropped++;
		return -ENOMEM;
	}
	x->sh = ua->sh;
	x->dest = *d;
	x->send = send;
	x->len = len;
	memcpy(x->raw, raw, len);
	if (eng_post(w, x_in, x, 0) < 0) {
		free(x);
		ua->st.sip_cross_dropped++;
		return -EAGAIN;
	}
	ua->st.sip_crossed++;
	return 0;
}

/* struct sip_tp's send: on our transport, or on the worker whose connection it is. */
static int tp_send(void *arg, const char *buf, size_t len, const struct sip_dest *dst,
		   int reliable)
{
	struct gw_ua *ua = arg;
	ua->st.sip_out++;
	if (dst->kind & GW_UA_TP_REMOTE) /* for a request another node passed on to us */
		return ua->sh->remote_send ? ua->sh->remote_send(ua->w, dst->conn_id, buf, len)
					   : -EPROTONOSUPPORT;
	if (dst->kind != SIP_TP_UDP && dst->conn_id && dst->worker != ua->index)
		return cross(ua, dst->worker, 1, buf, len, dst);
	return sip_transport_send(ua->tp, buf, len, dst, reliable);
}

/* The worker that owns what <m> is about: a response by the session-id in its top Via's
 * branch, a request by the one in its To tag (ours: in-dialog); -1 for the rest (new
 * requests, CANCEL and ACK of the INVITE they follow: they stay where they arrive). */
static int owner_of(const struct gw_ua *ua, const struct sip_msg *m)
{
	if (m->kind == SIP_KIND_RESPONSE) {
		struct sip_hdr_iter it;
		cm_slice e;
		struct sip_via v;
		sip_hdr_iter_init(&it, m, SIP_H_VIA);
		if (sip_hdr_iter_next(&it, &e) <= 0 || sip_via_parse(e, &v) < 0 ||
		    v.branch.len < 7 + GW_UA_ID_LEN)
			return -1;
		return shard_at(ua->sh, v.branch, 7);
	}
	struct sip_addr to;
	if (sip_addr_parse(sip_msg_hdr(m, SIP_H_TO), &to) < 0)
		return -1;
	if (!to.tag.len && (m->method == SIP_M_MESSAGE || m->method == SIP_M_INVITE))
		for (unsigned i = 0; i < ua->sh->nhooks; i++) { /* the gateway's keys */
			int wi = ua->sh->hooks[i].route ?
				ua->sh->hooks[i].route(ua->sh->hooks_arg[i], m) : -1;
			if (wi >= 0)
				return wi;
		}
	if (to.tag.len != GW_UA_ID_LEN)
		return -1;
	return shard_at(ua->sh, to.tag, 0);
}

static void deliver(struct gw_ua *ua, const char *raw, size_t len, const struct sip_msg *m,
		    const struct sip_dest *src)
{
	if (sip_txn_input(ua->txl, raw, len, m, src) < 0)
		ua->st.sip_bad++;
}

static struct gw_sess *sess_find(struct gw_ua *ua, cm_slice id);
static cm_slice stray_tag(char *buf, size_t len);

/* An in-dialog request for a session this node does not have, held while the cluster
 * takes the session over from a dead node (issue 8), then taken in again. */
struct held_req {
	struct gw_ua *ua;
	struct sip_dest src;
	size_t len;
	char raw[];
};

static void take_in(struct gw_ua *ua, const char *raw, size_t len, const struct sip_dest *src)
{
	struct sip_msg *m = malloc(sizeof(*m));
	if (m && sip_parse_msg(&ua->pcfg, raw, len, m) == 0)
		deliver(ua, raw, len, m, src);
	free(m);
}

/* 503 to <raw> (statelessly; an ACK is dropped): the session lives elsewhere, and the
 * request could not be passed on to it now. */
static void busy(struct gw_ua *ua, const char *raw, size_t len, const struct sip_dest *src)
{
	struct sip_msg *m = malloc(sizeof(*m));
	char tag[16];
	if (m && sip_parse_msg(&ua->pcfg, raw, len, m) == 0 && m->method != SIP_M_ACK) {
		ua->st.answered_503++;
		sip_txn_reply_stateless(ua->txl, m, src, 503, stray_tag(tag, sizeof(tag)));
	}
	free(m);
}

static void held_done(void *ctx, int here, const char *owner)
{
	struct held_req *h = ctx;
	struct gw_ua *ua = h->ua;
	ua->nheld--;
	if (!here && owner && ua->sh->forward) {
		if (ua->sh->forward(ua->w, owner, ua->index, h->raw, h->len, &h->src) == 0)
			ua->st.sip_forwarded++; /* a live node's session: it answers, through us */
		else
			busy(ua, h->raw, h->len, &h->src); /* not a 481: the dialog lives on */
		free(h);
		return;
	}
	take_in(ua, h->raw, h->len, &h->src); /* not here: its 481, as without a cluster */
	free(h);
}

/* 1 when request <m> is for a session of ours (by its To tag) that is not in memory and
 * the cluster is asked to take it over (the request held meanwhile), else 0. */
static int hold_for_takeover(struct gw_ua *ua, const char *raw, size_t len,
			     const struct sip_msg *m, const struct sip_dest *src)
{
	struct sip_addr to;
	if (!ua->sh->takeover || m->kind == SIP_KIND_RESPONSE || m->method == SIP_M_CANCEL ||
	    (src->kind & GW_UA_TP_REMOTE) || sip_addr_parse(sip_msg_hdr(m, SIP_H_TO), &to) < 0 ||
	    to.tag.len != GW_UA_ID_LEN || shard_at(ua->sh, to.tag, 0) != (int)ua->index ||
	    sess_find(ua, to.tag))
		return 0;
	char id[GW_UA_ID_LEN + 1];
	memcpy(id, to.tag.p, GW_UA_ID_LEN);
	id[GW_UA_ID_LEN] = '\0';
	if (ua->nheld >= GW_UA_MAX_HELD) { /* a flood of them: the peer tries again later */
		char tag[16];
		ua->st.sip_held_refused++;
		if (m->method == SIP_M_ACK)
			return 1; /* nothing answers an ACK: dropped */
		ua->st.answered_503++;
		sip_txn_reply_stateless(ua->txl, m, src, 503, stray_tag(tag, sizeof(tag)));
		return 1;
	}
	struct held_req *h = malloc(sizeof(*h) + len);
	if (!h)
		return 0;
	h->ua = ua;
	h->src = *src;
	h->len = len;
	memcpy(h->raw, raw, len);
	if (ua->sh->takeover(ua->w, ua, id, held_done, h) < 0) {
		free(h);
		return 0;
	}
	ua->st.sip_held++;
	ua->nheld++;
	return 1;
}

/* An MSRP SEND for a session of this worker that is not in memory (a peer binding anew
 * on this node, as after a failover): the cluster may take it over (issue 8). */
static int msrp_may_find(void *arg, cm_slice sid)
{
	struct gw_ua *ua = arg;
	return ua->sh->takeover && sid.len == GW_UA_ID_LEN &&
	       shard_at(ua->sh, sid, 0) == (int)ua->index && !sess_find(ua, sid);
}

struct msrp_look {
	struct gw_ua *ua;
	uint64_t token;
	int handed;                    /* its live owner was asked to hand it on */
	char sid[GW_UA_ID_LEN + 1];
};

static void msrp_found(void *ctx, int here, const char *owner);

/* The live owner handed the session on (200), or may have (5xx: no answer): taken over now,
 * as a dead node's (the takeover is fenced: it tells); refused (4xx): 481. */
static void msrp_handed(void *ctx, int status)
{
	struct msrp_look *l = ctx;
	if ((status == 200 || status >= 500) &&
	    l->ua->sh->takeover(l->ua->w, l->ua, l->sid, msrp_found, l) == 0)
		return;
	msrp_found(l, 0, NULL);
}

static void msrp_found(void *ctx, int here, const char *owner)
{
	struct msrp_look *l = ctx;
	/* a live node's: its peer bound again here (the old connection is gone to it), so the
	 * session comes here — once */
	if (!here && owner && owner[0] && !l->handed && l->ua->sh->handoff) {
		l->handed = 1;
		if (l->ua->sh->handoff(l->ua->w, l->ua, l->sid, owner, msrp_handed, l) == 0)
			return;
	}
	if (l->ua->mua)
		msrp_ua_resume(l->ua->mua, l->token, here);
	free(l);
}

static void msrp_find(void *arg, const char *sid, uint64_t token)
{
	struct gw_ua *ua = arg;
	struct msrp_look *l = malloc(sizeof(*l));
	if (l) {
		*l = (struct msrp_look){ .ua = ua, .token = token };
		snprintf(l->sid, sizeof(l->sid), "%s", sid);
		ua->st.msrp_held++;
		if (ua->sh->takeover(ua->w, ua, sid, msrp_found, l) == 0)
			return;
	}
	free(l);
	msrp_ua_resume(ua->mua, token, 0);
}

static void on_msg(void *arg, const char *raw, size_t len, const struct sip_msg *m,
		   const struct sip_dest *src)
{
	struct gw_ua *ua = arg;
	struct sip_dest d = *src;
	d.worker = (uint16_t)ua->index;
	ua->st.sip_in++;
	int owner = owner_of(ua, m);
	if (owner >= 0 && (unsigned)owner != ua->index) {
		cross(ua, (unsigned)owner, 0, raw, len, &d);
		return;
	}
	if (!hold_for_takeover(ua, raw, len, m, &d))
		deliver(ua, raw, len, m, &d);
}

static void x_in(eng_worker *w, void *arg, uint64_t u64)
{
	struct xsip *x = arg;
	struct gw_ua *ua = gw_ua_at(x->sh, eng_worker_index(w));
	(void)u64;
	if (ua && x->send) {
		if (sip_transport_send(ua->tp, x->raw, x->len, &x->dest, 1) < 0)
			ua->st.sip_cross_dropped++;
	} else if (ua) {
		struct sip_msg *m = malloc(sizeof(*m));
		if (m && sip_parse_msg(&ua->pcfg, x->raw, x->len, m) == 0 &&
		    !hold_for_takeover(ua, x->raw, x->len, m, &x->dest))
			deliver(ua, x->raw, x->len, m, &x->dest);
		free(m);
	}
	free(x);
}

/* ---- sessions ---------------------------------------------------------------------------- */

static struct gw_sess *sess_find(struct gw_ua *ua, cm_slice id)
{
	return (struct gw_sess *)msrp_sess_find(&ua->sessions, id);
}

static void q_clear(struct gw_sess *s)
{
	struct gw_queued *q;
	while ((q = s->q_head)) {
		s->q_head = q->next;
		free(q);
	}
	s->q_tail = &s->q_head;
	s->nq = 0;
}

static void ev_report(struct msrp_ua_sess *ms, void *arg, const char *message_id, int status,
		      const struct msrp_range *range);

/* The session is over before its MSRP leg took the messages accepted meanwhile: each one is
 * told failed (message.report, message.failed; 503 as for a lost connection) unless it asked
 * for no failure report. The owners of other sessions (gateway, contact centre) hold their
 * messages themselves until the session is up. */
static void q_fail(struct gw_sess *s)
{
	if (s->owner)
		return;
	for (struct gw_queued *q = s->q_head; q; q = q->next)
		if (q->fr != 0)
			ev_report(NULL, s, q->msgid, 503, NULL);
}

static void disp_clear(struct gw_sess *s)
{
	struct gw_disp *d;
	while ((d = s->disp)) {
		s->disp = d->next;
		free(d);
	}
	s->ndisp = 0;
}

#define FT_KEY_LEN (3 + 2 * WC_SHA256_DIGEST_SIZE + 1)

/* The key under which the bytes of a file offered to us by the peer of <s> are kept when
 * its transfer breaks: a digest of who offered it, to whom, and its a=file-selector as
 * offered (RFC 5547 §8.4: a resumption offers the same file with the same selector). */
static void ft_key(const struct gw_sess *s, char key[FT_KEY_LEN])
{
	const char *sel = s->ft_attrs + sizeof("file-selector:") - 1;
	unsigned char h[WC_SHA256_DIGEST_SIZE];
	wc_Sha256 sha;
	memset(h, 0, sizeof(h));
	if (wc_InitSha256(&sha) == 0) {
		wc_Sha256Update(&sha, (const byte *)s->from, (word32)strlen(s->from) + 1);
		wc_Sha256Update(&sha, (const byte *)s->to, (word32)strlen(s->to) + 1);
		wc_Sha256Update(&sha, (const byte *)sel, (word32)strcspn(sel, "\n"));
		wc_Sha256Final(&sha, h);
		wc_Sha256Free(&sha);
	}
	memcpy(key, "in|", 3);
	for (unsigned i = 0; i < sizeof(h); i++)
		snprintf(key + 3 + 2 * i, 3, "%02x", h[i]);
}

/* Keeps <len> bytes at <data> (taken) of the file of <s> of <total> bytes, for a
 * resumption. 0 or -errno. */
static int ft_keep(struct gw_sess *s, void *data, uint64_t len, uint64_t total)
{
	char key[FT_KEY_LEN];
	ft_key(s, key);
	return gw_files_keep(s->ua->sh->files, key, "", data, len, len, total);
}

/* Closes the MSRP session of <s>. A file offered to us that did not come whole leaves its
 * bytes from the first on in the store, for the sender to resume from (file.partial). */
static void ms_close(struct gw_sess *s)
{
	if (!s->ms)
		return;
	struct msrp_reasm_msg m;
	uint64_t total;
	void *seed;
	if (s->ft_in && s->ft_attrs && s->ua->sh->files &&
	    msrp_ua_take_seed(s->ms, &seed, &m.len, &total) == 1)
		ft_keep(s, seed, m.len, total); /* a resumption that never got a chunk: kept still */
	if (s->ft_in && s->ft_attrs && s->ua->sh->files &&
	    msrp_ua_take_partial(s->ms, &m, &total) == 1) {
		uint64_t got = m.len;
		char *d = realloc(m.data, m.len); /* what it holds: no room for the rest */
		if (d)
			m.data = d;
		int rc = ft_keep(s, m.data, m.len, total);
		m.data = NULL;
		msrp_reasm_msg_free(&m);
		if (rc == 0) {
			const char *tid = strstr(s->ft_attrs, "\nfile-transfer-id:");
			json_t *ev = json_pack("{s:I, s:I}", "received", (json_int_t)got, "size",
					       (json_int_t)total);
			if (ev && tid) {
				tid += sizeof("\nfile-transfer-id:") - 1;
				json_object_set_new(ev, "transfer_id",
						    json_stringn(tid, strcspn(tid, "\n")));
			}
			s->ua->st.files_parts_kept++;
			sess_publish(s, "file.partial", ev);
		}
	}
	msrp_ua_close(s->ms);
	s->ms = NULL;
}

static void sess_free(struct gw_sess *s)
{
	struct gw_ua *ua = s->ua;
	eng_timer_cancel(&s->timer);
	eng_timer_cancel(&s->rtx);
	sip_resolve_cancel(&s->rr);
	relay_unwait(s);
	ms_close(s);
	if (s->ft_seed && ua->sh->files) { /* a resumption refused: the bytes stay kept */
		ft_keep(s, s->ft_seed, s->ft_seed_len, s->ft_seed_total);
		s->ft_seed = NULL;
	}
	msrp_sess_remove(&ua->sessions, &s->ent);
	ua->nsess--;
	q_clear(s);
	disp_clear(s);
	free(s->strs);
	free(s->inv_msg);
	free(s->our_sdp);
	free(s->peer_sdp);
	free(s->ack_msg);
	free(s->ft_attrs);
	free(s->ft_seed);
	free(s->adopted_leg);
	free(s->seen);
	free(s->c);
	free(s);
}

/* A session over: freed once it lingered and no transaction names it any more. */
static void linger_done(eng_timer *t)
{
	struct gw_sess *s = t->arg;
	if (s->ntx)
		s->freed_pending = 1;
	else
		sess_free(s);
}

static void tx_done(struct gw_sess *s)
{
	if (s->ntx && !--s->ntx && s->freed_pending)
		sess_free(s);
}

static json_t *types_json(const char *list)
{
	json_t *a = json_array();
	const char *p = list;
	while (a && p && *p) {
		const char *e = strchr(p, ' ');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (n)
			json_array_append_new(a, json_stringn(p, n));
		p = e ? e + 1 : NULL;
	}
	return a;
}

static json_t *sess_json(const struct gw_sess *s)
{
	char ts[64];
	rfc3339(s->created_ms, ts, sizeof(ts));
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:I, s:I, s:I}",
			      "id", s->id, "state", gw_ua_state_names[s->state], "direction",
			      s->incoming ? "incoming" : "outgoing", "from", s->from, "to", s->to,
			      "ruri", s->ruri, "accept_types", types_json(s->types),
			      "created_at", ts, "messages_sent", (json_int_t)s->msgs_out,
			      "messages_received", (json_int_t)s->msgs_in,
			      "queued", (json_int_t)s->nq);
	if (!o)
		return NULL;
	if (s->peer_types[0])
		json_object_set_new(o, "peer_accept_types", types_json(s->peer_types));
	static const char *const ids[][2] = { /* RCC.07 §2.4.5 / OMA CPM */
		{ "Conversation-ID", "conversation_id" },
		{ "Contribution-ID", "contribution_id" },
		{ "InReplyTo-Contribution-ID", "in_reply_to_contribution_id" },
	};
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		cm_slice v = hdr_line(s->hdrs, ids[i][0]);
		if (v.p)
			json_object_set_new(o, ids[i][1], json_stringn(v.p, v.len));
	}
	if (s->sip_code)
		json_object_set_new(o, "sip_code", json_integer(s->sip_code));
	if (s->ended_by)
		json_object_set_new(o, "ended_by", json_string(s->ended_by));
	if (s->reason)
		json_object_set_new(o, "reason", json_string(s->reason));
	return o;
}

/* Publishes event <type> about <s>: <ev> (may be NULL) gets "type" and "session_id". */
static void sess_publish(struct gw_sess *s, const char *type, json_t *ev)
{
	if (!ev)
		ev = json_object();
	if (!ev)
		return;
	json_object_set_new(ev, "type", json_string(type));
	json_object_set_new(ev, "session_id", json_string(s->id));
	if (s->ua->sh->publish)
		s->ua->sh->publish(ev);
	else
		json_decref(ev);
}

/* <s> is over: ended (it was up or cancelled) or failed (it never came up), with an event;
 * its MSRP session closed, its queue dropped; it lingers for GET. */
static void sess_over(struct gw_sess *s, enum gw_state st, const char *by, const char *reason,
		      int code)
{
	struct gw_ua *ua = s->ua;
	if (s->state == ST_ENDED || s->state == ST_FAILED)
		return;
	ua->nlive--;
	relay_unwait(s);
	if (s->incoming && s->inv) /* still unanswered: it gets the reason's code */
		final_answer(s, code >= 300 && code <= 699 ? code : 500, NULL, 0, CM_SLICE_NULL);
	s->state = (uint8_t)st;
	s->ended_by = by;
	s->reason = reason;
	if (code)
		s->sip_code = code;
	if (ua->repl.over)
		ua->repl.over(ua->repl.arg, s->id);
	ms_close(s);
	q_fail(s);
	q_clear(s);
	disp_clear(s);
	eng_timer_cancel(&s->rtx);
	/* what only a live call needs goes now; the INVITE stays (a late 2xx is ACKed and
	 * BYEd from it) */
	s->have_dlg = 0;
	free(s->c);
	s->c = NULL;
	free(s->our_sdp);
	free(s->peer_sdp);
	free(s->ack_msg);
	s->our_sdp = s->peer_sdp = s->ack_msg = NULL;
	s->our_sdp_len = s->peer_sdp_len = s->ack_len = 0;
	if (s->owner) {
		ua->st.failed += st == ST_FAILED;
		ua->st.ended += st != ST_FAILED;
		if (s->owner->over)
			s->owner->over(s->owner_arg, s->id, st == ST_FAILED, s->sip_code, reason);
	} else if (st == ST_FAILED) {
		ua->st.failed++;
		sess_publish(s, "session.failed",
			     json_pack("{s:i, s:s, s:s}", "sip_code", s->sip_code ? s->sip_code : 500,
				       "reason", reason, "by", by));
	} else if (ua->moved_to) {
		sess_publish(s, "session.moved", json_pack("{s:s}", "owner", ua->moved_to));
	} else {
		ua->st.ended++;
		sess_publish(s, "session.ended", json_pack("{s:s, s:s}", "by", by, "reason", reason));
	}
	eng_timer_cancel(&s->timer);
	eng_timer_init(&s->timer, linger_done, s);
	if (ua->moved_to) { /* not kept for GET here: the owner answers for it */
		eng_timer_arm(ua->w, &s->timer, 0);
		return;
	}
	/* what is over stays readable, unless as many are over as may be alive: then briefly */
	eng_timer_arm(ua->w, &s->timer, ua->nsess - ua->nlive > ua->sh->max_sessions
						? 1000 : GW_UA_LINGER_MS);
}

/* A new session on this worker, state <st>, strings copied. NULL with *<code> (503, 409). */
static struct gw_sess *sess_new(struct gw_ua *ua, const char *id, const char *from,
				const char *to, const char *ruri, const char *hdrs, int *code)
{
	if (ua->nlive >= ua->sh->max_sessions) {
		ua->st.limited_sessions++;
		*code = 503;
		return NULL;
	}
	struct gw_sess *s = calloc(1, sizeof(*s));
	size_t lf = strlen(from) + 1, lt = strlen(to) + 1, lr = strlen(ruri) + 1;
	size_t lh = strlen(hdrs ? hdrs : "") + 1;
	if (!s || !(s->c = calloc(1, sizeof(*s->c))) || !(s->strs = malloc(lf + lt + lr + lh))) {
		if (s)
			free(s->c);
		free(s);
		*code = 503;
		return NULL;
	}
	s->from = memcpy(s->strs, from, lf);
	s->to = memcpy(s->from + lf, to, lt);
	s->ruri = memcpy(s->to + lt, ruri, lr);
	s->hdrs = memcpy(s->ruri + lr, hdrs ? hdrs : "", lh);
	snprintf(s->id, sizeof(s->id), "%s", id);
	if (msrp_sess_add(&ua->sessions, &s->ent, sl(s->id)) < 0) {
		free(s->strs);
		free(s->c);
		free(s);
		*code = 409;
		return NULL;
	}
	s->ua = ua;
	s->q_tail = &s->q_head;
	s->created_ms = cm_wall_ms();
	eng_timer_init(&s->timer, linger_done, s);
	eng_timer_init(&s->rtx, rtx_fire, s);
	ua->nsess++;
	ua->nlive++;
	if (ua->repl.changed)
		ua->repl.changed(ua->repl.arg, s->id);
	return s;
}

/* The space-separated list <p> as slices into <out> (at most <max>); how many. */
static unsigned split_types(const char *p, cm_slice *out, unsigned max)
{
	unsigned n = 0;
	while (p && *p && n < max) {
		const char *e = strchr(p, ' ');
		out[n++] = (cm_slice){ p, e ? (size_t)(e - p) : strlen(p) };
		p = e ? e + 1 : NULL;
	}
	return n;
}

/* Our MSRP URI for <s>: msrp://host:port/<id>;tcp */
static void our_msrp_uri(const struct gw_sess *s, char *buf, size_t len)
{
	char host[300];
	local_host(s->ua, &s->dest, 1, 1, host, sizeof(host));
	snprintf(buf, len, "msrp://%s:%d/%s;tcp", host, s->ua->msrp_port, s->id);
}

/* Our SDP for <s> into s->our_sdp: an offer (<offer> NULL) or the answer to <offer>. */
static int our_sdp(struct gw_sess *s, const struct sdp *offer, struct sdp_msrp_answer_res *res)
{
	char uri[400], host[300], sess_id[24], buf[SDP_BUF];
	cm_slice path[8], types[GW_UA_MAX_TYPES], wrapped[GW_UA_MAX_TYPES];
	unsigned np = relay_uris(s->ua, path, 7), nw = 0, cpim = 0;
	unsigned nt = split_types(s->types, types, GW_UA_MAX_TYPES);
	our_msrp_uri(s, uri, sizeof(uri));
	path[np++] = sl(uri);
	local_host(s->ua, &s->dest, 1, 0, host, sizeof(host));
	for (unsigned i = 0; i < nt; i++)
		cpim |= types[i].len == sizeof(RCS_CT_CPIM) - 1 &&
			!strncasecmp(types[i].p, RCS_CT_CPIM, types[i].len);
	if (cpim) /* what we take inside CPIM (RFC 4975 §8.6) */
		nw = split_types(s->ua->sh->wtypes, wrapped, GW_UA_MAX_TYPES);
	snprintf(sess_id, sizeof(sess_id), "%" PRIu64, s->created_ms);
	cm_slice attrs[SDP_MSRP_ATTRS_MAX];
	unsigned na = 0;
	for (const char *p = s->ft_attrs; p && *p && na < SDP_MSRP_ATTRS_MAX;) {
		const char *e = strchr(p, '\n');
		attrs[na++] = (cm_slice){ p, e ? (size_t)(e - p) : strlen(p) };
		p = e ? e + 1 : NULL;
	}
	struct sdp_msrp_local l = {
		.username = CM_SLICE_LIT("rcsgw"), .sess_id = sl(sess_id),
		.sess_version = CM_SLICE_LIT("1"), .addr = sl(host),
		.port = (uint16_t)s->ua->msrp_port, .path = path, .npath = np,
		.types = types, .ntypes = nt, .wrapped = wrapped, .nwrapped = nw,
		.dir = s->sendonly ? SDP_DIR_SENDONLY : SDP_DIR_SENDRECV,
		.attrs = attrs, .nattrs = na,
	};
	l.setup = offer ? (s->ua->sh->setup_passive ? SDP_SETUP_PASSIVE : SDP_SETUP_ACTIVE)
			: SDP_SETUP_ACTPASS;
	size_t n = 0;
	int rc = offer ? sdp_msrp_answer(offer, &l, buf, sizeof(buf), &n, res)
		       : sdp_msrp_offer(&l, buf, sizeof(buf), &n);
	if (rc < 0)
		return rc;
	char *c = dup_slice((cm_slice){ buf, n });
	if (!c)
		return -ENOMEM;
	free(s->our_sdp);
	s->our_sdp = c;
	s->our_sdp_len = n;
	return 0;
}

/* Takes <body> as the peer's SDP: copied, its MSRP stream read into s->c->peer. 0, -ENOENT
 * (no MSRP stream), -EINVAL (malformed), -ENOMEM. <out> (may be NULL) gets the parsed
 * description (slices into the copy). */
static int take_peer_sdp(struct gw_sess *s, cm_slice body, struct sdp *out)
{
	struct sdp *d = out ? out : malloc(sizeof(*d));
	char *c = dup_slice(body);
	int rc = -ENOMEM;
	if (!d || !c)
		goto done;
	struct sdp_msrp_media m;
	if ((rc = sdp_parse((cm_slice){ c, body.len }, NULL, d, NULL)) < 0)
		goto done;
	if ((rc = sdp_msrp_find(d, &m)) < 0)
		goto done;
	free(s->peer_sdp);
	s->peer_sdp = c;
	s->peer_sdp_len = body.len;
	c = NULL;
	s->c->peer = m;
	size_t o = 0;
	s->peer_types[0] = '\0';
	for (unsigned i = 0; i < m.ntypes && o + m.types[i].len + 2 < sizeof(s->peer_types); i++)
		o += (size_t)snprintf(s->peer_types + o, sizeof(s->peer_types) - o, "%s%.*s",
				      i ? " " : "", (int)m.types[i].len, m.types[i].p);
	rc = 0;
done:
	free(c);
	if (d != out)
		free(d);
	return rc;
}

/* ---- through an MSRP relay (ua.relay, RFC 4976) ----------------------------------------------
 *
 * Each worker AUTHs at the relay once, on a connection of its pool (the one its sessions'
 * SENDs then take: the relay wants a client's requests on the connection it AUTHed on), and
 * keeps the Use-Path for every session: first in our a=path and in the To-Path of what we send
 * (RFC 4976 §6.1). The AUTH is renewed before its Expires runs out, and again whenever the
 * connection is found gone. Sessions that need the Use-Path while there is none wait for it. */

enum { RL_IDLE = 0, RL_BUSY, RL_READY };

struct gw_relay {
	struct gw_ua *ua;
	int state;
	struct msrp_uri uri;           /* slices into ua->sh->relay */
	struct msrp_hop hop;
	char client_uri[400];          /* our From-Path in the AUTH */
	struct msrp_conn *mc;          /* the connection AUTHed on */
	char use_path[1024];
	uint32_t tries;
	eng_timer timer;               /* renewal, or a retry after a failure */
	struct gw_sess *waiters;
	int stopping;                  /* the worker stops: no retry, no renewal */
};

static void relay_start(struct gw_relay *r);
static void send_first_invite(struct gw_sess *s);
static int do_answer(struct gw_sess *s);

/* 1 when the Use-Path is there and its connection still open (a closed one has left the
 * pool). */
static int relay_ready(struct gw_relay *r)
{
	if (r->state != RL_READY)
		return 0;
	if (msrp_pool_holds(r->ua->pool, r->mc))
		return 1;
	relay_start(r); /* the connection went: AUTH again on a new one */
	return 0;
}

static void relay_wait(struct gw_relay *r, struct gw_sess *s)
{
	if (s->relay_wait)
		return;
	s->relay_wait = 1;
	s->rnext = r->waiters;
	if (s->rnext)
		s->rnext->rprev = &s->rnext;
	s->rprev = &r->waiters;
	r->waiters = s;
}

static void relay_unwait(struct gw_sess *s)
{
	if (!s->relay_wait)
		return;
	*s->rprev = s->rnext;
	if (s->rnext)
		s->rnext->rprev = s->rprev;
	s->relay_wait = 0;
}

/* The Use-Path came (<ok>) or the relay failed: what waited goes on, or fails. The list is
 * taken whole first: one that has to wait again goes on the new list. */
static void relay_wake(struct gw_relay *r, int ok)
{
	struct gw_sess *s, *list = r->waiters;
	if (list)
		list->rprev = &list;
	r->waiters = NULL;
	while ((s = list)) {
		relay_unwait(s);
		if (!ok)
			sess_over(s, ST_FAILED, "local", "relay_unavailable", 503);
		else if (s->incoming)
			do_answer(s);
		else
			send_first_invite(s);
	}
}

static void relay_retry(eng_timer *t)
{
	relay_start(t->arg);
}

static void relay_failed(struct gw_relay *r, const char *why)
{
	if (r->stopping) {
		r->state = RL_IDLE;
		r->mc = NULL;
		return;
	}
	CM_LOG_RL(CM_LOG_WARN, "ua: relay %s: %s; again in 5 s", r->ua->sh->relay, why);
	r->state = RL_IDLE;
	r->mc = NULL;
	relay_wake(r, 0);
	eng_timer_cancel(&r->timer);
	eng_timer_arm(r->ua->w, &r->timer, 5000);
}

static int relay_auth(struct gw_relay *r, const char *authz);

static void relay_auth_resp(struct msrp_conn *mc, void *arg, int status,
			    const struct msrp_msg *resp)
{
	struct gw_relay *r = arg;
	if (mc != r->mc || r->state != RL_BUSY || r->stopping)
		return; /* an AUTH of a connection given up on */
	if (status == 401 && resp && r->tries++ < 2) {
		struct msrp_auth_params *ap = malloc(sizeof(*ap));
		char cnonce[17], hex[65], authz[2048];
		snprintf(cnonce, sizeof(cnonce), "%08x%08x", rand32(), rand32());
		cm_slice ruri = sl(r->ua->sh->relay);
		if (!ap || msrp_auth_parse(msrp_hdr_get(resp, MSRP_H_WWW_AUTHENTICATE), ap) < 0 ||
		    !ap->realm.p || !ap->nonce.p ||
		    sip_digest_response(SIP_DIGEST_MD5, sl(r->ua->sh->relay_user), ap->realm,
					sl(r->ua->sh->relay_pass), CM_SLICE_LIT("AUTH"), ruri,
					ap->nonce, sl(cnonce), 1, CM_SLICE_LIT("auth"),
					CM_SLICE_NULL, hex, sizeof(hex)) < 0) {
			free(ap);
			relay_failed(r, "an AUTH challenge we cannot answer");
			return;
		}
		snprintf(authz, sizeof(authz),
			 "Digest username=\"%s\", realm=\"%.*s\", nonce=\"%.*s\", uri=\"%s\", "
			 "response=\"%s\", algorithm=MD5, cnonce=\"%s\", qop=auth, nc=00000001%s%.*s%s",
			 r->ua->sh->relay_user, (int)ap->realm.len, ap->realm.p, (int)ap->nonce.len,
			 ap->nonce.p, r->ua->sh->relay, hex, cnonce, ap->opaque.p ? ", opaque=\"" : "",
			 (int)ap->opaque.len, ap->opaque.p ? ap->opaque.p : "", ap->opaque.p ? "\"" : "");
		free(ap);
		if (relay_auth(r, authz) < 0)
			relay_failed(r, "the second AUTH could not be sent");
		return;
	}
	cm_slice up = resp ? msrp_hdr_get(resp, MSRP_H_USE_PATH) : CM_SLICE_NULL;
	if (status != 200 || !up.len || up.len >= sizeof(r->use_path)) {
		char why[64];
		snprintf(why, sizeof(why), "AUTH answered %d%s", status,
			 status == 200 ? " without a usable Use-Path" : "");
		relay_failed(r, why);
		return;
	}
	memcpy(r->use_path, up.p, up.len);
	r->use_path[up.len] = '\0';
	uint32_t exp = 0;
	cm_slice ev = msrp_hdr_get(resp, MSRP_H_EXPIRES);
	for (size_t i = 0; i < ev.len && ev.p[i] >= '0' && ev.p[i] <= '9' && exp < 1000000; i++)
		exp = exp * 10 + (uint32_t)(ev.p[i] - '0');
	r->state = RL_READY;
	CM_DEBUG("ua: relay Use-Path %s, %u s", r->use_path, exp);
	/* renewed at four fifths of its life (an hour when the relay said nothing) */
	eng_timer_cancel(&r->timer);
	eng_timer_arm(r->ua->w, &r->timer, (exp ? exp : 3600) * 800u);
	relay_wake(r, 1);
}

/* Sends an AUTH (with <authz>, the answer to a challenge, or none) on r->mc. */
static int relay_auth(struct gw_relay *r, const char *authz)
{
	char tid[MSRP_ID_TID_LEN + 1];
	struct msrp_hdr h = { MSRP_H_AUTHORIZATION, CM_SLICE_LIT("Authorization"), sl(authz) };
	if (msrp_id_tid(tid, sizeof(tid)) < 0)
		return -EIO;
	struct msrp_out o = {
		.tid = sl(tid), .method = MSRP_M_AUTH, .to_path = sl(r->ua->sh->relay),
		.from_path = sl(r->client_uri), .extra = authz ? &h : NULL, .nextra = authz ? 1 : 0,
	};
	return msrp_conn_request(r->mc, &o, NULL, 0, MSRP_FLAG_END, relay_auth_resp, r) < 0
		       ? -EIO : 0;
}

static void relay_conn(void *arg, struct msrp_conn *mc, int err)
{
	struct gw_relay *r = arg;
	if (!mc || err) {
		relay_failed(r, err == -ECANCELED ? "stopping" : "no connection");
		return;
	}
	r->mc = mc;
	r->tries = 0;
	if (relay_auth(r, NULL) < 0)
		relay_failed(r, "the AUTH could not be sent");
}

static void relay_start(struct gw_relay *r)
{
	if (r->state == RL_BUSY)
		return;
	r->state = RL_BUSY;
	r->mc = NULL;
	eng_timer_cancel(&r->timer);
	if (msrp_pool_get_hop(r->ua->pool, &r->hop, relay_conn, r) < 0)
		relay_failed(r, "no connection");
}

static struct gw_relay *relay_new(struct gw_ua *ua)
{
	struct gw_relay *r = calloc(1, sizeof(*r));
	char host[300];
	if (!r || msrp_uri_parse(sl(ua->sh->relay), &r->uri) < 0 ||
	    msrp_hop_direct(&r->uri, &r->hop) < 0) {
		free(r);
		return NULL;
	}
	r->ua = ua;
	struct sip_dest any = { .kind = SIP_TP_TCP };
	struct sockaddr_in *a = (struct sockaddr_in *)&any.addr;
	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	any.addrlen = sizeof(*a);
	local_host(ua, &any, 1, 1, host, sizeof(host));
	char sid[GW_UA_ID_LEN + 1];
	gw_ua_mint(ua->index, sid);
	snprintf(r->client_uri, sizeof(r->client_uri), "msrp%s://%s:%d/%s;tcp",
		 r->uri.secure ? "s" : "", host, ua->msrp_port, sid);
	eng_timer_init(&r->timer, relay_retry, r);
	relay_start(r);
	return r;
}

static void relay_free(struct gw_relay *r)
{
	if (!r)
		return;
	eng_timer_cancel(&r->timer);
	while (r->waiters)
		relay_unwait(r->waiters);
	free(r);
}

/* The Use-Path's URIs into <out> (at most <max>): what goes before our URI in a=path. */
static unsigned relay_uris(const struct gw_ua *ua, cm_slice *out, unsigned max)
{
	unsigned n = 0;
	const char *p = ua->relay ? ua->relay->use_path : "";
	while (*p && n < max) {
		const char *e = strchr(p, ' ');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if (len)
			out[n++] = (cm_slice){ p, len };
		p = e ? e + 1 : p + len;
	}
	return n;
}

/* ---- the MSRP side ----------------------------------------------------------------------- */

/* ---- the RCS layer of API sessions (rcs/rcs_msg.h) --------------------------------------- */

/* Our URI and the peer's in <s> (for CPIM From/To). */
static const char *local_uri(const struct gw_sess *s)
{
	return s->incoming ? s->to : s->from;
}

static const char *peer_uri(const struct gw_sess *s)
{
	return s->incoming ? s->from : s->to;
}

/* How a message of <ctype> goes to the peer of <s> when the sender wants <want> (1 in CPIM,
 * 0 as it is, -1 whichever the peer takes, as it is first): 1 in CPIM, 0 as it is, -1 not
 * known yet (no answer from the peer: decided when it comes), -415 in neither form. */
static int wrap_choice(const struct gw_sess *s, const char *ctype, int want)
{
	if (!s->peer_sdp || !s->c)
		return want;
	const struct sdp_msrp_media *p = &s->c->peer;
	int plain = sdp_msrp_may_send(p, sl(ctype), 0) != SDP_MSRP_SEND_TYPE;
	int wrapped = sdp_msrp_may_send(p, CM_SLICE_LIT(RCS_CT_CPIM), 0) != SDP_MSRP_SEND_TYPE &&
		      sdp_msrp_may_send_wrapped(p, sl(ctype)) != SDP_MSRP_SEND_TYPE;
	if (want == 1)
		return wrapped ? 1 : -415;
	if (want == 0)
		return plain ? 0 : -415;
	return plain ? 0 : wrapped ? 1 : -415;
}

/* <m> (its message_id set) in CPIM from us to the peer of <s>: a fresh body in *<out>. */
static long wrap_msg(const struct gw_sess *s, const struct gw_ua_msg *m, char **out)
{
	struct rcs_msg_out o = {
		.from = sl(local_uri(s)), .to = sl(peer_uri(s)), .message_id = sl(m->message_id),
		.dn = m->dn, .subject = m->subject ? sl(m->subject) : CM_SLICE_NULL,
		.content_type = sl(m->content_type), .body = m->body, .len = m->len,
		.now_ms = (long long)cm_wall_ms(), .nextra = m->nextra,
	};
	memcpy(o.extra, m->extra, sizeof(o.extra));
	return rcs_msg_wrap(&o, out);
}

/* Copies <v> into <dst> (<cap> bytes with the NUL): -E2BIG when it does not fit. */
static int copy_to(char *dst, size_t cap, cm_slice v)
{
	if (v.len >= cap)
		return -E2BIG;
	memcpy(dst, v.p ? v.p : "", v.len);
	dst[v.len] = '\0';
	return 0;
}

/* Sends the IMDN <kind>/<status> about a message received in <s>: its imdn.Message-ID <id>
 * and DateTime <dt>, from <us> to <peer> (its CPIM To and From). 0 with the IMDN's own
 * Message-ID in <nid>, or -errno (-EPROTO: the peer does not take IMDNs in CPIM). */
static int send_imdn(struct gw_sess *s, cm_slice id, cm_slice dt, cm_slice us, cm_slice peer,
		     enum rcs_imdn_kind kind, enum rcs_imdn_status status,
		     char nid[MSRP_ID_MSGID_LEN + 1])
{
	struct rcs_imdn n = { .kind = kind, .status = status };
	char dtbuf[32];
	if (!s->ms)
		return -EPIPE;
	if (wrap_choice(s, RCS_CT_IMDN, 1) != 1)
		return -EPROTO;
	if (!dt.len) { /* RFC 5438 §7.2.1.2 wants one: the time it came */
		rcs_cpim_datetime((long long)cm_wall_ms(), dtbuf);
		dt = sl(dtbuf);
	}
	if (copy_to(n.message_id, sizeof(n.message_id), id) < 0 ||
	    copy_to(n.datetime, sizeof(n.datetime), dt) < 0 ||
	    copy_to(n.recipient_uri, sizeof(n.recipient_uri), us) < 0 ||
	    copy_to(n.original_recipient_uri, sizeof(n.original_recipient_uri), us) < 0)
		return -E2BIG;
	nid[0] = '\0';
	if (msrp_id_message(nid, MSRP_ID_MSGID_LEN + 1) < 0)
		return -EIO;
	char *body;
	long len = rcs_msg_imdn(us, peer, sl(nid), &n, (long long)cm_wall_ms(), &body);
	if (len < 0)
		return (int)len;
	int rc = msrp_ua_send(s->ms, CM_SLICE_LIT(RCS_CT_CPIM), body, (size_t)len, MSRP_REPORT_NO,
			      MSRP_REPORT_NO, nid);
	free(body);
	if (rc == 0)
		s->ua->st.imdn_sent++;
	return rc;
}

/* Remembers received message <in> (it asked for a display notification) for
 * gw_ua_displayed(); the oldest goes beyond rcs.max_display_pending. */
static void disp_remember(struct gw_sess *s, const struct rcs_msg_in *in)
{
	uint32_t max = s->ua->sh->max_disp;
	cm_slice peer = in->from_uri.len ? in->from_uri : sl(peer_uri(s));
	cm_slice us = in->to_uri.len ? in->to_uri : sl(local_uri(s));
	if (!max || in->imdn_id.len > RCS_IMDN_ID_MAX || in->datetime.len > RCS_IMDN_DT_MAX ||
	    peer.len > GW_UA_MAX_URI || us.len > GW_UA_MAX_URI)
		return;
	struct gw_disp *d = malloc(sizeof(*d) + in->imdn_id.len + peer.len + us.len + 3);
	if (!d)
		return;
	d->next = NULL;
	d->sent = 0;
	copy_to(d->dt, sizeof(d->dt), in->datetime);
	memcpy(d->id, in->imdn_id.p, in->imdn_id.len);
	d->id[in->imdn_id.len] = '\0';
	d->peer = d->id + in->imdn_id.len + 1;
	memcpy(d->peer, peer.p, peer.len);
	d->peer[peer.len] = '\0';
	d->us = d->peer + peer.len + 1;
	memcpy(d->us, us.p, us.len);
	d->us[us.len] = '\0';
	struct gw_disp **t = &s->disp;
	while (*t)
		t = &(*t)->next;
	*t = d;
	if (++s->ndisp > max) {
		struct gw_disp *o = s->disp;
		s->disp = o->next;
		free(o);
		s->ndisp--;
	}
}

/* The file of a transfer to us (RFC 5547): its hash checked against the offer's selector,
 * kept in the store, announced as file.received with where to download it. Takes <m>. */
static void on_file(struct gw_sess *s, struct msrp_reasm_msg *m)
{
	struct rcs_filesel fs;
	char name[256] = "", id[GW_FILES_ID_LEN + 1], url[64];
	const char *sel = s->ft_attrs + sizeof("file-selector:") - 1;
	const char *tid = strstr(s->ft_attrs, "\nfile-transfer-id:");
	int have = rcs_filesel_parse(sel, strcspn(sel, "\n"), &fs) == 0;
	if (have && fs.name.p && rcs_filesel_name_decode(fs.name, name, sizeof(name)) < 0)
		name[0] = '\0';
	const char *hash = "none";
	if (have && fs.hash_len) {
		unsigned char h[WC_SHA256_DIGEST_SIZE];
		unsigned hl = 0;
		if (!strcasecmp(fs.hash_alg, "sha-1") &&
		    wc_ShaHash((const byte *)m->data, (word32)m->len, h) == 0)
			hl = WC_SHA_DIGEST_SIZE;
		else if (!strcasecmp(fs.hash_alg, "sha-256") &&
			 wc_Sha256Hash((const byte *)m->data, (word32)m->len, h) == 0)
			hl = WC_SHA256_DIGEST_SIZE;
		hash = !hl ? "unchecked" : hl == fs.hash_len && !memcmp(h, fs.hash, hl) ? "ok"
									     : "mismatch";
	}
	const char *ct = m->content_type ? m->content_type : "application/octet-stream";
	int rc = gw_files_put(s->ua->sh->files, name, ct, m->data, m->len, id);
	json_t *ev = json_pack("{s:s, s:s, s:I, s:s, s:b}", "name", name, "content_type", ct,
			       "size", (json_int_t)m->len, "hash", hash, "size_ok",
			       !have || !fs.has_size || fs.size == m->len);
	if (ev && tid) {
		tid += sizeof("\nfile-transfer-id:") - 1;
		json_object_set_new(ev, "transfer_id", json_stringn(tid, strcspn(tid, "\n")));
	}
	if (ev && rc == 0) {
		snprintf(url, sizeof(url), "/v1/files/%s", id);
		json_object_set_new(ev, "file_id", json_string(id));
		json_object_set_new(ev, "url", json_string(url));
	} else if (ev) {
		json_object_set_new(ev, "stored", json_false());
		json_object_set_new(ev, "reason", json_string(rc == -EFBIG ? "larger than the store"
									  : "out of memory"));
	}
	s->ua->st.files_received++;
	msrp_reasm_msg_free(m);
	sess_publish(s, "file.received", ev);
}

/* An IMDN about a message we sent: its event. */
static void on_imdn(struct gw_sess *s, const struct rcs_msg_in *in)
{
	const char *type;
	s->ua->st.imdn_received++;
	json_t *ev = rcs_msg_imdn_event(in, &type);
	if (ev)
		sess_publish(s, type, ev);
}

/* An isComposing indication: its event. */
static void on_composing(struct gw_sess *s, const struct rcs_msg_in *in)
{
	s->ua->st.composing_received++;
	json_t *ev = rcs_msg_composing_event(in);
	if (ev)
		sess_publish(s, "composing", ev);
}

static void ev_ready(struct msrp_ua_sess *ms, void *arg)
{
	struct gw_sess *s = arg;
	(void)ms;
	if (s->state == ST_CONNECTING || s->state == ST_RINGING) {
		s->state = ST_ESTABLISHED;
		s->ua->st.established++;
		if (s->ua->repl.changed)
			s->ua->repl.changed(s->ua->repl.arg, s->id);
		eng_timer_cancel(&s->timer); /* the bind timeout */
	}
	if (s->rebinding) { /* the peer came back (here) */
		s->rebinding = 0;
		eng_timer_cancel(&s->timer);
		CM_INFO("ua %s: the peer bound the MSRP session again", s->id);
	}
	if (!s->announced && s->state == ST_ESTABLISHED && s->owner) {
		s->announced = 1;
		if (s->owner->up)
			s->owner->up(s->owner_arg, s->id);
	} else if (!s->announced && s->state == ST_ESTABLISHED) {
		s->announced = 1;
		sess_publish(s, "session.established",
			     json_pack("{s:s}", "direction", s->incoming ? "incoming" : "outgoing"));
	}
}

/* 1 when <s> received message <message_id> already (among the last GW_SEEN), else 0 (and
 * it is remembered now). */
static int seen_before(struct gw_sess *s, const char *message_id)
{
	if (!message_id || !*message_id)
		return 0;
	uint64_t h = cm_fnv1a64(message_id, strlen(message_id)) | 1; /* 0: an empty place */
	if (!s->seen && !(s->seen = calloc(GW_SEEN, sizeof(*s->seen))))
		return 0;
	for (unsigned i = 0; i < GW_SEEN; i++)
		if (s->seen[i] == h)
			return 1;
	s->seen[s->seen_next] = h;
	s->seen_next = (uint8_t)((s->seen_next + 1) % GW_SEEN);
	return 0;
}

static void ev_message(struct msrp_ua_sess *ms, void *arg, struct msrp_reasm_msg *m)
{
	struct gw_sess *s = arg;
	(void)ms;
	if (seen_before(s, m->message_id)) { /* at-least-once senders: shown once */
		s->ua->st.msgs_duplicate++;
		msrp_reasm_msg_free(m);
		return;
	}
	s->msgs_in++;
	s->ua->st.msgs_received++;
	if (s->owner) {
		if (s->owner->message)
			s->owner->message(s->owner_arg, s->id, m);
		msrp_reasm_msg_free(m);
		return;
	}
	struct gw_ua *ua = s->ua;
	if (s->ft_in) { /* a file transfer to us: the message is the file */
		on_file(s, m);
		return;
	}
	struct rcs_msg_in *in = &ua->rin;
	rcs_msg_parse(sl(m->content_type ? m->content_type : ""), m->data, m->len, in);
	ua->st.cpim_received += in->wrapped;
	if (in->bad) { /* the envelope, or a body inside or without one */
		int env = !in->wrapped && m->content_type &&
			  !strncasecmp(m->content_type, RCS_CT_CPIM, sizeof(RCS_CT_CPIM) - 1);
		ua->st.cpim_bad += env;
		ua->st.imdn_bad += !env;
	}
	if (in->kind == RCS_IN_IMDN) {
		on_imdn(s, in);
		msrp_reasm_msg_free(m);
		return;
	}
	if (in->kind == RCS_IN_COMPOSING) {
		on_composing(s, in);
		msrp_reasm_msg_free(m);
		return;
	}
	json_t *ev = rcs_msg_event(in, m->message_id);
	if (ev)
		json_object_set_new(ev, "msrp_message_id", json_string(m->message_id));
	if (in->wrapped && in->imdn_id.len) {
		cm_slice peer = in->from_uri.len ? in->from_uri : sl(peer_uri(s));
		cm_slice us = in->to_uri.len ? in->to_uri : sl(local_uri(s));
		char nid[MSRP_ID_MSGID_LEN + 1];
		if ((in->dn & RCS_DN_POSITIVE_DELIVERY) && ua->sh->dn_auto) {
			int rc = send_imdn(s, in->imdn_id, in->datetime, us, peer, RCS_IMDN_DELIVERY,
					   RCS_IMDN_DELIVERED, nid);
			if (ev)
				json_object_set_new(ev, "delivery_notification",
						    json_string(rc == 0 ? "sent" : "failed"));
		}
		if (in->dn & RCS_DN_DISPLAY)
			disp_remember(s, in);
	}
	msrp_reasm_msg_free(m); /* <in> points into it: last */
	sess_publish(s, "message.received", ev);
}

static void ev_report(struct msrp_ua_sess *ms, void *arg, const char *message_id, int status,
		      const struct msrp_range *range)
{
	struct gw_sess *s = arg;
	(void)ms;
	s->ua->st.reports++;
	if (status != 200 && s->ua->repl.done) /* told: no longer to be delivered again */
		s->ua->repl.done(s->ua->repl.arg, s->id, message_id);
	if (s->owner) {
		if (s->owner->report)
			s->owner->report(s->owner_arg, s->id, message_id, status, range);
		return;
	}
	json_t *ev = json_pack("{s:s, s:i, s:s}", "message_id", message_id, "status", status,
			       "outcome", status == 200 ? "delivered" : "failed");
	if (ev && range) /* the bytes the REPORT speaks of (RFC 4975 §7.1.2) */
		json_object_set_new(ev, "byte_range",
				    json_pack("{s:I, s:I, s:I}", "start", (json_int_t)range->start,
					      "end", (json_int_t)range->end, "total",
					      (json_int_t)range->total));
	sess_publish(s, "message.report", ev);
	if (status != 200)
		sess_publish(s, "message.failed",
			     json_pack("{s:s, s:s, s:s, s:i}", "message_id", message_id, "reason",
				       "msrp", "status", "failed", "msrp_status", status));
}

static const struct msrp_ua_events msrp_events;

/* The MSRP leg of <s>: our URI and the peer's path — as a takeover's record said them, or
 * from our URI and the peer's SDP (into <uri>, <path>). 0, or -1 (no leg yet). */
static int leg_uris(struct gw_sess *s, char *uri, size_t ulen, char *path, size_t plen,
		    const char **local, const char **to)
{
	if (s->adopted_leg) {
		*local = s->adopted_leg;
		*to = s->adopted_leg + strlen(s->adopted_leg) + 1;
		return 0;
	}
	if (!s->c || !s->peer_sdp)
		return -1;
	our_msrp_uri(s, uri, ulen);
	snprintf(path, plen, "%.*s", (int)s->c->peer.path_text.len, s->c->peer.path_text.p);
	*local = uri;
	*to = path;
	return 0;
}

/* The peer did not bind the MSRP session again in time (GW_REBIND_MS): as a lost
 * connection always is without a cluster, the call ends. */
static void rebind_timeout(eng_timer *t)
{
	struct gw_sess *s = t->arg;
	if (!s->rebinding || s->state != ST_ESTABLISHED)
		return;
	if (s->handing) { /* another node takes it now: that decides */
		eng_timer_arm(s->ua->w, &s->timer, 1000);
		return;
	}
	s->rebinding = 0;
	ms_close(s);
	if (s->have_dlg)
		send_bye(s);
	sess_over(s, ST_ENDED, "local", "msrp_connection_lost", 0);
}

/* In a cluster, the peer of a call up whose connection broke (it connects: we wait for its
 * bind) may come back — here, or at another node, which then asks for the session
 * (sh_repl_yield): the leg waits for it again for GW_REBIND_MS. 1 when it does. */
static int rebind_wait(struct gw_sess *s)
{
	char uri[512], path[2048];
	struct msrp_ua_sess_cfg c = { .active = 0 };
	if (!s->ua->sh->handoff || s->state != ST_ESTABLISHED || !s->have_dlg ||
	    leg_uris(s, uri, sizeof(uri), path, sizeof(path), &c.local_uri, &c.to_path) < 0)
		return 0;
	int rc;
	if (!(s->ms = msrp_ua_open(s->ua->mua, &c, &msrp_events, s, &rc)))
		return 0;
	s->rebinding = 1;
	eng_timer_cancel(&s->timer);
	eng_timer_init(&s->timer, rebind_timeout, s);
	eng_timer_arm(s->ua->w, &s->timer, GW_REBIND_MS);
	CM_INFO("ua %s: the peer's MSRP connection broke: waiting %d s for it to bind again",
		s->id, GW_REBIND_MS / 1000);
	return 1;
}

static void ev_ended(struct msrp_ua_sess *ms, void *arg, int err)
{
	struct gw_sess *s = arg;
	int passive = s->ms && !msrp_ua_active(s->ms);
	(void)ms; /* s->ms */
	ms_close(s);
	CM_DEBUG("ua %s: MSRP session ended (%s)", s->id, strerror(err < 0 ? -err : err));
	if (s->state == ST_ENDED || s->state == ST_FAILED || s->state == ST_ENDING)
		return;
	if (passive && !s->rebinding && rebind_wait(s))
		return;
	s->rebinding = 0;
	int was_up = s->state == ST_ESTABLISHED;
	if (s->have_dlg)
		send_bye(s);
	sess_over(s, was_up ? ST_ENDED : ST_FAILED, "local",
		  was_up ? "msrp_connection_lost" : "msrp_connect_failed", was_up ? 0 : 503);
}

static int ev_accept(void *arg, cm_slice ctype)
{
	struct gw_sess *s = arg;
	const char *p = s->types;
	while (p && *p) {
		const char *e = strchr(p, ' ');
		cm_slice pat = { p, e ? (size_t)(e - p) : strlen(p) };
		if (sdp_msrp_type_match(pat, ctype))
			return 1;
		p = e ? e + 1 : NULL;
	}
	return 0;
}

static void ev_acked(struct msrp_ua_sess *ms, void *arg, const char *message_id, uint64_t start,
		     uint64_t end)
{
	struct gw_sess *s = arg;
	(void)ms;
	if (s->owner && s->owner->acked)
		s->owner->acked(s->owner_arg, s->id, message_id, start, end);
}

static void ev_done(struct msrp_ua_sess *ms, void *arg, const char *message_id)
{
	struct gw_sess *s = arg;
	(void)ms;
	if (s->ua->repl.done) /* the API's sessions' and the gateway's alike */
		s->ua->repl.done(s->ua->repl.arg, s->id, message_id);
}

static const struct msrp_ua_events msrp_events = {
	.ready = ev_ready, .message = ev_message, .report = ev_report, .ended = ev_ended,
	.accept = ev_accept, .acked = ev_acked, .done = ev_done,
};

static enum msrp_report rep_of(int v, int partial)
{
	return partial ? MSRP_REPORT_PARTIAL : v < 0 ? MSRP_REPORT_ABSENT
					     : v ? MSRP_REPORT_YES : MSRP_REPORT_NO;
}

/* Opens the MSRP session that the offer/answer <off>/<ans> (ours is the one <we_offered>)
 * agreed on, and sends what waited. 0 or -errno (the caller ends the call). */
static int msrp_open(struct gw_sess *s, const struct sdp_msrp_media *off,
		     const struct sdp_msrp_media *ans, int we_offered)
{
	struct sdp_msrp_session ns;
	int rc = sdp_msrp_negotiate(off, ans, we_offered, &ns);
	if (rc < 0)
		return rc;
	if (ns.hold)
		return -EPROTO;
	char uri[400], path[2400];
	our_msrp_uri(s, uri, sizeof(uri));
	const struct sdp_msrp_media *p = &s->c->peer;
	const char *rp = s->ua->relay ? s->ua->relay->use_path : "";
	int pn = snprintf(path, sizeof(path), "%s%s%.*s", rp, *rp ? " " : "",
			  (int)p->path_text.len, p->path_text.p);
	if (pn < 0 || (size_t)pn >= sizeof(path))
		return -E2BIG;
	/* through a relay (ours, ua.relay: its AUTHed connection, the one its Use-Path is good
	 * on, RFC 4976 §5; or the peer's, which takes many sessions on one connection): the
	 * connection open to it; else one of the session's own unless the peer said
	 * a=connection:existing */
	struct msrp_ua_sess_cfg c = { .local_uri = uri, .to_path = path, .active = ns.we_connect,
				      .share = ns.reuse || strchr(path, ' ') != NULL };
	if (s->ms && s->ft_in) {
		/* a re-INVITE moves a file coming to us: what came so far goes with it */
		struct msrp_reasm_msg m;
		uint64_t total;
		void *seed;
		if (msrp_ua_take_partial(s->ms, &m, &total) == 1) {
			free(s->ft_seed);
			s->ft_seed = m.data;
			s->ft_seed_len = m.len;
			s->ft_seed_total = total;
			m.data = NULL;
			msrp_reasm_msg_free(&m);
		} else if (!s->ft_seed &&
			   msrp_ua_take_seed(s->ms, &seed, &s->ft_seed_len, &s->ft_seed_total) == 1) {
			s->ft_seed = seed;
		}
		msrp_ua_close(s->ms);
		s->ms = NULL;
	}
	ms_close(s);
	s->ms = msrp_ua_open(s->ua->mua, &c, &msrp_events, s, &rc);
	if (!s->ms)
		return rc;
	if (s->ft_seed) { /* a resumed file: its first bytes, kept from the transfer that broke */
		msrp_ua_seed(s->ms, s->ft_seed, s->ft_seed_len, s->ft_seed_total);
		s->ft_seed = NULL;
	}
	struct gw_queued *q;
	while ((q = s->q_head)) {
		s->q_head = q->next;
		const char *ct = q->ctype;
		const void *body = q->body;
		size_t len = q->len;
		char *w = NULL;
		if (q->wrap < 0 && wrap_choice(s, q->ctype, -1) == 1) {
			/* the peer takes it in CPIM only (its answer said so since) */
			struct gw_ua_msg m = { .content_type = q->ctype, .body = q->body,
					       .len = q->len };
			memcpy(m.message_id, q->msgid, sizeof(m.message_id));
			long wl = wrap_msg(s, &m, &w);
			if (wl >= 0) {
				ct = RCS_CT_CPIM;
				body = w;
				len = (size_t)wl;
				s->ua->st.cpim_sent++;
			}
		}
		uint64_t skip = q->skip;
		if (skip && (!s->peer_sdp || !memmem(s->peer_sdp, s->peer_sdp_len, "a=file-range:",
						     13)))
			skip = 0; /* the answer said no range back (RFC 5547 §8.3): all of it */
		if (msrp_ua_send_from(s->ms, sl(ct), body, len, skip, rep_of(q->sr, 0),
				      rep_of(q->fr, q->fr == 2), q->msgid) == 0) {
			s->msgs_out++;
			s->ua->st.msgs_sent++;
		}
		free(w);
		free(q);
	}
	s->q_tail = &s->q_head;
	s->nq = 0;
	return 0;
}

/* ---- writing requests -------------------------------------------------------------------- */

/* "SIP/2.0/UDP host:port;branch=z9hG4bK<id>.<random>;rport" toward <d> into <buf>. */
static cm_slice via_for(const struct gw_sess *s, const struct sip_dest *d, char *buf, size_t len)
{
	char host[300];
	local_host(s->ua, d, 0, 1, host, sizeof(host));
	int n = snprintf(buf, len, "SIP/2.0/%s %s:%d;branch=z9hG4bK%s.%08x;rport", kind_via(d->kind),
			 host, local_port(s->ua, d->kind), s->id, rand32());
	return (cm_slice){ buf, n > 0 && (size_t)n < len ? (size_t)n : 0 };
}

static cm_slice contact_for(const struct gw_sess *s, const struct sip_dest *d, char *buf,
			    size_t len)
{
	char host[300];
	local_host(s->ua, d, 0, 1, host, sizeof(host));
	int n = snprintf(buf, len, "<sip:rcsgw@%s:%d%s>%s", host, local_port(s->ua, d->kind),
			 d->kind == SIP_TP_TCP ? ";transport=tcp"
			 : d->kind == SIP_TP_TLS ? ";transport=tls" : "", s->ua->sh->tags);
	return (cm_slice){ buf, n > 0 && (size_t)n < len ? (size_t)n : 0 };
}

/* The application's extra headers of <s> ("Name: value" lines) appended to <h>. */
static unsigned hdr_lines(const char *p, struct sip_hdr *h, unsigned n, unsigned max);

static unsigned app_headers(const struct gw_sess *s, struct sip_hdr *h, unsigned n, unsigned max)
{
	return hdr_lines(s->hdrs, h, n, max);
}

/* The "Name: value\n" lines of <p> (may be NULL) appended to <h> from index <n>, up to <max>
 * headers. The new count. */
static unsigned hdr_lines(const char *p, struct sip_hdr *h, unsigned n, unsigned max)
{
	while (p && *p && n < max) {
		const char *e = strchr(p, '\n'), *c = strchr(p, ':');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if (c && c < p + len) {
			h[n].id = SIP_H_OTHER;
			h[n].name = (cm_slice){ p, (size_t)(c - p) };
			h[n].value = (cm_slice){ c + 2, len - (size_t)(c - p) - 2 };
			n++;
		}
		p = e ? e + 1 : NULL;
	}
	return n;
}

/* The head of an out-of-dialog request into <h> from index <n>: Via, Max-Forwards, the
 * outbound proxy's Route (into <route>), From, To, Call-ID and CSeq. The new count. */
static unsigned head_hdrs(const struct gw_ua *ua, struct sip_hdr *h, unsigned n, cm_slice via,
			  char *route, size_t rlen, cm_slice from, cm_slice to, cm_slice callid,
			  cm_slice cseq)
{
	h[n++] = (struct sip_hdr){ SIP_H_VIA, CM_SLICE_NULL, via };
	h[n++] = (struct sip_hdr){ SIP_H_MAX_FORWARDS, CM_SLICE_NULL, CM_SLICE_LIT("70") };
	if (ua->sh->proxy[0]) {
		struct sip_uri u;
		int lr = sip_uri_parse(sl(ua->sh->proxy), &u) == 0 && u.lr;
		snprintf(route, rlen, "<%s%s>", ua->sh->proxy, lr ? "" : ";lr");
		h[n++] = (struct sip_hdr){ SIP_H_ROUTE, CM_SLICE_NULL, sl(route) };
	}
	h[n++] = (struct sip_hdr){ SIP_H_FROM, CM_SLICE_NULL, from };
	h[n++] = (struct sip_hdr){ SIP_H_TO, CM_SLICE_NULL, to };
	h[n++] = (struct sip_hdr){ SIP_H_CALL_ID, CM_SLICE_NULL, callid };
	h[n++] = (struct sip_hdr){ SIP_H_CSEQ, CM_SLICE_NULL, cseq };
	return n;
}

/* Writes the INVITE of outgoing session <s> with CSeq <cseq> (and a credential header
 * <auth_id>: <auth> after a challenge) and keeps a copy. Its length, or -errno. */
static ssize_t write_invite(struct gw_sess *s, uint32_t cseq, enum sip_hid auth_id,
			    const char *auth)
{
	struct gw_ua *ua = s->ua;
	char via[512], from[GW_UA_MAX_URI + 64], to[GW_UA_MAX_URI + 4], callid[128], cs[32];
	char contact[CONTACT_MAX], route[GW_UA_MAX_URI + 8];
	struct sip_hdr h[48];
	unsigned n = 0;
	snprintf(from, sizeof(from), "<%s>;tag=%s", s->from, s->id);
	snprintf(to, sizeof(to), "<%s>", s->to);
	snprintf(callid, sizeof(callid), "%s@rcsgw", s->id);
	snprintf(cs, sizeof(cs), "%u INVITE", cseq);
	n = head_hdrs(ua, h, n, via_for(s, &s->dest, via, sizeof(via)), route, sizeof(route),
		      sl(from), sl(to), sl(callid), sl(cs));
	h[n++] = (struct sip_hdr){ SIP_H_CONTACT, CM_SLICE_NULL,
				   contact_for(s, &s->dest, contact, sizeof(contact)) };
	h[n++] = (struct sip_hdr){ SIP_H_ALLOW, CM_SLICE_NULL, CM_SLICE_LIT(ALLOW) };
	if (ua->sh->user_agent[0])
		h[n++] = (struct sip_hdr){ SIP_H_USER_AGENT, CM_SLICE_NULL, sl(ua->sh->user_agent) };
	if (auth)
		h[n++] = (struct sip_hdr){ auth_id, CM_SLICE_NULL, sl(auth) };
	if (!s->call && !has_hdr_line(s->hdrs, "Accept-Contact"))
		h[n++] = (struct sip_hdr){ SIP_H_ACCEPT_CONTACT, CM_SLICE_NULL,
					   CM_SLICE_LIT(CHAT_ACCEPT_CONTACT) };
	n = app_headers(s, h, n, 46);
	h[n++] = (struct sip_hdr){ SIP_H_CONTENT_TYPE, CM_SLICE_NULL,
				   CM_SLICE_LIT("application/sdp") };
	ssize_t len = sip_write_request(ua->wbuf, sizeof(ua->wbuf), CM_SLICE_LIT("INVITE"),
					sl(s->ruri), h, n,
					(cm_slice){ s->our_sdp, s->our_sdp_len });
	if (len < 0)
		return len;
	char *c = dup_slice((cm_slice){ ua->wbuf, (size_t)len });
	if (!c)
		return -ENOMEM;
	free(s->inv_msg);
	s->inv_msg = c;
	s->inv_len = (size_t)len;
	s->inv_cseq = cseq;
	return len;
}

/* Starts a client transaction for the <len> bytes in ua->wbuf toward <d> on behalf of <s>. */
static int request(struct gw_sess *s, size_t len, const struct sip_dest *d, struct sip_txn **out)
{
	struct sip_txn *t = NULL;
	int rc = sip_txn_request(s->ua->txl, s->ua->wbuf, len, d, s, &t);
	if (rc == 0) {
		s->ntx++;
		if (out) {
			*out = t;
			if (out == &s->inv) /* a new INVITE: its own 1xx allows its CANCEL */
				s->got_provisional = s->got_response = 0;
		}
	}
	return rc;
}

/* The CANCEL of our pending INVITE (§9.1: its Request-URI, top Via, Route, From, To,
 * Call-ID and CSeq number). */
static void send_cancel(struct gw_sess *s)
{
	struct gw_ua *ua = s->ua;
	struct sip_msg *m = &ua->scratch;
	if (sip_parse_msg(&ua->pcfg, s->inv_msg, s->inv_len, m) < 0)
		return;
	struct sip_hdr h[16];
	unsigned n = 0;
	char cs[32];
	snprintf(cs, sizeof(cs), "%u CANCEL", s->inv_cseq);
	static const enum sip_hid keep[] = { SIP_H_VIA, SIP_H_ROUTE, SIP_H_FROM, SIP_H_TO,
					     SIP_H_CALL_ID };
	for (unsigned k = 0; k < sizeof(keep) / sizeof(keep[0]); k++)
		for (unsigned i = 0; i < m->nhdrs && n < 14; i++)
			if (m->hdrs[i].id == keep[k]) {
				h[n++] = (struct sip_hdr){ keep[k], CM_SLICE_NULL, m->hdrs[i].value };
				if (keep[k] == SIP_H_VIA)
					break; /* the top one only */
			}
	h[n++] = (struct sip_hdr){ SIP_H_CSEQ, CM_SLICE_NULL, sl(cs) };
	h[n++] = (struct sip_hdr){ SIP_H_MAX_FORWARDS, CM_SLICE_NULL, CM_SLICE_LIT("70") };
	char buf[SIP_BUF];
	ssize_t len = sip_write_request(buf, sizeof(buf), CM_SLICE_LIT("CANCEL"), m->ruri, h, n,
					CM_SLICE_NULL);
	if (len < 0)
		return;
	memcpy(ua->wbuf, buf, (size_t)len);
	if (request(s, (size_t)len, &s->dest, NULL) < 0)
		CM_DEBUG("ua %s: CANCEL not sent", s->id);
}

/* A request <method> inside the dialog of <s> (BYE), as a client transaction. */
static int send_in_dialog(struct gw_sess *s, cm_slice method)
{
	struct gw_ua *ua = s->ua;
	struct sip_dest d = s->dest;
	char via[512], contact[400];
	cm_slice next;
	struct sip_hdr h[2];
	unsigned n = 0;
	if (ua->sh->user_agent[0])
		h[n++] = (struct sip_hdr){ SIP_H_USER_AGENT, CM_SLICE_NULL, sl(ua->sh->user_agent) };
	/* the Via names the transport of the next hop: the first route, else the target */
	next = sip_dialog_nroutes(&s->c->dlg) ? sip_dialog_route(&s->c->dlg, 0)
					   : sip_dialog_remote_target(&s->c->dlg);
	if (dest_of_uri(ua, next, &d) < 0)
		d = s->dest;
	if (s->incoming && d.kind == s->dest.kind && d.kind != SIP_TP_UDP)
		d = s->dest; /* the connection the call came on (RFC 5923 spirit): it gets through */
	ssize_t len;
	len = sip_dialog_request(&s->c->dlg, ua->wbuf, sizeof(ua->wbuf), method,
				 via_for(s, &d, via, sizeof(via)),
				 contact_for(s, &d, contact, sizeof(contact)), h, n, CM_SLICE_NULL,
				 &next);
	if (len < 0)
		return (int)len;
	return request(s, (size_t)len, &d, NULL);
}

/* 0 when a BYE is on its way (its answer, or its timeout, comes to on_response). */
static int send_bye(struct gw_sess *s)
{
	if (!s->have_dlg)
		return -ENOENT;
	int rc = send_in_dialog(s, CM_SLICE_LIT("BYE"));
	if (rc < 0)
		CM_DEBUG("ua %s: BYE not sent (%s)", s->id, strerror(-rc));
	s->have_dlg = 0; /* the dialog is over for us (§15) */
	return rc;
}

/* ---- outgoing calls: the answers to our INVITE --------------------------------------- */

/* The ACK of a 2xx to our INVITE (§13.2.2.4), kept to be sent again for each retransmission. */
static int send_ack(struct gw_sess *s)
{
	struct gw_ua *ua = s->ua;
	char via[512];
	cm_slice next = sip_dialog_nroutes(&s->c->dlg) ? sip_dialog_route(&s->c->dlg, 0)
						    : sip_dialog_remote_target(&s->c->dlg);
	struct sip_dest d;
	if (dest_of_uri(ua, next, &d) < 0)
		d = s->dest;
	if (d.kind == s->dest.kind && d.kind != SIP_TP_UDP)
		d = s->dest;
	ssize_t len = sip_dialog_ack(&s->c->dlg, ua->wbuf, sizeof(ua->wbuf), s->inv_cseq,
				     via_for(s, &d, via, sizeof(via)), NULL, 0, CM_SLICE_NULL, &next);
	if (len < 0)
		return (int)len;
	char *c = dup_slice((cm_slice){ ua->wbuf, (size_t)len });
	if (!c)
		return -ENOMEM;
	free(s->ack_msg);
	s->ack_msg = c;
	s->ack_len = (size_t)len;
	s->ack_dest = d;
	return tp_send(ua, s->ack_msg, s->ack_len, &d, d.kind != SIP_TP_UDP);
}

/* Our offer's MSRP stream, read again from s->our_sdp (slices into it). */
static int our_media(struct gw_sess *s, struct sdp_msrp_media *m)
{
	struct sdp *d = malloc(sizeof(*d));
	int rc = d ? sdp_parse((cm_slice){ s->our_sdp, s->our_sdp_len }, NULL, d, NULL) : -ENOMEM;
	if (rc == 0)
		rc = sdp_msrp_find(d, m);
	free(d);
	return rc;
}

/* The call is up and its MSRP session is to be bound (by us or by the peer): when it is not
 * by GW_BIND_MS, the call ends (a peer that never connects must not hold a session). */
static void bind_timeout(eng_timer *t)
{
	struct gw_sess *s = t->arg;
	if (s->state != ST_CONNECTING)
		return;
	CM_INFO("ua %s: the MSRP session was not bound within %d s: BYE", s->id, GW_BIND_MS / 1000);
	send_bye(s);
	sess_over(s, ST_FAILED, "local", "msrp_bind_timeout", 408);
}

static void bind_wait(struct gw_sess *s)
{
	eng_timer_cancel(&s->timer);
	eng_timer_init(&s->timer, bind_timeout, s);
	eng_timer_arm(s->ua->w, &s->timer, GW_BIND_MS);
}

/* A call (signalling only) is up: incoming at its ACK, outgoing at its 2xx. */
static void call_up(struct gw_sess *s)
{
	if (s->state != ST_CONNECTING && s->state != ST_RINGING)
		return;
	s->state = ST_ESTABLISHED;
	s->ua->st.established++;
	eng_timer_cancel(&s->timer);
	if (s->announced)
		return;
	s->announced = 1;
	if (s->owner && s->owner->up)
		s->owner->up(s->owner_arg, s->id);
	else if (!s->owner)
		sess_publish(s, "session.established",
			     json_pack("{s:s}", "direction", s->incoming ? "incoming" : "outgoing"));
}

static void invite_2xx(struct gw_sess *s, const struct sip_msg *resp)
{
	struct gw_ua *ua = s->ua;
	struct sip_msg *req = &ua->scratch;
	if (!s->c && !(s->c = calloc(1, sizeof(*s->c))))
		return; /* over and out of memory: the peer's BYE or session timer ends it */
	if (sip_parse_msg(&ua->pcfg, s->inv_msg, s->inv_len, req) < 0 ||
	    sip_dialog_uac(&s->c->dlg, req, resp) < 0) {
		/* no dialog can be made of it: nothing to ACK it in */
		sess_over(s, ST_FAILED, "remote", "bad_answer", 502);
		return;
	}
	s->have_dlg = 1;
	if (s->cancel_wanted || s->state == ST_ENDING || s->state == ST_ENDED ||
	    s->state == ST_FAILED) {
		/* the 2xx crossed our CANCEL (§15), or came after we gave up: up, so end it */
		send_ack(s);
		send_bye(s);
		sess_over(s, ST_ENDED, "local", "cancelled", 0);
		return;
	}
	if (s->call) { /* its answer kept as it came, for the other side */
		char *c = resp->body.len ? dup_slice(resp->body) : NULL;
		free(s->peer_sdp);
		s->peer_sdp = c;
		s->peer_sdp_len = c ? resp->body.len : 0;
		send_ack(s);
		call_up(s);
		return;
	}
	/* the MSRP session first: an answerer that connects (a=setup:active) may bind as soon
	 * as our ACK reaches it */
	struct sdp_msrp_media off;
	int rc = take_peer_sdp(s, resp->body, NULL);
	if (rc == 0)
		rc = our_media(s, &off);
	if (rc == 0)
		rc = msrp_open(s, &off, &s->c->peer, 1);
	send_ack(s);
	if (rc < 0) {
		CM_INFO("ua %s: the answer's MSRP media is unusable (%s): BYE", s->id, strerror(-rc));
		send_bye(s);
		sess_over(s, ST_FAILED, "local", rc == -ECONNREFUSED ? "media_rejected" : "bad_answer",
			  rc == -ECONNREFUSED ? 415 : 488);
		return;
	}
	s->state = ST_CONNECTING; /* until the MSRP session is bound */
	bind_wait(s);
}

/* 401/407: the INVITE again with credentials, when we have some for its realm. 1 when sent. */
static int invite_auth(struct gw_sess *s, const struct sip_msg *resp)
{
	struct gw_ua *ua = s->ua;
	char val[2048];
	enum sip_hid id;
	/* a second challenge means wrong credentials, unless the nonce was only stale */
	if (s->auth_tries >= GW_AUTH_TRIES || (s->auth_tries && !sip_digest_stale(resp)))
		return 0;
	int n = sip_digest_answer(resp, ua->sh->creds, CM_SLICE_LIT("INVITE"), sl(s->ruri),
				  (cm_slice){ s->our_sdp, s->our_sdp_len }, 1, val, sizeof(val), &id);
	if (n < 0)
		return 0;
	s->auth_tries++;
	ssize_t len = write_invite(s, s->inv_cseq + 1, id, val);
	if (len < 0 || request(s, (size_t)len, &s->dest, &s->inv) < 0)
		return 0;
	ua->st.auth_retries++;
	return 1;
}

/* The INVITE of <s> to its next target, when its current one never answered. 1 when sent. */
static int next_target(struct gw_sess *s)
{
	while (!s->got_response && s->tidx + 1 < s->ntargets) {
		s->tidx++;
		s->dest = s->targets[s->tidx];
		ssize_t len = write_invite(s, s->inv_cseq + 1, SIP_H_OTHER, NULL);
		if (len > 0 && request(s, (size_t)len, &s->dest, &s->inv) == 0)
			return 1;
	}
	return 0;
}

static void invite_response(struct gw_sess *s, struct sip_txn *ct, int status,
			    const struct sip_msg *resp)
{
	if (ct != s->inv && (status >= 200 || !resp))
		return; /* an INVITE we gave up on (its target failed): nothing of ours now */
	if (resp)
		s->got_response = 1;
	if (status < 200) {
		if (status > 100 && s->state == ST_CONNECTING)
			s->state = ST_RINGING;
		s->got_provisional = 1; /* any 1xx, 100 included, allows a CANCEL (§9.1) */
		if (s->cancel_wanted && s->got_provisional) {
			s->cancel_wanted = 0;
			send_cancel(s);
		}
		return;
	}
	if (s->inv == ct)
		s->inv = NULL;
	if (status < 300 && resp) {
		eng_timer_cancel(&s->timer);
		invite_2xx(s, resp);
		return;
	}
	int going = s->state != ST_ENDING && !s->cancel_wanted;
	if ((status == 401 || status == 407) && resp && going && invite_auth(s, resp))
		return;
	/* no answer at all from this target (timeout, transport error): the next one of the
	 * RFC 3263 list (§4.3) */
	if (!resp && going && next_target(s))
		return;
	eng_timer_cancel(&s->timer);
	if ((s->state == ST_ENDING || s->cancel_wanted) && s->reason && !strcmp(s->reason, "timeout"))
		sess_over(s, ST_FAILED, "local", "timeout", 408);
	else if (s->state == ST_ENDING || s->cancel_wanted)
		sess_over(s, ST_ENDED, "local", "cancelled", status);
	else if (!resp && status != 408) /* the transport failed: our 503, not the far end's */
		sess_over(s, ST_FAILED, "local", "transport_error", status);
	else
		sess_over(s, ST_FAILED, "remote", resp ? "rejected" : "timeout", status);
}

/* ua.invite_timeout: no final answer yet. CANCEL (or wait for a 1xx to send it); the
 * INVITE's 487 (or the transaction's own timeout) ends the session. */
static void invite_timeout(eng_timer *t)
{
	struct gw_sess *s = t->arg;
	if (s->state != ST_CONNECTING && s->state != ST_RINGING)
		return;
	if (!s->inv) { /* still looking up its target or waiting for the relay */
		sess_over(s, ST_FAILED, "local", "timeout", 408);
		return;
	}
	s->state = ST_ENDING;
	s->reason = "timeout";
	if (s->got_provisional)
		send_cancel(s);
	else
		s->cancel_wanted = 1;
	/* if even the CANCEL goes unanswered, the INVITE transaction's timer B ends it */
}

/* ---- incoming calls ---------------------------------------------------------------------- */

/* The headers of our 2xx to an INVITE of <s> (with the SDP in s->our_sdp). */
static unsigned answer_hdrs(struct gw_sess *s, struct sip_hdr *h, char *contact, size_t clen)
{
	unsigned n = 0;
	h[n++] = (struct sip_hdr){ SIP_H_CONTACT, CM_SLICE_NULL,
				   contact_for(s, &s->dest, contact, clen) };
	h[n++] = (struct sip_hdr){ SIP_H_ALLOW, CM_SLICE_NULL, CM_SLICE_LIT(ALLOW) };
	if (s->ua->sh->user_agent[0])
		h[n++] = (struct sip_hdr){ SIP_H_SERVER, CM_SLICE_NULL, sl(s->ua->sh->user_agent) };
	h[n++] = (struct sip_hdr){ SIP_H_CONTENT_TYPE, CM_SLICE_NULL,
				   CM_SLICE_LIT("application/sdp") };
	return s->incoming ? app_headers(s, h, n, 8) : n; /* the INVITE's CPM ids, echoed */
}

/* A final answer to the pending INVITE of <s> (its transaction is gone for us after it). */
static int final_answer(struct gw_sess *s, int status, const struct sip_hdr *h, unsigned n,
			cm_slice body)
{
	struct sip_txn *st = s->inv;
	if (!st)
		return -ENOENT;
	s->inv = NULL;
	sip_txn_set_ctx(st, NULL); /* a late timer H of it names no session */
	return sip_txn_respond(st, status, CM_SLICE_NULL, sl(s->id), h, n, body);
}

/* Our 2xx again over UDP until the ACK (§13.3.1.4): T1 doubling up to T2, 64*T1 in all. */
static void rtx_fire(eng_timer *t)
{
	struct gw_sess *s = t->arg;
	struct gw_ua *ua = s->ua;
	if (s->acked || !s->inv_msg || s->state == ST_ENDED || s->state == ST_FAILED)
		return;
	s->rtx_total += s->rtx_ms;
	if (s->rtx_total >= 64u * ua->sh->txn.t1_ms) {
		CM_INFO("ua %s: no ACK for our 2xx: BYE", s->id);
		send_bye(s);
		sess_over(s, ST_ENDED, "local", "no_ack", 408);
		return;
	}
	struct sip_msg *req = &ua->scratch;
	struct sip_hdr h[8];
	char contact[CONTACT_MAX];
	unsigned n = answer_hdrs(s, h, contact, sizeof(contact));
	if (sip_parse_msg(&ua->pcfg, s->inv_msg, s->inv_len, req) == 0) {
		ssize_t len = sip_write_response_from(ua->wbuf, sizeof(ua->wbuf), req, 200,
						      CM_SLICE_NULL, sl(s->id), h, n,
						      (cm_slice){ s->our_sdp, s->our_sdp_len });
		if (len > 0)
			tp_send(ua, ua->wbuf, (size_t)len, &s->dest, 0);
	}
	s->rtx_ms = s->rtx_ms * 2 < ua->sh->txn.t2_ms ? s->rtx_ms * 2 : ua->sh->txn.t2_ms;
	eng_timer_arm(ua->w, &s->rtx, s->rtx_ms);
}

static void rtx_start(struct gw_sess *s)
{
	s->acked = 0;
	if (s->dest.kind != SIP_TP_UDP)
		return;
	s->rtx_ms = s->ua->sh->txn.t1_ms;
	s->rtx_total = 0;
	eng_timer_cancel(&s->rtx);
	eng_timer_init(&s->rtx, rtx_fire, s);
	eng_timer_arm(s->ua->w, &s->rtx, s->rtx_ms);
}

/* Our 200 to incoming <s> with s->our_sdp: the dialog ours, the session connecting. 0, or
 * -errno with the session failed (the answer could not be sent). */
static int answer_2xx(struct gw_sess *s)
{
	struct sip_hdr h[8];
	char contact[CONTACT_MAX];
	unsigned n = answer_hdrs(s, h, contact, sizeof(contact));
	eng_timer_cancel(&s->timer);
	int rc = final_answer(s, 200, h, n, (cm_slice){ s->our_sdp, s->our_sdp_len });
	if (rc < 0) {
		sess_over(s, ST_FAILED, "local", "transport_error", 503);
		return rc;
	}
	s->have_dlg = 1;
	s->state = ST_CONNECTING;
	return 0;
}

/* Answers incoming <s> with 200 and our SDP for <types>. 0, or the SIP status it was refused
 * with instead (415 no type in common, 488, 500). */
static int do_answer(struct gw_sess *s)
{
	if (!s->inv || s->state != ST_RINGING)
		return 409; /* cancelled or timed out while it waited for the relay */
	if (s->ua->relay && !relay_ready(s->ua->relay)) {
		relay_wait(s->ua->relay, s); /* answered once the relay's Use-Path is there */
		return 0;
	}
	struct sdp *offer = malloc(sizeof(*offer));
	struct sdp_msrp_answer_res res = { 0 };
	int rc = offer ? sdp_parse((cm_slice){ s->peer_sdp, s->peer_sdp_len }, NULL, offer, NULL)
		       : -ENOMEM;
	if (rc == 0)
		rc = our_sdp(s, offer, &res);
	free(offer);
	int code = rc < 0 ? 500 : res.verdict != SDP_MSRP_OK ? res.sip_code : 0;
	if (code) {
		s->ua->st.answered_415 += code == 415;
		s->ua->st.answered_488 += code == 488;
		final_answer(s, code, NULL, 0, CM_SLICE_NULL);
		sess_over(s, ST_FAILED, "local", code == 415 ? "no_common_type" : "bad_offer", code);
		return code;
	}
	if (answer_2xx(s) < 0)
		return 503;
	bind_wait(s);
	rtx_start(s);
	struct sdp_msrp_media ans;
	rc = our_media(s, &ans);
	if (rc == 0)
		rc = msrp_open(s, &s->c->peer, &ans, 0);
	if (rc < 0) {
		CM_INFO("ua %s: MSRP session not opened (%s): BYE", s->id, strerror(-rc));
		send_bye(s);
		sess_over(s, ST_FAILED, "local", "msrp_failed", 500);
		return 500;
	}
	return 0;
}

static void answer_timeout(eng_timer *t)
{
	struct gw_sess *s = t->arg;
	if (s->state != ST_RINGING || !s->incoming || !s->inv)
		return;
	final_answer(s, 480, NULL, 0, CM_SLICE_NULL);
	sess_over(s, ST_FAILED, "local", "answer_timeout", 480);
}

/* A random To tag for answers that make no session. */
static cm_slice stray_tag(char *buf, size_t len)
{
	int n = snprintf(buf, len, "x%08x", rand32());
	return (cm_slice){ buf, (size_t)n };
}

static void respond_plain(struct sip_txn *st, int status, const struct sip_hdr *h, unsigned n)
{
	char tag[16];
	sip_txn_respond(st, status, CM_SLICE_NULL, stray_tag(tag, sizeof(tag)), h, n,
			CM_SLICE_NULL);
}

/* The headers of an INVITE that an application may care about, for session.incoming. */
static json_t *headers_json(const struct sip_msg *req)
{
	static const enum sip_hid skip[] = {
		SIP_H_VIA, SIP_H_FROM, SIP_H_TO, SIP_H_CALL_ID, SIP_H_CSEQ, SIP_H_CONTACT,
		SIP_H_MAX_FORWARDS, SIP_H_CONTENT_LENGTH, SIP_H_CONTENT_TYPE, SIP_H_ROUTE,
		SIP_H_RECORD_ROUTE, SIP_H_AUTHORIZATION, SIP_H_PROXY_AUTHORIZATION,
	};
	json_t *o = json_object();
	for (unsigned i = 0; o && i < req->nhdrs; i++) {
		const struct sip_hdr *h = &req->hdrs[i];
		int keep = 1;
		for (unsigned k = 0; k < sizeof(skip) / sizeof(skip[0]); k++)
			keep &= h->id != skip[k];
		if (!keep || h->name.len > 64)
			continue;
		char name[65];
		memcpy(name, h->name.p, h->name.len);
		name[h->name.len] = '\0';
		if (!json_object_get(o, name))
			json_object_set_new(o, name, json_stringn(h->value.p, h->value.len));
	}
	return o;
}

/* The OMA CPM ids of <req> (Conversation-ID, Contribution-ID, InReplyTo-Contribution-ID)
 * as "Name: value\n" lines into <out>: they are echoed in our answer and shown to
 * applications. Values that are not one short printable line are left out. */
static void cpm_ids(const struct sip_msg *req, char *out, size_t cap)
{
	static const char *const names[] = { "Conversation-ID", "Contribution-ID",
					      "InReplyTo-Contribution-ID" };
	size_t o = 0;
	out[0] = '\0';
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		cm_slice v = sip_msg_hdr_name(req, sl(names[i]));
		if (!v.len || v.len > 200 || !uri_text_ok(v))
			continue;
		int w = snprintf(out + o, cap - o, "%s: %.*s\n", names[i], (int)v.len, v.p);
		if (w < 0 || (size_t)w >= cap - o)
			break;
		o += (size_t)w;
	}
}

/* An offer of a file (RFC 5547 §5: a=file-selector on the MSRP stream): <s> becomes a file
 * transfer to us — our answer echoes the selector and the transfer id (§8.3) and takes any
 * type (the file's), the message that comes is the file — and *<file> gets what the offer
 * says of it for session.incoming. 0 (not a file offer: nothing done), -EOPNOTSUPP (no store
 * for files: 488), -EINVAL (a selector that does not parse: 488), -ENOMEM. */
static int ft_offer(struct gw_sess *s, const struct sdp *offer, json_t **file)
{
	const struct sdp_attr *sel = sdp_attr_get(offer, s->c->peer.index, "file-selector");
	const struct sdp_attr *tid = sdp_attr_get(offer, s->c->peer.index, "file-transfer-id");
	const struct sdp_attr *dsp = sdp_attr_get(offer, s->c->peer.index, "file-disposition");
	const struct sdp_attr *rng = sdp_attr_get(offer, s->c->peer.index, "file-range");
	struct rcs_filesel fs;
	char name[256], hex[3 * RCS_FILESEL_HASH_MAX + 1], range[48] = "";
	uint64_t start = 1, stop = 0;
	if (!sel)
		return 0;
	if (!s->ua->sh->files)
		return -EOPNOTSUPP;
	if (!sel->value.len || sel->value.len > 2000 || rcs_filesel_parse(sel->value.p, sel->value.len, &fs) < 0 ||
	    (fs.name.p && rcs_filesel_name_decode(fs.name, name, sizeof(name)) < 0) ||
	    (tid && (!tid->value.len || tid->value.len > 256)) ||
	    (rng && rcs_filerange_parse(rng->value.p, rng->value.len, &start, &stop) < 0))
		return -EINVAL;
	if (!fs.name.p)
		name[0] = '\0';
	if (rng) { /* our answer says the same range (RFC 5547 §8.3), written anew */
		memcpy(range, "file-range:", 11);
		if (rcs_filerange_write(range + 11, sizeof(range) - 12, start, stop) < 0)
			return -EINVAL;
		strcat(range, "\n");
	}
	size_t cap = sel->value.len + (tid ? tid->value.len : 0) + sizeof(range) + 48;
	if (!(s->ft_attrs = malloc(cap)))
		return -ENOMEM;
	snprintf(s->ft_attrs, cap, "file-selector:%.*s\n%s%.*s%s%s", (int)sel->value.len,
		 sel->value.p, tid ? "file-transfer-id:" : "", tid ? (int)tid->value.len : 0,
		 tid ? tid->value.p : "", tid ? "\n" : "", range);
	if (start > 1) {
		/* a resumption (RFC 5547 a=file-range): the bytes before <start> must be the ones
		 * kept when this peer's transfer of this file broke */
		char key[FT_KEY_LEN], *meta;
		void *data;
		uint64_t have, total;
		if (!fs.hash_len) /* only a hash says that the rest is of the same file */
			return -ENOENT;
		ft_key(s, key);
		if (gw_files_take(s->ua->sh->files, key, &meta, &data, &have, &total) < 0)
			return -ENOENT;
		free(meta);
		if (have < start - 1 || have >= total || (fs.has_size && fs.size != total) ||
		    (stop && stop != total)) {
			/* not what we have: kept for a resumption that fits */
			gw_files_keep(s->ua->sh->files, key, "", data, have, have, total);
			return -ENOENT;
		}
		/* all it has (the sender's chunks from <start> on overwrite what overlaps) */
		s->ft_seed = data;
		s->ft_seed_len = have;
		s->ft_seed_total = total;
		s->ua->st.files_resumed_in++;
	}
	s->ft_in = 1;
	snprintf(s->types, sizeof(s->types), "*"); /* what the offer says the file is */
	*file = json_pack("{s:s}", "name", name);
	if (!*file)
		return -ENOMEM;
	if (fs.type.len)
		json_object_set_new(*file, "content_type", json_stringn(fs.type.p, fs.type.len));
	if (fs.has_size)
		json_object_set_new(*file, "size", json_integer((json_int_t)fs.size));
	if (fs.hash_len) {
		size_t o = 0;
		for (unsigned i = 0; i < fs.hash_len; i++)
			o += (size_t)snprintf(hex + o, sizeof(hex) - o, "%s%02X", i ? ":" : "",
					      fs.hash[i]);
		json_object_set_new(*file, "hash", json_pack("{s:s, s:s}", "algorithm", fs.hash_alg,
							   "value", hex + 0));
	}
	if (tid)
		json_object_set_new(*file, "transfer_id", json_stringn(tid->value.p, tid->value.len));
	if (dsp && dsp->value.len)
		json_object_set_new(*file, "disposition", json_stringn(dsp->value.p, dsp->value.len));
	uint64_t last = stop ? stop : s->ft_seed_total ? s->ft_seed_total : fs.has_size ? fs.size : 0;
	if (rng && last)
		json_object_set_new(*file, "range", json_pack("{s:I, s:I}", "start", (json_int_t)start,
							      "stop", (json_int_t)last));
	else if (rng)
		json_object_set_new(*file, "range", json_pack("{s:I}", "start", (json_int_t)start));
	if (start > 1)
		json_object_set_new(*file, "resumed_bytes", json_integer((json_int_t)(start - 1)));
	return 0;
}

/* The RCS services that the feature tags of a Contact value say (rcs_tags), as names. */
static json_t *services_json(cm_slice contact)
{
	struct rcs_tags t;
	json_t *a = json_array();
	if (!a || !contact.len || rcs_tags_parse(contact.p, contact.len, &t) < 0)
		return a;
	for (unsigned bit = 1; bit; bit <<= 1)
		if ((t.services & bit) && rcs_svc_name(bit))
			json_array_append_new(a, json_string(rcs_svc_name(bit)));
	return a;
}

/* An incoming session that got its 180: to the gateway when it claims it, else announced
 * (session.incoming, event <ev> taken) and answered at once or after ua.answer_timeout. */
static void incoming_go(struct gw_sess *s, json_t *ev)
{
	struct gw_ua *ua = s->ua;
	const struct gw_ua_shared *sh = ua->sh;
	for (unsigned i = 0; !s->ft_in && i < sh->nhooks; i++)
		if (sh->hooks[i].claim &&
		    sh->hooks[i].claim(sh->hooks_arg[i], ua, s->id, s->from, s->to, &s->owner,
				       &s->owner_arg)) {
			json_decref(ev);
			return; /* the contact centre's or the gateway's: it answers it */
		}
	if (s->call) { /* taken as a call, and then nobody's (its flow went meanwhile) */
		json_decref(ev);
		final_answer(s, 480, NULL, 0, CM_SLICE_NULL);
		sess_over(s, ST_FAILED, "local", "no_flow", 480);
		return;
	}
	sess_publish(s, "session.incoming", ev);
	for (size_t i = 0; i < sh->auto_answer.n; i++)
		if (fnmatch(sh->auto_answer.v[i], s->ruri, 0) == 0) {
			do_answer(s);
			return;
		}
	eng_timer_init(&s->timer, answer_timeout, s);
	eng_timer_arm(ua->w, &s->timer, sh->answer_ms);
}

static void refuse_incoming(struct gw_sess *s, int code)
{
	final_answer(s, code, NULL, 0, CM_SLICE_NULL);
	sess_over(s, ST_FAILED, "local", code == 403 ? "refused_by_sh" : "sh_no_verdict", code);
}

/* An incoming session waiting for its Sh verdict (named by id: a CANCEL may end it). */
struct sh_wait {
	struct gw_ua *ua;
	json_t *ev;
	char id[GW_UA_ID_LEN + 1];
};

static void sh_verdict(eng_worker *w, void *arg, enum dm_verdict v, uint32_t rc)
{
	struct sh_wait *g = arg;
	(void)w;
	struct gw_ua *ua = g->ua;
	struct gw_sess *s = sess_find(ua, sl(g->id));
	if (!s || s->state != ST_RINGING || !s->inv) {
		json_decref(g->ev); /* cancelled meanwhile */
	} else if (v == DM_ALLOW || (v == DM_FAILED && dm_svc_fail_open(ua->sh->dm))) {
		ua->st.sh_failed += v == DM_FAILED;
		incoming_go(s, g->ev);
	} else {
		if (v == DM_DENY)
			ua->st.sh_denied++;
		else
			ua->st.sh_failed++;
		CM_LOG_RL(CM_LOG_INFO, "ua %s: Sh %s the caller %s (%u)", s->id,
			  v == DM_DENY ? "refused" : "gave no verdict on", s->from, rc);
		json_decref(g->ev);
		refuse_incoming(s, v == DM_DENY ? 403 : 503);
	}
	free(g);
}

static void new_invite(struct gw_ua *ua, struct sip_txn *st, const struct sip_msg *req,
		       const struct sip_dest *src)
{
	const struct gw_ua_shared *sh = ua->sh;
	struct sip_addr from, to;
	struct sip_ctype ct;
	if (!sh->enabled) {
		respond_plain(st, 480, NULL, 0);
		return;
	}
	cm_slice req_h = sip_msg_hdr(req, SIP_H_REQUIRE);
	if (req_h.len) {
		struct sip_hdr h = { SIP_H_UNSUPPORTED, CM_SLICE_NULL, req_h };
		respond_plain(st, 420, &h, 1);
		return;
	}
	if (sip_addr_parse(sip_msg_hdr(req, SIP_H_FROM), &from) < 0 ||
	    sip_addr_parse(sip_msg_hdr(req, SIP_H_TO), &to) < 0 || from.uri.len >= GW_UA_MAX_URI ||
	    to.uri.len >= GW_UA_MAX_URI || req->ruri.len >= GW_UA_MAX_URI ||
	    !uri_text_ok(from.uri) || !uri_text_ok(to.uri) || !uri_text_ok(req->ruri)) {
		ua->st.answered_400++;
		respond_plain(st, 400, NULL, 0);
		return;
	}
	if (!req->body.len || sip_ctype_parse(sip_msg_hdr(req, SIP_H_CONTENT_TYPE), &ct) < 0 ||
	    !slice_eq_str(ct.type, "application") || !slice_eq_str(ct.subtype, "sdp")) {
		/* no offer in the INVITE (an offer in our 2xx is not done): 488 */
		ua->st.answered_488++;
		struct sip_hdr h = { SIP_H_ACCEPT, CM_SLICE_NULL, CM_SLICE_LIT("application/sdp") };
		respond_plain(st, 488, &h, 1);
		return;
	}
	char id[GW_UA_ID_LEN + 1], f[GW_UA_MAX_URI], t[GW_UA_MAX_URI], r[GW_UA_MAX_URI];
	int code = 0;
	snprintf(f, sizeof(f), "%.*s", (int)from.uri.len, from.uri.p);
	snprintf(t, sizeof(t), "%.*s", (int)to.uri.len, to.uri.p);
	snprintf(r, sizeof(r), "%.*s", (int)req->ruri.len, req->ruri.p);
	char ids[3 * 300] = "";
	cpm_ids(req, ids, sizeof(ids));
	struct gw_sess *s = gw_ua_mint(ua->index, id) == 0 ? sess_new(ua, id, f, t, r, ids, &code)
							   : NULL;
	if (!s) {
		ua->st.answered_503++;
		respond_plain(st, 503, NULL, 0);
		return;
	}
	s->incoming = 1;
	s->dest = *src;
	s->inv = st;
	sip_txn_set_ctx(st, s);
	ua->st.sessions_in++;
	snprintf(s->types, sizeof(s->types), "%s", sh->types);
	struct sdp *offer = malloc(sizeof(*offer));
	json_t *file = NULL;
	int rc = offer ? take_peer_sdp(s, req->body, offer) : -ENOMEM;
	if (rc == 0 && !s->c->peer.port)
		rc = -ENOENT;
	for (unsigned i = 0; rc == -ENOENT && i < sh->nhooks; i++)
		if (sh->hooks[i].call && sh->hooks[i].call(sh->hooks_arg[i], ua, s->from, s->to)) {
			/* no MSRP: a call the contact centre takes, its SDP kept as it came */
			s->call = 1;
			free(s->peer_sdp);
			s->peer_sdp_len = 0;
			if ((s->peer_sdp = dup_slice(req->body)))
				s->peer_sdp_len = req->body.len;
			rc = s->peer_sdp ? 0 : -ENOMEM;
		}
	if (rc == 0 && !s->call)
		rc = ft_offer(s, offer, &file);
	free(offer);
	if (rc == 0 && !(s->inv_msg = dup_slice((cm_slice){ req->method_name.p, req->len })))
		rc = -ENOMEM;
	s->inv_len = req->len;
	if (rc == 0 && sip_dialog_uas(&s->c->dlg, req, sl(s->id), rand32() & 0x7fffffff) < 0)
		rc = -EBADMSG;
	if (rc < 0) {
		json_decref(file);
		code = rc == -ENOMEM ? 500 : rc == -EBADMSG ? 400 : 488;
		ua->st.answered_488 += code == 488;
		ua->st.answered_400 += code == 400;
		final_answer(s, code, NULL, 0, CM_SLICE_NULL);
		sess_over(s, ST_FAILED, "local", "bad_offer", code);
		return;
	}
	s->state = ST_RINGING;
	char contact[CONTACT_MAX];
	struct sip_hdr h = { SIP_H_CONTACT, CM_SLICE_NULL, contact_for(s, src, contact, sizeof(contact)) };
	if (sip_txn_respond(st, 180, CM_SLICE_NULL, sl(s->id), &h, 1, CM_SLICE_NULL) < 0) {
		s->inv = NULL; /* (its transaction is gone with the failed send) */
		sess_over(s, ST_FAILED, "local", "transport_error", 503);
		return;
	}
	json_t *ev = json_pack("{s:s, s:s, s:s, s:o, s:o}", "from", s->from, "to", s->to, "ruri",
			       s->ruri, "accept_types", types_json(s->peer_types), "headers",
			       headers_json(req));
	if (ev) {
		json_t *sj = sess_json(s);
		const char *k;
		json_t *v;
		json_object_foreach(sj, k, v) /* the CPM ids */
			if (strstr(k, "_id") && strcmp(k, "id"))
				json_object_set(ev, k, v);
		json_decref(sj);
		json_object_set_new(ev, "services", services_json(sip_msg_hdr(req, SIP_H_CONTACT)));
		if (file)
			json_object_set_new(ev, "file", file);
		file = NULL;
	}
	json_decref(file);
	if (sh->dm) { /* Sh first (diameter.sh_check): the caller may be refused */
		struct sh_wait *g = calloc(1, sizeof(*g));
		if (g) {
			g->ua = ua;
			g->ev = ev;
			memcpy(g->id, s->id, sizeof(g->id));
		}
		if (g && dm_svc_sh_check(sh->dm, ua->w, s->from, sh_verdict, g) == 0)
			return;
		free(g);
		ua->st.sh_failed++; /* (the node's mailbox is full) */
		if (!dm_svc_fail_open(sh->dm)) {
			json_decref(ev);
			refuse_incoming(s, 503);
			return;
		}
	}
	incoming_go(s, ev);
}

/* ---- requests inside a dialog, and the transaction layer's callbacks --------------------- */

/* The session an in-dialog request <req> is for (its To tag is our id), or NULL. */
static struct gw_sess *sess_of_request(struct gw_ua *ua, const struct sip_msg *req)
{
	struct sip_addr to;
	if (sip_addr_parse(sip_msg_hdr(req, SIP_H_TO), &to) < 0 || to.tag.len != GW_UA_ID_LEN)
		return NULL;
	struct gw_sess *s = sess_find(ua, to.tag);
	return s && s->have_dlg && sip_dialog_matches(&s->c->dlg, req) ? s : NULL;
}

/* The session of in-dialog request <req>, or NULL with 481 answered (§12.2.2). */
static struct gw_sess *dialog_or_481(struct gw_ua *ua, struct sip_txn *st,
				     const struct sip_msg *req)
{
	struct gw_sess *s = sess_of_request(ua, req);
	if (!s) {
		ua->st.answered_481++;
		respond_plain(st, 481, NULL, 0);
	}
	return s;
}

static void in_bye(struct gw_ua *ua, struct sip_txn *st, const struct sip_msg *req)
{
	struct gw_sess *s = dialog_or_481(ua, st, req);
	if (!s)
		return;
	int code = sip_dialog_rx_request(&s->c->dlg, req);
	sip_txn_respond(st, code ? code : 200, CM_SLICE_NULL, sl(s->id), NULL, 0, CM_SLICE_NULL);
	if (code)
		return;
	s->have_dlg = 0;
	sess_over(s, s->state == ST_ESTABLISHED || s->announced ? ST_ENDED : ST_FAILED, "remote",
		  "bye", 0);
}

static void in_cancel(struct gw_ua *ua, struct sip_txn *st)
{
	struct sip_txn *inv = sip_txn_find_invite(ua->txl, st);
	struct gw_sess *s = inv ? sip_txn_ctx(inv) : NULL;
	if (!inv) {
		ua->st.answered_481++;
		respond_plain(st, 481, NULL, 0);
		return;
	}
	sip_txn_respond(st, 200, CM_SLICE_NULL, s ? sl(s->id) : CM_SLICE_NULL, NULL, 0,
			CM_SLICE_NULL);
	if (s && s->inv == inv) {
		final_answer(s, 487, NULL, 0, CM_SLICE_NULL);
		sess_over(s, ST_FAILED, "remote", "cancelled", 487);
	}
}

/* A re-INVITE (§14.2): a new offer answered (a changed MSRP path moves the session to it), or
 * none, then our SDP goes as the offer and the ACK brings the answer. */
static void in_reinvite(struct gw_ua *ua, struct sip_txn *st, const struct sip_msg *req)
{
	struct gw_sess *s = dialog_or_481(ua, st, req);
	if (!s)
		return;
	int code = sip_dialog_rx_request(&s->c->dlg, req);
	if (!code && (s->inv || (!s->acked && s->incoming && s->dest.kind == SIP_TP_UDP &&
				 eng_timer_armed(&s->rtx))))
		code = 491; /* ours still in progress (§14.2) */
	if (!code && s->call)
		code = 488; /* a call's media is the two ends' own: not changed through us yet
			     * (§14.2: the call goes on as it was) */
	if (code) {
		sip_txn_respond(st, code, CM_SLICE_NULL, sl(s->id), NULL, 0, CM_SLICE_NULL);
		return;
	}
	char old_path[1200];
	snprintf(old_path, sizeof(old_path), "%.*s", (int)s->c->peer.path_text.len,
		 s->c->peer.path_text.p ? s->c->peer.path_text.p : "");
	int rc = 0, offered = req->body.len > 0;
	struct sdp_msrp_answer_res res = { 0 };
	/* what the session has now, put back if the new offer is refused */
	struct sdp_msrp_media old_m = s->c->peer;
	char *old_peer = s->peer_sdp, *old_our = s->our_sdp, old_types[sizeof(s->peer_types)];
	size_t old_peer_len = s->peer_sdp_len, old_our_len = s->our_sdp_len;
	memcpy(old_types, s->peer_types, sizeof(old_types));
	s->peer_sdp = s->our_sdp = NULL;
	if (offered) {
		struct sdp *offer = malloc(sizeof(*offer));
		rc = offer ? take_peer_sdp(s, req->body, offer) : -ENOMEM;
		if (rc == 0)
			rc = our_sdp(s, offer, &res);
		free(offer);
		if (rc == 0 && res.verdict != SDP_MSRP_OK)
			rc = -EPROTO;
	} else {
		rc = our_sdp(s, NULL, NULL);
	}
	if (rc < 0) {
		free(s->peer_sdp);
		free(s->our_sdp);
		s->peer_sdp = old_peer;
		s->peer_sdp_len = old_peer_len;
		s->our_sdp = old_our;
		s->our_sdp_len = old_our_len;
		s->c->peer = old_m;
		memcpy(s->peer_types, old_types, sizeof(old_types));
	} else {
		if (!s->peer_sdp) { /* no offer: the peer's SDP stays */
			s->peer_sdp = old_peer;
			s->peer_sdp_len = old_peer_len;
		} else {
			free(old_peer);
		}
		free(old_our);
	}
	if (rc < 0) {
		/* the session goes on as it was (§14.2: a failed re-INVITE changes nothing) */
		ua->st.answered_488++;
		sip_txn_respond(st, res.sip_code ? res.sip_code : 488, CM_SLICE_NULL, sl(s->id), NULL,
				0, CM_SLICE_NULL);
		return;
	}
	sip_dialog_update(&s->c->dlg, req, 0);
	char *c = dup_slice((cm_slice){ req->method_name.p, req->len });
	if (c) {
		free(s->inv_msg);
		s->inv_msg = c;
		s->inv_len = req->len;
	}
	struct sip_hdr h[8];
	char contact[CONTACT_MAX];
	unsigned n = answer_hdrs(s, h, contact, sizeof(contact));
	sip_txn_respond(st, 200, CM_SLICE_NULL, sl(s->id), h, n,
			(cm_slice){ s->our_sdp, s->our_sdp_len });
	rtx_start(s); /* over UDP: our 2xx again until the ACK */
	struct sdp_msrp_media ours;
	if (offered && (strcmp(old_path, "") == 0 || s->c->peer.path_text.len != strlen(old_path) ||
			memcmp(s->c->peer.path_text.p, old_path, s->c->peer.path_text.len) || !s->ms) &&
	    our_media(s, &ours) == 0 && msrp_open(s, &s->c->peer, &ours, 0) < 0) {
		send_bye(s);
		sess_over(s, ST_ENDED, "local", "msrp_failed", 0);
	}
}

static void on_ack(void *arg, const struct sip_msg *ack, const struct sip_dest *src)
{
	struct gw_ua *ua = arg;
	(void)src;
	struct gw_sess *s = sess_of_request(ua, ack);
	if (!s)
		return;
	s->acked = 1;
	eng_timer_cancel(&s->rtx);
	if (s->call) {
		call_up(s);
		return;
	}
	if (!ack->body.len)
		return;
	/* the answer to the offer of our 2xx (a re-INVITE that had none): the MSRP session
	 * moves only when the peer's path did */
	char old_path[1200];
	snprintf(old_path, sizeof(old_path), "%.*s", (int)s->c->peer.path_text.len,
		 s->c->peer.path_text.p ? s->c->peer.path_text.p : "");
	struct sdp_msrp_media ours;
	if (take_peer_sdp(s, ack->body, NULL) < 0)
		return;
	int moved = s->c->peer.path_text.len != strlen(old_path) ||
		    memcmp(s->c->peer.path_text.p, old_path, s->c->peer.path_text.len) || !s->ms;
	if (moved && our_media(s, &ours) == 0 && msrp_open(s, &ours, &s->c->peer, 1) < 0) {
		send_bye(s);
		sess_over(s, ST_ENDED, "local", "msrp_failed", 0);
	}
}

static void on_request(void *arg, struct sip_txn *st, const struct sip_msg *req,
		       const struct sip_dest *src)
{
	struct gw_ua *ua = arg;
	if (!st) {
		char tag[16];
		ua->st.answered_503++;
		sip_txn_reply_stateless(ua->txl, req, src, 503, stray_tag(tag, sizeof(tag)));
		return;
	}
	struct sip_addr to;
	int in_dialog = sip_addr_parse(sip_msg_hdr(req, SIP_H_TO), &to) == 0 && to.tag.len;
	switch (req->method) {
	case SIP_M_INVITE:
		if (in_dialog)
			in_reinvite(ua, st, req);
		else
			new_invite(ua, st, req, src);
		return;
	case SIP_M_BYE:
		in_bye(ua, st, req);
		return;
	case SIP_M_CANCEL:
		in_cancel(ua, st);
		return;
	case SIP_M_MESSAGE: {
		for (unsigned i = 0; !in_dialog && i < ua->sh->nhooks; i++)
			if (ua->sh->hooks[i].message) { /* the gateway's rules first */
				ua->sh->hooks[i].message(ua->sh->hooks_arg[i], ua, st, req, src);
				return;
			}
		if (!in_dialog && gw_ua_pager_take(ua, st, req, src) == 0)
			return; /* standalone messaging: for the applications */
		break;
	}
	case SIP_M_OPTIONS: { /* RCC.07 capability discovery: our Contact says what we have */
		char host[300], contact[CONTACT_MAX];
		local_host(ua, src, 0, 1, host, sizeof(host));
		snprintf(contact, sizeof(contact), "<sip:rcsgw@%s:%d%s>%s", host,
			 local_port(ua, src->kind), kind_index(src->kind) == 1 ? ";transport=tcp"
			 : kind_index(src->kind) == 2 ? ";transport=tls" : "", ua->sh->tags);
		struct sip_hdr h[4] = {
			{ SIP_H_CONTACT, CM_SLICE_NULL, sl(contact) },
			{ SIP_H_ALLOW, CM_SLICE_NULL, CM_SLICE_LIT(ALLOW) },
			{ SIP_H_ACCEPT, CM_SLICE_NULL, CM_SLICE_LIT("application/sdp") },
			{ SIP_H_SERVER, CM_SLICE_NULL, sl(ua->sh->user_agent) },
		};
		respond_plain(st, 200, h, ua->sh->user_agent[0] ? 4 : 3);
		return;
	}
	case SIP_M_OTHER:
		respond_plain(st, 501, NULL, 0);
		return;
	default:
		break;
	}
	if (in_dialog && !dialog_or_481(ua, st, req))
		return;
	struct sip_hdr h = { SIP_H_ALLOW, CM_SLICE_NULL, CM_SLICE_LIT(ALLOW) };
	respond_plain(st, 405, &h, 1);
}

static void on_response(void *arg, struct sip_txn *ct, void *ctx, int status,
			const struct sip_msg *resp)
{
	struct gw_ua *ua = arg;
	if (!ct) {
		/* a 2xx to our INVITE again (§13.2.2.4): the ACK again */
		struct sip_addr from;
		struct sip_cseq cs;
		if (!resp || status < 200 || status >= 300 ||
		    sip_cseq_parse(sip_msg_hdr(resp, SIP_H_CSEQ), &cs) < 0 ||
		    cs.method != SIP_M_INVITE ||
		    sip_addr_parse(sip_msg_hdr(resp, SIP_H_FROM), &from) < 0)
			return;
		struct gw_sess *s = sess_find(ua, from.tag);
		if (s && s->ack_msg && cs.seq == s->inv_cseq)
			tp_send(ua, s->ack_msg, s->ack_len, &s->ack_dest, 0);
		return;
	}
	enum sip_method m = sip_txn_method(ct);
	if (m == SIP_M_MESSAGE || m == SIP_M_OPTIONS) { /* out_request()'s */
		struct gw_msgreq *q = ctx;
		if (q && status >= 200) {
			*q->prev = q->next;
			if (q->next)
				q->next->prev = q->prev;
			if (q->done_resp)
				q->done_resp(q->arg, status, resp);
			else
				q->done(q->arg, status);
			free(q);
		}
		return;
	}
	struct gw_sess *s = ctx;
	if (!s)
		return;
	if (m == SIP_M_INVITE)
		invite_response(s, ct, status, resp);
	else if (m == SIP_M_BYE && status >= 200 && s->state == ST_ENDING)
		sess_over(s, ST_ENDED, "local", s->reason ? s->reason : "api", 0);
	if (status >= 200)
		tx_done(s);
}

static void on_server_error(void *arg, struct sip_txn *st, void *ctx, int status)
{
	struct gw_sess *s = ctx;
	(void)arg;
	if (s && s->inv == st) {
		s->inv = NULL;
		sess_over(s, ST_FAILED, "local", status == 408 ? "timeout" : "transport_error",
			  status);
	}
}

/* A request that did not parse but can be answered: 400 (413, 505), statelessly. */
static void on_bad(void *arg, const char *raw, size_t len, const struct sip_msg *m,
		   const struct sip_dest *src)
{
	struct gw_ua *ua = arg;
	struct sip_dest d = *src;
	char tag[16];
	(void)raw;
	(void)len;
	d.worker = (uint16_t)ua->index;
	ua->st.sip_bad++;
	ua->st.answered_400++;
	sip_txn_reply_stateless(ua->txl, m, &d, m->err_status ? m->err_status : 400,
				stray_tag(tag, sizeof(tag)));
}

/* A connection we opened failed (refused, TLS, timeout) or went down: the requests that
 * went that way and heard nothing end with 503 now rather than at timer B or F. An INVITE
 * then tries its next target or its session fails (invite_response), a MESSAGE's sender
 * (pager, gateway) is told. Only the transactions still waiting are looked at, not every
 * session: a peer's connection going down costs what was in flight on it. */
static void on_tp_error(void *arg, const struct sip_dest *dst, int err)
{
	struct gw_ua *ua = arg;
	CM_DEBUG("sip: connection to a peer failed: %s", strerror(-err));
	sip_txn_transport_failed(ua->txl, dst);
}

/* ---- a worker's user agent --------------------------------------------------------------- */

static void ua_stop(eng_worker *w, void *arg)
{
	struct gw_ua *ua = arg;
	(void)w;
	/* what lives on the loop goes before the connections close: sessions (timers, MSRP),
	 * transactions, the transport, the pool */
	for (uint32_t i = 0; i <= ua->sessions.mask; i++)
		while (ua->sessions.buckets[i])
			sess_free((struct gw_sess *)ua->sessions.buckets[i]);
	if (ua->relay) { /* kept until gw_ua_free: the pool's end may still call it back */
		ua->relay->stopping = 1;
		eng_timer_cancel(&ua->relay->timer);
	}
	while (ua->msgreqs) { /* their transactions go unheard: 503 */
		struct gw_msgreq *q = ua->msgreqs;
		ua->msgreqs = q->next;
		if (q->done_resp)
			q->done_resp(q->arg, 503, NULL);
		else
			q->done(q->arg, 503);
		free(q);
	}
	sip_txn_layer_free(ua->txl);
	ua->txl = NULL;
	if (ua->tp) /* its listeners: closed by a drain already, or by the stop next */
		sip_transport_engine_owns_listeners(ua->tp);
	sip_transport_free(ua->tp);
	ua->tp = NULL;
	/* the MSRP side: its sessions and connections let go of, then the pool (whose waiters
	 * and transactions call back into the UA and the relay client: both stay until
	 * gw_ua_free) */
	msrp_ua_stop(ua->mua);
	if (ua->svc)
		msrp_svc_set_ua(ua->svc, NULL);
	msrp_pool_free(ua->pool);
	ua->pool = NULL;
	eng_dns_free(ua->dns);
	ua->dns = NULL;
	atomic_store_explicit(&ua->sh->workers[ua->index], NULL, memory_order_release);
}

struct gw_ua *gw_ua_start(struct gw_ua_shared *sh, eng_worker *w, struct msrp_svc *svc,
			  char *err, size_t errlen)
{
	struct gw_ua *ua = calloc(1, sizeof(*ua));
	if (!ua || msrp_sess_table_init(&ua->sessions, 1024) < 0) {
		free(ua);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	ua->sh = sh;
	ua->w = w;
	ua->svc = svc;
	ua->index = eng_worker_index(w);
	ua->msrp_port = svc ? msrp_svc_tcp_port(svc) : 0;
	if (ua->msrp_port && sh->msrp_port_adv > 0 && sh->msrp_port_adv < 65536)
		ua->msrp_port = sh->msrp_port_adv; /* what peers reach us at */
	ua->pcfg.limits = sh->limits;
	ua->pcfg.stats = &ua->pstats;
	struct sip_tp tp = { .send = tp_send, .arg = ua };
	struct sip_tu tu = { .on_request = on_request, .on_response = on_response,
			     .on_server_error = on_server_error, .on_ack = on_ack, .arg = ua };
	char derr[256];
	ua->tp = sip_transport_new(w, &ua->pcfg, on_msg, ua);
	ua->txl = ua->tp ? sip_txn_layer_new(w, &sh->txn, &tp, &tu) : NULL;
	if (!ua->tp || !ua->txl) {
		snprintf(err, errlen, "sip: out of memory");
		goto fail;
	}
	sip_transport_set_tls(ua->tp, sh->tls_server, sh->tls_client);
	sip_transport_set_bad_cb(ua->tp, on_bad, ua);
	sip_transport_set_error_cb(ua->tp, on_tp_error, ua);
	if (!(ua->dns = eng_dns_new(w, &sh->dns, derr, sizeof(derr))))
		CM_WARN("sip: no resolver (%s): Request-URIs must hold IP addresses", derr);
	for (size_t i = 0; i < sh->listen.n; i++) {
		int port = sip_transport_listen(ua->tp, sh->listen.v[i], 1, err, errlen);
		if (port < 0)
			goto fail;
		int k = !strncmp(sh->listen.v[i], "tcp:", 4) ? 1 : !strncmp(sh->listen.v[i], "tls:", 4);
		k = !strncmp(sh->listen.v[i], "tls:", 4) ? 2 : k;
		int zero = 0;
		atomic_compare_exchange_strong(&sh->ports[k], &zero, port);
	}
	if (svc && sh->enabled) {
		ua->pool = msrp_pool_new(msrp_svc_worker(svc), NULL, NULL, msrp_ua_conn_ops(), NULL);
		struct msrp_ua_cfg mc = sh->msrp;
		mc.may_find = msrp_may_find; /* a peer binding a dead node's session anew */
		mc.find = msrp_find;
		mc.find_arg = ua;
		ua->mua = ua->pool ? msrp_ua_new(w, msrp_svc_worker(svc), ua->pool, &mc) : NULL;
		if (!ua->mua) {
			snprintf(err, errlen, "ua: out of memory");
			goto fail;
		}
		msrp_svc_set_ua(svc, ua->mua);
		if (sh->relay[0] && !(ua->relay = relay_new(ua))) {
			snprintf(err, errlen, "ua.relay: out of memory");
			goto fail;
		}
	}
	if (eng_worker_on_stop(w, ua_stop, ua) < 0) {
		snprintf(err, errlen, "ua: no room for a stop hook");
		goto fail;
	}
	atomic_store_explicit(&sh->workers[ua->index], ua, memory_order_release);
	return ua;
fail:
	ua_stop(w, ua);
	gw_ua_free(ua);
	return NULL;
}

void gw_ua_free(struct gw_ua *ua)
{
	if (!ua)
		return;
	relay_free(ua->relay);
	msrp_ua_free(ua->mua);
	msrp_sess_table_fini(&ua->sessions);
	free(ua);
}

void gw_ua_stats(const struct gw_ua *ua, struct gw_ua_stats *out)
{
	*out = ua->st;
	out->alive = ua->nlive;
	const struct sip_transport_stats *ts = ua->tp ? sip_transport_stats(ua->tp) : NULL;
	if (ts) {
		out->sip_unparsable = ts->udp_bad;
		out->sip_stream_errors = ts->stream_errors;
	}
	if (ua->mua) {
		out->msrp_too_big = msrp_ua_stats(ua->mua)->too_big;
		out->msrp_too_many_chunks = msrp_ua_stats(ua->mua)->too_many_chunks;
		out->msrp_incomplete = msrp_ua_stats(ua->mua)->incomplete;
	}
}

const struct sip_transport_stats *gw_ua_sip_transport_stats(const struct gw_ua *ua)
{
	return ua && ua->tp ? sip_transport_stats(ua->tp) : NULL;
}

const struct sip_txn_stats *gw_ua_sip_txn_stats(const struct gw_ua *ua)
{
	return ua && ua->txl ? sip_txn_layer_stats(ua->txl) : NULL;
}

void gw_ua_count_states(const struct gw_ua *ua, uint32_t out[GW_UA_STATES])
{
	memset(out, 0, GW_UA_STATES * sizeof(out[0]));
	for (uint32_t i = 0; i <= ua->sessions.mask; i++)
		for (const struct msrp_sess *e = ua->sessions.buckets[i]; e; e = e->hnext)
			out[((const struct gw_sess *)e)->state]++;
}

const struct sip_parse_stats *gw_ua_sip_parse_stats(const struct gw_ua *ua)
{
	return ua && ua->tp ? &ua->pstats : NULL;
}

/* ---- operations for the API ---------------------------------------------------------------- */

/* <types> joined by single spaces into <out> (a session's accept-types). 0, or -E2BIG
 * (nothing usable in <out> then). */
static int join_types(char *out, size_t cap, const char *const *types, unsigned n)
{
	size_t k = 0;
	out[0] = '\0';
	for (unsigned i = 0; i < n; i++) {
		int w = snprintf(out + k, cap - k, "%s%s", i ? " " : "", types[i]);
		if (w < 0 || (size_t)w >= cap - k) {
			out[0] = '\0';
			return -E2BIG;
		}
		k += (size_t)w;
	}
	return 0;
}

static int fail_msg(char *msg, size_t len, int code, const char *text)
{
	snprintf(msg, len, "%s", text);
	return code;
}

static int is_token(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!strchr("!%'*+-.^_`|~", *s) && !((*s >= '0' && *s <= '9') ||
						      ((*s | 0x20) >= 'a' && (*s | 0x20) <= 'z')))
			return 0;
	return 1;
}

int gw_ua_new_check(const struct gw_ua_new *n, char *msg, size_t len)
{
	static const char *const reserved[] = {
		"via", "v", "from", "f", "to", "t", "call-id", "i", "cseq", "contact", "m",
		"content-length", "l", "content-type", "c", "max-forwards", "route",
		"record-route", "authorization", "proxy-authorization", NULL,
	};
	const char *uris[] = { n->from, n->to, n->ruri };
	static const char *const fields[] = { "from", "to", "ruri" };
	for (int i = 0; i < 3; i++) {
		struct sip_uri u;
		if (!uris[i] && i == 2)
			continue;
		if (!uris[i] || !*uris[i]) {
			snprintf(msg, len, "field '%s' is required", fields[i]);
			return 400;
		}
		if (strlen(uris[i]) >= GW_UA_MAX_URI || strpbrk(uris[i], "\r\n<>\" ") ||
		    sip_uri_parse(sl(uris[i]), &u) < 0 || (i == 2 && u.scheme == SIP_SCHEME_TEL)) {
			snprintf(msg, len, "field '%s' is not a SIP URI", fields[i]);
			return 400;
		}
	}
	size_t tl = 0;
	for (unsigned i = 0; i < n->ntypes; i++) {
		cm_slice t[1];
		unsigned k;
		if (sdp_msrp_types_parse(sl(n->types[i]), t, 1, &k) < 0 || k != 1) {
			snprintf(msg, len, "field 'accept_types' item %u is not a media type", i);
			return 400;
		}
		tl += strlen(n->types[i]) + 1;
	}
	if (tl > GW_UA_MAX_TYPES_LEN)
		return fail_msg(msg, len, 400, "field 'accept_types' is too long");
	size_t total = 0;
	for (unsigned i = 0; i < n->nhdrs; i++) {
		const char *h = n->hdr_names[i], *v = n->hdr_values[i];
		if (!is_token(h) || strlen(h) > 64) {
			snprintf(msg, len, "field 'headers': '%.64s' is not a header name", h);
			return 400;
		}
		for (unsigned k = 0; reserved[k]; k++)
			if (!strcasecmp(h, reserved[k])) {
				snprintf(msg, len, "field 'headers': %s is set by rcsgw", h);
				return 400;
			}
		if (strpbrk(v, "\r\n") || strlen(v) > 1024) {
			snprintf(msg, len, "field 'headers': the value of %s is not one line", h);
			return 400;
		}
		total += strlen(h) + strlen(v) + 3;
	}
	if (total >= GW_UA_MAX_HDRS)
		return fail_msg(msg, len, 400, "field 'headers' is too large");
	return 0;
}

/* Where the INVITE of <s> goes is known: it goes to the first target (the others wait for
 * a target that does not answer). */
static void resolved(void *arg, int err, const struct sip_target *t, unsigned n)
{
	struct gw_sess *s = arg;
	if (s->state != ST_CONNECTING && s->state != ST_ENDING)
		return;
	if (err < 0 || !n) {
		sess_over(s, s->state == ST_ENDING ? ST_ENDED : ST_FAILED, "local",
			  s->state == ST_ENDING ? "cancelled" : "unresolvable", 503);
		return;
	}
	if (s->state == ST_ENDING) { /* ended by the API while we looked: nothing was sent */
		sess_over(s, ST_ENDED, "local", "cancelled", 0);
		return;
	}
	s->ntargets = 0;
	for (unsigned i = 0; i < n && s->ntargets < GW_TARGETS; i++)
		if (t[i].dest.kind == SIP_TP_UDP || t[i].dest.kind == SIP_TP_TCP ||
		    (t[i].dest.kind == SIP_TP_TLS && s->ua->sh->tls_client)) {
			s->targets[s->ntargets] = t[i].dest;
			s->targets[s->ntargets++].worker = (uint16_t)s->ua->index;
		}
	if (!s->ntargets) {
		sess_over(s, ST_FAILED, "local", "no_transport", 503); /* TLS without a context */
		return;
	}
	s->tidx = 0;
	s->dest = s->targets[0];
	if (!s->call && s->ua->relay && !relay_ready(s->ua->relay)) {
		relay_wait(s->ua->relay, s); /* our a=path needs the relay's Use-Path first */
		return;
	}
	send_first_invite(s);
}

/* The INVITE of outgoing <s> to its first target. */
static void send_first_invite(struct gw_sess *s)
{
	if (s->state != ST_CONNECTING)
		return; /* ended while it waited for the relay */
	ssize_t wl = !s->call && our_sdp(s, NULL, NULL) < 0 ? -EINVAL
							      : write_invite(s, 1, SIP_H_OTHER, NULL);
	if (wl < 0 || request(s, (size_t)wl, &s->dest, &s->inv) < 0)
		sess_over(s, ST_FAILED, "local", "not_sent", 503);
}

/* The <len> bytes of ua->wbuf as a client transaction of the gateway's toward <d>,
 * <done>(<arg>, status) at its end. 0 or -errno (no callback then). */
static int msgreq_send(struct gw_ua *ua, size_t len, const struct sip_dest *d,
		       void (*done)(void *arg, int status),
		       void (*done_resp)(void *arg, int status, const struct sip_msg *resp), void *arg)
{
	struct gw_msgreq *q = malloc(sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->done = done;
	q->done_resp = done_resp;
	q->arg = arg;
	int rc = sip_txn_request(ua->txl, ua->wbuf, len, d, q, NULL);
	if (rc < 0) {
		free(q);
		return rc;
	}
	q->next = ua->msgreqs;
	if (q->next)
		q->next->prev = &q->next;
	q->prev = &ua->msgreqs;
	ua->msgreqs = q;
	return 0;
}

/* An out-of-dialog <method> (MESSAGE or OPTIONS) from <from> (NULL: sip:rcsgw@us) to <to>,
 * with <body> of <ctype> (NULL: none); its final status to <done> or, with the response,
 * to <done_resp>. gw_ua_send_message()'s returns. */
static int out_request(struct gw_ua *ua, const char *method, const char *from, const char *to,
		       const char *ctype, const void *body, size_t len, const char *extra,
		       void (*done)(void *arg, int status),
		       void (*done_resp)(void *arg, int status, const struct sip_msg *resp),
		       void *arg)
{
	struct sip_dest d;
	const char *next = ua->sh->proxy[0] ? ua->sh->proxy : to;
	int rc = dest_of_uri(ua, sl(next), &d);
	if (rc < 0)
		return rc;
	if (d.kind == SIP_TP_UDP && len + 700 > 1300)
		d.kind = SIP_TP_TCP; /* RFC 3428 §6: larger than 1300 bytes goes over congestion control */
	char via[512], host[300], fromv[GW_UA_MAX_URI + 32], tov[GW_UA_MAX_URI + 4];
	char callid[64], route[GW_UA_MAX_URI + 8];
	char bid[GW_UA_ID_LEN + 1]; /* the branch names this worker: its answer comes back here */
	if (gw_ua_mint(ua->index, bid) < 0)
		return -EIO;
	local_host(ua, &d, 0, 1, host, sizeof(host));
	snprintf(via, sizeof(via), "SIP/2.0/%s %s:%d;branch=z9hG4bK%s.m%08x;rport",
		 kind_via(d.kind), host, local_port(ua, d.kind), bid, rand32());
	char cseq[32], contact[CONTACT_MAX];
	if (from)
		snprintf(fromv, sizeof(fromv), "<%s>;tag=m%08x", from, rand32());
	else
		snprintf(fromv, sizeof(fromv), "<sip:rcsgw@%s>;tag=m%08x", host, rand32());
	snprintf(tov, sizeof(tov), "<%s>", to);
	snprintf(callid, sizeof(callid), "m%08x%08x@rcsgw", rand32(), rand32());
	snprintf(cseq, sizeof(cseq), "1 %s", method);
	struct sip_hdr h[24];
	unsigned n = 0;
	n = head_hdrs(ua, h, n, sl(via), route, sizeof(route), sl(fromv), sl(tov), sl(callid),
		      sl(cseq));
	n = hdr_lines(extra, h, n, 20);
	if (ua->sh->user_agent[0])
		h[n++] = (struct sip_hdr){ SIP_H_USER_AGENT, CM_SLICE_NULL, sl(ua->sh->user_agent) };
	if (!strcmp(method, "OPTIONS")) {
		/* RCC.07 capability exchange: ours go with the question, and the answer's
		 * Contact says the peer's */
		snprintf(contact, sizeof(contact), "<sip:rcsgw@%s:%d%s>%s", host,
			 local_port(ua, d.kind), d.kind == SIP_TP_TCP ? ";transport=tcp"
			 : d.kind == SIP_TP_TLS ? ";transport=tls" : "", ua->sh->tags);
		h[n++] = (struct sip_hdr){ SIP_H_CONTACT, CM_SLICE_NULL, sl(contact) };
		h[n++] = (struct sip_hdr){ SIP_H_ACCEPT, CM_SLICE_NULL,
					   CM_SLICE_LIT("application/sdp") };
	}
	if (ctype)
		h[n++] = (struct sip_hdr){ SIP_H_CONTENT_TYPE, CM_SLICE_NULL, sl(ctype) };
	ssize_t wl = sip_write_request(ua->wbuf, sizeof(ua->wbuf), sl(method), sl(to), h, n,
				       (cm_slice){ body, len });
	if (wl < 0)
		return (int)wl;
	return msgreq_send(ua, (size_t)wl, &d, done, done_resp, arg);
}

int gw_ua_send_message(struct gw_ua *ua, const char *from, const char *to, const char *ctype,
		       const void *body, size_t len, void (*done)(void *arg, int status),
		       void *arg)
{
	return out_request(ua, "MESSAGE", from, to, ctype, body, len, NULL, done, NULL, arg);
}

int gw_ua_send_message_ex(struct gw_ua *ua, const char *from, const char *to, const char *ctype,
			  const void *body, size_t len, const char *extra,
			  void (*done)(void *arg, int status, const struct sip_msg *resp), void *arg)
{
	return out_request(ua, "MESSAGE", from, to, ctype, body, len, extra, NULL, done, arg);
}

void gw_ua_set_repl(struct gw_ua *ua, const struct gw_ua_repl *r)
{
	ua->repl = r ? *r : (struct gw_ua_repl){ 0 };
}

/* A copy of <v> NUL-terminated, into <pool> (advanced), or "" when it does not fit. */
static char *pool_str(char **pool, char *end, const char *p, size_t n)
{
	if (!p)
		return "";
	if ((size_t)(end - *pool) < n + 1) {
		*pool = end - 1; /* full: the caller sees it */
		return "";
	}
	char *o = *pool;
	memcpy(o, p, n);
	o[n] = '\0';
	*pool += n + 1;
	return o;
}

int gw_ua_handing(struct gw_ua *ua, const char *id, int on)
{
	struct gw_sess *s = sess_find(ua, sl(id));
	if (!s)
		return -ENOENT;
	if (on && (s->state != ST_ESTABLISHED || !s->rebinding))
		return -EBUSY; /* its peer is here (or it is not up): not handed on */
	s->handing = on ? 1 : 0;
	return 0;
}

int gw_ua_fenced(struct gw_ua *ua, const char *id, const char *owner)
{
	struct gw_sess *s = sess_find(ua, sl(id));
	if (!s || s->state == ST_ENDED || s->state == ST_FAILED)
		return -ENOENT;
	ua->moved_to = owner && owner[0] ? owner : "?";
	sess_over(s, ST_ENDED, "cluster", "moved", 0);
	ua->moved_to = NULL;
	/* not found here from now on (requests for it go to its owner); what still names it (a
	 * transaction) keeps it until it is freed */
	msrp_sess_remove(&ua->sessions, &s->ent);
	return 0;
}

int gw_ua_has(struct gw_ua *ua, const char *id)
{
	struct gw_sess *s = (struct gw_sess *)msrp_sess_find(&ua->sessions, sl(id));
	return s && s->state != ST_ENDED && s->state != ST_FAILED;
}

int gw_ua_snapshot(struct gw_ua *ua, const char *id, uint8_t **buf, size_t *len)
{
	struct gw_sess *s = (struct gw_sess *)msrp_sess_find(&ua->sessions, sl(id));
	if (!s || s->state == ST_ENDED || s->state == ST_FAILED || !s->c || s->call)
		return 404;
	char strs[4096], *pool = strs, *end = strs + sizeof(strs);
	char *routes[SIP_DIALOG_MAX_ROUTES], uri[400], path[2400];
	Rcsgw__Dialog d = RCSGW__DIALOG__INIT;
	Rcsgw__MsrpLeg m = RCSGW__MSRP_LEG__INIT;
	Rcsgw__UaSession u = RCSGW__UA_SESSION__INIT;
	Rcsgw__Session r = RCSGW__SESSION__INIT;
	u.id = s->id;
	u.state = (char *)gw_ua_state_names[s->state];
	u.incoming = s->incoming;
	u.from = s->from;
	u.to = s->to;
	u.ruri = s->ruri;
	u.created_ms = s->created_ms;
	u.owner = (char *)(s->owner && s->owner->name ? s->owner->name : "");
	cm_slice v = hdr_line(s->hdrs, "Conversation-ID");
	u.conversation_id = pool_str(&pool, end, v.p, v.len);
	v = hdr_line(s->hdrs, "Contribution-ID");
	u.contribution_id = pool_str(&pool, end, v.p, v.len);
	if (s->have_dlg) {
		const struct sip_dialog *g = &s->c->dlg;
		d.call_id = pool_str(&pool, end, g->call_id, g->call_id_len);
		d.local_tag = pool_str(&pool, end, g->local_tag, g->local_tag_len);
		d.remote_tag = pool_str(&pool, end, g->remote_tag, g->remote_tag_len);
		d.local_uri = pool_str(&pool, end, g->local_uri, g->local_uri_len);
		d.remote_uri = pool_str(&pool, end, g->remote_uri, g->remote_uri_len);
		d.remote_target = pool_str(&pool, end, g->target, g->target_len);
		for (unsigned i = 0; i < g->nroutes; i++)
			routes[i] = pool_str(&pool, end, g->routes + g->route[i].off,
					     g->route[i].len);
		d.n_route_set = g->nroutes;
		d.route_set = routes;
		d.local_cseq = g->local_cseq;
		d.remote_cseq = g->remote_cseq;
		d.secure = g->secure;
		d.we_called = !s->incoming;
		u.dialog = &d;
	}
	const char *lu, *tp;
	if (leg_uris(s, uri, sizeof(uri), path, sizeof(path), &lu, &tp) == 0) {
		m.local_uri = (char *)lu;
		m.to_path = (char *)tp;
		m.we_connect = s->ms ? msrp_ua_active(s->ms) : 0;
		u.msrp = &m;
	}
	if (u.msrp && s->peer_sdp) { /* what the peer takes (types, sizes), for a successor */
		m.peer_sdp.data = (uint8_t *)s->peer_sdp;
		m.peer_sdp.len = s->peer_sdp_len;
	}
	if (pool == end - 1 || (size_t)(end - pool) < 2)
		return 503; /* a part did not fit: no record rather than a wrong one */
	r.version = 1;
	r.kind_case = RCSGW__SESSION__KIND_UA;
	r.ua = &u;
	*len = rcsgw__session__get_packed_size(&r);
	if (!(*buf = malloc(*len ? *len : 1)))
		return 503;
	rcsgw__session__pack(&r, *buf);
	return 0;
}

int gw_ua_adopt(struct gw_ua *ua, const char *id, const uint8_t *record, size_t len,
		uint64_t epoch, char *msg, size_t mlen)
{
	Rcsgw__Session *r = rcsgw__session__unpack(NULL, len, record);
	int code = 400;
	if (!r || r->kind_case != RCSGW__SESSION__KIND_UA || !r->ua->dialog || !r->ua->id ||
	    strcmp(r->ua->id, id) || gw_ua_worker_of(ua->sh, id) != (int)ua->index ||
	    strcmp(r->ua->state, "established")) {
		snprintf(msg, mlen, "the session's record in Redis does not parse, is another "
			 "session's, or is not of an established session");
		goto out;
	}
	const Rcsgw__UaSession *u = r->ua;
	if (msrp_sess_find(&ua->sessions, sl(u->id))) {
		snprintf(msg, mlen, "the session is here already");
		code = 409;
		goto out;
	}
	char hdrs[GW_UA_MAX_HDRS];
	snprintf(hdrs, sizeof(hdrs), "%s%s%s%s%s%s", u->conversation_id[0] ? "Conversation-ID: " : "",
		 u->conversation_id, u->conversation_id[0] ? "\n" : "",
		 u->contribution_id[0] ? "Contribution-ID: " : "", u->contribution_id,
		 u->contribution_id[0] ? "\n" : "");
	struct gw_sess *s = sess_new(ua, u->id, u->from, u->to, u->ruri, hdrs, &code);
	if (!s) {
		snprintf(msg, mlen, "no room for the session");
		goto out;
	}
	const Rcsgw__Dialog *g = u->dialog;
	cm_slice routes[SIP_DIALOG_MAX_ROUTES];
	unsigned nr = g->n_route_set < SIP_DIALOG_MAX_ROUTES ? (unsigned)g->n_route_set
							     : SIP_DIALOG_MAX_ROUTES;
	for (unsigned i = 0; i < nr; i++)
		routes[i] = sl(g->route_set[i]);
	struct sip_dialog_saved sv = {
		.call_id = sl(g->call_id), .local_tag = sl(g->local_tag),
		.remote_tag = sl(g->remote_tag), .local_uri = sl(g->local_uri),
		.remote_uri = sl(g->remote_uri), .target = sl(g->remote_target),
		.routes = routes, .nroutes = nr, .local_cseq = g->local_cseq,
		.remote_cseq = g->remote_cseq, .has_remote_cseq = g->remote_cseq != 0,
		.secure = g->secure,
	};
	s->incoming = u->incoming;
	snprintf(s->types, sizeof(s->types), "*");
	if (g->n_route_set > SIP_DIALOG_MAX_ROUTES || sip_dialog_restore(&s->c->dlg, &sv) < 0) {
		snprintf(msg, mlen, "the session's dialog cannot be restored");
		sess_over(s, ST_FAILED, "local", "takeover", 500);
		code = 400;
		goto out;
	}
	if (u->msrp && u->msrp->peer_sdp.len &&
	    take_peer_sdp(s, (cm_slice){ (const char *)u->msrp->peer_sdp.data,
					 u->msrp->peer_sdp.len }, NULL) < 0)
		CM_WARN("ua %s: taken over without the peer's SDP (it does not parse)", s->id);
	s->have_dlg = 1;
	s->acked = 1;
	s->state = ST_ESTABLISHED;
	s->announced = 1;
	int adopted = 0; /* the gateway's pair, made anew here */
	for (unsigned i = 0; u->owner[0] && !adopted && i < ua->sh->nhooks; i++)
		adopted = ua->sh->hooks[i].adopt &&
			  ua->sh->hooks[i].adopt(ua->sh->hooks_arg[i], ua, s->id, s->incoming,
						 s->from, s->to, &s->owner, &s->owner_arg);
	if (u->owner[0] && !adopted)
		CM_WARN("ua %s: taken over, its owner (%s) did not take it again: the "
			"applications' now", s->id, u->owner);
	if (u->msrp && u->msrp->local_uri[0] && u->msrp->to_path[0]) {
		struct msrp_ua_sess_cfg c = { .local_uri = u->msrp->local_uri,
					      .to_path = u->msrp->to_path,
					      .active = u->msrp->we_connect };
		/* kept for the records this node writes of it from now on */
		size_t ll = strlen(c.local_uri) + 1, tl = strlen(c.to_path) + 1;
		if ((s->adopted_leg = malloc(ll + tl))) {
			memcpy(s->adopted_leg, c.local_uri, ll);
			memcpy(s->adopted_leg + ll, c.to_path, tl);
		}
		int rc;
		s->ms = msrp_ua_open(ua->mua, &c, &msrp_events, s, &rc);
		if (!s->ms) {
			snprintf(msg, mlen, "the session's MSRP leg cannot be opened again (%s)",
				 strerror(rc < 0 ? -rc : rc));
			send_bye(s);
			sess_over(s, ST_FAILED, "local", "takeover", 500);
			code = 503;
			goto out;
		}
	}
	ua->st.established++;
	if (ua->repl.changed)
		ua->repl.changed(ua->repl.arg, s->id);
	sess_publish(s, "session.adopted", json_pack("{s:I}", "epoch", (json_int_t)epoch));
	CM_INFO("ua %s: taken over (epoch %llu)", s->id, (unsigned long long)epoch);
	code = 0;
out:
	if (r)
		rcsgw__session__free_unpacked(r, NULL);
	return code;
}

struct gw_files *gw_ua_files(const struct gw_ua *ua)
{
	return ua->sh->files;
}

void gw_ua_set_files(struct gw_ua_shared *sh, struct gw_files *fs)
{
	sh->files = fs;
}

void gw_ua_set_diameter(struct gw_ua_shared *sh, struct dm_svc *dm)
{
	sh->dm = dm_svc_sh_on(dm) ? dm : NULL;
}

int gw_ua_session_peer(struct gw_ua *ua, const char *id, char *local, char *peer, char *ruri,
		       char *conv)
{
	struct gw_sess *s = sess_find(ua, sl(id));
	if (!s)
		return 404;
	if (s->state == ST_ENDING || s->state == ST_ENDED || s->state == ST_FAILED)
		return 409;
	snprintf(local, GW_UA_MAX_URI, "%s", local_uri(s));
	snprintf(peer, GW_UA_MAX_URI, "%s", peer_uri(s));
	/* an incoming session's peer is reached at its From URI; ours at the Request-URI */
	snprintf(ruri, GW_UA_MAX_URI, "%s", s->incoming ? s->from : s->ruri);
	cm_slice c = hdr_line(s->hdrs, "Conversation-ID");
	snprintf(conv, GW_UA_MAX_URI, "%.*s", (int)c.len, c.p ? c.p : "");
	return 0;
}

void gw_ua_set_pager(struct gw_ua_shared *sh, gw_ua_pager_fn fn, void *arg)
{
	sh->pager = fn;
	sh->pager_arg = arg;
}

int gw_ua_pager_take(struct gw_ua *ua, struct sip_txn *st, const struct sip_msg *req,
		     const struct sip_dest *src)
{
	struct sip_uri ru;
	if (!ua->sh->pager || sip_uri_parse(req->ruri, &ru) < 0 || !gw_ua_is_self(ua, &ru))
		return -1;
	ua->sh->pager(ua->sh->pager_arg, ua, st, req, src);
	return 0;
}

int gw_ua_may_answer_to(struct gw_ua *ua, const char *uri, const struct sip_dest *src)
{
	struct sip_dest d;
	if (ua->sh->proxy[0])
		return 1;
	if (dest_of_uri(ua, sl(uri), &d) < 0 || d.addrlen != src->addrlen)
		return 0;
	return !memcmp(&d.addr, &src->addr, d.addrlen);
}

int gw_ua_options(struct gw_ua *ua, const char *to,
		  void (*done)(void *arg, int status, const struct sip_msg *resp), void *arg)
{
	return out_request(ua, "OPTIONS", NULL, to, NULL, NULL, 0, NULL, NULL, done, arg);
}

int gw_ua_report_failure(struct gw_ua *ua, const char *id, const char *message_id, uint64_t len,
			 int failure_report, int sip_code)
{
	struct gw_sess *s = sess_find(ua, sl(id));
	if (!s || !s->ms)
		return -ENOENT;
	int code = sip_code == 408 || sip_code == 480 || sip_code == 503 || sip_code == 504 ? 408
		   : sip_code == 413 || sip_code == 513 ? 413 : sip_code == 415 ? 415 : 403;
	return msrp_ua_report_failure(s->ms, message_id, len, (enum msrp_report)failure_report,
				      code);
}

int gw_ua_forward(struct gw_ua *ua, const struct sip_msg *req, void (*done)(void *arg, int status),
		  void *arg)
{
	struct sip_dest d;
	uint32_t mf = 70;
	cm_slice mfv = sip_msg_hdr(req, SIP_H_MAX_FORWARDS);
	if (mfv.p && sip_uint_parse(mfv, 255, &mf) < 0)
		mf = 70;
	if (!mf)
		return -ELOOP;
	int rc = dest_of_uri(ua, ua->sh->proxy[0] ? sl(ua->sh->proxy) : req->ruri, &d);
	if (rc < 0)
		return rc;
	char via[512], host[300], bid[GW_UA_ID_LEN + 1], mfs[8];
	if (gw_ua_mint(ua->index, bid) < 0)
		return -EIO;
	local_host(ua, &d, 0, 1, host, sizeof(host));
	snprintf(via, sizeof(via), "SIP/2.0/%s %s:%d;branch=z9hG4bK%s.p%08x;rport",
		 kind_via(d.kind), host, local_port(ua, d.kind), bid, rand32());
	snprintf(mfs, sizeof(mfs), "%u", mf - 1);
	struct sip_hdr h[SIP_MAX_HEADERS + 2];
	unsigned n = 0;
	h[n++] = (struct sip_hdr){ SIP_H_VIA, CM_SLICE_NULL, sl(via) };
	if (!mfv.p)
		h[n++] = (struct sip_hdr){ SIP_H_MAX_FORWARDS, CM_SLICE_NULL, sl(mfs) };
	for (unsigned i = 0; i < req->nhdrs && n < SIP_MAX_HEADERS + 1; i++) {
		if (req->hdrs[i].id == SIP_H_CONTENT_LENGTH)
			continue; /* written again from the body */
		h[n] = req->hdrs[i];
		if (h[n].id == SIP_H_MAX_FORWARDS)
			h[n].value = sl(mfs);
		n++;
	}
	ssize_t wl = sip_write_request(ua->wbuf, sizeof(ua->wbuf), req->method_name, req->ruri, h,
				       n, req->body);
	if (wl < 0)
		return (int)wl;
	return msgreq_send(ua, (size_t)wl, &d, done, NULL, arg);
}

unsigned gw_ua_index(const struct gw_ua *ua)
{
	return ua->index;
}

eng_worker *gw_ua_worker(const struct gw_ua *ua)
{
	return ua->w;
}

int gw_ua_is_self(const struct gw_ua *ua, const struct sip_uri *u)
{
	const struct gw_ua_shared *sh = ua->sh;
	int port = u->port ? u->port : 5060, ours = 0;
	for (int i = 0; i < 3; i++)
		ours |= atomic_load(&((struct gw_ua_shared *)sh)->ports[i]) == port;
	if (!ours)
		return 0;
	char host[300];
	size_t hl = u->host.len;
	const char *hp = u->host.p;
	if (hl > 2 && hp[0] == '[') {
		hp++;
		hl -= 2;
	}
	if (hl >= sizeof(host))
		return 0;
	memcpy(host, hp, hl);
	host[hl] = '\0';
	if (sh->advertise[0] && !strncasecmp(sh->advertise, host, hl) &&
	    (!sh->advertise[hl] || sh->advertise[hl] == ':'))
		return 1;
	for (size_t i = 0; i < sh->listen.n; i++) {
		const char *h = sh->listen.v[i] + 4, *c = strrchr(h, ':');
		size_t l = c ? (size_t)(c - h) : strlen(h);
		if (l > 2 && h[0] == '[') {
			h++;
			l -= 2;
		}
		if ((l == hl && !strncasecmp(h, host, hl)) || !strncmp(h, "0.0.0.0", l) ||
		    (l == 1 && *h == '*') || !strncmp(h, "::", l))
			return 1; /* a wildcard listener: any address of ours (close enough) */
	}
	return 0;
}

int gw_ua_add_hooks(struct gw_ua_shared *sh, const struct gw_ua_hooks *h, void *arg)
{
	if (sh->nhooks == GW_UA_MAX_HOOKS)
		return -ENOSPC;
	sh->hooks[sh->nhooks] = *h;
	sh->hooks_arg[sh->nhooks++] = arg;
	return 0;
}

void gw_ua_set_handoff(struct gw_ua_shared *sh, gw_ua_handoff_fn fn)
{
	sh->handoff = fn;
}

void gw_ua_set_takeover(struct gw_ua_shared *sh, gw_ua_takeover_fn fn)
{
	sh->takeover = fn;
}

void gw_ua_set_forward(struct gw_ua_shared *sh, gw_ua_forward_fn fwd,
		       gw_ua_remote_send_fn send)
{
	sh->forward = fwd;
	sh->remote_send = send;
}

int gw_ua_take_forwarded(struct gw_ua *ua, const char *raw, size_t len,
			 const struct sip_dest *src, uint32_t ref)
{
	struct sip_msg *m = malloc(sizeof(*m));
	struct sip_dest d = *src;
	int rc = -EINVAL;
	d.kind = GW_UA_TP_REMOTE | (src->kind & SIP_TP_KIND_MASK); /* reliable as it came */
	d.conn_id = ref;
	d.worker = (uint16_t)ua->index;
	if (m && sip_parse_msg(&ua->pcfg, raw, len, m) == 0 && m->kind == SIP_KIND_REQUEST) {
		ua->st.sip_in++;
		ua->st.sip_remote_in++;
		deliver(ua, raw, len, m, &d);
		rc = 0;
	}
	free(m);
	return rc;
}

int gw_ua_send_to(struct gw_ua *ua, const char *raw, size_t len, const struct sip_dest *dst)
{
	return tp_send(ua, raw, len, dst, sip_dest_reliable(dst));
}

/* A new outgoing session, reporting to <o> (NULL: events); *<made> (may be NULL) gets it. */
static int create(struct gw_ua *ua, const struct gw_ua_new *n, const struct gw_ua_owner *own,
		  void *owner_arg, char *msg, size_t len, struct gw_sess **made)
{
	if (!ua->sh->enabled || !ua->mua)
		return fail_msg(msg, len, 503, "the user agent is off (ua.enabled)");
	char hdrs[GW_UA_MAX_HDRS] = "";
	size_t o = 0;
	for (unsigned i = 0; i < n->nhdrs; i++) {
		int w = snprintf(hdrs + o, sizeof(hdrs) - o, "%s: %s\n", n->hdr_names[i],
				 n->hdr_values[i]);
		if (w < 0 || (size_t)w >= sizeof(hdrs) - o)
			return fail_msg(msg, len, 400, "field 'headers' is too large");
		o += (size_t)w;
	}
	/* OMA CPM / RCC.07: a chat session names its conversation and this contribution */
	static const char *const ids[] = { "Conversation-ID", "Contribution-ID" };
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		char u[37];
		if (has_hdr_line(hdrs, ids[i]))
			continue;
		gw_ua_uuid(u);
		int w = snprintf(hdrs + o, sizeof(hdrs) - o, "%s: %s\n", ids[i], u);
		if (w < 0 || (size_t)w >= sizeof(hdrs) - o)
			return fail_msg(msg, len, 400, "field 'headers' is too large");
		o += (size_t)w;
	}
	const char *ruri = n->ruri ? n->ruri : n->to;
	const char *next = ua->sh->proxy[0] ? ua->sh->proxy : ruri;
	struct sip_resolve_plan plan;
	int rc = sip_resolve_plan(sl(next), 0, &plan);
	if (rc < 0)
		return fail_msg(msg, len, 400, rc == -EPROTONOSUPPORT
				? "field 'ruri': a transport rcsgw does not speak"
				: "field 'ruri' (or sip.outbound_proxy) cannot be routed");
	int code = 0;
	struct gw_sess *s = sess_new(ua, n->id, n->from, n->to, ruri, hdrs, &code);
	if (!s)
		return fail_msg(msg, len, code, code == 409 ? "session id in use"
						    : "too many sessions (ua.max_sessions)");
	ua->st.sessions_out++;
	s->owner = own;
	s->owner_arg = owner_arg;
	s->sendonly = n->sendonly != 0;
	if (n->sdp_attrs && !(s->ft_attrs = strdup(n->sdp_attrs))) {
		sess_over(s, ST_FAILED, "local", "not_sent", 503);
		return fail_msg(msg, len, 503, "out of memory");
	}
	if (n->call_sdp) { /* a call: the offer is the caller's, as it came */
		s->call = 1;
		if (!(s->our_sdp = dup_slice((cm_slice){ n->call_sdp, n->call_sdp_len }))) {
			sess_over(s, ST_FAILED, "local", "not_sent", 503);
			return fail_msg(msg, len, 503, "out of memory");
		}
		s->our_sdp_len = n->call_sdp_len;
	}
	if (made)
		*made = s;
	if (n->ntypes) {
		join_types(s->types, sizeof(s->types), n->types, n->ntypes); /* checked before */
	} else {
		snprintf(s->types, sizeof(s->types), "%s", ua->sh->types);
	}
	s->state = ST_CONNECTING;
	eng_timer_init(&s->timer, invite_timeout, s);
	eng_timer_arm(ua->w, &s->timer, ua->sh->invite_ms);
	struct sip_target t[GW_TARGETS];
	rc = sip_resolve(ua->dns, &s->rr, sl(next), 0, resolved, s, t, GW_TARGETS);
	if (rc > 0)
		resolved(s, 0, t, (unsigned)rc);
	else if (rc < 0)
		sess_over(s, ST_FAILED, "local", "unresolvable", 503);
	/* else: the INVITE goes once the look-up is done */
	return 0; /* the session exists (maybe failed already: its owner hears why) */
}

int gw_ua_create(struct gw_ua *ua, const struct gw_ua_new *n, json_t **out, char *msg,
		 size_t len)
{
	struct gw_sess *s = NULL;
	int rc = create(ua, n, NULL, NULL, msg, len, &s);
	if (rc == 0) /* it may have failed already: the application sees why */
		*out = sess_json(s);
	return rc;
}

int gw_ua_create_owned(struct gw_ua *ua, const struct gw_ua_new *n, const struct gw_ua_owner *o,
		       void *owner_arg, char *msg, size_t len)
{
	return create(ua, n, o, owner_arg, msg, len, NULL);
}

int gw_ua_ident_ok(const char *s)
{
	size_t n = strlen(s);
	if (n < 4 || n > MSRP_ID_MSGID_LEN)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || ((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'z') ||
		      (i && strchr(".-+%=", s[i]))))
			return 0;
	return 1;
}

static int send_now(struct gw_ua *ua, struct gw_sess *s, struct gw_ua_msg *m, int wrap,
		    int resend, char *msg, size_t len);

int gw_ua_send(struct gw_ua *ua, const char *id, struct gw_ua_msg *m, char *msg, size_t len)
{
	struct gw_sess *s = sess_find(ua, sl(id));
	if (!s)
		return fail_msg(msg, len, 404, "no such session");
	if (s->call)
		return fail_msg(msg, len, 409, "a call carries no messages");
	if (s->state == ST_ENDING || s->state == ST_ENDED || s->state == ST_FAILED)
		return fail_msg(msg, len, 409, "the session is over");
	if (s->handing)
		return fail_msg(msg, len, 503, "the session is moving to another node: try again");
	if (m->message_id[0] && !gw_ua_ident_ok(m->message_id))
		return fail_msg(msg, len, 400, "field 'message_id' is not an MSRP ident (4 to 24 "
				"letters, digits and . - + % =)");
	if (!m->message_id[0] && msrp_id_message(m->message_id, sizeof(m->message_id)) < 0)
		return fail_msg(msg, len, 503, "no randomness");
	int want = m->dn || m->subject || m->nextra ? 1 : m->cpim;
	if (want == 1 && m->cpim == 0)
		return fail_msg(msg, len, 400, "field 'cpim' is false but the message needs CPIM "
				"(disposition_notification or CPIM headers)");
	int wrap = wrap_choice(s, m->content_type, want);
	if (wrap == -415)
		return fail_msg(msg, len, 415, want == 1 ? "the peer does not take this content "
				"type in message/cpim (its accept-types / accept-wrapped-types)"
				: "the peer does not accept that content type");
	char *wrapped = NULL;
	struct gw_ua_msg wm;
	if (wrap == 1) {
		long wl = wrap_msg(s, m, &wrapped);
		if (wl < 0)
			return fail_msg(msg, len, wl == -ENOMEM ? 503 : 400,
					"the CPIM envelope cannot hold these values (URIs, "
					"'cpim' headers)");
		wm = *m;
		wm.content_type = RCS_CT_CPIM;
		wm.body = wrapped;
		wm.len = (size_t)wl;
		m = &wm;
	}
	/* kept first: its confirmation may come within send_now() (Failure-Report: no) */
	/* the API's (202) and the gateway's (SIP 202): the owners named in the records */
	int keep = ua->repl.kept && ua->repl.done && (!s->owner || s->owner->name);
	if (keep)
		ua->repl.kept(ua->repl.arg, s->id, m);
	int rc = send_now(ua, s, m, wrap, 0, msg, len);
	if (rc == 0 && wrap == 1)
		ua->st.cpim_sent++;
	if (rc && keep) /* refused: nothing to keep */
		ua->repl.done(ua->repl.arg, s->id, m->message_id);
	free(wrapped);
	return rc;
}

int gw_ua_resend(struct gw_ua *ua, const char *id, const char *ctype, const void *body,
		 size_t len, int sr, int fr, const char *message_id, char *msg, size_t mlen)
{
	struct gw_sess *s = sess_find(ua, sl(id));
	if (!s)
		return fail_msg(msg, mlen, 404, "no such session");
	if (s->state == ST_ENDING || s->state == ST_ENDED || s->state == ST_FAILED)
		return fail_msg(msg, mlen, 409, "the session is over");
	if (!ctype || !*ctype || !message_id || !gw_ua_ident_ok(message_id) ||
	    strlen(message_id) > MSRP_ID_MSGID_LEN)
		return fail_msg(msg, mlen, 400, "no content type or a bad Message-ID");
	struct gw_ua_msg m = { .content_type = ctype, .body = body, .len = len,
			       .success_report = sr, .failure_report = fr == 2 ? 1 : fr,
			       .failure_partial = fr == 2 };
	memcpy(m.message_id, message_id, strlen(message_id) + 1);
	/* kept as it was accepted: one whose envelope was not decided yet (the peer had not
	 * answered) goes in CPIM if the peer takes it only so, as the first node would have */
	char *w = NULL;
	if (strcasecmp(ctype, RCS_CT_CPIM) && wrap_choice(s, ctype, -1) == 1) {
		long wl = wrap_msg(s, &m, &w);
		if (wl < 0)
			return fail_msg(msg, mlen, 503, "the CPIM envelope cannot be made");
		m.content_type = RCS_CT_CPIM;
		m.body = w;
		m.len = (size_t)wl;
	}
	int rc = send_now(ua, s, &m, 0, 1, msg, mlen);
	if (rc == 0 && w)
		ua->st.cpim_sent++;
	free(w);
	return rc;
}

/* gw_ua_send() once the envelope is decided: <wrap> -1 when it is not yet. <resend>: a
 * message a dead node accepted, sent again after a takeover — already accepted, so not
 * refused for ua.max_queued while the new MSRP connection binds. */
static int send_now(struct gw_ua *ua, struct gw_sess *s, struct gw_ua_msg *m, int wrap,
		    int resend, char *msg, size_t len)
{
	if (s->peer_sdp) {
		switch (sdp_msrp_may_send(&s->c->peer, sl(m->content_type), m->len)) {
		case SDP_MSRP_SEND_TYPE:
			return fail_msg(msg, len, 415, "the peer does not accept that content type");
		case SDP_MSRP_SEND_SIZE:
			return fail_msg(msg, len, 413, "larger than the peer's a=max-size");
		case SDP_MSRP_SEND_DIR:
			return fail_msg(msg, len, 409, "the peer does not receive (sendonly/inactive)");
		default:
			break;
		}
	}
	int backlog = s->ms ? msrp_ua_backlog(s->ms) : 0;
	if (backlog == -EBUSY)
		return fail_msg(msg, len, 503, "the peer does not keep up: its MSRP connection is "
				"full, try again later");
	if (s->ms && !resend && !msrp_ua_ready(s->ms) &&
	    (uint32_t)backlog >= ua->sh->max_queued) {
		ua->st.limited_queued++;
		return fail_msg(msg, len, 409, "the session is not bound yet and its queue is full "
				"(ua.max_queued)");
	}
	if (s->ms) {
		int rc = msrp_ua_send_from(s->ms, sl(m->content_type), m->body, m->len, m->skip,
					   rep_of(m->success_report, 0),
					   rep_of(m->failure_report, m->failure_partial),
					   m->message_id);
		if (rc < 0)
			return fail_msg(msg, len, rc == -EPIPE ? 409 : 503, "not sent");
		s->msgs_out++;
		ua->st.msgs_sent++;
		return 0;
	}
	if (s->nq >= ua->sh->max_queued) {
		ua->st.limited_queued++;
		return fail_msg(msg, len, 409, "the session is not established and its queue is full "
				"(ua.max_queued)");
	}
	size_t cl = strlen(m->content_type) + 1;
	struct gw_queued *q = malloc(sizeof(*q) + m->len + cl);
	if (!q)
		return fail_msg(msg, len, 503, "out of memory");
	q->next = NULL;
	q->wrap = wrap;
	q->sr = m->success_report;
	q->fr = m->failure_partial ? 2 : m->failure_report;
	q->skip = m->skip;
	memcpy(q->msgid, m->message_id, sizeof(q->msgid));
	q->len = m->len;
	if (m->len)
		memcpy(q->body, m->body, m->len);
	q->ctype = q->body + m->len;
	memcpy(q->ctype, m->content_type, cl);
	*s->q_tail = q;
	s->q_tail = &q->next;
	s->nq++;
	return 0;
}

int gw_ua_displayed(struct gw_ua *ua, const char *id, const char *message_id,
		    char notification_id[MSRP_ID_MSGID_LEN + 1], char *msg, size_t len)
{
	struct gw_sess *s = sess_find(ua, sl(id));
	if (!s)
		return fail_msg(msg, len, 404, "no such session");
	struct gw_disp *d = s->disp;
	while (d && strcmp(d->id, message_id))
		d = d->next;
	if (!d)
		return fail_msg(msg, len, 404, "no message with that id waits for a display "
				"notification in this session (it asked for none, or is forgotten: "
				"rcs.max_display_pending)");
	if (d->sent)
		return fail_msg(msg, len, 409, "its display notification was sent already");
	if (s->state != ST_ESTABLISHED || !s->ms)
		return fail_msg(msg, len, 409, "the session is not established");
	int rc = send_imdn(s, sl(d->id), sl(d->dt), sl(d->us), sl(d->peer), RCS_IMDN_DISPLAY,
			   RCS_IMDN_DISPLAYED, notification_id);
	if (rc == -EPROTO)
		return fail_msg(msg, len, 415, "the peer does not take message/imdn+xml in "
				"message/cpim");
	if (rc < 0)
		return fail_msg(msg, len, rc == -EPIPE ? 409 : 503, "not sent");
	d->sent = 1;
	return 0;
}

int gw_ua_composing(struct gw_ua *ua, const char *id, const struct rcs_composing *c,
		    char message_id[MSRP_ID_MSGID_LEN + 1], char *msg, size_t len)
{
	struct gw_sess *s = sess_find(ua, sl(id));
	if (!s)
		return fail_msg(msg, len, 404, "no such session");
	if (s->state != ST_ESTABLISHED || !s->ms)
		return fail_msg(msg, len, 409, "the session is not established");
	int wrap = wrap_choice(s, RCS_CT_COMPOSING, -1);
	if (wrap < 0)
		return fail_msg(msg, len, 415, "the peer takes application/im-iscomposing+xml "
				"neither as it is nor in message/cpim");
	if (msrp_id_message(message_id, MSRP_ID_MSGID_LEN + 1) < 0)
		return fail_msg(msg, len, 503, "no randomness");
	char *body;
	long bl = rcs_msg_composing(c, wrap, sl(local_uri(s)), sl(peer_uri(s)), sl(message_id),
				    (long long)cm_wall_ms(), &body);
	if (bl < 0)
		return fail_msg(msg, len, bl == -ENOMEM ? 503 : 400,
				"the indication cannot be written (field 'content_type')");
	/* an indication is stale by the time a report could say anything: none asked */
	int rc = msrp_ua_send(s->ms, wrap ? CM_SLICE_LIT(RCS_CT_CPIM) : CM_SLICE_LIT(RCS_CT_COMPOSING),
			      body, (size_t)bl, MSRP_REPORT_NO, MSRP_REPORT_NO, message_id);
	free(body);
	if (rc < 0)
		return fail_msg(msg, len, rc == -EPIPE ? 409 : 503, "not sent");
	ua->st.composing_sent++;
	return 0;
}

int gw_ua_end(struct gw_ua *ua, const char *id, char *msg, size_t len)
{
	struct gw_sess *s = sess_find(ua, sl(id));
	if (!s)
		return fail_msg(msg, len, 404, "no such session");
	if (s->handing)
		return fail_msg(msg, len, 503, "the session is moving to another node: try again");
	switch (s->state) {
	case ST_ENDING:
	case ST_ENDED:
	case ST_FAILED:
		return fail_msg(msg, len, 409, "the session is already over");
	default:
		break;
	}
	if (s->incoming && s->inv) {
		/* not answered yet: declined */
		final_answer(s, 603, NULL, 0, CM_SLICE_NULL);
		sess_over(s, ST_FAILED, "local", "declined", 603);
		return 0;
	}
	if (!s->incoming && s->inv) {
		s->state = ST_ENDING;
		s->reason = "cancelled";
		if (s->got_provisional)
			send_cancel(s);
		else
			s->cancel_wanted = 1;
		return 0;
	}
	if (s->have_dlg) {
		ms_close(s);
		s->state = ST_ENDING;
		s->reason = "api";
		if (send_bye(s) < 0) /* nothing will answer: over now */
			sess_over(s, ST_ENDED, "local", "api", 0);
		return 0;
	}
	sess_over(s, ST_ENDED, "local", "api", 0);
	return 0;
}

int gw_ua_answer(struct gw_ua *ua, const char *id, const char *const *types, unsigned ntypes,
		 char *msg, size_t len)
{
	struct gw_sess *s = sess_find(ua, sl(id));
	if (!s)
		return fail_msg(msg, len, 404, "no such session");
	if (!s->incoming || !s->inv || s->state != ST_RINGING || s->call)
		return fail_msg(msg, len, 409, "not an incoming session waiting for an answer");
	if (ntypes && join_types(s->types, sizeof(s->types), types, ntypes) < 0)
		return fail_msg(msg, len, 400, "field 'accept_types' is too long");
	int code = do_answer(s);
	if (code == 415)
		return fail_msg(msg, len, 415, "no accept-type in common with the offer: the call "
				"got 415");
	if (code)
		return fail_msg(msg, len, 409, "the offer could not be answered: the session failed");
	return 0;
}

int gw_ua_reject(struct gw_ua *ua, const char *id, int code, char *msg, size_t len)
{
	struct gw_sess *s = sess_find(ua, sl(id));
	if (!s)
		return fail_msg(msg, len, 404, "no such session");
	if (!s->incoming || !s->inv || s->state != ST_RINGING)
		return fail_msg(msg, len, 409, "not an incoming session waiting for an answer");
	final_answer(s, code, NULL, 0, CM_SLICE_NULL);
	sess_over(s, ST_FAILED, "local", "rejected", code);
	return 0;
}

json_t *gw_ua_session_json(struct gw_ua *ua, const char *id)
{
	struct gw_sess *s = sess_find(ua, sl(id));
	return s ? sess_json(s) : NULL;
}

static int by_id(const void *a, const void *b)
{
	return strcmp((*(struct gw_sess *const *)a)->id, (*(struct gw_sess *const *)b)->id);
}

unsigned gw_ua_list(struct gw_ua *ua, const char *state, const char *after, unsigned max,
		    json_t *arr)
{
	struct gw_sess **v = malloc((ua->nsess + 1) * sizeof(*v));
	unsigned n = 0, more = 0;
	if (!v)
		return 0;
	for (uint32_t i = 0; i <= ua->sessions.mask; i++)
		for (struct msrp_sess *e = ua->sessions.buckets[i]; e; e = e->hnext) {
			struct gw_sess *s = (struct gw_sess *)e;
			if ((!state || !strcmp(state, gw_ua_state_names[s->state])) &&
			    (!after || strcmp(s->id, after) > 0))
				v[n++] = s;
		}
	qsort(v, n, sizeof(*v), by_id);
	for (unsigned i = 0; i < n; i++) {
		if (i >= max) {
			more = n - i;
			break;
		}
		json_array_append_new(arr, sess_json(v[i]));
	}
	free(v);
	return more;
}

/* ---- calls (signalling only, the contact centre's) ---------------------------------------- */

int gw_ua_is_call(struct gw_ua *ua, const char *id)
{
	struct gw_sess *s = sess_find(ua, sl(id));
	return s && s->call;
}

int gw_ua_provisional(struct gw_ua *ua, const char *id, int code, const char *reason,
		      const char *alert_info)
{
	struct gw_sess *s = sess_find(ua, sl(id));
	if (!s || !s->incoming || !s->inv || s->state != ST_RINGING || code <= 100 || code > 199)
		return -ENOENT;
	char contact[CONTACT_MAX], alert[GW_UA_MAX_URI + 4];
	struct sip_hdr h[2] = {
		{ SIP_H_CONTACT, CM_SLICE_NULL, contact_for(s, &s->dest, contact, sizeof(contact)) },
		{ SIP_H_OTHER, CM_SLICE_LIT("Alert-Info"), CM_SLICE_NULL },
	};
	unsigned n = 1;
	if (alert_info && *alert_info && strlen(alert_info) < GW_UA_MAX_URI) {
		snprintf(alert, sizeof(alert), "<%s>", alert_info);
		h[n++].value = sl(alert);
	}
	int rc = sip_txn_respond(s->inv, code, reason ? sl(reason) : CM_SLICE_NULL, sl(s->id), h,
				 n, CM_SLICE_NULL);
	if (rc < 0) { /* its transaction is gone with the failed send: so is the call */
		s->inv = NULL;
		sess_over(s, ST_FAILED, "local", "transport_error", 503);
	}
	return rc;
}

/* An answered call whose ACK never came over a reliable transport (§13.3.1.4: UDP's is
 * rtx_fire's): BYE. */
static void call_no_ack(eng_timer *t)
{
	struct gw_sess *s = t->arg;
	if (s->acked || s->state != ST_CONNECTING)
		return;
	CM_INFO("ua %s: no ACK for our 2xx: BYE", s->id);
	send_bye(s);
	sess_over(s, ST_ENDED, "local", "no_ack", 408);
}

int gw_ua_answer_sdp(struct gw_ua *ua, const char *id, const void *sdp, size_t sdp_len,
		     char *msg, size_t len)
{
	struct gw_sess *s = sess_find(ua, sl(id));
	if (!s)
		return fail_msg(msg, len, 404, "no such session");
	if (!s->call || !s->incoming || !s->inv || s->state != ST_RINGING)
		return fail_msg(msg, len, 409, "not a call waiting for an answer");
	char *c = dup_slice((cm_slice){ sdp, sdp_len });
	if (!c)
		return fail_msg(msg, len, 503, "out of memory");
	free(s->our_sdp);
	s->our_sdp = c;
	s->our_sdp_len = sdp_len;
	if (answer_2xx(s) < 0)
		return fail_msg(msg, len, 503, "the answer could not be sent");
	rtx_start(s); /* (up at the ACK) */
	if (s->dest.kind != SIP_TP_UDP) {
		eng_timer_init(&s->timer, call_no_ack, s);
		eng_timer_arm(ua->w, &s->timer, 64u * ua->sh->txn.t1_ms);
	}
	return 0;
}

int gw_ua_peer_sdp(struct gw_ua *ua, const char *id, const char **sdp, size_t *sdp_len)
{
	struct gw_sess *s = sess_find(ua, sl(id));
	if (!s || !s->peer_sdp)
		return -ENOENT;
	*sdp = s->peer_sdp;
	*sdp_len = s->peer_sdp_len;
	return 0;
}

/* gw_pager.c — RCS standalone messaging: pager mode and large-message mode (gw_pager.h). */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway/gw_pager.h"
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/hash.h>

#include "gateway/gw_files.h"
#include "rcs/rcs_filesel.h"
#include "rcs/rcs_msg.h"
#include "sip/sip_hdr.h"
#include "sip/sip_parse.h"
#include "sip/sip_txn.h"

/* OMA CPM ICSIs (RCC.07 §3.2): what the addressee's device must have */
#define ICSI_MSG "*;+g.3gpp.icsi-ref=\"urn%3Aurn-7%3A3gpp-service.ims.icsi.oma.cpm.msg\""
#define ICSI_LARGE "*;+g.3gpp.icsi-ref=\"urn%3Aurn-7%3A3gpp-service.ims.icsi.oma.cpm.largemsg\""
#define ICSI_FT "*;+g.3gpp.icsi-ref=\"urn%3Aurn-7%3A3gpp-service.ims.icsi.oma.cpm.filetransfer\""
#define LARGE_GUARD_MS 60000       /* a large message's session with no outcome by then ends */
#define FILE_GUARD_MS 600000       /* the same for a file transfer */

struct large_out;

struct gw_pager_shared {
	gw_publish_fn publish;
	int dn_auto;
	unsigned nworkers;
	struct large_out **large;      /* [worker]: large messages on their way, each list its
					* worker's alone (freed here if the workers stop first) */
	struct {
		_Atomic uint64_t sent_pager, sent_large, delivered, failed, received, imdn_sent;
		_Atomic uint64_t files_started, files_sent, files_failed;
		_Atomic uint64_t files_resumed, files_parts_kept;
	} st;
};

static cm_slice sl(const char *s)
{
	return (cm_slice){ s, strlen(s) };
}

static uint64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

#define COUNT(sh, f) atomic_fetch_add_explicit(&(sh)->st.f, 1, memory_order_relaxed)

/* Publishes <ev> (taken) as <type>. */
static void publish(struct gw_pager_shared *sh, const char *type, json_t *ev)
{
	if (!ev)
		return;
	json_object_set_new(ev, "type", json_string(type));
	if (sh->publish)
		sh->publish(ev);
	else
		json_decref(ev);
}

/* The outcome of a message we sent. */
static void outcome(struct gw_pager_shared *sh, const char *message_id, const char *mode,
		    const char *to, int ok, const char *reason, const char *code_name, int code)
{
	json_t *ev = json_pack("{s:s, s:s, s:s}", "message_id", message_id, "mode", mode, "to", to);
	if (!ev)
		return;
	if (code_name)
		json_object_set_new(ev, code_name, json_integer(code));
	if (!ok)
		json_object_set_new(ev, "reason", json_string(reason));
	if (ok)
		COUNT(sh, delivered);
	else
		COUNT(sh, failed);
	publish(sh, ok ? "message.sent" : "message.failed", ev);
}

/* ---- pager mode ------------------------------------------------------------------------------ */

struct pager_out {
	struct gw_pager_shared *sh;
	char id[MSRP_ID_MSGID_LEN + 1];
	char to[];
};

static void pager_done(void *arg, int status, const struct sip_msg *resp)
{
	struct pager_out *p = arg;
	(void)resp;
	outcome(p->sh, p->id, "pager", p->to, status >= 200 && status < 300, "sip", "sip_code",
		status);
	free(p);
}

/* The CPM headers of a standalone message: its ICSI, a Conversation-ID, a Contribution-ID. */
static int cpm_headers(const char *icsi, const char *conv, char *out, size_t cap)
{
	char c1[37], c2[37];
	gw_ua_uuid(c1);
	gw_ua_uuid(c2);
	int n = snprintf(out, cap, "Accept-Contact: %s\nConversation-ID: %s\nContribution-ID: %s\n",
			 icsi, conv ? conv : c1, c2);
	return n > 0 && (size_t)n < cap ? 0 : -ENOSPC;
}

/* ---- sessions that carry one message: large-message mode, file transfer -------------------------- */

struct large_out {
	struct gw_pager_shared *sh;
	struct gw_ua *ua;
	struct large_out *next, **prev; /* sh->large[its worker] */
	char sid[GW_UA_ID_LEN + 1];
	char id[MSRP_ID_MSGID_LEN + 1];
	int creating, over_early, reported;
	eng_timer guard;
	/* a file transfer (RFC 5547): the chat session it is for, else "" (a large message) */
	char chat[GW_UA_ID_LEN + 1];
	char tid[MSRP_ID_MSGID_LEN + 1];
	uint64_t size;
	char *name;                    /* in to[] after the URI */
	/* a file: its bytes and what a resumption needs (kept in the store if it breaks) */
	char *fdata;
	char *meta;                    /* chat, local, peer, ruri, conv, name, type, disposition */
	uint64_t acked;                /* bytes the peer took (its 200s) */
	uint64_t resumed;              /* a resumption: the bytes it started after */
	int kept;                      /* it broke and was kept for a resumption */
	char to[];
};

static void l_free(struct large_out *l)
{
	free(l->fdata);
	free(l->meta);
	free(l);
}

static void large_add(struct large_out *l)
{
	struct large_out **head = &l->sh->large[gw_ua_index(l->ua)];
	l->next = *head;
	if (l->next)
		l->next->prev = &l->next;
	l->prev = head;
	*head = l;
}

static void large_del(struct large_out *l)
{
	if (!l->prev)
		return;
	*l->prev = l->next;
	if (l->next)
		l->next->prev = l->prev;
	l->prev = NULL;
}

/* The outcome of <l>: message.sent/.failed for a large message, file.sent/.failed for a file. */
static void l_outcome(struct large_out *l, int ok, const char *reason, const char *code_name,
		      int code)
{
	if (!l->chat[0]) {
		outcome(l->sh, l->id, "large", l->to, ok, reason, code_name, code);
		return;
	}
	json_t *ev = json_pack("{s:s, s:s, s:s, s:s, s:I, s:i}", "session_id", l->chat,
			       "transfer_session_id", l->sid, "transfer_id", l->tid, "name",
			       l->name, "size", (json_int_t)l->size, code_name, code);
	if (ev && !ok) {
		json_object_set_new(ev, "reason", json_string(reason));
		json_object_set_new(ev, "bytes_acked", json_integer((json_int_t)l->acked));
		json_object_set_new(ev, "resumable", json_boolean(l->kept));
	}
	if (ev && l->resumed)
		json_object_set_new(ev, "resumed_bytes", json_integer((json_int_t)l->resumed));
	if (ok)
		COUNT(l->sh, files_sent);
	else
		COUNT(l->sh, files_failed);
	publish(l->sh, ok ? "file.sent" : "file.failed", ev);
}

/* A file transfer that failed (it broke, never came up, or the peer refused it): the file
 * is kept with how far the peer took it, so that the application can resume it (POST
 * .../files/{transfer_id}/resume). */
static void l_keep(struct large_out *l)
{
	if (!l->fdata || !l->meta)
		return;
	char key[MSRP_ID_MSGID_LEN + 8];
	struct gw_files *fs = gw_ua_files(l->ua);
	snprintf(key, sizeof(key), "out|%s", l->tid);
	uint64_t have = l->acked < l->size ? l->acked : l->size - 1;
	if (!fs)
		free(l->fdata);
	else if (gw_files_keep(fs, key, l->meta, l->fdata, l->size, have, l->size) == 0) {
		l->kept = 1;
		COUNT(l->sh, files_parts_kept);
	}
	l->fdata = NULL; /* taken */
}

static void l_up(void *arg, const char *id)
{
	(void)arg;
	(void)id;
}

static void l_over(void *arg, const char *id, int failed, int sip_code, const char *reason)
{
	struct large_out *l = arg;
	(void)id;
	(void)reason;
	eng_timer_cancel(&l->guard);
	if (failed && l->resumed && sip_code >= 400 && sip_code != 408)
		l->acked = 0; /* the peer refused the resumption (it has nothing): all again next */
	if (!l->reported)
		l_keep(l);
	if (!l->reported)
		l_outcome(l, 0, sip_code ? "sip" : "no_report", "sip_code", sip_code);
	if (l->creating) { /* inside gw_ua_create_owned: one_out() frees it */
		l->over_early = 1;
		return;
	}
	large_del(l);
	l_free(l);
}

/* How far the peer has the file: up to the end of the chunks taken without a gap (a chunk
 * refused or lost before a later one taken leaves the count where the gap starts). */
static void l_acked(void *arg, const char *id, const char *message_id, uint64_t start,
		    uint64_t end)
{
	struct large_out *l = arg;
	(void)id;
	if (!strcmp(message_id, l->id) && start <= l->acked + 1 && end > l->acked)
		l->acked = end;
}

static void l_message(void *arg, const char *id, const struct msrp_reasm_msg *m)
{
	(void)arg;
	(void)id;
	(void)m; /* such a session carries one message, ours */
}

static void l_report(void *arg, const char *id, const char *message_id, int status,
		     const struct msrp_range *range)
{
	struct large_out *l = arg;
	char msg[128];
	if (strcmp(message_id, l->id) || l->reported)
		return;
	if (status == 200 && range && range->end >= 0 && range->total >= 0 &&
	    range->end < range->total)
		return; /* a success REPORT for a part (RFC 4975 §7.1.2): the whole is to come */
	l->reported = 1;
	if (status != 200)
		l_keep(l);
	l_outcome(l, status == 200, "msrp", "msrp_status", status);
	gw_ua_end(l->ua, id, msg, sizeof(msg)); /* its job is done: BYE */
}

static void l_guard(eng_timer *t)
{
	struct large_out *l = t->arg;
	char msg[128];
	gw_ua_end(l->ua, l->sid, msg, sizeof(msg)); /* l_over says no_report */
}

static const struct gw_ua_owner large_owner = {
	.up = l_up, .over = l_over, .message = l_message, .report = l_report, .acked = l_acked,
};

/* A session that carries one message. */
struct one_out {
	const char *from, *to, *ruri;  /* ruri NULL: <to> */
	const char *icsi, *conv;       /* Accept-Contact, Conversation-ID (NULL: minted) */
	const char *sdp_attrs;         /* RFC 5547 lines, NULL: none */
	int sendonly;
	struct gw_ua_msg um;           /* the message (its message_id set) */
	const char *chat, *tid, *name; /* file transfers */
	const char *meta;              /* ... what a resumption needs */
	uint64_t guard_ms;
};

/* Starts the session of <q> on worker <ua>, its message queued until it is up; the outcome
 * comes as an event. 0 (also when it failed at once: the event says so), or an HTTP status
 * with <msg>; <sid> gets the session's id. */
static int one_out(struct gw_pager_shared *sh, struct gw_ua *ua, const struct one_out *q,
		   char sid[GW_UA_ID_LEN + 1], char *msg, size_t len)
{
	char hdrs[512];
	size_t tl = strlen(q->to) + 1, nl = q->name ? strlen(q->name) + 1 : 1;
	struct large_out *l = calloc(1, sizeof(*l) + tl + nl);
	if (!l)
		return snprintf(msg, len, "out of memory"), 503;
	l->sh = sh;
	l->ua = ua;
	memcpy(l->to, q->to, tl);
	l->name = l->to + tl;
	memcpy(l->name, q->name ? q->name : "", nl);
	memcpy(l->id, q->um.message_id, sizeof(l->id));
	if (q->chat) {
		snprintf(l->chat, sizeof(l->chat), "%s", q->chat);
		snprintf(l->tid, sizeof(l->tid), "%s", q->tid);
		l->size = q->um.len;
		l->resumed = l->acked = q->um.skip;
		l->fdata = malloc(q->um.len);
		l->meta = strdup(q->meta ? q->meta : "");
		if (!l->fdata || !l->meta) {
			l_free(l);
			return snprintf(msg, len, "out of memory"), 503;
		}
		memcpy(l->fdata, q->um.body, q->um.len);
	}
	eng_timer_init(&l->guard, l_guard, l);
	if (cpm_headers(q->icsi, q->conv, hdrs, sizeof(hdrs)) < 0) {
		l_free(l);
		return snprintf(msg, len, "field 'conversation_id' is too long"), 400;
	}
	/* the headers as the session's application headers: "Name: value" pairs */
	struct gw_ua_new n = { .from = q->from, .to = q->to, .ruri = q->ruri,
			       .types = { q->um.cpim == 1 ? RCS_CT_CPIM : q->um.content_type },
			       .ntypes = 1, .sdp_attrs = q->sdp_attrs, .sendonly = q->sendonly };
	char *p = hdrs;
	while (*p && n.nhdrs < 3) {
		char *e = strchr(p, '\n'), *c = strchr(p, ':');
		*e = '\0';
		*c = '\0';
		n.hdr_names[n.nhdrs] = p;
		n.hdr_values[n.nhdrs++] = c + 2;
		p = e + 1;
	}
	if (gw_ua_mint(gw_ua_index(ua), n.id) < 0) {
		l_free(l);
		return snprintf(msg, len, "no randomness"), 503;
	}
	memcpy(l->sid, n.id, sizeof(l->sid));
	memcpy(sid, n.id, GW_UA_ID_LEN + 1);
	l->creating = 1;
	int rc = gw_ua_create_owned(ua, &n, &large_owner, l, msg, len);
	l->creating = 0;
	if (rc || l->over_early) {
		l_free(l);
		if (rc == 400 || rc == 502)
			snprintf(msg, len, "the peer cannot be routed (a SIP URI whose host is an "
				 "address or a name DNS knows, or sip.outbound_proxy)");
		return rc; /* over early (0): the event says why; the API answered 202 */
	}
	large_add(l);
	struct gw_ua_msg um = q->um;
	if ((rc = gw_ua_send(ua, l->sid, &um, msg, len)) != 0) {
		char m2[64];
		l->reported = 1; /* the API tells the refusal: no event */
		gw_ua_end(ua, l->sid, m2, sizeof(m2)); /* l_over frees it */
		return rc;
	}
	eng_timer_arm(gw_ua_worker(ua), &l->guard, q->guard_ms);
	return 0;
}

static int send_large(struct gw_pager_shared *sh, struct gw_ua *ua, struct gw_pager_msg *m,
		      char *msg, size_t len)
{
	char sid[GW_UA_ID_LEN + 1];
	struct one_out q = {
		.from = m->from, .to = m->to, .icsi = ICSI_LARGE, .conv = m->conversation_id,
		.um = { .content_type = m->content_type, .body = m->body, .len = m->len,
			.success_report = 1, .failure_report = 1, .cpim = 1, .dn = m->dn,
			.subject = m->subject },
		.guard_ms = LARGE_GUARD_MS,
	};
	memcpy(q.um.message_id, m->message_id, sizeof(q.um.message_id));
	return one_out(sh, ua, &q, sid, msg, len);
}

/* The peer of a file transfer: who sends, to whom, through what, in which conversation. */
struct ft_peer {
	char local[GW_UA_MAX_URI], peer[GW_UA_MAX_URI], ruri[GW_UA_MAX_URI], conv[GW_UA_MAX_URI];
};

/* Sends <f> to <p> for chat <chat>, its first <skip> bytes the peer's already (a resumption:
 * a=file-range from <skip> + 1). See gw_pager_send_file(). */
static int send_file(struct gw_pager_shared *sh, struct gw_ua *ua, const char *chat,
		     const struct ft_peer *p, struct gw_pager_file *f, uint64_t skip, char *msg,
		     size_t len)
{
	unsigned char h[WC_SHA_DIGEST_SIZE];
	if (wc_ShaHash((const byte *)f->data, (word32)f->len, h) != 0)
		return snprintf(msg, len, "the file could not be hashed"), 503;
	char sel[1024], attrs[1300], range[48] = "";
	long sl_ = rcs_filesel_write(sel, sizeof(sel), f->name, sl(f->content_type), f->len, 1,
				     "sha-1", h, sizeof(h));
	if (sl_ < 0)
		return snprintf(msg, len, "'name' or the content type cannot be carried in "
				"a=file-selector"), 400;
	if (msrp_id_message(f->transfer_id, sizeof(f->transfer_id)) < 0 ||
	    msrp_id_message(f->message_id, sizeof(f->message_id)) < 0)
		return snprintf(msg, len, "no randomness"), 503;
	if (skip) { /* RFC 5547 §8.4: the same file, the bytes from there on */
		strcpy(range, "file-range:");
		rcs_filerange_write(range + 11, sizeof(range) - 11, skip + 1, f->len);
		strcat(range, "\n");
	}
	int n = snprintf(attrs, sizeof(attrs), "file-selector:%s\nfile-transfer-id:%s\n"
			 "file-disposition:%s\n%s", sel, f->transfer_id,
			 f->disposition ? f->disposition : "render", range);
	if (n < 0 || (size_t)n >= sizeof(attrs))
		return snprintf(msg, len, "the file's attributes are too long"), 400;
	for (unsigned i = 0; i < sizeof(h); i++)
		snprintf(f->hash + 3 * i - (i ? 1 : 0), sizeof(f->hash) - (3 * i - (i ? 1 : 0)),
			 "%s%02X", i ? ":" : "", h[i]);
	/* what a resumption needs, one line each */
	char *meta = NULL;
	size_t ml = 0;
	FILE *mf = open_memstream(&meta, &ml);
	if (!mf)
		return snprintf(msg, len, "out of memory"), 503;
	fprintf(mf, "%s\n%s\n%s\n%s\n%s\n%s\n%s\n%s", chat, p->local, p->peer, p->ruri, p->conv,
		f->name, f->content_type, f->disposition ? f->disposition : "render");
	if (fclose(mf) != 0) {
		free(meta);
		return snprintf(msg, len, "out of memory"), 503;
	}
	struct one_out q = {
		.from = p->local, .to = p->peer, .ruri = p->ruri, .icsi = ICSI_FT,
		.conv = p->conv[0] ? p->conv : NULL, .sdp_attrs = attrs, .sendonly = 1,
		.um = { .content_type = f->content_type, .body = f->data, .len = f->len,
			.success_report = 1, .failure_report = 1, .cpim = 0, .skip = skip },
		.chat = chat, .tid = f->transfer_id, .name = f->name, .meta = meta,
		.guard_ms = FILE_GUARD_MS,
	};
	memcpy(q.um.message_id, f->message_id, sizeof(q.um.message_id));
	int rc = one_out(sh, ua, &q, f->transfer_session, msg, len);
	free(meta);
	if (rc == 0)
		COUNT(sh, files_started);
	return rc;
}

int gw_pager_send_file(struct gw_pager_shared *sh, struct gw_ua *ua, const char *chat,
		       struct gw_pager_file *f, char *msg, size_t len)
{
	struct ft_peer p;
	int rc = gw_ua_session_peer(ua, chat, p.local, p.peer, p.ruri, p.conv);
	if (rc)
		return snprintf(msg, len, rc == 404 ? "no such session" : "the session is over"), rc;
	return send_file(sh, ua, chat, &p, f, 0, msg, len);
}

/* Line <i> of <meta> (0-based) into <out>; 0 or -1. */
static int meta_line(const char *meta, unsigned i, char *out, size_t cap)
{
	while (i-- && meta)
		if ((meta = strchr(meta, '\n')))
			meta++;
	if (!meta)
		return -1;
	size_t n = strcspn(meta, "\n");
	if (n >= cap)
		return -1;
	memcpy(out, meta, n);
	out[n] = '\0';
	return 0;
}

int gw_pager_resume_file(struct gw_pager_shared *sh, struct gw_ua *ua, const char *chat,
			 const char *transfer_id, json_t **out, char *msg, size_t len)
{
	struct gw_pager_file fb = { 0 }, *f = &fb;
	struct gw_files *fs = gw_ua_files(ua);
	char key[MSRP_ID_MSGID_LEN + 8], *meta = NULL, c[GW_UA_ID_LEN + 2];
	void *data = NULL;
	uint64_t have, total;
	if (strlen(transfer_id) > MSRP_ID_MSGID_LEN)
		return snprintf(msg, len, "no such transfer"), 404;
	snprintf(key, sizeof(key), "out|%s", transfer_id);
	if (!fs || gw_files_take(fs, key, &meta, &data, &have, &total) < 0)
		return snprintf(msg, len, "no such transfer to resume (it was not ours, it "
				"completed, is on its way, or was forgotten: rcs.file_ttl)"), 404;
	struct ft_peer p;
	char name[256], type[128], disp[16];
	int rc = 404;
	if (meta_line(meta, 0, c, sizeof(c)) < 0 || strcmp(c, chat) ||
	    meta_line(meta, 1, p.local, sizeof(p.local)) < 0 ||
	    meta_line(meta, 2, p.peer, sizeof(p.peer)) < 0 ||
	    meta_line(meta, 3, p.ruri, sizeof(p.ruri)) < 0 ||
	    meta_line(meta, 4, p.conv, sizeof(p.conv)) < 0 ||
	    meta_line(meta, 5, name, sizeof(name)) < 0 ||
	    meta_line(meta, 6, type, sizeof(type)) < 0 ||
	    meta_line(meta, 7, disp, sizeof(disp)) < 0) {
		snprintf(msg, len, "no such transfer in this session");
		goto back; /* another session's: it stays kept */
	}
	f->name = name;
	f->content_type = type;
	f->disposition = disp;
	f->data = data;
	f->len = (size_t)total;
	rc = send_file(sh, ua, chat, &p, f, have, msg, len);
	if (rc == 0) {
		COUNT(sh, files_resumed);
		*out = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:{s:I, s:I}}",
				 "session_id", chat, "transfer_id", f->transfer_id,
				 "transfer_session_id", f->transfer_session, "resumes", transfer_id,
				 "name", name, "size", (json_int_t)total, "content_type", type,
				 "sha1", f->hash, "range", "start", (json_int_t)(have + 1), "stop",
				 (json_int_t)total);
		free(data);
		free(meta);
		return 0;
	}
back:
	gw_files_keep(fs, key, meta, data, total, have, total);
	free(meta);
	return rc;
}

/* ---- sending ---------------------------------------------------------------------------------- */

int gw_pager_send(struct gw_pager_shared *sh, struct gw_ua *ua, struct gw_pager_msg *m,
		  char *msg, size_t len)
{
	if (!m->message_id[0] && msrp_id_message(m->message_id, sizeof(m->message_id)) < 0)
		return snprintf(msg, len, "no randomness"), 503;
	/* what the addressee gets in pager mode: CPIM from us to it (RCC.07 §3.2.1) */
	struct rcs_msg_out o = {
		.from = sl(m->from), .to = sl(m->to), .message_id = sl(m->message_id), .dn = m->dn,
		.subject = m->subject ? sl(m->subject) : CM_SLICE_NULL,
		.content_type = sl(m->content_type), .body = m->body, .len = m->len,
		.now_ms = (long long)wall_ms(),
	};
	char *cpim = NULL;
	long cl = rcs_msg_wrap(&o, &cpim);
	if (cl < 0)
		return snprintf(msg, len, "the CPIM envelope cannot hold these values"),
		       cl == -ENOMEM ? 503 : 400;
	m->used = m->mode == GW_PAGER_AUTO ? (cl <= GW_PAGER_MAX ? GW_PAGER_PAGER : GW_PAGER_LARGE)
					   : m->mode;
	if (m->used == GW_PAGER_LARGE) {
		free(cpim);
		int rc = send_large(sh, ua, m, msg, len);
		if (rc == 0)
			COUNT(sh, sent_large);
		return rc;
	}
	char hdrs[512];
	size_t tl = strlen(m->to) + 1;
	struct pager_out *p = malloc(sizeof(*p) + tl);
	int rc = -ENOMEM;
	if (p && cpm_headers(ICSI_MSG, m->conversation_id, hdrs, sizeof(hdrs)) == 0) {
		p->sh = sh;
		memcpy(p->id, m->message_id, sizeof(p->id));
		memcpy(p->to, m->to, tl);
		rc = gw_ua_send_message_ex(ua, m->from, m->to, RCS_CT_CPIM, cpim, (size_t)cl, hdrs,
					   pager_done, p);
	} else if (p) {
		rc = -E2BIG;
	}
	free(cpim);
	if (rc < 0) {
		free(p);
		switch (rc) {
		case -EHOSTUNREACH:
			return snprintf(msg, len, "no route to 'to' in pager mode (a host name or "
				       "a tel: URI needs sip.outbound_proxy)"), 502;
		case -ENOSPC:
			return snprintf(msg, len, "too large for a MESSAGE (sip.max_message): "
				       "use mode \"large\""), 413;
		case -EINVAL:
		case -E2BIG:
			return snprintf(msg, len, "field 'to' is no SIP URI that a MESSAGE can "
				       "go to"), 400;
		default:
			return snprintf(msg, len, "the SIP layer is full: retry later"), 503;
		}
	}
	COUNT(sh, sent_pager);
	return 0;
}

/* ---- receiving --------------------------------------------------------------------------------- */

static void respond(struct sip_txn *st, int code)
{
	char tag[20];
	char u[37];
	gw_ua_uuid(u);
	int n = snprintf(tag, sizeof(tag), "p%.8s", u);
	sip_txn_respond(st, code, CM_SLICE_NULL, (cm_slice){ tag, (size_t)n }, NULL, 0,
			CM_SLICE_NULL);
}

static void imdn_done(void *arg, int status, const struct sip_msg *resp)
{
	(void)arg;
	(void)status;
	(void)resp; /* a notification's own fate is not reported */
}

/* The URI of header <id> of <req> into <out> (NUL-terminated): 0 or -1. */
static int uri_of(const struct sip_msg *req, enum sip_hid id, char *out, size_t cap)
{
	struct sip_addr a;
	if (sip_addr_parse(sip_msg_hdr(req, id), &a) < 0 || !a.uri.len || a.uri.len >= cap)
		return -1;
	memcpy(out, a.uri.p, a.uri.len);
	out[a.uri.len] = '\0';
	return 0;
}

/* The delivery IMDN of <in> (RFC 5438 §7.2.1.1 in pager mode): a MESSAGE from the message's
 * CPIM To (else the SIP <to>) to its CPIM From (else the SIP <from>). Sent only where the
 * MESSAGE came from, or through sip.outbound_proxy: an unauthenticated MESSAGE must not make
 * rcsgw send to a third party (reflection). "sent", "not_sent" (that check) or "failed". */
static const char *deliver_imdn(struct gw_pager_shared *sh, struct gw_ua *ua,
				const struct rcs_msg_in *in, const char *from, const char *to,
				const struct sip_dest *src)
{
	char peer[GW_UA_MAX_URI], us[GW_UA_MAX_URI];
	cm_slice p = in->from_uri.len ? in->from_uri : sl(from);
	cm_slice u = in->to_uri.len ? in->to_uri : sl(to);
	if (p.len >= sizeof(peer) || u.len >= sizeof(us) || u.len > RCS_IMDN_URI_MAX)
		return "failed";
	memcpy(peer, p.p, p.len);
	peer[p.len] = '\0';
	memcpy(us, u.p, u.len);
	us[u.len] = '\0';
	if (!gw_ua_may_answer_to(ua, peer, src))
		return "not_sent";
	struct rcs_imdn n = { .kind = RCS_IMDN_DELIVERY, .status = RCS_IMDN_DELIVERED };
	char nid[MSRP_ID_MSGID_LEN + 1], *body = NULL, dtb[32];
	cm_slice dt = in->datetime;
	if (!dt.len) {
		rcs_cpim_datetime((long long)wall_ms(), dtb);
		dt = sl(dtb);
	}
	if (in->imdn_id.len > RCS_IMDN_ID_MAX || dt.len > RCS_IMDN_DT_MAX ||
	    msrp_id_message(nid, sizeof(nid)) <= 0)
		return "failed";
	memcpy(n.message_id, in->imdn_id.p, in->imdn_id.len);
	memcpy(n.datetime, dt.p, dt.len);
	memcpy(n.recipient_uri, us, u.len + 1);
	memcpy(n.original_recipient_uri, us, u.len + 1);
	long bl = rcs_msg_imdn(sl(us), sl(peer), sl(nid), &n, (long long)wall_ms(), &body);
	int rc = bl < 0 ? (int)bl
			: gw_ua_send_message_ex(ua, us, peer, RCS_CT_CPIM, body, (size_t)bl, NULL,
						imdn_done, NULL);
	free(body);
	if (rc < 0)
		return "failed";
	COUNT(sh, imdn_sent);
	return "sent";
}

/* A MESSAGE for rcsgw itself (gw_ua_pager_fn). */
static void on_page(void *arg, struct gw_ua *ua, struct sip_txn *st, const struct sip_msg *req,
		    const struct sip_dest *src)
{
	struct gw_pager_shared *sh = arg;
	char from[GW_UA_MAX_URI], to[GW_UA_MAX_URI];
	cm_slice ct = sip_msg_hdr(req, SIP_H_CONTENT_TYPE);
	if (!req->body.len || !ct.len || uri_of(req, SIP_H_FROM, from, sizeof(from)) < 0 ||
	    uri_of(req, SIP_H_TO, to, sizeof(to)) < 0) {
		respond(st, 400); /* no body with a type, or no usable From/To */
		return;
	}
	struct rcs_msg_in *in = malloc(sizeof(*in));
	if (!in) {
		respond(st, 503);
		return;
	}
	respond(st, 200);
	rcs_msg_parse(ct, req->body.p, req->body.len, in);
	json_t *ev;
	const char *type = "message.received";
	char callid[128];
	cm_slice cid = sip_msg_hdr(req, SIP_H_CALL_ID);
	snprintf(callid, sizeof(callid), "%.*s", (int)cid.len, cid.p);
	switch (in->kind) {
	case RCS_IN_IMDN:
		ev = rcs_msg_imdn_event(in, &type);
		break;
	case RCS_IN_COMPOSING:
		ev = rcs_msg_composing_event(in);
		type = "composing";
		break;
	default:
		ev = rcs_msg_event(in, callid);
		COUNT(sh, received);
		break;
	}
	if (ev) {
		json_object_set_new(ev, "mode", json_string("pager"));
		json_object_set_new(ev, "from", json_string(from));
		json_object_set_new(ev, "to", json_string(to));
	}
	if (in->kind == RCS_IN_MESSAGE && in->wrapped && in->imdn_id.len &&
	    (in->dn & RCS_DN_POSITIVE_DELIVERY) && sh->dn_auto) {
		const char *what = deliver_imdn(sh, ua, in, from, to, src);
		if (ev)
			json_object_set_new(ev, "delivery_notification", json_string(what));
	}
	free(in);
	publish(sh, type, ev);
}

/* ---- set-up ------------------------------------------------------------------------------------ */

struct gw_pager_shared *gw_pager_shared_new(const struct cm_config *cfg, struct gw_ua_shared *ua,
					    gw_publish_fn pub)
{
	struct gw_pager_shared *sh = calloc(1, sizeof(*sh));
	if (!sh)
		return NULL;
	sh->publish = pub;
	sh->dn_auto = cfg->rcs.delivery_notifications;
	sh->nworkers = gw_ua_nworkers(ua);
	if (!(sh->large = calloc(sh->nworkers ? sh->nworkers : 1, sizeof(*sh->large)))) {
		free(sh);
		return NULL;
	}
	gw_ua_set_pager(ua, on_page, sh);
	return sh;
}

void gw_pager_shared_free(struct gw_pager_shared *sh)
{
	if (!sh)
		return;
	for (unsigned i = 0; i < sh->nworkers; i++)
		while (sh->large[i]) { /* their sessions went with the user agent, untold */
			struct large_out *l = sh->large[i];
			large_del(l);
			free(l);
		}
	free(sh->large);
	free(sh);
}

void gw_pager_stats(const struct gw_pager_shared *sh, struct gw_pager_stats *out)
{
	out->sent_pager = atomic_load_explicit(&sh->st.sent_pager, memory_order_relaxed);
	out->sent_large = atomic_load_explicit(&sh->st.sent_large, memory_order_relaxed);
	out->delivered = atomic_load_explicit(&sh->st.delivered, memory_order_relaxed);
	out->failed = atomic_load_explicit(&sh->st.failed, memory_order_relaxed);
	out->received = atomic_load_explicit(&sh->st.received, memory_order_relaxed);
	out->imdn_sent = atomic_load_explicit(&sh->st.imdn_sent, memory_order_relaxed);
	out->files_started = atomic_load_explicit(&sh->st.files_started, memory_order_relaxed);
	out->files_sent = atomic_load_explicit(&sh->st.files_sent, memory_order_relaxed);
	out->files_failed = atomic_load_explicit(&sh->st.files_failed, memory_order_relaxed);
	out->files_resumed = atomic_load_explicit(&sh->st.files_resumed, memory_order_relaxed);
	out->files_parts_kept = atomic_load_explicit(&sh->st.files_parts_kept,
						     memory_order_relaxed);
}

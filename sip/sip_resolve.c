/* sip_resolve.c — RFC 3263 §4 server location on eng_dns (see sip_resolve.h).
 *
 * A resolution that needs DNS lives in a job allocated by sip_resolve() and freed when its
 * last query has answered: eng_dns has no way to take a query back, so a cancelled job
 * stays, detached from its request, until then. A job goes through phases, each a batch
 * of queries in flight at once (NAPTR; the SRV queries; A and AAAA of every target name),
 * and moves on when the batch's last answer is in (advance()). Answers are kept in the job
 * in the order of the questions, not of their arrival, so that the targets come out in the
 * order RFC 3263 gives them. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "engine/eng_dns.h"
#include "sip/sip_hdr.h"
#include "sip/sip_resolve.h"

enum rs_phase {
	PH_START = 0,              /* nothing asked yet */
	PH_NAPTR,                  /* the NAPTR query in flight */
	PH_SRV,                    /* the SRV queries in flight */
	PH_ADDRS,                  /* the A/AAAA queries in flight */
	PH_DONE,
};

/* One question in flight: the tag that eng_dns hands back to on_dns(). */
struct rs_q {
	struct sip_resolve_job *j;
	uint8_t type;              /* enum eng_dns_type */
	uint8_t idx;               /* SRV: index in srvq[]; A/AAAA: index in names[] */
};

/* A place found by SRV (or by default): port, transport, and the name to look up. */
struct rs_ent {
	uint16_t port;
	uint8_t kind;              /* enum sip_tp_kind */
	uint8_t name;              /* index in names[] */
};

/* One SRV question and what its answer gave, in the answer's RFC 2782 order. */
struct rs_srvq {
	struct rs_q q;
	uint8_t kind;              /* the transport this service stands for */
	uint8_t n;
	char name[ENG_DNS_NAME_MAX + 2];
	struct rs_ent ent[SIP_RESOLVE_MAX];
};

/* A host name whose addresses are asked for (once, however many SRV records name it). */
struct rs_name {
	struct rs_q q[2];          /* A, AAAA */
	uint8_t used;              /* some entry of ents[] needs it */
	uint8_t n4, n6;
	char name[ENG_DNS_NAME_MAX + 2];
	struct eng_dns_addr a4[SIP_RESOLVE_MAX];
	struct eng_dns_addr a6[SIP_RESOLVE_MAX];
};

struct sip_resolve_job {
	eng_dns *dns;
	struct sip_resolve_req *req;   /* NULL once cancelled: answers are dropped */
	sip_resolve_cb cb;
	void *arg;
	unsigned max;              /* targets wanted, <= SIP_RESOLVE_MAX */
	int prefer_tcp;
	enum rs_phase phase;
	unsigned pending;          /* eng_dns callbacks owed */
	int err;                   /* the first failure other than -ENOENT */
	int aborted;               /* the resolver is going away (-ECANCELED) */
	struct sip_resolve_plan plan;
	struct rs_q naptr;
	unsigned nsrvq;
	struct rs_srvq srvq[SIP_RESOLVE_SRV_MAX];
	unsigned nnames;
	struct rs_name names[SIP_RESOLVE_MAX];
	unsigned nents;
	struct rs_ent ents[SIP_RESOLVE_MAX];
	struct sip_target targets[SIP_RESOLVE_MAX];
};

/* ---- the plan: what the URI alone says (§4.1, §4.2) ------------------------------------ */

static int slice_ieq(cm_slice s, const char *lit)
{
	size_t n = strlen(lit);
	return s.len == n && strncasecmp(s.p, lit, n) == 0;
}

static uint16_t default_port(unsigned kind)
{
	return kind == SIP_TP_TLS ? SIP_PORT_TLS_DEFAULT : SIP_PORT_DEFAULT;
}

/* 1 when <s> is a host name: letters, digits, '-' and '.', nothing else. */
static int is_hostname(cm_slice s)
{
	for (size_t i = 0; i < s.len; i++) {
		char c = s.p[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '.'))
			return 0;
	}
	return s.len > 0;
}

/* Copies host <s> (a name, an IPv4 address, or an IPv6 reference in brackets) into <buf>
 * without the brackets; fills *<a> and returns 1 when it is an address, 0 for a name,
 * -EINVAL when it is neither or too long. */
static int host_copy(cm_slice s, char buf[256], struct eng_dns_addr *a)
{
	int v6 = s.len >= 2 && s.p[0] == '[' && s.p[s.len - 1] == ']';

	if (v6) {
		s.p++;
		s.len -= 2;
	}
	if (s.len == 0 || s.len > 255)
		return -EINVAL;
	memcpy(buf, s.p, s.len);
	buf[s.len] = '\0';
	memset(a, 0, sizeof(*a));
	if (v6) {
		if (inet_pton(AF_INET6, buf, &a->a.v6) != 1)
			return -EINVAL;
		a->family = AF_INET6;
		return 1;
	}
	if (inet_pton(AF_INET, buf, &a->a.v4) == 1) {
		a->family = AF_INET;
		return 1;
	}
	if (!is_hostname(s) || s.len - (buf[s.len - 1] == '.') > ENG_DNS_NAME_MAX)
		return -EINVAL;
	return 0;
}

/* ;transport= value -> kind for a URI that is <secure> or not. */
static int transport_kind(cm_slice t, int secure)
{
	if (slice_ieq(t, "udp"))
		return secure ? -EINVAL : SIP_TP_UDP;   /* sips: is TLS over a stream (§26.2) */
	if (slice_ieq(t, "tcp"))
		return secure ? SIP_TP_TLS : SIP_TP_TCP;
	if (slice_ieq(t, "tls"))
		return SIP_TP_TLS;                      /* deprecated but still seen (§26.2.2) */
	return -EPROTONOSUPPORT;
}

int sip_resolve_plan(cm_slice uri, int prefer_tcp, struct sip_resolve_plan *plan)
{
	struct sip_uri u;
	struct eng_dns_addr unused;
	int rc;

	if (sip_uri_parse(uri, &u) < 0 || u.scheme == SIP_SCHEME_TEL || !u.host.p)
		return -EINVAL;
	memset(plan, 0, sizeof(*plan));
	plan->secure = u.scheme == SIP_SCHEME_SIPS;
	plan->port = u.port;
	if (u.transport.p) {
		int k = transport_kind(u.transport, plan->secure);
		if (k < 0)
			return k;
		plan->fixed = 1;
		plan->kinds[0] = (uint8_t)k;
		plan->nkinds = plan->ndefault = 1;
	} else if (plan->secure) {
		plan->kinds[0] = SIP_TP_TLS;
		plan->nkinds = plan->ndefault = 1;
	} else {
		/* UDP alone by default (§4.1); a large request wants TCP first, UDP after */
		plan->kinds[0] = prefer_tcp ? SIP_TP_TCP : SIP_TP_UDP;
		plan->kinds[1] = prefer_tcp ? SIP_TP_UDP : SIP_TP_TCP;
		plan->nkinds = 2;
		plan->ndefault = prefer_tcp ? 2 : 1;
	}
	if (host_copy(u.host, plan->host, &unused) < 0)
		return -EINVAL;
	rc = host_copy(u.maddr.p ? u.maddr : u.host, plan->name, &plan->addr);
	if (rc < 0)
		return -EINVAL;
	if (rc == 1)
		plan->step = SIP_RESOLVE_NUMERIC;
	else if (plan->port)
		plan->step = SIP_RESOLVE_ADDRS;
	else if (plan->fixed)
		plan->step = SIP_RESOLVE_SRV;
	else
		plan->step = SIP_RESOLVE_NAPTR;
	return 0;
}

/* Appends target (<a>, <port>, <kind>) to <out>[*<n>] unless it is there already or <out>
 * is full (<max>). */
static void target_add(struct sip_target *out, unsigned *n, unsigned max, const char *host,
		       const struct eng_dns_addr *a, uint16_t port, unsigned kind)
{
	struct sip_target t;

	if (*n >= max)
		return;
	memset(&t.dest, 0, sizeof(t.dest));
	t.dest.addrlen = eng_dns_addr_sockaddr(a, port, &t.dest.addr);
	t.dest.kind = (uint8_t)kind;
	for (unsigned i = 0; i < *n; i++)
		if (out[i].dest.kind == t.dest.kind && out[i].dest.addrlen == t.dest.addrlen &&
		    memcmp(&out[i].dest.addr, &t.dest.addr, t.dest.addrlen) == 0)
			return;
	snprintf(t.host, sizeof(t.host), "%s", host);
	out[(*n)++] = t;
}

/* ---- the job ------------------------------------------------------------------------------ */

static void on_dns(eng_dns *d, int status, const struct eng_dns_result *res, void *arg);

/* Asks <type> of <name> for <q>; a refusal is noted and nothing is owed. */
static void ask(struct sip_resolve_job *j, struct rs_q *q, const char *name,
		enum eng_dns_type type, unsigned idx)
{
	q->j = j;
	q->type = (uint8_t)type;
	q->idx = (uint8_t)idx;
	int rc = eng_dns_query(j->dns, name, type, on_dns, q);
	if (rc == 0) {
		j->pending++;
	} else if (rc == -ECANCELED) {
		j->aborted = 1;
	} else if (!j->err) {
		j->err = rc;
	}
}

/* The index of host <name> in names[] (added when new), -1 when the table is full. */
static int name_index(struct sip_resolve_job *j, const char *name)
{
	for (unsigned i = 0; i < j->nnames; i++)
		if (strcasecmp(j->names[i].name, name) == 0)
			return (int)i;
	if (j->nnames == SIP_RESOLVE_MAX || strlen(name) > ENG_DNS_NAME_MAX + 1)
		return -1;
	struct rs_name *nm = &j->names[j->nnames];
	snprintf(nm->name, sizeof(nm->name), "%s", name);
	return (int)j->nnames++;
}

/* Adds an SRV question for service <kind> at <name> (RFC 3263 §4.1), once. */
static void srvq_add(struct sip_resolve_job *j, unsigned kind, const char *name, int prefix)
{
	static const char *const service[] = {
		[SIP_TP_UDP] = "_sip._udp.", [SIP_TP_TCP] = "_sip._tcp.", [SIP_TP_TLS] = "_sips._tcp.",
	};
	char full[ENG_DNS_NAME_MAX + 2];

	if (j->nsrvq == SIP_RESOLVE_SRV_MAX)
		return;
	int len = snprintf(full, sizeof(full), "%s%s", prefix ? service[kind] : "", name);
	if (len < 0 || (size_t)len >= sizeof(full)) {
		if (!j->err)
			j->err = -EINVAL;
		return;
	}
	for (unsigned i = 0; i < j->nsrvq; i++)
		if (j->srvq[i].kind == kind && strcasecmp(j->srvq[i].name, full) == 0)
			return;
	struct rs_srvq *s = &j->srvq[j->nsrvq++];
	s->kind = (uint8_t)kind;
	s->n = 0;
	memcpy(s->name, full, (size_t)len + 1);
}

/* The NAPTR service <s> as a transport usable for this URI, or -1 (§4.1). */
static int naptr_kind(const char *s, int secure)
{
	if (strcasecmp(s, "SIPS+D2T") == 0)
		return SIP_TP_TLS;
	if (secure)
		return -1;
	if (strcasecmp(s, "SIP+D2T") == 0)
		return SIP_TP_TCP;
	if (strcasecmp(s, "SIP+D2U") == 0)
		return SIP_TP_UDP;
	return -1;
}

static void got_naptr(struct sip_resolve_job *j, struct eng_dns_naptr *r, unsigned n)
{
	eng_dns_naptr_sort(r, n);
	for (unsigned i = 0; i < n; i++) {
		int kind = naptr_kind(r[i].service, j->plan.secure);
		if (kind < 0 || strcasecmp(r[i].flags, "s") != 0 || !r[i].replacement[0])
			continue;
		srvq_add(j, (unsigned)kind, r[i].replacement, 0);
	}
}

static void got_srv(struct sip_resolve_job *j, struct rs_srvq *s, struct eng_dns_srv *r,
		    unsigned n)
{
	eng_dns_srv_sort(r, n, eng_dns_seed(j->dns));
	for (unsigned i = 0; i < n && s->n < SIP_RESOLVE_MAX; i++) {
		if (!r[i].target[0] || strcmp(r[i].target, ".") == 0)
			continue;          /* "service decidedly not available" (RFC 2782) */
		int ni = name_index(j, r[i].target);
		if (ni < 0)
			continue;
		s->ent[s->n++] = (struct rs_ent){ .port = r[i].port, .kind = s->kind,
						  .name = (uint8_t)ni };
	}
}

static void got_addrs(struct rs_name *nm, const struct eng_dns_result *res)
{
	int v6 = res->type == ENG_DNS_AAAA;
	struct eng_dns_addr *dst = v6 ? nm->a6 : nm->a4;
	unsigned n = res->n < SIP_RESOLVE_MAX ? res->n : SIP_RESOLVE_MAX;

	memcpy(dst, res->addrs, n * sizeof(*dst));
	if (v6)
		nm->n6 = (uint8_t)n;
	else
		nm->n4 = (uint8_t)n;
}

static void ent_add(struct sip_resolve_job *j, struct rs_ent e)
{
	if (j->nents == SIP_RESOLVE_MAX)
		return;
	j->ents[j->nents++] = e;
	j->names[e.name].used = 1;
}

/* The SRV answers, question by question, into ents[]; with prefer_tcp the reliable
 * transports' records first. None: the default transports on the name itself (§4.2). */
static void collect_srv(struct sip_resolve_job *j)
{
	for (int pass = j->prefer_tcp ? 0 : 1; pass < 2; pass++) {
		for (unsigned i = 0; i < j->nsrvq; i++) {
			struct rs_srvq *s = &j->srvq[i];
			if (j->prefer_tcp && (pass == 0) != (s->kind != SIP_TP_UDP))
				continue;
			for (unsigned k = 0; k < s->n; k++)
				ent_add(j, s->ent[k]);
		}
	}
	if (j->nents)
		return;
	int ni = name_index(j, j->plan.name);
	for (unsigned i = 0; ni >= 0 && i < j->plan.ndefault; i++) {
		unsigned kind = j->plan.kinds[i];
		uint16_t port = j->plan.port ? j->plan.port : default_port(kind);
		ent_add(j, (struct rs_ent){ .port = port, .kind = (uint8_t)kind,
					    .name = (uint8_t)ni });
	}
}

static void ask_srv(struct sip_resolve_job *j)
{
	for (unsigned i = 0; i < j->nsrvq; i++)
		ask(j, &j->srvq[i].q, j->srvq[i].name, ENG_DNS_SRV, i);
}

static void ask_addrs(struct sip_resolve_job *j)
{
	for (unsigned i = 0; i < j->nnames; i++) {
		if (!j->names[i].used)
			continue;
		ask(j, &j->names[i].q[0], j->names[i].name, ENG_DNS_A, i);
		ask(j, &j->names[i].q[1], j->names[i].name, ENG_DNS_AAAA, i);
	}
}

/* Starts the next phase while nothing is owed. 1: answers are awaited; 0: the job is over
 * (then the targets are what the addresses gave). */
static int advance(struct sip_resolve_job *j)
{
	while (j->pending == 0) {
		if (j->aborted)
			return 0;
		switch (j->phase) {
		case PH_START:
			if (j->plan.step == SIP_RESOLVE_NAPTR) {
				j->phase = PH_NAPTR;
				ask(j, &j->naptr, j->plan.name, ENG_DNS_NAPTR, 0);
			} else if (j->plan.step == SIP_RESOLVE_SRV) {
				j->phase = PH_SRV;
				srvq_add(j, j->plan.kinds[0], j->plan.name, 1);
				ask_srv(j);
			} else {
				j->phase = PH_ADDRS;
				collect_srv(j);     /* no SRV: the defaults, on the URI's port */
				ask_addrs(j);
			}
			break;
		case PH_NAPTR:
			/* no usable NAPTR, or none at all, or the query failed: SRV of the
			 * transports we support, in our order (§4.1) */
			j->phase = PH_SRV;
			if (j->nsrvq == 0)
				for (unsigned i = 0; i < j->plan.nkinds; i++)
					srvq_add(j, j->plan.kinds[i], j->plan.name, 1);
			ask_srv(j);
			break;
		case PH_SRV:
			j->phase = PH_ADDRS;
			collect_srv(j);
			ask_addrs(j);
			break;
		case PH_ADDRS:
		case PH_DONE:
			j->phase = PH_DONE;
			return 0;
		}
	}
	return 1;
}

/* ents[] and their addresses -> targets[]. Returns how many. */
static unsigned build_targets(struct sip_resolve_job *j)
{
	unsigned n = 0;

	for (unsigned i = 0; i < j->nents; i++) {
		const struct rs_ent *e = &j->ents[i];
		const struct rs_name *nm = &j->names[e->name];
		for (unsigned k = 0; k < nm->n4; k++)
			target_add(j->targets, &n, j->max, j->plan.host, &nm->a4[k], e->port, e->kind);
		for (unsigned k = 0; k < nm->n6; k++)
			target_add(j->targets, &n, j->max, j->plan.host, &nm->a6[k], e->port, e->kind);
	}
	return n;
}

/* The last answer is in: the callback, then the job goes. */
static void finish(struct sip_resolve_job *j)
{
	unsigned n = j->aborted ? 0 : build_targets(j);
	int err = 0;

	if (n == 0)
		err = j->aborted ? -ECANCELED : j->err ? j->err : -ENOENT;
	j->req->job = NULL;
	j->req = NULL;
	j->cb(j->arg, err, n ? j->targets : NULL, n);
	free(j);
}

static void on_dns(eng_dns *d, int status, const struct eng_dns_result *res, void *arg)
{
	struct rs_q *q = arg;
	struct sip_resolve_job *j = q->j;

	(void)d;
	j->pending--;
	if (!j->req) {
		if (j->pending == 0)
			free(j);           /* cancelled: this was the last answer owed */
		return;
	}
	if (status == -ECANCELED) {
		j->aborted = 1;
	} else if (status < 0) {
		if (status != -ENOENT && !j->err)
			j->err = status;
	} else if (!j->aborted) {
		switch (q->type) {
		case ENG_DNS_NAPTR:
			got_naptr(j, res->naptr, res->n);
			break;
		case ENG_DNS_SRV:
			got_srv(j, &j->srvq[q->idx], res->srv, res->n);
			break;
		case ENG_DNS_A:
		case ENG_DNS_AAAA:
			got_addrs(&j->names[q->idx], res);
			break;
		}
	}
	if (j->pending == 0 && !advance(j))
		finish(j);
}

/* ---- entry points -------------------------------------------------------------------------- */

int sip_resolve(eng_dns *dns, struct sip_resolve_req *req, cm_slice uri, int prefer_tcp,
		sip_resolve_cb cb, void *arg, struct sip_target *out, unsigned max)
{
	struct sip_resolve_plan plan;

	if (!req || max == 0)
		return -EINVAL;
	if (req->job)
		return -EBUSY;
	if (max > SIP_RESOLVE_MAX)
		max = SIP_RESOLVE_MAX;
	int rc = sip_resolve_plan(uri, prefer_tcp, &plan);
	if (rc < 0)
		return rc;
	if (plan.step == SIP_RESOLVE_NUMERIC) {
		unsigned n = 0;
		if (!out)
			return -EINVAL;
		for (unsigned i = 0; i < plan.ndefault; i++) {
			unsigned kind = plan.kinds[i];
			uint16_t port = plan.port ? plan.port : default_port(kind);
			target_add(out, &n, max, plan.host, &plan.addr, port, kind);
		}
		return (int)n;
	}
	if (!dns || !cb)
		return -EINVAL;

	struct sip_resolve_job *j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	j->dns = dns;
	j->req = req;
	j->cb = cb;
	j->arg = arg;
	j->max = max;
	j->prefer_tcp = prefer_tcp;
	j->plan = plan;
	if (!advance(j)) {
		/* nothing could be asked: no callback, the refusal goes back instead */
		rc = j->aborted ? -ECANCELED : j->err ? j->err : -EIO;
		free(j);
		return rc;
	}
	req->job = j;
	return 0;
}

void sip_resolve_cancel(struct sip_resolve_req *req)
{
	struct sip_resolve_job *j = req ? req->job : NULL;

	if (!j)
		return;
	req->job = NULL;
	j->req = NULL;
	if (j->pending == 0)
		free(j);
}

/* test_faults_flood.c — malformed frames by the hundred thousand against the running daemon
 * (issue 12, faults): tests/lib/malgen.h makes them (truncations, oversize, lying lengths,
 * bad UTF-8 and control bytes, header floods, bad start lines and numbers, missing headers,
 * CR/LF variants) for each surface the daemon shows the network: MSRP over TCP (relay with
 * credentials and without), MSRP over WebSocket, SIP over UDP and TCP, the REST API, a
 * connected Diameter peer, and CPIM/IMDN/isComposing bodies in valid SENDs to a session.
 *
 * RCSGW_FAULT_FRAMES frames per test (default 100 000; `make check`/`asan` pass fewer).
 * On a stream, each frame is followed by a valid probe on the same connection: the answers
 * before the probe's belong to the frame, and the connection is reused while the daemon
 * keeps it; a frame that ends early (a truncation) is followed by our end of the stream
 * instead. Afterwards: the daemon is alive, every frame is explained by an answer, a closed
 * connection or a counted drop, the counters moved by what was seen, and valid traffic,
 * some of it sent between the frames, all arrived. One daemon per test, --jobs 1. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/lib/malgen.h"
#include "tests/lib/msrp_client.h"
#include "tests/lib/rcsgw_proc.h"
#include "tests/lib/ua_fx.h"

#define HOST "127.0.0.1"
#define IO_MS 5000
#define DM_HOST "fz.test.local"

/* The daemon's limits, set small so that going past them costs little. */
#define MAX_LINE 2048
#define MAX_HEAD 8192
#define MAX_CHUNK 16384
#define WS_MAX 16384
#define SIP_MAX 8192

static struct {
	pid_t pid;
	int api, msrp, ws, sip, dia;
	char ht[96];
} D;

static void down(void)
{
	if (D.pid > 0) {
		int st = rcsgw_stop(D.pid, SIGTERM, 10000);
		D.pid = 0;
		cr_expect_eq(st, 0, "rcsgw exit status %d", st);
	}
	if (D.ht[0])
		unlink(D.ht);
}

TestSuite(faults_flood, .fini = down, .timeout = 600);

static long frames_wanted(void)
{
	const char *e = getenv("RCSGW_FAULT_FRAMES");
	long n = e && *e ? atol(e) : 100000;
	return n > 0 ? n : 100000;
}

static void write_htdigest(void);

/* Starts rcsgw with every surface on, the relay's credentials file when <creds>. */
static void up(int creds)
{
	static char e[12][160];
	int n = 0;
	const char *env[32];
	D.api = free_tcp_port(), D.msrp = free_tcp_port(), D.ws = free_tcp_port();
	D.sip = free_tcp_port(), D.dia = free_tcp_port();
	cr_assert(D.api > 0 && D.msrp > 0 && D.ws > 0 && D.sip > 0 && D.dia > 0);
	snprintf(e[n], 160, "RCSGW_API_LISTEN=" HOST ":%d", D.api), env[n] = e[n], n++;
	snprintf(e[n], 160, "RCSGW_MSRP_LISTEN=" HOST ":%d", D.msrp), env[n] = e[n], n++;
	snprintf(e[n], 160, "RCSGW_MSRP_WS_LISTEN=" HOST ":%d", D.ws), env[n] = e[n], n++;
	snprintf(e[n], 160, "RCSGW_SIP_LISTEN=udp:" HOST ":%d,tcp:" HOST ":%d", D.sip, D.sip),
		env[n] = e[n], n++;
	snprintf(e[n], 160, "RCSGW_DIAMETER_LISTEN=" HOST ":%d", D.dia), env[n] = e[n], n++;
	snprintf(e[n], 160, "RCSGW_MSRP_MAX_LINE=%d", MAX_LINE), env[n] = e[n], n++;
	snprintf(e[n], 160, "RCSGW_MSRP_MAX_HEAD=%d", MAX_HEAD), env[n] = e[n], n++;
	snprintf(e[n], 160, "RCSGW_MSRP_MAX_CHUNK=%d", MAX_CHUNK), env[n] = e[n], n++;
	snprintf(e[n], 160, "RCSGW_MSRP_WS_MAX_MESSAGE=%d", WS_MAX), env[n] = e[n], n++;
	snprintf(e[n], 160, "RCSGW_SIP_MAX_MESSAGE=%d", SIP_MAX), env[n] = e[n], n++;
	if (creds) {
		write_htdigest(); /* user u, realm rcsgw, password p */
		snprintf(e[n], 160, "RCSGW_RELAY_CREDENTIALS_FILE=%s", D.ht), env[n] = e[n], n++;
	}
	env[n++] = "RCSGW_DIAMETER_ORIGIN_HOST=gw.test.local";
	env[n++] = "RCSGW_DIAMETER_PEERS=";
	env[n++] = "RCSGW_DIAMETER_ACCEPT=*.test.local";
	env[n++] = "RCSGW_DIAMETER_APPLICATIONS=Sh"; /* CCRs (app 4) answered 3007 at once */
	env[n++] = "RCSGW_DIAMETER_WATCHDOG=1h";
	env[n++] = "RCSGW_ENGINE_WORKERS=2";
	env[n++] = "RCSGW_ENGINE_PIN=false";
	env[n++] = "RCSGW_LOG_LEVEL=error";
	env[n] = NULL;
	D.pid = rcsgw_spawn(env, NULL, NULL);
	cr_assert(D.pid > 0);
	cr_assert_eq(wait_port(HOST, D.api, 5000), 0, "the API does not listen");
	cr_assert_eq(wait_port(HOST, D.msrp, 5000), 0, "MSRP does not listen");
	cr_assert_eq(wait_port(HOST, D.dia, 5000), 0, "Diameter does not listen");
}

static double metric(const char *name, const char *labels)
{
	double v = http_metric_sum_where(D.api, NULL, name, labels);
	cr_assert_geq(v, 0, "GET /metrics failed (%s)", name);
	return v;
}

/* The daemon runs and answers /healthz 200. */
static void expect_alive(void)
{
	cr_assert_eq(waitpid(D.pid, NULL, WNOHANG), 0, "rcsgw died");
	int st = 0;
	char *b = NULL;
	cr_assert_eq(http_request(HOST, D.api, "GET", "/healthz", NULL, NULL, &st, NULL, &b,
				  IO_MS), 0);
	cr_expect_eq(st, 200, "/healthz: %d %s", st, b ? b : "");
	free(b);
}

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* ---- what came back ------------------------------------------------------------------------ */

#define CODES 6000
struct tally {
	unsigned long frames, conns, closed, shut, answered, probes, bytes, silent;
	unsigned long resets;                   /* connections the daemon closed with a reset:
						 * what it wrote last may be lost (TCP drops
						 * unread data on a reset) */
	unsigned long code[CODES];              /* answers by status (Diameter: Result-Code) */
	unsigned long kind[MG_KINDS][4];        /* frames, closed by the daemon, answered, silent */
	unsigned long pcode[CODES];             /* the probes' answers by status */
	unsigned long merged;                   /* frames answered together with their probe */
	int last_code;
	double t0, t1;
};

static void tally_print(const char *what, const struct tally *t)
{
	double s = t->t1 - t->t0;
	fprintf(stderr, "faults_flood %s: %lu frames (%lu bytes) in %.2f s = %.0f frames/s, %lu "
		"connections, %lu closed by rcsgw (%lu reset), %lu ended by us, %lu silent, %lu answers:",
		what, t->frames, t->bytes, s, s > 0 ? (double)t->frames / s : 0, t->conns, t->closed,
		t->resets, t->shut, t->silent, t->answered);
	for (int c = 0; c < CODES; c++)
		if (t->code[c])
			fprintf(stderr, " %d:%lu", c, t->code[c]);
	fprintf(stderr, "\n   probes' answers (%lu merged with a frame):", t->merged);
	for (int c = 0; c < CODES; c++)
		if (t->pcode[c])
			fprintf(stderr, " %d:%lu", c, t->pcode[c]);
	fprintf(stderr, "\n   by kind (frames/closed/answered/silent):");
	for (int k = 0; k < MG_KINDS; k++)
		fprintf(stderr, " %s %lu/%lu/%lu/%lu", mg_kind_name((enum mg_kind)k), t->kind[k][0],
			t->kind[k][1], t->kind[k][2], t->kind[k][3]);
	fprintf(stderr, "\n");
}

/* The frame in flight, for the messages of a failed assertion. */
static const struct mg_frame *cur;

static const char *cur_text(void)
{
	static char b[1200];
	size_t o = 0;
	if (!cur)
		return "";
	o += (size_t)snprintf(b, sizeof(b), "frame %s/%d, %zu bytes%s: ", mg_kind_name(cur->kind),
			      cur->variant, cur->len, cur->incomplete ? " (incomplete)" : "");
	for (size_t i = 0; i < cur->len && o + 5 < sizeof(b); i++) {
		uint8_t ch = cur->p[i];
		if (ch >= 0x20 && ch < 0x7f && ch != '\\')
			b[o++] = (char)ch;
		else
			o += (size_t)snprintf(b + o, sizeof(b) - o, "\\x%02x", ch);
	}
	b[o] = 0;
	return b;
}

/* RCSGW_FAULT_SHOW=<code>: the first frames answered <code> are printed (to study them). */
static int show_code = -1;

/* ---- a stream and its answers -------------------------------------------------------------- */

struct conn {
	int fd;
	char *b;
	size_t len, cap;
	int eof;
};

static int tcp_connect(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	inet_pton(AF_INET, HOST, &a.sin_addr);
	cr_assert(fd >= 0);
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	struct timeval tv = { .tv_sec = IO_MS / 1000 };
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	struct linger lg = { 1, 0 }; /* a reset at close: no TIME_WAIT by the ten thousand */
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0, "connect %d: %s", port,
		     strerror(errno));
	return fd;
}

/* Writes all of <p>; 0, or -1 when the daemon had closed (reset, broken pipe). A write that
 * blocks past IO_MS fails the test (the daemon stopped reading without closing). */
static int c_write(struct conn *c, const void *p, size_t n)
{
	const char *s = p;
	while (n) {
		ssize_t w = send(c->fd, s, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EPIPE || errno == ECONNRESET))
			return -1;
		cr_assert(w > 0, "send: %s (the daemon stopped reading?)", strerror(errno));
		s += w, n -= (size_t)w;
	}
	return 0;
}

/* Reads more into <c>: 1 bytes came, 0 end of stream (or reset). Asserts on a time-out. */
static int c_fill(struct conn *c)
{
	if (c->eof)
		return 0;
	if (c->cap - c->len < 65536) {
		c->cap = c->cap ? c->cap * 2 : 262144;
		c->b = realloc(c->b, c->cap);
		cr_assert(c->b);
	}
	struct pollfd pf = { .fd = c->fd, .events = POLLIN };
	int pr = poll(&pf, 1, IO_MS);
	cr_assert_gt(pr, 0, "no answer and no close within %d ms after %s", IO_MS, cur_text());
	ssize_t r = recv(c->fd, c->b + c->len, c->cap - c->len, 0);
	if (r <= 0) {
		c->eof = r < 0 ? 2 : 1;
		return 0;
	}
	c->len += (size_t)r;
	return 1;
}

static void c_consume(struct conn *c, size_t n)
{
	memmove(c->b, c->b + n, c->len - n);
	c->len -= n;
}

static void c_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->len = 0;
	c->eof = 0;
}

static const char *memfind(const char *h, size_t hl, const char *n)
{
	return memmem(h, hl, n, strlen(n));
}

/* The value of header <name> (or compact <alt>) in the head <h>/<hl>, into <out>. */
static int head_value(const char *h, size_t hl, const char *name, const char *alt, char *out,
		      size_t olen)
{
	const char *p = h, *end = h + hl;
	while (p < end) {
		const char *e = memfind(p, (size_t)(end - p), "\r\n");
		if (!e)
			e = end;
		const char *colon = memchr(p, ':', (size_t)(e - p));
		if (colon) {
			size_t nl = (size_t)(colon - p);
			while (nl && (p[nl - 1] == ' ' || p[nl - 1] == '\t'))
				nl--;
			if ((nl == strlen(name) && !strncasecmp(p, name, nl)) ||
			    (alt && nl == strlen(alt) && !strncasecmp(p, alt, nl))) {
				const char *v = colon + 1;
				while (v < e && (*v == ' ' || *v == '\t'))
					v++;
				size_t vl = (size_t)(e - v) < olen - 1 ? (size_t)(e - v) : olen - 1;
				memcpy(out, v, vl);
				out[vl] = 0;
				return 0;
			}
		}
		p = e + 2;
	}
	return -1;
}

/* One answer at the front of <c>, per protocol: 1 with its id and code, 0 more bytes
 * needed. A request from the daemon has code 0. Asserts on what is none. */
typedef int (*answer_fn)(struct conn *c, char *id, size_t idlen, int *code);

static int ans_msrp_text(const char *b, size_t len, size_t *used, char *id, size_t idlen,
			 int *code)
{
	const char *eol = memfind(b, len, "\r\n");
	if (!eol)
		return 0;
	char tid[64] = "", word[64] = "";
	cr_assert(sscanf(b, "MSRP %63s %63s", tid, word) == 2, "not an MSRP frame: %.*s",
		  (int)(eol - b), b);
	char endl[80];
	snprintf(endl, sizeof(endl), "\r\n-------%s", tid);
	const char *e = memfind(eol, len - (size_t)(eol - b), endl);
	if (!e)
		return 0;
	size_t at = (size_t)(e - b) + strlen(endl);
	if (len < at + 3)
		return 0;
	*used = at + 3;
	snprintf(id, idlen, "%s", tid);
	*code = word[0] >= '0' && word[0] <= '9' ? atoi(word) : 0;
	return 1;
}

static int ans_msrp(struct conn *c, char *id, size_t idlen, int *code)
{
	size_t used = 0;
	int r = ans_msrp_text(c->b, c->len, &used, id, idlen, code);
	if (r)
		c_consume(c, used);
	return r;
}

/* HTTP errors: the API's carry {"error":{"code":<status>,"message":...}}; those
 * libmicrohttpd makes itself (a request it cannot parse) are its HTML page. */
static unsigned long http_json_errors, http_html_errors, http_double_heads;

static void http_error_body(const char *b, size_t n, int status)
{
	if (n && b[0] == '<') {
		http_html_errors++;
		return;
	}
	if (n > 9 && !memcmp(b, "HTTP/1.1 ", 9)) {
		/* libmicrohttpd 0.9.75 writes the head of its 400 to a Content-Length that is no
		 * number twice, the first without its body: what follows that head is read as
		 * its body (and the connection closes). Its page, counted apart. */
		http_double_heads++;
		http_html_errors++;
		return;
	}
	json_t *j = json_loadb(b, n, 0, NULL);
	json_t *e = json_object_get(j, "error");
	cr_expect(json_integer_value(json_object_get(e, "code")) == status &&
		  json_is_string(json_object_get(e, "message")),
		  "a %d without its JSON error: [%.*s] after %s", status, (int)(n < 200 ? n : 200), b, cur_text());
	json_decref(j);
	http_json_errors++;
}

/* SIP and HTTP: a head and a Content-Length body. */
static int ans_head(struct conn *c, char *id, size_t idlen, int *code)
{
	const char *e = memfind(c->b, c->len, "\r\n\r\n");
	if (!e)
		return 0;
	size_t hl = (size_t)(e - c->b) + 4;
	char v[64] = "0";
	head_value(c->b, hl, "Content-Length", "l", v, sizeof(v));
	size_t bl = (size_t)strtoul(v, NULL, 10);
	if (c->len < hl + bl)
		return 0;
	int vmaj = 0, vmin = 0;
	if (!strncmp(c->b, "SIP/2.0 ", 8))
		*code = atoi(c->b + 8);
	else if (sscanf(c->b, "HTTP/%d.%d %d", &vmaj, &vmin, code) != 3)
		cr_assert_fail("not a status line: %.*s", (int)(hl > 80 ? 80 : hl), c->b);
	id[0] = 0;
	if (head_value(c->b, hl, "Call-ID", "i", id, idlen) && *code == 200 &&
	    memfind(c->b + hl, bl, "\"alive\""))
		snprintf(id, idlen, "probe"); /* HTTP: /healthz is the probe */
	if (vmaj == 1 && *code >= 400)
		http_error_body(c->b + hl, bl, *code);
	c_consume(c, hl + bl);
	return 1;
}

/* WebSocket frames from the server: MSRP in text frames (one frame, or more, per message),
 * a close frame (code 1000 + its status). */
static int ans_ws(struct conn *c, char *id, size_t idlen, int *code)
{
	for (;;) {
		if (c->len < 2)
			return 0;
		const uint8_t *p = (const uint8_t *)c->b;
		cr_assert(!(p[1] & 0x80), "a masked frame from the server");
		size_t hl = 2, n = p[1] & 0x7f;
		if (n == 126) {
			if (c->len < 4)
				return 0;
			n = (size_t)p[2] << 8 | p[3], hl = 4;
		} else if (n == 127) {
			if (c->len < 10)
				return 0;
			n = 0, hl = 10;
			for (int i = 2; i < 10; i++)
				n = n << 8 | p[i];
		}
		if (c->len < hl + n)
			return 0;
		int op = p[0] & 0x0f;
		if (op == 8) {
			*code = n >= 2 ? (p[hl] << 8 | p[hl + 1]) : 1005;
			snprintf(id, idlen, "close");
			c_consume(c, hl + n);
			return 1;
		}
		if (op == 1 || op == 2) {
			size_t used = 0;
			int r = ans_msrp_text((const char *)p + hl, n, &used, id, idlen, code);
			cr_assert(r, "a WebSocket message with a part of an MSRP frame");
			c_consume(c, hl + n);
			return 1;
		}
		c_consume(c, hl + n); /* ping, pong */
	}
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Diameter: the hop-by-hop id; the code is the Result-Code (a request: 0). */
static int ans_dm(struct conn *c, char *id, size_t idlen, int *code)
{
	if (c->len < 20)
		return 0;
	const uint8_t *p = (const uint8_t *)c->b;
	cr_assert_eq(p[0], 1, "not Diameter");
	size_t n = get32(p) & 0xffffff;
	cr_assert(n >= 20 && n % 4 == 0, "Diameter length %zu", n);
	if (c->len < n)
		return 0;
	snprintf(id, idlen, "%u", get32(p + 12));
	*code = 0;
	if (!(p[4] & 0x80)) {
		*code = 1;
		for (size_t o = 20; o + 8 <= n;) {
			uint32_t ac = get32(p + o), al = get32(p + o + 4) & 0xffffff;
			if (al < 8)
				break;
			if (ac == 268 && al >= 12)
				*code = (int)get32(p + o + 8 + ((p[o + 4] & 0x80) ? 4 : 0));
			o += (al + 3) & ~3u;
		}
	}
	c_consume(c, n);
	return 1;
}

/* ---- the stream driver --------------------------------------------------------------------- */

struct surface {
	const char *name;
	enum mg_proto proto;
	int port;
	answer_fn answer;
	/* after connect: a handshake (WebSocket upgrade, CER) or NULL */
	void (*hello)(struct conn *c, struct malgen *g);
	/* the probe into <f>, its id into f->id */
	void (*probe)(struct malgen *g, struct mg_frame *f);
	/* a frame kind to use instead of <k> (the costly ones made rarer), or <k> */
	enum mg_kind (*pick)(struct malgen *g, unsigned long i);
	int probe_code;       /* what the probe alone gets; another code: the frame and the
			       * probe were read as one message (a frame that lied about its end) */
	int abort_incomplete; /* end an incomplete frame with a reset, not a FIN (see below) */
};

static void s_connect(const struct surface *s, struct conn *c, struct malgen *g,
		      struct tally *t)
{
	c->fd = tcp_connect(s->port);
	c->len = 0;
	c->eof = 0;
	t->conns++;
	if (s->hello)
		s->hello(c, g);
}

/* Reads answers until the one with id <until> (returns 1) or the end of the stream (0);
 * the others are the frame's. */
static int s_read(const struct surface *s, struct conn *c, const char *until, struct tally *t,
		  enum mg_kind k, int *frame_answers)
{
	for (;;) {
		char id[128];
		int code = 0;
		while (c->len && s->answer(c, id, sizeof(id), &code)) {
			if (until && !strcmp(id, until)) {
				t->probes++;
				t->pcode[code >= 0 && code < CODES ? code : 0]++;
				if (code != s->probe_code && k < MG_KINDS && !(*frame_answers)++) {
					t->merged++;
					t->kind[k][2]++;
				}
				return 1;
			}
			if (s->proto == MG_WS && !strcmp(id, "close")) {
				/* the closing handshake: our close frame back, then the end */
				struct mg_frame cf = { 0 };
				uint8_t cc[2] = { (uint8_t)(code >> 8), (uint8_t)code };
				cr_assert_eq(mg_ws_frame(&cf, 1, 8, cc, 2, 0x11223344), 0);
				c_write(c, cf.p, cf.len);
				mg_frame_free(&cf);
			}
			if (code == 0 && s->proto == MG_DIAMETER)
				continue; /* a request of the daemon's (none expected: watchdog 1 h) */
			t->answered++;
			t->last_code = code;
			t->code[code >= 0 && code < CODES ? code : 0]++;
			if (show_code == code && t->code[code] <= 5)
				fprintf(stderr, "faults_flood %s: %d after %s\n", s->name, code, cur_text());
			if (k < MG_KINDS && !(*frame_answers)++)
				t->kind[k][2]++;
		}
		if (!c_fill(c))
			return 0;
	}
}

/* Sends <n> frames of <s>'s protocol, each answered, closed on, or ended by us. */
static void flood_stream(const struct surface *s, long n, uint64_t seed, struct mg_limits *lim,
			 struct tally *t, void (*between)(long i))
{
	struct malgen g, pg;
	char host[64];
	snprintf(host, sizeof(host), s->proto == MG_DIAMETER ? DM_HOST : HOST ":%d", s->port);
	mg_init(&g, seed, lim, host);
	mg_init(&pg, seed ^ 0xabcdef, lim, host);
	if (s->proto == MG_SIP)
		snprintf(g.transport, sizeof(g.transport), "TCP");
	struct mg_frame f = { 0 }, p = { 0 };
	struct conn c = { .fd = -1 };
	memset(t, 0, sizeof(*t));
	const char *sc = getenv("RCSGW_FAULT_SHOW");
	show_code = sc && *sc ? atoi(sc) : -1;
	t->t0 = now_s();
	for (long i = 0; i < n; i++) {
		if (between && i % 1000 == 999)
			between(i);
		if (c.fd < 0)
			s_connect(s, &c, &pg, t);
		enum mg_kind k = s->pick ? s->pick(&g, (unsigned long)i) : MG_KINDS;
		cr_assert_eq(mg_make(&g, s->proto, k, &f), 0);
		k = f.kind;
		cur = &f;
		t->frames++;
		t->bytes += f.len;
		t->kind[k][0]++;
		int fa = 0, alive;
		t->last_code = -1;
		if (c_write(&c, f.p, f.len) < 0) {
			alive = s_read(s, &c, NULL, t, k, &fa);
		} else if (f.incomplete && s->abort_incomplete) {
			t->shut++;
			c_close(&c); /* a reset: nothing to read */
			continue;
		} else if (f.incomplete) {
			shutdown(c.fd, SHUT_WR);
			alive = s_read(s, &c, NULL, t, k, &fa);
			t->shut++;
			c_close(&c);
			continue;
		} else {
			s->probe(&pg, &p);
			if (c_write(&c, p.p, p.len) < 0)
				alive = s_read(s, &c, NULL, t, k, &fa);
			else
				alive = s_read(s, &c, p.id, t, k, &fa);
		}
		if (alive && !fa) {
			t->silent++;
			if (t->kind[k][3]++ < 3)
				fprintf(stderr, "faults_flood %s: no answer to %s\n", s->name, cur_text());
		}
		if (!alive) {
			t->resets += c.eof == 2;
			t->closed++;
			t->kind[k][1]++;
			c_close(&c);
		}
	}
	if (c.fd >= 0)
		c_close(&c);
	t->t1 = now_s();
	cur = NULL;
	free(c.b);
	mg_frame_free(&f);
	mg_frame_free(&p);
}

/* ---- the surfaces -------------------------------------------------------------------------- */

static struct mg_limits limits(void)
{
	return (struct mg_limits){ .max_line = MAX_LINE, .max_head = MAX_HEAD,
				   .max_body = MAX_CHUNK, .max_message = WS_MAX, .max_headers = 64 };
}

static unsigned long probe_n;

/* A valid SEND to a session nobody has: the daemon answers it (481 or 403). */
static size_t msrp_probe_text(char *buf, size_t len, const char *tid)
{
	return (size_t)snprintf(buf, len,
				"MSRP %s SEND\r\nTo-Path: msrp://" HOST ":%d/nosuchsess;tcp\r\n"
				"From-Path: msrp://127.0.0.1:9/probe;tcp\r\nMessage-ID: %s\r\n"
				"Byte-Range: 1-1/1\r\nContent-Type: text/plain\r\n\r\nx\r\n"
				"-------%s$\r\n", tid, D.msrp, tid, tid);
}

static void msrp_probe(struct malgen *g, struct mg_frame *f)
{
	(void)g;
	char b[512];
	snprintf(f->id, sizeof(f->id), "probe%lu", ++probe_n);
	cr_assert_eq(mg_frame_set(f, b, msrp_probe_text(b, sizeof(b), f->id)), 0);
}

static void ws_probe(struct malgen *g, struct mg_frame *f)
{
	char b[512];
	snprintf(f->id, sizeof(f->id), "probe%lu", ++probe_n);
	size_t n = msrp_probe_text(b, sizeof(b), f->id);
	f->len = 0;
	cr_assert_eq(mg_ws_frame(f, 1, 1, b, n, mg_rand(g) | 1), 0);
}

static void sip_probe(struct malgen *g, struct mg_frame *f)
{
	(void)g;
	char b[512];
	snprintf(f->id, sizeof(f->id), "probe%lu", ++probe_n);
	int n = snprintf(b, sizeof(b),
			 "OPTIONS sip:gw@" HOST ":%d SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:9;"
			 "branch=z9hG4bKp%lu\r\nMax-Forwards: 70\r\nFrom: <sip:probe@127.0.0.1>;"
			 "tag=p\r\nTo: <sip:gw@" HOST ">\r\nCall-ID: %s\r\nCSeq: 1 OPTIONS\r\n"
			 "Content-Length: 0\r\n\r\n", D.sip, probe_n, f->id);
	cr_assert_eq(mg_frame_set(f, b, (size_t)n), 0);
}

static void http_probe(struct malgen *g, struct mg_frame *f)
{
	(void)g;
	static const char b[] = "GET /healthz HTTP/1.1\r\nHost: " HOST "\r\n\r\n";
	snprintf(f->id, sizeof(f->id), "probe");
	cr_assert_eq(mg_frame_set(f, b, sizeof(b) - 1), 0);
}

static void dm_probe(struct malgen *g, struct mg_frame *f)
{
	/* a DWR or a CCR that nobody serves: answered either way */
	cr_assert_eq(mg_valid(g, MG_DIAMETER, f), 0);
}

static void ws_hello(struct conn *c, struct malgen *g)
{
	(void)g;
	char req[512];
	int n = snprintf(req, sizeof(req),
			 "GET / HTTP/1.1\r\nHost: " HOST ":%d\r\nUpgrade: websocket\r\n"
			 "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
			 "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: msrp\r\n\r\n", D.ws);
	cr_assert_eq(c_write(c, req, (size_t)n), 0);
	const char *e;
	while (!(e = memfind(c->b ? c->b : "", c->len, "\r\n\r\n")))
		cr_assert(c_fill(c), "the upgrade was not answered");
	cr_assert(!strncmp(c->b, "HTTP/1.1 101", 12), "upgrade: %.*s", (int)(e - c->b), c->b);
	c_consume(c, (size_t)(e - c->b) + 4);
}

static void dm_hello(struct conn *c, struct malgen *g)
{
	struct mg_frame f = { 0 };
	cr_assert_eq(mg_dm_cer(g, &f), 0);
	cr_assert_eq(c_write(c, f.p, f.len), 0);
	char id[64];
	int code = 0;
	while (!ans_dm(c, id, sizeof(id), &code))
		cr_assert(c_fill(c), "no CEA");
	cr_assert_eq(code, 2001, "CEA Result-Code %d", code);
	cr_assert_str_eq(id, f.id);
	mg_frame_free(&f);
}

/* The costly kinds of the API (a body past its 1 MiB limit) one frame in 512. */
static enum mg_kind http_pick(struct malgen *g, unsigned long i)
{
	enum mg_kind k = (enum mg_kind)mg_below(g, MG_KINDS);
	if (k == MG_OVER_BODY && i % 512)
		k = MG_OVER_HEAD;
	return k;
}

/* Diameter's: a message past 1 MiB one frame in 512 (the others: lengths that lie). */
static enum mg_kind dm_pick(struct malgen *g, unsigned long i)
{
	enum mg_kind k = (enum mg_kind)mg_below(g, MG_KINDS);
	if ((k == MG_OVER_BODY || k == MG_OVER_LINE) && i % 512)
		k = MG_BAD_LENGTH;
	return k;
}

static const struct surface S_MSRP = { "msrp", MG_MSRP, 0, ans_msrp, NULL, msrp_probe, NULL,
				       481, 0 };
static const struct surface S_WS = { "msrp-ws", MG_WS, 0, ans_ws, ws_hello, ws_probe, NULL,
				     481, 0 };
static const struct surface S_SIP = { "sip-tcp", MG_SIP, 0, ans_head, NULL, sip_probe, NULL,
				      200, 0 };
/* libmicrohttpd 0.9.75 (epoll, edge-triggered) misses a FIN that comes with the last bytes
 * of an incomplete request: the connection then waits for its 30 s idle time-out. That is a
 * slow client's case (the head and idle time-outs), not a malformed frame's: reset. */
static const struct surface S_HTTP = { "api", MG_HTTP, 0, ans_head, NULL, http_probe,
				       http_pick, 200, 1 };
static const struct surface S_DM = { "diameter", MG_DIAMETER, 0, ans_dm, dm_hello, dm_probe,
				     dm_pick, 2001, 0 };

/* The counter deltas of the families in <names> between two snapshots, printed. */
#define NM 24
struct snap {
	const char *name[NM], *labels[NM];
	double v[NM];
	int n;
};

static void snap_take(struct snap *s)
{
	for (int i = 0; i < s->n; i++)
		s->v[i] = metric(s->name[i], s->labels[i]);
}

static double snap_delta(const struct snap *a, const char *name, const char *labels)
{
	for (int i = 0; i < a->n; i++)
		if (!strcmp(a->name[i], name) &&
		    ((!labels && !a->labels[i]) ||
		     (labels && a->labels[i] && !strcmp(labels, a->labels[i]))))
			return metric(name, labels) - a->v[i];
	cr_assert_fail("%s{%s} not in the snapshot", name, labels ? labels : "");
	return 0;
}

static void snap_print(const struct snap *a)
{
	for (int i = 0; i < a->n; i++)
		fprintf(stderr, "   %s{%s} +%.0f\n", a->name[i], a->labels[i] ? a->labels[i] : "",
			metric(a->name[i], a->labels[i]) - a->v[i]);
}

/* ---- MSRP over TCP ------------------------------------------------------------------------- */

static const char *const msrp_metrics[][2] = {
	{ "rcsgw_parse_errors_total", "protocol=\"msrp\"" },
	{ "rcsgw_msrp_stream_errors_total", NULL },
	{ "rcsgw_msrp_parse_errors_syntax_total", NULL },
	{ "rcsgw_msrp_parse_errors_limit_total", NULL },
	{ "rcsgw_msrp_parse_errors_body_total", NULL },
	{ "rcsgw_msrp_requests_total", "direction=\"in\"" },
	{ "rcsgw_msrp_responses_total", "direction=\"out\"" },
	{ "rcsgw_limit_hits_total", "limit=\"msrp.max_line\"" },
	{ "rcsgw_limit_hits_total", "limit=\"msrp.max_head\"" },
	{ "rcsgw_limit_hits_total", "limit=\"msrp.max_headers\"" },
	{ "rcsgw_limit_hits_total", "limit=\"msrp.max_chunk\"" },
	{ "rcsgw_engine_accepts_total", NULL },
	{ "rcsgw_engine_closes_total", NULL },
	{ NULL, NULL },
};

static void snap_of(struct snap *s, const char *const (*m)[2])
{
	s->n = 0;
	for (int i = 0; m[i][0] && s->n < NM; i++, s->n++)
		s->name[s->n] = m[i][0], s->labels[s->n] = m[i][1];
	snap_take(s);
}

static const char *const ws_metrics[][2] = {
	{ "rcsgw_parse_errors_total", "protocol=\"websocket\"" },
	{ "rcsgw_parse_errors_total", "protocol=\"msrp\"" },
	{ "rcsgw_msrp_ws_upgrades_total", NULL },
	{ "rcsgw_msrp_ws_protocol_errors_total", NULL },
	{ "rcsgw_msrp_ws_too_big_total", NULL },
	{ "rcsgw_msrp_ws_refused_total", NULL },
	{ "rcsgw_msrp_ws_split_frames_total", NULL },
	{ "rcsgw_msrp_stream_errors_total", NULL },
	{ "rcsgw_limit_hits_total", "limit=\"msrp.ws_max_message\"" },
	{ "rcsgw_msrp_requests_total", "direction=\"in\"" },
	{ "rcsgw_msrp_responses_total", "direction=\"out\"" },
	{ NULL, NULL },
};

static const char *const sip_metrics[][2] = {
	{ "rcsgw_parse_errors_total", "protocol=\"sip\"" },
	{ "rcsgw_sip_stream_errors_total", NULL },
	{ "rcsgw_sip_messages_in_total", NULL },
	{ "rcsgw_sip_unparsable_datagrams_total", NULL },
	{ "rcsgw_sip_dropped_total", NULL },
	{ "rcsgw_limit_hits_total", "limit=\"sip.max_message\"" },
	{ "rcsgw_sip_requests_total", "direction=\"in\"" },
	{ "rcsgw_sip_responses_total", "direction=\"out\"" },
	{ NULL, NULL },
};

static const char *const api_metrics[][2] = {
	{ "rcsgw_api_requests_total", NULL },
	{ "rcsgw_api_requests_total", "code=\"200\"" },
	{ "rcsgw_api_requests_total", "code=\"400\"" },
	{ "rcsgw_api_requests_total", "code=\"404\"" },
	{ "rcsgw_api_requests_total", "code=\"413\"" },
	{ "rcsgw_api_requests_total", "code=\"415\"" },
	{ "rcsgw_api_requests_total", "code=\"405\"" },
	{ "rcsgw_api_requests_total", "code=\"431\"" },
	{ "rcsgw_api_requests_total", "code=\"505\"" },
	{ "rcsgw_api_requests_total", "code=\"500\"" },
	{ NULL, NULL },
};

static const char *const dm_metrics[][2] = {
	{ "rcsgw_parse_errors_total", "protocol=\"diameter\"" },
	{ "rcsgw_diameter_malformed_total", NULL },
	{ "rcsgw_diameter_requests_total", "direction=\"in\"" },
	{ "rcsgw_diameter_answers_total", "direction=\"out\"" },
	{ "rcsgw_diameter_answer_results_total", "direction=\"out\"" },
	{ NULL, NULL },
};

/* Floods <base> on <port> with <between> called every 1000 frames; the counters of <m>
 * before and after into <sn>. */
static void flood_surface(const struct surface *base, int port, uint64_t seed,
			  const char *const (*m)[2], struct tally *t, struct snap *sn,
			  void (*between)(long i))
{
	struct surface s = *base;
	s.port = port;
	struct mg_limits lim = limits();
	if (s.proto == MG_HTTP)
		lim.max_body = 1u << 20; /* API_BODY_MAX */
	if (s.proto == MG_SIP)
		lim.max_body = SIP_MAX;
	if (s.proto == MG_DIAMETER)
		lim.max_message = 1u << 20, lim.max_headers = 4096; /* DM_DEFAULT_MAX_* */
	snap_of(sn, m);
	flood_stream(&s, frames_wanted(), seed, &lim, t, between);
	tally_print(s.name, t);
	snap_print(sn);
	expect_alive();
	cr_expect_eq(t->silent, 0, "frames neither answered nor closed on");
	cr_expect_eq(t->frames, (unsigned long)frames_wanted());
	/* a last valid message on a new connection, answered as usual */
	struct malgen g;
	struct mg_frame p = { 0 };
	struct conn c = { .fd = -1 };
	struct tally t2 = { 0 };
	int fa = 0;
	char host[64];
	snprintf(host, sizeof(host), s.proto == MG_DIAMETER ? DM_HOST : HOST ":%d", s.port);
	mg_init(&g, seed + 1, &lim, host);
	s_connect(&s, &c, &g, &t2);
	s.probe(&g, &p);
	cr_assert_eq(c_write(&c, p.p, p.len), 0);
	cr_expect_eq(s_read(&s, &c, p.id, &t2, MG_KINDS, &fa), 1, "the last probe");
	cr_expect_eq(t2.pcode[s.probe_code], 1, "the last probe's answer");
	c_close(&c);
	free(c.b);
	mg_frame_free(&p);
}

/* Answers to the frames with codes in [<lo>, <hi>]. */
static unsigned long answers_in(const struct tally *t, int lo, int hi)
{
	unsigned long n = 0;
	for (int c = lo; c <= hi && c < CODES; c++)
		n += t->code[c];
	return n;
}

/* <a> == <b>, both printed when not. */
#define EQ(a, b, ...)                                                                        \
	do {                                                                                \
		double a_ = (double)(a), b_ = (double)(b);                                  \
		cr_expect(a_ == b_, "%s = %.0f, %s = %.0f", #a, a_, #b, b_);                 \
	} while (0)

#define D_(name, labels) snap_delta(&sn, name, labels)

/* <lo> <= <v> <= <hi>, with what <v> is and why the bounds. */
#define IN_RANGE(v, lo, hi, why)                                                             \
	do {                                                                                \
		double v_ = (double)(v), lo_ = (double)(lo), hi_ = (double)(hi);            \
		cr_expect(v_ >= lo_ && v_ <= hi_, "%s = %.0f, not in [%.0f, %.0f] (%s)", #v, v_,  \
			  lo_, hi_, why);                                                   \
	} while (0)

/* The answers the daemon counted as written (<name>{direction="out"}) are those we read,
 * <read>, and at most one more per connection it closed: closing on a stream error with our
 * bytes unread ends a connection with a reset, which drops what was still in flight. */
#define ANSWERS_OUT(name, read, t)                                                            \
	IN_RANGE(D_(name, "direction=\"out\""), (read), (double)(read) + (double)(t).closed,   \
		 "read, plus one lost per connection closed")

/* ---- MSRP over TCP, the relay with credentials and without ---------------------------------- */

/* With credentials: two clients AUTHed, a third sending to B through the relay between the
 * frames; every SEND the relay took (200) must reach B. */
static struct msrp_client ca, cb, cc;
static struct mc_frame *fr;
static char relay_uri[96], up_b[1024];
static unsigned long relayed;

#define URI_A "msrp://127.0.0.1:40001/aaaa1;tcp"
#define URI_B "msrp://127.0.0.1:40002/bbbb2;tcp"
#define URI_C "msrp://127.0.0.1:40003/cccc3;tcp"

static void auth(struct msrp_client *c, const char *uri, char *up, size_t len)
{
	char hp[64];
	snprintf(hp, sizeof(hp), HOST ":%d", D.msrp);
	cr_assert_eq(mc_connect(c, hp, IO_MS), 0);
	struct mc_auth a = { relay_uri, uri, "u", "p", 0 };
	struct mc_auth_result r;
	cr_assert_eq(mc_auth(c, &a, &r, IO_MS), 0);
	cr_assert_eq(r.status, 200, "AUTH: %d", r.status);
	snprintf(up, len, "%s", r.use_path);
}

/* One SEND from C to B through the relay: C's 200, B's SEND (answered 200). */
static void relay_one(long i)
{
	char to[1200], tid[32], mid[32], body[64];
	snprintf(to, sizeof(to), "%s %s", up_b, URI_B);
	snprintf(tid, sizeof(tid), "rel%ld", i);
	snprintf(mid, sizeof(mid), "relayed-%lu", relayed);
	int n = snprintf(body, sizeof(body), "message %lu between the frames", relayed);
	struct mc_send snd = { .to_path = to, .from_path = URI_C, .message_id = mid,
			       .content_type = "text/plain", .body = body, .body_len = (size_t)n };
	cr_assert_eq(mc_send_send(&cc, tid, &snd), 0);
	cr_assert_eq(mc_read_frame(&cc, fr, IO_MS), 0);
	cr_assert(!fr->is_request && fr->status == 200, "the relay answered %d", fr->status);
	cr_assert_eq(mc_read_frame(&cb, fr, IO_MS), 0, "B did not get %s", mid);
	cr_assert(fr->is_request && !strcmp(fr->method, "SEND"));
	cr_assert_str_eq(mc_header(fr, "Message-ID"), mid);
	cr_assert(fr->body_len == (size_t)n && !memcmp(fr->body, body, (size_t)n));
	cr_assert_eq(mc_send_response(&cb, fr, 200, "OK"), 0);
	relayed++;
}

static void write_htdigest(void)
{
	char cmd[300];
	snprintf(D.ht, sizeof(D.ht), "/tmp/rcsgw-flood-%d.htdigest", (int)getpid());
	snprintf(cmd, sizeof(cmd), "printf 'u:rcsgw:%%s\\n' $(printf '%%s' 'u:rcsgw:p' | md5sum | "
		 "cut -d' ' -f1) > %s", D.ht);
	cr_assert_eq(system(cmd), 0);
}

static void flood_msrp(int creds)
{
	static struct tally t;
	struct snap sn;
	up(creds);
	if (creds) {
		fr = malloc(sizeof(*fr));
		cr_assert(fr);
		snprintf(relay_uri, sizeof(relay_uri), "msrp://" HOST ":%d;tcp", D.msrp);
		char up_a[1024];
		auth(&ca, URI_A, up_a, sizeof(up_a));
		auth(&cb, URI_B, up_b, sizeof(up_b));
		char hp[64];
		snprintf(hp, sizeof(hp), HOST ":%d", D.msrp);
		cr_assert_eq(mc_connect(&cc, hp, IO_MS), 0);
		relayed = 0;
	}
	flood_surface(&S_MSRP, D.msrp, creds ? 11 : 12, msrp_metrics, &t, &sn,
		      creds ? relay_one : NULL);
	/* every stream the parser broke was closed, and only those */
	EQ(D_("rcsgw_msrp_stream_errors_total", NULL), t.closed);
	EQ(D_("rcsgw_parse_errors_total", "protocol=\"msrp\""), t.closed);
	EQ(D_("rcsgw_msrp_parse_errors_syntax_total", NULL) +
		     D_("rcsgw_msrp_parse_errors_limit_total", NULL) +
		     D_("rcsgw_msrp_parse_errors_body_total", NULL), t.closed);
	EQ(D_("rcsgw_limit_hits_total", "limit=\"msrp.max_line\"") +
		     D_("rcsgw_limit_hits_total", "limit=\"msrp.max_head\"") +
		     D_("rcsgw_limit_hits_total", "limit=\"msrp.max_headers\"") +
		     D_("rcsgw_limit_hits_total", "limit=\"msrp.max_chunk\""),
		     D_("rcsgw_msrp_parse_errors_limit_total", NULL) +
		     D_("rcsgw_msrp_parse_errors_body_total", NULL));
	cr_expect_gt(D_("rcsgw_limit_hits_total", "limit=\"msrp.max_line\""), 0);
	cr_expect_gt(D_("rcsgw_limit_hits_total", "limit=\"msrp.max_chunk\""), 0);
	/* the relayed messages' 200s to C on top */
	ANSWERS_OUT("rcsgw_msrp_responses_total", t.answered + t.probes + 1 + relayed, t);
	EQ(D_("rcsgw_engine_accepts_total", NULL), t.conns + 1);
	if (creds) {
		EQ(relayed, (unsigned long)frames_wanted() / 1000, "relayed between");
		relay_one(-1); /* and one after */
		mc_close(&ca), mc_close(&cb), mc_close(&cc);
		free(fr);
	}
}

Test(faults_flood, msrp_tcp_relay_without_credentials)
{
	flood_msrp(0);
}

Test(faults_flood, msrp_tcp_relay_with_credentials)
{
	flood_msrp(1);
}

/* ---- MSRP over WebSocket ------------------------------------------------------------------- */

Test(faults_flood, msrp_websocket)
{
	static struct tally t;
	struct snap sn;
	up(0);
	flood_surface(&S_WS, D.ws, 21, ws_metrics, &t, &sn, NULL);
	EQ(D_("rcsgw_msrp_ws_upgrades_total", NULL), t.conns + 1);
	/* the frame layer's failures are closed 1002 (protocol), 1007 (bad UTF-8), or with a
	 * close frame without a code (a frame that could not be parsed, a close of 1 byte);
	 * a reset may have taken the close frame away (then the connection just closed) */
	unsigned long pe = t.code[1002] + t.code[1005] + t.code[1007];
	unsigned long closes = answers_in(&t, 1000, 1015);
	unsigned long bare = t.closed > closes ? t.closed - closes : 0;
	double wpe = D_("rcsgw_msrp_ws_protocol_errors_total", NULL);
	IN_RANGE(wpe, pe, pe + bare, "closes 1002/1005/1007, plus connections closed bare");
	EQ(D_("rcsgw_parse_errors_total", "protocol=\"websocket\""), wpe);
	/* messages over msrp.ws_max_message closed 1009 */
	EQ(D_("rcsgw_msrp_ws_too_big_total", NULL), t.code[1009]);
	EQ(D_("rcsgw_limit_hits_total", "limit=\"msrp.ws_max_message\""), t.code[1009]);
	/* broken MSRP inside the messages: the stream closed 1008 */
	EQ(D_("rcsgw_parse_errors_total", "protocol=\"msrp\""), t.code[1008]);
	ANSWERS_OUT("rcsgw_msrp_responses_total", answers_in(&t, 200, 999) + t.probes + 1, t);
}

/* ---- SIP over TCP -------------------------------------------------------------------------- */

Test(faults_flood, sip_tcp)
{
	static struct tally t;
	struct snap sn;
	up(0);
	flood_surface(&S_SIP, D.sip, 31, sip_metrics, &t, &sn, NULL);
	/* a stream error closes the connection; one ended by us mid-message may be one too (a
	 * body shorter than its Content-Length at the end of the stream) */
	double se = D_("rcsgw_sip_stream_errors_total", NULL);
	IN_RANGE(se, t.closed, t.closed + t.shut, "closed by rcsgw, plus some ended by us");
	cr_expect_geq(D_("rcsgw_parse_errors_total", "protocol=\"sip\""), se);
	ANSWERS_OUT("rcsgw_sip_responses_total", t.answered + t.probes + 1, t);
	EQ(D_("rcsgw_sip_unparsable_datagrams_total", NULL), 0);
	cr_expect_gt(D_("rcsgw_limit_hits_total", "limit=\"sip.max_message\""), 0);
	/* 505 (version) and 513 (too large) are the client's; no other 5xx */
	EQ(answers_in(&t, 500, 504) + answers_in(&t, 506, 512) + answers_in(&t, 514, 599), 0);
}

/* ---- the REST API -------------------------------------------------------------------------- */

Test(faults_flood, api_http)
{
	static struct tally t;
	struct snap sn;
	up(0);
	flood_surface(&S_HTTP, D.api, 41, api_metrics, &t, &sn, NULL);
	/* every answer counted by code, libmicrohttpd's own refusals included; the scrapes
	 * of the snapshot and the health checks are the rest */
	IN_RANGE(D_("rcsgw_api_requests_total", NULL), t.answered + t.probes + 1,
		 t.answered + t.probes + 1 + 2 * sn.n + 4, "answers read, plus the scrapes");
	EQ(D_("rcsgw_api_requests_total", "code=\"400\""), t.code[400]);
	EQ(D_("rcsgw_api_requests_total", "code=\"404\""), t.code[404]);
	EQ(D_("rcsgw_api_requests_total", "code=\"405\""), t.code[405]);
	EQ(D_("rcsgw_api_requests_total", "code=\"413\""), t.code[413]);
	EQ(D_("rcsgw_api_requests_total", "code=\"431\""), t.code[431]);
	EQ(D_("rcsgw_api_requests_total", "code=\"505\""), t.code[505]);
	EQ(answers_in(&t, 500, 504) + answers_in(&t, 506, 599), 0);
	/* the API's errors in JSON (checked one by one); libmicrohttpd's in HTML, only for
	 * what it refuses itself: a request line or head it cannot read (400, 431, 505) */
	EQ(http_json_errors + http_html_errors, answers_in(&t, 400, 599));
	cr_expect_leq(http_html_errors, t.code[400] + t.code[431] + t.code[505]);
	cr_expect_gt(t.code[415], 0, "JSON under another Content-Type");
	/* the two the flood found, one by one: a target that is no path (was 500), and JSON
	 * under another type (was taken) */
	static const struct { const char *m, *path, *hdrs, *body; int status; } one[] = {
		{ "GET", "junk", NULL, NULL, 400 },
		{ "POST", "/v1/sessions", "Content-Type: text/plain\r\n", "{}", 415 },
		{ "POST", "/v1/sessions", "Content-Type: application/json; charset=utf-8\r\n",
		  "{}", 400 },
		{ "POST", "/v1/sessions", "Content-Type: application/merge-patch+json\r\n", "{}",
		  400 },
	};
	for (unsigned i = 0; i < sizeof(one) / sizeof(one[0]); i++) {
		int st = 0;
		char *b = NULL;
		cr_assert_eq(http_request(HOST, D.api, one[i].m, one[i].path, one[i].hdrs, one[i].body,
					  &st, NULL, &b, IO_MS), 0);
		cr_expect_eq(st, one[i].status, "%s %s: %d %s", one[i].m, one[i].path, st, b);
		http_error_body(b, strlen(b), st);
		free(b);
	}
	fprintf(stderr, "faults_flood api: errors in JSON %lu, in libmicrohttpd's HTML %lu (%lu "
		"of them with the head twice)\n", http_json_errors, http_html_errors,
		http_double_heads);
}

/* ---- a Diameter peer ----------------------------------------------------------------------- */

Test(faults_flood, diameter_peer)
{
	static struct tally t;
	struct snap sn;
	up(0);
	flood_surface(&S_DM, D.dia, 51, dm_metrics, &t, &sn, NULL);
	/* malformed: the requests answered with a protocol or message error, and the streams
	 * that could not be framed (closed; those we ended may have been found so first) */
	unsigned long bad = t.code[3001] + t.code[3008] + t.code[3009] + answers_in(&t, 5000, 5999);
	double mal = D_("rcsgw_diameter_malformed_total", NULL);
	IN_RANGE(mal, bad + t.closed, bad + t.closed + t.shut,
		 "answered as malformed, closed, and some ended by us");
	EQ(D_("rcsgw_parse_errors_total", "protocol=\"diameter\""), mal);
	/* the CEAs on top */
	ANSWERS_OUT("rcsgw_diameter_answers_total", t.answered + t.probes + 1 + t.conns + 1, t);
	EQ(t.code[2001], 0, "a malformed request taken as good");
}

/* ---- SIP over UDP -------------------------------------------------------------------------- */

/* Datagrams the kernel dropped on the daemon's UDP sockets of <port> (/proc/net/udp). */
static unsigned long udp_drops(int port)
{
	FILE *f = fopen("/proc/net/udp", "r");
	char line[512];
	unsigned long sum = 0;
	cr_assert(f);
	while (fgets(line, sizeof(line), f)) {
		unsigned la, lp, drops = 0;
		if (sscanf(line, " %*d: %x:%x", &la, &lp) != 2 || (int)lp != port)
			continue;
		/* the last field is "drops" */
		char *last = strrchr(line, ' ');
		if (last)
			drops = (unsigned)strtoul(last + 1, NULL, 10);
		sum += drops;
	}
	fclose(f);
	return sum;
}

struct udp_run {
	int fd;
	unsigned long replies, probe_replies;
	unsigned long code[700];
	char probe_seen[256]; /* probes answered, by number % 2048 / 8 bits */
};

/* Reads what came back, without waiting longer than <ms>. */
static void udp_drain(struct udp_run *u, int ms)
{
	char b[70000];
	struct pollfd pf = { .fd = u->fd, .events = POLLIN };
	while (poll(&pf, 1, ms) > 0) {
		ssize_t r = recv(u->fd, b, sizeof(b) - 1, 0);
		if (r <= 0)
			break;
		b[r] = 0;
		int code = 0;
		cr_assert(sscanf(b, "SIP/2.0 %d", &code) == 1, "not a SIP response: %.60s", b);
		char *cid = strstr(b, "\r\nCall-ID: udp-probe-");
		unsigned n;
		if (cid && sscanf(cid, "\r\nCall-ID: udp-probe-%u", &n) == 1) {
			u->probe_replies++;
			u->probe_seen[(n % 2048) / 8] |= (char)(1 << (n % 8));
			cr_expect_eq(code, 200, "probe %u answered %d", n, code);
		} else {
			u->replies++;
			u->code[code >= 0 && code < 700 ? code : 0]++;
		}
		ms = 0;
	}
}

Test(faults_flood, sip_udp)
{
	static struct udp_run u;
	struct snap sn;
	up(0);
	memset(&u, 0, sizeof(u));
	u.fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int big = 8 << 20;
	setsockopt(u.fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)D.sip) };
	inet_pton(AF_INET, HOST, &a.sin_addr);
	cr_assert_eq(connect(u.fd, (struct sockaddr *)&a, sizeof(a)), 0);
	struct sockaddr_in me;
	socklen_t ml = sizeof(me);
	getsockname(u.fd, (struct sockaddr *)&me, &ml);

	struct mg_limits lim = limits();
	lim.max_body = SIP_MAX;
	struct malgen g;
	char host[64];
	snprintf(host, sizeof(host), HOST ":%d", D.sip);
	mg_init(&g, 61, &lim, host);
	snprintf(g.via, sizeof(g.via), HOST ":%d", ntohs(me.sin_port));
	struct mg_frame f = { 0 };
	snap_of(&sn, sip_metrics);
	unsigned long drops0 = udp_drops(D.sip), sent = 0, too_big = 0, probes = 0;
	long n = frames_wanted();
	double t0 = now_s();
	for (long i = 0; i < n; i++) {
		cr_assert_eq(mg_make(&g, MG_SIP, MG_KINDS, &f), 0);
		cur = &f;
		if (f.len > 65507) { /* not a datagram: cut to the largest one */
			f.len = 65507;
			too_big++;
		}
		cr_assert_eq(send(u.fd, f.p, f.len, 0), (ssize_t)f.len, "send: %s",
			     strerror(errno));
		sent++;
		if (i % 1000 == 999) { /* a valid OPTIONS between: it must be answered 200 */
			char b[512];
			int m = snprintf(b, sizeof(b),
					 "OPTIONS sip:gw@" HOST ":%d SIP/2.0\r\nVia: SIP/2.0/UDP %s;"
					 "rport;branch=z9hG4bKu%lu\r\nMax-Forwards: 70\r\nFrom: "
					 "<sip:probe@127.0.0.1>;tag=u\r\nTo: <sip:gw@" HOST ">\r\n"
					 "Call-ID: udp-probe-%lu\r\nCSeq: 1 OPTIONS\r\n"
					 "Content-Length: 0\r\n\r\n", D.sip, g.via, probes, probes);
			cr_assert_eq(send(u.fd, b, (size_t)m, 0), m);
			probes++;
		}
		/* pacing: every 32 datagrams, read the answers and let the daemon catch up */
		if (i % 32 == 31)
			udp_drain(&u, 1);
	}
	cur = NULL;
	/* everything sent was taken (parsed, or refused as unparsable) or dropped by the
	 * kernel: wait for the counters to say so */
	double in = 0, bad = 0;
	unsigned long drops = 0;
	for (int w = 0; w < 100; w++) {
		udp_drain(&u, 20);
		in = D_("rcsgw_sip_messages_in_total", NULL);
		bad = D_("rcsgw_sip_unparsable_datagrams_total", NULL);
		drops = udp_drops(D.sip) - drops0;
		if (in + bad + (double)drops >= (double)(sent + probes))
			break;
	}
	udp_drain(&u, 200);
	double t1 = now_s();
	fprintf(stderr, "faults_flood sip-udp: %lu datagrams (+%lu probes) in %.2f s = %.0f/s, "
		"%lu cut to 65507 bytes, %lu dropped by the kernel, %lu answers:", sent, probes,
		t1 - t0, (double)sent / (t1 - t0), too_big, drops, u.replies);
	for (int c = 0; c < 700; c++)
		if (u.code[c])
			fprintf(stderr, " %d:%lu", c, u.code[c]);
	fprintf(stderr, "; probes answered %lu\n", u.probe_replies);
	snap_print(&sn);
	expect_alive();
	/* each datagram: parsed and handed up, or refused as unparsable, or dropped by the
	 * kernel before the daemon read it */
	EQ(in + bad + (double)drops, (double)(sent + probes));
	EQ(D_("rcsgw_parse_errors_total", "protocol=\"sip\""), bad);
	/* every answer the daemon sent came (a socket buffer of 8 MiB, drained), but those it
	 * sent again (a final answer to an INVITE, until an ACK that never comes: timer G)
	 * and those sent where a broken Via said (a sent-by without rport) */
	cr_expect_geq(D_("rcsgw_sip_responses_total", "direction=\"out\""),
		      u.replies + u.probe_replies);
	/* every valid OPTIONS answered, but those the kernel dropped */
	cr_expect(u.probe_replies + drops >= probes, "probes %lu, answered %lu, drops %lu", probes,
		  u.probe_replies, drops);
	EQ(u.code[500] + u.code[501] + u.code[502] + u.code[503] + u.code[504], 0);
	mg_frame_free(&f);
	close(u.fd);
}

/* ---- CPIM, IMDN and isComposing bodies in valid SENDs to a session ---------------------------- */

static const char *const rcs_metrics[][2] = {
	{ "rcsgw_rcs_cpim_received_total", NULL },
	{ "rcsgw_rcs_cpim_bad_total", NULL },
	{ "rcsgw_rcs_imdn_received_total", NULL },
	{ "rcsgw_rcs_imdn_bad_total", NULL },
	{ "rcsgw_rcs_composing_received_total", NULL },
	{ "rcsgw_msrp_requests_total", "direction=\"in\",method=\"SEND\"" },
	{ "rcsgw_msrp_responses_total", "direction=\"out\"" },
	{ "rcsgw_parse_errors_total", "protocol=\"msrp\"" },
	{ NULL, NULL },
};

/* The user agent's fixture (tests/lib/ua_fx.h): a session to a sipp phone whose MSRP end is
 * this test; the phone sends SENDs whose message/cpim bodies are the generator's. The
 * session must stay up, each SEND be answered, each body be unwrapped or counted bad, and a
 * valid message still arrive as message.received. */
Test(faults_flood, cpim_imdn_iscomposing_in_a_session)
{
	ufx_need_sipp();
	ufx_up_with(NULL);
	D.api = ufx.api; /* metric() reads this daemon's */
	struct msrp_client *c = calloc(1, sizeof(*c));
	struct mc_frame *f = malloc(sizeof(*f));
	cr_assert(c && f);
	json_t *s = ufx_session_up("uas_msrp.xml", NULL, NULL, NULL, c, f);
	const char *id = ufx_jstr(s, "id");
	char to[256], from[128];
	snprintf(to, sizeof(to), "%s", mc_header(f, "From-Path"));
	snprintf(from, sizeof(from), "msrp://" HOST ":%d/phone1sid;tcp", ufx.ml_port);

	struct mg_limits lim = limits();
	lim.max_body = 4096;
	struct malgen g;
	mg_init(&g, 71, &lim, HOST);
	struct mg_frame b = { 0 };
	struct snap sn;
	snap_of(&sn, rcs_metrics);
	static unsigned long code[700];
	unsigned long sends = 0, requests = 0, ok = 0;
	long n = frames_wanted();
	double t0 = now_s();
	for (long i = 0; i < n; i++) {
		cr_assert_eq(mg_make(&g, MG_CPIM, MG_KINDS, &b), 0);
		cur = &b;
		if (b.len > MC_BODY_MAX - 1024)
			b.len = MC_BODY_MAX - 1024;
		char tid[32], mid[32];
		snprintf(tid, sizeof(tid), "cpim%ld", i);
		snprintf(mid, sizeof(mid), "fz-%ld", i);
		struct mc_send snd = { .to_path = to, .from_path = from, .message_id = mid,
				       .failure_report = "yes", .success_report = "no",
				       .content_type = "message/cpim", .body = b.p,
				       .body_len = b.len };
		cr_assert_eq(mc_send_send(c, tid, &snd), 0, "%s", cur_text());
		sends++;
		for (;;) {
			int rc = mc_read_frame(c, f, IO_MS);
			cr_assert_eq(rc, 0, "no answer to %s", cur_text());
			if (f->is_request) { /* a notification of rcsgw's (IMDN): answered */
				requests++;
				if (!strcmp(f->method, "SEND"))
					cr_assert_eq(mc_send_response(c, f, 200, "OK"), 0);
				continue;
			}
			if (!strcmp(f->tid, tid))
				break;
		}
		code[f->status < 700 ? f->status : 0]++;
		ok += f->status == 200;
	}
	cur = NULL;
	double t1 = now_s();
	fprintf(stderr, "faults_flood cpim: %lu SENDs in %.2f s = %.0f/s, %lu requests of rcsgw's, "
		"answers:", sends, t1 - t0, (double)sends / (t1 - t0), requests);
	for (int k = 0; k < 700; k++)
		if (code[k])
			fprintf(stderr, " %d:%lu", k, code[k]);
	fprintf(stderr, "\n");
	/* the counters move with the fixture's own traffic a little later: wait for them */
	for (int w = 0; w < 100; w++) {
		if (D_("rcsgw_rcs_cpim_received_total", NULL) + D_("rcsgw_rcs_cpim_bad_total", NULL) >=
		    (double)ok)
			break;
		usleep(20000);
	}
	snap_print(&sn);
	/* the event stream fell behind during the flood (the API cut it off, as it should): a
	 * new one for what follows */
	sse_close(&ufx.sse);
	cr_assert_eq(sse_open(&ufx.sse, HOST, ufx.api, ufx.auth[0] ? ufx.auth : NULL), 0);
	/* every SEND answered; each one taken (200) unwrapped or counted bad */
	EQ(D_("rcsgw_msrp_requests_total", "direction=\"in\",method=\"SEND\""), sends);
	EQ(D_("rcsgw_rcs_cpim_received_total", NULL) + D_("rcsgw_rcs_cpim_bad_total", NULL), ok);
	EQ(D_("rcsgw_parse_errors_total", "protocol=\"msrp\""), 0);
	EQ(code[500] + code[501] + code[502] + code[503], 0);
	/* the session is still up: a valid message arrives as an event */
	static const char hi[] = "From: <sip:phone@127.0.0.1>\r\nTo: <sip:bot@127.0.0.1>\r\n"
				 "DateTime: 2026-11-27T10:00:00Z\r\n\r\nContent-Type: text/plain\r\n"
				 "\r\nstill here";
	struct mc_send snd = { .to_path = to, .from_path = from, .message_id = "fz-last",
			       .content_type = "message/cpim", .body = hi,
			       .body_len = sizeof(hi) - 1 };
	cr_assert_eq(mc_send_send(c, "cpimlast", &snd), 0);
	for (;;) {
		cr_assert_eq(mc_read_frame(c, f, IO_MS), 0);
		if (!f->is_request && !strcmp(f->tid, "cpimlast"))
			break;
		if (f->is_request && !strcmp(f->method, "SEND"))
			mc_send_response(c, f, 200, "OK");
	}
	cr_expect_eq(f->status, 200);
	json_t *e = ufx_event("message.received", id, 5000);
	cr_expect_str_eq(ufx_jstr(e, "body"), "still here");
	json_decref(e);
	cr_assert_eq(waitpid(ufx.pid, NULL, WNOHANG), 0, "rcsgw died");
	ufx_end_session(id);
	ufx_sipp_done(0);
	mc_close(c);
	free(c);
	free(f);
	mg_frame_free(&b);
	json_decref(s);
	ufx_down();
	D.api = 0;
}

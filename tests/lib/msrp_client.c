/* msrp_client.c — see msrp_client.h. */
#include "tests/lib/msrp_client.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/md5.h>

#include "engine/eng.h"

static long long mc_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- connection ------------------------------------------------------------------------ */

/* Socket timeouts bound connect(), the TLS handshake and every blocking write. */
static void set_io_timeout(int fd, int timeout_ms)
{
	struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000 };
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

int mc_connect(struct msrp_client *c, const char *hostport, int timeout_ms)
{
	struct sockaddr_storage ss;
	socklen_t sl;

	c->fd = -1;
	c->ctx = NULL;
	c->ssl = NULL;
	c->rlen = 0;
	if (eng_parse_hostport(hostport, &ss, &sl) < 0)
		return -EINVAL;
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	set_io_timeout(fd, timeout_ms);
	if (connect(fd, (struct sockaddr *)&ss, sl) < 0) {
		int e = errno == EINPROGRESS || errno == EAGAIN ? ETIMEDOUT : errno;
		close(fd);
		return -e;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->fd = fd;
	return 0;
}

int mc_connect_tls(struct msrp_client *c, const char *hostport, const char *ca_file,
		   const char *sni, int timeout_ms)
{
	int rc = mc_connect(c, hostport, timeout_ms);
	if (rc < 0)
		return rc;
	wolfSSL_Init();  /* counted: one wolfSSL_Cleanup() per client in mc_close() */
	c->ctx = wolfSSL_CTX_new(wolfTLS_client_method());
	if (!c->ctx) {
		mc_close(c);
		return -ENOMEM;
	}
	if (ca_file) {
		if (wolfSSL_CTX_load_verify_locations(c->ctx, ca_file, NULL) != WOLFSSL_SUCCESS) {
			mc_close(c);
			return -ENOENT;
		}
		wolfSSL_CTX_set_verify(c->ctx, WOLFSSL_VERIFY_PEER, NULL);
	} else {
		wolfSSL_CTX_set_verify(c->ctx, WOLFSSL_VERIFY_NONE, NULL);
	}
	c->ssl = wolfSSL_new(c->ctx);
	if (!c->ssl) {
		mc_close(c);
		return -ENOMEM;
	}
	wolfSSL_set_fd(c->ssl, c->fd);
	if (sni) {
		wolfSSL_UseSNI(c->ssl, WOLFSSL_SNI_HOST_NAME, sni, (unsigned short)strlen(sni));
		if (ca_file)
			wolfSSL_check_domain_name(c->ssl, sni);
	}
	if (wolfSSL_connect(c->ssl) != WOLFSSL_SUCCESS) {
		int e = wolfSSL_get_error(c->ssl, 0);
		mc_close(c);
		return e == WOLFSSL_ERROR_WANT_READ || e == WOLFSSL_ERROR_WANT_WRITE ? -ETIMEDOUT
										      : -EACCES;
	}
	return 0;
}

void mc_close(struct msrp_client *c)
{
	if (c->ssl) {
		wolfSSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->ctx) {
		wolfSSL_CTX_free(c->ctx);
		c->ctx = NULL;
		wolfSSL_Cleanup();
	}
	if (c->fd > 0)
		close(c->fd);
	c->fd = -1;
	c->rlen = 0;
}

int mc_send_raw(struct msrp_client *c, const void *p, size_t len)
{
	const char *q = p;

	if (c->fd < 0)
		return -ENOTCONN;
	while (len) {
		ssize_t w;
		if (c->ssl) {
			int n = wolfSSL_write(c->ssl, q, len > 65536 ? 65536 : (int)len);
			w = n > 0 ? n : -1;
			if (n <= 0)
				errno = EIO;
		} else {
			w = send(c->fd, q, len, MSG_NOSIGNAL);
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		q += w;
		len -= (size_t)w;
	}
	return 0;
}

/* ---- frames ---------------------------------------------------------------------------- */

#define MC_NEED_MORE 1

static int is_tid_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       strchr(".-+%=", ch) != NULL;
}

static int is_token_char(char ch)
{
	return ch > 0x20 && ch < 0x7f && !strchr("()<>@,;:\\\"/[]?={}", ch);
}

/* The line that starts at <p> (<n> bytes available): its length without CRLF, or -1 when
 * no CRLF is there yet. A bare CR or LF inside is not allowed: -2. */
static long line_len(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\r') {
			if (i + 1 == n)
				return -1;
			return p[i + 1] == '\n' ? (long)i : -2;
		}
		if (p[i] == '\n' || p[i] == '\0')
			return -2;
	}
	return -1;
}

/* "-------<tid><flag>" of length <len>? Sets *<flag>. */
static int is_end_line(const char *p, long len, const char *tid, char *flag)
{
	size_t tl = strlen(tid);

	if ((size_t)len != 7 + tl + 1 || memcmp(p, "-------", 7) != 0 || memcmp(p + 7, tid, tl) != 0)
		return 0;
	*flag = p[7 + tl];
	return *flag == '$' || *flag == '+' || *flag == '#';
}

/* Parses the start line "MSRP <tid> <method>" or "MSRP <tid> <code>[ <comment>]" (NUL-
 * terminated, inside f->buf). 0 or -EPROTO. */
static int parse_start(struct mc_frame *f, char *line)
{
	if (strncmp(line, "MSRP ", 5) != 0)
		return -EPROTO;
	char *tid = line + 5, *sp = strchr(tid, ' ');
	if (!sp || sp - tid < 4 || sp - tid > MC_TID_MAX)
		return -EPROTO;
	for (char *q = tid; q < sp; q++)
		if (!is_tid_char(*q))
			return -EPROTO;
	memcpy(f->tid, tid, (size_t)(sp - tid));
	f->tid[sp - tid] = '\0';
	char *rest = sp + 1;
	if (rest[0] >= '0' && rest[0] <= '9') {
		if (!(rest[1] >= '0' && rest[1] <= '9' && rest[2] >= '0' && rest[2] <= '9') ||
		    (rest[3] != '\0' && rest[3] != ' '))
			return -EPROTO;
		f->is_request = 0;
		f->status = (rest[0] - '0') * 100 + (rest[1] - '0') * 10 + (rest[2] - '0');
		f->comment = rest[3] ? rest + 4 : rest + 3;
		return 0;
	}
	size_t ml = strlen(rest);
	if (ml == 0 || ml >= sizeof(f->method))
		return -EPROTO;
	for (size_t i = 0; i < ml; i++)
		if (!(rest[i] >= 'A' && rest[i] <= 'Z'))
			return -EPROTO;
	f->is_request = 1;
	memcpy(f->method, rest, ml + 1);
	return 0;
}

/* Looks for "\r\n-------<tid><flag>\r\n" in <in>[<from>..<n>): the offset of its CR, or
 * -1 when it is not (yet) there. */
static long find_end(const char *in, size_t from, size_t n, const char *tid, char *flag)
{
	char pat[MC_TID_MAX + 16];
	size_t pl = (size_t)snprintf(pat, sizeof(pat), "\r\n-------%s", tid);

	for (size_t i = from; i + pl + 3 <= n; i++) {
		if (in[i] != '\r' || memcmp(in + i, pat, pl) != 0)
			continue;
		char fl = in[i + pl];
		if ((fl == '$' || fl == '+' || fl == '#') && in[i + pl + 1] == '\r' &&
		    in[i + pl + 2] == '\n') {
			*flag = fl;
			return (long)i;
		}
	}
	return -1;
}

/* Tries to cut one frame from <in>[0..<n>) into <f>. 0 (f->raw_len bytes used),
 * MC_NEED_MORE, or -EPROTO / -EMSGSIZE. */
static int cut_frame(const char *in, size_t n, struct mc_frame *f)
{
	size_t limit = n > MC_HEAD_MAX ? MC_HEAD_MAX : n, pos;
	long ll = line_len(in, limit);

	memset(f, 0, offsetof(struct mc_frame, buf));
	if (ll == -2 || memcmp(in, "MSRP ", limit < 5 ? limit : 5) != 0)
		return -EPROTO;
	if (ll < 0)
		return n >= MC_HEAD_MAX ? -EMSGSIZE : MC_NEED_MORE;
	/* f->buf mirrors the wire positions; each line is NUL-terminated there */
	memcpy(f->buf, in, (size_t)ll);
	f->buf[ll] = '\0';
	int rc = parse_start(f, f->buf);
	if (rc < 0)
		return rc;
	for (pos = (size_t)ll + 2;; pos += (size_t)ll + 2) {
		if (pos >= limit)
			return n >= MC_HEAD_MAX ? -EMSGSIZE : MC_NEED_MORE;
		ll = line_len(in + pos, limit - pos);
		if (ll == -2)
			return -EPROTO;
		if (ll < 0)
			return n >= MC_HEAD_MAX ? -EMSGSIZE : MC_NEED_MORE;
		const char *line = in + pos;
		if (is_end_line(line, ll, f->tid, &f->flag)) {
			f->raw_len = pos + (size_t)ll + 2;
			return 0;
		}
		if (ll == 0)
			break;
		if (f->nhdr == MC_MAX_HEADERS)
			return -EMSGSIZE;
		char *h = f->buf + pos;
		memcpy(h, line, (size_t)ll);
		h[ll] = '\0';
		char *colon = strchr(h, ':');
		if (!colon || colon == h || colon[1] != ' ')
			return -EPROTO;
		for (char *q = h; q < colon; q++)
			if (!is_token_char(*q))
				return -EPROTO;
		*colon = '\0';
		f->hdr[f->nhdr].name = h;
		f->hdr[f->nhdr].value = colon + 2;
		f->nhdr++;
	}
	/* a blank line: the body runs up to CRLF + end-line */
	size_t bstart = pos + 2;
	size_t scan = n - bstart > MC_BODY_MAX + MC_TID_MAX + 12 ? bstart + MC_BODY_MAX + MC_TID_MAX + 12 : n;
	long end = find_end(in, bstart, scan, f->tid, &f->flag);
	if (end < 0)
		return scan < n ? -EMSGSIZE : MC_NEED_MORE;
	f->body_len = (size_t)end - bstart;
	if (f->body_len > MC_BODY_MAX)
		return -EMSGSIZE;
	char *b = f->buf + bstart;
	memcpy(b, in + bstart, f->body_len);
	b[f->body_len] = '\0';
	f->body = b;
	f->raw_len = (size_t)end + 2 + 7 + strlen(f->tid) + 3;
	return 0;
}

int mc_read_frame(struct msrp_client *c, struct mc_frame *f, int timeout_ms)
{
	long long deadline = mc_now_ms() + timeout_ms;

	if (c->fd < 0)
		return -ENOTCONN;
	for (;;) {
		int rc = cut_frame(c->rbuf, c->rlen, f);
		if (rc < 0)
			return rc;
		if (rc == 0) {
			c->rlen -= f->raw_len;
			memmove(c->rbuf, c->rbuf + f->raw_len, c->rlen);
			return 0;
		}
		if (c->rlen == sizeof(c->rbuf))
			return -EMSGSIZE;
		int left = (int)(deadline - mc_now_ms());
		if (!(c->ssl && wolfSSL_pending(c->ssl) > 0)) {
			struct pollfd p = { .fd = c->fd, .events = POLLIN };
			int pr = left > 0 ? poll(&p, 1, left) : 0;
			if (pr < 0 && errno == EINTR)
				continue;
			if (pr <= 0)
				return -ETIMEDOUT;
		}
		size_t room = sizeof(c->rbuf) - c->rlen;
		ssize_t r;
		if (c->ssl) {
			int k = wolfSSL_read(c->ssl, c->rbuf + c->rlen, (int)room);
			if (k <= 0) {
				int e = wolfSSL_get_error(c->ssl, k);
				if (e == WOLFSSL_ERROR_WANT_READ)
					continue;
				return -ECONNRESET;
			}
			r = k;
		} else {
			r = recv(c->fd, c->rbuf + c->rlen, room, 0);
			if (r < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (r < 0)
				return -errno;
			if (r == 0)
				return -ECONNRESET;
		}
		c->rlen += (size_t)r;
	}
}

const char *mc_header(const struct mc_frame *f, const char *name)
{
	for (int i = 0; i < f->nhdr; i++)
		if (strcasecmp(f->hdr[i].name, name) == 0)
			return f->hdr[i].value;
	return NULL;
}

/* ---- building requests ----------------------------------------------------------------- */

struct mc_out {
	char *p;
	size_t len, cap;
	int overflow;
};

static void out_add(struct mc_out *o, const void *p, size_t n)
{
	if (o->overflow || o->len + n > o->cap) {
		o->overflow = 1;
		return;
	}
	memcpy(o->p + o->len, p, n);
	o->len += n;
}

static void out_hdr(struct mc_out *o, const char *name, const char *value)
{
	if (!value)
		return;
	out_add(o, name, strlen(name));
	out_add(o, ": ", 2);
	out_add(o, value, strlen(value));
	out_add(o, "\r\n", 2);
}

static void out_end(struct mc_out *o, const char *tid, char flag)
{
	out_add(o, "-------", 7);
	out_add(o, tid, strlen(tid));
	out_add(o, &flag, 1);
	out_add(o, "\r\n", 2);
}

static int out_send(struct msrp_client *c, struct mc_out *o)
{
	int rc = o->overflow ? -EMSGSIZE : mc_send_raw(c, o->p, o->len);
	free(o->p);
	return rc;
}

static int out_init(struct mc_out *o, size_t cap)
{
	o->p = malloc(cap);
	o->len = 0;
	o->cap = cap;
	o->overflow = 0;
	return o->p ? 0 : -ENOMEM;
}

/* Starts request "MSRP <tid> <method>" in a new <o> of <cap> bytes, with its paths. */
static int out_request(struct mc_out *o, size_t cap, const char *tid, const char *method,
		       const char *to_path, const char *from_path)
{
	if (out_init(o, cap) < 0)
		return -ENOMEM;
	out_add(o, "MSRP ", 5);
	out_add(o, tid, strlen(tid));
	out_add(o, " ", 1);
	out_add(o, method, strlen(method));
	out_add(o, "\r\n", 2);
	out_hdr(o, "To-Path", to_path);
	out_hdr(o, "From-Path", from_path);
	return 0;
}

int mc_send_send(struct msrp_client *c, const char *tid, const struct mc_send *s)
{
	struct mc_out o;
	char range[64];

	if (out_request(&o, MC_FRAME_MAX, tid, "SEND", s->to_path, s->from_path) < 0)
		return -ENOMEM;
	out_hdr(&o, "Message-ID", s->message_id);
	if (!s->byte_range)
		snprintf(range, sizeof(range), "1-%zu/%zu", s->body_len, s->body_len);
	out_hdr(&o, "Byte-Range", s->byte_range ? s->byte_range : range);
	out_hdr(&o, "Success-Report", s->success_report);
	out_hdr(&o, "Failure-Report", s->failure_report);
	if (s->body) {
		out_hdr(&o, "Content-Type", s->content_type);
		out_add(&o, "\r\n", 2);
		out_add(&o, s->body, s->body_len);
		out_add(&o, "\r\n", 2);
	}
	out_end(&o, tid, s->flag ? s->flag : '$');
	return out_send(c, &o);
}

/* The first URI of a Path header value into <out> ("" when none). */
static void first_uri(const char *path, char *out, size_t len)
{
	size_t n = 0;

	out[0] = '\0';
	if (!path)
		return;
	while (*path == ' ')
		path++;
	while (path[n] && path[n] != ' ')
		n++;
	if (n >= len)
		n = len - 1;
	memcpy(out, path, n);
	out[n] = '\0';
}

int mc_send_response(struct msrp_client *c, const struct mc_frame *req, int status,
		     const char *comment)
{
	struct mc_out o;
	char to[1024], from[1024], line[128];

	if (!req->is_request || status < 100 || status > 999)
		return -EINVAL;
	first_uri(mc_header(req, "From-Path"), to, sizeof(to));
	first_uri(mc_header(req, "To-Path"), from, sizeof(from));
	if (out_init(&o, MC_HEAD_MAX) < 0)
		return -ENOMEM;
	int ln = snprintf(line, sizeof(line), "MSRP %s %03d%s%s\r\n", req->tid, status,
			  comment ? " " : "", comment ? comment : "");
	out_add(&o, line, (size_t)ln < sizeof(line) ? (size_t)ln : sizeof(line) - 1);
	out_hdr(&o, "To-Path", to);
	out_hdr(&o, "From-Path", from);
	out_end(&o, req->tid, '$');
	return out_send(c, &o);
}

/* ---- AUTH with Digest ------------------------------------------------------------------ */

static void md5_hex(const char *const parts[], int nparts, char out[33])
{
	wc_Md5 md5;
	unsigned char d[WC_MD5_DIGEST_SIZE];

	wc_InitMd5(&md5);
	for (int i = 0; i < nparts; i++) {
		if (i)
			wc_Md5Update(&md5, (const unsigned char *)":", 1);
		wc_Md5Update(&md5, (const unsigned char *)parts[i], (word32)strlen(parts[i]));
	}
	wc_Md5Final(&md5, d);
	wc_Md5Free(&md5);
	for (int i = 0; i < WC_MD5_DIGEST_SIZE; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

void mc_digest_response(const char *user, const char *realm, const char *password,
			const char *method, const char *uri, const char *nonce, const char *nc,
			const char *cnonce, char out[33])
{
	char ha1[33], ha2[33];
	const char *p1[] = { user, realm, password };
	const char *p2[] = { method, uri };

	md5_hex(p1, 3, ha1);
	md5_hex(p2, 2, ha2);
	const char *p3[] = { ha1, nonce, nc, cnonce, "auth", ha2 };
	md5_hex(p3, 6, out);
}

/* Copies the value of parameter <key> of a Digest challenge (quoted or a token) into
 * <out>. 0, or -1 when absent or too long. */
static int digest_param(const char *ch, const char *key, char *out, size_t len)
{
	size_t kl = strlen(key);
	const char *p = ch;

	if (strncasecmp(p, "Digest ", 7) == 0)
		p += 7;
	while (*p) {
		while (*p == ' ' || *p == ',')
			p++;
		const char *name = p;
		while (*p && *p != '=' && *p != ',' && *p != ' ')
			p++;
		size_t nl = (size_t)(p - name);
		if (*p != '=')
			continue;
		p++;
		const char *v = p;
		size_t vl;
		if (*p == '"') {
			v = ++p;
			while (*p && *p != '"')
				p++;
			if (!*p)
				return -1;
			vl = (size_t)(p - v);
			p++;
		} else {
			while (*p && *p != ',' && *p != ' ')
				p++;
			vl = (size_t)(p - v);
		}
		if (nl == kl && strncasecmp(name, key, kl) == 0) {
			if (vl >= len)
				return -1;
			memcpy(out, v, vl);
			out[vl] = '\0';
			return 0;
		}
	}
	return -1;
}

static int send_auth(struct msrp_client *c, const char *tid, const struct mc_auth *a,
		     const char *authorization)
{
	struct mc_out o;
	char ex[32];

	if (out_request(&o, MC_HEAD_MAX, tid, "AUTH", a->relay_uri, a->client_uri) < 0)
		return -ENOMEM;
	out_hdr(&o, "Authorization", authorization);
	if (a->expires > 0) {
		snprintf(ex, sizeof(ex), "%ld", a->expires);
		out_hdr(&o, "Expires", ex);
	}
	out_end(&o, tid, '$');
	return out_send(c, &o);
}

static long header_long(const struct mc_frame *f, const char *name)
{
	const char *v = mc_header(f, name);
	char *end;
	long x;

	if (!v)
		return -1;
	x = strtol(v, &end, 10);
	return end != v && *end == '\0' && x >= 0 ? x : -1;
}

/* Reads the answer to <tid>, skipping frames that are not (a relay may send other things
 * on the connection). Fills the result fields that do not depend on the status. */
static int read_answer(struct msrp_client *c, const char *tid, struct mc_frame *f,
		       struct mc_auth_result *r, int timeout_ms)
{
	long long deadline = mc_now_ms() + timeout_ms;

	for (;;) {
		int left = (int)(deadline - mc_now_ms());
		int rc = mc_read_frame(c, f, left > 0 ? left : 0);
		if (rc < 0)
			return rc;
		if (f->is_request || strcmp(f->tid, tid) != 0)
			continue;
		r->status = f->status;
		r->expires = header_long(f, "Expires");
		r->min_expires = header_long(f, "Min-Expires");
		r->max_expires = header_long(f, "Max-Expires");
		return 0;
	}
}

static void random_hex(char *out, size_t n)
{
	static _Thread_local unsigned seed;

	if (!seed)
		seed = (unsigned)mc_now_ms() ^ (unsigned)getpid();
	for (size_t i = 0; i < n; i++)
		out[i] = "0123456789abcdef"[rand_r(&seed) & 15];
	out[n] = '\0';
}

int mc_auth(struct msrp_client *c, const struct mc_auth *a, struct mc_auth_result *r,
	    int timeout_ms)
{
	struct mc_frame *f = malloc(sizeof(*f));
	char tid[17], cnonce[17], resp[33], stale[16];
	int rc;

	if (!f)
		return -ENOMEM;
	memset(r, 0, sizeof(*r));
	r->expires = r->min_expires = r->max_expires = -1;
	random_hex(tid, 12);
	rc = send_auth(c, tid, a, NULL);
	if (rc == 0)
		rc = read_answer(c, tid, f, r, timeout_ms);
	if (rc < 0 || r->status != 401)
		goto out;
	const char *ch = mc_header(f, "WWW-Authenticate");
	if (!ch || digest_param(ch, "realm", r->realm, sizeof(r->realm)) < 0 ||
	    digest_param(ch, "nonce", r->nonce, sizeof(r->nonce)) < 0)
		goto out;
	digest_param(ch, "qop", r->qop, sizeof(r->qop));
	digest_param(ch, "algorithm", r->algorithm, sizeof(r->algorithm));
	r->stale = digest_param(ch, "stale", stale, sizeof(stale)) == 0 && strcasecmp(stale, "true") == 0;
	r->challenged = 1;

	random_hex(cnonce, 16);
	mc_digest_response(a->user, r->realm, a->password, "AUTH", a->relay_uri, r->nonce,
			   "00000001", cnonce, resp);
	char authz[2048];
	int n = snprintf(authz, sizeof(authz),
			 "Digest username=\"%s\", realm=\"%s\", nonce=\"%s\", uri=\"%s\", "
			 "response=\"%s\", qop=auth, nc=00000001, cnonce=\"%s\", algorithm=MD5",
			 a->user, r->realm, r->nonce, a->relay_uri, resp, cnonce);
	if (n < 0 || (size_t)n >= sizeof(authz)) {
		rc = -EMSGSIZE;
		goto out;
	}
	random_hex(tid, 12);
	rc = send_auth(c, tid, a, authz);
	if (rc == 0)
		rc = read_answer(c, tid, f, r, timeout_ms);
out:
	if (rc == 0 && r->status == 200)
		snprintf(r->use_path, sizeof(r->use_path), "%s",
			 mc_header(f, "Use-Path") ? mc_header(f, "Use-Path") : "");
	free(f);
	return rc;
}

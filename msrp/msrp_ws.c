/* msrp_ws.c — MSRP over WebSocket (RFC 7977): the HTTP/1.1 upgrade of RFC 6455 §4 (parsed
 * and built here, bounded), frames by wslay's event API, and the engine glue.
 *
 * The upgrade heads are parsed once they are complete: the end of a head ("\r\n\r\n") is
 * looked for incrementally, and a head that arrives in one read is parsed in place in the
 * receive buffer; only a head split across reads is copied into a buffer of max_head bytes,
 * freed when the upgrade is over.
 *
 * Frames: wslay runs with buffering off (wslay_event_config_set_no_buffering), so that it
 * never holds a whole message: payload pieces go up through on_data as wslay unmasks them
 * (at most its 4 KiB read buffer at a time). The size of a message is summed here from the
 * frame headers (wslay checks only frames when it does not buffer): over max_msg, the
 * connection fails with 1009 before any byte of the offending frame goes up, and after
 * what the layer above queued in answer to earlier messages is written. wslay answers
 * pings, checks masking, opcodes, RSV bits, control-frame sizes and the UTF-8 of text
 * messages (1007), and runs the close handshake.
 *
 * Re-entrancy: upcalls run inside msrp_ws_feed(), which nests (depth) so that bytes the
 * layer above sends from an upcall are written once, when the outermost feed returns. The
 * glue also counts its entry points on the stack (busy): when the engine reports the
 * connection closed while one is running, the layer above hears on_close when the
 * outermost one returns — from an engine callback, never from inside an msrp_ws_* call
 * the layer above made (those defer it to a zero-delay timer). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/coding.h>
#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/sha.h>
#include <wslay/wslay.h>

#include "engine/eng.h"
#include "msrp/msrp_conn.h"
#include "msrp/msrp_ws.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11" /* RFC 6455 §1.3 */
#define WS_KEY_MAX 64              /* bytes of a key msrp_ws_accept_of() hashes */
#define WS_ERR_TEXT_MAX 200        /* chars of an error answer's body */
#define WS_CTRL_MAX 125            /* payload bytes of a control frame (RFC 6455 §5.5) */
#define WS_REASON_MAX 123          /* bytes of a close reason */
#define WS_GATHER_STACK 4096       /* messages up to this are gathered on the stack */

#define COUNT(ws, f) do { if ((ws)->st) (ws)->st->f++; } while (0)
#define COUNT_N(ws, f, n) do { if ((ws)->st) (ws)->st->f += (n); } while (0)

void msrp_ws_cfg_defaults(struct msrp_ws_cfg *cfg)
{
	cfg->max_head = 8192;
	cfg->max_headers = 64;
	cfg->max_msg = 1u << 20;
	cfg->handshake_timeout_ms = 10000;
	cfg->close_timeout_ms = 5000;
}

/* ---- character classes ------------------------------------------------------------------ */

#define C_TOK 0x01                 /* tchar (RFC 7230 §3.2.6) */
#define C_VAL 0x02                 /* field-value: VCHAR, obs-text, SP, HTAB */
#define C_VIS 0x04                 /* VCHAR (0x21-0x7e): request-target, host, origin */
#define C_B64 0x08                 /* base64 alphabet (RFC 4648 §4), padding excluded */

static const unsigned char cls[256] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	2, 7, 6, 7, 7, 7, 7, 7, 6, 6, 7, 15, 6, 7, 7, 14,
	15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 6, 6, 6, 6, 6, 6,
	6, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15,
	15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 6, 6, 6, 7, 7,
	7, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15,
	15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 6, 7, 6, 7, 0,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
};

/* 1 when every byte of <s> (maybe empty) is of class <c>. */
static int all_of(cm_slice s, unsigned char c)
{
	for (size_t i = 0; i < s.len; i++)
		if (!(cls[(unsigned char)s.p[i]] & c))
			return 0;
	return 1;
}

static int is_ows(char c) { return c == ' ' || c == '\t'; }

static cm_slice trim_ows(cm_slice s)
{
	while (s.len && is_ows(s.p[0])) {
		s.p++;
		s.len--;
	}
	while (s.len && is_ows(s.p[s.len - 1]))
		s.len--;
	return s;
}

static int slice_eq(cm_slice s, const char *lit, int icase)
{
	size_t n = strlen(lit);
	if (s.len != n)
		return 0;
	return icase ? strncasecmp(s.p, lit, n) == 0 : memcmp(s.p, lit, n) == 0;
}

/* 1 when the comma-separated list <v> (RFC 7230 §7 #rule: empty elements allowed) holds
 * the element <tok>. */
static int list_has(cm_slice v, const char *tok, int icase)
{
	size_t i = 0;
	while (i <= v.len) {
		size_t j = i;
		while (j < v.len && v.p[j] != ',')
			j++;
		if (slice_eq(trim_ows((cm_slice){ v.p + i, j - i }), tok, icase))
			return 1;
		i = j + 1;
	}
	return 0;
}

/* ---- UTF-8 ---------------------------------------------------------------------------- */

/* Incremental validation (RFC 3629 §4): <need> continuation bytes are expected, the next
 * one within [lo, hi] (narrower after E0, ED, F0, F4: no overlongs, no surrogates, nothing
 * above U+10FFFF). */
struct u8_state {
	uint8_t need, lo, hi;
};

static int u8_feed(struct u8_state *s, const unsigned char *p, size_t n)
{
	size_t i = 0;
	while (i < n) {
		unsigned char c = p[i];
		if (s->need == 0) {
			if (c < 0x80) {
				/* runs of ASCII, 8 bytes at a time */
				while (i + 8 <= n) {
					uint64_t w;
					memcpy(&w, p + i, 8);
					if (w & 0x8080808080808080ull)
						break;
					i += 8;
				}
				if (i < n && p[i] < 0x80)
					i++;
				continue;
			}
			s->lo = 0x80;
			s->hi = 0xbf;
			if (c < 0xc2)
				return 0;
			if (c < 0xe0) {
				s->need = 1;
			} else if (c < 0xf0) {
				s->need = 2;
				if (c == 0xe0)
					s->lo = 0xa0;
				else if (c == 0xed)
					s->hi = 0x9f;
			} else if (c < 0xf5) {
				s->need = 3;
				if (c == 0xf0)
					s->lo = 0x90;
				else if (c == 0xf4)
					s->hi = 0x8f;
			} else {
				return 0;
			}
		} else {
			if (c < s->lo || c > s->hi)
				return 0;
			s->need--;
			s->lo = 0x80;
			s->hi = 0xbf;
		}
		i++;
	}
	return 1;
}

int msrp_ws_utf8_valid(const char *p, size_t len)
{
	struct u8_state s = { 0, 0x80, 0xbf };
	return u8_feed(&s, (const unsigned char *)p, len) && s.need == 0;
}

/* ---- HTTP heads ------------------------------------------------------------------------- */

/* Looks for the end of a head ("\r\n\r\n") in <p>, <*match> bytes of it having been seen
 * at the end of earlier bytes. Returns the offset just after it, or 0 (then <*match> says
 * how much of it ends <p>). */
static size_t head_scan(const char *p, size_t len, uint32_t *match)
{
	static const char end[4] = { '\r', '\n', '\r', '\n' };
	uint32_t m = *match;
	for (size_t i = 0; i < len; i++) {
		char c = p[i];
		if (c == end[m])
			m++;
		else
			m = c == '\r' ? 1 : 0;
		if (m == 4) {
			*match = 0;
			return i + 1;
		}
	}
	*match = m;
	return 0;
}

/* The next line of the head <p>[0 .. n) from <*pos>: its bytes without the CRLF. 1, or 0
 * when a line ends with a bare LF or the head has no more CRLF. A CR inside a line is left
 * to the character checks of the caller (no class takes it). */
static int next_line(const char *p, size_t n, size_t *pos, cm_slice *line)
{
	const char *s = p + *pos;
	const char *lf = memchr(s, '\n', n - *pos);
	if (!lf || lf == s || lf[-1] != '\r')
		return 0;
	line->p = s;
	line->len = (size_t)(lf - 1 - s);
	*pos = (size_t)(lf + 1 - p);
	return 1;
}

/* What the header lines of a head said, for requests and responses alike. */
struct hfound {
	cm_slice host, version, key, accept, origin, protocol;
	unsigned host_n, version_n, key_n, accept_n, origin_n, protocol_n;
	int upgrade_ws;            /* Upgrade holds "websocket" */
	int conn_upgrade;          /* Connection holds "upgrade" */
	int proto_msrp;            /* a Sec-WebSocket-Protocol holds "msrp" */
	int extensions;            /* Sec-WebSocket-Extensions seen */
	int body;                  /* Transfer-Encoding, or a Content-Length other than 0 */
};

static void hfound_set(cm_slice *dst, unsigned *n, cm_slice v)
{
	if ((*n)++ == 0)
		*dst = v;
}

/* Reads the header lines of the head <p>[0 .. n) from <*pos> up to the blank line into
 * <hf>. 0, or an HTTP status (400 malformed, 431 too many lines) with <*why> set. */
static int parse_headers(const char *p, size_t n, size_t *pos, unsigned max_headers,
			 struct hfound *hf, unsigned *nhdrs, const char **why)
{
	cm_slice line;

	for (;;) {
		if (!next_line(p, n, pos, &line)) {
			*why = "malformed header line";
			return 400;
		}
		if (line.len == 0)
			return 0;
		if (++*nhdrs > max_headers) {
			*why = "too many header lines";
			return 431;
		}
		if (is_ows(line.p[0])) {
			*why = "folded header line";
			return 400;
		}
		const char *colon = memchr(line.p, ':', line.len);
		cm_slice name = { line.p, colon ? (size_t)(colon - line.p) : 0 };
		if (!colon || !name.len || !all_of(name, C_TOK)) {
			*why = "malformed header name";
			return 400;
		}
		cm_slice v = { colon + 1, line.len - name.len - 1 };
		if (!all_of(v, C_VAL)) {
			*why = "control character in a header";
			return 400;
		}
		v = trim_ows(v);
		switch (name.len) {
		case 14:
			if (slice_eq(name, "content-length", 1) && !slice_eq(v, "0", 0))
				hf->body = 1;
			break;
		case 17:
			if (slice_eq(name, "transfer-encoding", 1))
				hf->body = 1;
			else if (slice_eq(name, "sec-websocket-key", 1))
				hfound_set(&hf->key, &hf->key_n, v);
			break;
		case 4:
			if (slice_eq(name, "host", 1))
				hfound_set(&hf->host, &hf->host_n, v);
			break;
		case 6:
			if (slice_eq(name, "origin", 1))
				hfound_set(&hf->origin, &hf->origin_n, v);
			break;
		case 7:
			if (slice_eq(name, "upgrade", 1) && list_has(v, "websocket", 1))
				hf->upgrade_ws = 1;
			break;
		case 10:
			if (slice_eq(name, "connection", 1) && list_has(v, "upgrade", 1))
				hf->conn_upgrade = 1;
			break;
		case 20:
			if (slice_eq(name, "sec-websocket-accept", 1))
				hfound_set(&hf->accept, &hf->accept_n, v);
			break;
		case 21:
			if (slice_eq(name, "sec-websocket-version", 1))
				hfound_set(&hf->version, &hf->version_n, v);
			break;
		case 22:
			if (slice_eq(name, "sec-websocket-protocol", 1)) {
				hfound_set(&hf->protocol, &hf->protocol_n, v);
				if (list_has(v, MSRP_WS_SUBPROTOCOL, 0))
					hf->proto_msrp = 1;
			}
			break;
		case 24:
			if (slice_eq(name, "sec-websocket-extensions", 1))
				hf->extensions = 1;
			break;
		default:
			break;
		}
	}
}

/* "HTTP/" DIGIT "." DIGIT: 1 for HTTP/1.1 and later 1.x, 0 for other versions, -1 when
 * it is not an HTTP version at all. */
static int http_version_ok(cm_slice v)
{
	if (v.len != 8 || memcmp(v.p, "HTTP/", 5) != 0 || v.p[6] != '.' ||
	    v.p[5] < '0' || v.p[5] > '9' || v.p[7] < '0' || v.p[7] > '9')
		return -1;
	return v.p[5] == '1' && v.p[7] >= '1';
}

/* 24 chars: 22 of the base64 alphabet and "==", i.e. base64 of exactly 16 bytes. */
static int key_valid(cm_slice k)
{
	return k.len == MSRP_WS_KEY_LEN && all_of((cm_slice){ k.p, 22 }, C_B64) &&
	       k.p[22] == '=' && k.p[23] == '=';
}

static int req_error(struct msrp_ws_req *out, int status, unsigned hdrs, const char *why)
{
	out->status = status;
	out->err_hdrs = hdrs;
	out->reason = why;
	return MSRP_WS_ERROR;
}

int msrp_ws_parse_request(const char *p, size_t len, const struct msrp_ws_cfg *cfg,
			  struct msrp_ws_req *out)
{
	struct hfound hf;
	uint32_t match = 0;
	size_t pos = 0;
	cm_slice line;
	const char *why = NULL;

	memset(out, 0, sizeof(*out));
	size_t n = head_scan(p, len, &match);
	if (!n || n > cfg->max_head) {
		if (n || len >= cfg->max_head)
			return req_error(out, 431, 0, "request head too large");
		return MSRP_WS_AGAIN;
	}

	/* request-line = method SP request-target SP HTTP-version */
	if (!next_line(p, n, &pos, &line))
		return req_error(out, 400, 0, "malformed request line");
	const char *sp1 = memchr(line.p, ' ', line.len);
	const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', line.len - (size_t)(sp1 + 1 - line.p)) : NULL;
	if (!sp2)
		return req_error(out, 400, 0, "malformed request line");
	out->method = (cm_slice){ line.p, (size_t)(sp1 - line.p) };
	out->target = (cm_slice){ sp1 + 1, (size_t)(sp2 - sp1 - 1) };
	cm_slice version = { sp2 + 1, line.len - (size_t)(sp2 + 1 - line.p) };
	if (!out->method.len || !all_of(out->method, C_TOK) || !out->target.len ||
	    !all_of(out->target, C_VIS))
		return req_error(out, 400, 0, "malformed request line");
	int v = http_version_ok(version);
	if (v < 0)
		return req_error(out, 400, 0, "malformed request line");

	memset(&hf, 0, sizeof(hf));
	int st = parse_headers(p, n, &pos, cfg->max_headers, &hf, &out->nhdrs, &why);
	if (st)
		return req_error(out, st, 0, why);
	if (!v)
		return req_error(out, 505, 0, "HTTP/1.1 required");
	if (!slice_eq(out->method, "GET", 0))
		return req_error(out, 405, MSRP_WS_EH_ALLOW, "a WebSocket upgrade is a GET");
	/* origin-form or absolute-form (RFC 7230 §5.3) */
	if (out->target.p[0] != '/' && !memmem(out->target.p, out->target.len, "://", 3))
		return req_error(out, 400, 0, "bad request-target");
	if (hf.host_n != 1 || !hf.host.len)
		return req_error(out, 400, 0, "one Host header required");
	if (!hf.upgrade_ws)
		return req_error(out, 426, MSRP_WS_EH_UPGRADE | MSRP_WS_EH_VERSION,
				 "WebSocket upgrade required");
	if (!hf.conn_upgrade)
		return req_error(out, 400, 0, "Connection must hold upgrade");
	if (hf.version_n != 1 || !slice_eq(hf.version, MSRP_WS_VERSION, 0))
		return req_error(out, 400, MSRP_WS_EH_VERSION, "WebSocket version 13 required");
	if (hf.key_n != 1 || !key_valid(hf.key))
		return req_error(out, 400, 0, "bad Sec-WebSocket-Key");
	if (!hf.proto_msrp)
		return req_error(out, 400, 0, "subprotocol msrp required");
	if (hf.origin_n > 1)
		return req_error(out, 400, 0, "repeated Origin");
	/* what follows the head is frames: a body would be read as frames (and a proxy in
	 * front could disagree on where the request ends) */
	if (hf.body)
		return req_error(out, 400, 0, "an upgrade request has no body");
	out->host = hf.host;
	out->key = hf.key;
	out->origin = hf.origin;
	return (int)n;
}

static int resp_error(struct msrp_ws_resp *out, const char *why)
{
	out->reason = why;
	return MSRP_WS_ERROR;
}

int msrp_ws_parse_response(const char *p, size_t len, const struct msrp_ws_cfg *cfg,
			   const char accept[MSRP_WS_ACCEPT_LEN], struct msrp_ws_resp *out)
{
	struct hfound hf;
	uint32_t match = 0;
	size_t pos = 0;
	cm_slice line;
	const char *why = NULL;

	memset(out, 0, sizeof(*out));
	size_t n = head_scan(p, len, &match);
	if (!n || n > cfg->max_head) {
		if (n || len >= cfg->max_head)
			return resp_error(out, "response head too large");
		return MSRP_WS_AGAIN;
	}

	/* status-line = HTTP-version SP status-code SP reason-phrase */
	if (!next_line(p, n, &pos, &line) || line.len < 12 ||
	    http_version_ok((cm_slice){ line.p, 8 }) != 1 || line.p[8] != ' ' ||
	    (line.len > 12 && line.p[12] != ' '))
		return resp_error(out, "malformed status line");
	int status = 0;
	for (int i = 9; i < 12; i++) {
		if (line.p[i] < '0' || line.p[i] > '9')
			return resp_error(out, "malformed status line");
		status = status * 10 + (line.p[i] - '0');
	}
	if (status < 100)
		return resp_error(out, "malformed status line");
	if (line.len > 13)
		out->reason_phrase = (cm_slice){ line.p + 13, line.len - 13 };
	if (!all_of(out->reason_phrase, C_VAL))
		return resp_error(out, "malformed status line");
	out->status = status;
	if (status != 101)
		return resp_error(out, "upgrade refused");

	memset(&hf, 0, sizeof(hf));
	if (parse_headers(p, n, &pos, cfg->max_headers, &hf, &out->nhdrs, &why))
		return resp_error(out, why);
	if (!hf.upgrade_ws || !hf.conn_upgrade)
		return resp_error(out, "101 without Upgrade websocket / Connection upgrade");
	if (hf.accept_n != 1 || hf.accept.len != MSRP_WS_ACCEPT_LEN ||
	    memcmp(hf.accept.p, accept, MSRP_WS_ACCEPT_LEN) != 0)
		return resp_error(out, "wrong Sec-WebSocket-Accept");
	if (hf.protocol_n != 1 || !slice_eq(hf.protocol, MSRP_WS_SUBPROTOCOL, 0))
		return resp_error(out, "subprotocol msrp not chosen");
	if (hf.extensions)
		return resp_error(out, "extension not offered");
	out->accept = hf.accept;
	out->protocol = hf.protocol;
	return (int)n;
}

int msrp_ws_accept_of(cm_slice key, char out[MSRP_WS_ACCEPT_LEN + 1])
{
	byte in[WS_KEY_MAX + sizeof(WS_GUID)];
	byte h[WC_SHA_DIGEST_SIZE];
	byte b64[MSRP_WS_ACCEPT_LEN + 4];
	word32 olen = sizeof(b64);

	if (key.len > WS_KEY_MAX)
		return -EINVAL;
	memcpy(in, key.p, key.len);
	memcpy(in + key.len, WS_GUID, sizeof(WS_GUID) - 1);
	if (wc_ShaHash(in, (word32)(key.len + sizeof(WS_GUID) - 1), h) != 0)
		return -EIO;
	if (Base64_Encode_NoNl(h, sizeof(h), b64, &olen) != 0 || olen < MSRP_WS_ACCEPT_LEN)
		return -EIO;
	memcpy(out, b64, MSRP_WS_ACCEPT_LEN);
	out[MSRP_WS_ACCEPT_LEN] = '\0';
	return 0;
}

int msrp_ws_build_101(cm_slice key, char *buf, size_t len)
{
	char acc[MSRP_WS_ACCEPT_LEN + 1];
	int r = msrp_ws_accept_of(key, acc);
	if (r < 0)
		return r;
	return snprintf(buf, len,
			"HTTP/1.1 101 Switching Protocols\r\n"
			"Upgrade: websocket\r\n"
			"Connection: Upgrade\r\n"
			"Sec-WebSocket-Accept: %s\r\n"
			"Sec-WebSocket-Protocol: " MSRP_WS_SUBPROTOCOL "\r\n"
			"\r\n", acc);
}

static const char *reason_phrase(int status)
{
	switch (status) {
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 426: return "Upgrade Required";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return status < 500 ? "Client Error" : "Server Error";
	}
}

int msrp_ws_build_error(int status, unsigned hdrs, const char *text, char *buf, size_t len)
{
	if (status < 400 || status > 599)
		status = 500;
	const char *phrase = reason_phrase(status);
	if (!text)
		text = phrase;
	size_t tl = strnlen(text, WS_ERR_TEXT_MAX);
	return snprintf(buf, len,
			"HTTP/1.1 %d %s\r\n"
			"Connection: %s\r\n"
			"%s%s%s"
			"Content-Type: text/plain\r\n"
			"Content-Length: %zu\r\n"
			"\r\n"
			"%.*s\n",
			status, phrase, (hdrs & MSRP_WS_EH_UPGRADE) ? "Upgrade, close" : "close",
			(hdrs & MSRP_WS_EH_UPGRADE) ? "Upgrade: websocket\r\n" : "",
			(hdrs & MSRP_WS_EH_VERSION) ? "Sec-WebSocket-Version: " MSRP_WS_VERSION "\r\n" : "",
			(hdrs & MSRP_WS_EH_ALLOW) ? "Allow: GET\r\n" : "",
			tl + 1, (int)tl, text);
}

int msrp_ws_make_key(char key[MSRP_WS_KEY_LEN + 1])
{
	byte rnd[16];
	byte b64[MSRP_WS_KEY_LEN + 4];
	word32 olen = sizeof(b64);
	size_t got = 0;

	while (got < sizeof(rnd)) {
		ssize_t r = getrandom(rnd + got, sizeof(rnd) - got, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t)r;
	}
	if (Base64_Encode_NoNl(rnd, sizeof(rnd), b64, &olen) != 0 || olen < MSRP_WS_KEY_LEN)
		return -EIO;
	memcpy(key, b64, MSRP_WS_KEY_LEN);
	key[MSRP_WS_KEY_LEN] = '\0';
	return 0;
}

int msrp_ws_build_request(cm_slice host, cm_slice target, cm_slice origin,
			  const char key[MSRP_WS_KEY_LEN], char *buf, size_t len)
{
	if (!host.len || !target.len || host.len > INT_MAX || target.len > INT_MAX ||
	    origin.len > INT_MAX || !all_of(host, C_VIS) || !all_of(target, C_VIS) ||
	    !all_of(origin, C_VIS))
		return -EINVAL;
	return snprintf(buf, len,
			"GET %.*s HTTP/1.1\r\n"
			"Host: %.*s\r\n"
			"Upgrade: websocket\r\n"
			"Connection: Upgrade\r\n"
			"Sec-WebSocket-Key: %.*s\r\n"
			"Sec-WebSocket-Version: " MSRP_WS_VERSION "\r\n"
			"Sec-WebSocket-Protocol: " MSRP_WS_SUBPROTOCOL "\r\n"
			"%s%.*s%s"
			"\r\n",
			(int)target.len, target.p, (int)host.len, host.p, MSRP_WS_KEY_LEN, key,
			origin.len ? "Origin: " : "", (int)origin.len, origin.len ? origin.p : "",
			origin.len ? "\r\n" : "");
}

/* ---- the transport core: wslay callbacks ------------------------------------------------ */

static ssize_t wsl_recv(wslay_event_context_ptr wctx, uint8_t *buf, size_t len, int flags,
			void *ud)
{
	struct msrp_ws *ws = ud;
	(void)flags;
	if (!ws->in_len) {
		wslay_event_set_error(wctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	size_t n = len < ws->in_len ? len : ws->in_len;
	memcpy(buf, ws->in_p, n);
	ws->in_p += n;
	ws->in_len -= n;
	return (ssize_t)n;
}

static ssize_t wsl_send(wslay_event_context_ptr wctx, const uint8_t *data, size_t len,
			int flags, void *ud)
{
	struct msrp_ws *ws = ud;
	(void)flags;
	int r = ws->out(ws->out_arg, data, len);
	if (r < 0) {
		wslay_event_set_error(wctx, WSLAY_ERR_CALLBACK_FAILURE);
		return -1;
	}
	ws->pressure = r > 0;
	return (ssize_t)len;
}

static int wsl_genmask(wslay_event_context_ptr wctx, uint8_t *buf, size_t len, void *ud)
{
	struct msrp_ws *ws = ud;
	(void)wctx;
	while (len) {
		if (ws->mask_used == 0 || ws->mask_used >= sizeof(ws->mask_rnd)) {
			if (getrandom(ws->mask_rnd, sizeof(ws->mask_rnd), 0) !=
			    (ssize_t)sizeof(ws->mask_rnd))
				return -1;
			ws->mask_used = 0;
		}
		size_t n = sizeof(ws->mask_rnd) - ws->mask_used;
		if (n > len)
			n = len;
		memcpy(buf, ws->mask_rnd + ws->mask_used, n);
		/* never reuse a byte: the next refill starts when the pool is used up */
		ws->mask_used = (uint8_t)(ws->mask_used + n);
		if (ws->mask_used >= sizeof(ws->mask_rnd))
			ws->mask_used = 0;
		buf += n;
		len -= n;
	}
	return 0;
}

static void wsl_frame_start(wslay_event_context_ptr wctx,
			    const struct wslay_event_on_frame_recv_start_arg *a, void *ud)
{
	struct msrp_ws *ws = ud;

	(void)wctx;
	/* RFC 6455 §5.5.1: a close frame's body begins with a 2-byte code */
	if (a->opcode == WSLAY_CONNECTION_CLOSE && a->payload_length == 1)
		ws->bad_close = 1;
	ws->rx_data = !wslay_is_ctrl_frame(a->opcode);
	ws->rx_fin = a->fin;
	if (!ws->rx_data || ws->rx_drop)
		return;
	if (a->opcode != WSLAY_CONTINUATION_FRAME)
		ws->rx_msg_len = 0;
	/* wslay does not sum the frames of a message when it does not buffer: done here,
	 * from the frame header, before any byte of this frame goes up */
	if (a->payload_length > ws->cfg->max_msg - ws->rx_msg_len) {
		/* Our close frame is queued by flush(), after what the layer above sent in
		 * answer to the messages before this one (wslay sends control frames first).
		 * wslay goes on reading (nothing is buffered: the rest is parsed and dropped)
		 * until the peer's close frame: closing the socket on a peer that is still
		 * sending would make the kernel answer with a reset, which can destroy our
		 * close frame before the peer reads it. */
		COUNT(ws, msg_too_big);
		ws->rx_drop = 1;
		ws->close_pending = WSLAY_CODE_MESSAGE_TOO_BIG;
		return;
	}
	ws->rx_msg_len += a->payload_length;
}

static void wsl_frame_chunk(wslay_event_context_ptr wctx,
			    const struct wslay_event_on_frame_recv_chunk_arg *a, void *ud)
{
	struct msrp_ws *ws = ud;
	(void)wctx;
	if (!ws->rx_data || ws->rx_drop || !a->data_length)
		return;
	COUNT_N(ws, bytes_in, a->data_length);
	ws->ops->on_data(ws->ctx, (const char *)a->data, a->data_length);
}

static void wsl_frame_end(wslay_event_context_ptr wctx, void *ud)
{
	struct msrp_ws *ws = ud;
	(void)wctx;
	if (!ws->rx_data || !ws->rx_fin || ws->rx_drop)
		return;
	COUNT(ws, msgs_in);
	if (ws->ops->on_msg_end)
		ws->ops->on_msg_end(ws->ctx);
}

static const struct wslay_event_callbacks wsl_callbacks = {
	.recv_callback = wsl_recv,
	.send_callback = wsl_send,
	.genmask_callback = wsl_genmask,
	.on_frame_recv_start_callback = wsl_frame_start,
	.on_frame_recv_chunk_callback = wsl_frame_chunk,
	.on_frame_recv_end_callback = wsl_frame_end,
	.on_msg_recv_callback = NULL,
};

/* ---- the transport core --------------------------------------------------------------- */

int msrp_ws_init(struct msrp_ws *ws, enum msrp_ws_role role, const struct msrp_ws_cfg *cfg,
		 const struct msrp_ws_ops *ops, void *ctx, struct msrp_ws_stats *st,
		 msrp_ws_out_fn out, void *out_arg)
{
	memset(ws, 0, sizeof(*ws));
	if (!cfg || cfg->max_head < MSRP_WS_HEAD_MIN || !ops || !ops->on_data || !out ||
	    (role != MSRP_WS_SERVER && role != MSRP_WS_CLIENT))
		return -EINVAL;
	ws->cfg = cfg;
	ws->ops = ops;
	ws->ctx = ctx;
	ws->st = st;
	ws->out = out;
	ws->out_arg = out_arg;
	ws->role = (uint8_t)role;
	ws->state = MSRP_WS_S_HANDSHAKE;
	return 0;
}

static void head_free(struct msrp_ws *ws)
{
	free(ws->head);
	ws->head = NULL;
	ws->head_len = 0;
}

void msrp_ws_fini(struct msrp_ws *ws)
{
	head_free(ws);
	if (ws->wctx) {
		wslay_event_context_free(ws->wctx);
		ws->wctx = NULL;
	}
	ws->state = MSRP_WS_S_DONE;
}

int msrp_ws_state(const struct msrp_ws *ws) { return ws->state; }
int msrp_ws_http_status(const struct msrp_ws *ws) { return ws->http_status; }

int msrp_ws_close_code(const struct msrp_ws *ws)
{
	if (!ws->opened || !ws->wctx)
		return ws->opened ? WSLAY_CODE_ABNORMAL_CLOSURE : 0;
	if (ws->fail_code)
		return ws->fail_code;
	if (ws->own_close)
		return ws->own_close;
	if (wslay_event_get_close_received(ws->wctx))
		return wslay_event_get_status_code_received(ws->wctx);
	if (wslay_event_get_close_sent(ws->wctx))
		return wslay_event_get_status_code_sent(ws->wctx);
	return WSLAY_CODE_ABNORMAL_CLOSURE;
}

/* Writes <len> bytes to the sink; a sink error ends the transport. 0 or -errno. */
static int out_bytes(struct msrp_ws *ws, const void *p, size_t len)
{
	int r = ws->out(ws->out_arg, p, len);
	if (r < 0) {
		ws->state = MSRP_WS_S_DONE;
		return r;
	}
	ws->pressure = r > 0;
	return 0;
}

/* After frames moved: OPEN becomes CLOSING once our close frame is out and the peer's
 * has not come, anything becomes DONE once wslay neither reads nor writes. A failure is
 * counted once, when it ends the transport. */
static void settle(struct msrp_ws *ws)
{
	if (ws->state != MSRP_WS_S_OPEN && ws->state != MSRP_WS_S_CLOSING)
		return;
	if (!wslay_event_want_read(ws->wctx) && !wslay_event_want_write(ws->wctx)) {
		ws->state = MSRP_WS_S_DONE;
		if (ws->bad_close && wslay_event_get_close_received(ws->wctx)) {
			COUNT(ws, proto_errors);
			return;
		}
		if (wslay_event_get_close_received(ws->wctx) || ws->own_close)
			return;
		int code = ws->fail_code ? ws->fail_code :
			   wslay_event_get_status_code_sent(ws->wctx);
		if (code == WSLAY_CODE_PROTOCOL_ERROR || code == WSLAY_CODE_INVALID_FRAME_PAYLOAD_DATA)
			COUNT(ws, proto_errors);
	} else if (ws->state == MSRP_WS_S_OPEN && wslay_event_get_close_sent(ws->wctx)) {
		ws->state = MSRP_WS_S_CLOSING;
	}
}

/* Writes what wslay has queued (not from inside a feed: the outermost one does it). */
static void flush(struct msrp_ws *ws)
{
	if (ws->depth || !ws->wctx)
		return;
	if (ws->state == MSRP_WS_S_OPEN || ws->state == MSRP_WS_S_CLOSING) {
		if (wslay_event_send(ws->wctx) < 0) {
			ws->state = MSRP_WS_S_DONE;
			return;
		}
		if (ws->close_pending) {
			if (wslay_event_queue_close(ws->wctx, ws->close_pending, NULL, 0) == 0)
				ws->own_close = ws->close_pending;
			ws->close_pending = 0;
			if (wslay_event_send(ws->wctx) < 0) {
				ws->state = MSRP_WS_S_DONE;
				return;
			}
		}
	}
	settle(ws);
}

static int open_frames(struct msrp_ws *ws)
{
	int r = ws->role == MSRP_WS_SERVER ?
		wslay_event_context_server_init(&ws->wctx, &wsl_callbacks, ws) :
		wslay_event_context_client_init(&ws->wctx, &wsl_callbacks, ws);
	if (r != 0) {
		ws->wctx = NULL;
		return -ENOMEM;
	}
	wslay_event_config_set_no_buffering(ws->wctx, 1);
	/* max_msg is enforced by wsl_frame_start() for frames and messages alike; wslay's own
	 * check (frames only, without buffering) would queue its 1009 ahead of the answers
	 * already queued, so it is set out of reach */
	wslay_event_config_set_max_recv_msg_length(ws->wctx, UINT64_MAX);
	return 0;
}

/* Server: answers <status> with a short <text>, and ends the transport. */
static int refuse(struct msrp_ws *ws, int status, unsigned hdrs, const char *text)
{
	char buf[MSRP_WS_ERROR_MAX];
	int n = msrp_ws_build_error(status, hdrs, text, buf, sizeof(buf));

	COUNT(ws, refused);
	if (status == 431)
		COUNT(ws, head_too_big);
	ws->http_status = (uint16_t)(status >= 400 && status <= 599 ? status : 500);
	if (n > 0 && (size_t)n < sizeof(buf))
		out_bytes(ws, buf, (size_t)n);
	ws->state = MSRP_WS_S_DONE;
	return MSRP_WS_DONE;
}

static void opened(struct msrp_ws *ws)
{
	ws->state = MSRP_WS_S_OPEN;
	ws->opened = 1;
	COUNT(ws, upgrades);
	if (ws->ops->on_open)
		ws->ops->on_open(ws->ctx);
}

/* Server: the complete request head <h> (<n> bytes). */
static int hs_server(struct msrp_ws *ws, const char *h, size_t n)
{
	struct msrp_ws_req req;
	char buf[256];

	if (msrp_ws_parse_request(h, n, ws->cfg, &req) != (int)n)
		return refuse(ws, req.status ? req.status : 400, req.err_hdrs, req.reason);
	if (ws->ops->on_request) {
		int st = ws->ops->on_request(ws->ctx, &req);
		if (st)
			return refuse(ws, st >= 400 && st <= 599 ? st : 403, 0, NULL);
	}
	int len = msrp_ws_build_101(req.key, buf, sizeof(buf));
	if (len < 0 || (size_t)len >= sizeof(buf))
		return refuse(ws, 500, 0, NULL);
	if (open_frames(ws) < 0)
		return refuse(ws, 503, 0, "out of memory");
	ws->http_status = 101;
	if (out_bytes(ws, buf, (size_t)len) < 0)
		return MSRP_WS_DONE;
	opened(ws);
	return MSRP_WS_OK;
}

/* Client: the complete answer head <h> (<n> bytes). */
static int hs_client(struct msrp_ws *ws, const char *h, size_t n)
{
	struct msrp_ws_resp resp;

	int r = msrp_ws_parse_response(h, n, ws->cfg, ws->accept, &resp);
	ws->http_status = (uint16_t)resp.status;
	if (r != (int)n || open_frames(ws) < 0) {
		COUNT(ws, refused);
		ws->state = MSRP_WS_S_DONE;
		return MSRP_WS_DONE;
	}
	opened(ws);
	return MSRP_WS_OK;
}

/* Takes handshake bytes; <*used> tells how many belonged to the head. MSRP_WS_AGAIN (all
 * taken), MSRP_WS_OK (open), MSRP_WS_DONE. */
static int hs_feed(struct msrp_ws *ws, const char *p, size_t len, size_t *used)
{
	size_t end = head_scan(p, len, &ws->head_match);
	uint32_t max = ws->cfg->max_head;

	*used = end ? end : len;
	if ((end && ws->head_len + end > max) || (!end && ws->head_len + len >= max)) {
		head_free(ws);
		if (ws->role == MSRP_WS_SERVER)
			return refuse(ws, 431, 0, "request head too large");
		COUNT(ws, head_too_big);
		COUNT(ws, refused);
		ws->state = MSRP_WS_S_DONE;
		return MSRP_WS_DONE;
	}
	if (!end || ws->head_len) {
		if (!ws->head && !(ws->head = malloc(max))) {
			if (ws->role == MSRP_WS_SERVER)
				return refuse(ws, 503, 0, "out of memory");
			ws->state = MSRP_WS_S_DONE;
			return MSRP_WS_DONE;
		}
		memcpy(ws->head + ws->head_len, p, *used);
		ws->head_len += (uint32_t)*used;
		if (!end)
			return MSRP_WS_AGAIN;
		p = ws->head;
		end = ws->head_len;
	}
	int r = ws->role == MSRP_WS_SERVER ? hs_server(ws, p, end) : hs_client(ws, p, end);
	head_free(ws);
	return r;
}

static void frames_feed(struct msrp_ws *ws, const char *p, size_t len)
{
	if (!len || !wslay_event_want_read(ws->wctx))
		return;
	ws->in_p = p;
	ws->in_len = len;
	int r = wslay_event_recv(ws->wctx);
	/* what is left after reading stopped (a close, a failure) is dropped */
	ws->in_p = NULL;
	ws->in_len = 0;
	if (r < 0 && !ws->fail_code) {
		/* a frame wslay could not parse (its close frame carries no code), or no memory */
		ws->fail_code = r == WSLAY_ERR_NOMEM ? WSLAY_CODE_INTERNAL_SERVER_ERROR :
			        WSLAY_CODE_PROTOCOL_ERROR;
		ws->rx_drop = 1;
		wslay_event_shutdown_read(ws->wctx);
	}
}

int msrp_ws_feed(struct msrp_ws *ws, const char *p, size_t len)
{
	if (ws->state == MSRP_WS_S_DONE)
		return MSRP_WS_DONE;
	if (!len)
		return MSRP_WS_OK;
	ws->depth++;
	if (ws->state == MSRP_WS_S_HANDSHAKE) {
		size_t used = 0;
		if (hs_feed(ws, p, len, &used) == MSRP_WS_OK && ws->state == MSRP_WS_S_OPEN)
			frames_feed(ws, p + used, len - used);
	} else {
		frames_feed(ws, p, len);
	}
	ws->depth--;
	flush(ws);
	return ws->state == MSRP_WS_S_DONE ? MSRP_WS_DONE : MSRP_WS_OK;
}

/* Client: generates the key, remembers the accept value, builds the request into a
 * malloc'ed <*req> of <*len> bytes (the caller frees it). 0 or -errno. */
static int client_prepare(struct msrp_ws *ws, cm_slice host, cm_slice target, cm_slice origin,
			  char **req, size_t *len)
{
	char key[MSRP_WS_KEY_LEN + 1];

	if (ws->role != MSRP_WS_CLIENT || ws->state != MSRP_WS_S_HANDSHAKE || ws->accept[0])
		return -EALREADY;
	int n = msrp_ws_build_request(host, target, origin, "AAAAAAAAAAAAAAAAAAAAAA==", NULL, 0);
	if (n < 0)
		return n;
	if ((size_t)n > ws->cfg->max_head)
		return -ENOSPC;
	int r = msrp_ws_make_key(key);
	if (r < 0)
		return r;
	r = msrp_ws_accept_of((cm_slice){ key, MSRP_WS_KEY_LEN }, ws->accept);
	if (r < 0)
		return r;
	if (!(*req = malloc((size_t)n + 1)))
		return -ENOMEM;
	msrp_ws_build_request(host, target, origin, key, *req, (size_t)n + 1);
	*len = (size_t)n;
	return 0;
}

int msrp_ws_client_start(struct msrp_ws *ws, cm_slice host, cm_slice target, cm_slice origin)
{
	char *req;
	size_t len;
	int r = client_prepare(ws, host, target, origin, &req, &len);
	if (r < 0)
		return r;
	r = out_bytes(ws, req, len);
	free(req);
	return r;
}

static void glue_after_api(struct msrp_ws *ws);

int msrp_ws_send_msg(struct msrp_ws *ws, const struct iovec *iov, int n)
{
	char stackbuf[WS_GATHER_STACK];
	struct u8_state u8 = { 0, 0x80, 0xbf };
	size_t total = 0;
	int text = 1;

	if (ws->state != MSRP_WS_S_OPEN || ws->rx_drop)
		return -EPIPE;
	if (n < 0 || n > IOV_MAX)
		return -EINVAL;
	for (int i = 0; i < n; i++) {
		if (iov[i].iov_len > SIZE_MAX - total)
			return -EINVAL;
		total += iov[i].iov_len;
		if (text && !u8_feed(&u8, iov[i].iov_base, iov[i].iov_len))
			text = 0;
	}
	text = text && u8.need == 0;

	const uint8_t *msg = n ? iov[0].iov_base : NULL;
	uint8_t *heap = NULL;
	if (n > 1) {
		uint8_t *dst = (uint8_t *)stackbuf;
		if (total > sizeof(stackbuf) && !(dst = heap = malloc(total)))
			return -ENOMEM;
		size_t off = 0;
		for (int i = 0; i < n; i++) {
			if (iov[i].iov_len)
				memcpy(dst + off, iov[i].iov_base, iov[i].iov_len);
			off += iov[i].iov_len;
		}
		msg = dst;
	}
	struct wslay_event_msg m = {
		.opcode = text ? WSLAY_TEXT_FRAME : WSLAY_BINARY_FRAME,
		.msg = msg,
		.msg_length = total,
	};
	int r = wslay_event_queue_msg(ws->wctx, &m);
	free(heap);
	if (r != 0)
		return r == WSLAY_ERR_NOMEM ? -ENOMEM : r == WSLAY_ERR_NO_MORE_MSG ? -EPIPE : -EINVAL;
	COUNT(ws, msgs_out);
	COUNT_N(ws, bytes_out, total);
	flush(ws);
	int rc = ws->state == MSRP_WS_S_DONE ? -EPIPE : ws->pressure;
	glue_after_api(ws);
	return rc;
}

int msrp_ws_ping(struct msrp_ws *ws, const void *p, size_t len)
{
	if (ws->state != MSRP_WS_S_OPEN)
		return -EPIPE;
	if (len > WS_CTRL_MAX)
		return -EINVAL;
	struct wslay_event_msg m = { .opcode = WSLAY_PING, .msg = p, .msg_length = len };
	int r = wslay_event_queue_msg(ws->wctx, &m);
	if (r != 0)
		return r == WSLAY_ERR_NOMEM ? -ENOMEM : -EPIPE;
	flush(ws);
	int rc = ws->state == MSRP_WS_S_DONE ? -EPIPE : 0;
	glue_after_api(ws);
	return rc;
}

/* RFC 6455 §7.4: codes an endpoint may send (1004-1006 and 1015 are reserved; 3000-4999
 * for libraries and applications). 1012-1014, registered by IANA later, are left out:
 * wslay, among others, fails a connection that receives them. */
static int close_code_sendable(int code)
{
	return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011) ||
	       (code >= 3000 && code <= 4999);
}

int msrp_ws_close(struct msrp_ws *ws, int code, const char *reason)
{
	size_t rlen = reason ? strnlen(reason, WS_REASON_MAX + 1) : 0;

	if (!close_code_sendable(code) || rlen > WS_REASON_MAX ||
	    !msrp_ws_utf8_valid(reason ? reason : "", rlen))
		return -EINVAL;
	ws->rx_drop = 1;
	if (ws->state == MSRP_WS_S_HANDSHAKE) {
		head_free(ws);
		ws->state = MSRP_WS_S_DONE;
	} else if (ws->state == MSRP_WS_S_OPEN) {
		/* NO_MORE_MSG: wslay already queued one (a failure, or the peer's close) */
		if (wslay_event_queue_close(ws->wctx, (uint16_t)code, (const uint8_t *)reason,
					    rlen) == 0)
			ws->own_close = (uint16_t)code;
		flush(ws);
	}
	int rc = ws->state == MSRP_WS_S_DONE ? MSRP_WS_DONE : MSRP_WS_OK;
	glue_after_api(ws);
	return rc;
}

/* ---- the engine glue ------------------------------------------------------------------- */

static void glue_finish(struct msrp_ws *ws)
{
	eng_timer_cancel(&ws->timer);
	int code = msrp_ws_close_code(ws);
	msrp_ws_fini(ws);
	ws->glue = 0;
	if (ws->ops->on_close)
		ws->ops->on_close(ws->ctx, code); /* <ws> may be freed from here on */
}

static void glue_enter(struct msrp_ws *ws) { ws->busy++; }

/* Leaves a glue entry point. When the engine closed the connection meanwhile and this was
 * the outermost one, the layer above hears it: now when we came from an engine callback,
 * else from a zero-delay timer (never from inside a call the layer above made). */
static void glue_leave(struct msrp_ws *ws, int from_engine)
{
	if (--ws->busy || !ws->gone)
		return;
	if (from_engine)
		glue_finish(ws);
	else
		eng_timer_arm(ws->w, &ws->timer, 0);
}

static void glue_arm(struct msrp_ws *ws, uint32_t ms)
{
	if (ms)
		eng_timer_arm(ws->w, &ws->timer, ms);
	else
		eng_timer_cancel(&ws->timer);
}

/* Acts on the core's state: the handshake deadline goes once the upgrade is over; CLOSING
 * arms the close deadline; DONE closes the connection (after what is queued) under the
 * same deadline. */
static void glue_settle(struct msrp_ws *ws)
{
	if (ws->gone || !ws->c || ws->state == MSRP_WS_S_HANDSHAKE)
		return;
	if (ws->state == MSRP_WS_S_OPEN) {
		if (!ws->timer_close)
			eng_timer_cancel(&ws->timer);
		return;
	}
	if (!ws->timer_close) {
		ws->timer_close = 1;
		glue_arm(ws, ws->cfg->close_timeout_ms);
	}
	if (ws->state == MSRP_WS_S_DONE && !ws->close_started) {
		ws->close_started = 1;
		eng_close(ws->c);
	}
}

static void glue_after_api(struct msrp_ws *ws)
{
	if (!ws->glue || ws->depth || ws->busy)
		return; /* the feed or engine callback on the stack settles when it returns */
	glue_enter(ws);
	glue_settle(ws);
	glue_leave(ws, 0);
}

static int glue_out(void *arg, const void *p, size_t len)
{
	struct msrp_ws *ws = arg;
	if (!ws->c || ws->gone)
		return -EPIPE;
	return eng_send(ws->c, p, len);
}

static void glue_recv(eng_conn *c, eng_buf *b, uint32_t off, uint32_t len)
{
	struct msrp_ws *ws = c->udata;
	if (ws->gone)
		return;
	glue_enter(ws);
	msrp_ws_feed(ws, b->data + off, len);
	glue_settle(ws);
	glue_leave(ws, 1);
}

static void glue_writable(eng_conn *c)
{
	struct msrp_ws *ws = c->udata;
	if (ws->gone || !ws->ops->on_writable || ws->state != MSRP_WS_S_OPEN)
		return;
	glue_enter(ws);
	ws->pressure = 0;
	ws->ops->on_writable(ws->ctx);
	glue_leave(ws, 1);
}

static void glue_close(eng_conn *c, int err)
{
	struct msrp_ws *ws = c->udata;
	ws->c = NULL;
	ws->conn_err = err;
	ws->gone = 1;
	ws->rx_drop = 1;
	if (!ws->busy)
		glue_finish(ws);
}

static void glue_timer(eng_timer *t)
{
	struct msrp_ws *ws = t->arg;
	if (ws->gone) {
		if (!ws->busy)
			glue_finish(ws);
		return;
	}
	glue_enter(ws);
	if (ws->state == MSRP_WS_S_HANDSHAKE)
		COUNT(ws, handshake_timeouts);
	else
		COUNT(ws, close_timeouts);
	ws->rx_drop = 1;
	eng_abort(ws->c, -ETIMEDOUT);
	glue_leave(ws, 1);
}

static void glue_describe(eng_conn *c, struct eng_conn_desc *d)
{
	struct msrp_ws *ws = c->udata;
	/* the MSRP connection over it is its context once the WebSocket opened */
	msrp_conn_describe(ws->opened ? ws->ctx : NULL, d);
	d->transport = c->tls ? "wss" : "ws";
}

static const struct eng_conn_ops glue_ops = {
	.on_recv = glue_recv,
	.on_connect = NULL,        /* a failed connect is followed by on_close */
	.on_writable = glue_writable,
	.on_close = glue_close,
	.describe = glue_describe,
};

static void glue_setup(struct msrp_ws *ws, eng_worker *w)
{
	ws->glue = 1;
	ws->w = w;
	eng_timer_init(&ws->timer, glue_timer, ws);
}

int msrp_ws_attach(struct msrp_ws *ws, eng_conn *c, const struct msrp_ws_cfg *cfg,
		   const struct msrp_ws_ops *ops, void *ctx, struct msrp_ws_stats *st)
{
	int r = msrp_ws_init(ws, MSRP_WS_SERVER, cfg, ops, ctx, st, glue_out, ws);
	if (r < 0) {
		eng_close(c);
		return r;
	}
	glue_setup(ws, c->w);
	ws->c = c;
	glue_enter(ws);
	glue_arm(ws, cfg->handshake_timeout_ms);
	eng_conn_start(c, &glue_ops, ws); /* may deliver bytes carried over at once */
	glue_settle(ws);
	glue_leave(ws, 0);
	return 0;
}

int msrp_ws_connect(struct msrp_ws *ws, eng_worker *w, const char *hostport, eng_tls_ctx *tls,
		    const char *sni, cm_slice host, cm_slice target, cm_slice origin,
		    const struct msrp_ws_cfg *cfg, const struct msrp_ws_ops *ops, void *ctx,
		    struct msrp_ws_stats *st, eng_conn **out)
{
	char *req;
	size_t len;
	eng_conn *c;

	int r = msrp_ws_init(ws, MSRP_WS_CLIENT, cfg, ops, ctx, st, glue_out, ws);
	if (r < 0)
		return r;
	r = client_prepare(ws, host, target, origin, &req, &len);
	if (r < 0)
		return r;
	glue_setup(ws, w);
	r = eng_connect(w, hostport, tls, sni, &glue_ops, ws, &c);
	if (r < 0) {
		free(req);
		msrp_ws_fini(ws);
		ws->glue = 0;
		return r;
	}
	ws->c = c;
	if (out)
		*out = c;
	glue_enter(ws);
	glue_arm(ws, cfg->handshake_timeout_ms);
	/* queued now, written once connected (and after the TLS handshake for wss) */
	r = eng_send(c, req, len);
	free(req);
	if (r < 0) {
		ws->rx_drop = 1;
		eng_abort(c, r); /* on_close (code 0) follows, not from inside this call */
	}
	glue_leave(ws, 0);
	return 0;
}

eng_conn *msrp_ws_conn(const struct msrp_ws *ws) { return ws->gone ? NULL : ws->c; }

void msrp_ws_abort(struct msrp_ws *ws)
{
	if (!ws->glue || ws->gone || !ws->c)
		return;
	glue_enter(ws);
	ws->rx_drop = 1;
	eng_abort(ws->c, -ECONNABORTED);
	glue_leave(ws, 0);
}

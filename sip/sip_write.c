/* sip_write.c — SIP message serializer (see sip_write.h). */
#include <errno.h>
#include <string.h>

#include "sip/sip_hdr.h"
#include "sip/sip_write.h"

/* An output buffer that stops writing, and remembers it, once full. */
struct out {
	char *p;
	size_t cap, len;
	int full;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->full || n > o->cap - o->len) {
		o->full = 1;
		return;
	}
	if (n)
		memcpy(o->p + o->len, s, n);
	o->len += n;
}

static void puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

static void put_slice(struct out *o, cm_slice s)
{
	put(o, s.p, s.len);
}

static void put_uint(struct out *o, uint64_t v)
{
	char tmp[24];
	size_t i = sizeof(tmp);

	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	put(o, tmp + i, sizeof(tmp) - i);
}

static void put_hdr(struct out *o, cm_slice name, enum sip_hid id, cm_slice value)
{
	if (name.len)
		put_slice(o, name);
	else
		puts_(o, sip_hdr_name(id));
	put(o, ": ", 2);
	put_slice(o, value);
	put(o, "\r\n", 2);
}

static void put_hdrs(struct out *o, const struct sip_hdr *h, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		if (h[i].id == SIP_H_CONTENT_LENGTH ||
		    (h[i].name.len && sip_hdr_id(h[i].name.p, h[i].name.len) ==
					      SIP_H_CONTENT_LENGTH))
			continue;
		put_hdr(o, h[i].name, h[i].id, h[i].value);
	}
}

/* Content-Length, the blank line, the body; the result. */
static ssize_t finish(struct out *o, cm_slice body)
{
	puts_(o, "Content-Length: ");
	put_uint(o, body.len);
	put(o, "\r\n\r\n", 4);
	put_slice(o, body);
	return o->full ? -ENOSPC : (ssize_t)o->len;
}

static const struct {
	int code;
	const char *text;
} phrases[] = {
	{ 100, "Trying" }, { 180, "Ringing" }, { 181, "Call Is Being Forwarded" },
	{ 182, "Queued" }, { 183, "Session Progress" }, { 200, "OK" }, { 202, "Accepted" },
	{ 300, "Multiple Choices" }, { 301, "Moved Permanently" },
	{ 302, "Moved Temporarily" }, { 305, "Use Proxy" }, { 380, "Alternative Service" },
	{ 400, "Bad Request" }, { 401, "Unauthorized" }, { 402, "Payment Required" },
	{ 403, "Forbidden" }, { 404, "Not Found" }, { 405, "Method Not Allowed" },
	{ 406, "Not Acceptable" }, { 407, "Proxy Authentication Required" },
	{ 408, "Request Timeout" }, { 410, "Gone" }, { 413, "Request Entity Too Large" },
	{ 414, "Request-URI Too Long" }, { 415, "Unsupported Media Type" },
	{ 416, "Unsupported URI Scheme" }, { 420, "Bad Extension" },
	{ 421, "Extension Required" }, { 423, "Interval Too Brief" },
	{ 480, "Temporarily Unavailable" }, { 481, "Call/Transaction Does Not Exist" },
	{ 482, "Loop Detected" }, { 483, "Too Many Hops" }, { 484, "Address Incomplete" },
	{ 485, "Ambiguous" }, { 486, "Busy Here" }, { 487, "Request Terminated" },
	{ 488, "Not Acceptable Here" }, { 489, "Bad Event" }, { 491, "Request Pending" },
	{ 493, "Undecipherable" }, { 500, "Server Internal Error" },
	{ 501, "Not Implemented" }, { 502, "Bad Gateway" }, { 503, "Service Unavailable" },
	{ 504, "Server Time-out" }, { 505, "Version Not Supported" },
	{ 513, "Message Too Large" }, { 600, "Busy Everywhere" }, { 603, "Decline" },
	{ 604, "Does Not Exist Anywhere" }, { 606, "Not Acceptable" },
};

const char *sip_reason_phrase(int status)
{
	for (size_t i = 0; i < sizeof(phrases) / sizeof(phrases[0]); i++)
		if (phrases[i].code == status)
			return phrases[i].text;
	return "Unknown";
}

ssize_t sip_write_request(char *buf, size_t cap, cm_slice method, cm_slice ruri,
			  const struct sip_hdr *hdrs, unsigned n, cm_slice body)
{
	struct out o = { buf, cap, 0, 0 };

	put_slice(&o, method);
	put(&o, " ", 1);
	put_slice(&o, ruri);
	puts_(&o, " SIP/2.0\r\n");
	put_hdrs(&o, hdrs, n);
	return finish(&o, body);
}

static void status_line(struct out *o, int status, cm_slice reason)
{
	puts_(o, "SIP/2.0 ");
	put_uint(o, (uint64_t)status);
	put(o, " ", 1);
	if (reason.len)
		put_slice(o, reason);
	else
		puts_(o, sip_reason_phrase(status));
	put(o, "\r\n", 2);
}

ssize_t sip_write_response(char *buf, size_t cap, int status, cm_slice reason,
			   const struct sip_hdr *hdrs, unsigned n, cm_slice body)
{
	struct out o = { buf, cap, 0, 0 };

	if (status < 100 || status > 699)
		return -EINVAL;
	status_line(&o, status, reason);
	put_hdrs(&o, hdrs, n);
	return finish(&o, body);
}

ssize_t sip_write_response_from(char *buf, size_t cap, const struct sip_msg *req, int status,
				cm_slice reason, cm_slice to_tag, const struct sip_hdr *extra,
				unsigned n, cm_slice body)
{
	static const enum sip_hid copied[] = { SIP_H_FROM, SIP_H_TO, SIP_H_CALL_ID, SIP_H_CSEQ };
	struct out o = { buf, cap, 0, 0 };

	if (status < 100 || status > 699 || req->kind != SIP_KIND_REQUEST ||
	    req->first[SIP_H_VIA] < 0)
		return -EINVAL;
	for (unsigned i = 0; i < 4; i++)
		if (req->first[copied[i]] < 0)
			return -EINVAL;
	status_line(&o, status, reason);
	for (unsigned i = (unsigned)req->first[SIP_H_VIA]; i < req->nhdrs; i++)
		if (req->hdrs[i].id == SIP_H_VIA)
			put_hdr(&o, CM_SLICE_NULL, SIP_H_VIA, req->hdrs[i].value);
	for (unsigned i = 0; i < 4; i++) {
		cm_slice v = req->hdrs[req->first[copied[i]]].value;

		puts_(&o, sip_hdr_name(copied[i]));
		put(&o, ": ", 2);
		put_slice(&o, v);
		if (copied[i] == SIP_H_TO && status > 100 && to_tag.len) {
			struct sip_addr a;

			if (sip_addr_parse(v, &a) == 0 && !a.tag.p) {
				put(&o, ";tag=", 5);
				put_slice(&o, to_tag);
			}
		}
		put(&o, "\r\n", 2);
	}
	put_hdrs(&o, extra, n);
	return finish(&o, body);
}

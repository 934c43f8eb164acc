/* msrp_id.c — session-ids, transaction ids, Message-IDs; shards of session-ids; the keyed
 * hash for ids minted by peers. See msrp_id.h for the forms and the contracts.
 *
 * Randomness: getrandom(2) into a 4 KiB buffer per thread, refilled whole when it runs
 * short. Why not wolfSSL's DRBG (wc_RNG_GenerateBlock) per thread:
 *   - the kernel's generator is a CSPRNG too, and reading it in 256-byte blocks costs one
 *     system call per ~25 transaction ids: a few ns per id, no SHA-256 work per call;
 *   - a WC_RNG is state to create on every thread and to free when the thread ends, and
 *     must be reseeded after fork() like any user-space generator; the buffer here is plain
 *     thread-local data whose only duty is the same fork() rule, met by a pthread_atfork()
 *     child handler that empties it (a child never hands out its parent's bytes);
 *   - reads of at most 256 bytes are never interrupted by signals once the kernel's pool
 *     is ready (getrandom(2)), so a refill cannot half-fail.
 * rand(3) and friends are never used: ids must not be predictable (§14.1; transaction ids
 * make the end-line that a body writer must not be able to forge). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/siphash.h>

#include "msrp/msrp_id.h"

#define RND_BUF 4096           /* bytes of a thread's buffer: one getrandom() call */
#define SID_RANDOM_CHARS 20    /* random characters of a session-id: 100 bits */
#define SID_CHECK_AT (MSRP_ID_SESSION_LEN - 1)

/* The lower-case base32 alphabet of RFC 4648 §6 and its inverse (-1: not in it). */
static const char b32[33] = "abcdefghijklmnopqrstuvwxyz234567";

#define B32V(c)                                                                            \
	((c) >= 'a' && (c) <= 'z' ? (c) - 'a' : (c) >= '2' && (c) <= '7' ? (c) - '2' + 26 : -1)
#define BR4(b)  B32V(b), B32V((b) + 1), B32V((b) + 2), B32V((b) + 3)
#define BR16(b) BR4(b), BR4((b) + 4), BR4((b) + 8), BR4((b) + 12)
#define BR64(b) BR16(b), BR16((b) + 16), BR16((b) + 32), BR16((b) + 48)

static const signed char b32_val[256] = { BR64(0), BR64(64), BR64(128), BR64(192) };

static pthread_once_t id_once = PTHREAD_ONCE_INIT;
static int id_init_rc;         /* 0 or -errno, set once by id_setup() */
static unsigned char sip_key[SIPHASH_KEY_SIZE];

static _Thread_local struct {
	unsigned pos;          /* next unused byte; RND_BUF: empty */
	unsigned char b[RND_BUF];
} rnd = { RND_BUF, { 0 } };

/* Fills <len> (<= 256) bytes at <p> from the kernel. 0 or -errno. */
static int getrandom_all(void *p, size_t len)
{
	size_t got = 0;

	/* <= 256 bytes: whole unless the pool is not ready yet and a signal comes */
	for (int tries = 0; got < len && tries < 64; tries++) {
		ssize_t r = getrandom((char *)p + got, len - got, 0);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t)r;
	}
	return got == len ? 0 : -EAGAIN;
}

static void rnd_atfork_child(void)
{
	rnd.pos = RND_BUF;
}

static void id_setup(void)
{
	if (pthread_atfork(NULL, NULL, rnd_atfork_child) != 0) {
		id_init_rc = -ENOMEM;
		return;
	}
	id_init_rc = getrandom_all(sip_key, sizeof(sip_key));
}

int msrp_id_init(void)
{
	pthread_once(&id_once, id_setup);
	return id_init_rc;
}

/* Points <*out> at <n> (<= RND_BUF) fresh random bytes of this thread's buffer. 0 or
 * -errno. */
static int rnd_take(size_t n, const unsigned char **out)
{
	if (RND_BUF - rnd.pos < n) {
		int rc = msrp_id_init();

		if (rc < 0)
			return rc;
		rc = getrandom_all(rnd.b, RND_BUF);
		if (rc < 0)
			return rc;
		rnd.pos = 0;
	}
	*out = rnd.b + rnd.pos;
	rnd.pos += (unsigned)n;
	return 0;
}

/* Writes <nchars> base32 characters made of the first 5 x <nchars> bits of <in>. */
static void b32_bits(const unsigned char *in, char *out, unsigned nchars)
{
	uint32_t acc = 0;
	unsigned bits = 0, j = 0;

	for (unsigned k = 0; k < nchars; k++) {
		if (bits < 5) {
			acc = acc << 8 | in[j++];
			bits += 8;
		}
		out[k] = b32[(acc >> (bits - 5)) & 31];
		bits -= 5;
	}
}

/* The check character's value of a session-id's first SID_CHECK_AT characters, or -1 when
 * one of them is not base32. */
static int sid_check(const char *p)
{
	unsigned sum = 0;

	for (unsigned i = 0; i < SID_CHECK_AT; i++) {
		int v = b32_val[(unsigned char)p[i]];

		if (v < 0)
			return -1;
		sum += (2 * i + 1) * (unsigned)v;   /* odd weights: any one change shows */
	}
	return (int)(sum % 32);
}

/* Random ident of <nchars> characters (5 bits each) into <buf>, NUL-terminated. */
static int mint_random(char *buf, size_t len, unsigned nchars)
{
	const unsigned char *r;
	int rc;

	if (!buf || len < (size_t)nchars + 1)
		return -ENOSPC;
	rc = rnd_take((nchars * 5 + 7) / 8, &r);
	if (rc < 0)
		return rc;
	b32_bits(r, buf, nchars);
	buf[nchars] = '\0';
	return (int)nchars;
}

int msrp_id_session(unsigned shard, char *buf, size_t len)
{
	const unsigned char *r;
	int rc;

	if (shard > 255)
		return -EINVAL;
	if (!buf || len < MSRP_ID_SESSION_LEN + 1)
		return -ENOSPC;
	rc = rnd_take((SID_RANDOM_CHARS * 5 + 7) / 8, &r);
	if (rc < 0)
		return rc;
	buf[0] = 'r';
	buf[1] = b32[shard >> 5];
	buf[2] = b32[shard & 31];
	b32_bits(r, buf + 3, SID_RANDOM_CHARS);
	buf[SID_CHECK_AT] = b32[sid_check(buf)];
	buf[MSRP_ID_SESSION_LEN] = '\0';
	return MSRP_ID_SESSION_LEN;
}

int msrp_id_shard(cm_slice session_id, unsigned nshards)
{
	int hi, lo;

	if (nshards == 0 || session_id.len != MSRP_ID_SESSION_LEN || session_id.p[0] != 'r')
		return -1;
	hi = b32_val[(unsigned char)session_id.p[1]];
	lo = b32_val[(unsigned char)session_id.p[2]];
	if (hi < 0 || hi > 7 || lo < 0)
		return -1;
	if (sid_check(session_id.p) != b32_val[(unsigned char)session_id.p[SID_CHECK_AT]])
		return -1;
	return (int)((unsigned)(hi << 5 | lo) % nshards);
}

uint64_t msrp_id_hash(cm_slice id)
{
	static const unsigned char empty[1];
	const unsigned char *in = id.len ? (const unsigned char *)id.p : empty;
	unsigned char h[SIPHASH_MAC_SIZE_8];
	uint64_t v = 0;
	int rc;

	/* Invariant, not input validation: without a key the hash could be aimed at. */
	if (msrp_id_init() != 0)
		abort();
	if (id.len <= UINT32_MAX) {
		rc = wc_SipHash(sip_key, in, (word32)id.len, h, sizeof(h));
	} else {
		SipHash st;
		size_t off = 0;

		rc = wc_InitSipHash(&st, sip_key, sizeof(h));
		while (rc == 0 && off < id.len) {
			size_t n = id.len - off < (1u << 30) ? id.len - off : (1u << 30);

			rc = wc_SipHashUpdate(&st, in + off, (word32)n);
			off += n;
		}
		if (rc == 0)
			rc = wc_SipHashFinal(&st, h, sizeof(h));
	}
	if (rc != 0)
		abort();
	for (int k = 7; k >= 0; k--)
		v = v << 8 | h[k];   /* SipHash's output is little-endian */
	return v;
}

unsigned msrp_id_route(cm_slice session_id, unsigned nshards)
{
	int s;

	if (nshards <= 1)
		return 0;
	s = msrp_id_shard(session_id, nshards);
	return s >= 0 ? (unsigned)s : (unsigned)(msrp_id_hash(session_id) % nshards);
}

int msrp_id_tid(char *buf, size_t len)
{
	return mint_random(buf, len, MSRP_ID_TID_LEN);
}

int msrp_id_message(char *buf, size_t len)
{
	return mint_random(buf, len, MSRP_ID_MSGID_LEN);
}

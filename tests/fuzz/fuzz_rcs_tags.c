/* fuzz_rcs_tags.c — libFuzzer target of the small RCS codecs: feature tags in Contact /
 * Accept-Contact values (rcs/rcs_tags.c) and the RFC 5547 a=file-selector and
 * a=file-range values (rcs/rcs_filesel.c). The first byte picks the codec (modulo 3:
 * tags, file-selector, file-range), the rest is the value, read where libFuzzer put it
 * (an exact-size heap block: ASan sees a read past its end).
 *
 * Properties:
 *   - no crash, no read outside the value; results are 0 or the documented errors;
 *   - tags: only known bits, botversion NUL-terminated within its array; the tags written
 *     for what was read, behind "*", read back to the same services and botversion (and
 *     no unknown URN); written into an exact heap buffer, and -ENOSPC one byte short;
 *   - file-selector: name and type slices inside the value, hash within its bounds; the
 *     name decodes; written from the decoded fields and read again it gives the same
 *     decoded name, type text, size, algorithm and hash;
 *   - file-range: 1 <= start, stop 0 or >= start; written and read again, the same. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rcs/rcs_filesel.h"
#include "rcs/rcs_tags.h"
#include "tests/fuzz/fuzz_check.h"

/* A writer called with (<buf>, <cap>) and its arguments in <ctx>. */
typedef long (*writer_fn)(char *buf, size_t cap, const void *ctx);

/* The text of <fn>, written into an exact heap buffer (malloc'ed; its length in *<len>)
 * after checking that the length it asks for is the length it writes and that one byte
 * less gives -ENOSPC and "". */
static char *write_exact(writer_fn fn, const void *ctx, long *len)
{
	long need = fn(NULL, 0, ctx);
	char *b;

	CHECK(need >= 0);
	b = malloc((size_t)need + 1);
	CHECK(b);
	memset(b, 'x', (size_t)need + 1);
	CHECK(fn(b, (size_t)need, ctx) == -ENOSPC && (need == 0 || b[0] == '\0'));
	CHECK(fn(b, (size_t)need + 1, ctx) == need && b[need] == '\0');
	CHECK(strlen(b) == (size_t)need);
	*len = need;
	return b;
}

static long tags_writer(char *buf, size_t cap, const void *ctx)
{
	const struct rcs_tags *t = ctx;

	return rcs_tags_write(buf, cap, t->services, t->botversion);
}

/* what rcs_filesel_write() takes */
struct sel_args {
	const char *name;
	const struct rcs_filesel *f;
};

static long filesel_writer(char *buf, size_t cap, const void *ctx)
{
	const struct sel_args *a = ctx;

	return rcs_filesel_write(buf, cap, a->name, a->f->type, a->f->size, a->f->has_size,
				 a->f->hash_alg, a->f->hash, a->f->hash_len);
}

static long filerange_writer(char *buf, size_t cap, const void *ctx)
{
	const uint64_t *r = ctx;

	return rcs_filerange_write(buf, cap, r[0], r[1]);
}

static void fuzz_tags(const char *p, size_t n)
{
	struct rcs_tags t, t2;
	long need;
	char *w, *v;
	int r = rcs_tags_parse(p, n, &t);

	CHECK(r == 0 || r == -EINVAL);
	CHECK((t.services & ~RCS_SVC_ALL) == 0);
	CHECK(memchr(t.botversion, '\0', sizeof(t.botversion)) != NULL);
	if (r < 0) {
		CHECK(t.services == 0 && t.botversion[0] == '\0' && t.nother == 0);
		return;
	}
	for (unsigned b = 1; b & RCS_SVC_ALL; b <<= 1)
		if (t.services & b)
			CHECK(rcs_svc_from_name(rcs_svc_name(b), strlen(rcs_svc_name(b))) == b);
	w = write_exact(tags_writer, &t, &need);
	v = malloc((size_t)need + 2);
	CHECK(v);
	v[0] = '*';
	memcpy(v + 1, w, (size_t)need + 1);
	CHECK(rcs_tags_parse(v, (size_t)need + 1, &t2) == 0);
	CHECK(t2.services == t.services && t2.nother == 0);
	CHECK(strcmp(t2.botversion, t.botversion) == 0);
	free(v);
	free(w);
}

static int inside(cm_slice s, const char *p, size_t n)
{
	return s.p ? s.p >= p && s.len <= n && s.p + s.len <= p + n : s.len == 0;
}

/* The decoded name of <f> (malloc'ed, "" when absent). */
static char *decoded(const struct rcs_filesel *f)
{
	long n = rcs_filesel_name_decode(f->name, NULL, 0);
	char *d;

	CHECK(n >= 0 && (size_t)n <= f->name.len);
	d = malloc((size_t)n + 1);
	CHECK(d);
	CHECK(rcs_filesel_name_decode(f->name, d, (size_t)n + 1) == n);
	CHECK(memchr(d, '\0', (size_t)n) == NULL);
	return d;
}

static void fuzz_filesel(const char *p, size_t n)
{
	struct rcs_filesel f, g;
	struct sel_args args;
	char *name, *name2, *w;
	long need;
	int r = rcs_filesel_parse(p, n, &f);

	CHECK(r == 0 || r == -EINVAL || r == -E2BIG);
	CHECK(inside(f.name, p, n) && inside(f.type, p, n));
	CHECK(f.hash_len <= RCS_FILESEL_HASH_MAX);
	CHECK(memchr(f.hash_alg, '\0', sizeof(f.hash_alg)) != NULL);
	if (r < 0) {
		CHECK(!f.name.p && !f.type.p && !f.has_size && !f.hash_len && !f.hash_alg[0]);
		return;
	}
	CHECK(!f.name.p || f.name.len > 0);
	CHECK((f.hash_len > 0) == (f.hash_alg[0] != '\0'));
	name = decoded(&f);
	args = (struct sel_args){ name, &f };
	w = write_exact(filesel_writer, &args, &need);
	CHECK(rcs_filesel_parse(w, (size_t)need, &g) == 0);
	name2 = decoded(&g);
	CHECK(strcmp(name, name2) == 0 && (f.name.p != NULL) == (g.name.p != NULL));
	CHECK(g.type.len == f.type.len && (!f.type.len || !memcmp(g.type.p, f.type.p, f.type.len)));
	CHECK(g.has_size == f.has_size && g.size == f.size);
	CHECK(strcmp(g.hash_alg, f.hash_alg) == 0 && g.hash_len == f.hash_len);
	CHECK(memcmp(g.hash, f.hash, f.hash_len) == 0);
	free(name2);
	free(name);
	free(w);
}

static void fuzz_filerange(const char *p, size_t n)
{
	uint64_t r2[2] = { 0, 0 }, a2 = 0, b2 = 0;
	long need;
	char *w;
	int r = rcs_filerange_parse(p, n, &r2[0], &r2[1]);

	CHECK(r == 0 || r == -EINVAL);
	if (r < 0) {
		CHECK(r2[0] == 0 && r2[1] == 0);
		return;
	}
	CHECK(r2[0] >= 1 && (r2[1] == 0 || r2[1] >= r2[0]));
	w = write_exact(filerange_writer, r2, &need);
	CHECK(rcs_filerange_parse(w, (size_t)need, &a2, &b2) == 0);
	CHECK(a2 == r2[0] && b2 == r2[1]);
	free(w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data + 1;

	if (size == 0)
		return 0;
	switch (data[0] % 3) {
	case 0:
		fuzz_tags(p, size - 1);
		break;
	case 1:
		fuzz_filesel(p, size - 1);
		break;
	default:
		fuzz_filerange(p, size - 1);
		break;
	}
	return 0;
}

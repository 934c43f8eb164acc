/* test_gw_files.c — the store of received files (gateway/gw_files.c): put/get/del, room made by
 * dropping the oldest, expiry, a file larger than the store refused. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gateway/gw_files.h"

Test(gw_files, put_get_delete)
{
	struct gw_files *fs = gw_files_new(1000, 60000);
	char id[GW_FILES_ID_LEN + 1], id2[GW_FILES_ID_LEN + 1];
	cr_assert_eq(gw_files_put(fs, "a.txt", "text/plain", "hello", 5, id), 0);
	cr_expect_eq(strlen(id), GW_FILES_ID_LEN);
	cr_assert_eq(gw_files_put(fs, "", "", "\0\1", 2, id2), 0);
	cr_expect_str_neq(id, id2);
	void *d;
	size_t n;
	char *name, *ct;
	cr_assert_eq(gw_files_get(fs, id, &d, &n, &name, &ct), 0);
	cr_expect(n == 5 && !memcmp(d, "hello", 5));
	cr_expect_str_eq(name, "a.txt");
	cr_expect_str_eq(ct, "text/plain");
	free(d);
	free(name);
	free(ct);
	uint64_t files, bytes;
	gw_files_usage(fs, &files, &bytes);
	cr_expect(files == 2 && bytes == 7);
	cr_expect_eq(gw_files_del(fs, id), 0);
	cr_expect_eq(gw_files_del(fs, id), -ENOENT);
	cr_expect_eq(gw_files_get(fs, id, &d, &n, &name, &ct), -ENOENT);
	cr_assert_eq(gw_files_get(fs, id2, &d, &n, &name, &ct), 0, "the other one stays");
	cr_expect(n == 2 && !memcmp(d, "\0\1", 2));
	free(d);
	free(name);
	free(ct);
	gw_files_free(fs);
}

Test(gw_files, the_oldest_go_to_make_room_and_too_big_is_refused)
{
	struct gw_files *fs = gw_files_new(10, 60000);
	char a[GW_FILES_ID_LEN + 1], b[GW_FILES_ID_LEN + 1], c[GW_FILES_ID_LEN + 1];
	cr_assert_eq(gw_files_put(fs, "a", "", "aaaa", 4, a), 0);
	cr_assert_eq(gw_files_put(fs, "b", "", "bbbb", 4, b), 0);
	cr_assert_eq(gw_files_put(fs, "c", "", "cccc", 4, c), 0); /* 12 > 10: a goes */
	void *d;
	size_t n;
	char *name, *ct;
	cr_expect_eq(gw_files_get(fs, a, &d, &n, &name, &ct), -ENOENT);
	cr_assert_eq(gw_files_get(fs, c, &d, &n, &name, &ct), 0);
	free(d);
	free(name);
	free(ct);
	cr_expect_eq(gw_files_put(fs, "big", "", "01234567890", 11, a), -EFBIG);
	gw_files_free(fs);
}

Test(gw_files, files_expire)
{
	struct gw_files *fs = gw_files_new(1000, 50);
	char id[GW_FILES_ID_LEN + 1];
	cr_assert_eq(gw_files_put(fs, "a", "", "x", 1, id), 0);
	usleep(120 * 1000);
	void *d;
	size_t n;
	char *name, *ct;
	cr_expect_eq(gw_files_get(fs, id, &d, &n, &name, &ct), -ENOENT);
	uint64_t files, bytes;
	gw_files_usage(fs, &files, &bytes);
	cr_expect(files == 0 && bytes == 0);
	gw_files_free(fs);
}

/* Parts kept for a resumption: taken back by key only, replaced by a newer one, never
 * downloadable, counted in the store's bound (a file pushes parts out for room, a part
 * pushes out older parts only). */
Test(gw_files, parts_kept_by_key)
{
	struct gw_files *fs = gw_files_new(1000, 60000);
	char id[GW_FILES_ID_LEN + 1];
	char *meta;
	void *d;
	uint64_t len, total, files, bytes;
	char *p = malloc(400);
	memcpy(p, "abc", 3);
	cr_assert_eq(gw_files_keep(fs, "in|alice|sel", "image/png", p, 400, 3, 400), 0);
	gw_files_usage(fs, &files, &bytes);
	cr_expect(files == 1 && bytes == 400, "a part costs what it holds");
	cr_expect_eq(gw_files_get(fs, "", &d, (size_t *)&len, &meta, &meta), -ENOENT);
	cr_expect_eq(gw_files_del(fs, ""), -ENOENT);
	cr_expect_eq(gw_files_take(fs, "in|alice|other", &meta, &d, &len, &total), -ENOENT);
	p = malloc(400); /* a newer part of the same file */
	memcpy(p, "abcdef", 6);
	cr_assert_eq(gw_files_keep(fs, "in|alice|sel", "image/png", p, 400, 6, 400), 0);
	gw_files_usage(fs, &files, &bytes);
	cr_expect(files == 1 && bytes == 400, "replaced, not added");
	cr_assert_eq(gw_files_take(fs, "in|alice|sel", &meta, &d, &len, &total), 0);
	cr_expect(len == 6 && total == 400 && !memcmp(d, "abcdef", 6));
	cr_expect_str_eq(meta, "image/png");
	free(meta);
	free(d);
	cr_expect_eq(gw_files_take(fs, "in|alice|sel", &meta, &d, &len, &total), -ENOENT,
		     "taken once");
	/* room: a part, then a file that needs its place */
	cr_assert_eq(gw_files_keep(fs, "k", "", malloc(600), 600, 10, 600), 0);
	static const char five_hundred[500];
	cr_assert_eq(gw_files_put(fs, "f", "t", five_hundred, sizeof(five_hundred), id), 0);
	cr_expect_eq(gw_files_take(fs, "k", &meta, &d, &len, &total), -ENOENT, "dropped for room");
	cr_expect_eq(gw_files_keep(fs, "k2", "", malloc(600), 600, 10, 600), -ENOSPC,
		     "a part never pushes out a file");
	cr_assert_eq(gw_files_get(fs, id, &d, (size_t *)&len, &meta, (char **)&p), 0,
		     "the file stays");
	free(d);
	free(meta);
	free(p);
	/* refusals (the data is taken in every case) */
	cr_expect_eq(gw_files_keep(fs, "k", "", malloc(2000), 2000, 1, 2000), -EFBIG);
	cr_expect_eq(gw_files_keep(fs, "", "", malloc(10), 10, 1, 10), -EINVAL);
	cr_expect_eq(gw_files_keep(fs, "k", "", malloc(10), 10, 11, 10), -EINVAL);
	/* a receiver's part costs the bytes it has, not the whole file */
	cr_assert_eq(gw_files_keep(fs, "r", "", malloc(10), 10, 10, 900), 0);
	gw_files_usage(fs, &files, &bytes);
	cr_expect_eq(bytes, 510);
	gw_files_free(fs);
}

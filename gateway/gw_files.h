/* gw_files.h — the files rcsgw received (RFC 5547 file transfer), kept for applications to
 * download (GET /v1/files/{id}) until they delete them or they expire.
 *
 * One store for the process, shared by the workers (put) and the API thread (get, delete):
 * a mutex guards it — files arrive once per transfer, far from any hot path. Bounded by
 * total bytes (the oldest files go first to make room) and by age. */
#ifndef GW_FILES_H
#define GW_FILES_H

#include <stddef.h>
#include <stdint.h>

#define GW_FILES_ID_LEN 32         /* characters of a file id */

struct gw_files;

/* A store of at most <max_bytes>, whose files expire <ttl_ms> after they came. NULL: out of
 * memory. */
struct gw_files *gw_files_new(uint64_t max_bytes, uint64_t ttl_ms);
void gw_files_free(struct gw_files *fs);

/* Keeps <len> bytes at <data> (copied) as file <name> of type <ctype> (both copied, may be
 * empty). 0 with its id in <id>, -EFBIG (larger than the store), -ENOMEM. Any thread. */
int gw_files_put(struct gw_files *fs, const char *name, const char *ctype, const void *data,
		 size_t len, char id[GW_FILES_ID_LEN + 1]);

/* A copy of file <id> (the caller frees *<data>, *<name>, *<ctype>). 0, -ENOENT (unknown or
 * expired), -ENOMEM. Any thread. */
int gw_files_get(struct gw_files *fs, const char *id, void **data, size_t *len, char **name,
		 char **ctype);

/* Forgets file <id>. 0 or -ENOENT. Any thread. */
int gw_files_del(struct gw_files *fs, const char *id);

/* Parts of files, kept so that a transfer that broke can resume (RFC 5547 a=file-range):
 * under <key>, the <held> bytes at <data> (malloc'd, taken in every case: the whole file
 * for a sender, the bytes it has for a receiver), of a file of <total> bytes whose first
 * <len> are what the receiver has, and <meta> (copied; the caller's own description). A
 * part costs its <held> bytes in the store's bound and shares its age with the files but is
 * never downloaded: only taken back by its key. A part under the same key is replaced. To
 * make room a part pushes out older parts only, never files (a file pushes out anything).
 * 0, -EFBIG (larger than the store), -ENOSPC (the files leave no room), -EINVAL (no key,
 * <len> beyond <held> or <total>, <total> 0), -ENOMEM. Any thread. */
int gw_files_keep(struct gw_files *fs, const char *key, const char *meta, void *data,
		  uint64_t held, uint64_t len, uint64_t total);

/* The part kept under <key>, now the caller's (free *<meta> and *<data>, which holds the
 * <held> bytes given), forgotten by the store. 0 or -ENOENT (none, or expired). Any
 * thread. */
int gw_files_take(struct gw_files *fs, const char *key, char **meta, void **data,
		  uint64_t *len, uint64_t *total);

/* Files and parts kept, and their bytes. Any thread. */
void gw_files_usage(struct gw_files *fs, uint64_t *files, uint64_t *bytes);

#endif

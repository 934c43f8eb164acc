/* gw_files.c — received files kept for download (gw_files.h). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "gateway/gw_files.h"

struct gw_file {
	struct gw_file *next;      /* oldest first */
	char id[GW_FILES_ID_LEN + 1];
	char *name, *ctype;
	char *key;                 /* a part kept for a resumption (gw_files_keep), else NULL */
	uint64_t came_ms;
	size_t len;
	uint64_t total, cost;      /* a part: the whole file's size; bytes held */
	unsigned char *data;
};

struct gw_files {
	pthread_mutex_t mu;
	uint64_t max_bytes, ttl_ms, bytes, n;
	struct gw_file *head, **tail;
};

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct gw_files *gw_files_new(uint64_t max_bytes, uint64_t ttl_ms)
{
	struct gw_files *fs = calloc(1, sizeof(*fs));
	if (!fs)
		return NULL;
	pthread_mutex_init(&fs->mu, NULL);
	fs->max_bytes = max_bytes;
	fs->ttl_ms = ttl_ms;
	fs->tail = &fs->head;
	return fs;
}

static void file_free(struct gw_file *f)
{
	free(f->data);
	free(f->key);
	free(f->name);
	free(f->ctype);
	free(f);
}

/* Drops the head (the oldest). Locked. */
static void drop_head(struct gw_files *fs)
{
	struct gw_file *f = fs->head;
	fs->head = f->next;
	if (!fs->head)
		fs->tail = &fs->head;
	fs->bytes -= f->cost;
	fs->n--;
	file_free(f);
}

/* Drops the expired files (all at the head: they came in order). Locked. */
static void expire(struct gw_files *fs)
{
	uint64_t now = mono_ms();
	while (fs->head && now - fs->head->came_ms >= fs->ttl_ms)
		drop_head(fs);
}

void gw_files_free(struct gw_files *fs)
{
	if (!fs)
		return;
	while (fs->head)
		drop_head(fs);
	pthread_mutex_destroy(&fs->mu);
	free(fs);
}

static void unlink_at(struct gw_files *fs, struct gw_file **pp);

/* Adds <f>, the oldest going to make room: any for a file, only parts for a part (parts
 * never push out files that applications have still to download). 0, or -ENOSPC (a part
 * for which the other parts cannot make room; <f> is not added). */
static int add(struct gw_files *fs, struct gw_file *f)
{
	f->next = NULL;
	f->came_ms = mono_ms();
	pthread_mutex_lock(&fs->mu);
	expire(fs);
	if (!f->key) {
		while (fs->head && fs->bytes + f->cost > fs->max_bytes)
			drop_head(fs);
	} else {
		uint64_t parts = 0;
		for (struct gw_file *g = fs->head; g; g = g->next)
			parts += g->key ? g->cost : 0;
		if (fs->bytes - parts + f->cost > fs->max_bytes) {
			pthread_mutex_unlock(&fs->mu);
			return -ENOSPC;
		}
		for (struct gw_file **pp = &fs->head; *pp && fs->bytes + f->cost > fs->max_bytes;) {
			struct gw_file *g = *pp;
			if (!g->key) {
				pp = &g->next;
				continue;
			}
			unlink_at(fs, pp);
			file_free(g);
		}
	}
	*fs->tail = f;
	fs->tail = &f->next;
	fs->bytes += f->cost;
	fs->n++;
	pthread_mutex_unlock(&fs->mu);
	return 0;
}

/* Takes <f> (at *<pp>) off the list. Locked. */
static void unlink_at(struct gw_files *fs, struct gw_file **pp)
{
	struct gw_file *f = *pp;
	*pp = f->next;
	if (fs->tail == &f->next)
		fs->tail = pp;
	fs->bytes -= f->cost;
	fs->n--;
}

/* The part kept under <key>, off the list (the caller has it), or NULL. Locked. */
static struct gw_file *unlink_key(struct gw_files *fs, const char *key)
{
	for (struct gw_file **pp = &fs->head; *pp; pp = &(*pp)->next) {
		struct gw_file *f = *pp;
		if (f->key && !strcmp(f->key, key)) {
			unlink_at(fs, pp);
			return f;
		}
	}
	return NULL;
}

int gw_files_put(struct gw_files *fs, const char *name, const char *ctype, const void *data,
		 size_t len, char id[GW_FILES_ID_LEN + 1])
{
	static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";
	unsigned char rnd[GW_FILES_ID_LEN];
	if (len > fs->max_bytes)
		return -EFBIG;
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return -EIO;
	struct gw_file *f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->data = malloc(len ? len : 1);
	f->name = strdup(name ? name : "");
	f->ctype = strdup(ctype ? ctype : "");
	if (!f->data || !f->name || !f->ctype) {
		file_free(f);
		return -ENOMEM;
	}
	for (int i = 0; i < GW_FILES_ID_LEN; i++)
		f->id[i] = b32[rnd[i] & 31];
	f->id[GW_FILES_ID_LEN] = '\0';
	f->len = f->cost = len;
	if (len)
		memcpy(f->data, data, len);
	add(fs, f); /* a file always finds room */
	memcpy(id, f->id, GW_FILES_ID_LEN + 1);
	return 0;
}

int gw_files_keep(struct gw_files *fs, const char *key, const char *meta, void *data,
		  uint64_t held, uint64_t len, uint64_t total)
{
	if (!key || !*key || !total || len > total || len > held || held > fs->max_bytes) {
		free(data);
		return held > fs->max_bytes ? -EFBIG : -EINVAL;
	}
	struct gw_file *f = calloc(1, sizeof(*f));
	if (!f) {
		free(data);
		return -ENOMEM;
	}
	f->data = data;
	f->key = strdup(key);
	f->name = strdup(meta ? meta : "");
	f->ctype = strdup("");
	if (!f->key || !f->name || !f->ctype) {
		file_free(f);
		return -ENOMEM;
	}
	f->len = (size_t)len;
	f->total = total;
	f->cost = held;
	pthread_mutex_lock(&fs->mu);
	struct gw_file *old = unlink_key(fs, key); /* a newer part of the same file replaces it */
	pthread_mutex_unlock(&fs->mu);
	if (old)
		file_free(old);
	int rc = add(fs, f);
	if (rc < 0)
		file_free(f);
	return rc;
}

int gw_files_take(struct gw_files *fs, const char *key, char **meta, void **data,
		  uint64_t *len, uint64_t *total)
{
	pthread_mutex_lock(&fs->mu);
	expire(fs);
	struct gw_file *f = unlink_key(fs, key);
	pthread_mutex_unlock(&fs->mu);
	if (!f)
		return -ENOENT;
	*meta = f->name;
	*data = f->data;
	*len = f->len;
	*total = f->total;
	f->name = NULL;
	f->data = NULL;
	file_free(f);
	return 0;
}

int gw_files_get(struct gw_files *fs, const char *id, void **data, size_t *len, char **name,
		 char **ctype)
{
	int rc = -ENOENT;
	pthread_mutex_lock(&fs->mu);
	expire(fs);
	for (struct gw_file *f = fs->head; f; f = f->next) {
		if (f->key || strcmp(f->id, id))
			continue;
		*data = malloc(f->len ? f->len : 1);
		*name = strdup(f->name);
		*ctype = strdup(f->ctype);
		if (!*data || !*name || !*ctype) {
			free(*data);
			free(*name);
			free(*ctype);
			rc = -ENOMEM;
			break;
		}
		memcpy(*data, f->data, f->len);
		*len = f->len;
		rc = 0;
		break;
	}
	pthread_mutex_unlock(&fs->mu);
	return rc;
}

int gw_files_del(struct gw_files *fs, const char *id)
{
	int rc = -ENOENT;
	pthread_mutex_lock(&fs->mu);
	for (struct gw_file **pp = &fs->head; *pp; pp = &(*pp)->next) {
		struct gw_file *f = *pp;
		if (f->key || strcmp(f->id, id))
			continue;
		unlink_at(fs, pp);
		file_free(f);
		rc = 0;
		break;
	}
	pthread_mutex_unlock(&fs->mu);
	return rc;
}

void gw_files_usage(struct gw_files *fs, uint64_t *files, uint64_t *bytes)
{
	pthread_mutex_lock(&fs->mu);
	expire(fs);
	*files = fs->n;
	*bytes = fs->bytes;
	pthread_mutex_unlock(&fs->mu);
}

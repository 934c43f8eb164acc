/* eng_buf.c — the worker's buffer pool and segment slab.
 *
 * Buffers are allocated in chunks as the pool grows (up to bufs_max) and never freed
 * before the worker ends, so the steady state allocates nothing. A buffer's index is its
 * provided-buffer id for io_uring. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine/eng_int.h"

#define BUF_CHUNK 64   /* buffers allocated at once */
#define SEG_CHUNK 256  /* segments allocated at once */

static int chunk_keep(eng_worker *w, void *p)
{
	void **n = realloc(w->chunks, (w->nchunks + 1) * sizeof(*w->chunks));
	if (!n)
		return -ENOMEM;
	w->chunks = n;
	w->chunks[w->nchunks++] = p;
	return 0;
}

static int pool_grow(eng_worker *w)
{
	uint32_t max = w->e->cfg.bufs_max, size = w->e->cfg.buf_size;
	uint32_t n = max - w->nbufs < BUF_CHUNK ? max - w->nbufs : BUF_CHUNK;

	if (n == 0)
		return -ENOBUFS;
	eng_buf *hdr = calloc(n, sizeof(*hdr));
	char *data = aligned_alloc(4096, (size_t)n * size);
	if (!hdr || !data || chunk_keep(w, hdr) < 0) {
		free(hdr);
		free(data);
		return -ENOMEM;
	}
	if (chunk_keep(w, data) < 0) {
		free(data); /* hdr stays registered and is freed at exit */
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < n; i++) {
		eng_buf *b = &hdr[i];
		b->data = data + (size_t)i * size;
		b->cap = size;
		b->idx = w->nbufs;
		w->pool[w->nbufs++] = b;
		b->next = w->buf_free;
		w->buf_free = b;
		w->nfree++;
	}
	return 0;
}

eng_buf *eng__buf_take(eng_worker *w)
{
	if (!w->buf_free && pool_grow(w) < 0)
		return NULL;
	eng_buf *b = w->buf_free;
	w->buf_free = b->next;
	w->nfree--;
	b->next = NULL;
	b->refs = 0;
	b->used = 0;
	return b;
}

eng_buf *eng_buf_get(eng_worker *w)
{
	eng_buf *b = eng__buf_take(w);
	if (b)
		b->refs = 1;
	return b;
}

void eng_buf_unref(eng_worker *w, eng_buf *b)
{
	if (--b->refs > 0)
		return;
	b->next = w->buf_free;
	w->buf_free = b;
	w->nfree++;
}

eng_seg *eng__seg_get(eng_worker *w)
{
	if (!w->seg_free) {
		eng_seg *s = calloc(SEG_CHUNK, sizeof(*s));
		if (!s || chunk_keep(w, s) < 0) {
			free(s);
			return NULL;
		}
		for (unsigned i = 0; i < SEG_CHUNK; i++) {
			s[i].next = w->seg_free;
			w->seg_free = &s[i];
		}
	}
	eng_seg *s = w->seg_free;
	w->seg_free = s->next;
	s->next = NULL;
	return s;
}

void eng__seg_put(eng_worker *w, eng_seg *s)
{
	s->b = NULL;
	s->next = w->seg_free;
	w->seg_free = s;
}

void eng__pool_fini(eng_worker *w)
{
	for (uint32_t i = 0; i < w->nchunks; i++)
		free(w->chunks[i]);
	free(w->chunks);
	free(w->pool);
	w->chunks = NULL;
	w->pool = NULL;
	w->nchunks = w->nbufs = w->nfree = 0;
	w->buf_free = NULL;
	w->seg_free = NULL;
}

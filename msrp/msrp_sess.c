/* msrp_sess.c — sessions by id and their bound connection (see msrp_sess.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "msrp/msrp_hdr.h"
#include "msrp/msrp_id.h"
#include "msrp/msrp_sess.h"
#include "msrp/msrp_uri.h"

int msrp_sess_table_init(struct msrp_sess_table *t, uint32_t buckets)
{
	uint32_t n = 16;
	while (n < buckets && n < (1u << 30))
		n <<= 1;
	t->buckets = calloc(n, sizeof(*t->buckets));
	if (!t->buckets)
		return -ENOMEM;
	t->mask = n - 1;
	t->count = 0;
	return 0;
}

void msrp_sess_table_fini(struct msrp_sess_table *t)
{
	free(t->buckets);
	t->buckets = NULL;
	t->count = 0;
}

static struct msrp_sess *find(const struct msrp_sess_table *t, cm_slice id, uint64_t h)
{
	for (struct msrp_sess *s = t->buckets[h & t->mask]; s; s = s->hnext)
		if (s->hash == h && s->idlen == id.len && memcmp(s->id, id.p, id.len) == 0)
			return s;
	return NULL;
}

int msrp_sess_add(struct msrp_sess_table *t, struct msrp_sess *s, cm_slice id)
{
	if (!id.len || id.len > MSRP_SESS_ID_MAX)
		return -EINVAL;
	uint64_t h = msrp_id_hash(id);
	if (find(t, id, h))
		return -EEXIST;
	memcpy(s->id, id.p, id.len);
	s->idlen = (uint8_t)id.len;
	s->hash = h;
	s->conn = NULL;
	s->cnext = NULL;
	s->cprev = NULL;
	s->hnext = t->buckets[h & t->mask];
	t->buckets[h & t->mask] = s;
	t->count++;
	return 0;
}

void msrp_sess_remove(struct msrp_sess_table *t, struct msrp_sess *s)
{
	msrp_sess_unbind(s);
	struct msrp_sess **pp = &t->buckets[s->hash & t->mask];
	while (*pp && *pp != s)
		pp = &(*pp)->hnext;
	if (!*pp)
		return;
	*pp = s->hnext;
	s->hnext = NULL;
	t->count--;
}

struct msrp_sess *msrp_sess_find(const struct msrp_sess_table *t, cm_slice id)
{
	if (!id.len || id.len > MSRP_SESS_ID_MAX)
		return NULL;
	return find(t, id, msrp_id_hash(id));
}

struct msrp_sess *msrp_sess_of_request(const struct msrp_sess_table *t, const struct msrp_msg *m)
{
	cm_slice path = msrp_hdr_get(m, MSRP_H_TO_PATH), first;
	struct msrp_uri u;

	if (!path.p || msrp_path_next(&path, &first) <= 0 || msrp_uri_parse(first, &u) < 0)
		return NULL;
	return msrp_sess_find(t, u.session_id);
}

int msrp_sess_bind(struct msrp_sess *s, struct msrp_conn *mc, struct msrp_sess_list *list)
{
	if (s->conn)
		return s->conn == mc ? 0 : 506;
	s->conn = mc;
	s->cnext = list->head;
	if (s->cnext)
		s->cnext->cprev = &s->cnext;
	s->cprev = &list->head;
	list->head = s;
	return 0;
}

void msrp_sess_unbind(struct msrp_sess *s)
{
	if (!s->conn)
		return;
	*s->cprev = s->cnext;
	if (s->cnext)
		s->cnext->cprev = s->cprev;
	s->cnext = NULL;
	s->cprev = NULL;
	s->conn = NULL;
}

unsigned msrp_sess_list_count(const struct msrp_sess_list *list)
{
	unsigned n = 0;
	for (const struct msrp_sess *s = list->head; s; s = s->cnext)
		n++;
	return n;
}

unsigned msrp_sess_unbind_all(struct msrp_sess_list *list)
{
	unsigned n = 0;
	while (list->head) {
		msrp_sess_unbind(list->head);
		n++;
	}
	return n;
}

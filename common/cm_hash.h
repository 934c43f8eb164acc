/* cm_hash.h — FNV-1a (64 bits) for in-memory tables and recognising ids seen before; not for
 * anything an attacker's choice of keys could hurt more than a longer chain. */
#ifndef CM_HASH_H
#define CM_HASH_H

#include <stddef.h>
#include <stdint.h>

static inline uint64_t cm_fnv1a64(const void *p, size_t n)
{
	const unsigned char *b = p;
	uint64_t h = 14695981039346656037ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ull;
	return h;
}

#endif

/* guard.h — parser inputs placed against a guard page (the picohttpparser test idea).
 *
 * guard_copy() copies <len> bytes to the end of fresh pages followed by a PROT_NONE page,
 * so that reading byte [<len>] (or any byte past the input) faults at once instead of
 * reading whatever follows in the heap. Tests only: one mmap per call. */
#ifndef TESTS_LIB_GUARD_H
#define TESTS_LIB_GUARD_H

#include <stddef.h>

/* A copy of <p>[0..<len>) whose byte [<len>] is the first byte of a PROT_NONE page (<p>
 * may be NULL when <len> is 0). Aborts when memory cannot be mapped. Free it with
 * guard_release(). */
const char *guard_copy(const void *p, size_t len);

/* Unmaps a copy made by guard_copy() (NULL is ignored). */
void guard_release(const char *p);

#endif

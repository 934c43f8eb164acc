/* guard.c — inputs against a guard page (see guard.h). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tests/lib/guard.h"

/* Layout: [header page(s) with the mapping's size][data, ending at a page end][guard page].
 * The size lives in the word right before the data's first page, found again from <p>. */
const char *guard_copy(const void *p, size_t len)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	size_t data_pages = (len + pg - 1) / pg;
	size_t total = (1 + data_pages + 1) * pg;   /* header + data + guard */
	char *base = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			  -1, 0);
	char *guard, *out;

	if (base == MAP_FAILED) {
		perror("guard_copy: mmap");
		abort();
	}
	guard = base + (1 + data_pages) * pg;
	if (mprotect(guard, pg, PROT_NONE) != 0) {
		perror("guard_copy: mprotect");
		abort();
	}
	memcpy(base, &total, sizeof(total));
	out = guard - len;
	if (len)
		memcpy(out, p, len);
	return out;
}

void guard_release(const char *p)
{
	size_t pg, total;
	char *header;

	if (!p)
		return;
	/* p lies in the first data page (the data is shorter than its pages by less than a
	 * page), or at the guard when len was 0: either way the header is the page before the
	 * one p rounds down to. */
	pg = (size_t)sysconf(_SC_PAGESIZE);
	header = (char *)((uintptr_t)p & ~(uintptr_t)(pg - 1)) - pg;
	memcpy(&total, header, sizeof(total));
	munmap(header, total);
}

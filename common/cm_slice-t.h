/* cm_slice-t.h — the one zero-copy string type of the project.
 *
 * A slice points into memory owned by someone else (a receive buffer, the config, a
 * literal). It is never NUL-terminated and is passed by value. */
#ifndef CM_SLICE_T_H
#define CM_SLICE_T_H

#include <stddef.h>

typedef struct cm_slice {
	const char *p;
	size_t len;
} cm_slice;

#define CM_SLICE_LIT(s) ((cm_slice){ (s), sizeof(s) - 1 })
#define CM_SLICE_NULL   ((cm_slice){ NULL, 0 })

#endif

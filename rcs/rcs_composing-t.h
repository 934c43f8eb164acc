/* rcs_composing-t.h — type of an isComposing indication (RFC 3994). No prototypes here
 * (rcs_composing.h). */
#ifndef RCS_COMPOSING_T_H
#define RCS_COMPOSING_T_H

/* One application/im-iscomposing+xml document. The strings are NUL-terminated copies. */
struct rcs_composing {
	int active;              /* <state>: 1 active, 0 idle */
	unsigned refresh;        /* <refresh> in seconds, 0 when absent */
	char lastactive[64];     /* <lastactive>, RFC 3339, or empty */
	char contenttype[128];   /* <contenttype>, or empty */
};

#endif

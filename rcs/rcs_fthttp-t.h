/* rcs_fthttp-t.h — types of the file transfer over HTTP descriptor (GSMA RCC.07, RCS
 * Universal Profile). No prototypes here (rcs_fthttp.h). */
#ifndef RCS_FTHTTP_T_H
#define RCS_FTHTTP_T_H

#include <stdint.h>

/* One <file-info> (the file, or its thumbnail). The strings are NUL-terminated copies. */
struct rcs_ft_info {
	int present;             /* 1 when the descriptor has this part */
	uint64_t size;           /* <file-size>, bytes (0 when absent) */
	char name[256];          /* <file-name>: file only; may be empty */
	char content_type[128];  /* <content-type>, or empty */
	char url[1024];          /* <data url=".."> (required in a present part) */
	char until[64];          /* <data until="..">, RFC 3339, or empty */
	char disposition[16];    /* file-disposition: "render" / "attachment" / empty (file only) */
	unsigned playing_length; /* <am:playing-length>, seconds, 0 when absent (audio messages,
				  * file only) */
};

/* One application/vnd.gsma.rcs-ft-http+xml document. */
struct rcs_fthttp {
	struct rcs_ft_info file, thumbnail;
};

#endif

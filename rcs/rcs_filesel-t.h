/* rcs_filesel-t.h — the file selector of an SDP file-transfer offer (RFC 5547 §6) (types). */
#ifndef RCS_FILESEL_T_H
#define RCS_FILESEL_T_H

#include <stdint.h>

#include "common/cm_slice-t.h"

#define RCS_FILESEL_HASH_MAX 64 /* bytes of a hash (sha-256 is 32) */
#define RCS_FILESEL_ALG_MAX  15 /* bytes of a hash algorithm's name */

/* One a=file-selector value: the selectors present (any subset, each at most once). */
struct rcs_filesel {
	cm_slice name;          /* still encoded as in the SDP (use rcs_filesel_name_decode);
				 * p NULL when absent */
	cm_slice type;          /* media type with parameters; empty when absent */
	uint64_t size; int has_size;
	char hash_alg[16];      /* "sha-1", "sha-256"...; empty when absent */
	unsigned char hash[RCS_FILESEL_HASH_MAX]; unsigned hash_len;
};

#endif

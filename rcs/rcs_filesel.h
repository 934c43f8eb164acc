/* rcs_filesel.h — values of the RFC 5547 file-transfer SDP attributes a=file-selector and
 * a=file-range (RFC 5547 §6), as RCS file transfer over MSRP uses them (RCC.07).
 *
 *   a=file-selector:name:"My cool picture.jpg" type:image/jpeg size:32349
 *                   hash:sha-1:72:24:5F:E8:65:3D:DA:F3:71:36:2F:86:D4:71:91:3E:E4:A2:CE:2E
 *   a=file-range:1-32349
 *
 *   selector        = filename-selector / filesize-selector / filetype-selector /
 *                     hash-selector                     (separated by SP, any order)
 *   filename-selector = "name:" DQUOTE filename-string DQUOTE
 *   filename-string = 1*( filename-char / percent-encoded )
 *   filename-char   = any byte but NUL, CR, LF, DQUOTE and "%"
 *   filetype-selector = "type:" type "/" subtype *( ";" attribute "=" DQUOTE
 *                     filename-string DQUOTE )          (RFC 2045 tokens; no blanks)
 *   filesize-selector = "size:" integer
 *   hash-selector   = "hash:" hash-algorithm ":" 2UHEX *( ":" 2UHEX )
 *   file-range      = start-offset "-" ( stop-offset / "*" )   (1-based, inclusive)
 *
 * What the parsers take beyond the grammar: blanks (SP, HTAB) before, between (several)
 * and after selectors and around a file-range; selector names in any case (ABNF strings
 * are case-insensitive); hex digits of a hash in either case; a size with leading zeros
 * or 0; a type parameter whose value is a bare token. What they refuse although the
 * grammar allows it: a name holding %00 (a NUL cannot be a file name: it would cut it); a
 * selector given twice; an unknown selector (the RFC defines no extension). The other
 * attributes of RFC 5547 (file-transfer-id, file-disposition, file-date, file-icon) are a
 * token, a token, quoted dates and a cid: URL, taken as sdp_attr_get() gives them.
 *
 * Nothing is allocated; output slices point into the input. Reentrant. */
#ifndef RCS_FILESEL_H
#define RCS_FILESEL_H

#include <stddef.h>
#include <stdint.h>

#include "common/cm_slice-t.h"
#include "rcs/rcs_filesel-t.h"

/* Parses the value after "file-selector:" — <p>[0..<len>), never read beyond (<p> may be
 * NULL when <len> is 0) — into *<out>. An empty value (a bare a=file-selector, with which
 * an endpoint says it does file transfer) gives an empty *<out>. Returns 0; -EINVAL when
 * malformed (see above); -E2BIG when a hash has more than RCS_FILESEL_HASH_MAX bytes or
 * its algorithm name more than RCS_FILESEL_ALG_MAX. On failure *<out> is empty. */
int rcs_filesel_parse(const char *p, size_t len, struct rcs_filesel *out);

/* Decodes the %-escapes of a name (as rcs_filesel_parse() gives it) into <out>, with a
 * NUL. Returns the length (NUL excluded); the length needed when <out> is NULL; -ENOSPC
 * when <cap> is too small (<out> then holds "" when <cap> > 0); -EINVAL when <name> holds
 * NUL, CR, LF or '"', or a '%' not followed by two hex digits, or %00. */
long rcs_filesel_name_decode(cm_slice name, char *out, size_t cap);

/* Writes "name:\"...\" type:... size:N hash:sha-1:AA:BB..." and a NUL into <buf>[0..<cap>)
 * from a plain (decoded) <name>: '%', '"', CR and LF of <name> are %-encoded, as the
 * grammar requires, every other byte is kept (UTF-8 names stay readable). A selector is
 * omitted when its field is empty: <name> NULL or "", <type> of length 0, <has_size> 0,
 * <hash_len> 0; with nothing at all it writes "" and returns 0. Returns the length (NUL
 * excluded); the length needed when <buf> is NULL; -ENOSPC when <cap> is too small (<buf>
 * then holds "" when <cap> > 0); -EINVAL when <type> is not a filetype-selector value,
 * <hash_len> is above RCS_FILESEL_HASH_MAX, or (with <hash_len> > 0) <hash> is NULL or
 * <hash_alg> is not a token of 1..RCS_FILESEL_ALG_MAX bytes. The hash goes in upper-case
 * hex. */
long rcs_filesel_write(char *buf, size_t cap, const char *name, cm_slice type, uint64_t size,
		       int has_size, const char *hash_alg, const unsigned char *hash,
		       unsigned hash_len);

/* Parses an "a=file-range:" value: *<start> (1-based, >= 1) and *<stop> (>= *<start>; 0
 * for "*", the end not known). 0, or -EINVAL (malformed, 0 or out of uint64_t range, stop
 * before start; *<start> and *<stop> are then untouched). */
int rcs_filerange_parse(const char *p, size_t len, uint64_t *start, uint64_t *stop);

/* Writes "<start>-<stop>" ("<start>-*" for <stop> 0) and a NUL into <buf>[0..<cap>):
 * the length, the length needed when <buf> is NULL, -ENOSPC (<buf> then "" when <cap> >
 * 0), or -EINVAL when <start> is 0 or <stop> is neither 0 nor >= <start>. */
long rcs_filerange_write(char *buf, size_t cap, uint64_t start, uint64_t stop);

#endif

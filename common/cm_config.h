/* cm_config.h — the configuration: embedded defaults, then the file (libconfig syntax),
 * then RCSGW_<SECTION>_<KEY> environment overrides, then cross-key validation.
 *
 * The file holds one group per section and nothing else:
 *     engine = { workers = "auto"; buffer_size = "16k"; };
 *     api = { listen = [ "127.0.0.1:8080" ]; };
 * Unknown sections and keys are errors, so that a typo never passes silently.
 *
 * The environment name of a key is "RCSGW_" + upper(section) + "_" + upper(key), e.g.
 * RCSGW_ENGINE_WORKERS=4, RCSGW_API_LISTEN=127.0.0.1:9000,[::1]:9000 (lists are comma-separated,
 * an empty value is an empty list). Every RCSGW_<SECTION>_* variable whose <SECTION> is a
 * section of the schema is taken as a key of it: an unknown one is an error too.
 *
 * Errors are one line, for example
 *     rcsgw.conf:12: engine.workers: expected "auto" or an integer 1..1024, got "lots"
 *     environment RCSGW_ENGINE_BACKEND: expected one of "auto", "io_uring", "epoll", got "x"
 *
 * Known limit: libconfig 1.5 wraps integer literals beyond 32 bits unless they carry the L
 * suffix; every bound of the schema is within 32 bits and large sizes read best as "1G". */
#ifndef CM_CONFIG_H
#define CM_CONFIG_H

#include <stdio.h>

#include "common/cm_config-t.h"

/* Fills <c> with the embedded defaults (the schema's). <c> is overwritten, not freed first:
 * give it zeroed or freed memory. Aborts if a default of the schema is malformed (a bug). */
void cm_config_defaults(struct cm_config *c);

/* Loads the configuration into <c>: defaults, then the file at <path> (NULL: none), then the
 * variables of <envp> (a NULL-terminated "NAME=value" array like environ; NULL: none), then
 * the cross-key rules. <c> is overwritten, not freed first. Returns 0, or -1 with one line
 * in <err> (of <errlen> bytes, may be 0) and <c> freed (all zero). */
int cm_config_load_env(struct cm_config *c, const char *path, char *const *envp,
                       char *err, size_t errlen);

/* cm_config_load_env() with the process environment. */
int cm_config_load(struct cm_config *c, const char *path, char *err, size_t errlen);

/* Frees what <c> owns and zeroes it. Safe on a zeroed or already freed config. */
void cm_config_free(struct cm_config *c);

/* Writes the effective configuration of <c> to <out> as a libconfig file that
 * cm_config_load() reads back to the same values (durations in ms, sizes in bytes). Values
 * of CM_CFG_F_SECRET keys are written as "<redacted>", one per element, so that a dump used
 * as a config fails closed. Returns 0 or -errno (-EIO when <out> reports an error). */
int cm_config_dump(const struct cm_config *c, FILE *out);

/* The schema: <*n> rows, in dump order, rows of a section contiguous. */
const struct cm_config_key *cm_config_schema(size_t *n);

/* 1 when key <k> (a row of cm_config_schema()) has the same value in <a> and <b>. */
int cm_config_same(const struct cm_config *a, const struct cm_config *b,
		   const struct cm_config_key *k);

/* The row of <section>.<key>, or NULL. */
const struct cm_config_key *cm_config_find(const char *section, const char *key);

/* Writes the environment variable name of <k> into <buf> (<len> bytes). Returns its
 * length, or -ENOSPC when it does not fit. */
int cm_config_env_name(const struct cm_config_key *k, char *buf, size_t len);

#endif

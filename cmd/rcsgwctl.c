/* rcsgwctl — the operator's command line over rcsgw's REST API (libcurl + jansson).
 *
 *   rcsgwctl [-a HOST:PORT] [-t TOKEN] [--json] COMMAND [ARGUMENTS]
 *
 *   status [GROUP]                    readiness of the subsystems and the engine's workers;
 *                                     or one group's status and details
 *   reports GROUP                     the group's recent reports
 *   sessions [list] [--state S] [--limit N] [--after ID]
 *   sessions show|answer|end ID       one session; answer an incoming one; end it
 *   sessions reject ID [CODE]         refuse an incoming session (486 by default)
 *   sessions start FROM TO [--ruri URI] [--accept-types T,T...]
 *   send ID TEXT [--type CT]          a message in a session (text/plain by default)
 *   connections [list] [--transport T] [--peer HOST:PORT] [--worker N]
 *   connections show|close ID
 *   gateway sessions [list] | show ID | end ID    the MESSAGE gateway's pairs (ID or key)
 *   cc agents [list] | show ID | login ID | logout ID
 *   cc flows [list] | show ID
 *   cc queue
 *   metrics                           the Prometheus text
 *   get PATH | delete PATH | post PATH [JSON|-] | put PATH JSON|-
 *                                     any route, the answer as it came (-: the body on stdin)
 *   help
 *
 * People get tables (columns as wide as their values, long values cut with "...") and
 * "key  value" lines for one object; --json prints the API's JSON as it came, indented.
 * Options may come before or after the command; "--" ends them (a TEXT that starts with '-').
 * Each command is one row of commands[] below: its words, its route, how its body is made
 * and how its answer is shown; `help` prints the same rows.
 *
 * The API address defaults to the first of RCSGW_API_LISTEN (0.0.0.0 and :: become
 * loopback), else 127.0.0.1:8080; the token to the first of RCSGW_API_TOKENS.
 * Exit codes: 0 success; 1 the daemon answered with an error (told on stderr as
 * "rcsgwctl: <code> <message>") or did not answer; 2 usage. */
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cm_version.h"

#define URL_MAX   4096      /* a request's path and query, at most */
#define CELL_MAX  4096      /* one value as text, at most (longer is cut) */
#define POS_MAX   16        /* positional words on a command line */
#define COLS_MAX  32        /* columns of a table */
#define AUTO_WIDE 40        /* the widest a column of an automatic table gets */

/* ---- the command line ----------------------------------------------------------------------- */

/* The commands' own options; a command takes those of its bits (O(OPT_...)) in opts. */
enum {
	OPT_STATE,
	OPT_LIMIT,
	OPT_AFTER,
	OPT_TRANSPORT,
	OPT_PEER,
	OPT_WORKER,
	OPT_TYPE,
	OPT_RURI,
	OPT_ACCEPT,
	OPT_N,
};

#define O(opt) (1u << (opt))

/* rcsgwctl's own options with a value, after the commands' in parse_args */
enum { WITH_API = OPT_N, WITH_TOKEN };

static const struct {
	const char *name;   /* as written: "--state" */
	const char *query;  /* the query parameter it becomes; NULL: the body builder reads it */
} opt_defs[OPT_N] = {
	[OPT_STATE] = { "--state", "state" },
	[OPT_LIMIT] = { "--limit", "limit" },
	[OPT_AFTER] = { "--after", "after" },
	[OPT_TRANSPORT] = { "--transport", "transport" },
	[OPT_PEER] = { "--peer", "peer" },
	[OPT_WORKER] = { "--worker", "worker" },
	[OPT_TYPE] = { "--type", NULL },
	[OPT_RURI] = { "--ruri", NULL },
	[OPT_ACCEPT] = { "--accept-types", NULL },
};

/* A column of a table: the member it shows, its header, how wide it may be. */
struct col {
	const char *key;    /* a member of the row; "a.b" is member b of the row's object a */
	const char *head;   /* the header */
	unsigned max;       /* values longer than this many characters are cut; 0: never */
};

struct ctl;

/* One command: the words that name it, its route, its body, how its answer is shown. */
struct command {
	const char *words;     /* "sessions show"; a last word "list" may be left out */
	const char *synopsis;  /* its arguments and options, for help */
	const char *what;      /* one line of help */
	unsigned nargs, maxargs; /* positional arguments after the words */
	unsigned opts;         /* O(OPT_...) it takes */
	const char *method;
	const char *path;      /* "{}" is the next argument, percent-encoded; NULL: the first
				* argument as it is (the generic commands) */
	/* The request body into *<out> (malloc'ed, NULL for none); -1 on a usage error (told). */
	int (*body)(const struct ctl *c, char **out);
	/* Shows the JSON answer <j> for people; 0, or 1 when it is not what was expected (told).
	 * NULL: the answer is printed as it came, also without --json. */
	int (*show)(const struct ctl *c, json_t *j);
	const char *rows;      /* show_table: the member that holds the rows */
	const struct col *cols; /* show_table: its columns, ended by one without key */
	const char *done;      /* what a 204 prints for people, "{}" the first argument */
};

/* A command line, read. */
struct ctl {
	char api[256];                 /* HOST:PORT */
	const char *token;             /* NULL: no Authorization */
	int json;                      /* --json */
	const char *pos[POS_MAX];      /* positional words, the command's first */
	unsigned npos;
	const char *opt[OPT_N];        /* the commands' options given, else NULL */
	const struct command *cmd;
	const char *const *arg;        /* the command's arguments (after its words) */
	unsigned narg;
};

/* The first element of a comma-separated env list, into <buf>. */
static const char *env_first(const char *name, char *buf, size_t len)
{
	const char *v = getenv(name);
	if (!v || !*v)
		return NULL;
	size_t n = strcspn(v, ",");
	if (n >= len)
		n = len - 1;
	memcpy(buf, v, n);
	buf[n] = '\0';
	return buf;
}

static void default_api(char *buf, size_t len)
{
	char first[192];
	if (!env_first("RCSGW_API_LISTEN", first, sizeof(first))) {
		snprintf(buf, len, "127.0.0.1:8080");
		return;
	}
	if (strncmp(first, "0.0.0.0:", 8) == 0)
		snprintf(buf, len, "127.0.0.1:%s", first + 8);
	else if (strncmp(first, "[::]:", 5) == 0)
		snprintf(buf, len, "[::1]:%s", first + 5);
	else if (first[0] == '*' && first[1] == ':')
		snprintf(buf, len, "127.0.0.1:%s", first + 2);
	else
		snprintf(buf, len, "%s", first);
}

/* ---- text: widths, cutting, cells ------------------------------------------------------------ */

/* Characters (UTF-8 code points) in <s>. */
static size_t text_width(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

/* Cuts <s> to at most <max> characters (0: no limit), its last three "..." when it had more
 * and <max> is 4 or more. */
static void text_fit(char *s, unsigned max)
{
	if (!max || text_width(s) <= max)
		return;
	unsigned keep = max >= 4 ? max - 3 : max, n = 0;
	size_t i = 0;
	for (; s[i]; i++) {
		if (((unsigned char)s[i] & 0xc0) == 0x80)
			continue;
		if (n == keep)
			break;
		n++;
	}
	/* at least 3 more characters follow i when max >= 4: room for "..." */
	if (max >= 4)
		memcpy(s + i, "...", 4);
	else
		s[i] = '\0';
}

static void spaces(size_t n)
{
	while (n--)
		putchar(' ');
}

/* Member <key> of <row>, where "a.b" is member b of <row>'s object a; NULL when absent. */
static json_t *member(json_t *row, const char *key)
{
	const char *dot;
	while (row && (dot = strchr(key, '.'))) {
		row = json_object_getn(row, key, (size_t)(dot - key));
		key = dot + 1;
	}
	return json_object_get(row, key);
}

/* A scalar's text into <buf>: strings as they are, numbers, yes/no, "-" for null or absent
 * (<v> NULL). */
static void scalar_text(json_t *v, char *buf, size_t len)
{
	switch (v ? json_typeof(v) : JSON_NULL) {
	case JSON_STRING: snprintf(buf, len, "%s", json_string_value(v)); break;
	case JSON_INTEGER: snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v)); break;
	case JSON_REAL: snprintf(buf, len, "%g", json_real_value(v)); break;
	case JSON_TRUE: snprintf(buf, len, "yes"); break;
	case JSON_FALSE: snprintf(buf, len, "no"); break;
	default: snprintf(buf, len, "-"); break;
	}
}

/* <v> as one line of text into <buf> (<len> >= 8): "-" when absent, null or empty; an array
 * of scalars joined by ","; other arrays and objects compact JSON. Control characters
 * become spaces, so that a value stays on its line; a value cut at <len> loses its last
 * partial UTF-8 sequence. */
static void cell_text(json_t *v, char *buf, size_t len)
{
	size_t at = 0, i;
	json_t *e;
	int scalars = json_is_array(v);

	json_array_foreach(v, i, e)
		scalars &= !json_is_array(e) && !json_is_object(e);
	if (scalars) {
		buf[0] = '\0';
		json_array_foreach(v, i, e) {
			if (i && at + 1 < len)
				buf[at++] = ',';
			scalar_text(e, buf + at, len - at);
			at += strlen(buf + at);
		}
	} else if (json_is_array(v) || json_is_object(v)) {
		char *s = json_dumps(v, JSON_COMPACT);
		snprintf(buf, len, "%s", s ? s : "?");
		free(s);
	} else {
		scalar_text(v, buf, len);
	}
	size_t n = strlen(buf);
	if (n == 0)
		snprintf(buf, len, "-");
	if (n == len - 1) { /* maybe cut inside a character */
		while (n && ((unsigned char)buf[n - 1] & 0xc0) == 0x80)
			n--;
		if (n && ((unsigned char)buf[n - 1] & 0x80))
			n--;
		buf[n] = '\0';
	}
	for (char *p = buf; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
}

/* ---- tables and objects for people ----------------------------------------------------------- */

/* <rows> (an array of objects) as a table of the columns <cols> (ended by one without key):
 * a header line, then a line a row; columns two spaces apart, each as wide as its widest
 * value or header, numbers to the right. */
static void print_table(json_t *rows, const struct col *cols)
{
	size_t w[COLS_MAX], ncols = 0, i;
	int num[COLS_MAX];
	char cell[CELL_MAX];
	json_t *row;

	while (ncols < COLS_MAX && cols[ncols].key)
		ncols++;
	for (size_t k = 0; k < ncols; k++) {
		w[k] = text_width(cols[k].head);
		num[k] = -1; /* -1: no value seen yet */
	}
	json_array_foreach(rows, i, row) {
		for (size_t k = 0; k < ncols; k++) {
			json_t *v = member(row, cols[k].key);
			cell_text(v, cell, sizeof(cell));
			text_fit(cell, cols[k].max);
			if (text_width(cell) > w[k])
				w[k] = text_width(cell);
			if (v && !json_is_null(v))
				num[k] = json_is_number(v) && num[k] != 0;
		}
	}
	for (size_t k = 0; k < ncols; k++) {
		size_t pad = w[k] - text_width(cols[k].head);
		if (k)
			spaces(2);
		if (num[k] == 1)
			spaces(pad);
		fputs(cols[k].head, stdout);
		if (num[k] != 1 && k + 1 < ncols)
			spaces(pad);
	}
	putchar('\n');
	json_array_foreach(rows, i, row) {
		for (size_t k = 0; k < ncols; k++) {
			cell_text(member(row, cols[k].key), cell, sizeof(cell));
			text_fit(cell, cols[k].max);
			size_t pad = w[k] - text_width(cell);
			if (k)
				spaces(2);
			if (num[k] == 1)
				spaces(pad);
			fputs(cell, stdout);
			if (num[k] != 1 && k + 1 < ncols)
				spaces(pad);
		}
		putchar('\n');
	}
}

/* An array whose first element is an object: shown as a table. */
static int is_rows(json_t *v)
{
	return json_is_array(v) && json_is_object(json_array_get(v, 0));
}

/* <rows> as a table whose columns are the members of its rows, in the order they first
 * appear, headed by their names in capitals, each at most AUTO_WIDE characters. */
static void print_auto_table(json_t *rows)
{
	struct col cols[COLS_MAX + 1];
	char heads[COLS_MAX][64];
	size_t n = 0, i;
	json_t *row, *v;
	const char *k;

	json_array_foreach(rows, i, row) {
		json_object_foreach(row, k, v) {
			size_t j = 0;
			while (j < n && strcmp(cols[j].key, k) != 0)
				j++;
			if (j < n || n == COLS_MAX)
				continue;
			size_t h = 0;
			for (; k[h] && h + 1 < sizeof(heads[n]); h++)
				heads[n][h] = (k[h] >= 'a' && k[h] <= 'z') ? (char)(k[h] - 'a' + 'A') : k[h];
			heads[n][h] = '\0';
			cols[n] = (struct col){ k, heads[n], AUTO_WIDE };
			n++;
		}
	}
	cols[n] = (struct col){ NULL, NULL, 0 };
	print_table(rows, cols);
}

/* Walks the members of <o>, those of nested objects named "outer.inner" (<prefix> the
 * outer names so far). With <w> not NULL: the widest name into *<w>; else one line
 * "name  value" each, names padded to <width>. Arrays of objects are left to
 * print_object_tables. */
static void print_object_lines(json_t *o, const char *prefix, size_t *w, size_t width)
{
	const char *k;
	json_t *v;
	char name[256], cell[CELL_MAX];

	json_object_foreach(o, k, v) {
		snprintf(name, sizeof(name), "%s%s%s", prefix, *prefix ? "." : "", k);
		if (json_is_object(v) && json_object_size(v)) {
			print_object_lines(v, name, w, width);
			continue;
		}
		if (is_rows(v))
			continue;
		if (w) {
			if (text_width(name) > *w)
				*w = text_width(name);
			continue;
		}
		cell_text(v, cell, sizeof(cell));
		fputs(name, stdout);
		spaces(width - text_width(name) + 2);
		puts(cell);
	}
}

/* The arrays of objects in <o> (nested ones too), each as a table under its name. */
static void print_object_tables(json_t *o, const char *prefix)
{
	const char *k;
	json_t *v;
	char name[256];

	json_object_foreach(o, k, v) {
		snprintf(name, sizeof(name), "%s%s%s", prefix, *prefix ? "." : "", k);
		if (json_is_object(v))
			print_object_tables(v, name);
		else if (is_rows(v)) {
			printf("\n%s:\n", name);
			print_auto_table(v);
		}
	}
}

static int show_object(const struct ctl *c, json_t *j)
{
	size_t w = 0;
	(void)c;
	if (!json_is_object(j)) {
		fprintf(stderr, "rcsgwctl: the answer is not a JSON object\n");
		return 1;
	}
	print_object_lines(j, "", &w, 0);
	print_object_lines(j, "", NULL, w);
	print_object_tables(j, "");
	return 0;
}

/* The rows of member c->cmd->rows as a table of c->cmd->cols; a "next" string (a page's
 * cursor) is told after it. */
static int show_table(const struct ctl *c, json_t *j)
{
	json_t *rows = json_object_get(j, c->cmd->rows);
	if (!json_is_array(rows)) {
		fprintf(stderr, "rcsgwctl: the answer has no \"%s\" list\n", c->cmd->rows);
		return 1;
	}
	print_table(rows, c->cmd->cols);
	const char *next = json_string_value(json_object_get(j, "next"));
	if (next)
		printf("more: --after %s\n", next);
	return 0;
}

/* <s> seconds as "3d 4h", "5h 2m", "12m 3s" or "45s", into <buf>. */
static void duration_text(long long s, char *buf, size_t len)
{
	if (s >= 86400)
		snprintf(buf, len, "%lldd %lldh", s / 86400, s % 86400 / 3600);
	else if (s >= 3600)
		snprintf(buf, len, "%lldh %lldm", s / 3600, s % 3600 / 60);
	else if (s >= 60)
		snprintf(buf, len, "%lldm %llds", s / 60, s % 60);
	else
		snprintf(buf, len, "%llds", s);
}

static const struct col subsystem_cols[] = {
	{ "subsystem", "SUBSYSTEM", 0 },
	{ "status", "STATUS", 0 },
	{ NULL, NULL, 0 },
};

static const struct col worker_cols[] = {
	{ "index", "WORKER", 0 },
	{ "cpu", "CPU", 0 },
	{ "connections", "CONNECTIONS", 0 },
	{ "counters.accepts", "ACCEPTS", 0 },
	{ "counters.connects", "CONNECTS", 0 },
	{ "counters.recv_bytes", "RECV_BYTES", 0 },
	{ "counters.send_bytes", "SEND_BYTES", 0 },
	{ "counters.mailbox_full", "MAILBOX_FULL", 0 },
	{ NULL, NULL, 0 },
};

/* GET /v1/status: a headline, the subsystems, the workers. */
static int show_status(const struct ctl *c, json_t *j)
{
	json_t *eng = json_object_get(j, "engine"), *subs = json_array(), *v;
	const char *k;
	char up[32];

	(void)c;
	if (!json_is_object(eng) || !subs) {
		json_decref(subs);
		fprintf(stderr, "rcsgwctl: the answer is not a status\n");
		return 1;
	}
	duration_text(json_integer_value(json_object_get(j, "uptime_s")), up, sizeof(up));
	printf("rcsgw %s, up %s, %s%s\n", json_string_value(json_object_get(j, "version")), up,
	       json_is_true(json_object_get(j, "ready")) ? "ready" : "NOT READY",
	       json_is_true(json_object_get(j, "degraded")) ? " (degraded)" : "");
	printf("engine: %s (%s)\n\n", json_string_value(json_object_get(eng, "backend")),
	       json_string_value(json_object_get(eng, "backend_reason")));
	json_object_foreach(json_object_get(j, "subsystems"), k, v)
		json_array_append_new(subs, json_pack("{s:s,s:O}", "subsystem", k, "status", v));
	print_table(subs, subsystem_cols);
	json_decref(subs);
	putchar('\n');
	print_table(json_object_get(eng, "workers"), worker_cols);
	return 0;
}

/* ---- request bodies --------------------------------------------------------------------------- */

/* <j> as compact JSON into *<out>; <j> is taken. -1 (told) when it could not be made: a value
 * that is not UTF-8. */
static int body_json(json_t *j, char **out)
{
	*out = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (!*out) {
		fprintf(stderr, "rcsgwctl: the arguments are not UTF-8 text\n");
		return -1;
	}
	return 0;
}

/* sessions start FROM TO [--ruri URI] [--accept-types T,T...]: a NewSession. */
static int body_start(const struct ctl *c, char **out)
{
	json_t *j = json_pack("{s:s,s:s}", "from", c->arg[0], "to", c->arg[1]);
	const char *types = c->opt[OPT_ACCEPT];

	if (j && c->opt[OPT_RURI])
		json_object_set_new(j, "ruri", json_string(c->opt[OPT_RURI]));
	if (j && types) {
		json_t *arr = json_array();
		while (arr && *types) {
			size_t n = strcspn(types, ",");
			if (n)
				json_array_append_new(arr, json_stringn(types, n));
			types += n + (types[n] == ',');
		}
		json_object_set_new(j, "accept_types", arr);
	}
	return body_json(j, out);
}

/* send ID TEXT [--type CT]: a NewMessage of TEXT. */
static int body_send(const struct ctl *c, char **out)
{
	const char *type = c->opt[OPT_TYPE] ? c->opt[OPT_TYPE] : "text/plain";
	return body_json(json_pack("{s:s,s:s}", "content_type", type, "body", c->arg[1]), out);
}

/* sessions reject ID [CODE]: {"code":CODE}, or no body (486). */
static int body_reject(const struct ctl *c, char **out)
{
	char *end;
	*out = NULL;
	if (c->narg < 2)
		return 0;
	long code = strtol(c->arg[1], &end, 10);
	if (*end || end == c->arg[1]) {
		fprintf(stderr, "rcsgwctl: CODE '%s' is not a number\n", c->arg[1]);
		return -1;
	}
	return body_json(json_pack("{s:I}", "code", (json_int_t)code), out);
}

/* Standard input, whole, into a malloc'ed string; NULL (told) when it could not be read. */
static char *read_stdin(void)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);
	while (buf) {
		if (len + 1 == cap) {
			char *nb = realloc(buf, cap * 2);
			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
		size_t got = fread(buf + len, 1, cap - len - 1, stdin);
		len += got;
		if (got == 0) {
			if (ferror(stdin))
				break;
			buf[len] = '\0';
			return buf;
		}
	}
	free(buf);
	fprintf(stderr, "rcsgwctl: could not read the body from standard input\n");
	return NULL;
}

/* post PATH [JSON|-], put PATH JSON|-: the second argument as it is, or standard input. */
static int body_raw(const struct ctl *c, char **out)
{
	*out = NULL;
	if (c->narg < 2)
		return 0;
	*out = strcmp(c->arg[1], "-") == 0 ? read_stdin() : strdup(c->arg[1]);
	return *out ? 0 : -1;
}

/* ---- the commands ------------------------------------------------------------------------------ */

static const struct col session_cols[] = {
	{ "id", "ID", 24 },
	{ "state", "STATE", 0 },
	{ "direction", "DIRECTION", 0 },
	{ "from", "FROM", 32 },
	{ "to", "TO", 32 },
	{ "created_at", "CREATED", 0 },
	{ "messages_sent", "SENT", 0 },
	{ "messages_received", "RECEIVED", 0 },
	{ NULL, NULL, 0 },
};

static const struct col report_cols[] = {
	{ "timestamp", "TIMESTAMP", 0 },
	{ "level", "LEVEL", 0 },
	{ "message", "MESSAGE", 0 },
	{ NULL, NULL, 0 },
};

static const struct col connection_cols[] = {
	{ "id", "ID", 24 },
	{ "worker", "WORKER", 0 },
	{ "transport", "TRANSPORT", 0 },
	{ "protocol", "PROTOCOL", 0 },
	{ "direction", "DIR", 0 },
	{ "state", "STATE", 0 },
	{ "local", "LOCAL", 47 },
	{ "remote", "REMOTE", 47 },
	{ "age_s", "AGE_S", 0 },
	{ "bytes_in", "BYTES_IN", 0 },
	{ "bytes_out", "BYTES_OUT", 0 },
	{ "sessions", "SESSIONS", 0 },
	{ NULL, NULL, 0 },
};

static const struct col gateway_cols[] = {
	{ "id", "ID", 24 },
	{ "page_user", "PAGE_USER", 32 },
	{ "rcs_user", "RCS_USER", 32 },
	{ "up", "UP", 0 },
	{ "session.state", "STATE", 0 },
	{ "messages_in", "IN", 0 },
	{ "messages_out", "OUT", 0 },
	{ "queued", "QUEUED", 0 },
	{ NULL, NULL, 0 },
};

static const struct col agent_cols[] = {
	{ "id", "ID", 24 },
	{ "state", "STATE", 0 },
	{ "skills", "SKILLS", 32 },
	{ "chats", "CHATS", 0 },
	{ "max_chats", "MAX_CHATS", 0 },
	{ "chats_answered", "CHATS_ANSWERED", 0 },
	{ "calls_answered", "CALLS_ANSWERED", 0 },
	{ "refused", "REFUSED", 0 },
	{ NULL, NULL, 0 },
};

static const struct col flow_cols[] = {
	{ "id", "ID", 24 },
	{ "skill", "SKILL", 24 },
	{ "priority", "PRIORITY", 0 },
	{ "dispatch", "DISPATCH", 0 },
	{ "waiting", "WAITING", 0 },
	{ "chats_answered", "CHATS_ANSWERED", 0 },
	{ "calls_answered", "CALLS_ANSWERED", 0 },
	{ "abandoned", "ABANDONED", 0 },
	{ "uri", "URI", 40 },
	{ NULL, NULL, 0 },
};

static const struct col queue_cols[] = {
	{ "id", "ITEM", 0 },
	{ "flow", "FLOW", 24 },
	{ "kind", "KIND", 0 },
	{ "customer", "CUSTOMER", 40 },
	{ "position", "POSITION", 0 },
	{ "waiting_ms", "WAITING_MS", 0 },
	{ NULL, NULL, 0 },
};

static const struct command commands[] = {
	{ .words = "status", .what = "readiness of the subsystems, the engine's workers",
	  .method = "GET", .path = "/v1/status", .show = show_status },
	{ .words = "status", .synopsis = "GROUP", .what = "one group's status and details",
	  .nargs = 1, .maxargs = 1, .method = "GET", .path = "/v1/status/{}",
	  .show = show_object },
	{ .words = "reports", .synopsis = "GROUP", .what = "the group's recent reports",
	  .nargs = 1, .maxargs = 1, .method = "GET", .path = "/v1/reports/{}",
	  .show = show_table, .rows = "reports", .cols = report_cols },
	{ .words = "sessions list", .synopsis = "[--state S] [--limit N] [--after ID]",
	  .what = "the sessions, a page at a time",
	  .opts = O(OPT_STATE) | O(OPT_LIMIT) | O(OPT_AFTER), .method = "GET",
	  .path = "/v1/sessions", .show = show_table, .rows = "sessions", .cols = session_cols },
	{ .words = "sessions show", .synopsis = "ID", .what = "one session", .nargs = 1,
	  .maxargs = 1, .method = "GET", .path = "/v1/sessions/{}", .show = show_object },
	{ .words = "sessions start", .synopsis = "FROM TO [--ruri URI] [--accept-types T,T...]",
	  .what = "an MSRP chat session from FROM to TO", .nargs = 2, .maxargs = 2,
	  .opts = O(OPT_RURI) | O(OPT_ACCEPT), .method = "POST", .path = "/v1/sessions",
	  .body = body_start, .show = show_object },
	{ .words = "sessions answer", .synopsis = "ID", .what = "answer an incoming session",
	  .nargs = 1, .maxargs = 1, .method = "POST", .path = "/v1/sessions/{}/answer",
	  .show = show_object },
	{ .words = "sessions reject", .synopsis = "ID [CODE]",
	  .what = "refuse an incoming session (486 by default)", .nargs = 1, .maxargs = 2,
	  .method = "POST", .path = "/v1/sessions/{}/reject", .body = body_reject,
	  .show = show_object },
	{ .words = "sessions end", .synopsis = "ID", .what = "end a session (BYE, CANCEL or 603)",
	  .nargs = 1, .maxargs = 1, .method = "DELETE", .path = "/v1/sessions/{}",
	  .show = show_object, .done = "session {}: ending" },
	{ .words = "send", .synopsis = "ID TEXT [--type CT]",
	  .what = "a message in a session (text/plain by default)", .nargs = 2, .maxargs = 2,
	  .opts = O(OPT_TYPE), .method = "POST", .path = "/v1/sessions/{}/messages",
	  .body = body_send, .show = show_object },
	{ .words = "connections list",
	  .synopsis = "[--transport T] [--peer HOST:PORT] [--worker N]",
	  .what = "the open connections", .opts = O(OPT_TRANSPORT) | O(OPT_PEER) | O(OPT_WORKER),
	  .method = "GET", .path = "/v1/connections", .show = show_table, .rows = "connections",
	  .cols = connection_cols },
	{ .words = "connections show", .synopsis = "ID", .what = "one connection", .nargs = 1,
	  .maxargs = 1, .method = "GET", .path = "/v1/connections/{}", .show = show_object },
	{ .words = "connections close", .synopsis = "ID", .what = "close a connection",
	  .nargs = 1, .maxargs = 1, .method = "DELETE", .path = "/v1/connections/{}",
	  .show = show_object, .done = "connection {}: closing" },
	{ .words = "gateway sessions list", .what = "the MESSAGE gateway's pairs",
	  .method = "GET", .path = "/v1/gateway/sessions", .show = show_table,
	  .rows = "sessions", .cols = gateway_cols },
	{ .words = "gateway sessions show", .synopsis = "ID|KEY",
	  .what = "one pair, by its session's id or its key", .nargs = 1, .maxargs = 1,
	  .method = "GET", .path = "/v1/gateway/sessions/{}", .show = show_object },
	{ .words = "gateway sessions end", .synopsis = "ID|KEY", .what = "end a pair's session",
	  .nargs = 1, .maxargs = 1, .method = "DELETE", .path = "/v1/gateway/sessions/{}",
	  .show = show_object, .done = "gateway session {}: ending" },
	{ .words = "cc agents list", .what = "the contact centre's agents", .method = "GET",
	  .path = "/v1/cc/agents", .show = show_table, .rows = "agents", .cols = agent_cols },
	{ .words = "cc agents show", .synopsis = "ID", .what = "one agent and its items",
	  .nargs = 1, .maxargs = 1, .method = "GET", .path = "/v1/cc/agents/{}",
	  .show = show_object },
	{ .words = "cc agents login", .synopsis = "ID", .what = "the agent takes work",
	  .nargs = 1, .maxargs = 1, .method = "POST", .path = "/v1/cc/agents/{}/login",
	  .show = show_object },
	{ .words = "cc agents logout", .synopsis = "ID", .what = "the agent takes no more work",
	  .nargs = 1, .maxargs = 1, .method = "POST", .path = "/v1/cc/agents/{}/logout",
	  .show = show_object },
	{ .words = "cc flows list", .what = "the contact centre's flows and their counters",
	  .method = "GET", .path = "/v1/cc/flows", .show = show_table, .rows = "flows",
	  .cols = flow_cols },
	{ .words = "cc flows show", .synopsis = "ID", .what = "one flow", .nargs = 1,
	  .maxargs = 1, .method = "GET", .path = "/v1/cc/flows/{}", .show = show_object },
	{ .words = "cc queue", .what = "the items waiting for an agent, in order",
	  .method = "GET", .path = "/v1/cc/queue", .show = show_table, .rows = "items",
	  .cols = queue_cols },
	{ .words = "metrics", .what = "the metrics, Prometheus text", .method = "GET",
	  .path = "/metrics" },
	{ .words = "get", .synopsis = "PATH", .what = "GET any route; the answer as it came",
	  .nargs = 1, .maxargs = 1, .method = "GET" },
	{ .words = "post", .synopsis = "PATH [JSON|-]", .what = "POST a body (-: standard input)",
	  .nargs = 1, .maxargs = 2, .method = "POST", .body = body_raw },
	{ .words = "put", .synopsis = "PATH JSON|-", .what = "PUT a body (-: standard input)",
	  .nargs = 2, .maxargs = 2, .method = "PUT", .body = body_raw },
	{ .words = "delete", .synopsis = "PATH", .what = "DELETE any route", .nargs = 1,
	  .maxargs = 1, .method = "DELETE" },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

#define HELP_LEFT 34 /* the commands' column in help; a longer synopsis has its line */

static void usage(FILE *f)
{
	char left[160];

	fprintf(f, "usage: rcsgwctl [-a HOST:PORT] [-t TOKEN] [--json] COMMAND [ARGUMENTS]\n\n"
		   "commands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++) {
		const struct command *c = &commands[i];
		size_t wl = strlen(c->words);
		int list = wl > 5 && strcmp(c->words + wl - 5, " list") == 0;
		snprintf(left, sizeof(left), "%.*s%s%s%s", (int)(list ? wl - 5 : wl), c->words,
			 list ? " [list]" : "", c->synopsis ? " " : "",
			 c->synopsis ? c->synopsis : "");
		if (strlen(left) > HELP_LEFT)
			fprintf(f, "  %s\n  %-*s  %s\n", left, HELP_LEFT, "", c->what);
		else
			fprintf(f, "  %-*s  %s\n", HELP_LEFT, left, c->what);
	}
	fprintf(f, "  %-*s  %s\n\n", HELP_LEFT, "help", "this text");
	fprintf(f, "options (before or after the command):\n"
		   "  -a, --api HOST:PORT  the API (default: the first of RCSGW_API_LISTEN, else\n"
		   "                       127.0.0.1:8080)\n"
		   "  -t, --token TOKEN    its bearer token (default: the first of RCSGW_API_TOKENS)\n"
		   "  -j, --json           the API's JSON, indented, instead of tables\n"
		   "  -h, --help           this text\n"
		   "  -V, --version        rcsgwctl's version\n"
		   "  --                   no options after it\n\n"
		   "exit: 0 done; 1 the daemon answered with an error or did not answer; 2 usage\n");
}

/* Whether the words of <c> begin <pos>; *<taken> how many positional words they took (its
 * last word "list" may be left out when nothing follows). */
static int words_match(const struct command *c, const char *const *pos, unsigned npos,
		       unsigned *taken)
{
	const char *w = c->words;
	unsigned i = 0;

	while (*w) {
		size_t n = strcspn(w, " ");
		int last = w[n] == '\0';
		if (i < npos && strlen(pos[i]) == n && strncmp(pos[i], w, n) == 0)
			i++;
		else if (!(last && i == npos && n == 4 && strncmp(w, "list", 4) == 0))
			return 0;
		w += n + !last;
	}
	*taken = i;
	return 1;
}

/* Reads <argv> into <c>: rcsgwctl's options and the commands' anywhere, "--" ending them,
 * the rest positional. 0; 1 when help or the version was asked (printed); -1 on a usage
 * error (told). */
static int parse_args(struct ctl *c, int argc, char **argv)
{
	int only_pos = 0;

	for (int i = 1; i < argc; i++) {
		const char *s = argv[i], *val = NULL;
		if (only_pos || s[0] != '-' || s[1] == '\0') {
			if (c->npos == POS_MAX) {
				fprintf(stderr, "rcsgwctl: too many arguments\n");
				return -1;
			}
			c->pos[c->npos++] = s;
			continue;
		}
		if (strcmp(s, "--") == 0) {
			only_pos = 1;
			continue;
		}
		if (strcmp(s, "-j") == 0 || strcmp(s, "--json") == 0) {
			c->json = 1;
			continue;
		}
		if (strcmp(s, "-h") == 0 || strcmp(s, "--help") == 0) {
			usage(stdout);
			return 1;
		}
		if (strcmp(s, "-V") == 0 || strcmp(s, "--version") == 0) {
			printf("rcsgwctl %s\n", RCSGW_VERSION);
			return 1;
		}
		/* the options with a value: "--name value", "--name=value", "-a value", "-avalue" */
		size_t nl = strcspn(s, "=");
		int which = -1; /* OPT_..., or WITH_API, WITH_TOKEN */
		if (s[1] != '-' && (s[1] == 'a' || s[1] == 't')) {
			which = s[1] == 'a' ? WITH_API : WITH_TOKEN;
			val = s[2] ? s + 2 : NULL;
		} else {
			if (nl == 5 && strncmp(s, "--api", nl) == 0)
				which = WITH_API;
			else if (nl == 7 && strncmp(s, "--token", nl) == 0)
				which = WITH_TOKEN;
			for (int o = 0; o < OPT_N && which < 0; o++)
				if (strlen(opt_defs[o].name) == nl && strncmp(s, opt_defs[o].name, nl) == 0)
					which = o;
			val = s[nl] == '=' ? s + nl + 1 : NULL;
		}
		if (which < 0) {
			fprintf(stderr, "rcsgwctl: unknown option %s\n", s);
			return -1;
		}
		if (!val && ++i == argc) {
			fprintf(stderr, "rcsgwctl: %s wants a value\n", s);
			return -1;
		}
		if (!val)
			val = argv[i];
		if (which == WITH_API)
			snprintf(c->api, sizeof(c->api), "%s", val);
		else if (which == WITH_TOKEN)
			c->token = val;
		else
			c->opt[which] = val;
	}
	return 0;
}

/* Picks the command of c->pos, checks its arguments and options. 0, or -1 on a usage error
 * (told). */
static int pick_command(struct ctl *c)
{
	const struct command *near = NULL;
	unsigned taken;

	for (size_t i = 0; i < NCOMMANDS && !c->cmd; i++) {
		if (!words_match(&commands[i], c->pos, c->npos, &taken))
			continue;
		near = &commands[i];
		if (c->npos - taken >= near->nargs && c->npos - taken <= near->maxargs) {
			c->cmd = near;
			c->arg = c->pos + taken;
			c->narg = c->npos - taken;
		}
	}
	if (!c->cmd && near) {
		fprintf(stderr, "usage: rcsgwctl %s%s%s\n", near->words, near->synopsis ? " " : "",
			near->synopsis ? near->synopsis : "");
		return -1;
	}
	if (!c->cmd) {
		fprintf(stderr, "rcsgwctl: unknown command '%s%s%s' (rcsgwctl help lists them)\n",
			c->pos[0], c->npos > 1 ? " " : "", c->npos > 1 ? c->pos[1] : "");
		return -1;
	}
	for (int o = 0; o < OPT_N; o++) {
		if (c->opt[o] && !(c->cmd->opts & O(o))) {
			fprintf(stderr, "rcsgwctl: '%s' takes no %s\n", c->cmd->words, opt_defs[o].name);
			return -1;
		}
	}
	if (!c->cmd->path && c->arg[0][0] != '/') {
		fprintf(stderr, "rcsgwctl: PATH begins with '/': %s\n", c->arg[0]);
		return -1;
	}
	return 0;
}

/* ---- the request ------------------------------------------------------------------------------ */

/* Appends <s> to <out> (<len> bytes, *<at> used), percent-encoded when <escape> (all but
 * RFC 3986's unreserved characters). -1 when it does not fit. */
static int append(char *out, size_t len, size_t *at, const char *s, int escape)
{
	static const char hex[] = "0123456789ABCDEF";
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		int keep = !escape || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			   (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_' || ch == '~';
		if (*at + (keep ? 1 : 3) >= len)
			return -1;
		if (keep) {
			out[(*at)++] = (char)ch;
		} else {
			out[(*at)++] = '%';
			out[(*at)++] = hex[ch >> 4];
			out[(*at)++] = hex[ch & 15];
		}
	}
	out[*at] = '\0';
	return 0;
}

/* <tmpl> into <out> (<len> bytes), each "{}" replaced by the next of the command's
 * arguments (percent-encoded when <escape>). -1 when it does not fit. */
static int expand(const struct ctl *c, const char *tmpl, int escape, char *out, size_t len)
{
	size_t at = 0;
	unsigned next = 0;
	char one[2] = { 0, 0 };

	out[0] = '\0';
	for (const char *p = tmpl; *p; p++) {
		if (p[0] == '{' && p[1] == '}' && next < c->narg) {
			if (append(out, len, &at, c->arg[next++], escape) < 0)
				return -1;
			p++;
			continue;
		}
		one[0] = *p;
		if (append(out, len, &at, one, 0) < 0)
			return -1;
	}
	return 0;
}

/* The command's path and query (its options that are query parameters) into <out>. */
static int request_path(const struct ctl *c, char *out, size_t len)
{
	size_t at;
	int first;

	if (!c->cmd->path) {
		at = 0;
		out[0] = '\0';
		if (append(out, len, &at, c->arg[0], 0) < 0)
			return -1;
	} else if (expand(c, c->cmd->path, 1, out, len) < 0) {
		return -1;
	}
	at = strlen(out);
	first = !strchr(out, '?');
	for (int o = 0; o < OPT_N; o++) {
		if (!c->opt[o] || !opt_defs[o].query)
			continue;
		if (append(out, len, &at, first ? "?" : "&", 0) < 0 ||
		    append(out, len, &at, opt_defs[o].query, 0) < 0 ||
		    append(out, len, &at, "=", 0) < 0 || append(out, len, &at, c->opt[o], 1) < 0)
			return -1;
		first = 0;
	}
	return 0;
}

/* An answer of the API. */
struct reply {
	long code;      /* the HTTP status */
	char *body;     /* NUL-terminated, malloc'ed; NULL when there was none */
	size_t len;
};

static size_t on_data(char *ptr, size_t size, size_t n, void *arg)
{
	struct reply *r = arg;
	size_t add = size * n;
	char *np = realloc(r->body, r->len + add + 1);
	if (!np)
		return 0;
	memcpy(np + r->len, ptr, add);
	r->body = np;
	r->len += add;
	r->body[r->len] = '\0';
	return add;
}

/* <method> <path> with <body> (JSON, NULL for none) to the API of <c>. 0 with <r> filled when
 * the daemon answered; -1 when it did not (told on stderr). */
static int http_call(const struct ctl *c, const char *method, const char *path,
		     const char *body, struct reply *r)
{
	char url[URL_MAX + 300], auth[600];
	struct curl_slist *hdrs = NULL;

	snprintf(url, sizeof(url), "http://%s%s", c->api, path);
	CURL *h = curl_easy_init();
	if (!h) {
		fprintf(stderr, "rcsgwctl: libcurl did not start\n");
		return -1;
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "rcsgwctl/" RCSGW_VERSION);
	if (strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)(body ? strlen(body) : 0));
		/* libcurl's form type otherwise; no type for an empty body */
		hdrs = curl_slist_append(hdrs, body ? "Content-Type: application/json"
						    : "Content-Type:");
	}
	if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0)
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	if (c->token) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", c->token);
		hdrs = curl_slist_append(hdrs, auth);
	}
	if (hdrs)
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	CURLcode rc = curl_easy_perform(h);
	if (rc == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->code);
	else
		fprintf(stderr, "rcsgwctl: no answer from %s: %s\n", url, curl_easy_strerror(rc));
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
	return rc == CURLE_OK ? 0 : -1;
}

/* The API's error answer <r> on stderr: "rcsgwctl: <code> <message>" from its JSON, else its
 * status and the first line of its body. */
static void print_api_error(const struct reply *r)
{
	json_t *j = r->body ? json_loads(r->body, 0, NULL) : NULL;
	json_t *e = json_object_get(j, "error");
	const char *msg = json_string_value(json_object_get(e, "message"));
	json_int_t code = json_integer_value(json_object_get(e, "code"));

	if (msg) {
		fprintf(stderr, "rcsgwctl: %" JSON_INTEGER_FORMAT " %s\n", code ? code : r->code, msg);
	} else {
		const char *b = r->body ? r->body : "";
		int n = (int)strcspn(b, "\r\n");
		fprintf(stderr, "rcsgwctl: %ld %.*s\n", r->code, n > 200 ? 200 : n,
			n ? b : "(the answer says no more)");
	}
	json_decref(j);
}

/* Shows a 2xx answer as the command wants it. The exit code. */
static int show_reply(const struct ctl *c, const struct reply *r)
{
	const struct command *cmd = c->cmd;
	json_error_t e;
	char msg[URL_MAX];
	int rc = 0;

	if (!cmd->show) {
		if (r->len)
			fwrite(r->body, 1, r->len, stdout);
		return 0;
	}
	if (!r->len) {
		if (!c->json && cmd->done && expand(c, cmd->done, 0, msg, sizeof(msg)) == 0)
			puts(msg);
		return 0;
	}
	json_t *j = json_loadb(r->body, r->len, 0, &e);
	if (!j) {
		fprintf(stderr, "rcsgwctl: the answer is not JSON (%s)\n", e.text);
		return 1;
	}
	if (c->json) {
		char *s = json_dumps(j, JSON_INDENT(2));
		if (s)
			puts(s);
		rc = s ? 0 : 1;
		free(s);
	} else {
		rc = cmd->show(c, j);
	}
	json_decref(j);
	return rc;
}

int main(int argc, char **argv)
{
	struct ctl c = { 0 };
	char tokbuf[512], path[URL_MAX];
	char *body = NULL;
	struct reply r = { 0 };
	int rc;

	default_api(c.api, sizeof(c.api));
	c.token = env_first("RCSGW_API_TOKENS", tokbuf, sizeof(tokbuf));
	rc = parse_args(&c, argc, argv);
	if (rc)
		return rc > 0 ? 0 : 2;
	if (c.npos == 0) {
		usage(stderr);
		return 2;
	}
	if (strcmp(c.pos[0], "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (pick_command(&c) < 0)
		return 2;
	if (request_path(&c, path, sizeof(path)) < 0) {
		fprintf(stderr, "rcsgwctl: the request's path is too long\n");
		return 2;
	}
	if (c.cmd->body && c.cmd->body(&c, &body) < 0)
		return 2;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (http_call(&c, c.cmd->method, path, body, &r) < 0) {
		rc = 1;
	} else if (r.code < 200 || r.code > 299) {
		print_api_error(&r);
		rc = 1;
	} else {
		rc = show_reply(&c, &r);
	}
	free(r.body);
	free(body);
	curl_global_cleanup();
	return rc;
}

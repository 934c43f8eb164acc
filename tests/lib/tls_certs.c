/* tls_certs.c — throw-away test certificates, by running the openssl CLI (no shell). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/lib/tls_certs.h"

extern char **environ;

/* Extensions by section; the subject comes with -subj. */
static const char openssl_cnf[] =
	"[req]\n"
	"distinguished_name = dn\n"
	"prompt = no\n"
	"[dn]\n"
	"CN = unused\n"
	"[ca_ext]\n"
	"basicConstraints = critical,CA:TRUE\n"
	"keyUsage = critical,keyCertSign,cRLSign\n"
	"subjectKeyIdentifier = hash\n"
	"[server_ext]\n"
	"basicConstraints = CA:FALSE\n"
	"keyUsage = critical,digitalSignature\n"
	"extendedKeyUsage = serverAuth\n"
	"subjectAltName = DNS:" TLS_CERTS_SERVER_CN ",IP:127.0.0.1\n"
	"subjectKeyIdentifier = hash\n"
	"authorityKeyIdentifier = keyid\n"
	"[alt_ext]\n"
	"basicConstraints = CA:FALSE\n"
	"keyUsage = critical,digitalSignature\n"
	"extendedKeyUsage = serverAuth\n"
	"subjectAltName = DNS:" TLS_CERTS_ALT_CN "\n"
	"subjectKeyIdentifier = hash\n"
	"authorityKeyIdentifier = keyid\n"
	"[client_ext]\n"
	"basicConstraints = CA:FALSE\n"
	"keyUsage = critical,digitalSignature\n"
	"extendedKeyUsage = clientAuth\n"
	"subjectKeyIdentifier = hash\n"
	"authorityKeyIdentifier = keyid\n";

static int path(char *out, const struct tls_certs *tc, const char *name)
{
	int n = snprintf(out, TLS_CERTS_PATH, "%s/%s", tc->dir, name);
	return n > 0 && n < TLS_CERTS_PATH ? 0 : -1;
}

/* The last non-empty line of <file> into <out>. */
static void last_line(const char *file, char *out, size_t len)
{
	char line[256];
	FILE *f = fopen(file, "r");

	out[0] = '\0';
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\r\n")] = '\0';
		size_t n = strlen(line);
		if (n == 0)
			continue;
		if (n >= len)
			n = len - 1; /* cut */
		memcpy(out, line, n);
		out[n] = '\0';
	}
	fclose(f);
}

/* Runs openssl with <argv> (argv[0] = "openssl"), output appended to <dir>/openssl.log. */
static int run(const struct tls_certs *tc, char *const argv[], char *err, size_t errlen)
{
	char log[TLS_CERTS_PATH], why[200];
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int st, rc;

	if (path(log, tc, "openssl.log") < 0) {
		snprintf(err, errlen, "path too long");
		return -1;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0600);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	rc = posix_spawnp(&pid, "openssl", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0) {
		snprintf(err, errlen, "cannot run openssl: %s", strerror(rc));
		return -1;
	}
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR) {
			snprintf(err, errlen, "waitpid: %s", strerror(errno));
			return -1;
		}
	}
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	last_line(log, why, sizeof(why));
	snprintf(err, errlen, "openssl %s %s failed (status %d): %s", argv[1],
		 argv[2] ? argv[2] : "", WIFEXITED(st) ? WEXITSTATUS(st) : -1, why);
	return -1;
}

static int write_file(const char *file, const char *text, char *err, size_t errlen)
{
	FILE *f = fopen(file, "w");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
		snprintf(err, errlen, "%s: %s", file, strerror(errno));
		if (f)
			fclose(f);
		return -1;
	}
	return 0;
}

/* A self-signed CA: <cert>, <key>. */
static int make_ca(const struct tls_certs *tc, const char *cnf, const char *cert,
		   const char *key, const char *subj, char *err, size_t errlen)
{
	char *const argv[] = {
		"openssl", "req", "-config", (char *)cnf, "-x509", "-newkey", "ec",
		"-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", (char *)key,
		"-out", (char *)cert, "-days", "3", "-subj", (char *)subj,
		"-extensions", "ca_ext", NULL,
	};
	return run(tc, argv, err, errlen);
}

/* A leaf signed by <ca>/<ca_key> with the extensions of section <ext>. */
static int make_leaf(const struct tls_certs *tc, const char *cnf, const char *ca,
		     const char *ca_key, const char *cert, const char *key, const char *subj,
		     const char *ext, unsigned serial, char *err, size_t errlen)
{
	char csr[TLS_CERTS_PATH + 8], ser[32];

	snprintf(csr, sizeof(csr), "%s.csr", cert);
	snprintf(ser, sizeof(ser), "%u", serial);
	char *const req[] = {
		"openssl", "req", "-config", (char *)cnf, "-new", "-newkey", "ec",
		"-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", (char *)key,
		"-out", csr, "-subj", (char *)subj, NULL,
	};
	char *const sign[] = {
		"openssl", "x509", "-req", "-in", csr, "-CA", (char *)ca, "-CAkey", (char *)ca_key,
		"-set_serial", ser, "-days", "3", "-out", (char *)cert, "-extfile", (char *)cnf,
		"-extensions", (char *)ext, NULL,
	};
	if (run(tc, req, err, errlen) < 0 || run(tc, sign, err, errlen) < 0)
		return -1;
	unlink(csr);
	return 0;
}

int tls_certs_make(struct tls_certs *tc, char *err, size_t errlen)
{
	const char *tmp = getenv("TMPDIR");
	char cnf[TLS_CERTS_PATH], rogue_key[TLS_CERTS_PATH];
	unsigned serial = (unsigned)time(NULL) ^ ((unsigned)getpid() << 16);

	memset(tc, 0, sizeof(*tc));
	if (!tmp || !*tmp)
		tmp = "/tmp";
	if (snprintf(tc->dir, sizeof(tc->dir), "%s/rcsgw-certs-XXXXXX", tmp) >=
	    (int)sizeof(tc->dir) - 40) {
		snprintf(err, errlen, "TMPDIR too long");
		return -1;
	}
	if (!mkdtemp(tc->dir)) {
		snprintf(err, errlen, "mkdtemp %s: %s", tc->dir, strerror(errno));
		tc->dir[0] = '\0';
		return -1;
	}
	if (path(cnf, tc, "openssl.cnf") < 0 || path(tc->ca, tc, "ca.pem") < 0 ||
	    path(tc->ca_key, tc, "ca.key") < 0 || path(tc->server_cert, tc, "server.pem") < 0 ||
	    path(tc->server_key, tc, "server.key") < 0 || path(tc->alt_cert, tc, "alt.pem") < 0 ||
	    path(tc->alt_key, tc, "alt.key") < 0 || path(tc->client_cert, tc, "client.pem") < 0 ||
	    path(tc->client_key, tc, "client.key") < 0 ||
	    path(tc->rogue_ca, tc, "rogue-ca.pem") < 0 || path(rogue_key, tc, "rogue-ca.key") < 0 ||
	    path(tc->rogue_cert, tc, "rogue.pem") < 0 || path(tc->rogue_key, tc, "rogue.key") < 0) {
		snprintf(err, errlen, "paths too long");
		goto fail;
	}
	if (write_file(cnf, openssl_cnf, err, errlen) < 0 ||
	    make_ca(tc, cnf, tc->ca, tc->ca_key, "/O=rcsgw tests/CN=rcsgw test CA", err,
		    errlen) < 0 ||
	    make_leaf(tc, cnf, tc->ca, tc->ca_key, tc->server_cert, tc->server_key,
		      "/O=rcsgw tests/CN=" TLS_CERTS_SERVER_CN, "server_ext", serial + 1, err,
		      errlen) < 0 ||
	    make_leaf(tc, cnf, tc->ca, tc->ca_key, tc->alt_cert, tc->alt_key,
		      "/O=rcsgw tests/CN=" TLS_CERTS_ALT_CN, "alt_ext", serial + 2, err,
		      errlen) < 0 ||
	    make_leaf(tc, cnf, tc->ca, tc->ca_key, tc->client_cert, tc->client_key,
		      "/O=rcsgw tests/CN=" TLS_CERTS_CLIENT_CN, "client_ext", serial + 3, err,
		      errlen) < 0 ||
	    make_ca(tc, cnf, tc->rogue_ca, rogue_key, "/O=rcsgw rogues/CN=rogue CA", err,
		    errlen) < 0 ||
	    make_leaf(tc, cnf, tc->rogue_ca, rogue_key, tc->rogue_cert, tc->rogue_key,
		      "/O=rcsgw rogues/CN=" TLS_CERTS_ROGUE_CN, "client_ext", serial + 4, err,
		      errlen) < 0)
		goto fail;
	return 0;
fail:
	tls_certs_remove(tc);
	return -1;
}

void tls_certs_remove(struct tls_certs *tc)
{
	const char *keep = getenv("RCSGW_KEEP_CERTS");
	char file[TLS_CERTS_PATH + 256];
	struct dirent *de;
	DIR *d;

	if (!tc->dir[0] || (keep && strcmp(keep, "1") == 0))
		return;
	d = opendir(tc->dir);
	if (d) {
		while ((de = readdir(d))) {
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			snprintf(file, sizeof(file), "%s/%s", tc->dir, de->d_name);
			unlink(file);
		}
		closedir(d);
	}
	rmdir(tc->dir);
	tc->dir[0] = '\0';
}

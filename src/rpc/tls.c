/*
 * tls.c: PEM files -> gRPC SSL credentials (see tls.h).  The PEM text is
 * wiped before it is freed, so private keys do not linger in the heap.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rpc/tls.h"

#define PEM_MAX (1024 * 1024)

int
rpc_tls_check_key(const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (path == NULL || *path == '\0') {
		snprintf(err, errlen, "no private key file given");
		return -EINVAL;
	}
	if (stat(path, &st) != 0) {
		int e = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		return -e;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		return -EINVAL;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		snprintf(err, errlen, "%s: private key is accessible by group or "
		    "others (mode %04o); run: chmod 600 %s", path,
		    (unsigned)(st.st_mode & 07777), path);
		return -EPERM;
	}
	return 0;
}

char *
rpc_tls_read_file(const char *path, char *err, size_t errlen)
{
	char *buf = NULL;
	size_t len = 0;
	ssize_t n;
	int fd;

	if (path == NULL || *path == '\0') {
		snprintf(err, errlen, "no file given");
		return NULL;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if ((buf = malloc(PEM_MAX + 1)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		close(fd);
		return NULL;
	}
	while ((n = read(fd, buf + len, PEM_MAX + 1 - len)) > 0 && len < PEM_MAX + 1)
		len += (size_t)n;
	close(fd);
	if (n < 0 || len > PEM_MAX || len == 0) {
		snprintf(err, errlen, "%s: %s", path, n < 0 ? strerror(errno) :
		    len == 0 ? "empty file" : "larger than 1 MiB");
		free(buf);
		return NULL;
	}
	buf[len] = '\0';
	return buf;
}

static void
wipe_free(char *s)
{
	if (s != NULL) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

/* Reads the three files; 0, or -1 with err set. */
static int
read_all(const char *ca_file, const char *cert_file, const char *key_file,
    char **ca, char **cert, char **key, char *err, size_t errlen)
{
	*ca = *cert = *key = NULL;
	if ((*ca = rpc_tls_read_file(ca_file, err, errlen)) == NULL)
		return -1;
	if (cert_file == NULL && key_file == NULL)
		return 0;
	if (rpc_tls_check_key(key_file, err, errlen) != 0 ||
	    (*cert = rpc_tls_read_file(cert_file, err, errlen)) == NULL ||
	    (*key = rpc_tls_read_file(key_file, err, errlen)) == NULL) {
		wipe_free(*ca);
		wipe_free(*cert);
		*ca = *cert = NULL;
		return -1;
	}
	return 0;
}

grpc_server_credentials *
rpc_tls_server_credentials(const char *ca_file, const char *cert_file,
    const char *key_file, char *err, size_t errlen)
{
	grpc_ssl_pem_key_cert_pair pair;
	grpc_server_credentials *creds;
	char *ca, *cert, *key;

	if (cert_file == NULL || key_file == NULL) {
		snprintf(err, errlen, "a server certificate and key are required");
		return NULL;
	}
	if (read_all(ca_file, cert_file, key_file, &ca, &cert, &key, err,
	    errlen) != 0)
		return NULL;
	pair.private_key = key;
	pair.cert_chain = cert;
	creds = grpc_ssl_server_credentials_create_ex(ca, &pair, 1,
	    GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY, NULL);
	if (creds == NULL)
		snprintf(err, errlen, "gRPC refused the certificates %s/%s/%s",
		    ca_file, cert_file, key_file);
	wipe_free(ca);
	wipe_free(cert);
	wipe_free(key);
	return creds;
}

grpc_channel_credentials *
rpc_tls_channel_credentials(const char *ca_file, const char *cert_file,
    const char *key_file, char *err, size_t errlen)
{
	grpc_ssl_pem_key_cert_pair pair;
	grpc_channel_credentials *creds;
	char *ca, *cert, *key;

	if (read_all(ca_file, cert_file, key_file, &ca, &cert, &key, err,
	    errlen) != 0)
		return NULL;
	pair.private_key = key;
	pair.cert_chain = cert;
	creds = grpc_ssl_credentials_create_ex(ca, cert != NULL ? &pair : NULL,
	    NULL, NULL);
	if (creds == NULL)
		snprintf(err, errlen, "gRPC refused the certificates from %s",
		    ca_file);
	wipe_free(ca);
	wipe_free(cert);
	wipe_free(key);
	return creds;
}

/*
 * dkim_keys.c - RSA key generation with OpenSSL 3, written durably.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "gent/dkim_keys.h"
#include "gent/util.h"

static int
mkdir_p(const char *dir, char **error_r)
{
	char *copy = xstrdup(dir);

	for (char *p = copy + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(copy, 0700) != 0 && errno != EEXIST)
			goto fail;
		*p = '/';
	}
	if (mkdir(copy, 0700) != 0 && errno != EEXIST)
		goto fail;
	free(copy);
	return 0;
fail:
	*error_r = xasprintf("%s: %s", copy, strerror(errno));
	free(copy);
	return -1;
}

/* Write PEM bytes to path with 0600 and fsync; never overwrite. */
static int
write_private(const char *path, const char *pem, size_t len, char **error_r)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	size_t off = 0;

	if (fd < 0) {
		*error_r = xasprintf("%s: %s", path, strerror(errno));
		return -1;
	}
	while (off < len) {
		ssize_t n = write(fd, pem + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			*error_r = xasprintf("%s: %s", path, strerror(errno));
			close(fd);
			unlink(path);
			return -1;
		}
		off += (size_t)n;
	}
	if (fsync(fd) != 0 || close(fd) != 0) {
		*error_r = xasprintf("%s: %s", path, strerror(errno));
		unlink(path);
		return -1;
	}
	return 0;
}

static char *
public_b64(EVP_PKEY *key)
{
	unsigned char *der = NULL;
	int len = i2d_PUBKEY(key, &der);
	char *out;

	if (len <= 0)
		return NULL;
	out = xmalloc((size_t)(4 * ((len + 2) / 3) + 1));
	EVP_EncodeBlock((unsigned char *)out, der, len);
	OPENSSL_free(der);
	return out;
}

static char *
private_pem(EVP_PKEY *key, size_t *len_r)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *out = NULL;
	long len;

	if (bio && PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) == 1) {
		len = BIO_get_mem_data(bio, &data);
		out = xstrndup(data, (size_t)len);
		*len_r = (size_t)len;
	}
	BIO_free(bio);
	return out;
}

int
dkim_key_generate(const char *dir, const char *key_id, char **path_r,
    char **pubkey_b64_r, char **error_r)
{
	EVP_PKEY *key = EVP_RSA_gen(DKIM_RSA_BITS);
	char *pem = NULL, *path = NULL, *pub = NULL;
	size_t pem_len = 0;
	int rc = -1;

	if (!key) {
		*error_r = xasprintf("RSA key generation failed");
		return -1;
	}
	if (!(pem = private_pem(key, &pem_len)) || !(pub = public_b64(key))) {
		*error_r = xasprintf("cannot encode the key");
		goto out;
	}
	if (mkdir_p(dir, error_r) != 0)
		goto out;
	path = xasprintf("%s/%s.pem", dir, key_id);
	if (write_private(path, pem, pem_len, error_r) != 0 || util_fsync_dir(dir) != 0)
		goto out;
	*path_r = path;
	*pubkey_b64_r = pub;
	path = pub = NULL;
	rc = 0;
out:
	if (pem) {
		OPENSSL_cleanse(pem, pem_len);
		free(pem);
	}
	free(path);
	free(pub);
	EVP_PKEY_free(key);
	return rc;
}

char *
dkim_key_record(const char *pubkey_b64)
{
	return xasprintf("v=DKIM1; k=rsa; p=%s", pubkey_b64);
}

void
dkim_key_remove(const char *path)
{
	if (path)
		unlink(path);
}

/*
 * store_audit_key.c - the server audit key: data_dir/audit.key, 32 random
 * bytes that key the audit hash chains (HMAC-SHA256).
 *
 * The key lives beside the databases, not in them, so a copy or an edit
 * of a database file alone cannot recompute the chain it protects. It is
 * made once, on the first start: O_EXCL, mode 0600, the file and its
 * directory fsynced before any row is hashed with it. A key file that
 * exists but cannot be read, or has the wrong size, stops start-up: a
 * fresh key would silently make every existing chain fail to verify.
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gent/ids.h"
#include "gent/util.h"
#include "store_int.h"

/* Read exactly len bytes; anything else (short, long, error) fails. */
static int
read_key(const char *path, unsigned char *key, size_t len, char **error_r)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	unsigned char buf[STORE_AUDIT_KEY_LEN + 1];
	size_t got = 0;
	ssize_t n;

	if (fd < 0) {
		*error_r = xasprintf("%s: cannot read the audit key: %s", path,
		    strerror(errno));
		return -1;
	}
	while (got < sizeof(buf)) {
		n = read(fd, buf + got, sizeof(buf) - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*error_r = xasprintf("%s: cannot read the audit key: %s",
			    path, strerror(errno));
			close(fd);
			OPENSSL_cleanse(buf, sizeof(buf));
			return -1;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (got != len) {
		*error_r = xasprintf("%s: the audit key must be exactly %zu bytes "
		    "(restore it from the backup of this data_dir)", path, len);
		OPENSSL_cleanse(buf, sizeof(buf));
		return -1;
	}
	memcpy(key, buf, len);
	OPENSSL_cleanse(buf, sizeof(buf));
	return 0;
}

/* 1 = made, 0 = someone else had made it, -1 = failed. */
static int
create_key(const char *dir, const char *path, unsigned char *key, size_t len,
    char **error_r)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	size_t off = 0;

	if (fd < 0 && errno == EEXIST)
		return 0;
	if (fd < 0)
		goto fail;
	ids_random_bytes(key, len);
	while (off < len) {
		ssize_t n = write(fd, key + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			goto fail_unlink;
		}
		off += (size_t)n;
	}
	if (fsync(fd) != 0)
		goto fail_unlink;
	if (close(fd) != 0) {
		fd = -1;
		goto fail_unlink;
	}
	if (util_fsync_dir(dir) != 0) {
		fd = -1;
		goto fail_unlink;
	}
	return 1;
fail_unlink:
	*error_r = xasprintf("%s: cannot write the audit key: %s", path,
	    strerror(errno));
	if (fd >= 0)
		close(fd);
	unlink(path);
	OPENSSL_cleanse(key, len);
	return -1;
fail:
	*error_r = xasprintf("%s: cannot create the audit key: %s", path,
	    strerror(errno));
	return -1;
}

int
store__audit_key_load(const char *data_dir, struct store_audit_key *k,
    char **error_r)
{
	char *path = xasprintf("%s/audit.key", data_dir);
	int rc = create_key(data_dir, path, k->key, sizeof(k->key), error_r);

	k->created = rc == 1;
	if (rc == 0)
		rc = read_key(path, k->key, sizeof(k->key), error_r);
	free(path);
	return rc < 0 ? -1 : 0;
}

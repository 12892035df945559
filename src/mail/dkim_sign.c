/*
 * dkim_sign.c - DKIM signatures for mail we send (RFC 6376): rsa-sha256,
 * relaxed/relaxed, the whole body, with libopendkim's default header
 * list and From/To/Subject/... oversigned (gent_dkim_init()).
 *
 * Each call has its own DKIM handle, so signing runs on any thread.
 */
#include <openssl/err.h>
#include <openssl/pem.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "gent/gent_dkim.h"
#include "gent/util.h"
#include "gent_dkim_int.h"

/* The field libopendkim wrote, with CRLF line ends (it folds with LF). */
static char *
crlf_field(const unsigned char *value, size_t len)
{
	struct buf b = { 0 };

	buf_append_str(&b, DKIM_SIGNHEADER ": ");
	for (size_t i = 0; i < len; i++) {
		if (value[i] == '\r')
			continue;
		if (value[i] == '\n')
			buf_append(&b, "\r\n", 2);
		else
			buf_append(&b, &value[i], 1);
	}
	buf_append(&b, "\r\n", 2);
	return b.data;
}

/*
 * libopendkim copies each header field into a buffer of MAXBUFRSZ (65536)
 * bytes and drops what does not fit, so for a longer field it hashes a cut
 * copy: RFC 6376 verifiers such as dkimpy reject the signature, and only
 * libopendkim, cutting the same way, accepts it. Such a message is not
 * signed (the relay sends it unsigned and logs why). Found by
 * tests/mail/test_dkim_interop.py (MimeKit's stack-overflow.txt, a 135 KB
 * To:), which checks the bound from both sides; a long References chain
 * could get there too.
 */
#define FIELD_MAX 65533	/* bytes of one field, folds included, not its CRLF */

/* Does every field of msg's header section fit FIELD_MAX? */
static bool
fields_fit(const char *msg, size_t len)
{
	size_t field = 0, i = 0;

	while (i < len) {
		const char *lf = memchr(msg + i, '\n', len - i);
		size_t end = lf ? (size_t)(lf - msg) : len;
		size_t text_end = end > i && msg[end - 1] == '\r' ? end - 1 : end;

		if (text_end == i)	/* the empty line that ends the header */
			break;
		if (msg[i] != ' ' && msg[i] != '\t')
			field = i;	/* not a fold: a new field starts */
		if (text_end - field > FIELD_MAX)
			return false;
		i = end + 1;
	}
	return true;
}

/* Is pem a private key OpenSSL can read? libopendkim leaks memory when
 * it is handed one it cannot load, so bad keys stop here. */
static bool
key_loads(const char *pem)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *k = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;

	EVP_PKEY_free(k);
	BIO_free(bio);
	ERR_clear_error();
	return k != NULL;
}

char *
gent_dkim_sign(const char *msg, size_t len, const char *domain,
    const char *selector, const char *key_pem, const char **error_r)
{
	DKIM_STAT st = DKIM_STAT_OK;
	unsigned char *hdr = NULL;
	size_t hlen = 0;
	char *out = NULL;
	DKIM *dkim;

	*error_r = NULL;
	if (!gent_dkim__lib()) {
		*error_r = "DKIM library not initialised";
		return NULL;
	}
	if (!key_loads(key_pem)) {
		*error_r = "the DKIM key is not a PEM private key";
		return NULL;
	}
	if (!fields_fit(msg, len)) {
		*error_r = "a header field is over 65533 bytes, more than "
		    "libopendkim signs correctly";
		return NULL;
	}
	/* libopendkim only reads its string arguments; the prototypes are not const. */
	dkim = dkim_sign(gent_dkim__lib(), (const unsigned char *)"gentd", NULL,
	    (unsigned char *)(uintptr_t)key_pem, (unsigned char *)(uintptr_t)selector,
	    (unsigned char *)(uintptr_t)domain, DKIM_CANON_RELAXED, DKIM_CANON_RELAXED,
	    DKIM_SIGN_RSASHA256, -1, &st);
	if (!dkim) {
		*error_r = "cannot create a signing handle (bad key?)";
		return NULL;
	}
	st = dkim_chunk(dkim, (unsigned char *)(uintptr_t)msg, len);
	if (st == DKIM_STAT_OK)
		st = dkim_chunk(dkim, NULL, 0);
	if (st == DKIM_STAT_OK)
		st = dkim_eom(dkim, NULL);
	if (st == DKIM_STAT_OK)
		st = dkim_getsighdr_d(dkim, strlen(DKIM_SIGNHEADER) + 2, &hdr, &hlen);
	if (st == DKIM_STAT_OK)
		out = crlf_field(hdr, hlen);
	else
		*error_r = dkim_getresultstr(st);
	dkim_free(dkim);
	return out;
}

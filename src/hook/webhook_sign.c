/*
 * webhook_sign.c - the signature headers a webhook receiver verifies.
 *
 * Two schemes go on every delivery. X-Gent-Signature is the lowercase hex
 * HMAC-SHA256 of the raw body keyed with the secret's bytes. The Standard
 * Webhooks scheme (https://www.standardwebhooks.com/) signs
 * "<webhook-id>.<webhook-timestamp>.<body>" and sends
 * "v1,<base64 signature>"; a "whsec_" secret is keyed with the base64
 * decoding of the rest. Pure functions: no I/O, no logging, the secret
 * and the key live only on the stack and are wiped before returning.
 */
#include <inttypes.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>
#include <stdio.h>
#include <string.h>

#include "gent/ids.h"
#include "gent/webhook.h"

#define SIGN_KEY_MAX WEBHOOK_SIGN_SECRET_MAX

void
webhook_sign_gent(const char *secret, const void *body, size_t body_len,
    char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned md_len = 0;

	HMAC(EVP_sha256(), secret, (int)strlen(secret),
	    (const unsigned char *)(body_len ? body : ""), body_len, md,
	    &md_len);
	ids_hex(md, md_len, out);
	OPENSSL_cleanse(md, sizeof(md));
}

/* Strict standard base64 (padded, no whitespace) into key; length or -1. */
static int
decode_whsec(const char *b64, unsigned char *key, size_t cap)
{
	size_t n = strlen(b64), pad = 0;
	const char *eq = strchr(b64, '=');
	int got;

	if (n == 0 || n % 4 != 0 || n / 4 * 3 > cap)
		return -1;
	if (strspn(b64, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789+/=") != n)
		return -1;
	if (b64[n - 1] == '=')
		pad = b64[n - 2] == '=' ? 2 : 1;
	if (pad == 0 ? eq != NULL : eq != b64 + n - pad)
		return -1;
	got = EVP_DecodeBlock(key, (const unsigned char *)b64, (int)n);
	/* EVP_DecodeBlock counts the padding as zero bytes. */
	if (got < 0 || (size_t)got < pad)
		return -1;
	return got - (int)pad;
}

/* HMAC-SHA256 over "<id>.<ts>.<body>" without copying the body. */
static int
hmac_v1(const unsigned char *key, size_t key_len, const char *prefix,
    const void *body, size_t body_len, unsigned char md[32])
{
	char digest[] = "SHA256";
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string("digest", digest, 0),
		OSSL_PARAM_construct_end(),
	};
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
	size_t md_len = 0;
	int ok;

	ok = ctx && EVP_MAC_init(ctx, key, key_len, params) &&
	    EVP_MAC_update(ctx, (const unsigned char *)prefix,
	    strlen(prefix)) &&
	    EVP_MAC_update(ctx, (const unsigned char *)(body_len ? body : ""),
	    body_len) &&
	    EVP_MAC_final(ctx, md, &md_len, 32) && md_len == 32;
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return ok ? 0 : -1;
}

int
webhook_sign_v1(const char *secret, const char *id, int64_t timestamp,
    const void *body, size_t body_len, char out[48], const char **error_r)
{
	unsigned char key[SIGN_KEY_MAX], md[32];
	char prefix[WEBHOOK_SIGN_ID_MAX + 32];
	size_t key_len;
	int n, rc = -1;

	if (strncmp(secret, "whsec_", 6) == 0) {
		if ((n = decode_whsec(secret + 6, key, sizeof(key))) <= 0) {
			*error_r = "whsec_ secret is not valid base64";
			goto out;
		}
		key_len = (size_t)n;
	} else {
		key_len = strlen(secret);
		if (key_len > sizeof(key)) {
			*error_r = "secret too long";
			goto out;
		}
		memcpy(key, secret, key_len);
	}
	n = snprintf(prefix, sizeof(prefix), "%s.%" PRId64 ".", id, timestamp);
	if (n < 0 || (size_t)n >= sizeof(prefix)) {
		*error_r = "webhook id too long";
		goto out;
	}
	if (hmac_v1(key, key_len, prefix, body, body_len, md) < 0) {
		*error_r = "HMAC failed";
		goto out;
	}
	memcpy(out, "v1,", 3);
	EVP_EncodeBlock((unsigned char *)out + 3, md, (int)sizeof(md));
	rc = 0;
out:
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(md, sizeof(md));
	return rc;
}

/* Printable ASCII without space, '.' allowed: safe in a header and
 * unambiguous in "<id>.<ts>." because the timestamp has no dot. */
static bool
id_ok(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n > WEBHOOK_SIGN_ID_MAX)
		return false;
	for (const char *p = id; *p; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
			return false;
	return true;
}

int
webhook_sign(struct webhook_signature *sig, const char *secret,
    const char *id, int64_t timestamp, const void *body, size_t body_len,
    const char **error_r)
{
	size_t slen = secret ? strlen(secret) : 0;

	memset(sig, 0, sizeof(*sig));
	if (slen == 0 || slen > WEBHOOK_SIGN_SECRET_MAX) {
		*error_r = "secret must be 1..512 bytes";
		return -1;
	}
	if (!id || !id_ok(id)) {
		*error_r = "webhook id must be 1..128 printable bytes";
		return -1;
	}
	if (timestamp < 0) {
		*error_r = "timestamp before 1970";
		return -1;
	}
	if (webhook_sign_v1(secret, id, timestamp, body, body_len, sig->v1,
	    error_r) < 0)
		return -1;
	webhook_sign_gent(secret, body, body_len, sig->gent);
	snprintf(sig->id, sizeof(sig->id), "%s", id);
	snprintf(sig->timestamp, sizeof(sig->timestamp), "%" PRId64, timestamp);
	snprintf(sig->lines[0], WEBHOOK_SIGN_LINE_MAX, "X-Gent-Signature: %s",
	    sig->gent);
	snprintf(sig->lines[1], WEBHOOK_SIGN_LINE_MAX, "webhook-id: %s",
	    sig->id);
	snprintf(sig->lines[2], WEBHOOK_SIGN_LINE_MAX, "webhook-timestamp: %s",
	    sig->timestamp);
	snprintf(sig->lines[3], WEBHOOK_SIGN_LINE_MAX, "webhook-signature: %s",
	    sig->v1);
	return 0;
}

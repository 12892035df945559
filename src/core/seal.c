/*
 * seal.c - AES-256-GCM sealing of stored secrets (seal.h).
 */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gent/ids.h"
#include "gent/seal.h"
#include "gent/util.h"

#define SEAL_PREFIX "sealed1:"
#define NONCE_LEN 12
#define TAG_LEN 16
#define SEALED_MAX 4096		/* plain text longer than this is not sealed */

bool
seal_is_sealed(const char *text)
{
	return text && strncmp(text, SEAL_PREFIX, strlen(SEAL_PREFIX)) == 0;
}

static int
hex_value(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Bytes of hex text into out (cap bytes); their count, or -1. */
static long
from_hex(const char *hex, unsigned char *out, size_t cap)
{
	size_t n = strlen(hex);

	if (n % 2 || n / 2 > cap)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return (long)(n / 2);
}

/* One AES-256-GCM pass: encrypt (enc) or decrypt-and-verify n bytes. */
static bool
gcm(bool enc, const unsigned char *key, const unsigned char *nonce,
    const char *purpose, const unsigned char *in, int n, unsigned char *out,
    unsigned char *tag)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int len = 0, fin = 0;
	bool ok = c &&
	    EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) == 1 &&
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) == 1 &&
	    EVP_CipherInit_ex(c, NULL, NULL, key, nonce, enc) == 1 &&
	    EVP_CipherUpdate(c, NULL, &len, (const unsigned char *)purpose,
	    (int)strlen(purpose)) == 1 &&
	    EVP_CipherUpdate(c, out, &len, in, n) == 1 &&
	    (enc || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) == 1) &&
	    EVP_CipherFinal_ex(c, out + len, &fin) == 1 &&
	    (!enc || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag) == 1);

	EVP_CIPHER_CTX_free(c);
	return ok;
}

char *
seal_text(const unsigned char key[SEAL_KEY_LEN], const char *purpose,
    const char *plain)
{
	size_t n = strlen(plain), raw_len = NONCE_LEN + n + TAG_LEN;
	unsigned char *raw;
	char *out = NULL;

	if (n > SEALED_MAX)
		return NULL;
	raw = xmalloc(raw_len);
	ids_random_bytes(raw, NONCE_LEN);
	if (gcm(true, key, raw, purpose, (const unsigned char *)plain, (int)n,
	    raw + NONCE_LEN, raw + NONCE_LEN + n)) {
		out = xmalloc(strlen(SEAL_PREFIX) + 2 * raw_len + 1);
		memcpy(out, SEAL_PREFIX, strlen(SEAL_PREFIX));
		ids_hex(raw, raw_len, out + strlen(SEAL_PREFIX));
	}
	OPENSSL_cleanse(raw, raw_len);
	free(raw);
	return out;
}

char *
unseal_text(const unsigned char key[SEAL_KEY_LEN], const char *purpose,
    const char *text)
{
	unsigned char raw[NONCE_LEN + SEALED_MAX + TAG_LEN];
	char *plain;
	long n;

	if (!text)
		return NULL;
	if (!seal_is_sealed(text))
		return xstrdup(text);
	n = from_hex(text + strlen(SEAL_PREFIX), raw, sizeof(raw));
	if (n < NONCE_LEN + TAG_LEN)
		return NULL;
	n -= NONCE_LEN + TAG_LEN;
	plain = xmalloc((size_t)n + 1);
	if (!gcm(false, key, raw, purpose, raw + NONCE_LEN, (int)n,
	    (unsigned char *)plain, raw + NONCE_LEN + n)) {
		OPENSSL_cleanse(plain, (size_t)n);
		free(plain);
		plain = NULL;
	} else {
		plain[n] = '\0';
	}
	OPENSSL_cleanse(raw, sizeof(raw));
	return plain;
}

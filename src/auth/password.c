/*
 * password.c - scrypt hashing and verification.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "gent/ids.h"
#include "gent/password.h"
#include "gent/util.h"

#define SALT_LEN 16
#define HASH_LEN 32
#define SCRYPT_R 8
#define SCRYPT_P 1

static int
derive(const char *password, const unsigned char *salt, int log2n, int r,
    int p, unsigned char out[HASH_LEN])
{
	uint64_t n = (uint64_t)1 << log2n;
	/* 128 * r * N bytes for the scrypt array, plus headroom. */
	uint64_t maxmem = 128ull * (uint64_t)r * n * 2 + (1u << 20);

	return EVP_PBE_scrypt(password, strlen(password), salt, SALT_LEN, n,
	    (uint64_t)r, (uint64_t)p, maxmem, out, HASH_LEN) == 1 ? 0 : -1;
}

char *
password_hash(const char *password, int log2n)
{
	unsigned char salt[SALT_LEN], hash[HASH_LEN];
	char salt64[32], hash64[64];

	ids_random_bytes(salt, sizeof(salt));
	if (derive(password, salt, log2n, SCRYPT_R, SCRYPT_P, hash) != 0)
		return NULL;
	ids_base64url(salt, sizeof(salt), salt64);
	ids_base64url(hash, sizeof(hash), hash64);
	OPENSSL_cleanse(hash, sizeof(hash));
	return xasprintf("scrypt$%d$%d$%d$%s$%s", log2n, SCRYPT_R, SCRYPT_P,
	    salt64, hash64);
}

/* Decode unpadded base64url; returns bytes written or -1. */
static int
unbase64url(const char *in, unsigned char *out, size_t cap)
{
	size_t n = 0, bits = 0;
	uint32_t acc = 0;

	for (const char *p = in; *p; p++) {
		int v;
		if (*p >= 'A' && *p <= 'Z') v = *p - 'A';
		else if (*p >= 'a' && *p <= 'z') v = *p - 'a' + 26;
		else if (*p >= '0' && *p <= '9') v = *p - '0' + 52;
		else if (*p == '-') v = 62;
		else if (*p == '_') v = 63;
		else return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n == cap)
				return -1;
			out[n++] = (unsigned char)(acc >> bits);
		}
	}
	return (int)n;
}

bool
password_verify(const char *password, const char *stored)
{
	int log2n, r, p;
	char salt64[64], hash64[128];
	unsigned char salt[SALT_LEN], want[HASH_LEN], got[HASH_LEN];
	bool ok;

	if (sscanf(stored, "scrypt$%d$%d$%d$%63[^$]$%127s", &log2n, &r, &p,
	    salt64, hash64) != 5 || log2n < 1 || log2n > 24 || r < 1 ||
	    r > 32 || p < 1 || p > 16)
		return false;
	if (unbase64url(salt64, salt, sizeof(salt)) != SALT_LEN ||
	    unbase64url(hash64, want, sizeof(want)) != HASH_LEN)
		return false;
	if (derive(password, salt, log2n, r, p, got) != 0)
		return false;
	ok = CRYPTO_memcmp(got, want, HASH_LEN) == 0;
	OPENSSL_cleanse(got, sizeof(got));
	return ok;
}

void
password_burn(int log2n)
{
	unsigned char salt[SALT_LEN] = { 0 }, out[HASH_LEN];

	(void)derive("burn", salt, log2n, SCRYPT_R, SCRYPT_P, out);
}

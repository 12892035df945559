/*
 * ids.c - ids, secrets and digests on top of OpenSSL's RNG and SHA-256.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "gent/ids.h"
#include "gent/timefmt.h"
#include "gent/util.h"

void
ids_random_bytes(void *buf, size_t n)
{
	/* No fallback: an id or token from a weak RNG is worse than a crash. */
	gent_assert(RAND_bytes(buf, (int)n) == 1);
}

char *
ids_new(const char *prefix)
{
	static const char alphabet[] = "0123456789abcdefghijklmnopqrstuvwxyz";
	size_t plen = strlen(prefix), i = 0;
	char *id = xmalloc(plen + 1 + IDS_RANDOM_LEN + 1);
	unsigned char r[64];

	memcpy(id, prefix, plen);
	id[plen] = '_';
	while (i < IDS_RANDOM_LEN) {
		ids_random_bytes(r, sizeof(r));
		/* Rejection sampling keeps every character equally likely. */
		for (size_t j = 0; j < sizeof(r) && i < IDS_RANDOM_LEN; j++)
			if (r[j] < 252)
				id[plen + 1 + i++] = alphabet[r[j] % 36];
	}
	id[plen + 1 + IDS_RANDOM_LEN] = '\0';
	return id;
}

/* Leading characters of an ordered id: time, then the counter. */
#define ORDERED_TIME_LEN	9	/* 36^9 ms: until the year 5138 */
#define ORDERED_COUNT_LEN	4	/* 36^4 ids within one ms before it wraps */

/* n base-36 digits of v, most significant first. */
static void
base36(uint64_t v, char *out, size_t n)
{
	static const char alphabet[] = "0123456789abcdefghijklmnopqrstuvwxyz";

	while (n-- > 0) {
		out[n] = alphabet[v % 36];
		v /= 36;
	}
}

char *
ids_new_ordered(const char *prefix)
{
	static _Atomic uint64_t counter;
	char *id = ids_new(prefix);
	char *tail = id + strlen(prefix) + 1;

	base36((uint64_t)time_now_ms(), tail, ORDERED_TIME_LEN);
	base36(counter++, tail + ORDERED_TIME_LEN, ORDERED_COUNT_LEN);
	return id;
}

void
ids_base64url(const unsigned char *in, size_t n, char *out)
{
	static const char tbl[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t i, o = 0;

	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = tbl[v >> 18 & 63];
		out[o++] = tbl[v >> 12 & 63];
		out[o++] = tbl[v >> 6 & 63];
		out[o++] = tbl[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;
		out[o++] = tbl[v >> 18 & 63];
		out[o++] = tbl[v >> 12 & 63];
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = tbl[v >> 18 & 63];
		out[o++] = tbl[v >> 12 & 63];
		out[o++] = tbl[v >> 6 & 63];
	}
	out[o] = '\0';
}

char *
ids_new_secret(const char *prefix)
{
	unsigned char raw[IDS_SECRET_BYTES];
	size_t plen = strlen(prefix);
	char *s = xmalloc(plen + 1 + IDS_SECRET_LEN + 1);

	ids_random_bytes(raw, sizeof(raw));
	memcpy(s, prefix, plen);
	s[plen] = '_';
	ids_base64url(raw, sizeof(raw), s + plen + 1);
	OPENSSL_cleanse(raw, sizeof(raw));
	return s;
}

static bool
has_prefix(const char *s, const char *prefix, size_t *plen_r)
{
	size_t plen = strlen(prefix);

	*plen_r = plen;
	return strncmp(s, prefix, plen) == 0 && s[plen] == '_';
}

bool
ids_is_secret(const char *s, const char *prefix)
{
	size_t plen;

	if (!has_prefix(s, prefix, &plen) || strlen(s + plen + 1) != IDS_SECRET_LEN)
		return false;
	for (const char *p = s + plen + 1; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
			return false;
	/* 32 bytes leave 2 spare bits in the last character: they must be 0,
	 * so each token has exactly one spelling. */
	return strchr("AEIMQUYcgkosw048", s[plen + IDS_SECRET_LEN]) != NULL;
}

bool
ids_is_id(const char *s, const char *prefix)
{
	size_t plen;

	if (!has_prefix(s, prefix, &plen) || strlen(s + plen + 1) != IDS_RANDOM_LEN)
		return false;
	for (const char *p = s + plen + 1; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')))
			return false;
	return true;
}

void
ids_hex(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

void
ids_sha256_hex(const char *s, size_t len, char hex[IDS_DIGEST_HEX_LEN + 1])
{
	unsigned char md[32];
	unsigned int mdlen = 0;

	gent_assert(EVP_Digest(s, len, md, &mdlen, EVP_sha256(), NULL) == 1);
	ids_hex(md, sizeof(md), hex);
}

bool
ids_equal_ct(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}

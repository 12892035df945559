/*
 * unsubscribe.c - HMAC tokens for List-Unsubscribe links.
 */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

#include "gent/ids.h"
#include "gent/unsubscribe.h"
#include "gent/util.h"

#define MAC_LEN 16
#define TOKEN_MAX 1024

static void
mac_of(const unsigned char *key, const char *msg, size_t len,
    unsigned char out[MAC_LEN])
{
	unsigned char full[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	HMAC(EVP_sha256(), key, UNSUBSCRIBE_KEY_LEN, (const unsigned char *)msg,
	    len, full, &n);
	memcpy(out, full, MAC_LEN);
}

char *
unsubscribe_token(const unsigned char key[UNSUBSCRIBE_KEY_LEN],
    const struct unsubscribe_target *t)
{
	size_t dlen = strlen(t->destination);
	char *dest64 = xmalloc(dlen * 4 / 3 + 4), mac64[32], *signed_part, *tok;
	unsigned char mac[MAC_LEN];

	ids_base64url((const unsigned char *)t->destination, dlen, dest64);
	signed_part = xasprintf("%s.%s.%s.%s", t->tenant_id, t->inbox_id,
	    t->rule_id, dest64);
	mac_of(key, signed_part, strlen(signed_part), mac);
	ids_base64url(mac, MAC_LEN, mac64);
	tok = xasprintf("%s.%s", signed_part, mac64);
	free(signed_part);
	free(dest64);
	return tok;
}

static int
b64val(char c)
{
	if (c >= 'A' && c <= 'Z') return c - 'A';
	if (c >= 'a' && c <= 'z') return c - 'a' + 26;
	if (c >= '0' && c <= '9') return c - '0' + 52;
	if (c == '-') return 62;
	if (c == '_') return 63;
	return -1;
}

/* Decode unpadded base64url; NULL when malformed. */
static char *
unb64(const char *in, size_t *len_r)
{
	size_t n = 0, bits = 0, len = strlen(in);
	char *out = xmalloc(len + 1);
	unsigned acc = 0;

	for (const char *p = in; *p; p++) {
		int v = b64val(*p);
		if (v < 0) {
			free(out);
			return NULL;
		}
		acc = (acc << 6) | (unsigned)v;
		if ((bits += 6) >= 8) {
			bits -= 8;
			out[n++] = (char)(acc >> bits);
		}
	}
	out[n] = '\0';
	*len_r = n;
	return out;
}

int
unsubscribe_verify(const unsigned char key[UNSUBSCRIBE_KEY_LEN],
    const char *token, struct unsubscribe_target *out)
{
	char *copy, *parts[5], *save = NULL, *dest, *mac;
	unsigned char want[MAC_LEN];
	size_t dlen, mlen;
	int n = 0, rc = -1;

	memset(out, 0, sizeof(*out));
	if (!token || strlen(token) > TOKEN_MAX)
		return -1;
	copy = xstrdup(token);
	for (char *p = strtok_r(copy, ".", &save); p && n < 5; p = strtok_r(NULL, ".", &save))
		parts[n++] = p;
	if (n != 5 || strtok_r(NULL, ".", &save)) {
		free(copy);
		return -1;
	}
	mac = unb64(parts[4], &mlen);
	/* The MAC covers the text before the last dot, exactly as received. */
	mac_of(key, token, (size_t)(strrchr(token, '.') - token), want);
	if (mac && mlen == MAC_LEN && CRYPTO_memcmp(mac, want, MAC_LEN) == 0 &&
	    (dest = unb64(parts[3], &dlen)) != NULL) {
		out->tenant_id = xstrdup(parts[0]);
		out->inbox_id = xstrdup(parts[1]);
		out->rule_id = xstrdup(parts[2]);
		out->destination = dest;
		rc = 0;
	}
	free(mac);
	free(copy);
	return rc;
}

void
unsubscribe_target_free(struct unsubscribe_target *t)
{
	xfree(&t->tenant_id);
	xfree(&t->inbox_id);
	xfree(&t->rule_id);
	xfree(&t->destination);
}

/*
 * ids.h - random ids, secrets, digests and their text encodings.
 *
 * Object ids are "<prefix>_" + 24 characters of [0-9a-z] (124 bits).
 * Secrets (agent and session tokens) are "<prefix>_" + base64url of 32
 * random bytes (43 characters). Only SHA-256 digests of secrets are kept.
 */
#ifndef GENT_IDS_H
#define GENT_IDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IDS_RANDOM_LEN 24		/* characters after "<prefix>_" */
#define IDS_SECRET_BYTES 32
#define IDS_SECRET_LEN 43		/* base64url of 32 bytes, unpadded */
#define IDS_DIGEST_HEX_LEN 64

/** Fill buf with n cryptographically random bytes; aborts on RNG failure. */
void ids_random_bytes(void *buf, size_t n);
/** New object id such as "tok_3k9...". Caller frees. */
char *ids_new(const char *prefix);
/** An id like ids_new()'s whose characters begin with the time in ms and
 *  a per-process counter, so ids made one after another by a process sort
 *  in the order they were made, even within one millisecond (audit rows
 *  listed newest first); the rest is random. Caller frees. */
char *ids_new_ordered(const char *prefix);
/** New secret "<prefix>_<43 base64url chars>". Caller frees. */
char *ids_new_secret(const char *prefix);
/** True when s is "<prefix>_" followed by exactly 43 base64url characters. */
bool ids_is_secret(const char *s, const char *prefix);
/** True when s is "<prefix>_" followed by 24 characters of [0-9a-z]. */
bool ids_is_id(const char *s, const char *prefix);
/** Unpadded base64url of n bytes into out (needs 4*n/3+2 bytes). */
void ids_base64url(const unsigned char *in, size_t n, char *out);
/** Lower-case hex of n bytes into out (2 * n + 1 bytes). */
void ids_hex(const unsigned char *in, size_t n, char *out);
/** Lower-case hex SHA-256 of s into hex (65 bytes). */
void ids_sha256_hex(const char *s, size_t len, char hex[IDS_DIGEST_HEX_LEN + 1]);
/** Constant-time equality of two equal-length byte strings. */
bool ids_equal_ct(const void *a, const void *b, size_t n);

#endif

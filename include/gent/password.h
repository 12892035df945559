/*
 * password.h - scrypt password hashes (OpenSSL's KDF, per-user salt).
 *
 * Stored form: "scrypt$<log2 N>$<r>$<p>$<salt b64url>$<hash b64url>".
 * The cost is read back from the stored form, so raising it later only
 * affects new hashes.
 */
#ifndef GENT_PASSWORD_H
#define GENT_PASSWORD_H

#include <stdbool.h>

#define PASSWORD_MIN_LEN 8
#define PASSWORD_MAX_LEN 1024

/** Hash with cost 2^log2n; returns a new string or NULL on KDF failure. */
char *password_hash(const char *password, int log2n);
/** True when password matches stored (constant-time comparison). */
bool password_verify(const char *password, const char *stored);
/** Spend the same time as a verify, for unknown users (no oracle). */
void password_burn(int log2n);

#endif

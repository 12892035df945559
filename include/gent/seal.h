/*
 * seal.h - secrets gentd must keep usable (webhook signing secrets: HMAC
 * needs the secret itself, a digest will not do) are stored sealed with
 * AES-256-GCM under a server key kept in control.db, so a copy of a
 * tenant database alone does not give them away.
 *
 * Sealed text is "sealed1:" and the hex of nonce (12) | ciphertext | tag
 * (16). The purpose string is authenticated too (AAD): a value sealed
 * for one use does not open as another. Text without the prefix is taken
 * as stored before sealing existed and returned as is.
 */
#ifndef GENT_SEAL_H
#define GENT_SEAL_H

#include <stdbool.h>

#define SEAL_KEY_LEN 32
#define SEAL_PURPOSE_WEBHOOK "gentd webhook secret"

/** Sealed copy of plain (caller frees), or NULL if OpenSSL failed. */
char *seal_text(const unsigned char key[SEAL_KEY_LEN], const char *purpose,
    const char *plain);
/**
 * The plain text of a sealed value (caller frees and should wipe), a copy
 * of an unsealed one, or NULL when it is sealed and does not open (wrong
 * key, purpose or a changed byte).
 */
char *unseal_text(const unsigned char key[SEAL_KEY_LEN], const char *purpose,
    const char *text);
bool seal_is_sealed(const char *text);

#endif

/*
 * dkim_keys.h - DKIM signing keys: generation and storage.
 *
 * Private keys are PKCS#8 PEM files with mode 0600 under
 * data_dir/dkim/<domain_id>/<key_id>.pem, fsynced (file and directory)
 * before the database row that names them is committed. They are never
 * returned by the API; only the public half is published.
 */
#ifndef GENT_DKIM_KEYS_H
#define GENT_DKIM_KEYS_H

#define DKIM_RSA_BITS 2048

/**
 * Generate an RSA-2048 key, write it to dir/<key_id>.pem (creating dir
 * with 0700; the key id is unique, so concurrent generations never meet).
 * Returns 0 and the path and base64 SubjectPublicKeyInfo, or -1 with
 * *error_r. Callers free the strings.
 */
int dkim_key_generate(const char *dir, const char *key_id, char **path_r,
    char **pubkey_b64_r, char **error_r);
/** "v=DKIM1; k=rsa; p=<pubkey>" for the TXT record. Caller frees. */
char *dkim_key_record(const char *pubkey_b64);
/** Remove a key file (after its row is gone). */
void dkim_key_remove(const char *path);

#endif

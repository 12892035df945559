/*
 * unsubscribe.h - signed one-click unsubscribe tokens for forwarded mail.
 *
 * token = <tenant>.<inbox>.<rule>.<b64url(destination)>.<b64url(mac)>
 * with mac = HMAC-SHA256(server key, the first four parts), cut to 128
 * bits. Nothing is stored per token; a forged or altered token fails.
 */
#ifndef GENT_UNSUBSCRIBE_H
#define GENT_UNSUBSCRIBE_H

#define UNSUBSCRIBE_KEY_LEN 32

struct unsubscribe_target {
	char	*tenant_id, *inbox_id, *rule_id, *destination;
};

/** Sign a target. Caller frees. */
char *unsubscribe_token(const unsigned char key[UNSUBSCRIBE_KEY_LEN],
    const struct unsubscribe_target *t);
/** Check and decode a token. 0, or -1 when malformed or forged. */
int unsubscribe_verify(const unsigned char key[UNSUBSCRIBE_KEY_LEN],
    const char *token, struct unsubscribe_target *out);
void unsubscribe_target_free(struct unsubscribe_target *t);

#endif

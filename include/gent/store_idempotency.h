/*
 * store_idempotency.h - idempotency keys of POST requests (control.db).
 */
#ifndef GENT_STORE_IDEMPOTENCY_H
#define GENT_STORE_IDEMPOTENCY_H

#include <stddef.h>
#include <stdint.h>

#include "gent/store.h"

#define IDEM_STALE_MS (5 * 60 * 1000)	/* a reservation older than this was abandoned */

struct idem_row {
	char	 request_hash[72];
	int	 status;		/* 0 while reserved */
	char	*response;		/* body bytes */
	size_t	 response_len;
	int64_t	 created_at;
};

/**
 * Reserve (principal, key) for a request: STORE_OK when it is new (or a
 * stale reservation was taken over), STORE_ERR_CONFLICT with *existing
 * filled when the key is known.
 */
int store_idem_begin(struct store_db *db, const char *principal, const char *key,
    const char *request_hash, int64_t now, struct idem_row *existing);
/** Keep the answer of a reserved key. */
int store_idem_finish(struct store_db *db, const char *principal, const char *key,
    int status, const char *body, size_t len);
/** Drop a reservation (the request failed in a way worth retrying). */
int store_idem_abandon(struct store_db *db, const char *principal, const char *key);
/** Remove keys created before cutoff. */
int store_idem_prune(struct store_db *db, int64_t cutoff);
void idem_row_free(struct idem_row *r);

#endif

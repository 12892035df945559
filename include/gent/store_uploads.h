/*
 * store_uploads.h - attachments uploaded ahead of a send (tenant.db).
 */
#ifndef GENT_STORE_UPLOADS_H
#define GENT_STORE_UPLOADS_H

#include <stddef.h>
#include <stdint.h>

#include "gent/store.h"

#define UPLOAD_TTL_MS (24LL * 3600 * 1000)

struct upload_row {
	char	 id[64];
	char	 inbox_id[64];
	char	*filename, *content_type;
	char	*data;			/* only from store_uploads_get */
	size_t	 size;
	int64_t	 created_at, expires_at;
};

int store_uploads_create(struct store_db *db, const struct upload_row *u,
    const struct store_audit *audit);
/** An upload of inbox_id that has not expired at now; NOT_FOUND otherwise. */
int store_uploads_get(struct store_db *db, const char *id, const char *inbox_id,
    int64_t now, struct upload_row *out);
/** Remove uploads expired before now. */
int store_uploads_prune(struct store_db *db, int64_t now);
void upload_row_free(struct upload_row *u);

#endif

/*
 * store_caps.h - usage caps and mailbox usage (tenant.db).
 */
#ifndef GENT_STORE_CAPS_H
#define GENT_STORE_CAPS_H

#include <stdint.h>

#include "gent/store.h"

struct cap_row {
	char	 inbox_id[64];
	char	 resource[16];		/* mailbox, send */
	int64_t	 limit_value;		/* bytes or messages */
	char	 period[16];		/* "" for mailbox */
	char	 mode[16];		/* enforce, hold, allow_and_bill */
	char	*alert_thresholds;	/* JSON array */
	int64_t	 updated_at;
};

struct mailbox_usage {
	int64_t	messages;		/* bytes of raw messages */
	int64_t	attachments;		/* bytes of decoded attachments */
};

/** The cap, or NOT_FOUND when none is set. */
int store_caps_get(struct store_db *db, const char *inbox_id,
    const char *resource, struct cap_row *out);
/** Insert or replace a cap. */
int store_caps_put(struct store_db *db, const struct cap_row *cap,
    const struct store_audit *audit);
/** Remove a cap; NOT_FOUND when none. */
int store_caps_delete(struct store_db *db, const char *inbox_id,
    const char *resource, const struct store_audit *audit);
void cap_row_free(struct cap_row *c);
/** Bytes an inbox uses. */
int store_caps_mailbox_usage(struct store_db *db, const char *inbox_id,
    struct mailbox_usage *out);

#endif

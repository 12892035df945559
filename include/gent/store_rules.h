/*
 * store_rules.h - per-inbox sender rules (tenant.db).
 */
#ifndef GENT_STORE_RULES_H
#define GENT_STORE_RULES_H

#include <stdint.h>

#include "gent/store.h"

struct sender_rules_row {
	char	 inbox_id[64];
	char	 inbound_mode[16];	/* open, allowlist, blocklist */
	char	 outbound_mode[16];
	char	*inbound_patterns;	/* JSON array */
	char	*outbound_patterns;
	int64_t	 updated_at;		/* 0 = never set (defaults) */
};

/** The inbox's rules, or the open defaults when none are stored. */
int store_rules_sender_get(struct store_db *db, const char *inbox_id,
    struct sender_rules_row *out);
/**
 * Merge into the inbox's rules inside one transaction: an empty mode or a
 * NULL pattern list keeps the stored value. On success row holds the
 * merged rules.
 */
int store_rules_sender_merge(struct store_db *db, struct sender_rules_row *row,
    const struct store_audit *audit);
/** Remove the rules (back to open); NOT_FOUND when none were set. */
int store_rules_sender_delete(struct store_db *db, const char *inbox_id,
    const struct store_audit *audit);
void sender_rules_row_free(struct sender_rules_row *r);

#endif

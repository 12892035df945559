/*
 * store_alerts.h - alert rules (tenant.db).
 */
#ifndef GENT_STORE_ALERTS_H
#define GENT_STORE_ALERTS_H

#include <stdbool.h>
#include <stdint.h>

#include "gent/store.h"

struct alert_row {
	char	 id[64];
	char	 inbox_id[64];
	char	*events;		/* JSON array */
	char	*url, *secret;		/* secret NULL when none */
	char	*filter, *offset_json;	/* JSON or NULL */
	int64_t	 threshold;		/* -1 = none */
	int64_t	 attempts;
	char	 backoff[16];
	bool	 enabled;
	int64_t	 created_at, updated_at;
};

int store_alerts_create(struct store_db *db, const struct alert_row *r,
    const struct store_audit *audit);
/** Replace every field but id, inbox and created_at; NOT_FOUND. */
int store_alerts_update(struct store_db *db, const struct alert_row *r,
    const struct store_audit *audit);
int store_alerts_delete(struct store_db *db, const char *id,
    const struct store_audit *audit);
int store_alerts_get(struct store_db *db, const char *id, struct alert_row *out);
/** An inbox's rules, oldest first. */
int store_alerts_list(struct store_db *db, const char *inbox_id,
    struct alert_row **rows_r, int *n_r);
void alert_row_free(struct alert_row *r);
void alert_rows_free(struct alert_row *rows, int n);

#endif

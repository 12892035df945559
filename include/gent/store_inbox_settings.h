/*
 * store_inbox_settings.h - per-inbox settings and forwarding rules
 * (tenant.db).
 */
#ifndef GENT_STORE_INBOX_SETTINGS_H
#define GENT_STORE_INBOX_SETTINGS_H

#include <stdbool.h>
#include <stdint.h>

#include "gent/store.h"

/** The inbox's settings JSON object text ("{}" when never set). Caller frees. */
int store_inbox_settings_get(struct store_db *db, const char *inbox_id,
    char **json_r);
struct json_t;
/** Change the settings object in place; non-0 (a STORE_ERR_*) aborts. */
typedef int (*store_settings_mutate_fn)(struct json_t *settings, void *arg);

/**
 * Read, change and write the inbox's settings in one transaction, so
 * concurrent changes of different settings all stick. mutate runs on the
 * writer thread: it must only touch the JSON. *result_r (when not NULL)
 * gets the new settings text.
 */
int store_inbox_settings_update(struct store_db *db, const char *inbox_id,
    store_settings_mutate_fn mutate, void *arg, const struct store_audit *audit,
    char **result_r);

struct forwarding_rule_row {
	char	 id[64];
	char	 inbox_id[64];
	char	*destination;
	char	 condition_type[24];
	char	*condition_value;	/* NULL for "all" */
	int64_t	 priority;
	bool	 enabled;
	int64_t	 created_at, updated_at;
};

int store_forwarding_rules_create(struct store_db *db,
    const struct forwarding_rule_row *r, const struct store_audit *audit);
/** Rules of an inbox in evaluation order (priority, then age). */
int store_forwarding_rules_list(struct store_db *db, const char *inbox_id,
    struct forwarding_rule_row **rows_r, int *n_r);
int store_forwarding_rules_get(struct store_db *db, const char *id,
    struct forwarding_rule_row *out);
/** Replace every mutable field of the rule. */
int store_forwarding_rules_update(struct store_db *db,
    const struct forwarding_rule_row *r, const struct store_audit *audit);
int store_forwarding_rules_delete(struct store_db *db, const char *id,
    const struct store_audit *audit);
void forwarding_rule_row_free(struct forwarding_rule_row *r);
void forwarding_rule_rows_free(struct forwarding_rule_row *rows, int n);

#endif

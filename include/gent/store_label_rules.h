/*
 * store_label_rules.h - auto-label rules (tenant.db), kept in an explicit
 * order per inbox: position 0 is tried first.
 */
#ifndef GENT_STORE_LABEL_RULES_H
#define GENT_STORE_LABEL_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gent/store.h"

struct label_rule_row {
	char	 id[64];
	char	 inbox_id[64];
	char	 label_id[64];
	char	*name;			/* NULL when unset */
	char	 match[8];		/* all, any */
	char	*conditions;		/* JSON array text */
	int64_t	 position;		/* 0-based rank in the inbox's order */
	bool	 enabled;
	int64_t	 created_at, updated_at;
};

/**
 * Create at index position (clamped to the end; -1 = at the end), moving
 * later rules down. On success r->position holds the rank it got.
 * NOT_FOUND when the label is gone or not in the rule's inbox.
 */
int store_label_rules_create(struct store_db *db, struct label_rule_row *r,
    const struct store_audit *audit);
/**
 * Replace label, name, match, conditions and enabled; with move_to >= 0
 * also move the rule to that rank. NOT_FOUND when the rule or label is gone.
 */
int store_label_rules_update(struct store_db *db, struct label_rule_row *r,
    int64_t move_to, const struct store_audit *audit);
int store_label_rules_delete(struct store_db *db, const char *id,
    const struct store_audit *audit);
int store_label_rules_get(struct store_db *db, const char *id,
    struct label_rule_row *out);
/** The inbox's rules in evaluation order. */
int store_label_rules_list(struct store_db *db, const char *inbox_id,
    struct label_rule_row **rows_r, int *n_r);
/**
 * Set the order to ids (every rule of the inbox exactly once, else
 * STORE_ERR_INVALID and nothing changes).
 */
int store_label_rules_reorder(struct store_db *db, const char *inbox_id,
    const char *const *ids, size_t n, const struct store_audit *audit);
void label_rule_row_free(struct label_rule_row *r);
void label_rule_rows_free(struct label_rule_row *rows, int n);

#endif

/*
 * store_labels.h - labels and their application to messages (tenant.db).
 *
 * Applying or removing a label writes the label.applied / label.removed
 * event and the audit row in the same transaction; a label whose policy
 * forwards can queue its copy there too, so nothing is half done.
 */
#ifndef GENT_STORE_LABELS_H
#define GENT_STORE_LABELS_H

#include <stdbool.h>
#include <stdint.h>

#include "gent/store.h"
#include "gent/store_outbound.h"

struct label_row {
	char	 id[64];
	char	 inbox_id[64];
	char	*name;
	char	 label_scope[16];	/* read_only, read_apply, read_write */
	char	 label_type[16];	/* message, contact, calendar, any */
	char	*color;			/* NULL when unset */
	char	*policies;		/* JSON object text */
	int64_t	 created_at, updated_at;
};

/** Create; CONFLICT when the inbox has a label of that name (any case). */
int store_labels_create(struct store_db *db, const struct label_row *r,
    const struct store_audit *audit);
/** Replace name, scope, color and policies; NOT_FOUND or CONFLICT. */
int store_labels_update(struct store_db *db, const struct label_row *r,
    const struct store_audit *audit);
/** Delete with its applications and auto-label rules, with a
 *  label.removed event (by removed_by) for each message that had it;
 *  NOT_FOUND. */
int store_labels_delete(struct store_db *db, const char *id,
    const char *removed_by, const struct store_audit *audit);
int store_labels_get(struct store_db *db, const char *id, struct label_row *out);
/** Labels of an inbox by name. */
int store_labels_list(struct store_db *db, const char *inbox_id,
    struct label_row **rows_r, int *n_r);
/** Labels carried by a message, in the order they were applied. */
int store_labels_of_message(struct store_db *db, const char *message_id,
    struct label_row **rows_r, int *n_r);
int store_labels_count(struct store_db *db, const char *inbox_id, int *n_r);
/** The name of a block_reply label on any message of the thread (caller
 *  frees), or NULL when replying is allowed. */
char *store_labels_thread_block_reply(struct store_db *db, const char *thread_id);
void label_row_free(struct label_row *r);
void label_rows_free(struct label_row *rows, int n);

/* One application of a label to a message. */
struct label_apply {
	const char			*message_id;
	const char			*label_id;
	const char			*applied_by;	/* "rule:<id>", "token:<id>", "user:<id>" */
	const char			*source;	/* "auto_label_rule" or "api" */
	const char			*rule_id;	/* auto-label rule, or NULL */
	const struct outbound_row	*forward;	/* forward_to copy, or NULL */
};

/**
 * Apply (idempotent). *changed_r is false when the message already had
 * the label; then no event, audit row or forward is written. NOT_FOUND
 * when the message or the label is gone.
 */
int store_labels_apply(struct store_db *db, const struct label_apply *a,
    const struct store_audit *audit, bool *changed_r);
/** Remove (idempotent, as apply). */
int store_labels_remove(struct store_db *db, const char *message_id,
    const char *label_id, const char *removed_by,
    const struct store_audit *audit, bool *changed_r);

#endif

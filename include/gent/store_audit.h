/*
 * store_audit.h - reading the audit trail and checking its hash chain
 * (control.db and each tenant.db have one; rows are only ever appended,
 * see store_audit_append()).
 */
#ifndef GENT_STORE_AUDIT_H
#define GENT_STORE_AUDIT_H

#include <stdbool.h>
#include <stdint.h>

#include "gent/store.h"

struct audit_row {
	int64_t	 seq;
	char	 id[64];
	char	*tenant_id, *actor_type, *actor_id, *action, *target_type;
	char	*target_id, *detail, *request_id, *prev_hash, *hash;
	char	*inbox_id;		/* the inbox it concerns, or NULL */
	int64_t	 created_at;
};

/* NULL strings and 0 times do not filter. */
struct audit_filter {
	const char	*tenant_id, *actor_id, *action, *target_id;
	const char	*inbox_id;	/* rows of that inbox, or about it */
	const char	*actor_type;	/* "token", "user", ... */
	int64_t		 after_ms, before_ms;
};

/** Keyset page, newest first: rows before (cursor_ms, cursor_id). */
int store_audit_list(struct store_db *db, const struct audit_filter *f, int limit,
    int64_t cursor_ms, const char *cursor_id, struct audit_row **rows_r, int *n_r);
void audit_rows_free(struct audit_row *rows, int n);

struct audit_check {
	bool	 ok;		/* the chain and its head hold */
	int64_t	 rows;		/* rows read */
	int64_t	 chained;	/* of them, rows with a hash */
	int64_t	 keyed_from;	/* the head's first keyed seq; 0 = no valid head */
	int64_t	 first_bad_seq;	/* the first row that does not hold, 0 = none
				 * (or only the head is wrong: see why) */
	char	 why[200];	/* what is wrong, "" when ok */
};

/**
 * Remove rows older than cutoff (retention) in one transaction, keeping
 * the chain checkable: the audit head is re-anchored to the first row
 * left. The append-only triggers are lifted only inside that transaction.
 * INVALID (nothing removed) when the head is missing or does not verify.
 */
int store_audit_prune(struct store_db *db, int64_t cutoff, int *removed_r);
/**
 * Re-compute the whole chain in seq order against the audit head (keyed
 * rows with the audit key, older rows with plain SHA-256) and check that
 * the head's MAC holds and it names the newest row. Non-OK only when the
 * database could not be read; out->ok says whether the log is intact.
 */
int store_audit_verify(struct store_db *db, struct audit_check *out);

#endif

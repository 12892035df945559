/*
 * store_approvals.h - held-back actions of supervised tokens (tenant.db).
 */
#ifndef GENT_STORE_APPROVALS_H
#define GENT_STORE_APPROVALS_H

#include <stdbool.h>
#include <stdint.h>

#include "gent/store.h"

struct approval_row {
	char	 id[64];
	char	 inbox_id[64];
	char	 token_id[64];
	char	 action[32];
	char	*request, *summary, *result, *decided_by, *reason;
	char	 status[16];		/* pending, approved, rejected */
	int64_t	 created_at, decided_at;
};

int store_approvals_create(struct store_db *db, const struct approval_row *a,
    const struct store_audit *audit);
int store_approvals_get(struct store_db *db, const char *id, struct approval_row *out);
/** Keyset page, newest first; status NULL = all. */
int store_approvals_list(struct store_db *db, const char *status, int limit,
    int64_t cursor_ms, const char *cursor_id, struct approval_row **rows_r,
    int *n_r, bool *more_r);
/**
 * Move a pending approval to status (approved or rejected) with who
 * decided and why; CONFLICT when it was decided already (two reviewers
 * clicking at once: exactly one wins).
 */
int store_approvals_decide(struct store_db *db, const char *id, const char *status,
    const char *decided_by, const char *reason, const struct store_audit *audit);
/** Keep the answer of the approved action. */
int store_approvals_set_result(struct store_db *db, const char *id, const char *result);
void approval_row_free(struct approval_row *a);
void approval_rows_free(struct approval_row *rows, int n);

#endif

/*
 * store_invites.c - team invitations: single-use tokens (digest only),
 * a role, an optional email restriction and expiry.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gent/store_accounts.h"
#include "gent/timefmt.h"
#include "gent/util.h"
#include "store_int.h"

struct create_job {
	const struct invite_row		*inv;
	const char			*digest;
	const struct store_audit	*audit;
};

static int
create_fn(sqlite3 *conn, void *arg)
{
	struct create_job *j = arg;
	const struct invite_row *inv = j->inv;
	sqlite3_stmt *st = store_prepare(conn, "INSERT INTO invites (id, tenant_id, "
	    "digest, role, email, expires_at, created_by, created_at) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
	int rc;

	if (!st)
		return STORE_ERR_SQL;
	store_bind_text(st, 1, inv->id);
	store_bind_text(st, 2, inv->tenant_id);
	store_bind_text(st, 3, j->digest);
	store_bind_text(st, 4, inv->role);
	store_bind_text(st, 5, inv->email);
	if (inv->expires_at > 0)
		sqlite3_bind_int64(st, 6, inv->expires_at);
	else
		sqlite3_bind_null(st, 6);
	store_bind_text(st, 7, inv->created_by);
	sqlite3_bind_int64(st, 8, inv->created_at);
	rc = store_step_done(st);
	store_finish(st);
	return rc == STORE_OK ? store_audit_append(conn, j->audit) : rc;
}

int
store_invites_create(struct store_db *db, const struct invite_row *inv,
    const char *digest, const struct store_audit *audit)
{
	struct create_job j = { inv, digest, audit };

	return store_db_write(db, create_fn, &j);
}

/* "expired" is derived: a pending invite past its expiry. */
#define INVITE_STATUS_SQL \
	"CASE WHEN status = 'pending' AND expires_at IS NOT NULL AND " \
	"expires_at <= ?2 THEN 'expired' ELSE status END"

static void
read_row(sqlite3_stmt *st, struct invite_row *r)
{
	memset(r, 0, sizeof(*r));
	store__copy_col(st, 0, r->id, sizeof(r->id));
	store__copy_col(st, 1, r->tenant_id, sizeof(r->tenant_id));
	store__copy_col(st, 2, r->role, sizeof(r->role));
	r->email = store_col_text(st, 3);
	store__copy_col(st, 4, r->status, sizeof(r->status));
	r->expires_at = sqlite3_column_int64(st, 5);
	r->created_at = sqlite3_column_int64(st, 6);
	r->accepted_at = sqlite3_column_int64(st, 7);
	store__copy_col(st, 8, r->created_by, sizeof(r->created_by));
}

int
store_invites_list(struct store_db *db, const char *tenant_id,
    const char *status, int limit, int64_t cursor_ms, const char *cursor_id,
    struct invite_row **rows_r, int *n_r, bool *more_r)
{
	sqlite3 *conn = store_db_acquire(db);
	sqlite3_stmt *st = store_prepare(conn, "SELECT * FROM (SELECT id, "
	    "tenant_id, role, email, " INVITE_STATUS_SQL " AS st, "
	    "coalesce(expires_at, 0), created_at, coalesce(accepted_at, 0), "
	    "created_by FROM invites WHERE tenant_id = ?1) WHERE "
	    "(?3 IS NULL OR st = ?3) AND (?4 IS NULL OR created_at < ?5 OR "
	    "(created_at = ?5 AND id < ?4)) ORDER BY created_at DESC, id DESC "
	    "LIMIT ?6");
	struct invite_row *rows = xcalloc((size_t)limit + 1, sizeof(*rows));
	int n = 0, rc = STORE_ERR_SQL;

	if (st) {
		store_bind_text(st, 1, tenant_id);
		sqlite3_bind_int64(st, 2, time_now_ms());
		store_bind_text(st, 3, status);
		store_bind_text(st, 4, cursor_id);
		sqlite3_bind_int64(st, 5, cursor_ms);
		sqlite3_bind_int(st, 6, limit + 1);
		while (sqlite3_step(st) == SQLITE_ROW && n <= limit)
			read_row(st, &rows[n++]);
		rc = STORE_OK;
	}
	store_finish(st);
	store_db_release(db, &conn);
	*more_r = n > limit;
	if (*more_r) {
		invite_rows_free(&rows[limit], 1);
		n = limit;
	}
	*rows_r = rows;
	*n_r = n;
	return rc;
}

void
invite_rows_free(struct invite_row *rows, int n)
{
	for (int i = 0; i < n; i++)
		xfree(&rows[i].email);
}

struct accept_job {
	const char			*digest;
	struct new_user			*u;
	int64_t				 now;
	const struct store_audit	*audit;
};

static int
accept_fn(sqlite3 *conn, void *arg)
{
	struct accept_job *j = arg;
	sqlite3_stmt *st = store_prepare(conn, "SELECT id, tenant_id, role, "
	    "email, status, coalesce(expires_at, 0) FROM invites WHERE digest = ?");
	char id[64], tenant[64], role[16], status[16];
	char *email = NULL;
	int64_t expires;
	int rc;

	if (!st)
		return STORE_ERR_SQL;
	store_bind_text(st, 1, j->digest);
	if (sqlite3_step(st) != SQLITE_ROW) {
		store_finish(st);
		return STORE_ERR_NOT_FOUND;
	}
	store__copy_col(st, 0, id, sizeof(id));
	store__copy_col(st, 1, tenant, sizeof(tenant));
	store__copy_col(st, 2, role, sizeof(role));
	email = store_col_text(st, 3);
	store__copy_col(st, 4, status, sizeof(status));
	expires = sqlite3_column_int64(st, 5);
	store_finish(st);
	if (strcmp(status, "pending") != 0)
		rc = STORE_ERR_CONFLICT;
	else if ((expires && expires <= j->now) ||
	    (email && strcasecmp(email, j->u->email) != 0))
		rc = STORE_ERR_INVALID;
	else
		rc = STORE_OK;
	free(email);
	if (rc != STORE_OK)
		return rc;
	j->u->tenant_id = tenant;
	j->u->role = role;
	if ((rc = store__create_user_in_tx(conn, j->u, j->audit)) != STORE_OK)
		return rc;
	j->u->tenant_id = NULL;
	j->u->role = NULL;
	st = store_prepare(conn, "UPDATE invites SET status = 'accepted', "
	    "accepted_at = ?, accepted_user_id = ? WHERE id = ?");
	if (!st)
		return STORE_ERR_SQL;
	sqlite3_bind_int64(st, 1, j->now);
	store_bind_text(st, 2, j->u->user_id_r);
	store_bind_text(st, 3, id);
	rc = store_step_done(st);
	store_finish(st);
	return rc;
}

int
store_invites_accept(struct store_db *db, const char *digest,
    struct new_user *u, int64_t now, const struct store_audit *audit)
{
	struct accept_job j = { digest, u, now, audit };

	return store_db_write(db, accept_fn, &j);
}

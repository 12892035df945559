/*
 * store_tokens.c - agent token rows: create, look up by digest, list,
 * status changes and rotation. Raw token values never reach this file.
 */
#include <stdlib.h>
#include <string.h>

#include "gent/store_tokens.h"
#include "gent/timefmt.h"
#include "gent/util.h"
#include "store_int.h"

#define TOKEN_COLUMNS "id, tenant_id, inbox_id, label, scopes, " \
	"requires_approval, status, created_by, created_at, updated_at, " \
	"coalesce(expires_at, 0), coalesce(rotated_at, 0), coalesce(revoked_at, 0), " \
	"(SELECT status FROM inboxes WHERE inboxes.id = tokens.inbox_id), failed_auths"

static void
read_row(sqlite3_stmt *st, struct token_row *t)
{
	memset(t, 0, sizeof(*t));
	store__copy_col(st, 0, t->id, sizeof(t->id));
	store__copy_col(st, 1, t->tenant_id, sizeof(t->tenant_id));
	store__copy_col(st, 2, t->inbox_id, sizeof(t->inbox_id));
	t->label = store_col_text(st, 3);
	t->scopes_json = store_col_text(st, 4);
	t->requires_approval_json = store_col_text(st, 5);
	store__copy_col(st, 6, t->status, sizeof(t->status));
	store__copy_col(st, 7, t->created_by, sizeof(t->created_by));
	t->created_at = sqlite3_column_int64(st, 8);
	t->updated_at = sqlite3_column_int64(st, 9);
	t->expires_at = sqlite3_column_int64(st, 10);
	t->rotated_at = sqlite3_column_int64(st, 11);
	t->revoked_at = sqlite3_column_int64(st, 12);
	store__copy_col(st, 13, t->inbox_status, sizeof(t->inbox_status));
	t->failed_auths = sqlite3_column_int64(st, 14);
}

void
token_row_free(struct token_row *t)
{
	xfree(&t->label);
	xfree(&t->scopes_json);
	xfree(&t->requires_approval_json);
}

void
token_rows_free(struct token_row *rows, int n)
{
	for (int i = 0; i < n; i++)
		token_row_free(&rows[i]);
	free(rows);
}

struct create_job {
	const struct token_row		*t;
	const char			*digest;
	const struct store_audit	*audit;
};

static int
create_fn(sqlite3 *conn, void *arg)
{
	struct create_job *j = arg;
	const struct token_row *t = j->t;
	sqlite3_stmt *st = store_prepare(conn, "INSERT INTO tokens (id, tenant_id, "
	    "inbox_id, digest, label, scopes, requires_approval, status, "
	    "created_by, created_at, updated_at, expires_at) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?, 'active', ?, ?, ?, ?)");
	int rc;

	if (!st)
		return STORE_ERR_SQL;
	store_bind_text(st, 1, t->id);
	store_bind_text(st, 2, t->tenant_id);
	store_bind_text(st, 3, t->inbox_id);
	store_bind_text(st, 4, j->digest);
	store_bind_text(st, 5, t->label);
	store_bind_text(st, 6, t->scopes_json);
	store_bind_text(st, 7, t->requires_approval_json);
	store_bind_text(st, 8, t->created_by);
	sqlite3_bind_int64(st, 9, t->created_at);
	sqlite3_bind_int64(st, 10, t->created_at);
	if (t->expires_at > 0)
		sqlite3_bind_int64(st, 11, t->expires_at);
	else
		sqlite3_bind_null(st, 11);
	rc = store_step_done(st);
	store_finish(st);
	return rc == STORE_OK ? store_audit_append(conn, j->audit) : rc;
}

int
store_tokens_create(struct store_db *db, const struct token_row *t,
    const char *digest, const struct store_audit *audit)
{
	struct create_job j = { t, digest, audit };

	return store_db_write(db, create_fn, &j);
}

/* Run a one-row SELECT of TOKEN_COLUMNS with up to three text binds. */
static int
select_one(struct store_db *db, const char *where, const char *a,
    const char *b, const char *c, struct token_row *out)
{
	sqlite3 *conn = store_db_acquire(db);
	char *sql = xasprintf("SELECT " TOKEN_COLUMNS " FROM tokens WHERE %s", where);
	sqlite3_stmt *st = store_prepare(conn, sql);
	int rc = STORE_ERR_SQL;

	memset(out, 0, sizeof(*out));
	if (st) {
		store_bind_text(st, 1, a);
		if (b)
			store_bind_text(st, 2, b);
		if (c)
			store_bind_text(st, 3, c);
		rc = STORE_ERR_NOT_FOUND;
		if (sqlite3_step(st) == SQLITE_ROW) {
			read_row(st, out);
			rc = STORE_OK;
		}
	}
	store_finish(st);
	free(sql);
	store_db_release(db, &conn);
	return rc;
}

int
store_tokens_by_digest(struct store_db *db, const char *digest,
    struct token_row *out)
{
	/* inbox_status comes along: a closing inbox's tokens stop working. */
	return select_one(db, "digest = ?1", digest, NULL, NULL, out);
}

int
store_tokens_get(struct store_db *db, const char *tenant_id,
    const char *inbox_id, const char *id, struct token_row *out)
{
	return select_one(db, "tenant_id = ?1 AND inbox_id = ?2 AND id = ?3",
	    tenant_id, inbox_id, id, out);
}

int
store_tokens_list(struct store_db *db, const char *tenant_id,
    const char *inbox_id, int limit, int64_t cursor_ms, const char *cursor_id,
    struct token_row **rows_r, int *n_r, bool *more_r)
{
	sqlite3 *conn = store_db_acquire(db);
	sqlite3_stmt *st = store_prepare(conn, "SELECT " TOKEN_COLUMNS " FROM tokens "
	    "WHERE tenant_id = ?1 AND inbox_id = ?2 AND (?3 IS NULL OR "
	    "created_at < ?4 OR (created_at = ?4 AND id < ?3)) "
	    "ORDER BY created_at DESC, id DESC LIMIT ?5");
	struct token_row *rows = xcalloc((size_t)limit + 1, sizeof(*rows));
	int n = 0, rc = STORE_ERR_SQL;

	if (st) {
		store_bind_text(st, 1, tenant_id);
		store_bind_text(st, 2, inbox_id);
		store_bind_text(st, 3, cursor_id);
		sqlite3_bind_int64(st, 4, cursor_ms);
		sqlite3_bind_int(st, 5, limit + 1);
		while (n <= limit && sqlite3_step(st) == SQLITE_ROW)
			read_row(st, &rows[n++]);
		rc = STORE_OK;
	}
	store_finish(st);
	store_db_release(db, &conn);
	*more_r = n > limit;
	if (*more_r)
		token_row_free(&rows[--n]);
	*rows_r = rows;
	*n_r = n;
	return rc;
}

struct update_job {
	const char			*tenant_id, *inbox_id, *id;
	const char			*status;	/* for set_status */
	const char			*digest;	/* for rotate */
	const struct store_audit	*audit;
};

static int
current_status(sqlite3 *conn, const struct update_job *j, char status[16])
{
	sqlite3_stmt *st = store_prepare(conn, "SELECT status FROM tokens WHERE "
	    "tenant_id = ? AND inbox_id = ? AND id = ?");
	int rc = STORE_ERR_NOT_FOUND;

	if (!st)
		return STORE_ERR_SQL;
	store_bind_text(st, 1, j->tenant_id);
	store_bind_text(st, 2, j->inbox_id);
	store_bind_text(st, 3, j->id);
	if (sqlite3_step(st) == SQLITE_ROW) {
		store__copy_col(st, 0, status, 16);
		rc = STORE_OK;
	}
	store_finish(st);
	return rc;
}

static bool
transition_allowed(const char *from, const char *to)
{
	if (strcmp(from, "revoked") == 0)
		return false;
	if (strcmp(to, "paused") == 0)
		return strcmp(from, "active") == 0;
	if (strcmp(to, "active") == 0)
		return strcmp(from, "paused") == 0;
	return strcmp(to, "revoked") == 0;
}

static int
set_status_fn(sqlite3 *conn, void *arg)
{
	struct update_job *j = arg;
	char from[16];
	int rc = current_status(conn, j, from);
	sqlite3_stmt *st;

	if (rc != STORE_OK)
		return rc;
	if (!transition_allowed(from, j->status))
		return STORE_ERR_INVALID;
	st = store_prepare(conn, "UPDATE tokens SET status = ?1, updated_at = ?2, "
	    "revoked_at = CASE WHEN ?1 = 'revoked' THEN ?2 ELSE revoked_at END "
	    "WHERE id = ?3");
	if (!st)
		return STORE_ERR_SQL;
	store_bind_text(st, 1, j->status);
	sqlite3_bind_int64(st, 2, time_now_ms());
	store_bind_text(st, 3, j->id);
	rc = store_step_done(st);
	store_finish(st);
	return rc == STORE_OK ? store_audit_append(conn, j->audit) : rc;
}

int
store_tokens_set_status(struct store_db *db, const char *tenant_id,
    const char *inbox_id, const char *id, const char *status,
    const struct store_audit *audit)
{
	struct update_job j = { tenant_id, inbox_id, id, status, NULL, audit };

	return store_db_write(db, set_status_fn, &j);
}

static int
rotate_fn(sqlite3 *conn, void *arg)
{
	struct update_job *j = arg;
	char from[16];
	int rc = current_status(conn, j, from);
	sqlite3_stmt *st;

	if (rc != STORE_OK)
		return rc;
	if (strcmp(from, "revoked") == 0)
		return STORE_ERR_INVALID;
	st = store_prepare(conn, "UPDATE tokens SET digest = ?1, rotated_at = ?2, "
	    "updated_at = ?2 WHERE id = ?3");
	if (!st)
		return STORE_ERR_SQL;
	store_bind_text(st, 1, j->digest);
	sqlite3_bind_int64(st, 2, time_now_ms());
	store_bind_text(st, 3, j->id);
	rc = store_step_done(st);
	store_finish(st);
	return rc == STORE_OK ? store_audit_append(conn, j->audit) : rc;
}

int
store_tokens_rotate(struct store_db *db, const char *tenant_id,
    const char *inbox_id, const char *id, const char *digest,
    const struct store_audit *audit)
{
	struct update_job j = { tenant_id, inbox_id, id, NULL, digest, audit };

	return store_db_write(db, rotate_fn, &j);
}

struct auth_count_job {
	const char	*id;
	bool		 failed;
	int64_t		 count;
};

static int
auth_count_fn(sqlite3 *conn, void *arg)
{
	struct auth_count_job *j = arg;
	sqlite3_stmt *st = store_prepare(conn, j->failed ?
	    "UPDATE tokens SET failed_auths = failed_auths + 1 WHERE id = ? "
	    "RETURNING failed_auths" :
	    "UPDATE tokens SET failed_auths = 0 WHERE id = ? RETURNING 0");
	int rc = STORE_ERR_SQL, step;

	if (!st)
		return rc;
	store_bind_text(st, 1, j->id);
	if ((step = sqlite3_step(st)) == SQLITE_ROW) {
		j->count = sqlite3_column_int64(st, 0);
		step = sqlite3_step(st);
	}
	rc = step == SQLITE_DONE ? STORE_OK : STORE_ERR_SQL;
	store_finish(st);
	return rc;
}

int
store_tokens_auth_counted(struct store_db *db, const char *id, bool failed,
    int64_t *count_r)
{
	struct auth_count_job j = { id, failed, 0 };
	int rc = store_db_write(db, auth_count_fn, &j);

	if (count_r)
		*count_r = j.count;
	return rc;
}

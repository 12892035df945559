/*
 * store_approvals.c - approval rows (see store_approvals.h).
 */
#include <stdlib.h>
#include <string.h>

#include "gent/store_approvals.h"
#include "gent/timefmt.h"
#include "gent/util.h"
#include "store_int.h"

#define APPROVAL_COLUMNS "id, inbox_id, token_id, action, request, summary, " \
	"status, result, decided_by, reason, created_at, decided_at"

static void
read_approval(sqlite3_stmt *st, void *row)
{
	struct approval_row *a = row;

	memset(a, 0, sizeof(*a));
	store__copy_col(st, 0, a->id, sizeof(a->id));
	store__copy_col(st, 1, a->inbox_id, sizeof(a->inbox_id));
	store__copy_col(st, 2, a->token_id, sizeof(a->token_id));
	store__copy_col(st, 3, a->action, sizeof(a->action));
	a->request = store_col_text(st, 4);
	a->summary = store_col_text(st, 5);
	store__copy_col(st, 6, a->status, sizeof(a->status));
	a->result = store_col_text(st, 7);
	a->decided_by = store_col_text(st, 8);
	a->reason = store_col_text(st, 9);
	a->created_at = sqlite3_column_int64(st, 10);
	a->decided_at = sqlite3_column_int64(st, 11);
}

void
approval_row_free(struct approval_row *a)
{
	xfree(&a->request);
	xfree(&a->summary);
	xfree(&a->result);
	xfree(&a->decided_by);
	xfree(&a->reason);
}

void
approval_rows_free(struct approval_row *rows, int n)
{
	for (int i = 0; i < n; i++)
		approval_row_free(&rows[i]);
	free(rows);
}

struct approval_job {
	const struct approval_row	*a;
	const char			*id, *status, *by, *reason, *result;
	const struct store_audit	*audit;
};

static int
create_fn(sqlite3 *conn, void *arg)
{
	struct approval_job *j = arg;
	sqlite3_stmt *st = store_prepare(conn, "INSERT INTO approvals (id, inbox_id, "
	    "token_id, action, request, summary, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)");
	int rc;

	if (!st)
		return STORE_ERR_SQL;
	store_bind_text(st, 1, j->a->id);
	store_bind_text(st, 2, j->a->inbox_id);
	store_bind_text(st, 3, j->a->token_id);
	store_bind_text(st, 4, j->a->action);
	store_bind_text(st, 5, j->a->request);
	store_bind_text(st, 6, j->a->summary ? j->a->summary : "{}");
	sqlite3_bind_int64(st, 7, j->a->created_at);
	rc = store_step_done(st);
	store_finish(st);
	return rc == STORE_OK ? store_audit_append(conn, j->audit) : rc;
}

int
store_approvals_create(struct store_db *db, const struct approval_row *a,
    const struct store_audit *audit)
{
	struct approval_job j = { .a = a, .audit = audit };

	return store_db_write(db, create_fn, &j);
}

int
store_approvals_get(struct store_db *db, const char *id, struct approval_row *out)
{
	sqlite3 *conn = store_db_acquire(db);
	sqlite3_stmt *st = store_prepare(conn, "SELECT " APPROVAL_COLUMNS " FROM "
	    "approvals WHERE id = ?");
	int rc = STORE_ERR_SQL;

	memset(out, 0, sizeof(*out));
	if (st) {
		store_bind_text(st, 1, id);
		rc = sqlite3_step(st) == SQLITE_ROW ? STORE_OK : STORE_ERR_NOT_FOUND;
		if (rc == STORE_OK)
			read_approval(st, out);
	}
	store_finish(st);
	store_db_release(db, &conn);
	return rc;
}

static void
free_approval(void *row)
{
	approval_row_free(row);
}

int
store_approvals_list(struct store_db *db, const char *status, int limit,
    int64_t cursor_ms, const char *cursor_id, struct approval_row **rows_r,
    int *n_r, bool *more_r)
{
	struct store_page_query q = { "SELECT " APPROVAL_COLUMNS " FROM approvals "
	    "WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR created_at < ?3 OR "
	    "(created_at = ?3 AND id < ?2)) ORDER BY created_at DESC, id DESC LIMIT ?4",
	    status, limit, cursor_ms, cursor_id, sizeof(**rows_r), read_approval,
	    free_approval };

	return store__select_page(db, &q, (void **)rows_r, n_r, more_r);
}

static int
decide_fn(sqlite3 *conn, void *arg)
{
	struct approval_job *j = arg;
	sqlite3_stmt *st = store_prepare(conn, "UPDATE approvals SET status = ?, "
	    "decided_by = ?, reason = ?, decided_at = ? WHERE id = ? AND status = 'pending'");
	int rc;

	if (!st)
		return STORE_ERR_SQL;
	store_bind_text(st, 1, j->status);
	store_bind_text(st, 2, j->by);
	store_bind_text(st, 3, j->reason);
	sqlite3_bind_int64(st, 4, time_now_ms());
	store_bind_text(st, 5, j->id);
	rc = store_step_done(st);
	if (rc == STORE_OK && sqlite3_changes(conn) == 0)
		rc = STORE_ERR_CONFLICT;
	store_finish(st);
	return rc == STORE_OK ? store_audit_append(conn, j->audit) : rc;
}

int
store_approvals_decide(struct store_db *db, const char *id, const char *status,
    const char *decided_by, const char *reason, const struct store_audit *audit)
{
	struct approval_job j = { .id = id, .status = status, .by = decided_by,
	    .reason = reason, .audit = audit };

	return store_db_write(db, decide_fn, &j);
}

static int
result_fn(sqlite3 *conn, void *arg)
{
	struct approval_job *j = arg;
	sqlite3_stmt *st = store_prepare(conn, "UPDATE approvals SET result = ? "
	    "WHERE id = ?");
	int rc;

	if (!st)
		return STORE_ERR_SQL;
	store_bind_text(st, 1, j->result);
	store_bind_text(st, 2, j->id);
	rc = store_step_done(st);
	store_finish(st);
	return rc;
}

int
store_approvals_set_result(struct store_db *db, const char *id, const char *result)
{
	struct approval_job j = { .id = id, .result = result };

	return store_db_write(db, result_fn, &j);
}

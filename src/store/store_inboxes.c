/*
 * store_inboxes.c - inbox rows in control.db (the address routing table).
 */
#include <stdlib.h>
#include <string.h>

#include "gent/store_tokens.h"
#include "gent/util.h"
#include "store_int.h"

struct create_job {
	struct inbox_row		*row;
	const struct store_audit	*audit;
};

static int
create_fn(sqlite3 *conn, void *arg)
{
	struct create_job *j = arg;
	struct inbox_row *r = j->row;
	sqlite3_stmt *st = store_prepare(conn, "INSERT INTO inboxes (id, tenant_id, "
	    "address, display_name, status, created_at, updated_at) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?)");
	int rc;

	if (!st)
		return STORE_ERR_SQL;
	store_bind_text(st, 1, r->id);
	store_bind_text(st, 2, r->tenant_id);
	store_bind_text(st, 3, r->address);
	store_bind_text(st, 4, r->display_name);
	store_bind_text(st, 5, r->status);
	sqlite3_bind_int64(st, 6, r->created_at);
	sqlite3_bind_int64(st, 7, r->updated_at);
	rc = store_step_done(st);
	sqlite3_finalize(st);
	return rc == STORE_OK ? store_audit_append(conn, j->audit) : rc;
}

int
store_inboxes_create(struct store_db *db, struct inbox_row *row,
    const struct store_audit *audit)
{
	struct create_job j = { row, audit };

	return store_db_write(db, create_fn, &j);
}

int
store_inboxes_get(struct store_db *db, const char *tenant_id, const char *id,
    struct inbox_row *out)
{
	sqlite3 *conn = store_db_acquire(db);
	sqlite3_stmt *st = store_prepare(conn, "SELECT id, tenant_id, address, "
	    "display_name, status, created_at, updated_at FROM inboxes "
	    "WHERE id = ? AND tenant_id = ?");
	int rc = STORE_ERR_SQL;

	memset(out, 0, sizeof(*out));
	if (st) {
		store_bind_text(st, 1, id);
		store_bind_text(st, 2, tenant_id);
		rc = STORE_ERR_NOT_FOUND;
		if (sqlite3_step(st) == SQLITE_ROW) {
			store__copy_col(st, 0, out->id, sizeof(out->id));
			store__copy_col(st, 1, out->tenant_id, sizeof(out->tenant_id));
			store__copy_col(st, 2, out->address, sizeof(out->address));
			out->display_name = store_col_text(st, 3);
			store__copy_col(st, 4, out->status, sizeof(out->status));
			out->created_at = sqlite3_column_int64(st, 5);
			out->updated_at = sqlite3_column_int64(st, 6);
			rc = STORE_OK;
		}
	}
	sqlite3_finalize(st);
	store_db_release(db, &conn);
	return rc;
}

void
inbox_row_free(struct inbox_row *r)
{
	xfree(&r->display_name);
}

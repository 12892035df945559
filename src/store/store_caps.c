/*
 * store_caps.c - cap rows and the mailbox usage sum.
 */
#include <stdio.h>
#include <string.h>

#include "gent/store_caps.h"
#include "gent/util.h"
#include "store_int.h"

int
store_caps_get(struct store_db *db, const char *inbox_id, const char *resource,
    struct cap_row *out)
{
	sqlite3 *conn = store_db_acquire(db);
	sqlite3_stmt *st = store_prepare(conn, "SELECT limit_value, "
	    "coalesce(period, ''), mode, alert_thresholds, updated_at FROM caps "
	    "WHERE inbox_id = ? AND resource = ?");
	int rc = STORE_ERR_SQL;

	memset(out, 0, sizeof(*out));
	if (st) {
		store_bind_text(st, 1, inbox_id);
		store_bind_text(st, 2, resource);
		rc = STORE_ERR_NOT_FOUND;
		if (sqlite3_step(st) == SQLITE_ROW) {
			snprintf(out->inbox_id, sizeof(out->inbox_id), "%s", inbox_id);
			snprintf(out->resource, sizeof(out->resource), "%s", resource);
			out->limit_value = sqlite3_column_int64(st, 0);
			store__copy_col(st, 1, out->period, sizeof(out->period));
			store__copy_col(st, 2, out->mode, sizeof(out->mode));
			out->alert_thresholds = store_col_text(st, 3);
			out->updated_at = sqlite3_column_int64(st, 4);
			rc = STORE_OK;
		}
	}
	store_finish(st);
	store_db_release(db, &conn);
	return rc;
}

void
cap_row_free(struct cap_row *c)
{
	xfree(&c->alert_thresholds);
}

struct cap_job {
	const struct cap_row		*cap;
	const char			*inbox_id, *resource;
	const struct store_audit	*audit;
};

static int
put_fn(sqlite3 *conn, void *arg)
{
	struct cap_job *j = arg;
	const struct cap_row *c = j->cap;
	sqlite3_stmt *st = store_prepare(conn, "INSERT OR REPLACE INTO caps (inbox_id, "
	    "resource, limit_value, period, mode, alert_thresholds, updated_at) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?)");
	int rc;

	if (!st)
		return STORE_ERR_SQL;
	store_bind_text(st, 1, c->inbox_id);
	store_bind_text(st, 2, c->resource);
	sqlite3_bind_int64(st, 3, c->limit_value);
	store_bind_text(st, 4, c->period[0] ? c->period : NULL);
	store_bind_text(st, 5, c->mode);
	store_bind_text(st, 6, c->alert_thresholds ? c->alert_thresholds : "[]");
	sqlite3_bind_int64(st, 7, c->updated_at);
	rc = store_step_done(st);
	store_finish(st);
	return rc == STORE_OK ? store_audit_append(conn, j->audit) : rc;
}

int
store_caps_put(struct store_db *db, const struct cap_row *cap,
    const struct store_audit *audit)
{
	struct cap_job j = { cap, NULL, NULL, audit };

	return store_db_write(db, put_fn, &j);
}

static int
delete_fn(sqlite3 *conn, void *arg)
{
	struct cap_job *j = arg;
	sqlite3_stmt *st = store_prepare(conn, "DELETE FROM caps WHERE inbox_id = ? "
	    "AND resource = ?");
	int rc;

	if (!st)
		return STORE_ERR_SQL;
	store_bind_text(st, 1, j->inbox_id);
	store_bind_text(st, 2, j->resource);
	rc = store_step_done(st);
	if (rc == STORE_OK && sqlite3_changes(conn) == 0)
		rc = STORE_ERR_NOT_FOUND;
	store_finish(st);
	return rc == STORE_OK ? store_audit_append(conn, j->audit) : rc;
}

int
store_caps_delete(struct store_db *db, const char *inbox_id,
    const char *resource, const struct store_audit *audit)
{
	struct cap_job j = { NULL, inbox_id, resource, audit };

	return store_db_write(db, delete_fn, &j);
}

int
store_caps_mailbox_usage(struct store_db *db, const char *inbox_id,
    struct mailbox_usage *out)
{
	sqlite3 *conn = store_db_acquire(db);
	sqlite3_stmt *st = store_prepare(conn, "SELECT "
	    "(SELECT coalesce(sum(size), 0) FROM messages WHERE inbox_id = ?1), "
	    "(SELECT coalesce(sum(a.size), 0) FROM attachments a JOIN messages m "
	    "ON m.id = a.message_id WHERE m.inbox_id = ?1)");
	int rc = STORE_ERR_SQL;

	memset(out, 0, sizeof(*out));
	if (st) {
		store_bind_text(st, 1, inbox_id);
		if (sqlite3_step(st) == SQLITE_ROW) {
			out->messages = sqlite3_column_int64(st, 0);
			out->attachments = sqlite3_column_int64(st, 1);
			rc = STORE_OK;
		}
	}
	store_finish(st);
	store_db_release(db, &conn);
	return rc;
}

/*
 * store_rules.c - sender rules rows in the tenant database.
 */
#include <stdio.h>
#include <string.h>

#include "gent/store_rules.h"
#include "gent/util.h"
#include "store_int.h"

int
store_rules_sender_get(struct store_db *db, const char *inbox_id,
    struct sender_rules_row *out)
{
	sqlite3 *conn = store_db_acquire(db);
	sqlite3_stmt *st = store_prepare(conn, "SELECT inbound_mode, outbound_mode, "
	    "inbound_patterns, outbound_patterns, updated_at FROM sender_rules "
	    "WHERE inbox_id = ?");
	int rc = STORE_ERR_SQL;

	memset(out, 0, sizeof(*out));
	snprintf(out->inbox_id, sizeof(out->inbox_id), "%s", inbox_id);
	snprintf(out->inbound_mode, sizeof(out->inbound_mode), "open");
	snprintf(out->outbound_mode, sizeof(out->outbound_mode), "open");
	if (st) {
		store_bind_text(st, 1, inbox_id);
		if (sqlite3_step(st) == SQLITE_ROW) {
			store__copy_col(st, 0, out->inbound_mode, sizeof(out->inbound_mode));
			store__copy_col(st, 1, out->outbound_mode, sizeof(out->outbound_mode));
			out->inbound_patterns = store_col_text(st, 2);
			out->outbound_patterns = store_col_text(st, 3);
			out->updated_at = sqlite3_column_int64(st, 4);
		}
		rc = STORE_OK;
	}
	if (!out->inbound_patterns)
		out->inbound_patterns = xstrdup("[]");
	if (!out->outbound_patterns)
		out->outbound_patterns = xstrdup("[]");
	store_finish(st);
	store_db_release(db, &conn);
	return rc;
}

void
sender_rules_row_free(struct sender_rules_row *r)
{
	xfree(&r->inbound_patterns);
	xfree(&r->outbound_patterns);
}

struct merge_job {
	struct sender_rules_row		*row;
	const struct store_audit	*audit;
};

/* Fill the fields the caller left unset from the stored row (or defaults). */
static int
fill_from_current(sqlite3 *conn, struct sender_rules_row *r)
{
	sqlite3_stmt *st = store_prepare(conn, "SELECT inbound_mode, outbound_mode, "
	    "inbound_patterns, outbound_patterns FROM sender_rules WHERE inbox_id = ?");
	bool found;

	if (!st)
		return STORE_ERR_SQL;
	store_bind_text(st, 1, r->inbox_id);
	found = sqlite3_step(st) == SQLITE_ROW;
	if (!r->inbound_mode[0])
		snprintf(r->inbound_mode, sizeof(r->inbound_mode), "%s", found ?
		    (const char *)sqlite3_column_text(st, 0) : "open");
	if (!r->outbound_mode[0])
		snprintf(r->outbound_mode, sizeof(r->outbound_mode), "%s", found ?
		    (const char *)sqlite3_column_text(st, 1) : "open");
	if (!r->inbound_patterns)
		r->inbound_patterns = found ? store_col_text(st, 2) : xstrdup("[]");
	if (!r->outbound_patterns)
		r->outbound_patterns = found ? store_col_text(st, 3) : xstrdup("[]");
	store_finish(st);
	return STORE_OK;
}

static int
merge_fn(sqlite3 *conn, void *arg)
{
	struct merge_job *j = arg;
	struct sender_rules_row *r = j->row;
	sqlite3_stmt *st;
	int rc = fill_from_current(conn, r);

	if (rc != STORE_OK)
		return rc;
	st = store_prepare(conn, "INSERT OR REPLACE INTO sender_rules (inbox_id, "
	    "inbound_mode, outbound_mode, inbound_patterns, outbound_patterns, "
	    "updated_at) VALUES (?, ?, ?, ?, ?, ?)");
	if (!st)
		return STORE_ERR_SQL;
	store_bind_text(st, 1, r->inbox_id);
	store_bind_text(st, 2, r->inbound_mode);
	store_bind_text(st, 3, r->outbound_mode);
	store_bind_text(st, 4, r->inbound_patterns);
	store_bind_text(st, 5, r->outbound_patterns);
	sqlite3_bind_int64(st, 6, r->updated_at);
	rc = store_step_done(st);
	store_finish(st);
	return rc == STORE_OK ? store_audit_append(conn, j->audit) : rc;
}

int
store_rules_sender_merge(struct store_db *db, struct sender_rules_row *row,
    const struct store_audit *audit)
{
	struct merge_job j = { row, audit };

	return store_db_write(db, merge_fn, &j);
}

struct delete_job {
	const char			*inbox_id;
	const struct store_audit	*audit;
};

static int
delete_fn(sqlite3 *conn, void *arg)
{
	struct delete_job *j = arg;
	sqlite3_stmt *st = store_prepare(conn, "DELETE FROM sender_rules WHERE inbox_id = ?");
	int rc;

	if (!st)
		return STORE_ERR_SQL;
	store_bind_text(st, 1, j->inbox_id);
	rc = store_step_done(st);
	store_finish(st);
	if (rc == STORE_OK && sqlite3_changes(conn) == 0)
		return STORE_ERR_NOT_FOUND;
	return rc == STORE_OK ? store_audit_append(conn, j->audit) : rc;
}

int
store_rules_sender_delete(struct store_db *db, const char *inbox_id,
    const struct store_audit *audit)
{
	struct delete_job j = { inbox_id, audit };

	return store_db_write(db, delete_fn, &j);
}

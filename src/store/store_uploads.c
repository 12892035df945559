/*
 * store_uploads.c - upload rows (see store_uploads.h).
 */
#include <stdlib.h>
#include <string.h>

#include "gent/store_uploads.h"
#include "gent/util.h"
#include "store_int.h"

void
upload_row_free(struct upload_row *u)
{
	xfree(&u->filename);
	xfree(&u->content_type);
	xfree(&u->data);
}

static int
create_fn(sqlite3 *conn, void *arg)
{
	const struct { const struct upload_row *u; const struct store_audit *a; } *j = arg;
	sqlite3_stmt *st = store_prepare(conn, "INSERT INTO uploads (id, inbox_id, "
	    "filename, content_type, size, data, created_at, expires_at) VALUES "
	    "(?, ?, ?, ?, ?, ?, ?, ?)");
	int rc;

	if (!st)
		return STORE_ERR_SQL;
	store_bind_text(st, 1, j->u->id);
	store_bind_text(st, 2, j->u->inbox_id);
	store_bind_text(st, 3, j->u->filename);
	store_bind_text(st, 4, j->u->content_type);
	sqlite3_bind_int64(st, 5, (int64_t)j->u->size);
	sqlite3_bind_blob64(st, 6, j->u->data ? j->u->data : "", j->u->size, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, j->u->created_at);
	sqlite3_bind_int64(st, 8, j->u->expires_at);
	rc = store_step_done(st);
	store_finish(st);
	return rc == STORE_OK ? store_audit_append(conn, j->a) : rc;
}

int
store_uploads_create(struct store_db *db, const struct upload_row *u,
    const struct store_audit *audit)
{
	struct { const struct upload_row *u; const struct store_audit *a; } j = { u, audit };

	return store_db_write(db, create_fn, &j);
}

int
store_uploads_get(struct store_db *db, const char *id, const char *inbox_id,
    int64_t now, struct upload_row *out)
{
	sqlite3 *conn = store_db_acquire(db);
	sqlite3_stmt *st = store_prepare(conn, "SELECT id, inbox_id, filename, "
	    "content_type, size, data, created_at, expires_at FROM uploads WHERE id = ? "
	    "AND inbox_id = ? AND expires_at > ?");
	int rc = STORE_ERR_SQL;

	memset(out, 0, sizeof(*out));
	if (st) {
		store_bind_text(st, 1, id);
		store_bind_text(st, 2, inbox_id);
		sqlite3_bind_int64(st, 3, now);
		rc = sqlite3_step(st) == SQLITE_ROW ? STORE_OK : STORE_ERR_NOT_FOUND;
		if (rc == STORE_OK) {
			store__copy_col(st, 0, out->id, sizeof(out->id));
			store__copy_col(st, 1, out->inbox_id, sizeof(out->inbox_id));
			out->filename = store_col_text(st, 2);
			out->content_type = store_col_text(st, 3);
			out->size = (size_t)sqlite3_column_int64(st, 4);
			out->data = xmalloc(out->size + 1);
			if (out->size)
				memcpy(out->data, sqlite3_column_blob(st, 5), out->size);
			out->created_at = sqlite3_column_int64(st, 6);
			out->expires_at = sqlite3_column_int64(st, 7);
		}
	}
	store_finish(st);
	store_db_release(db, &conn);
	return rc;
}

int
store_uploads_prune(struct store_db *db, int64_t now)
{
	return store__exec_int(db, "DELETE FROM uploads WHERE expires_at <= ?1", now,
	    NULL);
}

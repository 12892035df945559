/*
 * store_secrets.c - server keys kept in control.db, made on first use.
 */
#include <string.h>

#include "gent/ids.h"
#include "gent/timefmt.h"
#include "store_int.h"

struct secret_job {
	const char	*name;
	unsigned char	*out;
	size_t		 len;
};

static int
secret_fn(sqlite3 *conn, void *arg)
{
	struct secret_job *j = arg;
	unsigned char fresh[64];
	sqlite3_stmt *st;
	int rc = STORE_ERR_SQL;

	ids_random_bytes(fresh, j->len);
	st = store_prepare(conn, "INSERT OR IGNORE INTO secrets (name, value, "
	    "created_at) VALUES (?, ?, ?)");
	if (!st)
		return STORE_ERR_SQL;
	store_bind_text(st, 1, j->name);
	sqlite3_bind_blob(st, 2, fresh, (int)j->len, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 3, time_now_ms());
	rc = store_step_done(st);
	store_finish(st);
	if (rc != STORE_OK)
		return rc;
	st = store_prepare(conn, "SELECT value FROM secrets WHERE name = ?");
	if (!st)
		return STORE_ERR_SQL;
	store_bind_text(st, 1, j->name);
	rc = STORE_ERR_SQL;
	if (sqlite3_step(st) == SQLITE_ROW &&
	    (size_t)sqlite3_column_bytes(st, 0) == j->len) {
		memcpy(j->out, sqlite3_column_blob(st, 0), j->len);
		rc = STORE_OK;
	}
	store_finish(st);
	return rc;
}

int
store_secret(struct store_db *db, const char *name, unsigned char *out,
    size_t len)
{
	struct secret_job j = { name, out, len };

	if (len > 64)
		return STORE_ERR_INVALID;
	return store_db_write(db, secret_fn, &j);
}

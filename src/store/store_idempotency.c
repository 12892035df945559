/*
 * store_idempotency.c - idempotency key rows (see store_idempotency.h).
 */
#include <stdlib.h>
#include <string.h>

#include "gent/store_idempotency.h"
#include "gent/util.h"
#include "store_int.h"

void
idem_row_free(struct idem_row *r)
{
	xfree(&r->response);
}

struct begin_job {
	const char	*principal, *key, *hash;
	int64_t		 now;
	struct idem_row	*existing;
};

static int
read_existing(sqlite3 *conn, struct begin_job *j)
{
	sqlite3_stmt *st = store_prepare(conn, "SELECT request_hash, status, response, "
	    "created_at FROM idempotency_keys WHERE principal = ? AND key = ?");
	struct idem_row *e = j->existing;
	int rc = STORE_ERR_SQL;

	if (!st)
		return rc;
	store_bind_text(st, 1, j->principal);
	store_bind_text(st, 2, j->key);
	if (sqlite3_step(st) == SQLITE_ROW) {
		store__copy_col(st, 0, e->request_hash, sizeof(e->request_hash));
		e->status = sqlite3_column_int(st, 1);
		e->response_len = (size_t)sqlite3_column_bytes(st, 2);
		e->response = xmalloc(e->response_len + 1);
		if (e->response_len)
			memcpy(e->response, sqlite3_column_blob(st, 2), e->response_len);
		e->response[e->response_len] = '\0';
		e->created_at = sqlite3_column_int64(st, 3);
		rc = STORE_OK;
	}
	store_finish(st);
	return rc;
}

static int
begin_fn(sqlite3 *conn, void *arg)
{
	struct begin_job *j = arg;
	sqlite3_stmt *st;
	int rc;

	memset(j->existing, 0, sizeof(*j->existing));
	if (read_existing(conn, j) == STORE_OK) {
		bool stale = j->existing->status == 0 &&
		    j->existing->created_at < j->now - IDEM_STALE_MS;
		if (!stale)
			return STORE_ERR_CONFLICT;
		idem_row_free(j->existing);
		memset(j->existing, 0, sizeof(*j->existing));
	}
	st = store_prepare(conn, "INSERT OR REPLACE INTO idempotency_keys (principal, "
	    "key, request_hash, status, response, created_at) VALUES (?, ?, ?, NULL, "
	    "NULL, ?)");
	if (!st)
		return STORE_ERR_SQL;
	store_bind_text(st, 1, j->principal);
	store_bind_text(st, 2, j->key);
	store_bind_text(st, 3, j->hash);
	sqlite3_bind_int64(st, 4, j->now);
	rc = store_step_done(st);
	store_finish(st);
	return rc;
}

int
store_idem_begin(struct store_db *db, const char *principal, const char *key,
    const char *request_hash, int64_t now, struct idem_row *existing)
{
	struct begin_job j = { principal, key, request_hash, now, existing };

	return store_db_write(db, begin_fn, &j);
}

struct finish_job {
	const char	*principal, *key, *body;
	int		 status;
	size_t		 len;
	bool		 abandon;
};

static int
finish_fn(sqlite3 *conn, void *arg)
{
	struct finish_job *j = arg;
	sqlite3_stmt *st = store_prepare(conn, j->abandon ?
	    "DELETE FROM idempotency_keys WHERE principal = ?1 AND key = ?2" :
	    "UPDATE idempotency_keys SET status = ?3, response = ?4 WHERE "
	    "principal = ?1 AND key = ?2");
	int rc;

	if (!st)
		return STORE_ERR_SQL;
	store_bind_text(st, 1, j->principal);
	store_bind_text(st, 2, j->key);
	if (!j->abandon) {
		sqlite3_bind_int(st, 3, j->status);
		sqlite3_bind_blob64(st, 4, j->body ? j->body : "", j->len, SQLITE_STATIC);
	}
	rc = store_step_done(st);
	store_finish(st);
	return rc;
}

int
store_idem_finish(struct store_db *db, const char *principal, const char *key,
    int status, const char *body, size_t len)
{
	struct finish_job j = { principal, key, body, status, len, false };

	return store_db_write(db, finish_fn, &j);
}

int
store_idem_abandon(struct store_db *db, const char *principal, const char *key)
{
	struct finish_job j = { principal, key, NULL, 0, 0, true };

	return store_db_write(db, finish_fn, &j);
}

static int
prune_fn(sqlite3 *conn, void *arg)
{
	sqlite3_stmt *st = store_prepare(conn, "DELETE FROM idempotency_keys WHERE "
	    "created_at < ?");
	int rc;

	if (!st)
		return STORE_ERR_SQL;
	sqlite3_bind_int64(st, 1, *(int64_t *)arg);
	rc = store_step_done(st);
	store_finish(st);
	return rc;
}

int
store_idem_prune(struct store_db *db, int64_t cutoff)
{
	return store_db_write(db, prune_fn, &cutoff);
}

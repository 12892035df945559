/*
 * store_delivery_log.c - webhook deliveries as the API shows them: list,
 * get with every attempt, replay, and test deliveries.
 */
#include <stdlib.h>
#include <string.h>

#include "gent/store_deliveries.h"
#include "gent/timefmt.h"
#include "gent/util.h"
#include "store_int.h"

void
delivery_attempt_rows_free(struct delivery_attempt_row *rows, int n)
{
	for (int i = 0; i < n; i++) {
		free(rows[i].error);
		free(rows[i].connected_ip);
	}
	free(rows);
}

int
store_deliveries_list(struct store_db *db, const struct delivery_filter *f,
    int limit, int64_t cursor_ms, const char *cursor_id,
    struct delivery_row **rows_r, int *n_r)
{
	sqlite3 *conn = store_db_acquire(db);
	sqlite3_stmt *st = store_prepare(conn, "SELECT " DELIVERY_COLUMNS " FROM "
	    "webhook_deliveries WHERE (?1 IS NULL OR inbox_id = ?1) AND (?2 IS NULL "
	    "OR alert_id = ?2) AND (?3 IS NULL OR status = ?3) AND (?4 IS NULL OR "
	    "event_id = ?4) AND (?6 IS NULL OR created_at < ?5 OR (created_at = ?5 "
	    "AND id < ?6)) ORDER BY created_at DESC, id DESC LIMIT ?7");
	struct delivery_row *rows = xcalloc((size_t)limit + 1, sizeof(*rows));
	int n = 0, rc = STORE_ERR_SQL;

	if (st) {
		store_bind_text(st, 1, f->inbox_id);
		store_bind_text(st, 2, f->alert_id);
		store_bind_text(st, 3, f->status);
		store_bind_text(st, 4, f->event_id);
		sqlite3_bind_int64(st, 5, cursor_ms);
		store_bind_text(st, 6, cursor_id);
		sqlite3_bind_int(st, 7, limit);
		while (n < limit && sqlite3_step(st) == SQLITE_ROW)
			store__delivery_read(st, &rows[n++]);
		rc = STORE_OK;
	}
	store_finish(st);
	store_db_release(db, &conn);
	*rows_r = rows;
	*n_r = n;
	return rc;
}

static void
read_attempts(sqlite3 *conn, const char *id, struct delivery_attempt_row **rows_r,
    int *n_r)
{
	sqlite3_stmt *st = store_prepare(conn, "SELECT n, at, result, http_code, "
	    "error, connected_ip, elapsed_ms FROM webhook_attempts WHERE "
	    "delivery_id = ? ORDER BY n");
	struct delivery_attempt_row *rows = NULL;
	int n = 0;

	if (st) {
		store_bind_text(st, 1, id);
		while (sqlite3_step(st) == SQLITE_ROW) {
			rows = xrealloc(rows, (size_t)(n + 1) * sizeof(*rows));
			struct delivery_attempt_row *a = &rows[n++];
			memset(a, 0, sizeof(*a));
			a->n = sqlite3_column_int64(st, 0);
			a->at = sqlite3_column_int64(st, 1);
			store__copy_col(st, 2, a->result, sizeof(a->result));
			a->http_code = sqlite3_column_int64(st, 3);
			a->error = store_col_text(st, 4);
			a->connected_ip = store_col_text(st, 5);
			a->elapsed_ms = sqlite3_column_int64(st, 6);
		}
	}
	store_finish(st);
	*rows_r = rows;
	*n_r = n;
}

int
store_deliveries_get(struct store_db *db, const char *id,
    struct delivery_row *out, struct delivery_attempt_row **attempts_r, int *n_r)
{
	sqlite3 *conn = store_db_acquire(db);
	sqlite3_stmt *st = store_prepare(conn, "SELECT " DELIVERY_COLUMNS " FROM "
	    "webhook_deliveries WHERE id = ?");
	int rc = STORE_ERR_SQL;

	memset(out, 0, sizeof(*out));
	*attempts_r = NULL;
	*n_r = 0;
	if (st) {
		store_bind_text(st, 1, id);
		rc = STORE_ERR_NOT_FOUND;
		if (sqlite3_step(st) == SQLITE_ROW) {
			store__delivery_read(st, out);
			rc = STORE_OK;
		}
	}
	store_finish(st);
	if (rc == STORE_OK && attempts_r)
		read_attempts(conn, id, attempts_r, n_r);
	store_db_release(db, &conn);
	return rc;
}

/* --- replay --- */

struct replay_job {
	const char			*id;
	const struct delivery_filter	*f;
	const struct store_audit	*audit;
	int				 n;
};

static const char REPLAY_SET[] = "UPDATE webhook_deliveries SET status = "
	"'pending', attempt_limit = attempts + round_attempts, next_attempt_at = ?1, "
	"updated_at = ?1 ";

static int
replay_one_fn(sqlite3 *conn, void *arg)
{
	struct replay_job *j = arg;
	sqlite3_stmt *st = store_prepare(conn, "SELECT status FROM webhook_deliveries "
	    "WHERE id = ?");
	char status[16] = "";
	int rc;

	if (!st)
		return STORE_ERR_SQL;
	store_bind_text(st, 1, j->id);
	if (sqlite3_step(st) == SQLITE_ROW)
		store__copy_col(st, 0, status, sizeof(status));
	store_finish(st);
	if (!status[0])
		return STORE_ERR_NOT_FOUND;
	if (strcmp(status, "delivered") != 0 && strcmp(status, "undelivered") != 0)
		return STORE_ERR_CONFLICT;
	char *sql = xasprintf("%sWHERE id = ?2", REPLAY_SET);
	st = store_prepare(conn, sql);
	free(sql);
	if (!st)
		return STORE_ERR_SQL;
	sqlite3_bind_int64(st, 1, time_now_ms());
	store_bind_text(st, 2, j->id);
	rc = store_step_done(st);
	store_finish(st);
	return rc == STORE_OK ? store_audit_append(conn, j->audit) : rc;
}

int
store_deliveries_replay(struct store_db *db, const char *id,
    const struct store_audit *audit)
{
	struct replay_job j = { id, NULL, audit, 0 };

	return store_db_write(db, replay_one_fn, &j);
}

static int
replay_many_fn(sqlite3 *conn, void *arg)
{
	struct replay_job *j = arg;
	char *sql = xasprintf("%sWHERE status = 'undelivered' AND (?2 IS NULL OR "
	    "inbox_id = ?2) AND (?3 IS NULL OR alert_id = ?3)", REPLAY_SET);
	sqlite3_stmt *st = store_prepare(conn, sql);
	int rc = STORE_ERR_SQL;

	free(sql);
	if (st) {
		sqlite3_bind_int64(st, 1, time_now_ms());
		store_bind_text(st, 2, j->f->inbox_id);
		store_bind_text(st, 3, j->f->alert_id);
		rc = store_step_done(st);
		j->n = sqlite3_changes(conn);
	}
	store_finish(st);
	return rc == STORE_OK ? store_audit_append(conn, j->audit) : rc;
}

int
store_deliveries_replay_undelivered(struct store_db *db,
    const struct delivery_filter *f, const struct store_audit *audit, int *n_r)
{
	struct replay_job j = { NULL, f, audit, 0 };
	int rc = store_db_write(db, replay_many_fn, &j);

	*n_r = rc == STORE_OK ? j.n : 0;
	return rc;
}

/* --- test deliveries --- */

struct create_job {
	struct delivery_row		*r;
	const struct store_audit	*audit;
};

static int
create_fn(sqlite3 *conn, void *arg)
{
	struct create_job *j = arg;
	int rc = store__delivery_insert(conn, j->r);

	return rc == STORE_OK ? store_audit_append(conn, j->audit) : rc;
}

int
store_deliveries_create(struct store_db *db, struct delivery_row *r,
    const struct store_audit *audit)
{
	struct create_job j = { r, audit };

	return store_db_write(db, create_fn, &j);
}

/* --- retention --- */

int
store_deliveries_prune(struct store_db *db, int64_t cutoff, int *removed_r)
{
	return store__exec_int(db, "DELETE FROM webhook_deliveries WHERE status IN "
	    "('delivered', 'undelivered') AND updated_at < ?1", cutoff, removed_r);
}

/*
 * store_inboxes.c - inbox rows in control.db (the address routing table)
 * and their life cycle: active <-> suspended -> closing -> purged.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gent/ids.h"
#include "gent/store_tokens.h"
#include "gent/timefmt.h"
#include "gent/util.h"
#include "store_int.h"

#define INBOX_COLUMNS "id, tenant_id, coalesce(address, ''), " \
	"coalesce(released_address, ''), coalesce(domain_id, ''), display_name, " \
	"status, created_at, updated_at, coalesce(closing_at, 0), coalesce(purged_at, 0)"

static void
read_inbox(sqlite3_stmt *st, struct inbox_row *r)
{
	memset(r, 0, sizeof(*r));
	store__copy_col(st, 0, r->id, sizeof(r->id));
	store__copy_col(st, 1, r->tenant_id, sizeof(r->tenant_id));
	store__copy_col(st, 2, r->address, sizeof(r->address));
	store__copy_col(st, 3, r->released_address, sizeof(r->released_address));
	store__copy_col(st, 4, r->domain_id, sizeof(r->domain_id));
	r->display_name = store_col_text(st, 5);
	store__copy_col(st, 6, r->status, sizeof(r->status));
	r->created_at = sqlite3_column_int64(st, 7);
	r->updated_at = sqlite3_column_int64(st, 8);
	r->closing_at = sqlite3_column_int64(st, 9);
	r->purged_at = sqlite3_column_int64(st, 10);
}

struct create_job {
	struct inbox_row		*row;
	const struct store_audit	*audit;
};

/* A domain-backed inbox needs its domain verified at commit time. */
static int
domain_still_verified(sqlite3 *conn, const struct inbox_row *r)
{
	sqlite3_stmt *st;
	int rc = STORE_ERR_INVALID;

	if (!r->domain_id[0])
		return STORE_OK;	/* operator-made (CLI) inbox */
	st = store_prepare(conn, "SELECT 1 FROM domains WHERE id = ? AND "
	    "tenant_id = ? AND status = 'verified'");
	if (!st)
		return STORE_ERR_SQL;
	store_bind_text(st, 1, r->domain_id);
	store_bind_text(st, 2, r->tenant_id);
	if (sqlite3_step(st) == SQLITE_ROW)
		rc = STORE_OK;
	store_finish(st);
	return rc;
}

static int
create_fn(sqlite3 *conn, void *arg)
{
	struct create_job *j = arg;
	struct inbox_row *r = j->row;
	int rc = domain_still_verified(conn, r);
	sqlite3_stmt *st;

	if (rc != STORE_OK)
		return rc;
	st = store_prepare(conn, "INSERT INTO inboxes (id, tenant_id, "
	    "address, domain_id, display_name, status, created_at, updated_at) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
	if (!st)
		return STORE_ERR_SQL;
	store_bind_text(st, 1, r->id);
	store_bind_text(st, 2, r->tenant_id);
	store_bind_text(st, 3, r->address);
	store_bind_text(st, 4, r->domain_id[0] ? r->domain_id : NULL);
	store_bind_text(st, 5, r->display_name);
	store_bind_text(st, 6, r->status);
	sqlite3_bind_int64(st, 7, r->created_at);
	sqlite3_bind_int64(st, 8, r->updated_at);
	rc = store_step_done(st);
	store_finish(st);
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
	sqlite3_stmt *st = store_prepare(conn, "SELECT " INBOX_COLUMNS
	    " FROM inboxes WHERE id = ? AND tenant_id = ?");
	int rc = STORE_ERR_SQL;

	memset(out, 0, sizeof(*out));
	if (st) {
		store_bind_text(st, 1, id);
		store_bind_text(st, 2, tenant_id);
		rc = STORE_ERR_NOT_FOUND;
		if (sqlite3_step(st) == SQLITE_ROW) {
			read_inbox(st, out);
			rc = STORE_OK;
		}
	}
	store_finish(st);
	store_db_release(db, &conn);
	return rc;
}

int
store_inboxes_list(struct store_db *db, const char *tenant_id,
    const char *status, int limit, int64_t cursor_ms, const char *cursor_id,
    struct inbox_row **rows_r, int *n_r, bool *more_r)
{
	sqlite3 *conn = store_db_acquire(db);
	sqlite3_stmt *st = store_prepare(conn, "SELECT " INBOX_COLUMNS " FROM inboxes "
	    "WHERE tenant_id = ?1 AND (?2 IS NULL OR status = ?2) AND (?3 IS NULL OR "
	    "created_at < ?4 OR (created_at = ?4 AND id < ?3)) "
	    "ORDER BY created_at DESC, id DESC LIMIT ?5");
	struct inbox_row *rows = xcalloc((size_t)limit + 1, sizeof(*rows));
	int n = 0, rc = STORE_ERR_SQL;

	if (st) {
		store_bind_text(st, 1, tenant_id);
		store_bind_text(st, 2, status);
		store_bind_text(st, 3, cursor_id);
		sqlite3_bind_int64(st, 4, cursor_ms);
		sqlite3_bind_int(st, 5, limit + 1);
		while (n <= limit && sqlite3_step(st) == SQLITE_ROW)
			read_inbox(st, &rows[n++]);
		rc = STORE_OK;
	}
	store_finish(st);
	store_db_release(db, &conn);
	*more_r = n > limit;
	if (*more_r)
		inbox_row_free(&rows[--n]);
	*rows_r = rows;
	*n_r = n;
	return rc;
}

void
inbox_row_free(struct inbox_row *r)
{
	xfree(&r->display_name);
}

void
inbox_rows_free(struct inbox_row *rows, int n)
{
	for (int i = 0; i < n; i++)
		inbox_row_free(&rows[i]);
	free(rows);
}

struct update_job {
	const char			*tenant_id, *id, *status, *display_name;
	const struct store_audit	*audit;
};

static bool
move_allowed(const char *from, const char *to)
{
	if (strcmp(to, "closing") == 0)
		return !strcmp(from, "active") || !strcmp(from, "suspended");
	if (strcmp(to, "suspended") == 0 || strcmp(to, "active") == 0)
		return !strcmp(from, "active") || !strcmp(from, "suspended");
	return false;
}

static int
update_fn(sqlite3 *conn, void *arg)
{
	struct update_job *j = arg;
	sqlite3_stmt *st = store_prepare(conn, "SELECT status FROM inboxes WHERE "
	    "id = ? AND tenant_id = ?");
	char from[16];
	int rc;

	if (!st)
		return STORE_ERR_SQL;
	store_bind_text(st, 1, j->id);
	store_bind_text(st, 2, j->tenant_id);
	rc = sqlite3_step(st) == SQLITE_ROW ? STORE_OK : STORE_ERR_NOT_FOUND;
	if (rc == STORE_OK)
		store__copy_col(st, 0, from, sizeof(from));
	store_finish(st);
	if (rc != STORE_OK)
		return rc;
	if (j->status && !move_allowed(from, j->status))
		return STORE_ERR_INVALID;
	if (!j->status && (!strcmp(from, "closing") || !strcmp(from, "purged")))
		return STORE_ERR_INVALID;
	st = store_prepare(conn, "UPDATE inboxes SET status = coalesce(?1, status), "
	    "display_name = CASE WHEN ?2 THEN ?3 ELSE display_name END, "
	    "updated_at = ?4, closing_at = CASE WHEN ?1 = 'closing' THEN ?4 "
	    "ELSE closing_at END WHERE id = ?5");
	if (!st)
		return STORE_ERR_SQL;
	store_bind_text(st, 1, j->status);
	sqlite3_bind_int(st, 2, j->display_name != NULL);
	store_bind_text(st, 3, j->display_name && *j->display_name ? j->display_name : NULL);
	sqlite3_bind_int64(st, 4, time_now_ms());
	store_bind_text(st, 5, j->id);
	rc = store_step_done(st);
	store_finish(st);
	return rc == STORE_OK ? store_audit_append(conn, j->audit) : rc;
}

int
store_inboxes_update(struct store_db *db, const char *tenant_id,
    const char *id, const char *status, const char *display_name,
    const struct store_audit *audit)
{
	struct update_job j = { tenant_id, id, status, display_name, audit };

	return store_db_write(db, update_fn, &j);
}

struct purge_job {
	int64_t	 cutoff;
	int	*purged_r;
};

static int
purge_one(sqlite3 *conn, const char *id, const char *tenant_id, int64_t now)
{
	static const char *const sql[] = {
		"UPDATE inboxes SET status = 'purged', released_address = address, "
		"address = NULL, purged_at = ?2, updated_at = ?2 WHERE id = ?1",
		"UPDATE tokens SET status = 'revoked', revoked_at = ?2, updated_at = ?2 "
		"WHERE inbox_id = ?1 AND status != 'revoked'",
	};
	struct store_audit a = { .tenant_id = tenant_id, .actor_type = "system",
	    .action = "inbox.purged", .target_type = "inbox", .target_id = id,
	    .inbox_id = id };

	for (size_t i = 0; i < GENT_ARRAY_LEN(sql); i++) {
		sqlite3_stmt *st = store_prepare(conn, sql[i]);
		int rc;
		if (!st)
			return STORE_ERR_SQL;
		store_bind_text(st, 1, id);
		sqlite3_bind_int64(st, 2, now);
		rc = store_step_done(st);
		store_finish(st);
		if (rc != STORE_OK)
			return rc;
	}
	return store_audit_append(conn, &a);
}

static int
purge_fn(sqlite3 *conn, void *arg)
{
	struct purge_job *j = arg;
	sqlite3_stmt *st = store_prepare(conn, "SELECT id, tenant_id FROM inboxes "
	    "WHERE status = 'closing' AND closing_at <= ? LIMIT 500");
	int64_t now = time_now_ms();
	char (*ids)[2][64] = NULL;
	int n = 0, rc = STORE_OK;

	if (!st)
		return STORE_ERR_SQL;
	sqlite3_bind_int64(st, 1, j->cutoff);
	while (sqlite3_step(st) == SQLITE_ROW) {
		ids = xrealloc(ids, (size_t)(n + 1) * sizeof(*ids));
		store__copy_col(st, 0, ids[n][0], 64);
		store__copy_col(st, 1, ids[n][1], 64);
		n++;
	}
	store_finish(st);
	for (int i = 0; i < n && rc == STORE_OK; i++)
		rc = purge_one(conn, ids[i][0], ids[i][1], now);
	free(ids);
	*j->purged_r = rc == STORE_OK ? n : 0;
	return rc;
}

int
store_inboxes_purge_due(struct store_db *db, int64_t cutoff, int *purged_r)
{
	struct purge_job j = { cutoff, purged_r };

	*purged_r = 0;
	return store_db_write(db, purge_fn, &j);
}

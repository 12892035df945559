/*
 * store_domains.c - domain rows, verification results and DKIM key rows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gent/store_domains.h"
#include "gent/timefmt.h"
#include "gent/util.h"
#include "store_int.h"

#define DOMAIN_COLUMNS "id, tenant_id, name, domain_use, dmarc_policy, status, " \
	"verify_token, check_results, created_at, updated_at, " \
	"coalesce(verified_at, 0), coalesce(last_checked_at, 0)"

static void
read_domain(sqlite3_stmt *st, struct domain_row *d)
{
	memset(d, 0, sizeof(*d));
	store__copy_col(st, 0, d->id, sizeof(d->id));
	store__copy_col(st, 1, d->tenant_id, sizeof(d->tenant_id));
	store__copy_col(st, 2, d->name, sizeof(d->name));
	store__copy_col(st, 3, d->domain_use, sizeof(d->domain_use));
	store__copy_col(st, 4, d->dmarc_policy, sizeof(d->dmarc_policy));
	store__copy_col(st, 5, d->status, sizeof(d->status));
	store__copy_col(st, 6, d->verify_token, sizeof(d->verify_token));
	d->check_results = store_col_text(st, 7);
	d->created_at = sqlite3_column_int64(st, 8);
	d->updated_at = sqlite3_column_int64(st, 9);
	d->verified_at = sqlite3_column_int64(st, 10);
	d->last_checked_at = sqlite3_column_int64(st, 11);
}

void
domain_row_free(struct domain_row *d)
{
	xfree(&d->check_results);
}

void
domain_rows_free(struct domain_row *rows, int n)
{
	for (int i = 0; i < n; i++)
		domain_row_free(&rows[i]);
	free(rows);
}

static int
insert_key(sqlite3 *conn, const struct dkim_key_row *k)
{
	sqlite3_stmt *st = store_prepare(conn, "INSERT INTO dkim_keys (id, domain_id, "
	    "selector, key_path, public_key, status, created_at, activated_at) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
	int rc;

	if (!st)
		return STORE_ERR_SQL;
	store_bind_text(st, 1, k->id);
	store_bind_text(st, 2, k->domain_id);
	store_bind_text(st, 3, k->selector);
	store_bind_text(st, 4, k->key_path);
	store_bind_text(st, 5, k->public_key);
	store_bind_text(st, 6, k->status);
	sqlite3_bind_int64(st, 7, k->created_at);
	if (k->activated_at)
		sqlite3_bind_int64(st, 8, k->activated_at);
	else
		sqlite3_bind_null(st, 8);
	rc = store_step_done(st);
	store_finish(st);
	return rc;
}

struct create_job {
	const struct domain_row		*d;
	const struct dkim_key_row	*k;
	const struct store_audit	*audit;
};

static int
create_fn(sqlite3 *conn, void *arg)
{
	struct create_job *j = arg;
	const struct domain_row *d = j->d;
	sqlite3_stmt *st = store_prepare(conn, "INSERT INTO domains (id, tenant_id, "
	    "name, domain_use, dmarc_policy, status, verify_token, created_at, "
	    "updated_at) VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?)");
	int rc;

	if (!st)
		return STORE_ERR_SQL;
	store_bind_text(st, 1, d->id);
	store_bind_text(st, 2, d->tenant_id);
	store_bind_text(st, 3, d->name);
	store_bind_text(st, 4, d->domain_use);
	store_bind_text(st, 5, d->dmarc_policy);
	store_bind_text(st, 6, d->verify_token);
	sqlite3_bind_int64(st, 7, d->created_at);
	sqlite3_bind_int64(st, 8, d->created_at);
	rc = store_step_done(st);
	store_finish(st);
	if (rc == STORE_OK)
		rc = insert_key(conn, j->k);
	return rc == STORE_OK ? store_audit_append(conn, j->audit) : rc;
}

int
store_domains_create(struct store_db *db, const struct domain_row *d,
    const struct dkim_key_row *k, const struct store_audit *audit)
{
	struct create_job j = { d, k, audit };

	return store_db_write(db, create_fn, &j);
}

int
store_domains_get(struct store_db *db, const char *tenant_id, const char *name,
    struct domain_row *out)
{
	sqlite3 *conn = store_db_acquire(db);
	sqlite3_stmt *st = store_prepare(conn, "SELECT " DOMAIN_COLUMNS
	    " FROM domains WHERE tenant_id = ? AND name = ?");
	int rc = STORE_ERR_SQL;

	memset(out, 0, sizeof(*out));
	if (st) {
		store_bind_text(st, 1, tenant_id);
		store_bind_text(st, 2, name);
		rc = STORE_ERR_NOT_FOUND;
		if (sqlite3_step(st) == SQLITE_ROW) {
			read_domain(st, out);
			rc = STORE_OK;
		}
	}
	store_finish(st);
	store_db_release(db, &conn);
	return rc;
}

int
store_domains_list(struct store_db *db, const char *tenant_id, int limit,
    int64_t cursor_ms, const char *cursor_id, struct domain_row **rows_r,
    int *n_r, bool *more_r)
{
	sqlite3 *conn = store_db_acquire(db);
	sqlite3_stmt *st = store_prepare(conn, "SELECT " DOMAIN_COLUMNS " FROM domains "
	    "WHERE tenant_id = ?1 AND (?2 IS NULL OR created_at < ?3 OR "
	    "(created_at = ?3 AND id < ?2)) ORDER BY created_at DESC, id DESC LIMIT ?4");
	struct domain_row *rows = xcalloc((size_t)limit + 1, sizeof(*rows));
	int n = 0, rc = STORE_ERR_SQL;

	if (st) {
		store_bind_text(st, 1, tenant_id);
		store_bind_text(st, 2, cursor_id);
		sqlite3_bind_int64(st, 3, cursor_ms);
		sqlite3_bind_int(st, 4, limit + 1);
		while (n <= limit && sqlite3_step(st) == SQLITE_ROW)
			read_domain(st, &rows[n++]);
		rc = STORE_OK;
	}
	store_finish(st);
	store_db_release(db, &conn);
	*more_r = n > limit;
	if (*more_r)
		domain_row_free(&rows[--n]);
	*rows_r = rows;
	*n_r = n;
	return rc;
}

struct check_job {
	const char			*id, *results;
	bool				 verified;
	const struct store_audit	*audit;
};

static int
check_fn(sqlite3 *conn, void *arg)
{
	struct check_job *j = arg;
	sqlite3_stmt *st = store_prepare(conn, "UPDATE domains SET check_results = ?1, "
	    "last_checked_at = ?2, updated_at = ?2, "
	    "status = CASE WHEN ?3 THEN 'verified' ELSE status END, "
	    "verified_at = CASE WHEN ?3 AND verified_at IS NULL THEN ?2 ELSE verified_at END "
	    "WHERE id = ?4");
	int rc;

	if (!st)
		return STORE_ERR_SQL;
	store_bind_text(st, 1, j->results);
	sqlite3_bind_int64(st, 2, time_now_ms());
	sqlite3_bind_int(st, 3, j->verified);
	store_bind_text(st, 4, j->id);
	rc = store_step_done(st);
	store_finish(st);
	return rc == STORE_OK ? store_audit_append(conn, j->audit) : rc;
}

int
store_domains_save_check(struct store_db *db, const char *id,
    const char *results_json, bool verified, const struct store_audit *audit)
{
	struct check_job j = { id, results_json, verified, audit };

	return store_db_write(db, check_fn, &j);
}

struct delete_job {
	const char			*tenant_id, *id;
	const struct store_audit	*audit;
};

static int
delete_fn(sqlite3 *conn, void *arg)
{
	struct delete_job *j = arg;
	sqlite3_stmt *st = store_prepare(conn, "SELECT count(*) FROM inboxes WHERE "
	    "domain_id = ? AND status IN ('active', 'suspended')");
	int rc, live = 0;

	if (!st)
		return STORE_ERR_SQL;
	store_bind_text(st, 1, j->id);
	if (sqlite3_step(st) == SQLITE_ROW)
		live = sqlite3_column_int(st, 0);
	store_finish(st);
	if (live > 0)
		return STORE_ERR_CONFLICT;
	/* Closing and purged inboxes keep their rows but lose the domain link. */
	st = store_prepare(conn, "UPDATE inboxes SET domain_id = NULL WHERE domain_id = ?");
	if (!st)
		return STORE_ERR_SQL;
	store_bind_text(st, 1, j->id);
	rc = store_step_done(st);
	store_finish(st);
	if (rc != STORE_OK)
		return rc;
	st = store_prepare(conn, "DELETE FROM domains WHERE id = ? AND tenant_id = ?");
	if (!st)
		return STORE_ERR_SQL;
	store_bind_text(st, 1, j->id);
	store_bind_text(st, 2, j->tenant_id);
	rc = store_step_done(st);
	if (rc == STORE_OK && sqlite3_changes(conn) == 0)
		rc = STORE_ERR_NOT_FOUND;
	store_finish(st);
	return rc == STORE_OK ? store_audit_append(conn, j->audit) : rc;
}

int
store_domains_delete(struct store_db *db, const char *tenant_id,
    const char *id, const struct store_audit *audit)
{
	struct delete_job j = { tenant_id, id, audit };

	return store_db_write(db, delete_fn, &j);
}

static void
read_key(sqlite3_stmt *st, struct dkim_key_row *k)
{
	memset(k, 0, sizeof(*k));
	store__copy_col(st, 0, k->id, sizeof(k->id));
	store__copy_col(st, 1, k->domain_id, sizeof(k->domain_id));
	store__copy_col(st, 2, k->selector, sizeof(k->selector));
	k->key_path = store_col_text(st, 3);
	k->public_key = store_col_text(st, 4);
	store__copy_col(st, 5, k->status, sizeof(k->status));
	k->created_at = sqlite3_column_int64(st, 6);
	k->activated_at = sqlite3_column_int64(st, 7);
	k->retired_at = sqlite3_column_int64(st, 8);
}

int
store_dkim_keys_list(struct store_db *db, const char *domain_id,
    struct dkim_key_row **rows_r, int *n_r)
{
	sqlite3 *conn = store_db_acquire(db);
	sqlite3_stmt *st = store_prepare(conn, "SELECT id, domain_id, selector, "
	    "key_path, public_key, status, created_at, coalesce(activated_at, 0), "
	    "coalesce(retired_at, 0) FROM dkim_keys WHERE domain_id = ? "
	    "ORDER BY created_at, id");
	struct dkim_key_row *rows = NULL;
	int n = 0, rc = STORE_ERR_SQL;

	if (st) {
		store_bind_text(st, 1, domain_id);
		while (sqlite3_step(st) == SQLITE_ROW) {
			rows = xrealloc(rows, (size_t)(n + 1) * sizeof(*rows));
			read_key(st, &rows[n++]);
		}
		rc = STORE_OK;
	}
	store_finish(st);
	store_db_release(db, &conn);
	*rows_r = rows;
	*n_r = n;
	return rc;
}

void
dkim_key_rows_free(struct dkim_key_row *rows, int n)
{
	for (int i = 0; i < n; i++) {
		free(rows[i].key_path);
		free(rows[i].public_key);
	}
	free(rows);
}

struct key_job {
	const struct dkim_key_row	*k;
	const char			*domain_id;
	const struct store_audit	*audit;
};

static int
count_status(sqlite3 *conn, const char *domain_id, const char *status)
{
	sqlite3_stmt *st = store_prepare(conn, "SELECT count(*) FROM dkim_keys "
	    "WHERE domain_id = ? AND status = ?");
	int n = -1;

	if (!st)
		return -1;
	store_bind_text(st, 1, domain_id);
	store_bind_text(st, 2, status);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	store_finish(st);
	return n;
}

static int
add_pending_fn(sqlite3 *conn, void *arg)
{
	struct key_job *j = arg;
	int pending = count_status(conn, j->k->domain_id, "pending"), rc;

	if (pending < 0)
		return STORE_ERR_SQL;
	if (pending > 0)
		return STORE_ERR_CONFLICT;
	rc = insert_key(conn, j->k);
	return rc == STORE_OK ? store_audit_append(conn, j->audit) : rc;
}

int
store_dkim_keys_add_pending(struct store_db *db, const struct dkim_key_row *k,
    const struct store_audit *audit)
{
	struct key_job j = { k, k->domain_id, audit };

	return store_db_write(db, add_pending_fn, &j);
}

static int
activate_fn(sqlite3 *conn, void *arg)
{
	struct key_job *j = arg;
	int64_t now = time_now_ms();
	sqlite3_stmt *st;
	int rc;

	if (count_status(conn, j->domain_id, "pending") != 1)
		return STORE_ERR_NOT_FOUND;
	st = store_prepare(conn, "UPDATE dkim_keys SET status = CASE status "
	    "WHEN 'active' THEN 'retired' ELSE 'active' END, "
	    "retired_at = CASE status WHEN 'active' THEN ?1 ELSE retired_at END, "
	    "activated_at = CASE status WHEN 'pending' THEN ?1 ELSE activated_at END "
	    "WHERE domain_id = ?2 AND status IN ('active', 'pending')");
	if (!st)
		return STORE_ERR_SQL;
	sqlite3_bind_int64(st, 1, now);
	store_bind_text(st, 2, j->domain_id);
	rc = store_step_done(st);
	store_finish(st);
	return rc == STORE_OK ? store_audit_append(conn, j->audit) : rc;
}

int
store_dkim_keys_activate(struct store_db *db, const char *domain_id,
    const struct store_audit *audit)
{
	struct key_job j = { NULL, domain_id, audit };

	return store_db_write(db, activate_fn, &j);
}

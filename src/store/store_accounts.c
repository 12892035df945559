/*
 * store_accounts.c - tenants, users and sessions in control.db.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "gent/ids.h"
#include "gent/store_accounts.h"
#include "gent/timefmt.h"
#include "gent/util.h"
#include "store_int.h"

/* Find a tenant by name; fills id. STORE_OK or NOT_FOUND. */
static int
tenant_by_name(sqlite3 *conn, const char *name, char id[64])
{
	sqlite3_stmt *st = store_prepare(conn, "SELECT id FROM tenants WHERE name = ?");
	int rc = STORE_ERR_NOT_FOUND;

	if (!st)
		return STORE_ERR_SQL;
	store_bind_text(st, 1, name);
	if (sqlite3_step(st) == SQLITE_ROW) {
		store__copy_col(st, 0, id, 64);
		rc = STORE_OK;
	}
	store_finish(st);
	return rc;
}

static int
insert_tenant(sqlite3 *conn, const char *name, char id_r[64])
{
	sqlite3_stmt *st = store_prepare(conn, "INSERT INTO tenants (id, name, "
	    "created_at, updated_at) VALUES (?, ?, ?, ?)");
	char *id = ids_new("ten");
	int64_t now = time_now_ms();
	int rc;

	if (!st) {
		free(id);
		return STORE_ERR_SQL;
	}
	store_bind_text(st, 1, id);
	store_bind_text(st, 2, name);
	sqlite3_bind_int64(st, 3, now);
	sqlite3_bind_int64(st, 4, now);
	rc = store_step_done(st);
	store_finish(st);
	snprintf(id_r, 64, "%s", id);
	free(id);
	return rc;
}

static int
insert_user(sqlite3 *conn, struct new_user *u)
{
	sqlite3_stmt *st = store_prepare(conn, "INSERT INTO users (id, tenant_id, "
	    "email, password_hash, role, created_at) VALUES (?, ?, ?, ?, ?, ?)");
	char *id = ids_new("usr");
	int rc;

	if (!st) {
		free(id);
		return STORE_ERR_SQL;
	}
	store_bind_text(st, 1, id);
	store_bind_text(st, 2, u->tenant_id_r);
	store_bind_text(st, 3, u->email);
	store_bind_text(st, 4, u->password_hash);
	store_bind_text(st, 5, u->role);
	sqlite3_bind_int64(st, 6, time_now_ms());
	rc = store_step_done(st);
	store_finish(st);
	snprintf(u->user_id_r, sizeof(u->user_id_r), "%s", id);
	free(id);
	return rc;
}

struct create_user_job {
	struct new_user			*u;
	const struct store_audit	*audit;
};

/* Shared by the CLI, waitlist sign-up and invite acceptance. */
static int
create_user_in_tx(sqlite3 *conn, struct new_user *u, const struct store_audit *audit)
{
	struct store_audit a = *audit;
	int rc = STORE_OK;

	u->tenant_created_r = false;
	if (u->tenant_id) {
		snprintf(u->tenant_id_r, sizeof(u->tenant_id_r), "%s", u->tenant_id);
	} else {
		const char *name = u->tenant_name ? u->tenant_name : u->email;
		rc = u->tenant_name ? tenant_by_name(conn, name, u->tenant_id_r)
		    : STORE_ERR_NOT_FOUND;
		/* Sign-up makes a tenant; it never joins one by naming it. */
		if (rc == STORE_OK && u->new_tenant)
			return STORE_ERR_CONFLICT;
		if (rc == STORE_ERR_NOT_FOUND) {
			rc = insert_tenant(conn, name, u->tenant_id_r);
			u->tenant_created_r = true;
		}
	}
	if (rc != STORE_OK || (rc = insert_user(conn, u)) != STORE_OK)
		return rc;
	a.tenant_id = u->tenant_id_r;
	a.target_type = "user";
	a.target_id = u->user_id_r;
	if (!a.actor_id && strcmp(a.actor_type, "public") == 0)
		a.actor_id = u->user_id_r;
	return store_audit_append(conn, &a);
}

static int
create_user_fn(sqlite3 *conn, void *arg)
{
	struct create_user_job *j = arg;

	return create_user_in_tx(conn, j->u, j->audit);
}

int
store_accounts_create_user(struct store_db *db, struct new_user *u,
    const struct store_audit *audit)
{
	struct create_user_job j = { u, audit };

	return store_db_write(db, create_user_fn, &j);
}

int
store__create_user_in_tx(sqlite3 *conn, struct new_user *u,
    const struct store_audit *audit)
{
	return create_user_in_tx(conn, u, audit);
}

static int
user_query(struct store_db *db, const char *where, const char *value,
    struct user_row *out)
{
	sqlite3 *conn = store_db_acquire(db);
	char *sql = xasprintf("SELECT id, tenant_id, email, role, password_hash, "
	    "failed_logins, locked_until, created_at FROM users WHERE %s = ?", where);
	sqlite3_stmt *st = store_prepare(conn, sql);
	int rc = STORE_ERR_SQL;

	memset(out, 0, sizeof(*out));
	if (st) {
		store_bind_text(st, 1, value);
		rc = STORE_ERR_NOT_FOUND;
		if (sqlite3_step(st) == SQLITE_ROW) {
			store__copy_col(st, 0, out->id, sizeof(out->id));
			store__copy_col(st, 1, out->tenant_id, sizeof(out->tenant_id));
			store__copy_col(st, 2, out->email, sizeof(out->email));
			store__copy_col(st, 3, out->role, sizeof(out->role));
			out->password_hash = store_col_text(st, 4);
			out->failed_logins = sqlite3_column_int(st, 5);
			out->locked_until = sqlite3_column_int64(st, 6);
			out->created_at = sqlite3_column_int64(st, 7);
			rc = STORE_OK;
		}
	}
	store_finish(st);
	free(sql);
	store_db_release(db, &conn);
	return rc;
}

int
store_accounts_user_by_email(struct store_db *db, const char *email,
    struct user_row *out)
{
	return user_query(db, "email", email, out);
}

int
store_accounts_user_by_id(struct store_db *db, const char *id,
    struct user_row *out)
{
	return user_query(db, "id", id, out);
}

void
user_row_free(struct user_row *u)
{
	xfree(&u->password_hash);
}

struct login_job {
	const char	*user_id;
	int64_t		 now;
	int		 free_failures, max_lock_s;
	int		*failures_r;
	int64_t		*locked_until_r;
};

static int64_t
lock_for(int failures, int free_failures, int max_lock_s)
{
	int n = failures - free_failures;
	int64_t secs;

	if (n < 0)
		return 0;
	secs = n >= 20 ? max_lock_s : (int64_t)1 << n;
	return (secs > max_lock_s ? max_lock_s : secs) * 1000;
}

static int
login_begin_fn(sqlite3 *conn, void *arg)
{
	struct login_job *j = arg;
	sqlite3_stmt *st = store_prepare(conn, "SELECT failed_logins, locked_until "
	    "FROM users WHERE id = ?");
	int failures, rc;
	int64_t locked;

	if (!st)
		return STORE_ERR_SQL;
	store_bind_text(st, 1, j->user_id);
	if (sqlite3_step(st) != SQLITE_ROW) {
		store_finish(st);
		return STORE_ERR_NOT_FOUND;
	}
	failures = sqlite3_column_int(st, 0);
	locked = sqlite3_column_int64(st, 1);
	store_finish(st);
	*j->locked_until_r = locked;
	if (locked > j->now)
		return STORE_ERR_FORBIDDEN;
	*j->failures_r = ++failures;
	int64_t lock = lock_for(failures, j->free_failures, j->max_lock_s);
	st = store_prepare(conn, "UPDATE users SET failed_logins = ?, locked_until = ? "
	    "WHERE id = ?");
	if (!st)
		return STORE_ERR_SQL;
	sqlite3_bind_int(st, 1, failures);
	sqlite3_bind_int64(st, 2, lock ? j->now + lock : 0);
	store_bind_text(st, 3, j->user_id);
	rc = store_step_done(st);
	store_finish(st);
	return rc;
}

int
store_accounts_login_begin(struct store_db *db, const char *user_id,
    int64_t now, int free_failures, int max_lock_s, int *failures_r,
    int64_t *locked_until_r)
{
	struct login_job j = { user_id, now, free_failures, max_lock_s,
	    failures_r, locked_until_r };

	return store_db_write(db, login_begin_fn, &j);
}

struct session_job {
	const char			*id, *digest, *user_id, *tenant_id;
	int64_t				 expires_at;
	const struct store_audit	*audit;
};

static int
session_create_fn(sqlite3 *conn, void *arg)
{
	struct session_job *j = arg;
	sqlite3_stmt *st = store_prepare(conn, "INSERT INTO sessions (id, digest, "
	    "user_id, tenant_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)");
	int rc;

	if (!st)
		return STORE_ERR_SQL;
	store_bind_text(st, 1, j->id);
	store_bind_text(st, 2, j->digest);
	store_bind_text(st, 3, j->user_id);
	store_bind_text(st, 4, j->tenant_id);
	sqlite3_bind_int64(st, 5, time_now_ms());
	sqlite3_bind_int64(st, 6, j->expires_at);
	rc = store_step_done(st);
	store_finish(st);
	if (rc != STORE_OK)
		return rc;
	/* A successful sign-in ends the run of failures. */
	st = store_prepare(conn, "UPDATE users SET failed_logins = 0, "
	    "locked_until = 0 WHERE id = ?");
	if (!st)
		return STORE_ERR_SQL;
	store_bind_text(st, 1, j->user_id);
	rc = store_step_done(st);
	store_finish(st);
	return rc == STORE_OK ? store_audit_append(conn, j->audit) : rc;
}

int
store_sessions_create(struct store_db *db, const char *id, const char *digest,
    const char *user_id, const char *tenant_id, int64_t expires_at,
    const struct store_audit *audit)
{
	struct session_job j = { id, digest, user_id, tenant_id, expires_at, audit };

	return store_db_write(db, session_create_fn, &j);
}

int
store_sessions_by_digest(struct store_db *db, const char *digest,
    struct session_row *out)
{
	sqlite3 *conn = store_db_acquire(db);
	sqlite3_stmt *st = store_prepare(conn, "SELECT s.id, s.user_id, "
	    "s.tenant_id, u.role, s.expires_at, coalesce(s.revoked_at, 0) "
	    "FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.digest = ?");
	int rc = STORE_ERR_SQL;

	memset(out, 0, sizeof(*out));
	if (st) {
		store_bind_text(st, 1, digest);
		rc = STORE_ERR_NOT_FOUND;
		if (sqlite3_step(st) == SQLITE_ROW) {
			store__copy_col(st, 0, out->id, sizeof(out->id));
			store__copy_col(st, 1, out->user_id, sizeof(out->user_id));
			store__copy_col(st, 2, out->tenant_id, sizeof(out->tenant_id));
			store__copy_col(st, 3, out->role, sizeof(out->role));
			out->expires_at = sqlite3_column_int64(st, 4);
			out->revoked_at = sqlite3_column_int64(st, 5);
			rc = STORE_OK;
		}
	}
	store_finish(st);
	store_db_release(db, &conn);
	return rc;
}

struct revoke_job {
	const char			*id;
	const struct store_audit	*audit;
};

static int
session_revoke_fn(sqlite3 *conn, void *arg)
{
	struct revoke_job *j = arg;
	sqlite3_stmt *st = store_prepare(conn, "UPDATE sessions SET revoked_at = ? "
	    "WHERE id = ? AND revoked_at IS NULL");
	int rc;

	if (!st)
		return STORE_ERR_SQL;
	sqlite3_bind_int64(st, 1, time_now_ms());
	store_bind_text(st, 2, j->id);
	rc = store_step_done(st);
	if (rc == STORE_OK && sqlite3_changes(conn) == 0)
		rc = STORE_ERR_NOT_FOUND;
	store_finish(st);
	return rc == STORE_OK ? store_audit_append(conn, j->audit) : rc;
}

int
store_sessions_revoke(struct store_db *db, const char *id,
    const struct store_audit *audit)
{
	struct revoke_job j = { id, audit };

	return store_db_write(db, session_revoke_fn, &j);
}

int
store_tenants_get(struct store_db *db, const char *id, struct tenant_row *out)
{
	sqlite3 *conn = store_db_acquire(db);
	sqlite3_stmt *st = store_prepare(conn, "SELECT id, name, settings, "
	    "created_at, updated_at FROM tenants WHERE id = ?");
	int rc = STORE_ERR_SQL;

	memset(out, 0, sizeof(*out));
	if (st) {
		store_bind_text(st, 1, id);
		rc = STORE_ERR_NOT_FOUND;
		if (sqlite3_step(st) == SQLITE_ROW) {
			store__copy_col(st, 0, out->id, sizeof(out->id));
			out->name = store_col_text(st, 1);
			out->settings_json = store_col_text(st, 2);
			out->created_at = sqlite3_column_int64(st, 3);
			out->updated_at = sqlite3_column_int64(st, 4);
			rc = STORE_OK;
		}
	}
	store_finish(st);
	store_db_release(db, &conn);
	return rc;
}

void
tenant_row_free(struct tenant_row *t)
{
	xfree(&t->name);
	xfree(&t->settings_json);
}

struct tenant_patch_job {
	const char			*id, *name, *patch;
	const struct store_audit	*audit;
};

/* The stored settings with the patch's members laid over them. */
static char *
merged_settings(sqlite3 *conn, const char *id, const char *patch_text)
{
	sqlite3_stmt *st = store_prepare(conn, "SELECT settings FROM tenants WHERE id = ?");
	json_t *cur = NULL, *patch = json_loads(patch_text, 0, NULL);
	char *out = NULL;

	if (st) {
		store_bind_text(st, 1, id);
		if (sqlite3_step(st) == SQLITE_ROW)
			cur = json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL);
	}
	store_finish(st);
	if (!json_is_object(cur)) {
		json_decref(cur);
		cur = json_object();
	}
	if (json_is_object(patch) && json_object_update(cur, patch) == 0)
		out = json_dumps(cur, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(cur);
	json_decref(patch);
	return out;
}

static int
tenant_patch_fn(sqlite3 *conn, void *arg)
{
	struct tenant_patch_job *j = arg;
	char *settings = merged_settings(conn, j->id, j->patch);
	sqlite3_stmt *st;
	int rc;

	if (!settings)
		return STORE_ERR_SQL;
	st = store_prepare(conn, "UPDATE tenants SET name = coalesce(?, name), "
	    "settings = ?, updated_at = ? WHERE id = ?");
	if (!st) {
		free(settings);
		return STORE_ERR_SQL;
	}
	store_bind_text(st, 1, j->name);
	store_bind_text(st, 2, settings);
	sqlite3_bind_int64(st, 3, time_now_ms());
	store_bind_text(st, 4, j->id);
	rc = store_step_done(st);
	store_finish(st);
	free(settings);
	return rc == STORE_OK ? store_audit_append(conn, j->audit) : rc;
}

int
store_tenants_patch(struct store_db *db, const char *id, const char *name,
    const char *patch_json, const struct store_audit *audit)
{
	struct tenant_patch_job j = { id, name, patch_json, audit };

	return store_db_write(db, tenant_patch_fn, &j);
}

static int
count_where(sqlite3 *conn, const char *sql, const char *tenant_id)
{
	sqlite3_stmt *st = store_prepare(conn, sql);
	int n = 0;

	if (!st)
		return -1;
	store_bind_text(st, 1, tenant_id);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	store_finish(st);
	return n;
}

int
store_tenants_progress(struct store_db *db, const char *tenant_id,
    int *domains_r, int *inboxes_r, int *tokens_r)
{
	sqlite3 *conn = store_db_acquire(db);

	*domains_r = count_where(conn, "SELECT count(*) FROM domains WHERE "
	    "tenant_id = ? AND status = 'verified'", tenant_id);

	*inboxes_r = count_where(conn, "SELECT count(*) FROM inboxes WHERE "
	    "tenant_id = ? AND status IN ('active', 'suspended')", tenant_id);
	*tokens_r = count_where(conn, "SELECT count(*) FROM tokens WHERE "
	    "tenant_id = ? AND status != 'revoked'", tenant_id);
	store_db_release(db, &conn);
	return (*domains_r < 0 || *inboxes_r < 0 || *tokens_r < 0) ?
	    STORE_ERR_SQL : STORE_OK;
}

int
store_tenants_ids(struct store_db *db, char ***ids_r, int *n_r)
{
	sqlite3 *conn = store_db_acquire(db);
	sqlite3_stmt *st = store_prepare(conn, "SELECT id FROM tenants ORDER BY id");
	char **ids = NULL;
	int n = 0, rc = STORE_ERR_SQL;

	if (st) {
		while (sqlite3_step(st) == SQLITE_ROW) {
			ids = xrealloc(ids, (size_t)(n + 1) * sizeof(char *));
			ids[n++] = store_col_text(st, 0);
		}
		rc = STORE_OK;
	}
	store_finish(st);
	store_db_release(db, &conn);
	*ids_r = ids;
	*n_r = n;
	return rc;
}

/*
 * store_inbox_settings.c - inbox settings JSON and forwarding rule rows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "gent/store_inbox_settings.h"
#include "gent/timefmt.h"
#include "gent/util.h"
#include "store_int.h"

int
store_inbox_settings_get(struct store_db *db, const char *inbox_id, char **json_r)
{
	sqlite3 *conn = store_db_acquire(db);
	sqlite3_stmt *st = store_prepare(conn, "SELECT settings FROM inbox_settings "
	    "WHERE inbox_id = ?");
	int rc = STORE_ERR_SQL;

	*json_r = NULL;
	if (st) {
		store_bind_text(st, 1, inbox_id);
		if (sqlite3_step(st) == SQLITE_ROW)
			*json_r = store_col_text(st, 0);
		rc = STORE_OK;
	}
	if (!*json_r)
		*json_r = xstrdup("{}");
	store_finish(st);
	store_db_release(db, &conn);
	return rc;
}

struct update_job {
	const char			*inbox_id;
	store_settings_mutate_fn	 mutate;
	void				*arg;
	const struct store_audit	*audit;
	char				*result;
};

static json_t *
current_settings(sqlite3 *conn, const char *inbox_id)
{
	sqlite3_stmt *st = store_prepare(conn, "SELECT settings FROM inbox_settings "
	    "WHERE inbox_id = ?");
	json_t *doc = NULL;

	if (st) {
		store_bind_text(st, 1, inbox_id);
		if (sqlite3_step(st) == SQLITE_ROW)
			doc = json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL);
	}
	store_finish(st);
	if (!json_is_object(doc)) {
		json_decref(doc);
		doc = json_object();
	}
	return doc;
}

static int
settings_update_fn(sqlite3 *conn, void *arg)
{
	struct update_job *j = arg;
	json_t *doc = current_settings(conn, j->inbox_id);
	sqlite3_stmt *st;
	int rc = store__webhook_cursor_catch_up(conn);

	if (rc == STORE_OK)
		rc = j->mutate((struct json_t *)doc, j->arg);

	if (rc == STORE_OK) {
		j->result = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
		st = store_prepare(conn, "INSERT INTO inbox_settings (inbox_id, "
		    "settings, updated_at) VALUES (?1, ?2, ?3) ON CONFLICT (inbox_id) "
		    "DO UPDATE SET settings = ?2, updated_at = ?3");
		rc = STORE_ERR_SQL;
		if (st) {
			store_bind_text(st, 1, j->inbox_id);
			store_bind_text(st, 2, j->result);
			sqlite3_bind_int64(st, 3, time_now_ms());
			rc = store_step_done(st);
			store_finish(st);
		}
	}
	json_decref(doc);
	return rc == STORE_OK ? store_audit_append(conn, j->audit) : rc;
}

int
store_inbox_settings_update(struct store_db *db, const char *inbox_id,
    store_settings_mutate_fn mutate, void *arg, const struct store_audit *audit,
    char **result_r)
{
	struct update_job j = { inbox_id, mutate, arg, audit, NULL };
	int rc = store_db_write(db, settings_update_fn, &j);

	if (rc == STORE_OK && result_r)
		*result_r = j.result;
	else
		free(j.result);
	return rc;
}

#define RULE_COLUMNS "id, inbox_id, destination, condition_type, " \
	"condition_value, priority, enabled, created_at, updated_at"

static void
read_rule(sqlite3_stmt *st, struct forwarding_rule_row *r)
{
	memset(r, 0, sizeof(*r));
	store__copy_col(st, 0, r->id, sizeof(r->id));
	store__copy_col(st, 1, r->inbox_id, sizeof(r->inbox_id));
	r->destination = store_col_text(st, 2);
	store__copy_col(st, 3, r->condition_type, sizeof(r->condition_type));
	r->condition_value = store_col_text(st, 4);
	r->priority = sqlite3_column_int64(st, 5);
	r->enabled = sqlite3_column_int(st, 6) != 0;
	r->created_at = sqlite3_column_int64(st, 7);
	r->updated_at = sqlite3_column_int64(st, 8);
}

void
forwarding_rule_row_free(struct forwarding_rule_row *r)
{
	xfree(&r->destination);
	xfree(&r->condition_value);
}

void
forwarding_rule_rows_free(struct forwarding_rule_row *rows, int n)
{
	for (int i = 0; i < n; i++)
		forwarding_rule_row_free(&rows[i]);
	free(rows);
}

static void
bind_rule(sqlite3_stmt *st, const void *row)
{
	const struct forwarding_rule_row *r = row;

	store_bind_text(st, 1, r->id);
	store_bind_text(st, 2, r->inbox_id);
	store_bind_text(st, 3, r->destination);
	store_bind_text(st, 4, r->condition_type);
	store_bind_text(st, 5, r->condition_value);
	sqlite3_bind_int64(st, 6, r->priority);
	sqlite3_bind_int(st, 7, r->enabled);
	sqlite3_bind_int64(st, 8, r->created_at);
	sqlite3_bind_int64(st, 9, r->updated_at);
}

int
store_forwarding_rules_create(struct store_db *db,
    const struct forwarding_rule_row *r, const struct store_audit *audit)
{
	struct store_row_write w = { .sql = "INSERT INTO forwarding_rules ("
	    RULE_COLUMNS ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", .bind = bind_rule,
	    .row = r, .audit = audit };

	return store__write_row(db, &w);
}

int
store_forwarding_rules_update(struct store_db *db,
    const struct forwarding_rule_row *r, const struct store_audit *audit)
{
	struct store_row_write w = { .sql = "UPDATE forwarding_rules SET "
	    "id = ?1, inbox_id = ?2, destination = ?3, condition_type = ?4, "
	    "condition_value = ?5, priority = ?6, enabled = ?7, created_at = ?8, "
	    "updated_at = ?9 WHERE id = ?1", .bind = bind_rule, .row = r,
	    .must_change = true, .audit = audit };

	return store__write_row(db, &w);
}

int
store_forwarding_rules_delete(struct store_db *db, const char *id,
    const struct store_audit *audit)
{
	struct store_row_write w = { .sql = "DELETE FROM forwarding_rules WHERE id = ?",
	    .id = id, .must_change = true, .audit = audit };

	return store__write_row(db, &w);
}

int
store_forwarding_rules_list(struct store_db *db, const char *inbox_id,
    struct forwarding_rule_row **rows_r, int *n_r)
{
	sqlite3 *conn = store_db_acquire(db);
	sqlite3_stmt *st = store_prepare(conn, "SELECT " RULE_COLUMNS " FROM "
	    "forwarding_rules WHERE inbox_id = ? ORDER BY priority, created_at, id");
	struct forwarding_rule_row *rows = NULL;
	int n = 0, rc = STORE_ERR_SQL;

	if (st) {
		store_bind_text(st, 1, inbox_id);
		while (sqlite3_step(st) == SQLITE_ROW) {
			rows = xrealloc(rows, (size_t)(n + 1) * sizeof(*rows));
			read_rule(st, &rows[n++]);
		}
		rc = STORE_OK;
	}
	store_finish(st);
	store_db_release(db, &conn);
	*rows_r = rows;
	*n_r = n;
	return rc;
}

int
store_forwarding_rules_get(struct store_db *db, const char *id,
    struct forwarding_rule_row *out)
{
	sqlite3 *conn = store_db_acquire(db);
	sqlite3_stmt *st = store_prepare(conn, "SELECT " RULE_COLUMNS " FROM "
	    "forwarding_rules WHERE id = ?");
	int rc = STORE_ERR_SQL;

	memset(out, 0, sizeof(*out));
	if (st) {
		store_bind_text(st, 1, id);
		rc = STORE_ERR_NOT_FOUND;
		if (sqlite3_step(st) == SQLITE_ROW) {
			read_rule(st, out);
			rc = STORE_OK;
		}
	}
	store_finish(st);
	store_db_release(db, &conn);
	return rc;
}

/*
 * store_labels.c - label rows and message_labels.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gent/store_events.h"
#include "gent/store_labels.h"
#include "gent/timefmt.h"
#include "gent/util.h"
#include "store_int.h"

#define LABEL_COLUMNS "id, inbox_id, name, label_scope, label_type, color, " \
	"policies, created_at, updated_at"

static void
read_label(sqlite3_stmt *st, void *row)
{
	struct label_row *r = row;

	memset(r, 0, sizeof(*r));
	store__copy_col(st, 0, r->id, sizeof(r->id));
	store__copy_col(st, 1, r->inbox_id, sizeof(r->inbox_id));
	r->name = store_col_text(st, 2);
	store__copy_col(st, 3, r->label_scope, sizeof(r->label_scope));
	store__copy_col(st, 4, r->label_type, sizeof(r->label_type));
	r->color = store_col_text(st, 5);
	r->policies = store_col_text(st, 6);
	r->created_at = sqlite3_column_int64(st, 7);
	r->updated_at = sqlite3_column_int64(st, 8);
}

void
label_row_free(struct label_row *r)
{
	xfree(&r->name);
	xfree(&r->color);
	xfree(&r->policies);
}

void
label_rows_free(struct label_row *rows, int n)
{
	for (int i = 0; i < n; i++)
		label_row_free(&rows[i]);
	free(rows);
}

/* Run a SELECT of LABEL_COLUMNS with one text bind; all rows. */
static int
select_labels(struct store_db *db, const char *sql, const char *bind,
    struct label_row **rows_r, int *n_r)
{
	return store__select_all(db, sql, bind, sizeof(**rows_r), read_label,
	    (void **)rows_r, n_r);
}

int
store_labels_list(struct store_db *db, const char *inbox_id,
    struct label_row **rows_r, int *n_r)
{
	return select_labels(db, "SELECT " LABEL_COLUMNS " FROM labels WHERE "
	    "inbox_id = ? ORDER BY name COLLATE NOCASE, id", inbox_id, rows_r, n_r);
}

int
store_labels_of_message(struct store_db *db, const char *message_id,
    struct label_row **rows_r, int *n_r)
{
	return select_labels(db, "SELECT l.id, l.inbox_id, l.name, l.label_scope, "
	    "l.label_type, l.color, l.policies, l.created_at, l.updated_at FROM "
	    "message_labels ml JOIN labels l ON l.id = ml.label_id WHERE "
	    "ml.message_id = ? ORDER BY ml.applied_at, l.id", message_id, rows_r, n_r);
}

int
store_labels_get(struct store_db *db, const char *id, struct label_row *out)
{
	return store__select_one(db, "SELECT " LABEL_COLUMNS
	    " FROM labels WHERE id = ?", id, sizeof(*out), read_label, out);
}

int
store_labels_count(struct store_db *db, const char *inbox_id, int *n_r)
{
	sqlite3 *conn = store_db_acquire(db);
	sqlite3_stmt *st = store_prepare(conn, "SELECT count(*) FROM labels "
	    "WHERE inbox_id = ?");
	int rc = STORE_ERR_SQL;

	*n_r = 0;
	if (st) {
		store_bind_text(st, 1, inbox_id);
		if (sqlite3_step(st) == SQLITE_ROW) {
			*n_r = sqlite3_column_int(st, 0);
			rc = STORE_OK;
		}
	}
	store_finish(st);
	store_db_release(db, &conn);
	return rc;
}

static void
bind_label(sqlite3_stmt *st, const void *row)
{
	const struct label_row *r = row;

	store_bind_text(st, 1, r->id);
	store_bind_text(st, 2, r->inbox_id);
	store_bind_text(st, 3, r->name);
	store_bind_text(st, 4, r->label_scope);
	store_bind_text(st, 5, r->label_type);
	store_bind_text(st, 6, r->color);
	store_bind_text(st, 7, r->policies ? r->policies : "{}");
	sqlite3_bind_int64(st, 8, r->created_at);
	sqlite3_bind_int64(st, 9, r->updated_at);
}

int
store_labels_create(struct store_db *db, const struct label_row *r,
    const struct store_audit *audit)
{
	struct store_row_write w = { .sql = "INSERT INTO labels (" LABEL_COLUMNS
	    ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", .bind = bind_label, .row = r,
	    .audit = audit };

	return store__write_row(db, &w);
}

int
store_labels_update(struct store_db *db, const struct label_row *r,
    const struct store_audit *audit)
{
	struct store_row_write w = { .sql = "UPDATE labels SET name = ?3, "
	    "label_scope = ?4, color = ?6, policies = ?7, updated_at = ?9 WHERE "
	    "id = ?1 AND inbox_id = ?2 AND label_type = ?5 AND created_at = ?8",
	    .bind = bind_label, .row = r, .must_change = true, .audit = audit };

	return store__write_row(db, &w);
}

/* The message's inbox and thread, and the label's name and policies. */
struct apply_facts {
	char	 inbox_id[64], thread_id[64];
	char	*label_name;
	bool	 notify;
};

static int
apply_facts(sqlite3 *conn, const char *message_id, const char *label_id,
    struct apply_facts *f)
{
	sqlite3_stmt *st = store_prepare(conn, "SELECT m.inbox_id, m.thread_id, "
	    "l.name, json_extract(l.policies, '$.notify') FROM messages m JOIN labels l "
	    "ON l.inbox_id = m.inbox_id WHERE m.id = ? AND l.id = ?");
	int rc = STORE_ERR_SQL;

	memset(f, 0, sizeof(*f));
	if (st) {
		store_bind_text(st, 1, message_id);
		store_bind_text(st, 2, label_id);
		rc = STORE_ERR_NOT_FOUND;
		if (sqlite3_step(st) == SQLITE_ROW) {
			store__copy_col(st, 0, f->inbox_id, sizeof(f->inbox_id));
			store__copy_col(st, 1, f->thread_id, sizeof(f->thread_id));
			f->label_name = store_col_text(st, 2);
			f->notify = sqlite3_column_int(st, 3) != 0;
			rc = STORE_OK;
		}
	}
	store_finish(st);
	return rc;
}

/* label.applied / label.removed with what a consumer needs to act. */
static int
label_event(sqlite3 *conn, const char *type, const struct apply_facts *f,
    const char *message_id, const char *label_id, const char *by,
    const char *source, const char *rule_id)
{
	json_t *p = json_pack("{s:s, s:s, s:s, s:s, s:o, s:b}", "label_id", label_id,
	    "label_name", f->label_name ? f->label_name : "", "by", by,
	    "source", source, "rule_id", rule_id ? json_string(rule_id) : json_null(),
	    "notify", f->notify);
	char *text = json_dumps(p, JSON_COMPACT);
	struct store_event e = { type, f->inbox_id, message_id, f->thread_id, text };
	int rc = store_events_append(conn, &e);

	free(text);
	json_decref(p);
	return rc;
}

int
store__label_apply(sqlite3 *conn, const struct label_apply *a, bool *changed_r)
{
	struct apply_facts f;
	sqlite3_stmt *st;
	int rc = apply_facts(conn, a->message_id, a->label_id, &f);

	*changed_r = false;
	if (rc != STORE_OK)
		return rc;
	st = store_prepare(conn, "INSERT OR IGNORE INTO message_labels (message_id, "
	    "label_id, applied_by, applied_at) VALUES (?, ?, ?, ?)");
	rc = STORE_ERR_SQL;
	if (st) {
		store_bind_text(st, 1, a->message_id);
		store_bind_text(st, 2, a->label_id);
		store_bind_text(st, 3, a->applied_by);
		sqlite3_bind_int64(st, 4, time_now_ms());
		rc = store_step_done(st);
		*changed_r = rc == STORE_OK && sqlite3_changes(conn) > 0;
	}
	store_finish(st);
	if (rc == STORE_OK && *changed_r)
		rc = label_event(conn, "label.applied", &f, a->message_id, a->label_id,
		    a->applied_by, a->source, a->rule_id);
	if (rc == STORE_OK && *changed_r && a->forward)
		rc = store_outbound_append(conn, a->forward);
	free(f.label_name);
	return rc;
}

struct apply_job {
	const struct label_apply	*a;
	const struct store_audit	*audit;
	bool				 changed;
};

static int
apply_fn(sqlite3 *conn, void *arg)
{
	struct apply_job *j = arg;
	int rc = store__label_apply(conn, j->a, &j->changed);

	return rc == STORE_OK && j->changed ? store_audit_append(conn, j->audit) : rc;
}

int
store_labels_apply(struct store_db *db, const struct label_apply *a,
    const struct store_audit *audit, bool *changed_r)
{
	struct apply_job j = { a, audit, false };
	int rc = store_db_write(db, apply_fn, &j);

	*changed_r = j.changed;
	return rc;
}

struct remove_job {
	const char			*message_id, *label_id, *by;
	const struct store_audit	*audit;
	bool				 changed;
};

static int
remove_fn(sqlite3 *conn, void *arg)
{
	struct remove_job *j = arg;
	struct apply_facts f;
	sqlite3_stmt *st;
	int rc = apply_facts(conn, j->message_id, j->label_id, &f);

	if (rc != STORE_OK)
		return rc;
	st = store_prepare(conn, "DELETE FROM message_labels WHERE message_id = ? "
	    "AND label_id = ?");
	rc = STORE_ERR_SQL;
	if (st) {
		store_bind_text(st, 1, j->message_id);
		store_bind_text(st, 2, j->label_id);
		rc = store_step_done(st);
		j->changed = rc == STORE_OK && sqlite3_changes(conn) > 0;
	}
	store_finish(st);
	if (rc == STORE_OK && j->changed)
		rc = label_event(conn, "label.removed", &f, j->message_id, j->label_id,
		    j->by, "api", NULL);
	if (rc == STORE_OK && j->changed)
		rc = store_audit_append(conn, j->audit);
	free(f.label_name);
	return rc;
}

int
store_labels_remove(struct store_db *db, const char *message_id,
    const char *label_id, const char *removed_by,
    const struct store_audit *audit, bool *changed_r)
{
	struct remove_job j = { message_id, label_id, removed_by, audit, false };
	int rc = store_db_write(db, remove_fn, &j);

	*changed_r = j.changed;
	return rc;
}

/* label.removed for every message that loses the label with it. */
static int
removed_with_label(sqlite3 *conn, const char *label_id, const char *by)
{
	sqlite3_stmt *st = store_prepare(conn, "SELECT ml.message_id, m.inbox_id, "
	    "m.thread_id, l.name FROM message_labels ml JOIN messages m ON m.id = "
	    "ml.message_id JOIN labels l ON l.id = ml.label_id WHERE ml.label_id = ? "
	    "ORDER BY ml.applied_at, ml.message_id");
	int rc = STORE_ERR_SQL;

	if (!st)
		return rc;
	store_bind_text(st, 1, label_id);
	rc = STORE_OK;
	while (rc == STORE_OK && sqlite3_step(st) == SQLITE_ROW) {
		struct apply_facts f = { .label_name = store_col_text(st, 3) };
		char *message_id = store_col_text(st, 0);
		store__copy_col(st, 1, f.inbox_id, sizeof(f.inbox_id));
		store__copy_col(st, 2, f.thread_id, sizeof(f.thread_id));
		rc = label_event(conn, "label.removed", &f, message_id, label_id, by,
		    "label_deleted", NULL);
		free(message_id);
		free(f.label_name);
	}
	store_finish(st);
	return rc;
}

static int
removed_before_delete(sqlite3 *conn, const struct store_row_write *w)
{
	return removed_with_label(conn, w->id, w->before_arg);
}

int
store_labels_delete(struct store_db *db, const char *id, const char *removed_by,
    const struct store_audit *audit)
{
	/* The message_labels rows go with it (ON DELETE CASCADE). */
	struct store_row_write w = { .sql = "DELETE FROM labels WHERE id = ?",
	    .id = id, .must_change = true, .before = removed_before_delete,
	    .before_arg = removed_by, .audit = audit };

	return store__write_row(db, &w);
}

char *
store_labels_thread_block_reply(struct store_db *db, const char *thread_id)
{
	sqlite3 *conn = store_db_acquire(db);
	sqlite3_stmt *st = store_prepare(conn, "SELECT l.name FROM messages m JOIN "
	    "message_labels ml ON ml.message_id = m.id JOIN labels l ON l.id = "
	    "ml.label_id WHERE m.thread_id = ? AND json_extract(l.policies, "
	    "'$.block_reply') = 1 LIMIT 1");
	char *name = NULL;

	if (st) {
		store_bind_text(st, 1, thread_id);
		if (sqlite3_step(st) == SQLITE_ROW)
			name = store_col_text(st, 0);
	}
	store_finish(st);
	store_db_release(db, &conn);
	return name;
}

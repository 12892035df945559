/*
 * store_label_rules.c - auto-label rule rows and their order.
 *
 * Positions stay dense (0..n-1) per inbox: every write that changes the
 * set or the order renumbers the inbox's rules in its own transaction,
 * so "position" in the API is always the rule's rank.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gent/store_label_rules.h"
#include "gent/util.h"
#include "store_int.h"

#define RULE_COLUMNS "id, inbox_id, label_id, name, match, conditions, " \
	"position, enabled, created_at, updated_at"

static void
read_rule(sqlite3_stmt *st, void *row)
{
	struct label_rule_row *r = row;

	memset(r, 0, sizeof(*r));
	store__copy_col(st, 0, r->id, sizeof(r->id));
	store__copy_col(st, 1, r->inbox_id, sizeof(r->inbox_id));
	store__copy_col(st, 2, r->label_id, sizeof(r->label_id));
	r->name = store_col_text(st, 3);
	store__copy_col(st, 4, r->match, sizeof(r->match));
	r->conditions = store_col_text(st, 5);
	r->position = sqlite3_column_int64(st, 6);
	r->enabled = sqlite3_column_int(st, 7) != 0;
	r->created_at = sqlite3_column_int64(st, 8);
	r->updated_at = sqlite3_column_int64(st, 9);
}

void
label_rule_row_free(struct label_rule_row *r)
{
	xfree(&r->name);
	xfree(&r->conditions);
}

void
label_rule_rows_free(struct label_rule_row *rows, int n)
{
	for (int i = 0; i < n; i++)
		label_rule_row_free(&rows[i]);
	free(rows);
}

static int
select_rules(struct store_db *db, const char *sql, const char *bind,
    struct label_rule_row **rows_r, int *n_r)
{
	return store__select_all(db, sql, bind, sizeof(**rows_r), read_rule,
	    (void **)rows_r, n_r);
}

int
store_label_rules_list(struct store_db *db, const char *inbox_id,
    struct label_rule_row **rows_r, int *n_r)
{
	return select_rules(db, "SELECT " RULE_COLUMNS " FROM auto_label_rules "
	    "WHERE inbox_id = ? ORDER BY position, created_at, id", inbox_id,
	    rows_r, n_r);
}

int
store_label_rules_get(struct store_db *db, const char *id,
    struct label_rule_row *out)
{
	return store__select_one(db, "SELECT " RULE_COLUMNS
	    " FROM auto_label_rules WHERE id = ?", id, sizeof(*out), read_rule, out);
}

/* The inbox's rule ids in order, read inside the writing transaction. */
struct id_list {
	char	**ids;
	size_t	  n;
};

static void
id_list_free(struct id_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->ids[i]);
	free(l->ids);
	memset(l, 0, sizeof(*l));
}

static int
ordered_ids(sqlite3 *conn, const char *inbox_id, struct id_list *l)
{
	sqlite3_stmt *st = store_prepare(conn, "SELECT id FROM auto_label_rules "
	    "WHERE inbox_id = ? ORDER BY position, created_at, id");

	memset(l, 0, sizeof(*l));
	if (!st)
		return STORE_ERR_SQL;
	store_bind_text(st, 1, inbox_id);
	while (sqlite3_step(st) == SQLITE_ROW) {
		l->ids = xrealloc(l->ids, (l->n + 1) * sizeof(char *));
		l->ids[l->n++] = store_col_text(st, 0);
	}
	store_finish(st);
	return STORE_OK;
}

/* Take id out of the list (if there) and put it at rank at (clamped). */
static size_t
id_list_move(struct id_list *l, const char *id, int64_t at)
{
	char *keep = NULL;
	size_t k = 0;

	for (size_t i = 0; i < l->n; i++) {
		if (!keep && strcmp(l->ids[i], id) == 0)
			keep = l->ids[i];
		else
			l->ids[k++] = l->ids[i];
	}
	if (!keep) {
		keep = xstrdup(id);
		l->ids = xrealloc(l->ids, (l->n + 1) * sizeof(char *));
	}
	l->n = k + 1;
	if (at < 0 || (size_t)at > k)
		at = (int64_t)k;
	memmove(&l->ids[at + 1], &l->ids[at], (k - (size_t)at) * sizeof(char *));
	l->ids[at] = keep;
	return (size_t)at;
}

static int
renumber(sqlite3 *conn, char *const *ids, size_t n)
{
	sqlite3_stmt *st = store_prepare(conn, "UPDATE auto_label_rules SET "
	    "position = ? WHERE id = ?");
	int rc = st ? STORE_OK : STORE_ERR_SQL;

	for (size_t i = 0; st && i < n && rc == STORE_OK; i++) {
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, (int64_t)i);
		store_bind_text(st, 2, ids[i]);
		rc = store_step_done(st);
	}
	store_finish(st);
	return rc;
}

/* The label must exist in the rule's inbox (it may have been deleted). */
static int
label_in_inbox(sqlite3 *conn, const struct label_rule_row *r)
{
	sqlite3_stmt *st = store_prepare(conn, "SELECT 1 FROM labels WHERE id = ? "
	    "AND inbox_id = ?");
	int rc = STORE_ERR_SQL;

	if (st) {
		store_bind_text(st, 1, r->label_id);
		store_bind_text(st, 2, r->inbox_id);
		rc = sqlite3_step(st) == SQLITE_ROW ? STORE_OK : STORE_ERR_NOT_FOUND;
	}
	store_finish(st);
	return rc;
}

/* Put r at rank at among its inbox's rules and renumber them all. */
static int
place(sqlite3 *conn, struct label_rule_row *r, int64_t at)
{
	struct id_list l;
	int rc = ordered_ids(conn, r->inbox_id, &l);

	if (rc == STORE_OK) {
		r->position = (int64_t)id_list_move(&l, r->id, at);
		rc = renumber(conn, l.ids, l.n);
	}
	id_list_free(&l);
	return rc;
}

struct rule_job {
	struct label_rule_row		*r;
	int64_t				 at;
	const char			*id;
	const struct store_audit	*audit;
};

static int
create_fn(sqlite3 *conn, void *arg)
{
	struct rule_job *j = arg;
	struct label_rule_row *r = j->r;
	sqlite3_stmt *st;
	int rc = label_in_inbox(conn, r);

	if (rc != STORE_OK)
		return rc;
	st = store_prepare(conn, "INSERT INTO auto_label_rules (" RULE_COLUMNS
	    ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
	if (!st)
		return STORE_ERR_SQL;
	store_bind_text(st, 1, r->id);
	store_bind_text(st, 2, r->inbox_id);
	store_bind_text(st, 3, r->label_id);
	store_bind_text(st, 4, r->name);
	store_bind_text(st, 5, r->match);
	store_bind_text(st, 6, r->conditions);
	sqlite3_bind_int64(st, 7, INT32_MAX);	/* placed just below */
	sqlite3_bind_int(st, 8, r->enabled);
	sqlite3_bind_int64(st, 9, r->created_at);
	sqlite3_bind_int64(st, 10, r->updated_at);
	rc = store_step_done(st);
	store_finish(st);
	if (rc == STORE_OK)
		rc = place(conn, r, j->at);
	return rc == STORE_OK ? store_audit_append(conn, j->audit) : rc;
}

int
store_label_rules_create(struct store_db *db, struct label_rule_row *r,
    const struct store_audit *audit)
{
	struct rule_job j = { r, r->position, NULL, audit };

	return store_db_write(db, create_fn, &j);
}

static int
update_fn(sqlite3 *conn, void *arg)
{
	struct rule_job *j = arg;
	struct label_rule_row *r = j->r;
	sqlite3_stmt *st;
	int rc = label_in_inbox(conn, r);

	if (rc != STORE_OK)
		return rc;
	st = store_prepare(conn, "UPDATE auto_label_rules SET label_id = ?, name = ?, "
	    "match = ?, conditions = ?, enabled = ?, updated_at = ? WHERE id = ?");
	if (!st)
		return STORE_ERR_SQL;
	store_bind_text(st, 1, r->label_id);
	store_bind_text(st, 2, r->name);
	store_bind_text(st, 3, r->match);
	store_bind_text(st, 4, r->conditions);
	sqlite3_bind_int(st, 5, r->enabled);
	sqlite3_bind_int64(st, 6, r->updated_at);
	store_bind_text(st, 7, r->id);
	rc = store_step_done(st);
	if (rc == STORE_OK && sqlite3_changes(conn) == 0)
		rc = STORE_ERR_NOT_FOUND;
	store_finish(st);
	if (rc == STORE_OK && j->at >= 0)
		rc = place(conn, r, j->at);
	return rc == STORE_OK ? store_audit_append(conn, j->audit) : rc;
}

int
store_label_rules_update(struct store_db *db, struct label_rule_row *r,
    int64_t move_to, const struct store_audit *audit)
{
	struct rule_job j = { r, move_to, NULL, audit };

	return store_db_write(db, update_fn, &j);
}

static int
delete_fn(sqlite3 *conn, void *arg)
{
	struct rule_job *j = arg;
	sqlite3_stmt *st = store_prepare(conn, "DELETE FROM auto_label_rules "
	    "WHERE id = ? RETURNING inbox_id");
	char *inbox_id = NULL;
	struct id_list l = { 0 };
	int rc;

	if (!st)
		return STORE_ERR_SQL;
	store_bind_text(st, 1, j->id);
	rc = sqlite3_step(st) == SQLITE_ROW ? STORE_OK : STORE_ERR_NOT_FOUND;
	if (rc == STORE_OK)
		inbox_id = store_col_text(st, 0);
	store_finish(st);
	if (rc == STORE_OK && (rc = ordered_ids(conn, inbox_id, &l)) == STORE_OK)
		rc = renumber(conn, l.ids, l.n);
	id_list_free(&l);
	free(inbox_id);
	return rc == STORE_OK ? store_audit_append(conn, j->audit) : rc;
}

int
store_label_rules_delete(struct store_db *db, const char *id,
    const struct store_audit *audit)
{
	struct rule_job j = { NULL, -1, id, audit };

	return store_db_write(db, delete_fn, &j);
}

struct reorder_job {
	const char			*inbox_id;
	const char *const		*ids;
	size_t				 n;
	const struct store_audit	*audit;
};

/* Is want a permutation of have? (n is small: at most the rule cap.) */
static bool
same_set(const struct id_list *have, const char *const *want, size_t n)
{
	if (have->n != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		size_t seen = 0, found = 0;
		for (size_t k = 0; k < n; k++) {
			seen += strcmp(want[k], want[i]) == 0;
			found += strcmp(have->ids[k], want[i]) == 0;
		}
		if (seen != 1 || found != 1)
			return false;
	}
	return true;
}

static int
reorder_fn(sqlite3 *conn, void *arg)
{
	struct reorder_job *j = arg;
	struct id_list l;
	int rc = ordered_ids(conn, j->inbox_id, &l);

	if (rc == STORE_OK && !same_set(&l, j->ids, j->n))
		rc = STORE_ERR_INVALID;
	if (rc == STORE_OK)
		rc = renumber(conn, (char *const *)j->ids, j->n);
	id_list_free(&l);
	return rc == STORE_OK ? store_audit_append(conn, j->audit) : rc;
}

int
store_label_rules_reorder(struct store_db *db, const char *inbox_id,
    const char *const *ids, size_t n, const struct store_audit *audit)
{
	struct reorder_job j = { inbox_id, ids, n, audit };

	return store_db_write(db, reorder_fn, &j);
}

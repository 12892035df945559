/*
 * store_audit.c - audit rows: listing and the chain check.
 *
 * The check walks rows by seq: every chained row's prev_hash must be the
 * hash of the chained row before it (or "" for the first), and its hash
 * must be what store_audit_hash() gives for its fields. A changed field,
 * a row taken out or put in between breaks one of the two.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gent/ids.h"
#include "gent/store_audit.h"
#include "gent/util.h"
#include "store_int.h"

#define AUDIT_COLUMNS "seq, id, tenant_id, actor_type, actor_id, action, " \
	"target_type, target_id, detail, request_id, prev_hash, hash, created_at, " \
	"inbox_id"

static void
read_audit(sqlite3_stmt *st, struct audit_row *a)
{
	memset(a, 0, sizeof(*a));
	a->seq = sqlite3_column_int64(st, 0);
	store__copy_col(st, 1, a->id, sizeof(a->id));
	a->tenant_id = store_col_text(st, 2);
	a->actor_type = store_col_text(st, 3);
	a->actor_id = store_col_text(st, 4);
	a->action = store_col_text(st, 5);
	a->target_type = store_col_text(st, 6);
	a->target_id = store_col_text(st, 7);
	a->detail = store_col_text(st, 8);
	a->request_id = store_col_text(st, 9);
	a->prev_hash = store_col_text(st, 10);
	a->hash = store_col_text(st, 11);
	a->created_at = sqlite3_column_int64(st, 12);
	a->inbox_id = store_col_text(st, 13);
}

static void
audit_row_clear(struct audit_row *a)
{
	char **f[] = { &a->tenant_id, &a->actor_type, &a->actor_id, &a->action,
	    &a->target_type, &a->target_id, &a->detail, &a->request_id,
	    &a->prev_hash, &a->hash, &a->inbox_id };

	for (size_t i = 0; i < GENT_ARRAY_LEN(f); i++)
		xfree(f[i]);
}

void
audit_rows_free(struct audit_row *rows, int n)
{
	for (int i = 0; i < n; i++)
		audit_row_clear(&rows[i]);
	free(rows);
}

int
store_audit_list(struct store_db *db, const struct audit_filter *f, int limit,
    int64_t cursor_ms, const char *cursor_id, struct audit_row **rows_r, int *n_r)
{
	sqlite3 *conn = store_db_acquire(db);
	sqlite3_stmt *st = store_prepare(conn, "SELECT " AUDIT_COLUMNS " FROM audit "
	    "WHERE (?1 IS NULL OR tenant_id = ?1) AND (?2 IS NULL OR actor_id = ?2) AND "
	    "(?3 IS NULL OR action = ?3) AND (?4 IS NULL OR target_id = ?4) AND "
	    "(?5 = 0 OR created_at >= ?5) AND (?6 = 0 OR created_at < ?6) AND "
	    "(?7 IS NULL OR created_at < ?8 OR (created_at = ?8 AND id < ?7)) AND "
	    "(?10 IS NULL OR inbox_id = ?10 OR target_id = ?10) AND "
	    "(?11 IS NULL OR actor_type = ?11) "
	    "ORDER BY created_at DESC, id DESC LIMIT ?9");
	struct audit_row *rows = xcalloc((size_t)limit, sizeof(*rows));
	int n = 0, rc = STORE_ERR_SQL;

	if (st) {
		store_bind_text(st, 1, f->tenant_id);
		store_bind_text(st, 2, f->actor_id);
		store_bind_text(st, 3, f->action);
		store_bind_text(st, 4, f->target_id);
		sqlite3_bind_int64(st, 5, f->after_ms);
		sqlite3_bind_int64(st, 6, f->before_ms);
		store_bind_text(st, 7, cursor_id);
		sqlite3_bind_int64(st, 8, cursor_ms);
		sqlite3_bind_int(st, 9, limit);
		store_bind_text(st, 10, f->inbox_id);
		store_bind_text(st, 11, f->actor_type);
		while (n < limit && sqlite3_step(st) == SQLITE_ROW)
			read_audit(st, &rows[n++]);
		rc = STORE_OK;
	}
	store_finish(st);
	store_db_release(db, &conn);
	*rows_r = rows;
	*n_r = n;
	return rc;
}

/* Does row a hold at its place after prev (the previous chained hash)? */
static bool
row_holds(const struct audit_row *a, const char *prev, char *why, size_t cap)
{
	char when[24], want[IDS_DIGEST_HEX_LEN + 1];

	snprintf(when, sizeof(when), "%lld", (long long)a->created_at);
	const char *fields[AUDIT_HASHED_FIELDS] = { a->id, a->tenant_id, a->actor_type,
	    a->actor_id, a->action, a->target_type, a->target_id, a->detail,
	    a->request_id, when, a->inbox_id };
	if (!a->prev_hash || strcmp(a->prev_hash, prev) != 0) {
		snprintf(why, cap, "row %lld does not follow the row before it "
		    "(a row was removed, added or changed before it)", (long long)a->seq);
		return false;
	}
	store_audit_hash(prev, fields, want);
	if (strcmp(want, a->hash) != 0) {
		snprintf(why, cap, "row %lld was changed after it was written",
		    (long long)a->seq);
		return false;
	}
	return true;
}

/* Where the chain must begin: "" or the anchor left by a prune. */
static void
anchor_of(sqlite3 *conn, char out[IDS_DIGEST_HEX_LEN + 1])
{
	sqlite3_stmt *st = store_prepare(conn, "SELECT prev_hash FROM audit_anchor "
	    "WHERE id = 1");

	out[0] = '\0';
	if (st && sqlite3_step(st) == SQLITE_ROW)
		store__copy_col(st, 0, out, IDS_DIGEST_HEX_LEN + 1);
	store_finish(st);
}

struct prune_job {
	int64_t	 cutoff;
	int	 removed;
};

static int
prune_fn(sqlite3 *conn, void *arg)
{
	struct prune_job *j = arg;
	static const char *const lift = "DROP TRIGGER audit_no_delete";
	static const char *const restore = "CREATE TRIGGER audit_no_delete BEFORE "
	    "DELETE ON audit BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END";
	sqlite3_stmt *st;
	int rc = STORE_ERR_SQL;

	if (sqlite3_exec(conn, lift, NULL, NULL, NULL) != SQLITE_OK)
		return STORE_ERR_SQL;
	st = store_prepare(conn, "DELETE FROM audit WHERE created_at < ?");
	if (st) {
		sqlite3_bind_int64(st, 1, j->cutoff);
		rc = store_step_done(st);
		j->removed = sqlite3_changes(conn);
	}
	store_finish(st);
	/* The first row left (if any) now starts the chain. */
	if (rc == STORE_OK && j->removed > 0) {
		/* No row left: the next one starts a new chain from "". */
		st = store_prepare(conn, "INSERT OR REPLACE INTO audit_anchor (id, "
		    "prev_hash, pruned_before) VALUES (1, coalesce((SELECT prev_hash FROM "
		    "audit WHERE hash IS NOT NULL ORDER BY seq LIMIT 1), ''), ?)");
		rc = STORE_ERR_SQL;
		if (st) {
			sqlite3_bind_int64(st, 1, j->cutoff);
			rc = store_step_done(st);
		}
		store_finish(st);
	}
	if (sqlite3_exec(conn, restore, NULL, NULL, NULL) != SQLITE_OK)
		rc = STORE_ERR_SQL;
	if (rc == STORE_OK && j->removed > 0) {
		char detail[64];
		snprintf(detail, sizeof(detail), "{\"removed\":%d}", j->removed);
		struct store_audit a = { .actor_type = "system", .actor_id = "retention",
		    .action = "audit.pruned", .detail_json = detail };
		rc = store_audit_append(conn, &a);
	}
	return rc;
}

int
store_audit_prune(struct store_db *db, int64_t cutoff, int *removed_r)
{
	struct prune_job j = { cutoff, 0 };
	int rc = store_db_write(db, prune_fn, &j);

	*removed_r = rc == STORE_OK ? j.removed : 0;
	return rc;
}

int
store_audit_verify(struct store_db *db, struct audit_check *out)
{
	sqlite3 *conn = store_db_acquire(db);
	sqlite3_stmt *st = store_prepare(conn, "SELECT " AUDIT_COLUMNS " FROM audit "
	    "ORDER BY seq");
	char prev[IDS_DIGEST_HEX_LEN + 1] = "";
	int rc = STORE_ERR_SQL;

	memset(out, 0, sizeof(*out));
	anchor_of(conn, prev);
	if (st) {
		struct audit_row a;
		while (sqlite3_step(st) == SQLITE_ROW) {
			read_audit(st, &a);
			out->rows++;
			if (a.hash) {
				out->chained++;
				if (!out->first_bad_seq && !row_holds(&a, prev, out->why,
				    sizeof(out->why)))
					out->first_bad_seq = a.seq;
				snprintf(prev, sizeof(prev), "%s", a.hash);
			} else if (out->chained && !out->first_bad_seq) {
				/* After the chain began, every row must carry a hash. */
				out->first_bad_seq = a.seq;
				snprintf(out->why, sizeof(out->why), "row %lld has no hash",
				    (long long)a.seq);
			}
			audit_row_clear(&a);
		}
		rc = STORE_OK;
	}
	store_finish(st);
	store_db_release(db, &conn);
	return rc;
}

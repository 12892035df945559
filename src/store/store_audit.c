/*
 * store_audit.c - audit rows: listing, the prune, and the chain check.
 *
 * The check walks rows by seq inside one read transaction, starting from
 * the anchor in the audit head: every chained row's prev_hash must be the
 * hash of the chained row before it, and its hash what store_audit_hash()
 * gives for its fields - under the audit key from the head's keyed_from
 * on (a row there without a hash fails), plain SHA-256 before it (rows
 * written before chains were keyed; rows with no hash at all are allowed
 * only before the first chained one). Then the head itself must hold: its
 * MAC right for this key and database, and its seq and hash those of the
 * newest row. A changed field, a row taken out or put in between, rows
 * cut off the end or a head moved without the key each break one of these.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gent/ids.h"
#include "gent/log.h"
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

/* Does row a hold at its place after prev? key NULL: a row from before
 * chains were keyed, hashed with plain SHA-256. */
static bool
row_holds(const struct audit_row *a, const unsigned char *key, const char *prev,
    char *why, size_t cap)
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
	store_audit_hash(key, prev, fields, want);
	if (strcmp(want, a->hash) != 0) {
		snprintf(why, cap, "row %lld was changed after it was written",
		    (long long)a->seq);
		return false;
	}
	return true;
}

struct prune_job {
	int64_t	 cutoff;
	int	 removed;
};

/* The hash the oldest row left follows: the prev_hash of the first
 * chained row, or (none left) the newest hash, which the next row will
 * follow. */
static int
reanchor(sqlite3 *conn, struct audit_head *h)
{
	sqlite3_stmt *st = store_prepare(conn, "SELECT prev_hash FROM audit "
	    "WHERE hash IS NOT NULL ORDER BY seq LIMIT 1");

	if (!st)
		return STORE_ERR_SQL;
	if (sqlite3_step(st) == SQLITE_ROW)
		store__copy_col(st, 0, h->anchor, sizeof(h->anchor));
	else
		snprintf(h->anchor, sizeof(h->anchor), "%s", h->hash);
	store_finish(st);
	return STORE_OK;
}

static int
prune_fn(sqlite3 *conn, void *arg)
{
	struct prune_job *j = arg;
	static const char *const lift = "DROP TRIGGER audit_no_delete";
	static const char *const restore = "CREATE TRIGGER audit_no_delete BEFORE "
	    "DELETE ON audit BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END";
	struct store_db *db = store__writer_db(conn);
	struct audit_head h;
	sqlite3_stmt *st;
	int rc = STORE_ERR_SQL;

	/* A log whose head does not hold is evidence: none of it goes. */
	if (!db || store__audit_head_read(conn, db, &h) != STORE_OK || !h.valid) {
		log_error("store", NULL, "%s: the audit head is missing or not "
		    "valid; the audit log is not pruned", db ? db->path : "?");
		return STORE_ERR_INVALID;
	}
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
	if (rc == STORE_OK && j->removed > 0 && (rc = reanchor(conn, &h)) == STORE_OK)
		rc = store__audit_head_write(conn, db, &h);
	if (sqlite3_exec(conn, restore, NULL, NULL, NULL) != SQLITE_OK)
		rc = STORE_ERR_SQL;
	if (rc == STORE_OK && j->removed > 0) {
		char detail[64];
		snprintf(detail, sizeof(detail), "{\"removed\":%d}", j->removed);
		/* In a tenant's log, the tenant's row (the list shows it). */
		struct store_audit a = { .tenant_id = db->tenant_id,
		    .actor_type = "system", .actor_id = "retention",
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

/* The walk of store_audit_verify(). */
struct chain_walk {
	const unsigned char	*key;
	struct audit_head	 head;		/* valid */
	bool			 chain_began;	/* a row with a hash was seen */
	char			 prev[IDS_DIGEST_HEX_LEN + 1];
	int64_t			 last_seq;	/* the newest row, 0 when none */
	char			 last_hash[IDS_DIGEST_HEX_LEN + 1];
	int64_t			 past_head;	/* first row after head.seq */
};

static void
fail_at(struct audit_check *out, int64_t seq, const char *why)
{
	out->first_bad_seq = seq;
	snprintf(out->why, sizeof(out->why), "%s", why);
}

static void
walk_row(struct audit_check *out, struct chain_walk *w, const struct audit_row *a)
{
	bool keyed = a->seq >= w->head.keyed_from;
	char why[sizeof(out->why)];

	out->rows++;
	w->last_seq = a->seq;
	snprintf(w->last_hash, sizeof(w->last_hash), "%s", a->hash ? a->hash : "");
	if (a->seq > w->head.seq && !w->past_head)
		w->past_head = a->seq;
	if (a->hash)
		out->chained++;
	if (out->first_bad_seq)
		return;
	if (!a->hash) {
		/* Unchained history is only what came before the first chain. */
		if (keyed || w->chain_began) {
			snprintf(why, sizeof(why), "row %lld has no hash", (long long)a->seq);
			fail_at(out, a->seq, why);
		}
		return;
	}
	w->chain_began = true;
	if (!row_holds(a, keyed ? w->key : NULL, w->prev, why, sizeof(why)))
		fail_at(out, a->seq, why);
	snprintf(w->prev, sizeof(w->prev), "%s", a->hash);
}

/* After the rows: the head must name the newest of them. */
static void
check_head(struct audit_check *out, const struct chain_walk *w)
{
	char why[sizeof(out->why)];

	if (out->first_bad_seq)
		return;
	if (w->past_head) {
		snprintf(why, sizeof(why), "row %lld comes after the newest row the "
		    "audit head records (rows were added, or the head was rolled "
		    "back)", (long long)w->past_head);
		fail_at(out, w->past_head, why);
	} else if (w->last_seq < w->head.seq) {
		snprintf(why, sizeof(why), "row %lld, the newest the audit head "
		    "records, is missing (rows were removed from the end)",
		    (long long)w->head.seq);
		fail_at(out, w->head.seq, why);
	} else if (strcmp(w->last_hash, w->head.hash) != 0) {
		snprintf(why, sizeof(why), "row %lld is not the newest row the audit "
		    "head records", (long long)w->last_seq);
		fail_at(out, w->last_seq, why);
	}
}

static int
walk_rows(sqlite3 *conn, struct audit_check *out, struct chain_walk *w)
{
	sqlite3_stmt *st = store_prepare(conn, "SELECT " AUDIT_COLUMNS " FROM audit "
	    "ORDER BY seq");
	struct audit_row a;

	if (!st)
		return STORE_ERR_SQL;
	while (sqlite3_step(st) == SQLITE_ROW) {
		read_audit(st, &a);
		walk_row(out, w, &a);
		audit_row_clear(&a);
	}
	store_finish(st);
	return STORE_OK;
}

/* Without a valid head there is nothing to check the rows against. */
static int
count_rows(sqlite3 *conn, struct audit_check *out)
{
	sqlite3_stmt *st = store_prepare(conn, "SELECT count(*), count(hash) "
	    "FROM audit");
	int rc = STORE_ERR_SQL;

	if (st && sqlite3_step(st) == SQLITE_ROW) {
		out->rows = sqlite3_column_int64(st, 0);
		out->chained = sqlite3_column_int64(st, 1);
		rc = STORE_OK;
	}
	store_finish(st);
	return rc;
}

int
store_audit_verify(struct store_db *db, struct audit_check *out)
{
	sqlite3 *conn = store_db_acquire(db);
	struct chain_walk w = { .key = db->audit_key->key };
	int rc;

	memset(out, 0, sizeof(*out));
	/* One snapshot: the head and the rows of the same moment. */
	if (sqlite3_exec(conn, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		store_db_release(db, &conn);
		return STORE_ERR_SQL;
	}
	rc = store__audit_head_read(conn, db, &w.head);
	if (rc == STORE_OK && w.head.valid) {
		out->keyed_from = w.head.keyed_from;
		snprintf(w.prev, sizeof(w.prev), "%s", w.head.anchor);
		if ((rc = walk_rows(conn, out, &w)) == STORE_OK)
			check_head(out, &w);
	} else if (rc != STORE_ERR_SQL) {
		snprintf(out->why, sizeof(out->why), "%s", rc == STORE_OK ?
		    "the audit head does not verify (it was edited, or audit.key "
		    "is not the key of this data)" :
		    "the audit head is missing (the database was edited)");
		rc = count_rows(conn, out);
	}
	sqlite3_exec(conn, "COMMIT", NULL, NULL, NULL);
	store_db_release(db, &conn);
	out->ok = rc == STORE_OK && !out->first_bad_seq && !out->why[0];
	return rc;
}

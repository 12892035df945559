/*
 * store_outbound.c - queue rows and unsubscribe suppressions.
 */
#include <string.h>

#include "gent/store_outbound.h"
#include "gent/timefmt.h"
#include "store_int.h"

int
store_outbound_append(sqlite3 *conn, const struct outbound_row *r)
{
	sqlite3_stmt *st = store_prepare(conn, "INSERT INTO outbound (id, inbox_id, "
	    "kind, source_message_id, rule_id, mail_from, rcpt_to, raw, status, "
	    "next_attempt_at, created_at, updated_at) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?10, ?1000, ?1000)");
	int64_t now = time_now_ms();
	int rc;

	if (!st)
		return STORE_ERR_SQL;
	store_bind_text(st, 1, r->id);
	store_bind_text(st, 2, r->inbox_id);
	store_bind_text(st, 3, r->kind);
	store_bind_text(st, 4, r->source_message_id);
	store_bind_text(st, 5, r->rule_id);
	store_bind_text(st, 6, r->mail_from);
	store_bind_text(st, 7, r->rcpt_to);
	sqlite3_bind_blob64(st, 8, r->raw, r->raw_len, SQLITE_STATIC);
	store_bind_text(st, 9, r->status ? r->status : "queued");
	sqlite3_bind_int64(st, 10, r->next_attempt_at ? r->next_attempt_at : now);
	sqlite3_bind_int64(st, 1000, now);
	rc = store_step_done(st);
	store_finish(st);
	return rc;
}

bool
store_outbound_suppressed(struct store_db *db, const char *rule_id,
    const char *destination)
{
	sqlite3 *conn = store_db_acquire(db);
	sqlite3_stmt *st = store_prepare(conn, "SELECT 1 FROM forwarding_suppressions "
	    "WHERE rule_id = ? AND destination = ?");
	bool found = false;

	if (st) {
		store_bind_text(st, 1, rule_id);
		store_bind_text(st, 2, destination);
		found = sqlite3_step(st) == SQLITE_ROW;
	}
	store_finish(st);
	store_db_release(db, &conn);
	return found;
}

struct suppress_job {
	const char			*inbox_id, *rule_id, *destination;
	const struct store_audit	*audit;
};

static int
suppress_fn(sqlite3 *conn, void *arg)
{
	struct suppress_job *j = arg;
	sqlite3_stmt *st = store_prepare(conn, "INSERT OR IGNORE INTO "
	    "forwarding_suppressions (rule_id, destination, inbox_id, created_at) "
	    "VALUES (?, ?, ?, ?)");
	int rc;

	if (!st)
		return STORE_ERR_SQL;
	store_bind_text(st, 1, j->rule_id);
	store_bind_text(st, 2, j->destination);
	store_bind_text(st, 3, j->inbox_id);
	sqlite3_bind_int64(st, 4, time_now_ms());
	rc = store_step_done(st);
	store_finish(st);
	return rc == STORE_OK ? store_audit_append(conn, j->audit) : rc;
}

int
store_outbound_suppress(struct store_db *db, const char *inbox_id,
    const char *rule_id, const char *destination,
    const struct store_audit *audit)
{
	struct suppress_job j = { inbox_id, rule_id, destination, audit };

	return store_db_write(db, suppress_fn, &j);
}

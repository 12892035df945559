/*
 * store_queue.c - claiming and recording deliveries (see store_queue.h).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gent/store_events.h"
#include "gent/store_queue.h"
#include "gent/timefmt.h"
#include "gent/util.h"
#include "store_int.h"

void
queue_item_clear(struct queue_item *q)
{
	xfree(&q->source_message_id);
	xfree(&q->rule_id);
	xfree(&q->mail_from);
	xfree(&q->rcpt_to);
	xfree(&q->raw);
}

void
queue_items_free(struct queue_item *items, int n)
{
	for (int i = 0; i < n; i++)
		queue_item_clear(&items[i]);
	free(items);
}

static void
read_item(sqlite3_stmt *st, struct queue_item *q)
{
	memset(q, 0, sizeof(*q));
	store__copy_col(st, 0, q->id, sizeof(q->id));
	store__copy_col(st, 1, q->inbox_id, sizeof(q->inbox_id));
	store__copy_col(st, 2, q->kind, sizeof(q->kind));
	q->source_message_id = store_col_text(st, 3);
	q->rule_id = store_col_text(st, 4);
	q->mail_from = store_col_text(st, 5);
	q->rcpt_to = store_col_text(st, 6);
	q->raw_len = (size_t)sqlite3_column_bytes(st, 7);
	q->raw = xmalloc(q->raw_len + 1);
	if (q->raw_len)
		memcpy(q->raw, sqlite3_column_blob(st, 7), q->raw_len);
	q->raw[q->raw_len] = '\0';
	q->attempts = sqlite3_column_int64(st, 8);
	q->created_at = sqlite3_column_int64(st, 9);
}

struct claim_job {
	int64_t			 now, lease_ms;
	int			 limit, n;
	struct queue_item	*items;
};

static int
claim_fn(sqlite3 *conn, void *arg)
{
	struct claim_job *j = arg;
	/* held rows (send cap) become due when their period ends. */
	sqlite3_stmt *sel = store_prepare(conn, "SELECT id, inbox_id, kind, "
	    "source_message_id, rule_id, mail_from, rcpt_to, raw, attempts, created_at "
	    "FROM outbound WHERE status IN ('queued', 'sending', 'held') AND "
	    "next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?");
	sqlite3_stmt *upd;
	int rc = STORE_OK;

	if (!sel)
		return STORE_ERR_SQL;
	sqlite3_bind_int64(sel, 1, j->now);
	sqlite3_bind_int(sel, 2, j->limit);
	j->items = xcalloc((size_t)j->limit, sizeof(*j->items));
	while (j->n < j->limit && sqlite3_step(sel) == SQLITE_ROW)
		read_item(sel, &j->items[j->n++]);
	store_finish(sel);
	upd = store_prepare(conn, "UPDATE outbound SET status = 'sending', "
	    "next_attempt_at = ?, updated_at = ? WHERE id = ?");
	if (!upd)
		return STORE_ERR_SQL;
	for (int i = 0; i < j->n && rc == STORE_OK; i++) {
		sqlite3_reset(upd);
		sqlite3_bind_int64(upd, 1, j->now + j->lease_ms);
		sqlite3_bind_int64(upd, 2, j->now);
		store_bind_text(upd, 3, j->items[i].id);
		rc = store_step_done(upd);
	}
	store_finish(upd);
	return rc;
}

int
store_queue_claim(struct store_db *db, int64_t now, int64_t lease_ms,
    int limit, struct queue_item **items_r, int *n_r)
{
	struct claim_job j = { now, lease_ms, limit, 0, NULL };
	int rc = store_db_write(db, claim_fn, &j);

	if (rc != STORE_OK) {
		queue_items_free(j.items, j.n);
		j.items = NULL;
		j.n = 0;
	}
	*items_r = j.items;
	*n_r = j.n;
	return rc;
}

static const char *
status_of(enum queue_outcome o)
{
	switch (o) {
	case QUEUE_SENT: return "sent";
	case QUEUE_RETRY: return "queued";
	case QUEUE_BOUNCED: return "bounced";
	case QUEUE_FAILED: return "failed";
	}
	return "queued";
}

/* The row's inbox, message and recipient, for the event and suppression. */
struct row_facts {
	char	 inbox_id[64], kind[16];
	char	*message_id, *rcpt_to;
	int64_t	 attempts;
};

static int
row_facts(sqlite3 *conn, const char *id, struct row_facts *f)
{
	sqlite3_stmt *st = store_prepare(conn, "SELECT inbox_id, kind, "
	    "source_message_id, rcpt_to, attempts FROM outbound WHERE id = ?");
	int rc = STORE_ERR_SQL;

	memset(f, 0, sizeof(*f));
	if (st) {
		store_bind_text(st, 1, id);
		rc = sqlite3_step(st) == SQLITE_ROW ? STORE_OK : STORE_ERR_NOT_FOUND;
		if (rc == STORE_OK) {
			store__copy_col(st, 0, f->inbox_id, sizeof(f->inbox_id));
			store__copy_col(st, 1, f->kind, sizeof(f->kind));
			f->message_id = store_col_text(st, 2);
			f->rcpt_to = store_col_text(st, 3);
			f->attempts = sqlite3_column_int64(st, 4);
		}
	}
	store_finish(st);
	return rc;
}

static int
update_row(sqlite3 *conn, const struct queue_report *r, int64_t now)
{
	/* A retry of a copy whose message was deleted in flight (its bytes
	 * are gone, store__message_delete) fails instead. */
	sqlite3_stmt *st = store_prepare(conn, "UPDATE outbound SET status = "
	    "CASE WHEN ?1 = 'queued' AND length(raw) = 0 THEN 'failed' ELSE ?1 END, "
	    "attempts = attempts + 1, next_attempt_at = ?2, last_code = ?3, "
	    "last_error = ?4, mx_host = ?5, tls = ?6, delivered_at = ?7, updated_at = ?8 "
	    "WHERE id = ?9");
	int rc;

	if (!st)
		return STORE_ERR_SQL;
	store_bind_text(st, 1, status_of(r->outcome));
	sqlite3_bind_int64(st, 2, r->outcome == QUEUE_RETRY ? r->next_attempt_at : now);
	sqlite3_bind_int(st, 3, r->code);
	store_bind_text(st, 4, r->outcome == QUEUE_SENT ? NULL : r->text);
	store_bind_text(st, 5, r->mx_host);
	sqlite3_bind_int(st, 6, r->tls);
	if (r->outcome == QUEUE_SENT)
		sqlite3_bind_int64(st, 7, now);
	sqlite3_bind_int64(st, 8, now);
	store_bind_text(st, 9, r->id);
	rc = store_step_done(st);
	store_finish(st);
	return rc;
}

static int
outcome_event(sqlite3 *conn, const struct queue_report *r, const struct row_facts *f)
{
	json_t *p = json_pack("{s:s, s:s, s:s, s:i, s:s, s:o}", "outbound_id", r->id,
	    "kind", f->kind, "recipient", f->rcpt_to ? f->rcpt_to : "",
	    "code", r->code, "status", status_of(r->outcome),
	    "mx_host", r->mx_host ? json_string(r->mx_host) : json_null());
	char *text = json_dumps(p, JSON_COMPACT);
	/* A forward concerns the original message; its thread is the original's. */
	struct store_event e = { r->outcome == QUEUE_SENT ? "message.sent" :
	    "message.bounced", f->inbox_id, f->message_id, NULL, text };
	int rc = store_events_append(conn, &e);

	free(text);
	json_decref(p);
	return rc;
}

static int
suppress(sqlite3 *conn, const struct queue_report *r, const struct row_facts *f,
    int64_t now)
{
	sqlite3_stmt *st = store_prepare(conn, "INSERT OR IGNORE INTO "
	    "bounce_suppressions (inbox_id, address, code, reason, created_at) "
	    "VALUES (?, ?, ?, ?, ?)");
	int rc;

	if (!st)
		return STORE_ERR_SQL;
	store_bind_text(st, 1, f->inbox_id);
	store_bind_text(st, 2, f->rcpt_to);
	sqlite3_bind_int(st, 3, r->code);
	store_bind_text(st, 4, r->text);
	sqlite3_bind_int64(st, 5, now);
	rc = store_step_done(st);
	store_finish(st);
	return rc;
}

static int
record_fn(sqlite3 *conn, void *arg)
{
	const struct queue_report *r = arg;
	int64_t now = time_now_ms();
	struct row_facts f;
	int rc = row_facts(conn, r->id, &f);

	if (rc == STORE_OK)
		rc = update_row(conn, r, now);
	if (rc == STORE_OK && r->outcome != QUEUE_RETRY)
		rc = outcome_event(conn, r, &f);
	/* Only a refusal of the address itself (5.1.x) says it is gone. */
	if (rc == STORE_OK && r->outcome == QUEUE_BOUNCED && r->code >= 550 &&
	    r->code <= 553)
		rc = suppress(conn, r, &f, now);
	if (rc == STORE_OK && r->dsn) {
		struct store_audit a = { .actor_type = "system", .actor_id = "relay",
		    .action = "message.received", .target_type = "message",
		    .target_id = r->dsn->id, .inbox_id = r->dsn->inbox_id };
		rc = store__messages_insert_one(conn, r->dsn, &a);
	}
	free(f.message_id);
	free(f.rcpt_to);
	return rc;
}

int
store_queue_record(struct store_db *db, const struct queue_report *r)
{
	return store_db_write(db, record_fn, (void *)r);
}

void
queue_statuses_free(struct queue_status *rows, int n)
{
	for (int i = 0; i < n; i++) {
		free(rows[i].rcpt_to);
		free(rows[i].last_error);
	}
	free(rows);
}

int
store_queue_status(struct store_db *db, const char *message_id,
    struct queue_status **rows_r, int *n_r)
{
	sqlite3 *conn = store_db_acquire(db);
	sqlite3_stmt *st = store_prepare(conn, "SELECT id, rcpt_to, status, attempts, "
	    "next_attempt_at, delivered_at, last_code, last_error FROM outbound "
	    "WHERE source_message_id = ? AND kind = 'send' ORDER BY created_at, id");
	struct queue_status *rows = NULL;
	int n = 0, rc = STORE_ERR_SQL;

	if (st) {
		store_bind_text(st, 1, message_id);
		while (sqlite3_step(st) == SQLITE_ROW) {
			struct queue_status *q;
			rows = xrealloc(rows, (size_t)(n + 1) * sizeof(*rows));
			q = &rows[n++];
			memset(q, 0, sizeof(*q));
			store__copy_col(st, 0, q->id, sizeof(q->id));
			q->rcpt_to = store_col_text(st, 1);
			store__copy_col(st, 2, q->status, sizeof(q->status));
			q->attempts = sqlite3_column_int64(st, 3);
			q->next_attempt_at = sqlite3_column_int64(st, 4);
			q->delivered_at = sqlite3_column_int64(st, 5);
			q->last_code = sqlite3_column_int64(st, 6);
			q->last_error = store_col_text(st, 7);
		}
		rc = STORE_OK;
	}
	store_finish(st);
	store_db_release(db, &conn);
	*rows_r = rows;
	*n_r = n;
	return rc;
}

bool
store_queue_suppressed(struct store_db *db, const char *inbox_id,
    const char *address)
{
	sqlite3 *conn = store_db_acquire(db);
	sqlite3_stmt *st = store_prepare(conn, "SELECT 1 FROM bounce_suppressions "
	    "WHERE inbox_id = ? AND address = ?");
	bool found = false;

	if (st) {
		store_bind_text(st, 1, inbox_id);
		store_bind_text(st, 2, address);
		found = sqlite3_step(st) == SQLITE_ROW;
	}
	store_finish(st);
	store_db_release(db, &conn);
	return found;
}

int
store_queue_due_count(struct store_db *db, int64_t now, int *n_r)
{
	sqlite3 *conn = store_db_acquire(db);
	sqlite3_stmt *st = store_prepare(conn, "SELECT count(*) FROM outbound WHERE "
	    "status IN ('queued', 'sending') AND next_attempt_at <= ?");
	int rc = STORE_ERR_SQL;

	*n_r = 0;
	if (st) {
		sqlite3_bind_int64(st, 1, now);
		if (sqlite3_step(st) == SQLITE_ROW) {
			*n_r = sqlite3_column_int(st, 0);
			rc = STORE_OK;
		}
	}
	store_finish(st);
	store_db_release(db, &conn);
	return rc;
}

struct send_job {
	struct message_row		*m;
	const struct store_audit	*audit;
	const char			*cap_event;
};

static int
send_fn(sqlite3 *conn, void *arg)
{
	struct send_job *j = arg;
	int rc = store__messages_insert_one(conn, j->m, j->audit);

	if (rc == STORE_OK && j->cap_event) {
		struct store_event e = { "cap.reached", j->m->inbox_id, j->m->id,
		    j->m->thread_id, j->cap_event };
		rc = store_events_append(conn, &e);
	}
	return rc;
}

int
store_queue_send(struct store_db *db, struct message_row *m,
    const struct store_audit *audit, const char *cap_event)
{
	struct send_job j = { m, audit, cap_event };

	return store_db_write(db, send_fn, &j);
}

int
store_queue_sent_since(struct store_db *db, const char *inbox_id, int64_t since,
    int64_t *n_r)
{
	sqlite3 *conn = store_db_acquire(db);
	sqlite3_stmt *st = store_prepare(conn, "SELECT count(*) FROM messages WHERE "
	    "inbox_id = ? AND direction = 'outbound' AND received_at >= ?");
	int rc = STORE_ERR_SQL;

	*n_r = 0;
	if (st) {
		store_bind_text(st, 1, inbox_id);
		sqlite3_bind_int64(st, 2, since);
		if (sqlite3_step(st) == SQLITE_ROW) {
			*n_r = sqlite3_column_int64(st, 0);
			rc = STORE_OK;
		}
	}
	store_finish(st);
	store_db_release(db, &conn);
	return rc;
}

static int
release_fn(sqlite3 *conn, void *arg)
{
	sqlite3_stmt *st = store_prepare(conn, "UPDATE outbound SET status = 'queued', "
	    "next_attempt_at = ?1, updated_at = ?1 WHERE status = 'sending'");
	int rc;

	if (!st)
		return STORE_ERR_SQL;
	sqlite3_bind_int64(st, 1, *(int64_t *)arg);
	rc = store_step_done(st);
	store_finish(st);
	return rc;
}

int
store_queue_release_leases(struct store_db *db, int64_t now)
{
	return store_db_write(db, release_fn, &now);
}

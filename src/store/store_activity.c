/*
 * store_activity.c - the activity feed, the usage summary and the
 * correspondents of an inbox (store_activity.h).
 */
#include <stdlib.h>
#include <string.h>

#include "gent/store_activity.h"
#include "gent/util.h"
#include "store_int.h"

void
activity_rows_free(struct activity_row *rows, int n)
{
	for (int i = 0; i < n; i++) {
		free(rows[i].e.inbox_id);
		free(rows[i].e.message_id);
		free(rows[i].e.thread_id);
		free(rows[i].e.payload);
		free(rows[i].subject);
		free(rows[i].from_addr);
		free(rows[i].to_addrs);
	}
	free(rows);
}

int
store_activity_list(struct store_db *db, const char *inbox_id,
    const char *type, int64_t since_ms, int64_t before_seq, int limit,
    struct activity_row **rows_r, int *n_r)
{
	sqlite3 *conn = store_db_acquire(db);
	sqlite3_stmt *st = store_prepare(conn, "SELECT e.seq, e.id, e.type, "
	    "e.inbox_id, e.message_id, e.thread_id, e.payload, e.created_at, "
	    "m.subject, m.from_addr, m.to_addrs FROM events e LEFT JOIN messages m "
	    "ON m.id = e.message_id WHERE (?1 IS NULL OR e.inbox_id = ?1) AND "
	    "(?2 IS NULL OR e.type = ?2) AND e.created_at >= ?3 AND (?4 = 0 OR "
	    "e.seq < ?4) ORDER BY e.seq DESC LIMIT ?5");
	struct activity_row *rows = xcalloc((size_t)limit + 1, sizeof(*rows));
	int n = 0, rc = STORE_ERR_SQL;

	if (st) {
		store_bind_text(st, 1, inbox_id);
		store_bind_text(st, 2, type);
		sqlite3_bind_int64(st, 3, since_ms);
		sqlite3_bind_int64(st, 4, before_seq);
		sqlite3_bind_int(st, 5, limit);
		while (n < limit && sqlite3_step(st) == SQLITE_ROW) {
			struct activity_row *a = &rows[n++];
			a->e.seq = sqlite3_column_int64(st, 0);
			store__copy_col(st, 1, a->e.id, sizeof(a->e.id));
			store__copy_col(st, 2, a->e.type, sizeof(a->e.type));
			a->e.inbox_id = store_col_text(st, 3);
			a->e.message_id = store_col_text(st, 4);
			a->e.thread_id = store_col_text(st, 5);
			a->e.payload = store_col_text(st, 6);
			a->e.created_at = sqlite3_column_int64(st, 7);
			a->subject = store_col_text(st, 8);
			a->from_addr = store_col_text(st, 9);
			a->to_addrs = store_col_text(st, 10);
		}
		rc = STORE_OK;
	}
	store_finish(st);
	store_db_release(db, &conn);
	*rows_r = rows;
	*n_r = n;
	return rc;
}

/* --- usage --- */

void
usage_summary_free(struct usage_summary *u)
{
	for (int i = 0; i < u->n_types; i++)
		free(u->by_type[i].content_type);
	free(u->by_type);
	u->by_type = NULL;
	u->n_types = 0;
}

/* One row of integers from sql bound with (inbox_id, since_ms). */
static int
ints(sqlite3 *conn, const char *sql, const char *inbox_id, int64_t since_ms,
    int64_t *out[], int n_out)
{
	sqlite3_stmt *st = store_prepare(conn, sql);
	int rc = STORE_ERR_SQL;

	if (!st)
		return rc;
	store_bind_text(st, 1, inbox_id);
	sqlite3_bind_int64(st, 2, since_ms);
	if (sqlite3_step(st) == SQLITE_ROW) {
		for (int i = 0; i < n_out; i++)
			*out[i] = sqlite3_column_int64(st, i);
		rc = STORE_OK;
	}
	store_finish(st);
	return rc;
}

static int
by_content_type(sqlite3 *conn, const char *inbox_id, struct usage_summary *u)
{
	sqlite3_stmt *st = store_prepare(conn, "SELECT lower(coalesce(a.content_type, "
	    "'application/octet-stream')), sum(a.size), count(*) FROM attachments a "
	    "JOIN messages m ON m.id = a.message_id WHERE m.inbox_id = ? GROUP BY 1 "
	    "ORDER BY 2 DESC, 1 LIMIT ?");

	if (!st)
		return STORE_ERR_SQL;
	store_bind_text(st, 1, inbox_id);
	sqlite3_bind_int(st, 2, USAGE_TYPES_MAX);
	u->by_type = xcalloc(USAGE_TYPES_MAX, sizeof(*u->by_type));
	while (u->n_types < USAGE_TYPES_MAX && sqlite3_step(st) == SQLITE_ROW) {
		struct usage_by_type *t = &u->by_type[u->n_types++];
		t->content_type = store_col_text(st, 0);
		t->bytes = sqlite3_column_int64(st, 1);
		t->count = sqlite3_column_int64(st, 2);
	}
	store_finish(st);
	return STORE_OK;
}

/* Correspondents: envelope senders of received mail (not bounces) and
 * recipients of sends (not forwarded copies), with when and which way. */
#define TOUCHED_SQL "WITH touched(address, at, way) AS (SELECT lower(mail_from), " \
	"received_at, 'in' FROM messages WHERE inbox_id = ?1 AND direction = " \
	"'inbound' AND mail_from != '' AND received_at >= ?2 UNION ALL SELECT " \
	"lower(rcpt_to), created_at, 'out' FROM outbound WHERE inbox_id = ?1 AND " \
	"kind = 'send' AND created_at >= ?2) "

int
store_usage_get(struct store_db *db, const char *inbox_id, int64_t since_ms,
    struct usage_summary *out)
{
	sqlite3 *conn = store_db_acquire(db);
	int64_t *stored[] = { &out->message_bytes, &out->messages };
	int64_t *atts[] = { &out->attachment_bytes, &out->attachments };
	int64_t *period[] = { &out->received, &out->sent };
	int64_t *threads[] = { &out->active_threads };
	int64_t *contacts[] = { &out->contacts };
	int rc;

	memset(out, 0, sizeof(*out));
	rc = ints(conn, "SELECT coalesce(sum(size), 0), count(*) FROM messages WHERE "
	    "inbox_id = ?1 AND ?2 >= 0", inbox_id, since_ms, stored, 2);
	if (rc == STORE_OK)
		rc = ints(conn, "SELECT coalesce(sum(a.size), 0), count(*) FROM "
		    "attachments a JOIN messages m ON m.id = a.message_id WHERE "
		    "m.inbox_id = ?1 AND ?2 >= 0", inbox_id, since_ms, atts, 2);
	if (rc == STORE_OK)
		rc = ints(conn, "SELECT coalesce(sum(direction = 'inbound'), 0), "
		    "coalesce(sum(direction = 'outbound'), 0) FROM messages WHERE "
		    "inbox_id = ?1 AND received_at >= ?2", inbox_id, since_ms, period, 2);
	if (rc == STORE_OK)
		rc = ints(conn, "SELECT count(*) FROM threads WHERE inbox_id = ?1 AND "
		    "last_at >= ?2", inbox_id, since_ms, threads, 1);
	if (rc == STORE_OK)
		rc = ints(conn, TOUCHED_SQL "SELECT count(DISTINCT address) FROM touched",
		    inbox_id, since_ms, contacts, 1);
	if (rc == STORE_OK)
		rc = by_content_type(conn, inbox_id, out);
	store_db_release(db, &conn);
	if (rc != STORE_OK)
		usage_summary_free(out);
	return rc;
}

/* --- correspondents --- */

void
contact_touches_free(struct contact_touch *rows, int n)
{
	for (int i = 0; i < n; i++)
		free(rows[i].address);
	free(rows);
}

int
store_contacts_recent(struct store_db *db, const char *inbox_id,
    int64_t since_ms, int limit, struct contact_touch **rows_r, int *n_r)
{
	sqlite3 *conn = store_db_acquire(db);
	sqlite3_stmt *st = store_prepare(conn, TOUCHED_SQL "SELECT address, max(at), "
	    "sum(way = 'in'), sum(way = 'out') FROM touched GROUP BY address "
	    "ORDER BY max(at) DESC, address LIMIT ?3");
	struct contact_touch *rows = xcalloc((size_t)limit + 1, sizeof(*rows));
	int n = 0, rc = STORE_ERR_SQL;

	if (st) {
		store_bind_text(st, 1, inbox_id);
		sqlite3_bind_int64(st, 2, since_ms);
		sqlite3_bind_int(st, 3, limit);
		while (n < limit && sqlite3_step(st) == SQLITE_ROW) {
			struct contact_touch *c = &rows[n++];
			c->address = store_col_text(st, 0);
			c->last_at = sqlite3_column_int64(st, 1);
			c->received = sqlite3_column_int64(st, 2);
			c->sent = sqlite3_column_int64(st, 3);
		}
		rc = STORE_OK;
	}
	store_finish(st);
	store_db_release(db, &conn);
	*rows_r = rows;
	*n_r = n;
	return rc;
}

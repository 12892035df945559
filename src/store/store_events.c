/*
 * store_events.c - appending to the event outbox.
 */
#include <stdlib.h>
#include <string.h>

#include "gent/ids.h"
#include "gent/store_events.h"
#include "gent/timefmt.h"
#include "gent/util.h"
#include "store_int.h"

int
store_events_append(sqlite3 *conn, const struct store_event *e)
{
	sqlite3_stmt *st = store_prepare(conn, "INSERT INTO events (id, type, "
	    "inbox_id, message_id, thread_id, payload, created_at) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?)");
	char *id = ids_new("evt");
	int rc = STORE_ERR_SQL;

	if (st) {
		store_bind_text(st, 1, id);
		store_bind_text(st, 2, e->type);
		store_bind_text(st, 3, e->inbox_id);
		store_bind_text(st, 4, e->message_id);
		store_bind_text(st, 5, e->thread_id);
		store_bind_text(st, 6, e->payload_json ? e->payload_json : "{}");
		sqlite3_bind_int64(st, 7, time_now_ms());
		rc = store_step_done(st);
	}
	store_finish(st);
	free(id);
	return rc;
}

void
event_rows_free(struct event_row *rows, int n)
{
	for (int i = 0; i < n; i++) {
		free(rows[i].inbox_id);
		free(rows[i].message_id);
		free(rows[i].thread_id);
		free(rows[i].payload);
	}
	free(rows);
}

int
store_events_list(struct store_db *db, int64_t after, const char *inbox_id,
    const char *type, int limit, struct event_row **rows_r, int *n_r)
{
	sqlite3 *conn = store_db_acquire(db);
	sqlite3_stmt *st = store_prepare(conn, "SELECT seq, id, type, inbox_id, "
	    "message_id, thread_id, payload, created_at FROM events WHERE seq > ?1 "
	    "AND (?2 IS NULL OR inbox_id = ?2) AND (?3 IS NULL OR type = ?3) "
	    "ORDER BY seq LIMIT ?4");
	struct event_row *rows = xcalloc((size_t)limit, sizeof(*rows));
	int n = 0, rc = STORE_ERR_SQL;

	if (st) {
		sqlite3_bind_int64(st, 1, after);
		store_bind_text(st, 2, inbox_id);
		store_bind_text(st, 3, type);
		sqlite3_bind_int(st, 4, limit);
		while (n < limit && sqlite3_step(st) == SQLITE_ROW) {
			struct event_row *e = &rows[n++];
			e->seq = sqlite3_column_int64(st, 0);
			store__copy_col(st, 1, e->id, sizeof(e->id));
			store__copy_col(st, 2, e->type, sizeof(e->type));
			e->inbox_id = store_col_text(st, 3);
			e->message_id = store_col_text(st, 4);
			e->thread_id = store_col_text(st, 5);
			e->payload = store_col_text(st, 6);
			e->created_at = sqlite3_column_int64(st, 7);
		}
		rc = STORE_OK;
	}
	store_finish(st);
	store_db_release(db, &conn);
	*rows_r = rows;
	*n_r = n;
	return rc;
}

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

static int
append_fn(sqlite3 *conn, void *arg)
{
	return store_events_append(conn, arg);
}

int
store_events_write(struct store_db *db, const struct store_event *e)
{
	return store_db_write(db, append_fn, (void *)e);
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
store__events_read(sqlite3 *conn, int64_t after, const char *inbox_id,
    const char *type, int limit, struct event_row **rows_r, int *n_r)
{
	sqlite3_stmt *st = store_prepare(conn, "SELECT seq, id, type, inbox_id, "
	    "message_id, thread_id, payload, created_at FROM events WHERE seq > ?1 "
	    "AND (?2 IS NULL OR inbox_id = ?2) AND (?3 IS NULL OR type = ?3) "
	    "ORDER BY seq LIMIT ?4");
	struct event_row *rows = xcalloc((size_t)limit + 1, sizeof(*rows));
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
	*rows_r = rows;
	*n_r = n;
	return rc;
}

int
store_events_list(struct store_db *db, int64_t after, const char *inbox_id,
    const char *type, int limit, struct event_row **rows_r, int *n_r)
{
	sqlite3 *conn = store_db_acquire(db);
	int rc = store__events_read(conn, after, inbox_id, type, limit, rows_r, n_r);

	store_db_release(db, &conn);
	return rc;
}

json_t *
event_row_json(const struct event_row *e)
{
	json_t *payload = e->payload ? json_loads(e->payload, 0, NULL) : NULL;
	char iso[TIMEFMT_ISO_LEN];

	time_format_iso(e->created_at, iso);
	return json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:s}", "id", e->id,
	    "type", e->type,
	    "inbox_id", e->inbox_id ? json_string(e->inbox_id) : json_null(),
	    "message_id", e->message_id ? json_string(e->message_id) : json_null(),
	    "thread_id", e->thread_id ? json_string(e->thread_id) : json_null(),
	    "payload", payload ? payload : json_object(), "created_at", iso);
}

/*
 * store_events.c - appending to the event outbox.
 */
#include <stdlib.h>

#include "gent/ids.h"
#include "gent/store_events.h"
#include "gent/timefmt.h"
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

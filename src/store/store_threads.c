/*
 * store_threads.c - thread rows, with the counts a list shows computed
 * per thread from the messages_thread index (cheap for one page).
 */
#include <stdlib.h>
#include <string.h>

#include "gent/store_threads.h"
#include "gent/util.h"
#include "store_int.h"

#define THREAD_COLUMNS "t.id, t.inbox_id, t.subject, t.first_at, t.last_at, " \
	"t.message_count, (SELECT count(*) FROM messages m WHERE m.thread_id = " \
	"t.id AND m.is_read = 0), (SELECT json_group_array(f) FROM (SELECT " \
	"DISTINCT coalesce(m.from_addr, m.mail_from) AS f FROM messages m WHERE " \
	"m.thread_id = t.id ORDER BY m.received_at LIMIT 20))"

static void
read_thread(sqlite3_stmt *st, void *row)
{
	struct thread_row *r = row;

	memset(r, 0, sizeof(*r));
	store__copy_col(st, 0, r->id, sizeof(r->id));
	store__copy_col(st, 1, r->inbox_id, sizeof(r->inbox_id));
	r->subject = store_col_text(st, 2);
	r->first_at = sqlite3_column_int64(st, 3);
	r->last_at = sqlite3_column_int64(st, 4);
	r->message_count = sqlite3_column_int64(st, 5);
	r->unread_count = sqlite3_column_int64(st, 6);
	r->participants = store_col_text(st, 7);
}

void
thread_row_free(struct thread_row *r)
{
	xfree(&r->subject);
	xfree(&r->participants);
}

void
thread_rows_free(struct thread_row *rows, int n)
{
	for (int i = 0; i < n; i++)
		thread_row_free(&rows[i]);
	free(rows);
}

static void
free_thread(void *row)
{
	thread_row_free(row);
}

int
store_threads_list(struct store_db *db, const char *inbox_id, int limit,
    int64_t cursor_ms, const char *cursor_id, struct thread_row **rows_r,
    int *n_r, bool *more_r)
{
	struct store_page_query q = { "SELECT " THREAD_COLUMNS " FROM threads t "
	    "WHERE t.inbox_id = ?1 AND (?2 IS NULL OR t.last_at < ?3 OR (t.last_at = "
	    "?3 AND t.id < ?2)) ORDER BY t.last_at DESC, t.id DESC LIMIT ?4",
	    inbox_id, limit, cursor_ms, cursor_id, sizeof(**rows_r), read_thread,
	    free_thread };

	return store__select_page(db, &q, (void **)rows_r, n_r, more_r);
}

int
store_threads_get(struct store_db *db, const char *id, struct thread_row *out)
{
	sqlite3 *conn = store_db_acquire(db);
	sqlite3_stmt *st = store_prepare(conn, "SELECT " THREAD_COLUMNS " FROM "
	    "threads t WHERE t.id = ?");
	int rc = STORE_ERR_SQL;

	memset(out, 0, sizeof(*out));
	if (st) {
		store_bind_text(st, 1, id);
		rc = sqlite3_step(st) == SQLITE_ROW ? STORE_OK : STORE_ERR_NOT_FOUND;
		if (rc == STORE_OK)
			read_thread(st, out);
	}
	store_finish(st);
	store_db_release(db, &conn);
	return rc;
}

/*
 * store_alerts.c - alert rule rows.
 */
#include <stdlib.h>
#include <string.h>

#include "gent/store_alerts.h"
#include "gent/util.h"
#include "store_int.h"

#define ALERT_COLUMNS "id, inbox_id, events, url, secret, filter, threshold, " \
	"offset_json, attempts, backoff, enabled, created_at, updated_at"

static void
read_alert(sqlite3_stmt *st, void *row)
{
	struct alert_row *r = row;

	memset(r, 0, sizeof(*r));
	store__copy_col(st, 0, r->id, sizeof(r->id));
	store__copy_col(st, 1, r->inbox_id, sizeof(r->inbox_id));
	r->events = store_col_text(st, 2);
	r->url = store_col_text(st, 3);
	r->secret = store_col_text(st, 4);
	r->filter = store_col_text(st, 5);
	r->threshold = sqlite3_column_type(st, 6) == SQLITE_NULL ? -1 :
	    sqlite3_column_int64(st, 6);
	r->offset_json = store_col_text(st, 7);
	r->attempts = sqlite3_column_int64(st, 8);
	store__copy_col(st, 9, r->backoff, sizeof(r->backoff));
	r->enabled = sqlite3_column_int(st, 10) != 0;
	r->created_at = sqlite3_column_int64(st, 11);
	r->updated_at = sqlite3_column_int64(st, 12);
}

void
alert_row_free(struct alert_row *r)
{
	xfree(&r->events);
	xfree(&r->url);
	if (r->secret)	/* it signs deliveries: do not leave it in freed memory */
		memset(r->secret, 0, strlen(r->secret));
	xfree(&r->secret);
	xfree(&r->filter);
	xfree(&r->offset_json);
}

void
alert_rows_free(struct alert_row *rows, int n)
{
	for (int i = 0; i < n; i++)
		alert_row_free(&rows[i]);
	free(rows);
}

#define ALERT_INSERT_SQL "INSERT INTO alert_rules (" ALERT_COLUMNS ") VALUES " \
	"(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
/* A changed secret keeps the old one beside it for a while, so the
 * receiver can switch over (both sign; DELIVERY_SECRET_GRACE_MS). */
#define ALERT_UPDATE_SQL "UPDATE alert_rules SET events = ?3, url = ?4, " \
	"previous_secret = CASE WHEN secret IS NOT ?5 THEN secret ELSE " \
	"previous_secret END, secret_rotated_at = CASE WHEN secret IS NOT ?5 " \
	"THEN ?13 ELSE secret_rotated_at END, secret = ?5, filter = ?6, " \
	"threshold = ?7, offset_json = ?8, attempts = ?9, backoff = ?10, " \
	"enabled = ?11, updated_at = ?13 WHERE id = ?1 AND inbox_id = ?2 AND " \
	"created_at = ?12"

static void
bind_alert(sqlite3_stmt *st, const void *row)
{
	const struct alert_row *r = row;

	store_bind_text(st, 1, r->id);
	store_bind_text(st, 2, r->inbox_id);
	store_bind_text(st, 3, r->events);
	store_bind_text(st, 4, r->url);
	store_bind_text(st, 5, r->secret);
	store_bind_text(st, 6, r->filter);
	if (r->threshold >= 0)
		sqlite3_bind_int64(st, 7, r->threshold);
	else
		sqlite3_bind_null(st, 7);
	store_bind_text(st, 8, r->offset_json);
	sqlite3_bind_int64(st, 9, r->attempts);
	store_bind_text(st, 10, r->backoff);
	sqlite3_bind_int(st, 11, r->enabled);
	sqlite3_bind_int64(st, 12, r->created_at);
	sqlite3_bind_int64(st, 13, r->updated_at);
}

/* A new or changed rule may be the first subscription (store_deliveries.c). */
static int
catch_up(sqlite3 *conn, const struct store_row_write *w)
{
	(void)w;
	return store__webhook_cursor_catch_up(conn);
}

int
store_alerts_create(struct store_db *db, const struct alert_row *r,
    const struct store_audit *audit)
{
	struct store_row_write w = { .sql = ALERT_INSERT_SQL, .bind = bind_alert, .row = r,
	    .before = catch_up, .audit = audit };

	return store__write_row(db, &w);
}

int
store_alerts_update(struct store_db *db, const struct alert_row *r,
    const struct store_audit *audit)
{
	struct store_row_write w = { .sql = ALERT_UPDATE_SQL, .bind = bind_alert,
	    .row = r, .must_change = true,
	    .before = catch_up, .audit = audit };

	return store__write_row(db, &w);
}

int
store_alerts_delete(struct store_db *db, const char *id,
    const struct store_audit *audit)
{
	struct store_row_write w = { .sql = "DELETE FROM alert_rules WHERE id = ?1",
	    .id = id, .must_change = true, .audit = audit };

	return store__write_row(db, &w);
}

static int
select_alerts(struct store_db *db, const char *sql, const char *bind,
    struct alert_row **rows_r, int *n_r)
{
	return store__select_all(db, sql, bind, sizeof(**rows_r), read_alert,
	    (void **)rows_r, n_r);
}

int
store_alerts_list(struct store_db *db, const char *inbox_id,
    struct alert_row **rows_r, int *n_r)
{
	return select_alerts(db, "SELECT " ALERT_COLUMNS " FROM alert_rules WHERE "
	    "inbox_id = ? ORDER BY created_at, id", inbox_id, rows_r, n_r);
}

int
store_alerts_get(struct store_db *db, const char *id, struct alert_row *out)
{
	return store__select_one(db, "SELECT " ALERT_COLUMNS
	    " FROM alert_rules WHERE id = ?", id, sizeof(*out), read_alert, out);
}

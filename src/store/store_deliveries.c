/*
 * store_deliveries.c - the dispatcher's side of webhook deliveries: fan
 * the event log out to subscriptions, lease due deliveries, record each
 * attempt. The delivery log the API reads is store_delivery_log.c.
 *
 * Subscriptions are the enabled alert rules and each inbox's webhook
 * block (PUT /v1/inboxes/{id}/webhook/), which behaves as a rule with the
 * default attempts (3) and backoff (exponential) and no filter.
 */
#include <stdlib.h>
#include <string.h>

#include "gent/alert_match.h"
#include "gent/ids.h"
#include "gent/log.h"
#include "gent/store_deliveries.h"
#include "gent/store_events.h"
#include "gent/timefmt.h"
#include "gent/util.h"
#include "store_int.h"

#define INBOX_WEBHOOK_ATTEMPTS 3
#define INBOX_WEBHOOK_BACKOFF "exponential"

void
store__delivery_read(sqlite3_stmt *st, struct delivery_row *r)
{
	memset(r, 0, sizeof(*r));
	store__copy_col(st, 0, r->id, sizeof(r->id));
	store__copy_col(st, 1, r->inbox_id, sizeof(r->inbox_id));
	store__copy_col(st, 2, r->event_id, sizeof(r->event_id));
	store__copy_col(st, 3, r->event_type, sizeof(r->event_type));
	r->alert_id = store_col_text(st, 4);
	r->url = store_col_text(st, 5);
	r->body = store_col_text(st, 6);
	store__copy_col(st, 7, r->status, sizeof(r->status));
	r->round_attempts = sqlite3_column_int64(st, 8);
	store__copy_col(st, 9, r->backoff, sizeof(r->backoff));
	r->attempts = sqlite3_column_int64(st, 10);
	r->attempt_limit = sqlite3_column_int64(st, 11);
	r->next_attempt_at = sqlite3_column_int64(st, 12);
	r->last_code = sqlite3_column_int64(st, 13);
	r->last_error = store_col_text(st, 14);
	r->created_at = sqlite3_column_int64(st, 15);
	r->updated_at = sqlite3_column_int64(st, 16);
}

void
delivery_row_free(struct delivery_row *r)
{
	xfree(&r->alert_id);
	xfree(&r->url);
	xfree(&r->body);
	xfree(&r->last_error);
	char **secrets[] = { &r->secret, &r->previous_secret };

	for (size_t i = 0; i < GENT_ARRAY_LEN(secrets); i++) {
		if (*secrets[i])	/* secrets do not linger in freed memory */
			memset(*secrets[i], 0, strlen(*secrets[i]));
		xfree(secrets[i]);
	}
}

void
delivery_rows_free(struct delivery_row *rows, int n)
{
	for (int i = 0; i < n; i++)
		delivery_row_free(&rows[i]);
	free(rows);
}

/* --- fan-out --- */

/* Is anything subscribed? Without a subscription the dispatcher writes
 * nothing (the cursor stays where it is) and the first subscription
 * moves the cursor to the end of the log as it is made. */
#define SUBSCRIBED_SQL "(EXISTS (SELECT 1 FROM alert_rules WHERE enabled = 1) OR " \
	"EXISTS (SELECT 1 FROM inbox_settings WHERE json_extract(settings, " \
	"'$.webhook.url') IS NOT NULL))"

int
store__webhook_cursor_catch_up(sqlite3 *conn)
{
	sqlite3_stmt *st = store_prepare(conn, "UPDATE webhook_cursor SET seq = "
	    "(SELECT coalesce(max(seq), 0) FROM events) WHERE id = 1 AND NOT "
	    SUBSCRIBED_SQL);
	int rc = STORE_ERR_SQL;

	if (st)
		rc = store_step_done(st);
	store_finish(st);
	return rc;
}

struct subscription {
	struct alert_subscription	 match;
	char				*alert_id;	/* NULL: inbox webhook */
	char				*inbox_id, *url, *label_id, *contact_id;
	int64_t				 attempts;
	char				 backoff[16];
	int64_t				 since;	/* events before it are not its */
};

static void
subscriptions_free(struct subscription *s, int n)
{
	for (int i = 0; i < n; i++) {
		json_decref(s[i].match.events);
		free(s[i].alert_id);
		free(s[i].inbox_id);
		free(s[i].url);
		free(s[i].label_id);
		free(s[i].contact_id);
	}
	free(s);
}

static struct subscription *
subscription_add(struct subscription **subs, int *n)
{
	struct subscription *s;

	*subs = xrealloc(*subs, (size_t)(*n + 1) * sizeof(**subs));
	s = &(*subs)[(*n)++];
	memset(s, 0, sizeof(*s));
	s->match.threshold = -1;
	return s;
}

/* Point the match at the strings the subscription owns. */
static void
subscription_finish(struct subscription *s, const char *filter_json)
{
	json_t *f = filter_json ? json_loads(filter_json, 0, NULL) : NULL;

	s->label_id = xstrdup(json_string_value(json_object_get(f, "label_id")));
	s->contact_id = xstrdup(json_string_value(json_object_get(f, "contact_id")));
	json_decref(f);
	if (!json_is_array(s->match.events)) {
		json_decref(s->match.events);
		s->match.events = json_pack("[s]", "message.received");
	}
	s->match.inbox_id = s->inbox_id;
	s->match.label_id = s->label_id;
	s->match.contact_id = s->contact_id;
}

static int
load_alert_rules(sqlite3 *conn, struct subscription **subs, int *n)
{
	sqlite3_stmt *st = store_prepare(conn, "SELECT id, inbox_id, events, url, "
	    "filter, threshold, attempts, backoff, created_at FROM alert_rules WHERE "
	    "enabled = 1 ORDER BY created_at, id");

	if (!st)
		return STORE_ERR_SQL;
	while (sqlite3_step(st) == SQLITE_ROW) {
		struct subscription *s = subscription_add(subs, n);
		const char *events = (const char *)sqlite3_column_text(st, 2);
		s->alert_id = store_col_text(st, 0);
		s->inbox_id = store_col_text(st, 1);
		s->match.events = events ? json_loads(events, 0, NULL) : NULL;
		s->url = store_col_text(st, 3);
		if (sqlite3_column_type(st, 5) != SQLITE_NULL)
			s->match.threshold = sqlite3_column_int64(st, 5);
		s->attempts = sqlite3_column_int64(st, 6);
		store__copy_col(st, 7, s->backoff, sizeof(s->backoff));
		s->since = sqlite3_column_int64(st, 8);
		subscription_finish(s, (const char *)sqlite3_column_text(st, 4));
	}
	store_finish(st);
	return STORE_OK;
}

static int
load_inbox_webhooks(sqlite3 *conn, struct subscription **subs, int *n)
{
	sqlite3_stmt *st = store_prepare(conn, "SELECT inbox_id, "
	    "json_extract(settings, '$.webhook.url'), "
	    "json(json_extract(settings, '$.webhook.events')) FROM inbox_settings "
	    "WHERE json_extract(settings, '$.webhook.url') IS NOT NULL ORDER BY inbox_id");

	if (!st)
		return STORE_ERR_SQL;
	while (sqlite3_step(st) == SQLITE_ROW) {
		struct subscription *s = subscription_add(subs, n);
		const char *events = (const char *)sqlite3_column_text(st, 2);
		s->inbox_id = store_col_text(st, 0);
		s->url = store_col_text(st, 1);
		s->match.events = events ? json_loads(events, 0, NULL) : NULL;
		s->attempts = INBOX_WEBHOOK_ATTEMPTS;
		s->match.takes_notify = true;	/* the label notify policy's target */
		snprintf(s->backoff, sizeof(s->backoff), "%s", INBOX_WEBHOOK_BACKOFF);
		subscription_finish(s, NULL);
	}
	store_finish(st);
	return STORE_OK;
}

static bool
message_has_label(void *arg, const char *message_id, const char *label_id)
{
	sqlite3_stmt *st = store_prepare(arg, "SELECT 1 FROM message_labels "
	    "WHERE message_id = ? AND label_id = ?");
	bool yes = false;

	if (st) {
		store_bind_text(st, 1, message_id);
		store_bind_text(st, 2, label_id);
		yes = sqlite3_step(st) == SQLITE_ROW;
	}
	store_finish(st);
	return yes;
}

static int
insert_delivery(sqlite3 *conn, const struct delivery_row *r)
{
	sqlite3_stmt *st = store_prepare(conn, "INSERT INTO webhook_deliveries (id, "
	    "inbox_id, event_id, event_type, alert_id, url, body, round_attempts, "
	    "backoff, attempt_limit, next_attempt_at, created_at, updated_at) VALUES "
	    "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?8, ?10, ?10, ?10)");
	int rc = STORE_ERR_SQL;

	if (st) {
		store_bind_text(st, 1, r->id);
		store_bind_text(st, 2, r->inbox_id);
		store_bind_text(st, 3, r->event_id);
		store_bind_text(st, 4, r->event_type);
		store_bind_text(st, 5, r->alert_id);
		store_bind_text(st, 6, r->url);
		store_bind_text(st, 7, r->body);
		sqlite3_bind_int64(st, 8, r->round_attempts);
		store_bind_text(st, 9, r->backoff);
		sqlite3_bind_int64(st, 10, r->created_at);
		rc = store_step_done(st);
	}
	store_finish(st);
	return rc;
}

int
store__delivery_insert(sqlite3 *conn, struct delivery_row *r)
{
	if (!r->id[0]) {
		char *id = ids_new("whd");
		snprintf(r->id, sizeof(r->id), "%s", id);
		free(id);
	}
	r->created_at = r->next_attempt_at = time_now_ms();
	return insert_delivery(conn, r);
}

/* One delivery per subscription e fires. */
static int
fan_out_event(sqlite3 *conn, const struct event_row *e, struct subscription *subs,
    int n_subs)
{
	json_t *payload = e->payload ? json_loads(e->payload, 0, NULL) : NULL;
	json_t *event = event_row_json(e);
	char *body = json_dumps(event, JSON_COMPACT);
	int rc = STORE_OK;

	for (int i = 0; i < n_subs && rc == STORE_OK; i++) {
		struct subscription *s = &subs[i];
		if (e->created_at < s->since ||
		    !alert_matches(&s->match, e, payload, message_has_label, conn))
			continue;
		struct delivery_row r = { .alert_id = s->alert_id, .url = s->url,
		    .body = body, .round_attempts = s->attempts };
		snprintf(r.inbox_id, sizeof(r.inbox_id), "%s", s->inbox_id);
		snprintf(r.event_id, sizeof(r.event_id), "%s", e->id);
		snprintf(r.event_type, sizeof(r.event_type), "%s", e->type);
		snprintf(r.backoff, sizeof(r.backoff), "%s", s->backoff);
		rc = store__delivery_insert(conn, &r);
	}
	free(body);
	json_decref(event);
	json_decref(payload);
	return rc;
}

static int
cursor_get(sqlite3 *conn, int64_t *seq_r)
{
	sqlite3_stmt *st = store_prepare(conn, "SELECT seq FROM webhook_cursor WHERE id = 1");
	int rc = STORE_ERR_SQL;

	*seq_r = 0;
	if (st && sqlite3_step(st) == SQLITE_ROW) {
		*seq_r = sqlite3_column_int64(st, 0);
		rc = STORE_OK;
	}
	store_finish(st);
	return rc;
}

static int
cursor_set(sqlite3 *conn, int64_t seq)
{
	sqlite3_stmt *st = store_prepare(conn, "UPDATE webhook_cursor SET seq = ? "
	    "WHERE id = 1");
	int rc = STORE_ERR_SQL;

	if (st) {
		sqlite3_bind_int64(st, 1, seq);
		rc = store_step_done(st);
	}
	store_finish(st);
	return rc;
}

static int
fan_out_fn(sqlite3 *conn, void *arg)
{
	int *n_events = arg, n = 0, n_subs = 0, rc;
	struct event_row *events = NULL;
	struct subscription *subs = NULL;
	int64_t seq;

	if ((rc = cursor_get(conn, &seq)) != STORE_OK ||
	    (rc = store__events_read(conn, seq, NULL, NULL, DELIVERY_FAN_OUT_MAX,
	    &events, &n)) != STORE_OK)
		goto out;
	if (n && ((rc = load_alert_rules(conn, &subs, &n_subs)) != STORE_OK ||
	    (rc = load_inbox_webhooks(conn, &subs, &n_subs)) != STORE_OK))
		goto out;
	for (int i = 0; i < n && rc == STORE_OK; i++)
		rc = fan_out_event(conn, &events[i], subs, n_subs);
	if (rc == STORE_OK && n)
		rc = cursor_set(conn, events[n - 1].seq);
out:
	*n_events = rc == STORE_OK ? n : 0;
	event_rows_free(events, n);
	subscriptions_free(subs, n_subs);
	return rc;
}

int
store_deliveries_fan_out(struct store_db *db, int *n_events_r)
{
	*n_events_r = 0;
	return store_db_write(db, fan_out_fn, n_events_r);
}

bool
store_deliveries_have_work(struct store_db *db, int64_t now)
{
	sqlite3 *conn = store_db_acquire(db);
	sqlite3_stmt *st = store_prepare(conn, "SELECT (coalesce((SELECT max(seq) "
	    "FROM events), 0) > (SELECT seq FROM webhook_cursor WHERE id = 1) AND "
	    SUBSCRIBED_SQL ") OR "
	    "EXISTS (SELECT 1 FROM webhook_deliveries WHERE status = 'pending' AND "
	    "next_attempt_at <= ?1) OR EXISTS (SELECT 1 FROM webhook_deliveries WHERE "
	    "status = 'delivering' AND lease_until < ?1)");
	bool yes = false;

	if (st) {
		sqlite3_bind_int64(st, 1, now);
		yes = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0);
	}
	store_finish(st);
	store_db_release(db, &conn);
	return yes;
}

/* --- claim --- */

struct claim_job {
	int64_t			 now, lease_ms;
	int			 limit, n;
	struct delivery_row	*rows;
};

/* The subscription's secret now into r; false when it is gone. */
static bool
current_secret(sqlite3 *conn, struct delivery_row *r)
{
	sqlite3_stmt *st = store_prepare(conn, r->alert_id ?
	    "SELECT secret, CASE WHEN secret_rotated_at > ?2 THEN previous_secret "
	    "END FROM alert_rules WHERE id = ?1" :
	    "SELECT json_extract(settings, '$.webhook.secret'), NULL FROM "
	    "inbox_settings WHERE inbox_id = ?1 AND "
	    "json_extract(settings, '$.webhook.url') IS NOT NULL");
	bool found = false;

	if (st) {
		store_bind_text(st, 1, r->alert_id ? r->alert_id : r->inbox_id);
		if (r->alert_id)
			sqlite3_bind_int64(st, 2, time_now_ms() - DELIVERY_SECRET_GRACE_MS);
		if ((found = sqlite3_step(st) == SQLITE_ROW)) {
			r->secret = store_col_text(st, 0);
			r->previous_secret = store_col_text(st, 1);
		}
	}
	store_finish(st);
	return found;
}

static int
set_state(sqlite3 *conn, const char *id, const char *status, int64_t lease_until,
    const char *error)
{
	sqlite3_stmt *st = store_prepare(conn, "UPDATE webhook_deliveries SET "
	    "status = ?2, lease_until = ?3, last_error = coalesce(?4, last_error), "
	    "updated_at = ?5 WHERE id = ?1");
	int rc = STORE_ERR_SQL;

	if (st) {
		store_bind_text(st, 1, id);
		store_bind_text(st, 2, status);
		if (lease_until)
			sqlite3_bind_int64(st, 3, lease_until);
		store_bind_text(st, 4, error);
		sqlite3_bind_int64(st, 5, time_now_ms());
		rc = store_step_done(st);
	}
	store_finish(st);
	return rc;
}

static int
expire_leases(sqlite3 *conn, int64_t now)
{
	sqlite3_stmt *st = store_prepare(conn, "UPDATE webhook_deliveries SET status "
	    "= 'pending', lease_until = NULL WHERE status = 'delivering' AND "
	    "lease_until < ?");
	int rc = STORE_ERR_SQL;

	if (st) {
		sqlite3_bind_int64(st, 1, now);
		rc = store_step_done(st);
	}
	store_finish(st);
	return rc;
}

static int
claim_fn(sqlite3 *conn, void *arg)
{
	struct claim_job *j = arg;
	sqlite3_stmt *st;
	int rc = expire_leases(conn, j->now);

	/* At most DELIVERY_URL_IN_FLIGHT per endpoint, counting those still
	 * in flight: a dead endpoint's backlog cannot take every slot from
	 * the others. Only the DELIVERY_CLAIM_SCAN most overdue are looked
	 * at, so a huge backlog does not hold the writer. */
	if (rc != STORE_OK || !(st = store_prepare(conn, "SELECT " DELIVERY_COLUMNS
	    " FROM (SELECT *, row_number() OVER (PARTITION BY url ORDER BY "
	    "next_attempt_at, id) AS nth FROM (SELECT * FROM webhook_deliveries "
	    "WHERE status = 'pending' AND next_attempt_at <= ?1 ORDER BY "
	    "next_attempt_at, id LIMIT ?4)) AS due WHERE nth + (SELECT count(*) "
	    "FROM webhook_deliveries d WHERE d.status = 'delivering' AND d.url = "
	    "due.url) <= ?3 ORDER BY next_attempt_at, id LIMIT ?2")))
		return STORE_ERR_SQL;
	j->rows = xcalloc((size_t)j->limit, sizeof(*j->rows));
	sqlite3_bind_int64(st, 1, j->now);
	sqlite3_bind_int(st, 2, j->limit);
	sqlite3_bind_int(st, 3, DELIVERY_URL_IN_FLIGHT);
	sqlite3_bind_int(st, 4, DELIVERY_CLAIM_SCAN);
	while (j->n < j->limit && sqlite3_step(st) == SQLITE_ROW)
		store__delivery_read(st, &j->rows[j->n++]);
	store_finish(st);
	for (int i = 0; i < j->n && rc == STORE_OK; i++) {
		struct delivery_row *r = &j->rows[i];
		if (current_secret(conn, r))
			rc = set_state(conn, r->id, "delivering", j->now + j->lease_ms, NULL);
		else {	/* its rule or inbox webhook was deleted meanwhile */
			rc = set_state(conn, r->id, "undelivered", 0, r->alert_id ?
			    "the alert rule was deleted" : "the inbox webhook was removed");
			delivery_row_free(r);
			*r = j->rows[--j->n];
			i--;
		}
	}
	return rc;
}

int
store_deliveries_claim(struct store_db *db, int64_t now, int64_t lease_ms,
    int limit, struct delivery_row **rows_r, int *n_r)
{
	struct claim_job j = { now, lease_ms, limit, 0, NULL };
	int rc = store_db_write(db, claim_fn, &j);

	if (rc != STORE_OK) {
		delivery_rows_free(j.rows, j.n);
		j.rows = NULL;
		j.n = 0;
	}
	*rows_r = j.rows;
	*n_r = j.n;
	return rc;
}

static int
release_fn(sqlite3 *conn, void *arg)
{
	(void)arg;
	return expire_leases(conn, INT64_MAX);
}

int
store_deliveries_release_all(struct store_db *db)
{
	return store_db_write(db, release_fn, NULL);
}

/* --- record --- */

static int
record_fn(sqlite3 *conn, void *arg)
{
	const struct delivery_outcome *o = arg;
	const struct delivery_attempt_row *a = o->attempt;
	sqlite3_stmt *st = store_prepare(conn, "UPDATE webhook_deliveries SET "
	    "attempts = attempts + 1, status = ?2, next_attempt_at = ?3, lease_until "
	    "= NULL, last_code = ?4, last_error = ?5, updated_at = ?6 WHERE id = ?1 "
	    "AND status = 'delivering'");
	int rc = STORE_ERR_SQL;

	if (!st)
		return rc;
	store_bind_text(st, 1, o->id);
	store_bind_text(st, 2, o->status);
	sqlite3_bind_int64(st, 3, o->next_attempt_at);
	sqlite3_bind_int64(st, 4, a->http_code);
	store_bind_text(st, 5, a->error && *a->error ? a->error : NULL);
	sqlite3_bind_int64(st, 6, a->at);
	rc = store_step_done(st);
	store_finish(st);
	if (rc != STORE_OK || sqlite3_changes(conn) != 1)
		return rc == STORE_OK ? STORE_ERR_CONFLICT : rc;	/* lease lost */
	st = store_prepare(conn, "INSERT INTO webhook_attempts (delivery_id, n, at, "
	    "result, http_code, error, connected_ip, elapsed_ms) VALUES (?1, (SELECT "
	    "attempts FROM webhook_deliveries WHERE id = ?1), ?2, ?3, ?4, ?5, ?6, ?7)");
	if (!st)
		return STORE_ERR_SQL;
	store_bind_text(st, 1, o->id);
	sqlite3_bind_int64(st, 2, a->at);
	store_bind_text(st, 3, a->result);
	if (a->http_code)
		sqlite3_bind_int64(st, 4, a->http_code);
	store_bind_text(st, 5, a->error && *a->error ? a->error : NULL);
	store_bind_text(st, 6, a->connected_ip && *a->connected_ip ? a->connected_ip : NULL);
	sqlite3_bind_int64(st, 7, a->elapsed_ms);
	rc = store_step_done(st);
	store_finish(st);
	return rc;
}

int
store_deliveries_record(struct store_db *db, const struct delivery_outcome *o)
{
	return store_db_write(db, record_fn, (void *)o);
}

/* --- retention of the log --- */

int
store_events_prune(struct store_db *db, int64_t cutoff, int *removed_r)
{
	/* Only events the dispatcher is done with (or that no one subscribes
	 * to: the first subscription starts at the end of the log anyway). */
	return store__exec_int(db, "DELETE FROM events WHERE created_at < ?1 AND "
	    "(seq <= (SELECT seq FROM webhook_cursor WHERE id = 1) OR NOT "
	    SUBSCRIBED_SQL ")", cutoff, removed_r);
}

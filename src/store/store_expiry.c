/*
 * store_expiry.c - the retention sweep of one tenant database.
 *
 * For each inbox that keeps anything for less than forever, the messages
 * older than its shortest period are looked at (oldest first) and each
 * gets its effective periods: a label's retention if it carries one (the
 * longest), else the inbox's. Decisions are collected first and applied
 * after the scan, so the SELECT never walks rows it is deleting.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gent/retention.h"
#include "gent/store_expiry.h"
#include "gent/util.h"
#include "store_int.h"

/* An inbox's periods (ms; RETENTION_FOREVER = keep). */
struct inbox_policy {
	char	 inbox_id[64];
	int64_t	 messages, attachments;
};

/* What to do with one message. */
struct expiry_action {
	char	 id[64];
	bool	 whole;		/* delete the message; else only its attachments */
};

static int64_t
setting_period(json_t *retention, const char *key)
{
	int64_t ms = retention_period_ms(json_string_value(json_object_get(retention, key)));

	return ms < 0 ? RETENTION_FOREVER : ms;
}

/* Inboxes with a finite period, or with labels that set one. */
static int
load_policies(sqlite3 *conn, struct inbox_policy **out, int *n_r)
{
	sqlite3_stmt *st = store_prepare(conn, "SELECT i.inbox_id, s.settings, "
	    "EXISTS (SELECT 1 FROM labels l WHERE l.inbox_id = i.inbox_id AND "
	    "json_extract(l.policies, '$.retention') IS NOT NULL) FROM "
	    "(SELECT inbox_id FROM inbox_settings UNION SELECT inbox_id FROM labels "
	    "WHERE json_extract(policies, '$.retention') IS NOT NULL) i LEFT JOIN "
	    "inbox_settings s ON s.inbox_id = i.inbox_id");
	int n = 0;

	*out = NULL;
	if (!st)
		return STORE_ERR_SQL;
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *text = (const char *)sqlite3_column_text(st, 1);
		json_t *s = json_loads(text ? text : "{}", 0, NULL);
		json_t *r = json_object_get(s, "retention");
		*out = xrealloc(*out, (size_t)(n + 1) * sizeof(**out));
		store__copy_col(st, 0, (*out)[n].inbox_id, sizeof((*out)[n].inbox_id));
		(*out)[n].messages = setting_period(r, "messages");
		(*out)[n].attachments = setting_period(r, "attachments");
		/* Nothing can expire here: keep the row out of the scan. */
		if ((*out)[n].messages != RETENTION_FOREVER ||
		    (*out)[n].attachments != RETENTION_FOREVER ||
		    sqlite3_column_int(st, 2))
			n++;
		json_decref(s);
	}
	store_finish(st);
	*n_r = n;
	return STORE_OK;
}

/* The longest retention among a message's labels ("a,b" list), or -1. */
static int64_t
label_period(const char *names)
{
	int64_t best = -1;
	char *copy = xstrdup(names ? names : ""), *save = NULL;

	for (char *p = strtok_r(copy, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
		int64_t ms = retention_period_ms(p);
		if (ms > best)
			best = ms;
	}
	free(copy);
	return best;
}

/* Decide for the inbox's old messages; appends to acts (capacity cap). */
static int
plan_inbox(sqlite3 *conn, const struct inbox_policy *p, int64_t now,
    struct expiry_action *acts, int *n, int cap, bool *more)
{
	sqlite3_stmt *st = store_prepare(conn, "SELECT m.id, m.received_at, "
	    "m.n_attachments, (SELECT group_concat(json_extract(l.policies, "
	    "'$.retention')) FROM message_labels ml JOIN labels l ON l.id = "
	    "ml.label_id WHERE ml.message_id = m.id) FROM messages m WHERE "
	    "m.inbox_id = ? AND m.received_at < ? ORDER BY m.received_at");
	int64_t shortest = p->messages < p->attachments ? p->messages : p->attachments;

	if (!st)
		return STORE_ERR_SQL;
	/* Labels may keep shorter than the inbox: look at everything a 30-day
	 * label could expire as well. */
	if (shortest > 30LL * 24 * 3600 * 1000)
		shortest = 30LL * 24 * 3600 * 1000;
	store_bind_text(st, 1, p->inbox_id);
	sqlite3_bind_int64(st, 2, now - shortest);
	while (sqlite3_step(st) == SQLITE_ROW) {
		int64_t at = sqlite3_column_int64(st, 1), lbl = label_period(
		    (const char *)sqlite3_column_text(st, 3));
		bool whole = retention_expired(at, retention_effective(p->messages, lbl), now);
		bool atts = sqlite3_column_int64(st, 2) > 0 && retention_expired(at,
		    retention_effective(p->attachments, lbl), now);
		if (!whole && !atts)
			continue;
		if (*n == cap) {
			*more = true;
			break;
		}
		store__copy_col(st, 0, acts[*n].id, sizeof(acts[*n].id));
		acts[(*n)++].whole = whole;
	}
	store_finish(st);
	return STORE_OK;
}

static int
strip_attachments(sqlite3 *conn, const char *id)
{
	static const char *const steps[] = {
		"DELETE FROM attachments WHERE message_id = ?",
		"UPDATE messages SET n_attachments = 0 WHERE id = ?",
	};
	int rc = STORE_OK;

	for (size_t i = 0; i < GENT_ARRAY_LEN(steps) && rc == STORE_OK; i++) {
		sqlite3_stmt *st = store_prepare(conn, steps[i]);
		if (!st)
			return STORE_ERR_SQL;
		store_bind_text(st, 1, id);
		rc = store_step_done(st);
		store_finish(st);
	}
	return rc;
}

/* Apply the inbox's actions and audit them in one row. */
static int
apply(sqlite3 *conn, const char *tenant_id, const char *inbox_id,
    const struct expiry_action *acts, int n, struct expiry_result *out)
{
	int msgs = 0, atts = 0, rc = STORE_OK;
	char detail[160];

	for (int i = 0; i < n && rc == STORE_OK; i++) {
		rc = acts[i].whole ? store__message_delete(conn, acts[i].id) :
		    strip_attachments(conn, acts[i].id);
		msgs += acts[i].whole;
		atts += !acts[i].whole;
	}
	if (rc != STORE_OK || n == 0)
		return rc;
	snprintf(detail, sizeof(detail), "{\"messages\":%d,\"attachments\":%d}", msgs, atts);
	struct store_audit a = { .tenant_id = tenant_id, .actor_type = "system",
	    .actor_id = "retention", .action = "retention.expired",
	    .target_type = "inbox", .target_id = inbox_id, .detail_json = detail,
	    .inbox_id = inbox_id };
	out->messages += msgs;
	out->attachments += atts;
	return store_audit_append(conn, &a);
}

struct sweep_job {
	const char		*tenant_id;
	int64_t			 now;
	struct expiry_result	*out;
};

static int
sweep_fn(sqlite3 *conn, void *arg)
{
	struct sweep_job *j = arg;
	struct expiry_action *acts = xcalloc(EXPIRY_BATCH, sizeof(*acts));
	struct inbox_policy *pol;
	int n_pol, used = 0, rc = load_policies(conn, &pol, &n_pol);

	for (int i = 0; i < n_pol && rc == STORE_OK && !j->out->more; i++) {
		int start = used;
		rc = plan_inbox(conn, &pol[i], j->now, acts, &used, EXPIRY_BATCH,
		    &j->out->more);
		if (rc == STORE_OK)
			rc = apply(conn, j->tenant_id, pol[i].inbox_id, acts + start,
			    used - start, j->out);
	}
	free(pol);
	free(acts);
	return rc;
}

int
store_expiry_sweep(struct store_db *db, int64_t now, struct expiry_result *out)
{
	struct sweep_job j = { db->tenant_id, now, out };

	memset(out, 0, sizeof(*out));
	return store_db_write(db, sweep_fn, &j);
}

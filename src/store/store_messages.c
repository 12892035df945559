/*
 * store_messages.c - message rows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gent/html_text.h"
#include "gent/ids.h"
#include "gent/log.h"
#include "gent/store_events.h"
#include "gent/store_labels.h"
#include "gent/store_messages.h"
#include "gent/util.h"
#include "store_int.h"
#include "store_messages_int.h"

void
store__message_read_row(sqlite3_stmt *st, struct message_row *m)
{
	memset(m, 0, sizeof(*m));
	store__copy_col(st, 0, m->id, sizeof(m->id));
	store__copy_col(st, 1, m->inbox_id, sizeof(m->inbox_id));
	store__copy_col(st, 2, m->direction, sizeof(m->direction));
	m->message_id_hdr = store_col_text(st, 3);
	m->subject = store_col_text(st, 4);
	m->from_addr = store_col_text(st, 5);
	m->to_addrs = store_col_text(st, 6);
	m->date_hdr = store_col_text(st, 7);
	m->mail_from = store_col_text(st, 8);
	m->rcpt_to = store_col_text(st, 9);
	m->client_ip = store_col_text(st, 10);
	m->helo = store_col_text(st, 11);
	m->tls = sqlite3_column_int(st, 12) != 0;
	m->size = sqlite3_column_int64(st, 13);
	m->received_at = sqlite3_column_int64(st, 14);
	m->smtp_session = store_col_text(st, 15);
	store__copy_col(st, 16, m->thread_id, sizeof(m->thread_id));
	m->trace = store_col_text(st, 17);
	m->text_body = store_col_text(st, 18);
	m->html_body = store_col_text(st, 19);
	m->n_attachments = sqlite3_column_int64(st, 20);
	m->malformed = sqlite3_column_int(st, 21) != 0;
	m->is_read = sqlite3_column_int(st, 22) != 0;
	m->is_starred = sqlite3_column_int(st, 23) != 0;
	m->is_archived = sqlite3_column_int(st, 24) != 0;
	m->labels_json = store_col_text(st, 25);
}

void
message_row_free(struct message_row *m)
{
	char **fields[] = { &m->message_id_hdr, &m->subject, &m->from_addr,
	    &m->to_addrs, &m->date_hdr, &m->mail_from, &m->rcpt_to,
	    &m->client_ip, &m->helo, &m->raw, &m->smtp_session, &m->trace,
	    &m->text_body, &m->html_body, &m->labels_json, &m->snippet };

	for (size_t i = 0; i < GENT_ARRAY_LEN(fields); i++)
		xfree(fields[i]);
}

void
message_rows_free(struct message_row *rows, int n)
{
	for (int i = 0; i < n; i++)
		message_row_free(&rows[i]);
	free(rows);
}

struct insert_job {
	struct message_row		*rows;
	size_t				 n;
	const struct store_audit	*audits;
};

static int
insert_attachments(sqlite3 *conn, const struct message_row *m)
{
	sqlite3_stmt *st = store_prepare(conn, "INSERT INTO attachments (id, "
	    "message_id, position, filename, content_type, content_id, inline_part, "
	    "size, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
	int rc = st ? STORE_OK : STORE_ERR_SQL;

	for (int64_t i = 0; st && i < m->n_attachments && rc == STORE_OK; i++) {
		const struct mime_attachment *a = &m->attachments[i];
		char *id = ids_new("att");
		sqlite3_reset(st);
		store_bind_text(st, 1, id);
		store_bind_text(st, 2, m->id);
		sqlite3_bind_int64(st, 3, i);
		store_bind_text(st, 4, a->filename);
		store_bind_text(st, 5, a->content_type);
		store_bind_text(st, 6, a->content_id);
		sqlite3_bind_int(st, 7, a->inline_part);
		sqlite3_bind_int64(st, 8, (int64_t)a->size);
		sqlite3_bind_blob64(st, 9, a->data ? a->data : "", a->size, SQLITE_STATIC);
		rc = store_step_done(st);
		free(id);
	}
	store_finish(st);
	return rc;
}

/* The thread of the nearest parent already in this inbox, or a new one. */
static void
resolve_thread(sqlite3 *conn, struct message_row *m)
{
	sqlite3_stmt *st = store_prepare(conn, "SELECT thread_id FROM messages "
	    "WHERE inbox_id = ? AND message_id_hdr = ? ORDER BY received_at LIMIT 1");

	for (size_t i = 0; st && i < m->n_parents && !m->thread_id[0]; i++) {
		sqlite3_reset(st);
		store_bind_text(st, 1, m->inbox_id);
		store_bind_text(st, 2, m->parents[i]);
		if (sqlite3_step(st) == SQLITE_ROW)
			store__copy_col(st, 0, m->thread_id, sizeof(m->thread_id));
	}
	store_finish(st);
	if (!m->thread_id[0]) {
		char *id = ids_new("thr");
		snprintf(m->thread_id, sizeof(m->thread_id), "%s", id);
		free(id);
	}
}

/* The search entry; HTML-only mail is indexed by its text. */
static int
index_for_search(sqlite3 *conn, const struct message_row *m)
{
	char *addresses = xasprintf("%s %s", m->from_addr ? m->from_addr : "",
	    m->to_addrs ? m->to_addrs : "");
	char *body = m->text_body ? NULL : html_text(m->html_body);
	sqlite3_stmt *st = store_prepare(conn, "INSERT INTO messages_fts (subject, "
	    "addresses, body) VALUES (?, ?, ?)");
	int rc = STORE_ERR_SQL;

	if (st) {
		store_bind_text(st, 1, m->subject);
		store_bind_text(st, 2, addresses);
		store_bind_text(st, 3, m->text_body ? m->text_body : body);
		rc = store_step_done(st);
	}
	store_finish(st);
	free(addresses);
	free(body);
	if (rc != STORE_OK)
		return rc;
	st = store_prepare(conn, "UPDATE messages SET fts_rowid = ? WHERE id = ?");
	if (!st)
		return STORE_ERR_SQL;
	sqlite3_bind_int64(st, 1, sqlite3_last_insert_rowid(conn));
	store_bind_text(st, 2, m->id);
	rc = store_step_done(st);
	store_finish(st);
	return rc;
}

/* Create the message's thread row or extend it. */
static int
thread_grow(sqlite3 *conn, const struct message_row *m)
{
	sqlite3_stmt *st = store_prepare(conn, "INSERT INTO threads (id, inbox_id, "
	    "subject, first_at, last_at, message_count) VALUES (?1, ?2, ?3, ?4, ?4, 1) "
	    "ON CONFLICT (id) DO UPDATE SET last_at = max(last_at, excluded.last_at), "
	    "message_count = message_count + 1");
	int rc;

	if (!st)
		return STORE_ERR_SQL;
	store_bind_text(st, 1, m->thread_id);
	store_bind_text(st, 2, m->inbox_id);
	store_bind_text(st, 3, m->subject);
	sqlite3_bind_int64(st, 4, m->received_at);
	rc = store_step_done(st);
	store_finish(st);
	return rc;
}

static int
insert_one(sqlite3 *conn, struct message_row *m)
{
	sqlite3_stmt *st;
	int rc;

	resolve_thread(conn, m);
	st = store_prepare(conn, "INSERT INTO messages (" MESSAGE_COLUMNS
	    ", raw) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
	    "?, ?, ?)");
	if (!st)
		return STORE_ERR_SQL;
	store_bind_text(st, 1, m->id);
	store_bind_text(st, 2, m->inbox_id);
	store_bind_text(st, 3, m->direction);
	store_bind_text(st, 4, m->message_id_hdr);
	store_bind_text(st, 5, m->subject);
	store_bind_text(st, 6, m->from_addr);
	store_bind_text(st, 7, m->to_addrs);
	store_bind_text(st, 8, m->date_hdr);
	store_bind_text(st, 9, m->mail_from);
	store_bind_text(st, 10, m->rcpt_to);
	store_bind_text(st, 11, m->client_ip);
	store_bind_text(st, 12, m->helo);
	sqlite3_bind_int(st, 13, m->tls);
	sqlite3_bind_int64(st, 14, m->size);
	sqlite3_bind_int64(st, 15, m->received_at);
	store_bind_text(st, 16, m->smtp_session);
	store_bind_text(st, 17, m->thread_id);
	store_bind_text(st, 18, m->trace ? m->trace : "{}");
	store_bind_text(st, 19, m->text_body);
	store_bind_text(st, 20, m->html_body);
	sqlite3_bind_int64(st, 21, m->n_attachments);
	sqlite3_bind_int(st, 22, m->malformed);
	sqlite3_bind_blob64(st, 23, m->raw, m->raw_len, SQLITE_STATIC);
	rc = store_step_done(st);
	store_finish(st);
	if (rc == STORE_OK)
		rc = insert_attachments(conn, m);
	if (rc == STORE_OK)
		rc = index_for_search(conn, m);
	if (rc == STORE_OK)
		rc = thread_grow(conn, m);
	for (size_t i = 0; i < m->n_forwards && rc == STORE_OK; i++)
		rc = store_outbound_append(conn, &m->forwards[i]);
	for (size_t i = 0; i < m->n_labels && rc == STORE_OK; i++) {
		const struct message_label *l = &m->labels[i];
		struct label_apply a = { m->id, l->label_id, l->applied_by,
		    "auto_label_rule", l->rule_id, NULL };
		bool changed;
		rc = store__label_apply(conn, &a, &changed);
		/* The label went away since the rule matched: store without it. */
		if (rc == STORE_ERR_NOT_FOUND)
			rc = STORE_OK;
	}
	return rc;
}

/* message.received, in the same transaction as the message. (A message we
 * send gets message.sent from the relay once delivered, per recipient.) */
static int
received_event(sqlite3 *conn, const struct message_row *m)
{
	struct store_event e = { "message.received", m->inbox_id, m->id,
	    m->thread_id, NULL };
	struct buf labels = { 0 };
	char *payload;
	int rc;

	/* The labels it arrived with, so a rule filtering on a label sees the
	 * message as it was then, not as it is when the event is read. */
	for (size_t i = 0; i < m->n_labels; i++)
		buf_printf(&labels, "%s\"%s\"", i ? "," : "", m->labels[i].label_id);
	payload = xasprintf("{\"direction\":\"%s\",\"size\":%lld,"
	    "\"label_ids\":[%s]}", m->direction, (long long)m->size,
	    labels.data ? labels.data : "");
	free(labels.data);

	if (strcmp(m->direction, "outbound") == 0) {
		free(payload);
		return STORE_OK;
	}
	e.payload_json = payload;
	rc = store_events_append(conn, &e);
	free(payload);
	return rc;
}

int
store__messages_insert_one(sqlite3 *conn, struct message_row *m,
    const struct store_audit *audit)
{
	int rc = STORE_OK;

	if (m->id[0] && (rc = insert_one(conn, m)) == STORE_OK)
		rc = received_event(conn, m);
	return rc == STORE_OK ? store_audit_append(conn, audit) : rc;
}

static int
insert_fn(sqlite3 *conn, void *arg)
{
	struct insert_job *j = arg;
	int rc = STORE_OK;

	for (size_t i = 0; i < j->n && rc == STORE_OK; i++)
		rc = store__messages_insert_one(conn, &j->rows[i], &j->audits[i]);
	return rc;
}

int
store_messages_insert(struct store_db *db, struct message_row *rows,
    size_t n, const struct store_audit *audits)
{
	struct insert_job j = { rows, n, audits };

	return store_db_write(db, insert_fn, &j);
}

int
store_messages_get(struct store_db *db, const char *id, bool with_raw,
    struct message_row *out)
{
	sqlite3 *conn = store_db_acquire(db);
	sqlite3_stmt *st = store_prepare(conn, "SELECT " MESSAGE_COLUMNS
	    ", " READ_COLUMNS ", raw FROM messages m WHERE id = ?");
	int rc = STORE_ERR_SQL;

	memset(out, 0, sizeof(*out));
	if (st) {
		store_bind_text(st, 1, id);
		rc = STORE_ERR_NOT_FOUND;
		if (sqlite3_step(st) == SQLITE_ROW) {
			store__message_read_row(st, out);
			if (with_raw) {
				out->raw_len = (size_t)sqlite3_column_bytes(st, READ_COLUMNS_N);
				out->raw = xmalloc(out->raw_len + 1);
				if (out->raw_len)
					memcpy(out->raw, sqlite3_column_blob(st, READ_COLUMNS_N),
					    out->raw_len);
				out->raw[out->raw_len] = '\0';
			}
			rc = STORE_OK;
		}
	}
	store_finish(st);
	store_db_release(db, &conn);
	return rc;
}

static void
read_attachment(sqlite3_stmt *st, struct attachment_row *a, bool with_data)
{
	memset(a, 0, sizeof(*a));
	store__copy_col(st, 0, a->id, sizeof(a->id));
	store__copy_col(st, 1, a->message_id, sizeof(a->message_id));
	a->filename = store_col_text(st, 2);
	a->content_type = store_col_text(st, 3);
	a->content_id = store_col_text(st, 4);
	a->inline_part = sqlite3_column_int(st, 5) != 0;
	a->size = sqlite3_column_int64(st, 6);
	if (with_data) {
		a->data = xmalloc((size_t)a->size + 1);
		if (a->size)
			memcpy(a->data, sqlite3_column_blob(st, 7), (size_t)a->size);
	}
}

#define ATTACHMENT_COLUMNS "id, message_id, filename, content_type, content_id, " \
	"inline_part, size"

int
store_attachments_list(struct store_db *db, const char *message_id,
    struct attachment_row **rows_r, int *n_r)
{
	sqlite3 *conn = store_db_acquire(db);
	sqlite3_stmt *st = store_prepare(conn, "SELECT " ATTACHMENT_COLUMNS
	    " FROM attachments WHERE message_id = ? ORDER BY position");
	struct attachment_row *rows = NULL;
	int n = 0, rc = STORE_ERR_SQL;

	if (st) {
		store_bind_text(st, 1, message_id);
		while (sqlite3_step(st) == SQLITE_ROW) {
			rows = xrealloc(rows, (size_t)(n + 1) * sizeof(*rows));
			read_attachment(st, &rows[n++], false);
		}
		rc = STORE_OK;
	}
	store_finish(st);
	store_db_release(db, &conn);
	*rows_r = rows;
	*n_r = n;
	return rc;
}

int
store_attachments_get(struct store_db *db, const char *message_id,
    const char *id, struct attachment_row *out)
{
	sqlite3 *conn = store_db_acquire(db);
	sqlite3_stmt *st = store_prepare(conn, "SELECT " ATTACHMENT_COLUMNS
	    ", data FROM attachments WHERE message_id = ? AND id = ?");
	int rc = STORE_ERR_SQL;

	memset(out, 0, sizeof(*out));
	if (st) {
		store_bind_text(st, 1, message_id);
		store_bind_text(st, 2, id);
		rc = STORE_ERR_NOT_FOUND;
		if (sqlite3_step(st) == SQLITE_ROW) {
			read_attachment(st, out, true);
			rc = STORE_OK;
		}
	}
	store_finish(st);
	store_db_release(db, &conn);
	return rc;
}

void
attachment_rows_free(struct attachment_row *rows, int n)
{
	for (int i = 0; i < n; i++) {
		free(rows[i].filename);
		free(rows[i].content_type);
		free(rows[i].content_id);
		free(rows[i].data);
	}
	free(rows);
}

struct flags_job {
	const char			*id;
	int				 read, starred, archived;
	const struct store_audit	*audit;
};

static int
flags_fn(sqlite3 *conn, void *arg)
{
	struct flags_job *j = arg;
	sqlite3_stmt *st = store_prepare(conn, "UPDATE messages SET "
	    "is_read = coalesce(?2, is_read), is_starred = coalesce(?3, is_starred), "
	    "is_archived = coalesce(?4, is_archived) WHERE id = ?1");
	int rc, v[3] = { j->read, j->starred, j->archived };

	if (!st)
		return STORE_ERR_SQL;
	store_bind_text(st, 1, j->id);
	for (int i = 0; i < 3; i++)
		if (v[i] >= 0)
			sqlite3_bind_int(st, i + 2, v[i] != 0);
	rc = store_step_done(st);
	if (rc == STORE_OK && sqlite3_changes(conn) == 0)
		rc = STORE_ERR_NOT_FOUND;
	store_finish(st);
	return rc == STORE_OK ? store_audit_append(conn, j->audit) : rc;
}

int
store_messages_set_flags(struct store_db *db, const char *id, int read,
    int starred, int archived, const struct store_audit *audit)
{
	struct flags_job j = { id, read, starred, archived, audit };

	return store_db_write(db, flags_fn, &j);
}

/* Run sql with the message id bound; for the steps of a delete. */
static int
exec_with_id(sqlite3 *conn, const char *sql, const char *id)
{
	sqlite3_stmt *st = store_prepare(conn, sql);
	int rc;

	if (!st)
		return STORE_ERR_SQL;
	store_bind_text(st, 1, id);
	rc = store_step_done(st);
	store_finish(st);
	return rc;
}

int
store__message_delete(sqlite3 *conn, const char *id)
{
	static const char *const steps[] = {
		"DELETE FROM messages_fts WHERE rowid = (SELECT fts_rowid FROM "
		    "messages WHERE id = ?1)",
		"UPDATE threads SET message_count = message_count - 1, last_at = "
		    "coalesce((SELECT max(received_at) FROM messages WHERE thread_id = "
		    "threads.id AND id <> ?1), last_at) WHERE id = (SELECT thread_id "
		    "FROM messages WHERE id = ?1)",
		"DELETE FROM threads WHERE message_count <= 0 AND id = (SELECT "
		    "thread_id FROM messages WHERE id = ?1)",
		/*
		 * Its copies in the outbound queue (a send, forwards) lose
		 * their bytes too; those not yet delivered never will be. A
		 * copy in flight ('sending') keeps its outcome, but one that
		 * comes back for a retry is failed (store_queue.c).
		 */
		"UPDATE outbound SET raw = X'', status = CASE WHEN status IN "
		    "('queued', 'held') THEN 'failed' ELSE status END, last_error = "
		    "CASE WHEN status IN ('queued', 'held') THEN 'the message was "
		    "deleted before delivery' ELSE last_error END WHERE "
		    "source_message_id = ?1",
	};
	int rc = STORE_OK;

	for (size_t i = 0; i < GENT_ARRAY_LEN(steps) && rc == STORE_OK; i++)
		rc = exec_with_id(conn, steps[i], id);
	/* Attachments and labels go with the row (ON DELETE CASCADE). */
	if (rc == STORE_OK)
		rc = exec_with_id(conn, "DELETE FROM messages WHERE id = ?1", id);
	if (rc == STORE_OK && sqlite3_changes(conn) == 0)
		rc = STORE_ERR_NOT_FOUND;
	return rc;
}

static int
delete_fn(sqlite3 *conn, void *arg)
{
	const struct flags_job *j = arg;
	int rc = store__message_delete(conn, j->id);

	return rc == STORE_OK ? store_audit_append(conn, j->audit) : rc;
}

int
store_messages_delete(struct store_db *db, const char *id,
    const struct store_audit *audit)
{
	struct flags_job j = { id, -1, -1, -1, audit };

	return store_db_write(db, delete_fn, &j);
}

/*
 * store_messages_list.c - the messages list query: filters, keyset pages
 * newest first, and full-text search.
 *
 * A search is planned in two steps. The page is chosen first, from ids
 * only (message id, search rowid, time, rank); the full columns and the
 * snippet, which re-reads the document, are then built for the page
 * alone. How the page is chosen depends on how many documents match:
 *
 *   - few matches: read every match from the index and sort them
 *     (a rare word would otherwise make the walk below read the whole
 *     inbox before the page fills);
 *   - many matches: walk the inbox newest first and test each message
 *     against the index (a common word fills a page within a few hundred
 *     messages; reading and sorting all of them would cost more);
 *   - sort=relevance: every match is ranked, so always from the index.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gent/log.h"
#include "gent/store_messages.h"
#include "gent/util.h"
#include "store_int.h"
#include "store_messages_int.h"

/* Matching documents (whole tenant) up to which a newest-first search
 * reads its matches from the index. Around sqrt(page * inbox size) is where
 * the two plans cost the same for a 100,000-message inbox. */
#define SEARCH_FROM_INDEX_MAX 2000

#define SNIPPET_SQL "snippet(messages_fts, -1, '<mark>', '</mark>', '…', 16)"
#define RANK_SQL "bm25(messages_fts, 5.0, 2.0, 1.0)"

/* Bind numbers of the list query; a clause is present only when used. */
enum {
	P_INBOX = 1, P_FTS, P_THREAD, P_LABEL, P_FROM, P_TO, P_AFTER, P_BEFORE,
	P_CURSOR_MS, P_CURSOR_ID, P_LIMIT, P_OFFSET,
};

enum list_plan {
	PLAN_SCAN,		/* no search: the inbox index, newest first */
	PLAN_SEARCH_WALK,	/* the inbox newest first, each tested */
	PLAN_SEARCH_INDEX,	/* every match from the index, then sorted */
};

static const char *
flag_clause(int want, const char *yes, const char *no)
{
	return want < 0 ? "" : want ? yes : no;
}

/* The WHERE conditions after the inbox (and MATCH) ones. */
static void
filter_clauses(struct buf *b, const struct message_filter *f, bool keyset)
{
	if (f->thread_id)
		buf_printf(b, " AND m.thread_id = ?%d", P_THREAD);
	if (f->label_id)
		buf_printf(b, " AND EXISTS (SELECT 1 FROM message_labels ml WHERE "
		    "ml.message_id = m.id AND ml.label_id = ?%d)", P_LABEL);
	if (f->from)
		buf_printf(b, " AND instr(lower(m.from_addr), lower(?%d)) > 0", P_FROM);
	if (f->to)
		buf_printf(b, " AND instr(lower(m.to_addrs), lower(?%d)) > 0", P_TO);
	if (f->after_ms)
		buf_printf(b, " AND m.received_at >= ?%d", P_AFTER);
	if (f->before_ms)
		buf_printf(b, " AND m.received_at < ?%d", P_BEFORE);
	buf_append_str(b, flag_clause(f->unread, " AND m.is_read = 0", " AND m.is_read = 1"));
	buf_append_str(b, flag_clause(f->starred, " AND m.is_starred = 1",
	    " AND m.is_starred = 0"));
	buf_append_str(b, flag_clause(f->archived, " AND m.is_archived = 1",
	    " AND m.is_archived = 0"));
	buf_append_str(b, flag_clause(f->has_attachment, " AND m.n_attachments > 0",
	    " AND m.n_attachments = 0"));
	if (keyset)
		buf_printf(b, " AND (m.received_at < ?%d OR (m.received_at = ?%d AND "
		    "m.id < ?%d))", P_CURSOR_MS, P_CURSOR_MS, P_CURSOR_ID);
}

static char *
scan_sql(const struct message_filter *f, bool keyset)
{
	struct buf b = { 0 };

	buf_printf(&b, "SELECT " MESSAGE_LIST_COLUMNS_M ", " READ_COLUMNS ", NULL, 0 "
	    "FROM messages m WHERE m.inbox_id = ?%d", P_INBOX);
	filter_clauses(&b, f, keyset);
	buf_printf(&b, " ORDER BY m.received_at DESC, m.id DESC LIMIT ?%d", P_LIMIT);
	return b.data;
}

/* CROSS JOIN fixes the join order, which is the whole point of a plan. */
static char *
search_sql(const struct message_filter *f, enum list_plan plan, bool keyset)
{
	struct buf b = { 0 };
	bool rel = f->by_relevance;

	buf_printf(&b, "WITH page AS MATERIALIZED (SELECT m.id AS id, m.fts_rowid "
	    "AS fts_rowid, m.received_at AS received_at, %s AS rank FROM %s WHERE "
	    "m.inbox_id = ?%d AND messages_fts MATCH ?%d", rel ? RANK_SQL : "0",
	    plan == PLAN_SEARCH_WALK ? "messages m CROSS JOIN messages_fts ON "
	    "messages_fts.rowid = m.fts_rowid" : "messages_fts CROSS JOIN messages "
	    "m ON m.fts_rowid = messages_fts.rowid", P_INBOX, P_FTS);
	filter_clauses(&b, f, keyset);
	if (rel)
		buf_printf(&b, " ORDER BY rank, m.received_at DESC, m.id DESC "
		    "LIMIT ?%d OFFSET ?%d)", P_LIMIT, P_OFFSET);
	else
		buf_printf(&b, " ORDER BY m.received_at DESC, m.id DESC LIMIT ?%d)",
		    P_LIMIT);
	buf_printf(&b, " SELECT " MESSAGE_LIST_COLUMNS_M ", " READ_COLUMNS ", "
	    SNIPPET_SQL ", page.rank FROM page CROSS JOIN messages m ON m.id = "
	    "page.id CROSS JOIN messages_fts ON messages_fts.rowid = page.fts_rowid "
	    "WHERE messages_fts MATCH ?%d ORDER BY %spage.received_at DESC, "
	    "page.id DESC", P_FTS, rel ? "page.rank, " : "");
	return b.data;
}

/* Documents matching fts, counted up to SEARCH_FROM_INDEX_MAX + 1. */
static int
search_matches(sqlite3 *conn, const char *fts)
{
	sqlite3_stmt *st = store_prepare(conn, "SELECT count(*) FROM (SELECT 1 "
	    "FROM messages_fts WHERE messages_fts MATCH ? LIMIT ?)");
	int n = SEARCH_FROM_INDEX_MAX + 1;

	if (st) {
		store_bind_text(st, 1, fts);
		sqlite3_bind_int(st, 2, SEARCH_FROM_INDEX_MAX + 1);
		if (sqlite3_step(st) == SQLITE_ROW)
			n = sqlite3_column_int(st, 0);
	}
	store_finish(st);
	return n;
}

static enum list_plan
choose_plan(sqlite3 *conn, const struct message_filter *f)
{
	if (!f->fts)
		return PLAN_SCAN;
	if (f->by_relevance || search_matches(conn, f->fts) <= SEARCH_FROM_INDEX_MAX)
		return PLAN_SEARCH_INDEX;
	return PLAN_SEARCH_WALK;
}

static void
list_bind(sqlite3_stmt *st, const char *inbox_id, const struct message_filter *f,
    int limit, int64_t cursor_ms, const char *cursor_id)
{
	store_bind_text(st, P_INBOX, inbox_id);
	if (f->fts)
		store_bind_text(st, P_FTS, f->fts);
	if (f->thread_id)
		store_bind_text(st, P_THREAD, f->thread_id);
	if (f->label_id)
		store_bind_text(st, P_LABEL, f->label_id);
	if (f->from)
		store_bind_text(st, P_FROM, f->from);
	if (f->to)
		store_bind_text(st, P_TO, f->to);
	if (f->after_ms)
		sqlite3_bind_int64(st, P_AFTER, f->after_ms);
	if (f->before_ms)
		sqlite3_bind_int64(st, P_BEFORE, f->before_ms);
	if (cursor_id && !(f->fts && f->by_relevance)) {
		sqlite3_bind_int64(st, P_CURSOR_MS, cursor_ms);
		store_bind_text(st, P_CURSOR_ID, cursor_id);
	}
	sqlite3_bind_int(st, P_LIMIT, limit + 1);
	if (f->fts && f->by_relevance)
		sqlite3_bind_int64(st, P_OFFSET, cursor_ms);
}

/* Up to limit + 1 rows of st into rows; their count, or -1 on error. */
static int
read_rows(sqlite3 *conn, sqlite3_stmt *st, struct message_row *rows, int limit)
{
	int n = 0, step = SQLITE_DONE;

	while (n <= limit && (step = sqlite3_step(st)) == SQLITE_ROW) {
		store__message_read_row(st, &rows[n]);
		rows[n].snippet = store_col_text(st, READ_COLUMNS_N);
		rows[n++].rank = sqlite3_column_double(st, READ_COLUMNS_N + 1);
	}
	if (step == SQLITE_ROW || step == SQLITE_DONE)
		return n;
	log_error("store", NULL, "list messages: %s", sqlite3_errmsg(conn));
	while (n > 0)
		message_row_free(&rows[--n]);
	return -1;
}

int
store_messages_list(struct store_db *db, const char *inbox_id,
    const struct message_filter *filter, int limit, int64_t cursor_ms,
    const char *cursor_id, struct message_row **rows_r, int *n_r, bool *more_r)
{
	static const struct message_filter all = MESSAGE_FILTER_ALL;
	const struct message_filter *f = filter ? filter : &all;
	bool keyset = cursor_id && !(f->fts && f->by_relevance);
	sqlite3 *conn = store_db_acquire(db);
	enum list_plan plan = choose_plan(conn, f);
	char *sql = plan == PLAN_SCAN ? scan_sql(f, keyset) : search_sql(f, plan, keyset);
	sqlite3_stmt *st = store_prepare(conn, sql);
	struct message_row *rows = xcalloc((size_t)limit + 1, sizeof(*rows));
	int n = -1;

	if (st) {
		list_bind(st, inbox_id, f, limit, cursor_ms, cursor_id);
		n = read_rows(conn, st, rows, limit);
	}
	store_finish(st);
	store_db_release(db, &conn);
	free(sql);
	*more_r = n > limit;
	if (*more_r)
		message_row_free(&rows[--n]);
	*rows_r = rows;
	*n_r = n < 0 ? 0 : n;
	return n < 0 ? STORE_ERR_SQL : STORE_OK;
}

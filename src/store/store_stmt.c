/*
 * store_stmt.c - prepared statements kept per connection.
 *
 * Parsing SQL is a large part of a short query's cost, so each connection
 * keeps its statements (keyed by SQL text). A connection is used by one
 * thread at a time: store_db_acquire() binds its cache to the calling
 * thread and store_db_release() unbinds it; the writer thread binds the
 * writer connection's cache for its lifetime. store_prepare() hands out a
 * cached statement, store_finish() resets it for the next user.
 * Statements of connections with no bound cache are simply finalized.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "gent/log.h"
#include "gent/util.h"
#include "store_int.h"

#define BOUND_MAX 8	/* connections one thread holds at once */

static _Thread_local struct {
	sqlite3			*conn;
	struct store_stmt_cache	*cache;
} bound[BOUND_MAX];

void
store__cache_bind(sqlite3 *conn, struct store_stmt_cache *cache)
{
	for (int i = 0; i < BOUND_MAX; i++) {
		if (!bound[i].conn) {
			bound[i].conn = conn;
			bound[i].cache = cache;
			return;
		}
	}
	/* Holding this many connections at once is a leak of acquires. */
	gent_assert(!"too many store connections held by one thread");
}

void
store__cache_unbind(sqlite3 *conn)
{
	for (int i = 0; i < BOUND_MAX; i++)
		if (bound[i].conn == conn)
			bound[i].conn = NULL, bound[i].cache = NULL;
}

static struct store_stmt_cache *
cache_of(sqlite3 *conn)
{
	for (int i = 0; i < BOUND_MAX; i++)
		if (bound[i].conn == conn)
			return bound[i].cache;
	return NULL;
}

sqlite3_stmt *
store_prepare(sqlite3 *conn, const char *sql)
{
	struct store_stmt_cache *c = cache_of(conn);
	sqlite3_stmt *st = NULL;

	for (int i = 0; c && i < c->n; i++) {
		if (!c->e[i].busy && strcmp(c->e[i].sql, sql) == 0) {
			c->e[i].busy = true;
			return c->e[i].st;
		}
	}
	if (sqlite3_prepare_v3(conn, sql, -1, c ? SQLITE_PREPARE_PERSISTENT : 0,
	    &st, NULL) != SQLITE_OK) {
		log_error("store", NULL, "prepare failed: %s: %s",
		    sqlite3_errmsg(conn), sql);
		return NULL;
	}
	if (c && c->n < STORE_STMT_CACHE_MAX) {
		c->e[c->n].sql = xstrdup(sql);
		c->e[c->n].st = st;
		c->e[c->n++].busy = true;
	}
	return st;
}

void
store_finish(sqlite3_stmt *st)
{
	struct store_stmt_cache *c;

	if (!st)
		return;
	if ((c = cache_of(sqlite3_db_handle(st))) != NULL) {
		for (int i = 0; i < c->n; i++) {
			if (c->e[i].st == st) {
				sqlite3_reset(st);
				sqlite3_clear_bindings(st);
				c->e[i].busy = false;
				return;
			}
		}
	}
	sqlite3_finalize(st);
}

struct store_reader *
store__reader_of(sqlite3 *conn)
{
	struct store_stmt_cache *c = cache_of(conn);

	gent_assert(c != NULL);
	return (struct store_reader *)((char *)c - offsetof(struct store_reader, cache));
}

void
store__cache_free(struct store_stmt_cache *c)
{
	for (int i = 0; i < c->n; i++) {
		sqlite3_finalize(c->e[i].st);
		free(c->e[i].sql);
	}
	c->n = 0;
}

int
store__select_all(struct store_db *db, const char *sql, const char *bind,
    size_t row_size, store_read_fn read, void **rows_r, int *n_r)
{
	sqlite3 *conn = store_db_acquire(db);
	sqlite3_stmt *st = store_prepare(conn, sql);
	char *rows = NULL;
	int n = 0, rc = STORE_ERR_SQL;

	if (st) {
		store_bind_text(st, 1, bind);
		while (sqlite3_step(st) == SQLITE_ROW) {
			rows = xrealloc(rows, (size_t)(n + 1) * row_size);
			read(st, rows + (size_t)n++ * row_size);
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
store__select_one(struct store_db *db, const char *sql, const char *bind,
    size_t row_size, store_read_fn read, void *out)
{
	sqlite3 *conn = store_db_acquire(db);
	sqlite3_stmt *st = store_prepare(conn, sql);
	int rc = STORE_ERR_SQL;

	memset(out, 0, row_size);
	if (st) {
		store_bind_text(st, 1, bind);
		rc = STORE_ERR_NOT_FOUND;
		if (sqlite3_step(st) == SQLITE_ROW) {
			read(st, out);
			rc = STORE_OK;
		}
	}
	store_finish(st);
	store_db_release(db, &conn);
	return rc;
}

struct exec_job {
	const char	*sql;
	int64_t		 value;
	int		 changes;
};

static int
exec_int_fn(sqlite3 *conn, void *arg)
{
	struct exec_job *j = arg;
	sqlite3_stmt *st = store_prepare(conn, j->sql);
	int rc = STORE_ERR_SQL;

	if (st) {
		sqlite3_bind_int64(st, 1, j->value);
		rc = store_step_done(st);
		j->changes = sqlite3_changes(conn);
	}
	store_finish(st);
	return rc;
}

int
store__exec_int(struct store_db *db, const char *sql, int64_t value, int *changes_r)
{
	struct exec_job j = { sql, value, 0 };
	int rc = store_db_write(db, exec_int_fn, &j);

	if (changes_r)
		*changes_r = rc == STORE_OK ? j.changes : 0;
	return rc;
}

static int
write_row_fn(sqlite3 *conn, void *arg)
{
	const struct store_row_write *w = arg;
	sqlite3_stmt *st;
	int rc = w->before ? w->before(conn, w) : STORE_OK;

	if (rc != STORE_OK)
		return rc;
	if (!(st = store_prepare(conn, w->sql)))
		return STORE_ERR_SQL;
	if (w->bind)
		w->bind(st, w->row);
	else
		store_bind_text(st, 1, w->id);
	rc = store_step_done(st);
	if (rc == STORE_OK && w->must_change && sqlite3_changes(conn) == 0)
		rc = STORE_ERR_NOT_FOUND;
	store_finish(st);
	return rc == STORE_OK ? store_audit_append(conn, w->audit) : rc;
}

int
store__write_row(struct store_db *db, const struct store_row_write *w)
{
	return store_db_write(db, write_row_fn, (void *)w);
}

int
store__select_page(struct store_db *db, const struct store_page_query *q,
    void **rows_r, int *n_r, bool *more_r)
{
	sqlite3 *conn = store_db_acquire(db);
	sqlite3_stmt *st = store_prepare(conn, q->sql);
	char *rows = xcalloc((size_t)q->limit + 1, q->row_size);
	int n = 0, rc = STORE_ERR_SQL;

	if (st) {
		store_bind_text(st, 1, q->bind);
		store_bind_text(st, 2, q->cursor_id);
		sqlite3_bind_int64(st, 3, q->cursor_ms);
		sqlite3_bind_int(st, 4, q->limit + 1);
		while (n <= q->limit && sqlite3_step(st) == SQLITE_ROW)
			q->read(st, rows + (size_t)n++ * q->row_size);
		rc = STORE_OK;
	}
	store_finish(st);
	store_db_release(db, &conn);
	*more_r = n > q->limit;
	if (*more_r)		/* the look-ahead row only says there is more */
		q->free_row(rows + (size_t)--n * q->row_size);
	*rows_r = rows;
	*n_r = n;
	return rc;
}

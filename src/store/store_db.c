/*
 * store_db.c - one SQLite file: its writer thread (group commit) and its
 * pool of read-only connections.
 *
 * The writer takes every job queued since its last commit, runs each in a
 * SAVEPOINT inside one BEGIN IMMEDIATE .. COMMIT, and only after COMMIT
 * returns (fsync done, synchronous=FULL) marks the jobs done. A job that
 * fails is rolled back to its savepoint without touching its neighbours.
 * If COMMIT itself fails, every job of the batch reports STORE_ERR_SQL.
 * secure_delete = FAST zeroes what a delete frees where that costs no
 * extra I/O, so deleted mail does not linger in free pages.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gent/log.h"
#include "gent/util.h"
#include "store_int.h"

#define STORE_BATCH_MAX 512

/* The database this thread is the writer of (NULL on other threads). */
static _Thread_local struct store_db *writer_self;

static int
open_conn(const char *path, int flags, sqlite3 **conn_r, char **error_r)
{
	sqlite3 *conn = NULL;

	if (sqlite3_open_v2(path, &conn, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		*error_r = xasprintf("%s: %s", path,
		    conn ? sqlite3_errmsg(conn) : "cannot open");
		sqlite3_close(conn);
		return -1;
	}
	sqlite3_busy_timeout(conn, 10000);
	sqlite3_exec(conn, "PRAGMA foreign_keys = ON", NULL, NULL, NULL);
	*conn_r = conn;
	return 0;
}

/* Attempts at switching a file to WAL while another process does too. */
#define WAL_SWITCH_TRIES	500
#define WAL_SWITCH_PAUSE_US	20000

/*
 * Switching a new file to WAL turns a read lock into an exclusive one.
 * When another process (gentd admin beside the daemon) opens the same new
 * file at that moment, SQLite answers SQLITE_BUSY at once instead of
 * calling the busy handler (it would deadlock), so wait and try again,
 * for at most WAL_SWITCH_TRIES * WAL_SWITCH_PAUSE_US (10 s).
 */
static int
set_pragmas(sqlite3 *conn, const char *path, char **error_r)
{
	char *err = NULL;
	int rc = SQLITE_BUSY;

	for (int i = 0; i < WAL_SWITCH_TRIES && rc == SQLITE_BUSY; i++) {
		if (i > 0)
			usleep(WAL_SWITCH_PAUSE_US);
		sqlite3_free(err);
		err = NULL;
		rc = sqlite3_exec(conn, "PRAGMA journal_mode = WAL; "
		    "PRAGMA synchronous = FULL; PRAGMA secure_delete = FAST;",
		    NULL, NULL, &err);
	}
	if (rc != SQLITE_OK) {
		*error_r = xasprintf("%s: %s", path, err ? err : sqlite3_errstr(rc));
		sqlite3_free(err);
		return -1;
	}
	return 0;
}

static void
exec_or_log(sqlite3 *conn, const char *sql, const char *path)
{
	if (sqlite3_exec(conn, sql, NULL, NULL, NULL) != SQLITE_OK)
		log_error("store", NULL, "%s: %s: %s", path, sql, sqlite3_errmsg(conn));
}

static void
run_batch(struct store_db *db, struct store_job *batch)
{
	sqlite3 *conn = db->writer_conn;
	bool ok = sqlite3_exec(conn, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK;

	if (!ok)
		log_error("store", NULL, "%s: BEGIN: %s", db->path, sqlite3_errmsg(conn));
	for (struct store_job *j = batch; j; j = j->next) {
		if (!ok) {
			j->rc = STORE_ERR_SQL;
			continue;
		}
		exec_or_log(conn, "SAVEPOINT job", db->path);
		j->rc = j->fn(conn, j->arg);
		if (j->rc != STORE_OK)
			exec_or_log(conn, "ROLLBACK TO job", db->path);
		exec_or_log(conn, "RELEASE job", db->path);
		/*
		 * SQLITE_FULL, SQLITE_IOERR and friends may roll back the whole
		 * transaction on their own: then the jobs before this one are
		 * gone too, and none of the batch may be reported committed.
		 */
		if (sqlite3_get_autocommit(conn)) {
			log_error("store", NULL, "%s: transaction rolled back by "
			    "SQLite (%s); failing the batch", db->path,
			    sqlite3_errmsg(conn));
			for (struct store_job *k = batch; k != j->next; k = k->next)
				k->rc = STORE_ERR_SQL;
			ok = false;
		}
	}
	if (ok && sqlite3_exec(conn, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		log_error("store", NULL, "%s: COMMIT: %s", db->path, sqlite3_errmsg(conn));
		sqlite3_exec(conn, "ROLLBACK", NULL, NULL, NULL);
		for (struct store_job *j = batch; j; j = j->next)
			j->rc = STORE_ERR_SQL;
	}
}

static void *
writer_main(void *arg)
{
	struct store_db *db = arg;

	writer_self = db;
	store__cache_bind(db->writer_conn, &db->writer_cache);
	pthread_mutex_lock(&db->lock);
	for (;;) {
		while (!db->queue_head && !db->stopping)
			pthread_cond_wait(&db->work_cv, &db->lock);
		if (!db->queue_head)
			break;
		/* Take up to STORE_BATCH_MAX jobs; the rest wait for the next. */
		struct store_job *batch = db->queue_head, *last = batch;
		for (int n = 1; last->next && n < STORE_BATCH_MAX; n++)
			last = last->next;
		db->queue_head = last->next;
		if (!db->queue_head)
			db->queue_tail = NULL;
		last->next = NULL;
		pthread_mutex_unlock(&db->lock);

		run_batch(db, batch);

		pthread_mutex_lock(&db->lock);
		for (struct store_job *j = batch; j; j = j->next)
			j->done = true;
		pthread_cond_broadcast(&db->done_cv);
	}
	pthread_mutex_unlock(&db->lock);
	store__cache_free(&db->writer_cache);
	store__cache_unbind(db->writer_conn);
	writer_self = NULL;
	return NULL;
}

struct store_db *
store__writer_db(sqlite3 *conn)
{
	return writer_self && writer_self->writer_conn == conn ? writer_self : NULL;
}

int
store_db_write(struct store_db *db, store_write_fn fn, void *arg)
{
	struct store_job job = { .fn = fn, .arg = arg };
	struct store_job *j = &job;

	pthread_mutex_lock(&db->lock);
	gent_assert(!db->stopping);
	if (db->queue_tail)
		db->queue_tail->next = j;
	else
		db->queue_head = j;
	db->queue_tail = j;
	pthread_cond_signal(&db->work_cv);
	while (!job.done)
		pthread_cond_wait(&db->done_cv, &db->lock);
	pthread_mutex_unlock(&db->lock);
	return job.rc;
}

sqlite3 *
store_db_acquire(struct store_db *db)
{
	struct store_reader *r = NULL;
	char *err = NULL;

	pthread_mutex_lock(&db->lock);
	if (db->n_readers > 0)
		r = db->readers[--db->n_readers];
	pthread_mutex_unlock(&db->lock);
	if (!r) {
		r = xcalloc(1, sizeof(*r));
		if (open_conn(db->path, SQLITE_OPEN_READONLY, &r->conn, &err) != 0) {
			/* The file was opened read-write at start-up: fatal. */
			log_error("store", NULL, "%s", err);
			abort();
		}
		sqlite3_exec(r->conn, "PRAGMA query_only = ON", NULL, NULL, NULL);
	}
	store__cache_bind(r->conn, &r->cache);
	return r->conn;
}

void
store_db_release(struct store_db *db, sqlite3 **conn)
{
	struct store_reader *r;

	if (!*conn)
		return;
	/* The cache is the reader's first member after conn: find the reader. */
	r = store__reader_of(*conn);
	store__cache_unbind(*conn);
	pthread_mutex_lock(&db->lock);
	if (db->n_readers == db->cap_readers) {
		db->cap_readers = db->cap_readers ? db->cap_readers * 2 : 8;
		db->readers = xrealloc(db->readers, db->cap_readers * sizeof(*db->readers));
	}
	db->readers[db->n_readers++] = r;
	pthread_mutex_unlock(&db->lock);
	*conn = NULL;
}

/* PRAGMA user_version: 0 for a file no migration has touched yet. */
static int
schema_version(sqlite3 *conn)
{
	sqlite3_stmt *st = NULL;
	int v = -1;

	if (sqlite3_prepare_v2(conn, "PRAGMA user_version", -1, &st, NULL) ==
	    SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

int
store__db_open(struct store_db **db_r, const char *path, const char *set,
    const char *tenant_id, const struct store_audit_key *key, char **error_r)
{
	struct store_db *db = xcalloc(1, sizeof(*db));
	bool fresh;

	db->path = xstrdup(path);
	db->tenant_id = xstrdup(tenant_id);
	db->audit_key = key;
	pthread_mutex_init(&db->lock, NULL);
	pthread_cond_init(&db->work_cv, NULL);
	pthread_cond_init(&db->done_cv, NULL);
	if (open_conn(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
	    &db->writer_conn, error_r) != 0 ||
	    set_pragmas(db->writer_conn, path, error_r) != 0) {
		store__db_close(&db);
		return -1;
	}
	/* A new file may start its audit head; so may an older one at the
	 * start that made the key. */
	fresh = schema_version(db->writer_conn) == 0;
	if (store__migrate(db->writer_conn, set, path, error_r) != 0 ||
	    store__audit_head_open(db, fresh || key->created, error_r) != 0) {
		store__db_close(&db);
		return -1;
	}
	if (pthread_create(&db->writer, NULL, writer_main, db) != 0) {
		*error_r = xasprintf("%s: cannot start writer thread", path);
		store__db_close(&db);
		return -1;
	}
	db->writer_started = true;
	*db_r = db;
	return 0;
}

void
store__db_close(struct store_db **dbp)
{
	struct store_db *db = *dbp;

	if (!db)
		return;
	if (db->writer_started) {
		pthread_mutex_lock(&db->lock);
		db->stopping = true;
		pthread_cond_signal(&db->work_cv);
		pthread_mutex_unlock(&db->lock);
		pthread_join(db->writer, NULL);
	}
	sqlite3_close(db->writer_conn);
	for (size_t i = 0; i < db->n_readers; i++) {
		store__cache_free(&db->readers[i]->cache);
		sqlite3_close(db->readers[i]->conn);
		free(db->readers[i]);
	}
	free(db->readers);
	pthread_mutex_destroy(&db->lock);
	pthread_cond_destroy(&db->work_cv);
	pthread_cond_destroy(&db->done_cv);
	free(db->path);
	free(db->tenant_id);
	free(db);
	*dbp = NULL;
}

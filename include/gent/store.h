/*
 * store.h - SQLite storage: control.db plus one tenant.db per tenant.
 *
 * Reads take a pooled read-only connection (store_db_acquire/release) on
 * the calling thread. Writes go through the database's writer thread:
 * store_db_write() queues a function, the writer runs every queued
 * function of a batch inside one transaction (each in its own SAVEPOINT),
 * commits once with synchronous=FULL, then wakes the callers (group
 * commit). store_db_write() blocks, so never call it on the loop thread.
 */
#ifndef GENT_STORE_H
#define GENT_STORE_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

struct store;
struct store_db;

/* Results a write function may return besides 0 (they roll it back). */
enum {
	STORE_OK = 0,
	STORE_ERR_SQL = -1,		/* SQLite failed; logged by the store */
	STORE_ERR_CONFLICT = 1,		/* uniqueness or state conflict */
	STORE_ERR_NOT_FOUND = 2,
	STORE_ERR_INVALID = 3,		/* request was valid, data says no */
	STORE_ERR_FORBIDDEN = 4,
};

/** A write step: runs inside the writer's transaction; non-0 rolls it back. */
typedef int (*store_write_fn)(sqlite3 *conn, void *arg);

/**
 * Read data_dir/audit.key (made on first start, 0600; an unreadable or
 * wrong-sized one is an error), open data_dir/control.db, apply
 * migrations, start its writer.
 */
int store_open(struct store **store_r, const char *data_dir, char **error_r);
/** Stop writers and close every database. Accepts NULL. */
void store_close(struct store **store);
/** The control database. */
struct store_db *store_control(struct store *store);
/**
 * The tenant's database, opened (and created, migrated) on first use.
 * tenant_id must be a valid "ten_" id: anything else is refused so an id
 * can never name a path outside data_dir/tenants/.
 */
int store_tenant(struct store *store, const char *tenant_id,
    struct store_db **db_r, char **error_r);

/** Borrow a read-only connection; give it back with store_db_release(). */
sqlite3 *store_db_acquire(struct store_db *db);
/** Return a connection from store_db_acquire() and clear the pointer. */
void store_db_release(struct store_db *db, sqlite3 **conn);
/** Run fn in the writer's next group commit; returns fn's result. */
int store_db_write(struct store_db *db, store_write_fn fn, void *arg);

/* Helpers for code that runs SQL (inside src/store and write functions). */

/** A prepared statement for sql (cached per connection), or NULL after
 *  logging. Give it back with store_finish(), never sqlite3_finalize(). */
sqlite3_stmt *store_prepare(sqlite3 *conn, const char *sql);
/** Reset a statement from store_prepare() for reuse (or finalize it). */
void store_finish(sqlite3_stmt *st);
/** Bind text or NULL. */
void store_bind_text(sqlite3_stmt *st, int idx, const char *s);
/** Column as a fresh string (NULL stays NULL). Caller frees. */
char *store_col_text(sqlite3_stmt *st, int col);
/** Run a statement that returns no rows; STORE_OK, CONFLICT or ERR_SQL. */
int store_step_done(sqlite3_stmt *st);

struct store_audit {
	const char	*tenant_id;
	const char	*actor_type;	/* "user", "token", "cli", "public" */
	const char	*actor_id;
	const char	*action;	/* "token.created", ... */
	const char	*target_type;
	const char	*target_id;
	const char	*detail_json;	/* NULL = "{}"; never include secrets */
	const char	*request_id;
	const char	*inbox_id;	/* the inbox it concerns, or NULL */
};

/** The server key called name (len <= 64 bytes), created at first use. */
int store_secret(struct store_db *db, const char *name, unsigned char *out,
    size_t len);
/** Write one audit row in its own transaction (events with no other change). */
int store_audit_write(struct store_db *db, const struct store_audit *a);
#define AUDIT_HASHED_FIELDS 11	/* id, tenant_id, actor_type, actor_id, action,
				 * target_type, target_id, detail, request_id,
				 * created_at (decimal ms), inbox_id */
#define AUDIT_OPTIONAL_FIELD 10	/* inbox_id: hashed only when set, so rows
				 * from before it existed keep their hash */

#define STORE_AUDIT_KEY_LEN 32	/* data_dir/audit.key */

/**
 * The chained hash of an audit row, hex, over the previous row's hash and
 * the row's fields in that order: HMAC-SHA256 under key (the audit key),
 * or with key NULL the plain SHA-256 of rows written before chains were
 * keyed (they are still checked with it).
 */
void store_audit_hash(const unsigned char *key, const char *prev,
    const char *const fields[AUDIT_HASHED_FIELDS], char out[65]);
/** Append an audit row and move the database's audit head to it; call
 *  inside the write function of the change (on the writer thread). */
int store_audit_append(sqlite3 *conn, const struct store_audit *a);

#endif

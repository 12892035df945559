/*
 * store_int.h - private to src/store/.
 *
 * Design. Every SQLite file has one struct store_db: a writer thread that
 * owns the only read-write connection, and a pool of read-only
 * connections for request threads. WAL mode lets readers run beside the
 * writer; synchronous=FULL makes COMMIT durable before anyone is told.
 *
 * Files:
 *   data_dir/control.db                  schema/control/NNNN_*.sql
 *   data_dir/tenants/<ten_id>/tenant.db  schema/tenant/NNNN_*.sql
 *   data_dir/audit.key                   keys every audit chain (HMAC)
 *
 * Which rows live where is described at the top of each schema file.
 * Audit rows go to the database whose rows the change touches, inside
 * the same transaction.
 */
#ifndef GENT_STORE_INT_H
#define GENT_STORE_INT_H

#include <pthread.h>
#include <stdbool.h>

#include "gent/store.h"

struct store_migration {
	const char	*set;		/* "control" or "tenant" */
	int		 number;	/* becomes PRAGMA user_version */
	const char	*name;
	const char	*sql;
};

extern const struct store_migration store_migrations[];

/* The server audit key, read or made by store_open (store_audit_key.c). */
struct store_audit_key {
	unsigned char	 key[STORE_AUDIT_KEY_LEN];
	bool		 created;	/* made by this process: databases from
					 * before it get their first audit head */
};

/* The audit_head row of one database (store_audit_head.c). */
struct audit_head {
	int64_t	 keyed_from;	/* first seq hashed with the key */
	char	 anchor[65];	/* the hash the oldest row left follows */
	int64_t	 seq;		/* the newest row, 0 when none */
	char	 hash[65];	/* its hash, "" when none */
	bool	 valid;		/* its mac is right for this key and database */
};

#define STORE_STMT_CACHE_MAX 64

/* The prepared statements of one connection (store_stmt.c). */
struct store_stmt_cache {
	struct {
		char		*sql;
		sqlite3_stmt	*st;
		bool		 busy;		/* handed out, not finished yet */
	} e[STORE_STMT_CACHE_MAX];
	int	 n;
};

/* A pooled read-only connection with its statements. */
struct store_reader {
	sqlite3			*conn;
	struct store_stmt_cache	 cache;
};

struct store_job {
	store_write_fn		 fn;
	void			*arg;
	int			 rc;
	bool			 done;
	struct store_job	*next;
};

struct store_db {
	char			*path;
	char			*tenant_id;	/* NULL for control.db */
	sqlite3			*writer_conn;	/* used only by the writer thread */
	pthread_t		 writer;
	bool			 writer_started;
	pthread_mutex_t		 lock;		/* guards the fields below */
	pthread_cond_t		 work_cv;	/* jobs queued or stopping */
	pthread_cond_t		 done_cv;	/* a batch finished */
	struct store_job	*queue_head, *queue_tail;
	bool			 stopping;
	struct store_reader	**readers;	/* idle read-only connections */
	struct store_stmt_cache	 writer_cache;	/* the writer thread's */
	size_t			 n_readers, cap_readers;
	struct store_db		*next;		/* in store->tenants */
	const struct store_audit_key *audit_key; /* the store's */
};

struct store {
	char			*data_dir;
	struct store_db		*control;
	pthread_mutex_t		 tenants_lock;
	struct store_db		*tenants;	/* opened tenant databases */
	struct store_audit_key	 audit_key;
};

/* store_migrate.c */
int store__migrate(sqlite3 *conn, const char *set, const char *path,
    char **error_r);
/* store_db.c */
int store__db_open(struct store_db **db_r, const char *path, const char *set,
    const char *tenant_id, const struct store_audit_key *key, char **error_r);
void store__db_close(struct store_db **db);
/* The database whose writer thread is the caller and whose writer
 * connection is conn, else NULL (write functions find their key so). */
struct store_db *store__writer_db(sqlite3 *conn);

/* store_audit_key.c: read data_dir/audit.key, or make it (k->created). */
int store__audit_key_load(const char *data_dir, struct store_audit_key *k,
    char **error_r);
/* store_audit_head.c */
/* The head on conn into h (h->valid: its mac holds); NOT_FOUND, ERR_SQL. */
int store__audit_head_read(sqlite3 *conn, const struct store_db *db,
    struct audit_head *h);
/* Store h with a fresh mac (inside a write). */
int store__audit_head_write(sqlite3 *conn, const struct store_db *db,
    const struct audit_head *h);
/* At open, before the writer starts: a database without a head gets one
 * from its newest row when may_start (it is new, or the key was made by
 * this process); otherwise a missing head is left missing (and logged) so
 * verification keeps failing instead of blessing an edited file. */
int store__audit_head_open(struct store_db *db, bool may_start, char **error_r);

/* store_stmt.c */
void store__cache_bind(sqlite3 *conn, struct store_stmt_cache *cache);
void store__cache_unbind(sqlite3 *conn);
void store__cache_free(struct store_stmt_cache *cache);
struct store_reader *store__reader_of(sqlite3 *conn);
/* store.c */
void store__copy_col(sqlite3_stmt *st, int col, char *dst, size_t cap);
/* Lower-case hex HMAC-SHA256 of data under the audit key into out. */
void store__audit_hmac_hex(const unsigned char key[STORE_AUDIT_KEY_LEN],
    const void *data, size_t len, char out[65]);
/* store_accounts.c: shared by sign-up paths (CLI, waitlist, invites) */
struct new_user;
int store__create_user_in_tx(sqlite3 *conn, struct new_user *u,
    const struct store_audit *audit);

/* store_labels.c: applying a label inside another write (message insert) */
struct label_apply;
int store__label_apply(sqlite3 *conn, const struct label_apply *a,
    bool *changed_r);

/* store_messages.c: a message's content, its search entry and its share of
 * its thread, removed inside a write (API delete, expiry). */
int store__message_delete(sqlite3 *conn, const char *id);
/* store_messages.c: one message (thread, attachments, search entry,
 * labels, forwards, event) and its audit row, inside a write. */
struct message_row;
int store__messages_insert_one(sqlite3 *conn, struct message_row *m,
    const struct store_audit *audit);

struct event_row;
/* store_events_list() on a connection the caller holds (the writer's). */
int store__events_read(sqlite3 *conn, int64_t after, const char *inbox_id,
    const char *type, int limit, struct event_row **rows_r, int *n_r);

/* Webhook delivery rows (store_deliveries.c, store_delivery_log.c). */
struct delivery_row;
#define DELIVERY_COLUMNS "id, inbox_id, event_id, event_type, alert_id, url, " \
	"body, status, round_attempts, backoff, attempts, attempt_limit, " \
	"next_attempt_at, last_code, last_error, created_at, updated_at"
void store__delivery_read(sqlite3_stmt *st, struct delivery_row *r);
/* Before a subscription is made or enabled: when none exists, move the
 * webhook cursor to the end of the log (older events are not news to it). */
int store__webhook_cursor_catch_up(sqlite3 *conn);
/* Insert r due now (its id made unless set); fills created_at. */
int store__delivery_insert(sqlite3 *conn, struct delivery_row *r);

/* One audited change of one row: sql bound by bind(row), or with id as ?1
 * when bind is NULL; NOT_FOUND when must_change and no row changed (a
 * duplicate key is CONFLICT); before, if set, runs first in the same
 * transaction (and is undone with the change); the audit row is appended
 * with the change (store_stmt.c). */
typedef void (*store_bind_fn)(sqlite3_stmt *st, const void *row);
struct store_row_write {
	const char			*sql;
	store_bind_fn			 bind;
	const void			*row;
	const char			*id;
	bool				 must_change;
	int				(*before)(sqlite3 *conn,
					    const struct store_row_write *w);
	const void			*before_arg;	/* for before */
	const struct store_audit	*audit;
};
int store__write_row(struct store_db *db, const struct store_row_write *w);

/* Fills one row (a struct of the caller's type) from st's columns. */
typedef void (*store_read_fn)(sqlite3_stmt *st, void *row);

/* A keyset page, newest first: sql binds ?1 = bind, ?2 = cursor_id
 * (NULL: the first page), ?3 = cursor_ms, ?4 = limit + 1; the extra row
 * only sets *more_r and is freed with free_row (store_stmt.c). */
struct store_page_query {
	const char	*sql;
	const char	*bind;
	int		 limit;
	int64_t		 cursor_ms;
	const char	*cursor_id;
	size_t		 row_size;
	store_read_fn	 read;
	void		(*free_row)(void *row);
};
int store__select_page(struct store_db *db, const struct store_page_query *q,
    void **rows_r, int *n_r, bool *more_r);

/* One statement with one integer bind (?1) in its own transaction; the
 * rows it changed in *changes_r (store_stmt.c). */
int store__exec_int(struct store_db *db, const char *sql, int64_t value,
    int *changes_r);
/* Every row of a SELECT with one text bind (?1), into an array of
 * row_size elements (store_stmt.c). */
int store__select_all(struct store_db *db, const char *sql, const char *bind,
    size_t row_size, store_read_fn read, void **rows_r, int *n_r);
/* Its first row into out (zeroed first); NOT_FOUND when none. */
int store__select_one(struct store_db *db, const char *sql, const char *bind,
    size_t row_size, store_read_fn read, void *out);

#endif

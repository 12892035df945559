/*
 * store.c - the set of databases under data_dir, the audit key they share,
 * and SQL helpers shared by every query file.
 *
 * The audit key is read (or made) before any database is opened, so every
 * database is opened with it; the start that makes it also opens every
 * existing tenant database, which then gets its first audit head (see
 * store_audit_head.c): a database seen without a head after that start
 * was edited, and is reported instead of being given a new one.
 */
#include <dirent.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gent/ids.h"
#include "gent/log.h"
#include "gent/timefmt.h"
#include "gent/util.h"
#include "store_int.h"

static int
make_dir(const char *path, char **error_r)
{
	if (mkdir(path, 0700) != 0 && errno != EEXIST) {
		*error_r = xasprintf("%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Before SQLite's first use: no memory statistics (they take a global
 * mutex on every allocation, the top cost under load), and no per-
 * connection mutexes (each connection is used by one thread at a time).
 */
static void
sqlite_config(void)
{
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	sqlite3_config(SQLITE_CONFIG_MULTITHREAD);
}

static void
tune_sqlite_once(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, sqlite_config);
}

/*
 * The start that made the audit key: open every tenant database now so
 * each gets its first audit head while that is allowed. One that cannot
 * be opened is logged; its log will report a missing head.
 */
static void
start_tenant_heads(struct store *s, const char *tenants)
{
	DIR *d = opendir(tenants);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d)) != NULL) {
		struct store_db *db;
		char *err = NULL, *path;
		if (!ids_is_id(e->d_name, "ten"))
			continue;
		path = xasprintf("%s/%s/tenant.db", tenants, e->d_name);
		if (access(path, F_OK) == 0 &&
		    store_tenant(s, e->d_name, &db, &err) != 0) {
			log_error("store", NULL, "%s", err);
			free(err);
		}
		free(path);
	}
	closedir(d);
}

int
store_open(struct store **store_r, const char *data_dir, char **error_r)
{
	struct store *s;
	char *tenants = xasprintf("%s/tenants", data_dir);
	char *path = xasprintf("%s/control.db", data_dir);
	int rc = -1;

	tune_sqlite_once();
	s = xcalloc(1, sizeof(*s));
	s->data_dir = xstrdup(data_dir);
	pthread_mutex_init(&s->tenants_lock, NULL);
	if (make_dir(data_dir, error_r) == 0 && make_dir(tenants, error_r) == 0 &&
	    store__audit_key_load(data_dir, &s->audit_key, error_r) == 0 &&
	    store__db_open(&s->control, path, "control", NULL, &s->audit_key,
	    error_r) == 0)
		rc = 0;
	if (rc == 0 && s->audit_key.created)
		start_tenant_heads(s, tenants);
	free(tenants);
	free(path);
	if (rc != 0)
		store_close(&s);
	*store_r = s;
	return rc;
}

void
store_close(struct store **sp)
{
	struct store *s = *sp;

	if (!s)
		return;
	while (s->tenants) {
		struct store_db *next = s->tenants->next;
		store__db_close(&s->tenants);
		s->tenants = next;
	}
	store__db_close(&s->control);
	pthread_mutex_destroy(&s->tenants_lock);
	OPENSSL_cleanse(&s->audit_key, sizeof(s->audit_key));
	free(s->data_dir);
	free(s);
	*sp = NULL;
}

struct store_db *
store_control(struct store *s)
{
	return s->control;
}

static int
open_tenant(struct store *s, const char *tenant_id, struct store_db **db_r,
    char **error_r)
{
	char *dir = xasprintf("%s/tenants/%s", s->data_dir, tenant_id);
	char *path = xasprintf("%s/tenant.db", dir);
	int rc = -1;

	if (make_dir(dir, error_r) == 0 &&
	    store__db_open(db_r, path, "tenant", tenant_id, &s->audit_key,
	    error_r) == 0)
		rc = 0;
	free(dir);
	free(path);
	return rc;
}

int
store_tenant(struct store *s, const char *tenant_id, struct store_db **db_r,
    char **error_r)
{
	struct store_db *db;
	int rc = 0;

	if (!tenant_id || !ids_is_id(tenant_id, "ten")) {
		*error_r = xasprintf("invalid tenant id");
		return -1;
	}
	/* A linear list is fine for hundreds of tenants; a hash comes later. */
	pthread_mutex_lock(&s->tenants_lock);
	for (db = s->tenants; db; db = db->next)
		if (strcmp(db->tenant_id, tenant_id) == 0)
			break;
	if (!db && (rc = open_tenant(s, tenant_id, &db, error_r)) == 0) {
		db->next = s->tenants;
		s->tenants = db;
	}
	pthread_mutex_unlock(&s->tenants_lock);
	*db_r = db;
	return rc;
}

void
store_bind_text(sqlite3_stmt *st, int idx, const char *s)
{
	if (s)
		sqlite3_bind_text(st, idx, s, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, idx);
}

char *
store_col_text(sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	return t ? xstrdup((const char *)t) : NULL;
}

int
store_step_done(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_DONE)
		return STORE_OK;
	if (rc == SQLITE_CONSTRAINT) {
		int ext = sqlite3_extended_errcode(sqlite3_db_handle(st));
		if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY)
			return STORE_ERR_CONFLICT;
	}
	log_error("store", NULL, "step failed: %s",
	    sqlite3_errmsg(sqlite3_db_handle(st)));
	return STORE_ERR_SQL;
}

/* The hash of the newest row (the chain's end), or "" when none has one:
 * where a row follows when the head cannot say. */
static void
chain_end(sqlite3 *conn, char out[IDS_DIGEST_HEX_LEN + 1])
{
	sqlite3_stmt *st = store_prepare(conn, "SELECT hash FROM audit WHERE hash "
	    "IS NOT NULL ORDER BY seq DESC LIMIT 1");

	out[0] = '\0';
	if (st && sqlite3_step(st) == SQLITE_ROW)
		store__copy_col(st, 0, out, IDS_DIGEST_HEX_LEN + 1);
	store_finish(st);
}

void
store__audit_hmac_hex(const unsigned char key[STORE_AUDIT_KEY_LEN],
    const void *data, size_t len, char out[IDS_DIGEST_HEX_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	const unsigned char *done = HMAC(EVP_sha256(), key, STORE_AUDIT_KEY_LEN,
	    data, len, md, &n);

	gent_assert(done != NULL && n == IDS_DIGEST_HEX_LEN / 2);
	ids_hex(md, n, out);
}

void
store_audit_hash(const unsigned char *key, const char *prev,
    const char *const fields[AUDIT_HASHED_FIELDS], char out[IDS_DIGEST_HEX_LEN + 1])
{
	struct buf b = { 0 };

	/* Length-prefixed, so no choice of field contents can collide with
	 * another split of the same bytes; NULL is distinct from "". The
	 * version names the function, so a keyed row is never taken for a
	 * legacy one. */
	buf_printf(&b, "gentd-audit-%s|%s", key ? "v2" : "v1", prev);
	for (int i = 0; i < AUDIT_HASHED_FIELDS; i++) {
		if (i == AUDIT_OPTIONAL_FIELD && !fields[i])
			continue;
		if (fields[i])
			buf_printf(&b, "|%zu:%s", strlen(fields[i]), fields[i]);
		else
			buf_append_str(&b, "|-");
	}
	if (key)
		store__audit_hmac_hex(key, b.data, b.len, out);
	else
		ids_sha256_hex(b.data, b.len, out);
	buf_free(&b);
}

/* Where the next row follows: the head's newest hash when the head holds
 * (so rows cut off the end stay missing), else the last hash in the table,
 * leaving the head as it is for the check to report. */
static bool
append_after(sqlite3 *conn, struct store_db *db, struct audit_head *h,
    char prev[IDS_DIGEST_HEX_LEN + 1])
{
	int rc = store__audit_head_read(conn, db, h);

	if (rc == STORE_OK && h->valid) {
		snprintf(prev, IDS_DIGEST_HEX_LEN + 1, "%s", h->hash);
		return true;
	}
	log_warn("store", NULL, "%s: the audit head is %s; appending without it",
	    db->path, rc == STORE_ERR_NOT_FOUND ? "missing" : "not valid");
	chain_end(conn, prev);
	return false;
}

int
store_audit_append(sqlite3 *conn, const struct store_audit *a)
{
	struct store_db *db = store__writer_db(conn);
	sqlite3_stmt *st = store_prepare(conn,
	    "INSERT INTO audit (id, tenant_id, actor_type, actor_id, action, "
	    "target_type, target_id, detail, request_id, created_at, prev_hash, hash, "
	    "inbox_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
	char *id, prev[IDS_DIGEST_HEX_LEN + 1], hash[IDS_DIGEST_HEX_LEN + 1];
	struct audit_head h;
	char when[24];
	bool moves_head;
	int rc;

	if (!st || !db) {
		if (!db)
			log_error("store", NULL, "audit row appended outside its "
			    "database's writer");
		store_finish(st);
		return STORE_ERR_SQL;
	}
	id = ids_new_ordered("aud");
	snprintf(when, sizeof(when), "%lld", (long long)time_now_ms());
	const char *fields[AUDIT_HASHED_FIELDS] = { id, a->tenant_id, a->actor_type,
	    a->actor_id, a->action, a->target_type, a->target_id,
	    a->detail_json ? a->detail_json : "{}", a->request_id, when,
	    a->inbox_id && *a->inbox_id ? a->inbox_id : NULL };
	moves_head = append_after(conn, db, &h, prev);
	store_audit_hash(db->audit_key->key, prev, fields, hash);
	for (int i = 0; i < 9; i++)
		store_bind_text(st, i + 1, fields[i]);
	sqlite3_bind_int64(st, 10, strtoll(when, NULL, 10));
	store_bind_text(st, 11, prev);
	store_bind_text(st, 12, hash);
	store_bind_text(st, 13, fields[AUDIT_OPTIONAL_FIELD]);
	rc = store_step_done(st);
	store_finish(st);
	free(id);
	if (rc == STORE_OK && moves_head) {
		h.seq = sqlite3_last_insert_rowid(conn);
		snprintf(h.hash, sizeof(h.hash), "%s", hash);
		rc = store__audit_head_write(conn, db, &h);
	}
	return rc;
}

void
store__copy_col(sqlite3_stmt *st, int col, char *dst, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	snprintf(dst, cap, "%s", t ? (const char *)t : "");
}

static int
audit_write_fn(sqlite3 *conn, void *arg)
{
	return store_audit_append(conn, arg);
}

int
store_audit_write(struct store_db *db, const struct store_audit *a)
{
	return store_db_write(db, audit_write_fn, (void *)a);
}

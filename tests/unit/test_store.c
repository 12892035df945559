/*
 * test_store.c - src/store: opening a data directory, the writer's group
 * commit (one transaction per batch, one savepoint per job), read-only
 * reader connections, tenant id checks and the append-only audit table.
 *
 * Each test gets a fresh data directory from mkdtemp() (checked fixture)
 * and removes it afterwards. The group-commit tests peek at the writer's
 * queue through store_int.h, as a test may reach a module's internals.
 */
#include <check.h>
#include <dirent.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gent/ids.h"
#include "gent/store.h"
#include "gent/timefmt.h"
#include "gent/util.h"
#include "store_int.h"

static char base_dir[PATH_MAX];		/* made by main(), removed at exit */
static char data_dir[PATH_MAX + 32];	/* one per test, inside base_dir */
static struct store *store;

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void
setup(void)
{
	char *err = NULL;

	snprintf(data_dir, sizeof(data_dir), "%s/data-XXXXXX", base_dir);
	ck_assert_ptr_nonnull(mkdtemp(data_dir));
	ck_assert_msg(store_open(&store, data_dir, &err) == 0, "store_open: %s",
	    err ? err : "");
	ck_assert_ptr_nonnull(store);
}

/* Not reached when a test fails; main() removes base_dir anyway. */
static void
teardown(void)
{
	store_close(&store);
	ck_assert_ptr_null(store);
	nftw(data_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* --- helpers ------------------------------------------------------------ */

struct tenant_arg {
	char	 id[64];
	char	 name[64];
	int	 result;	/* what the write function returns at the end */
	bool	 in_tx;		/* saw an open transaction */
	int	 rc;		/* store_db_write's answer */
};

static void
tenant_arg_init(struct tenant_arg *a, const char *name, int result)
{
	char *id = ids_new("ten");

	memset(a, 0, sizeof(*a));
	snprintf(a->id, sizeof(a->id), "%s", id);
	snprintf(a->name, sizeof(a->name), "%s", name);
	a->result = result;
	a->rc = 12345;
	free(id);
}

/* Insert a tenant row and its audit row, then return a->result. */
static int
insert_tenant(sqlite3 *conn, void *arg)
{
	struct tenant_arg *a = arg;
	sqlite3_stmt *st = store_prepare(conn, "INSERT INTO tenants (id, name, "
	    "created_at, updated_at) VALUES (?, ?, ?, ?)");
	int64_t now = time_now_ms();
	int rc;

	if (!st)
		return STORE_ERR_SQL;
	store_bind_text(st, 1, a->id);
	store_bind_text(st, 2, a->name);
	sqlite3_bind_int64(st, 3, now);
	sqlite3_bind_int64(st, 4, now);
	rc = store_step_done(st);
	store_finish(st);
	if (rc != STORE_OK)
		return rc;
	struct store_audit au = {
		.tenant_id = a->id,
		.actor_type = "cli",
		.action = "tenant.created",
		.target_type = "tenant",
		.target_id = a->id,
		.request_id = "req_unit",
	};
	if ((rc = store_audit_append(conn, &au)) != STORE_OK)
		return rc;
	a->in_tx = sqlite3_get_autocommit(conn) == 0;
	return a->result;
}

/* store_audit_append as a write function of its own. */
static int
append_audit(sqlite3 *conn, void *arg)
{
	return store_audit_append(conn, arg);
}

/* One integer from sql with an optional text parameter, on a reader. */
static int64_t
read_int(struct store_db *db, const char *sql, const char *param)
{
	sqlite3 *conn = store_db_acquire(db);
	sqlite3_stmt *st = NULL;
	int64_t v = -1;

	ck_assert_ptr_nonnull(conn);
	ck_assert_msg(sqlite3_prepare_v2(conn, sql, -1, &st, NULL) == SQLITE_OK,
	    "%s: %s", sql, sqlite3_errmsg(conn));
	if (param)
		sqlite3_bind_text(st, 1, param, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	store_db_release(db, &conn);
	ck_assert_ptr_null(conn);
	return v;
}

/* One text value (caller frees; NULL when no row), on a reader. */
static char *
read_text(struct store_db *db, const char *sql, const char *param)
{
	sqlite3 *conn = store_db_acquire(db);
	sqlite3_stmt *st = NULL;
	char *v = NULL;

	ck_assert_msg(sqlite3_prepare_v2(conn, sql, -1, &st, NULL) == SQLITE_OK,
	    "%s: %s", sql, sqlite3_errmsg(conn));
	if (param)
		sqlite3_bind_text(st, 1, param, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = store_col_text(st, 0);
	sqlite3_finalize(st);
	store_db_release(db, &conn);
	return v;
}

static int64_t
tenant_rows(struct store_db *db, const char *id)
{
	return read_int(db, "SELECT count(*) FROM tenants WHERE id = ?", id);
}

static int64_t
audit_rows(struct store_db *db, const char *id)
{
	return read_int(db, "SELECT count(*) FROM audit WHERE target_id = ?", id);
}

/* --- open, write, read ------------------------------------------------- */

START_TEST(test_write_then_read)
{
	struct store_db *db = store_control(store);
	struct tenant_arg a;
	char *s;

	ck_assert_ptr_nonnull(db);
	tenant_arg_init(&a, "Acme", STORE_OK);
	ck_assert_int_eq(store_db_write(db, insert_tenant, &a), STORE_OK);
	ck_assert(a.in_tx);
	ck_assert_int_eq(tenant_rows(db, a.id), 1);
	s = read_text(db, "SELECT name FROM tenants WHERE id = ?", a.id);
	ck_assert_str_eq(s, "Acme");
	free(s);
	s = read_text(db, "SELECT settings FROM tenants WHERE id = ?", a.id);
	ck_assert_str_eq(s, "{}");
	free(s);

	ck_assert_int_eq(audit_rows(db, a.id), 1);
	s = read_text(db, "SELECT action || '|' || actor_type || '|' || "
	    "tenant_id || '|' || target_type || '|' || detail || '|' || "
	    "request_id FROM audit WHERE target_id = ?", a.id);
	char *want = xasprintf("tenant.created|cli|%s|tenant|{}|req_unit", a.id);
	ck_assert_str_eq(s, want);
	free(want);
	free(s);
	s = read_text(db, "SELECT id FROM audit WHERE target_id = ?", a.id);
	ck_assert_msg(ids_is_id(s, "aud"), "audit id %s", s);
	free(s);
	int64_t created = read_int(db, "SELECT created_at FROM audit WHERE "
	    "target_id = ?", a.id);
	int64_t now = time_now_ms();
	ck_assert_int_le(created, now);
	ck_assert_int_gt(created, now - 60000);
}
END_TEST

/* Data and schema survive closing and reopening the directory. */
START_TEST(test_reopen)
{
	struct tenant_arg a;
	char *err = NULL;
	int64_t version;

	tenant_arg_init(&a, "Persist", STORE_OK);
	ck_assert_int_eq(store_db_write(store_control(store), insert_tenant, &a),
	    STORE_OK);
	version = read_int(store_control(store), "PRAGMA user_version", NULL);
	ck_assert_int_ge(version, 1);
	store_close(&store);
	ck_assert_ptr_null(store);
	ck_assert_int_eq(store_open(&store, data_dir, &err), 0);
	ck_assert_int_eq(tenant_rows(store_control(store), a.id), 1);
	ck_assert_int_eq(audit_rows(store_control(store), a.id), 1);
	ck_assert_int_eq(read_int(store_control(store), "PRAGMA user_version",
	    NULL), version);
}
END_TEST

START_TEST(test_open_errors)
{
	struct store *s = (struct store *)&s;	/* must be overwritten */
	char *err = NULL;
	char *path = xasprintf("%s/missing/parent/data", data_dir);

	ck_assert_int_eq(store_open(&s, path, &err), -1);
	ck_assert_ptr_null(s);
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(strstr(err, "missing") != NULL, "error text: %s", err);
	free(err);
	free(path);
	/* A regular file where the directory should be. */
	path = xasprintf("%s/file", data_dir);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fclose(f);
	err = NULL;
	ck_assert_int_eq(store_open(&s, path, &err), -1);
	ck_assert_ptr_null(s);
	ck_assert_ptr_nonnull(err);
	free(err);
	free(path);
	store_close(&s);	/* accepts NULL */
}
END_TEST

/* Non-zero results reach the caller and roll the job back. */
START_TEST(test_write_results)
{
	static const int results[] = {
		STORE_ERR_CONFLICT, STORE_ERR_NOT_FOUND, STORE_ERR_INVALID,
		STORE_ERR_FORBIDDEN, STORE_ERR_SQL, STORE_OK,
	};
	struct store_db *db = store_control(store);

	for (size_t i = 0; i < GENT_ARRAY_LEN(results); i++) {
		struct tenant_arg a;
		char name[32];
		snprintf(name, sizeof(name), "r%zu", i);
		tenant_arg_init(&a, name, results[i]);
		ck_assert_int_eq(store_db_write(db, insert_tenant, &a), results[i]);
		ck_assert(a.in_tx);
		ck_assert_int_eq(tenant_rows(db, a.id), results[i] == STORE_OK);
		ck_assert_int_eq(audit_rows(db, a.id), results[i] == STORE_OK);
	}
	ck_assert_int_eq(read_int(db, "SELECT count(*) FROM tenants", NULL), 1);
	ck_assert_int_eq(read_int(db, "SELECT count(*) FROM audit", NULL), 1);
}
END_TEST

/* A UNIQUE violation is STORE_ERR_CONFLICT and leaves nothing behind. */
START_TEST(test_unique_conflict)
{
	struct store_db *db = store_control(store);
	struct tenant_arg a, b;

	tenant_arg_init(&a, "same-name", STORE_OK);
	tenant_arg_init(&b, "same-name", STORE_OK);
	ck_assert_int_eq(store_db_write(db, insert_tenant, &a), STORE_OK);
	ck_assert_int_eq(store_db_write(db, insert_tenant, &b), STORE_ERR_CONFLICT);
	ck_assert_int_eq(tenant_rows(db, b.id), 0);
	ck_assert_int_eq(audit_rows(db, b.id), 0);
	/* Same primary key, different name. */
	snprintf(b.name, sizeof(b.name), "other");
	snprintf(b.id, sizeof(b.id), "%s", a.id);
	ck_assert_int_eq(store_db_write(db, insert_tenant, &b), STORE_ERR_CONFLICT);
	ck_assert_int_eq(read_int(db, "SELECT count(*) FROM tenants", NULL), 1);
	ck_assert_int_eq(audit_rows(db, a.id), 1);
}
END_TEST

/* --- group commit --------------------------------------------------------- */

/* Holds the writer until `want` jobs are queued behind it, so they all go
 * into the next batch, and counts commits from then on. */
struct gate {
	struct store_db	*db;
	int		 want;
	atomic_bool	 running;
	bool		 reached;
	int		 commits;
};

static int
count_commit(void *arg)
{
	((struct gate *)arg)->commits++;
	return 0;
}

static int
gate_fn(sqlite3 *conn, void *arg)
{
	struct gate *g = arg;

	sqlite3_commit_hook(conn, count_commit, g);
	atomic_store(&g->running, true);
	for (int tries = 0; tries < 20000 && !g->reached; tries++) {
		int n = 0;
		pthread_mutex_lock(&g->db->lock);
		for (struct store_job *j = g->db->queue_head; j; j = j->next)
			n++;
		pthread_mutex_unlock(&g->db->lock);
		if (n >= g->want)
			g->reached = true;
		else
			usleep(1000);
	}
	return STORE_OK;
}

static int
unhook_fn(sqlite3 *conn, void *arg)
{
	sqlite3_commit_hook(conn, NULL, NULL);
	return STORE_OK;
}

struct gate_call {
	struct gate	*gate;
	int		 rc;
};

static void *
gate_thread(void *arg)
{
	struct gate_call *c = arg;

	c->rc = store_db_write(c->gate->db, gate_fn, c->gate);
	return NULL;
}

struct job_call {
	struct store_db		*db;
	struct tenant_arg	 arg;
};

static void *
job_thread(void *p)
{
	struct job_call *c = p;

	c->arg.rc = store_db_write(c->db, insert_tenant, &c->arg);
	return NULL;
}

/* Eight jobs in one batch, every other one failing: the failures roll back
 * to their savepoints, their siblings commit, all in a single COMMIT. */
START_TEST(test_batch_partial_rollback)
{
	enum { JOBS = 8 };
	struct store_db *db = store_control(store);
	struct gate gate = { .db = db, .want = JOBS };
	struct gate_call gc = { .gate = &gate, .rc = -99 };
	struct job_call jobs[JOBS];
	pthread_t gt, jt[JOBS];

	atomic_init(&gate.running, false);
	ck_assert_int_eq(pthread_create(&gt, NULL, gate_thread, &gc), 0);
	while (!atomic_load(&gate.running))
		usleep(1000);
	for (int i = 0; i < JOBS; i++) {
		char name[32];
		snprintf(name, sizeof(name), "batch-%d", i);
		jobs[i].db = db;
		tenant_arg_init(&jobs[i].arg, name,
		    i % 2 ? STORE_ERR_CONFLICT : STORE_OK);
		ck_assert_int_eq(pthread_create(&jt[i], NULL, job_thread, &jobs[i]),
		    0);
	}
	for (int i = 0; i < JOBS; i++)
		pthread_join(jt[i], NULL);
	pthread_join(gt, NULL);
	ck_assert_int_eq(store_db_write(db, unhook_fn, NULL), STORE_OK);

	ck_assert_int_eq(gc.rc, STORE_OK);
	ck_assert_msg(gate.reached, "the jobs never queued up behind the gate");
	/* One commit for the gate's batch, one for all eight jobs. */
	ck_assert_int_eq(gate.commits, 2);
	for (int i = 0; i < JOBS; i++) {
		const struct tenant_arg *a = &jobs[i].arg;
		int want = i % 2 ? STORE_ERR_CONFLICT : STORE_OK;
		ck_assert_int_eq(a->rc, want);
		ck_assert(a->in_tx);
		ck_assert_msg(tenant_rows(db, a->id) == (want == STORE_OK),
		    "job %d (%s): tenant row %s", i, a->name,
		    want == STORE_OK ? "missing" : "not rolled back");
		ck_assert_msg(audit_rows(db, a->id) == (want == STORE_OK),
		    "job %d (%s): audit row %s", i, a->name,
		    want == STORE_OK ? "missing" : "not rolled back");
	}
	ck_assert_int_eq(read_int(db, "SELECT count(*) FROM tenants", NULL),
	    JOBS / 2);
	ck_assert_int_eq(read_int(db, "SELECT count(*) FROM audit", NULL),
	    JOBS / 2);
}
END_TEST

enum { THREADS = 8, PER_THREAD = 25 };

struct worker {
	struct store_db		*db;
	int			 index;
	struct tenant_arg	 args[PER_THREAD];
};

static void *
worker_main(void *p)
{
	struct worker *w = p;

	for (int j = 0; j < PER_THREAD; j++)
		w->args[j].rc = store_db_write(w->db, insert_tenant, &w->args[j]);
	return NULL;
}

/* Free-running writers on eight threads, half of the writes failing. */
START_TEST(test_concurrent_writes)
{
	struct store_db *db = store_control(store);
	struct worker *w = xcalloc(THREADS, sizeof(*w));
	pthread_t t[THREADS];
	int ok = 0;

	for (int i = 0; i < THREADS; i++) {
		w[i].db = db;
		w[i].index = i;
		for (int j = 0; j < PER_THREAD; j++) {
			char name[32];
			snprintf(name, sizeof(name), "t%d-%d", i, j);
			tenant_arg_init(&w[i].args[j], name,
			    (i + j) % 2 ? STORE_ERR_CONFLICT : STORE_OK);
		}
	}
	for (int i = 0; i < THREADS; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < THREADS; i++) {
		for (int j = 0; j < PER_THREAD; j++) {
			const struct tenant_arg *a = &w[i].args[j];
			bool want_ok = (i + j) % 2 == 0;
			ck_assert_msg(a->rc == (want_ok ? STORE_OK : STORE_ERR_CONFLICT),
			    "%s: rc %d", a->name, a->rc);
			ck_assert_msg(tenant_rows(db, a->id) == want_ok, "%s: %s",
			    a->name, want_ok ? "missing" : "present");
			ck_assert_msg(audit_rows(db, a->id) == want_ok, "%s: audit %s",
			    a->name, want_ok ? "missing" : "present");
			ok += want_ok;
		}
	}
	ck_assert_int_eq(ok, THREADS * PER_THREAD / 2);
	ck_assert_int_eq(read_int(db, "SELECT count(*) FROM tenants", NULL), ok);
	ck_assert_int_eq(read_int(db, "SELECT count(*) FROM audit", NULL), ok);
	free(w);
}
END_TEST

/* --- tenants ---------------------------------------------------------------- */

/* Names in a directory other than "." and "..", and other than those in
 * allowed (NULL-terminated prefixes); -1 when it cannot be read. */
static int
unexpected_entries(const char *path, const char *const *allowed)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)) != NULL) {
		bool ok = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
		for (const char *const *a = allowed; !ok && *a; a++)
			ok = strncmp(e->d_name, *a, strlen(*a)) == 0;
		n += !ok;
	}
	closedir(d);
	return n;
}

static const char *const bad_tenant_ids[] = {
	"../x",
	"ten_../../etc",
	"ten_../../../../../../tmp/",
	"ten_",
	"ten",
	"",
	"ten_ABCDEFGHIJKLMNOPQRSTUVWX",
	"ten_abcdefghijklmnopqrstuvw",		/* 23 */
	"ten_abcdefghijklmnopqrstuvwxy",	/* 25 */
	"ten_abcdefghijklmnopqrstu/.",
	"ten_abcdefghijklmnopqrst/..",
	"tok_abcdefghijklmnopqrstuvwx",
	"ten_abcdefghijklmnopqrstuv\n",
};

START_TEST(test_tenant_rejects)
{
	const char *id = bad_tenant_ids[_i];
	static const char *const none[] = { NULL };
	static const char *const top[] = { "control.db", "tenants", "audit.key",
	    NULL };
	struct store_db *db = NULL;
	char *err = NULL;
	char *tenants = xasprintf("%s/tenants", data_dir);

	ck_assert_msg(store_tenant(store, id, &db, &err) == -1, "\"%s\" accepted",
	    id);
	ck_assert_ptr_nonnull(err);
	free(err);
	/* Nothing was created inside or outside the tenants directory. */
	ck_assert_int_eq(unexpected_entries(tenants, none), 0);
	ck_assert_int_eq(unexpected_entries(data_dir, top), 0);
	free(tenants);
}
END_TEST

START_TEST(test_tenant_null)
{
	struct store_db *db = NULL;
	char *err = NULL;

	ck_assert_int_eq(store_tenant(store, NULL, &db, &err), -1);
	ck_assert_ptr_nonnull(err);
	free(err);
}
END_TEST

START_TEST(test_tenant_open)
{
	char *id1 = ids_new("ten"), *id2 = ids_new("ten");
	struct store_db *a = NULL, *b = NULL, *c = NULL;
	char *err = NULL;
	struct stat sb;

	ck_assert_int_eq(store_tenant(store, id1, &a, &err), 0);
	ck_assert_ptr_nonnull(a);
	ck_assert_int_eq(store_tenant(store, id1, &b, &err), 0);
	ck_assert_ptr_eq(a, b);
	ck_assert_int_eq(store_tenant(store, id2, &c, &err), 0);
	ck_assert_ptr_ne(a, c);
	ck_assert_ptr_ne(a, store_control(store));
	char *path = xasprintf("%s/tenants/%s/tenant.db", data_dir, id1);
	ck_assert_msg(stat(path, &sb) == 0, "%s missing", path);
	ck_assert(S_ISREG(sb.st_mode));
	free(path);

	/* The tenant database has its own audit table. */
	struct store_audit au = { .tenant_id = id1, .actor_type = "user",
	    .action = "inbox.created", .target_type = "inbox",
	    .target_id = "inb_1", .detail_json = "{\"k\":1}" };
	ck_assert_int_eq(store_db_write(a, append_audit,
	    &au), STORE_OK);
	ck_assert_int_eq(audit_rows(a, "inb_1"), 1);
	ck_assert_int_eq(audit_rows(c, "inb_1"), 0);
	ck_assert_int_eq(audit_rows(store_control(store), "inb_1"), 0);
	char *detail = read_text(a, "SELECT detail FROM audit WHERE target_id = ?",
	    "inb_1");
	ck_assert_str_eq(detail, "{\"k\":1}");
	free(detail);
	free(id1);
	free(id2);
}
END_TEST

/* --- the audit key -------------------------------------------------------- */

/* data_dir/audit.key: made 0600 with 32 bytes, the same key at the next
 * open, and a wrong-sized one stops the open (left as it is). */
START_TEST(test_audit_key)
{
	char *path = xasprintf("%s/audit.key", data_dir);
	unsigned char first[STORE_AUDIT_KEY_LEN];
	struct stat sb;
	char *err = NULL;

	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 0777, 0600);
	ck_assert_int_eq(sb.st_size, STORE_AUDIT_KEY_LEN);
	ck_assert(store->audit_key.created);
	memcpy(first, store->audit_key.key, sizeof(first));
	store_close(&store);
	ck_assert_int_eq(store_open(&store, data_dir, &err), 0);
	ck_assert(!store->audit_key.created);
	ck_assert(memcmp(store->audit_key.key, first, sizeof(first)) == 0);
	store_close(&store);
	ck_assert_int_eq(truncate(path, STORE_AUDIT_KEY_LEN - 1), 0);
	ck_assert_int_eq(store_open(&store, data_dir, &err), -1);
	ck_assert_ptr_null(store);
	ck_assert_msg(strstr(err, "audit key") != NULL, "error text: %s", err);
	free(err);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_int_eq(sb.st_size, STORE_AUDIT_KEY_LEN - 1);
	free(path);
}
END_TEST

/* --- audit is append-only ----------------------------------------------- */

struct sql_try {
	const char	*sql;
	int		 rc;		/* sqlite3_exec's result */
	char		 errmsg[256];
};

static int
try_sql(sqlite3 *conn, void *arg)
{
	struct sql_try *t = arg;
	char *err = NULL;

	t->rc = sqlite3_exec(conn, t->sql, NULL, NULL, &err);
	snprintf(t->errmsg, sizeof(t->errmsg), "%s", err ? err : "");
	sqlite3_free(err);
	return t->rc == SQLITE_OK ? STORE_OK : STORE_ERR_SQL;
}

static void
check_append_only(struct store_db *db, const char *target)
{
	static const char *const stmts[] = {
		"UPDATE audit SET action = 'tampered'",
		"UPDATE audit SET detail = '{}' WHERE seq = 1",
		"DELETE FROM audit",
		"DELETE FROM audit WHERE seq = 1",
	};
	int64_t before = read_int(db, "SELECT count(*) FROM audit", NULL);

	ck_assert_int_gt(before, 0);
	for (size_t i = 0; i < GENT_ARRAY_LEN(stmts); i++) {
		struct sql_try t = { .sql = stmts[i] };
		ck_assert_int_eq(store_db_write(db, try_sql, &t), STORE_ERR_SQL);
		ck_assert_msg((t.rc & 0xff) == SQLITE_CONSTRAINT, "%s: rc %d (%s)", t.sql,
		    t.rc, t.errmsg);
		ck_assert_msg(strstr(t.errmsg, "append-only") != NULL, "%s: %s",
		    t.sql, t.errmsg);
	}
	ck_assert_int_eq(read_int(db, "SELECT count(*) FROM audit", NULL), before);
	char *action = read_text(db, "SELECT action FROM audit WHERE target_id = ?",
	    target);
	ck_assert_str_ne(action, "tampered");
	free(action);
	/* Appending still works. */
	struct sql_try ins = { .sql = "INSERT INTO audit (id, actor_type, action, "
	    "created_at) VALUES ('aud_x', 'cli', 'x', 1)" };
	ck_assert_int_eq(store_db_write(db, try_sql, &ins), STORE_OK);
	ck_assert_int_eq(read_int(db, "SELECT count(*) FROM audit", NULL),
	    before + 1);
}

START_TEST(test_audit_append_only_control)
{
	struct tenant_arg a;

	tenant_arg_init(&a, "Audited", STORE_OK);
	ck_assert_int_eq(store_db_write(store_control(store), insert_tenant, &a),
	    STORE_OK);
	check_append_only(store_control(store), a.id);
}
END_TEST

START_TEST(test_audit_append_only_tenant)
{
	char *id = ids_new("ten"), *err = NULL;
	struct store_db *db = NULL;
	struct store_audit au = { .tenant_id = id, .actor_type = "cli",
	    .action = "tenant.opened", .target_type = "tenant", .target_id = id };

	ck_assert_int_eq(store_tenant(store, id, &db, &err), 0);
	ck_assert_int_eq(store_db_write(db, append_audit,
	    &au), STORE_OK);
	check_append_only(db, id);
	free(id);
}
END_TEST

/* --- connection settings --------------------------------------------------- */

struct pragmas {
	char	journal_mode[16];
	int64_t	synchronous;
	int64_t	foreign_keys;
	bool	in_tx;
};

static void
query_text(sqlite3 *conn, const char *sql, char *out, size_t cap)
{
	sqlite3_stmt *st = NULL;

	out[0] = '\0';
	if (sqlite3_prepare_v2(conn, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		snprintf(out, cap, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
}

static int64_t
query_int(sqlite3 *conn, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int64_t v = -1;

	if (sqlite3_prepare_v2(conn, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static int
read_pragmas(sqlite3 *conn, void *arg)
{
	struct pragmas *p = arg;

	query_text(conn, "PRAGMA journal_mode", p->journal_mode,
	    sizeof(p->journal_mode));
	p->synchronous = query_int(conn, "PRAGMA synchronous");
	p->foreign_keys = query_int(conn, "PRAGMA foreign_keys");
	p->in_tx = sqlite3_get_autocommit(conn) == 0;
	return STORE_OK;
}

static void
check_writer_pragmas(struct store_db *db)
{
	struct pragmas p = { .synchronous = -1, .foreign_keys = -1 };

	ck_assert_int_eq(store_db_write(db, read_pragmas, &p), STORE_OK);
	ck_assert_str_eq(p.journal_mode, "wal");
	ck_assert_int_eq(p.synchronous, 2);	/* FULL */
	ck_assert_int_eq(p.foreign_keys, 1);
	ck_assert(p.in_tx);
}

START_TEST(test_writer_pragmas)
{
	char *id = ids_new("ten"), *err = NULL;
	struct store_db *db = NULL;

	check_writer_pragmas(store_control(store));
	ck_assert_int_eq(store_tenant(store, id, &db, &err), 0);
	check_writer_pragmas(db);
	free(id);
}
END_TEST

START_TEST(test_readers)
{
	struct store_db *db = store_control(store);
	sqlite3 *r1 = store_db_acquire(db), *r2 = store_db_acquire(db), *r3;
	char mode[16];
	char *err = NULL;

	ck_assert_ptr_nonnull(r1);
	ck_assert_ptr_nonnull(r2);
	ck_assert_ptr_ne(r1, r2);
	query_text(r1, "PRAGMA journal_mode", mode, sizeof(mode));
	ck_assert_str_eq(mode, "wal");
	ck_assert_int_eq(query_int(r1, "PRAGMA query_only"), 1);
	ck_assert_int_eq(query_int(r1, "PRAGMA foreign_keys"), 1);
	/* Readers cannot write. */
	ck_assert_int_ne(sqlite3_exec(r1, "INSERT INTO tenants (id, name, "
	    "created_at, updated_at) VALUES ('ten_x', 'x', 1, 1)", NULL, NULL,
	    &err), SQLITE_OK);
	sqlite3_free(err);
	ck_assert_int_eq(read_int(db, "SELECT count(*) FROM tenants", NULL), 0);
	/* Released connections are reused. */
	store_db_release(db, &r2);
	ck_assert_ptr_null(r2);
	r3 = store_db_acquire(db);
	ck_assert_ptr_nonnull(r3);
	ck_assert_ptr_ne(r3, r1);
	store_db_release(db, &r3);
	store_db_release(db, &r1);
	store_db_release(db, &r1);	/* NULL is ignored */
}
END_TEST

/* A reader sees a write as soon as store_db_write() has returned. */
START_TEST(test_reader_sees_commit)
{
	struct store_db *db = store_control(store);
	sqlite3 *r = store_db_acquire(db);
	struct tenant_arg a;

	ck_assert_int_eq(query_int(r, "SELECT count(*) FROM tenants"), 0);
	tenant_arg_init(&a, "Visible", STORE_OK);
	ck_assert_int_eq(store_db_write(db, insert_tenant, &a), STORE_OK);
	ck_assert_int_eq(query_int(r, "SELECT count(*) FROM tenants"), 1);
	store_db_release(db, &r);
}
END_TEST

static Suite *
store_suite(void)
{
	Suite *s = suite_create("store");
	TCase *tc;

	tc = tcase_create("write");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_write_then_read);
	tcase_add_test(tc, test_reopen);
	tcase_add_test(tc, test_open_errors);
	tcase_add_test(tc, test_audit_key);
	tcase_add_test(tc, test_write_results);
	tcase_add_test(tc, test_unique_conflict);
	tcase_add_test(tc, test_batch_partial_rollback);
	tcase_add_test(tc, test_concurrent_writes);
	suite_add_tcase(s, tc);

	tc = tcase_create("tenants");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_tenant_rejects, 0,
	    (int)GENT_ARRAY_LEN(bad_tenant_ids));
	tcase_add_test(tc, test_tenant_null);
	tcase_add_test(tc, test_tenant_open);
	suite_add_tcase(s, tc);

	tc = tcase_create("integrity");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_audit_append_only_control);
	tcase_add_test(tc, test_audit_append_only_tenant);
	tcase_add_test(tc, test_writer_pragmas);
	tcase_add_test(tc, test_readers);
	tcase_add_test(tc, test_reader_sees_commit);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	const char *tmp = getenv("TMPDIR");
	SRunner *sr;
	int failed;

	snprintf(base_dir, sizeof(base_dir), "%s/gentd-unit-store-XXXXXX",
	    tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(base_dir)) {
		perror(base_dir);
		return EXIT_FAILURE;
	}
	sr = srunner_create(store_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	nftw(base_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

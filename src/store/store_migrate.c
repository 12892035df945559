/*
 * store_migrate.c - apply the numbered schema files embedded at build time.
 *
 * Each pending file runs in one BEGIN IMMEDIATE .. COMMIT together with
 * the PRAGMA user_version bump, so a crash leaves either the old or the
 * new schema, never a half-applied one. The version is read again under
 * the write lock: another process (gentd admin beside the daemon) may
 * have applied the file meanwhile, and then it is skipped.
 */
#include <stdio.h>
#include <string.h>

#include "gent/log.h"
#include "gent/util.h"
#include "store_int.h"

static int
user_version(sqlite3 *conn)
{
	sqlite3_stmt *st = store_prepare(conn, "PRAGMA user_version");
	int v = -1;

	if (st && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	store_finish(st);
	return v;
}

/* 1 = applied, 0 = someone else already had, -1 = failed. */
static int
apply_one(sqlite3 *conn, const struct store_migration *m, char **error_r)
{
	char *err = NULL, pragma[64];

	snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", m->number);
	if (sqlite3_exec(conn, "BEGIN IMMEDIATE", NULL, NULL, &err) == SQLITE_OK &&
	    user_version(conn) >= m->number) {
		sqlite3_exec(conn, "COMMIT", NULL, NULL, NULL);
		return 0;
	}
	if (err ||
	    sqlite3_exec(conn, m->sql, NULL, NULL, &err) != SQLITE_OK ||
	    sqlite3_exec(conn, pragma, NULL, NULL, &err) != SQLITE_OK ||
	    sqlite3_exec(conn, "COMMIT", NULL, NULL, &err) != SQLITE_OK) {
		*error_r = xasprintf("migration %s/%04d_%s: %s", m->set,
		    m->number, m->name, err ? err : "unknown error");
		sqlite3_free(err);
		sqlite3_exec(conn, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return 1;
}

int
store__migrate(sqlite3 *conn, const char *set, const char *path,
    char **error_r)
{
	int current = user_version(conn), latest = 0;

	if (current < 0) {
		*error_r = xasprintf("%s: cannot read schema version", path);
		return -1;
	}
	for (const struct store_migration *m = store_migrations; m->set; m++) {
		if (strcmp(m->set, set) != 0)
			continue;
		latest = m->number;
		if (m->number <= current)
			continue;
		int rc = apply_one(conn, m, error_r);
		if (rc < 0)
			return -1;
		if (rc > 0)
			log_info("store", NULL, "%s: applied migration %04d_%s", path,
			    m->number, m->name);
	}
	if (current > latest) {
		*error_r = xasprintf("%s: schema version %d is newer than this "
		    "binary knows (%d)", path, current, latest);
		return -1;
	}
	return 0;
}

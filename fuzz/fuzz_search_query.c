/*
 * fuzz_search_query.c - src/core/search_query.c on any q= bytes.
 *
 * Oracle besides the sanitizers: a query is either refused with a
 * message, or is FTS5 text that SQLite accepts (MATCH never fails with a
 * syntax error, so user text can never become a 500 or an operator).
 */
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gent/search_query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static sqlite3 *db;

static void
oracle(int ok, const char *what, const char *fts)
{
	if (!ok) {
		fprintf(stderr, "fuzz_search_query: ORACLE: %s (%s)\n", what,
		    fts ? fts : "-");
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *q = malloc(size + 1), *fts;
	const char *err = NULL;
	sqlite3_stmt *st;

	if (!db) {
		sqlite3_open(":memory:", &db);
		sqlite3_exec(db, "CREATE VIRTUAL TABLE t USING fts5(a, b, "
		    "tokenize = 'unicode61 remove_diacritics 2'); INSERT INTO t "
		    "VALUES ('alpha beta', 'gamma');", NULL, NULL, NULL);
	}
	memcpy(q, data, size);
	q[size] = '\0';
	fts = search_query_to_fts(q, &err);
	oracle(fts != NULL || (err && *err), "refused without a reason", NULL);
	if (fts) {
		oracle(sqlite3_prepare_v2(db, "SELECT count(*) FROM t WHERE t MATCH ?",
		    -1, &st, NULL) == SQLITE_OK, "prepare", fts);
		sqlite3_bind_text(st, 1, fts, -1, SQLITE_STATIC);
		oracle(sqlite3_step(st) == SQLITE_ROW, sqlite3_errmsg(db), fts);
		sqlite3_finalize(st);
	}
	free(fts);
	free(q);
	return 0;
}

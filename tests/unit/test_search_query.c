/*
 * test_search_query.c - q= to FTS5: every user input becomes quoted
 * strings (never FTS5 syntax), and the results run in a real FTS5 table.
 */
#include <check.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gent/search_query.h"

static const struct {
	const char	*q, *fts;	/* fts NULL = an error */
} cases[] = {
	{ "invoice", "\"invoice\"" },
	{ "  invoice   march ", "\"invoice\" \"march\"" },
	{ "\"late payment\"", "\"late payment\"" },
	{ "pay*", "\"pay\"*" },
	{ "\"late pay\"*", "\"late pay\"*" },
	{ "invoice -draft", "\"invoice\" NOT \"draft\"" },
	{ "-draft invoice", "\"invoice\" NOT \"draft\"" },
	{ "-\"old news\" news", "\"news\" NOT \"old news\"" },
	{ "a\"b", "\"a\" \"b\"" },
	{ "subject:foo", "\"subject:foo\"" },		/* no column filters */
	{ "NEAR(a b)", "\"NEAR(a\" \"b)\"" },
	{ "a OR b", "\"a\" \"OR\" \"b\"" },		/* OR is a word here */
	{ "\"unterminated", "\"unterminated\"" },
	{ "-", NULL },
	{ "-draft", NULL },
	{ "", NULL },
	{ "   ", NULL },
	{ "*** ---", NULL },
	{ "\"\"", NULL },
};

START_TEST(conversion_table)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *err = NULL;
		char *got = search_query_to_fts(cases[i].q, &err);
		if (cases[i].fts) {
			ck_assert_msg(got && strcmp(got, cases[i].fts) == 0,
			    "case %zu '%s': got '%s', want '%s'", i, cases[i].q,
			    got ? got : "(null)", cases[i].fts);
		} else {
			ck_assert_msg(!got && err && *err, "case %zu '%s' should fail", i,
			    cases[i].q);
		}
		free(got);
	}
}
END_TEST

START_TEST(limits)
{
	char q[SEARCH_QUERY_MAX + 2];
	const char *err;

	memset(q, 'a', sizeof(q) - 1);
	q[sizeof(q) - 1] = '\0';
	ck_assert_ptr_null(search_query_to_fts(q, &err));
	char many[400] = "";
	size_t used = 0;
	for (int i = 0; i < SEARCH_TERMS_MAX + 1; i++)
		used += (size_t)snprintf(many + used, sizeof(many) - used, "w%d ", i);
	ck_assert_ptr_null(search_query_to_fts(many, &err));
}
END_TEST

/* Whatever the bytes, the MATCH text is valid FTS5 syntax. */
START_TEST(always_valid_fts5)
{
	static const char *const inputs[] = { "\"", "\"\"\"", "a\"\"b", "(", ")",
	    "a AND", "OR", "NOT x", "x NOT", "^a", "a:b:c", "{a b}:c", "+a", "a+b",
	    "é*", "\xff\xfe", "-\"", "--a a", "a**", "\"a\"\"b\"*", NULL };
	sqlite3 *db;
	char *err = NULL;

	ck_assert_int_eq(sqlite3_open(":memory:", &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "CREATE VIRTUAL TABLE t USING fts5(a); "
	    "INSERT INTO t VALUES ('a b c');", NULL, NULL, &err), SQLITE_OK);
	for (const char *const *p = inputs; *p; p++) {
		const char *why;
		char *fts = search_query_to_fts(*p, &why);
		sqlite3_stmt *st;
		if (!fts)
			continue;
		ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT count(*) FROM t WHERE "
		    "t MATCH ?", -1, &st, NULL), SQLITE_OK);
		sqlite3_bind_text(st, 1, fts, -1, SQLITE_STATIC);
		ck_assert_msg(sqlite3_step(st) == SQLITE_ROW, "'%s' -> '%s': %s", *p, fts,
		    sqlite3_errmsg(db));
		sqlite3_finalize(st);
		free(fts);
	}
	sqlite3_close(db);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("search_query");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, conversion_table);
	tcase_add_test(tc, limits);
	tcase_add_test(tc, always_valid_fts5);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

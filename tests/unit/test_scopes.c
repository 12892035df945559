/*
 * test_scopes.c - src/auth/scopes.c: the scope table, alias expansion
 * and set queries.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "gent/scopes.h"
#include "gent/util.h"

#define N(a) ((int)GENT_ARRAY_LEN(a))

static bool
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static scope_set
expand(const char *name)
{
	scope_set set = 0;

	ck_assert_msg(scopes_expand(name, &set), "scopes_expand(\"%s\") failed",
	    name);
	return set;
}

START_TEST(test_table_sane)
{
	ck_assert_uint_gt(scopes_count, 0);
	ck_assert_uint_le(scopes_count, 64);
	for (unsigned i = 0; i < scopes_count; i++) {
		const char *name = scopes_table[i].name;
		ck_assert_msg(strchr(name, ':') != NULL, "%s", name);
		ck_assert(scopes_table[i].description && *scopes_table[i].description);
		ck_assert_msg(scopes_bit(name) == (scope_set)1 << i, "%s", name);
		for (unsigned j = 0; j < i; j++)
			ck_assert_str_ne(scopes_table[j].name, name);
	}
	/* The admin-only scopes the product guide names. */
	ck_assert(scopes_any_admin(scopes_bit("billing:write")));
	ck_assert(scopes_any_admin(scopes_bit("audit:read")));
}
END_TEST

START_TEST(test_expand_read)
{
	scope_set set = expand("read");

	ck_assert(scopes_has(set, "email:read"));
	ck_assert(scopes_has(set, "files:read"));
	ck_assert(scopes_has(set, "contacts:read"));
	ck_assert(scopes_has(set, "calendar:read"));
	ck_assert(scopes_has(set, "workflows:read"));
	ck_assert(scopes_has(set, "billing:read"));
	ck_assert(!scopes_has(set, "audit:read"));
	ck_assert(!scopes_has(set, "email:send"));
	ck_assert(!scopes_has(set, "email:write"));
	ck_assert(!scopes_any_admin(set));
	for (unsigned i = 0; i < scopes_count; i++) {
		const char *name = scopes_table[i].name;
		bool want = !scopes_table[i].admin_only && ends_with(name, ":read");
		ck_assert_msg(scopes_has(set, name) == want, "read %s %s", want ?
		    "lacks" : "has", name);
		if (strstr(name, ":write") || strstr(name, ":send") ||
		    strstr(name, ":full"))
			ck_assert_msg(!scopes_has(set, name), "read has %s", name);
	}
	/* No stray bits beyond the table. */
	if (scopes_count < 64)
		ck_assert_uint_eq(set >> scopes_count, 0);
}
END_TEST

START_TEST(test_expand_write_full)
{
	static const char *const aliases[] = { "write", "full" };

	for (int a = 0; a < N(aliases); a++) {
		scope_set set = expand(aliases[a]);
		ck_assert(scopes_has(set, "email:send"));
		ck_assert(scopes_has(set, "email:read"));
		ck_assert(scopes_has(set, "email:write"));
		ck_assert(scopes_has(set, "files:write"));
		ck_assert(scopes_has(set, "workflows:full"));
		ck_assert(scopes_has(set, "billing:read"));
		ck_assert_msg(!scopes_has(set, "billing:write"), "%s", aliases[a]);
		ck_assert_msg(!scopes_has(set, "audit:read"), "%s", aliases[a]);
		ck_assert(!scopes_any_admin(set));
		for (unsigned i = 0; i < scopes_count; i++)
			ck_assert_msg(scopes_has(set, scopes_table[i].name) ==
			    !scopes_table[i].admin_only, "%s and %s", aliases[a],
			    scopes_table[i].name);
		if (scopes_count < 64)
			ck_assert_uint_eq(set >> scopes_count, 0);
	}
	ck_assert_uint_eq(expand("write"), expand("full"));
	/* read is a strict subset of write. */
	ck_assert_uint_eq(expand("read") & ~expand("write"), 0);
	ck_assert_uint_ne(expand("read"), expand("write"));
}
END_TEST

START_TEST(test_expand_atomic)
{
	for (unsigned i = 0; i < scopes_count; i++) {
		scope_set set = expand(scopes_table[i].name);
		ck_assert_uint_eq(set, (scope_set)1 << i);
		ck_assert_int_eq(scopes_any_admin(set), scopes_table[i].admin_only);
	}
}
END_TEST

static const char *const unknown_names[] = {
	"", "admin", "READ", "Read", "write ", " read", "email", "email:",
	":read", "email:delete", "email:READ", "email:read,files:read",
	"read:email", "all", "*",
};

START_TEST(test_expand_unknown)
{
	scope_set set = 0;

	ck_assert_msg(!scopes_expand(unknown_names[_i], &set), "\"%s\" expanded",
	    unknown_names[_i]);
	ck_assert_uint_eq(scopes_bit(unknown_names[_i]), 0);
}
END_TEST

START_TEST(test_has)
{
	scope_set set = scopes_bit("email:read") | scopes_bit("files:write");

	ck_assert(scopes_has(set, "email:read"));
	ck_assert(scopes_has(set, "files:write"));
	ck_assert(!scopes_has(set, "files:read"));
	ck_assert(!scopes_has(set, "email:send"));
	ck_assert(!scopes_has(set, "nonsense"));
	ck_assert(!scopes_has(set, "read"));	/* aliases are not atomic */
	ck_assert(!scopes_has(0, "email:read"));
	ck_assert(!scopes_has(~(scope_set)0, "bogus:read"));
	ck_assert(scopes_has(~(scope_set)0, "audit:read"));
}
END_TEST

START_TEST(test_any_admin)
{
	ck_assert(!scopes_any_admin(0));
	ck_assert(!scopes_any_admin(scopes_bit("email:read")));
	ck_assert(scopes_any_admin(scopes_bit("billing:write")));
	ck_assert(scopes_any_admin(scopes_bit("audit:read") |
	    scopes_bit("email:read")));
	ck_assert(scopes_any_admin(expand("write") | scopes_bit("audit:read")));
	for (unsigned i = 0; i < scopes_count; i++)
		ck_assert_int_eq(scopes_any_admin((scope_set)1 << i),
		    scopes_table[i].admin_only);
}
END_TEST

static Suite *
scopes_suite(void)
{
	Suite *s = suite_create("scopes");
	TCase *tc = tcase_create("scopes");

	tcase_add_test(tc, test_table_sane);
	tcase_add_test(tc, test_expand_read);
	tcase_add_test(tc, test_expand_write_full);
	tcase_add_test(tc, test_expand_atomic);
	tcase_add_loop_test(tc, test_expand_unknown, 0, N(unknown_names));
	tcase_add_test(tc, test_has);
	tcase_add_test(tc, test_any_admin);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(scopes_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

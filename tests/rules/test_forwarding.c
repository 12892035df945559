/*
 * test_forwarding.c - forwarding decisions.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gent/forwarding.h"

static struct forwarding_rule_row
rule(const char *id, const char *dest, const char *type, const char *value,
    bool enabled)
{
	struct forwarding_rule_row r = { 0 };

	snprintf(r.id, sizeof(r.id), "%s", id);
	r.destination = (char *)dest;
	snprintf(r.condition_type, sizeof(r.condition_type), "%s", type);
	r.condition_value = (char *)value;
	r.enabled = enabled;
	return r;
}

static bool
suppress_r2(void *ctx, const char *rule_id, const char *dest)
{
	(void)ctx;
	(void)dest;
	return strcmp(rule_id, "r2") == 0;
}

START_TEST(conditions)
{
	struct forward_facts f = { "Alice@Vendor.test", "Your CONTRACT renewal" };
	struct forwarding_rule_row r;

	r = rule("r", "x@y.test", "all", NULL, true);
	ck_assert(forwarding_rule_matches(&r, &f));
	r = rule("r", "x@y.test", "sender", "alice@vendor.test", true);
	ck_assert(forwarding_rule_matches(&r, &f));
	r = rule("r", "x@y.test", "sender", "bob@vendor.test", true);
	ck_assert(!forwarding_rule_matches(&r, &f));
	r = rule("r", "x@y.test", "domain", "@vendor.test", true);
	ck_assert(forwarding_rule_matches(&r, &f));
	r = rule("r", "x@y.test", "domain", "endor.test", true);
	ck_assert(!forwarding_rule_matches(&r, &f));
	r = rule("r", "x@y.test", "subject_keyword", "contract", true);
	ck_assert(forwarding_rule_matches(&r, &f));
	r = rule("r", "x@y.test", "subject_keyword", "invoice", true);
	ck_assert(!forwarding_rule_matches(&r, &f));
}
END_TEST

START_TEST(targets)
{
	struct forward_facts f = { "a@v.test", "contract" };
	struct forwarding_rule_row rules[4];
	struct forward_target out[8];
	size_t n;

	rules[0] = rule("r1", "legal@corp.test", "subject_keyword", "contract", true);
	rules[1] = rule("r2", "boss@corp.test", "all", NULL, true);
	rules[2] = rule("r3", "human@corp.test", "all", NULL, true);	/* dup of default */
	rules[3] = rule("r4", "off@corp.test", "all", NULL, false);
	n = forwarding_targets("human@corp.test", rules, 4, &f, suppress_r2, NULL, out, 8);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(out[0].destination, "human@corp.test");
	ck_assert_ptr_null(out[0].rule_id);
	ck_assert_str_eq(out[1].destination, "legal@corp.test");
	ck_assert_str_eq(out[1].rule_id, "r1");
	n = forwarding_targets(NULL, rules, 4, &f, NULL, NULL, out, 8);
	ck_assert_uint_eq(n, 3);
}
END_TEST

START_TEST(enabled_flag)
{
	char *def;

	ck_assert(forwarding_enabled("{}", &def));
	ck_assert_ptr_null(def);
	ck_assert(!forwarding_enabled("{\"forwarding\":{\"default_address\":null,\"enabled\":false}}", &def));
	free(def);
	ck_assert(forwarding_enabled("{\"forwarding\":{\"default_address\":\"a@b.test\",\"enabled\":true}}", &def));
	ck_assert_str_eq(def, "a@b.test");
	free(def);
}
END_TEST

/* Which Delivered-To value, if any, names the receiving inbox. */
static const struct {
	const char	*inbox;
	const char	*dt[3];
	size_t		 n;
	int		 want;	/* index into dt, -1: no loop */
} loop_cases[] = {
	{ "a@x.test", { NULL }, 0, -1 },
	{ "a@x.test", { "b@x.test" }, 1, -1 },
	{ "a@x.test", { "a@x.test" }, 1, 0 },
	{ "a@x.test", { "b@x.test", "A@X.Test" }, 2, 1 },	/* any case, any place */
	{ "a@x.test", { "b@x.test", "a@x.test", "a@x.test" }, 3, 1 },	/* the first */
	{ "a@x.test", { "a@x.tes", "aa@x.test", "a@x.test.org" }, 3, -1 },
	{ "a@x.test", { "a@x.test" }, 0, -1 },	/* n bounds the scan */
	{ "", { "" }, 1, -1 },			/* no inbox address, no loop */
	{ NULL, { "a@x.test" }, 1, -1 },
};

START_TEST(loop)
{
	const char *got = forwarding_loop(loop_cases[_i].inbox,
	    (char *const *)loop_cases[_i].dt, loop_cases[_i].n);

	if (loop_cases[_i].want < 0)
		ck_assert_msg(got == NULL, "case %d: want no loop, got %s", _i, got);
	else
		ck_assert_msg(got == loop_cases[_i].dt[loop_cases[_i].want],
		    "case %d: want dt[%d], got %s", _i, loop_cases[_i].want,
		    got ? got : "NULL");
}
END_TEST

START_TEST(delivered_to_of_a_copy)
{
	char *orig[] = { "b@y.test", "c@z.test", "d@w.test" };
	const char *out[4];
	size_t n;

	/* The inbox on top, then the original's in their order. */
	n = forwarding_delivered_to("a@x.test", orig, 3, out, 4);
	ck_assert_uint_eq(n, 4);
	ck_assert_str_eq(out[0], "a@x.test");
	ck_assert_ptr_eq(out[1], orig[0]);
	ck_assert_ptr_eq(out[2], orig[1]);
	ck_assert_ptr_eq(out[3], orig[2]);
	/* Over the cap the oldest (bottom) ones go; the inbox never does. */
	n = forwarding_delivered_to("a@x.test", orig, 3, out, 2);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(out[0], "a@x.test");
	ck_assert_ptr_eq(out[1], orig[0]);
	n = forwarding_delivered_to("a@x.test", NULL, 0, out, 4);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(forwarding_delivered_to("a@x.test", orig, 3, out, 0), 0);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("forwarding");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, conditions);
	tcase_add_test(tc, targets);
	tcase_add_test(tc, enabled_flag);
	tcase_add_loop_test(tc, loop, 0, (int)(sizeof(loop_cases) / sizeof(loop_cases[0])));
	tcase_add_test(tc, delivered_to_of_a_copy);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

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
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/*
 * test_sender_rules.c - allowlist/blocklist decisions.
 */
#include <check.h>
#include <stdlib.h>

#include "gent/sender_rules.h"

static const struct {
	const char *mode, *patterns, *from, *header;
	bool allowed;
} cases[] = {
	{ "open", "[\"@spam.test\"]", "a@spam.test", NULL, true },
	{ "blocklist", "[\"@spam.test\"]", "a@spam.test", NULL, false },
	{ "blocklist", "[\"@spam.test\"]", "a@SPAM.test", NULL, false },
	{ "blocklist", "[\"@spam.test\"]", "a@ok.test", "b@spam.test", false },
	{ "blocklist", "[\"@spam.test\"]", "a@sub.spam.test", NULL, true },
	{ "blocklist", "[\"bad@x.test\"]", "good@x.test", NULL, true },
	{ "blocklist", "[]", "a@x.test", NULL, true },
	{ "allowlist", "[\"@friend.test\"]", "a@friend.test", NULL, true },
	{ "allowlist", "[\"@friend.test\"]", "a@stranger.test", NULL, false },
	{ "allowlist", "[\"@friend.test\"]", "", "a@friend.test", true },
	{ "allowlist", "[\"boss@corp.test\"]", "Boss@Corp.test", NULL, true },
	{ "allowlist", "[]", "a@x.test", NULL, false },
};

START_TEST(decision_table)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *cand[2] = { cases[i].from, cases[i].header };
		const char *matched;
		char *copy;
		bool got = sender_rules_allows(cases[i].mode, cases[i].patterns, cand,
		    cases[i].header ? 2 : 1, &matched, &copy);
		ck_assert_msg(got == cases[i].allowed, "case %zu", i);
		free(copy);
	}
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("sender_rules");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, decision_table);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/*
 * test_auto_label.c - the auto-label rule language: globs, each condition
 * type, all/any, first match wins, and validation of what the API stores.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gent/auto_label.h"

static const struct {
	const char	*pattern, *text;
	bool		 match;
} globs[] = {
	{ "*", "", true },
	{ "*", "anything", true },
	{ "", "", true },
	{ "", "x", false },
	{ "invoice", "INVOICE", true },
	{ "invoice", "invoice 42", false },	/* whole subject, not a substring */
	{ "*invoice*", "Your Invoice #42", true },
	{ "*invoice #??", "invoice #42", true },
	{ "*invoice #??", "invoice #4", false },
	{ "a*b*c", "aXXbYYc", true },
	{ "a*b*c", "aXXbYY", false },
	{ "*a*a*a*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false },
	{ "?", "\xc3\xa9", true },		/* one character, two bytes */
	{ "??", "\xc3\xa9", false },
	{ "[JIRA] *", "[jira] ticket", true },	/* brackets are literal */
	{ "**", "x", true },
};

START_TEST(glob_table)
{
	for (size_t i = 0; i < sizeof(globs) / sizeof(globs[0]); i++)
		ck_assert_msg(auto_label_glob(globs[i].pattern, globs[i].text) ==
		    globs[i].match, "glob %zu: '%s' ~ '%s'", i, globs[i].pattern,
		    globs[i].text);
}
END_TEST

static bool
holds(const char *match, const char *conditions, const struct auto_label_facts *f)
{
	struct auto_label_rule r = { "r", match, conditions, true };

	return auto_label_rule_matches(&r, f);
}

START_TEST(conditions)
{
	const char *rcpts[] = { "bot@agents.test", "Team@Elsewhere.test" };
	struct auto_label_facts f = { "billing@Mail.Corp.test", "Invoice #7",
	    rcpts, 2 };

	ck_assert(holds("all", "[{\"type\":\"sender_domain\",\"value\":\"mail.corp.test\"}]", &f));
	ck_assert(holds("all", "[{\"type\":\"sender_domain\",\"value\":\"*.corp.test\"}]", &f));
	ck_assert(!holds("all", "[{\"type\":\"sender_domain\",\"value\":\"corp.test\"}]", &f));
	ck_assert(!holds("all", "[{\"type\":\"sender_domain\",\"value\":\"*.mail.corp.test\"}]", &f));
	ck_assert(!holds("all", "[{\"type\":\"sender_domain\",\"value\":\"*.orp.test\"}]", &f));
	ck_assert(holds("all", "[{\"type\":\"recipient\",\"value\":\"team@elsewhere.test\"}]", &f));
	ck_assert(holds("all", "[{\"type\":\"recipient\",\"value\":\"@agents.test\"}]", &f));
	ck_assert(!holds("all", "[{\"type\":\"recipient\",\"value\":\"@elsewhere.tes\"}]", &f));
	ck_assert(holds("all", "[{\"type\":\"subject_pattern\",\"value\":\"invoice*\"}]", &f));
	/* all needs every condition; any needs one. */
	const char *two = "[{\"type\":\"subject_pattern\",\"value\":\"invoice*\"},"
	    "{\"type\":\"sender_domain\",\"value\":\"other.test\"}]";
	ck_assert(!holds("all", two, &f));
	ck_assert(holds("any", two, &f));
	ck_assert(!holds("any", "[]", &f));
	ck_assert(!holds("all", "[]", &f));	/* never "match everything" by accident */
	/* No sender (null path) and no subject: nothing matches by default. */
	struct auto_label_facts bare = { "", NULL, NULL, 0 };
	ck_assert(!holds("all", "[{\"type\":\"sender_domain\",\"value\":\"x.test\"}]", &bare));
	ck_assert(holds("all", "[{\"type\":\"subject_pattern\",\"value\":\"*\"}]", &bare));
	ck_assert(!holds("all", "[{\"type\":\"subject_pattern\",\"value\":\"?*\"}]", &bare));
}
END_TEST

START_TEST(first_match_wins)
{
	const char *urgent = "[{\"type\":\"subject_pattern\",\"value\":\"*urgent*\"}]";
	const char *any = "[{\"type\":\"subject_pattern\",\"value\":\"*\"}]";
	struct auto_label_facts f = { "a@b.test", "URGENT now", NULL, 0 };
	struct auto_label_rule rules[] = {
		{ "off", "all", any, false },
		{ "u", "all", urgent, true },
		{ "all", "all", any, true },
	};
	size_t evaluated;

	ck_assert_int_eq(auto_label_first_match(rules, 3, &f, &evaluated), 1);
	ck_assert_uint_eq(evaluated, 1);		/* the disabled rule is skipped */
	f.subject = "calm";
	ck_assert_int_eq(auto_label_first_match(rules, 3, &f, &evaluated), 2);
	ck_assert_uint_eq(evaluated, 2);
	ck_assert_int_eq(auto_label_first_match(rules, 2, &f, &evaluated), -1);
	ck_assert_int_eq(auto_label_first_match(rules, 0, &f, &evaluated), -1);
}
END_TEST

static bool
valid(const char *text)
{
	json_t *j = json_loads(text, 0, NULL);
	const char *err = NULL;
	char buf[256];
	int rc;

	ck_assert_msg(j != NULL, "bad test JSON %s", text);
	rc = auto_label_conditions_check(j, buf, sizeof(buf), &err);
	ck_assert(rc == 0 || (err && *err));
	json_decref(j);
	return rc == 0;
}

START_TEST(validation)
{
	ck_assert(valid("[{\"type\":\"sender_domain\",\"value\":\"example.com\"}]"));
	ck_assert(valid("[{\"type\":\"sender_domain\",\"value\":\"*.example.com\"}]"));
	ck_assert(valid("[{\"type\":\"recipient\",\"value\":\"@example.com\"}]"));
	ck_assert(valid("[{\"type\":\"subject_pattern\",\"value\":\"*\"}]"));
	ck_assert(!valid("[]"));
	ck_assert(!valid("{}"));
	ck_assert(!valid("[1]"));
	ck_assert(!valid("[{\"type\":\"sender_domain\"}]"));
	ck_assert(!valid("[{\"type\":\"sender_domain\",\"value\":\"\"}]"));
	ck_assert(!valid("[{\"type\":\"sender_domain\",\"value\":\"a@b.test\"}]"));
	ck_assert(!valid("[{\"type\":\"sender_domain\",\"value\":\"*.\"}]"));
	ck_assert(!valid("[{\"type\":\"sender_domain\",\"value\":\"a*.test\"}]"));
	ck_assert(!valid("[{\"type\":\"recipient\",\"value\":\"nobody\"}]"));
	ck_assert(!valid("[{\"type\":\"recipient\",\"value\":\"a@b@c\"}]"));
	ck_assert(!valid("[{\"type\":\"recipient\",\"value\":\"a@\"}]"));
	ck_assert(!valid("[{\"type\":\"body\",\"value\":\"x\"}]"));
	ck_assert(!valid("[{\"type\":\"subject_pattern\",\"value\":5}]"));
	ck_assert(!valid("[{\"type\":\"subject_pattern\",\"value\":\"x\",\"y\":1}]"));
	/* The cap on conditions and on value length. */
	char big[4096];
	size_t used = (size_t)snprintf(big, sizeof(big), "[");
	for (int i = 0; i < AUTO_LABEL_CONDITIONS_MAX + 1; i++)
		used += (size_t)snprintf(big + used, sizeof(big) - used,
		    "%s{\"type\":\"subject_pattern\",\"value\":\"x\"}", i ? "," : "");
	snprintf(big + used, sizeof(big) - used, "]");
	ck_assert(!valid(big));
	char longv[AUTO_LABEL_VALUE_MAX + 100];
	memset(longv, 'a', sizeof(longv) - 1);
	longv[sizeof(longv) - 1] = '\0';
	char *text = NULL;
	ck_assert(asprintf(&text, "[{\"type\":\"subject_pattern\",\"value\":\"%s\"}]",
	    longv) > 0);
	ck_assert(!valid(text));
	free(text);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("auto_label");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, glob_table);
	tcase_add_test(tc, conditions);
	tcase_add_test(tc, first_match_wins);
	tcase_add_test(tc, validation);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

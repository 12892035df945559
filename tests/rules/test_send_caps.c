/*
 * test_send_caps.c - send cap periods (UTC calendar) and verdicts.
 */
#include <check.h>
#include <stdlib.h>

#include "gent/send_caps.h"
#include "gent/timefmt.h"

static int64_t
at(const char *iso)
{
	int64_t ms;

	ck_assert_int_eq(time_parse_iso(iso, &ms), 0);
	return ms;
}

START_TEST(periods)
{
	int64_t now = at("2026-12-02T14:30:00Z");	/* a Wednesday */

	ck_assert_int_eq(send_caps_period_start("daily", now), at("2026-12-02T00:00:00Z"));
	ck_assert_int_eq(send_caps_period_end("daily", now), at("2026-12-03T00:00:00Z"));
	ck_assert_int_eq(send_caps_period_start("weekly", now), at("2026-11-30T00:00:00Z"));
	ck_assert_int_eq(send_caps_period_end("weekly", now), at("2026-12-07T00:00:00Z"));
	ck_assert_int_eq(send_caps_period_start("monthly", now), at("2026-12-01T00:00:00Z"));
	ck_assert_int_eq(send_caps_period_end("monthly", now), at("2027-01-01T00:00:00Z"));
	/* Edges: Monday midnight is a new week; Feb in a leap year. */
	ck_assert_int_eq(send_caps_period_start("weekly", at("2026-11-30T00:00:00Z")),
	    at("2026-11-30T00:00:00Z"));
	ck_assert_int_eq(send_caps_period_start("weekly", at("2026-11-29T23:59:59Z")),
	    at("2026-11-23T00:00:00Z"));
	ck_assert_int_eq(send_caps_period_end("monthly", at("2028-02-10T00:00:00Z")),
	    at("2028-03-01T00:00:00Z"));
	ck_assert_int_eq(send_caps_period_start("monthly", at("2028-02-29T23:00:00Z")),
	    at("2028-02-01T00:00:00Z"));
}
END_TEST

START_TEST(verdicts)
{
	ck_assert_int_eq(send_caps_check("enforce", 10, 9), SEND_CAP_OK);
	ck_assert_int_eq(send_caps_check("enforce", 10, 10), SEND_CAP_REFUSE);
	ck_assert_int_eq(send_caps_check("hold", 10, 10), SEND_CAP_HOLD);
	ck_assert_int_eq(send_caps_check("allow_and_bill", 10, 12), SEND_CAP_OVERAGE);
	ck_assert_int_eq(send_caps_check("enforce", 0, 0), SEND_CAP_REFUSE);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("send_caps");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, periods);
	tcase_add_test(tc, verdicts);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

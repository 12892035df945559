/*
 * test_retention.c - retention periods and which one applies.
 */
#include <check.h>
#include <stdlib.h>

#include "gent/retention.h"

#define DAY (24LL * 3600 * 1000)

START_TEST(periods)
{
	ck_assert_int_eq(retention_period_ms("30d"), 30 * DAY);
	ck_assert_int_eq(retention_period_ms("90d"), 90 * DAY);
	ck_assert_int_eq(retention_period_ms("6m"), 182 * DAY);
	ck_assert_int_eq(retention_period_ms("1y"), 365 * DAY);
	ck_assert(retention_period_ms("indefinite") == RETENTION_FOREVER);
	ck_assert_int_eq(retention_period_ms("2y"), -1);
	ck_assert_int_eq(retention_period_ms("30D"), -1);
	ck_assert_int_eq(retention_period_ms(""), -1);
	ck_assert_int_eq(retention_period_ms(NULL), -1);
}
END_TEST

START_TEST(effective_and_expired)
{
	int64_t now = 1000 * DAY;

	/* A label's period wins over the inbox's, longer or shorter. */
	ck_assert_int_eq(retention_effective(90 * DAY, -1), 90 * DAY);
	ck_assert_int_eq(retention_effective(90 * DAY, 365 * DAY), 365 * DAY);
	ck_assert_int_eq(retention_effective(RETENTION_FOREVER, 30 * DAY), 30 * DAY);
	ck_assert(retention_expired(now - 31 * DAY, 30 * DAY, now));
	ck_assert(!retention_expired(now - 30 * DAY, 30 * DAY, now));	/* boundary kept */
	ck_assert(!retention_expired(0, RETENTION_FOREVER, now));
	ck_assert(!retention_expired(0, -1, now));
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("retention");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, periods);
	tcase_add_test(tc, effective_and_expired);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/*
 * test_relay_retry.c - the retry schedule and the queue lifetime.
 */
#include <check.h>
#include <stdlib.h>

#include "gent/relay_retry.h"

#define MIN (60LL * 1000)

START_TEST(schedule)
{
	const char *s = "5m,15m,1h";
	bool expired;

	ck_assert_int_eq(relay_retry_at(s, 1, 0, 0, 10000 * MIN, &expired), 5 * MIN);
	ck_assert(!expired);
	ck_assert_int_eq(relay_retry_at(s, 2, 0, 0, 10000 * MIN, &expired), 15 * MIN);
	ck_assert_int_eq(relay_retry_at(s, 3, 0, 0, 10000 * MIN, &expired), 60 * MIN);
	/* Past the end the last delay repeats. */
	ck_assert_int_eq(relay_retry_at(s, 9, 1000, 0, 10000 * MIN, &expired),
	    1000 + 60 * MIN);
	/* Seconds for tests; spaces tolerated. */
	ck_assert_int_eq(relay_retry_at("1s, 2s", 2, 0, 0, 60000, &expired), 2000);
	/* Garbage falls back to five minutes. */
	ck_assert_int_eq(relay_retry_at("soon", 1, 0, 0, 10000 * MIN, &expired), 5 * MIN);
	ck_assert_int_eq(relay_retry_at(NULL, 1, 0, 0, 10000 * MIN, &expired), 5 * MIN);
}
END_TEST

START_TEST(lifetime)
{
	bool expired;

	relay_retry_at("1h", 1, 0, 0, 2 * 60 * MIN, &expired);
	ck_assert(!expired);
	relay_retry_at("1h", 2, 90 * MIN, 0, 2 * 60 * MIN, &expired);
	ck_assert(expired);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("relay_retry");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, schedule);
	tcase_add_test(tc, lifetime);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

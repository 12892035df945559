/*
 * test_timefmt.c - src/core/timefmt.c: the strict ISO 8601 parser and the
 * formatter.
 *
 * Every case also runs on an exact-size heap copy of each of its prefixes,
 * so reading past the terminator shows up under ASan.
 */
#include <check.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "gent/timefmt.h"
#include "gent/util.h"

#define N(a) ((int)GENT_ARRAY_LEN(a))

#define T_2026_11_23		1795392000000LL		/* 2026-11-23T00:00:00Z */
#define T_EVENT			1795462200000LL		/* 2026-11-23T19:30:00Z */
#define HOUR			3600000LL

static const struct parse_case {
	const char	*in;
	int		 rc;
	int64_t		 ms;
} parse_cases[] = {
	{ "2026-11-23T19:30:00Z", 0, T_EVENT },
	{ "2026-11-23T19:30:00z", 0, T_EVENT },
	{ "2026-11-23t19:30:00Z", 0, T_EVENT },
	{ "2026-11-23 19:30:00Z", 0, T_EVENT },
	{ "2026-11-23T19:30:00+00:00", 0, T_EVENT },
	{ "2026-11-23T19:30:00-00:00", 0, T_EVENT },
	{ "2026-11-23T19:30:00+02:00", 0, T_EVENT - 2 * HOUR },
	{ "2026-11-23T21:30:00+02:00", 0, T_EVENT },
	{ "2026-11-23T19:30:00-05:30", 0, T_EVENT + 5 * HOUR + HOUR / 2 },
	{ "2026-11-23T14:00:00-05:30", 0, T_EVENT },
	{ "2026-11-24T04:30:00+09:00", 0, T_EVENT },
	{ "2026-11-23T19:30:00.5Z", 0, T_EVENT + 500 },
	{ "2026-11-23T19:30:00.05Z", 0, T_EVENT + 50 },
	{ "2026-11-23T19:30:00.123Z", 0, T_EVENT + 123 },
	{ "2026-11-23T19:30:00.123456Z", 0, T_EVENT + 123 },
	{ "2026-11-23T19:30:00.999+01:00", 0, T_EVENT - HOUR + 999 },
	{ "2026-11-23T19:30:00.000", 0, T_EVENT },
	{ "2026-11-23", 0, T_2026_11_23 },
	{ "2026-11-23T19:30:00", 0, T_EVENT },
	{ "2026-11-23T19:30", 0, T_EVENT },
	{ "2026-11-23T19:30Z", 0, T_EVENT },
	{ "2026-11-23T19:30+02:00", 0, T_EVENT - 2 * HOUR },
	{ "2026-11-23T00:00:00Z", 0, T_2026_11_23 },
	{ "2026-11-23T23:59:59Z", 0, T_2026_11_23 + 24 * HOUR - 1000 },
	{ "1970-01-01", 0, 0 },
	{ "1970-01-01T00:00:00Z", 0, 0 },
	{ "1970-01-01T00:00:00.001Z", 0, 1 },
	{ "1970-01-02T00:00:00Z", 0, 24 * HOUR },
	{ "2024-02-29", 0, 1709164800000LL },
	{ "2000-02-29", 0, 951782400000LL },
	{ "2038-01-19T03:14:08Z", 0, 2147483648000LL },
	{ "2099-12-31T23:59:59Z", 0, 4102444799000LL },
	/* Invalid dates. */
	{ "2026-13-01", -1, 0 },
	{ "2026-00-01", -1, 0 },
	{ "2026-01-00", -1, 0 },
	{ "2026-01-32", -1, 0 },
	{ "2026-02-30", -1, 0 },
	{ "2026-04-31", -1, 0 },
	{ "2025-02-29", -1, 0 },
	{ "2100-02-29", -1, 0 },
	{ "1969-12-31", -1, 0 },
	{ "1969-12-31T23:59:59Z", -1, 0 },
	{ "0000-01-01", -1, 0 },
	/* Invalid times and zones. */
	{ "2026-11-23T24:00:00Z", -1, 0 },
	{ "2026-11-23T19:60:00Z", -1, 0 },
	{ "2026-11-23T19:30:61Z", -1, 0 },
	{ "2026-11-23T19:30:00+24:00", -1, 0 },
	{ "2026-11-23T19:30:00+02:60", -1, 0 },
	{ "2026-11-23T19:30:00+2:00", -1, 0 },
	{ "2026-11-23T19:30:00+02:0", -1, 0 },
	{ "2026-11-23T19:30:00+02", -1, 0 },
	{ "2026-11-23T19:30:00+", -1, 0 },
	{ "2026-11-23T19:30:00UTC", -1, 0 },
	{ "2026-11-23T19:30:00 Z", -1, 0 },
	{ "2026-11-23T19:30:00.Z", -1, 0 },
	{ "2026-11-23T19:30:00.", -1, 0 },
	{ "2026-11-23T19:30:0", -1, 0 },
	{ "2026-11-23T19:3", -1, 0 },
	{ "2026-11-23T19", -1, 0 },
	{ "2026-11-23T", -1, 0 },
	{ "2026-11-23T1930", -1, 0 },
	/* Garbage and trailing junk. */
	{ "", -1, 0 },
	{ "garbage", -1, 0 },
	{ "2026", -1, 0 },
	{ "2026-11", -1, 0 },
	{ "2026-11-2", -1, 0 },
	{ "2026-1-23", -1, 0 },
	{ "26-11-23", -1, 0 },
	{ "2026/11/23", -1, 0 },
	{ "20261123", -1, 0 },
	{ " 2026-11-23", -1, 0 },
	{ "2026-11-23 ", -1, 0 },
	{ "2026-11-23x", -1, 0 },
	{ "2026-11-23Z", -1, 0 },
	{ "2026-11-23T19:30:00Zjunk", -1, 0 },
	{ "2026-11-23T19:30:00Z ", -1, 0 },
	{ "2026-11-23T19:30:00+02:00x", -1, 0 },
	{ "2026-11-23T19:30:00+02:00Z", -1, 0 },
	{ "2026-11-23T19:30:00.12a", -1, 0 },
	{ "2026-1a-23", -1, 0 },
	{ "-2026-11-23", -1, 0 },
};

START_TEST(test_parse)
{
	const struct parse_case *c = &parse_cases[_i];
	int64_t ms = 0x5eed;
	int rc = time_parse_iso(c->in, &ms);

	ck_assert_msg(rc == c->rc, "\"%s\": rc %d, want %d", c->in, rc, c->rc);
	if (c->rc == 0)
		ck_assert_msg(ms == c->ms, "\"%s\": %lld, want %lld", c->in,
		    (long long)ms, (long long)c->ms);
	else
		ck_assert_msg(ms == 0x5eed, "\"%s\": output written on error", c->in);
}
END_TEST

/* Every prefix in a buffer of exactly its size (ASan catches over-reads);
 * for one full timestamp the accepted prefixes are known. */
START_TEST(test_parse_prefixes)
{
	static const char full[] = "2026-11-23T19:30:00.123+02:00";
	static const size_t ok_lens[] = { 10, 16, 19, 21, 22, 23, 29 };

	for (int i = 0; i < N(parse_cases); i++) {
		size_t len = strlen(parse_cases[i].in);
		for (size_t k = 0; k <= len; k++) {
			char *p = xstrndup(parse_cases[i].in, k);
			int64_t ms;
			(void)time_parse_iso(p, &ms);
			free(p);
		}
	}
	for (size_t k = 0; k <= strlen(full); k++) {
		char *p = xstrndup(full, k);
		int64_t ms;
		bool want = false;
		for (size_t j = 0; j < GENT_ARRAY_LEN(ok_lens); j++)
			want |= ok_lens[j] == k;
		ck_assert_msg((time_parse_iso(p, &ms) == 0) == want,
		    "prefix \"%s\" %s", p, want ? "rejected" : "accepted");
		free(p);
	}
}
END_TEST

static const struct format_case {
	int64_t		 ms;
	const char	*out;
} format_cases[] = {
	{ 0, "1970-01-01T00:00:00Z" },
	{ 999, "1970-01-01T00:00:00Z" },
	{ 1000, "1970-01-01T00:00:01Z" },
	{ T_EVENT, "2026-11-23T19:30:00Z" },
	{ T_EVENT + 999, "2026-11-23T19:30:00Z" },
	{ 1709164800000LL, "2024-02-29T00:00:00Z" },
	{ 2147483648000LL, "2038-01-19T03:14:08Z" },
	{ 4102444799000LL, "2099-12-31T23:59:59Z" },
};

START_TEST(test_format)
{
	const struct format_case *c = &format_cases[_i];
	char out[TIMEFMT_ISO_LEN];

	time_format_iso(c->ms, out);
	ck_assert_str_eq(out, c->out);
}
END_TEST

/* format(parse(s)) == s for canonical strings; parse(format(ms)) == ms
 * rounded down to the second. */
START_TEST(test_round_trip)
{
	static const char *const canon[] = {
		"1970-01-01T00:00:00Z", "2026-11-23T19:30:00Z",
		"2024-02-29T12:00:01Z", "2000-12-31T23:59:59Z",
		"2038-01-19T03:14:08Z", "2099-01-01T00:00:00Z",
	};
	char out[TIMEFMT_ISO_LEN];
	int64_t ms, back;

	for (int i = 0; i < N(canon); i++) {
		ck_assert_int_eq(time_parse_iso(canon[i], &ms), 0);
		time_format_iso(ms, out);
		ck_assert_str_eq(out, canon[i]);
	}
	/* Every day across four years, at a moving time of day. */
	for (int64_t day = 19000; day < 19000 + 4 * 366; day++) {
		ms = day * 86400000LL + (day % 86400) * 1000 + day % 1000;
		time_format_iso(ms, out);
		ck_assert_int_eq(time_parse_iso(out, &back), 0);
		ck_assert_msg(back == ms - ms % 1000, "%s: %lld != %lld", out,
		    (long long)back, (long long)(ms - ms % 1000));
	}
	/* The clock is formatted and parsed back to the same second. */
	ms = time_now_ms();
	ck_assert_int_gt(ms, T_2026_11_23 - 5 * 365 * 24 * HOUR);
	time_format_iso(ms, out);
	ck_assert_int_eq(time_parse_iso(out, &back), 0);
	ck_assert_int_eq(back, ms - ms % 1000);
}
END_TEST

static Suite *
timefmt_suite(void)
{
	Suite *s = suite_create("timefmt");
	TCase *tc;

	tc = tcase_create("parse");
	tcase_add_loop_test(tc, test_parse, 0, N(parse_cases));
	tcase_add_test(tc, test_parse_prefixes);
	suite_add_tcase(s, tc);

	tc = tcase_create("format");
	tcase_add_loop_test(tc, test_format, 0, N(format_cases));
	tcase_add_test(tc, test_round_trip);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(timefmt_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

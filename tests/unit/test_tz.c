/*
 * test_tz.c - src/core/tz.c: TZif parsing, POSIX TZ footers, offsets,
 * local-to-UTC conversion, ISO formatting and the zone cache.
 *
 * Expected values come from Python's zoneinfo, which reads the same
 * /usr/share/zoneinfo (tzdata 2025b when generated), e.g.
 *
 *   python3 -c 'from zoneinfo import ZoneInfo; from datetime import *
 *   d = datetime.fromtimestamp(1711846800, ZoneInfo("Europe/Paris"))
 *   print(d.utcoffset(), bool(d.dst()), d.tzname())'
 *
 * with transition instants found by bisecting utcoffset(), and local
 * times converted with datetime(..., tzinfo=z, fold=0).timestamp()
 * (a gap when fromtimestamp() does not give the wall time back, an
 * overlap when fold=1 gives another instant). Every value was also
 * checked against glibc's localtime_r(). The POSIX footer table is
 * glibc's: CPython 3.11 counts the zero-based "n" day form from 1, moves
 * J59 to February 29 in leap years and keeps DST past a "J1/0" end that
 * follows a "J365/0" start; glibc follows POSIX in all three.
 *
 * Tables of instants use ISO strings read with time_parse_iso(); naive
 * local times are read the same way, as if they were UTC.
 */
#include <check.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gent/timefmt.h"
#include "gent/tz.h"
#include "gent/util.h"

#define N(a)		((int)GENT_ARRAY_LEN(a))
#define TZDATA_VERSION	"2025b"		/* all_zones[] was generated from it */
#define ZONEINFO	"/usr/share/zoneinfo"
#define HOUR		3600
#define DAY		INT64_C(86400)

/* ck_assert() records every passing check through a file; loops that run
 * millions of checks only call into Check when one fails. */
#define CHECK(cond, ...) \
	do { \
		if (!(cond)) \
			ck_abort_msg(__VA_ARGS__); \
	} while (0)

/* Seconds since the epoch of an ISO string from a table. */
static int64_t
iso(const char *s)
{
	int64_t ms;

	ck_assert_msg(time_parse_iso(s, &ms) == 0, "bad table time %s", s);
	return ms / 1000;
}

static struct tz *
load(const char *name)
{
	struct tz *tz = NULL;
	const char *error = NULL;

	ck_assert_msg(tz_load(name, &tz, &error) == 0, "%s: %s", name, error);
	ck_assert_ptr_nonnull(tz);
	return tz;
}

/* The whole file, bounded; NULL when it cannot be read. */
static uint8_t *
slurp(const char *path, size_t *len_r)
{
	FILE *f = fopen(path, "rb");
	uint8_t *data;

	if (f == NULL)
		return NULL;
	data = xmalloc(TZ_FILE_MAX);
	*len_r = fread(data, 1, TZ_FILE_MAX, f);
	fclose(f);
	return data;
}

/* ---- Offsets of real zones ---- */

static const struct offset_case {
	const char	*zone;
	const char	*at;	/* UTC */
	int32_t		 utoff;
	bool		 isdst;
	const char	*abbr;
} offset_cases[] = {
	{ "UTC", "2024-01-15T12:00:00Z", 0, false, "UTC" },
	{ "UTC", "2024-07-15T12:00:00Z", 0, false, "UTC" },
	{ "UTC", "2026-01-15T12:00:00Z", 0, false, "UTC" },
	{ "UTC", "2026-07-15T12:00:00Z", 0, false, "UTC" },
	{ "UTC", "2040-01-15T12:00:00Z", 0, false, "UTC" },
	{ "UTC", "2040-07-15T12:00:00Z", 0, false, "UTC" },
	{ "Europe/Paris", "2024-01-15T12:00:00Z", 3600, false, "CET" },
	{ "Europe/Paris", "2024-03-31T00:59:59Z", 3600, false, "CET" },
	{ "Europe/Paris", "2024-03-31T01:00:00Z", 7200, true, "CEST" },
	{ "Europe/Paris", "2024-07-15T12:00:00Z", 7200, true, "CEST" },
	{ "Europe/Paris", "2024-10-27T00:59:59Z", 7200, true, "CEST" },
	{ "Europe/Paris", "2024-10-27T01:00:00Z", 3600, false, "CET" },
	{ "Europe/Paris", "2026-01-15T12:00:00Z", 3600, false, "CET" },
	{ "Europe/Paris", "2026-03-29T00:59:59Z", 3600, false, "CET" },
	{ "Europe/Paris", "2026-03-29T01:00:00Z", 7200, true, "CEST" },
	{ "Europe/Paris", "2026-07-15T12:00:00Z", 7200, true, "CEST" },
	{ "Europe/Paris", "2026-10-25T00:59:59Z", 7200, true, "CEST" },
	{ "Europe/Paris", "2026-10-25T01:00:00Z", 3600, false, "CET" },
	{ "Europe/Paris", "2040-01-15T12:00:00Z", 3600, false, "CET" },
	{ "Europe/Paris", "2040-03-25T00:59:59Z", 3600, false, "CET" },
	{ "Europe/Paris", "2040-03-25T01:00:00Z", 7200, true, "CEST" },
	{ "Europe/Paris", "2040-07-15T12:00:00Z", 7200, true, "CEST" },
	{ "Europe/Paris", "2040-10-28T00:59:59Z", 7200, true, "CEST" },
	{ "Europe/Paris", "2040-10-28T01:00:00Z", 3600, false, "CET" },
	{ "America/New_York", "2024-01-15T12:00:00Z", -18000, false, "EST" },
	{ "America/New_York", "2024-03-10T06:59:59Z", -18000, false, "EST" },
	{ "America/New_York", "2024-03-10T07:00:00Z", -14400, true, "EDT" },
	{ "America/New_York", "2024-07-15T12:00:00Z", -14400, true, "EDT" },
	{ "America/New_York", "2024-11-03T05:59:59Z", -14400, true, "EDT" },
	{ "America/New_York", "2024-11-03T06:00:00Z", -18000, false, "EST" },
	{ "America/New_York", "2026-01-15T12:00:00Z", -18000, false, "EST" },
	{ "America/New_York", "2026-03-08T06:59:59Z", -18000, false, "EST" },
	{ "America/New_York", "2026-03-08T07:00:00Z", -14400, true, "EDT" },
	{ "America/New_York", "2026-07-15T12:00:00Z", -14400, true, "EDT" },
	{ "America/New_York", "2026-11-01T05:59:59Z", -14400, true, "EDT" },
	{ "America/New_York", "2026-11-01T06:00:00Z", -18000, false, "EST" },
	{ "America/New_York", "2040-01-15T12:00:00Z", -18000, false, "EST" },
	{ "America/New_York", "2040-03-11T06:59:59Z", -18000, false, "EST" },
	{ "America/New_York", "2040-03-11T07:00:00Z", -14400, true, "EDT" },
	{ "America/New_York", "2040-07-15T12:00:00Z", -14400, true, "EDT" },
	{ "America/New_York", "2040-11-04T05:59:59Z", -14400, true, "EDT" },
	{ "America/New_York", "2040-11-04T06:00:00Z", -18000, false, "EST" },
	{ "Asia/Kolkata", "2024-01-15T12:00:00Z", 19800, false, "IST" },
	{ "Asia/Kolkata", "2024-07-15T12:00:00Z", 19800, false, "IST" },
	{ "Asia/Kolkata", "2026-01-15T12:00:00Z", 19800, false, "IST" },
	{ "Asia/Kolkata", "2026-07-15T12:00:00Z", 19800, false, "IST" },
	{ "Asia/Kolkata", "2040-01-15T12:00:00Z", 19800, false, "IST" },
	{ "Asia/Kolkata", "2040-07-15T12:00:00Z", 19800, false, "IST" },
	{ "Australia/Lord_Howe", "2024-01-15T12:00:00Z", 39600, true, "+11" },
	{ "Australia/Lord_Howe", "2024-04-06T14:59:59Z", 39600, true, "+11" },
	{ "Australia/Lord_Howe", "2024-04-06T15:00:00Z",
	    37800, false, "+1030" },
	{ "Australia/Lord_Howe", "2024-07-15T12:00:00Z",
	    37800, false, "+1030" },
	{ "Australia/Lord_Howe", "2024-10-05T15:29:59Z",
	    37800, false, "+1030" },
	{ "Australia/Lord_Howe", "2024-10-05T15:30:00Z", 39600, true, "+11" },
	{ "Australia/Lord_Howe", "2026-01-15T12:00:00Z", 39600, true, "+11" },
	{ "Australia/Lord_Howe", "2026-04-04T14:59:59Z", 39600, true, "+11" },
	{ "Australia/Lord_Howe", "2026-04-04T15:00:00Z",
	    37800, false, "+1030" },
	{ "Australia/Lord_Howe", "2026-07-15T12:00:00Z",
	    37800, false, "+1030" },
	{ "Australia/Lord_Howe", "2026-10-03T15:29:59Z",
	    37800, false, "+1030" },
	{ "Australia/Lord_Howe", "2026-10-03T15:30:00Z", 39600, true, "+11" },
	{ "Australia/Lord_Howe", "2040-01-15T12:00:00Z", 39600, true, "+11" },
	{ "Australia/Lord_Howe", "2040-03-31T14:59:59Z", 39600, true, "+11" },
	{ "Australia/Lord_Howe", "2040-03-31T15:00:00Z",
	    37800, false, "+1030" },
	{ "Australia/Lord_Howe", "2040-07-15T12:00:00Z",
	    37800, false, "+1030" },
	{ "Australia/Lord_Howe", "2040-10-06T15:29:59Z",
	    37800, false, "+1030" },
	{ "Australia/Lord_Howe", "2040-10-06T15:30:00Z", 39600, true, "+11" },
	{ "America/Sao_Paulo", "2018-01-15T12:00:00Z", -7200, true, "-02" },
	{ "America/Sao_Paulo", "2018-02-18T01:59:59Z", -7200, true, "-02" },
	{ "America/Sao_Paulo", "2018-02-18T02:00:00Z", -10800, false, "-03" },
	{ "America/Sao_Paulo", "2018-07-15T12:00:00Z", -10800, false, "-03" },
	{ "America/Sao_Paulo", "2018-11-04T02:59:59Z", -10800, false, "-03" },
	{ "America/Sao_Paulo", "2018-11-04T03:00:00Z", -7200, true, "-02" },
	{ "America/Sao_Paulo", "2019-01-15T12:00:00Z", -7200, true, "-02" },
	{ "America/Sao_Paulo", "2019-02-17T01:59:59Z", -7200, true, "-02" },
	{ "America/Sao_Paulo", "2019-02-17T02:00:00Z", -10800, false, "-03" },
	{ "America/Sao_Paulo", "2019-07-15T12:00:00Z", -10800, false, "-03" },
	{ "America/Sao_Paulo", "2024-01-15T12:00:00Z", -10800, false, "-03" },
	{ "America/Sao_Paulo", "2024-07-15T12:00:00Z", -10800, false, "-03" },
	{ "America/Sao_Paulo", "2026-01-15T12:00:00Z", -10800, false, "-03" },
	{ "America/Sao_Paulo", "2026-07-15T12:00:00Z", -10800, false, "-03" },
	{ "America/Sao_Paulo", "2040-01-15T12:00:00Z", -10800, false, "-03" },
	{ "America/Sao_Paulo", "2040-07-15T12:00:00Z", -10800, false, "-03" },
	{ "Pacific/Apia", "2011-01-15T12:00:00Z", -36000, true, "-10" },
	{ "Pacific/Apia", "2011-04-02T13:59:59Z", -36000, true, "-10" },
	{ "Pacific/Apia", "2011-04-02T14:00:00Z", -39600, false, "-11" },
	{ "Pacific/Apia", "2011-07-15T12:00:00Z", -39600, false, "-11" },
	{ "Pacific/Apia", "2011-09-24T13:59:59Z", -39600, false, "-11" },
	{ "Pacific/Apia", "2011-09-24T14:00:00Z", -36000, true, "-10" },
	{ "Pacific/Apia", "2011-12-30T09:59:59Z", -36000, true, "-10" },
	{ "Pacific/Apia", "2011-12-30T10:00:00Z", 50400, true, "+14" },
	{ "Pacific/Apia", "2021-01-15T12:00:00Z", 50400, true, "+14" },
	{ "Pacific/Apia", "2021-04-03T13:59:59Z", 50400, true, "+14" },
	{ "Pacific/Apia", "2021-04-03T14:00:00Z", 46800, false, "+13" },
	{ "Pacific/Apia", "2021-07-15T12:00:00Z", 46800, false, "+13" },
	{ "Pacific/Apia", "2024-01-15T12:00:00Z", 46800, false, "+13" },
	{ "Pacific/Apia", "2024-07-15T12:00:00Z", 46800, false, "+13" },
	{ "Pacific/Apia", "2026-01-15T12:00:00Z", 46800, false, "+13" },
	{ "Pacific/Apia", "2026-07-15T12:00:00Z", 46800, false, "+13" },
	{ "Pacific/Apia", "2040-01-15T12:00:00Z", 46800, false, "+13" },
	{ "Pacific/Apia", "2040-07-15T12:00:00Z", 46800, false, "+13" },
	{ "Europe/London", "2024-01-15T12:00:00Z", 0, false, "GMT" },
	{ "Europe/London", "2024-03-31T00:59:59Z", 0, false, "GMT" },
	{ "Europe/London", "2024-03-31T01:00:00Z", 3600, true, "BST" },
	{ "Europe/London", "2024-07-15T12:00:00Z", 3600, true, "BST" },
	{ "Europe/London", "2024-10-27T00:59:59Z", 3600, true, "BST" },
	{ "Europe/London", "2024-10-27T01:00:00Z", 0, false, "GMT" },
	{ "Europe/London", "2026-01-15T12:00:00Z", 0, false, "GMT" },
	{ "Europe/London", "2026-03-29T00:59:59Z", 0, false, "GMT" },
	{ "Europe/London", "2026-03-29T01:00:00Z", 3600, true, "BST" },
	{ "Europe/London", "2026-07-15T12:00:00Z", 3600, true, "BST" },
	{ "Europe/London", "2026-10-25T00:59:59Z", 3600, true, "BST" },
	{ "Europe/London", "2026-10-25T01:00:00Z", 0, false, "GMT" },
	{ "Europe/London", "2040-01-15T12:00:00Z", 0, false, "GMT" },
	{ "Europe/London", "2040-03-25T00:59:59Z", 0, false, "GMT" },
	{ "Europe/London", "2040-03-25T01:00:00Z", 3600, true, "BST" },
	{ "Europe/London", "2040-07-15T12:00:00Z", 3600, true, "BST" },
	{ "Europe/London", "2040-10-28T00:59:59Z", 3600, true, "BST" },
	{ "Europe/London", "2040-10-28T01:00:00Z", 0, false, "GMT" },
};

START_TEST(test_offsets)
{
	const struct offset_case *c = &offset_cases[_i];
	struct tz *tz = load(c->zone);
	struct tz_info info;

	tz_info_at(tz, iso(c->at), &info);
	ck_assert_msg(info.utoff == c->utoff && info.isdst == c->isdst,
	    "%s at %s: %d/%d, want %d/%d", c->zone, c->at, info.utoff,
	    info.isdst, c->utoff, c->isdst);
	ck_assert_str_eq(info.abbr, c->abbr);
	ck_assert_int_eq(tz_offset_at(tz, iso(c->at)), c->utoff);
	tz_free(&tz);
	ck_assert_ptr_null(tz);
}
END_TEST

/* ---- Wall time to UTC: around every transition in offset_cases ---- */

static const struct local_case {
	const char	*zone;
	const char	*local;	/* naive wall time */
	const char	*utc;
	int		 kind;
} local_cases[] = {
	{ "UTC", "2024-07-15T12:00:00", "2024-07-15T12:00:00Z",
	    TZ_LOCAL_UNIQUE },
	{ "UTC", "2026-07-15T12:00:00", "2026-07-15T12:00:00Z",
	    TZ_LOCAL_UNIQUE },
	{ "UTC", "2040-07-15T12:00:00", "2040-07-15T12:00:00Z",
	    TZ_LOCAL_UNIQUE },
	{ "Europe/Paris", "2024-03-31T01:59:59", "2024-03-31T00:59:59Z",
	    TZ_LOCAL_UNIQUE },
	{ "Europe/Paris", "2024-03-31T02:00:00", "2024-03-31T01:00:00Z",
	    TZ_LOCAL_GAP },
	{ "Europe/Paris", "2024-03-31T02:30:00", "2024-03-31T01:30:00Z",
	    TZ_LOCAL_GAP },
	{ "Europe/Paris", "2024-03-31T02:59:59", "2024-03-31T01:59:59Z",
	    TZ_LOCAL_GAP },
	{ "Europe/Paris", "2024-03-31T03:00:00", "2024-03-31T01:00:00Z",
	    TZ_LOCAL_UNIQUE },
	{ "Europe/Paris", "2024-10-27T01:59:59", "2024-10-26T23:59:59Z",
	    TZ_LOCAL_UNIQUE },
	{ "Europe/Paris", "2024-10-27T02:00:00", "2024-10-27T00:00:00Z",
	    TZ_LOCAL_OVERLAP },
	{ "Europe/Paris", "2024-10-27T02:30:00", "2024-10-27T00:30:00Z",
	    TZ_LOCAL_OVERLAP },
	{ "Europe/Paris", "2024-10-27T02:59:59", "2024-10-27T00:59:59Z",
	    TZ_LOCAL_OVERLAP },
	{ "Europe/Paris", "2024-10-27T03:00:00", "2024-10-27T02:00:00Z",
	    TZ_LOCAL_UNIQUE },
	{ "Europe/Paris", "2026-03-29T01:59:59", "2026-03-29T00:59:59Z",
	    TZ_LOCAL_UNIQUE },
	{ "Europe/Paris", "2026-03-29T02:00:00", "2026-03-29T01:00:00Z",
	    TZ_LOCAL_GAP },
	{ "Europe/Paris", "2026-03-29T02:30:00", "2026-03-29T01:30:00Z",
	    TZ_LOCAL_GAP },
	{ "Europe/Paris", "2026-03-29T02:59:59", "2026-03-29T01:59:59Z",
	    TZ_LOCAL_GAP },
	{ "Europe/Paris", "2026-03-29T03:00:00", "2026-03-29T01:00:00Z",
	    TZ_LOCAL_UNIQUE },
	{ "Europe/Paris", "2026-10-25T01:59:59", "2026-10-24T23:59:59Z",
	    TZ_LOCAL_UNIQUE },
	{ "Europe/Paris", "2026-10-25T02:00:00", "2026-10-25T00:00:00Z",
	    TZ_LOCAL_OVERLAP },
	{ "Europe/Paris", "2026-10-25T02:30:00", "2026-10-25T00:30:00Z",
	    TZ_LOCAL_OVERLAP },
	{ "Europe/Paris", "2026-10-25T02:59:59", "2026-10-25T00:59:59Z",
	    TZ_LOCAL_OVERLAP },
	{ "Europe/Paris", "2026-10-25T03:00:00", "2026-10-25T02:00:00Z",
	    TZ_LOCAL_UNIQUE },
	{ "Europe/Paris", "2040-03-25T01:59:59", "2040-03-25T00:59:59Z",
	    TZ_LOCAL_UNIQUE },
	{ "Europe/Paris", "2040-03-25T02:00:00", "2040-03-25T01:00:00Z",
	    TZ_LOCAL_GAP },
	{ "Europe/Paris", "2040-03-25T02:30:00", "2040-03-25T01:30:00Z",
	    TZ_LOCAL_GAP },
	{ "Europe/Paris", "2040-03-25T02:59:59", "2040-03-25T01:59:59Z",
	    TZ_LOCAL_GAP },
	{ "Europe/Paris", "2040-03-25T03:00:00", "2040-03-25T01:00:00Z",
	    TZ_LOCAL_UNIQUE },
	{ "Europe/Paris", "2040-10-28T01:59:59", "2040-10-27T23:59:59Z",
	    TZ_LOCAL_UNIQUE },
	{ "Europe/Paris", "2040-10-28T02:00:00", "2040-10-28T00:00:00Z",
	    TZ_LOCAL_OVERLAP },
	{ "Europe/Paris", "2040-10-28T02:30:00", "2040-10-28T00:30:00Z",
	    TZ_LOCAL_OVERLAP },
	{ "Europe/Paris", "2040-10-28T02:59:59", "2040-10-28T00:59:59Z",
	    TZ_LOCAL_OVERLAP },
	{ "Europe/Paris", "2040-10-28T03:00:00", "2040-10-28T02:00:00Z",
	    TZ_LOCAL_UNIQUE },
	{ "America/New_York", "2024-03-10T01:59:59", "2024-03-10T06:59:59Z",
	    TZ_LOCAL_UNIQUE },
	{ "America/New_York", "2024-03-10T02:00:00", "2024-03-10T07:00:00Z",
	    TZ_LOCAL_GAP },
	{ "America/New_York", "2024-03-10T02:30:00", "2024-03-10T07:30:00Z",
	    TZ_LOCAL_GAP },
	{ "America/New_York", "2024-03-10T02:59:59", "2024-03-10T07:59:59Z",
	    TZ_LOCAL_GAP },
	{ "America/New_York", "2024-03-10T03:00:00", "2024-03-10T07:00:00Z",
	    TZ_LOCAL_UNIQUE },
	{ "America/New_York", "2024-11-03T00:59:59", "2024-11-03T04:59:59Z",
	    TZ_LOCAL_UNIQUE },
	{ "America/New_York", "2024-11-03T01:00:00", "2024-11-03T05:00:00Z",
	    TZ_LOCAL_OVERLAP },
	{ "America/New_York", "2024-11-03T01:30:00", "2024-11-03T05:30:00Z",
	    TZ_LOCAL_OVERLAP },
	{ "America/New_York", "2024-11-03T01:59:59", "2024-11-03T05:59:59Z",
	    TZ_LOCAL_OVERLAP },
	{ "America/New_York", "2024-11-03T02:00:00", "2024-11-03T07:00:00Z",
	    TZ_LOCAL_UNIQUE },
	{ "America/New_York", "2026-03-08T01:59:59", "2026-03-08T06:59:59Z",
	    TZ_LOCAL_UNIQUE },
	{ "America/New_York", "2026-03-08T02:00:00", "2026-03-08T07:00:00Z",
	    TZ_LOCAL_GAP },
	{ "America/New_York", "2026-03-08T02:30:00", "2026-03-08T07:30:00Z",
	    TZ_LOCAL_GAP },
	{ "America/New_York", "2026-03-08T02:59:59", "2026-03-08T07:59:59Z",
	    TZ_LOCAL_GAP },
	{ "America/New_York", "2026-03-08T03:00:00", "2026-03-08T07:00:00Z",
	    TZ_LOCAL_UNIQUE },
	{ "America/New_York", "2026-11-01T00:59:59", "2026-11-01T04:59:59Z",
	    TZ_LOCAL_UNIQUE },
	{ "America/New_York", "2026-11-01T01:00:00", "2026-11-01T05:00:00Z",
	    TZ_LOCAL_OVERLAP },
	{ "America/New_York", "2026-11-01T01:30:00", "2026-11-01T05:30:00Z",
	    TZ_LOCAL_OVERLAP },
	{ "America/New_York", "2026-11-01T01:59:59", "2026-11-01T05:59:59Z",
	    TZ_LOCAL_OVERLAP },
	{ "America/New_York", "2026-11-01T02:00:00", "2026-11-01T07:00:00Z",
	    TZ_LOCAL_UNIQUE },
	{ "America/New_York", "2040-03-11T01:59:59", "2040-03-11T06:59:59Z",
	    TZ_LOCAL_UNIQUE },
	{ "America/New_York", "2040-03-11T02:00:00", "2040-03-11T07:00:00Z",
	    TZ_LOCAL_GAP },
	{ "America/New_York", "2040-03-11T02:30:00", "2040-03-11T07:30:00Z",
	    TZ_LOCAL_GAP },
	{ "America/New_York", "2040-03-11T02:59:59", "2040-03-11T07:59:59Z",
	    TZ_LOCAL_GAP },
	{ "America/New_York", "2040-03-11T03:00:00", "2040-03-11T07:00:00Z",
	    TZ_LOCAL_UNIQUE },
	{ "America/New_York", "2040-11-04T00:59:59", "2040-11-04T04:59:59Z",
	    TZ_LOCAL_UNIQUE },
	{ "America/New_York", "2040-11-04T01:00:00", "2040-11-04T05:00:00Z",
	    TZ_LOCAL_OVERLAP },
	{ "America/New_York", "2040-11-04T01:30:00", "2040-11-04T05:30:00Z",
	    TZ_LOCAL_OVERLAP },
	{ "America/New_York", "2040-11-04T01:59:59", "2040-11-04T05:59:59Z",
	    TZ_LOCAL_OVERLAP },
	{ "America/New_York", "2040-11-04T02:00:00", "2040-11-04T07:00:00Z",
	    TZ_LOCAL_UNIQUE },
	{ "Asia/Kolkata", "2024-07-15T17:30:00", "2024-07-15T12:00:00Z",
	    TZ_LOCAL_UNIQUE },
	{ "Asia/Kolkata", "2026-07-15T17:30:00", "2026-07-15T12:00:00Z",
	    TZ_LOCAL_UNIQUE },
	{ "Asia/Kolkata", "2040-07-15T17:30:00", "2040-07-15T12:00:00Z",
	    TZ_LOCAL_UNIQUE },
	{ "Australia/Lord_Howe", "2024-04-07T01:29:59", "2024-04-06T14:29:59Z",
	    TZ_LOCAL_UNIQUE },
	{ "Australia/Lord_Howe", "2024-04-07T01:30:00", "2024-04-06T14:30:00Z",
	    TZ_LOCAL_OVERLAP },
	{ "Australia/Lord_Howe", "2024-04-07T01:45:00", "2024-04-06T14:45:00Z",
	    TZ_LOCAL_OVERLAP },
	{ "Australia/Lord_Howe", "2024-04-07T01:59:59", "2024-04-06T14:59:59Z",
	    TZ_LOCAL_OVERLAP },
	{ "Australia/Lord_Howe", "2024-04-07T02:00:00", "2024-04-06T15:30:00Z",
	    TZ_LOCAL_UNIQUE },
	{ "Australia/Lord_Howe", "2024-10-06T01:59:59", "2024-10-05T15:29:59Z",
	    TZ_LOCAL_UNIQUE },
	{ "Australia/Lord_Howe", "2024-10-06T02:00:00", "2024-10-05T15:30:00Z",
	    TZ_LOCAL_GAP },
	{ "Australia/Lord_Howe", "2024-10-06T02:15:00", "2024-10-05T15:45:00Z",
	    TZ_LOCAL_GAP },
	{ "Australia/Lord_Howe", "2024-10-06T02:29:59", "2024-10-05T15:59:59Z",
	    TZ_LOCAL_GAP },
	{ "Australia/Lord_Howe", "2024-10-06T02:30:00", "2024-10-05T15:30:00Z",
	    TZ_LOCAL_UNIQUE },
	{ "Australia/Lord_Howe", "2026-04-05T01:29:59", "2026-04-04T14:29:59Z",
	    TZ_LOCAL_UNIQUE },
	{ "Australia/Lord_Howe", "2026-04-05T01:30:00", "2026-04-04T14:30:00Z",
	    TZ_LOCAL_OVERLAP },
	{ "Australia/Lord_Howe", "2026-04-05T01:45:00", "2026-04-04T14:45:00Z",
	    TZ_LOCAL_OVERLAP },
	{ "Australia/Lord_Howe", "2026-04-05T01:59:59", "2026-04-04T14:59:59Z",
	    TZ_LOCAL_OVERLAP },
	{ "Australia/Lord_Howe", "2026-04-05T02:00:00", "2026-04-04T15:30:00Z",
	    TZ_LOCAL_UNIQUE },
	{ "Australia/Lord_Howe", "2026-10-04T01:59:59", "2026-10-03T15:29:59Z",
	    TZ_LOCAL_UNIQUE },
	{ "Australia/Lord_Howe", "2026-10-04T02:00:00", "2026-10-03T15:30:00Z",
	    TZ_LOCAL_GAP },
	{ "Australia/Lord_Howe", "2026-10-04T02:15:00", "2026-10-03T15:45:00Z",
	    TZ_LOCAL_GAP },
	{ "Australia/Lord_Howe", "2026-10-04T02:29:59", "2026-10-03T15:59:59Z",
	    TZ_LOCAL_GAP },
	{ "Australia/Lord_Howe", "2026-10-04T02:30:00", "2026-10-03T15:30:00Z",
	    TZ_LOCAL_UNIQUE },
	{ "Australia/Lord_Howe", "2040-04-01T01:29:59", "2040-03-31T14:29:59Z",
	    TZ_LOCAL_UNIQUE },
	{ "Australia/Lord_Howe", "2040-04-01T01:30:00", "2040-03-31T14:30:00Z",
	    TZ_LOCAL_OVERLAP },
	{ "Australia/Lord_Howe", "2040-04-01T01:45:00", "2040-03-31T14:45:00Z",
	    TZ_LOCAL_OVERLAP },
	{ "Australia/Lord_Howe", "2040-04-01T01:59:59", "2040-03-31T14:59:59Z",
	    TZ_LOCAL_OVERLAP },
	{ "Australia/Lord_Howe", "2040-04-01T02:00:00", "2040-03-31T15:30:00Z",
	    TZ_LOCAL_UNIQUE },
	{ "Australia/Lord_Howe", "2040-10-07T01:59:59", "2040-10-06T15:29:59Z",
	    TZ_LOCAL_UNIQUE },
	{ "Australia/Lord_Howe", "2040-10-07T02:00:00", "2040-10-06T15:30:00Z",
	    TZ_LOCAL_GAP },
	{ "Australia/Lord_Howe", "2040-10-07T02:15:00", "2040-10-06T15:45:00Z",
	    TZ_LOCAL_GAP },
	{ "Australia/Lord_Howe", "2040-10-07T02:29:59", "2040-10-06T15:59:59Z",
	    TZ_LOCAL_GAP },
	{ "Australia/Lord_Howe", "2040-10-07T02:30:00", "2040-10-06T15:30:00Z",
	    TZ_LOCAL_UNIQUE },
	{ "America/Sao_Paulo", "2018-02-17T22:59:59", "2018-02-18T00:59:59Z",
	    TZ_LOCAL_UNIQUE },
	{ "America/Sao_Paulo", "2018-02-17T23:00:00", "2018-02-18T01:00:00Z",
	    TZ_LOCAL_OVERLAP },
	{ "America/Sao_Paulo", "2018-02-17T23:30:00", "2018-02-18T01:30:00Z",
	    TZ_LOCAL_OVERLAP },
	{ "America/Sao_Paulo", "2018-02-17T23:59:59", "2018-02-18T01:59:59Z",
	    TZ_LOCAL_OVERLAP },
	{ "America/Sao_Paulo", "2018-02-18T00:00:00", "2018-02-18T03:00:00Z",
	    TZ_LOCAL_UNIQUE },
	{ "America/Sao_Paulo", "2018-11-03T23:59:59", "2018-11-04T02:59:59Z",
	    TZ_LOCAL_UNIQUE },
	{ "America/Sao_Paulo", "2018-11-04T00:00:00", "2018-11-04T03:00:00Z",
	    TZ_LOCAL_GAP },
	{ "America/Sao_Paulo", "2018-11-04T00:30:00", "2018-11-04T03:30:00Z",
	    TZ_LOCAL_GAP },
	{ "America/Sao_Paulo", "2018-11-04T00:59:59", "2018-11-04T03:59:59Z",
	    TZ_LOCAL_GAP },
	{ "America/Sao_Paulo", "2018-11-04T01:00:00", "2018-11-04T03:00:00Z",
	    TZ_LOCAL_UNIQUE },
	{ "America/Sao_Paulo", "2019-02-16T22:59:59", "2019-02-17T00:59:59Z",
	    TZ_LOCAL_UNIQUE },
	{ "America/Sao_Paulo", "2019-02-16T23:00:00", "2019-02-17T01:00:00Z",
	    TZ_LOCAL_OVERLAP },
	{ "America/Sao_Paulo", "2019-02-16T23:30:00", "2019-02-17T01:30:00Z",
	    TZ_LOCAL_OVERLAP },
	{ "America/Sao_Paulo", "2019-02-16T23:59:59", "2019-02-17T01:59:59Z",
	    TZ_LOCAL_OVERLAP },
	{ "America/Sao_Paulo", "2019-02-17T00:00:00", "2019-02-17T03:00:00Z",
	    TZ_LOCAL_UNIQUE },
	{ "America/Sao_Paulo", "2024-07-15T09:00:00", "2024-07-15T12:00:00Z",
	    TZ_LOCAL_UNIQUE },
	{ "America/Sao_Paulo", "2026-07-15T09:00:00", "2026-07-15T12:00:00Z",
	    TZ_LOCAL_UNIQUE },
	{ "America/Sao_Paulo", "2040-07-15T09:00:00", "2040-07-15T12:00:00Z",
	    TZ_LOCAL_UNIQUE },
	{ "Pacific/Apia", "2011-04-02T02:59:59", "2011-04-02T12:59:59Z",
	    TZ_LOCAL_UNIQUE },
	{ "Pacific/Apia", "2011-04-02T03:00:00", "2011-04-02T13:00:00Z",
	    TZ_LOCAL_OVERLAP },
	{ "Pacific/Apia", "2011-04-02T03:30:00", "2011-04-02T13:30:00Z",
	    TZ_LOCAL_OVERLAP },
	{ "Pacific/Apia", "2011-04-02T03:59:59", "2011-04-02T13:59:59Z",
	    TZ_LOCAL_OVERLAP },
	{ "Pacific/Apia", "2011-04-02T04:00:00", "2011-04-02T15:00:00Z",
	    TZ_LOCAL_UNIQUE },
	{ "Pacific/Apia", "2011-09-24T02:59:59", "2011-09-24T13:59:59Z",
	    TZ_LOCAL_UNIQUE },
	{ "Pacific/Apia", "2011-09-24T03:00:00", "2011-09-24T14:00:00Z",
	    TZ_LOCAL_GAP },
	{ "Pacific/Apia", "2011-09-24T03:30:00", "2011-09-24T14:30:00Z",
	    TZ_LOCAL_GAP },
	{ "Pacific/Apia", "2011-09-24T03:59:59", "2011-09-24T14:59:59Z",
	    TZ_LOCAL_GAP },
	{ "Pacific/Apia", "2011-09-24T04:00:00", "2011-09-24T14:00:00Z",
	    TZ_LOCAL_UNIQUE },
	{ "Pacific/Apia", "2011-12-29T23:59:59", "2011-12-30T09:59:59Z",
	    TZ_LOCAL_UNIQUE },
	{ "Pacific/Apia", "2011-12-30T00:00:00", "2011-12-30T10:00:00Z",
	    TZ_LOCAL_GAP },
	{ "Pacific/Apia", "2011-12-30T12:00:00", "2011-12-30T22:00:00Z",
	    TZ_LOCAL_GAP },
	{ "Pacific/Apia", "2011-12-30T23:59:59", "2011-12-31T09:59:59Z",
	    TZ_LOCAL_GAP },
	{ "Pacific/Apia", "2011-12-31T00:00:00", "2011-12-30T10:00:00Z",
	    TZ_LOCAL_UNIQUE },
	{ "Pacific/Apia", "2021-04-04T02:59:59", "2021-04-03T12:59:59Z",
	    TZ_LOCAL_UNIQUE },
	{ "Pacific/Apia", "2021-04-04T03:00:00", "2021-04-03T13:00:00Z",
	    TZ_LOCAL_OVERLAP },
	{ "Pacific/Apia", "2021-04-04T03:30:00", "2021-04-03T13:30:00Z",
	    TZ_LOCAL_OVERLAP },
	{ "Pacific/Apia", "2021-04-04T03:59:59", "2021-04-03T13:59:59Z",
	    TZ_LOCAL_OVERLAP },
	{ "Pacific/Apia", "2021-04-04T04:00:00", "2021-04-03T15:00:00Z",
	    TZ_LOCAL_UNIQUE },
	{ "Pacific/Apia", "2024-07-16T01:00:00", "2024-07-15T12:00:00Z",
	    TZ_LOCAL_UNIQUE },
	{ "Pacific/Apia", "2026-07-16T01:00:00", "2026-07-15T12:00:00Z",
	    TZ_LOCAL_UNIQUE },
	{ "Pacific/Apia", "2040-07-16T01:00:00", "2040-07-15T12:00:00Z",
	    TZ_LOCAL_UNIQUE },
	{ "Europe/London", "2024-03-31T00:59:59", "2024-03-31T00:59:59Z",
	    TZ_LOCAL_UNIQUE },
	{ "Europe/London", "2024-03-31T01:00:00", "2024-03-31T01:00:00Z",
	    TZ_LOCAL_GAP },
	{ "Europe/London", "2024-03-31T01:30:00", "2024-03-31T01:30:00Z",
	    TZ_LOCAL_GAP },
	{ "Europe/London", "2024-03-31T01:59:59", "2024-03-31T01:59:59Z",
	    TZ_LOCAL_GAP },
	{ "Europe/London", "2024-03-31T02:00:00", "2024-03-31T01:00:00Z",
	    TZ_LOCAL_UNIQUE },
	{ "Europe/London", "2024-10-27T00:59:59", "2024-10-26T23:59:59Z",
	    TZ_LOCAL_UNIQUE },
	{ "Europe/London", "2024-10-27T01:00:00", "2024-10-27T00:00:00Z",
	    TZ_LOCAL_OVERLAP },
	{ "Europe/London", "2024-10-27T01:30:00", "2024-10-27T00:30:00Z",
	    TZ_LOCAL_OVERLAP },
	{ "Europe/London", "2024-10-27T01:59:59", "2024-10-27T00:59:59Z",
	    TZ_LOCAL_OVERLAP },
	{ "Europe/London", "2024-10-27T02:00:00", "2024-10-27T02:00:00Z",
	    TZ_LOCAL_UNIQUE },
	{ "Europe/London", "2026-03-29T00:59:59", "2026-03-29T00:59:59Z",
	    TZ_LOCAL_UNIQUE },
	{ "Europe/London", "2026-03-29T01:00:00", "2026-03-29T01:00:00Z",
	    TZ_LOCAL_GAP },
	{ "Europe/London", "2026-03-29T01:30:00", "2026-03-29T01:30:00Z",
	    TZ_LOCAL_GAP },
	{ "Europe/London", "2026-03-29T01:59:59", "2026-03-29T01:59:59Z",
	    TZ_LOCAL_GAP },
	{ "Europe/London", "2026-03-29T02:00:00", "2026-03-29T01:00:00Z",
	    TZ_LOCAL_UNIQUE },
	{ "Europe/London", "2026-10-25T00:59:59", "2026-10-24T23:59:59Z",
	    TZ_LOCAL_UNIQUE },
	{ "Europe/London", "2026-10-25T01:00:00", "2026-10-25T00:00:00Z",
	    TZ_LOCAL_OVERLAP },
	{ "Europe/London", "2026-10-25T01:30:00", "2026-10-25T00:30:00Z",
	    TZ_LOCAL_OVERLAP },
	{ "Europe/London", "2026-10-25T01:59:59", "2026-10-25T00:59:59Z",
	    TZ_LOCAL_OVERLAP },
	{ "Europe/London", "2026-10-25T02:00:00", "2026-10-25T02:00:00Z",
	    TZ_LOCAL_UNIQUE },
	{ "Europe/London", "2040-03-25T00:59:59", "2040-03-25T00:59:59Z",
	    TZ_LOCAL_UNIQUE },
	{ "Europe/London", "2040-03-25T01:00:00", "2040-03-25T01:00:00Z",
	    TZ_LOCAL_GAP },
	{ "Europe/London", "2040-03-25T01:30:00", "2040-03-25T01:30:00Z",
	    TZ_LOCAL_GAP },
	{ "Europe/London", "2040-03-25T01:59:59", "2040-03-25T01:59:59Z",
	    TZ_LOCAL_GAP },
	{ "Europe/London", "2040-03-25T02:00:00", "2040-03-25T01:00:00Z",
	    TZ_LOCAL_UNIQUE },
	{ "Europe/London", "2040-10-28T00:59:59", "2040-10-27T23:59:59Z",
	    TZ_LOCAL_UNIQUE },
	{ "Europe/London", "2040-10-28T01:00:00", "2040-10-28T00:00:00Z",
	    TZ_LOCAL_OVERLAP },
	{ "Europe/London", "2040-10-28T01:30:00", "2040-10-28T00:30:00Z",
	    TZ_LOCAL_OVERLAP },
	{ "Europe/London", "2040-10-28T01:59:59", "2040-10-28T00:59:59Z",
	    TZ_LOCAL_OVERLAP },
	{ "Europe/London", "2040-10-28T02:00:00", "2040-10-28T02:00:00Z",
	    TZ_LOCAL_UNIQUE },
	/* The example in tz.h. */
	{ "Europe/Paris", "2026-03-29T02:30:00", "2026-03-29T01:30:00Z",
	    TZ_LOCAL_GAP },
};

START_TEST(test_local)
{
	const struct local_case *c = &local_cases[_i];
	struct tz *tz = load(c->zone);
	int64_t utc = 0;
	int kind = tz_local_to_utc(tz, iso(c->local), &utc);

	ck_assert_msg(kind == c->kind && utc == iso(c->utc),
	    "%s %s: kind %d utc %lld, want %d %lld", c->zone, c->local, kind,
	    (long long)utc, c->kind, (long long)iso(c->utc));
	tz_free(&tz);
}
END_TEST

/* ---- Formatting ---- */

static const struct format_case {
	const char	*zone;
	int64_t		 ms;
	const char	*out;
} format_cases[] = {
	{ "UTC", 0LL, "1970-01-01T00:00:00Z" },
	{ "UTC", -1LL, "1969-12-31T23:59:59Z" },
	{ "UTC", 1795462200999LL, "2026-11-23T19:30:00Z" },
	{ "Etc/UTC", 1795462200000LL, "2026-11-23T19:30:00Z" },
	{ "Etc/GMT", 1795462200000LL, "2026-11-23T19:30:00Z" },
	{ "Europe/Paris", 1795462200000LL, "2026-11-23T20:30:00+01:00" },
	{ "Europe/Paris", 1782907200000LL, "2026-07-01T14:00:00+02:00" },
	{ "Europe/Paris", -1LL, "1970-01-01T00:59:59+01:00" },
	{ "Europe/Paris", 2224936800000LL, "2040-07-03T16:00:00+02:00" },
	{ "Europe/London", 1795462200000LL, "2026-11-23T19:30:00+00:00" },
	{ "Europe/London", 1782907200000LL, "2026-07-01T13:00:00+01:00" },
	{ "Europe/London", 0LL, "1970-01-01T01:00:00+01:00" },
	{ "Africa/Abidjan", 1795462200000LL, "2026-11-23T19:30:00+00:00" },
	{ "America/New_York", 1795462200000LL, "2026-11-23T14:30:00-05:00" },
	{ "America/New_York", 1782907200500LL, "2026-07-01T08:00:00-04:00" },
	{ "Asia/Kolkata", 1795462200000LL, "2026-11-24T01:00:00+05:30" },
	{ "Australia/Lord_Howe", 1795462200000LL, "2026-11-24T06:30:00+11:00" },
	{ "Australia/Lord_Howe", 1782907200000LL, "2026-07-01T22:30:00+10:30" },
	{ "America/St_Johns", 1795462200000LL, "2026-11-23T16:00:00-03:30" },
	{ "Asia/Kathmandu", 1795462200000LL, "2026-11-24T01:15:00+05:45" },
	{ "Pacific/Chatham", 1795462200000LL, "2026-11-24T09:15:00+13:45" },
	{ "Pacific/Kiritimati", 1795462200000LL, "2026-11-24T09:30:00+14:00" },
	{ "Etc/GMT+12", 1795462200000LL, "2026-11-23T07:30:00-12:00" },
	{ "Pacific/Apia", 1325239199000LL, "2011-12-29T23:59:59-10:00" },
	{ "Pacific/Apia", 1325239200000LL, "2011-12-31T00:00:00+14:00" },
	{ "America/Sao_Paulo", 1795462200000LL, "2026-11-23T16:30:00-03:00" },
	/* Hand-checked: offsets that are not whole minutes are rounded
	 * (Python writes +00:09:21 and -00:44:30), and the wall time moves
	 * with them so the text still names the same second. */
	{ "Europe/Paris", -2208988800000LL, "1900-01-01T00:09:00+00:09" },
	{ "Africa/Monrovia", 44582400000LL, "1971-05-31T23:15:00-00:45" },
	/* Clamped to 0000-01-02 and 9999-12-30 UTC. */
	{ "UTC", INT64_MAX, "9999-12-30T23:59:59Z" },
	{ "UTC", INT64_MIN, "0000-01-02T00:00:00Z" },
	{ "Europe/Paris", INT64_MAX, "9999-12-31T00:59:59+01:00" },
	{ "Europe/Paris", INT64_MIN, "0000-01-02T00:09:00+00:09" },
	{ "UTC", -1000LL * DAY * 365 * 30, "1940-01-09T00:00:00Z" },
};

START_TEST(test_format)
{
	const struct format_case *c = &format_cases[_i];
	struct tz *tz = load(c->zone);
	char out[TZ_ISO_LEN];

	tz_format_iso(tz, c->ms, out);
	ck_assert_str_eq(out, c->out);
	tz_free(&tz);
}
END_TEST

/* Whatever the zone, the text reads back as the same second. */
START_TEST(test_format_round_trip)
{
	static const char *const zones[] = {
		"UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata",
		"Australia/Lord_Howe", "Pacific/Chatham", "America/St_Johns",
	};
	char out[TZ_ISO_LEN];
	int64_t ms;

	for (int i = 0; i < N(zones); i++) {
		struct tz *tz = load(zones[i]);
		/* From 1970-01-02: time_parse_iso() refuses earlier years. */
		for (int64_t t = DAY; t < 80 * 365 * DAY; t += 7 * DAY + 3917) {
			tz_format_iso(tz, t * 1000 + 999, out);
			CHECK(time_parse_iso(out, &ms) == 0 && ms == t * 1000,
			    "%s %s", zones[i], out);
		}
		tz_free(&tz);
	}
}
END_TEST

/* ---- POSIX TZ footers, in a file with no transitions ---- */

/* A TZif image built by the tests. */
struct img {
	uint8_t		 b[2048];
	size_t		 len;
};

static void
put(struct img *m, const void *p, size_t n)
{
	ck_assert_uint_le(m->len + n, sizeof(m->b));
	memcpy(m->b + m->len, p, n);
	m->len += n;
}

static void
put32(struct img *m, uint32_t v)
{
	uint8_t b[4] = { v >> 24, v >> 16, v >> 8, v };

	put(m, b, 4);
}

/* What build() writes: one set of data, once per header. */
struct spec {
	char		 version;	/* 0 (v1 only) or '2' */
	int		 n_trans;
	int64_t		 trans[4];
	uint8_t		 idx[4];
	int		 n_types;
	struct {
		int32_t	 utoff;
		uint8_t	 isdst, abbr;
	}		 types[4];
	const char	*chars;		/* n_chars bytes, NULs included */
	uint32_t	 n_chars;
	const char	*footer;	/* v2 only */
};

static void
put_block(struct img *m, const struct spec *s, int timesize)
{
	uint32_t counts[6] = { 0, 0, 0, s->n_trans, s->n_types, s->n_chars };

	put(m, "TZif", 4);
	put(m, &s->version, 1);
	put(m, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 15);
	for (int i = 0; i < 6; i++)
		put32(m, counts[i]);
	for (int i = 0; i < s->n_trans; i++) {
		if (timesize == 8)
			put32(m, (uint32_t)((uint64_t)s->trans[i] >> 32));
		put32(m, (uint32_t)s->trans[i]);
	}
	put(m, s->idx, s->n_trans);
	for (int i = 0; i < s->n_types; i++) {
		put32(m, (uint32_t)s->types[i].utoff);
		put(m, &s->types[i].isdst, 1);
		put(m, &s->types[i].abbr, 1);
	}
	put(m, s->chars, s->n_chars);
}

static void
build(struct img *m, const struct spec *s)
{
	m->len = 0;
	put_block(m, s, 4);
	if (s->version == 0)
		return;
	put_block(m, s, 8);
	put(m, "\n", 1);
	put(m, s->footer, strlen(s->footer));
	put(m, "\n", 1);
}

static const struct spec utc_spec = {
	.version = '2', .n_types = 1, .chars = "UTC", .n_chars = 4,
	.footer = "",
};

static struct tz *
parse_footer(const char *footer, const char **error_r)
{
	struct spec s = utc_spec;
	struct img m;
	struct tz *tz = NULL;

	s.footer = footer;
	build(&m, &s);
	if (tz_parse(footer, m.b, m.len, &tz, error_r) != 0)
		return NULL;
	return tz;
}

static const struct footer_case {
	const char	*footer;
	const char	*at;
	int32_t		 utoff;
	const char	*abbr;
} footer_cases[] = {
	{ "CET-1CEST,M3.5.0,M10.5.0/3", "2028-01-15T12:00:00Z", 3600, "CET" },
	{ "CET-1CEST,M3.5.0,M10.5.0/3", "2028-03-26T00:59:59Z", 3600, "CET" },
	{ "CET-1CEST,M3.5.0,M10.5.0/3", "2028-03-26T01:00:00Z", 7200, "CEST" },
	{ "CET-1CEST,M3.5.0,M10.5.0/3", "2028-07-15T12:00:00Z", 7200, "CEST" },
	{ "CET-1CEST,M3.5.0,M10.5.0/3", "2028-10-29T00:59:59Z", 7200, "CEST" },
	{ "CET-1CEST,M3.5.0,M10.5.0/3", "2028-10-29T01:00:00Z", 3600, "CET" },
	{ "CET-1CEST,M3.5.0,M10.5.0/3", "2029-03-25T00:59:59Z", 3600, "CET" },
	{ "CET-1CEST,M3.5.0,M10.5.0/3", "2029-03-25T01:00:00Z", 7200, "CEST" },
	{ "CET-1CEST,M3.5.0,M10.5.0/3", "2029-10-28T00:59:59Z", 7200, "CEST" },
	{ "CET-1CEST,M3.5.0,M10.5.0/3", "2029-10-28T01:00:00Z", 3600, "CET" },
	{ "EST5EDT,M3.2.0,M11.1.0", "2028-01-15T12:00:00Z", -18000, "EST" },
	{ "EST5EDT,M3.2.0,M11.1.0", "2028-03-12T06:59:59Z", -18000, "EST" },
	{ "EST5EDT,M3.2.0,M11.1.0", "2028-03-12T07:00:00Z", -14400, "EDT" },
	{ "EST5EDT,M3.2.0,M11.1.0", "2028-07-15T12:00:00Z", -14400, "EDT" },
	{ "EST5EDT,M3.2.0,M11.1.0", "2028-11-05T05:59:59Z", -14400, "EDT" },
	{ "EST5EDT,M3.2.0,M11.1.0", "2028-11-05T06:00:00Z", -18000, "EST" },
	{ "EST5EDT,M3.2.0,M11.1.0", "2029-03-11T06:59:59Z", -18000, "EST" },
	{ "EST5EDT,M3.2.0,M11.1.0", "2029-03-11T07:00:00Z", -14400, "EDT" },
	{ "EST5EDT,M3.2.0,M11.1.0", "2029-11-04T05:59:59Z", -14400, "EDT" },
	{ "EST5EDT,M3.2.0,M11.1.0", "2029-11-04T06:00:00Z", -18000, "EST" },
	{ "<+0530>-5:30", "2028-01-15T12:00:00Z", 19800, "+0530" },
	{ "<+0530>-5:30", "2028-07-15T12:00:00Z", 19800, "+0530" },
	{ "IST-2IDT,M3.4.4/26,M10.5.0", "2028-01-15T12:00:00Z", 7200, "IST" },
	{ "IST-2IDT,M3.4.4/26,M10.5.0", "2028-03-23T23:59:59Z", 7200, "IST" },
	{ "IST-2IDT,M3.4.4/26,M10.5.0", "2028-03-24T00:00:00Z", 10800, "IDT" },
	{ "IST-2IDT,M3.4.4/26,M10.5.0", "2028-07-15T12:00:00Z", 10800, "IDT" },
	{ "IST-2IDT,M3.4.4/26,M10.5.0", "2028-10-28T22:59:59Z", 10800, "IDT" },
	{ "IST-2IDT,M3.4.4/26,M10.5.0", "2028-10-28T23:00:00Z", 7200, "IST" },
	{ "IST-2IDT,M3.4.4/26,M10.5.0", "2029-03-22T23:59:59Z", 7200, "IST" },
	{ "IST-2IDT,M3.4.4/26,M10.5.0", "2029-03-23T00:00:00Z", 10800, "IDT" },
	{ "IST-2IDT,M3.4.4/26,M10.5.0", "2029-10-27T22:59:59Z", 10800, "IDT" },
	{ "IST-2IDT,M3.4.4/26,M10.5.0", "2029-10-27T23:00:00Z", 7200, "IST" },
	{ "<-02>2<-01>,M3.5.0/-1,M10.5.0/0",
	    "2028-01-15T12:00:00Z", -7200, "-02" },
	{ "<-02>2<-01>,M3.5.0/-1,M10.5.0/0",
	    "2028-03-26T00:59:59Z", -7200, "-02" },
	{ "<-02>2<-01>,M3.5.0/-1,M10.5.0/0",
	    "2028-03-26T01:00:00Z", -3600, "-01" },
	{ "<-02>2<-01>,M3.5.0/-1,M10.5.0/0",
	    "2028-07-15T12:00:00Z", -3600, "-01" },
	{ "<-02>2<-01>,M3.5.0/-1,M10.5.0/0",
	    "2028-10-29T00:59:59Z", -3600, "-01" },
	{ "<-02>2<-01>,M3.5.0/-1,M10.5.0/0",
	    "2028-10-29T01:00:00Z", -7200, "-02" },
	{ "<-02>2<-01>,M3.5.0/-1,M10.5.0/0",
	    "2029-03-25T00:59:59Z", -7200, "-02" },
	{ "<-02>2<-01>,M3.5.0/-1,M10.5.0/0",
	    "2029-03-25T01:00:00Z", -3600, "-01" },
	{ "<-02>2<-01>,M3.5.0/-1,M10.5.0/0",
	    "2029-10-28T00:59:59Z", -3600, "-01" },
	{ "<-02>2<-01>,M3.5.0/-1,M10.5.0/0",
	    "2029-10-28T01:00:00Z", -7200, "-02" },
	{ "<-04>4<-03>,M9.1.6/24,M4.1.6/24",
	    "2028-01-15T12:00:00Z", -10800, "-03" },
	{ "<-04>4<-03>,M9.1.6/24,M4.1.6/24",
	    "2028-04-02T02:59:59Z", -10800, "-03" },
	{ "<-04>4<-03>,M9.1.6/24,M4.1.6/24",
	    "2028-04-02T03:00:00Z", -14400, "-04" },
	{ "<-04>4<-03>,M9.1.6/24,M4.1.6/24",
	    "2028-07-15T12:00:00Z", -14400, "-04" },
	{ "<-04>4<-03>,M9.1.6/24,M4.1.6/24",
	    "2028-09-03T03:59:59Z", -14400, "-04" },
	{ "<-04>4<-03>,M9.1.6/24,M4.1.6/24",
	    "2028-09-03T04:00:00Z", -10800, "-03" },
	{ "<-04>4<-03>,M9.1.6/24,M4.1.6/24",
	    "2029-04-08T02:59:59Z", -10800, "-03" },
	{ "<-04>4<-03>,M9.1.6/24,M4.1.6/24",
	    "2029-04-08T03:00:00Z", -14400, "-04" },
	{ "<-04>4<-03>,M9.1.6/24,M4.1.6/24",
	    "2029-09-02T03:59:59Z", -14400, "-04" },
	{ "<-04>4<-03>,M9.1.6/24,M4.1.6/24",
	    "2029-09-02T04:00:00Z", -10800, "-03" },
	{ "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0",
	    "2028-01-15T12:00:00Z", 39600, "+11" },
	{ "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0",
	    "2028-04-01T14:59:59Z", 39600, "+11" },
	{ "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0",
	    "2028-04-01T15:00:00Z", 37800, "+1030" },
	{ "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0",
	    "2028-07-15T12:00:00Z", 37800, "+1030" },
	{ "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0",
	    "2028-09-30T15:29:59Z", 37800, "+1030" },
	{ "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0",
	    "2028-09-30T15:30:00Z", 39600, "+11" },
	{ "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0",
	    "2029-03-31T14:59:59Z", 39600, "+11" },
	{ "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0",
	    "2029-03-31T15:00:00Z", 37800, "+1030" },
	{ "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0",
	    "2029-10-06T15:29:59Z", 37800, "+1030" },
	{ "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0",
	    "2029-10-06T15:30:00Z", 39600, "+11" },
	{ "IST-1GMT0,M10.5.0,M3.5.0/1", "2028-01-15T12:00:00Z", 0, "GMT" },
	{ "IST-1GMT0,M10.5.0,M3.5.0/1", "2028-03-26T00:59:59Z", 0, "GMT" },
	{ "IST-1GMT0,M10.5.0,M3.5.0/1", "2028-03-26T01:00:00Z", 3600, "IST" },
	{ "IST-1GMT0,M10.5.0,M3.5.0/1", "2028-07-15T12:00:00Z", 3600, "IST" },
	{ "IST-1GMT0,M10.5.0,M3.5.0/1", "2028-10-29T00:59:59Z", 3600, "IST" },
	{ "IST-1GMT0,M10.5.0,M3.5.0/1", "2028-10-29T01:00:00Z", 0, "GMT" },
	{ "IST-1GMT0,M10.5.0,M3.5.0/1", "2029-03-25T00:59:59Z", 0, "GMT" },
	{ "IST-1GMT0,M10.5.0,M3.5.0/1", "2029-03-25T01:00:00Z", 3600, "IST" },
	{ "IST-1GMT0,M10.5.0,M3.5.0/1", "2029-10-28T00:59:59Z", 3600, "IST" },
	{ "IST-1GMT0,M10.5.0,M3.5.0/1", "2029-10-28T01:00:00Z", 0, "GMT" },
	{ "AAA3BBB,J60/2,J300/2", "2028-01-15T12:00:00Z", -10800, "AAA" },
	{ "AAA3BBB,J60/2,J300/2", "2028-03-01T04:59:59Z", -10800, "AAA" },
	{ "AAA3BBB,J60/2,J300/2", "2028-03-01T05:00:00Z", -7200, "BBB" },
	{ "AAA3BBB,J60/2,J300/2", "2028-07-15T12:00:00Z", -7200, "BBB" },
	{ "AAA3BBB,J60/2,J300/2", "2028-10-27T03:59:59Z", -7200, "BBB" },
	{ "AAA3BBB,J60/2,J300/2", "2028-10-27T04:00:00Z", -10800, "AAA" },
	{ "AAA3BBB,J60/2,J300/2", "2029-03-01T04:59:59Z", -10800, "AAA" },
	{ "AAA3BBB,J60/2,J300/2", "2029-03-01T05:00:00Z", -7200, "BBB" },
	{ "AAA3BBB,J60/2,J300/2", "2029-10-27T03:59:59Z", -7200, "BBB" },
	{ "AAA3BBB,J60/2,J300/2", "2029-10-27T04:00:00Z", -10800, "AAA" },
	{ "AAA3BBB,59/2,300/2", "2028-01-15T12:00:00Z", -10800, "AAA" },
	{ "AAA3BBB,59/2,300/2", "2028-02-29T04:59:59Z", -10800, "AAA" },
	{ "AAA3BBB,59/2,300/2", "2028-02-29T05:00:00Z", -7200, "BBB" },
	{ "AAA3BBB,59/2,300/2", "2028-07-15T12:00:00Z", -7200, "BBB" },
	{ "AAA3BBB,59/2,300/2", "2028-10-27T03:59:59Z", -7200, "BBB" },
	{ "AAA3BBB,59/2,300/2", "2028-10-27T04:00:00Z", -10800, "AAA" },
	{ "AAA3BBB,59/2,300/2", "2029-03-01T04:59:59Z", -10800, "AAA" },
	{ "AAA3BBB,59/2,300/2", "2029-03-01T05:00:00Z", -7200, "BBB" },
	{ "AAA3BBB,59/2,300/2", "2029-10-28T03:59:59Z", -7200, "BBB" },
	{ "AAA3BBB,59/2,300/2", "2029-10-28T04:00:00Z", -10800, "AAA" },
	{ "AAA3BBB,J59/2,J300/2", "2028-01-15T12:00:00Z", -10800, "AAA" },
	{ "AAA3BBB,J59/2,J300/2", "2028-02-28T04:59:59Z", -10800, "AAA" },
	{ "AAA3BBB,J59/2,J300/2", "2028-02-28T05:00:00Z", -7200, "BBB" },
	{ "AAA3BBB,J59/2,J300/2", "2028-07-15T12:00:00Z", -7200, "BBB" },
	{ "AAA3BBB,J59/2,J300/2", "2028-10-27T03:59:59Z", -7200, "BBB" },
	{ "AAA3BBB,J59/2,J300/2", "2028-10-27T04:00:00Z", -10800, "AAA" },
	{ "AAA3BBB,J59/2,J300/2", "2029-02-28T04:59:59Z", -10800, "AAA" },
	{ "AAA3BBB,J59/2,J300/2", "2029-02-28T05:00:00Z", -7200, "BBB" },
	{ "AAA3BBB,J59/2,J300/2", "2029-10-27T03:59:59Z", -7200, "BBB" },
	{ "AAA3BBB,J59/2,J300/2", "2029-10-27T04:00:00Z", -10800, "AAA" },
	{ "AAA3BBB,J365/0,J1/0", "2028-01-01T01:59:59Z", -7200, "BBB" },
	{ "AAA3BBB,J365/0,J1/0", "2028-01-01T02:00:00Z", -10800, "AAA" },
	{ "AAA3BBB,J365/0,J1/0", "2028-01-15T12:00:00Z", -10800, "AAA" },
	{ "AAA3BBB,J365/0,J1/0", "2028-07-15T12:00:00Z", -10800, "AAA" },
	{ "AAA3BBB,J365/0,J1/0", "2028-12-31T02:59:59Z", -10800, "AAA" },
	{ "AAA3BBB,J365/0,J1/0", "2028-12-31T03:00:00Z", -7200, "BBB" },
	{ "AAA3BBB,J365/0,J1/0", "2029-01-01T01:59:59Z", -7200, "BBB" },
	{ "AAA3BBB,J365/0,J1/0", "2029-01-01T02:00:00Z", -10800, "AAA" },
	{ "AAA3BBB,J365/0,J1/0", "2029-12-31T02:59:59Z", -10800, "AAA" },
	{ "AAA3BBB,J365/0,J1/0", "2029-12-31T03:00:00Z", -7200, "BBB" },
	{ "<-0330>3:30<-0230>,M3.5.0/-167,M10.1.6/167",
	    "2028-01-15T12:00:00Z", -12600, "-0330" },
	{ "<-0330>3:30<-0230>,M3.5.0/-167,M10.1.6/167",
	    "2028-03-19T04:29:59Z", -12600, "-0330" },
	{ "<-0330>3:30<-0230>,M3.5.0/-167,M10.1.6/167",
	    "2028-03-19T04:30:00Z", -9000, "-0230" },
	{ "<-0330>3:30<-0230>,M3.5.0/-167,M10.1.6/167",
	    "2028-07-15T12:00:00Z", -9000, "-0230" },
	{ "<-0330>3:30<-0230>,M3.5.0/-167,M10.1.6/167",
	    "2028-10-14T01:29:59Z", -9000, "-0230" },
	{ "<-0330>3:30<-0230>,M3.5.0/-167,M10.1.6/167",
	    "2028-10-14T01:30:00Z", -12600, "-0330" },
	{ "<-0330>3:30<-0230>,M3.5.0/-167,M10.1.6/167",
	    "2029-03-18T04:29:59Z", -12600, "-0330" },
	{ "<-0330>3:30<-0230>,M3.5.0/-167,M10.1.6/167",
	    "2029-03-18T04:30:00Z", -9000, "-0230" },
	{ "<-0330>3:30<-0230>,M3.5.0/-167,M10.1.6/167",
	    "2029-10-13T01:29:59Z", -9000, "-0230" },
	{ "<-0330>3:30<-0230>,M3.5.0/-167,M10.1.6/167",
	    "2029-10-13T01:30:00Z", -12600, "-0330" },
	{ "HST10", "2028-01-15T12:00:00Z", -36000, "HST" },
	{ "HST10", "2028-07-15T12:00:00Z", -36000, "HST" },
	{ "<+14>-14", "2028-01-15T12:00:00Z", 50400, "+14" },
	{ "<+14>-14", "2028-07-15T12:00:00Z", 50400, "+14" },
};

START_TEST(test_footer)
{
	const struct footer_case *c = &footer_cases[_i];
	const char *error = NULL;
	struct tz *tz = parse_footer(c->footer, &error);
	struct tz_info info;

	ck_assert_msg(tz != NULL, "%s: %s", c->footer, error);
	tz_info_at(tz, iso(c->at), &info);
	ck_assert_msg(info.utoff == c->utoff, "%s at %s: %d, want %d",
	    c->footer, c->at, info.utoff, c->utoff);
	ck_assert_str_eq(info.abbr, c->abbr);
	tz_free(&tz);
}
END_TEST

/* RFC 8536 3.3.1: starting January 1 at 00:00 and ending December 31 at
 * 24:00 plus the DST shift is DST all year, across every New Year. */
START_TEST(test_footer_all_year_dst)
{
	const char *error;
	struct tz *tz = parse_footer("EST5EDT,0/0,J365/25", &error);
	struct tz_info info;
	int64_t utc;

	ck_assert_ptr_nonnull(tz);
	for (int64_t t = iso("2027-12-25T00:00:00Z");
	    t < iso("2029-01-10T00:00:00Z"); t += 599) {
		tz_info_at(tz, t, &info);
		CHECK(info.utoff == -4 * HOUR && info.isdst &&
		    strcmp(info.abbr, "EDT") == 0, "%lld", (long long)t);
		CHECK(tz_local_to_utc(tz, t - 4 * HOUR, &utc) ==
		    TZ_LOCAL_UNIQUE && utc == t, "%lld", (long long)t);
	}
	tz_free(&tz);
}
END_TEST

/* An empty footer: type 0 applies for ever. A 16-letter abbreviation is
 * the longest kept. */
START_TEST(test_footer_edges)
{
	const char *error;
	struct tz *tz = parse_footer("", &error);

	ck_assert_ptr_nonnull(tz);
	ck_assert(tz_is_utc(tz));
	ck_assert_int_eq(tz_offset_at(tz, INT64_MAX), 0);
	tz_free(&tz);
	tz = parse_footer("ABCDEFGHIJKLMNOP-1", &error);
	ck_assert_ptr_nonnull(tz);
	ck_assert(!tz_is_utc(tz));
	struct tz_info info;
	tz_info_at(tz, 0, &info);
	ck_assert_int_eq(info.utoff, HOUR);
	ck_assert_str_eq(info.abbr, "ABCDEFGHIJKLMNOP");
	tz_free(&tz);
}
END_TEST

static const char *const bad_footers[] = {
	"CET", "CE-1", "C3T-1", "<CET-1", "<+05>", "<>-1", "<AB>-1",
	"<A B>-1", "ABCDEFGHIJKLMNOPQ-1", "CET+", "CET-", "CET1:", "CET-1:60",
	"CET-1:00:60", "CET-25", "CET-1 ", " CET-1", "CET-1CEST",
	"CET-1CEST,M3.5.0", "CET-1CEST,M3.5.0,", "CET-1CEST,,M10.5.0",
	"CET-1CEST,M13.5.0,M10.5.0", "CET-1CEST,M0.5.0,M10.5.0",
	"CET-1CEST,M3.6.0,M10.5.0", "CET-1CEST,M3.0.0,M10.5.0",
	"CET-1CEST,M3.5.7,M10.5.0", "CET-1CEST,M3.5,M10.5.0",
	"CET-1CEST,M3..0,M10.5.0", "CET-1CEST,J0,J300", "CET-1CEST,J366,J300",
	"CET-1CEST,366,300", "CET-1CEST,M3.5.0/168,M10.5.0",
	"CET-1CEST,M3.5.0,M10.5.0/-168", "CET-1CEST,M3.5.0,M10.5.0/3x",
	"CET-1CEST,M3.5.0,M10.5.0,", "CET-1CEST-2-3,M3.5.0,M10.5.0",
	"CET-1CEST-25,M3.5.0,M10.5.0", "CET-1CEST,M3.5.0/,M10.5.0",
	"CET-1CEST,M3.5.0/2:,M10.5.0",
};

START_TEST(test_bad_footer)
{
	const char *error = NULL;
	struct tz *tz = parse_footer(bad_footers[_i], &error);

	ck_assert_msg(tz == NULL, "\"%s\" accepted", bad_footers[_i]);
	ck_assert_ptr_nonnull(error);
}
END_TEST

/* ---- Hand-built files: v1 data, and every way to be malformed ---- */

/* Three transitions between AAA (+1h) and BBB (+2h, DST). */
static const struct spec v1_spec = {
	.version = 0, .n_trans = 3,
	.trans = { -2000000000, 0, 1000000000 }, .idx = { 1, 0, 1 },
	.n_types = 2, .types = { { 3600, 0, 0 }, { 7200, 1, 4 } },
	.chars = "AAA\0BBB", .n_chars = 8,
};

START_TEST(test_v1)
{
	static const struct {
		int64_t		 t;
		int32_t		 utoff;
	} cases[] = {
		{ INT64_MIN, 3600 }, { -2000000001, 3600 },
		{ -2000000000, 7200 }, { -1, 7200 }, { 0, 3600 },
		{ 999999999, 3600 }, { 1000000000, 7200 }, { INT64_MAX, 7200 },
	};
	const char *error = NULL;
	struct tz *tz = NULL;
	struct tz_info info;
	struct img m;
	int64_t utc;

	build(&m, &v1_spec);
	ck_assert_msg(tz_parse("v1", m.b, m.len, &tz, &error) == 0, "%s",
	    error);
	ck_assert_str_eq(tz_name(tz), "v1");
	for (int i = 0; i < N(cases); i++) {
		tz_info_at(tz, cases[i].t, &info);
		ck_assert_int_eq(info.utoff, cases[i].utoff);
		ck_assert_int_eq(info.isdst, cases[i].utoff == 7200);
		ck_assert_str_eq(info.abbr, info.isdst ? "BBB" : "AAA");
	}
	/* 0 UTC: BBB -> AAA, so 01:00..02:00 local happens twice. */
	ck_assert_int_eq(tz_local_to_utc(tz, HOUR + 1800, &utc),
	    TZ_LOCAL_OVERLAP);
	ck_assert_int_eq(utc, 1800 - HOUR);
	ck_assert_int_eq(tz_local_to_utc(tz, 2 * HOUR, &utc), TZ_LOCAL_UNIQUE);
	ck_assert_int_eq(utc, HOUR);
	/* 1e9 UTC: AAA -> BBB, an hour of wall time is skipped. */
	ck_assert_int_eq(tz_local_to_utc(tz, 1000000000 + HOUR + 60, &utc),
	    TZ_LOCAL_GAP);
	ck_assert_int_eq(utc, 1000000000 + 60);
	tz_free(&tz);
}
END_TEST

/* The same data as v2 with a footer for instants after 1e9. */
START_TEST(test_v2_footer_after_table)
{
	struct spec s = v1_spec;
	const char *error = NULL;
	struct tz *tz = NULL;
	struct img m;

	s.version = '2';
	s.footer = "AAA-1BBB,M3.5.0,M10.5.0/3";
	build(&m, &s);
	ck_assert_msg(tz_parse("v2", m.b, m.len, &tz, &error) == 0, "%s",
	    error);
	ck_assert_int_eq(tz_offset_at(tz, 999999999), 3600);
	ck_assert_int_eq(tz_offset_at(tz, 1000000000), 7200);	/* table */
	ck_assert_int_eq(tz_offset_at(tz, iso("2040-01-15T00:00:00Z")), 3600);
	ck_assert_int_eq(tz_offset_at(tz, iso("2040-07-15T00:00:00Z")), 7200);
	tz_free(&tz);
}
END_TEST

/* Header fields of a v1 image. */
#define OFF_ISUT	20
#define OFF_ISSTD	24
#define OFF_LEAP	28
#define OFF_TIME	32
#define OFF_TYPE	36
#define OFF_CHAR	40
#define OFF_DATA	44
#define OFF_IDX		(OFF_DATA + 3 * 4)
#define OFF_TTINFO	(OFF_IDX + 3)
#define OFF_CHARS	(OFF_TTINFO + 2 * 6)

static void
set32(struct img *m, size_t off, uint32_t v)
{
	m->b[off] = v >> 24;
	m->b[off + 1] = v >> 16;
	m->b[off + 2] = v >> 8;
	m->b[off + 3] = v;
}

static void bad_magic(struct img *m) { m->b[0] = 'X'; }
static void bad_version(struct img *m) { m->b[4] = '1'; }
static void no_types(struct img *m) { set32(m, OFF_TYPE, 0); }
static void many_types(struct img *m) { set32(m, OFF_TYPE, 257); }
static void no_chars(struct img *m) { set32(m, OFF_CHAR, 0); }
static void huge_timecnt(struct img *m) { set32(m, OFF_TIME, 0xffffffff); }
static void huge_charcnt(struct img *m) { set32(m, OFF_CHAR, 0x7fffffff); }
static void isut_mismatch(struct img *m) { set32(m, OFF_ISUT, 1); }
static void isstd_mismatch(struct img *m) { set32(m, OFF_ISSTD, 1); }
static void truncated(struct img *m) { m->len--; }
static void idx_range(struct img *m) { m->b[OFF_IDX + 1] = 2; }
static void order(struct img *m) { set32(m, OFF_DATA + 8, 0x90000000); }
static void same_time(struct img *m) { set32(m, OFF_DATA + 4, 0x88ca6c00); }
static void isdst_2(struct img *m) { m->b[OFF_TTINFO + 4] = 2; }
static void abbr_range(struct img *m) { m->b[OFF_TTINFO + 5] = 8; }
static void unterminated(struct img *m) { m->b[OFF_CHARS + 7] = 'X'; }

static void
utoff_big(struct img *m)
{
	set32(m, OFF_TTINFO, 93600);
}

static void
utoff_min(struct img *m)
{
	set32(m, OFF_TTINFO, 0x80000000);
}

/* A leap-second record (the bytes are there; the zone is refused). */
static void
leap(struct img *m)
{
	set32(m, OFF_LEAP, 1);
	put(m, "\0\0\0\0\0\0\0\0", 8);
}

static void (*const corruptions[])(struct img *) = {
	bad_magic, bad_version, no_types, many_types, no_chars, huge_timecnt,
	huge_charcnt, isut_mismatch, isstd_mismatch, truncated, idx_range,
	order, same_time, isdst_2, abbr_range, unterminated, utoff_big,
	utoff_min, leap,
};

START_TEST(test_corrupt_v1)
{
	const char *error = NULL;
	struct tz *tz = NULL;
	struct img m;

	build(&m, &v1_spec);
	ck_assert_uint_eq(m.len, OFF_CHARS + 8);
	corruptions[_i](&m);
	ck_assert_int_eq(tz_parse("bad", m.b, m.len, &tz, &error), -1);
	ck_assert_ptr_null(tz);
	ck_assert_ptr_nonnull(error);
}
END_TEST

/* v2 footers that are not "\n" TZ "\n" at the very end. */
START_TEST(test_corrupt_footer_framing)
{
	static const char *const tails[] = { "", "\n", "x\n", "\nUTC0",
		"\nUTC0\n\n", "\nUTC0\nx", "\n\nUTC0\n" };
	struct spec s = v1_spec;
	const char *error = NULL;
	struct tz *tz = NULL;
	struct img m;
	char big[300];

	s.version = '2';
	s.footer = "";
	for (int i = 0; i < N(tails); i++) {
		build(&m, &s);
		m.len -= 2;		/* drop the empty footer's "\n\n" */
		put(&m, tails[i], strlen(tails[i]));
		ck_assert_msg(tz_parse("bad", m.b, m.len, &tz, &error) == -1,
		    "tail %d accepted", i);
	}
	/* A NUL inside, and a footer over 256 bytes. */
	build(&m, &s);
	m.len -= 1;
	put(&m, "UTC0\0\n", 6);
	ck_assert_int_eq(tz_parse("bad", m.b, m.len, &tz, &error), -1);
	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	s.footer = big;
	build(&m, &s);
	ck_assert_int_eq(tz_parse("bad", m.b, m.len, &tz, &error), -1);
}
END_TEST

START_TEST(test_too_large)
{
	uint8_t *data = xcalloc(1, TZ_FILE_MAX);
	const char *error = NULL;
	struct tz *tz = NULL;
	struct img m;

	build(&m, &v1_spec);
	memcpy(data, m.b, m.len);
	ck_assert_int_eq(tz_parse("big", data, TZ_FILE_MAX, &tz, &error), -1);
	ck_assert_str_eq(error, "TZif file too large");
	ck_assert_int_eq(tz_parse("ok", data, TZ_FILE_MAX - 1, &tz, &error), 0);
	tz_free(&tz);
	free(data);
}
END_TEST

/* Every proper prefix of real files fails, read from a buffer of exactly
 * its size so ASan sees any over-read; the whole file parses. */
START_TEST(test_prefixes)
{
	static const char *const zones[] = { "Europe/Paris", "Asia/Kolkata",
		"Australia/Lord_Howe", "UTC" };

	for (int i = 0; i < N(zones); i++) {
		char path[256];
		size_t len;
		snprintf(path, sizeof(path), "%s/%s", ZONEINFO, zones[i]);
		uint8_t *data = slurp(path, &len);
		ck_assert_msg(data != NULL, "%s", path);
		for (size_t k = 0; k <= len; k++) {
			uint8_t *p = xmalloc(k ? k : 1);
			const char *error = NULL;
			struct tz *tz = NULL;
			memcpy(p, data, k);
			int rc = tz_parse(zones[i], p, k, &tz, &error);
			CHECK(rc == (k == len ? 0 : -1), "%s prefix %zu rc %d",
			    zones[i], k, rc);
			tz_free(&tz);
			free(p);
		}
		free(data);
	}
}
END_TEST

/* A zone that parsed from damaged data still answers sanely. */
static void
check_sane(const struct tz *tz, size_t byte)
{
	char out[TZ_ISO_LEN];
	int64_t utc;

	for (int64_t t = -(INT64_C(1) << 40); t < INT64_C(1) << 40;
	    t += INT64_C(1) << 36) {
		int32_t o = tz_offset_at(tz, t);
		CHECK(o >= -89999 && o <= 93599, "byte %zu: %d", byte, o);
		CHECK(tz_local_to_utc(tz, t, &utc) >= 0, "byte %zu", byte);
	}
	tz_format_iso(tz, 1795462200000LL, out);
	CHECK(strlen(out) <= 25, "byte %zu: %s", byte, out);
}

/* Flipped bits anywhere never crash; what parses stays in range. */
START_TEST(test_bit_flips)
{
	static const uint8_t masks[] = { 0x01, 0x10, 0x80, 0xff };
	size_t len;
	uint8_t *data = slurp(ZONEINFO "/America/New_York", &len);

	ck_assert_ptr_nonnull(data);
	for (size_t i = 0; i < len; i++) {
		for (int j = 0; j < N(masks); j++) {
			uint8_t *p = xmalloc(len);
			const char *error = NULL;
			struct tz *tz = NULL;
			memcpy(p, data, len);
			p[i] ^= masks[j];
			if (tz_parse("flip", p, len, &tz, &error) == 0)
				check_sane(tz, i);
			else
				CHECK(error != NULL, "byte %zu", i);
			tz_free(&tz);
			free(p);
		}
	}
	free(data);
}
END_TEST

/* ---- Names ---- */

static const char *const bad_names[] = {
	"../etc/passwd", "/etc/passwd", "Nope/Nowhere", "", "Europe/../etc",
	"Europe/..", "..", "Europe//Paris", "Europe/Paris/", "./UTC", ".hidden",
	"Europe/.Paris", "Europe/Paris ", " UTC", "Europe\\Paris",
	"Europe/Paris\n", "Europe/Paris/x", "Europe", "zone1970.tab",
	"tzdata.zi", "iso3166.tab", "leapseconds", "right/Europe/Paris", "utc",
	/* 129 bytes, one over TZ_NAME_MAX */
	"Europe/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
};

START_TEST(test_bad_name)
{
	const char *error = NULL;
	const struct tz *ctz = NULL;
	struct tz *tz = NULL;

	ck_assert_msg(tz_load(bad_names[_i], &tz, &error) == -1,
	    "\"%s\" loaded", bad_names[_i]);
	ck_assert_ptr_null(tz);
	ck_assert_ptr_nonnull(error);
	error = NULL;
	ck_assert_int_eq(tz_get(bad_names[_i], &ctz, &error), -1);
	ck_assert_ptr_null(ctz);
	ck_assert_ptr_nonnull(error);
}
END_TEST

START_TEST(test_names)
{
	static const char *const good[] = { "UTC", "Etc/GMT+5", "Etc/GMT-14",
		"America/Argentina/Buenos_Aires", "America/Port-au-Prince",
		"GMT0", "US/Eastern" };
	const char *error = NULL;
	struct tz *tz = NULL;

	ck_assert_int_eq(tz_load(NULL, &tz, &error), -1);
	for (int i = 0; i < N(good); i++) {
		tz = load(good[i]);
		ck_assert_str_eq(tz_name(tz), good[i]);
		tz_free(&tz);
	}
	tz_free(&tz);	/* NULL-safe */
	tz = load("Etc/GMT+5");
	ck_assert_int_eq(tz_offset_at(tz, 0), -5 * HOUR);
	tz_free(&tz);
}
END_TEST

/* "UTC" is built in: no file, offset 0 and "Z" at every instant. */
START_TEST(test_utc)
{
	struct tz *tz = load("UTC");
	struct tz_info info;
	int64_t utc;

	ck_assert(tz_is_utc(tz));
	for (int64_t t = INT64_MIN; t < INT64_MAX - (INT64_C(1) << 58);
	    t += INT64_C(1) << 58) {
		tz_info_at(tz, t, &info);
		ck_assert_int_eq(info.utoff, 0);
		ck_assert(!info.isdst);
		ck_assert_str_eq(info.abbr, "UTC");
	}
	ck_assert_int_eq(tz_local_to_utc(tz, 1795462200, &utc), 0);
	ck_assert_int_eq(utc, 1795462200);
	ck_assert_int_eq(tz_local_to_utc(tz, INT64_MAX, &utc), -1);
	ck_assert_int_eq(tz_local_to_utc(tz, INT64_MIN, &utc), -1);
	tz_free(&tz);
	tz = load("Europe/London");
	ck_assert(!tz_is_utc(tz));
	tz_free(&tz);
}
END_TEST

/* ---- Every zone ---- */

/* Offsets in minutes at mid-January and mid-July, 12:00 UTC, of 2000,
 * 2024, 2026 and 2040, for every zone in zone1970.tab. */
static const int at_years[] = { 2000, 2024, 2026, 2040 };

static const struct zone_case {
	const char	*zone;
	int16_t		 minutes[8];
} all_zones[] = {
	{ "Africa/Abidjan", { 0, 0, 0, 0, 0, 0, 0, 0 } },
	{ "Africa/Algiers", { 60, 60, 60, 60, 60, 60, 60, 60 } },
	{ "Africa/Bissau", { 0, 0, 0, 0, 0, 0, 0, 0 } },
	{ "Africa/Cairo", { 120, 180, 120, 180, 120, 180, 120, 180 } },
	{ "Africa/Casablanca", { 0, 0, 60, 60, 60, 60, 60, 60 } },
	{ "Africa/Ceuta", { 60, 120, 60, 120, 60, 120, 60, 120 } },
	{ "Africa/El_Aaiun", { 0, 0, 60, 60, 60, 60, 60, 60 } },
	{ "Africa/Johannesburg", { 120, 120, 120, 120, 120, 120, 120, 120 } },
	{ "Africa/Juba", { 180, 180, 120, 120, 120, 120, 120, 120 } },
	{ "Africa/Khartoum", { 180, 180, 120, 120, 120, 120, 120, 120 } },
	{ "Africa/Lagos", { 60, 60, 60, 60, 60, 60, 60, 60 } },
	{ "Africa/Maputo", { 120, 120, 120, 120, 120, 120, 120, 120 } },
	{ "Africa/Monrovia", { 0, 0, 0, 0, 0, 0, 0, 0 } },
	{ "Africa/Nairobi", { 180, 180, 180, 180, 180, 180, 180, 180 } },
	{ "Africa/Ndjamena", { 60, 60, 60, 60, 60, 60, 60, 60 } },
	{ "Africa/Sao_Tome", { 0, 0, 0, 0, 0, 0, 0, 0 } },
	{ "Africa/Tripoli", { 120, 120, 120, 120, 120, 120, 120, 120 } },
	{ "Africa/Tunis", { 60, 60, 60, 60, 60, 60, 60, 60 } },
	{ "Africa/Windhoek", { 120, 60, 120, 120, 120, 120, 120, 120 } },
	{ "America/Adak", { -600, -540, -600, -540, -600, -540, -600, -540 } },
	{ "America/Anchorage",
	    { -540, -480, -540, -480, -540, -480, -540, -480 } },
	{ "America/Araguaina",
	    { -120, -180, -180, -180, -180, -180, -180, -180 } },
	{ "America/Argentina/Buenos_Aires",
	    { -180, -180, -180, -180, -180, -180, -180, -180 } },
	{ "America/Argentina/Catamarca",
	    { -180, -180, -180, -180, -180, -180, -180, -180 } },
	{ "America/Argentina/Cordoba",
	    { -180, -180, -180, -180, -180, -180, -180, -180 } },
	{ "America/Argentina/Jujuy",
	    { -180, -180, -180, -180, -180, -180, -180, -180 } },
	{ "America/Argentina/La_Rioja",
	    { -180, -180, -180, -180, -180, -180, -180, -180 } },
	{ "America/Argentina/Mendoza",
	    { -180, -180, -180, -180, -180, -180, -180, -180 } },
	{ "America/Argentina/Rio_Gallegos",
	    { -180, -180, -180, -180, -180, -180, -180, -180 } },
	{ "America/Argentina/Salta",
	    { -180, -180, -180, -180, -180, -180, -180, -180 } },
	{ "America/Argentina/San_Juan",
	    { -180, -180, -180, -180, -180, -180, -180, -180 } },
	{ "America/Argentina/San_Luis",
	    { -180, -180, -180, -180, -180, -180, -180, -180 } },
	{ "America/Argentina/Tucuman",
	    { -180, -180, -180, -180, -180, -180, -180, -180 } },
	{ "America/Argentina/Ushuaia",
	    { -180, -180, -180, -180, -180, -180, -180, -180 } },
	{ "America/Asuncion",
	    { -180, -240, -180, -240, -180, -180, -180, -180 } },
	{ "America/Bahia", { -120, -180, -180, -180, -180, -180, -180, -180 } },
	{ "America/Bahia_Banderas",
	    { -420, -360, -360, -360, -360, -360, -360, -360 } },
	{ "America/Barbados",
	    { -240, -240, -240, -240, -240, -240, -240, -240 } },
	{ "America/Belem", { -180, -180, -180, -180, -180, -180, -180, -180 } },
	{ "America/Belize",
	    { -360, -360, -360, -360, -360, -360, -360, -360 } },
	{ "America/Boa_Vista",
	    { -180, -240, -240, -240, -240, -240, -240, -240 } },
	{ "America/Bogota",
	    { -300, -300, -300, -300, -300, -300, -300, -300 } },
	{ "America/Boise", { -420, -360, -420, -360, -420, -360, -420, -360 } },
	{ "America/Cambridge_Bay",
	    { -360, -300, -420, -360, -420, -360, -420, -360 } },
	{ "America/Campo_Grande",
	    { -180, -240, -240, -240, -240, -240, -240, -240 } },
	{ "America/Cancun",
	    { -360, -300, -300, -300, -300, -300, -300, -300 } },
	{ "America/Caracas",
	    { -240, -240, -240, -240, -240, -240, -240, -240 } },
	{ "America/Cayenne",
	    { -180, -180, -180, -180, -180, -180, -180, -180 } },
	{ "America/Chicago",
	    { -360, -300, -360, -300, -360, -300, -360, -300 } },
	{ "America/Chihuahua",
	    { -420, -360, -360, -360, -360, -360, -360, -360 } },
	{ "America/Ciudad_Juarez",
	    { -420, -360, -420, -360, -420, -360, -420, -360 } },
	{ "America/Costa_Rica",
	    { -360, -360, -360, -360, -360, -360, -360, -360 } },
	{ "America/Coyhaique",
	    { -180, -240, -180, -240, -180, -180, -180, -180 } },
	{ "America/Cuiaba",
	    { -180, -240, -240, -240, -240, -240, -240, -240 } },
	{ "America/Danmarkshavn", { 0, 0, 0, 0, 0, 0, 0, 0 } },
	{ "America/Dawson",
	    { -480, -420, -420, -420, -420, -420, -420, -420 } },
	{ "America/Dawson_Creek",
	    { -420, -420, -420, -420, -420, -420, -420, -420 } },
	{ "America/Denver",
	    { -420, -360, -420, -360, -420, -360, -420, -360 } },
	{ "America/Detroit",
	    { -300, -240, -300, -240, -300, -240, -300, -240 } },
	{ "America/Edmonton",
	    { -420, -360, -420, -360, -420, -360, -420, -360 } },
	{ "America/Eirunepe",
	    { -300, -300, -300, -300, -300, -300, -300, -300 } },
	{ "America/El_Salvador",
	    { -360, -360, -360, -360, -360, -360, -360, -360 } },
	{ "America/Fort_Nelson",
	    { -480, -420, -420, -420, -420, -420, -420, -420 } },
	{ "America/Fortaleza",
	    { -120, -180, -180, -180, -180, -180, -180, -180 } },
	{ "America/Glace_Bay",
	    { -240, -180, -240, -180, -240, -180, -240, -180 } },
	{ "America/Goose_Bay",
	    { -240, -180, -240, -180, -240, -180, -240, -180 } },
	{ "America/Grand_Turk",
	    { -300, -240, -300, -240, -300, -240, -300, -240 } },
	{ "America/Guatemala",
	    { -360, -360, -360, -360, -360, -360, -360, -360 } },
	{ "America/Guayaquil",
	    { -300, -300, -300, -300, -300, -300, -300, -300 } },
	{ "America/Guyana",
	    { -240, -240, -240, -240, -240, -240, -240, -240 } },
	{ "America/Halifax",
	    { -240, -180, -240, -180, -240, -180, -240, -180 } },
	{ "America/Havana",
	    { -300, -240, -300, -240, -300, -240, -300, -240 } },
	{ "America/Hermosillo",
	    { -420, -420, -420, -420, -420, -420, -420, -420 } },
	{ "America/Indiana/Indianapolis",
	    { -300, -300, -300, -240, -300, -240, -300, -240 } },
	{ "America/Indiana/Knox",
	    { -300, -300, -360, -300, -360, -300, -360, -300 } },
	{ "America/Indiana/Marengo",
	    { -300, -300, -300, -240, -300, -240, -300, -240 } },
	{ "America/Indiana/Petersburg",
	    { -300, -300, -300, -240, -300, -240, -300, -240 } },
	{ "America/Indiana/Tell_City",
	    { -300, -300, -360, -300, -360, -300, -360, -300 } },
	{ "America/Indiana/Vevay",
	    { -300, -300, -300, -240, -300, -240, -300, -240 } },
	{ "America/Indiana/Vincennes",
	    { -300, -300, -300, -240, -300, -240, -300, -240 } },
	{ "America/Indiana/Winamac",
	    { -300, -300, -300, -240, -300, -240, -300, -240 } },
	{ "America/Inuvik",
	    { -420, -360, -420, -360, -420, -360, -420, -360 } },
	{ "America/Iqaluit",
	    { -360, -300, -300, -240, -300, -240, -300, -240 } },
	{ "America/Jamaica",
	    { -300, -300, -300, -300, -300, -300, -300, -300 } },
	{ "America/Juneau",
	    { -540, -480, -540, -480, -540, -480, -540, -480 } },
	{ "America/Kentucky/Louisville",
	    { -300, -240, -300, -240, -300, -240, -300, -240 } },
	{ "America/Kentucky/Monticello",
	    { -360, -300, -300, -240, -300, -240, -300, -240 } },
	{ "America/La_Paz",
	    { -240, -240, -240, -240, -240, -240, -240, -240 } },
	{ "America/Lima", { -300, -300, -300, -300, -300, -300, -300, -300 } },
	{ "America/Los_Angeles",
	    { -480, -420, -480, -420, -480, -420, -480, -420 } },
	{ "America/Maceio",
	    { -120, -180, -180, -180, -180, -180, -180, -180 } },
	{ "America/Managua",
	    { -360, -360, -360, -360, -360, -360, -360, -360 } },
	{ "America/Manaus",
	    { -240, -240, -240, -240, -240, -240, -240, -240 } },
	{ "America/Martinique",
	    { -240, -240, -240, -240, -240, -240, -240, -240 } },
	{ "America/Matamoros",
	    { -360, -300, -360, -300, -360, -300, -360, -300 } },
	{ "America/Mazatlan",
	    { -420, -360, -420, -420, -420, -420, -420, -420 } },
	{ "America/Menominee",
	    { -360, -300, -360, -300, -360, -300, -360, -300 } },
	{ "America/Merida",
	    { -360, -300, -360, -360, -360, -360, -360, -360 } },
	{ "America/Metlakatla",
	    { -480, -480, -540, -480, -540, -480, -540, -480 } },
	{ "America/Mexico_City",
	    { -360, -300, -360, -360, -360, -360, -360, -360 } },
	{ "America/Miquelon",
	    { -180, -120, -180, -120, -180, -120, -180, -120 } },
	{ "America/Moncton",
	    { -240, -180, -240, -180, -240, -180, -240, -180 } },
	{ "America/Monterrey",
	    { -360, -300, -360, -360, -360, -360, -360, -360 } },
	{ "America/Montevideo",
	    { -180, -180, -180, -180, -180, -180, -180, -180 } },
	{ "America/New_York",
	    { -300, -240, -300, -240, -300, -240, -300, -240 } },
	{ "America/Nome", { -540, -480, -540, -480, -540, -480, -540, -480 } },
	{ "America/Noronha",
	    { -60, -120, -120, -120, -120, -120, -120, -120 } },
	{ "America/North_Dakota/Beulah",
	    { -420, -360, -360, -300, -360, -300, -360, -300 } },
	{ "America/North_Dakota/Center",
	    { -360, -300, -360, -300, -360, -300, -360, -300 } },
	{ "America/North_Dakota/New_Salem",
	    { -420, -360, -360, -300, -360, -300, -360, -300 } },
	{ "America/Nuuk", { -180, -120, -120, -60, -120, -60, -120, -60 } },
	{ "America/Ojinaga",
	    { -420, -360, -360, -300, -360, -300, -360, -300 } },
	{ "America/Panama",
	    { -300, -300, -300, -300, -300, -300, -300, -300 } },
	{ "America/Paramaribo",
	    { -180, -180, -180, -180, -180, -180, -180, -180 } },
	{ "America/Phoenix",
	    { -420, -420, -420, -420, -420, -420, -420, -420 } },
	{ "America/Port-au-Prince",
	    { -300, -300, -300, -240, -300, -240, -300, -240 } },
	{ "America/Porto_Velho",
	    { -240, -240, -240, -240, -240, -240, -240, -240 } },
	{ "America/Puerto_Rico",
	    { -240, -240, -240, -240, -240, -240, -240, -240 } },
	{ "America/Punta_Arenas",
	    { -180, -240, -180, -180, -180, -180, -180, -180 } },
	{ "America/Rankin_Inlet",
	    { -360, -300, -360, -300, -360, -300, -360, -300 } },
	{ "America/Recife",
	    { -120, -180, -180, -180, -180, -180, -180, -180 } },
	{ "America/Regina",
	    { -360, -360, -360, -360, -360, -360, -360, -360 } },
	{ "America/Resolute",
	    { -360, -300, -360, -300, -360, -300, -360, -300 } },
	{ "America/Rio_Branco",
	    { -300, -300, -300, -300, -300, -300, -300, -300 } },
	{ "America/Santarem",
	    { -240, -240, -180, -180, -180, -180, -180, -180 } },
	{ "America/Santiago",
	    { -180, -240, -180, -240, -180, -240, -180, -240 } },
	{ "America/Santo_Domingo",
	    { -240, -240, -240, -240, -240, -240, -240, -240 } },
	{ "America/Sao_Paulo",
	    { -120, -180, -180, -180, -180, -180, -180, -180 } },
	{ "America/Scoresbysund", { -60, 0, -60, -60, -120, -60, -120, -60 } },
	{ "America/Sitka", { -540, -480, -540, -480, -540, -480, -540, -480 } },
	{ "America/St_Johns",
	    { -210, -150, -210, -150, -210, -150, -210, -150 } },
	{ "America/Swift_Current",
	    { -360, -360, -360, -360, -360, -360, -360, -360 } },
	{ "America/Tegucigalpa",
	    { -360, -360, -360, -360, -360, -360, -360, -360 } },
	{ "America/Thule", { -240, -180, -240, -180, -240, -180, -240, -180 } },
	{ "America/Tijuana",
	    { -480, -420, -480, -420, -480, -420, -480, -420 } },
	{ "America/Toronto",
	    { -300, -240, -300, -240, -300, -240, -300, -240 } },
	{ "America/Vancouver",
	    { -480, -420, -480, -420, -480, -420, -480, -420 } },
	{ "America/Whitehorse",
	    { -480, -420, -420, -420, -420, -420, -420, -420 } },
	{ "America/Winnipeg",
	    { -360, -300, -360, -300, -360, -300, -360, -300 } },
	{ "America/Yakutat",
	    { -540, -480, -540, -480, -540, -480, -540, -480 } },
	{ "Antarctica/Casey", { 480, 480, 480, 480, 480, 480, 480, 480 } },
	{ "Antarctica/Davis", { 420, 420, 420, 420, 420, 420, 420, 420 } },
	{ "Antarctica/Macquarie", { 660, 600, 660, 600, 660, 600, 660, 600 } },
	{ "Antarctica/Mawson", { 360, 360, 300, 300, 300, 300, 300, 300 } },
	{ "Antarctica/Palmer",
	    { -180, -240, -180, -180, -180, -180, -180, -180 } },
	{ "Antarctica/Rothera",
	    { -180, -180, -180, -180, -180, -180, -180, -180 } },
	{ "Antarctica/Troll", { 0, 0, 0, 120, 0, 120, 0, 120 } },
	{ "Antarctica/Vostok", { 420, 420, 300, 300, 300, 300, 300, 300 } },
	{ "Asia/Almaty", { 360, 420, 360, 300, 300, 300, 300, 300 } },
	{ "Asia/Amman", { 120, 180, 180, 180, 180, 180, 180, 180 } },
	{ "Asia/Anadyr", { 720, 780, 720, 720, 720, 720, 720, 720 } },
	{ "Asia/Aqtau", { 240, 300, 300, 300, 300, 300, 300, 300 } },
	{ "Asia/Aqtobe", { 300, 360, 300, 300, 300, 300, 300, 300 } },
	{ "Asia/Ashgabat", { 300, 300, 300, 300, 300, 300, 300, 300 } },
	{ "Asia/Atyrau", { 240, 300, 300, 300, 300, 300, 300, 300 } },
	{ "Asia/Baghdad", { 180, 240, 180, 180, 180, 180, 180, 180 } },
	{ "Asia/Baku", { 240, 300, 240, 240, 240, 240, 240, 240 } },
	{ "Asia/Bangkok", { 420, 420, 420, 420, 420, 420, 420, 420 } },
	{ "Asia/Barnaul", { 360, 420, 420, 420, 420, 420, 420, 420 } },
	{ "Asia/Beirut", { 120, 180, 120, 180, 120, 180, 120, 180 } },
	{ "Asia/Bishkek", { 300, 360, 360, 360, 360, 360, 360, 360 } },
	{ "Asia/Chita", { 540, 600, 540, 540, 540, 540, 540, 540 } },
	{ "Asia/Colombo", { 360, 360, 330, 330, 330, 330, 330, 330 } },
	{ "Asia/Damascus", { 120, 180, 180, 180, 180, 180, 180, 180 } },
	{ "Asia/Dhaka", { 360, 360, 360, 360, 360, 360, 360, 360 } },
	{ "Asia/Dili", { 480, 480, 540, 540, 540, 540, 540, 540 } },
	{ "Asia/Dubai", { 240, 240, 240, 240, 240, 240, 240, 240 } },
	{ "Asia/Dushanbe", { 300, 300, 300, 300, 300, 300, 300, 300 } },
	{ "Asia/Famagusta", { 120, 180, 120, 180, 120, 180, 120, 180 } },
	{ "Asia/Gaza", { 120, 180, 120, 180, 120, 180, 120, 180 } },
	{ "Asia/Hebron", { 120, 180, 120, 180, 120, 180, 120, 180 } },
	{ "Asia/Ho_Chi_Minh", { 420, 420, 420, 420, 420, 420, 420, 420 } },
	{ "Asia/Hong_Kong", { 480, 480, 480, 480, 480, 480, 480, 480 } },
	{ "Asia/Hovd", { 420, 420, 420, 420, 420, 420, 420, 420 } },
	{ "Asia/Irkutsk", { 480, 540, 480, 480, 480, 480, 480, 480 } },
	{ "Asia/Jakarta", { 420, 420, 420, 420, 420, 420, 420, 420 } },
	{ "Asia/Jayapura", { 540, 540, 540, 540, 540, 540, 540, 540 } },
	{ "Asia/Jerusalem", { 120, 180, 120, 180, 120, 180, 120, 180 } },
	{ "Asia/Kabul", { 270, 270, 270, 270, 270, 270, 270, 270 } },
	{ "Asia/Kamchatka", { 720, 780, 720, 720, 720, 720, 720, 720 } },
	{ "Asia/Karachi", { 300, 300, 300, 300, 300, 300, 300, 300 } },
	{ "Asia/Kathmandu", { 345, 345, 345, 345, 345, 345, 345, 345 } },
	{ "Asia/Khandyga", { 540, 600, 540, 540, 540, 540, 540, 540 } },
	{ "Asia/Kolkata", { 330, 330, 330, 330, 330, 330, 330, 330 } },
	{ "Asia/Krasnoyarsk", { 420, 480, 420, 420, 420, 420, 420, 420 } },
	{ "Asia/Kuching", { 480, 480, 480, 480, 480, 480, 480, 480 } },
	{ "Asia/Macau", { 480, 480, 480, 480, 480, 480, 480, 480 } },
	{ "Asia/Magadan", { 660, 720, 660, 660, 660, 660, 660, 660 } },
	{ "Asia/Makassar", { 480, 480, 480, 480, 480, 480, 480, 480 } },
	{ "Asia/Manila", { 480, 480, 480, 480, 480, 480, 480, 480 } },
	{ "Asia/Nicosia", { 120, 180, 120, 180, 120, 180, 120, 180 } },
	{ "Asia/Novokuznetsk", { 420, 480, 420, 420, 420, 420, 420, 420 } },
	{ "Asia/Novosibirsk", { 360, 420, 420, 420, 420, 420, 420, 420 } },
	{ "Asia/Omsk", { 360, 420, 360, 360, 360, 360, 360, 360 } },
	{ "Asia/Oral", { 240, 300, 300, 300, 300, 300, 300, 300 } },
	{ "Asia/Pontianak", { 420, 420, 420, 420, 420, 420, 420, 420 } },
	{ "Asia/Pyongyang", { 540, 540, 540, 540, 540, 540, 540, 540 } },
	{ "Asia/Qatar", { 180, 180, 180, 180, 180, 180, 180, 180 } },
	{ "Asia/Qostanay", { 300, 360, 360, 300, 300, 300, 300, 300 } },
	{ "Asia/Qyzylorda", { 300, 360, 300, 300, 300, 300, 300, 300 } },
	{ "Asia/Riyadh", { 180, 180, 180, 180, 180, 180, 180, 180 } },
	{ "Asia/Sakhalin", { 600, 660, 660, 660, 660, 660, 660, 660 } },
	{ "Asia/Samarkand", { 300, 300, 300, 300, 300, 300, 300, 300 } },
	{ "Asia/Seoul", { 540, 540, 540, 540, 540, 540, 540, 540 } },
	{ "Asia/Shanghai", { 480, 480, 480, 480, 480, 480, 480, 480 } },
	{ "Asia/Singapore", { 480, 480, 480, 480, 480, 480, 480, 480 } },
	{ "Asia/Srednekolymsk", { 660, 720, 660, 660, 660, 660, 660, 660 } },
	{ "Asia/Taipei", { 480, 480, 480, 480, 480, 480, 480, 480 } },
	{ "Asia/Tashkent", { 300, 300, 300, 300, 300, 300, 300, 300 } },
	{ "Asia/Tbilisi", { 240, 300, 240, 240, 240, 240, 240, 240 } },
	{ "Asia/Tehran", { 210, 270, 210, 210, 210, 210, 210, 210 } },
	{ "Asia/Thimphu", { 360, 360, 360, 360, 360, 360, 360, 360 } },
	{ "Asia/Tokyo", { 540, 540, 540, 540, 540, 540, 540, 540 } },
	{ "Asia/Tomsk", { 420, 480, 420, 420, 420, 420, 420, 420 } },
	{ "Asia/Ulaanbaatar", { 480, 480, 480, 480, 480, 480, 480, 480 } },
	{ "Asia/Urumqi", { 360, 360, 360, 360, 360, 360, 360, 360 } },
	{ "Asia/Ust-Nera", { 660, 720, 600, 600, 600, 600, 600, 600 } },
	{ "Asia/Vladivostok", { 600, 660, 600, 600, 600, 600, 600, 600 } },
	{ "Asia/Yakutsk", { 540, 600, 540, 540, 540, 540, 540, 540 } },
	{ "Asia/Yangon", { 390, 390, 390, 390, 390, 390, 390, 390 } },
	{ "Asia/Yekaterinburg", { 300, 360, 300, 300, 300, 300, 300, 300 } },
	{ "Asia/Yerevan", { 240, 300, 240, 240, 240, 240, 240, 240 } },
	{ "Atlantic/Azores", { -60, 0, -60, 0, -60, 0, -60, 0 } },
	{ "Atlantic/Bermuda",
	    { -240, -180, -240, -180, -240, -180, -240, -180 } },
	{ "Atlantic/Canary", { 0, 60, 0, 60, 0, 60, 0, 60 } },
	{ "Atlantic/Cape_Verde", { -60, -60, -60, -60, -60, -60, -60, -60 } },
	{ "Atlantic/Faroe", { 0, 60, 0, 60, 0, 60, 0, 60 } },
	{ "Atlantic/Madeira", { 0, 60, 0, 60, 0, 60, 0, 60 } },
	{ "Atlantic/South_Georgia",
	    { -120, -120, -120, -120, -120, -120, -120, -120 } },
	{ "Atlantic/Stanley",
	    { -180, -240, -180, -180, -180, -180, -180, -180 } },
	{ "Australia/Adelaide", { 630, 570, 630, 570, 630, 570, 630, 570 } },
	{ "Australia/Brisbane", { 600, 600, 600, 600, 600, 600, 600, 600 } },
	{ "Australia/Broken_Hill", { 630, 570, 630, 570, 630, 570, 630, 570 } },
	{ "Australia/Darwin", { 570, 570, 570, 570, 570, 570, 570, 570 } },
	{ "Australia/Eucla", { 525, 525, 525, 525, 525, 525, 525, 525 } },
	{ "Australia/Hobart", { 660, 600, 660, 600, 660, 600, 660, 600 } },
	{ "Australia/Lindeman", { 600, 600, 600, 600, 600, 600, 600, 600 } },
	{ "Australia/Lord_Howe", { 660, 630, 660, 630, 660, 630, 660, 630 } },
	{ "Australia/Melbourne", { 660, 600, 660, 600, 660, 600, 660, 600 } },
	{ "Australia/Perth", { 480, 480, 480, 480, 480, 480, 480, 480 } },
	{ "Australia/Sydney", { 660, 600, 660, 600, 660, 600, 660, 600 } },
	{ "Europe/Andorra", { 60, 120, 60, 120, 60, 120, 60, 120 } },
	{ "Europe/Astrakhan", { 180, 240, 240, 240, 240, 240, 240, 240 } },
	{ "Europe/Athens", { 120, 180, 120, 180, 120, 180, 120, 180 } },
	{ "Europe/Belgrade", { 60, 120, 60, 120, 60, 120, 60, 120 } },
	{ "Europe/Berlin", { 60, 120, 60, 120, 60, 120, 60, 120 } },
	{ "Europe/Brussels", { 60, 120, 60, 120, 60, 120, 60, 120 } },
	{ "Europe/Bucharest", { 120, 180, 120, 180, 120, 180, 120, 180 } },
	{ "Europe/Budapest", { 60, 120, 60, 120, 60, 120, 60, 120 } },
	{ "Europe/Chisinau", { 120, 180, 120, 180, 120, 180, 120, 180 } },
	{ "Europe/Dublin", { 0, 60, 0, 60, 0, 60, 0, 60 } },
	{ "Europe/Gibraltar", { 60, 120, 60, 120, 60, 120, 60, 120 } },
	{ "Europe/Helsinki", { 120, 180, 120, 180, 120, 180, 120, 180 } },
	{ "Europe/Istanbul", { 120, 180, 180, 180, 180, 180, 180, 180 } },
	{ "Europe/Kaliningrad", { 120, 180, 120, 120, 120, 120, 120, 120 } },
	{ "Europe/Kirov", { 180, 240, 180, 180, 180, 180, 180, 180 } },
	{ "Europe/Kyiv", { 120, 180, 120, 180, 120, 180, 120, 180 } },
	{ "Europe/Lisbon", { 0, 60, 0, 60, 0, 60, 0, 60 } },
	{ "Europe/London", { 0, 60, 0, 60, 0, 60, 0, 60 } },
	{ "Europe/Madrid", { 60, 120, 60, 120, 60, 120, 60, 120 } },
	{ "Europe/Malta", { 60, 120, 60, 120, 60, 120, 60, 120 } },
	{ "Europe/Minsk", { 120, 180, 180, 180, 180, 180, 180, 180 } },
	{ "Europe/Moscow", { 180, 240, 180, 180, 180, 180, 180, 180 } },
	{ "Europe/Paris", { 60, 120, 60, 120, 60, 120, 60, 120 } },
	{ "Europe/Prague", { 60, 120, 60, 120, 60, 120, 60, 120 } },
	{ "Europe/Riga", { 120, 120, 120, 180, 120, 180, 120, 180 } },
	{ "Europe/Rome", { 60, 120, 60, 120, 60, 120, 60, 120 } },
	{ "Europe/Samara", { 240, 300, 240, 240, 240, 240, 240, 240 } },
	{ "Europe/Saratov", { 180, 240, 240, 240, 240, 240, 240, 240 } },
	{ "Europe/Simferopol", { 120, 180, 180, 180, 180, 180, 180, 180 } },
	{ "Europe/Sofia", { 120, 180, 120, 180, 120, 180, 120, 180 } },
	{ "Europe/Tallinn", { 120, 120, 120, 180, 120, 180, 120, 180 } },
	{ "Europe/Tirane", { 60, 120, 60, 120, 60, 120, 60, 120 } },
	{ "Europe/Ulyanovsk", { 180, 240, 240, 240, 240, 240, 240, 240 } },
	{ "Europe/Vienna", { 60, 120, 60, 120, 60, 120, 60, 120 } },
	{ "Europe/Vilnius", { 120, 120, 120, 180, 120, 180, 120, 180 } },
	{ "Europe/Volgograd", { 180, 240, 180, 180, 180, 180, 180, 180 } },
	{ "Europe/Warsaw", { 60, 120, 60, 120, 60, 120, 60, 120 } },
	{ "Europe/Zurich", { 60, 120, 60, 120, 60, 120, 60, 120 } },
	{ "Indian/Chagos", { 360, 360, 360, 360, 360, 360, 360, 360 } },
	{ "Indian/Maldives", { 300, 300, 300, 300, 300, 300, 300, 300 } },
	{ "Indian/Mauritius", { 240, 240, 240, 240, 240, 240, 240, 240 } },
	{ "Pacific/Apia", { -660, -660, 780, 780, 780, 780, 780, 780 } },
	{ "Pacific/Auckland", { 780, 720, 780, 720, 780, 720, 780, 720 } },
	{ "Pacific/Bougainville", { 600, 600, 660, 660, 660, 660, 660, 660 } },
	{ "Pacific/Chatham", { 825, 765, 825, 765, 825, 765, 825, 765 } },
	{ "Pacific/Easter",
	    { -300, -360, -300, -360, -300, -360, -300, -360 } },
	{ "Pacific/Efate", { 660, 660, 660, 660, 660, 660, 660, 660 } },
	{ "Pacific/Fakaofo", { -660, -660, 780, 780, 780, 780, 780, 780 } },
	{ "Pacific/Fiji", { 780, 720, 720, 720, 720, 720, 720, 720 } },
	{ "Pacific/Galapagos",
	    { -360, -360, -360, -360, -360, -360, -360, -360 } },
	{ "Pacific/Gambier",
	    { -540, -540, -540, -540, -540, -540, -540, -540 } },
	{ "Pacific/Guadalcanal", { 660, 660, 660, 660, 660, 660, 660, 660 } },
	{ "Pacific/Guam", { 600, 600, 600, 600, 600, 600, 600, 600 } },
	{ "Pacific/Honolulu",
	    { -600, -600, -600, -600, -600, -600, -600, -600 } },
	{ "Pacific/Kanton", { 780, 780, 780, 780, 780, 780, 780, 780 } },
	{ "Pacific/Kiritimati", { 840, 840, 840, 840, 840, 840, 840, 840 } },
	{ "Pacific/Kosrae", { 660, 660, 660, 660, 660, 660, 660, 660 } },
	{ "Pacific/Kwajalein", { 720, 720, 720, 720, 720, 720, 720, 720 } },
	{ "Pacific/Marquesas",
	    { -570, -570, -570, -570, -570, -570, -570, -570 } },
	{ "Pacific/Nauru", { 720, 720, 720, 720, 720, 720, 720, 720 } },
	{ "Pacific/Niue", { -660, -660, -660, -660, -660, -660, -660, -660 } },
	{ "Pacific/Norfolk", { 690, 690, 720, 660, 720, 660, 720, 660 } },
	{ "Pacific/Noumea", { 660, 660, 660, 660, 660, 660, 660, 660 } },
	{ "Pacific/Pago_Pago",
	    { -660, -660, -660, -660, -660, -660, -660, -660 } },
	{ "Pacific/Palau", { 540, 540, 540, 540, 540, 540, 540, 540 } },
	{ "Pacific/Pitcairn",
	    { -480, -480, -480, -480, -480, -480, -480, -480 } },
	{ "Pacific/Port_Moresby", { 600, 600, 600, 600, 600, 600, 600, 600 } },
	{ "Pacific/Rarotonga",
	    { -600, -600, -600, -600, -600, -600, -600, -600 } },
	{ "Pacific/Tahiti",
	    { -600, -600, -600, -600, -600, -600, -600, -600 } },
	{ "Pacific/Tarawa", { 720, 720, 720, 720, 720, 720, 720, 720 } },
	{ "Pacific/Tongatapu", { 840, 780, 780, 780, 780, 780, 780, 780 } },
};

static bool
tzdata_is(const char *version)
{
	char line[64] = "", want[64];
	FILE *f = fopen(ZONEINFO "/tzdata.zi", "r");

	if (f == NULL)
		return false;
	if (fgets(line, sizeof(line), f) == NULL)
		line[0] = '\0';
	fclose(f);
	snprintf(want, sizeof(want), "# version %s\n", version);
	return strcmp(line, want) == 0;
}

/* Exact for the tzdata the table came from, plausible for any other. */
START_TEST(test_all_zones_table)
{
	bool exact = tzdata_is(TZDATA_VERSION);

	if (!exact)
		fprintf(stderr, "test_tz: tzdata is not " TZDATA_VERSION
		    "; checking all_zones[] for plausibility only\n");
	for (int i = 0; i < N(all_zones); i++) {
		struct tz *tz = load(all_zones[i].zone);
		for (int j = 0; j < 8; j++) {
			char at[32];
			snprintf(at, sizeof(at), "%d-%02d-15T12:00:00Z",
			    at_years[j / 2], j % 2 ? 7 : 1);
			int32_t o = tz_offset_at(tz, iso(at));
			int32_t want = all_zones[i].minutes[j] * 60;
			ck_assert_msg(o >= -14 * HOUR && o <= 14 * HOUR,
			    "%s %s %d", all_zones[i].zone, at, o);
			ck_assert_msg(!exact || o == want,
			    "%s at %s: %d, want %d", all_zones[i].zone, at, o,
			    want);
		}
		tz_free(&tz);
	}
}
END_TEST

/* Zone names from zone1970.tab (column 3), or tzdata.zi's "Z name" and
 * "L target name" lines; at most max, each under TZ_NAME_MAX. */
static int
read_names(const char *file, char names[][TZ_NAME_MAX + 1], int max)
{
	char line[1024];
	int n = 0;
	bool tab = strstr(file, ".tab") != NULL;
	FILE *f = fopen(file, "r");

	ck_assert_msg(f != NULL, "%s", file);
	while (n < max && fgets(line, sizeof(line), f) != NULL) {
		char *field[3] = { NULL, NULL, NULL }, *save = NULL, *p = line;
		int k = 0;
		for (; k < 3 && (field[k] = strtok_r(p, " \t\n", &save)); k++)
			p = NULL;
		if (tab && line[0] != '#' && k == 3)
			snprintf(names[n++], TZ_NAME_MAX + 1, "%s", field[2]);
		else if (!tab && k >= 2 && strcmp(field[0], "Z") == 0)
			snprintf(names[n++], TZ_NAME_MAX + 1, "%s", field[1]);
		else if (!tab && k == 3 && strcmp(field[0], "L") == 0)
			snprintf(names[n++], TZ_NAME_MAX + 1, "%s", field[2]);
	}
	fclose(f);
	return n;
}

#define MAX_ZONES	2000
static char zone_names[MAX_ZONES][TZ_NAME_MAX + 1];

/* Every zone and link tzdata.zi names loads. */
START_TEST(test_all_names_load)
{
	int n = read_names(ZONEINFO "/tzdata.zi", zone_names, MAX_ZONES);

	ck_assert_int_gt(n, 400);
	for (int i = 0; i < n; i++) {
		struct tz *tz = load(zone_names[i]);
		int32_t o = tz_offset_at(tz, 1795462200);
		ck_assert_msg(o >= -14 * HOUR && o <= 14 * HOUR, "%s %d",
		    zone_names[i], o);
		tz_free(&tz);
	}
}
END_TEST

/* glibc's localtime_r() with TZ set reads the same files: offset, DST
 * flag and abbreviation agree for every zone, 1901 to 2100. */
START_TEST(test_against_glibc)
{
	int n = read_names(ZONEINFO "/zone1970.tab", zone_names, MAX_ZONES);

	ck_assert_int_gt(n, 200);
	for (int i = 0; i < n; i++) {
		struct tz *tz = load(zone_names[i]);
		setenv("TZ", zone_names[i], 1);
		tzset();
		for (int64_t t = -2177452800LL; t < 4102444800LL;
		    t += 11 * DAY + 5 * HOUR + 1043) {
			time_t tt = (time_t)t;
			struct tm tm;
			struct tz_info info;
			localtime_r(&tt, &tm);
			tz_info_at(tz, t, &info);
			CHECK(info.utoff == tm.tm_gmtoff &&
			    info.isdst == (tm.tm_isdst > 0) &&
			    strcmp(info.abbr, tm.tm_zone) == 0,
			    "%s at %lld: %d %d %s, glibc %ld %d %s",
			    zone_names[i], (long long)t, info.utoff, info.isdst,
			    info.abbr, tm.tm_gmtoff, tm.tm_isdst, tm.tm_zone);
		}
		tz_free(&tz);
	}
	unsetenv("TZ");
	tzset();
}
END_TEST

/* The first instant in (lo, hi] whose offset differs from lo's. */
static int64_t
bisect(const struct tz *tz, int64_t lo, int64_t hi)
{
	int32_t o = tz_offset_at(tz, lo);

	while (hi - lo > 1) {
		int64_t mid = lo + (hi - lo) / 2;
		if (tz_offset_at(tz, mid) == o)
			lo = mid;
		else
			hi = mid;
	}
	return hi;
}

/* At one transition T (offsets a before, b after, no other transition
 * within two days): wall times around it convert as Python's fold=0. */
static void
check_transition(const struct tz *tz, int64_t T)
{
	int32_t a = tz_offset_at(tz, T - 1), b = tz_offset_at(tz, T);
	int64_t lo = T + (a < b ? a : b), hi = T + (a < b ? b : a);
	int64_t ls[] = { lo - 1, lo, lo + (hi - lo) / 2, hi - 1, hi };

	for (int i = 0; i < N(ls); i++) {
		int64_t l = ls[i], utc = 0, want;
		bool first = l - a + tz_offset_at(tz, l - a) == l;
		bool second = l - b + tz_offset_at(tz, l - b) == l;
		int kind = tz_local_to_utc(tz, l, &utc), want_kind;
		if (!first && !second) {
			want = l - a;
			want_kind = TZ_LOCAL_GAP;
		} else {
			want = first ? l - a : l - b;	/* l - a < l - b here */
			want_kind = first && second ? TZ_LOCAL_OVERLAP :
			    TZ_LOCAL_UNIQUE;
		}
		CHECK(kind == want_kind && utc == want,
		    "%s local %lld: %d %lld, want %d %lld", tz_name(tz),
		    (long long)l, kind, (long long)utc, want_kind,
		    (long long)want);
	}
}

/* Every transition of every zone from 1970 to 2060, found by scanning
 * daily and bisecting, converts back like check_transition() says, and
 * every instant's own wall time converts back to it or an earlier one. */
START_TEST(test_all_transitions)
{
	int n = read_names(ZONEINFO "/zone1970.tab", zone_names, MAX_ZONES);

	for (int i = 0; i < n; i++) {
		struct tz *tz = load(zone_names[i]);
		int64_t prev_T = INT64_MIN / 2, T = INT64_MIN / 2, next_T;
		for (int64_t t = 0; t < 90 * 365 * DAY; t += DAY) {
			if (tz_offset_at(tz, t) == tz_offset_at(tz, t + DAY))
				continue;
			next_T = bisect(tz, t, t + DAY);
			bool alone = T - prev_T > 2 * DAY &&
			    next_T - T > 2 * DAY;
			if (T > 0 && alone)
				check_transition(tz, T);
			prev_T = T;
			T = next_T;
		}
		for (int64_t t = 0; t < 90 * 365 * DAY; t += 3 * DAY + 7919) {
			int64_t l = t + tz_offset_at(tz, t), utc;
			int kind = tz_local_to_utc(tz, l, &utc);
			CHECK(kind != TZ_LOCAL_GAP && utc <= t &&
			    utc + tz_offset_at(tz, utc) == l &&
			    (kind != TZ_LOCAL_UNIQUE || utc == t),
			    "%s at %lld: kind %d utc %lld", tz_name(tz),
			    (long long)t, kind, (long long)utc);
		}
		tz_free(&tz);
	}
}
END_TEST

/* ---- The cache ---- */

static const char *const cache_zones[] = {
	"UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata",
	"Australia/Lord_Howe", "America/Sao_Paulo", "Pacific/Apia",
	"Europe/London", "Asia/Tokyo", "Africa/Casablanca", "America/Nuuk",
	"Asia/Jerusalem",
};
static int32_t cache_want[GENT_ARRAY_LEN(cache_zones)][4];
static const int64_t cache_at[4] = { 0, 1711846800, 1795462200, 2224936800 };

static void *
cache_worker(void *arg)
{
	intptr_t bad = 0;
	int seed = (int)(intptr_t)arg;

	for (int round = 0; round < 200; round++) {
		int i = (round * 7 + seed) % N(cache_zones);
		const struct tz *tz = NULL;
		const char *error;
		if (tz_get(cache_zones[i], &tz, &error) != 0) {
			bad++;
			continue;
		}
		for (int j = 0; j < 4; j++)
			if (tz_offset_at(tz, cache_at[j]) != cache_want[i][j])
				bad++;
	}
	return (void *)bad;
}

START_TEST(test_cache_threads)
{
	pthread_t th[8];
	const struct tz *a, *b;
	const char *error;

	for (int i = 0; i < N(cache_zones); i++) {
		struct tz *tz = load(cache_zones[i]);
		for (int j = 0; j < 4; j++)
			cache_want[i][j] = tz_offset_at(tz, cache_at[j]);
		tz_free(&tz);
	}
	for (int i = 0; i < N(th); i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, cache_worker,
		    (void *)(intptr_t)i), 0);
	for (int i = 0; i < N(th); i++) {
		void *bad;
		pthread_join(th[i], &bad);
		ck_assert_int_eq((intptr_t)bad, 0);
	}
	ck_assert_int_eq(tz_get("Europe/Paris", &a, &error), 0);
	ck_assert_int_eq(tz_get("Europe/Paris", &b, &error), 0);
	ck_assert_ptr_eq(a, b);
	ck_assert_str_eq(tz_name(a), "Europe/Paris");
	ck_assert_int_eq(tz_get("Europe/London", &b, &error), 0);
	ck_assert_ptr_ne(a, b);
	ck_assert_int_eq(tz_get("Nope/Nowhere", &b, &error), -1);
	tz_cache_free();
	ck_assert_int_eq(tz_get("Europe/Paris", &a, &error), 0);
	ck_assert_int_eq(tz_offset_at(a, 1711846800), 7200);
	tz_cache_free();
}
END_TEST

static Suite *
tz_suite(void)
{
	Suite *s = suite_create("tz");
	TCase *tc;

	tc = tcase_create("zones");
	tcase_add_loop_test(tc, test_offsets, 0, N(offset_cases));
	tcase_add_loop_test(tc, test_local, 0, N(local_cases));
	tcase_add_loop_test(tc, test_format, 0, N(format_cases));
	tcase_add_test(tc, test_format_round_trip);
	tcase_add_test(tc, test_utc);
	suite_add_tcase(s, tc);

	tc = tcase_create("footer");
	tcase_add_loop_test(tc, test_footer, 0, N(footer_cases));
	tcase_add_test(tc, test_footer_all_year_dst);
	tcase_add_test(tc, test_footer_edges);
	tcase_add_loop_test(tc, test_bad_footer, 0, N(bad_footers));
	suite_add_tcase(s, tc);

	tc = tcase_create("parse");
	tcase_add_test(tc, test_v1);
	tcase_add_test(tc, test_v2_footer_after_table);
	tcase_add_loop_test(tc, test_corrupt_v1, 0, N(corruptions));
	tcase_add_test(tc, test_corrupt_footer_framing);
	tcase_add_test(tc, test_too_large);
	tcase_add_test(tc, test_prefixes);
	tcase_add_test(tc, test_bit_flips);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);

	tc = tcase_create("names");
	tcase_add_loop_test(tc, test_bad_name, 0, N(bad_names));
	tcase_add_test(tc, test_names);
	suite_add_tcase(s, tc);

	tc = tcase_create("all");
	tcase_add_test(tc, test_all_zones_table);
	tcase_add_test(tc, test_all_names_load);
	tcase_add_test(tc, test_against_glibc);
	tcase_add_test(tc, test_all_transitions);
	tcase_set_timeout(tc, 100);
	suite_add_tcase(s, tc);

	tc = tcase_create("cache");
	tcase_add_test(tc, test_cache_threads);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(tz_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

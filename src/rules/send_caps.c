/*
 * send_caps.c - send cap periods and verdicts (see send_caps.h).
 */
#include <jansson.h>
#include <string.h>
#include <time.h>

#include "gent/send_caps.h"
#include "gent/timefmt.h"

#define DAY_MS (24LL * 3600 * 1000)

int64_t
send_caps_period_start(const char *period, int64_t now)
{
	int64_t day = (now >= 0 ? now : now - DAY_MS + 1) / DAY_MS;
	time_t t = (time_t)(now / 1000);
	struct tm tm;

	if (strcmp(period, "weekly") == 0)	/* 1970-01-01 was a Thursday */
		return (day - ((day % 7 + 7 + 3) % 7)) * DAY_MS;
	if (strcmp(period, "monthly") == 0) {
		gmtime_r(&t, &tm);
		return time_days_from_civil(tm.tm_year + 1900, tm.tm_mon + 1, 1) * DAY_MS;
	}
	return day * DAY_MS;
}

int64_t
send_caps_period_end(const char *period, int64_t now)
{
	int64_t start = send_caps_period_start(period, now);
	time_t t = (time_t)(start / 1000);
	struct tm tm;

	if (strcmp(period, "weekly") == 0)
		return start + 7 * DAY_MS;
	if (strcmp(period, "monthly") == 0) {
		gmtime_r(&t, &tm);
		return time_days_from_civil(tm.tm_year + 1900 + (tm.tm_mon == 11),
		    tm.tm_mon == 11 ? 1 : tm.tm_mon + 2, 1) * DAY_MS;
	}
	return start + DAY_MS;
}

enum send_cap_verdict
send_caps_check(const char *mode, int64_t limit, int64_t sent)
{
	if (sent < limit)
		return SEND_CAP_OK;
	if (strcmp(mode, "hold") == 0)
		return SEND_CAP_HOLD;
	if (strcmp(mode, "allow_and_bill") == 0)
		return SEND_CAP_OVERAGE;
	return SEND_CAP_REFUSE;
}

int64_t
caps_percent(int64_t used, int64_t limit)
{
	return limit > 0 ? used * 100 / limit : 100;
}

int64_t
caps_threshold_crossed(const char *thresholds_json, int64_t before, int64_t after,
    int64_t limit)
{
	json_t *a = thresholds_json ? json_loads(thresholds_json, 0, NULL) : NULL;
	int64_t from = caps_percent(before, limit), to = caps_percent(after, limit);
	int64_t crossed = 0;
	size_t i;
	json_t *t;

	json_array_foreach(a, i, t) {
		json_int_t v = json_is_integer(t) ? json_integer_value(t) : 0;
		if (v > from && v <= to && v > crossed)
			crossed = v;
	}
	json_decref(a);
	return crossed;
}

/*
 * timefmt.c - ISO 8601 formatting and a strict parser for API inputs.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "gent/timefmt.h"

int64_t
time_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
time_format_iso(int64_t ms, char out[TIMEFMT_ISO_LEN])
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, TIMEFMT_ISO_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Read exactly n digits; -1 when any is missing. */
static int
digits(const char **p, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++, (*p)++) {
		if (!isdigit((unsigned char)**p))
			return -1;
		v = v * 10 + (**p - '0');
	}
	return v;
}

static int
days_in_month(int y, int m)
{
	static const int d[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return d[m - 1] + (m == 2 && leap);
}

int64_t
time_days_from_civil(int y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int
parse_zone(const char *p, int *offset_min)
{
	if (*p == '\0' || strcmp(p, "Z") == 0 || strcmp(p, "z") == 0) {
		*offset_min = 0;
		return 0;
	}
	if (*p != '+' && *p != '-')
		return -1;
	int sign = *p++ == '-' ? -1 : 1;
	int hh = digits(&p, 2);
	if (*p == ':')
		p++;
	int mm = digits(&p, 2);
	if (hh < 0 || mm < 0 || hh > 23 || mm > 59 || *p != '\0')
		return -1;
	*offset_min = sign * (hh * 60 + mm);
	return 0;
}

int
time_parse_iso(const char *s, int64_t *ms_r)
{
	const char *p = s;
	int y, mo, d, h = 0, mi = 0, sec = 0, ms = 0, off = 0;

	if ((y = digits(&p, 4)) < 0 || *p++ != '-' || (mo = digits(&p, 2)) < 0 ||
	    *p++ != '-' || (d = digits(&p, 2)) < 0)
		return -1;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
		return -1;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		p++;
		if ((h = digits(&p, 2)) < 0 || *p++ != ':' || (mi = digits(&p, 2)) < 0)
			return -1;
		if (*p == ':') {
			p++;
			if ((sec = digits(&p, 2)) < 0)
				return -1;
			if (*p == '.') {
				int n = 0;
				for (p++; isdigit((unsigned char)*p); p++, n++)
					if (n < 3)
						ms = ms * 10 + (*p - '0');
				if (n == 0)
					return -1;
				for (; n < 3; n++)
					ms *= 10;
			}
		}
		if (h > 23 || mi > 59 || sec > 60)
			return -1;
		if (parse_zone(p, &off) != 0)
			return -1;
	} else if (*p != '\0') {
		return -1;
	}
	int64_t days = time_days_from_civil(y, mo, d);
	*ms_r = ((days * 86400 + h * 3600 + mi * 60 + sec) - off * 60) * 1000 + ms;
	return 0;
}

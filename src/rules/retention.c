/*
 * retention.c - retention periods (see retention.h).
 */
#include <string.h>

#include "gent/retention.h"

#define DAY_MS (24LL * 3600 * 1000)

const char *const retention_periods[] = { "30d", "90d", "6m", "1y",
    "indefinite", NULL };

static const int64_t period_ms[] = { 30 * DAY_MS, 90 * DAY_MS, 182 * DAY_MS,
    365 * DAY_MS, RETENTION_FOREVER };

int64_t
retention_period_ms(const char *name)
{
	for (int i = 0; name && retention_periods[i]; i++)
		if (strcmp(name, retention_periods[i]) == 0)
			return period_ms[i];
	return -1;
}

int64_t
retention_effective(int64_t inbox_ms, int64_t label_ms)
{
	return label_ms >= 0 ? label_ms : inbox_ms;
}

bool
retention_expired(int64_t received_at, int64_t period, int64_t now)
{
	return period != RETENTION_FOREVER && period >= 0 && received_at < now - period;
}

/*
 * relay_retry.c - the retry schedule (see relay_retry.h).
 */
#include <stdlib.h>
#include <string.h>

#include "gent/conf.h"
#include "gent/relay_retry.h"
#include "gent/util.h"

#define FALLBACK_MS (5 * 60 * 1000)

/* The delay for the n-th failure (1-based) from "a,b,c". */
static uint64_t
delay_for(const char *schedule, int64_t n)
{
	char *copy = xstrdup(schedule ? schedule : ""), *save = NULL;
	uint64_t delay = FALLBACK_MS, ms;
	int64_t i = 0;

	for (char *p = strtok_r(copy, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
		while (*p == ' ')
			p++;
		if (conf_parse_duration(p, &ms) != 0)
			break;
		delay = ms;
		if (++i >= n)
			break;
	}
	free(copy);
	return delay;
}

int64_t
relay_retry_at(const char *schedule, int64_t failures, int64_t now,
    int64_t created_at, uint64_t lifetime_ms, bool *expired_r)
{
	int64_t next = now + (int64_t)delay_for(schedule, failures < 1 ? 1 : failures);

	*expired_r = next > created_at + (int64_t)lifetime_ms;
	return next;
}

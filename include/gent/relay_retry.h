/*
 * relay_retry.h - when a deferred delivery is tried again. Pure.
 *
 * relay_retry_schedule is a list of delays ("5m,15m,1h,4h,12h"): the
 * first failure waits the first delay, the second the second, and so on;
 * past the end the last delay repeats. A message whose next attempt
 * would fall after created_at + queue_lifetime is given up instead (and
 * bounced to its sender).
 */
#ifndef GENT_RELAY_RETRY_H
#define GENT_RELAY_RETRY_H

#include <stdbool.h>
#include <stdint.h>

/**
 * The time of the next attempt after failures attempts have failed (1 =
 * the first). *expired_r is true when the queue lifetime is over. An
 * unreadable schedule falls back to 5 minutes.
 */
int64_t relay_retry_at(const char *schedule, int64_t failures, int64_t now,
    int64_t created_at, uint64_t lifetime_ms, bool *expired_r);

#endif

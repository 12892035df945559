/*
 * retention.h - how long content is kept: the periods the spec offers
 * (30 days, 90 days, 6 months, 1 year, indefinitely) and which one
 * applies to a message. Pure.
 *
 * An inbox sets a period for messages and one for attachments (config
 * "retention"); a label's retention policy overrides both for the
 * messages carrying it, longer or shorter. With several such labels the
 * longest wins: keeping too long is recoverable, deleting is not.
 */
#ifndef GENT_RETENTION_H
#define GENT_RETENTION_H

#include <stdbool.h>
#include <stdint.h>

#define RETENTION_FOREVER INT64_MAX

/** The period names, NULL-terminated: "30d", "90d", "6m", "1y", "indefinite". */
extern const char *const retention_periods[];

/** Milliseconds of a period name (RETENTION_FOREVER for "indefinite"), or
 *  -1 when name is not one of retention_periods. */
int64_t retention_period_ms(const char *name);

/**
 * The period that applies: label_ms when a label set one (>= 0), else
 * inbox_ms. Both in ms, RETENTION_FOREVER for never.
 */
int64_t retention_effective(int64_t inbox_ms, int64_t label_ms);

/** Has content received at received_at outlived period_ms at now? */
bool retention_expired(int64_t received_at, int64_t period_ms, int64_t now);

#endif

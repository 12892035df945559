/*
 * timefmt.h - wall-clock time in milliseconds and ISO 8601 text.
 */
#ifndef GENT_TIMEFMT_H
#define GENT_TIMEFMT_H

#include <stdint.h>

#define TIMEFMT_ISO_LEN 32

/** Milliseconds since the Unix epoch (CLOCK_REALTIME). */
int64_t time_now_ms(void);
/** Days from 1970-01-01 to y-m-d (proleptic Gregorian; may be negative). */
int64_t time_days_from_civil(int y, int m, int d);
/** Format ms as "2026-11-23T19:30:00Z" (UTC, second precision). */
void time_format_iso(int64_t ms, char out[TIMEFMT_ISO_LEN]);
/**
 * Parse "YYYY-MM-DD", "YYYY-MM-DDTHH:MM[:SS[.fff]]" with "Z" or "+HH:MM"
 * (no zone = UTC) into ms. 0 on success, -1 when malformed or out of range.
 */
int time_parse_iso(const char *s, int64_t *ms_r);

#endif

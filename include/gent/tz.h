/*
 * tz.h - IANA time zones read from the system's TZif files, without TZ.
 *
 * glibc's localtime_r() follows the process-global TZ, but the API renders
 * each inbox's times in that inbox's own zone from worker threads. A
 * struct tz is parsed once from /usr/share/zoneinfo/<name> (RFC 8536:
 * transitions, then the POSIX TZ footer for later instants) and is
 * immutable afterwards, so any number of threads may use it at once.
 * Times are seconds since the Unix epoch; leap seconds do not exist here.
 */
#ifndef GENT_TZ_H
#define GENT_TZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TZ_ISO_LEN	40	/* tz_format_iso() output, with room to spare */
#define TZ_NAME_MAX	128	/* longest zone name tz_load() accepts */
#define TZ_FILE_MAX	(1024 * 1024)	/* TZif files must be smaller */
#define TZ_CACHE_MAX	1024	/* distinct names tz_get() keeps */

/* tz_local_to_utc() results besides -1. */
#define TZ_LOCAL_UNIQUE		0	/* the wall time occurs exactly once */
#define TZ_LOCAL_OVERLAP	1	/* occurs twice; the earlier is used */
#define TZ_LOCAL_GAP		2	/* skipped by a transition; shifted */

struct tz;	/* opaque; immutable once loaded */

/* What a zone says about one instant. */
struct tz_info {
	int32_t		 utoff;	/* seconds east of UTC */
	bool		 isdst;	/* daylight saving time per tzdata */
	const char	*abbr;	/* "CEST", "+0530"; owned by the struct tz */
};

/**
 * Load the zone "name" ("Europe/Paris", "America/New_York", "UTC") from
 * /usr/share/zoneinfo. Names containing "..", starting with '/', with a
 * component that is empty or starts with '.', or with characters outside
 * [A-Za-z0-9._+-/] (or over TZ_NAME_MAX bytes) are
 * refused before any file is opened, as is anything that is not a
 * regular TZif file under TZ_FILE_MAX bytes. "UTC" is built in and needs
 * no file. Returns 0 with *tz_r set (free with tz_free()), or -1 with
 * *error_r set to a static message.
 */
int tz_load(const char *name, struct tz **tz_r, const char **error_r);

/**
 * Parse TZif data already in memory (len < TZ_FILE_MAX); "name" is only
 * recorded for tz_name(). Version 2+ files use their 64-bit section and
 * footer, version 1 files their 32-bit data. Zones with leap-second
 * records ("right/...") are refused. 0 with *tz_r, or -1 with *error_r.
 */
int tz_parse(const char *name, const void *data, size_t len,
    struct tz **tz_r, const char **error_r);

/** Free *tz and set it to NULL; NULL and *tz == NULL are fine. */
void tz_free(struct tz **tz);

/** The name the zone was loaded under. */
const char *tz_name(const struct tz *tz);

/** True when the zone is UTC at every instant (UTC, Etc/UTC, Etc/GMT). */
bool tz_is_utc(const struct tz *tz);

/** Offset, DST flag and abbreviation in effect at utc_seconds. */
void tz_info_at(const struct tz *tz, int64_t utc_seconds,
    struct tz_info *info_r);

/** Seconds east of UTC in effect at utc_seconds. */
int32_t tz_offset_at(const struct tz *tz, int64_t utc_seconds);

/**
 * Convert a naive wall time (seconds since 1970-01-01T00:00 local) to UTC
 * in *utc_r. When the wall time occurs twice (fall back) the earlier
 * instant is chosen and TZ_LOCAL_OVERLAP returned. When a transition
 * skips it (spring forward) it is read with the offset in effect before
 * the transition, which lands it after the gap shifted by the gap's
 * length: Europe/Paris 2026-03-29 02:30 becomes 01:30Z, shown as 03:30
 * local; TZ_LOCAL_GAP is returned. Otherwise TZ_LOCAL_UNIQUE. These are
 * Python's fold=0 rules. -1 when local_seconds is beyond +-2^56.
 */
int tz_local_to_utc(const struct tz *tz, int64_t local_seconds,
    int64_t *utc_r);

/**
 * Format ms (since the epoch, UTC) as local time in the zone, second
 * precision: "2026-11-23T20:30:00+01:00". Only a tz_is_utc() zone writes
 * "Z"; Europe/London in winter writes "+00:00". Offsets that are not
 * whole minutes (local mean time; Liberia until 1972) are rounded to the
 * minute and the wall time shown with the rounded offset, so the text
 * is RFC 3339 and time_parse_iso() reads back the same second. Instants
 * before 0000-01-02 or after 9999-12-30 (UTC) are clamped to those days
 * so the year always has four digits.
 */
void tz_format_iso(const struct tz *tz, int64_t ms, char out[TZ_ISO_LEN]);

/**
 * The zone "name" from a process-wide cache, loading it on first use
 * (thread-safe). The zone stays loaded until tz_cache_free(); callers
 * must not free it. 0 with *tz_r, or -1 with *error_r (invalid name,
 * unreadable file, or TZ_CACHE_MAX distinct names already cached).
 * Invalid names are not cached.
 */
int tz_get(const char *name, const struct tz **tz_r, const char **error_r);

/**
 * Free every cached zone. Only for shutdown and tests: pointers from
 * tz_get() become invalid, so no other thread may be using one.
 */
void tz_cache_free(void);

#endif

/*
 * log.h - one line per event on stderr.
 *
 * Lines look like
 *   ts=2026-11-23T19:30:00Z level=info component=http req=r_ab12 msg="..."
 * Never pass a token, password or key to these functions: callers log
 * ids and digests only.
 */
#ifndef GENT_LOG_H
#define GENT_LOG_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/** Set the lowest level written. */
void log_set_level(enum log_level level);
/** Parse "debug", "info", "warn" or "error"; -1 when unknown. */
int log_level_parse(const char *name);
/** Write one event; req may be NULL when no request is involved. */
void log_event(enum log_level level, const char *component, const char *req,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#define log_debug(c, r, ...) log_event(LOG_DEBUG, c, r, __VA_ARGS__)
#define log_info(c, r, ...) log_event(LOG_INFO, c, r, __VA_ARGS__)
#define log_warn(c, r, ...) log_event(LOG_WARN, c, r, __VA_ARGS__)
#define log_error(c, r, ...) log_event(LOG_ERROR, c, r, __VA_ARGS__)

#endif

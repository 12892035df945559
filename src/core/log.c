/*
 * log.c - structured one-line logging to stderr.
 *
 * Each event is formatted into one buffer and written with a single
 * write(2) so lines from worker threads never interleave.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gent/log.h"
#include "gent/util.h"

static enum log_level min_level = LOG_INFO;
static const char *level_names[] = { "debug", "info", "warn", "error" };

void
log_set_level(enum log_level level)
{
	min_level = level;
}

int
log_level_parse(const char *name)
{
	for (size_t i = 0; i < GENT_ARRAY_LEN(level_names); i++)
		if (strcmp(name, level_names[i]) == 0)
			return (int)i;
	return -1;
}

/* Quote the message so a log line stays one line whatever it contains. */
static void
append_quoted(struct buf *b, const char *msg)
{
	buf_append_str(b, "\"");
	for (const char *p = msg; *p; p++) {
		if (*p == '"' || *p == '\\')
			buf_printf(b, "\\%c", *p);
		else if ((unsigned char)*p < 0x20)
			buf_printf(b, "\\x%02x", (unsigned char)*p);
		else
			buf_append(b, p, 1);
	}
	buf_append_str(b, "\"");
}

void
log_event(enum log_level level, const char *component, const char *req,
    const char *fmt, ...)
{
	char ts[32], msg[1024];
	struct buf line = { 0 };
	struct tm tm;
	time_t now;
	va_list ap;

	if (level < min_level)
		return;
	now = time(NULL);
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	buf_printf(&line, "ts=%s level=%s component=%s", ts, level_names[level],
	    component);
	if (req)
		buf_printf(&line, " req=%s", req);
	buf_append_str(&line, " msg=");
	append_quoted(&line, msg);
	buf_append_str(&line, "\n");
	ssize_t unused = write(STDERR_FILENO, line.data, line.len);
	(void)unused;
	buf_free(&line);
}

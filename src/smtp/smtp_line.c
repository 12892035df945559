/*
 * smtp_line.c - command lines: CRLF-terminated, at most SMTP_LINE_MAX.
 *
 * A bare LF ends the line too (so the reader stays in step with the
 * client) but is reported, and the session refuses the command: RFC 5321
 * 2.3.8 says lines end with CRLF, and accepting LF alone is what SMTP
 * smuggling exploits.
 */
#include "gent/smtp_parse.h"

int
smtp_line_feed(struct smtp_line_reader *r, const char *in, size_t len,
    size_t *used, enum smtp_line_error *err)
{
	for (size_t i = 0; i < len; i++) {
		char c = in[i];
		if (c == '\n') {
			*used = i + 1;
			*err = r->overflow ? SMTP_LINE_TOO_LONG :
			    r->cr ? SMTP_LINE_OK : SMTP_LINE_BARE_LF;
			if (!r->line.data)
				buf_append(&r->line, "", 0);
			return 1;
		}
		if (r->cr && !r->overflow) {
			/* The CR we held back was not part of CRLF: keep it. */
			if (r->line.len < SMTP_LINE_MAX)
				buf_append(&r->line, "\r", 1);
			else
				r->overflow = true;
		}
		r->cr = c == '\r';
		if (r->cr || r->overflow)
			continue;
		if (r->line.len >= SMTP_LINE_MAX)
			r->overflow = true;
		else
			buf_append(&r->line, &c, 1);
	}
	*used = len;
	return 0;
}

void
smtp_line_reset(struct smtp_line_reader *r)
{
	r->line.len = 0;
	if (r->line.data)
		r->line.data[0] = '\0';
	r->cr = false;
	r->overflow = false;
}

void
smtp_line_free(struct smtp_line_reader *r)
{
	buf_free(&r->line);
	r->cr = r->overflow = false;
}

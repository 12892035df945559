/*
 * smtp_data.c - the DATA body reader.
 *
 * A line starts only after CRLF. At a line start, "." followed by CRLF
 * ends the body; "." followed by anything else is dot-stuffing and the
 * dot is removed (RFC 5321 4.5.2). Bare LF and bare CR never end a line
 * for this purpose, so "\n.\n", "\n.\r\n", "\r.\r\n" and friends are just
 * text; they are flagged, and the session refuses such a message, so no
 * lone CR or LF is ever stored and no second message can be smuggled.
 *
 *   BOL    '.'->DOT   '\r'->CR    '\n'->TEXT(bare LF)  c->TEXT
 *   DOT    '\r'->DOT_CR  c->TEXT (dot dropped; '\n' flagged)
 *   DOT_CR '\n'->END  c->TEXT (bare CR)
 *   TEXT   '\r'->CR   '\n'->TEXT(bare LF)  c->TEXT
 *   CR     '\n'->BOL  '\r'->CR(bare CR)  c->TEXT(bare CR)
 */
#include "gent/smtp_parse.h"

void
smtp_data_init(struct smtp_data_reader *r, size_t max_size)
{
	buf_free(&r->body);
	*r = (struct smtp_data_reader){ .state = SMTP_DATA_BOL, .max_size = max_size };
}

void
smtp_data_free(struct smtp_data_reader *r)
{
	buf_free(&r->body);
}

/* Keep a byte of the message, minding the size and line limits. */
static void
keep(struct smtp_data_reader *r, const char *p, size_t n)
{
	r->size += n;
	if (r->size > r->max_size) {
		r->flags |= SMTP_DATA_TOO_BIG;
		return;
	}
	buf_append(&r->body, p, n);
}

static void
text_byte(struct smtp_data_reader *r, char c)
{
	if (c == '\n') {
		r->flags |= SMTP_DATA_BARE_LF;
		keep(r, "\n", 1);
		r->state = SMTP_DATA_TEXT;
		return;
	}
	if (c == '\r') {
		r->state = SMTP_DATA_CR;
		return;
	}
	if (++r->line_len > SMTP_DATA_LINE_MAX)
		r->flags |= SMTP_DATA_LONG_LINE;
	keep(r, &c, 1);
	r->state = SMTP_DATA_TEXT;
}

int
smtp_data_feed(struct smtp_data_reader *r, const char *in, size_t len,
    size_t *used)
{
	for (size_t i = 0; i < len; i++) {
		char c = in[i];
		switch (r->state) {
		case SMTP_DATA_BOL:
			r->line_len = 0;
			if (c == '.')
				r->state = SMTP_DATA_DOT;
			else
				text_byte(r, c);
			break;
		case SMTP_DATA_DOT:
			if (c == '\r')
				r->state = SMTP_DATA_DOT_CR;
			else
				text_byte(r, c);	/* the stuffed dot is dropped */
			break;
		case SMTP_DATA_DOT_CR:
			if (c == '\n') {
				*used = i + 1;
				return 1;
			}
			r->flags |= SMTP_DATA_BARE_CR;
			keep(r, "\r", 1);
			text_byte(r, c);
			break;
		case SMTP_DATA_TEXT:
			text_byte(r, c);
			break;
		case SMTP_DATA_CR:
			if (c == '\n') {
				keep(r, "\r\n", 2);
				r->state = SMTP_DATA_BOL;
			} else {
				r->flags |= SMTP_DATA_BARE_CR;
				keep(r, "\r", 1);
				text_byte(r, c);
			}
			break;
		}
	}
	*used = len;
	return 0;
}

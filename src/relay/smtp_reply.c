/*
 * smtp_reply.c - SMTP reply reader (RFC 5321 4.2, RFC 3463 codes).
 *
 * Bytes collect in a fixed line buffer until LF; a CR is held back until
 * we know whether LF follows (CRLF ends the line, a CR inside a line is
 * text and becomes '?'). Each finished line is checked and its text
 * appended; the line after "NNN " (or a bare "NNN") ends the reply.
 * Nothing is allocated but the text buffer, which is bounded by the line
 * and line-count limits. After an error the parser answers -1 until it
 * is reset: the connection it reads is not in step any more.
 */
#include <ctype.h>
#include <string.h>

#include "gent/smtp_reply.h"

const char *
smtp_reply_error_str(enum smtp_reply_error e)
{
	switch (e) {
	case SMTP_REPLY_OK:
		return "no error";
	case SMTP_REPLY_LINE_TOO_LONG:
		return "reply line too long";
	case SMTP_REPLY_TOO_MANY_LINES:
		return "too many reply lines";
	case SMTP_REPLY_BAD_CODE:
		return "malformed reply code";
	case SMTP_REPLY_BAD_SEPARATOR:
		return "malformed reply line";
	case SMTP_REPLY_CODE_MISMATCH:
		return "reply lines with different codes";
	}
	return "unknown error";
}

static void
clear_reply(struct smtp_reply_parser *p)
{
	p->ready = false;
	p->code = 0;
	p->n_lines = 0;
	p->enhanced[0] = '\0';
	p->text.len = 0;
	if (p->text.data)
		p->text.data[0] = '\0';
}

void
smtp_reply_parser_reset(struct smtp_reply_parser *p)
{
	clear_reply(p);
	p->line_len = 0;
	p->cr = false;
	p->error = SMTP_REPLY_OK;
}

void
smtp_reply_parser_free(struct smtp_reply_parser *p)
{
	smtp_reply_parser_reset(p);
	buf_free(&p->text);
}

/*
 * status-code = class "." subject "." detail	(RFC 3463 2)
 * class = "2" / "4" / "5";  subject, detail = 1*3digit
 * Returns its length when s[0..n) starts with one followed by SP or the
 * end, else 0.
 */
static size_t
enhanced_len(const char *s, size_t n)
{
	size_t i = 0;

	if (n < 5 || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.')
		return 0;
	i = 2;
	for (int part = 0; part < 2; part++) {
		size_t start = i;
		while (i < n && i - start < 3 && isdigit((unsigned char)s[i]))
			i++;
		if (i == start)
			return 0;
		if (part == 0) {
			if (i >= n || s[i] != '.')
				return 0;
			i++;
		}
	}
	if (i < n && s[i] != ' ')
		return 0;
	return i;
}

/* Append text, every control character but HT made harmless. */
static void
append_text(struct smtp_reply_parser *p, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char out = (c < 0x20 && c != '\t') || c == 0x7f ? '?' : (char)c;
		buf_append(&p->text, &out, 1);
	}
}

/* One finished line: 1 = reply complete, 0 = more lines, -1 = error. */
static int
end_line(struct smtp_reply_parser *p)
{
	const char *l = p->line, *text;
	size_t n = p->line_len, tlen, elen;
	int code;
	char sep;

	p->line_len = 0;
	p->cr = false;
	if (n < 3 || l[0] < '2' || l[0] > '5' ||
	    !isdigit((unsigned char)l[1]) || !isdigit((unsigned char)l[2])) {
		p->error = SMTP_REPLY_BAD_CODE;
		return -1;
	}
	sep = n == 3 ? ' ' : l[3];
	if (sep != ' ' && sep != '-') {
		p->error = SMTP_REPLY_BAD_SEPARATOR;
		return -1;
	}
	code = (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
	if (p->n_lines > 0 && code != p->code) {
		p->error = SMTP_REPLY_CODE_MISMATCH;
		return -1;
	}
	if (p->n_lines >= SMTP_REPLY_LINES_MAX) {
		p->error = SMTP_REPLY_TOO_MANY_LINES;
		return -1;
	}
	p->code = code;
	text = n > 4 ? l + 4 : "";
	tlen = n > 4 ? n - 4 : 0;
	elen = enhanced_len(text, tlen);
	if (p->n_lines == 0 && elen > 0 && text[0] == l[0] &&
	    elen < sizeof(p->enhanced)) {
		memcpy(p->enhanced, text, elen);
		p->enhanced[elen] = '\0';
	}
	/* Strip the enhanced code only where it is the reply's own. */
	if (elen > 0 && p->enhanced[0] && strlen(p->enhanced) == elen &&
	    memcmp(text, p->enhanced, elen) == 0) {
		text += elen;
		tlen -= elen;
		if (tlen > 0) {	/* the SP after it */
			text++;
			tlen--;
		}
	}
	if (p->n_lines > 0)
		buf_append(&p->text, "\n", 1);
	else
		buf_append(&p->text, "", 0);	/* text.data is never NULL */
	append_text(p, text, tlen);
	p->n_lines++;
	if (sep == '-')
		return 0;
	p->ready = true;
	return 1;
}

static int
add_byte(struct smtp_reply_parser *p, char c)
{
	if (p->line_len >= SMTP_REPLY_LINE_MAX) {
		p->error = SMTP_REPLY_LINE_TOO_LONG;
		return -1;
	}
	p->line[p->line_len++] = c;
	return 0;
}

int
smtp_reply_parse(struct smtp_reply_parser *p, const char *in, size_t len,
    size_t *used)
{
	*used = 0;
	if (p->error != SMTP_REPLY_OK)
		return -1;
	if (p->ready)
		clear_reply(p);
	for (size_t i = 0; i < len; i++) {
		char c = in[i];
		int rc;

		if (c == '\n') {
			/* CRLF, or a bare LF tolerated as the same. */
			rc = end_line(p);
			if (rc != 0) {
				*used = i + 1;
				return rc;
			}
			continue;
		}
		if (p->cr) {
			/* The CR held back was not part of CRLF: text. */
			p->cr = false;
			if (add_byte(p, '\r') != 0) {
				*used = i + 1;
				return -1;
			}
		}
		if (c == '\r') {
			p->cr = true;
			continue;
		}
		if (add_byte(p, c) != 0) {
			*used = i + 1;
			return -1;
		}
	}
	*used = len;
	return 0;
}

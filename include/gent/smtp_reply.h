/*
 * smtp_reply.h - the reader of SMTP server replies (RFC 5321 4.2), for
 * the relay's client.
 *
 *   Reply-line = *( Reply-code "-" [ textstring ] CRLF )
 *                Reply-code [ SP textstring ] CRLF
 *
 * Incremental and bounded: fed any split of the input, down to a byte at
 * a time, it holds at most one line of SMTP_REPLY_LINE_MAX octets and a
 * reply of SMTP_REPLY_LINES_MAX lines. Lines end with CRLF; a bare LF is
 * tolerated as a line end (servers that send it exist, and a reply is
 * never relayed, so it smuggles nothing). Every line of a reply must
 * carry the same code. The text is cleaned for logs: control characters
 * other than HT become '?', so it never holds CR, LF or NUL.
 *
 * An enhanced status code (RFC 3463 / RFC 2034) at the start of the first
 * line is taken out into .enhanced when its class matches the reply
 * code's first digit; the same code is also stripped from later lines.
 */
#ifndef GENT_SMTP_REPLY_H
#define GENT_SMTP_REPLY_H

#include <stdbool.h>
#include <stddef.h>

#include "gent/util.h"

#define SMTP_REPLY_LINE_MAX 2048	/* octets of a line, without its end */
#define SMTP_REPLY_LINES_MAX 100	/* lines of one reply */

enum smtp_reply_error {
	SMTP_REPLY_OK,
	SMTP_REPLY_LINE_TOO_LONG,	/* over SMTP_REPLY_LINE_MAX */
	SMTP_REPLY_TOO_MANY_LINES,	/* over SMTP_REPLY_LINES_MAX */
	SMTP_REPLY_BAD_CODE,		/* not three digits 2xx..5xx */
	SMTP_REPLY_BAD_SEPARATOR,	/* neither ' ', '-' nor end of line */
	SMTP_REPLY_CODE_MISMATCH,	/* lines of one reply differ in code */
};

struct smtp_reply_parser {
	char		 line[SMTP_REPLY_LINE_MAX];	/* the current line */
	size_t		 line_len;	/* octets in line[] */
	bool		 cr;		/* last octet a CR, held back */
	bool		 ready;		/* a reply is complete (returned 1) */
	enum smtp_reply_error error;	/* set with -1; sticky */
	int		 code;		/* 200..599, once a line is read */
	unsigned	 n_lines;	/* lines of the reply so far */
	char		 enhanced[16];	/* "2.1.0", or "" */
	struct buf	 text;		/* lines without codes, "\n"-joined */
};

/**
 * Feed reply bytes; *used is set to the octets taken. Returns 1 when a
 * reply is complete (code, enhanced and text hold it until the next
 * call; bytes after it, up to len, are the start of the next reply and
 * must be fed again), 0 when all of in was taken and more is needed, -1
 * on a protocol error or a blown limit (error says which; the parser
 * stays failed).
 */
int smtp_reply_parse(struct smtp_reply_parser *p, const char *in, size_t len,
    size_t *used);
/** Forget any partial or complete reply; the error too. */
void smtp_reply_parser_reset(struct smtp_reply_parser *p);
/** Release memory; the parser may be used again after this. */
void smtp_reply_parser_free(struct smtp_reply_parser *p);
/** A short static description of an error. */
const char *smtp_reply_error_str(enum smtp_reply_error e);

#endif

/*
 * smtp_parse.h - byte-level SMTP readers: command lines, the DATA body,
 * and the paths and parameters of MAIL/RCPT.
 *
 * All readers are incremental and bounded (they never hold more than
 * their limit) and can be fed any split of the input, down to a byte at a
 * time. Return convention: 1 = something complete, 0 = need more bytes.
 */
#ifndef GENT_SMTP_PARSE_H
#define GENT_SMTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>

#include "gent/util.h"

#define SMTP_LINE_MAX 2048		/* command line without CRLF */
#define SMTP_DATA_LINE_MAX (64 * 1024)	/* body line without CRLF */

/* --- command lines --- */

enum smtp_line_error {
	SMTP_LINE_OK,
	SMTP_LINE_TOO_LONG,	/* reply 500 5.5.2; the rest of the line is dropped */
	SMTP_LINE_BARE_LF,	/* LF without CR: reply 500 5.5.2 */
};

struct smtp_line_reader {
	struct buf		 line;		/* current line, no CRLF */
	bool			 cr;		/* last byte was CR */
	bool			 overflow;	/* past SMTP_LINE_MAX: skipping */
};

/**
 * Read one command line from in[0..len). Sets *used to the bytes taken.
 * Returns 1 with the line in r->line (and *err) when a line ended, 0 when
 * more input is needed. Call smtp_line_reset() after using the line.
 */
int smtp_line_feed(struct smtp_line_reader *r, const char *in, size_t len,
    size_t *used, enum smtp_line_error *err);
void smtp_line_reset(struct smtp_line_reader *r);
void smtp_line_free(struct smtp_line_reader *r);

/* --- DATA --- */

enum smtp_data_flags {
	SMTP_DATA_BARE_LF = 1 << 0,	/* LF not preceded by CR */
	SMTP_DATA_BARE_CR = 1 << 1,	/* CR not followed by LF */
	SMTP_DATA_TOO_BIG = 1 << 2,	/* more than max_size bytes */
	SMTP_DATA_LONG_LINE = 1 << 3,	/* a line over SMTP_DATA_LINE_MAX */
};

enum smtp_data_state {
	SMTP_DATA_BOL,		/* at the start of a line (after CRLF) */
	SMTP_DATA_DOT,		/* "." at the start of a line */
	SMTP_DATA_DOT_CR,	/* ".\r" at the start of a line */
	SMTP_DATA_TEXT,		/* inside a line */
	SMTP_DATA_CR,		/* "\r" inside a line */
};

struct smtp_data_reader {
	enum smtp_data_state	 state;
	unsigned		 flags;		/* enum smtp_data_flags */
	size_t			 max_size;	/* message size limit */
	size_t			 size;		/* bytes of message seen */
	size_t			 line_len;
	struct buf		 body;		/* unstuffed message, CRLF lines */
};

/** Start reading a body at the beginning of a line. */
void smtp_data_init(struct smtp_data_reader *r, size_t max_size);
/**
 * Feed body bytes. Only <CRLF>.<CRLF> ends the body (RFC 5321 4.1.1.4);
 * bare CR or LF never does, and is flagged so the message can be refused
 * instead of stored. Returns 1 at the end (*used counts the terminator;
 * bytes after it are pipelined commands), 0 when more is needed.
 */
int smtp_data_feed(struct smtp_data_reader *r, const char *in, size_t len,
    size_t *used);
void smtp_data_free(struct smtp_data_reader *r);

/* --- MAIL FROM / RCPT TO arguments --- */

struct smtp_path {
	char	*addr;		/* "local@domain", "" for the null path <> */
	char	*params;	/* text after the closing '>', or NULL */
};

/**
 * Parse "<path> [params]" after "FROM:" or "TO:" (RFC 5321 4.1.2):
 * optional source route (ignored, as 4.1.1.3 allows), dot-string or
 * quoted-string local part (kept as written), domain or address literal.
 * allow_null accepts "<>". Returns 0, or -1 with a static reason.
 */
int smtp_path_parse(const char *arg, bool allow_null, struct smtp_path *out,
    const char **why_r);
void smtp_path_free(struct smtp_path *p);

#endif

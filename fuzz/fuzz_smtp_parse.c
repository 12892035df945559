/*
 * fuzz_smtp_parse.c - the byte-level SMTP readers of smtp_parse.h
 * (src/smtp/smtp_line.c, smtp_data.c, smtp_path.c) on hostile input,
 * switched the way smtp_session.c switches them: command lines until a
 * "DATA" line, then the DATA reader until <CRLF>.<CRLF>, then command
 * lines again (pipelined commands after the body). Every line also goes
 * to smtp_path_parse() with both allow_null values, after "MAIL FROM:" /
 * "RCPT TO:" when the line starts with one.
 *
 * The input is read three times with different splits: in one piece, one
 * byte per feed, and in chunks whose sizes come from the input's own
 * bytes (STYLE.md 22: every parser case also runs trickled). Each read
 * writes a transcript of what the readers reported (every line with its
 * end offset and error, every body with its end offset, flags and bytes,
 * and the unfinished state at the end); the three transcripts must be
 * identical.
 *
 * Oracle besides the sanitizers and the split comparison:
 *   - *used <= the bytes offered; a 0 return consumed all of them;
 *   - a line has no LF and at most SMTP_LINE_MAX bytes;
 *   - a body without flags has no lone CR or LF, is empty or ends in
 *     CRLF, and holds exactly the bytes counted in size; no body is
 *     longer than max_size;
 *   - a path accepted without allow_null is accepted the same with it;
 *     "" only with allow_null; otherwise local@domain within RFC 5321's
 *     lengths, and no control characters in an accepted address.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gent/smtp_parse.h"
#include "gent/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_SIZE	2048	/* DATA size limit, so TOO_BIG is reached */
/* smtp_path.c: LOCAL_MAX + 2 (quotes), '@', DOMAIN_MAX */
#define PATH_MAX_LEN	(64 + 2 + 1 + 255)

static size_t cur_size;		/* for the failure message */

static _Noreturn void
fail(const char *split, const char *what)
{
	fprintf(stderr, "fuzz_smtp_parse: ORACLE (%s split, %zu-byte input): "
	    "%s\n", split, cur_size, what);
	abort();
}

#define CHECK(cond, split, what) ((cond) ? (void)0 : fail(split, what))

/* How a read splits the input. */
struct splitter {
	const char	*name;
	int		 kind;	/* 0 whole, 1 byte, 2 sizes from the input */
	size_t		 k;	/* next input byte to take a size from */
};

static size_t
next_chunk(struct splitter *sp, const uint8_t *data, size_t size, size_t left)
{
	size_t n;

	switch (sp->kind) {
	case 0:
		return left;
	case 1:
		return 1;
	default:
		/* 1..64 bytes, from successive input bytes; every 7th byte
		 * also skips ahead so the sizes do not just mirror the text. */
		n = (size_t)(data[sp->k % size] % 64) + 1;
		sp->k += 1 + (data[sp->k % size] % 7 == 0);
		return n < left ? n : left;
	}
}

static void
check_body(const struct smtp_data_reader *d, const char *split)
{
	const char *b = d->body.data;
	size_t n = d->body.len;

	CHECK(n <= d->max_size, split, "body longer than max_size");
	if (d->flags != 0)
		return;
	CHECK(n == d->size, split, "unflagged body: size differs from bytes kept");
	CHECK(n == 0 || (n >= 2 && b[n - 2] == '\r' && b[n - 1] == '\n'), split,
	    "unflagged body does not end in CRLF");
	for (size_t i = 0; i < n; i++) {
		if (b[i] == '\r')
			CHECK(i + 1 < n && b[i + 1] == '\n', split,
			    "unflagged body has a lone CR");
		if (b[i] == '\n')
			CHECK(i > 0 && b[i - 1] == '\r', split,
			    "unflagged body has a lone LF");
	}
}

/* No control characters anywhere in an accepted address (address
 * literals included: fuzz/crashes/smtp_parse-addr-literal-ctl, fixed). */
static void
check_addr_chars(const char *addr, const char *split)
{
	size_t n = strlen(addr);

	for (size_t i = 0; i < n; i++)
		CHECK((unsigned char)addr[i] >= 0x20 && addr[i] != 0x7f, split,
		    "control character in an accepted address");
}

static void
check_paths(const char *line, const char *split)
{
	struct smtp_path strict, lax;
	const char *why = NULL, *arg = line;
	int rs, rl;

	if (strncasecmp(line, "MAIL FROM:", 10) == 0)
		arg = line + 10;
	else if (strncasecmp(line, "RCPT TO:", 8) == 0)
		arg = line + 8;
	rs = smtp_path_parse(arg, false, &strict, &why);
	CHECK(rs == 0 || (rs == -1 && why != NULL), split,
	    "path error without reason");
	rl = smtp_path_parse(arg, true, &lax, &why);
	CHECK(rl == 0 || (rl == -1 && why != NULL), split,
	    "path error without reason");
	if (rs == 0) {
		CHECK(rl == 0, split, "allow_null refused a path accepted without it");
		CHECK(strict.addr && *strict.addr, split, "empty path without allow_null");
		CHECK(strcmp(strict.addr, lax.addr) == 0, split,
		    "allow_null changed the address");
		CHECK((!strict.params && !lax.params) || (strict.params &&
		    lax.params && strcmp(strict.params, lax.params) == 0), split,
		    "allow_null changed the parameters");
	}
	if (rl == 0) {
		size_t n;
		CHECK(lax.addr != NULL, split, "accepted path without address");
		n = strlen(lax.addr);
		CHECK(n == 0 || (strchr(lax.addr, '@') && n <= PATH_MAX_LEN), split,
		    "accepted address is not local@domain within limits");
		CHECK(!lax.params || (*lax.params && *lax.params != ' '), split,
		    "parameters empty or not trimmed");
		check_addr_chars(lax.addr, split);
	}
	smtp_path_free(&strict);
	smtp_path_free(&lax);
}

/* "DATA" and trailing spaces, as smtp_cmd.c's table matches it. */
static bool
is_data(const char *line)
{
	if (strncasecmp(line, "DATA", 4) != 0)
		return false;
	for (line += 4; *line == ' '; line++)
		;
	return *line == '\0';
}

/* One read of the whole input; the transcript goes to *log. */
static void
run(const uint8_t *data, size_t size, struct splitter *sp, struct buf *log)
{
	struct smtp_line_reader lr = { 0 };
	struct smtp_data_reader dr = { 0 };
	bool in_data = false;
	size_t pos = 0;

	while (pos < size) {
		size_t end = pos + next_chunk(sp, data, size, size - pos);
		size_t off = pos;

		while (off < end) {
			const char *in = (const char *)data + off;
			size_t avail = end - off, used = (size_t)-1;
			int rc;

			if (!in_data) {
				enum smtp_line_error err = SMTP_LINE_OK;
				rc = smtp_line_feed(&lr, in, avail, &used, &err);
				CHECK(used <= avail, sp->name, "line: used > len");
				CHECK(rc == 1 || used == avail, sp->name,
				    "line: 0 returned with bytes left");
				off += used;
				if (rc == 0)
					break;
				CHECK(used > 0, sp->name, "line: ended without a byte");
				CHECK(lr.line.data != NULL, sp->name, "line: no buffer");
				CHECK(lr.line.len <= SMTP_LINE_MAX, sp->name,
				    "line longer than SMTP_LINE_MAX");
				CHECK(!memchr(lr.line.data, '\n', lr.line.len), sp->name,
				    "line contains LF");
				buf_printf(log, "L %zu %d %zu:", off, (int)err, lr.line.len);
				buf_append(log, lr.line.data, lr.line.len);
				buf_append(log, "\n", 1);
				check_paths(lr.line.data, sp->name);
				if (err == SMTP_LINE_OK && is_data(lr.line.data)) {
					smtp_data_init(&dr, FUZZ_MAX_SIZE);
					in_data = true;
				}
				smtp_line_reset(&lr);
			} else {
				rc = smtp_data_feed(&dr, in, avail, &used);
				CHECK(used <= avail, sp->name, "data: used > len");
				CHECK(rc == 1 || used == avail, sp->name,
				    "data: 0 returned with bytes left");
				off += used;
				if (rc == 0)
					break;
				CHECK(used > 0, sp->name, "data: ended without a byte");
				check_body(&dr, sp->name);
				buf_printf(log, "D %zu %u %zu:", off, dr.flags,
				    dr.body.len);
				buf_append(log, dr.body.data ? dr.body.data : "",
				    dr.body.len);
				buf_append(log, "\n", 1);
				in_data = false;
			}
		}
		pos = end;
	}
	/* Unfinished business must not depend on the split either. */
	if (in_data) {
		CHECK(dr.body.len <= dr.max_size, sp->name, "body longer than max_size");
		buf_printf(log, "d %d %u %zu %zu:", (int)dr.state, dr.flags,
		    dr.size, dr.body.len);
		buf_append(log, dr.body.data ? dr.body.data : "", dr.body.len);
	} else {
		buf_printf(log, "l %d %d %zu:", lr.cr, lr.overflow, lr.line.len);
		buf_append(log, lr.line.data ? lr.line.data : "", lr.line.len);
	}
	smtp_line_free(&lr);
	smtp_data_free(&dr);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct splitter splits[] = {
		{ "whole", 0, 0 }, { "byte", 1, 0 }, { "input-sized", 2, 0 },
	};
	struct buf logs[3] = { { 0 } };

	cur_size = size;
	for (size_t i = 0; i < 3; i++) {
		run(data, size, &splits[i], &logs[i]);
		buf_append(&logs[i], "", 0);
	}
	for (size_t i = 1; i < 3; i++)
		if (logs[i].len != logs[0].len ||
		    memcmp(logs[i].data, logs[0].data, logs[0].len) != 0) {
			fprintf(stderr, "--- whole:\n%.*s\n--- %s:\n%.*s\n",
			    (int)(logs[0].len > 2000 ? 2000 : logs[0].len),
			    logs[0].data, splits[i].name,
			    (int)(logs[i].len > 2000 ? 2000 : logs[i].len),
			    logs[i].data);
			fail(splits[i].name, "the readers report differently "
			    "depending on how the input is split");
		}
	for (size_t i = 0; i < 3; i++)
		buf_free(&logs[i]);
	return 0;
}

/*
 * fuzz_smtp_reply.c - what the relay's SMTP client reads from and
 * writes to a server it does not trust: the reply reader
 * (src/relay/smtp_reply.c), the EHLO capability parser, and the message
 * writer (src/relay/smtp_client_body.c).
 *
 * Replies: the input is read as a stream of server replies three times,
 * in one piece, one byte per call and in chunks whose sizes come from
 * the input (STYLE.md 22); each read writes a transcript (every reply's
 * code, enhanced code, line count and text, then the error or the
 * unfinished state) and the three must be identical. Every complete
 * reply also goes through smtp_client__caps_parse().
 *
 * Oracle besides the sanitizers and the split comparison:
 *   - *used <= the bytes offered; a 0 return took all of them; a 1
 *     return took at least one byte;
 *   - a reply's code is 200..599, it has 1..SMTP_REPLY_LINES_MAX lines,
 *     its text has exactly n_lines - 1 LFs, no CR, no NUL, no control
 *     character but HT, and is at most SMTP_REPLY_LINES_MAX lines of
 *     SMTP_REPLY_LINE_MAX octets;
 *   - the enhanced code is "" or class.subject.detail with the class of
 *     the reply code;
 *   - after -1 the parser stays failed and takes nothing.
 *
 * Message: the same input as a message body, written the way
 * smtp_client_send() writes it (blocks of a size from the input), then
 * read back by gentd's own DATA reader (src/smtp/smtp_data.c). The
 * reader must find the end of data exactly at the end of what we wrote
 * (no early end: no smuggling), see no bare CR or LF, and get back
 * smtp_client__body_scan()'s size in octets.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gent/smtp_parse.h"
#include "gent/smtp_reply.h"
#include "gent/util.h"

#include "../src/relay/smtp_client_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t cur_size;		/* for the failure message */

static _Noreturn void
fail(const char *split, const char *what)
{
	fprintf(stderr, "fuzz_smtp_reply: ORACLE (%s, %zu-byte input): %s\n",
	    split, cur_size, what);
	abort();
}

#define CHECK(cond, split, what) ((cond) ? (void)0 : fail(split, what))

/* 1..64 octets from successive input bytes, as fuzz_smtp_parse.c does. */
static size_t
chunk_size(int kind, const uint8_t *data, size_t size, size_t *k, size_t left)
{
	size_t n;

	if (kind == 0)
		return left;
	if (kind == 1)
		return 1;
	n = (size_t)(data[*k % size] % 64) + 1;
	*k += 1 + (data[*k % size] % 7 == 0);
	return n < left ? n : left;
}

static bool
valid_enhanced(const char *e, int code)
{
	const char *p = e;

	if (!*e)
		return true;
	if (*p - '0' != code / 100 || p[1] != '.')
		return false;
	p += 2;
	for (int part = 0; part < 2; part++) {
		int digits = 0;
		while (isdigit((unsigned char)*p)) {
			p++;
			digits++;
		}
		if (digits < 1 || digits > 3)
			return false;
		if (part == 0 && *p++ != '.')
			return false;
	}
	return *p == '\0';
}

static void
check_reply(const struct smtp_reply_parser *p, const char *split)
{
	const char *t = p->text.data;
	size_t lfs = 0;
	struct smtp_client_caps caps;

	CHECK(p->code >= 200 && p->code <= 599, split, "code out of range");
	CHECK(p->n_lines >= 1 && p->n_lines <= SMTP_REPLY_LINES_MAX, split,
	    "line count out of range");
	CHECK(t != NULL, split, "no text buffer");
	CHECK(strlen(t) == p->text.len, split, "NUL in the text");
	CHECK(p->text.len <= (size_t)SMTP_REPLY_LINES_MAX *
	    (SMTP_REPLY_LINE_MAX + 1), split, "text over its bound");
	for (size_t i = 0; i < p->text.len; i++) {
		unsigned char c = (unsigned char)t[i];
		if (c == '\n')
			lfs++;
		else
			CHECK(c >= 0x20 || c == '\t', split,
			    "control character in the text");
		CHECK(c != 0x7f, split, "DEL in the text");
	}
	CHECK(lfs + 1 == p->n_lines, split, "LFs do not match the lines");
	CHECK(valid_enhanced(p->enhanced, p->code), split,
	    "malformed enhanced code");
	smtp_client__caps_parse(&caps, t);
}

/* Feed data[*pos..end): the last call's rc; *pos advances. */
static int
feed(struct smtp_reply_parser *p, const uint8_t *data, size_t *pos,
    size_t end, const char *split, struct buf *log)
{
	int rc = 0;

	while (*pos < end) {
		size_t avail = end - *pos, used = (size_t)-1;

		rc = smtp_reply_parse(p, (const char *)data + *pos, avail,
		    &used);
		CHECK(used <= avail, split, "used > len");
		*pos += used;
		if (rc == 0) {
			CHECK(used == avail, split, "0 with bytes left");
			return 0;
		}
		if (rc < 0) {
			buf_printf(log, "E %zu %d\n", *pos, (int)p->error);
			used = 1;
			rc = smtp_reply_parse(p, "250 x\r\n", 7, &used);
			CHECK(rc == -1 && used == 0, split, "error not sticky");
			return -1;
		}
		CHECK(used > 0, split, "reply without a byte");
		check_reply(p, split);
		buf_printf(log, "R %zu %d %s %u:", *pos, p->code, p->enhanced,
		    p->n_lines);
		buf_append(log, p->text.data, p->text.len);
		buf_append(log, "\n", 1);
	}
	return rc;
}

static void
read_replies(const uint8_t *data, size_t size, int kind, const char *split,
    struct buf *log)
{
	struct smtp_reply_parser p = { 0 };
	size_t pos = 0, k = 0;
	int rc = 0;

	while (pos < size && rc >= 0) {
		size_t end = pos + chunk_size(kind, data, size, &k, size - pos);
		rc = feed(&p, data, &pos, end, split, log);
	}
	if (rc >= 0)
		buf_printf(log, "P %zu %d %u %d\n", p.line_len, p.cr, p.n_lines,
		    p.code);
	buf_append(log, "", 0);
	smtp_reply_parser_free(&p);
}

/* Write the input as a message, read it back with the server's reader. */
static void
check_message(const uint8_t *data, size_t size)
{
	struct smtp_client_body_info info;
	struct smtp_client_body_enc e;
	struct smtp_data_reader r = { 0 };
	struct buf wire = { 0 };
	size_t block = size ? (size_t)data[0] * 16 + 1 : 1, used = 0, k = 0;
	int done = 0;

	smtp_client__body_scan((const char *)data, size, &info);
	smtp_client__body_start(&e, (const char *)data, size);
	while (!done) {
		size_t before = wire.len;

		done = smtp_client__body_encode(&e, &wire, block);
		CHECK(wire.len > before || done, "message", "no progress");
		k++;
		CHECK(k <= 4 * size + 8, "message", "encoder does not end");
	}
	smtp_data_init(&r, SIZE_MAX);
	CHECK(smtp_data_feed(&r, wire.data, wire.len, &used) == 1, "message",
	    "the server did not see the end of data");
	CHECK(used == wire.len, "message", "end of data before our end");
	CHECK((r.flags & (SMTP_DATA_BARE_CR | SMTP_DATA_BARE_LF)) == 0,
	    "message", "bare CR or LF on the wire");
	CHECK(r.body.len == info.size, "message", "size differs from the scan");
	CHECK(info.longest <= info.size, "message", "longest line > size");
	smtp_data_free(&r);
	buf_free(&wire);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = { "whole", "byte", "input-sized" };
	struct buf logs[3] = { { 0 } };

	cur_size = size;
	for (int i = 0; i < 3; i++)
		read_replies(data, size, i, names[i], &logs[i]);
	for (int i = 1; i < 3; i++)
		if (logs[i].len != logs[0].len ||
		    memcmp(logs[i].data, logs[0].data, logs[0].len) != 0) {
			fprintf(stderr, "--- whole:\n%.*s\n--- %s:\n%.*s\n",
			    (int)(logs[0].len > 2000 ? 2000 : logs[0].len),
			    logs[0].data, names[i],
			    (int)(logs[i].len > 2000 ? 2000 : logs[i].len),
			    logs[i].data);
			fail(names[i], "replies read differently depending on "
			    "how the input is split");
		}
	for (int i = 0; i < 3; i++)
		buf_free(&logs[i]);
	check_message(data, size);
	return 0;
}

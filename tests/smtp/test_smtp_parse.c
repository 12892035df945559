/*
 * test_smtp_parse.c - command lines, the DATA reader (smuggling table of
 * RELIABILITY.md row 1) and MAIL/RCPT paths. Every DATA case runs whole
 * and one byte at a time.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "gent/smtp_parse.h"

struct data_case {
	const char	*in;		/* bytes after "DATA\r\n354 ..." */
	size_t		 in_len;	/* 0 = strlen */
	int		 ends;		/* 1 when the body must end */
	const char	*body;		/* expected body when it ends */
	unsigned	 flags;		/* expected flags */
	size_t		 rest;		/* bytes left after the terminator */
};

#define BL SMTP_DATA_BARE_LF
#define BC SMTP_DATA_BARE_CR

static const struct data_case data_cases[] = {
	{ "Subject: x\r\n\r\nhi\r\n.\r\n", 0, 1, "Subject: x\r\n\r\nhi\r\n", 0, 0 },
	{ ".\r\n", 0, 1, "", 0, 0 },
	{ "a\r\n..b\r\n.\r\n", 0, 1, "a\r\n.b\r\n", 0, 0 },
	{ "a\r\n.\r\nMAIL FROM:<x@y>\r\n", 0, 1, "a\r\n", 0, 17 },
	/* None of these end DATA: only CRLF.CRLF does. */
	{ "a\n.\nb", 0, 0, NULL, BL, 0 },
	{ "a\n.\r\nb", 0, 0, NULL, BL, 0 },
	{ "a\r.\r\nb", 0, 0, NULL, BC, 0 },
	{ "a\r\n.\nb", 0, 0, NULL, BL, 0 },
	{ "a\r.\rb", 0, 0, NULL, BC, 0 },
	{ "a\r\n.\rb", 0, 0, NULL, BC, 0 },
	{ "a\n.\rb", 0, 0, NULL, BL | BC, 0 },
	{ "a\r.\nb", 0, 0, NULL, BL | BC, 0 },
	/* Smuggling attempt: fake end, then a real one; one message only. */
	{ "x\n.\r\nMAIL FROM:<a@b>\r\n.\r\n", 0, 1, NULL, BL, 0 },
	/* NUL before and after the dot is text. */
	{ "a\r\n\0.\r\n.\r\n", 10, 1, NULL, 0, 0 },
	{ "a\r\n.\0\r\n.\r\n", 10, 1, NULL, 0, 0 },
	/* Missing end of data. */
	{ "a\r\nb\r\n", 0, 0, NULL, 0, 0 },
};

static void
run_data(const struct data_case *c, size_t chunk)
{
	size_t len = c->in_len ? c->in_len : strlen(c->in), off = 0, used = 0;
	struct smtp_data_reader r = { 0 };
	int ended = 0;

	smtp_data_init(&r, 1 << 20);
	while (off < len && !ended) {
		size_t n = len - off < chunk ? len - off : chunk;
		ended = smtp_data_feed(&r, c->in + off, n, &used);
		off += used;
	}
	ck_assert_msg(ended == c->ends, "case %s chunk %zu: ended=%d", c->in, chunk, ended);
	ck_assert_msg(r.flags == c->flags, "case %s: flags %u", c->in, r.flags);
	if (ended) {
		ck_assert_uint_eq(len - off, c->rest);
		if (c->body)
			ck_assert_str_eq(r.body.data ? r.body.data : "", c->body);
	}
	/* Whatever happened, no lone LF or CR survives in a clean body. */
	if (!r.flags && r.body.data)
		for (size_t i = 0; i < r.body.len; i++)
			if (r.body.data[i] == '\n')
				ck_assert(i > 0 && r.body.data[i - 1] == '\r');
	smtp_data_free(&r);
}

START_TEST(data_table)
{
	for (size_t i = 0; i < sizeof(data_cases) / sizeof(data_cases[0]); i++) {
		run_data(&data_cases[i], SIZE_MAX);
		run_data(&data_cases[i], 1);
	}
}
END_TEST

START_TEST(data_size_limit)
{
	struct smtp_data_reader r = { 0 };
	size_t used;

	smtp_data_init(&r, 4);
	ck_assert_int_eq(smtp_data_feed(&r, "abcdef\r\n.\r\n", 11, &used), 1);
	ck_assert(r.flags & SMTP_DATA_TOO_BIG);
	ck_assert_uint_le(r.body.len, 4);
	smtp_data_free(&r);
}
END_TEST

START_TEST(data_long_line)
{
	struct smtp_data_reader r = { 0 };
	size_t n = SMTP_DATA_LINE_MAX + 10, used;
	char *big = malloc(n + 5);

	memset(big, 'x', n);
	memcpy(big + n, "\r\n.\r\n", 5);
	smtp_data_init(&r, 1 << 20);
	ck_assert_int_eq(smtp_data_feed(&r, big, n + 5, &used), 1);
	ck_assert(r.flags & SMTP_DATA_LONG_LINE);
	smtp_data_free(&r);
	free(big);
}
END_TEST

START_TEST(line_reader)
{
	struct smtp_line_reader r = { 0 };
	enum smtp_line_error err;
	const char *in = "EHLO a\r\nNOOP\nRS\rET\r\n";
	size_t used, off = 0;

	ck_assert_int_eq(smtp_line_feed(&r, in, strlen(in), &used, &err), 1);
	ck_assert_str_eq(r.line.data, "EHLO a");
	ck_assert_int_eq(err, SMTP_LINE_OK);
	off += used;
	smtp_line_reset(&r);
	ck_assert_int_eq(smtp_line_feed(&r, in + off, strlen(in + off), &used, &err), 1);
	ck_assert_int_eq(err, SMTP_LINE_BARE_LF);
	off += used;
	smtp_line_reset(&r);
	/* Byte at a time; a CR not followed by LF stays in the line. */
	for (int got = 0; !got; off += used)
		got = smtp_line_feed(&r, in + off, 1, &used, &err);
	ck_assert_str_eq(r.line.data, "RS\rET");
	smtp_line_free(&r);
}
END_TEST

START_TEST(line_too_long)
{
	struct smtp_line_reader r = { 0 };
	enum smtp_line_error err;
	size_t n = SMTP_LINE_MAX + 100, used;
	char *big = malloc(n + 2);

	memset(big, 'A', n);
	memcpy(big + n, "\r\n", 2);
	ck_assert_int_eq(smtp_line_feed(&r, big, n + 2, &used, &err), 1);
	ck_assert_int_eq(err, SMTP_LINE_TOO_LONG);
	ck_assert_uint_le(r.line.len, SMTP_LINE_MAX);
	smtp_line_free(&r);
	free(big);
}
END_TEST

static const struct {
	const char *arg, *addr, *params;	/* addr NULL = rejected */
	bool allow_null;
} paths[] = {
	{ "<a@b.example>", "a@b.example", NULL, false },
	{ "<a@b.example> SIZE=100 BODY=8BITMIME", "a@b.example", "SIZE=100 BODY=8BITMIME", false },
	{ " <a@b.example>", "a@b.example", NULL, false },
	{ "<>", "", NULL, true },
	{ "<>", NULL, NULL, false },
	{ "<@relay.example,@r2.example:a@b.example>", "a@b.example", NULL, false },
	{ "<\"a@b\"@us.example>", "\"a@b\"@us.example", NULL, false },
	{ "<a%b@us.example>", "a%b@us.example", NULL, false },
	{ "<a@[192.0.2.1]>", "a@[192.0.2.1]", NULL, false },
	{ "<b!a>", NULL, NULL, false },
	{ "a@b.example", NULL, NULL, false },
	{ "<a@b.example", NULL, NULL, false },
	{ "<a..b@c.example>", NULL, NULL, false },
	{ "<a@-b.example>", NULL, NULL, false },
	{ "<a@b.example>junk", NULL, NULL, false },
	{ "<postmaster>", NULL, NULL, false },
};

START_TEST(path_table)
{
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		struct smtp_path p;
		const char *why = NULL;
		int rc = smtp_path_parse(paths[i].arg, paths[i].allow_null, &p, &why);
		if (!paths[i].addr) {
			ck_assert_msg(rc == -1, "%s accepted", paths[i].arg);
			ck_assert_ptr_nonnull(why);
			continue;
		}
		ck_assert_msg(rc == 0, "%s rejected: %s", paths[i].arg, why);
		ck_assert_str_eq(p.addr, paths[i].addr);
		if (paths[i].params)
			ck_assert_str_eq(p.params, paths[i].params);
		else
			ck_assert_ptr_null(p.params);
		smtp_path_free(&p);
	}
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("smtp_parse");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, data_table);
	tcase_add_test(tc, data_size_limit);
	tcase_add_test(tc, data_long_line);
	tcase_add_test(tc, line_reader);
	tcase_add_test(tc, line_too_long);
	tcase_add_test(tc, path_table);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

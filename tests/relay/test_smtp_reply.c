/*
 * test_smtp_reply.c - the SMTP reply reader (src/relay/smtp_reply.c):
 * single and multi-line replies, enhanced codes, bare LF, the line and
 * line-count limits, malformed codes. Every case runs whole and one
 * byte at a time (STYLE.md 22), and a stream of replies is read back to
 * back with what follows each one left for the next call.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "gent/smtp_reply.h"

struct reply_case {
	const char	*in;
	int		 rc;		/* 1, 0 (needs more) or -1 */
	int		 code;
	const char	*enhanced;
	const char	*text;
	enum smtp_reply_error err;
	size_t		 rest;		/* bytes after the reply */
	size_t		 in_len;	/* 0 = strlen(in) */
};

static const struct reply_case cases[] = {
	{ "220 mx.example ESMTP\r\n", 1, 220, "", "mx.example ESMTP", 0, 0, 0 },
	{ "250 2.1.0 Ok\r\n", 1, 250, "2.1.0", "Ok", 0, 0, 0 },
	{ "250-mx.example\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250 HELP\r\n",
	    1, 250, "", "mx.example\nPIPELINING\nSIZE 1000\nHELP", 0, 0, 0 },
	{ "550-5.1.1 No such\r\n550-5.1.1 user here\r\n550 5.1.1 sorry\r\n",
	    1, 550, "5.1.1", "No such\nuser here\nsorry", 0, 0, 0 },
	/* Bare LF ends a line too. */
	{ "250-a\n250 b\n", 1, 250, "", "a\nb", 0, 0, 0 },
	/* Code alone; empty continuation text. */
	{ "250\r\n", 1, 250, "", "", 0, 0, 0 },
	{ "250-\r\n250 ok\r\n", 1, 250, "", "\nok", 0, 0, 0 },
	/* Enhanced code of another class is just text. */
	{ "250 5.1.1 odd\r\n", 1, 250, "", "5.1.1 odd", 0, 0, 0 },
	{ "451 4.3.0\r\n", 1, 451, "4.3.0", "", 0, 0, 0 },
	{ "250 2.1 not enhanced\r\n", 1, 250, "", "2.1 not enhanced", 0, 0, 0 },
	{ "250 2.1.0000 x\r\n", 1, 250, "", "2.1.0000 x", 0, 0, 0 },
	/* Control characters are made harmless; HT stays. */
	{ "250 a\rb\tc\x01" "d\r\n", 1, 250, "", "a?b\tc?d", 0, 0, 0 },
	{ "250 a\0b\r\n", 1, 250, "", "a?b", 0, 0, 9 },
	/* What follows the reply is left for the next call. */
	{ "250 ok\r\n250 injected\r\n", 1, 250, "", "ok", 0, 14, 0 },
	/* Need more. */
	{ "250-first\r\n250 sec", 0, 0, NULL, NULL, 0, 0, 0 },
	{ "250 ok\r", 0, 0, NULL, NULL, 0, 0, 0 },
	/* Errors. */
	{ "25\r\n", -1, 0, NULL, NULL, SMTP_REPLY_BAD_CODE, 0, 0 },
	{ "hello\r\n", -1, 0, NULL, NULL, SMTP_REPLY_BAD_CODE, 0, 0 },
	{ "150 one\r\n", -1, 0, NULL, NULL, SMTP_REPLY_BAD_CODE, 0, 0 },
	{ "650 six\r\n", -1, 0, NULL, NULL, SMTP_REPLY_BAD_CODE, 0, 0 },
	{ "250+ok\r\n", -1, 0, NULL, NULL, SMTP_REPLY_BAD_SEPARATOR, 0, 0 },
	{ "250-a\r\n251 b\r\n", -1, 0, NULL, NULL, SMTP_REPLY_CODE_MISMATCH,
	    0, 0 },
	{ "\r\n", -1, 0, NULL, NULL, SMTP_REPLY_BAD_CODE, 0, 0 },
};

static int
run(const char *in, size_t len, size_t chunk, struct smtp_reply_parser *p,
    size_t *rest)
{
	size_t off = 0;
	int rc = 0;

	while (off < len) {
		size_t n = len - off < chunk ? len - off : chunk, used = 0;
		rc = smtp_reply_parse(p, in + off, n, &used);
		ck_assert_uint_le(used, n);
		off += used;
		if (rc != 0)
			break;
		ck_assert_uint_eq(used, n);
	}
	*rest = len - off;
	return rc;
}

static void
check_case(const struct reply_case *c, size_t chunk)
{
	struct smtp_reply_parser p = { 0 };
	size_t len = c->in_len ? c->in_len : strlen(c->in), rest = 0;
	int rc;

	rc = run(c->in, len, chunk, &p, &rest);
	ck_assert_msg(rc == c->rc, "case %s chunk %zu: rc %d", c->in, chunk,
	    rc);
	if (rc == 1) {
		ck_assert_int_eq(p.code, c->code);
		ck_assert_str_eq(p.enhanced, c->enhanced);
		ck_assert_str_eq(p.text.data, c->text);
		ck_assert_uint_eq(rest, c->rest);
	} else if (rc == -1) {
		ck_assert_int_eq(p.error, c->err);
		/* Sticky: the connection is out of step. */
		size_t used = 1;
		ck_assert_int_eq(smtp_reply_parse(&p, "250 ok\r\n", 8, &used),
		    -1);
		ck_assert_uint_eq(used, 0);
	}
	smtp_reply_parser_free(&p);
}

START_TEST(reply_table)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		check_case(&cases[i], SIZE_MAX);
		check_case(&cases[i], 1);
	}
}
END_TEST

/* Line of exactly SMTP_REPLY_LINE_MAX octets passes; one more fails. */
START_TEST(reply_line_limit)
{
	for (size_t extra = 0; extra < 2; extra++) {
		struct smtp_reply_parser p = { 0 };
		size_t n = SMTP_REPLY_LINE_MAX + extra, rest = 0;
		char *in = malloc(n + 2);

		memset(in, 'x', n);
		memcpy(in, "250 ", 4);
		memcpy(in + n, "\r\n", 2);
		static const size_t chunks[] = { 1, SIZE_MAX };
		for (size_t k = 0; k < 2; k++) {
			int rc = run(in, n + 2, chunks[k], &p, &rest);
			if (extra == 0) {
				ck_assert_int_eq(rc, 1);
				ck_assert_uint_eq(p.text.len, n - 4);
			} else {
				ck_assert_int_eq(rc, -1);
				ck_assert_int_eq(p.error,
				    SMTP_REPLY_LINE_TOO_LONG);
			}
			smtp_reply_parser_reset(&p);
		}
		smtp_reply_parser_free(&p);
		free(in);
	}
}
END_TEST

/* 100 lines pass; the 101st fails, even if they are short. */
START_TEST(reply_lines_limit)
{
	for (unsigned lines = SMTP_REPLY_LINES_MAX; lines <=
	    SMTP_REPLY_LINES_MAX + 1; lines++) {
		struct smtp_reply_parser p = { 0 };
		char *in = malloc(lines * 6 + 1);
		size_t len = 0, rest = 0;
		int rc;

		for (unsigned i = 0; i < lines; i++) {
			memcpy(in + len, i + 1 < lines ? "250-x\n" : "250 x\n",
			    6);
			len += 6;
		}
		rc = run(in, len, 7, &p, &rest);
		if (lines == SMTP_REPLY_LINES_MAX) {
			ck_assert_int_eq(rc, 1);
			ck_assert_uint_eq(p.n_lines, SMTP_REPLY_LINES_MAX);
		} else {
			ck_assert_int_eq(rc, -1);
			ck_assert_int_eq(p.error, SMTP_REPLY_TOO_MANY_LINES);
		}
		smtp_reply_parser_free(&p);
		free(in);
	}
}
END_TEST

/* Replies back to back: each call returns one; text is per reply. */
START_TEST(reply_stream)
{
	static const char in[] = "220 hi\r\n250-a\r\n250 2.0.0 b\r\n354 go\n"
	    "250 2.0.0 done\r\n";
	static const int codes[] = { 220, 250, 354, 250 };
	static const char *const texts[] = { "hi", "a\n2.0.0 b", "go", "done" };
	struct smtp_reply_parser p = { 0 };
	size_t off = 0, len = sizeof(in) - 1;

	for (size_t i = 0; i < 4; i++) {
		size_t used = 0;
		ck_assert_int_eq(smtp_reply_parse(&p, in + off, len - off,
		    &used), 1);
		off += used;
		ck_assert_int_eq(p.code, codes[i]);
		ck_assert_str_eq(p.text.data, texts[i]);
	}
	ck_assert_uint_eq(off, len);
	smtp_reply_parser_free(&p);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("smtp_reply");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, reply_table);
	tcase_add_test(tc, reply_line_limit);
	tcase_add_test(tc, reply_lines_limit);
	tcase_add_test(tc, reply_stream);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

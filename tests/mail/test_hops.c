/*
 * test_hops.c - src/mail/hops.c: counting Received: fields for mail loop
 * detection (RELIABILITY row 6, RFC 5321 6.3).
 *
 * A table of header sections, then generated messages of 0, 1, 50, 51
 * and 1000 hops as the inbound hook asks about them (stop_at = limit + 1).
 * hops_count() is not incremental (the engine hands over the whole
 * message), so instead of a trickled run every input is counted in a heap
 * buffer of exactly its size, and so is every prefix of it: an over-read
 * shows under ASan or valgrind, and no prefix may count more than the
 * whole.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gent/hops.h"
#include "gent/util.h"

#define ALL SIZE_MAX
#define BYTES(s) s, sizeof(s) - 1	/* raw and len of a literal with NULs */

static const struct hops_case {
	const char	*what;
	const char	*raw;
	size_t		 len;		/* 0: strlen(raw) */
	size_t		 stop_at;	/* ALL: no limit */
	size_t		 want;
} cases[] = {
	{ "empty input", "", 0, ALL, 0 },
	{ "no Received", "From: a@b.test\r\nTo: c@d.test\r\n\r\nbody\r\n", 0, ALL, 0 },
	{ "one", "Received: from a by b; Mon, 1 Jan 2024 00:00:00 +0000\r\n"
	    "Subject: x\r\n\r\nbody\r\n", 0, ALL, 1 },
	{ "folded Received is one field",
	    "Received: from a.test ([192.0.2.1])\r\n\tby b.test with ESMTP id x;\r\n"
	    "\tMon, 1 Jan 2024 00:00:00 +0000\r\nReceived: from c\r\n by d;\r\n"
	    " Tue, 2 Jan 2024 00:00:00 +0000\r\n\r\n", 0, ALL, 2 },
	{ "folded line that reads Received: is a continuation",
	    "X-Note: a\r\n Received: from fake\r\n\tReceived: again\r\n\r\n", 0, ALL, 0 },
	{ "name in any case", "RECEIVED: a\r\nreceived: b\r\nReCeIvEd: c\r\n\r\n",
	    0, ALL, 3 },
	{ "white space before the colon (obs-optional)",
	    "Received : a\r\nReceived\t: b\r\nReceived \t :c\r\n\r\n", 0, ALL, 3 },
	{ "other names", "Received-SPF: pass\r\nX-Received: a\r\nReceivedBy: b\r\n"
	    "Received x: c\r\nReceive: d\r\nReceived\r\nARC-Received: e\r\n\r\n",
	    0, ALL, 0 },
	{ "Received in the body is not counted",
	    "Subject: s\r\n\r\nReceived: from body\r\nReceived: again\r\n", 0, ALL, 0 },
	{ "header counted, body not",
	    "Received: a\r\nReceived: b\r\n\r\nReceived: c\r\n\r\nReceived: d\r\n",
	    0, ALL, 2 },
	{ "empty first line: no header section", "\r\nReceived: a\r\n", 0, ALL, 0 },
	{ "bare LF lines", "Received: a\nReceived: b\n\nReceived: c\n", 0, ALL, 2 },
	{ "mixed CRLF and LF", "Received: a\r\nReceived: b\n\r\nReceived: c\r\n",
	    0, ALL, 2 },
	{ "no body, no final newline", "Subject: s\r\nReceived: a", 0, ALL, 1 },
	{ "bare name and colon at the end", "Received:", 0, ALL, 1 },
	{ "name without colon at the end", "Received", 0, ALL, 0 },
	{ "NUL inside a name", BYTES("Rec\0eived: a\r\nReceived: b\r\n\r\n"), ALL, 1 },
	{ "NUL in a value", BYTES("Received: a\0b\r\nReceived: c\r\n\r\n"), ALL, 2 },
	{ "lone CR is not an empty line",
	    "Received: a\r\n\rReceived: b\r\nReceived: c\r\n\r\n", 0, ALL, 2 },
	{ "stop_at cuts the count", "Received: 1\r\nReceived: 2\r\nReceived: 3\r\n"
	    "Received: 4\r\nReceived: 5\r\n\r\n", 0, 3, 3 },
	{ "stop_at 1", "Subject: x\r\nReceived: 1\r\nReceived: 2\r\n\r\n", 0, 1, 1 },
	{ "stop_at 0 reads nothing", "Received: 1\r\n\r\n", 0, 0, 0 },
};

/* Count raw[0..len) from an exact-size copy, and every prefix of it. */
static size_t
count_exact(const char *raw, size_t len, size_t stop_at)
{
	char *copy = xmalloc(len ? len : 1);
	size_t n;

	memcpy(copy, raw, len);
	n = hops_count(copy, len, stop_at);
	for (size_t k = 0; k < len; k++) {
		char *pre = xmalloc(k ? k : 1);
		memcpy(pre, raw, k);
		size_t m = hops_count(pre, k, stop_at);
		ck_assert_msg(m <= n, "prefix of %zu bytes counts %zu > %zu", k, m, n);
		free(pre);
	}
	free(copy);
	return n;
}

START_TEST(test_table)
{
	const struct hops_case *c = &cases[_i];
	size_t len = c->len ? c->len : strlen(c->raw);
	size_t got = count_exact(c->raw, len, c->stop_at);
	ck_assert_msg(got == c->want, "%s: counted %zu, want %zu", c->what, got,
	    c->want);
}
END_TEST

/* A message of n realistic (folded) Received fields among other fields,
 * with Received lines in its body too. */
static char *
message_with_hops(size_t n, size_t *len_r)
{
	struct buf b = { 0 };

	buf_append_str(&b, "Return-Path: <a@b.test>\r\n");
	for (size_t i = 0; i < n; i++) {
		buf_printf(&b, "%s: from relay%zu.test ([192.0.2.%zu])\r\n\tby "
		    "relay%zu.test with ESMTP id q%zu;\r\n\tMon, 1 Jan 2024 00:00:00 "
		    "+0000\r\n", i % 2 ? "received" : "Received", i + 1, i % 250,
		    i, i);
		if (i % 10 == 0)
			buf_printf(&b, "X-Trace-%zu: Received: not a field\r\n", i);
	}
	buf_append_str(&b, "From: a@b.test\r\nSubject: hops\r\n\r\n");
	for (size_t i = 0; i < 10; i++)
		buf_append_str(&b, "Received: from quoted.test by body.test\r\n");
	*len_r = b.len;
	return b.data;
}

static const struct { size_t hops, limit; } loops[] = {
	{ 0, 50 }, { 1, 50 }, { 49, 50 }, { 50, 50 }, { 51, 50 }, { 1000, 50 },
	{ 1, 1 }, { 2, 1 },
};

START_TEST(test_loop_limit)
{
	size_t hops = loops[_i].hops, limit = loops[_i].limit, len;
	char *raw = message_with_hops(hops, &len);

	/* The inbound hook's question: more than limit? */
	size_t n = hops_count(raw, len, limit + 1);
	ck_assert_uint_eq(n, hops < limit + 1 ? hops : limit + 1);
	ck_assert_msg((n > limit) == (hops > limit), "%zu hops, limit %zu", hops,
	    limit);
	/* Unlimited, the count is exact. */
	ck_assert_uint_eq(hops_count(raw, len, SIZE_MAX), hops);
	free(raw);
}
END_TEST

/* The generated messages through the exact-size and prefix check too
 * (small ones only: the prefix loop is quadratic). */
START_TEST(test_generated_exact)
{
	size_t len;
	char *raw = message_with_hops(3, &len);

	ck_assert_uint_eq(count_exact(raw, len, SIZE_MAX), 3);
	free(raw);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("hops");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_loop_test(tc, test_table, 0, (int)GENT_ARRAY_LEN(cases));
	tcase_add_loop_test(tc, test_loop_limit, 0, (int)GENT_ARRAY_LEN(loops));
	tcase_add_test(tc, test_generated_exact);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/*
 * test_mime.c - src/mail/mime.c: what mime_summarize() keeps of the
 * Delivered-To fields (RFC 9228), the input of forwarding loop
 * detection: the top-level ones only, in order, trimmed, without <>,
 * unusable values left out, at most MIME_MAX_DELIVERED_TO.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gent/mime.h"
#include "gent/util.h"

#define TAIL "From: a@b.test\r\nTo: c@d.test\r\nSubject: s\r\n\r\nbody\r\n"

static const struct {
	const char	*name;
	const char	*raw;
	const char	*want[4];	/* NULL-terminated */
} cases[] = {
	{ "none", TAIL, { NULL } },
	{ "in order, trimmed, <> dropped",
	    "Delivered-To: b@y.test\r\nReceived: from x\r\n"
	    "delivered-to:   <A@X.test>  \r\nDELIVERED-TO:\tc@z.test\r\n" TAIL,
	    { "b@y.test", "A@X.test", "c@z.test", NULL } },
	{ "folded value is unfolded",
	    "Delivered-To:\r\n a@x.test\r\n" TAIL, { "a@x.test", NULL } },
	{ "empty and bracket-only values are left out",
	    "Delivered-To: \r\nDelivered-To: <>\r\nDelivered-To: a@x.test\r\n" TAIL,
	    { "a@x.test", NULL } },
	{ "stray brackets are left out",
	    "Delivered-To: a@x.test>\r\nDelivered-To: <a@x<test>\r\n" TAIL, { NULL } },
	{ "similar names are not Delivered-To",
	    "X-Delivered-To: a@x.test\r\nDelivered-To-Foo: b@x.test\r\n" TAIL,
	    { NULL } },
	{ "an attached message's are part of the body",
	    "Delivered-To: top@x.test\r\nFrom: a@b.test\r\nSubject: s\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
	    "--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n"
	    "--b\r\nContent-Type: message/rfc822\r\n\r\n"
	    "Delivered-To: inner@x.test\r\nFrom: e@f.test\r\n\r\ninner\r\n"
	    "--b--\r\n", { "top@x.test", NULL } },
	{ "a body line is not a field",
	    TAIL "Delivered-To: a@x.test\r\n", { NULL } },
};

START_TEST(delivered_to)
{
	struct mime_summary sum;
	size_t n = 0;

	mime_summarize(cases[_i].raw, strlen(cases[_i].raw), &sum);
	ck_assert_msg(sum.parsed, "%s: not parsed", cases[_i].name);
	while (cases[_i].want[n])
		n++;
	ck_assert_msg(sum.n_delivered_to == n, "%s: %zu values, want %zu",
	    cases[_i].name, sum.n_delivered_to, n);
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(strcmp(sum.delivered_to[i], cases[_i].want[i]) == 0,
		    "%s: [%zu] is '%s', want '%s'", cases[_i].name, i,
		    sum.delivered_to[i], cases[_i].want[i]);
	mime_summary_free(&sum);
	ck_assert_ptr_null(sum.delivered_to);
	ck_assert_uint_eq(sum.n_delivered_to, 0);
}
END_TEST

/* More fields than the cap: the first (newest) MIME_MAX_DELIVERED_TO. */
START_TEST(delivered_to_bounded)
{
	struct buf raw = { 0 };
	struct mime_summary sum;
	char want[64];

	buf_printf(&raw, "Delivered-To: %0255d@x.test\r\n", 0);	/* too long */
	for (int i = 0; i < MIME_MAX_DELIVERED_TO + 20; i++)
		buf_printf(&raw, "Delivered-To: hop%d@x.test\r\n", i);
	buf_append_str(&raw, TAIL);
	mime_summarize(raw.data, raw.len, &sum);
	ck_assert_uint_eq(sum.n_delivered_to, MIME_MAX_DELIVERED_TO);
	for (int i = 0; i < MIME_MAX_DELIVERED_TO; i++) {
		snprintf(want, sizeof(want), "hop%d@x.test", i);
		ck_assert_str_eq(sum.delivered_to[i], want);
	}
	mime_summary_free(&sum);
	buf_free(&raw);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("mime");
	TCase *tc = tcase_create("delivered_to");
	SRunner *sr;
	int failed;

	mime_init();
	tcase_add_loop_test(tc, delivered_to, 0, (int)GENT_ARRAY_LEN(cases));
	tcase_add_test(tc, delivered_to_bounded);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/*
 * test_mime_compose.c - src/mail/mime_compose.c: a forwarded copy's
 * Delivered-To fields (RFC 9228) are written verbatim at the top of its
 * header, in the order given, and read back by mime_summarize() as the
 * next receiver reads them; the attached original's stay inside it.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "gent/mime.h"
#include "gent/mime_compose.h"
#include "gent/util.h"

#define ORIGINAL "Delivered-To: b@y.test\r\nFrom: Alice <alice@v.test>\r\n" \
	"To: a@x.test\r\nSubject: hello\r\nDate: Mon, 23 Nov 2026 12:00:00 +0000\r\n" \
	"Message-ID: <1@v.test>\r\n\r\nHello.\r\n"

static char *
compose(const char *const *dt, size_t n, size_t *len_r)
{
	struct forward_compose f = {
		.inbox_address = "a@x.test", .to = "human@w.test",
		.reply_to = "alice@v.test", .orig_from = "Alice <alice@v.test>",
		.orig_to = "a@x.test", .orig_subject = "hello",
		.text_body = "Hello.", .raw = ORIGINAL, .raw_len = strlen(ORIGINAL),
		.unsubscribe_url = "https://gentd.test/v1/forwarding/unsubscribe/t/",
		.message_id = "out_1@gentd.test", .delivered_to = dt,
		.n_delivered_to = n,
	};

	return mime_compose_forward(&f, len_r);
}

START_TEST(delivered_to_on_top)
{
	static const char *const dt[] = { "a@x.test", "b@y.test", "C@Z.test" };
	struct mime_summary sum;
	size_t len;
	char *raw = compose(dt, 3, &len);

	/* Verbatim, first in the header, newest first. */
	ck_assert_msg(strncmp(raw, "Delivered-To: a@x.test\r\n"
	    "Delivered-To: b@y.test\r\nDelivered-To: C@Z.test\r\n", 72) == 0,
	    "header starts: %.200s", raw);
	mime_summarize(raw, len, &sum);
	ck_assert(sum.parsed);
	ck_assert_uint_eq(sum.n_delivered_to, 3);
	for (size_t i = 0; i < 3; i++)
		ck_assert_str_eq(sum.delivered_to[i], dt[i]);
	ck_assert_str_eq(sum.from_addr, "a@x.test");
	/* The original is attached whole, its own field inside it. */
	ck_assert_uint_eq(sum.n_attachments, 1);
	ck_assert_str_eq(sum.attachments[0].content_type, "message/rfc822");
	ck_assert_ptr_nonnull(strstr(sum.attachments[0].data, "Delivered-To: b@y.test"));
	mime_summary_free(&sum);
	free(raw);
}
END_TEST

START_TEST(no_delivered_to)
{
	struct mime_summary sum;
	size_t len;
	char *raw = compose(NULL, 0, &len);
	const char *body = strstr(raw, "\r\n\r\n");

	ck_assert_ptr_nonnull(body);
	/* Only the attached original's, below the header. */
	ck_assert(strstr(raw, "Delivered-To:") > body);
	mime_summarize(raw, len, &sum);
	ck_assert_uint_eq(sum.n_delivered_to, 0);
	mime_summary_free(&sum);
	free(raw);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("mime_compose");
	TCase *tc = tcase_create("forward");
	SRunner *sr;
	int failed;

	mime_init();
	tcase_add_test(tc, delivered_to_on_top);
	tcase_add_test(tc, no_delivered_to);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

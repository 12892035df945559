/*
 * test_webhook_sign.c - webhook signatures against known answers.
 *
 * Every expected string below was computed independently with Python's
 * hmac, hashlib and base64 modules (not with this code), e.g.
 *   hmac.new(key, b"<id>.<ts>." + body, hashlib.sha256).digest()
 * and pasted in. The "spec" vector is the example published by Standard
 * Webhooks (secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw, id
 * msg_p5jXN8AQM9LWM0D4loKWxJek, timestamp 1614265330), which the same
 * Python snippet reproduces.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "gent/util.h"
#include "gent/webhook.h"

#define WHSEC "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define BODY "{\"type\":\"message.received\",\"id\":\"evt_1\"}"
#define MSG_ID "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"
#define TS 1674087231

START_TEST(test_spec_example)
{
	const char *body = "{\"test\": 2432232314}", *err = NULL;
	char v1[48];

	ck_assert_int_eq(webhook_sign_v1(WHSEC, "msg_p5jXN8AQM9LWM0D4loKWxJek",
	    1614265330, body, strlen(body), v1, &err), 0);
	ck_assert_str_eq(v1, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}
END_TEST

START_TEST(test_whsec_secret)
{
	struct webhook_signature s;
	const char *err = NULL;

	ck_assert_int_eq(webhook_sign(&s, WHSEC, MSG_ID, TS, BODY, strlen(BODY),
	    &err), 0);
	/* X-Gent-Signature is keyed with the secret string as given. */
	ck_assert_str_eq(s.gent,
	    "3f70920ceb084fec54caa9570bccd0b212e38955bc13e0d53f0f1fd135b7c163");
	ck_assert_str_eq(s.v1,
	    "v1,MfaVhYwHUbU1JkSbMl0Gyp82A2qLIdDBTEAfCz318OU=");
	ck_assert_str_eq(s.id, MSG_ID);
	ck_assert_str_eq(s.timestamp, "1674087231");
	ck_assert_str_eq(s.lines[0], "X-Gent-Signature: "
	    "3f70920ceb084fec54caa9570bccd0b212e38955bc13e0d53f0f1fd135b7c163");
	ck_assert_str_eq(s.lines[1], "webhook-id: " MSG_ID);
	ck_assert_str_eq(s.lines[2], "webhook-timestamp: 1674087231");
	ck_assert_str_eq(s.lines[3], "webhook-signature: "
	    "v1,MfaVhYwHUbU1JkSbMl0Gyp82A2qLIdDBTEAfCz318OU=");
}
END_TEST

START_TEST(test_raw_secret)
{
	struct webhook_signature s;
	const char *err = NULL;

	/* Without "whsec_" both schemes key with the raw bytes. */
	ck_assert_int_eq(webhook_sign(&s, "plain-secret", MSG_ID, TS, BODY,
	    strlen(BODY), &err), 0);
	ck_assert_str_eq(s.gent,
	    "345452b102e8c1206c3096ec496d0b1c7d6c8dc9799795f60ca864ae19848c07");
	ck_assert_str_eq(s.v1,
	    "v1,j8yCxpgW1bA8z+9kMSzHq8oL/PYAg9nt+RDKzQm/o5s=");
}
END_TEST

START_TEST(test_empty_body)
{
	char hex[65];

	/* hmac.new(b"k", b"", hashlib.sha256).hexdigest() */
	webhook_sign_gent("k", NULL, 0, hex);
	ck_assert_str_eq(hex,
	    "8bb990c40a7d61cb97597a942125025be50ac8beb74436e3735b98893a7f6620");
}
END_TEST

START_TEST(test_bad_inputs)
{
	static const char *bad_secrets[] = {
		"", "whsec_", "whsec_abc", "whsec_!!!!", "whsec_ab=c",
		"whsec_a===",
	};
	static const char *bad_ids[] = { "", "a b", "a\r\nX: y", "\x7f" };
	struct webhook_signature s;
	char long_id[WEBHOOK_SIGN_ID_MAX + 2];
	const char *err;

	for (size_t i = 0; i < GENT_ARRAY_LEN(bad_secrets); i++) {
		err = NULL;
		ck_assert_msg(webhook_sign(&s, bad_secrets[i], "id", TS, "{}",
		    2, &err) == -1 && err, "secret %zu accepted", i);
	}
	for (size_t i = 0; i < GENT_ARRAY_LEN(bad_ids); i++) {
		err = NULL;
		ck_assert_msg(webhook_sign(&s, "k", bad_ids[i], TS, "{}", 2,
		    &err) == -1 && err, "id %zu accepted", i);
	}
	memset(long_id, 'a', sizeof(long_id) - 1);
	long_id[sizeof(long_id) - 1] = '\0';
	ck_assert_int_eq(webhook_sign(&s, "k", long_id, TS, "{}", 2, &err), -1);
	long_id[WEBHOOK_SIGN_ID_MAX] = '\0';	/* exactly the maximum */
	ck_assert_int_eq(webhook_sign(&s, "k", long_id, TS, "{}", 2, &err), 0);
	ck_assert_int_eq(webhook_sign(&s, "k", "id", -1, "{}", 2, &err), -1);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("webhook_sign");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_spec_example);
	tcase_add_test(tc, test_whsec_secret);
	tcase_add_test(tc, test_raw_secret);
	tcase_add_test(tc, test_empty_body);
	tcase_add_test(tc, test_bad_inputs);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

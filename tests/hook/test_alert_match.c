/*
 * test_alert_match.c - src/hook/alert_match.c (which events fire which
 * subscription) and webhook_retry_delay_ms() (the backoff schedule).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gent/alert_match.h"
#include "gent/webhook_dispatch.h"

static bool
has_label_l1(void *arg, const char *message_id, const char *label_id)
{
	(void)arg;
	return strcmp(message_id, "msg_1") == 0 && strcmp(label_id, "lbl_1") == 0;
}

static bool
fires(struct alert_subscription *s, const char *type, const char *inbox,
    const char *message_id, const char *payload_json)
{
	struct event_row e = { .inbox_id = (char *)inbox, .message_id = (char *)message_id };
	json_t *p = json_loads(payload_json, 0, NULL);
	bool yes;

	snprintf(e.type, sizeof(e.type), "%s", type);
	yes = alert_matches(s, &e, p, has_label_l1, NULL);
	json_decref(p);
	return yes;
}

START_TEST(test_type_and_inbox)
{
	struct alert_subscription s = { "inb_a", json_pack("[s, s]", "message.received",
	    "label.applied"), NULL, NULL, -1, false };

	ck_assert(fires(&s, "message.received", "inb_a", "msg_9", "{}"));
	ck_assert(!fires(&s, "message.received", "inb_b", "msg_9", "{}"));
	ck_assert(!fires(&s, "message.sent", "inb_a", "msg_9", "{}"));
	ck_assert(!fires(&s, "message.received", NULL, "msg_9", "{}"));
	json_decref(s.events);
}
END_TEST

START_TEST(test_label_filter)
{
	struct alert_subscription s = { "inb_a", json_pack("[s, s, s]", "message.received",
	    "label.applied", "message.sent"), "lbl_1", NULL, -1, false };

	/* label.* events: the event's label. */
	ck_assert(fires(&s, "label.applied", "inb_a", "msg_9", "{\"label_id\":\"lbl_1\"}"));
	ck_assert(!fires(&s, "label.applied", "inb_a", "msg_1", "{\"label_id\":\"lbl_2\"}"));
	/* label_ids in the payload (the labels at arrival) win over now. */
	ck_assert(fires(&s, "message.received", "inb_a", "msg_9",
	    "{\"label_ids\":[\"lbl_0\",\"lbl_1\"]}"));
	ck_assert(!fires(&s, "message.received", "inb_a", "msg_1", "{\"label_ids\":[]}"));
	/* Otherwise the message's labels as the callback reports them. */
	ck_assert(fires(&s, "message.sent", "inb_a", "msg_1", "{}"));
	ck_assert(!fires(&s, "message.sent", "inb_a", "msg_2", "{}"));
	ck_assert(!fires(&s, "message.sent", "inb_a", NULL, "{}"));
	json_decref(s.events);
}
END_TEST

START_TEST(test_notify_policy)
{
	struct alert_subscription hook = { "inb_a", json_pack("[s]", "message.received"),
	    NULL, NULL, -1, true };
	struct alert_subscription rule = { "inb_a", json_pack("[s]", "message.received"),
	    NULL, NULL, -1, false };

	/* The inbox webhook gets label.applied marked notify, unasked. */
	ck_assert(fires(&hook, "label.applied", "inb_a", "msg_9",
	    "{\"label_id\":\"lbl_1\",\"notify\":true}"));
	ck_assert(!fires(&hook, "label.applied", "inb_a", "msg_9",
	    "{\"label_id\":\"lbl_1\",\"notify\":false}"));
	ck_assert(!fires(&hook, "label.applied", "inb_b", "msg_9", "{\"notify\":true}"));
	ck_assert(!fires(&hook, "label.removed", "inb_a", "msg_9", "{\"notify\":true}"));
	/* An alert rule gets only the types it lists. */
	ck_assert(!fires(&rule, "label.applied", "inb_a", "msg_9", "{\"notify\":true}"));
	json_decref(hook.events);
	json_decref(rule.events);
}
END_TEST

START_TEST(test_contact_filter_and_thresholds)
{
	struct alert_subscription c = { "inb_a", json_pack("[s]", "contact.birthday"),
	    NULL, "ctc_1", -1, false };
	struct alert_subscription cap = { "inb_a", json_pack("[s, s]", "cap.reached",
	    "auth.failed"), NULL, NULL, 80, false };

	ck_assert(fires(&c, "contact.birthday", "inb_a", NULL, "{\"contact_id\":\"ctc_1\"}"));
	ck_assert(!fires(&c, "contact.birthday", "inb_a", NULL, "{\"contact_id\":\"ctc_2\"}"));
	ck_assert(!fires(&c, "contact.birthday", "inb_a", NULL, "{}"));
	ck_assert(fires(&cap, "cap.reached", "inb_a", NULL, "{\"percent\":80}"));
	ck_assert(fires(&cap, "cap.reached", "inb_a", NULL, "{\"percent\":100}"));
	ck_assert(!fires(&cap, "cap.reached", "inb_a", NULL, "{\"percent\":79}"));
	ck_assert(!fires(&cap, "cap.reached", "inb_a", NULL, "{}"));
	/* auth.failed fires once per run of failures: at the count. */
	ck_assert(fires(&cap, "auth.failed", "inb_a", NULL, "{\"consecutive\":80}"));
	ck_assert(!fires(&cap, "auth.failed", "inb_a", NULL, "{\"consecutive\":81}"));
	json_decref(c.events);
	json_decref(cap.events);
}
END_TEST

START_TEST(test_retry_delays)
{
	ck_assert_int_eq(webhook_retry_delay_ms("immediate", 1, 30000), 0);
	ck_assert_int_eq(webhook_retry_delay_ms("immediate", 5, 30000), 0);
	ck_assert_int_eq(webhook_retry_delay_ms("fixed", 1, 30000), 30000);
	ck_assert_int_eq(webhook_retry_delay_ms("fixed", 9, 30000), 30000);
	ck_assert_int_eq(webhook_retry_delay_ms("exponential", 1, 30000), 30000);
	ck_assert_int_eq(webhook_retry_delay_ms("exponential", 2, 30000), 60000);
	ck_assert_int_eq(webhook_retry_delay_ms("exponential", 4, 30000), 240000);
	ck_assert_int_eq(webhook_retry_delay_ms("exponential", 60, 30000),
	    WEBHOOK_RETRY_MAX_MS);
	ck_assert_int_eq(webhook_retry_delay_ms("fixed", 1, 100ull * 3600 * 1000),
	    WEBHOOK_RETRY_MAX_MS);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("alert_match");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_type_and_inbox);
	tcase_add_test(tc, test_label_filter);
	tcase_add_test(tc, test_contact_filter_and_thresholds);
	tcase_add_test(tc, test_notify_policy);
	tcase_add_test(tc, test_retry_delays);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

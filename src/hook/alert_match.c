/*
 * alert_match.c - which events fire which subscription (alert_match.h).
 */
#include <string.h>

#include "gent/alert_match.h"

static bool
wants_type(json_t *events, const char *type)
{
	size_t i;
	json_t *v;

	json_array_foreach(events, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), type) == 0)
			return true;
	return false;
}

static bool
label_filter_ok(const struct alert_subscription *s, const struct event_row *e,
    json_t *payload, alert_has_label_fn has_label, void *arg)
{
	const char *of_event;

	if (!s->label_id)
		return true;
	if (strncmp(e->type, "label.", 6) == 0) {
		of_event = json_string_value(json_object_get(payload, "label_id"));
		return of_event && strcmp(of_event, s->label_id) == 0;
	}
	/* Events that say which labels the message had then are read as such. */
	json_t *ids = json_object_get(payload, "label_ids"), *v;
	size_t i;
	if (json_is_array(ids)) {
		json_array_foreach(ids, i, v)
			if (json_is_string(v) && strcmp(json_string_value(v), s->label_id) == 0)
				return true;
		return false;
	}
	return e->message_id && has_label && has_label(arg, e->message_id, s->label_id);
}

static bool
contact_filter_ok(const struct alert_subscription *s, json_t *payload)
{
	const char *of_event;

	if (!s->contact_id)
		return true;
	of_event = json_string_value(json_object_get(payload, "contact_id"));
	return of_event && strcmp(of_event, s->contact_id) == 0;
}

static bool
threshold_ok(const struct alert_subscription *s, const struct event_row *e,
    json_t *payload)
{
	json_t *v;

	if (s->threshold < 0)
		return true;
	if (strcmp(e->type, "auth.failed") == 0) {
		v = json_object_get(payload, "consecutive");
		return json_is_integer(v) && json_integer_value(v) == s->threshold;
	}
	if (strcmp(e->type, "cap.reached") == 0 ||
	    strcmp(e->type, "storage.threshold") == 0) {
		v = json_object_get(payload, "percent");
		return json_is_number(v) && json_number_value(v) >= (double)s->threshold;
	}
	return true;
}

/* A label.applied event that the label's notify policy marked. */
static bool
notify_marked(const struct alert_subscription *s, const struct event_row *e,
    json_t *payload)
{
	return s->takes_notify && strcmp(e->type, "label.applied") == 0 &&
	    json_is_true(json_object_get(payload, "notify"));
}

bool
alert_matches(const struct alert_subscription *s, const struct event_row *e,
    json_t *payload, alert_has_label_fn has_label, void *arg)
{
	if (!e->inbox_id || strcmp(e->inbox_id, s->inbox_id) != 0 ||
	    !(wants_type(s->events, e->type) || notify_marked(s, e, payload)))
		return false;
	return label_filter_ok(s, e, payload, has_label, arg) &&
	    contact_filter_ok(s, payload) && threshold_ok(s, e, payload);
}

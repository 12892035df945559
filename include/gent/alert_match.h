/*
 * alert_match.h - does an event fire a subscription (an alert rule or the
 * inbox webhook)? Pure: the caller answers "does this message carry this
 * label" through a callback, so the rules can be tested without a store.
 *
 * A subscription fires when the event is of its inbox and one of its
 * types, its filter matches (label_id: the label of a label.* event, or a
 * label the message of any other event carries: the payload's "label_ids"
 * when the event lists them, as message.received does; contact_id: the contact
 * the event names) and, for system events, the event reaches the
 * threshold (cap.reached and storage.threshold: payload "percent" at or
 * over it; auth.failed: payload "consecutive" equal to it, so a run of
 * failures fires once).
 *
 * A label's notify policy ("send a webhook notification whenever this
 * label is applied") marks its label.applied events notify: true; a
 * subscription with takes_notify (the inbox webhook) gets those events
 * even when its types do not list label.applied.
 */
#ifndef GENT_ALERT_MATCH_H
#define GENT_ALERT_MATCH_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "gent/store_events.h"

struct alert_subscription {
	const char	*inbox_id;
	json_t		*events;	/* array of type strings */
	const char	*label_id;	/* filter, or NULL */
	const char	*contact_id;	/* filter, or NULL */
	int64_t		 threshold;	/* -1 = none */
	bool		 takes_notify;	/* label.applied marked notify, always */
};

typedef bool (*alert_has_label_fn)(void *arg, const char *message_id,
    const char *label_id);

/** payload is the event's parsed payload (an object, maybe empty). */
bool alert_matches(const struct alert_subscription *s, const struct event_row *e,
    json_t *payload, alert_has_label_fn has_label, void *arg);

#endif

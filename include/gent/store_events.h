/*
 * store_events.h - the event outbox (tenant.db). Writers append inside the
 * transaction of the change; consumers read in seq order.
 */
#ifndef GENT_STORE_EVENTS_H
#define GENT_STORE_EVENTS_H

#include <stdint.h>

#include "gent/store.h"

struct store_event {
	const char	*type;		/* "message.received" */
	const char	*inbox_id;
	const char	*message_id;	/* the stable message id, when one applies */
	const char	*thread_id;
	const char	*payload_json;	/* NULL = "{}" */
};

/** Append an event; call inside the write function of the change. */
int store_events_append(sqlite3 *conn, const struct store_event *e);

#endif

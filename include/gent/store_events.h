/*
 * store_events.h - the event outbox (tenant.db). Writers append inside the
 * transaction of the change; consumers read in seq order.
 */
#ifndef GENT_STORE_EVENTS_H
#define GENT_STORE_EVENTS_H

#include <jansson.h>
#include <stdint.h>

#include "gent/store.h"

struct store_event {
	const char	*type;		/* "message.received" */
	const char	*inbox_id;
	const char	*message_id;	/* the stable message id, when one applies */
	const char	*thread_id;
	const char	*payload_json;	/* NULL = "{}" */
};

struct event_row {
	int64_t	 seq;
	char	 id[64];
	char	 type[64];
	char	*inbox_id, *message_id, *thread_id, *payload;
	int64_t	 created_at;
};

/**
 * Events after seq (oldest first), at most limit; inbox_id and type
 * (NULL = any) narrow them.
 */
int store_events_list(struct store_db *db, int64_t after, const char *inbox_id,
    const char *type, int limit, struct event_row **rows_r, int *n_r);
void event_rows_free(struct event_row *rows, int n);
/** The event as the feed and webhooks show it: {id, type, inbox_id,
 *  message_id, thread_id, payload, created_at}. */
json_t *event_row_json(const struct event_row *e);

/** Append an event in its own transaction (an event with no other change). */
int store_events_write(struct store_db *db, const struct store_event *e);
/** Append an event; call inside the write function of the change. */
int store_events_append(sqlite3 *conn, const struct store_event *e);

#endif

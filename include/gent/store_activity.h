/*
 * store_activity.h - reads that summarise an inbox (tenant.db): the
 * activity feed (events with the message they concern), the usage
 * summary and the correspondents an inbox has been in touch with.
 */
#ifndef GENT_STORE_ACTIVITY_H
#define GENT_STORE_ACTIVITY_H

#include <stdint.h>

#include "gent/store.h"
#include "gent/store_events.h"

struct activity_row {
	struct event_row	 e;
	char			*subject, *from_addr, *to_addrs;	/* NULL without a message */
};

/** Events newest first, since since_ms, before seq before_seq (0 = none). */
int store_activity_list(struct store_db *db, const char *inbox_id,
    const char *type, int64_t since_ms, int64_t before_seq, int limit,
    struct activity_row **rows_r, int *n_r);
void activity_rows_free(struct activity_row *rows, int n);

struct usage_by_type {
	char	*content_type;
	int64_t	 bytes, count;
};

struct usage_summary {
	int64_t			 message_bytes, messages;	/* raw, whole inbox */
	int64_t			 attachment_bytes, attachments;
	struct usage_by_type	*by_type;	/* attachments, biggest first */
	int			 n_types;
	int64_t			 received, sent;	/* in the period */
	int64_t			 active_threads;	/* last message in the period */
	int64_t			 contacts;	/* distinct correspondents in it */
};

#define USAGE_TYPES_MAX 20

int store_usage_get(struct store_db *db, const char *inbox_id, int64_t since_ms,
    struct usage_summary *out);
void usage_summary_free(struct usage_summary *u);

struct contact_touch {
	char	*address;		/* lowercased */
	int64_t	 last_at, received, sent;
};

/** Correspondents since since_ms (envelope senders of mail received,
 *  recipients of mail sent), most recent first, at most limit. */
int store_contacts_recent(struct store_db *db, const char *inbox_id,
    int64_t since_ms, int limit, struct contact_touch **rows_r, int *n_r);
void contact_touches_free(struct contact_touch *rows, int n);

#endif

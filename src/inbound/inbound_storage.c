/*
 * inbound_storage.c - storage.threshold: after mail is stored, tell an
 * inbox whose mailbox cap has alert thresholds (percents) that a message
 * took its usage across one of them. Usage is what the quota route shows:
 * raw messages plus decoded attachments.
 */
#include <stdio.h>
#include <stdlib.h>

#include "gent/log.h"
#include "gent/send_caps.h"
#include "gent/store_caps.h"
#include "gent/store_events.h"
#include "gent/util.h"
#include "inbound_int.h"

static int64_t
bytes_of(const struct message_row *m)
{
	int64_t n = m->size;

	for (int64_t i = 0; i < m->n_attachments; i++)
		n += (int64_t)m->attachments[i].size;
	return n;
}

static void
check_one(struct store_db *db, const struct message_row *m)
{
	struct mailbox_usage u;
	struct cap_row cap;
	int64_t after, crossed;

	if (store_caps_get(db, m->inbox_id, "mailbox", &cap) != STORE_OK)
		return;
	if (store_caps_mailbox_usage(db, m->inbox_id, &u) == STORE_OK) {
		after = u.messages + u.attachments;
		crossed = caps_threshold_crossed(cap.alert_thresholds, after - bytes_of(m),
		    after, cap.limit_value);
		if (crossed > 0) {
			char *payload = xasprintf("{\"resource\":\"mailbox\",\"used_bytes\":"
			    "%lld,\"limit_bytes\":%lld,\"percent\":%lld,\"threshold\":%lld,"
			    "\"mode\":\"%s\"}", (long long)after, (long long)cap.limit_value,
			    (long long)caps_percent(after, cap.limit_value),
			    (long long)crossed, cap.mode);
			struct store_event e = { "storage.threshold", m->inbox_id, m->id,
			    m->thread_id, payload };
			if (store_events_write(db, &e) != STORE_OK)
				log_warn("inbound", NULL, "storage.threshold of %s not recorded",
				    m->inbox_id);
			free(payload);
		}
	}
	cap_row_free(&cap);
}

void
inbound__storage_thresholds(struct store_db *db, const struct message_row *rows,
    size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (rows[i].id[0])
			check_one(db, &rows[i]);
}

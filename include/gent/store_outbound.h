/*
 * store_outbound.h - the outbound queue and forwarding suppressions
 * (tenant.db).
 */
#ifndef GENT_STORE_OUTBOUND_H
#define GENT_STORE_OUTBOUND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gent/store.h"

struct outbound_row {
	char		 id[64];
	const char	*inbox_id;
	const char	*kind;		/* "send" or "forward" */
	const char	*source_message_id;
	const char	*rule_id;
	const char	*mail_from;
	const char	*rcpt_to;
	const char	*raw;
	size_t		 raw_len;
	const char	*status;	/* NULL = "queued"; "held", "suppressed" */
	int64_t		 next_attempt_at;	/* 0 = now */
};

/** Queue a row (status queued, due now); call inside a write function. */
int store_outbound_append(sqlite3 *conn, const struct outbound_row *r);
/** True when destination unsubscribed from rule_id. */
bool store_outbound_suppressed(struct store_db *db, const char *rule_id,
    const char *destination);
/** Record an unsubscribe (idempotent) with its audit row. */
int store_outbound_suppress(struct store_db *db, const char *inbox_id,
    const char *rule_id, const char *destination,
    const struct store_audit *audit);

#endif

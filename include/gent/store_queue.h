/*
 * store_queue.h - the relay's view of the outbound table (tenant.db):
 * claim what is due, record what happened, read the per-recipient state.
 *
 * Delivery is at least once: a claimed row is leased (status sending,
 * next_attempt_at = end of the lease). If gentd dies before recording
 * the outcome the row becomes due again after the lease, so nothing
 * accepted is lost; the price is a possible second copy, as with every
 * MTA.
 */
#ifndef GENT_STORE_QUEUE_H
#define GENT_STORE_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gent/store.h"
#include "gent/store_messages.h"

/* A claimed row, with what delivery needs. */
struct queue_item {
	char	 id[64];
	char	 inbox_id[64];
	char	 kind[16];		/* send, forward */
	char	*source_message_id, *rule_id, *mail_from, *rcpt_to;
	char	*raw;
	size_t	 raw_len;
	int64_t	 attempts;		/* before this one */
	int64_t	 created_at;
};

/**
 * After a restart nothing is in flight: make leased rows due now rather
 * than at the end of their lease.
 */
int store_queue_release_leases(struct store_db *db, int64_t now);
/** Free the strings of one item (not the item). */
void queue_item_clear(struct queue_item *q);
/** Lease up to limit due rows (queued, or sending past its lease). */
int store_queue_claim(struct store_db *db, int64_t now, int64_t lease_ms,
    int limit, struct queue_item **items_r, int *n_r);
void queue_items_free(struct queue_item *items, int n);

enum queue_outcome {
	QUEUE_SENT,		/* 2xx after the data */
	QUEUE_RETRY,		/* 4xx or no connection: try again at next_attempt_at */
	QUEUE_BOUNCED,		/* 5xx: never again; dsn is stored, the address suppressed */
	QUEUE_FAILED,		/* the queue lifetime ran out; dsn is stored */
};

struct queue_report {
	const char		*id;
	enum queue_outcome	 outcome;
	int			 code;		/* SMTP reply code */
	const char		*text;		/* reply text (or why no reply) */
	const char		*mx_host;
	bool			 tls;
	int64_t			 next_attempt_at;	/* QUEUE_RETRY */
	struct message_row	*dsn;		/* BOUNCED, FAILED: the report to store, or NULL */
};

/**
 * Record one attempt in one transaction: the row's new state, the
 * message.sent / message.bounced event, the delivery status report (a
 * message in the sending inbox) and, for a 5xx to the recipient, its
 * suppression.
 */
int store_queue_record(struct store_db *db, const struct queue_report *r);

/* One recipient's delivery state, for GET /v1/messages/{id}/. */
struct queue_status {
	char	 id[64];
	char	*rcpt_to;
	char	 status[16];
	int64_t	 attempts, next_attempt_at, delivered_at, last_code;
	char	*last_error;
};

/** The rows queued for a sent message (source_message_id), in order. */
int store_queue_status(struct store_db *db, const char *message_id,
    struct queue_status **rows_r, int *n_r);
void queue_statuses_free(struct queue_status *rows, int n);

/**
 * Store a message an agent sends with its queue rows (m->forwards, one
 * per recipient) and audit row in one transaction; cap_event, when not
 * NULL, is a cap.reached payload recorded with it.
 */
int store_queue_send(struct store_db *db, struct message_row *m,
    const struct store_audit *audit, const char *cap_event);
/** Messages the inbox sent (queued) since ms. */
int store_queue_sent_since(struct store_db *db, const char *inbox_id,
    int64_t since, int64_t *n_r);

/** True when address hard-bounced mail of the inbox. */
bool store_queue_suppressed(struct store_db *db, const char *inbox_id,
    const char *address);

/** Rows due now in any state that will be tried (for tests and stats). */
int store_queue_due_count(struct store_db *db, int64_t now, int *n_r);

#endif

/*
 * store_deliveries.h - webhook deliveries (tenant.db, schema 0015): the
 * fan-out of the event log to subscriptions, the claim and the record of
 * each attempt (store_deliveries.c), and the delivery log read by the API:
 * list, get with attempts, replay, test deliveries (store_delivery_log.c).
 */
#ifndef GENT_STORE_DELIVERIES_H
#define GENT_STORE_DELIVERIES_H

#include <stdbool.h>
#include <stdint.h>

#include "gent/store.h"

#define DELIVERY_FAN_OUT_MAX	500	/* events per fan-out transaction */
#define DELIVERY_URL_IN_FLIGHT	16	/* leased at once per endpoint URL */
#define DELIVERY_CLAIM_SCAN	4096	/* due rows a claim looks at */
#define DELIVERY_SECRET_GRACE_MS (24 * 3600 * 1000LL)	/* old secret signs too */

struct delivery_row {
	char	 id[64];
	char	 inbox_id[64];
	char	 event_id[64];
	char	 event_type[64];
	char	*alert_id;		/* NULL: the inbox webhook */
	char	*url, *body;
	char	 status[16];		/* pending, delivering, delivered, undelivered */
	int64_t	 round_attempts;	/* attempts a round allows */
	char	 backoff[16];
	int64_t	 attempts, attempt_limit, next_attempt_at;
	int64_t	 last_code;		/* 0 = no answer */
	char	*last_error;
	int64_t	 created_at, updated_at;
	char	*secret;		/* claim only: the subscription's secret now */
	char	*previous_secret;	/* claim only: the one it replaced, while
					 * DELIVERY_SECRET_GRACE_MS lasts */
};

struct delivery_attempt_row {
	int64_t	 n, at;
	char	 result[24];		/* webhook_status_name() */
	int64_t	 http_code;
	char	*error, *connected_ip;
	int64_t	 elapsed_ms;
};

/** Cheap read: is there an event to fan out or a delivery due by now? */
bool store_deliveries_have_work(struct store_db *db, int64_t now);

/** Fan out up to DELIVERY_FAN_OUT_MAX events after the cursor in one
 *  transaction; *n_events_r how many were read. */
int store_deliveries_fan_out(struct store_db *db, int *n_events_r);

/**
 * Lease up to limit due deliveries (status delivering until lease_ms from
 * now) with their subscription's current secret. A delivery whose
 * subscription is gone becomes undelivered instead. Leases past their end
 * go back to pending first.
 */
int store_deliveries_claim(struct store_db *db, int64_t now, int64_t lease_ms,
    int limit, struct delivery_row **rows_r, int *n_r);
/** Every lease back to pending (start-up: this process owns the data). */
int store_deliveries_release_all(struct store_db *db);

/** One attempt's outcome; status is what the delivery becomes. */
struct delivery_outcome {
	const char			*id;
	const struct delivery_attempt_row *attempt;	/* n is set by the store */
	const char			*status;	/* pending, delivered, undelivered */
	int64_t				 next_attempt_at;	/* for pending */
};
int store_deliveries_record(struct store_db *db, const struct delivery_outcome *o);

/* --- the delivery log (store_delivery_log.c) --- */

struct delivery_filter {
	const char	*inbox_id, *alert_id, *status, *event_id;	/* NULL = any */
};

/** Newest first; keyset after (cursor_ms, cursor_id) when cursor_id. */
int store_deliveries_list(struct store_db *db, const struct delivery_filter *f,
    int limit, int64_t cursor_ms, const char *cursor_id,
    struct delivery_row **rows_r, int *n_r);
/** The delivery and its attempts, oldest first; NOT_FOUND. */
int store_deliveries_get(struct store_db *db, const char *id,
    struct delivery_row *out, struct delivery_attempt_row **attempts_r, int *n_r);
/**
 * Another round of attempts, due now, for a delivered or undelivered
 * delivery: NOT_FOUND, or CONFLICT while it is pending or delivering.
 */
int store_deliveries_replay(struct store_db *db, const char *id,
    const struct store_audit *audit);
/** Replay every undelivered delivery f selects; *n_r how many. */
int store_deliveries_replay_undelivered(struct store_db *db,
    const struct delivery_filter *f, const struct store_audit *audit, int *n_r);
/** Queue a delivery that is no event of the log (POST /v1/alerts/test/);
 *  r->id, created_at and the attempt fields are filled in. */
int store_deliveries_create(struct store_db *db, struct delivery_row *r,
    const struct store_audit *audit);

/** Remove finished deliveries (and their attempts) last changed before
 *  cutoff; pending ones stay whatever their age. */
int store_deliveries_prune(struct store_db *db, int64_t cutoff, int *removed_r);

/** Remove events older than cutoff that webhooks are done with (the feed
 *  and the activity view then start later). */
int store_events_prune(struct store_db *db, int64_t cutoff, int *removed_r);

void delivery_row_free(struct delivery_row *r);
void delivery_rows_free(struct delivery_row *rows, int n);
void delivery_attempt_rows_free(struct delivery_attempt_row *rows, int n);

#endif

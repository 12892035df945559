/*
 * store_expiry.h - deleting content that outlived its retention
 * (tenant.db). See retention.h for which period applies.
 */
#ifndef GENT_STORE_EXPIRY_H
#define GENT_STORE_EXPIRY_H

#include <stdbool.h>
#include <stdint.h>

#include "gent/store.h"

#define EXPIRY_BATCH 1000	/* deletions per transaction */

struct expiry_result {
	int	 messages;	/* messages deleted */
	int	 attachments;	/* messages whose attachments were deleted */
	bool	 more;		/* the batch filled up: run again */
};

/**
 * One sweep at now: every inbox's messages and attachments past their
 * period are deleted (at most EXPIRY_BATCH), with one audit row per
 * inbox that lost content. The audit trail itself never expires.
 */
int store_expiry_sweep(struct store_db *db, int64_t now, struct expiry_result *out);

#endif

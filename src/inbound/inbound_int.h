/*
 * inbound_int.h - private to src/inbound/.
 */
#ifndef GENT_INBOUND_INT_H
#define GENT_INBOUND_INT_H

#include <jansson.h>

#include "gent/app.h"
#include "gent/mime.h"
#include "gent/dmarc.h"
#include "gent/forwarding.h"
#include "gent/inbound.h"
#include "gent/gent_dkim.h"
#include "gent/smtp.h"
#include "gent/spf.h"
#include "gent/store_messages.h"
#include "gent/store_outbound.h"

/* The forwarded copies of one stored message, queued in its transaction. */
struct inbound_forwards {
	struct outbound_row	*rows;		/* what the store queues */
	struct forward_copy	*copies;	/* own what rows point at */
	size_t			 n;
};

/**
 * Decide and compose the forwards of a message just accepted for an
 * inbox: the forwarding default and rules, then extra (label policies,
 * rule_id "label:<id>"); records them in trace["forwarding"]. None when
 * the message carries a Delivered-To naming the inbox (a loop): then
 * trace["forwarding"] is {"skipped": "loop", "delivered_to": <value>}.
 */
void inbound__plan_forwards(struct app *app, struct store_db *db,
    const struct forward_source *src, const struct forward_target *extra,
    size_t n_extra, json_t *trace, struct inbound_forwards *out);
void inbound__forwards_free(struct inbound_forwards *f);

/* What authenticating the sender found (inbound_auth.c). */
struct inbound_auth {
	struct spf_outcome	 spf;
	struct gent_dkim_report	 dkim;
	struct dmarc_outcome	 dmarc;
	char			*header;	/* "Authentication-Results: ...\r\n" */
	json_t			*json;		/* the same, for trace and API */
};

/** SPF, DKIM and DMARC of a received message (data as received). */
void inbound__authenticate(struct app *app, const struct smtp_envelope *env,
    const struct mime_summary *sum, const char *data, size_t len,
    struct inbound_auth *out);
void inbound__auth_free(struct inbound_auth *a);
/** Copy of data without header-section Authentication-Results claiming
 *  authserv_id (forgeries of our own verdicts). */
char *inbound__strip_forged_results(const char *data, size_t len,
    const char *authserv_id, size_t *len_r);

/* The labels an incoming message gets and what their policies ask. */
struct inbound_labels {
	struct message_label	 apply[1];	/* rules: first match wins, so one */
	size_t			 n;
	char			*label_id, *rule_id, *applied_by;
	struct forward_target	 forwards[1];	/* the label's forward_to */
	size_t			 n_forwards;
	char			*forward_rule, *forward_dest;
};

/**
 * Run the inbox's auto-label rules on a message; records the decision in
 * trace["auto_label"] and the label's policies in trace["label_policies"].
 */
void inbound__plan_labels(struct store_db *db, const char *inbox_id,
    const struct smtp_envelope *env, size_t rcpt, const struct mime_summary *sum,
    json_t *trace, struct inbound_labels *out);
void inbound__labels_free(struct inbound_labels *l);

/* inbound_storage.c: storage.threshold for the stored rows (after commit). */
void inbound__storage_thresholds(struct store_db *db, const struct message_row *rows,
    size_t n);

#endif

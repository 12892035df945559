/*
 * inbound_int.h - private to src/inbound/.
 */
#ifndef GENT_INBOUND_INT_H
#define GENT_INBOUND_INT_H

#include <jansson.h>

#include "gent/app.h"
#include "gent/mime.h"
#include "gent/dmarc.h"
#include "gent/gent_dkim.h"
#include "gent/smtp.h"
#include "gent/spf.h"
#include "gent/store_outbound.h"

/* The forwarded copies of one stored message, queued in its transaction. */
struct inbound_forwards {
	struct outbound_row	*rows;
	char			**raws;		/* composed messages (rows[i].raw) */
	char			**rule_ids;	/* owned copies */
	char			**dests;
	size_t			 n;
};

/**
 * Decide and compose the forwards of a message just accepted for an
 * inbox; records them in trace["forwarding"].
 */
void inbound__plan_forwards(struct app *app, struct store_db *db,
    const char *tenant, const char *inbox_id, const char *inbox_address,
    const char *message_id, const struct mime_summary *sum,
    const char *mail_from, const char *raw, size_t len, json_t *trace,
    struct inbound_forwards *out);
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

#endif

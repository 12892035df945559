/*
 * inbound_int.h - private to src/inbound/.
 */
#ifndef GENT_INBOUND_INT_H
#define GENT_INBOUND_INT_H

#include <jansson.h>

#include "gent/app.h"
#include "gent/mime.h"
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

#endif

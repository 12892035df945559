/*
 * inbound.h - the SMTP hooks that receive mail for our inboxes.
 *
 * RCPT: the address must be an inbox that may receive (active or
 * suspended) on a verified domain; anything else is 550 5.1.1, so gentd
 * is never a relay. End of DATA: one row per recipient inbox, committed
 * (synchronous=FULL) before the 250 goes out.
 */
#ifndef GENT_INBOUND_H
#define GENT_INBOUND_H

#include "gent/app.h"
#include "gent/mime.h"
#include "gent/smtp.h"
#include "gent/store_outbound.h"

/** Hooks for smtp_server_start(); ctx is the app. */
struct smtp_hooks inbound_hooks(struct app *app);

/* A forwarded copy of a received message, ready for the outbound queue:
 * row points into the strings it owns (and at the source's message id). */
struct forward_copy {
	struct outbound_row	 row;
	char			*raw, *rule_id, *dest, *inbox_id, *mail_from;
};

/* The message a copy is made of. */
struct forward_source {
	const char			*tenant_id, *inbox_id, *inbox_address;
	const char			*message_id;	/* our msg_ id */
	const struct mime_summary	*sum;
	const char			*mail_from;	/* envelope sender */
	const char			*raw;
	size_t				 len;
};

/**
 * Compose the copy of src for dest on behalf of rule_id (a forwarding
 * rule id, "default", or "label:<label_id>" for a label's forward_to
 * policy): a new message from the inbox with a one-click unsubscribe
 * link for that (rule, destination) pair.
 */
void inbound_forward_compose(struct app *app, const struct forward_source *src,
    const char *rule_id, const char *dest, struct forward_copy *out);
void forward_copy_free(struct forward_copy *c);

#endif

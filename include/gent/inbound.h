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
#include "gent/smtp.h"

/** Hooks for smtp_server_start(); ctx is the app. */
struct smtp_hooks inbound_hooks(struct app *app);

#endif

/*
 * relay.h - outbound delivery: the queue in every tenant database is
 * drained to the recipients' MX hosts (or the smarthost relay_host),
 * DKIM-signed with the sending domain's active key, over the SMTP client
 * (smtp_client.h), with retries on the relay_retry_schedule and bounces
 * (RFC 3464 reports to the sending inbox) on 5xx or when queue_lifetime
 * runs out. Runs on the loop; claiming, signing, DNS and recording run
 * on the threadpool.
 */
#ifndef GENT_RELAY_H
#define GENT_RELAY_H

#include <uv.h>

#include "gent/app.h"

struct relay;

/** Start draining (first look a second after start-up). app->relay is set. */
int relay_start(uv_loop_t *loop, struct app *app, char **error_r);
/** Stop claiming and close connections; rows in flight stay leased and
 *  are tried again after the lease. Loop thread. */
void relay_stop(struct app *app);
/** Free once the loop has run the close callbacks. */
void relay_free(struct app *app);
/** New rows are queued: look now rather than at the next tick. Any thread. */
void relay_kick(struct app *app);

#endif

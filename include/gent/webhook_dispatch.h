/*
 * webhook_dispatch.h - delivering the event log to webhooks.
 *
 * Every event is in the log before anyone hears of it (store_events.h). The
 * dispatcher fans new events out to the subscriptions they fire (alert
 * rules, inbox webhooks; alert_match.h) as delivery rows, then posts each
 * due delivery through the webhook engine (webhook.h), signed, with the
 * addresses gentd's own resolver found, and records every attempt:
 * delivered on 2xx; otherwise tried again after the rule's backoff until
 * its attempts are spent, then undelivered (a refused address is
 * undelivered at once). Claiming, DNS, signing and recording run on the
 * threadpool; a slow or dead endpoint only holds its own transfer.
 */
#ifndef GENT_WEBHOOK_DISPATCH_H
#define GENT_WEBHOOK_DISPATCH_H

#include <stdint.h>
#include <uv.h>

#include "gent/app.h"

#define WEBHOOK_RETRY_MAX_MS	(6 * 3600 * 1000LL)	/* exponential cap */

/** Start on loop (first look at once); app->webhooks is set. */
int webhook_dispatch_start(uv_loop_t *loop, struct app *app, char **error_r);
/** Stop claiming; transfers in flight are cancelled and stay leased (the
 *  next start releases them). Loop thread. */
void webhook_dispatch_stop(struct app *app);
/** Free once the loop has run the close callbacks. */
void webhook_dispatch_free(struct app *app);
/** Something is due now (a replay, a test): look now. Any thread. */
void webhook_dispatch_kick(struct app *app);

/**
 * Milliseconds to wait before the next attempt, after n (>= 1) failed
 * attempts of this round: immediate 0, fixed base_ms, exponential
 * base_ms * 2^(n-1) up to WEBHOOK_RETRY_MAX_MS.
 */
int64_t webhook_retry_delay_ms(const char *backoff, int64_t n, uint64_t base_ms);

#endif

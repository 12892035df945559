/*
 * webhook_dispatch_int.h - private to the dispatcher: webhook_dispatch.c
 * (the loop side) and webhook_claim.c (the threadpool half of a claim run).
 *
 * Ownership: a claim run builds items on the threadpool and hands them to
 * the loop; an item lives until its record job has written the attempt.
 */
#ifndef GENT_WEBHOOK_DISPATCH_INT_H
#define GENT_WEBHOOK_DISPATCH_INT_H

#include <stdbool.h>
#include <uv.h>

#include "gent/app.h"
#include "gent/store_deliveries.h"
#include "gent/webhook.h"

#define WEBHOOK_IN_FLIGHT_MAX	256	/* deliveries claimed and not recorded */
#define WEBHOOK_LEASE_MS	(5 * 60 * 1000)
#define WEBHOOK_TICK_MS		500
#define WEBHOOK_FAN_OUT_RUNS	20	/* fan-out transactions per claim run */

struct webhook_item {
	struct webhook_dispatch	*w;
	char			 tenant_id[64];
	struct delivery_row	 d;
	char			*resolve;	/* CURLOPT_RESOLVE entry, or NULL */
	const char		*headers[WEBHOOK_SIGN_NLINES + 2];
	size_t			 n_headers;
	struct webhook_signature sig;
	char			 event_line[96], id_line[96];
	struct webhook_result	 result;	/* set by the post's callback */
	char			 refused[160];	/* not to be posted: why */
	uv_work_t		 record;
	struct webhook_item	*next;
};

struct webhook_dispatch {
	uv_loop_t		*loop;
	struct app		*app;
	struct webhook_http	*http;
	uv_timer_t		 timer;
	uv_async_t		 kick;
	uv_work_t		 claim;
	int			 budget;	/* for the run in progress */
	struct webhook_item	*claimed;	/* handed from the claim run */
	int			 in_flight;	/* claimed, not yet recorded */
	bool			 claiming, kick_pending, backlog, stopping;
	bool			 leases_released;
	int			 closing;	/* handles not yet closed */
};

/* Threadpool: fan out, lease and prepare (DNS, signature) items. */
void webhook__claim_run(uv_work_t *w);
void webhook__item_free(struct webhook_item *it);

#endif

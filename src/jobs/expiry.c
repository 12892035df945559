/*
 * expiry.c - the retention sweep timer (see expiry.h). One sweep at a
 * time: a tick during a sweep is skipped. A tenant whose batch filled
 * up is swept again at once, a bounded number of times, so a backlog
 * drains without one sweep holding the writer for long. A tenant's
 * audit, event and webhook delivery logs are kept for its
 * audit_retention_days when it set one (PATCH /v1/tenants/), else for
 * the installation's audit_retention.
 */
#include <stdlib.h>

#include "gent/expiry.h"
#include "gent/log.h"
#include "gent/store_accounts.h"
#include "gent/store_audit.h"
#include "gent/store_deliveries.h"
#include "gent/store_expiry.h"
#include "gent/store_idempotency.h"
#include "gent/store_uploads.h"
#include "gent/tenant_settings.h"
#include "gent/timefmt.h"
#include "gent/util.h"

#define ROUNDS_PER_TENANT 20
#define IDEM_KEEP_MS (48LL * 3600 * 1000)

struct expiry {
	uv_timer_t	 timer;
	uv_work_t	 work;
	struct app	*app;
	bool		 running, stopped, closed;
};

static void
maybe_free(struct expiry *e)
{
	if (e->stopped && e->closed && !e->running)
		free(e);
}

/* keep: how long entries are kept (ms); setting: what decided it, for
 * the log. */
static void
prune_audit(struct store_db *db, const char *name, uint64_t keep,
    const char *setting)
{
	int removed = 0;

	if (store_audit_prune(db, time_now_ms() - (int64_t)keep, &removed) != STORE_OK)
		log_error("expiry", NULL, "pruning the audit log of %s failed", name);
	else if (removed)
		log_info("expiry", NULL, "%s: %d audit entries past %s removed",
		    name, removed, setting);
}

/* The webhook delivery log and the event log are kept as long as the
 * audit log. */
static void
prune_deliveries(struct store_db *db, const char *name, uint64_t keep,
    const char *setting)
{
	int removed = 0;

	int64_t cutoff = time_now_ms() - (int64_t)keep;

	if (store_deliveries_prune(db, cutoff, &removed) != STORE_OK)
		log_error("expiry", NULL, "pruning the webhook deliveries of %s failed", name);
	else if (removed)
		log_info("expiry", NULL, "%s: %d webhook deliveries past %s "
		    "removed", name, removed, setting);
	if (store_events_prune(db, cutoff, &removed) != STORE_OK)
		log_error("expiry", NULL, "pruning the event log of %s failed", name);
	else if (removed)
		log_info("expiry", NULL, "%s: %d events past %s removed",
		    name, removed, setting);
}

static void
sweep_tenant(struct app *app, const char *tenant_id)
{
	struct expiry_result r = { .more = true };
	struct store_db *db;
	char *err = NULL;

	if (store_tenant(app->store, tenant_id, &db, &err) != 0) {
		log_error("expiry", NULL, "%s", err);
		free(err);
		return;
	}
	/* The tenant's audit_retention_days, when it set one. */
	uint64_t keep = tenant_settings_audit_retention(store_control(app->store),
	    tenant_id, app->conf->audit_retention);
	const char *setting = keep == app->conf->audit_retention ?
	    "audit_retention" : "audit_retention_days";
	prune_audit(db, tenant_id, keep, setting);
	prune_deliveries(db, tenant_id, keep, setting);
	if (store_uploads_prune(db, time_now_ms()) != STORE_OK)
		log_error("expiry", NULL, "pruning the uploads of %s failed", tenant_id);
	for (int round = 0; round < ROUNDS_PER_TENANT && r.more; round++) {
		if (store_expiry_sweep(db, time_now_ms(), &r) != STORE_OK) {
			log_error("expiry", NULL, "sweep of %s failed; will retry", tenant_id);
			return;
		}
		if (r.messages || r.attachments)
			log_info("expiry", NULL, "tenant %s: %d messages and the "
			    "attachments of %d expired", tenant_id, r.messages,
			    r.attachments);
	}
}

static void
sweep_run(uv_work_t *w)
{
	struct expiry *e = w->data;
	char **ids = NULL;
	int n = 0;

	if (store_tenants_ids(store_control(e->app->store), &ids, &n) != STORE_OK)
		log_error("expiry", NULL, "cannot list tenants; will retry");
	for (int i = 0; i < n; i++) {
		sweep_tenant(e->app, ids[i]);
		free(ids[i]);
	}
	free(ids);
	/* control.db holds every tenant's account-level rows in one chain,
	 * cut only at its start: the installation's setting decides. */
	prune_audit(store_control(e->app->store), "control",
	    e->app->conf->audit_retention, "audit_retention");
	/* Idempotency keys are promised for 24 hours; keep them two days. */
	if (store_idem_prune(store_control(e->app->store), time_now_ms() -
	    IDEM_KEEP_MS) != STORE_OK)
		log_error("expiry", NULL, "pruning idempotency keys failed; will retry");
}

static void
sweep_done(uv_work_t *w, int status)
{
	struct expiry *e = w->data;

	(void)status;
	e->running = false;
	maybe_free(e);
}

static void
on_tick(uv_timer_t *t)
{
	struct expiry *e = t->data;

	if (e->running)
		return;
	e->running = true;
	e->work.data = e;
	uv_queue_work(t->loop, &e->work, sweep_run, sweep_done);
}

struct expiry *
expiry_start(uv_loop_t *loop, struct app *app)
{
	struct expiry *e = xcalloc(1, sizeof(*e));
	uint64_t every = app->conf->expiry_interval;

	e->app = app;
	uv_timer_init(loop, &e->timer);
	e->timer.data = e;
	uv_timer_start(&e->timer, on_tick, 1000, every < 1000 ? 1000 : every);
	return e;
}

static void
on_closed(uv_handle_t *h)
{
	struct expiry *e = h->data;

	e->closed = true;
	maybe_free(e);
}

void
expiry_stop(struct expiry **ep)
{
	struct expiry *e = *ep;

	if (!e)
		return;
	*ep = NULL;
	e->stopped = true;
	uv_timer_stop(&e->timer);
	uv_close((uv_handle_t *)&e->timer, on_closed);
}

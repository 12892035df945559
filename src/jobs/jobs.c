/*
 * jobs.c - the purge timer for closing inboxes.
 *
 * Runs once shortly after start (so a daemon that was down past a purge
 * date catches up) and then every min(inbox_retention / 4, 10 minutes).
 * One run at a time: a tick while a run is in progress is skipped.
 */
#include <stdlib.h>

#include "gent/jobs.h"
#include "gent/log.h"
#include "gent/store_tokens.h"
#include "gent/timefmt.h"
#include "gent/util.h"

#define PURGE_INTERVAL_MAX_MS (10 * 60 * 1000)

struct jobs {
	uv_timer_t	 timer;
	uv_work_t	 work;
	struct app	*app;
	bool		 running;	/* a purge is on the threadpool */
	bool		 stopped;	/* free when the run and the close are done */
	bool		 closed;
	int		 purged;
};

static void
maybe_free(struct jobs *j)
{
	if (j->stopped && j->closed && !j->running)
		free(j);
}

static void
purge_run(uv_work_t *w)
{
	struct jobs *j = w->data;
	int64_t cutoff = time_now_ms() - (int64_t)j->app->conf->inbox_retention;

	if (store_inboxes_purge_due(store_control(j->app->store), cutoff,
	    &j->purged) != STORE_OK)
		log_error("jobs", NULL, "inbox purge failed; will retry");
}

static void
purge_done(uv_work_t *w, int status)
{
	struct jobs *j = w->data;

	(void)status;
	j->running = false;
	if (j->purged > 0)
		log_info("jobs", NULL, "purged %d closing inboxes", j->purged);
	maybe_free(j);
}

static void
on_tick(uv_timer_t *t)
{
	struct jobs *j = t->data;

	if (j->running)
		return;
	j->running = true;
	j->purged = 0;
	j->work.data = j;
	uv_queue_work(t->loop, &j->work, purge_run, purge_done);
}

struct jobs *
jobs_start(uv_loop_t *loop, struct app *app)
{
	struct jobs *j = xcalloc(1, sizeof(*j));
	uint64_t every = app->conf->inbox_retention / 4;

	if (every > PURGE_INTERVAL_MAX_MS)
		every = PURGE_INTERVAL_MAX_MS;
	if (every < 1000)
		every = 1000;
	j->app = app;
	uv_timer_init(loop, &j->timer);
	j->timer.data = j;
	uv_timer_start(&j->timer, on_tick, 1000, every);
	return j;
}

static void
on_closed(uv_handle_t *h)
{
	struct jobs *j = h->data;

	j->closed = true;
	maybe_free(j);
}

void
jobs_stop(struct jobs **jp)
{
	struct jobs *j = *jp;

	if (!j)
		return;
	*jp = NULL;
	j->stopped = true;
	uv_timer_stop(&j->timer);
	uv_close((uv_handle_t *)&j->timer, on_closed);
}

/*
 * jobs.h - periodic maintenance on the loop: purge inboxes whose closing
 * period (inbox_retention) has run out. The work itself runs on the
 * threadpool; the loop only keeps time.
 */
#ifndef GENT_JOBS_H
#define GENT_JOBS_H

#include <uv.h>

#include "gent/app.h"

struct jobs;

/** Start the timers. */
struct jobs *jobs_start(uv_loop_t *loop, struct app *app);
/** Stop the timers; a run in progress finishes on its own. Accepts NULL. */
void jobs_stop(struct jobs **jobs);

#endif

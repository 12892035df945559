/*
 * expiry.h - the retention timer: every expiry_interval, delete the
 * content of every tenant that outlived its retention (store_expiry.h).
 * The sweep runs on the threadpool; the loop only keeps time.
 */
#ifndef GENT_EXPIRY_H
#define GENT_EXPIRY_H

#include <uv.h>

#include "gent/app.h"

struct expiry;

/** Start the timer (first sweep a second after start-up). */
struct expiry *expiry_start(uv_loop_t *loop, struct app *app);
/** Stop it; a sweep in progress finishes on its own. Accepts NULL. */
void expiry_stop(struct expiry **e);

#endif

/*
 * drain.c - done callback and grace timer of a server's shutdown.
 */
#include "gent/drain.h"

void
drain_begin(struct drain *d, uv_loop_t *loop, uint64_t grace_ms,
    void (*done_cb)(void *arg), void *arg, uv_timer_cb on_grace, void *owner)
{
	d->done_cb = done_cb;
	d->arg = arg;
	uv_timer_init(loop, &d->timer);
	d->timer.data = owner;
	d->timer_active = true;
	uv_timer_start(&d->timer, on_grace, grace_ms, 0);
}

void
drain_check(struct drain *d, bool none_left)
{
	void (*cb)(void *) = d->done_cb;

	if (!cb || !none_left)
		return;
	d->done_cb = NULL;
	if (d->timer_active) {
		uv_timer_stop(&d->timer);
		uv_close((uv_handle_t *)&d->timer, NULL);
		d->timer_active = false;
	}
	cb(d->arg);
}

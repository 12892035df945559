/*
 * drain.h - the shutdown of a server: a done callback once the last
 * connection is gone, and a grace timer after which the rest are cut.
 * Shared by the HTTP and SMTP servers.
 */
#ifndef GENT_DRAIN_H
#define GENT_DRAIN_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

struct drain {
	uv_timer_t	 timer;
	bool		 timer_active;
	void		(*done_cb)(void *arg);	/* NULL once called */
	void		*arg;
};

/**
 * Start draining: on_grace(timer) runs after grace_ms unless the drain
 * finished first; timer->data is owner.
 */
void drain_begin(struct drain *d, uv_loop_t *loop, uint64_t grace_ms,
    void (*done_cb)(void *arg), void *arg, uv_timer_cb on_grace, void *owner);
/** Call when a connection goes: when none are left, stop the timer and
 *  call done_cb (once). */
void drain_check(struct drain *d, bool none_left);

#endif

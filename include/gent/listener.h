/*
 * listener.h - a listening TCP socket on the loop, from a "host:port".
 */
#ifndef GENT_LISTENER_H
#define GENT_LISTENER_H

#include <uv.h>

/**
 * Bind and listen on addr ("127.0.0.1:8080", "[::1]:25", "localhost:2525";
 * "what" names the config key in errors). On failure returns -1 with
 * *error_r, and the handle, if it was opened, is already being closed.
 */
int listener_open(uv_tcp_t *tcp, uv_loop_t *loop, const char *what,
    const char *addr, uv_connection_cb on_connection, void *data,
    char **error_r);

#endif

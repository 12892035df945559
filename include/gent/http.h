/*
 * http.h - the HTTP/1.1 front end (llhttp on the libuv loop).
 *
 * The server parses requests on the loop thread, enforcing the limits of
 * struct http_limits, and hands each complete request to the handler on a
 * libuv threadpool thread; the handler fills in the response, which the
 * loop then writes. Requests on one connection are answered in order
 * (pipelining), one at a time.
 */
#ifndef GENT_HTTP_H
#define GENT_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "gent/util.h"

struct http_header {
	char	*name;		/* as received */
	char	*value;
};

struct http_request {
	char			 request_id[24];	/* "req_<hex>", logged and returned */
	const char		*method;		/* "GET", "POST", ... */
	char			*path;			/* target before '?' */
	char			*query;			/* after '?', or NULL */
	struct http_header	*headers;
	size_t			 n_headers;
	char			*body;			/* NUL-terminated copy */
	size_t			 body_len;
	char			 client_ip[64];
};

struct http_response {
	int		 status;
	struct buf	 body;		/* JSON unless content_type says otherwise */
	const char	*content_type;	/* NULL = application/json */
	struct buf	 headers;	/* extra "Name: value\r\n" lines */
};

/** Runs on a worker thread: read req, fill resp. Must not touch the loop. */
typedef void (*http_handler_fn)(const struct http_request *req,
    struct http_response *resp, void *ctx);

struct http_limits {
	uint64_t	max_header;		/* request line + headers, bytes */
	uint64_t	max_body;		/* bytes */
	int64_t		max_connections;
	uint64_t	header_timeout_ms;	/* from first byte to end of head */
	uint64_t	idle_timeout_ms;	/* keep-alive wait for next request */
	uint64_t	body_timeout_ms;	/* max gap between body bytes */
};

struct http_server;

/** Listen on "host:port" and serve. 0 or -1 with *error_r. */
int http_server_start(struct http_server **srv_r, uv_loop_t *loop,
    const char *listen_addr, const struct http_limits *limits,
    http_handler_fn handler, void *ctx, char **error_r);
/**
 * Stop accepting, finish requests in progress, close idle connections;
 * done_cb runs on the loop once every connection is closed (or grace_ms
 * passed and the rest were cut).
 */
void http_server_drain(struct http_server *srv, uint64_t grace_ms,
    void (*done_cb)(void *arg), void *arg);
/** Free the server after the drain finished. Accepts NULL. */
void http_server_free(struct http_server **srv);

/** Value of the first header with this name (case-insensitive), or NULL. */
const char *http_request_header(const struct http_request *req,
    const char *name);
/** Reason phrase for a status code ("Not Found"). */
const char *http_status_text(int status);
/** Serialise status line, headers and body (none for HEAD) into out. */
void http_response_serialize(const struct http_response *resp,
    const char *request_id, bool keep_alive, bool head, struct buf *out);
/** Release a response's buffers. */
void http_response_free(struct http_response *resp);

#endif

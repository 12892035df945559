/*
 * http_int.h - private to src/http/: server and connection structs.
 */
#ifndef GENT_HTTP_INT_H
#define GENT_HTTP_INT_H

#include <llhttp.h>

#include "gent/drain.h"
#include "gent/http.h"

enum http_conn_phase {
	HTTP_PHASE_IDLE,	/* waiting for the first byte of a request */
	HTTP_PHASE_HEAD,	/* reading request line and headers */
	HTTP_PHASE_BODY,	/* reading the body */
	HTTP_PHASE_HANDLING,	/* request is with a worker or being written */
};

struct http_conn {
	uv_tcp_t		 tcp;		/* must stay first: handle->data aside */
	uv_timer_t		 timer;		/* the deadline of the current phase */
	struct http_server	*srv;
	uint64_t		 id;		/* log key */
	enum http_conn_phase	 phase;
	llhttp_t		 parser;
	struct buf		 in;		/* received, not yet parsed */
	struct http_request	*req;		/* being parsed or handled */
	size_t			 head_bytes;	/* counted against max_header */
	bool			 in_header_value;
	bool			 keep_alive;	/* of the request being handled */
	bool			 reading;	/* uv_read_start active */
	bool			 peer_eof;	/* client half-closed: answer, then close */
	bool			 closing;	/* uv_close called */
	bool			 job_running;	/* a worker holds req */
	int			 handles_open;	/* tcp + timer until close cbs */
	int			 pending_error;	/* status to answer, then close */
	struct http_conn	*prev, *next;	/* in srv->conns */
	char			 client_ip[64];
};

struct http_server {
	uv_loop_t		*loop;
	uv_tcp_t		 listener;
	struct http_limits	 limits;
	http_handler_fn		 handler;
	void			*ctx;
	struct http_conn	*conns;
	int64_t			 n_conns;
	uint64_t		 next_conn_id;
	uint64_t		 next_request_seq;
	bool			 draining;
	bool			 listener_closed;
	struct drain		 drain;
};

/* http_conn.c */
void http__conn_accept(struct http_server *srv);
void http__conn_close(struct http_conn *c);
bool http__conn_is_idle(const struct http_conn *c);
/* http_server.c */
void http__server_conn_gone(struct http_server *srv, struct http_conn *c);

#endif

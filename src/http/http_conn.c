/*
 * http_conn.c - one HTTP/1.1 connection: read, parse with llhttp, hand the
 * request to a worker, write the answer, repeat (keep-alive, pipelining).
 *
 * Phases and their deadlines (one uv_timer per connection):
 *   IDLE      idle_timeout   (header_timeout before the first request)
 *   HEAD      header_timeout from the first byte; not extended by more
 *             bytes, so a client trickling a header cannot hold the slot
 *   BODY      body_timeout between body chunks
 *   HANDLING  none: the worker and the write are ours to finish
 * Parsing pauses at the end of each message (HPE_PAUSED from
 * on_message_complete); the unparsed rest waits in c->in until the
 * response is written. While handling, input beyond PIPELINE_BUFFER_MAX
 * stops the reads, so a pipelining flood is bounded by the socket buffer.
 *
 * Memory: the conn is freed when both handles (tcp, timer) are closed and
 * no worker holds its request (libuv: free only in close callbacks).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gent/log.h"
#include "http_int.h"

#define PIPELINE_BUFFER_MAX (64 * 1024)
#define MAX_HEADERS 100

struct http_job {
	uv_work_t		 work;
	struct http_conn	*conn;
	struct http_request	*req;
	struct http_response	 resp;
};

struct http_write {
	uv_write_t	 w;
	struct buf	 data;
	bool		 close_after;
};

static const llhttp_settings_t *parser_settings(void);
static void process_input(struct http_conn *c);
static void start_reading(struct http_conn *c);

static void
request_free(struct http_request **reqp)
{
	struct http_request *req = *reqp;

	if (!req)
		return;
	for (size_t i = 0; i < req->n_headers; i++) {
		free(req->headers[i].name);
		free(req->headers[i].value);
	}
	free(req->headers);
	free(req->path);
	free(req->query);
	free(req->body);
	free(req);
	*reqp = NULL;
}

static void
conn_maybe_free(struct http_conn *c)
{
	if (c->handles_open > 0 || c->job_running)
		return;
	http__server_conn_gone(c->srv, c);
	request_free(&c->req);
	buf_free(&c->in);
	free(c);
}

static void
on_handle_closed(uv_handle_t *h)
{
	struct http_conn *c = h->data;

	c->handles_open--;
	conn_maybe_free(c);
}

void
http__conn_close(struct http_conn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	uv_timer_stop(&c->timer);
	uv_close((uv_handle_t *)&c->timer, on_handle_closed);
	uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
}

bool
http__conn_is_idle(const struct http_conn *c)
{
	return c->phase == HTTP_PHASE_IDLE && c->in.len == 0;
}

static void
on_timeout(uv_timer_t *t)
{
	struct http_conn *c = t->data;

	if (c->phase == HTTP_PHASE_HEAD || c->phase == HTTP_PHASE_BODY)
		log_info("http", NULL, "conn=%" PRIu64 " request timed out in %s",
		    c->id, c->phase == HTTP_PHASE_HEAD ? "headers" : "body");
	http__conn_close(c);
}

static void
set_phase(struct http_conn *c, enum http_conn_phase phase, uint64_t timeout_ms)
{
	c->phase = phase;
	uv_timer_stop(&c->timer);
	if (timeout_ms)
		uv_timer_start(&c->timer, on_timeout, timeout_ms, 0);
}

static void
on_write_done(uv_write_t *w, int status)
{
	struct http_write *hw = (struct http_write *)w;
	struct http_conn *c = w->data;

	buf_free(&hw->data);
	if (status < 0 || hw->close_after) {
		free(hw);
		http__conn_close(c);
		return;
	}
	free(hw);
	if (c->closing)
		return;
	set_phase(c, HTTP_PHASE_IDLE, c->srv->limits.idle_timeout_ms);
	if (c->srv->draining && c->in.len == 0) {
		http__conn_close(c);
		return;
	}
	start_reading(c);
	process_input(c);
}

static void
send_response(struct http_conn *c, const struct http_response *resp,
    const char *request_id, bool keep_alive, bool head)
{
	struct http_write *hw = xcalloc(1, sizeof(*hw));
	uv_buf_t b;

	if (c->srv->draining)
		keep_alive = false;
	hw->close_after = !keep_alive;
	http_response_serialize(resp, request_id, keep_alive, head, &hw->data);
	b = uv_buf_init(hw->data.data, (unsigned)hw->data.len);
	hw->w.data = c;
	set_phase(c, HTTP_PHASE_HANDLING, 0);
	if (uv_write(&hw->w, (uv_stream_t *)&c->tcp, &b, 1, on_write_done) != 0) {
		buf_free(&hw->data);
		free(hw);
		http__conn_close(c);
	}
}

/* Answer a protocol-level error from the loop thread and close. */
static void
send_error_and_close(struct http_conn *c, int status, const char *code,
    const char *message)
{
	struct http_response resp = { .status = status };

	buf_printf(&resp.body, "{\"error\":{\"status\":%d,\"code\":\"%s\","
	    "\"message\":\"%s\"}}", status, code, message);
	log_info("http", NULL, "conn=%" PRIu64 " %d %s", c->id, status, message);
	if (c->reading) {
		uv_read_stop((uv_stream_t *)&c->tcp);
		c->reading = false;
	}
	send_response(c, &resp, NULL, false, false);
	http_response_free(&resp);
}

static void
work_run(uv_work_t *w)
{
	struct http_job *job = w->data;

	job->conn->srv->handler(job->req, &job->resp, job->conn->srv->ctx);
}

static void
work_done(uv_work_t *w, int status)
{
	struct http_job *job = w->data;
	struct http_conn *c = job->conn;

	(void)status;
	c->job_running = false;
	if (c->closing) {
		conn_maybe_free(c);
	} else {
		send_response(c, &job->resp, job->req->request_id, c->keep_alive,
		    strcmp(job->req->method, "HEAD") == 0);
	}
	request_free(&job->req);
	http_response_free(&job->resp);
	free(job);
}

static void
dispatch(struct http_conn *c)
{
	struct http_job *job = xcalloc(1, sizeof(*job));

	job->conn = c;
	job->req = c->req;
	c->req = NULL;
	snprintf(job->req->request_id, sizeof(job->req->request_id),
	    "req_%016" PRIx64, (c->srv->next_request_seq++ << 20) ^ c->id);
	memcpy(job->req->client_ip, c->client_ip, sizeof(c->client_ip));
	job->work.data = job;
	c->job_running = true;
	set_phase(c, HTTP_PHASE_HANDLING, 0);
	uv_queue_work(c->srv->loop, &job->work, work_run, work_done);
}

static void
process_input(struct http_conn *c)
{
	while (!c->closing && c->phase != HTTP_PHASE_HANDLING && c->in.len > 0) {
		if (c->phase == HTTP_PHASE_IDLE)
			set_phase(c, HTTP_PHASE_HEAD, c->srv->limits.header_timeout_ms);
		llhttp_errno_t err = llhttp_execute(&c->parser, c->in.data, c->in.len);
		if (err == HPE_OK) {
			buf_consume(&c->in, c->in.len);
			break;
		}
		if (err == HPE_PAUSED) {
			const char *pos = llhttp_get_error_pos(&c->parser);
			buf_consume(&c->in, (size_t)(pos - c->in.data));
			llhttp_resume(&c->parser);
			dispatch(c);
			break;
		}
		if (c->pending_error == 413)
			send_error_and_close(c, 413, "payload_too_large",
			    "request body exceeds the limit");
		else if (c->pending_error == 431)
			send_error_and_close(c, 431, "headers_too_large",
			    "request headers exceed the limit");
		else
			send_error_and_close(c, 400, "bad_request",
			    "malformed HTTP request");
		return;
	}
	/* After a half-close nothing more can arrive: done once idle. */
	if (!c->closing && c->peer_eof && c->phase != HTTP_PHASE_HANDLING) {
		http__conn_close(c);
		return;
	}
	/* Resume reading once the pipelined backlog has been worked off. */
	if (!c->closing && !c->reading && c->in.len < PIPELINE_BUFFER_MAX &&
	    c->phase != HTTP_PHASE_HANDLING)
		start_reading(c);
}

static void
on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	(void)h;
	(void)suggested;
	static char slab[64 * 1024];	/* loop thread only; copied at once */
	*b = uv_buf_init(slab, sizeof(slab));
}

static void
on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
	struct http_conn *c = s->data;

	if (nread == UV_EOF) {
		/* Half-close: requests already received still get answers. */
		c->peer_eof = true;
		uv_read_stop(s);
		c->reading = false;
		if (c->phase != HTTP_PHASE_HANDLING)
			process_input(c);
		return;
	}
	if (nread < 0) {
		http__conn_close(c);
		return;
	}
	if (nread == 0)
		return;
	buf_append(&c->in, b->base, (size_t)nread);
	if (c->phase == HTTP_PHASE_HANDLING) {
		if (c->in.len >= PIPELINE_BUFFER_MAX) {
			uv_read_stop(s);
			c->reading = false;
		}
		return;
	}
	if (c->phase == HTTP_PHASE_BODY)	/* progress extends the body deadline */
		uv_timer_start(&c->timer, on_timeout, c->srv->limits.body_timeout_ms, 0);
	process_input(c);
}

static void
start_reading(struct http_conn *c)
{
	if (c->reading || c->closing || c->peer_eof)
		return;
	if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0)
		c->reading = true;
}

static void
client_ip(struct http_conn *c)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss);

	snprintf(c->client_ip, sizeof(c->client_ip), "unknown");
	if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) != 0)
		return;
	if (ss.ss_family == AF_INET)
		uv_ip4_name((struct sockaddr_in *)&ss, c->client_ip, sizeof(c->client_ip));
	else if (ss.ss_family == AF_INET6)
		uv_ip6_name((struct sockaddr_in6 *)&ss, c->client_ip, sizeof(c->client_ip));
}

void
http__conn_accept(struct http_server *srv)
{
	struct http_conn *c = xcalloc(1, sizeof(*c));

	c->srv = srv;
	c->id = ++srv->next_conn_id;
	uv_tcp_init(srv->loop, &c->tcp);
	uv_timer_init(srv->loop, &c->timer);
	c->tcp.data = c->timer.data = c;
	c->handles_open = 2;
	c->next = srv->conns;
	if (srv->conns)
		srv->conns->prev = c;
	srv->conns = c;
	srv->n_conns++;
	if (uv_accept((uv_stream_t *)&srv->listener, (uv_stream_t *)&c->tcp) != 0) {
		http__conn_close(c);
		return;
	}
	uv_tcp_nodelay(&c->tcp, 1);
	client_ip(c);
	llhttp_init(&c->parser, HTTP_REQUEST, parser_settings());
	c->parser.data = c;
	if (srv->n_conns > srv->limits.max_connections || srv->draining) {
		send_error_and_close(c, 503, "unavailable",
		    "too many open connections");
		return;
	}
	set_phase(c, HTTP_PHASE_IDLE, srv->limits.header_timeout_ms);
	start_reading(c);
}

/* --- llhttp callbacks: copy what the request needs, enforce limits. --- */

static struct http_conn *
conn_of(llhttp_t *p)
{
	return p->data;
}

static int
count_head(struct http_conn *c, size_t n)
{
	c->head_bytes += n;
	if (c->head_bytes > c->srv->limits.max_header) {
		c->pending_error = 431;
		return HPE_USER;
	}
	return HPE_OK;
}

static int
on_message_begin(llhttp_t *p)
{
	struct http_conn *c = conn_of(p);

	request_free(&c->req);
	c->req = xcalloc(1, sizeof(*c->req));
	c->head_bytes = 0;
	c->in_header_value = false;
	return HPE_OK;
}

/* Append a fragment to a growing string field. */
static void
append_field(char **field, const char *at, size_t len)
{
	size_t old = *field ? strlen(*field) : 0;

	*field = xrealloc(*field, old + len + 1);
	memcpy(*field + old, at, len);
	(*field)[old + len] = '\0';
}

static int
on_url(llhttp_t *p, const char *at, size_t len)
{
	struct http_conn *c = conn_of(p);

	if (count_head(c, len) != HPE_OK)
		return HPE_USER;
	append_field(&c->req->path, at, len);
	return HPE_OK;
}

static int
on_header_field(llhttp_t *p, const char *at, size_t len)
{
	struct http_conn *c = conn_of(p);
	struct http_request *r = c->req;

	if (count_head(c, len + 4) != HPE_OK)
		return HPE_USER;
	if (r->n_headers == 0 || c->in_header_value) {
		if (r->n_headers == MAX_HEADERS) {
			c->pending_error = 431;
			return HPE_USER;
		}
		r->headers = xrealloc(r->headers, (r->n_headers + 1) * sizeof(*r->headers));
		r->headers[r->n_headers++] = (struct http_header){ 0 };
		c->in_header_value = false;
	}
	append_field(&r->headers[r->n_headers - 1].name, at, len);
	return HPE_OK;
}

static int
on_header_value(llhttp_t *p, const char *at, size_t len)
{
	struct http_conn *c = conn_of(p);
	struct http_request *r = c->req;

	if (count_head(c, len) != HPE_OK)
		return HPE_USER;
	c->in_header_value = true;
	append_field(&r->headers[r->n_headers - 1].value, at, len);
	return HPE_OK;
}

static void
split_query(struct http_request *r)
{
	char *q;

	if (!r->path)
		r->path = xstrdup("");
	if ((q = strchr(r->path, '?')) != NULL) {
		r->query = xstrdup(q + 1);
		*q = '\0';
	}
}

static int
on_headers_complete(llhttp_t *p)
{
	struct http_conn *c = conn_of(p);
	struct http_request *r = c->req;
	const char *expect;

	for (size_t i = 0; i < r->n_headers; i++)
		if (!r->headers[i].value)
			r->headers[i].value = xstrdup("");
	split_query(r);
	r->method = llhttp_method_name((llhttp_method_t)p->method);
	if ((p->flags & F_CONTENT_LENGTH) &&
	    p->content_length > c->srv->limits.max_body) {
		c->pending_error = 413;
		return HPE_USER;
	}
	/* curl and others wait for "100 Continue" before sending a body. */
	expect = http_request_header(r, "Expect");
	if (expect && str_ncaseeq(expect, "100-continue", 13) == 0) {
		static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
		uv_buf_t b = uv_buf_init((char *)cont, sizeof(cont) - 1);
		uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
	}
	set_phase(c, HTTP_PHASE_BODY, c->srv->limits.body_timeout_ms);
	return HPE_OK;
}

static int
on_body(llhttp_t *p, const char *at, size_t len)
{
	struct http_conn *c = conn_of(p);
	struct http_request *r = c->req;

	if (r->body_len + len > c->srv->limits.max_body) {
		c->pending_error = 413;
		return HPE_USER;
	}
	r->body = xrealloc(r->body, r->body_len + len + 1);
	memcpy(r->body + r->body_len, at, len);
	r->body_len += len;
	r->body[r->body_len] = '\0';
	return HPE_OK;
}

static int
on_message_complete(llhttp_t *p)
{
	struct http_conn *c = conn_of(p);

	c->keep_alive = llhttp_should_keep_alive(p);
	/* Stop here: the next pipelined request waits for this answer. */
	return HPE_PAUSED;
}

static const llhttp_settings_t *
parser_settings(void)
{
	static llhttp_settings_t s;
	static bool ready;

	if (!ready) {
		llhttp_settings_init(&s);
		s.on_message_begin = on_message_begin;
		s.on_url = on_url;
		s.on_header_field = on_header_field;
		s.on_header_value = on_header_value;
		s.on_headers_complete = on_headers_complete;
		s.on_body = on_body;
		s.on_message_complete = on_message_complete;
		ready = true;
	}
	return &s;
}

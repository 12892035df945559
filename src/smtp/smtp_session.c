/*
 * smtp_session.c - one SMTP connection: bytes in, commands out to
 * smtp_cmd.c, replies back, in order.
 *
 * Input is processed until a hook has to run (RCPT, end of DATA); the
 * session is then BUSY and later bytes wait in s->in, which is how
 * pipelined commands keep their order. Replies accumulate in s->out and
 * are written when processing stops, so a pipelined batch gets its
 * replies in one write. Reads pause while s->in or the unsent output is
 * over its cap, so a flood only fills the kernel's buffers.
 *
 * Deadlines, not idle timers: a command must arrive in full within
 * command_timeout of the previous reply, a body within data_timeout of
 * the 354, whatever the client trickles meanwhile.
 *
 * The session cap (session_max; Stalwart's "duration", RELIABILITY row 7)
 * bounds a client that keeps every deadline but never leaves. When it
 * passes, the session is marked expired and gets "421 4.4.2 ... session
 * too long" at the next command boundary: at once if it is waiting for a
 * command (a half-sent command line is dropped), else after the hook that
 * runs (its reply goes first) or after the body being received. A message
 * in DATA is not cut mid-body: its sender may be honest, and data_timeout
 * already bounds it, so a session lasts at most session_max +
 * data_timeout + one hook. Pipelined commands still buffered are not
 * executed once the cap has passed.
 *
 * STARTTLS: the 220 is written in plaintext, everything still buffered
 * is discarded (RFC 3207 5; CVE-2011-0411), and from then on bytes go
 * through the TLS stream. The session state goes back to "greeted".
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gent/log.h"
#include "smtp_int.h"

struct smtp_write {
	uv_write_t	 w;
	char		*data;
	size_t		 len;
};

struct smtp_job {
	uv_work_t		 work;
	struct smtp_session	*s;
	void			(*run)(struct smtp_session *, void *);
	void			(*done)(struct smtp_session *, void *);
	void			*arg;
};

static void start_reading(struct smtp_session *s);
static void flush(struct smtp_session *s);

static const char *
state_name(enum smtp_state st)
{
	static const char *const names[] = { "greeted", "ready", "mail", "rcpt",
	    "data", "closing" };
	return names[st];
}

void
smtp__set_state(struct smtp_session *s, enum smtp_state next)
{
	log_debug("smtp", NULL, "%016" PRIx64 " state %s -> %s", s->id,
	    state_name(s->state), state_name(next));
	s->state = next;
}

void
smtp__reply(struct smtp_session *s, int code, const char *fmt, ...)
{
	char text[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	buf_printf(&s->out, "%d %s\r\n", code, text);
}

bool
smtp__is_idle(const struct smtp_session *s)
{
	return !(s->flags & SMTP_SF_BUSY) && s->state != SMTP_S_DATA &&
	    s->state != SMTP_S_CLOSING;
}

static void
maybe_free(struct smtp_session *s)
{
	if (s->refs > 0)
		return;
	smtp__server_session_gone(s->srv, s);
	smtp__tx_reset(s);
	smtp_line_free(&s->line);
	smtp_data_free(&s->data);
	tls_stream_free(&s->tls);
	buf_free(&s->in);
	buf_free(&s->out);
	free(s->helo);
	free(s);
}

static void
on_handle_closed(uv_handle_t *h)
{
	struct smtp_session *s = h->data;

	s->refs--;
	maybe_free(s);
}

void
smtp__close(struct smtp_session *s)
{
	if (s->closing)
		return;
	s->closing = true;
	log_debug("smtp", NULL, "%016" PRIx64 " close", s->id);
	uv_timer_stop(&s->timer);
	uv_timer_stop(&s->life);
	uv_close((uv_handle_t *)&s->timer, on_handle_closed);
	uv_close((uv_handle_t *)&s->life, on_handle_closed);
	uv_close((uv_handle_t *)&s->tcp, on_handle_closed);
}

static void
on_timeout(uv_timer_t *t)
{
	struct smtp_session *s = t->data;

	log_info("smtp", NULL, "%016" PRIx64 " timeout in state %s", s->id,
	    state_name(s->state));
	/* A client that does not read its replies cannot be told: cut it. */
	if (s->writing > 0) {
		smtp__close(s);
		return;
	}
	smtp__reply(s, 421, "4.4.2 %s Error: timeout exceeded", s->srv->hostname);
	smtp__set_state(s, SMTP_S_CLOSING);
	flush(s);
}

void
smtp__arm_timer(struct smtp_session *s, uint64_t ms)
{
	uv_timer_start(&s->timer, on_timeout, ms, 0);
}

/* Past session_max and at a command boundary: 421 and close. */
static bool
expire_if_due(struct smtp_session *s)
{
	if (!(s->flags & SMTP_SF_EXPIRED) || !smtp__is_idle(s))
		return false;
	smtp__reply(s, 421, "4.4.2 %s Error: session too long", s->srv->hostname);
	smtp__set_state(s, SMTP_S_CLOSING);
	/* A client that reads no replies is cut by the deadline instead. */
	smtp__arm_timer(s, s->srv->limits.command_timeout_ms);
	return true;
}

static void
on_session_max(uv_timer_t *t)
{
	struct smtp_session *s = t->data;

	log_info("smtp", NULL, "%016" PRIx64 " session too long (state %s)",
	    s->id, state_name(s->state));
	s->flags |= SMTP_SF_EXPIRED;
	smtp__process(s);
}

static void
on_write_done(uv_write_t *w, int status)
{
	struct smtp_write *sw = (struct smtp_write *)w;
	struct smtp_session *s = w->data;

	s->writing -= sw->len;
	free(sw->data);
	free(sw);
	if (s->closing)
		return;
	if (status < 0 || (s->state == SMTP_S_CLOSING && s->writing == 0)) {
		smtp__close(s);
		return;
	}
	/* Output drained below the cap: go on with buffered input. */
	smtp__process(s);
}

static void
write_raw(struct smtp_session *s, const char *data, size_t len)
{
	struct smtp_write *sw;
	uv_buf_t b;

	if (len == 0 || s->closing)
		return;
	sw = xcalloc(1, sizeof(*sw));
	sw->data = xmalloc(len);
	memcpy(sw->data, data, len);
	sw->len = len;
	sw->w.data = s;
	s->writing += len;
	b = uv_buf_init(sw->data, (unsigned)len);
	if (uv_write(&sw->w, (uv_stream_t *)&s->tcp, &b, 1, on_write_done) != 0) {
		s->writing -= len;
		free(sw->data);
		free(sw);
		smtp__close(s);
	}
}

/* Send queued replies (through TLS once it is on). */
static void
flush(struct smtp_session *s)
{
	struct buf cipher = { 0 };

	if (s->out.len == 0)
		goto done;
	if (s->flags & SMTP_SF_TLS) {
		if (tls_stream_write(&s->tls, s->out.data, s->out.len) != 0) {
			smtp__close(s);
			return;
		}
		tls_stream_take_output(&s->tls, &cipher);
		write_raw(s, cipher.data, cipher.len);
		buf_free(&cipher);
	} else {
		write_raw(s, s->out.data, s->out.len);
	}
	buf_consume(&s->out, s->out.len);
done:
	if (s->state == SMTP_S_CLOSING && s->writing == 0)
		smtp__close(s);
}

void
smtp__start_tls(struct smtp_session *s)
{
	/* Anything the client pipelined after STARTTLS is plaintext injection. */
	if (s->in.len)
		log_info("smtp", NULL, "%016" PRIx64 " discarded %zu bytes sent "
		    "before the TLS handshake", s->id, s->in.len);
	buf_consume(&s->in, s->in.len);
	smtp_line_reset(&s->line);
	flush(s);	/* the 220, in plaintext */
	if (tls_stream_init(&s->tls, s->srv->tls) != 0) {
		smtp__close(s);
		return;
	}
	s->flags = (s->flags | SMTP_SF_TLS) & ~(unsigned)(SMTP_SF_TLS_PENDING | SMTP_SF_EHLO);
	smtp__tx_reset(s);
	xfree(&s->helo);
	smtp__set_state(s, SMTP_S_GREETED);
}

/* Feed buffered input to the DATA reader; true when the body ended. */
static bool
process_data(struct smtp_session *s)
{
	size_t used = 0;
	int ended = smtp_data_feed(&s->data, s->in.data, s->in.len, &used);

	buf_consume(&s->in, used);
	if (ended)
		smtp__data_done(s);
	return ended;
}

static void
process_line(struct smtp_session *s)
{
	enum smtp_line_error err;
	size_t used = 0;

	if (!smtp_line_feed(&s->line, s->in.data, s->in.len, &used, &err)) {
		buf_consume(&s->in, used);
		return;
	}
	buf_consume(&s->in, used);
	if (err == SMTP_LINE_TOO_LONG) {
		smtp__reply(s, 500, "5.5.2 Line too long");
		s->errors++;
	} else if (err == SMTP_LINE_BARE_LF) {
		smtp__reply(s, 500, "5.5.2 Bare LF: lines must end with CRLF");
		s->errors++;
	} else if (strlen(s->line.line.data) != s->line.line.len) {
		/* Act only on what was sent: a NUL would cut the command short. */
		smtp__reply(s, 500, "5.5.2 NUL character in command");
		s->errors++;
	} else {
		smtp__command(s, s->line.line.data);
	}
	smtp_line_reset(&s->line);
	if (s->errors >= s->srv->limits.max_errors && s->state != SMTP_S_CLOSING) {
		smtp__reply(s, 421, "4.7.0 %s Error: too many errors", s->srv->hostname);
		smtp__set_state(s, SMTP_S_CLOSING);
	}
}

void
smtp__process(struct smtp_session *s)
{
	while (!s->closing && !(s->flags & SMTP_SF_BUSY) &&
	    s->state != SMTP_S_CLOSING && s->in.len > 0 &&
	    s->out.len + s->writing < SMTP_OUTPUT_MAX) {
		if (expire_if_due(s))
			break;
		if (s->state == SMTP_S_DATA)
			process_data(s);
		else
			process_line(s);
		if (s->flags & SMTP_SF_TLS_PENDING)
			smtp__start_tls(s);
	}
	if (s->closing)
		return;
	expire_if_due(s);
	/* After a half-close, nothing more will come: close once caught up. */
	if (s->peer_eof && s->in.len == 0 && !(s->flags & SMTP_SF_BUSY) &&
	    s->state != SMTP_S_CLOSING) {
		smtp__set_state(s, SMTP_S_CLOSING);
		flush(s);
		return;
	}
	/* Draining: a session that just became idle is told so and closed. */
	if (s->srv->draining && smtp__is_idle(s)) {
		smtp__reply(s, 421, "4.3.2 %s shutting down", s->srv->hostname);
		smtp__set_state(s, SMTP_S_CLOSING);
	}
	flush(s);
	if (!s->closing && s->in.len < SMTP_INPUT_MAX)
		start_reading(s);
}

static void
on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	static char slab[64 * 1024];	/* loop thread only; copied at once */

	(void)h;
	(void)suggested;
	*b = uv_buf_init(slab, sizeof(slab));
}

static void
on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *b)
{
	struct smtp_session *s = st->data;

	if (nread == UV_EOF && !(s->flags & SMTP_SF_TLS)) {
		/* Half-close: commands already sent still get their replies. */
		s->peer_eof = true;
		uv_read_stop(st);
		s->reading = false;
		smtp__process(s);
		return;
	}
	if (nread < 0) {
		smtp__close(s);
		return;
	}
	if (nread == 0)
		return;
	if (s->flags & SMTP_SF_TLS) {
		struct buf cipher = { 0 };
		int rc = tls_stream_feed(&s->tls, b->base, (size_t)nread, &s->in);
		tls_stream_take_output(&s->tls, &cipher);	/* handshake bytes */
		write_raw(s, cipher.data, cipher.len);
		buf_free(&cipher);
		if (rc != 0) {
			smtp__close(s);
			return;
		}
	} else {
		buf_append(&s->in, b->base, (size_t)nread);
	}
	if (s->in.len >= SMTP_INPUT_MAX) {
		uv_read_stop(st);
		s->reading = false;
	}
	smtp__process(s);
}

static void
start_reading(struct smtp_session *s)
{
	if (s->reading || s->closing || s->peer_eof)
		return;
	if (uv_read_start((uv_stream_t *)&s->tcp, on_alloc, on_read) == 0)
		s->reading = true;
}

static void
job_run(uv_work_t *w)
{
	struct smtp_job *j = w->data;

	j->run(j->s, j->arg);
}

static void
job_done(uv_work_t *w, int status)
{
	struct smtp_job *j = w->data;
	struct smtp_session *s = j->s;

	(void)status;
	s->refs--;
	s->flags &= ~(unsigned)SMTP_SF_BUSY;
	/* done() runs even when the session closed: it frees what arg holds. */
	j->done(s->closing ? NULL : s, j->arg);
	free(j);
	if (s->closing) {
		maybe_free(s);
		return;
	}
	smtp__arm_timer(s, s->srv->limits.command_timeout_ms);
	smtp__process(s);
}

void
smtp__run_job(struct smtp_session *s, void (*run)(struct smtp_session *, void *),
    void (*done)(struct smtp_session *, void *), void *arg)
{
	struct smtp_job *j = xcalloc(1, sizeof(*j));

	*j = (struct smtp_job){ .s = s, .run = run, .done = done, .arg = arg };
	j->work.data = j;
	s->refs++;
	s->flags |= SMTP_SF_BUSY;
	uv_timer_stop(&s->timer);	/* our turn, not the client's */
	uv_queue_work(s->srv->loop, &j->work, job_run, job_done);
}

static void
client_ip(struct smtp_session *s)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss);

	snprintf(s->client_ip, sizeof(s->client_ip), "unknown");
	if (uv_tcp_getpeername(&s->tcp, (struct sockaddr *)&ss, &len) != 0)
		return;
	if (ss.ss_family == AF_INET)
		uv_ip4_name((struct sockaddr_in *)&ss, s->client_ip, sizeof(s->client_ip));
	else if (ss.ss_family == AF_INET6)
		uv_ip6_name((struct sockaddr_in6 *)&ss, s->client_ip, sizeof(s->client_ip));
}

void
smtp__session_accept(struct smtp_server *srv)
{
	struct smtp_session *s = xcalloc(1, sizeof(*s));

	s->srv = srv;
	s->id = ++srv->next_id;
	uv_tcp_init(srv->loop, &s->tcp);
	uv_timer_init(srv->loop, &s->timer);
	uv_timer_init(srv->loop, &s->life);
	s->tcp.data = s->timer.data = s->life.data = s;
	s->refs = 3;
	s->next = srv->sessions;
	if (srv->sessions)
		srv->sessions->prev = s;
	srv->sessions = s;
	srv->n_sessions++;
	if (uv_accept((uv_stream_t *)&srv->listener, (uv_stream_t *)&s->tcp) != 0) {
		smtp__close(s);
		return;
	}
	client_ip(s);
	smtp__set_state(s, SMTP_S_GREETED);
	if (srv->n_sessions > srv->limits.max_connections ||
	    smtp__server_count_ip(srv, s->client_ip) > srv->limits.max_per_ip) {
		log_info("smtp", NULL, "%016" PRIx64 " refused %s: too many "
		    "connections", s->id, s->client_ip);
		smtp__reply(s, 421, "4.7.0 %s Too many connections, try later",
		    srv->hostname);
		smtp__set_state(s, SMTP_S_CLOSING);
		flush(s);
		return;
	}
	log_info("smtp", NULL, "%016" PRIx64 " connect from %s", s->id, s->client_ip);
	smtp__reply(s, 220, "%s ESMTP gentd", srv->hostname);
	smtp__arm_timer(s, srv->limits.command_timeout_ms);
	if (srv->limits.session_max_ms > 0)
		uv_timer_start(&s->life, on_session_max, srv->limits.session_max_ms, 0);
	smtp__process(s);
}

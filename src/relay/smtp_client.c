/*
 * smtp_client.c - one outbound SMTP connection: the socket, TLS, the
 * reply stream, and the session set-up before any transaction.
 *
 *   CONNECTING -> GREETING -> EHLO [-> HELO] [-> STARTTLS -> HANDSHAKE
 *   -> EHLO] [-> AUTH] -> READY; transactions (smtp_client_tx.c) go
 *   READY -> ENVELOPE -> BODY -> DOT -> READY, or via RSET back to READY;
 *   smtp_client_close() goes READY -> QUIT; failures go to CLOSED.
 *
 * Replies are read by smtp_reply.c and matched, in order, to the
 * commands in pending[]. A reply nobody asked for is a protocol error,
 * and a 421 ends the connection wherever it comes (RFC 5321 3.8).
 *
 * STARTTLS (RFC 3207 4.2, CVE-2011-0411): when the 220 to STARTTLS is
 * read, every byte received after it is discarded, never parsed. From
 * then on socket bytes go to the TLS stream, so injected plaintext that
 * arrives later breaks the handshake instead of being read as a reply;
 * plaintext that arrives inside TLS before we send EHLO is discarded
 * too. What the first EHLO offered is forgotten; only the capabilities
 * of the EHLO sent over TLS count.
 *
 * Failures close the socket at once and are reported to the user from
 * the `later` timer, on the next loop iteration, so no callback ever
 * runs inside an API call. Memory is freed once the handles are closed
 * and the user has called smtp_client_close() (smtp_client_int.h).
 */
#include <ctype.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gent/log.h"
#include "smtp_client_int.h"

#define AUTH_FIELD_MAX 255	/* user or password octets */

struct smtp_client_write {
	uv_write_t	 w;
	size_t		 len;
	char		 data[];
};

static uint64_t next_id;

static void process(struct smtp_client *c);

const char *
smtp_client__state_name(enum smtp_client_state st)
{
	static const char *const names[] = { "connecting", "greeting", "ehlo",
	    "starttls", "handshake", "auth", "ready", "envelope", "body",
	    "dot", "rset", "quit", "closed" };

	return (size_t)st < GENT_ARRAY_LEN(names) ? names[st] : "?";
}

void
smtp_client__set_state(struct smtp_client *c, enum smtp_client_state next)
{
	log_debug("relay", NULL, "%016" PRIx64 " smtp-client state %s -> %s",
	    c->id, smtp_client__state_name(c->state),
	    smtp_client__state_name(next));
	c->state = next;
}

/* --- replies --- */

void
smtp_client__reply_set(struct smtp_client_reply *r, int code,
    const char *enhanced, const char *text)
{
	char *old = r->text;

	r->code = code;
	snprintf(r->enhanced, sizeof(r->enhanced), "%s",
	    enhanced ? enhanced : "");
	r->text = xstrdup(text ? text : "");
	free(old);	/* after the copy: text may point into old */
}

void
smtp_client__reply_copy(struct smtp_client_reply *dst,
    const struct smtp_client_reply *src)
{
	smtp_client__reply_set(dst, src->code, src->enhanced, src->text);
}

void
smtp_client__reply_free(struct smtp_client_reply *r)
{
	xfree(&r->text);
	r->code = 0;
	r->enhanced[0] = '\0';
}

/*
 * ehlo-ok-rsp: the first line is the server's name, each further line
 * one "ehlo-keyword *(SP ehlo-param)" (RFC 5321 4.1.1.1). "AUTH=" is the
 * pre-RFC 4954 spelling some servers still send.
 */
static void
caps_line(struct smtp_client_caps *caps, const char *l, size_t n)
{
	size_t kw = 0;
	const char *arg;

	while (kw < n && l[kw] != ' ' && l[kw] != '=')
		kw++;
	arg = kw < n ? l + kw + 1 : l + n;
#define KW(s) (kw == sizeof(s) - 1 && strncasecmp(l, s, kw) == 0)
	if (KW("PIPELINING")) {
		caps->flags |= SMTP_CAP_PIPELINING;
	} else if (KW("8BITMIME")) {
		caps->flags |= SMTP_CAP_8BITMIME;
	} else if (KW("SMTPUTF8")) {
		caps->flags |= SMTP_CAP_SMTPUTF8;
	} else if (KW("STARTTLS")) {
		caps->flags |= SMTP_CAP_STARTTLS;
	} else if (KW("ENHANCEDSTATUSCODES")) {
		caps->flags |= SMTP_CAP_ENHANCEDSTATUSCODES;
	} else if (KW("SIZE")) {
		const char *end = l + n;
		uint64_t v = 0;

		caps->flags |= SMTP_CAP_SIZE;
		for (const char *p = arg; p < end && isdigit((unsigned char)*p);
		    p++) {
			if (v > (UINT64_MAX - 9) / 10)
				break;	/* absurd: keep what fits */
			v = v * 10 + (uint64_t)(*p - '0');
		}
		caps->size_max = v;
	} else if (KW("AUTH")) {
		caps->flags |= SMTP_CAP_AUTH;
		for (const char *p = arg; p < l + n; ) {
			const char *e = p;
			while (e < l + n && *e != ' ')
				e++;
			if (e - p == 5 && strncasecmp(p, "PLAIN", 5) == 0)
				caps->auth |= SMTP_AUTH_PLAIN;
			else if (e - p == 5 && strncasecmp(p, "LOGIN", 5) == 0)
				caps->auth |= SMTP_AUTH_LOGIN;
			p = e < l + n ? e + 1 : e;
		}
	}
#undef KW
}

void
smtp_client__caps_parse(struct smtp_client_caps *caps, const char *text)
{
	const char *l = strchr(text, '\n');

	memset(caps, 0, sizeof(*caps));
	while (l) {
		const char *next = strchr(++l, '\n');
		size_t n = next ? (size_t)(next - l) : strlen(l);
		caps_line(caps, l, n);
		l = next;
	}
}

/* --- handles and writes --- */

static void
wipe_auth(struct smtp_client *c)
{
	if (c->auth_user)
		OPENSSL_cleanse(c->auth_user, strlen(c->auth_user));
	if (c->auth_pass)
		OPENSSL_cleanse(c->auth_pass, strlen(c->auth_pass));
	xfree(&c->auth_user);
	xfree(&c->auth_pass);
}

static void
maybe_free(struct smtp_client *c)
{
	if (c->handles_open > 0 || !(c->flags & SMTP_CF_DETACHED))
		return;
	smtp_client__tx_free(&c->tx);
	wipe_auth(c);
	tls_stream_free(&c->tls);
	smtp_reply_parser_free(&c->reply);
	buf_free(&c->in);
	smtp_client__reply_free(&c->fail_reply);
	SSL_CTX_free(c->tls_ctx);
	free(c->pending);
	free(c->helo_name);
	free(c->server_name);
	free(c);
}

static void
on_closed(uv_handle_t *h)
{
	struct smtp_client *c = h->data;

	c->handles_open--;
	maybe_free(c);
}

static void
close_handle(uv_handle_t *h)
{
	if (!uv_is_closing(h))
		uv_close(h, on_closed);
}

/* Close the socket and the deadline; `later` too unless it must still
 * report the failure. */
static void
close_handles(struct smtp_client *c, bool keep_later)
{
	c->handles_closing = true;
	close_handle((uv_handle_t *)&c->tcp);
	close_handle((uv_handle_t *)&c->timer);
	if (!keep_later)
		close_handle((uv_handle_t *)&c->later);
	if (c->state != SMTP_C_CLOSED)
		smtp_client__set_state(c, SMTP_C_CLOSED);
}

static void
on_write_done(uv_write_t *w, int status)
{
	struct smtp_client_write *cw = (struct smtp_client_write *)w;
	struct smtp_client *c = w->data;

	c->writing -= cw->len;
	free(cw);
	if (c->handles_closing)
		return;
	if (status < 0) {
		smtp_client__fail(c, 421, "4.4.2", "connection to %s lost "
		    "while writing: %s", c->peer, uv_strerror(status));
		return;
	}
	if (c->state == SMTP_C_BODY)
		smtp_client__tx_pump(c);
}

static void
write_raw(struct smtp_client *c, const char *data, size_t len)
{
	struct smtp_client_write *cw;
	uv_buf_t b;
	int rc;

	if (len == 0 || c->handles_closing)
		return;
	cw = xmalloc(sizeof(*cw) + len);
	memcpy(cw->data, data, len);
	cw->len = len;
	cw->w.data = c;
	c->writing += len;
	b = uv_buf_init(cw->data, (unsigned)len);
	rc = uv_write(&cw->w, (uv_stream_t *)&c->tcp, &b, 1, on_write_done);
	if (rc != 0) {
		c->writing -= len;
		free(cw);
		smtp_client__fail(c, 421, "4.4.2", "cannot write to %s: %s",
		    c->peer, uv_strerror(rc));
	}
}

/* Send what TLS has produced (handshake records, encrypted data). */
static void
flush_tls(struct smtp_client *c)
{
	struct buf cipher = { 0 };

	tls_stream_take_output(&c->tls, &cipher);
	write_raw(c, cipher.data, cipher.len);
	buf_free(&cipher);
}

void
smtp_client__write(struct smtp_client *c, const char *data, size_t len)
{
	if (c->handles_closing || len == 0)
		return;
	if (!(c->flags & SMTP_CF_TLS)) {
		write_raw(c, data, len);
		return;
	}
	if (tls_stream_write(&c->tls, data, len) != 0) {
		smtp_client__fail(c, 421, "4.4.2", "TLS write to %s failed",
		    c->peer);
		return;
	}
	flush_tls(c);
}

/* --- the deadline --- */

static uint64_t
timeout_for(const struct smtp_client *c, enum smtp_client_cmd cmd)
{
	switch (cmd) {
	case SMTP_CMD_GREETING:
		return c->t_greeting;
	case SMTP_CMD_DATA:
		return c->t_data_init;
	case SMTP_CMD_DOT:
		return c->t_data_dot;
	case SMTP_CMD_QUIT:
		return c->t_command < SMTP_CLIENT_QUIT_MS ? c->t_command :
		    SMTP_CLIENT_QUIT_MS;
	default:
		return c->t_command;
	}
}

static const char *
cmd_name(enum smtp_client_cmd cmd)
{
	static const char *const names[] = { "greeting", "EHLO", "HELO",
	    "STARTTLS", "AUTH", "AUTH", "AUTH", "MAIL", "RCPT", "DATA",
	    "end of data", "end of data", "RSET", "QUIT" };

	return (size_t)cmd < GENT_ARRAY_LEN(names) ? names[cmd] : "?";
}

static void
on_timeout(uv_timer_t *t)
{
	struct smtp_client *c = t->data;
	char what[64];

	if (c->handles_closing)
		return;
	if (c->state == SMTP_C_QUIT) {
		close_handles(c, false);
		return;
	}
	if (c->state == SMTP_C_CONNECTING)
		snprintf(what, sizeof(what), "connecting to");
	else if (c->state == SMTP_C_HANDSHAKE)
		snprintf(what, sizeof(what), "in the TLS handshake with");
	else if (c->state == SMTP_C_BODY)
		snprintf(what, sizeof(what), "writing the message to");
	else if (c->n_pending > 0 &&
	    c->pending[c->pending_head].cmd == SMTP_CMD_GREETING)
		snprintf(what, sizeof(what), "waiting for the greeting of");
	else if (c->n_pending > 0)
		snprintf(what, sizeof(what), "waiting for the reply to %s from",
		    cmd_name(c->pending[c->pending_head].cmd));
	else
		snprintf(what, sizeof(what), "in state %s with",
		    smtp_client__state_name(c->state));
	smtp_client__fail(c, 421, "4.4.2", "timeout %s %s", what, c->peer);
}

void
smtp_client__arm(struct smtp_client *c, uint64_t ms)
{
	if (!c->handles_closing)
		uv_timer_start(&c->timer, on_timeout, ms, 0);
}

void
smtp_client__arm_for_head(struct smtp_client *c)
{
	if (c->handles_closing)
		return;
	if (c->n_pending > 0)
		smtp_client__arm(c, timeout_for(c,
		    c->pending[c->pending_head].cmd));
	else if (c->state != SMTP_C_BODY && c->state != SMTP_C_HANDSHAKE)
		uv_timer_stop(&c->timer);
}

/* --- commands --- */

void
smtp_client__push(struct smtp_client *c, enum smtp_client_cmd cmd, size_t rcpt)
{
	if (c->pending_head + c->n_pending == c->pending_cap) {
		/* Compact, then grow: the queue never holds more than one
		 * transaction's commands. */
		if (c->pending_head > 0)
			memmove(c->pending, c->pending + c->pending_head,
			    c->n_pending * sizeof(*c->pending));
		c->pending_head = 0;
		if (c->n_pending == c->pending_cap) {
			c->pending_cap = c->pending_cap ?
			    c->pending_cap * 2 : 8;
			c->pending = xrealloc(c->pending,
			    c->pending_cap * sizeof(*c->pending));
		}
	}
	c->pending[c->pending_head + c->n_pending++] =
	    (struct smtp_client_pending){ cmd, rcpt };
	if (c->n_pending == 1)
		smtp_client__arm(c, timeout_for(c, cmd));
}

static struct smtp_client_pending
pop(struct smtp_client *c)
{
	struct smtp_client_pending p = c->pending[c->pending_head];

	gent_assert(c->n_pending > 0);
	c->pending_head++;
	if (--c->n_pending == 0)
		c->pending_head = 0;
	return p;
}

void
smtp_client__command(struct smtp_client *c, enum smtp_client_cmd cmd,
    size_t rcpt, const char *fmt, ...)
{
	struct buf line = { 0 };
	va_list ap;
	char *text;

	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) < 0)
		abort();
	va_end(ap);
	log_debug("relay", NULL, "%016" PRIx64 " smtp-client C: %s", c->id,
	    text);
	buf_printf(&line, "%s\r\n", text);
	free(text);
	smtp_client__push(c, cmd, rcpt);
	smtp_client__write(c, line.data, line.len);
	buf_free(&line);
}

/* A command with a secret in it: `shown` is logged instead, and the
 * line is wiped after the write has copied it. */
static void
command_secret(struct smtp_client *c, enum smtp_client_cmd cmd,
    const char *shown, char *line)
{
	size_t n = strlen(line);

	log_debug("relay", NULL, "%016" PRIx64 " smtp-client C: %s", c->id,
	    shown);
	smtp_client__push(c, cmd, 0);
	smtp_client__write(c, line, n);
	OPENSSL_cleanse(line, n);
}

/* --- failure and results --- */

static void
on_later(uv_timer_t *t)
{
	struct smtp_client *c = t->data;

	if (c->state == SMTP_C_CLOSED && !(c->flags & SMTP_CF_DETACHED) &&
	    !(c->flags & SMTP_CF_READY_CALLED)) {
		c->flags |= SMTP_CF_READY_CALLED;
		c->on_ready(c, -1, &c->fail_reply, c->arg);
	} else if (c->tx && c->tx->decided) {
		/* A failed connection's, or one refused here before anything
		 * was sent. */
		smtp_client__tx_deliver(c);
	}
	if (c->state == SMTP_C_CLOSED)
		close_handle((uv_handle_t *)&c->later);
}

void
smtp_client__report_later(struct smtp_client *c)
{
	if (!uv_is_closing((uv_handle_t *)&c->later))
		uv_timer_start(&c->later, on_later, 0, 0);
}

void
smtp_client__fail_reply(struct smtp_client *c,
    const struct smtp_client_reply *r)
{
	if (c->handles_closing)
		return;	/* the first failure is the one reported */
	log_info("relay", NULL, "%016" PRIx64 " smtp-client %s failed in "
	    "state %s: %d %s %.300s", c->id, c->peer,
	    smtp_client__state_name(c->state), r->code, r->enhanced, r->text);
	smtp_client__reply_copy(&c->fail_reply, r);
	smtp_client__tx_conn_failed(c, r);
	wipe_auth(c);
	close_handles(c, true);
	smtp_client__report_later(c);
}

void
smtp_client__fail(struct smtp_client *c, int code, const char *enhanced,
    const char *fmt, ...)
{
	struct smtp_client_reply r = { .code = code };
	va_list ap;

	if (c->handles_closing)
		return;
	snprintf(r.enhanced, sizeof(r.enhanced), "%s", enhanced);
	va_start(ap, fmt);
	if (vasprintf(&r.text, fmt, ap) < 0)
		abort();
	va_end(ap);
	smtp_client__fail_reply(c, &r);
	free(r.text);
}

/* --- session set-up --- */

static void
ready(struct smtp_client *c)
{
	smtp_client__set_state(c, SMTP_C_READY);
	log_info("relay", NULL, "%016" PRIx64 " smtp-client ready %s tls=%s "
	    "pipelining=%s size=%" PRIu64, c->id, c->peer,
	    c->flags & SMTP_CF_TLS ? "yes" : "no",
	    c->caps.flags & SMTP_CAP_PIPELINING ? "yes" : "no",
	    c->caps.size_max);
	c->flags |= SMTP_CF_READY_CALLED;
	if (!(c->flags & SMTP_CF_DETACHED))
		c->on_ready(c, 0, NULL, c->arg);
}

static void
send_ehlo(struct smtp_client *c)
{
	smtp_client__set_state(c, SMTP_C_EHLO);
	smtp_client__command(c, SMTP_CMD_EHLO, 0, "EHLO %s", c->helo_name);
}

/* base64 of n octets into a fresh string (wiped by the caller). */
static char *
base64(const char *in, size_t n)
{
	char *out = xmalloc(4 * ((n + 2) / 3) + 1);

	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)in,
	    (int)n);
	return out;
}

/* RFC 4954 with RFC 4616 PLAIN ("\0user\0pass", as an initial
 * response), or the LOGIN exchange when only that is offered. */
static void
start_auth(struct smtp_client *c)
{
	char raw[2 * AUTH_FIELD_MAX + 2], *b64, *line;
	size_t ul = strlen(c->auth_user), pl = strlen(c->auth_pass);

	if (!(c->caps.flags & SMTP_CAP_AUTH) ||
	    !(c->caps.auth & (SMTP_AUTH_PLAIN | SMTP_AUTH_LOGIN))) {
		smtp_client__fail(c, 421, "4.7.0", "%s offers no AUTH "
		    "mechanism we use (PLAIN, LOGIN); credentials not sent",
		    c->peer);
		return;
	}
	smtp_client__set_state(c, SMTP_C_AUTH);
	if (!(c->caps.auth & SMTP_AUTH_PLAIN)) {
		smtp_client__command(c, SMTP_CMD_AUTH, 0, "AUTH LOGIN");
		return;
	}
	raw[0] = '\0';
	memcpy(raw + 1, c->auth_user, ul);
	raw[1 + ul] = '\0';
	memcpy(raw + 2 + ul, c->auth_pass, pl);
	b64 = base64(raw, 2 + ul + pl);
	OPENSSL_cleanse(raw, sizeof(raw));
	line = xasprintf("AUTH PLAIN %s\r\n", b64);
	OPENSSL_cleanse(b64, strlen(b64));
	free(b64);
	command_secret(c, SMTP_CMD_AUTH, "AUTH PLAIN <credentials>", line);
	free(line);
}

static void
auth_login_step(struct smtp_client *c, enum smtp_client_cmd next,
    const char *secret)
{
	char *b64 = base64(secret, strlen(secret));
	char *line = xasprintf("%s\r\n", b64);

	OPENSSL_cleanse(b64, strlen(b64));
	free(b64);
	command_secret(c, next, next == SMTP_CMD_AUTH_USER ? "<user name>" :
	    "<password>", line);
	free(line);
}

static void
on_auth(struct smtp_client *c, enum smtp_client_cmd cmd,
    const struct smtp_client_reply *r)
{
	bool login = !(c->caps.auth & SMTP_AUTH_PLAIN);

	if (r->code == 235 && (!login || cmd == SMTP_CMD_AUTH_PASS)) {
		log_info("relay", NULL, "%016" PRIx64 " smtp-client "
		    "authenticated to %s", c->id, c->peer);
		wipe_auth(c);
		ready(c);
	} else if (r->code == 334 && login && cmd == SMTP_CMD_AUTH) {
		auth_login_step(c, SMTP_CMD_AUTH_USER, c->auth_user);
	} else if (r->code == 334 && login && cmd == SMTP_CMD_AUTH_USER) {
		auth_login_step(c, SMTP_CMD_AUTH_PASS, c->auth_pass);
	} else if (r->code / 100 == 3) {
		smtp_client__fail(c, 421, "4.7.0", "unexpected %d in AUTH "
		    "from %s", r->code, c->peer);
	} else {
		smtp_client__fail_reply(c, r);
	}
}

/* After EHLO/HELO worked: TLS, then AUTH, then ready. */
static void
after_hello(struct smtp_client *c)
{
	bool tls = (c->flags & SMTP_CF_TLS) != 0;

	if (!tls && c->tls_ctx && (c->caps.flags & SMTP_CAP_STARTTLS)) {
		smtp_client__set_state(c, SMTP_C_STARTTLS);
		smtp_client__command(c, SMTP_CMD_STARTTLS, 0, "STARTTLS");
		return;
	}
	if (!tls && c->require_tls) {
		smtp_client__fail(c, 421, "4.7.10", "TLS is required, but %s",
		    !c->tls_ctx ? "no TLS context is configured" :
		    "the server does not offer STARTTLS");
		return;
	}
	if (!tls && c->auth_user) {
		smtp_client__fail(c, 421, "4.7.10", "AUTH is configured but "
		    "needs TLS, which %s does not offer; credentials not sent",
		    c->peer);
		return;
	}
	if (c->auth_user) {
		start_auth(c);
		return;
	}
	ready(c);
}

static void
start_tls(struct smtp_client *c)
{
	/* RFC 3207 4.2 / CVE-2011-0411: what came after the 220 was sent
	 * before TLS by whoever is on the wire; it is never a reply. */
	if (c->in.len)
		log_info("relay", NULL, "%016" PRIx64 " smtp-client "
		    "discarded %zu bytes %s sent after its 220 to STARTTLS",
		    c->id, c->in.len, c->peer);
	buf_consume(&c->in, c->in.len);
	smtp_reply_parser_reset(&c->reply);
	memset(&c->caps, 0, sizeof(c->caps));
	c->flags &= ~(unsigned)SMTP_CF_EHLO;
	if (tls_stream_init_client(&c->tls, c->tls_ctx, c->server_name) != 0) {
		smtp_client__fail(c, 421, "4.7.5", "cannot start TLS with %s",
		    c->peer);
		return;
	}
	c->flags |= SMTP_CF_TLS;
	smtp_client__set_state(c, SMTP_C_HANDSHAKE);
	smtp_client__arm(c, c->t_command);
	if (tls_stream_feed(&c->tls, NULL, 0, &c->in) != 0) {
		smtp_client__fail(c, 421, "4.7.5", "cannot start TLS with %s",
		    c->peer);
		return;
	}
	flush_tls(c);	/* the ClientHello */
}

static void
handshake_done(struct smtp_client *c)
{
	log_info("relay", NULL, "%016" PRIx64 " smtp-client TLS with %s: %s %s",
	    c->id, c->peer, SSL_get_version(c->tls.ssl),
	    SSL_get_cipher_name(c->tls.ssl));
	/* Nothing may precede the reply to our EHLO (TLS 1.3 lets a server
	 * send before the handshake is complete on our side). */
	if (c->in.len)
		log_info("relay", NULL, "%016" PRIx64 " smtp-client "
		    "discarded %zu bytes %s sent before EHLO", c->id,
		    c->in.len, c->peer);
	buf_consume(&c->in, c->in.len);
	send_ehlo(c);
}

static void
on_greeting(struct smtp_client *c, const struct smtp_client_reply *r)
{
	if (r->code == 220)
		send_ehlo(c);
	else
		smtp_client__fail_reply(c, r);
}

static void
on_ehlo(struct smtp_client *c, const struct smtp_client_reply *r)
{
	if (r->code / 100 == 2) {
		smtp_client__caps_parse(&c->caps, r->text);
		c->flags |= SMTP_CF_EHLO;
		after_hello(c);
	} else if (r->code / 100 == 5) {
		/* RFC 5321 3.2: an old server; HELO has no extensions. */
		smtp_client__command(c, SMTP_CMD_HELO, 0, "HELO %s",
		    c->helo_name);
	} else {
		smtp_client__fail_reply(c, r);
	}
}

static void
on_helo(struct smtp_client *c, const struct smtp_client_reply *r)
{
	if (r->code / 100 != 2) {
		smtp_client__fail_reply(c, r);
		return;
	}
	memset(&c->caps, 0, sizeof(c->caps));
	c->flags &= ~(unsigned)SMTP_CF_EHLO;
	after_hello(c);
}

static void
on_starttls(struct smtp_client *c, const struct smtp_client_reply *r)
{
	if (r->code == 220) {
		start_tls(c);
		return;
	}
	if (c->require_tls || c->auth_user) {
		smtp_client__fail(c, 421, "4.7.10", "%s refused STARTTLS (%d "
		    "%.200s) and TLS is required", c->peer, r->code, r->text);
		return;
	}
	/* Opportunistic: the session after EHLO is still usable. */
	log_info("relay", NULL, "%016" PRIx64 " smtp-client %s refused "
	    "STARTTLS: %d; going on without TLS", c->id, c->peer, r->code);
	ready(c);
}

static void
dispatch(struct smtp_client *c, const struct smtp_client_reply *r)
{
	struct smtp_client_pending p;

	if (c->n_pending == 0) {
		if (c->state == SMTP_C_BODY)
			smtp_client__tx_early_reply(c, r);
		else if (r->code == 421)
			smtp_client__fail_reply(c, r);
		else
			smtp_client__fail(c, 421, "4.5.0", "unexpected reply "
			    "from %s in state %s: %d", c->peer,
			    smtp_client__state_name(c->state), r->code);
		return;
	}
	p = pop(c);
	if (r->code == 421 && p.cmd != SMTP_CMD_QUIT) {
		/* RFC 5321 3.8: the server is closing the connection. */
		smtp_client__fail_reply(c, r);
		return;
	}
	switch (p.cmd) {
	case SMTP_CMD_GREETING:
		on_greeting(c, r);
		break;
	case SMTP_CMD_EHLO:
		on_ehlo(c, r);
		break;
	case SMTP_CMD_HELO:
		on_helo(c, r);
		break;
	case SMTP_CMD_STARTTLS:
		on_starttls(c, r);
		break;
	case SMTP_CMD_AUTH:
	case SMTP_CMD_AUTH_USER:
	case SMTP_CMD_AUTH_PASS:
		on_auth(c, p.cmd, r);
		break;
	case SMTP_CMD_QUIT:
		close_handles(c, false);
		break;
	default:
		smtp_client__tx_reply(c, &p, r);
		break;
	}
}

static void
process(struct smtp_client *c)
{
	while (!c->handles_closing && c->in.len > 0 &&
	    c->state != SMTP_C_HANDSHAKE) {
		struct smtp_client_reply r = { 0 };
		size_t used = 0;
		int rc = smtp_reply_parse(&c->reply, c->in.data, c->in.len,
		    &used);

		buf_consume(&c->in, used);
		if (rc == 0)
			break;
		if (rc < 0) {
			smtp_client__fail(c, 421, "4.5.0", "bad reply from "
			    "%s: %s", c->peer,
			    smtp_reply_error_str(c->reply.error));
			return;
		}
		r.code = c->reply.code;
		memcpy(r.enhanced, c->reply.enhanced, sizeof(r.enhanced));
		r.text = c->reply.text.data;
		log_debug("relay", NULL, "%016" PRIx64 " smtp-client S: %d %s "
		    "%.200s", c->id, r.code, r.enhanced, r.text);
		dispatch(c, &r);
		smtp_client__arm_for_head(c);
	}
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
	struct smtp_client *c = st->data;

	if (c->handles_closing || nread == 0)
		return;
	if (nread < 0) {
		if (c->state == SMTP_C_QUIT) {
			close_handles(c, false);
			return;
		}
		smtp_client__fail(c, 421, "4.4.2", "connection %s by %s in "
		    "state %s", nread == UV_EOF ? "closed" :
		    uv_strerror((int)nread), c->peer,
		    smtp_client__state_name(c->state));
		return;
	}
	if (c->flags & SMTP_CF_TLS) {
		int rc = tls_stream_feed(&c->tls, b->base, (size_t)nread,
		    &c->in);

		flush_tls(c);
		if (rc != 0) {
			smtp_client__fail(c, 421, c->state == SMTP_C_HANDSHAKE ?
			    "4.7.5" : "4.4.2", "TLS %s with %s",
			    c->state == SMTP_C_HANDSHAKE ? "handshake failed" :
			    "error", c->peer);
			return;
		}
		if (c->state == SMTP_C_HANDSHAKE && tls_stream_ready(&c->tls))
			handshake_done(c);
	} else {
		buf_append(&c->in, b->base, (size_t)nread);
	}
	process(c);
}

static void
on_connect(uv_connect_t *req, int status)
{
	struct smtp_client *c = req->data;

	if (c->handles_closing)
		return;	/* closed while connecting: UV_ECANCELED */
	if (status < 0) {
		smtp_client__fail(c, 421, "4.4.1", "cannot connect to %s: %s",
		    c->peer, uv_strerror(status));
		return;
	}
	smtp_client__set_state(c, SMTP_C_GREETING);
	smtp_client__push(c, SMTP_CMD_GREETING, 0);
	if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0) {
		smtp_client__fail(c, 421, "4.4.2", "cannot read from %s",
		    c->peer);
		return;
	}
}

/* A uv_tcp_connect() that failed at once is reported like any other. */
static void
on_connect_error(uv_timer_t *t)
{
	struct smtp_client *c = t->data;

	smtp_client__fail(c, 421, "4.4.1", "cannot connect to %s", c->peer);
}

static void
set_peer(struct smtp_client *c, const struct sockaddr *addr)
{
	char ip[64] = "?";
	int port;

	if (addr->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)addr;
		uv_ip4_name(s4, ip, sizeof(ip));
		port = ntohs(s4->sin_port);
	} else {
		const struct sockaddr_in6 *s6 =
		    (const struct sockaddr_in6 *)addr;
		uv_ip6_name(s6, ip, sizeof(ip));
		port = ntohs(s6->sin6_port);
	}
	snprintf(c->peer, sizeof(c->peer), "%.255s[%s]:%d",
	    c->server_name ? c->server_name : "", ip, port);
}

static uint64_t
or_default(uint64_t ms, uint64_t def)
{
	return ms ? ms : def;
}

static void
set_timeouts(struct smtp_client *c, const struct smtp_client_opts *o)
{
	c->t_connect = or_default(o->connect_timeout_ms,
	    SMTP_CLIENT_CONNECT_MS);
	c->t_greeting = or_default(o->greeting_timeout_ms,
	    SMTP_CLIENT_GREETING_MS);
	c->t_command = or_default(o->command_timeout_ms,
	    SMTP_CLIENT_COMMAND_MS);
	c->t_data_init = or_default(o->command_timeout_ms,
	    SMTP_CLIENT_DATA_INIT_MS);
	c->t_data_block = or_default(o->data_timeout_ms,
	    SMTP_CLIENT_DATA_BLOCK_MS);
	c->t_data_dot = or_default(o->data_timeout_ms, SMTP_CLIENT_DATA_DOT_MS);
}

static bool
opts_usable(const struct sockaddr *addr, const struct smtp_client_opts *o)
{
	if (!addr || !o || !o->helo_name || !*o->helo_name ||
	    strpbrk(o->helo_name, " \r\n") || strlen(o->helo_name) > 255)
		return false;
	if (addr->sa_family != AF_INET && addr->sa_family != AF_INET6)
		return false;
	if (o->auth_user && (!o->auth_pass || strlen(o->auth_user) >
	    AUTH_FIELD_MAX || strlen(o->auth_pass) > AUTH_FIELD_MAX))
		return false;
	return true;
}

int
smtp_client_connect(uv_loop_t *loop, const struct sockaddr *addr,
    const struct smtp_client_opts *opts, smtp_client_ready_cb on_ready,
    void *arg, struct smtp_client **c_r)
{
	struct smtp_client *c;
	int rc;

	*c_r = NULL;
	if (!loop || !on_ready || !opts_usable(addr, opts))
		return -1;
	c = xcalloc(1, sizeof(*c));
	c->loop = loop;
	c->id = ++next_id;
	c->on_ready = on_ready;
	c->arg = arg;
	c->helo_name = xstrdup(opts->helo_name);
	c->server_name = xstrdup(opts->server_name);
	if (opts->tls_ctx && SSL_CTX_up_ref(opts->tls_ctx) == 1)
		c->tls_ctx = opts->tls_ctx;
	c->require_tls = opts->require_tls;
	c->avoid_pipelining = opts->avoid_pipelining;
	c->auth_user = xstrdup(opts->auth_user);
	c->auth_pass = opts->auth_user ? xstrdup(opts->auth_pass) : NULL;
	set_timeouts(c, opts);
	set_peer(c, addr);
	uv_tcp_init(loop, &c->tcp);
	uv_timer_init(loop, &c->timer);
	uv_timer_init(loop, &c->later);
	c->tcp.data = c->timer.data = c->later.data = c->connect_req.data = c;
	c->handles_open = 3;
	*c_r = c;
	smtp_client__set_state(c, SMTP_C_CONNECTING);
	log_info("relay", NULL, "%016" PRIx64 " smtp-client connect %s", c->id,
	    c->peer);
	rc = uv_tcp_connect(&c->connect_req, &c->tcp, addr, on_connect);
	if (rc != 0) {
		log_info("relay", NULL, "%016" PRIx64 " smtp-client connect "
		    "%s: %s", c->id, c->peer, uv_strerror(rc));
		uv_timer_start(&c->later, on_connect_error, 0, 0);
		return 0;
	}
	smtp_client__arm(c, c->t_connect);
	return 0;
}

bool
smtp_client_usable(const struct smtp_client *c)
{
	return c && c->state == SMTP_C_READY && !c->tx && !c->handles_closing &&
	    !(c->flags & SMTP_CF_DETACHED);
}

void
smtp_client_close(struct smtp_client **cp)
{
	struct smtp_client *c = cp ? *cp : NULL;

	if (!c)
		return;
	*cp = NULL;
	c->flags |= SMTP_CF_DETACHED;
	smtp_client__tx_free(&c->tx);	/* its on_sent will not be called */
	if (!c->handles_closing && c->state == SMTP_C_READY &&
	    c->n_pending == 0) {
		uv_timer_stop(&c->later);
		smtp_client__set_state(c, SMTP_C_QUIT);
		smtp_client__command(c, SMTP_CMD_QUIT, 0, "QUIT");
	} else {
		close_handles(c, false);
	}
	maybe_free(c);
}

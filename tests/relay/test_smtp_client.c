/*
 * test_smtp_client.c - the relay's SMTP client (src/relay/smtp_client*.c)
 * against real peers on 127.0.0.1, all on the test's own libuv loop:
 *
 *   - gentd's ESMTP server engine (smtp_server_start(), PIPELINING,
 *     SIZE, STARTTLS with a certificate made here), whose hooks record
 *     what arrived: recipients "bad*" get 550, "tmp*" get 451, and the
 *     message gets message_code (250 unless a test changes it). The
 *     server's DATA reader refuses bare CR/LF with 554, so a delivered
 *     message also proves the wire carried only CRLF;
 *   - a scripted server written here (struct peer) that misbehaves on
 *     purpose: plaintext injected after STARTTLS, an over-long greeting,
 *     silence, a close in the middle of DATA, AUTH without TLS.
 *
 * Also tables for the message writer (normalisation and dot-stuffing)
 * and the EHLO capability parser. Every wait is bounded by a guard
 * timer, and every test ends with uv_loop_close() == 0.
 *
 * Looks at client internals (src/relay/smtp_client_int.h) for the
 * capabilities and how the last transaction went on the wire, and at
 * the server's listener (src/smtp/smtp_int.h) for its port (STYLE.md
 * 21).
 *
 * Environment: GENT_TEST_LOG=debug|info|warn|error (default error).
 */
#include <check.h>
#include <ftw.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "gent/log.h"
#include "gent/smtp.h"
#include "gent/smtp_client.h"
#include "gent/tls.h"
#include "gent/util.h"

#include "../../src/relay/smtp_client_int.h"
#include "../../src/smtp/smtp_int.h"

#define WAIT_MS 10000		/* longest any single wait may take */
#define MAX_SEEN 4		/* messages the hooks keep */

static uv_loop_t loop;
static uv_timer_t guard;
static bool guard_fired;
static SSL_CTX *server_tls;	/* made once, before the tests fork */
static SSL_CTX *client_tls;

/* ------------------------------------------------------------------ */
/* Certificates                                                        */

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* A throwaway self-signed P-256 certificate, loaded the daemon's way. */
static SSL_CTX *
make_server_tls(void)
{
	char dir[] = "/tmp/gentd-test-relay-XXXXXX", cert[64], key[64];
	char *err = NULL;
	EVP_PKEY *pkey = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *name;
	SSL_CTX *ctx;
	FILE *f;

	ck_assert(pkey && x);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600L * 24);
	X509_set_pubkey(x, pkey);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)"localhost", -1, -1, 0);
	X509_set_issuer_name(x, name);
	ck_assert(X509_sign(x, pkey, EVP_sha256()) > 0);
	ck_assert(mkdtemp(dir) != NULL);
	snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
	snprintf(key, sizeof(key), "%s/key.pem", dir);
	ck_assert((f = fopen(cert, "w")) != NULL);
	ck_assert(PEM_write_X509(f, x) == 1);
	fclose(f);
	ck_assert((f = fopen(key, "w")) != NULL);
	ck_assert(PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL,
	    NULL) == 1);
	fclose(f);
	ctx = tls_server_ctx(cert, key, &err);
	ck_assert_msg(ctx != NULL, "%s", err ? err : "");
	nftw(dir, rm_entry, 4, FTW_DEPTH | FTW_PHYS);
	X509_free(x);
	EVP_PKEY_free(pkey);
	return ctx;
}

/* ------------------------------------------------------------------ */
/* The loop                                                            */

static void
on_guard(uv_timer_t *t)
{
	guard_fired = true;
	uv_stop(t->loop);
}

/* Run the loop until *counter >= want or ms passed; true on success. */
static bool
wait_for(const int *counter, int want, uint64_t ms)
{
	guard_fired = false;
	uv_timer_start(&guard, on_guard, ms, 0);
	while (*counter < want && !guard_fired)
		uv_run(&loop, UV_RUN_ONCE);
	uv_timer_stop(&guard);
	return *counter >= want;
}

/* Let the loop run for ms (closing handshakes, stray callbacks). */
static void
run_for(uint64_t ms)
{
	int never = 0;

	(void)wait_for(&never, 1, ms);
}

/* ------------------------------------------------------------------ */
/* gentd's server and its hooks (threadpool threads: under seen.lock)  */

static struct {
	pthread_mutex_t	 lock;
	int		 messages;
	int		 rcpt_calls;
	struct buf	 body[MAX_SEEN];
	size_t		 n_rcpts[MAX_SEEN];
	bool		 tls[MAX_SEEN];
	int		 message_code;	/* the message hook's reply */
} seen = { .lock = PTHREAD_MUTEX_INITIALIZER };

static struct smtp_server *srv;
static int srv_port;

static void
hook_rcpt(void *ctx, const struct smtp_envelope *env, const char *rcpt,
    char **cookie_r, struct smtp_reply *out)
{
	(void)ctx;
	(void)env;
	(void)cookie_r;
	pthread_mutex_lock(&seen.lock);
	seen.rcpt_calls++;
	pthread_mutex_unlock(&seen.lock);
	if (strncmp(rcpt, "bad", 3) == 0)
		smtp_reply_set(out, 550, "5.1.1 <%s>: no such user", rcpt);
	else if (strncmp(rcpt, "tmp", 3) == 0)
		smtp_reply_set(out, 451, "4.2.0 <%s>: try later", rcpt);
	else
		smtp_reply_set(out, 250, "2.1.5 Ok");
}

static void
hook_message(void *ctx, const struct smtp_envelope *env, const char *data,
    size_t len, struct smtp_reply *out)
{
	int code;

	(void)ctx;
	pthread_mutex_lock(&seen.lock);
	if (seen.messages < MAX_SEEN) {
		buf_append(&seen.body[seen.messages], data, len);
		buf_append(&seen.body[seen.messages], "", 0);
		seen.n_rcpts[seen.messages] = env->n_rcpts;
		seen.tls[seen.messages] = env->tls;
	}
	seen.messages++;
	code = seen.message_code;
	pthread_mutex_unlock(&seen.lock);
	if (code == 250)
		smtp_reply_set(out, 250, "2.0.0 Ok: queued as test");
	else
		smtp_reply_set(out, code, "%d.3.0 Try again later", code / 100);
}

static int
seen_messages(void)
{
	int n;

	pthread_mutex_lock(&seen.lock);
	n = seen.messages;
	pthread_mutex_unlock(&seen.lock);
	return n;
}

static void
start_server(size_t max_message, bool tls)
{
	struct smtp_limits limits = {
		.max_message = max_message,
		.max_rcpts = 100,
		.max_errors = 10,
		.max_connections = 100,
		.max_per_ip = 100,
		.command_timeout_ms = 5000,
		.data_timeout_ms = 5000,
	};
	struct smtp_hooks hooks = {
		.rcpt = hook_rcpt, .message = hook_message,
	};
	struct sockaddr_in sa;
	int len = sizeof(sa);
	char *err = NULL;

	ck_assert_msg(smtp_server_start(&srv, &loop, "127.0.0.1:0", "mx.test",
	    &limits, &hooks, tls ? server_tls : NULL, &err) == 0, "%s", err);
	ck_assert_int_eq(uv_tcp_getsockname(&srv->listener,
	    (struct sockaddr *)&sa, &len), 0);
	srv_port = ntohs(sa.sin_port);
}

static int drained;

static void
on_drained(void *arg)
{
	(void)arg;
	drained++;
	uv_stop(&loop);
}

static void
stop_server(void)
{
	if (!srv)
		return;
	drained = 0;
	smtp_server_drain(srv, 2000, on_drained, NULL);
	ck_assert(wait_for(&drained, 1, WAIT_MS));
	run_for(10);	/* the listener's and the drain timer's close */
	smtp_server_free(&srv);
}

/* ------------------------------------------------------------------ */
/* The client side: what the callbacks saw                             */

struct got {
	int			 ready_calls;
	int			 ready_status;
	int			 ready_code;
	char			 ready_enhanced[16];
	char			 ready_text[512];
	int			 sent_calls;
	enum smtp_send_outcome	 outcome;
	int			 code;
	char			 enhanced[16];
	char			 text[512];
	bool			 tls;
	size_t			 n_rcpts;
	int			 rcpt_code[8];
	char			 rcpt_enhanced[8][16];
	char			 rcpt_text[8][256];
	/* A second message to send from inside on_sent, if set. */
	const char		*resend_msg;
	/* A client to close from inside on_sent, if set. */
	struct smtp_client	**close_in_cb;
};

static struct got got;

static void
on_ready(struct smtp_client *c, int status, const struct smtp_client_reply *why,
    void *arg)
{
	struct got *g = arg;

	(void)c;
	uv_stop(&loop);	/* wait_for() looks again at once */
	g->ready_calls++;
	g->ready_status = status;
	if (why) {
		g->ready_code = why->code;
		snprintf(g->ready_enhanced, sizeof(g->ready_enhanced), "%s",
		    why->enhanced);
		snprintf(g->ready_text, sizeof(g->ready_text), "%s", why->text);
	}
}

static const char *const rcpt_ab[] = { "a@dest.test", "b@dest.test" };

static void
on_sent(struct smtp_client *c, const struct smtp_send_result *r, void *arg)
{
	struct got *g = arg;

	uv_stop(&loop);	/* wait_for() looks again at once */
	g->sent_calls++;
	g->outcome = r->outcome;
	g->code = r->reply.code;
	snprintf(g->enhanced, sizeof(g->enhanced), "%s", r->reply.enhanced);
	snprintf(g->text, sizeof(g->text), "%s", r->reply.text);
	g->tls = r->tls;
	g->n_rcpts = r->n_rcpts;
	for (size_t i = 0; i < r->n_rcpts && i < 8; i++) {
		g->rcpt_code[i] = r->rcpts[i].reply.code;
		snprintf(g->rcpt_enhanced[i], sizeof(g->rcpt_enhanced[i]), "%s",
		    r->rcpts[i].reply.enhanced);
		snprintf(g->rcpt_text[i], sizeof(g->rcpt_text[i]), "%s",
		    r->rcpts[i].reply.text);
	}
	if (g->close_in_cb) {
		ck_assert(*g->close_in_cb == c);
		smtp_client_close(g->close_in_cb);
		ck_assert_ptr_null(*g->close_in_cb);
		g->close_in_cb = NULL;
		return;
	}
	if (g->resend_msg) {
		const char *m = g->resend_msg;
		g->resend_msg = NULL;
		/* From inside the callback: the connection is ready again. */
		ck_assert(smtp_client_usable(c));
		ck_assert_int_eq(smtp_client_send(c, "s@src.test", rcpt_ab, 2,
		    m, strlen(m), on_sent, g), 0);
	}
}

static struct smtp_client_opts
opts_default(void)
{
	return (struct smtp_client_opts){
		.helo_name = "client.test",
		.server_name = "localhost",
		.connect_timeout_ms = 5000,
		.greeting_timeout_ms = 5000,
		.command_timeout_ms = 5000,
		.data_timeout_ms = 5000,
	};
}

static struct smtp_client *
connect_to(int port, const struct smtp_client_opts *o)
{
	struct sockaddr_in sa;
	struct smtp_client *c = NULL;

	ck_assert_int_eq(uv_ip4_addr("127.0.0.1", port, &sa), 0);
	ck_assert_int_eq(smtp_client_connect(&loop, (struct sockaddr *)&sa, o,
	    on_ready, &got, &c), 0);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(got.ready_calls, 0);	/* never from inside */
	ck_assert_msg(wait_for(&got.ready_calls, 1, WAIT_MS), "no on_ready");
	return c;
}

static struct smtp_client *
connect_ready(int port, const struct smtp_client_opts *o)
{
	struct smtp_client *c = connect_to(port, o);

	ck_assert_msg(got.ready_status == 0, "not ready: %d %s %s",
	    got.ready_code, got.ready_enhanced, got.ready_text);
	ck_assert(smtp_client_usable(c));
	return c;
}

/* Send and wait for the result. */
static void
send_wait(struct smtp_client *c, const char *from, const char *const *rcpts,
    size_t n, const char *msg, size_t len)
{
	int before = got.sent_calls;

	ck_assert_int_eq(smtp_client_send(c, from, rcpts, n, msg, len, on_sent,
	    &got), 0);
	ck_assert(!smtp_client_usable(c));
	ck_assert_int_eq(got.sent_calls, before);	/* never from inside */
	ck_assert_msg(wait_for(&got.sent_calls, before + 1, WAIT_MS),
	    "no on_sent");
}

/* ------------------------------------------------------------------ */
/* The misbehaving peer                                                */

enum peer_mode {
	PEER_PLAIN,		/* a small honest server, no extensions */
	PEER_NO_EHLO,		/* 502 to EHLO: HELO only */
	PEER_INJECT,		/* "220 ready\r\n250 injected\r\n", then TLS */
	PEER_INJECT_LATE,	/* 220, then "250 injected" later, no TLS */
	PEER_LONG_GREETING,	/* a 3000-octet greeting line */
	PEER_SILENT,		/* never says anything */
	PEER_SILENT_MAIL,	/* never answers MAIL */
	PEER_CLOSE_IN_DATA,	/* hangs up when the message starts */
	PEER_AUTH_NO_TLS,	/* offers AUTH, no STARTTLS */
	PEER_AUTH_TLS,		/* STARTTLS, then AUTH PLAIN LOGIN */
	PEER_AUTH_LOGIN_TLS,	/* STARTTLS, then AUTH LOGIN only */
	PEER_EARLY_REPLY,	/* 554 as soon as the message starts */
};

struct peer_write {
	uv_write_t	 w;
	char		 data[];
};

static struct {
	uv_tcp_t	 listener;
	uv_tcp_t	 conn;
	uv_timer_t	 timer;
	bool		 open;		/* listener and timer initialised */
	bool		 has_conn;
	int		 port;
	enum peer_mode	 mode;
	bool		 tls_on;
	bool		 swallow;	/* ignore all input from now on */
	struct tls_stream tls;
	struct buf	 in;		/* plaintext not yet handled */
	bool		 in_data;
	size_t		 body_bytes;
	int		 ehlo;		/* EHLOs seen, and over TLS */
	int		 ehlo_tls;
	int		 auth_lines;	/* AUTH lines (and LOGIN steps) */
	int		 auth_lines_tls;
	int		 auth_ok;	/* credentials decoded right */
	int		 data_cmds;
	int		 closed;	/* the connection is closed */
	char		 auth_step;	/* 0, 'u' after 334 user, 'p' */
	struct buf	 lines;		/* every command line, "\n"-joined */
} peer;

static void
peer_write_done(uv_write_t *w, int status)
{
	(void)status;
	free(w);
}

static void
peer_raw(const char *s, size_t n)
{
	struct peer_write *pw;
	uv_buf_t b;

	if (!peer.has_conn || uv_is_closing((uv_handle_t *)&peer.conn) || !n)
		return;
	pw = xmalloc(sizeof(*pw) + n);
	memcpy(pw->data, s, n);
	b = uv_buf_init(pw->data, (unsigned)n);
	if (uv_write(&pw->w, (uv_stream_t *)&peer.conn, &b, 1,
	    peer_write_done) != 0)
		free(pw);
}

static void
peer_flush_tls(void)
{
	struct buf out = { 0 };

	tls_stream_take_output(&peer.tls, &out);
	peer_raw(out.data, out.len);
	buf_free(&out);
}

static void
peer_say(const char *s)
{
	if (peer.tls_on) {
		ck_assert_int_eq(tls_stream_write(&peer.tls, s, strlen(s)), 0);
		peer_flush_tls();
	} else {
		peer_raw(s, strlen(s));
	}
}

static void
peer_conn_closed(uv_handle_t *h)
{
	(void)h;
	peer.closed++;
}

static void
peer_hangup(void)
{
	if (peer.has_conn && !uv_is_closing((uv_handle_t *)&peer.conn))
		uv_close((uv_handle_t *)&peer.conn, peer_conn_closed);
}

static void
peer_late_inject(uv_timer_t *t)
{
	(void)t;
	peer_raw("250 injected\r\n", 14);
}

static void
peer_ehlo(void)
{
	peer.ehlo++;
	peer.ehlo_tls += peer.tls_on;
	switch (peer.mode) {
	case PEER_NO_EHLO:
		peer_say("502 5.5.1 EHLO not implemented\r\n");
		break;
	case PEER_INJECT:
	case PEER_INJECT_LATE:
		peer_say(peer.tls_on ? "250-fake.test\r\n250-PIPELINING\r\n"
		    "250 SIZE 12345\r\n" : "250-fake.test\r\n250-STARTTLS\r\n"
		    "250 SIZE 1000\r\n");
		break;
	case PEER_AUTH_NO_TLS:
		peer_say("250-fake.test\r\n250 AUTH PLAIN LOGIN\r\n");
		break;
	case PEER_AUTH_TLS:
		peer_say(peer.tls_on ?
		    "250-fake.test\r\n250 AUTH PLAIN LOGIN\r\n" :
		    "250-fake.test\r\n250 STARTTLS\r\n");
		break;
	case PEER_AUTH_LOGIN_TLS:
		peer_say(peer.tls_on ? "250-fake.test\r\n250 AUTH=LOGIN\r\n" :
		    "250-fake.test\r\n250 STARTTLS\r\n");
		break;
	default:
		peer_say("250-fake.test\r\n250 SIZE 10000000\r\n");
		break;
	}
}

static void
peer_starttls(void)
{
	if (peer.mode == PEER_INJECT) {
		/* The injection: one write, a second "reply" after the 220. */
		peer_raw("220 2.0.0 ready\r\n250 injected\r\n", 31);
		ck_assert_int_eq(tls_stream_init(&peer.tls, server_tls), 0);
		peer.tls_on = true;
	} else if (peer.mode == PEER_INJECT_LATE) {
		peer_raw("220 2.0.0 ready\r\n", 17);
		peer.swallow = true;	/* no TLS here: the ClientHello rots */
		uv_timer_start(&peer.timer, peer_late_inject, 100, 0);
	} else if (peer.mode == PEER_AUTH_TLS ||
	    peer.mode == PEER_AUTH_LOGIN_TLS) {
		peer_raw("220 2.0.0 ready\r\n", 17);
		ck_assert_int_eq(tls_stream_init(&peer.tls, server_tls), 0);
		peer.tls_on = true;
	} else {
		peer_say("502 5.5.1 no TLS here\r\n");
	}
	buf_consume(&peer.in, peer.in.len);
}

static bool
b64_is(const char *b64, const char *raw, size_t raw_len)
{
	unsigned char out[512];
	int n = EVP_DecodeBlock(out, (const unsigned char *)b64,
	    (int)strlen(b64));

	/* EVP_DecodeBlock counts the padding as zero octets. */
	while (n > 0 && (size_t)n > raw_len && out[n - 1] == 0)
		n--;
	return n >= 0 && (size_t)n == raw_len && memcmp(out, raw, raw_len) == 0;
}

static void
peer_auth(const char *line)
{
	peer.auth_lines++;
	peer.auth_lines_tls += peer.tls_on;
	if (peer.auth_step == 'u') {
		peer.auth_step = 'p';
		peer.auth_ok += b64_is(line, "user", 4);
		peer_say("334 UGFzc3dvcmQ6\r\n");
	} else if (peer.auth_step == 'p') {
		peer.auth_step = 0;
		peer.auth_ok += b64_is(line, "secret", 6);
		peer_say("235 2.7.0 Authentication successful\r\n");
	} else if (strcasecmp(line, "AUTH LOGIN") == 0) {
		peer.auth_step = 'u';
		peer_say("334 VXNlcm5hbWU6\r\n");
	} else if (strncasecmp(line, "AUTH PLAIN ", 11) == 0) {
		peer.auth_ok += b64_is(line + 11, "\0user\0secret", 12);
		peer_say("235 2.7.0 Authentication successful\r\n");
	} else {
		peer_say("504 5.5.4 unknown mechanism\r\n");
	}
}

static void
peer_line(const char *line)
{
	buf_printf(&peer.lines, "%s\n", line);
	if (peer.auth_step || strncasecmp(line, "AUTH", 4) == 0)
		peer_auth(line);
	else if (strncasecmp(line, "EHLO ", 5) == 0)
		peer_ehlo();
	else if (strncasecmp(line, "HELO ", 5) == 0)
		peer_say("250 fake.test\r\n");
	else if (strcasecmp(line, "STARTTLS") == 0)
		peer_starttls();
	else if (strncasecmp(line, "MAIL FROM:", 10) == 0) {
		if (peer.mode != PEER_SILENT_MAIL)
			peer_say("250 2.1.0 Ok\r\n");
	} else if (strncasecmp(line, "RCPT TO:", 8) == 0)
		peer_say("250 2.1.5 Ok\r\n");
	else if (strcasecmp(line, "DATA") == 0) {
		peer.data_cmds++;
		peer.in_data = true;
		peer.body_bytes = 0;
		peer_say("354 go ahead\r\n");
	} else if (strcasecmp(line, "RSET") == 0)
		peer_say("250 2.0.0 Ok\r\n");
	else if (strcasecmp(line, "QUIT") == 0) {
		peer_say("221 2.0.0 Bye\r\n");
		peer_hangup();
	} else
		peer_say("500 5.5.2 what?\r\n");
}

/* The body: counted until <CRLF>.<CRLF>; or the mode's misbehaviour. */
static void
peer_body(void)
{
	char *end;

	if (peer.mode == PEER_CLOSE_IN_DATA) {
		peer_hangup();
		buf_consume(&peer.in, peer.in.len);
		return;
	}
	if (peer.mode == PEER_EARLY_REPLY) {
		peer_say("554 5.6.0 go away\r\n");
		peer.swallow = true;
		buf_consume(&peer.in, peer.in.len);
		return;
	}
	if (peer.body_bytes == 0 && peer.in.len >= 3 &&
	    memcmp(peer.in.data, ".\r\n", 3) == 0) {
		buf_consume(&peer.in, 3);	/* an empty message */
	} else if (peer.in.data && (end = memmem(peer.in.data, peer.in.len,
	    "\r\n.\r\n", 5)) != NULL) {
		peer.body_bytes += (size_t)(end - peer.in.data) + 2;
		buf_consume(&peer.in, (size_t)(end - peer.in.data) + 5);
	} else {
		/* Keep a possible partial terminator. */
		size_t keep = peer.in.len < 4 ? peer.in.len : 4;
		peer.body_bytes += peer.in.len - keep;
		buf_consume(&peer.in, peer.in.len - keep);
		return;
	}
	peer.in_data = false;
	peer_say("250 2.0.0 Ok: queued\r\n");
}

static void
peer_process(void)
{
	char *nl;

	while (peer.in.len && !peer.swallow && peer.has_conn &&
	    !uv_is_closing((uv_handle_t *)&peer.conn)) {
		if (peer.in_data) {
			size_t before = peer.in.len;
			peer_body();
			if (peer.in_data && peer.in.len == before)
				break;
			continue;
		}
		if (!(nl = memchr(peer.in.data, '\n', peer.in.len)))
			break;
		*nl = '\0';
		if (nl > peer.in.data && nl[-1] == '\r')
			nl[-1] = '\0';
		char *line = xstrdup(peer.in.data);
		buf_consume(&peer.in, (size_t)(nl - peer.in.data) + 1);
		peer_line(line);
		free(line);
	}
}

static void
peer_alloc(uv_handle_t *h, size_t n, uv_buf_t *b)
{
	static char slab[65536];

	(void)h;
	(void)n;
	*b = uv_buf_init(slab, sizeof(slab));
}

static void
peer_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	(void)s;
	if (n < 0) {
		peer_hangup();
		return;
	}
	if (n == 0 || peer.swallow)
		return;
	if (peer.tls_on) {
		if (tls_stream_feed(&peer.tls, b->base, (size_t)n,
		    &peer.in) != 0) {
			peer_flush_tls();
			peer_hangup();
			return;
		}
		peer_flush_tls();
	} else {
		buf_append(&peer.in, b->base, (size_t)n);
	}
	peer_process();
}

static void
peer_accept(uv_stream_t *l, int status)
{
	char greeting[3100];

	ck_assert_int_eq(status, 0);
	ck_assert(!peer.has_conn);	/* one connection per test */
	uv_tcp_init(&loop, &peer.conn);
	peer.has_conn = true;
	ck_assert_int_eq(uv_accept(l, (uv_stream_t *)&peer.conn), 0);
	uv_read_start((uv_stream_t *)&peer.conn, peer_alloc, peer_read);
	switch (peer.mode) {
	case PEER_SILENT:
		break;
	case PEER_LONG_GREETING:
		memset(greeting, 'x', sizeof(greeting));
		memcpy(greeting, "220 ", 4);
		memcpy(greeting + 3004, "\r\n", 2);
		peer_raw(greeting, 3006);
		break;
	default:
		peer_say("220 fake.test ESMTP test peer\r\n");
		break;
	}
}

static void
start_peer(enum peer_mode mode)
{
	struct sockaddr_in sa;
	int len = sizeof(sa);

	peer.mode = mode;
	uv_tcp_init(&loop, &peer.listener);
	uv_timer_init(&loop, &peer.timer);
	peer.open = true;
	ck_assert_int_eq(uv_ip4_addr("127.0.0.1", 0, &sa), 0);
	ck_assert_int_eq(uv_tcp_bind(&peer.listener, (struct sockaddr *)&sa,
	    0), 0);
	ck_assert_int_eq(uv_listen((uv_stream_t *)&peer.listener, 8,
	    peer_accept), 0);
	ck_assert_int_eq(uv_tcp_getsockname(&peer.listener,
	    (struct sockaddr *)&sa, &len), 0);
	peer.port = ntohs(sa.sin_port);
}

static void
stop_peer(void)
{
	if (!peer.open)
		return;
	peer_hangup();
	uv_close((uv_handle_t *)&peer.listener, NULL);
	uv_close((uv_handle_t *)&peer.timer, NULL);
	run_for(10);
	tls_stream_free(&peer.tls);
	buf_free(&peer.in);
	buf_free(&peer.lines);
	peer.open = false;
}

/* ------------------------------------------------------------------ */
/* Fixture                                                             */

static void
setup(void)
{
	const char *lvl = getenv("GENT_TEST_LOG");
	int level = lvl ? log_level_parse(lvl) : -1;

	log_set_level(level >= 0 ? (enum log_level)level : LOG_ERROR);
	/* A peer that hangs up while we write must give EPIPE, not kill the
	 * process: libuv writes with write(2), so SIGPIPE is ignored here
	 * as a daemon using these modules must. */
	signal(SIGPIPE, SIG_IGN);
	ck_assert_int_eq(uv_loop_init(&loop), 0);
	uv_timer_init(&loop, &guard);
	memset(&got, 0, sizeof(got));
	memset(&peer, 0, sizeof(peer));
	pthread_mutex_lock(&seen.lock);
	for (int i = 0; i < MAX_SEEN; i++)
		buf_free(&seen.body[i]);
	seen.messages = seen.rcpt_calls = 0;
	seen.message_code = 250;
	pthread_mutex_unlock(&seen.lock);
	srv = NULL;
}

/* Every handle closed, or the test fails: uv_loop_close() == 0. */
static void
teardown(void)
{
	int rc;

	stop_server();
	stop_peer();
	/* Clients closed with QUIT wait for the 221: let them. */
	guard_fired = false;
	uv_unref((uv_handle_t *)&guard);
	uv_timer_start(&guard, on_guard, WAIT_MS, 0);
	uv_run(&loop, UV_RUN_DEFAULT);
	ck_assert_msg(!guard_fired, "handles still open at the end");
	uv_close((uv_handle_t *)&guard, NULL);
	uv_run(&loop, UV_RUN_NOWAIT);
	rc = uv_loop_close(&loop);
	ck_assert_msg(rc == 0, "uv_loop_close: %s", uv_strerror(rc));
}

static void
unchecked_setup(void)
{
	server_tls = make_server_tls();
	char *err = NULL;
	client_tls = tls_client_ctx(&err);
	ck_assert_msg(client_tls != NULL, "%s", err ? err : "");
}

static void
unchecked_teardown(void)
{
	SSL_CTX_free(server_tls);
	SSL_CTX_free(client_tls);
}

/* ------------------------------------------------------------------ */
/* Tables: the message writer and the capability parser                */

static char *
encode_all(const char *msg, size_t len, size_t block)
{
	struct smtp_client_body_enc e;
	struct buf out = { 0 };

	smtp_client__body_start(&e, msg, len);
	for (int n = 0; !smtp_client__body_encode(&e, &out, block); n++)
		ck_assert_int_lt(n, 100000);
	return out.data;
}

START_TEST(body_table)
{
	static const struct { const char *in, *wire; } cases[] = {
		{ "", ".\r\n" },
		{ "a", "a\r\n.\r\n" },
		{ "a\r\n", "a\r\n.\r\n" },
		{ "a\nb\n", "a\r\nb\r\n.\r\n" },
		{ "a\rb\r", "a\r\nb\r\n.\r\n" },
		{ "a\r\r\nb", "a\r\n\r\nb\r\n.\r\n" },
		{ ".\r\n", "..\r\n.\r\n" },
		{ "x\n.\ny", "x\r\n..\r\ny\r\n.\r\n" },
		{ "x\r.\r\ny", "x\r\n..\r\ny\r\n.\r\n" },
		{ "x\r\n.\ny", "x\r\n..\r\ny\r\n.\r\n" },
		{ "x\n.\r\nMAIL FROM:<a@b>\r\n",
		    "x\r\n..\r\nMAIL FROM:<a@b>\r\n.\r\n" },
		{ "\n", "\r\n.\r\n" },
		{ "\r", "\r\n.\r\n" },
		{ "..a\r\n", "...a\r\n.\r\n" },
		{ "a.b\r\n", "a.b\r\n.\r\n" },
	};

	for (size_t i = 0; i < GENT_ARRAY_LEN(cases); i++) {
		static const size_t blocks[] = { 1, 2, 3, 7,
		    SMTP_CLIENT_BLOCK };
		for (size_t b = 0; b < GENT_ARRAY_LEN(blocks); b++) {
			char *w = encode_all(cases[i].in, strlen(cases[i].in),
			    blocks[b]);
			ck_assert_msg(strcmp(w, cases[i].wire) == 0, "case %zu "
			    "block %zu: got \"%s\"", i, blocks[b], w);
			free(w);
		}
	}
}
END_TEST

START_TEST(body_scan)
{
	struct smtp_client_body_info info;
	char line[1000];

	smtp_client__body_scan("Subject: x\n\nbody\r", 17, &info);
	/* "Subject: x\r\n\r\nbody\r\n" */
	ck_assert_uint_eq(info.size, 20);
	ck_assert_uint_eq(info.longest, 10);
	ck_assert(!info.eight_bit && !info.header_8bit);
	smtp_client__body_scan("S: a\r\n\r\n\xc3\xa9\r\n", 12, &info);
	ck_assert(info.eight_bit && !info.header_8bit);
	smtp_client__body_scan("S: \xc3\xa9\r\n\r\nb\r\n", 12, &info);
	ck_assert(info.eight_bit && info.header_8bit);
	memset(line, 'a', sizeof(line));
	smtp_client__body_scan(line, 998, &info);
	ck_assert_uint_eq(info.longest, 998);
	smtp_client__body_scan(line, 999, &info);
	ck_assert_uint_eq(info.longest, 999);
}
END_TEST

START_TEST(caps_table)
{
	struct smtp_client_caps caps;

	smtp_client__caps_parse(&caps, "mx.test greets you\nPIPELINING\n"
	    "SIZE 35882577\n8BITMIME\nsmtputf8\nSTARTTLS\nENHANCEDSTATUSCODES\n"
	    "AUTH LOGIN PLAIN XOAUTH2");
	ck_assert_uint_eq(caps.flags, SMTP_CAP_PIPELINING | SMTP_CAP_SIZE |
	    SMTP_CAP_8BITMIME | SMTP_CAP_SMTPUTF8 | SMTP_CAP_STARTTLS |
	    SMTP_CAP_ENHANCEDSTATUSCODES | SMTP_CAP_AUTH);
	ck_assert_uint_eq(caps.size_max, 35882577);
	ck_assert_uint_eq(caps.auth, SMTP_AUTH_PLAIN | SMTP_AUTH_LOGIN);
	/* The first line is the server's name, never a keyword. */
	smtp_client__caps_parse(&caps, "STARTTLS");
	ck_assert_uint_eq(caps.flags, 0);
	smtp_client__caps_parse(&caps, "mx\nSIZE\nAUTH=LOGIN\nPIPELININGX");
	ck_assert_uint_eq(caps.flags, SMTP_CAP_SIZE | SMTP_CAP_AUTH);
	ck_assert_uint_eq(caps.size_max, 0);
	ck_assert_uint_eq(caps.auth, SMTP_AUTH_LOGIN);
	smtp_client__caps_parse(&caps, "mx\nSIZE 99999999999999999999999");
	ck_assert(caps.size_max > 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Against gentd's server                                              */

static const char msg_dots[] = "From: s@src.test\r\nTo: a@dest.test\r\n"
    "Subject: dots\r\n\r\n.leading dot\r\n..two dots\r\n.\r\nend\r\n";

/* One message, two recipients, one command per round trip. */
START_TEST(deliver_two_rcpts)
{
	struct smtp_client_opts o = opts_default();
	struct smtp_client *c;

	start_server(100000, false);
	o.avoid_pipelining = true;
	c = connect_ready(srv_port, &o);
	send_wait(c, "s@src.test", rcpt_ab, 2, msg_dots, strlen(msg_dots));
	ck_assert_int_eq(got.outcome, SMTP_SEND_DELIVERED);
	ck_assert_int_eq(got.code, 250);
	ck_assert_str_eq(got.enhanced, "2.0.0");
	ck_assert_uint_eq(got.n_rcpts, 2);
	ck_assert_int_eq(got.rcpt_code[0], 250);
	ck_assert_int_eq(got.rcpt_code[1], 250);
	ck_assert(!got.tls);
	ck_assert_int_eq(seen_messages(), 1);
	/* Un-stuffed by the server, the bytes are exactly ours. */
	ck_assert_str_eq(seen.body[0].data, msg_dots);
	ck_assert_uint_eq(seen.n_rcpts[0], 2);
	ck_assert(!c->last_tx.pipelined);
	/* MAIL, RCPT, RCPT, DATA */
	ck_assert_uint_eq(c->last_tx.envelope_writes, 4);
	ck_assert(smtp_client_usable(c));
	smtp_client_close(&c);
	ck_assert_ptr_null(c);
}
END_TEST

/* PIPELINING offered: MAIL, all RCPTs and DATA in one write. */
START_TEST(deliver_pipelined)
{
	static const char *const rcpts[] = { "a@dest.test", "b@dest.test",
	    "c@dest.test" };
	struct smtp_client_opts o = opts_default();
	struct smtp_client *c;

	start_server(100000, false);
	c = connect_ready(srv_port, &o);
	ck_assert(c->caps.flags & SMTP_CAP_PIPELINING);
	send_wait(c, "", rcpts, 3, msg_dots, strlen(msg_dots));
	ck_assert_int_eq(got.outcome, SMTP_SEND_DELIVERED);
	ck_assert(c->last_tx.pipelined);
	ck_assert_uint_eq(c->last_tx.envelope_writes, 1);
	ck_assert_int_eq(seen_messages(), 1);
	ck_assert_uint_eq(seen.n_rcpts[0], 3);
	ck_assert_str_eq(seen.body[0].data, msg_dots);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(got.rcpt_code[i], 250);
	smtp_client_close(&c);
}
END_TEST

/* STARTTLS offered and a context set: the message goes over TLS. */
START_TEST(deliver_starttls)
{
	struct smtp_client_opts o = opts_default();
	struct smtp_client *c;

	start_server(100000, true);
	o.tls_ctx = client_tls;
	o.require_tls = true;
	c = connect_ready(srv_port, &o);
	ck_assert(c->flags & SMTP_CF_TLS);
	/* Capabilities from the EHLO over TLS: no STARTTLS any more. */
	ck_assert(!(c->caps.flags & SMTP_CAP_STARTTLS));
	ck_assert(c->caps.flags & SMTP_CAP_PIPELINING);
	send_wait(c, "s@src.test", rcpt_ab, 2, msg_dots, strlen(msg_dots));
	ck_assert_int_eq(got.outcome, SMTP_SEND_DELIVERED);
	ck_assert(got.tls);
	ck_assert_int_eq(seen_messages(), 1);
	ck_assert(seen.tls[0]);
	ck_assert_str_eq(seen.body[0].data, msg_dots);
	smtp_client_close(&c);
}
END_TEST

/* A large message over TLS: written in blocks, arrives whole. */
START_TEST(deliver_large_tls)
{
	struct smtp_client_opts o = opts_default();
	struct smtp_client *c;
	size_t n = 600 * 1000;
	char *m = xmalloc(n + 1);

	for (size_t i = 0; i < n; i++)
		m[i] = (i % 100 == 98) ? '\r' : (i % 100 == 99) ? '\n' :
		    (i % 100 == 0) ? '.' : (char)('a' + i % 26);
	m[n] = '\0';
	start_server(1 << 20, true);
	o.tls_ctx = client_tls;
	c = connect_ready(srv_port, &o);
	send_wait(c, "s@src.test", rcpt_ab, 1, m, n);
	ck_assert_int_eq(got.outcome, SMTP_SEND_DELIVERED);
	ck_assert(got.tls);
	ck_assert_int_eq(seen_messages(), 1);
	ck_assert_uint_eq(seen.body[0].len, n);
	ck_assert(memcmp(seen.body[0].data, m, n) == 0);
	smtp_client_close(&c);
	free(m);
}
END_TEST

/* Two messages on one connection, the second sent from inside on_sent. */
START_TEST(two_messages)
{
	static const char second[] = "Subject: two\r\n\r\nsecond\r\n";
	struct smtp_client_opts o = opts_default();
	struct smtp_client *c;

	start_server(100000, false);
	c = connect_ready(srv_port, &o);
	got.resend_msg = second;
	send_wait(c, "s@src.test", rcpt_ab, 2, msg_dots, strlen(msg_dots));
	ck_assert(wait_for(&got.sent_calls, 2, WAIT_MS));
	ck_assert_int_eq(got.outcome, SMTP_SEND_DELIVERED);
	ck_assert_int_eq(seen_messages(), 2);
	ck_assert_str_eq(seen.body[0].data, msg_dots);
	ck_assert_str_eq(seen.body[1].data, second);
	ck_assert(smtp_client_usable(c));
	smtp_client_close(&c);
}
END_TEST

/* One recipient refused: delivered to the other, per-rcpt results. */
START_TEST(one_rcpt_refused)
{
	static const char *const rcpts[] = { "a@dest.test", "bad@dest.test" };
	struct smtp_client_opts o = opts_default();
	struct smtp_client *c;

	start_server(100000, false);
	c = connect_ready(srv_port, &o);
	send_wait(c, "s@src.test", rcpts, 2, msg_dots, strlen(msg_dots));
	ck_assert_int_eq(got.outcome, SMTP_SEND_DELIVERED);
	ck_assert_int_eq(got.rcpt_code[0], 250);
	/* An accepted recipient has the reply after the dot. */
	ck_assert(strstr(got.rcpt_text[0], "queued") != NULL);
	ck_assert_int_eq(got.rcpt_code[1], 550);
	ck_assert_str_eq(got.rcpt_enhanced[1], "5.1.1");
	ck_assert_int_eq(seen_messages(), 1);
	ck_assert_uint_eq(seen.n_rcpts[0], 1);
	smtp_client_close(&c);
}
END_TEST

/* All refused: rejected, no DATA (unpipelined), no message; RSET; the
 * connection is ready for the next transaction. Pipelined: DATA went
 * in the batch, but no message either. */
START_TEST(all_rcpts_refused)
{
	static const char *const rcpts[] = { "bad1@dest.test",
	    "bad2@dest.test" };
	static const char *const mixed[] = { "bad@dest.test", "tmp@dest.test" };

	for (int pipe = 0; pipe < 2; pipe++) {
		struct smtp_client_opts o = opts_default();
		struct smtp_client *c;

		memset(&got, 0, sizeof(got));
		if (!srv)
			start_server(100000, false);
		o.avoid_pipelining = !pipe;
		c = connect_ready(srv_port, &o);
		send_wait(c, "s@src.test", rcpts, 2, msg_dots,
		    strlen(msg_dots));
		ck_assert_int_eq(got.outcome, SMTP_SEND_REJECTED);
		ck_assert_int_eq(got.code, 550);
		ck_assert_int_eq(got.rcpt_code[0], 550);
		ck_assert_int_eq(got.rcpt_code[1], 550);
		ck_assert(c->last_tx.data_sent == (pipe == 1));
		ck_assert(smtp_client_usable(c));
		/* A temporary refusal decides over a permanent one. */
		send_wait(c, "s@src.test", mixed, 2, msg_dots,
		    strlen(msg_dots));
		ck_assert_int_eq(got.outcome, SMTP_SEND_DEFERRED);
		ck_assert_int_eq(got.code, 451);
		ck_assert_int_eq(got.rcpt_code[0], 550);
		ck_assert_int_eq(got.rcpt_code[1], 451);
		ck_assert(smtp_client_usable(c));
		/* And the connection still delivers. */
		send_wait(c, "s@src.test", rcpt_ab, 1, msg_dots,
		    strlen(msg_dots));
		ck_assert_int_eq(got.outcome, SMTP_SEND_DELIVERED);
		smtp_client_close(&c);
	}
	ck_assert_int_eq(seen_messages(), 2);
}
END_TEST

/* A 451 to the message: deferred, for every accepted recipient. */
START_TEST(message_deferred)
{
	struct smtp_client_opts o = opts_default();
	struct smtp_client *c;

	seen.message_code = 451;
	start_server(100000, false);
	c = connect_ready(srv_port, &o);
	send_wait(c, "s@src.test", rcpt_ab, 2, msg_dots, strlen(msg_dots));
	ck_assert_int_eq(got.outcome, SMTP_SEND_DEFERRED);
	ck_assert_int_eq(got.code, 451);
	ck_assert_str_eq(got.enhanced, "4.3.0");
	ck_assert_int_eq(got.rcpt_code[0], 451);
	ck_assert_int_eq(got.rcpt_code[1], 451);
	ck_assert(smtp_client_usable(c));
	smtp_client_close(&c);
}
END_TEST

/* Over the server's SIZE: refused here, nothing sent, still usable. */
START_TEST(size_too_big)
{
	struct smtp_client_opts o = opts_default();
	struct smtp_client *c;
	char *big = xmalloc(20001);

	memset(big, 'x', 20000);
	for (size_t i = 80; i < 20000; i += 80)
		big[i] = '\n';
	big[20000] = '\0';
	start_server(10000, false);
	c = connect_ready(srv_port, &o);
	ck_assert_uint_eq(c->caps.size_max, 10000);
	send_wait(c, "s@src.test", rcpt_ab, 2, big, 20000);
	ck_assert_int_eq(got.outcome, SMTP_SEND_REJECTED);
	ck_assert_int_eq(got.code, 552);
	ck_assert_str_eq(got.enhanced, "5.3.4");
	ck_assert_int_eq(got.rcpt_code[0], 552);
	ck_assert(c->last_tx.local);
	ck_assert_int_eq(seen.rcpt_calls, 0);
	ck_assert(smtp_client_usable(c));
	send_wait(c, "s@src.test", rcpt_ab, 2, big, 5000);
	ck_assert_int_eq(got.outcome, SMTP_SEND_DELIVERED);
	ck_assert_int_eq(seen_messages(), 1);
	smtp_client_close(&c);
	free(big);
}
END_TEST

/* Bare LF and bare CR become CRLF; "\n.\n" and friends cannot end the
 * message early: the server sees one message with the whole body (and
 * would have refused it with 554 had a lone CR or LF arrived). */
START_TEST(normalise_smuggling)
{
	static const char in[] = "Subject: smuggle\n\nA\n.\nMAIL FROM:<evil@x>"
	    "\r\nB\r.\r\nC\n.\r\nD\r\n.\rE\r\n.\nRCPT TO:<v@x>\nF";
	static const char want[] = "Subject: smuggle\r\n\r\nA\r\n.\r\n"
	    "MAIL FROM:<evil@x>\r\nB\r\n.\r\nC\r\n.\r\nD\r\n.\r\nE\r\n.\r\n"
	    "RCPT TO:<v@x>\r\nF\r\n";
	struct smtp_client_opts o = opts_default();
	struct smtp_client *c;

	start_server(100000, false);
	c = connect_ready(srv_port, &o);
	send_wait(c, "s@src.test", rcpt_ab, 1, in, strlen(in));
	ck_assert_int_eq(got.outcome, SMTP_SEND_DELIVERED);
	ck_assert_int_eq(seen_messages(), 1);
	ck_assert_str_eq(seen.body[0].data, want);
	ck_assert_int_eq(seen.rcpt_calls, 1);	/* nothing smuggled */
	smtp_client_close(&c);
	run_for(50);
	ck_assert_int_eq(seen_messages(), 1);
}
END_TEST

/* 998 octets pass; 999 are refused, not folded. Malformed addresses
 * are refused here. */
START_TEST(long_lines_and_addresses)
{
	static const char *const bad_rcpt[] = { "a@dest.test", "x>\r\nRSET@y" };
	struct smtp_client_opts o = opts_default();
	struct smtp_client *c;
	char line[1001];

	memset(line, 'a', sizeof(line));
	start_server(100000, false);
	c = connect_ready(srv_port, &o);
	send_wait(c, "s@src.test", rcpt_ab, 1, line, 999);
	ck_assert_int_eq(got.outcome, SMTP_SEND_REJECTED);
	ck_assert_int_eq(got.code / 100, 5);
	ck_assert_str_eq(got.text, "message has lines longer than 998 octets");
	send_wait(c, "s@src.test", rcpt_ab, 1, line, 998);
	ck_assert_int_eq(got.outcome, SMTP_SEND_DELIVERED);
	send_wait(c, "s@src.test", bad_rcpt, 2, msg_dots, strlen(msg_dots));
	ck_assert_int_eq(got.outcome, SMTP_SEND_DELIVERED);
	ck_assert_int_eq(got.rcpt_code[1], 553);
	send_wait(c, "s>@src.test", rcpt_ab, 1, msg_dots, strlen(msg_dots));
	ck_assert_int_eq(got.outcome, SMTP_SEND_REJECTED);
	ck_assert_int_eq(seen_messages(), 2);
	ck_assert_int_eq(seen.rcpt_calls, 2);
	/* Bad arguments are refused without a callback. */
	ck_assert_int_eq(smtp_client_send(c, "s@src.test", rcpt_ab, 0, "x", 1,
	    on_sent, &got), -1);
	smtp_client_close(&c);
	smtp_client_close(&c);	/* NULL is fine */
}
END_TEST

/* Close in the middle of a transaction: no callback, nothing leaks. */
START_TEST(close_mid_transaction)
{
	struct smtp_client_opts o = opts_default();
	struct smtp_client *c;

	start_server(100000, false);
	c = connect_ready(srv_port, &o);
	ck_assert_int_eq(smtp_client_send(c, "s@src.test", rcpt_ab, 2, msg_dots,
	    strlen(msg_dots), on_sent, &got), 0);
	smtp_client_close(&c);
	run_for(100);
	ck_assert_int_eq(got.sent_calls, 0);
	/* And while connecting. */
	struct sockaddr_in sa;
	uv_ip4_addr("127.0.0.1", srv_port, &sa);
	ck_assert_int_eq(smtp_client_connect(&loop, (struct sockaddr *)&sa, &o,
	    on_ready, &got, &c), 0);
	smtp_client_close(&c);
	run_for(100);
	ck_assert_int_eq(got.ready_calls, 1);
}
END_TEST

/* Close from inside on_sent: QUIT goes out, nothing is called again. */
START_TEST(close_in_callback)
{
	struct smtp_client_opts o = opts_default();
	struct smtp_client *c;

	start_server(100000, true);
	o.tls_ctx = client_tls;
	c = connect_ready(srv_port, &o);
	got.close_in_cb = &c;
	send_wait(c, "s@src.test", rcpt_ab, 2, msg_dots, strlen(msg_dots));
	ck_assert_ptr_null(c);
	ck_assert_int_eq(got.outcome, SMTP_SEND_DELIVERED);
	run_for(100);
	ck_assert_int_eq(got.sent_calls, 1);
	ck_assert_int_eq(srv->n_sessions, 0);	/* QUIT reached it */
}
END_TEST

/* ------------------------------------------------------------------ */
/* Against the misbehaving peer                                        */

/* "220 ready\r\n250 injected\r\n" in one segment: the injected line is
 * discarded, TLS goes on, and the capabilities are those of the EHLO
 * over TLS (SIZE 12345), never "250 injected" taken as its reply. */
START_TEST(starttls_injection_same_segment)
{
	struct smtp_client_opts o = opts_default();
	struct smtp_client *c;

	start_peer(PEER_INJECT);
	o.tls_ctx = client_tls;
	c = connect_ready(peer.port, &o);
	ck_assert(c->flags & SMTP_CF_TLS);
	ck_assert_uint_eq(c->caps.size_max, 12345);
	ck_assert(c->caps.flags & SMTP_CAP_PIPELINING);
	ck_assert(!(c->caps.flags & SMTP_CAP_STARTTLS));
	ck_assert_int_eq(peer.ehlo, 2);
	ck_assert_int_eq(peer.ehlo_tls, 1);
	smtp_client_close(&c);
	run_for(50);
	ck_assert(strstr(peer.lines.data, "QUIT") != NULL);
}
END_TEST

/* The injected line comes in a later segment, as plaintext, and the
 * peer never does TLS: the handshake fails cleanly (deferred). */
START_TEST(starttls_injection_later)
{
	struct smtp_client_opts o = opts_default();
	struct smtp_client *c;

	start_peer(PEER_INJECT_LATE);
	o.tls_ctx = client_tls;
	c = connect_to(peer.port, &o);
	ck_assert_int_eq(got.ready_status, -1);
	ck_assert_int_eq(got.ready_code, 421);
	ck_assert_str_eq(got.ready_enhanced, "4.7.5");
	ck_assert_msg(strstr(got.ready_text, "TLS") != NULL, "%s",
	    got.ready_text);
	ck_assert_int_eq(peer.ehlo, 1);
	ck_assert(!smtp_client_usable(c));
	ck_assert_int_eq(smtp_client_send(c, "s@src.test", rcpt_ab, 1, "x", 1,
	    on_sent, &got), -1);
	smtp_client_close(&c);
}
END_TEST

START_TEST(greeting_too_long)
{
	struct smtp_client_opts o = opts_default();
	struct smtp_client *c;

	start_peer(PEER_LONG_GREETING);
	c = connect_to(peer.port, &o);
	ck_assert_int_eq(got.ready_status, -1);
	ck_assert_int_eq(got.ready_code, 421);
	ck_assert_str_eq(got.ready_enhanced, "4.5.0");
	ck_assert(strstr(got.ready_text, "too long") != NULL);
	ck_assert_int_eq(peer.ehlo, 0);
	smtp_client_close(&c);
}
END_TEST

START_TEST(silent_greeting_timeout)
{
	struct smtp_client_opts o = opts_default();
	struct smtp_client *c;
	uint64_t t0 = uv_hrtime();

	start_peer(PEER_SILENT);
	o.greeting_timeout_ms = 200;
	c = connect_to(peer.port, &o);
	ck_assert_int_eq(got.ready_status, -1);
	ck_assert_int_eq(got.ready_code, 421);
	ck_assert_str_eq(got.ready_enhanced, "4.4.2");
	ck_assert(strstr(got.ready_text, "timeout") != NULL);
	ck_assert((uv_hrtime() - t0) / 1000000 >= 190);
	smtp_client_close(&c);
}
END_TEST

/* MAIL never answered: the command timeout defers the message. */
START_TEST(silent_mail_timeout)
{
	struct smtp_client_opts o = opts_default();
	struct smtp_client *c;

	start_peer(PEER_SILENT_MAIL);
	o.command_timeout_ms = 200;
	c = connect_ready(peer.port, &o);
	send_wait(c, "s@src.test", rcpt_ab, 2, msg_dots, strlen(msg_dots));
	ck_assert_int_eq(got.outcome, SMTP_SEND_DEFERRED);
	ck_assert_int_eq(got.code, 421);
	ck_assert_str_eq(got.enhanced, "4.4.2");
	ck_assert(strstr(got.text, "MAIL") != NULL);
	ck_assert_int_eq(got.rcpt_code[0], 421);
	ck_assert_int_eq(got.rcpt_code[1], 421);
	ck_assert(!smtp_client_usable(c));
	smtp_client_close(&c);
}
END_TEST

/* The server hangs up once the message starts: deferred. */
START_TEST(close_mid_data)
{
	struct smtp_client_opts o = opts_default();
	struct smtp_client *c;
	size_t n = 300 * 1000;
	char *m = xmalloc(n);

	memset(m, 'y', n);
	for (size_t i = 70; i < n; i += 72)
		m[i] = '\n';
	start_peer(PEER_CLOSE_IN_DATA);
	c = connect_ready(peer.port, &o);
	send_wait(c, "s@src.test", rcpt_ab, 2, m, n);
	ck_assert_int_eq(got.outcome, SMTP_SEND_DEFERRED);
	ck_assert_int_eq(got.code, 421);
	ck_assert_str_eq(got.enhanced, "4.4.2");
	ck_assert_int_eq(got.rcpt_code[0], 421);
	ck_assert_int_eq(peer.data_cmds, 1);
	ck_assert(!smtp_client_usable(c));
	smtp_client_close(&c);
	free(m);
}
END_TEST

/* A reply in the middle of the message: that reply decides. */
START_TEST(early_reply_in_data)
{
	struct smtp_client_opts o = opts_default();
	struct smtp_client *c;
	size_t n = 300 * 1000;
	char *m = xmalloc(n);

	memset(m, 'z', n);
	for (size_t i = 70; i < n; i += 72)
		m[i] = '\n';
	start_peer(PEER_EARLY_REPLY);
	c = connect_ready(peer.port, &o);
	send_wait(c, "s@src.test", rcpt_ab, 2, m, n);
	/* Whether it came during the message or as the reply to the dot
	 * (the kernel may have taken all of it by then), 554 decides. */
	ck_assert_int_eq(got.outcome, SMTP_SEND_REJECTED);
	ck_assert_int_eq(got.code, 554);
	smtp_client_close(&c);
	free(m);
}
END_TEST

/* AUTH offered in clear: with require_tls and without, no credentials
 * ever leave us; the connection fails with a 4xx. */
START_TEST(auth_needs_tls)
{
	for (int req = 0; req < 2; req++) {
		struct smtp_client_opts o = opts_default();
		struct smtp_client *c;

		memset(&got, 0, sizeof(got));
		stop_peer();
		memset(&peer, 0, sizeof(peer));
		start_peer(PEER_AUTH_NO_TLS);
		o.auth_user = "user";
		o.auth_pass = "secret";
		o.require_tls = req;
		c = connect_to(peer.port, &o);
		ck_assert_int_eq(got.ready_status, -1);
		ck_assert_int_eq(got.ready_code, 421);
		ck_assert_str_eq(got.ready_enhanced, "4.7.10");
		ck_assert_int_eq(peer.auth_lines, 0);
		ck_assert(!strstr(peer.lines.data, "AUTH"));
		ck_assert(!strstr(peer.lines.data, "dXNlcg"));	/* "user" */
		smtp_client_close(&c);
		run_for(20);
	}
}
END_TEST

/* AUTH PLAIN (and LOGIN when only that is offered) after STARTTLS. */
START_TEST(auth_over_tls)
{
	static const enum peer_mode modes[] = { PEER_AUTH_TLS,
	    PEER_AUTH_LOGIN_TLS };

	for (int i = 0; i < 2; i++) {
		struct smtp_client_opts o = opts_default();
		struct smtp_client *c;

		memset(&got, 0, sizeof(got));
		stop_peer();
		memset(&peer, 0, sizeof(peer));
		start_peer(modes[i]);
		o.tls_ctx = client_tls;
		o.require_tls = true;
		o.auth_user = "user";
		o.auth_pass = "secret";
		c = connect_ready(peer.port, &o);
		ck_assert_int_eq(peer.auth_lines, i == 0 ? 1 : 3);
		ck_assert_int_eq(peer.auth_lines_tls, peer.auth_lines);
		ck_assert_int_eq(peer.auth_ok, i == 0 ? 1 : 2);
		ck_assert_ptr_null(c->auth_user);	/* wiped after use */
		ck_assert_ptr_null(c->auth_pass);
		send_wait(c, "s@src.test", rcpt_ab, 1, msg_dots,
		    strlen(msg_dots));
		ck_assert_int_eq(got.outcome, SMTP_SEND_DELIVERED);
		ck_assert(got.tls);
		smtp_client_close(&c);
		run_for(20);
	}
}
END_TEST

/* EHLO refused with 502: HELO, no extensions, one command at a time. */
START_TEST(helo_fallback)
{
	struct smtp_client_opts o = opts_default();
	struct smtp_client *c;

	start_peer(PEER_NO_EHLO);
	c = connect_ready(peer.port, &o);
	ck_assert_uint_eq(c->caps.flags, 0);
	ck_assert(!(c->flags & SMTP_CF_EHLO));
	send_wait(c, "s@src.test", rcpt_ab, 2, msg_dots, strlen(msg_dots));
	ck_assert_int_eq(got.outcome, SMTP_SEND_DELIVERED);
	ck_assert(!c->last_tx.pipelined);
	ck_assert(strstr(peer.lines.data, "HELO client.test") != NULL);
	ck_assert(strstr(peer.lines.data, "SIZE=") == NULL);
	smtp_client_close(&c);
}
END_TEST

/* SMTPUTF8 needed but not offered: refused here; SIZE= is sent. */
START_TEST(smtputf8_not_offered)
{
	static const char *const utf8[] = { "j\xc3\xb6rg@dest.test" };
	struct smtp_client_opts o = opts_default();
	struct smtp_client *c;

	start_peer(PEER_PLAIN);
	c = connect_ready(peer.port, &o);
	send_wait(c, "s@src.test", utf8, 1, msg_dots, strlen(msg_dots));
	ck_assert_int_eq(got.outcome, SMTP_SEND_REJECTED);
	ck_assert_int_eq(got.code, 553);
	ck_assert_str_eq(got.enhanced, "5.6.7");
	ck_assert(c->last_tx.local);
	send_wait(c, "s@src.test", rcpt_ab, 1, msg_dots, strlen(msg_dots));
	ck_assert_int_eq(got.outcome, SMTP_SEND_DELIVERED);
	ck_assert(strstr(peer.lines.data,
	    "MAIL FROM:<s@src.test> SIZE=") != NULL);
	ck_assert(!strstr(peer.lines.data, "j\xc3\xb6rg"));
	smtp_client_close(&c);
}
END_TEST

/* Nothing listens: connect fails, deferred. */
START_TEST(connect_refused)
{
	struct smtp_client_opts o = opts_default();
	struct smtp_client *c;
	int port;

	start_peer(PEER_SILENT);
	port = peer.port;
	stop_peer();
	c = connect_to(port, &o);
	ck_assert_int_eq(got.ready_status, -1);
	ck_assert_int_eq(got.ready_code, 421);
	ck_assert_str_eq(got.ready_enhanced, "4.4.1");
	smtp_client_close(&c);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("smtp_client");
	TCase *units = tcase_create("tables");
	TCase *real = tcase_create("gentd");
	TCase *bad = tcase_create("misbehaving");
	SRunner *sr;
	int failed;

	tcase_add_test(units, body_table);
	tcase_add_test(units, body_scan);
	tcase_add_test(units, caps_table);
	suite_add_tcase(s, units);

	tcase_add_unchecked_fixture(real, unchecked_setup, unchecked_teardown);
	tcase_add_checked_fixture(real, setup, teardown);
	tcase_set_timeout(real, 60);
	tcase_add_test(real, deliver_two_rcpts);
	tcase_add_test(real, deliver_pipelined);
	tcase_add_test(real, deliver_starttls);
	tcase_add_test(real, deliver_large_tls);
	tcase_add_test(real, two_messages);
	tcase_add_test(real, one_rcpt_refused);
	tcase_add_test(real, all_rcpts_refused);
	tcase_add_test(real, message_deferred);
	tcase_add_test(real, size_too_big);
	tcase_add_test(real, normalise_smuggling);
	tcase_add_test(real, long_lines_and_addresses);
	tcase_add_test(real, close_mid_transaction);
	tcase_add_test(real, close_in_callback);
	suite_add_tcase(s, real);

	tcase_add_unchecked_fixture(bad, unchecked_setup, unchecked_teardown);
	tcase_add_checked_fixture(bad, setup, teardown);
	tcase_set_timeout(bad, 60);
	tcase_add_test(bad, starttls_injection_same_segment);
	tcase_add_test(bad, starttls_injection_later);
	tcase_add_test(bad, greeting_too_long);
	tcase_add_test(bad, silent_greeting_timeout);
	tcase_add_test(bad, silent_mail_timeout);
	tcase_add_test(bad, close_mid_data);
	tcase_add_test(bad, early_reply_in_data);
	tcase_add_test(bad, auth_needs_tls);
	tcase_add_test(bad, auth_over_tls);
	tcase_add_test(bad, helo_fallback);
	tcase_add_test(bad, smtputf8_not_offered);
	tcase_add_test(bad, connect_refused);
	suite_add_tcase(s, bad);

	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

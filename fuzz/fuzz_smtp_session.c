/*
 * fuzz_smtp_session.c - the whole SMTP engine (all of src/smtp/) over real
 * loopback sockets, the way a client reaches it: the line and DATA
 * readers, the command table and its state checks, pipelining, the
 * threadpool hooks, limits, STARTTLS (the plaintext-injection discard
 * and garbage fed to the TLS stream), replies, close and free.
 *
 * Once: a libuv loop, a certificate made on the fly (so STARTTLS is
 * offered), and smtp_server_start() on 127.0.0.1 at a port that was just
 * free (bind port 0, read it, close). Hooks take recipients ending in
 * "@fuzz.test" (250) and refuse the rest (550); every message gets 250
 * and is dropped. Limits are small so no input can hold the loop: 64 KiB
 * messages, 5 recipients, 10 errors, 200 ms command and DATA deadlines.
 *
 * Per input: connect, write the input, half-close, and run the loop
 * until the server has freed the session, reading and checking replies
 * as they come. The input goes in one write, or (chosen by a hash of the
 * input) in up to 16 chunks whose sizes come from the input; after each
 * chunk the loop runs until the server has read and processed all of it,
 * so every chunk really is a separate read on the server side.
 *
 * The half-close waits until the server is idle too: on EOF the session
 * closes at once, dropping pipelined commands still buffered behind a
 * running hook (the first RCPT of a batch would otherwise end every
 * input). Everything is bounded: at most FUZZ_MAX_ROUNDS poll rounds of
 * at most 5 ms per wait; a session still alive after the client has
 * fully closed and the deadlines have passed is reported as a hang.
 *
 * Oracle besides the sanitizers:
 *   - every reply line before STARTTLS's 220 is "NNN" + ' ' or '-' +
 *     text + CRLF, with a 2xx-5xx code and no CR or LF inside the text
 *     (RFC 5321 4.2 textstring);
 *   - the rcpt hook never sees an empty address;
 *   - the message hook sees 1..max_rcpts recipients, all "@fuzz.test"
 *     (refused ones are never in the envelope), and a body without lone
 *     CR or LF (the smuggling guarantee of RELIABILITY.md row 1-2);
 *   - the session is gone after the connection ends (no leak, no hang).
 *
 * Each input is one TCP connection, and the client closes first, so its
 * port waits in TIME_WAIT; Linux reuses those for loopback connections
 * (net.ipv4.tcp_tw_reuse = 2, the default), so long runs do not run out
 * of ports.
 *
 * Peeks at struct smtp_server / smtp_session (src/smtp/smtp_int.h) to
 * know when the server is idle and when our session is freed; tests may
 * reach module internals (STYLE.md 21).
 *
 * Environment: GENT_FUZZ_LOG=debug|info|warn|error (default error);
 * GENT_FUZZ_DEBUG=1 prints the replies.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gent/log.h"
#include "gent/smtp.h"
#include "gent/tls.h"
#include "gent/util.h"

#include "../src/smtp/smtp_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_HOSTNAME		"mx.fuzz.test"
#define FUZZ_DOMAIN		"@fuzz.test"
#define FUZZ_MAX_RCPTS		5
#define FUZZ_DEADLINE_MS	200
#define FUZZ_MAX_CHUNKS		16
#define FUZZ_MAX_ROUNDS		200	/* poll rounds per phase */
#define FUZZ_POLL_MS		5

static uv_loop_t fuzz_loop;
static struct smtp_server *fuzz_srv;
static int fuzz_port;
static bool fuzz_debug;

static _Noreturn void
fail(const char *what)
{
	fprintf(stderr, "fuzz_smtp_session: ORACLE: %s\n", what);
	abort();
}

static void
must(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_smtp_session: setup failed: %s (%s)\n",
		    what, strerror(errno));
		abort();
	}
}

/* ------------------------------------------------------------------ */
/* Hooks (threadpool threads)                                          */

static bool
ends_with_domain(const char *addr)
{
	size_t n = strlen(addr), d = strlen(FUZZ_DOMAIN);

	return n > d && strcasecmp(addr + n - d, FUZZ_DOMAIN) == 0;
}

static void
hook_rcpt(void *ctx, const struct smtp_envelope *env, const char *rcpt,
    char **cookie_r, struct smtp_reply *out)
{
	(void)ctx;
	(void)env;
	if (!rcpt || !*rcpt)
		fail("rcpt hook got an empty recipient");
	if (ends_with_domain(rcpt)) {
		*cookie_r = xstrdup("fuzz");
		smtp_reply_set(out, 250, "2.1.5 Ok");
	} else {
		smtp_reply_set(out, 550, "5.1.1 No such user");
	}
}

static void
hook_message(void *ctx, const struct smtp_envelope *env, const char *data,
    size_t len, struct smtp_reply *out)
{
	(void)ctx;
	if (env->n_rcpts == 0 || env->n_rcpts > FUZZ_MAX_RCPTS)
		fail("message hook: recipient count out of range");
	for (size_t i = 0; i < env->n_rcpts; i++)
		if (!ends_with_domain(env->rcpts[i].addr))
			fail("message hook: a refused recipient is in the envelope");
	if (!env->mail_from)
		fail("message hook: no MAIL FROM");
	for (size_t i = 0; i < len; i++) {
		if (data[i] == '\r' && (i + 1 == len || data[i + 1] != '\n'))
			fail("message hook: body has a lone CR");
		if (data[i] == '\n' && (i == 0 || data[i - 1] != '\r'))
			fail("message hook: body has a lone LF");
	}
	smtp_reply_set(out, 250, "2.0.0 Ok: queued as fuzz");
}

/* ------------------------------------------------------------------ */
/* One-time setup                                                      */

static char cert_dir[256];

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
make_tls_ctx(void)
{
	char cert[300], key[300], *err = NULL;
	EVP_PKEY *pkey = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *name;
	SSL_CTX *ctx;
	FILE *f;

	must(pkey && x, "key generation");
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600L * 24 * 365);
	X509_set_pubkey(x, pkey);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)FUZZ_HOSTNAME, -1, -1, 0);
	X509_set_issuer_name(x, name);
	must(X509_sign(x, pkey, EVP_sha256()) > 0, "X509_sign");

	snprintf(cert_dir, sizeof(cert_dir), "/tmp/gentd-fuzz-smtp-XXXXXX");
	must(mkdtemp(cert_dir) != NULL, "mkdtemp");
	snprintf(cert, sizeof(cert), "%s/cert.pem", cert_dir);
	snprintf(key, sizeof(key), "%s/key.pem", cert_dir);
	must((f = fopen(cert, "w")) != NULL, "cert.pem");
	must(PEM_write_X509(f, x) == 1, "PEM_write_X509");
	fclose(f);
	must((f = fopen(key, "w")) != NULL, "key.pem");
	must(PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL) == 1,
	    "PEM_write_PrivateKey");
	fclose(f);
	ctx = tls_server_ctx(cert, key, &err);
	if (!ctx) {
		fprintf(stderr, "fuzz_smtp_session: %s\n", err);
		abort();
	}
	nftw(cert_dir, rm_entry, 4, FTW_DEPTH | FTW_PHYS);
	X509_free(x);
	EVP_PKEY_free(pkey);
	return ctx;
}

/* A port that was free a moment ago: bind 127.0.0.1:0 and read it. */
static int
free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	must(fd >= 0, "socket");
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	must(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "bind port 0");
	must(getsockname(fd, (struct sockaddr *)&sa, &len) == 0, "getsockname");
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

static void
fuzz_setup(void)
{
	const char *lvl = getenv("GENT_FUZZ_LOG");
	struct smtp_limits limits = {
		.max_message = 64 * 1024,
		.max_rcpts = FUZZ_MAX_RCPTS,
		.max_errors = 10,
		.max_connections = 1000,
		.max_per_ip = 1000,
		.command_timeout_ms = FUZZ_DEADLINE_MS,
		.data_timeout_ms = FUZZ_DEADLINE_MS,
	};
	struct smtp_hooks hooks = { .rcpt = hook_rcpt, .message = hook_message };
	SSL_CTX *tls;
	int level = lvl ? log_level_parse(lvl) : -1;

	log_set_level(level >= 0 ? (enum log_level)level : LOG_ERROR);
	fuzz_debug = getenv("GENT_FUZZ_DEBUG") && *getenv("GENT_FUZZ_DEBUG") == '1';
	must(uv_loop_init(&fuzz_loop) == 0, "uv_loop_init");
	tls = make_tls_ctx();
	for (int tries = 0; ; tries++) {
		char addr[64], *err = NULL;

		fuzz_port = free_port();
		snprintf(addr, sizeof(addr), "127.0.0.1:%d", fuzz_port);
		if (smtp_server_start(&fuzz_srv, &fuzz_loop, addr, FUZZ_HOSTNAME,
		    &limits, &hooks, tls, &err) == 0)
			break;
		/* Someone took the port in between: try another one. */
		fprintf(stderr, "fuzz_smtp_session: %s\n", err);
		free(err);
		uv_run(&fuzz_loop, UV_RUN_NOWAIT);	/* close the listener */
		smtp_server_free(&fuzz_srv);
		must(tries < 10, "smtp_server_start");
	}
}

/* ------------------------------------------------------------------ */
/* The client side                                                     */

struct client {
	int		 fd;
	uint64_t	 session_id;	/* the server's id for our connection */
	struct buf	 replies;	/* unchecked tail of the reply stream */
	bool		 tls;		/* STARTTLS accepted: no more checks */
	bool		 eof;		/* the server closed its side */
};

static struct smtp_session *
our_session(const struct client *c)
{
	for (struct smtp_session *s = fuzz_srv->sessions; s; s = s->next)
		if (s->id == c->session_id)
			return s;
	return NULL;
}

/* Whole reply lines are checked and dropped; a partial one waits. */
static void
check_replies(struct client *c)
{
	char *nl;

	while (!c->tls && c->replies.len &&
	    (nl = memchr(c->replies.data, '\n', c->replies.len))) {
		const char *l = c->replies.data;
		size_t n = (size_t)(nl - l) + 1;

		if (fuzz_debug)
			fprintf(stderr, "S: %.*s", (int)n, l);
		if (n < 6 || l[0] < '2' || l[0] > '5' || l[1] < '0' || l[1] > '9' ||
		    l[2] < '0' || l[2] > '9' || (l[3] != ' ' && l[3] != '-') ||
		    l[n - 2] != '\r')
			fail("malformed reply line");
		if (memchr(l, '\r', n - 2))
			fail("reply text contains a CR");
		if (strncmp(l, "220 2.0.0 Ready to start TLS\r\n", n) == 0)
			c->tls = true;
		buf_consume(&c->replies, n);
	}
	if (c->tls && c->replies.len)
		buf_consume(&c->replies, c->replies.len);
}

static void
drain_client(struct client *c)
{
	char tmp[16384];
	ssize_t n;

	while (c->fd >= 0 && !c->eof) {
		n = recv(c->fd, tmp, sizeof(tmp), MSG_DONTWAIT);
		if (n > 0) {
			buf_append(&c->replies, tmp, (size_t)n);
			continue;
		}
		if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR))
			c->eof = true;
		break;
	}
	check_replies(c);
}

/* Nothing left for the server to do with what it was sent. */
static bool
server_idle(const struct client *c)
{
	struct smtp_session *s = our_session(c);
	uv_os_fd_t fd;
	int unread = 0;

	if (!s)
		return true;
	if (s->closing || s->state == SMTP_S_CLOSING)
		return true;	/* it is on its way out */
	if ((s->flags & SMTP_SF_BUSY) || s->in.len || s->out.len || s->writing)
		return false;
	if (uv_fileno((const uv_handle_t *)&s->tcp, &fd) == 0 &&
	    ioctl(fd, FIONREAD, &unread) == 0 && unread > 0)
		return false;
	return true;
}

static bool
session_gone(const struct client *c)
{
	return our_session(c) == NULL;
}

/* Run the loop and read replies until done(c) or the round limit. */
static bool
pump(struct client *c, bool (*done)(const struct client *), int rounds)
{
	for (int i = 0; i < rounds; i++) {
		struct pollfd p[2] = {
			{ .fd = uv_backend_fd(&fuzz_loop), .events = POLLIN },
			{ .fd = c->fd, .events = POLLIN },
		};
		int t;

		uv_run(&fuzz_loop, UV_RUN_NOWAIT);
		drain_client(c);
		if (done(c))
			return true;
		t = uv_backend_timeout(&fuzz_loop);
		if (t < 0 || t > FUZZ_POLL_MS)
			t = FUZZ_POLL_MS;
		poll(p, c->fd >= 0 && !c->eof ? 2 : 1, t);
	}
	return done(c);
}

static bool
accepted(const struct client *c)
{
	return fuzz_srv->next_id >= c->session_id;
}

static void
send_all(struct client *c, const uint8_t *p, size_t n)
{
	while (n > 0 && !c->eof) {
		ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
		} else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == EINTR)) {
			/* The server is not reading (buffers full): let it. */
			if (!pump(c, server_idle, 1) && session_gone(c))
				break;
		} else {
			break;	/* EPIPE/ECONNRESET: the server hung up */
		}
	}
}

static uint32_t
fnv1a(const uint8_t *p, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct client c = { .fd = -1 };
	bool chunked = size > 1 && (fnv1a(data, size) & 1);
	size_t pos = 0, k = 0;

	if (!fuzz_srv)
		fuzz_setup();
	sa.sin_port = htons((uint16_t)fuzz_port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c.session_id = fuzz_srv->next_id + 1;
	c.fd = socket(AF_INET, SOCK_STREAM, 0);
	must(c.fd >= 0, "client socket");
	must(connect(c.fd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "connect");
	if (!pump(&c, accepted, FUZZ_MAX_ROUNDS))
		fail("the server did not accept the connection");

	for (int chunk = 0; pos < size && !c.eof && !session_gone(&c); chunk++) {
		size_t n = size - pos;

		if (chunked && chunk < FUZZ_MAX_CHUNKS - 1) {
			n = (size_t)data[k++ % size] * 4 + 1;	/* 1..1021 */
			if (n > size - pos)
				n = size - pos;
		}
		send_all(&c, data + pos, n);
		pos += n;
		pump(&c, server_idle, FUZZ_MAX_ROUNDS);
	}

	/* Half-close: the server sees EOF and must close and free. */
	shutdown(c.fd, SHUT_WR);
	if (!pump(&c, session_gone, FUZZ_MAX_ROUNDS)) {
		/* Not even EOF got through: drop the connection entirely,
		 * then give the deadlines time to fire. */
		close(c.fd);
		c.fd = -1;
		if (!pump(&c, session_gone, 4 * FUZZ_DEADLINE_MS / FUZZ_POLL_MS))
			fail("the session outlived its connection and deadlines");
	}
	if (c.fd >= 0)
		close(c.fd);
	buf_free(&c.replies);
	return 0;
}

/*
 * tls.c - OpenSSL with memory BIOs for the event loop.
 *
 * Server contexts load the certificate and key, at start-up directly and
 * on reload on the libuv threadpool (tls_server_ctx_load); client
 * contexts are for opportunistic outbound SMTP and verify nothing. A
 * stream never touches a socket: the caller moves ciphertext in and out.
 * Contexts are reference counted by OpenSSL: every SSL made from one
 * holds a reference, so a replaced context lives until its last stream.
 */
#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gent/tls.h"

/* "TLS: <path>: <what>: <OpenSSL's reason>"; clears this thread's queue. */
static char *
load_error(const char *what, const char *path)
{
	unsigned long e = ERR_get_error();
	char err[256];

	/* Loading a key already checks it against the certificate. */
	if (ERR_GET_LIB(e) == ERR_LIB_X509 &&
	    (ERR_GET_REASON(e) == X509_R_KEY_VALUES_MISMATCH ||
	    ERR_GET_REASON(e) == X509_R_KEY_TYPE_MISMATCH))
		what = "the key does not match the certificate";
	ERR_error_string_n(e, err, sizeof(err));
	ERR_clear_error();
	return xasprintf("TLS: %s: %s: %s", path, what, err);
}

SSL_CTX *
tls_server_ctx(const char *cert_path, const char *key_path, char **error_r)
{
	SSL_CTX *ctx;

	/* The first queued error must be ours (the reason we report), also
	 * on a threadpool thread whose queue others may have left dirty. */
	ERR_clear_error();
	if (!(ctx = SSL_CTX_new(TLS_server_method()))) {
		*error_r = xasprintf("TLS: cannot create context");
		ERR_clear_error();
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert_path) != 1)
		*error_r = load_error("cannot load the certificate", cert_path);
	else if (SSL_CTX_use_PrivateKey_file(ctx, key_path, SSL_FILETYPE_PEM) != 1)
		*error_r = load_error("cannot load the key", key_path);
	else if (SSL_CTX_check_private_key(ctx) != 1)
		*error_r = load_error("the key does not match the certificate",
		    key_path);
	else
		return ctx;
	SSL_CTX_free(ctx);
	return NULL;
}

/* One reload: the request, the paths it reads and what it found. */
struct tls_load {
	uv_work_t	 work;
	char		*cert_path;
	char		*key_path;
	SSL_CTX		*ctx;		/* result; NULL when loading failed */
	char		*error;		/* set when ctx is NULL */
	tls_load_cb	 done;
	void		*arg;
};

/* Threadpool: file I/O and PEM parsing, nothing shared with the loop. */
static void
load_work(uv_work_t *w)
{
	struct tls_load *l = w->data;

	l->ctx = tls_server_ctx(l->cert_path, l->key_path, &l->error);
}

static void
load_after(uv_work_t *w, int status)
{
	struct tls_load *l = w->data;

	if (status == UV_ECANCELED && !l->ctx && !l->error)
		l->error = xasprintf("TLS: reload cancelled");
	l->done(l->arg, l->ctx, l->error);	/* l->ctx is the callee's now */
	free(l->error);
	free(l->cert_path);
	free(l->key_path);
	free(l);
}

int
tls_server_ctx_load(uv_loop_t *loop, const char *cert_path,
    const char *key_path, tls_load_cb done, void *arg)
{
	struct tls_load *l = xcalloc(1, sizeof(*l));
	int rc;

	l->cert_path = xstrdup(cert_path);
	l->key_path = xstrdup(key_path);
	l->done = done;
	l->arg = arg;
	l->work.data = l;
	if ((rc = uv_queue_work(loop, &l->work, load_work, load_after)) != 0) {
		free(l->cert_path);
		free(l->key_path);
		free(l);
	}
	return rc;
}

void
tls_ctx_describe(SSL_CTX *ctx, char *buf, size_t size)
{
	X509 *x = ctx ? SSL_CTX_get0_certificate(ctx) : NULL;
	BIO *b;
	struct tm tm;
	char when[32] = "?";
	char *subject = NULL;
	long n;

	if (!x || !(b = BIO_new(BIO_s_mem()))) {
		snprintf(buf, size, "subject=? not_after=?");
		return;
	}
	if (X509_NAME_print_ex(b, X509_get_subject_name(x), 0,
	    XN_FLAG_RFC2253) < 0)
		(void)BIO_reset(b);
	n = BIO_get_mem_data(b, &subject);
	if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1)
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(buf, size, "subject=\"%.*s\" not_after=%s",
	    (int)(n > 0 ? n : 0), n > 0 ? subject : "", when);
	BIO_free(b);
	ERR_clear_error();
}

/*
 * Opportunistic TLS for MX delivery (RFC 7435; RFC 3207 4.1): an MX
 * host's certificate is checked by no one in practice (self-signed and
 * mismatched names are common), and refusing it would only push the
 * message to plaintext, which is worse. So the handshake encrypts
 * against passive eavesdroppers and nothing more; authenticated delivery
 * (DANE, MTA-STS) would need a separate, verifying context.
 */
SSL_CTX *
tls_client_ctx(char **error_r)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (!ctx) {
		*error_r = xasprintf("TLS: cannot create client context");
		return NULL;
	}
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
		*error_r = xasprintf("TLS: cannot require TLS 1.2");
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	return ctx;
}

static int
stream_init(struct tls_stream *t, SSL_CTX *ctx)
{
	memset(t, 0, sizeof(*t));
	if (!(t->ssl = SSL_new(ctx)))
		return -1;
	t->rbio = BIO_new(BIO_s_mem());
	t->wbio = BIO_new(BIO_s_mem());
	if (!t->rbio || !t->wbio) {
		BIO_free(t->rbio);
		BIO_free(t->wbio);
		SSL_free(t->ssl);
		t->ssl = NULL;
		return -1;
	}
	SSL_set_bio(t->ssl, t->rbio, t->wbio);	/* SSL owns them now */
	return 0;
}

int
tls_stream_init(struct tls_stream *t, SSL_CTX *ctx)
{
	if (stream_init(t, ctx) != 0)
		return -1;
	SSL_set_accept_state(t->ssl);
	return 0;
}

/* An IPv4 or IPv6 literal, which SNI must not carry. */
static bool
is_ip_literal(const char *name)
{
	unsigned char a[16];

	return inet_pton(AF_INET, name, a) == 1 ||
	    inet_pton(AF_INET6, name, a) == 1;
}

int
tls_stream_init_client(struct tls_stream *t, SSL_CTX *ctx, const char *sni_name)
{
	char name[256];
	size_t n = sni_name ? strlen(sni_name) : 0;

	if (stream_init(t, ctx) != 0)
		return -1;
	SSL_set_connect_state(t->ssl);
	/* RFC 6066 3: a host name without the trailing dot; no literals. */
	if (n > 0 && sni_name[n - 1] == '.')
		n--;
	if (n == 0 || n >= sizeof(name))
		return 0;
	memcpy(name, sni_name, n);
	name[n] = '\0';
	if (!is_ip_literal(name) &&
	    SSL_set_tlsext_host_name(t->ssl, name) != 1) {
		tls_stream_free(t);
		return -1;
	}
	return 0;
}

int
tls_stream_feed(struct tls_stream *t, const char *in, size_t len,
    struct buf *plain)
{
	char chunk[16384];
	int n;

	if (t->failed)
		return -1;
	if (len && BIO_write(t->rbio, in, (int)len) != (int)len) {
		t->failed = true;
		return -1;
	}
	for (;;) {
		n = SSL_read(t->ssl, chunk, sizeof(chunk));
		if (n > 0) {
			buf_append(plain, chunk, (size_t)n);
			continue;
		}
		int e = SSL_get_error(t->ssl, n);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
			return 0;
		if (e == SSL_ERROR_ZERO_RETURN)
			return 0;	/* close_notify; the socket close follows */
		ERR_clear_error();
		t->failed = true;
		return -1;
	}
}

int
tls_stream_write(struct tls_stream *t, const char *data, size_t len)
{
	while (len > 0) {
		int n = SSL_write(t->ssl, data, (int)len);
		if (n <= 0) {
			ERR_clear_error();
			t->failed = true;
			return -1;
		}
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

void
tls_stream_take_output(struct tls_stream *t, struct buf *out)
{
	char chunk[16384];
	int n;

	while ((n = BIO_read(t->wbio, chunk, sizeof(chunk))) > 0)
		buf_append(out, chunk, (size_t)n);
}

bool
tls_stream_ready(const struct tls_stream *t)
{
	return t->ssl && SSL_is_init_finished(t->ssl);
}

void
tls_stream_free(struct tls_stream *t)
{
	SSL_free(t->ssl);	/* frees both BIOs */
	memset(t, 0, sizeof(*t));
}

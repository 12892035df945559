/*
 * tls.c - OpenSSL with memory BIOs for the event loop.
 *
 * Server contexts load the certificate and key; client contexts are for
 * opportunistic outbound SMTP and verify nothing. A stream never touches
 * a socket: the caller moves ciphertext in and out.
 */
#include <arpa/inet.h>
#include <openssl/err.h>
#include <string.h>

#include "gent/tls.h"

SSL_CTX *
tls_server_ctx(const char *cert_path, const char *key_path, char **error_r)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	char err[256];

	if (!ctx) {
		*error_r = xasprintf("TLS: cannot create context");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert_path) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key_path, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		ERR_error_string_n(ERR_get_error(), err, sizeof(err));
		*error_r = xasprintf("TLS: %s / %s: %s", cert_path, key_path, err);
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
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

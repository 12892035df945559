/*
 * tls.h - TLS over memory BIOs, so a libuv stream can carry it: bytes from
 * the socket go in with tls_stream_feed(), plaintext comes out; plaintext
 * to send goes in with tls_stream_write(), ciphertext comes out with
 * tls_stream_take_output().
 */
#ifndef GENT_TLS_H
#define GENT_TLS_H

#include <openssl/ssl.h>
#include <stdbool.h>

#include "gent/util.h"

/** A server context: TLS 1.2 or later, the given PEM certificate and key. */
SSL_CTX *tls_server_ctx(const char *cert_path, const char *key_path,
    char **error_r);

struct tls_stream {
	SSL	*ssl;
	BIO	*rbio;		/* network -> SSL */
	BIO	*wbio;		/* SSL -> network */
	bool	 failed;
};

/** Start a server-side stream. */
int tls_stream_init(struct tls_stream *t, SSL_CTX *ctx);
/**
 * Feed ciphertext; decrypted bytes are appended to plain. Returns 0, or
 * -1 when the peer broke the protocol (the stream is then dead).
 */
int tls_stream_feed(struct tls_stream *t, const char *in, size_t len,
    struct buf *plain);
/** Encrypt plaintext (after the handshake). 0 or -1. */
int tls_stream_write(struct tls_stream *t, const char *data, size_t len);
/** Move pending ciphertext into out. */
void tls_stream_take_output(struct tls_stream *t, struct buf *out);
/** True once the handshake has completed. */
bool tls_stream_ready(const struct tls_stream *t);
void tls_stream_free(struct tls_stream *t);

#endif

/*
 * tls.h - TLS over memory BIOs, so a libuv stream can carry it: bytes from
 * the socket go in with tls_stream_feed(), plaintext comes out; plaintext
 * to send goes in with tls_stream_write(), ciphertext comes out with
 * tls_stream_take_output().
 *
 * Both sides: the SMTP server accepts (tls_server_ctx, tls_stream_init),
 * the relay's SMTP client connects (tls_client_ctx,
 * tls_stream_init_client). A context is shared by all streams made from
 * it; a stream belongs to one connection.
 */
#ifndef GENT_TLS_H
#define GENT_TLS_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <uv.h>

#include "gent/util.h"

/**
 * A server context: TLS 1.2 or later, the given PEM certificate (chain)
 * and key. NULL with *error_r (malloc'd; says which file and what is
 * wrong: unreadable, bad PEM, key not matching the certificate) on failure.
 */
SSL_CTX *tls_server_ctx(const char *cert_path, const char *key_path,
    char **error_r);

/**
 * Called on the loop thread when tls_server_ctx_load() is done: ctx is
 * the new context (the callee owns the reference), or NULL and error
 * says why (valid during the call only).
 */
typedef void (*tls_load_cb)(void *arg, SSL_CTX *ctx, const char *error);

/**
 * tls_server_ctx() on the libuv threadpool, so reading the files never
 * blocks the loop; done runs on the loop afterwards. The paths are
 * copied. 0, or a negative libuv error when the job cannot be queued
 * (done is then never called).
 */
int tls_server_ctx_load(uv_loop_t *loop, const char *cert_path,
    const char *key_path, tls_load_cb done, void *arg);

/**
 * Describe the context's certificate for a log line:
 * subject="CN=mx.example" not_after=2026-01-31T12:00:00Z.
 */
void tls_ctx_describe(SSL_CTX *ctx, char *buf, size_t size);

/**
 * A client context for outbound SMTP: TLS 1.2 or later, no
 * renegotiation, and no certificate verification (see tls.c for why).
 * NULL with *error_r (malloc'd) on failure.
 */
SSL_CTX *tls_client_ctx(char **error_r);

struct tls_stream {
	SSL	*ssl;
	BIO	*rbio;		/* network -> SSL */
	BIO	*wbio;		/* SSL -> network */
	bool	 failed;
};

/** Start a server-side stream. 0 or -1. */
int tls_stream_init(struct tls_stream *t, SSL_CTX *ctx);
/**
 * Start a client-side stream. sni_name (may be NULL) is sent as the
 * server name indication unless it is an IP address literal (RFC 6066
 * 3 allows host names only). The client speaks first: call
 * tls_stream_feed(t, NULL, 0, plain) and send tls_stream_take_output()
 * to start the handshake. 0 or -1.
 */
int tls_stream_init_client(struct tls_stream *t, SSL_CTX *ctx,
    const char *sni_name);
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
/** Free the stream (both BIOs with it); a zeroed stream is fine. */
void tls_stream_free(struct tls_stream *t);

#endif

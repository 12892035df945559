/*
 * webhook.h - webhook signatures (webhook_sign.c) and the delivery engine
 * (webhook_http.c).
 *
 * Signing is pure: given a secret, an event id, a timestamp and the raw
 * body it fills the header values a receiver verifies. The engine makes
 * one HTTP POST per webhook_http_post() with libcurl's multi interface on
 * the caller's libuv loop and never blocks it. It refuses, at connect
 * time, any address webhook_addr_is_private() flags, so a public name
 * that resolves to 127.0.0.1 or 169.254.169.254 is never reached. It
 * does not retry: retries and backoff belong to the caller.
 */
#ifndef GENT_WEBHOOK_H
#define GENT_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/* --- signatures (webhook_sign.c) --- */

#define WEBHOOK_SIGN_ID_MAX	128	/* webhook-id bytes */
#define WEBHOOK_SIGN_SECRET_MAX	512	/* secret bytes, "whsec_" included */
#define WEBHOOK_SIGN_NLINES	4	/* header lines webhook_sign() fills */
#define WEBHOOK_SIGN_LINE_MAX	(WEBHOOK_SIGN_ID_MAX + 64)

/* Header values for one delivery; all NUL-terminated. */
struct webhook_signature {
	char	gent[65];		/* X-Gent-Signature: lowercase hex */
	char	id[WEBHOOK_SIGN_ID_MAX + 1];	/* webhook-id */
	char	timestamp[24];		/* webhook-timestamp: unix seconds */
	char	v1[48];			/* webhook-signature: "v1,<base64>" */
	/* The same four as "Name: value" lines, ready for
	 * webhook_request.headers (point a const char *[] at them). */
	char	lines[WEBHOOK_SIGN_NLINES][WEBHOOK_SIGN_LINE_MAX];
};

/**
 * Hex HMAC-SHA256 of body keyed with the secret's bytes as given
 * (X-Gent-Signature). out receives 64 hex digits and a NUL.
 */
void webhook_sign_gent(const char *secret, const void *body, size_t body_len,
    char out[65]);

/**
 * Standard Webhooks v1 signature: "v1," and the padded base64 of
 * HMAC-SHA256 over "<id>.<timestamp>.<body>". A secret starting with
 * "whsec_" is keyed with the base64-decoded rest, any other secret with
 * its bytes. 0, or -1 with *error_r (static) for a bad whsec_ secret.
 * out must hold 48 bytes.
 */
int webhook_sign_v1(const char *secret, const char *id, int64_t timestamp,
    const void *body, size_t body_len, char out[48], const char **error_r);

/**
 * Fill every signature header of one delivery into *sig. id must be
 * 1..WEBHOOK_SIGN_ID_MAX printable ASCII bytes without spaces and the
 * secret non-empty and at most WEBHOOK_SIGN_SECRET_MAX bytes. 0, or -1
 * with *error_r (static). The secret is never logged.
 */
int webhook_sign(struct webhook_signature *sig, const char *secret,
    const char *id, int64_t timestamp, const void *body, size_t body_len,
    const char **error_r);

/* --- delivery (webhook_http.c) --- */

#define WEBHOOK_HTTP_MAX_ACTIVE		64	/* transfers at once */
#define WEBHOOK_HTTP_MAX_QUEUED		10000	/* beyond this, post fails */
#define WEBHOOK_HTTP_MAX_HEADERS	16	/* extra request headers */
#define WEBHOOK_HTTP_HEADER_MAX		1024	/* bytes per header line */
#define WEBHOOK_HTTP_BODY_MAX		(1024 * 1024)	/* request body */
#define WEBHOOK_HTTP_RESPONSE_MAX	(64 * 1024)	/* bytes read */
#define WEBHOOK_HTTP_TIMEOUT_MS		10000	/* default, whole request */
#define WEBHOOK_HTTP_TIMEOUT_MAX_MS	60000

struct webhook_http;	/* one per loop; opaque */

/* One POST. webhook_http_post() copies everything it needs. */
struct webhook_request {
	const char		*url;		/* http or https */
	const char		*body;		/* JSON, sent as is */
	size_t			 body_len;
	const char *const	*headers;	/* "Name: value" lines */
	size_t			 n_headers;
	uint64_t		 timeout_ms;	/* whole request; 0 = default,
						 * at most ..._TIMEOUT_MAX_MS */
	const char		*resolve;	/* NULL, or "host:port:addr[,addr]"
						 * (CURLOPT_RESOLVE): the addresses
						 * gentd's resolver found, so curl
						 * asks no other DNS; the connect-time
						 * policy still applies */
};

enum webhook_status {
	WEBHOOK_DELIVERED,	/* 2xx */
	WEBHOOK_HTTP_ERROR,	/* any other status, 3xx included */
	WEBHOOK_NETWORK_ERROR,	/* DNS, connect, TLS, timeout, reset */
	WEBHOOK_REFUSED,	/* URL or connect-time address policy */
	WEBHOOK_CANCELLED,	/* webhook_http_stop() with it pending */
};

struct webhook_result {
	enum webhook_status	 status;
	long			 http_code;	/* 0 without a response */
	char			 error[256];	/* "" when delivered */
	char			 connected_ip[64];	/* "" if none */
	uint64_t		 elapsed_ms;	/* post to completion */
};

/* Called exactly once per accepted post, on the loop thread, never from
 * inside webhook_http_post(). r is valid only during the call. arg is
 * the caller's; pass an id to look the owner up (STYLE.md 16) when the
 * owner can die first. */
typedef void (*webhook_done_cb)(const struct webhook_result *r, void *arg);

/** Short name of a status ("delivered", "http-error", ...). */
const char *webhook_status_name(enum webhook_status status);

/**
 * Create the engine on loop. With allow_private (config
 * webhook_allow_private, for tests and private networks) plain http and
 * private addresses are allowed; otherwise only https and public
 * addresses. Proxy environment variables are ignored. 0, or -1 with
 * *error_r (xasprintf'd; the caller frees it).
 */
int webhook_http_start(struct webhook_http **h_r, uv_loop_t *loop,
    bool allow_private, char **error_r);

/**
 * Cancel every pending post (each callback runs now with
 * WEBHOOK_CANCELLED), close the handles and set *hp to NULL. The memory
 * goes when the loop has run the close callbacks. Accepts NULL and a
 * NULL *hp. Callbacks that run meanwhile cannot post again.
 */
void webhook_http_stop(struct webhook_http **hp);

/**
 * Queue one POST (Content-Type: application/json, User-Agent
 * gentd-webhooks, no redirects followed, response read up to
 * WEBHOOK_HTTP_RESPONSE_MAX and discarded). 0 when accepted: done will
 * be called once, later, even for a URL the policy refuses. -1, and done
 * never called, when the engine is stopping, the queue is full or the
 * request is malformed (body over WEBHOOK_HTTP_BODY_MAX, too many or
 * too long headers, CR or LF in a header).
 */
int webhook_http_post(struct webhook_http *h, const struct webhook_request *req,
    webhook_done_cb done, void *arg);

/**
 * Tests only: pin "name:port:address" (libcurl CURLOPT_RESOLVE syntax)
 * for later posts, so a test can make a public-looking name resolve to
 * loopback without DNS. The connect-time policy still applies.
 */
void webhook_http_set_resolve(struct webhook_http *h, const char *entry);

/** Posts accepted and not yet completed (active and queued). */
size_t webhook_http_pending(const struct webhook_http *h);

#endif

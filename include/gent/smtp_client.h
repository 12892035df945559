/*
 * smtp_client.h - the relay's outbound SMTP client (RFC 5321) on the
 * libuv loop: one connection to one server, any number of transactions
 * on it, one at a time. Nothing here blocks the loop.
 *
 * Life of a connection: smtp_client_connect() connects, reads the
 * greeting, says EHLO (HELO when EHLO gets a 5xx), does STARTTLS when
 * the server offers it and a TLS context is set (then EHLO again, and
 * only that second capability list counts), AUTH when configured (over
 * TLS only), and calls on_ready. Then smtp_client_send() runs a
 * transaction and calls on_sent once with the result; the connection is
 * usable again after it unless it failed. smtp_client_close() ends it.
 *
 * Ownership: the caller owns the struct smtp_client from connect to
 * smtp_client_close(), which it must call in every case, also after a
 * failure was reported (the memory is freed once libuv has closed the
 * handles). Replies and results passed to callbacks are valid only
 * during the callback. Callbacks are never called from inside
 * smtp_client_connect(), smtp_client_send() or smtp_client_close(), and
 * never after smtp_client_close() returned; a callback may call
 * smtp_client_send() or smtp_client_close().
 *
 * Failures that are not a server's reply (timeouts, connection loss, a
 * reply over the parser's limits, a TLS error, TLS required but not
 * offered) are reported as a synthetic 421 reply with a 4.x.x enhanced
 * code and a text saying what happened, so the caller defers the mail.
 * Refusals made here before anything is sent (size over the server's
 * SIZE, an over-long line, SMTPUTF8 needed but not offered, a malformed
 * address) are synthetic 5xx replies. AUTH credentials are never
 * logged.
 */
#ifndef GENT_SMTP_CLIENT_H
#define GENT_SMTP_CLIENT_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/** Most recipients one smtp_client_send() takes. */
#define SMTP_CLIENT_MAX_RCPTS 1000

struct smtp_client;	/* one connection to one server */

struct smtp_client_opts {
	const char	*helo_name;	/* EHLO argument: our host name */
	const char	*server_name;	/* the MX host name: SNI and logs; may
					 * be NULL (the address is logged) */
	SSL_CTX		*tls_ctx;	/* NULL = never STARTTLS; referenced
					 * (SSL_CTX_up_ref) while connected */
	bool		 require_tls;	/* fail rather than send in clear
					 * (a smarthost with AUTH) */
	bool		 avoid_pipelining;	/* one command per round trip
					 * even when PIPELINING is offered
					 * (broken servers; tests) */
	const char	*auth_user;	/* AUTH PLAIN, or LOGIN if only that
					 * is offered; only after TLS; NULL =
					 * no AUTH. Copied; wiped after use */
	const char	*auth_pass;	/* the password for auth_user */
	/* Timeouts; 0 = the default. Defaults follow RFC 5321 4.5.3.2. */
	uint64_t	 connect_timeout_ms;	/* TCP connect; default 30 s */
	uint64_t	 greeting_timeout_ms;	/* the 220; default 5 min */
	uint64_t	 command_timeout_ms;	/* each reply to EHLO, HELO,
					 * STARTTLS (and the handshake),
					 * AUTH, MAIL, RCPT, DATA, RSET;
					 * default 5 min, 2 min for DATA */
	uint64_t	 data_timeout_ms;	/* each block of the message
					 * to be taken by the kernel, and
					 * the reply after the final dot;
					 * default 3 min per block, 10 min
					 * for the dot */
};

struct smtp_client_reply {
	int		 code;		/* 250, 451, 550, ...; 421 synthetic */
	char		 enhanced[16];	/* "2.1.0" (RFC 3463), or "" */
	char		*text;		/* all lines joined with "\n", reply
					 * and enhanced codes stripped, control
					 * characters made '?'; never NULL */
};

struct smtp_rcpt_result {
	const char			*rcpt;	/* the address as given */
	struct smtp_client_reply	 reply;	/* its RCPT reply, or for an
						 * accepted one the reply that
						 * ended the transaction (after
						 * the dot, or to DATA, or the
						 * synthetic 421); when MAIL
						 * failed: the MAIL reply */
};

enum smtp_send_outcome {
	SMTP_SEND_DELIVERED,	/* 2xx after the dot for >= 1 recipient; the
				 * others have their own (refusing) replies */
	SMTP_SEND_REJECTED,	/* a 5xx decided: bounce (per recipient, see
				 * rcpts[]) */
	SMTP_SEND_DEFERRED,	/* a 4xx decided (or a synthetic one): retry */
};

struct smtp_send_result {
	enum smtp_send_outcome		 outcome;	/* overall */
	struct smtp_client_reply	 reply;		/* the deciding reply:
					 * to MAIL; else, no recipient
					 * accepted: the first 4xx RCPT
					 * reply, or the first 5xx one; else
					 * to DATA when not 354; else after
					 * the dot; or a synthetic one */
	struct smtp_rcpt_result		*rcpts;		/* in the order given */
	size_t				 n_rcpts;
	bool				 tls;	/* the message went over TLS */
};

/**
 * How a connection attempt ended: status 0 = ready for
 * smtp_client_send(); -1 = failed, why is the server's reply (a 5xx
 * greeting, say) or a synthetic 421. Either way the caller still owns c.
 */
typedef void (*smtp_client_ready_cb)(struct smtp_client *c, int status,
    const struct smtp_client_reply *why, void *arg);
/** The result of one smtp_client_send(), called exactly once. */
typedef void (*smtp_client_sent_cb)(struct smtp_client *c,
    const struct smtp_send_result *r, void *arg);

/**
 * Connect to addr (IPv4 or IPv6 sockaddr with the port set) and set the
 * session up as described at the top, then call on_ready once. opts is
 * copied (strings too). Returns 0 with *c_r set, or -1 without calling
 * anything when the arguments are unusable (no helo_name, an address
 * family other than AF_INET/AF_INET6, auth_user without auth_pass).
 */
int smtp_client_connect(uv_loop_t *loop, const struct sockaddr *addr,
    const struct smtp_client_opts *opts, smtp_client_ready_cb on_ready,
    void *arg, struct smtp_client **c_r);

/**
 * One transaction on a usable connection: MAIL FROM:<mail_from> ("" for
 * the null sender) with SIZE=<len> when SIZE is offered, BODY=8BITMIME
 * when offered and the message has 8-bit octets, SMTPUTF8 when an
 * address or the header section is not ASCII (a 5xx result when that is
 * needed and not offered); RCPT TO for each recipient; DATA; the message
 * dot-stuffed; ".". With PIPELINING offered, MAIL, the RCPTs and DATA go
 * in one write (RFC 2920), otherwise one per reply.
 *
 * The message is normalised on the way out: every bare CR and bare LF
 * becomes CRLF and a missing final CRLF is added, so no smuggling
 * sequence can leave us. A line longer than 998 octets (RFC 5321
 * 4.5.3.1.6) is not folded: the result is a 5xx "message has lines
 * longer than 998 octets". SIZE=<len> counts the normalised message.
 * msg must stay valid and unchanged until on_sent; it is read in blocks
 * as the socket drains, not copied.
 *
 * on_sent is called once with the result. After a transaction that
 * failed before its end, RSET is sent (and answered) before on_sent, so
 * the connection is ready for another transaction when on_sent runs,
 * unless the connection itself failed (see smtp_client_usable()).
 * Returns 0, or -1 without calling anything when the connection is not
 * usable or n_rcpts is 0 or over SMTP_CLIENT_MAX_RCPTS.
 */
int smtp_client_send(struct smtp_client *c, const char *mail_from,
    const char *const *rcpts, size_t n_rcpts, const char *msg, size_t len,
    smtp_client_sent_cb on_sent, void *arg);

/** Connected, set up, and not in a transaction. */
bool smtp_client_usable(const struct smtp_client *c);

/**
 * Send QUIT when the connection is idle (then close once it is answered,
 * the server hangs up, or a few seconds passed), otherwise close at
 * once. No callback is called after this returns; an unfinished
 * transaction's on_sent is never called. *c is set to NULL; NULL and
 * *c == NULL are accepted. Safe in any state, also inside a callback.
 */
void smtp_client_close(struct smtp_client **c);

#endif

/*
 * smtp_client_int.h - private to src/relay/smtp_client*.c.
 *
 * Memory and lifetime: a client holds three libuv handles (the socket
 * and two timers). It is freed only when all three are closed *and* the
 * caller has called smtp_client_close(): whichever comes last frees. So
 * every libuv callback may use its client, and after a user callback
 * returns the client is still there (flags say whether the user closed
 * it meanwhile). Once the user has closed it (SMTP_CF_DETACHED) no user
 * callback runs again.
 *
 * Replies come back in the order commands were sent; each sent command
 * pushes what it expects onto pending[], and each reply pops the head.
 * That is all pipelining needs on the client side (RFC 2920 3.1).
 */
#ifndef GENT_SMTP_CLIENT_INT_H
#define GENT_SMTP_CLIENT_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "gent/smtp_client.h"
#include "gent/smtp_reply.h"
#include "gent/tls.h"
#include "gent/util.h"

#define SMTP_CLIENT_LINE_MAX 998	/* RFC 5321 4.5.3.1.6, without CRLF */
#define SMTP_CLIENT_BLOCK (64 * 1024)	/* message bytes per write */
#define SMTP_CLIENT_ADDR_MAX 254	/* RFC 5321 4.5.3.1.3 path, no <> */
#define SMTP_CLIENT_QUIT_MS 5000	/* longest wait for the 221 */

/* RFC 5321 4.5.3.2 defaults, and ours for connect. */
#define SMTP_CLIENT_CONNECT_MS		(30 * 1000)
#define SMTP_CLIENT_GREETING_MS		(5 * 60 * 1000)
#define SMTP_CLIENT_COMMAND_MS		(5 * 60 * 1000)
#define SMTP_CLIENT_DATA_INIT_MS	(2 * 60 * 1000)
#define SMTP_CLIENT_DATA_BLOCK_MS	(3 * 60 * 1000)
#define SMTP_CLIENT_DATA_DOT_MS		(10 * 60 * 1000)

enum smtp_client_state {
	SMTP_C_CONNECTING,	/* TCP connect in progress */
	SMTP_C_GREETING,	/* waiting for the 220 */
	SMTP_C_EHLO,		/* EHLO or HELO sent */
	SMTP_C_STARTTLS,	/* STARTTLS sent, waiting for its 220 */
	SMTP_C_HANDSHAKE,	/* TLS handshake running */
	SMTP_C_AUTH,		/* AUTH exchange running */
	SMTP_C_READY,		/* set up; a transaction may run */
	SMTP_C_ENVELOPE,	/* MAIL, RCPT, DATA sent; replies awaited */
	SMTP_C_BODY,		/* after 354: the message is being written */
	SMTP_C_DOT,		/* message written; its reply awaited */
	SMTP_C_RSET,		/* RSET after a failed transaction */
	SMTP_C_QUIT,		/* QUIT sent by smtp_client_close() */
	SMTP_C_CLOSED,		/* failed or done: handles closing/closed */
};

enum smtp_client_flags {
	SMTP_CF_TLS = 1 << 0,		/* STARTTLS done: bytes go via tls */
	SMTP_CF_EHLO = 1 << 1,		/* EHLO worked (extensions usable) */
	SMTP_CF_DETACHED = 1 << 2,	/* smtp_client_close() was called */
	SMTP_CF_READY_CALLED = 1 << 3,	/* on_ready has run */
};

/* What a reply at the head of pending[] answers. */
enum smtp_client_cmd {
	SMTP_CMD_GREETING,
	SMTP_CMD_EHLO,
	SMTP_CMD_HELO,
	SMTP_CMD_STARTTLS,
	SMTP_CMD_AUTH,		/* AUTH PLAIN <ir>, or AUTH LOGIN */
	SMTP_CMD_AUTH_USER,	/* AUTH LOGIN: the user name */
	SMTP_CMD_AUTH_PASS,	/* AUTH LOGIN: the password */
	SMTP_CMD_MAIL,
	SMTP_CMD_RCPT,
	SMTP_CMD_DATA,
	SMTP_CMD_DOT,		/* end of the message */
	SMTP_CMD_DOT_EMPTY,	/* "." after a 354 no recipient deserved */
	SMTP_CMD_RSET,
	SMTP_CMD_QUIT,
};

struct smtp_client_pending {
	enum smtp_client_cmd	 cmd;
	size_t			 rcpt;		/* index for SMTP_CMD_RCPT */
};

enum smtp_client_caps_flags {
	SMTP_CAP_PIPELINING = 1 << 0,
	SMTP_CAP_SIZE = 1 << 1,
	SMTP_CAP_8BITMIME = 1 << 2,
	SMTP_CAP_SMTPUTF8 = 1 << 3,
	SMTP_CAP_STARTTLS = 1 << 4,
	SMTP_CAP_AUTH = 1 << 5,
	SMTP_CAP_ENHANCEDSTATUSCODES = 1 << 6,
};

enum smtp_client_auth_mech {
	SMTP_AUTH_PLAIN = 1 << 0,
	SMTP_AUTH_LOGIN = 1 << 1,
};

/* What the last EHLO reply offered (RFC 5321 4.1.1.1 ehlo-line). */
struct smtp_client_caps {
	unsigned	 flags;		/* enum smtp_client_caps_flags */
	uint64_t	 size_max;	/* SIZE's value; 0 = no limit given */
	unsigned	 auth;		/* enum smtp_client_auth_mech */
};

/* What smtp_client__body_scan() learns before anything is sent. */
struct smtp_client_body_info {
	size_t		 size;		/* normalised octets, final CRLF too */
	size_t		 longest;	/* longest line, without its end */
	bool		 eight_bit;	/* an octet >= 0x80 anywhere */
	bool		 header_8bit;	/* one in the header section */
};

/* The message writer's place in the caller's bytes. */
struct smtp_client_body_enc {
	const char	*msg;
	size_t		 len;
	size_t		 pos;		/* next input octet */
	bool		 cr;		/* a CR was read, its LF not yet */
	bool		 bol;		/* at the start of an output line */
	bool		 done;		/* ".\r\n" has been produced */
};

/* How the last transaction went on the wire (logs; tests look). */
struct smtp_client_tx_stats {
	unsigned	 envelope_writes;	/* writes for MAIL..DATA */
	bool		 pipelined;		/* MAIL..DATA in one write */
	bool		 data_sent;		/* DATA went out */
	bool		 local;			/* refused here, nothing sent */
};

struct smtp_client_tx {
	char			*mail_from;
	char			**rcpt_addrs;	/* copies; results point here */
	struct smtp_rcpt_result	*rcpts;
	size_t			 n_rcpts;
	bool			*rcpt_ok;	/* 2xx to its RCPT */
	bool			*rcpt_local;	/* refused here, never sent */
	size_t			 next_rcpt;	/* unpipelined: next to send */
	size_t			 n_accepted;
	bool			 mail_ok;	/* 2xx to MAIL */
	bool			 decided;	/* result.reply is set */
	bool			 needs_utf8;	/* SMTPUTF8 on MAIL */
	struct smtp_client_tx_stats stats;
	struct smtp_client_body_info info;
	struct smtp_client_body_enc enc;
	struct smtp_send_result	 result;
	smtp_client_sent_cb	 cb;
	void			*arg;
};

struct smtp_client {
	uv_tcp_t		 tcp;
	uv_timer_t		 timer;		/* the deadline of the moment */
	uv_timer_t		 later;		/* results given back later */
	uv_connect_t		 connect_req;
	uv_loop_t		*loop;
	uint64_t		 id;		/* log key */
	enum smtp_client_state	 state;		/* via smtp_client__set_state */
	unsigned		 flags;		/* enum smtp_client_flags */
	int			 handles_open;	/* of tcp, timer, later */
	bool			 handles_closing; /* uv_close() called */
	char			 peer[340];	/* "name[ip]:port" for logs */
	char			*helo_name;
	char			*server_name;	/* NULL when none given */
	SSL_CTX			*tls_ctx;	/* our reference, or NULL */
	bool			 require_tls;
	bool			 avoid_pipelining;
	char			*auth_user;	/* wiped and freed after AUTH */
	char			*auth_pass;
	uint64_t		 t_connect, t_greeting, t_command, t_data_init,
				 t_data_block, t_data_dot;	/* ms */
	struct smtp_client_caps	 caps;
	struct tls_stream	 tls;
	struct smtp_reply_parser reply;
	struct buf		 in;		/* plaintext not yet parsed */
	size_t			 writing;	/* bytes in uv_write */
	struct smtp_client_pending *pending;	/* replies awaited, in order */
	size_t			 n_pending, pending_head, pending_cap;
	struct smtp_client_reply fail_reply;	/* why it failed */
	struct smtp_client_tx	*tx;		/* NULL outside a transaction */
	struct smtp_client_tx_stats last_tx;
	smtp_client_ready_cb	 on_ready;
	void			*arg;
};

/* smtp_client.c */
void smtp_client__set_state(struct smtp_client *c, enum smtp_client_state next);
const char *smtp_client__state_name(enum smtp_client_state st);
void smtp_client__write(struct smtp_client *c, const char *data, size_t len);
void smtp_client__command(struct smtp_client *c, enum smtp_client_cmd cmd,
    size_t rcpt, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void smtp_client__push(struct smtp_client *c, enum smtp_client_cmd cmd,
    size_t rcpt);
void smtp_client__arm(struct smtp_client *c, uint64_t ms);
void smtp_client__arm_for_head(struct smtp_client *c);
void smtp_client__fail(struct smtp_client *c, int code, const char *enhanced,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void smtp_client__report_later(struct smtp_client *c);
void smtp_client__fail_reply(struct smtp_client *c,
    const struct smtp_client_reply *r);
void smtp_client__reply_copy(struct smtp_client_reply *dst,
    const struct smtp_client_reply *src);
void smtp_client__reply_set(struct smtp_client_reply *r, int code,
    const char *enhanced, const char *text);
void smtp_client__reply_free(struct smtp_client_reply *r);
void smtp_client__caps_parse(struct smtp_client_caps *caps, const char *text);

/* smtp_client_tx.c */
void smtp_client__tx_reply(struct smtp_client *c,
    const struct smtp_client_pending *p, const struct smtp_client_reply *r);
void smtp_client__tx_pump(struct smtp_client *c);
void smtp_client__tx_conn_failed(struct smtp_client *c,
    const struct smtp_client_reply *why);
void smtp_client__tx_early_reply(struct smtp_client *c,
    const struct smtp_client_reply *r);
void smtp_client__tx_deliver(struct smtp_client *c);
void smtp_client__tx_free(struct smtp_client_tx **txp);

/* smtp_client_body.c */
/** Scan msg: sizes and 8-bit facts as it will be sent. */
void smtp_client__body_scan(const char *msg, size_t len,
    struct smtp_client_body_info *info);
/** Start writing msg. */
void smtp_client__body_start(struct smtp_client_body_enc *e, const char *msg,
    size_t len);
/**
 * Append about max octets of the wire form (CRLF lines, dot-stuffed,
 * ending "\r\n.\r\n") to out; 1 once the terminator is out, else 0.
 */
int smtp_client__body_encode(struct smtp_client_body_enc *e, struct buf *out,
    size_t max);

#endif

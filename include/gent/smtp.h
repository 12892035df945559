/*
 * smtp.h - the ESMTP server engine (RFC 5321) on the libuv loop.
 *
 * The engine speaks the protocol: greeting, EHLO/HELO, MAIL, RCPT, DATA,
 * RSET, NOOP, VRFY, HELP, QUIT, STARTTLS; limits, timeouts, pipelining.
 * A session ends with 421 when it sends too many bad commands
 * (max_errors) or junk commands (max_junk), or outlives session_max_ms.
 * What a recipient or a message means is decided by the hooks, which run
 * on libuv threadpool threads (they may block on the store) and answer
 * with an SMTP reply. A reply of 250 to the message hook must mean the
 * message is committed: the engine sends it only after the hook returns.
 */
#ifndef GENT_SMTP_H
#define GENT_SMTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct smtp_limits {
	size_t		max_message;		/* bytes; advertised as SIZE */
	unsigned	max_rcpts;		/* per transaction; more get 452 */
	unsigned	max_errors;		/* bad commands before 421 + close */
	int64_t		max_connections;	/* open sessions in all */
	int64_t		max_per_ip;		/* open sessions per client IP */
	uint64_t	command_timeout_ms;	/* to send a whole command */
	uint64_t	data_timeout_ms;	/* to send a whole DATA body */
	unsigned	max_junk;		/* NOOP/RSET/VRFY/HELP between accepted
						   messages before 421 + close; 0 = no cap */
	uint64_t	session_max_ms;		/* a whole session, ended at a command
						   boundary; 0 = no cap */
};

struct smtp_reply {
	int	code;		/* 250, 451, 550, ... */
	char	text[256];	/* "2.1.5 Ok" (enhanced code included) */
};

struct smtp_rcpt {
	char	*addr;		/* as given in RCPT TO */
	char	*cookie;	/* the rcpt hook's note for the message hook */
};

struct smtp_envelope {
	uint64_t		 session_id;
	const char		*client_ip;
	const char		*helo;
	const char		*mail_from;	/* "" for the null path */
	const struct smtp_rcpt	*rcpts;
	size_t			 n_rcpts;
	bool			 tls;		/* STARTTLS was used */
};

struct smtp_hooks {
	/** Decide on one recipient; may set *cookie_r (malloc'd). */
	void	(*rcpt)(void *ctx, const struct smtp_envelope *env,
		    const char *rcpt, char **cookie_r, struct smtp_reply *out);
	/** Take the message (CRLF lines, dot-unstuffed); 250 = committed. */
	void	(*message)(void *ctx, const struct smtp_envelope *env,
		    const char *data, size_t len, struct smtp_reply *out);
	void	*ctx;
};

struct smtp_server;
struct ssl_ctx_st;

/**
 * Listen on "host:port". tls may be NULL (no STARTTLS); the server takes
 * its own reference (the caller keeps and frees its own). 0 or -1 with
 * *error_r.
 */
int smtp_server_start(struct smtp_server **srv_r, uv_loop_t *loop,
    const char *listen_addr, const char *hostname,
    const struct smtp_limits *limits, const struct smtp_hooks *hooks,
    struct ssl_ctx_st *tls, char **error_r);
/**
 * Use tls for STARTTLS from now on (a reloaded certificate); the server
 * takes a reference and drops the old context's. Sessions already in
 * TLS keep the context they started with.
 */
void smtp_server_set_tls(struct smtp_server *srv, struct ssl_ctx_st *tls);
/** Stop accepting; sessions get 421 at their next command; done_cb when
 *  all are closed (or grace_ms passed). */
void smtp_server_drain(struct smtp_server *srv, uint64_t grace_ms,
    void (*done_cb)(void *arg), void *arg);
void smtp_server_free(struct smtp_server **srv);

/** Set a reply with printf-style text. */
void smtp_reply_set(struct smtp_reply *r, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif

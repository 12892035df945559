/*
 * smtp_int.h - private to src/smtp/: server, session and transaction.
 *
 * Memory and lifetime: a session is freed when its handles are closed and
 * no threadpool job holds a reference (refs). A job takes a reference when
 * queued and drops it in its after-work callback, which first checks
 * whether the session is still open.
 */
#ifndef GENT_SMTP_INT_H
#define GENT_SMTP_INT_H

#include <stdbool.h>

#include "gent/drain.h"
#include "gent/smtp.h"
#include "gent/smtp_parse.h"
#include "gent/tls.h"

#define SMTP_INPUT_MAX (64 * 1024)	/* buffered input before reads pause */
#define SMTP_OUTPUT_MAX (64 * 1024)	/* unsent replies before input pauses */

enum smtp_state {
	SMTP_S_GREETED,		/* waiting for EHLO/HELO */
	SMTP_S_READY,		/* after EHLO: MAIL allowed */
	SMTP_S_MAIL,		/* after MAIL: RCPT allowed */
	SMTP_S_RCPT,		/* at least one RCPT accepted: DATA allowed */
	SMTP_S_DATA,		/* reading the body */
	SMTP_S_CLOSING,		/* reply sent, closing after the write */
};

enum smtp_flags {
	SMTP_SF_TLS = 1 << 0,		/* STARTTLS done */
	SMTP_SF_EHLO = 1 << 1,		/* greeted with EHLO (extensions on) */
	SMTP_SF_BUSY = 1 << 2,		/* a hook is running: input waits */
	SMTP_SF_TLS_PENDING = 1 << 3,	/* 220 to STARTTLS queued, switch after */
	SMTP_SF_EXPIRED = 1 << 4,	/* past session_max: 421 at the next boundary */
};

struct smtp_tx {
	char			*mail_from;
	struct smtp_rcpt	*rcpts;
	size_t			 n_rcpts;
	size_t			 declared_size;	/* SIZE= of MAIL, 0 if none */
	char			*pending_rcpt;	/* RCPT being checked by the hook */
};

struct smtp_server {
	uv_loop_t		*loop;
	uv_tcp_t		 listener;
	char			*hostname;
	struct smtp_limits	 limits;
	struct smtp_hooks	 hooks;
	SSL_CTX			*tls;
	struct smtp_session	*sessions;
	int64_t			 n_sessions;
	uint64_t		 next_id;
	bool			 draining;
	bool			 listener_closed;
	struct drain		 drain;
};

struct smtp_session {
	uv_tcp_t		 tcp;
	uv_timer_t		 timer;		/* command and data deadlines */
	uv_timer_t		 life;		/* session_max */
	struct smtp_server	*srv;
	uint64_t		 id;		/* log key */
	enum smtp_state		 state;		/* change only via smtp__set_state() */
	unsigned		 flags;		/* enum smtp_flags */
	unsigned		 errors;	/* bad commands so far */
	unsigned		 junk;		/* NOOP/RSET/VRFY/HELP since the last
						   accepted message */
	int			 refs;		/* handles + jobs */
	bool			 closing;
	bool			 reading;
	bool			 peer_eof;	/* client half-closed its side */
	char			 client_ip[64];
	char			*helo;
	struct buf		 in;		/* plaintext not yet processed */
	struct buf		 out;		/* replies not yet written */
	size_t			 writing;	/* bytes in flight in uv_write */
	struct smtp_line_reader	 line;
	struct smtp_data_reader	 data;
	struct smtp_tx		 tx;
	struct tls_stream	 tls;
	struct smtp_session	*prev, *next;
};

/* smtp_session.c */
void smtp__session_accept(struct smtp_server *srv);
void smtp__reply(struct smtp_session *s, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void smtp__set_state(struct smtp_session *s, enum smtp_state next);
void smtp__close(struct smtp_session *s);
void smtp__tx_reset(struct smtp_session *s);
void smtp__envelope(struct smtp_session *s, struct smtp_envelope *env);
void smtp__start_tls(struct smtp_session *s);
void smtp__run_job(struct smtp_session *s, void (*run)(struct smtp_session *, void *),
    void (*done)(struct smtp_session *, void *), void *arg);
void smtp__process(struct smtp_session *s);
void smtp__arm_timer(struct smtp_session *s, uint64_t ms);
bool smtp__is_idle(const struct smtp_session *s);
/* smtp_cmd.c */
void smtp__command(struct smtp_session *s, char *line);
void smtp__data_done(struct smtp_session *s);
/* smtp_server.c */
void smtp__server_session_gone(struct smtp_server *srv, struct smtp_session *s);
int64_t smtp__server_count_ip(struct smtp_server *srv, const char *ip);

#endif

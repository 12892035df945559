/*
 * smtp_cmd.c - the SMTP commands. Each has a check (state and syntax,
 * replying itself on failure) and a proceed step that may hand work to a
 * hook (RCPT, end of DATA) before the state changes.
 *
 * Junk commands (Postfix smtpd_junk_command_limit): NOOP, RSET, VRFY and
 * HELP move no mail, so a client may send only max_junk of them between
 * accepted messages; the next one is answered 421 instead and the session
 * closes. Postfix counts NOOP, VRFY, ETRN and RSET (it has no HELP; we
 * have no ETRN) and resets the count when a message is queued, as here.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gent/log.h"
#include "smtp_int.h"

struct smtp_cmd {
	const char	*verb;
	bool		 needs_arg;	/* 501 without one */
	bool		 takes_arg;	/* 501 with one when false */
	bool		 junk;		/* counts toward max_junk */
	void		(*run)(struct smtp_session *s, char *arg);
};

void
smtp__tx_reset(struct smtp_session *s)
{
	struct smtp_tx *tx = &s->tx;

	for (size_t i = 0; i < tx->n_rcpts; i++) {
		free(tx->rcpts[i].addr);
		free(tx->rcpts[i].cookie);
	}
	free(tx->rcpts);
	free(tx->mail_from);
	free(tx->pending_rcpt);
	memset(tx, 0, sizeof(*tx));
	smtp_data_free(&s->data);
}

void
smtp__envelope(struct smtp_session *s, struct smtp_envelope *env)
{
	*env = (struct smtp_envelope){
		.session_id = s->id, .client_ip = s->client_ip,
		.helo = s->helo ? s->helo : "", .mail_from = s->tx.mail_from,
		.rcpts = s->tx.rcpts, .n_rcpts = s->tx.n_rcpts,
		.tls = (s->flags & SMTP_SF_TLS) != 0,
	};
}

static void
bad_sequence(struct smtp_session *s, const char *why)
{
	smtp__reply(s, 503, "5.5.1 %s", why);
	s->errors++;
}

static bool
valid_helo(const char *arg)
{
	for (const char *p = arg; *p; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
			return false;
	return *arg != '\0' && strlen(arg) <= 255;
}

static void
greet(struct smtp_session *s, char *arg, bool ehlo)
{
	if (!valid_helo(arg)) {
		smtp__reply(s, 501, "5.5.4 Syntax: %s hostname", ehlo ? "EHLO" : "HELO");
		s->errors++;
		return;
	}
	smtp__tx_reset(s);
	free(s->helo);
	s->helo = xstrdup(arg);
	if (!ehlo) {
		s->flags &= ~(unsigned)SMTP_SF_EHLO;
		smtp__reply(s, 250, "%s", s->srv->hostname);
	} else {
		s->flags |= SMTP_SF_EHLO;
		buf_printf(&s->out, "250-%s\r\n250-PIPELINING\r\n250-SIZE %zu\r\n"
		    "250-8BITMIME\r\n250-SMTPUTF8\r\n250-ENHANCEDSTATUSCODES\r\n",
		    s->srv->hostname, s->srv->limits.max_message);
		if (s->srv->tls && !(s->flags & SMTP_SF_TLS))
			buf_append_str(&s->out, "250-STARTTLS\r\n");
		buf_append_str(&s->out, "250 HELP\r\n");
	}
	smtp__set_state(s, SMTP_S_READY);
}

static void cmd_ehlo(struct smtp_session *s, char *arg) { greet(s, arg, true); }
static void cmd_helo(struct smtp_session *s, char *arg) { greet(s, arg, false); }

/* Check MAIL parameters (RFC 1870 SIZE, 6152 8BITMIME, 6531 SMTPUTF8). */
static int
mail_params(struct smtp_session *s, char *params)
{
	char *save = NULL;

	for (char *p = params ? strtok_r(params, " ", &save) : NULL; p;
	    p = strtok_r(NULL, " ", &save)) {
		if (strncasecmp(p, "SIZE=", 5) == 0) {
			char *end;
			unsigned long long n = strtoull(p + 5, &end, 10);
			if (!isdigit((unsigned char)p[5]) || *end) {
				smtp__reply(s, 501, "5.5.4 Bad SIZE parameter");
				return -1;
			}
			if (n > s->srv->limits.max_message) {
				smtp__reply(s, 552, "5.3.4 Message size exceeds fixed "
				    "limit of %zu bytes", s->srv->limits.max_message);
				return -1;
			}
			s->tx.declared_size = (size_t)n;
		} else if (strncasecmp(p, "BODY=", 5) == 0) {
			if (strcasecmp(p + 5, "7BIT") && strcasecmp(p + 5, "8BITMIME")) {
				smtp__reply(s, 501, "5.5.4 Unsupported BODY type");
				return -1;
			}
		} else if (strcasecmp(p, "SMTPUTF8") != 0) {
			/* Not echoed: the client's bytes could forge a reply line. */
			smtp__reply(s, 555, "5.5.4 Unsupported MAIL parameter");
			return -1;
		}
	}
	return 0;
}

static void
cmd_mail(struct smtp_session *s, char *arg)
{
	struct smtp_path path;
	const char *why = "expected FROM:<address>";

	if (s->state == SMTP_S_GREETED) {
		bad_sequence(s, "Send EHLO or HELO first");
		return;
	}
	if (s->state != SMTP_S_READY) {
		bad_sequence(s, "Nested MAIL command");
		return;
	}
	if (strncasecmp(arg, "FROM:", 5) != 0 ||
	    smtp_path_parse(arg + 5, true, &path, &why) != 0) {
		smtp__reply(s, 501, "5.5.4 Syntax: MAIL FROM:<address> (%s)", why);
		s->errors++;
		return;
	}
	if (mail_params(s, path.params) != 0) {
		smtp_path_free(&path);
		s->errors++;
		return;
	}
	s->tx.mail_from = path.addr;
	path.addr = NULL;
	smtp_path_free(&path);
	smtp__reply(s, 250, "2.1.0 Ok");
	smtp__set_state(s, SMTP_S_MAIL);
}

struct rcpt_job {
	struct smtp_envelope	 env;
	char			*rcpt;
	char			*cookie;
	struct smtp_reply	 reply;
};

static void
rcpt_run(struct smtp_session *s, void *arg)
{
	struct rcpt_job *j = arg;

	s->srv->hooks.rcpt(s->srv->hooks.ctx, &j->env, j->rcpt, &j->cookie, &j->reply);
}

static void
rcpt_done(struct smtp_session *s, void *arg)
{
	struct rcpt_job *j = arg;

	if (s) {
		smtp__reply(s, j->reply.code, "%s", j->reply.text);
		/* Probing for addresses counts like any other bad command. */
		if (j->reply.code / 100 == 5)
			s->errors++;
		if (j->reply.code / 100 == 2) {
			struct smtp_tx *tx = &s->tx;
			tx->rcpts = xrealloc(tx->rcpts, (tx->n_rcpts + 1) * sizeof(*tx->rcpts));
			tx->rcpts[tx->n_rcpts++] = (struct smtp_rcpt){ j->rcpt, j->cookie };
			j->rcpt = j->cookie = NULL;
			smtp__set_state(s, SMTP_S_RCPT);
		}
	}
	free(j->rcpt);
	free(j->cookie);
	free(j);
}

static void
cmd_rcpt(struct smtp_session *s, char *arg)
{
	struct smtp_path path;
	struct rcpt_job *j;
	const char *why = "expected TO:<address>";

	if (s->state != SMTP_S_MAIL && s->state != SMTP_S_RCPT) {
		bad_sequence(s, "Need MAIL before RCPT");
		return;
	}
	/* RFC 5321 4.5.1: the bare <postmaster> must be accepted too. */
	if (strcasecmp(arg, "TO:<postmaster>") == 0) {
		path = (struct smtp_path){ xstrdup("postmaster"), NULL };
	} else if (strncasecmp(arg, "TO:", 3) != 0 ||
	    smtp_path_parse(arg + 3, false, &path, &why) != 0) {
		smtp__reply(s, 501, "5.5.4 Syntax: RCPT TO:<address> (%s)", why);
		s->errors++;
		return;
	}
	if (path.params) {
		smtp__reply(s, 555, "5.5.4 RCPT parameters are not supported");
		smtp_path_free(&path);
		s->errors++;
		return;
	}
	if (s->tx.n_rcpts >= s->srv->limits.max_rcpts) {
		smtp__reply(s, 452, "4.5.3 Too many recipients");
		smtp_path_free(&path);
		return;
	}
	j = xcalloc(1, sizeof(*j));
	j->rcpt = path.addr;
	path.addr = NULL;
	smtp_path_free(&path);
	smtp__envelope(s, &j->env);
	smtp__run_job(s, rcpt_run, rcpt_done, j);
}

static void
cmd_data(struct smtp_session *s, char *arg)
{
	(void)arg;
	if (s->state == SMTP_S_MAIL) {
		smtp__reply(s, 554, "5.5.1 No valid recipients");
		return;
	}
	if (s->state != SMTP_S_RCPT) {
		bad_sequence(s, "Need RCPT before DATA");
		return;
	}
	smtp_data_init(&s->data, s->srv->limits.max_message);
	smtp__reply(s, 354, "End data with <CR><LF>.<CR><LF>");
	smtp__set_state(s, SMTP_S_DATA);
	smtp__arm_timer(s, s->srv->limits.data_timeout_ms);
}

struct message_job {
	struct smtp_envelope	 env;
	struct smtp_reply	 reply;
};

static void
message_run(struct smtp_session *s, void *arg)
{
	struct message_job *j = arg;

	s->srv->hooks.message(s->srv->hooks.ctx, &j->env, s->data.body.data ?
	    s->data.body.data : "", s->data.body.len, &j->reply);
}

static void
message_done(struct smtp_session *s, void *arg)
{
	struct message_job *j = arg;

	if (s) {
		smtp__reply(s, j->reply.code, "%s", j->reply.text);
		if (j->reply.code / 100 == 2)
			s->junk = 0;	/* mail moved: the junk count starts again */
		log_info("smtp", NULL, "%016" PRIx64 " message from=<%s> rcpts=%zu "
		    "size=%zu result=%d", s->id, s->tx.mail_from, s->tx.n_rcpts,
		    s->data.body.len, j->reply.code);
		smtp__tx_reset(s);
		smtp__set_state(s, SMTP_S_READY);
	}
	free(j);
}

void
smtp__data_done(struct smtp_session *s)
{
	unsigned f = s->data.flags;
	struct message_job *j;

	if (f & (SMTP_DATA_BARE_LF | SMTP_DATA_BARE_CR)) {
		smtp__reply(s, 554, "5.6.0 Message contains bare CR or LF; lines "
		    "must end with CRLF");
	} else if (f & SMTP_DATA_TOO_BIG) {
		smtp__reply(s, 552, "5.3.4 Message size exceeds fixed limit");
	} else if (f & SMTP_DATA_LONG_LINE) {
		smtp__reply(s, 554, "5.6.0 Message has a line over %d bytes",
		    SMTP_DATA_LINE_MAX);
	} else {
		j = xcalloc(1, sizeof(*j));
		smtp__envelope(s, &j->env);
		smtp__run_job(s, message_run, message_done, j);
		return;
	}
	log_info("smtp", NULL, "%016" PRIx64 " message refused flags=%u", s->id, f);
	smtp__tx_reset(s);
	smtp__set_state(s, SMTP_S_READY);
	smtp__arm_timer(s, s->srv->limits.command_timeout_ms);
}

static void
cmd_rset(struct smtp_session *s, char *arg)
{
	(void)arg;
	smtp__tx_reset(s);
	smtp__reply(s, 250, "2.0.0 Ok");
	if (s->state != SMTP_S_GREETED)
		smtp__set_state(s, SMTP_S_READY);
}

static void
cmd_noop(struct smtp_session *s, char *arg)
{
	(void)arg;
	smtp__reply(s, 250, "2.0.0 Ok");
}

static void
cmd_quit(struct smtp_session *s, char *arg)
{
	(void)arg;
	smtp__reply(s, 221, "2.0.0 Bye");
	smtp__set_state(s, SMTP_S_CLOSING);
}

static void
cmd_vrfy(struct smtp_session *s, char *arg)
{
	(void)arg;
	smtp__reply(s, 252, "2.5.0 Cannot VRFY user; try RCPT");
}

static void
cmd_help(struct smtp_session *s, char *arg)
{
	(void)arg;
	smtp__reply(s, 214, "2.0.0 Commands: EHLO HELO MAIL RCPT DATA RSET NOOP "
	    "QUIT VRFY HELP STARTTLS");
}

static void
cmd_starttls(struct smtp_session *s, char *arg)
{
	(void)arg;
	if (!s->srv->tls) {
		smtp__reply(s, 502, "5.5.1 STARTTLS not available");
		s->errors++;
	} else if (s->flags & SMTP_SF_TLS) {
		bad_sequence(s, "TLS already active");
	} else if (s->state == SMTP_S_GREETED) {
		bad_sequence(s, "Send EHLO first");
	} else {
		smtp__reply(s, 220, "2.0.0 Ready to start TLS");
		s->flags |= SMTP_SF_TLS_PENDING;
	}
}

static const struct smtp_cmd smtp_cmds[] = {
	{ "EHLO", true, true, false, cmd_ehlo },
	{ "HELO", true, true, false, cmd_helo },
	{ "MAIL", true, true, false, cmd_mail },
	{ "RCPT", true, true, false, cmd_rcpt },
	{ "DATA", false, false, false, cmd_data },
	{ "RSET", false, false, true, cmd_rset },
	{ "NOOP", false, true, true, cmd_noop },
	{ "QUIT", false, false, false, cmd_quit },
	{ "VRFY", true, true, true, cmd_vrfy },
	{ "HELP", false, true, true, cmd_help },
	{ "STARTTLS", false, false, false, cmd_starttls },
	{ 0 },
};

/* One more junk command: past max_junk (0 = no cap) it gets 421 instead
 * of its reply, counted before its syntax is checked, as in Postfix. */
static bool
too_much_junk(struct smtp_session *s)
{
	unsigned limit = s->srv->limits.max_junk;

	if (limit == 0 || ++s->junk <= limit)
		return false;
	log_info("smtp", NULL, "%016" PRIx64 " too many junk commands from %s",
	    s->id, s->client_ip);
	smtp__reply(s, 421, "4.7.0 %s Error: too many junk commands",
	    s->srv->hostname);
	smtp__set_state(s, SMTP_S_CLOSING);
	return true;
}

/* HTTP and proxy requests sent to the SMTP port: answer once and hang up. */
static bool
is_foreign_protocol(const char *line)
{
	static const char *const verbs[] = { "GET ", "POST ", "HEAD ", "PUT ",
	    "CONNECT ", "OPTIONS ", NULL };

	for (const char *const *v = verbs; *v; v++)
		if (strncmp(line, *v, strlen(*v)) == 0)
			return true;
	return false;
}

void
smtp__command(struct smtp_session *s, char *line)
{
	char *arg = line;
	size_t vlen;

	while (*arg && *arg != ' ')
		arg++;
	vlen = (size_t)(arg - line);
	while (*arg == ' ')
		arg++;
	for (const struct smtp_cmd *c = smtp_cmds; c->verb; c++) {
		if (strlen(c->verb) != vlen || strncasecmp(line, c->verb, vlen) != 0)
			continue;
		if (c->junk && too_much_junk(s))
			return;
		if (c->needs_arg && !*arg) {
			smtp__reply(s, 501, "5.5.4 Syntax: %s needs an argument", c->verb);
			s->errors++;
		} else if (!c->takes_arg && *arg) {
			smtp__reply(s, 501, "5.5.4 Syntax: %s takes no argument", c->verb);
			s->errors++;
		} else {
			c->run(s, arg);
		}
		if (s->state != SMTP_S_DATA && s->state != SMTP_S_CLOSING &&
		    !(s->flags & SMTP_SF_BUSY))
			smtp__arm_timer(s, s->srv->limits.command_timeout_ms);
		return;
	}
	if (is_foreign_protocol(line)) {
		smtp__reply(s, 500, "5.5.2 This is an SMTP server");
		smtp__set_state(s, SMTP_S_CLOSING);
		return;
	}
	smtp__reply(s, 500, "5.5.2 Command unrecognized");
	s->errors++;
}
